"""Feedback to hand back: one page per student and assignment, in HTML and in Markdown.

Each page gives the score (and the late penalty), then each task's points, each check's points and
reason, and, for a task that lost points, the learner's own cell that failed (their answer cell,
or the cell they added, as they wrote it). The hidden checks' code is never shown: their reasons
are. Everything the learner wrote is escaped, so a submission cannot put markup or script in a
page another person opens.
"""

from __future__ import annotations

import hashlib
import html
import re
from pathlib import Path

from ._gradebook import Entry, Gradebook, GradebookError, _atomic_write, number

_STYLE = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2330; max-width: 860px;
       margin: 2em auto; padding: 0 1.2em; }
h1 { font-size: 1.5em; margin-bottom: .2em; } h2 { font-size: 1.15em; margin: 1.6em 0 .4em; }
.meta { color: #5b6475; margin-top: 0; }
.score { font-size: 2.2em; font-weight: 650; margin: .3em 0; } .score small { font-size: .45em; color: #5b6475; }
table { border-collapse: collapse; width: 100%; margin: .5em 0 1em; }
th, td { text-align: left; padding: .35em .6em; border-bottom: 1px solid #e2e5eb; vertical-align: top; }
th { background: #f4f6f9; font-weight: 600; } td.pts { white-space: nowrap; text-align: right; }
.pass { color: #19753a; font-weight: 600; } .fail { color: #b3261e; font-weight: 600; }
.task { border: 1px solid #e2e5eb; border-radius: 8px; padding: .2em 1em .8em; margin: 1em 0; }
.task.failed { border-left: 5px solid #b3261e; } .task.passed { border-left: 5px solid #19753a; }
pre { background: #f6f8fa; border: 1px solid #e2e5eb; border-radius: 6px; padding: .7em .9em; overflow-x: auto;
      font: 13px/1.45 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; white-space: pre-wrap; }
.note { background: #fff7e0; border: 1px solid #f0d68a; border-radius: 6px; padding: .5em .8em; margin: .6em 0; }
.where { color: #5b6475; font-size: .92em; }
"""


def _safe(text: str) -> str:
    """A file name part: letters, digits, ``.``, ``_``, ``-`` (a student id could hold ``../``). An
    id that had to be changed gets a digest of itself: ``alice.`` or ``alice/`` must never name
    alice's page, or one student's feedback would overwrite (or be handed out as) another's."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")[:80]
    if safe != text:
        safe = f"{safe or 'student'}-{hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()[:10]}"
    return safe


def failing_cell(entry_details: dict, task: dict) -> tuple[str, str | None]:
    """What to show for a task that lost points: a sentence saying which cell, and its code (the
    learner's own), or None when the learner has no cell to show (a deleted answer cell)."""
    answers: dict[str, str] = entry_details.get("answers") or {}
    cell = task.get("cell") or ""
    tid = task.get("task", "")
    answer = answers.get(f"{tid}-answer")
    if cell in answers:
        what = "your answer cell" if cell.endswith("-answer") else "a cell you added"
        return f"The cell that failed: {what} ({cell}).", answers[cell]
    if cell.startswith("hidden checks of"):
        return f"The hidden checks of {tid} failed on your answer cell:", answer
    if cell:
        return f"The cell that failed: {cell} (a cell of the assignment, run after your earlier cells); your " \
               "answer cell:", answer
    return ("Your answer cell:", answer) if answer is not None else ("", None)


def _late_text(d: dict) -> str:
    late = d.get("late") or {}
    if not late or not late.get("days"):
        return ""
    return (f"Handed in {late['days']} day{'s' if late['days'] > 1 else ''} late: "
            f"-{number(late['penalty'])} ({late.get('policy', '')}).")


def _status_text(d: dict) -> str:
    return {"unreadable": "Your file could not be read as a notebook, so it was not graded: please hand it in "
                          "again (save it from Jupyter and check that it opens).",
            "not graded": "Your submission could not be graded; your instructor has been told why.",
            "missing": "Nothing was handed in."}.get(d.get("status", "graded"), "")


def markdown(entry: Entry) -> str:
    d, r = entry.details, entry.row
    lines = [f"# {_md(r['assignment'])}: feedback for {_md(r.get('name') or r['student'])}", ""]
    lines.append(f"Student: {_md(r['student'])}" + (f" ({_md(r['email'])})" if r.get("email") else "")
                 + f" · graded {_md(r.get('graded_at', ''))}")
    lines.append("")
    status = _status_text(d)
    if status:
        lines += [f"> {status}", ""]
    else:
        lines += [f"**Score: {_md(r.get('final_score') or r.get('score'))} / {_md(r.get('max_score'))}**", ""]
        if _late_text(d):
            lines += [f"> {_md(_late_text(d))} Before the penalty: {_md(r.get('score'))}.", ""]
    for p in d.get("problems") or []:
        lines += [f"> Note: {_md(p)}", ""]
    tasks = d.get("tasks") or []
    if tasks:
        lines += ["| Task | | Points |", "|---|---|---|"]
        for t in tasks:
            state = "passed" if t["passed"] else "lost points"
            lines.append(f"| {_md_cell(t['task'])}: {_md_cell(t['title'])} | {state} | "
                         f"{number(t['points'])}/{number(t['max_points'])} |")
        lines.append("")
    for t in tasks:
        lines += [f"## {_md(t['task'])}: {_md(t['title'])} ({number(t['points'])}/{number(t['max_points'])})", ""]
        for c in t.get("checks") or []:
            mark = "✓" if c["passed"] else "✗"
            reason = f": {_md(c['message'])}" if c.get("message") else ""
            lines.append(f"- {mark} {_md(c['name'])} ({number(c['points'])}/{number(c['max_points'])}){reason}")
        if not t.get("checks") and t.get("message"):
            lines.append(f"- {_md(t['message'])}")
        lines.append("")
        if not t["passed"]:
            what, code = failing_cell(d, t)
            if what:
                lines += [_md(what), ""]
            if code is not None:
                # A fence longer than any run of backticks in the code: a learner's ```` cannot close
                # it and put their own markup (or HTML) in the page.
                longest = max((len(m) for m in re.findall(r"`+", code)), default=0)
                fence = "`" * max(3, longest + 1)
                lines += [f"{fence}python", code.strip("\n").rstrip(), fence, ""]
    return "\n".join(lines).rstrip() + "\n"


def _md(text: object) -> str:
    """Text outside the code blocks: a reason can quote what a learner's code returned, so no HTML
    of theirs reaches a forum or a Git host that renders Markdown."""
    return html.escape(str(text), quote=False).replace("\n", " ")


def _md_cell(text: str) -> str:
    return _md(text).replace("|", "\\|")


def page(entry: Entry) -> str:
    d, r = entry.details, entry.row
    e = html.escape
    who = r.get("name") or r["student"]
    out = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{e(r['assignment'])}: feedback for "
           f"{e(who)}</title><style>{_STYLE}</style></head><body>",
           f"<h1>{e(r['assignment'])}</h1>",
           f"<p class='meta'>Feedback for <b>{e(who)}</b> ({e(r['student'])}"
           + (f", {e(r['email'])}" if r.get("email") else "") + f") · graded {e(r.get('graded_at', ''))}</p>"]
    status = _status_text(d)
    if status:
        out.append(f"<p class='note'>{e(status)}</p>")
    else:
        out.append(f"<p class='score'>{e(r.get('final_score') or r.get('score') or '0')} "
                   f"<small>/ {e(r.get('max_score', ''))} points</small></p>")
        if _late_text(d):
            out.append(f"<p class='note'>{e(_late_text(d))} Before the penalty: {e(r.get('score', ''))}.</p>")
    for p in d.get("problems") or []:
        out.append(f"<p class='note'>Note: {e(p)}</p>")
    tasks = d.get("tasks") or []
    if tasks:
        out.append("<table><tr><th>Task</th><th></th><th style='text-align:right'>Points</th></tr>")
        for t in tasks:
            mark = "<span class='pass'>passed</span>" if t["passed"] else "<span class='fail'>lost points</span>"
            out.append(f"<tr><td>{e(t['task'])}: {e(t['title'])}</td><td>{mark}</td>"
                       f"<td class='pts'>{number(t['points'])} / {number(t['max_points'])}</td></tr>")
        out.append("</table>")
    for t in tasks:
        state = "passed" if t["passed"] else "failed"
        out.append(f"<div class='task {state}'><h2>{e(t['task'])}: {e(t['title'])} "
                   f"<small>({number(t['points'])}/{number(t['max_points'])})</small></h2><table>")
        for c in t.get("checks") or []:
            mark = "<span class='pass'>✓</span>" if c["passed"] else "<span class='fail'>✗</span>"
            out.append(f"<tr><td style='width:1.5em'>{mark}</td><td>{e(c['name'])}"
                       + (f"<br><span class='where'>{e(c['message'])}</span>" if c.get("message") else "")
                       + f"</td><td class='pts'>{number(c['points'])} / {number(c['max_points'])}</td></tr>")
        out.append("</table>")
        if not t["passed"]:
            what, code = failing_cell(d, t)
            if what:
                out.append(f"<p class='where'>{e(what)}</p>")
            if code is not None:
                out.append(f"<pre><code>{e(code.strip(chr(10)).rstrip()) or e('(empty)')}</code></pre>")
        out.append("</div>")
    out.append("</body></html>\n")
    return "\n".join(out)


def write_feedback(book: Gradebook, out: str | Path, *, assignment: str | None = None,
                   students: list[str] | None = None) -> list[Path]:
    """``OUT/STUDENT-ASSIGNMENT.html`` and ``.md`` for each row (of the assignment, of the students)."""
    out = Path(out)
    entries = [en for en in book.entries()
               if (assignment is None or en.row.get("assignment") == assignment)
               and (not students or en.row.get("student") in students)]
    if students:
        unknown = sorted(set(students) - {en.row.get("student") for en in entries})
        if unknown:
            raise GradebookError(f"no row for {', '.join(unknown)} in {book.path}"
                                 + (f" for {assignment}" if assignment else ""))
    if not entries:
        raise GradebookError(f"{book.path} has no rows" + (f" for {assignment}" if assignment else ""))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GradebookError(f"cannot make the folder {out}: {exc}") from None
    written: list[Path] = []
    used: set[str] = set()
    for en in entries:
        if not en.details:  # a row with no details (written by hand): nothing to say beyond the CSV
            en.details = {"status": en.row.get("status", ""), "tasks": [], "problems": [en.row.get("notes", "")]}
        stem = f"{_safe(en.row['student'])}-{_safe(en.row.get('assignment', ''))}"
        if stem.lower() in used:  # never one page over another's (case-insensitive file systems too)
            key = f"{en.row['student']}\x1f{en.row.get('assignment', '')}".encode("utf-8", "surrogatepass")
            stem += "-" + hashlib.sha256(key).hexdigest()[:10]
        used.add(stem.lower())
        for suffix, text in ((".html", page(en)), (".md", markdown(en))):
            path = out / (stem + suffix)
            _atomic_write(path, text)
            written.append(path)
    return written
