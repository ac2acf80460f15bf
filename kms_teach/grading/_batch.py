"""Grade many submissions at once: in parallel, with a progress bar, into a CSV gradebook.

Each submission is graded by :func:`~kms_teach.grading.grade` in its own sandbox, with its own
checker process; the workers are threads that mostly wait on those, so N workers keep N sandboxes
busy. A submission that breaks anything still gets a row (score and reason): the batch never stops.
Where no sandbox can be made, the batch is refused before anything runs, unless ``sandbox=False``.
"""

from __future__ import annotations

import csv
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Callable, Iterable

from ._grader import Report, SandboxUnavailable, grade, sandbox_status


def submissions_in(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; folders give their ``*.ipynb`` (sorted, checkpoints skipped)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(q for q in p.glob("*.ipynb") if ".ipynb_checkpoints" not in q.parts))
        else:
            out.append(p)
    return out


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
                f"{100 * self.done // max(1, self.total):3d}%  {time.monotonic() - self.started:6.1f} s  {label[:40]}")
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
    # nbgrader-style folders (alice/ex02.ipynb, bob/ex02.ipynb): the folder names the student.
    stems = [Path(r.submission).stem for r in out]
    for r, stem in zip(out, stems):
        if stems.count(stem) > 1:
            r.student_name = Path(r.submission).parent.name or stem
    return out


def _runs_code(path: Path, assignment: str | None) -> bool:
    """Will grading this file run a learner's code? (Quizzes are scored without a kernel.)"""
    import json

    if assignment:
        return not assignment.startswith("quiz_")
    try:
        meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {}).get("kms_teach", {})
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
