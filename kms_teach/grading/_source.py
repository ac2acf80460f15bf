"""Assignment sources: one instructor file per assignment, from which everything else is made.

A source is a Python file in the "percent" cell format (as jupytext writes it), so it diffs and
reviews like code. A header comment block names the assignment; each cell starts with a marker::

    # ---
    # assignment: ex02_data_keys
    # title: Envelope encryption of a file larger than 4 KB
    # ---

    # %% [markdown]                 prose, each line prefixed with "# "
    # %% [setup]                    locked code the grader always runs as written here
    # %% [answer t1]                the learner's code; ### BEGIN SOLUTION / ### END SOLUTION
    # %% [check t1 points=3 "Seal a file"]
    #                               the self-check the learner sees, then
    #                               ### BEGIN HIDDEN TESTS / ### END HIDDEN TESTS

From it come (nbgrader's conventions): the **student** notebook (solution regions replaced by
``raise NotImplementedError(...)``, hidden tests removed), the **solution** notebook (solutions
kept, hidden tests removed) and the **hidden checks** (one block per task, which the grader runs
after the submission; they never appear in a notebook a learner receives).

Every cell carries ``metadata.kms_teach`` = ``{"role": ..., "task": ..., "cell": ...}`` and a stable
``id``; the notebook carries ``metadata.kms_teach`` = ``{"assignment": ..., "tasks": {...}}``.
"""

from __future__ import annotations

import re
import shlex
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import nbformat

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
ROLES = ("markdown", "setup", "answer", "check")
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
_MARKER = re.compile(r"^# %% \[(?P<spec>[^\]]*)\]\s*$")
_TASK_ID = re.compile(r"^t\d+$")


class SourceError(ValueError):
    """An assignment source that does not follow the format (the message names file and line)."""


@dataclass
class SourceCell:
    role: str
    source: str
    line: int
    task: str | None = None


@dataclass
class Task:
    task_id: str
    title: str
    points: int
    hidden: str = ""  # the hidden checks' code, dedented


@dataclass
class Assignment:
    """A parsed source: its cells, its tasks (in order) and where it came from."""

    name: str
    title: str
    path: Path
    cells: list[SourceCell]
    tasks: dict[str, Task] = field(default_factory=dict)

    @property
    def total_points(self) -> int:
        return sum(t.points for t in self.tasks.values())

    # ------------------------------------------------------------------ the notebooks made from it

    def notebook(self, kind: str) -> nbformat.NotebookNode:
        """``kind`` = "student" or "solution" (also "template": student cells, used by the grader)."""
        import nbformat  # here, not at the top: it costs about 1 s, and the widgets import this package

        if kind not in ("student", "solution", "template"):
            raise ValueError(f"kind must be student, solution or template, not {kind!r}")
        nb = nbformat.v4.new_notebook()
        counts: dict[str, int] = {}
        for cell in self.cells:
            text = cell.source
            if cell.role == "answer":
                text = student_version(text, cell.task) if kind != "solution" else solution_version(text)
            elif cell.role == "check":
                text = without_hidden(text)
            if cell.role == "markdown":
                nbcell = nbformat.v4.new_markdown_cell(text)
            else:
                nbcell = nbformat.v4.new_code_cell(text)
            label = cell.role if cell.task is None else f"{cell.task}-{cell.role}"
            counts[label] = counts.get(label, 0) + 1
            if counts[label] > 1:
                label = f"{label}-{counts[label]}"
            nbcell.id = f"{self.name.split('_')[0]}-{label}"
            nbcell.metadata["kms_teach"] = {"role": cell.role, "cell": label,
                                            **({"task": cell.task} if cell.task else {})}
            if cell.role != "answer":
                # JupyterLab honours these: locked cells cannot be edited or deleted by accident.
                nbcell.metadata["editable"] = False
                nbcell.metadata["deletable"] = False
            nb.cells.append(nbcell)
        nb.metadata = nbformat.NotebookNode(
            kernelspec=nbformat.NotebookNode(KERNELSPEC),
            language_info=nbformat.NotebookNode(name="python"),
            kms_teach={"assignment": self.name, "title": self.title,
                       "tasks": {t.task_id: {"title": t.title, "points": t.points} for t in self.tasks.values()}},
        )
        nbformat.validate(nb)
        return nb


def notebook_text(nb: nbformat.NotebookNode) -> str:
    """A notebook as committed: nbformat's JSON, ending with a newline."""
    import nbformat

    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def student_version(text: str, task: str | None) -> str:
    """Each solution region becomes a placeholder at the region's indentation (nbgrader's rule)."""
    def placeholder(indent: str) -> list[str]:
        return [f"{indent}# YOUR CODE HERE",
                f"{indent}raise NotImplementedError(\"{task or 'this task'} is not answered yet\")"]

    return _replace_regions(text, BEGIN_SOLUTION, END_SOLUTION, placeholder)


def solution_version(text: str) -> str:
    return _replace_regions(text, BEGIN_SOLUTION, END_SOLUTION, None)


def without_hidden(text: str) -> str:
    return _replace_regions(text, BEGIN_HIDDEN, END_HIDDEN, lambda indent: []).rstrip("\n")


def hidden_part(text: str) -> str:
    """The code inside the hidden-tests regions, dedented and joined."""
    blocks, inside, current = [], False, []
    for line in text.splitlines():
        if line.strip() == BEGIN_HIDDEN:
            inside, current = True, []
        elif line.strip() == END_HIDDEN:
            inside = False
            blocks.append(textwrap.dedent("\n".join(current)))
        elif inside:
            current.append(line)
    return "\n".join(blocks).strip("\n")


def _replace_regions(text: str, begin: str, end: str, replacement) -> str:
    """Drop the marker lines; replace each region's body by ``replacement(indent)`` (None: keep it)."""
    out, inside = [], False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped == begin:
            inside = True
            if replacement is not None:
                out.extend(replacement(line[: len(line) - len(line.lstrip())]))
        elif stripped == end:
            inside = False
        elif not inside or replacement is None:
            out.append(line)
    return "\n".join(out)


# ---------------------------------------------------------------------- parsing


def load(path: str | Path) -> Assignment:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceError(f"{path}: cannot read the assignment source ({exc.strerror})") from None
    return parse(text, path)


def parse(text: str, path: Path) -> Assignment:
    lines = text.splitlines()
    header, start = _header(lines, path)
    name = header.get("assignment") or path.stem
    if not re.fullmatch(r"ex\d\d_[a-z0-9_]+", name):
        raise SourceError(f"{path}: assignment names look like ex02_data_keys, not {name!r}")
    if name != path.stem:  # the grader finds a source by the name its notebooks carry
        raise SourceError(f"{path}: the header names the assignment {name!r}; the file must be {name}.py")
    cells: list[SourceCell] = []
    tasks: dict[str, Task] = {}
    current: SourceCell | None = None
    body: list[str] = []

    def close():
        if current is not None:
            current.source = _cell_text(current.role, body, path, current.line)
            cells.append(current)

    for number, line in enumerate(lines[start:], start=start + 1):
        found = _MARKER.match(line)
        if not found:
            if current is None and line.strip():
                raise SourceError(f"{path}:{number}: code before the first '# %% [...]' cell marker")
            body.append(line)
            continue
        close()
        body = []
        current = _cell_header(found.group("spec"), path, number, tasks)
    close()
    _validate(cells, tasks, path)
    for cell in cells:
        if cell.role == "check":
            tasks[cell.task].hidden = hidden_part(cell.source)
    return Assignment(name=name, title=header.get("title", name), path=path, cells=cells, tasks=tasks)


def _header(lines: list[str], path: Path) -> tuple[dict[str, str], int]:
    if not lines or lines[0].strip() != "# ---":
        raise SourceError(f"{path}:1: a source starts with a '# ---' header naming the assignment")
    header = {}
    for i, line in enumerate(lines[1:], start=1):
        if line.strip() == "# ---":
            return header, i + 1
        key, sep, value = line.lstrip("#").strip().partition(":")
        if not sep:
            raise SourceError(f"{path}:{i + 1}: header lines are 'key: value'")
        header[key.strip()] = value.strip()
    raise SourceError(f"{path}: the '# ---' header is not closed")


def _cell_header(spec: str, path: Path, number: int, tasks: dict[str, Task]) -> SourceCell:
    try:
        words = shlex.split(spec)
    except ValueError as exc:
        raise SourceError(f"{path}:{number}: cannot read the cell marker ({exc})") from None
    if not words or words[0] not in ROLES:
        raise SourceError(f"{path}:{number}: a cell is one of {', '.join(ROLES)}, not {spec!r}")
    role, rest = words[0], words[1:]
    if role in ("markdown", "setup"):
        if rest:
            raise SourceError(f"{path}:{number}: a {role} cell takes no arguments")
        return SourceCell(role, "", number)
    if not rest or not _TASK_ID.match(rest[0]):
        raise SourceError(f"{path}:{number}: an {role} cell names its task (t1, t2, ...)")
    task = rest[0]
    if role == "check":
        points, title = None, None
        for word in rest[1:]:
            if word.startswith("points="):
                try:
                    points = int(word.removeprefix("points="))
                except ValueError:
                    raise SourceError(f"{path}:{number}: points must be a whole number") from None
            else:
                title = word
        if points is None or points <= 0 or not title:
            raise SourceError(f'{path}:{number}: a check cell reads: # %% [check {task} points=N "Title"]')
        if task in tasks:
            raise SourceError(f"{path}:{number}: task {task} has two check cells")
        tasks[task] = Task(task, title, points)
    elif len(rest) > 1:
        raise SourceError(f"{path}:{number}: an answer cell takes only its task")
    return SourceCell(role, "", number, task)


def _cell_text(role: str, body: list[str], path: Path, line: int) -> str:
    while body and not body[-1].strip():
        body = body[:-1]
    while body and not body[0].strip():
        body = body[1:]
    if role != "markdown":
        return "\n".join(body)
    out = []
    for text in body:
        if text.startswith("# "):
            out.append(text[2:])
        elif text.rstrip() == "#":
            out.append("")
        else:
            raise SourceError(f"{path}:{line}: the markdown cell's lines start with '# ', not {text!r}")
    return "\n".join(out)


def _check_pairs(cell: SourceCell, begin: str, end: str, path: Path) -> None:
    """Every BEGIN has its END, in order, not nested: a lost END would silently swallow code."""
    open_at = None
    for offset, line in enumerate(cell.source.splitlines(), start=1):
        text = line.strip()
        if text.startswith("### ") and text not in (begin, end) and text.split()[1] in ("BEGIN", "END") \
                and (begin.split()[2] in text or end.split()[2] in text):
            raise SourceError(f"{path}:{cell.line + offset}: {text!r} is not a marker; write {begin!r} or {end!r}")
        if text == begin:
            if open_at is not None:
                raise SourceError(f"{path}:{cell.line + offset}: {begin} inside another one (opened at line "
                                  f"{cell.line + open_at})")
            open_at = offset
        elif text == end:
            if open_at is None:
                raise SourceError(f"{path}:{cell.line + offset}: {end} without {begin}")
            open_at = None
    if open_at is not None:
        raise SourceError(f"{path}:{cell.line + open_at}: {begin} is never closed by {end}")


def _validate(cells: list[SourceCell], tasks: dict[str, Task], path: Path) -> None:
    answered = {c.task for c in cells if c.role == "answer"}
    for task in tasks:
        if task not in answered:
            raise SourceError(f"{path}: task {task} has a check cell but no answer cell")
    for task in answered - set(tasks):
        raise SourceError(f"{path}: task {task} has an answer cell but no check cell")
    order = [c.task for c in cells if c.role == "check"]
    if order != [f"t{i}" for i in range(1, len(order) + 1)]:
        raise SourceError(f"{path}: tasks are numbered t1, t2, ... in order")
    for c in cells:
        for begin, end in ((BEGIN_SOLUTION, END_SOLUTION), (BEGIN_HIDDEN, END_HIDDEN)):
            _check_pairs(c, begin, end, path)
        if c.role == "check" and not hidden_part(c.source).strip():
            raise SourceError(f"{path}:{c.line}: the hidden tests of task {c.task} are empty: nothing would be checked")
        if c.role == "answer" and (BEGIN_SOLUTION not in c.source or END_SOLUTION not in c.source):
            raise SourceError(f"{path}:{c.line}: an answer cell holds a ### BEGIN SOLUTION ... ### END SOLUTION region")
        if c.role == "check" and BEGIN_HIDDEN not in c.source:
            raise SourceError(f"{path}:{c.line}: a check cell holds ### BEGIN HIDDEN TESTS ... ### END HIDDEN TESTS")
        if c.role in ("setup", "markdown") and (BEGIN_SOLUTION in c.source or BEGIN_HIDDEN in c.source):
            raise SourceError(f"{path}:{c.line}: solution and hidden regions belong in answer and check cells")
    if not tasks:
        raise SourceError(f"{path}: an assignment has at least one task")
