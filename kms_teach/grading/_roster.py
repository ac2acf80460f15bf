"""The class list: a CSV of students (id, name, email, and optional columns) that names who a
submission belongs to.

A roster is what an instructor exports from the LMS or the registrar: one row a student, a header
row first. Only the student id is required; the recognised columns are (case and spacing ignored)::

    student_id (or id, student id, sis user id, username, login)   required, unique
    name (or full name, student name)
    email (or email address, e-mail)
    section                        copied to the Canvas export
    submitted_at (or submitted)    when the student handed in (ISO 8601), for the late policy
    folder (or file)               the folder or file name the student's submission carries, if it
                                   is none of the above

Any other column is kept and ignored. A submission belongs to the student whose id, folder, email
or email's local part equals one of the submission's folder names (below the class folder) or its
file name without ``.ipynb`` (or that name's first part before ``_``, ``-``, ``.`` or a space, as
LMS downloads such as ``ana_ex02.ipynb`` are named). Two students matching one file is an error
for that file, never a guess.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

_COLUMNS = {
    "student_id": ("student_id", "id", "student id", "studentid", "sis user id", "sis_user_id", "username", "login",
                   "user", "student"),
    "name": ("name", "full name", "full_name", "student name", "student_name"),
    "email": ("email", "email address", "e-mail", "email_address", "mail"),
    "section": ("section",),
    "submitted_at": ("submitted_at", "submitted", "submission time", "submitted at"),
    "folder": ("folder", "file", "directory"),
}


class RosterError(ValueError):
    """A roster that cannot be used: unreadable, no id column, an empty or repeated id (file and line named)."""


@dataclass
class Student:
    student_id: str
    name: str = ""
    email: str = ""
    section: str = ""
    submitted_at: datetime | None = None
    folder: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def keys(self) -> set[str]:
        """The names a submission of this student's may carry (lower case)."""
        out = {self.student_id.lower()}
        if self.folder:
            out.add(self.folder.lower())
        if self.email:
            out.add(self.email.lower())
            out.add(self.email.split("@", 1)[0].lower())
        return {k for k in out if k}


@dataclass
class Roster:
    path: str
    students: list[Student]

    def __post_init__(self) -> None:
        self._by_id = {s.student_id: s for s in self.students}
        self._by_key: dict[str, list[Student]] = {}
        for s in self.students:
            for k in s.keys():
                self._by_key.setdefault(k, []).append(s)

    def get(self, student_id: str) -> Student | None:
        return self._by_id.get(student_id)

    def match(self, submission: Path, root: Path | None,
              assignment: str | None = None) -> tuple[Student | None, str]:
        """The student a submission belongs to, or None and why not: the first of its names (see
        :func:`names_of`) that is a student's decides; a name that is several students' is an error."""
        names = names_of(submission, root, assignment)
        for n in names:
            found = {s.student_id: s for s in self._by_key.get(n.lower(), [])}
            if len(found) == 1:
                return next(iter(found.values())), ""
            if len(found) > 1:
                return None, f"{n!r} matches several students of the roster ({', '.join(sorted(found))})"
        return None, (f"not on the roster {Path(self.path).name} (no student's id, folder or email is "
                      f"{' or '.join(repr(n) for n in names)})")


_ASSIGNMENT_LIKE = re.compile(r"^(ex\d\d_|quiz_)")


def assignment_like(name: str, assignment: str | None) -> bool:
    """Is this file or folder name an assignment's (``ex02_data_keys``, ``quiz_kms``), not a student's?"""
    return bool(name) and (name == assignment or bool(_ASSIGNMENT_LIKE.match(name)))


def nbgrader_student(path: Path, assignment: str | None, root: Path | None = None) -> str | None:
    """nbgrader collects ``submitted/STUDENT/ASSIGNMENT/NOTEBOOK.ipynb``: the student is the folder
    above the folder named after an assignment. None when the file is not in such a folder, when
    that folder above is the class folder itself (``class/ex02_data_keys/ana.ipynb``: ana, by its
    file name) or, for a file graded alone, when the file is not named after an assignment."""
    folder = path.resolve().parent
    above = folder.parent
    if not assignment_like(folder.name, assignment) or not above.name or assignment_like(above.name, assignment):
        return None
    if root is not None:
        top = root.resolve()
        if top not in above.parents:
            return None
    elif not assignment_like(path.stem, assignment):
        return None
    return above.name


def names_of(submission: Path, root: Path | None, assignment: str | None = None) -> list[str]:
    """The names that may say whose a submission is, most telling first: in nbgrader's layout
    (``submitted/alice/ex02_data_keys/ex02_data_keys.ipynb``) the folder above the assignment's
    (alice), the folders below the class folder, the file's name, that name's beginnings up to each
    ``_``, ``-``, ``.`` or space (longest first: ``ana.lima_ex02`` gives ``ana.lima`` before
    ``ana``), and last, for a file directly in the folder given, the name of the folder it is in
    (and of the one above, when that folder is named after an assignment)."""
    nbgrader = nbgrader_student(submission, assignment, root)
    below: list[str] = []
    if root is not None:
        try:
            below = list(submission.resolve().parent.relative_to(root.resolve()).parts)
        except ValueError:
            below = []
    stem = submission.stem
    prefixes = [stem[:m.start()] for m in re.finditer(r"[_\-. ]", stem)][::-1]
    names = [nbgrader or "", *below, stem, *prefixes]
    if not below:
        folder = submission.resolve().parent
        names.append(folder.name)
        if assignment_like(folder.name, assignment):
            names.append(folder.parent.name)
    return list(dict.fromkeys(n for n in names if n))


def parse_time(text: str, where: str) -> datetime:
    """An ISO 8601 time; one without an offset is in this machine's local time zone (as a due date
    typed by an instructor means)."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        # Python reads a bare day as its midnight: a due date of 2026-12-04 would make everything
        # handed in on the 4th a day late. The instructor says which minute they mean.
        raise RosterError(f"{where}: {text!r} is a day without a time; give the time too (e.g. {value}T23:59 "
                          "for the end of that day)")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise RosterError(f"{where}: {text!r} is not a date and time (ISO 8601, e.g. 2026-12-04T23:59 or "
                          "2026-12-04T23:59:00+01:00)") from None
    return when if when.tzinfo else when.astimezone()  # naive: local time


def load_roster(path: str | Path) -> Roster:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark, as Excel writes, is fine
    except (OSError, UnicodeDecodeError) as exc:
        raise RosterError(f"cannot read the roster {path}: {exc}") from None
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t") if sample.strip() else csv.excel
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(text.splitlines(), dialect))
    if not rows:
        raise RosterError(f"{path}: the roster is empty (it needs a header row: student_id,name,email)")
    header = [h.strip().lower() for h in rows[0]]
    where: dict[str, int] = {}
    for column, aliases in _COLUMNS.items():
        for i, h in enumerate(header):
            if h in aliases and column not in where and i not in where.values():
                where[column] = i
    if "student_id" not in where:
        raise RosterError(f"{path}:1: no student id column (the header names {', '.join(rows[0]) or 'nothing'}; "
                          "name one of: student_id, id, username)")
    students: list[Student] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue

        def cell(column: str) -> str:
            i = where.get(column)
            return row[i].strip() if i is not None and i < len(row) else ""

        sid = cell("student_id")
        if not sid:
            raise RosterError(f"{path}:{number}: the student id is empty")
        if sid.startswith(("=", "+", "-", "@")):
            # It would be read as a formula by the spreadsheet the gradebook is opened in, and cannot
            # be kept from that without changing the id the LMS matches.
            raise RosterError(f"{path}:{number}: the student id {sid!r} starts like a spreadsheet formula "
                              "(=, +, - or @); no LMS issues such ids: check the roster")
        if sid in seen:
            raise RosterError(f"{path}:{number}: the student id {sid!r} is on line {seen[sid]} already")
        seen[sid] = number
        submitted = cell("submitted_at")
        students.append(Student(
            student_id=sid, name=cell("name"), email=cell("email"), section=cell("section"),
            submitted_at=parse_time(submitted, f"{path}:{number}") if submitted else None, folder=cell("folder"),
            extra={rows[0][i].strip(): row[i] for i in range(min(len(row), len(header))) if i not in where.values()}))
    return Roster(str(path), students)


def utc_text(when: datetime | None) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if when else ""
