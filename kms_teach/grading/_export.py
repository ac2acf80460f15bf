"""A gradebook's scores for one assignment in an LMS's own import format: Canvas or Moodle.

Both are CSV files (UTF-8, a header row, RFC 4180 quoting), one row a student. A student whose
submission could not be graded, or who handed in nothing, gets an empty score: both LMSs leave an
empty cell alone instead of recording a zero, so nobody is failed by a file the grader could not
read. The score exported is the final one (after the late penalty) unless ``final=False``.

**Canvas** (Grades > Import): the columns of Canvas's own gradebook export, ``Student, ID,
SIS User ID, SIS Login ID, Section``, then one column for the assignment, and a second row
``Points Possible``, as the export has it. Canvas matches a row to a student by ``ID`` (Canvas's
user id), ``SIS User ID`` or ``SIS Login ID``, so the roster's ``student_id`` must be the SIS User
ID that Canvas's export shows; a column header that names an existing assignment as Canvas
exports it (``Data keys (12345)``, give it with ``--column``) updates that assignment, any other
header creates a new one. See "Importing a CSV file to Grades" (Ohio State's Canvas guide,
https://teaching.resources.osu.edu/toolsets/carmencanvas/guides/calculating-final-grades/import-csv-file-carmen-grades:
student name or ID or SIS User ID, SIS Login ID, Section and the assignment columns), the notes on
Canvas's gradebook CSV (https://ts.vcu.edu/askit/teaching-and-learning/canvas/faculty/grading-faculty/gradebook-action-menu-faculty/)
and Canvas's CSV rules (https://developerdocs.instructure.com/services/canvas/sis/file.sis_csv).

**Moodle** (Grades > Import > CSV file): any columns, mapped at import. This writes Moodle's own
export columns (``First name, Last name, ID number, Email address``), the grade column and a
``Feedback`` column; at import, map "Email address" to ``useremail`` (or "ID number" to
``useridnumber``), the grade column to the grade item and the feedback column to its feedback.
Moodle's documentation (https://docs.moodle.org/405/en/Grade_import) asks for the grade and the
feedback to be imported together (importing feedback alone loses the grades), and warns that
email addresses are matched case-sensitively, so the roster's are written as given.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from ._gradebook import Gradebook, GradebookError, _atomic_write, spreadsheet_safe

FORMATS = ("canvas", "moodle")


@dataclass
class Exported:
    rows: int = 0
    blank: int = 0
    warnings: list[str] = field(default_factory=list)


def _rows_of(book: Gradebook, assignment: str | None) -> tuple[str, list[dict[str, str]]]:
    rows, _ = book.rows()
    names = sorted({r.get("assignment", "") for r in rows if r.get("assignment")})
    if assignment is None:
        if len(names) != 1:
            raise GradebookError(f"{book.path} holds {len(names)} assignments ({', '.join(names) or 'none'}); "
                                 "give --assignment NAME")
        assignment = names[0]
    elif assignment not in names:
        raise GradebookError(f"{book.path} has no rows for {assignment} (it has: {', '.join(names) or 'none'})")
    return assignment, [r for r in rows if r.get("assignment") == assignment]


def _score(row: dict[str, str], final: bool) -> str:
    if row.get("status") != "graded":
        return ""
    return row.get("final_score" if final else "score", "") or row.get("score", "")


def _split_name(name: str) -> tuple[str, str]:
    parts = name.split()
    return (parts[0], " ".join(parts[1:])) if parts else ("", "")


def export(book: Gradebook, lms: str, out: str | Path, *, assignment: str | None = None, column: str | None = None,
           final: bool = True) -> Exported:
    """Write ``out`` in the LMS's import format; what was written, and what to check."""
    if lms not in FORMATS:
        raise GradebookError(f"unknown LMS {lms!r} (known: {', '.join(FORMATS)})")
    assignment, rows = _rows_of(book, assignment)
    column = column or assignment
    done = Exported()
    text = io.StringIO()
    w = csv.writer(text, lineterminator="\r\n")  # RFC 4180's line ending, which both import

    def put(cells: list) -> None:
        # Every cell (the gradebook's, a roster's display name, the --column given) is kept from
        # starting a formula when the file is opened in Excel before the import.
        w.writerow([spreadsheet_safe(c) for c in cells])

    max_score = next((r.get("max_score") for r in rows if r.get("max_score")), "")
    if lms == "canvas":
        put(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column])
        put(["Points Possible", "", "", "", "", max_score])
    else:
        put(["First name", "Last name", "ID number", "Email address", column, f"Feedback: {column}"])
    for r in sorted(rows, key=lambda r: (r.get("name") or r.get("student", "")).lower()):
        score = _score(r, final)
        done.rows += 1
        done.blank += score == ""
        if lms == "canvas":
            put([r.get("name") or r["student"], "", r["student"], "", r.get("section", ""), score])
        else:
            if not r.get("email"):
                done.warnings.append(f"{r['student']} has no email address (Moodle can still match the ID number)")
            first, last = _split_name(r.get("name", ""))
            put([first, last, r["student"], r.get("email", ""), score, _feedback_line(r)])
    not_graded = [r["student"] for r in rows if r.get("status") in ("unreadable", "not graded")]
    if not_graded:
        done.warnings.append(f"left blank, could not be graded: {', '.join(not_graded)} (see the gradebook's notes)")
    _atomic_write(Path(out), text.getvalue())
    return done


def _feedback_line(row: dict[str, str]) -> str:
    """Moodle's feedback cell: the status or the score, and the reasons (short: the full feedback is
    kms-teach feedback's)."""
    if row.get("status") != "graded":
        return {"missing": "Nothing handed in.", "unreadable": "Your file could not be read as a notebook; "
                "please hand it in again."}.get(row.get("status", ""), "Not graded: " + row.get("notes", "")[:300])
    text = f"{row.get('final_score', '')}/{row.get('max_score', '')}"
    if row.get("notes"):
        text += ". " + row["notes"][:500]
    return text
