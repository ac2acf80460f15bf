"""Assignments, auto-grading and quizzes for classrooms, with nothing but this package.

* :func:`generate` turns each instructor source in ``assignments/`` into the student notebook in
  ``exercises/`` and the worked answers in ``solutions/`` (``kms-teach assign``).
* :func:`grade` runs one submission in a fresh kernel and scores it with the hidden checks;
  :func:`grade_many` grades a folder in parallel; :func:`grade_class` grades a class (recursive
  discovery, a :func:`load_roster` roster, a :class:`LatePolicy`) into a :class:`Gradebook` updated
  in place (``kms-teach grade``). From a gradebook: ``kms-teach export`` (Canvas, Moodle),
  ``feedback`` (a page per student) and ``report`` (the class); docs/teaching-a-class.md.
* :func:`validate` grades every assignment's solution (full marks), untouched exercise (zero) and
  the instructor's wrong answers beside the source (each loses its task), and records the per-cell
  time limit its solution's run gives (``kms-teach assign``).
* :func:`export_nbgrader` writes an assignment in nbgrader's source format.
* :func:`release` writes what learners get: the course, exercises and practice quizzes, without
  any solution, hidden test or exam key (``kms-teach release OUT/``).
* :func:`load_bank` reads a quiz bank (``quizbank/*.json``); the ``Quiz`` widget saves answers in the
  notebook, and :func:`grade` scores them like any assignment (``quiz_<bank>``).

Errors::

    ValueError
     ├── SourceError      an assignment source that breaks the format (file and line named)
     ├── QuizError        a quiz bank that breaks the format, or an unknown bank
     ├── ReleaseError     a release that cannot be written as asked
     ├── RosterError      a class list that cannot be used (file and line named)
     └── GradebookError   a gradebook that cannot be read or written as asked, a late policy that makes no sense
    RuntimeError
     └── SandboxUnavailable   learners' code would run unsandboxed, and that was not allowed
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING


from ._batch import grade_class, grade_many, write_csv
from ._gradebook import Gradebook, GradebookError, LatePolicy
from ._grader import (CheckResult, Report, SandboxUnavailable, TaskResult, default_assignments_dir, grade,
                      kernel_manager, write_json)
from ._nbgrader import export_nbgrader
from ._validate import Validation, validate
from ._release import ReleaseError, release
from ._roster import Roster, RosterError, load_roster
from ._quiz import (ANSWERS_MIME, Bank, QuizError, bank_from_spec, bank_names, exam_paths, exam_spec, load_bank,
                    quiz_notebook, saved_answers)
from ._source import (KERNELSPEC, Assignment, Check, SourceError, WrongAnswer, discover, load, load_wrong_answers,
                      notebook_text)

if TYPE_CHECKING:
    import nbformat

__all__ = [
    "ANSWERS_MIME",
    "Assignment",
    "Bank",
    "Check",
    "CheckResult",
    "WrongAnswer",
    "discover",
    "load_wrong_answers",
    "SandboxUnavailable",
    "QuizError",
    "ReleaseError",
    "release",
    "bank_from_spec",
    "bank_names",
    "exam_paths",
    "exam_spec",
    "load_bank",
    "saved_answers",
    "Report",
    "SourceError",
    "TaskResult",
    "default_assignments_dir",
    "export_nbgrader",
    "generate",
    "validate",
    "Validation",
    "grade",
    "grade_many",
    "grade_class",
    "Gradebook",
    "GradebookError",
    "LatePolicy",
    "Roster",
    "RosterError",
    "load_roster",
    "kernel_manager",
    "KERNELSPEC",
    "notebook_text",
    "quiz_notebook",
    "load",
    "write_csv",
    "write_json",
]


def generate(assignments_dir: str | Path | None = None, root: str | Path | None = None, *,
             check: bool = False, banks: list[str] | None = None) -> list[str]:
    """Write ``exercises/NAME.ipynb`` and ``solutions/NAME.ipynb`` for every source, and
    ``quiz_BANK.ipynb`` (the quiz, and its answer key) for every practice bank of the package
    (``banks``: default all) and, when ``banks`` is not given, every exam bank of the folder
    (``quiz_NAME.json``).

    With ``check=True`` nothing is written; the paths that are missing or differ are returned.
    Otherwise the paths written are returned.
    """
    folder = Path(assignments_dir) if assignments_dir else default_assignments_dir()
    root = Path(root) if root else folder.parent
    made: list[tuple[Path, nbformat.NotebookNode]] = []
    for source_path in discover(folder)[0]:
        assignment = load(source_path)
        made += [(root / sub / f"{assignment.name}.ipynb", assignment.notebook(kind))
                 for kind, sub in (("student", "exercises"), ("solution", "solutions"))]
    quiz_banks = [load_bank(b) for b in (bank_names() if banks is None else banks)]
    if banks is None:  # the instructor's exams, beside the assignments
        quiz_banks += [load_bank(str(p)) for p in exam_paths(folder)]
    for bank in quiz_banks:
        made += [(root / sub / f"quiz_{bank.name}.ipynb", quiz_notebook(bank, kind))
                 for kind, sub in (("student", "exercises"), ("solution", "solutions"))]
    changed = []
    for target, nb in made:
        text = notebook_text(nb)
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current is not None and _same(current, text):
            continue
        changed.append(str(target))
        if not check:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    return changed


def _same(a: str, b: str) -> bool:
    """Equal but for outputs and execution counts (a solution may be committed after running it)."""
    def strip(text):
        doc = json.loads(text)
        for cell in doc.get("cells", []):
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
        return doc

    try:
        return strip(a) == strip(b)
    except ValueError:
        return False
