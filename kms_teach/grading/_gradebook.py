"""The class's gradebook: one CSV file, updated in place, that regrading never shrinks.

A row is one student's result for one assignment, keyed by (student, assignment). Writing a
result replaces that row only; every other row, and any column the instructor added by hand
(a "comment" column, say), is kept as it was. Beside the CSV, ``NAME.details.json`` keeps what
the CSV cannot hold - each task's checks and reasons, the cell that failed, the learner's answer
cells - for ``kms-teach feedback`` and ``kms-teach report``.

Updates are made under an exclusive lock (``.NAME.lock``, ``fcntl.flock``: two graders writing one
gradebook take turns, and each re-reads what the other wrote) and are atomic: the new file is
written beside the old one, flushed to disk and renamed over it (``os.replace``), so a crash or a
full disk leaves the previous gradebook, never half of one.

Statuses: ``graded``; ``unreadable`` (the file is not a notebook: its score is left empty, so an LMS
import does not take it for a zero); ``not graded`` (the grader could not say: no assignment named,
no such assignment, a failure of the grader); ``missing`` (on the roster, nothing handed in).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import re
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

HEAD = ["student", "name", "email", "section", "submission", "assignment", "status"]
TAIL = ["score", "max_score", "late_days", "late_penalty", "final_score", "submitted_at", "graded_at", "sandbox",
        "notes"]
STATUSES = ("graded", "unreadable", "not graded", "missing")
LOCK_TIMEOUT = 120.0


class GradebookError(ValueError):
    """A gradebook that cannot be read or written as asked (its path named)."""


@dataclass
class LatePolicy:
    """Points off for each day (or part of a day) after the due date, never below zero.

    ``per_day`` is in points, or a share of the assignment's maximum when ``percent``."""

    due: datetime
    per_day: float
    percent: bool = False
    source: str = "auto"  # when a submission was made: "auto" (roster column, else the file's mtime), "mtime", "roster"

    @classmethod
    def parse(cls, due: datetime, penalty: str, source: str = "auto") -> LatePolicy:
        text = penalty.strip().lower().removesuffix("/day").removesuffix("per day").strip()
        percent = text.endswith("%")
        try:
            value = float(text.rstrip("%").strip())
        except ValueError:
            raise GradebookError(f"--late-penalty: {penalty!r} is neither points per day (e.g. 2) nor a share of the "
                                 "maximum per day (e.g. 10%)") from None
        if not math.isfinite(value) or value < 0 or (percent and value > 100):
            raise GradebookError(f"--late-penalty: {penalty!r} must be between 0 and 100% (or a number of points "
                                 "of at least 0)")
        return cls(due, value / 100 if percent else value, percent, source)

    def days_late(self, submitted: datetime | None) -> int:
        if submitted is None:
            return 0
        seconds = (submitted - self.due).total_seconds()
        return max(0, math.ceil(seconds / 86400)) if seconds > 0 else 0

    def penalty(self, days: int, max_score: float) -> float:
        per_day = self.per_day * max_score if self.percent else self.per_day
        return round(days * per_day, 2)

    def describe(self) -> str:
        each = f"{self.per_day * 100:g}% of the maximum" if self.percent else f"{self.per_day:g} points"
        return f"due {self.due.isoformat(timespec='minutes')}; {each} off per day late"


@dataclass
class Entry:
    """One row of the gradebook and its details."""

    row: dict[str, str]
    details: dict

    @property
    def key(self) -> tuple[str, str]:
        return self.row["student"], self.row["assignment"]


# What makes Excel, LibreOffice or Google Sheets read a cell as a formula (OWASP, "CSV Injection":
# =, +, -, @, tab, carriage return; and their full-width forms, which some locales accept).
_FORMULA_START = tuple("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
_SURROGATE = re.compile("[\ud800-\udfff]")
_NUMBER = re.compile(r"[-+]?\d+(\.\d+)?([eE][-+]?\d+)?")


def spreadsheet_safe(value: object) -> str:
    """A cell of a CSV that a spreadsheet opens: text that would start a formula (a learner's file
    name ``=HYPERLINK(...)``, a display name ``@SUM(...)``) gets a leading ``'``, which spreadsheets
    show as text (OWASP's advice); numbers, ``-2`` included, are left as they are."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def plain_text(text: str) -> str:
    """A name as the gradebook keeps it: bytes of a file name that are not UTF-8 (which Python holds
    as lone surrogates) replaced by U+FFFD, so the name read back from the file is the same name."""
    return _SURROGATE.sub("\ufffd", text)


def number(value: float | int) -> str:
    """Points as the CSV shows them: 3, 2.5 (never 3.0)."""
    return f"{value:g}" if isinstance(value, float) else str(value)


class Gradebook:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.details_path = self.path.with_name(self.path.stem + ".details.json")
        self.lock_path = self.path.with_name("." + self.path.name + ".lock")

    # ------------------------------------------------------------------ reading

    def rows(self) -> tuple[list[dict[str, str]], list[str]]:
        """The rows and the columns, as the file has them (none if there is no file yet)."""
        if not self.path.exists():
            return [], []
        try:
            text = self.path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise GradebookError(f"cannot read the gradebook {self.path}: {exc}") from None
        reader = csv.DictReader(io.StringIO(text))
        columns = list(reader.fieldnames or [])
        if columns and not {"student", "assignment"} <= set(columns):
            raise GradebookError(f"{self.path} is not a kms-teach gradebook (it has no student and assignment "
                                 "columns); give another --gradebook path")
        return [dict(r) for r in reader], columns

    def details(self) -> dict[tuple[str, str], dict]:
        if not self.details_path.exists():
            return {}
        try:
            data = json.loads(self.details_path.read_text(encoding="utf-8"))
            return {(d["student"], d["assignment"]): d for d in data["entries"]}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise GradebookError(f"cannot read {self.details_path}: {exc}") from None

    def entries(self) -> list[Entry]:
        """Every row with its details (empty details for a row graded before details were kept)."""
        rows, _ = self.rows()
        details = self.details()
        return [Entry(r, details.get((r.get("student", ""), r.get("assignment", "")), {})) for r in rows]

    # ------------------------------------------------------------------ writing

    def update(self, new: list[Entry]) -> None:
        """Replace the rows of these (student, assignment) keys, add the new ones, keep all others."""
        if not new:
            return
        with self._locked():
            rows, columns = self.rows()
            details = self.details()
            known = set(HEAD) | set(TAIL)
            task_columns = [c for c in columns if c not in known and _between(columns, c)]
            own_columns = [c for c in columns if c not in known and c not in task_columns]
            by_key = {(r.get("student", ""), r.get("assignment", "")): r for r in rows}
            for entry in new:
                old = by_key.get(entry.key, {})
                # Columns the instructor added by hand keep their values for a regraded student.
                by_key[entry.key] = {**{k: old[k] for k in own_columns if k in old}, **entry.row}
                task_columns += [k for k in entry.row if k not in known and k not in task_columns]
                details[entry.key] = {**entry.details, "student": entry.key[0], "assignment": entry.key[1]}
            merged = sorted(by_key.values(), key=lambda r: (r.get("assignment", ""), r.get("student", "")))
            self._write(merged, HEAD + task_columns + TAIL + [c for c in own_columns if c not in task_columns])
            payload = {"format": 1, "gradebook": self.path.name,
                       "entries": [details[k] for k in sorted(details, key=lambda k: (k[1], k[0]))
                                   if k in by_key]}
            _atomic_write(self.details_path, json.dumps(payload, indent=1, ensure_ascii=False) + "\n")

    def _write(self, rows: list[dict[str, str]], columns: list[str]) -> None:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writerow({c: spreadsheet_safe(c) for c in columns})
        for r in rows:
            writer.writerow({c: spreadsheet_safe(r.get(c, "")) for c in columns})
        _atomic_write(self.path, out.getvalue())

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            import fcntl
        except ImportError:  # Windows: no flock; one grader at a time is then the instructor's to keep
            yield
            return
        try:
            handle = open(self.lock_path, "a+")
        except OSError as exc:
            raise GradebookError(f"cannot lock the gradebook {self.path}: {exc}") from None
        with handle:
            deadline = time.monotonic() + LOCK_TIMEOUT
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise GradebookError(f"the gradebook {self.path} has been locked by another grader for "
                                             f"{LOCK_TIMEOUT:.0f} s; try again when it is done") from None
                    time.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _between(existing: list[str], column: str) -> bool:
    """Was this column between the status and score columns (a task column) in the existing file?"""
    try:
        lo, hi = existing.index("status"), existing.index("score")
    except ValueError:
        return False
    return lo < existing.index(column) < hi


def _atomic_write(path: Path, text: str) -> None:
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise GradebookError(f"cannot write {path}: {exc}") from None
    try:
        # mkstemp makes the file private (0600); keep the replaced file's mode, else the usual one.
        try:
            mode = path.stat().st_mode & 0o7777
        except OSError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        # A lone surrogate (a file name that is not UTF-8, a "\\udcff" escape in a notebook's JSON)
        # becomes "?": one learner's bytes must not stop the class's gradebook from being written.
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode("utf-8", "replace"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise GradebookError(f"cannot write {path}: {exc}") from None
    except BaseException:  # interrupted mid-write: no stray temporary file beside the gradebook
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def utc_now_text(now: float) -> str:
    return datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
