"""Grade many submissions at once: in parallel, with a progress bar, into a CSV gradebook.

:func:`grade_class` is what ``kms-teach grade`` runs for a class: it finds the submissions
(folders searched recursively; every file it leaves out is listed with the reason), says whose each
one is (a roster, or the folder or file name), grades them and updates the gradebook in place
(``_gradebook``), applying the late policy. :func:`grade_many` grades and returns the reports.

Each submission is graded by :func:`~kms_teach.grading.grade` in its own sandbox, with its own
checker process; the workers are threads that mostly wait on those, so N workers keep N sandboxes
busy. A submission that breaks anything still gets a row (score and reason): the batch never stops.
Where no sandbox can be made, the batch is refused before anything runs, unless ``sandbox=False``.
"""

from __future__ import annotations

import csv
import json
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable

from ._gradebook import Entry, Gradebook, LatePolicy, number, plain_text, utc_now_text
from ._grader import MAX_SUBMISSION_BYTES, Report, SandboxUnavailable, grade, sandbox_status
from ._roster import Roster, Student, assignment_like, nbgrader_student, utc_text


def _notebook_json(path: Path):
    """A submission's JSON, read only when it is no bigger than a notebook can be (``OSError`` else):
    the batch looks into each file a few times, and a huge one must not fill the memory."""
    if path.stat().st_size > MAX_SUBMISSION_BYTES:
        raise OSError(f"{path} is larger than {MAX_SUBMISSION_BYTES} bytes")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:  # [[[[...]]]] nested deeper than Python's parser goes: not a notebook
        raise ValueError(f"{path} is nested too deeply to be a notebook") from None


def submissions_in(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; folders give their ``*.ipynb`` (sorted, checkpoints skipped)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(q for q in p.glob("*.ipynb") if ".ipynb_checkpoints" not in q.parts))
        else:
            out.append(p)
    return out


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_OR_LINE = re.compile("[\x00-\x1f\x7f-\x9f]")


def printable(text: object, *, lines: bool = True) -> str:
    """Text for the instructor's terminal: control characters a learner put in a file name or a
    notebook (an escape sequence that clears the line, moves the cursor up or writes the clipboard; a
    carriage return that draws over a warning) are shown as escapes, never obeyed. ``lines=False``
    escapes line breaks too (one line a student)."""
    pattern = _CONTROL if lines else _CONTROL_OR_LINE
    return pattern.sub(lambda m: repr(m.group())[1:-1], str(text))


class ProgressBar:
    """``[#######.......]  7/20  35%  12.3 s`` on one line of a terminal (stderr)."""

    def __init__(self, total: int, stream=None, width: int = 30):
        self.total, self.done, self.width = total, 0, width
        self.stream = stream if stream is not None else sys.stderr
        self.started = time.monotonic()

    def step(self, label: str = "") -> None:
        self.done += 1
        filled = int(self.width * self.done / max(1, self.total))
        line = (f"\r[{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} "
                f"{100 * self.done // max(1, self.total):3d}%  {time.monotonic() - self.started:6.1f} s  "
                f"{printable(label, lines=False)[:40]}")
        self.stream.write(line.ljust(100))
        if self.done == self.total:
            self.stream.write("\n")
        self.stream.flush()


def grade_many(paths: Iterable[str | Path], *, jobs: int = 2, progress: bool | Callable = True,
               **grade_options) -> list[Report]:
    """Grade every submission (files or folders of them), ``jobs`` at a time, in the given order.

    Raises :class:`SandboxUnavailable` before grading anything when the learners' code cannot be
    sandboxed here and ``sandbox=False`` was not given.
    """
    files = submissions_in(paths)
    if any(_runs_code(f, grade_options.get("assignment")) for f in files):
        sandbox_status(grade_options.get("sandbox", True))  # raises SandboxUnavailable
    bar = ProgressBar(len(files)) if progress is True else None
    reports: dict[int, Report] = {}
    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="grade") as pool:
        futures = {pool.submit(_grade_safely, f, grade_options): i for i, f in enumerate(files)}
        for future in as_completed(futures):
            report = future.result()
            reports[futures[future]] = report
            if bar:
                bar.step(f"{report.student}: {report.score}/{report.max_score}")
            elif callable(progress):
                progress(report)
    out = [reports[i] for i in range(len(files))]
    # Per-student folders (alice/ex02.ipynb, bob/ex02.ipynb; nbgrader's submitted/alice/ex02/ex02.ipynb):
    # the folders name the student.
    stems = [Path(r.submission).stem for r in out]
    for r, stem in zip(out, stems):
        path = Path(r.submission)
        nbgrader = nbgrader_student(path, r.assignment)
        if nbgrader:
            r.student_name = _no_formula(nbgrader)
        elif stems.count(stem) > 1:
            r.student_name = path.parent.name or stem
    return out


def _runs_code(path: Path, assignment: str | None) -> bool:
    """Will grading this file run a learner's code? (Quizzes are scored without a kernel.)"""
    if assignment:
        return not assignment.startswith("quiz_")
    try:
        meta = _notebook_json(path).get("metadata", {}).get("kms_teach", {})
        claimed = meta.get("assignment") if isinstance(meta, dict) else None
    except (OSError, ValueError, AttributeError):
        return False  # unreadable: it gets a row with the reason, and runs nothing
    return not (isinstance(claimed, str) and claimed.startswith("quiz_"))


def _grade_safely(path: Path, options: dict) -> Report:
    try:
        return grade(path, **options)
    except SandboxUnavailable:
        raise
    except Exception as exc:  # a bug of ours must not stop the class's batch either
        report = Report(submission=str(path), assignment=options.get("assignment"))
        report.problems.append(f"the grader failed: {type(exc).__name__}: {exc}")
        return report


def write_csv(reports: list[Report], path: str | Path) -> None:
    """One row per submission: student, file, assignment, each task's points, total, maximum, how the
    code ran (``bubblewrap``, or ``none (--no-sandbox)``), notes."""
    tasks: list[str] = []
    for r in reports:
        for t in r.tasks:
            if t.task not in tasks:
                tasks.append(t.task)
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["student", "submission", "assignment", *tasks, "score", "max_score", "sandbox", "notes"])
        for r in reports:
            points = {t.task: t.points for t in r.tasks}
            notes = "; ".join(r.notes())  # each lost check with its reason (partial credit)
            out.writerow([r.student, r.submission, r.assignment or "", *(points.get(t, "") for t in tasks),
                          r.score, r.max_score, r.sandbox, notes])


# ---------------------------------------------------------------------- a class, into its gradebook

_UNREADABLE = ("cannot read the submission", "not a valid notebook")
_GRADER_FAILED = ("the grader failed", "the submission could not be run")
MAX_CELL_KEPT, MAX_CELLS_KEPT = 20_000, 60  # of a learner's cells, in the gradebook's details


@dataclass
class Skipped:
    """A file left out, and why; ``blocking`` ones make the command exit non-zero."""

    path: str
    reason: str
    blocking: bool = False


@dataclass
class Submission:
    path: Path
    root: Path | None  # the class folder it was found in (None: named on the command line)
    student_id: str = ""
    student: Student | None = None
    claimed: str | None = None


@dataclass
class ClassRun:
    """What :func:`grade_class` did: an entry per graded submission (and roster student without one)."""

    entries: list[Entry] = field(default_factory=list)
    reports: list[Report] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[Entry]:
        """Entries that could not be graded (unreadable, or no score the grader could stand by)."""
        return [e for e in self.entries if e.row["status"] in ("unreadable", "not graded")]

    @property
    def exit_status(self) -> int:
        return 1 if self.failed or any(s.blocking for s in self.skipped) else 0


def discover(paths: Iterable[str | Path]) -> tuple[list[Submission], list[Skipped]]:
    """The notebooks to grade: files as given, folders searched recursively; and what was left out."""
    found: list[Submission] = []
    skipped: list[Skipped] = []
    for given in map(Path, paths):
        if given.is_symlink() and not given.is_dir():  # (a class folder the instructor linked is theirs)
            skipped.append(_linked(given))
            continue
        if not given.is_dir():
            found.append(Submission(given, None))
            continue
        for p in sorted(given.rglob("*")):
            rel = p.relative_to(given)
            if p.is_symlink() or any(q.is_symlink() for q in list(p.parents)[:len(rel.parts) - 1]):
                skipped.append(_linked(p))
                continue
            if p.is_dir():
                continue
            if not p.is_file():  # a FIFO or a device (a tar can hold them) would block the read for ever
                skipped.append(Skipped(str(p), "not a regular file (a pipe, socket or device): not graded",
                                       blocking=True))
                continue
            if ".ipynb_checkpoints" in rel.parts:
                skipped.append(Skipped(str(p), "a Jupyter checkpoint (an autosaved copy, not the submission)"))
            elif any(part.startswith(".") for part in rel.parts):
                skipped.append(Skipped(str(p), "hidden (its name or a folder's starts with '.')"))
            elif p.suffix != ".ipynb":
                skipped.append(Skipped(str(p), f"not a notebook ({p.suffix or 'no extension'}; only *.ipynb "
                                               "files are graded)"))
            else:
                found.append(Submission(p, given))
    return found, skipped


def _linked(path: Path) -> Skipped:
    """A symbolic link is never graded: a learner's zip can hold ``mallory.ipynb -> ../solutions/ex02.ipynb``
    (unzip restores links), which would grade the instructor's solution, or another student's file,
    as theirs, and copy its cells into the details."""
    try:
        target = f" (to {path.readlink()})"
    except OSError:
        target = ""
    return Skipped(str(path), f"a symbolic link{target}, not a file handed in: not graded (copy the file it "
                              "points to if it is really the submission)", blocking=True)


def _claimed(path: Path) -> str | None:
    try:
        meta = _notebook_json(path).get("metadata", {}).get("kms_teach", {})
        name = meta.get("assignment") if isinstance(meta, dict) else None
    except (OSError, ValueError, AttributeError):
        return None
    return name if isinstance(name, str) and name else None


def default_student(path: Path, root: Path | None, assignment: str | None) -> str:
    """Without a roster: in nbgrader's layout (``submitted/alice/ex02_data_keys/ex02_data_keys.ipynb``)
    the folder above the one named after the assignment (alice); else the first folder below the
    class folder that is not named after an assignment (``class/ike/ex03.ipynb``: ike); else the
    file's name, unless that is the assignment's (``ike/ex03_key_policies.ipynb`` graded alone: ike,
    the nearest folder not named after an assignment)."""
    return _no_formula(_default_student(path, root, assignment))


def _no_formula(name: str) -> str:
    """A student id taken from a learner's file name never starts like a spreadsheet formula
    (``=HYPERLINK(...)``, ``+``, ``-``, ``@``): the gradebook and its exports are opened in Excel."""
    return plain_text(name).lstrip("=+-@\t\r\n ") or "student"


def _default_student(path: Path, root: Path | None, assignment: str | None) -> str:
    nbgrader = nbgrader_student(path, assignment, root)
    if nbgrader:
        return nbgrader
    if root is not None:
        try:
            below = path.resolve().parent.relative_to(root.resolve()).parts
        except ValueError:
            below = ()
        named = [part for part in below if not assignment_like(part, assignment)]
        if named:
            return named[0]
    stem = path.stem
    if assignment_like(stem, assignment):
        for folder in path.resolve().parents:
            if folder.name and not assignment_like(folder.name, assignment):
                return folder.name
    return stem


def _who(subs: list[Submission], roster: Roster | None, assignment: str | None) -> list[Skipped]:
    """Name each submission's student; keep the newest of one student's several for one assignment."""
    skipped: list[Skipped] = []
    kept: dict[tuple[str, str], Submission] = {}
    for sub in subs:
        sub.claimed = assignment or _claimed(sub.path)
        if roster is not None:
            sub.student, why = roster.match(sub.path, sub.root, sub.claimed)
            if sub.student is None:
                skipped.append(Skipped(str(sub.path), why, blocking=True))
                continue
            sub.student_id = sub.student.student_id
        else:
            sub.student_id = default_student(sub.path, sub.root, sub.claimed)
        key = (sub.student_id, sub.claimed or "")
        other = kept.get(key)
        if other is not None:
            newer, older = (sub, other) if _mtime(sub.path) >= _mtime(other.path) else (other, sub)
            kept[key] = newer
            skipped.append(Skipped(str(older.path), f"an earlier submission of {sub.student_id}"
                                   + (f" for {sub.claimed}" if sub.claimed else "")
                                   + f" (the newest, {newer.path}, is graded)"))
        else:
            kept[key] = sub
    chosen = {id(s) for s in kept.values()}
    subs[:] = [s for s in subs if id(s) in chosen]
    return skipped


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _readable(path: Path) -> bool:
    try:
        doc = _notebook_json(path)
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and isinstance(doc.get("cells"), list)


def status_of(report: Report, readable: bool) -> str:
    if not readable or any(p.startswith(_UNREADABLE) for p in report.problems):
        return "unreadable"
    if not report.tasks or any(p.startswith(_GRADER_FAILED) for p in report.problems):
        return "not graded"
    return "graded"


def learner_cells(path: Path) -> tuple[dict[str, str], list[str]]:
    """The learner's cells of a submission, by the label the grader names them with (``t2-answer``,
    ``added-after-t2-answer-0``), and the self-checks' complaints (``[x] ...`` lines) in its saved
    outputs. For feedback and the class report only: grading never trusts either."""
    try:
        doc = _notebook_json(path)
        cells = doc["cells"] if isinstance(doc, dict) and isinstance(doc.get("cells"), list) else []
    except (OSError, ValueError, KeyError):
        return {}, []
    out: dict[str, str] = {}
    complaints: list[str] = []
    anchor, added = None, 0
    for cell in cells:
        if not isinstance(cell, dict):
            continue
        meta = cell.get("metadata", {}).get("kms_teach") if isinstance(cell.get("metadata"), dict) else None
        meta = meta if isinstance(meta, dict) else {}
        label = meta.get("cell") if isinstance(meta.get("cell"), str) else None
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        if len(source) > MAX_CELL_KEPT:  # the details file stays small whatever a learner pastes
            source = source[:MAX_CELL_KEPT] + f"\n# ... ({len(source) - MAX_CELL_KEPT} more characters not kept)\n"
        if len(out) >= MAX_CELLS_KEPT:
            break
        if label:
            anchor, added = label, 0
            if meta.get("role") == "answer":
                out[label] = source
            if meta.get("role") == "check":
                for output in cell.get("outputs", []) if isinstance(cell.get("outputs"), list) else []:
                    text = output.get("text", "") if isinstance(output, dict) else ""
                    text = "".join(text) if isinstance(text, list) else str(text)
                    complaints += [line.strip()[:300] for line in text.splitlines()
                                   if line.strip().startswith("[x]")]
        elif cell.get("cell_type") == "code" and anchor:
            out[f"added-after-{anchor}-{added}"] = source
            added += 1
    return out, complaints[:50]


def _submitted_at(sub: Submission, late: LatePolicy | None) -> datetime | None:
    if late is None:
        return None
    if late.source in ("roster", "auto") and sub.student is not None and sub.student.submitted_at:
        return sub.student.submitted_at
    if late.source == "roster":
        return None
    mtime = _mtime(sub.path)
    return datetime.fromtimestamp(mtime).astimezone() if mtime else None


def entry_for(sub: Submission, report: Report, *, late: LatePolicy | None, now: float) -> Entry:
    status = status_of(report, _readable(sub.path))
    graded = status == "graded"
    s = sub.student
    submitted = _submitted_at(sub, late)
    days = late.days_late(submitted) if (late and graded) else 0
    penalty = min(report.score, late.penalty(days, report.max_score)) if (late and graded) else 0
    notes = list(report.problems) + [f"{t.task}: {t.message}" for t in report.tasks if not t.passed]
    if late and late.source == "roster" and submitted is None and graded:
        notes.append("no submission time on the roster: not counted late")
    if days:
        notes.append(f"{days} day{'s' if days > 1 else ''} late" + (f": -{number(penalty)}" if penalty else ""))
    row = {
        "student": sub.student_id, "name": s.name if s else "", "email": s.email if s else "",
        "section": s.section if s else "", "submission": plain_text(str(sub.path)),
        "assignment": report.assignment or sub.claimed or "", "status": status,
        **{t.task: (number(t.points) if graded else "") for t in report.tasks},
        "score": number(report.score) if graded else "",
        "max_score": number(report.max_score) if report.max_score else "",
        "late_days": str(days) if late and graded else "",
        "late_penalty": number(penalty) if late and graded else "",
        "final_score": number(round(report.score - penalty, 2)) if graded else "",
        "submitted_at": utc_text(submitted), "graded_at": utc_now_text(now), "sandbox": report.sandbox,
        "notes": "; ".join(notes),
    }
    answers, complaints = learner_cells(sub.path)
    details = {**report.to_dict(), "student": sub.student_id, "name": row["name"], "email": row["email"],
               "status": status, "answers": answers, "self_checks": complaints,
               "late": {"days": days, "penalty": penalty, "policy": late.describe()} if late else None,
               "final_score": row["final_score"], "graded_at": row["graded_at"]}
    return Entry(row, details)


def missing_entry(student: Student, assignment: str, max_score: float | int, now: float) -> Entry:
    row = {"student": student.student_id, "name": student.name, "email": student.email, "section": student.section,
           "submission": "", "assignment": assignment, "status": "missing", "score": "", "final_score": "",
           "max_score": number(max_score) if max_score else "", "graded_at": utc_now_text(now),
           "notes": "nothing handed in"}
    return Entry(row, {"student": student.student_id, "name": student.name, "email": student.email,
                       "status": "missing", "assignment": assignment, "tasks": [], "problems": ["nothing handed in"],
                       "score": 0, "max_score": max_score})


def grade_class(paths: Iterable[str | Path], gradebook: str | Path | None, *, roster: Roster | None = None,
                late: LatePolicy | None = None, jobs: int = 2, progress: bool | Callable = True,
                now: Callable[[], float] = time.time, flush_every: float = 5.0, **grade_options) -> ClassRun:
    """Grade a class into its gradebook (updated in place; None: nothing written).

    Rows are written as results come in (at most every ``flush_every`` seconds), so an interrupted
    batch keeps what it graded. Roster students with no submission get a ``missing`` row when a
    folder was graded and they have no row for that assignment yet.
    """
    paths = list(paths)
    subs, skipped = discover(paths)
    skipped += _who(subs, roster, grade_options.get("assignment"))
    result = ClassRun(skipped=skipped)
    if any(_runs_code(s.path, grade_options.get("assignment")) for s in subs):
        sandbox_status(grade_options.get("sandbox", True))  # raises SandboxUnavailable
    book = Gradebook(gradebook) if gradebook else None
    before = book.details() if book else {}
    bar = ProgressBar(len(subs)) if (progress is True and subs) else None
    pending: list[Entry] = []
    unnamed: list[Entry] = []
    flushed = time.monotonic()
    by_index: dict[int, tuple[Report, Entry]] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="grade")
    try:
        futures = {pool.submit(_grade_safely, s.path, grade_options): i for i, s in enumerate(subs)}
        for future in as_completed(futures):
            i = futures[future]
            report = future.result()
            report.student_name = subs[i].student_id
            entry = entry_for(subs[i], report, late=late, now=now())
            by_index[i] = (report, entry)
            # A row that names no assignment yet waits for the end (it may get the batch's one).
            (pending if entry.row["assignment"] else unnamed).append(entry)
            if book and time.monotonic() - flushed > flush_every:
                book.update(pending)
                pending, flushed = [], time.monotonic()
            if bar:
                status = entry.row["status"]
                bar.step(f"{report.student}: "
                         + (f"{report.score}/{report.max_score}" if status == "graded" else status))
            elif callable(progress):
                progress(report)
    except BaseException:
        # Interrupted (Ctrl-C, a bug of ours): nothing more starts, and what was graded since the
        # last write is written before the error goes on.
        pool.shutdown(wait=False, cancel_futures=True)
        if book and pending:
            book.update(pending)
        raise
    pool.shutdown()
    for i in range(len(subs)):
        result.reports.append(by_index[i][0])
        result.entries.append(by_index[i][1])
    _name_unknown_assignment(result, grade_options.get("assignment"), book)
    result.warnings += _policy_changes(result.entries, before, late)
    pending += unnamed
    if roster is not None and any(Path(p).is_dir() for p in paths):
        result.entries += _missing(result, roster, book, grade_options.get("assignment"), now())
        pending += [e for e in result.entries if e.row["status"] == "missing"]
    if book:
        book.update(pending)
    return result


def _policy_changes(entries: list[Entry], before: dict, late: LatePolicy | None) -> list[str]:
    """Regraded rows whose late policy differs from the one their previous grade applied (a regrade
    that forgot ``--due`` would silently lift a penalty)."""
    changed: dict[tuple[str, str], list[str]] = {}
    for e in entries:
        old = (before.get(e.key) or {}).get("late") or None
        old_policy = old.get("policy") if isinstance(old, dict) else None
        new_policy = late.describe() if late else None
        if old_policy != new_policy and e.row["status"] == "graded" and e.key in before:
            changed.setdefault((old_policy or "none", new_policy or "none"), []).append(e.key[0])
    return [f"{len(who)} regraded student(s) ({', '.join(who[:5])}{', ...' if len(who) > 5 else ''}) had the late "
            f"policy [{old}] and now [{new}]; give the same --due and --late-penalty as before to keep it"
            for (old, new), who in changed.items()]


def _name_unknown_assignment(result: ClassRun, assignment: str | None, book: Gradebook | None = None) -> None:
    """An unreadable file says no assignment; in a batch of one assignment it is that one's (so its
    row replaces the student's earlier one, and the student is not also listed as missing). A file
    regraded alone takes the gradebook's assignment when the gradebook holds one only: a broken
    re-upload must replace the student's row, not sit beside it under no assignment while the
    earlier grade stays."""
    names = {assignment} if assignment else {e.row["assignment"] for e in result.entries if e.row["assignment"]}
    if not names and book is not None:
        names = {r.get("assignment", "") for r in book.rows()[0] if r.get("assignment")}
    if len(names) != 1:
        return
    name = names.pop()
    max_score = max((r.max_score for r in result.reports if r.assignment == name), default=0)
    for e in result.entries:
        if not e.row["assignment"]:
            e.row["assignment"] = e.details["assignment"] = name
            e.row["max_score"] = e.row["max_score"] or (number(max_score) if max_score else "")


def _missing(result: ClassRun, roster: Roster, book: Gradebook | None, assignment: str | None,
             now: float) -> list[Entry]:
    assignments = {assignment} if assignment else {e.row["assignment"] for e in result.entries if e.row["assignment"]}
    if len(assignments) != 1:
        return []  # several assignments in one batch: who is missing what is not clear
    name = assignments.pop()
    have = {e.row["student"] for e in result.entries if e.row["assignment"] == name}
    if book:
        have |= {r.get("student", "") for r in book.rows()[0] if r.get("assignment") == name}
    max_score = max((r.max_score for r in result.reports if r.assignment == name), default=0)
    return [missing_entry(s, name, max_score, now) for s in roster.students if s.student_id not in have]
