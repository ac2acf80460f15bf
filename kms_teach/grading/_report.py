"""The class report: what a gradebook says about the class, on one HTML page.

For each assignment in the gradebook: who was graded (and who could not be, or handed in
nothing), the distribution of the final scores, each task's pass rate (each question's, for a
quiz), the **misconceptions** most often hit - the hidden checks' reasons for failing and the
self-checks' complaints the learners saw, each counted once a student over the class - and the
submissions that are identical or nearly so once their answer cells are normalised (comments,
blank lines and the names of local variables do not count; unanswered cells are left out).

:func:`analyse` computes it all (plain data); the pictures are drawn by
``kms_teach.widgets._class_charts`` (only the widgets layer may import matplotlib; see the
import-linter contracts in pyproject.toml) and handed to :func:`write_report` as data URIs.
"""

from __future__ import annotations

import builtins
import hashlib
import html
import io
import keyword
import re
import statistics
import tokenize
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ._gradebook import Gradebook, GradebookError, _atomic_write, number

NEAR = 0.85          # Jaccard similarity of token 5-grams above which two submissions are "near-identical"
MIN_TOKENS = 25      # below this, answers are too short for their likeness to mean anything
_NOISE = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b|\barn:aws[^\s,;'\")]*|"
                    r"\b\d{12}\b|\b0x[0-9a-f]+\b", re.I)


@dataclass
class TaskStats:
    task: str
    title: str
    max_points: float
    graded: int = 0
    passed: int = 0
    unanswered: int = 0
    mean_points: float = 0.0
    checks: list[dict] = field(default_factory=list)  # name, passed, graded

    @property
    def pass_rate(self) -> float:
        return self.passed / self.graded if self.graded else 0.0


@dataclass
class Misconception:
    text: str
    task: str
    source: str        # "hidden check" or "self-check"
    students: int
    names: list[str]


@dataclass
class Likeness:
    students: list[str]
    similarity: float  # 1.0: identical once normalised
    scores: list[str]
    note: str = ""


@dataclass
class AssignmentStats:
    assignment: str
    quiz: bool
    max_score: float
    counts: dict[str, int]
    scores: list[float]
    late: int
    tasks: list[TaskStats]
    misconceptions: list[Misconception]
    likeness: list[Likeness]
    attention: list[tuple[str, str, str]]  # student, status, why

    @property
    def summary(self) -> dict[str, float]:
        s = self.scores
        if not s:
            return {}
        return {"mean": statistics.fmean(s), "median": statistics.median(s),
                "stdev": statistics.pstdev(s) if len(s) > 1 else 0.0, "min": min(s), "max": max(s)}

    def to_dict(self) -> dict:
        return {**asdict(self), "summary": self.summary}


# ---------------------------------------------------------------------- normalising answers


def normalise(code: str) -> list[str]:
    """The tokens of a cell without comments and layout, local names renamed in order of appearance
    (``total = ...`` and ``s = ...`` look alike); attribute names, keyword arguments, builtins and
    strings kept (they are the API the learner called). Code that does not tokenise is split on
    white space."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return code.split()
    out: list[str] = []
    names: dict[str, str] = {}
    keep = set(dir(builtins)) | set(keyword.kwlist) | {"self", "cls"}
    depth = 0  # inside brackets, ``name=`` is a keyword argument (kept); outside, an assignment (renamed)
    for i, tok in enumerate(tokens):
        if tok.type == tokenize.OP and tok.string in "([{":
            depth += 1
        elif tok.type == tokenize.OP and tok.string in ")]}":
            depth = max(0, depth - 1)
        if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
                        tokenize.ENDMARKER):
            if tok.type in (tokenize.INDENT, tokenize.DEDENT):
                out.append(tokenize.tok_name[tok.type])
            continue
        text = tok.string
        if tok.type == tokenize.NAME and text not in keep:
            before = tokens[i - 1].string if i else ""
            after = next((t.string for t in tokens[i + 1:] if t.type != tokenize.NL), "")
            if before != "." and not (after == "=" and depth):
                text = names.setdefault(text, f"v{len(names)}")
        out.append(text)
    return out


def _shingles(tokens: list[str], n: int = 5) -> set[str]:
    return {"\x1f".join(tokens[i:i + n]) for i in range(max(1, len(tokens) - n + 1))}


def _reference_answers(assignment: str, folder: Path | None) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """The normalised answer cells of the exercise (unanswered) and of the worked solution."""
    from ._source import SourceError, load

    if folder is None or assignment.startswith("quiz_"):
        return {}, {}
    try:
        source = load(folder / f"{assignment}.py")
    except SourceError:
        return {}, {}
    out = []
    for kind in ("student", "solution"):
        nb = source.notebook(kind)
        out.append({c.metadata["kms_teach"]["cell"]: normalise(c.source) for c in nb.cells
                    if c.metadata.get("kms_teach", {}).get("role") == "answer"})
    return out[0], out[1]


def _named(members: list) -> str:
    return members[0][0] + (f" (and the {len(members) - 1} identical to it)" if len(members) > 1 else "")


def _similar(entries: list, unanswered: dict[str, list[str]], solution: dict[str, list[str]]) -> list[Likeness]:
    subs = []
    for e in entries:
        answers = e.details.get("answers") or {}
        tokens: list[str] = []
        same_as_solution = bool(solution)
        for label in sorted(answers):
            norm = normalise(answers[label])
            if label in unanswered and norm == unanswered[label]:
                same_as_solution = False
                continue
            if solution and norm != solution.get(label):
                same_as_solution = False
            tokens += [f"#{label}", *norm]
        if len(tokens) >= MIN_TOKENS:
            subs.append((e.row["student"], e.row.get("final_score", ""), tokens, same_as_solution))
    found: list[Likeness] = []
    groups: dict[str, list] = defaultdict(list)
    for s in subs:
        groups[hashlib.sha256("\x1e".join(s[2]).encode()).hexdigest()].append(s)
    for members in sorted(groups.values(), key=len, reverse=True):
        if len(members) > 1:
            note = "the worked solution, token for token" if members[0][3] else ""
            found.append(Likeness([m[0] for m in members], 1.0, [m[1] for m in members], note))
    # One representative a group, then every pair of those that are alike but not the same. The
    # worked solution's group is left out: a right answer with one task changed is near it by design.
    reps = [members for members in groups.values() if not members[0][3]]
    sets = [(members, _shingles(members[0][2])) for members in reps]
    near = []
    for i in range(len(sets)):
        (a, sa) = sets[i]
        for j in range(i + 1, len(sets)):
            (b, sb) = sets[j]
            small, large = sorted((len(sa), len(sb)))
            if small < NEAR * large:  # Jaccard cannot reach NEAR: skip the set operations
                continue
            sim = len(sa & sb) / len(sa | sb)
            if sim >= NEAR:
                near.append(Likeness([_named(a), _named(b)], round(sim, 3), [a[0][1], b[0][1]]))
    found += sorted(near, key=lambda x: -x.similarity)[:30]
    return found


# ---------------------------------------------------------------------- counting


_BOTO = re.compile(r"(?:\w+: )?An error occurred \((\w+)\) when calling the (\w+) operation:?\s*")


def _clean(message: str) -> str:
    """A reason as the class shares it: botocore's wording shortened ("ValidationException from
    Encrypt: ..."), key ids, ARNs and account ids replaced, length capped."""
    text = _BOTO.sub(lambda m: f"{m.group(1)} from {m.group(2)}: ", message.strip()).rstrip(": ")
    text = _NOISE.sub("…", text)
    return text if len(text) <= 200 else text[:199] + "…"


def _analyse_one(assignment: str, entries: list, folder: Path | None) -> AssignmentStats:
    counts = Counter(e.row.get("status", "") for e in entries)
    graded = [e for e in entries if e.row.get("status") == "graded"]
    scores = []
    for e in graded:
        try:
            scores.append(float(e.row.get("final_score") or e.row.get("score") or 0))
        except ValueError:
            pass
    max_score = max((float(e.row["max_score"]) for e in entries if e.row.get("max_score")), default=0.0)
    tasks: dict[str, TaskStats] = {}
    checks: dict[tuple[str, str], list[int]] = {}
    hits: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for e in graded:
        who = e.row["student"]
        for t in e.details.get("tasks") or []:
            ts = tasks.setdefault(t["task"], TaskStats(t["task"], t["title"], t["max_points"]))
            ts.graded += 1
            ts.passed += bool(t["passed"])
            ts.mean_points += t["points"]
            unanswered = (t.get("message") or "").startswith("not answered")
            ts.unanswered += unanswered
            for c in t.get("checks") or []:
                got = checks.setdefault((t["task"], c["name"]), [0, 0])
                got[0] += bool(c["passed"])
                got[1] += 1
                if not c["passed"] and c.get("message") and not unanswered:
                    hits[(t["task"], "hidden check", _clean(c["message"]))].add(who)
        for line in e.details.get("self_checks") or []:
            m = re.match(r"\[x\]\s*(t\d+)?:?\s*(.*)", line)
            if m and m.group(2) and "not answered" not in m.group(2):
                hits[(m.group(1) or "", "self-check", _clean(m.group(2)))].add(who)
    for ts in tasks.values():
        ts.mean_points = ts.mean_points / ts.graded if ts.graded else 0.0
        ts.checks = [{"name": name, "passed": p, "graded": n} for (task, name), (p, n) in checks.items()
                     if task == ts.task]
    misconceptions = sorted((Misconception(text, task, source, len(who), sorted(who))
                             for (task, source, text), who in hits.items()),
                            key=lambda m: (-m.students, m.task, m.text))
    unanswered, solution = _reference_answers(assignment, folder)
    attention = [(e.row["student"], e.row.get("status", ""), e.row.get("notes", "")[:200]) for e in entries
                 if e.row.get("status") in ("unreadable", "not graded", "missing")]
    late = sum(1 for e in graded if (e.row.get("late_days") or "0") not in ("", "0"))
    return AssignmentStats(assignment, assignment.startswith("quiz_"), max_score, dict(counts), scores, late,
                           sorted(tasks.values(), key=_task_order), misconceptions[:40],
                           _similar(graded, unanswered, solution), attention)


def _task_order(t: TaskStats):
    m = re.match(r"t(\d+)$", t.task)
    return (0, int(m.group(1)), "") if m else (1, 0, t.task)


def analyse(book: Gradebook, *, assignment: str | None = None,
            assignments_dir: str | Path | None = None) -> list[AssignmentStats]:
    from ._grader import default_assignments_dir

    folder = Path(assignments_dir) if assignments_dir else default_assignments_dir()
    entries = book.entries()
    if not entries:
        raise GradebookError(f"{book.path} has no rows")
    names = sorted({e.row.get("assignment", "") for e in entries if e.row.get("assignment")})
    if assignment is not None:
        if assignment not in names:
            raise GradebookError(f"{book.path} has no rows for {assignment} (it has: {', '.join(names)})")
        names = [assignment]
    return [_analyse_one(n, [e for e in entries if e.row.get("assignment") == n], folder if folder.is_dir() else None)
            for n in names]


# ---------------------------------------------------------------------- the page

_STYLE = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2330; max-width: 1040px;
       margin: 2em auto; padding: 0 1.2em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.35em; margin-top: 2.2em; border-bottom: 2px solid #1d2330; }
h3 { font-size: 1.08em; margin: 1.6em 0 .4em; }
.cards { display: flex; gap: .8em; flex-wrap: wrap; margin: .8em 0; }
.card { border: 1px solid #e2e5eb; border-radius: 8px; padding: .5em 1em; min-width: 7em; }
.card b { display: block; font-size: 1.5em; } .card span { color: #5b6475; font-size: .9em; }
table { border-collapse: collapse; width: 100%; margin: .4em 0 1em; }
th, td { text-align: left; padding: .3em .6em; border-bottom: 1px solid #e2e5eb; vertical-align: top; }
th { background: #f4f6f9; font-weight: 600; } td.n, td.nw { text-align: right; white-space: nowrap; }
td.nw { text-align: left; }
.bar { background: #e8ecf2; border-radius: 3px; height: .8em; width: 9em; display: inline-block; vertical-align: middle; }
.bar i { display: block; height: 100%; border-radius: 3px; background: #2f6fde; }
img { max-width: 100%; } .pics { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; align-items: start; }
.pics img { width: 100%; }
.muted { color: #5b6475; } .warn { color: #b3261e; }
"""


def _bar(share: float) -> str:
    return f"<span class='bar'><i style='width:{max(0.0, min(1.0, share)) * 100:.0f}%'></i></span>"


def _pct(share: float) -> str:
    return f"{share * 100:.0f}%"


def page(stats: list[AssignmentStats], charts: dict[str, str], title: str = "Class report") -> str:
    e = html.escape
    out = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{e(title)}</title>"
           f"<style>{_STYLE}</style></head><body><h1>{e(title)}</h1>"]
    for s in stats:
        a = s.assignment
        c = s.counts
        total = sum(c.values())
        out.append(f"<h2>{e(a)}</h2><div class='cards'>"
                   + "".join(f"<div class='card'><b>{v}</b><span>{e(k)}</span></div>" for k, v in (
                       ("students", total), ("graded", c.get("graded", 0)), ("unreadable", c.get("unreadable", 0)),
                       ("not graded", c.get("not graded", 0)), ("missing", c.get("missing", 0)),
                       ("late", s.late)))
                   + "</div>")
        summary = s.summary
        if summary:
            out.append("<p>Final scores out of {}: mean <b>{:.1f}</b>, median <b>{:g}</b>, standard deviation {:.1f}, "
                       "lowest {:g}, highest {:g}.</p>".format(number(s.max_score), summary["mean"], summary["median"],
                                                               summary["stdev"], summary["min"], summary["max"]))
        pics = [charts.get(f"{a}:{k}") for k in ("scores", "tasks")]
        if any(pics):
            out.append("<div class='pics'>" + "".join(f"<img alt='{e(a)} chart' src='{p}'>" for p in pics if p)
                       + "</div>")
        what = "question" if s.quiz else "task"
        out.append(f"<h3>Pass rate of each {what}</h3><table><tr><th>{what.title()}</th><th>Passed</th>"
                   f"<th class='n'>of</th><th class='n'>Mean points</th>"
                   + ("" if s.quiz else "<th class='n'>Unanswered</th>") + "</tr>")
        for t in s.tasks:
            out.append(f"<tr><td>{e(t.task)}: {e(t.title)}</td><td>{_bar(t.pass_rate)} {_pct(t.pass_rate)}</td>"
                       f"<td class='n'>{t.graded}</td><td class='n'>{t.mean_points:.1f} / {number(t.max_points)}</td>"
                       + ("" if s.quiz else f"<td class='n'>{t.unanswered}</td>") + "</tr>")
            if not s.quiz and len(t.checks) > 1:
                for ch in t.checks:
                    share = ch["passed"] / ch["graded"] if ch["graded"] else 0
                    out.append(f"<tr class='muted'><td>&nbsp;&nbsp;check: {e(ch['name'])}</td><td>{_bar(share)} "
                               f"{_pct(share)}</td><td class='n'>{ch['graded']}</td><td></td><td></td></tr>")
        out.append("</table>")
        out.append("<h3>Misconceptions most often hit</h3>")
        if s.misconceptions:
            if charts.get(f"{a}:misconceptions"):
                out.append(f"<img alt='misconceptions' src='{charts[f'{a}:misconceptions']}'>")
            graded = max(1, c.get("graded", 0))
            out.append("<table><tr><th>Reason</th><th>Task</th><th>From</th><th class='n'>Students</th></tr>")
            for m in s.misconceptions[:20]:
                out.append(f"<tr><td>{e(m.text)}</td><td>{e(m.task)}</td><td class='nw'>{e(m.source)}</td>"
                           f"<td class='n' title='{e(', '.join(m.names))}'>{m.students} ({_pct(m.students / graded)})"
                           "</td></tr>")
            out.append("</table>")
        else:
            out.append("<p class='muted'>No check failed for a reason other than an unanswered cell.</p>")
        out.append("<h3>Identical and near-identical submissions</h3>")
        if s.quiz:
            out.append("<p class='muted'>Not compared for a quiz: its answers are choices, alike by design.</p>")
        elif s.likeness:
            out.append("<p class='muted'>Answer cells compared after removing comments and layout and renaming "
                       "local variables; unanswered cells left out. Short tasks have few ways to be right, so "
                       "read the answers before concluding anything.</p>"
                       "<table><tr><th>Students</th><th class='n'>Similarity</th><th>Final scores</th><th></th></tr>")
            for lk in s.likeness:
                out.append(f"<tr><td>{e(', '.join(lk.students))}</td><td class='n'>"
                           f"{'identical' if lk.similarity == 1.0 else _pct(lk.similarity)}</td>"
                           f"<td>{e(', '.join(lk.scores))}</td><td class='muted'>{e(lk.note)}</td></tr>")
            out.append("</table>")
        else:
            out.append("<p class='muted'>None found.</p>")
        if s.attention:
            out.append("<h3>Not graded</h3><table><tr><th>Student</th><th>Status</th><th>Why</th></tr>")
            for who, status, why in s.attention:
                out.append(f"<tr><td>{e(who)}</td><td class='warn'>{e(status)}</td><td>{e(why)}</td></tr>")
            out.append("</table>")
    out.append("</body></html>\n")
    return "\n".join(out)


def write_report(stats: list[AssignmentStats], out: str | Path, charts: dict[str, str] | None = None) -> Path:
    out = Path(out)
    if not out.parent.is_dir():
        raise GradebookError(f"the folder {out.parent} does not exist")
    _atomic_write(out, page(stats, charts or {}))
    return out
