"""The committed notebooks are exactly what their sources in tools/nbsrc build and execute to."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_committed_notebooks_match_their_sources():
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build_notebooks.py"), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_relative_link_of_the_course_resolves():
    """The syllabus's and the Next cells' links, and every figure, point at files that exist (as they will in a
    learner's copy: notebooks/ and exercises/ side by side)."""
    import json
    import re

    checked = 0
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "exercises").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            if cell["cell_type"] != "markdown":
                continue
            for target in re.findall(r"\]\(([^)\s]+)\)", "".join(cell["source"])):
                if re.match(r"[a-z]+://", target) or target.startswith("#"):
                    continue
                assert (path.parent / target.split("#")[0]).resolve().is_file(), f"{path.name}: dead link {target}"
                checked += 1
    assert checked >= 30  # the syllabus alone links every notebook and exercise


def test_every_exercise_links_the_notebook_it_goes_with():
    import json
    import re

    exercises = sorted((ROOT / "exercises").glob("ex[0-9][0-9]_*.ipynb"))
    assert len(exercises) >= 8
    for path in exercises:
        intro = "".join(json.loads(path.read_text(encoding="utf-8"))["cells"][0]["source"])
        wanted = f"../notebooks/{path.name[2:4]}_"
        assert re.search(r"Goes with notebook \[[^]]+\]\(" + re.escape(wanted), intro), f"{path.name}: {intro[:200]}"


def test_every_course_notebook_ends_with_links_to_its_exercise_and_the_next_notebook():
    import json

    names = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    for name, following in zip(names, names[1:] + [None]):
        nb = json.loads((ROOT / "notebooks" / name).read_text(encoding="utf-8"))
        nxt = next("".join(c["source"]) for c in nb["cells"] if "".join(c["source"]).startswith("## Next"))
        assert "(syllabus.ipynb)" in nxt and ("../exercises/" in nxt), name
        if following:
            assert f"]({following})" in nxt, f"{name} must link to {following}"
