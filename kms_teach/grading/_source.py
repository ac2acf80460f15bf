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
    #                               ### BEGIN HIDDEN TESTS / ### END HIDDEN TESTS, whose points may
    #                               be split over ### CHECK points=N "Name" lines (partial credit)

Beside a source, in the instructor's folder: ``exNN_name.wrong.py`` (plausible wrong answers, each
of which must lose its task: :func:`load_wrong_answers`, used by ``kms-teach assign --validate``)
and ``exNN_name.checks.py`` (the self-checks of an assignment that has no module in the package:
the notebooks' first code cell). :func:`discover` finds the sources and warns of the rest.

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
    label: str | None = None  # the cell's label, when not made from role and task ("self-checks")
    first: int = 0  # the source line of the cell's first line of text (its marker's line + 1, blanks skipped)


@dataclass
class Check:
    """One named check of a task's hidden tests, worth ``points`` of the task's."""

    name: str
    points: int
    code: str
    line: int = 0  # where its ``### CHECK`` line is in the source (0: the task's single check)


@dataclass
class Task:
    task_id: str
    title: str
    points: int
    hidden: str = ""  # the hidden checks' code, dedented
    visible: str = ""  # the check cell's visible part (the self-check call, and any names it defines)
    preamble: str = ""  # hidden code before the first ``### CHECK`` line: shared by the checks
    checks: list[Check] = field(default_factory=list)
    line: int = 0  # the check cell's marker line
    points_given: bool = True  # points= on the cell marker (else: the sum of its checks' points)


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
            label = cell.label or (cell.role if cell.task is None else f"{cell.task}-{cell.role}")
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
    body: list[tuple[int, str]] = []

    def close():
        if current is not None:
            current.source, current.first = _cell_text(current.role, body, path, current.line)
            cells.append(current)

    for number, line in enumerate(lines[start:], start=start + 1):
        found = _MARKER.match(line)
        if not found:
            if _LOOKS_LIKE_MARKER.match(line):
                raise SourceError(f"{path}:{number}: {_marker_fix(line)}")
            if current is None and line.strip():
                raise SourceError(f"{path}:{number}: code before the first '# %% [...]' cell marker "
                                  "(the header ends with '# ---'; every cell starts with a marker such as "
                                  "'# %% [markdown]')")
            body.append((number, line))
            continue
        close()
        body = []
        current = _cell_header(found.group("spec"), path, number, tasks)
    close()
    _validate(cells, tasks, path)
    for cell in cells:
        if cell.role == "check":
            task = tasks[cell.task]
            task.hidden = hidden_part(cell.source)
            task.visible = without_hidden(cell.source)
            _split_checks(task, cell, path)
    checks = path.with_name(f"{name}{SELF_CHECKS_SUFFIX}")
    if checks.is_file():
        # The instructor's own self-checks, beside the source: the notebooks' first code cell
        # (locked), so the check cells can call them in the learner's kernel as in the grader's.
        try:
            code = checks.read_text(encoding="utf-8").strip("\n")
        except (OSError, UnicodeDecodeError) as exc:
            raise SourceError(f"{checks}: cannot read the self-checks ({exc})") from None
        try:
            compile(code, str(checks), "exec")
        except SyntaxError as exc:
            raise SourceError(f"{checks}:{exc.lineno}: {exc.msg}") from None
        first_code = next((i for i, c in enumerate(cells) if c.role != "markdown"), len(cells))
        cells.insert(first_code, SourceCell("setup", code, 0, label="self-checks"))
    return Assignment(name=name, title=header.get("title", name), path=path, cells=cells, tasks=tasks)


SELF_CHECKS_SUFFIX = ".checks.py"   # assignments/ex08_name.checks.py: that assignment's self-checks
WRONG_SUFFIX = ".wrong.py"          # assignments/ex08_name.wrong.py: its instructor's wrong answers
_LOOKS_LIKE_MARKER = re.compile(r"^#\s*%%")
_CHECK_LINE = re.compile(r"^###\s*CHECK")  # upper case: "### check that ..." stays a comment


def _marker_fix(line: str) -> str:
    """Why a line that starts like a cell marker is not one, and what to write instead."""
    rest = line.lstrip("#").strip()[2:].strip()
    if not rest.startswith("["):
        return (f"{line.strip()!r} is a plain jupytext code cell, which has no role here: write "
                "'# %% [setup]' for code the grader runs as written, '# %% [answer t1]' for the learner's "
                "cell or '# %% [check t1 points=2 \"Title\"]' for its check ('# %% [markdown]' for prose)")
    if not line.startswith("# %% ["):
        return f"write the cell marker as '# %% [{rest[1:].partition(']')[0]}]' (one space after '#' and '%%')"
    return (f"{line.strip()!r}: nothing may follow the ']' of a cell marker (jupytext's cell metadata is not "
            "read here); remove it")


def _header(lines: list[str], path: Path) -> tuple[dict[str, str], int]:
    if not lines or lines[0].strip() != "# ---":
        raise SourceError(f"{path}:1: a source starts with a '# ---' header naming the assignment "
                          "('# assignment: ex08_name', '# title: ...', then '# ---')")
    header = {}
    for i, line in enumerate(lines[1:], start=1):
        if line.strip() == "# ---":
            return header, i + 1
        key, sep, value = line.lstrip("#").strip().partition(":")
        if not sep:
            raise SourceError(f"{path}:{i + 1}: header lines are '# key: value', not {line.strip()!r}")
        header[key.strip()] = value.strip()
    raise SourceError(f"{path}:1: the '# ---' header is not closed by a second '# ---' line")


def _cell_header(spec: str, path: Path, number: int, tasks: dict[str, Task]) -> SourceCell:
    try:
        words = shlex.split(spec)
    except ValueError as exc:
        raise SourceError(f"{path}:{number}: cannot read the cell marker ({exc})") from None
    if words and words[0] == "md":  # jupytext's short name
        words[0] = "markdown"
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
        points, title = _points_and_title(rest[1:], path, number)
        if not title or (points is not None and points <= 0):
            raise SourceError(f'{path}:{number}: a check cell reads: # %% [check {task} points=N "Title"]')
        if task in tasks:
            raise SourceError(f"{path}:{number}: task {task} has two check cells")
        tasks[task] = Task(task, title, points or 0, line=number, points_given=points is not None)
    elif len(rest) > 1:
        raise SourceError(f"{path}:{number}: an answer cell takes only its task")
    return SourceCell(role, "", number, task)


def _points_and_title(words: list[str], path: Path, number: int) -> tuple[int | None, str | None]:
    points, title = None, None
    for word in words:
        if word.startswith("points="):
            try:
                points = int(word.removeprefix("points="))
            except ValueError:
                raise SourceError(f"{path}:{number}: points must be a whole number, not "
                                  f"{word.removeprefix('points=')!r}") from None
        elif title is None:
            title = word
        else:
            raise SourceError(f"{path}:{number}: {word!r}: a title with spaces is quoted (\"A title\")")
    return points, title


def _cell_text(role: str, body: list[tuple[int, str]], path: Path, marker: int) -> tuple[str, int]:
    """The cell's text, and the source line its first line is on."""
    while body and not body[-1][1].strip():
        body = body[:-1]
    while body and not body[0][1].strip():
        body = body[1:]
    first = body[0][0] if body else marker + 1
    if role != "markdown":
        return "\n".join(text for _, text in body), first
    out = []
    for number, text in body:
        if text.startswith("# "):
            out.append(text[2:])
        elif not text.strip() or text.rstrip() == "#":
            out.append("")  # a blank line: jupytext writes '#', an editor may leave it empty
        else:
            raise SourceError(f"{path}:{number}: the lines of a markdown cell are comments ('# text', or '#' "
                              f"for a blank line), not {text.strip()[:60]!r}; start a code cell before it "
                              "('# %% [setup]') if it is code")
    return "\n".join(out), first


def _split_checks(task: Task, cell: SourceCell, path: Path) -> None:
    """The task's named checks: its ``### CHECK points=N "Name"`` lines split the hidden tests
    (partial credit); without any, one check named after the task, worth all its points."""
    segments: list[tuple[int, str, list[str]]] = []  # (line, header, code lines)
    preamble: list[str] = []
    inside = False
    for offset, line in enumerate(cell.source.splitlines(), start=1):
        stripped = line.strip()
        if stripped == BEGIN_HIDDEN:
            inside = True
        elif stripped == END_HIDDEN:
            inside = False
        elif inside and _CHECK_LINE.match(stripped):
            segments.append((cell.first - 1 + offset, stripped, []))
        elif inside:
            (segments[-1][2] if segments else preamble).append(line)
        elif _CHECK_LINE.match(stripped):
            raise SourceError(f"{path}:{cell.first - 1 + offset}: a '### CHECK' line belongs inside the hidden tests")
    task.preamble = textwrap.dedent("\n".join(preamble)).strip("\n")
    if not segments:
        if not task.points_given:
            raise SourceError(f'{path}:{task.line}: a check cell reads: # %% [check {task.task_id} points=N "Title"] '
                              '(or splits its points over ### CHECK points=N "Name" lines)')
        task.checks = [Check(task.title, task.points, task.preamble)]
        return
    checks: list[Check] = []
    for number, header, code in segments:
        words = header.split(None, 2)
        if words[0] != "###" or words[1:2] != ["CHECK"]:
            raise SourceError(f'{path}:{number}: write the check as: ### CHECK points=N "Name"')
        try:
            points, name = _points_and_title(shlex.split(words[2] if len(words) > 2 else ""), path, number)
        except ValueError as exc:
            raise SourceError(f"{path}:{number}: cannot read the check line ({exc})") from None
        if points is None or points <= 0 or not name:
            raise SourceError(f'{path}:{number}: a check reads: ### CHECK points=N "Name" (N at least 1)')
        if any(c.name == name for c in checks):
            raise SourceError(f"{path}:{number}: task {task.task_id} has two checks named {name!r}")
        body = textwrap.dedent("\n".join(code)).strip("\n")
        if not body.strip():
            raise SourceError(f"{path}:{number}: the check {name!r} is empty: nothing would be checked")
        checks.append(Check(name, points, body, number))
    total = sum(c.points for c in checks)
    if task.points_given and total != task.points:
        raise SourceError(f"{path}:{task.line}: task {task.task_id} is worth points={task.points} but its checks "
                          f"add up to {total}; make them agree, or leave points= out of the cell marker")
    task.points = total
    task.checks = checks


def _check_pairs(cell: SourceCell, begin: str, end: str, path: Path) -> None:
    """Every BEGIN has its END, in order, not nested: a lost END would silently swallow code."""
    open_at = None
    for offset, line in enumerate(cell.source.splitlines(), start=1):
        text = line.strip()
        if text.startswith("### ") and text not in (begin, end) and text.split()[1] in ("BEGIN", "END") \
                and (begin.split()[2] in text or end.split()[2] in text):
            raise SourceError(f"{path}:{cell.first - 1 + offset}: {text!r} is not a marker; write {begin!r} or {end!r}")
        if text == begin:
            if open_at is not None:
                raise SourceError(f"{path}:{cell.first - 1 + offset}: {begin} inside another one (opened at line "
                                  f"{cell.first - 1 + open_at})")
            open_at = offset
        elif text == end:
            if open_at is None:
                raise SourceError(f"{path}:{cell.first - 1 + offset}: {end} without {begin}")
            open_at = None
    if open_at is not None:
        raise SourceError(f"{path}:{cell.first - 1 + open_at}: {begin} is never closed by {end}")


def _validate(cells: list[SourceCell], tasks: dict[str, Task], path: Path) -> None:
    answered = {c.task: c for c in cells if c.role == "answer"}
    for task, t in tasks.items():
        if task not in answered:
            raise SourceError(f"{path}:{t.line}: task {task} has a check cell but no answer cell ('# %% [answer {task}]')")
    for task in set(answered) - set(tasks):
        raise SourceError(f"{path}:{answered[task].line}: task {task} has an answer cell but no check cell")
    order = [c.task for c in cells if c.role == "check"]
    if order != [f"t{i}" for i in range(1, len(order) + 1)]:
        wrong = next(c for i, c in enumerate(c for c in cells if c.role == "check") if c.task != f"t{i + 1}")
        raise SourceError(f"{path}:{wrong.line}: tasks are numbered t1, t2, ... in order; this check cell is "
                          f"{wrong.task}")
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
        if c.role != "markdown":
            try:  # the markers are comments: the cell as written is the Python that will run
                compile(c.source, str(path), "exec")
            except SyntaxError as exc:
                line = c.first - 1 + (exc.lineno or 1)
                raise SourceError(f"{path}:{line}: {exc.msg} (in the {c.role} cell that starts at line {c.line})") \
                    from None
    if not tasks:
        raise SourceError(f"{path}: an assignment has at least one task")


# ---------------------------------------------------------------------- the instructor's folder


_SOURCE_NAME = re.compile(r"^ex\d\d_[a-z0-9_]+\.py$")


def is_source_name(name: str) -> bool:
    """``ex02_data_keys.py`` is an assignment source; ``ex02_data_keys.wrong.py`` is not."""
    return bool(_SOURCE_NAME.match(name))


def discover(folder: str | Path) -> tuple[list[Path], list[str]]:
    """The assignment sources in ``folder`` (``exNN_name.py``, sorted), and warnings: files that look
    like sources but are not named as one (they are ignored), and companion files without a source."""
    folder = Path(folder)
    sources, warnings = [], []
    if not folder.is_dir():
        return [], [f"{folder}: no such folder of assignment sources"]
    names = set()
    for path in sorted(folder.iterdir()):
        if not path.is_file():
            continue
        if is_source_name(path.name):
            sources.append(path)
            names.add(path.stem)
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path in sources:
            continue
        for suffix in (WRONG_SUFFIX, SELF_CHECKS_SUFFIX):
            if path.name.endswith(suffix):
                owner = path.name[: -len(suffix)]
                if owner not in names:
                    warnings.append(f"{path}: there is no assignment source {owner}.py for it; it is ignored")
                break
        else:
            if path.suffix == ".py" and _looks_like_source(path):
                warnings.append(f"{path}: looks like an assignment source, but only files named like "
                                f"ex02_data_keys.py (exNN_ then lower-case letters, digits, _) are read; it is "
                                f"ignored{_rename_hint(path)}")
    return sources, warnings


def _looks_like_source(path: Path) -> bool:
    try:
        head = path.read_text(encoding="utf-8", errors="replace")[:20000]
    except OSError:
        return False
    return head.startswith("# ---") or "# %% [answer" in head or "### BEGIN HIDDEN TESTS" in head


def _rename_hint(path: Path) -> str:
    try:
        found = re.search(r"^#\s*assignment:\s*(\S+)", path.read_text(encoding="utf-8", errors="replace"), re.M)
    except OSError:
        found = None
    if found and is_source_name(found.group(1) + ".py"):
        return f" (its header names {found.group(1)}: rename it to {found.group(1)}.py)"
    return ""


@dataclass
class WrongAnswer:
    """A plausible wrong answer the instructor keeps beside the source: it must lose its task."""

    task: str
    label: str
    code: str
    line: int
    path: Path


def wrong_answers_path(source: Path) -> Path:
    return source.with_name(source.stem + WRONG_SUFFIX)


def load_wrong_answers(source: str | Path, assignment: Assignment | None = None) -> list[WrongAnswer]:
    """The wrong answers beside ``source`` (``exNN_name.wrong.py``; none if there is no such file)::

        # %% [wrong t1 "returns the ARN instead of the key ID"]
        def make_key(kms, description, alias):
            ...

    Each cell replaces the answer cell of its task. With ``assignment``, tasks are checked to exist.
    """
    path = wrong_answers_path(Path(source))
    if not path.exists():
        return []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: cannot read the wrong answers ({exc})") from None
    found: list[WrongAnswer] = []
    current: WrongAnswer | None = None
    body: list[str] = []

    def close():
        if current is not None:
            current.code = "\n".join(body).strip("\n") + "\n"
            if not current.code.strip():
                raise SourceError(f"{path}:{current.line}: the wrong answer {current.label!r} is empty")
            try:
                compile(current.code, str(path), "exec")
            except SyntaxError as exc:
                raise SourceError(f"{path}:{current.line + (exc.lineno or 1)}: {exc.msg} (a wrong answer must "
                                  "be Python that runs, or it tests nothing)") from None
            found.append(current)

    for number, line in enumerate(lines, start=1):
        marker = _MARKER.match(line)
        if not marker:
            if _LOOKS_LIKE_MARKER.match(line):
                raise SourceError(f'{path}:{number}: a wrong answer starts with: # %% [wrong t1 "what is wrong"]')
            if current is None and line.strip() and not line.lstrip().startswith("#"):
                raise SourceError(f'{path}:{number}: code before the first # %% [wrong t1 "what is wrong"] marker')
            body.append(line)
            continue
        close()
        body = []
        try:
            words = shlex.split(marker.group("spec"))
        except ValueError as exc:
            raise SourceError(f"{path}:{number}: cannot read the marker ({exc})") from None
        if len(words) != 3 or words[0] != "wrong" or not _TASK_ID.match(words[1]):
            raise SourceError(f'{path}:{number}: a wrong answer starts with: # %% [wrong t1 "what is wrong"]')
        if assignment is not None and words[1] not in assignment.tasks:
            raise SourceError(f"{path}:{number}: {assignment.name} has no task {words[1]}")
        if any(w.task == words[1] and w.label == words[2] for w in found):
            raise SourceError(f"{path}:{number}: task {words[1]} has two wrong answers named {words[2]!r}")
        current = WrongAnswer(words[1], words[2], "", number, path)
    close()
    return found
