#!/usr/bin/env bash
# Check an exported assignment against real nbgrader (not part of the test suite: nbgrader and its
# database stack are heavy). Makes a throw-away venv with nbgrader and kms_teach, exports
# ASSIGNMENT, runs `nbgrader generate_assignment`, then `nbgrader autograde` on two submissions:
# alice (the worked answers) and bob (the release untouched). Prints both scores, then grades the
# same two released-and-submitted notebooks back with `kms-teach grade` (cells matched by nbgrader's
# grade_id) and prints those scores too: the interop works both ways.
#
#   tools/check_nbgrader_interop.sh [ASSIGNMENT]      (default ex02_data_keys; about 1 minute)
set -euo pipefail
ASSIGNMENT="${1:-ex02_data_keys}"
REPO="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q nbgrader -e "$REPO"
export PATH="$WORK/venv/bin:$PATH"   # nbgrader runs alembic from PATH
COURSE="$WORK/course"
mkdir -p "$COURSE"
kms-teach export-nbgrader "$REPO/assignments/$ASSIGNMENT.py" "$COURSE"
cd "$COURSE"
printf 'c = get_config()\nc.CourseDirectory.course_id = "kms_teach"\n' > nbgrader_config.py
nbgrader generate_assignment "$ASSIGNMENT" --force --log-level=WARN
python - "$ASSIGNMENT" <<'PY'
import json, os, sys
name = sys.argv[1]
src = json.load(open(f"source/{name}/{name}.ipynb"))
rel = json.load(open(f"release/{name}/{name}.ipynb"))
for student in ("alice", "bob"):
    os.makedirs(f"submitted/{student}/{name}", exist_ok=True)
bob = json.loads(json.dumps(rel))
for c_rel, c_src in zip(rel["cells"], src["cells"]):
    if c_rel["metadata"].get("nbgrader", {}).get("solution"):
        c_rel["source"] = [l for l in "".join(c_src["source"]).splitlines(True) if "### " not in l]
json.dump(rel, open(f"submitted/alice/{name}/{name}.ipynb", "w"))
json.dump(bob, open(f"submitted/bob/{name}/{name}.ipynb", "w"))
PY
nbgrader autograde "$ASSIGNMENT" --force --log-level=ERROR 2>/dev/null
python - "$ASSIGNMENT" <<'PY'
import sys
from nbgrader.api import Gradebook
name = sys.argv[1]
with Gradebook("sqlite:///gradebook.db") as gb:
    for student in ("alice", "bob"):
        sub = gb.find_submission(name, student)
        print(f"nbgrader autograde {name}: {student} {sub.score:g}/{sub.max_score:g}")
PY
for student in alice bob; do
  kms-teach grade "submitted/$student/$ASSIGNMENT/$ASSIGNMENT.ipynb" --assignments "$REPO/assignments" \
    --json "$WORK/$student.json" > "$WORK/$student.txt" || true
  python - "$WORK/$student.json" "$student" "$ASSIGNMENT" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"kms-teach grade {sys.argv[3]}: {sys.argv[2]} {r['score']}/{r['max_score']}  ({'; '.join(r['problems'])[:160]})")
PY
done
