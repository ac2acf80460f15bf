"""Grade one submission: rebuild it from the assignment source, run it sandboxed, check it from outside.

What the grader trusts and what it does not (the threat table is in docs/grading.md):

* The **cells** it runs come from the assignment source, except the learner's answer cells (found by
  ``metadata.kms_teach.cell``) and the cells the learner added after them. Editing, deleting or
  duplicating a locked cell, a self-check or the notebook's metadata changes nothing; a deleted
  answer cell scores 0 for its task, with that reason.
* The learner's cells run in a **kernel inside a bubblewrap sandbox** (``_sandbox``): no network,
  nothing of the instructor's files, limits on memory, processes, CPU, files; every process of it
  ends with it. Without bubblewrap a batch is refused unless ``sandbox=False`` (``--no-sandbox``),
  which the report records.
* The **hidden checks** come from the source and run in a **checker process outside the sandbox**
  (``_checker``), which owns every cloud they inspect; the learner's functions are called through a
  narrow channel (``_channel``, ``_agent``). Nothing the kernel prints or displays counts.
* A task whose cells or checks crash, hang or kill the kernel costs that task only (``_run``).
  Anything that goes wrong becomes a score and a reason; :func:`grade` never raises for a bad
  submission.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ._source import Assignment, SourceError, is_source_name, load

if TYPE_CHECKING:
    import nbformat

DEFAULT_CELL_TIMEOUT = 60     # seconds per cell when the assignment's solution was never timed
DEFAULT_TOTAL_TIMEOUT = 600
CELL_LIMITS_FILE = "cell-limits.json"  # beside the sources: each assignment's measured cell limit
# A course notebook, with its outputs and pictures, is well under a megabyte; a bigger file is not
# read at all (a learner's 2 GB "notebook" must not fill the grading machine's memory, once a worker).
MAX_SUBMISSION_BYTES = 50 * 1024 * 1024
LIMIT_FACTOR, MIN_CELL_TIMEOUT = 10, 10  # a cell may take 10x the solution's slowest cell, and at least 10 s


def default_assignments_dir() -> Path:
    """``assignments/`` next to the package (a source checkout, as the course is run)."""
    return Path(__file__).resolve().parent.parent.parent / "assignments"


def sized_cell_timeout(seconds: dict[str, float]) -> tuple[str | None, float, int]:
    """(the slowest cell, its seconds, the cell limit it gives): LIMIT_FACTOR times it, at least
    MIN_CELL_TIMEOUT seconds, in whole seconds."""
    if not seconds:
        return None, 0.0, DEFAULT_CELL_TIMEOUT
    label = max(seconds, key=seconds.get)
    return label, seconds[label], max(MIN_CELL_TIMEOUT, math.ceil(LIMIT_FACTOR * seconds[label]))


def recorded_cell_limits(folder: str | Path) -> dict[str, dict]:
    """What ``kms-teach assign`` measured: {assignment: {"cell_timeout": s, "slowest_cell": ..., ...}}."""
    try:
        data = json.loads((Path(folder) / CELL_LIMITS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def recorded_cell_timeout(folder: str | Path, name: str) -> float | None:
    found = recorded_cell_limits(folder).get(name)
    value = found.get("cell_timeout") if isinstance(found, dict) else None
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) and value > 0 else None


def record_cell_limits(folder: str | Path, measured: dict[str, dict]) -> Path:
    """Merge ``measured`` into the folder's cell-limits file (written whole, then renamed: atomic)."""
    path = Path(folder) / CELL_LIMITS_FILE
    data = {**recorded_cell_limits(folder), **measured}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(dict(sorted(data.items())), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


class SandboxUnavailable(RuntimeError):
    """The learner's code would run unsandboxed, and the instructor did not say that is acceptable."""


@dataclass
class CheckResult:
    """One named check of a task, worth its share of the task's points (``### CHECK points=N "Name"``
    in the source; a task without such lines has one check, worth all its points)."""

    name: str
    passed: bool
    points: int
    max_points: int
    message: str = ""


@dataclass
class TaskResult:
    task: str
    title: str
    points: int
    max_points: int
    passed: bool
    message: str
    checks: list[CheckResult] = field(default_factory=list)
    cell: str | None = None  # the cell that failed ("t2-answer", "hidden checks of t2"), if one did


@dataclass
class Report:
    """What one submission scored, task by task, and why."""

    submission: str
    assignment: str | None
    score: int = 0
    max_score: int = 0
    tasks: list[TaskResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    student_name: str | None = None  # default: the file's name without .ipynb
    sandbox: str = ""  # how the learner's code ran: "bubblewrap", "none (--no-sandbox)", "" (no code ran)
    cell_timeout: float | None = None  # the per-cell limit it was graded with (seconds)
    cell_seconds: dict[str, float] = field(default_factory=dict)  # how long each cell and task's checks ran

    @property
    def student(self) -> str:
        return self.student_name or Path(self.submission).stem

    def notes(self) -> list[str]:
        """The problems, then why each task (or each of its named checks) lost points: a gradebook's notes."""
        out = list(self.problems)
        for t in self.tasks:
            if len(t.checks) > 1:
                out += [f"{t.task} {c.name!r} {c.points}/{c.max_points}: {c.message}" for c in t.checks if not c.passed]
            elif not t.passed:
                out.append(f"{t.task}: {t.message}")
        return out

    def to_dict(self) -> dict:
        out = asdict(self)
        out["student"] = self.student
        return out

    def text(self) -> str:
        lines = [f"{self.submission}: {self.score}/{self.max_score}"
                 + (f" ({self.assignment})" if self.assignment else "")]
        for t in self.tasks:
            mark = "PASS" if t.passed else ("PART" if t.points else "FAIL")
            where = f" [{t.cell}]" if (t.cell and not t.passed) else ""
            lines.append(f"  {t.task} {mark} {t.points}/{t.max_points}  {t.title}")
            if len(t.checks) > 1:  # partial credit: each named check with its points and reason
                for c in t.checks:
                    lines.append(f"      {'ok ' if c.passed else 'x  '} {c.points}/{c.max_points}  {c.name}"
                                 + ("" if c.passed else f": {c.message}"))
                if not t.passed and t.cell:
                    lines.append(f"      [{t.cell}]")
            elif not t.passed:
                lines.append(f"      {t.message}{where}")
        if self.sandbox.startswith("none"):
            lines.append("  note: graded WITHOUT a sandbox (--no-sandbox): the learner's code could read and "
                         "change anything the grader can")
        elif "not enforced" in self.sandbox:
            lines.append(f"  note: sandboxed, but {self.sandbox[self.sandbox.index('not enforced'):].rstrip(')')}")
        for p in self.problems:
            lines.append(f"  note: {p}")
        return "\n".join(lines)


# ---------------------------------------------------------------------- assembling what runs


def _meta(cell) -> dict:
    value = cell.get("metadata", {}).get("kms_teach")
    return value if isinstance(value, dict) else {}


def assemble(assignment: Assignment, submitted: nbformat.NotebookNode) -> tuple[list, list[str], set[str]]:
    """The cells to run, in order, each with the task it belongs to: the source's setup cells and
    the learner's answers and added cells.

    Setup cells and cells added before an answer belong to the next task; cells added after an answer
    to that answer's task; cells after the last answer to the last task. Returns the cells, the
    problems noticed (deleted or duplicated answer cells) and the tasks whose answer cell was deleted.
    """
    from ._run import Cell

    template = assignment.notebook("template")
    known = {_meta(c).get("cell"): c for c in template.cells}
    answer_labels = {label for label, c in known.items() if _meta(c).get("role") == "answer"}
    problems: list[str] = []
    labels, covered = cell_labels(assignment, template, submitted.cells, problems)

    answers: dict[str, list] = {}
    extras_after: dict[str | None, list] = {}  # label of the known cell they follow -> added cells
    anchor: str | None = None
    for cell, label in zip(submitted.cells, labels):
        if label in known:
            anchor = label
            if label in answer_labels:
                answers.setdefault(label, []).append(cell)
        elif cell.get("cell_type") == "code" and not _meta(cell) and label is None:
            extras_after.setdefault(anchor, []).append(cell)
        # a markdown cell the learner added, a cell with forged metadata, a superseded draft: not run

    deleted: set[str] = set()
    for label in sorted(answer_labels):
        found = answers.get(label, [])
        task = _meta(known[label]).get("task")
        if not found and label in covered:
            continue  # its functions are in another task's cell of a pasted notebook: that cell defines them
        if not found:
            deleted.add(task)
            problems.append(f"the answer cell of task {task} was deleted; the task scores 0")
        elif len(found) > 1:
            problems.append(f"the answer cell of task {task} appears {len(found)} times; the last one was graded")

    tasks = list(assignment.tasks)
    out: list[Cell] = []
    upcoming = 0  # index of the next task whose answer cell has not come yet

    def add(source, label: str, task: str | None) -> None:
        source = source if isinstance(source, str) else "".join(source) if isinstance(source, list) else ""
        owner = task or tasks[min(upcoming, len(tasks) - 1)]
        out.append(Cell(source, label, owner))

    for i, extra in enumerate(extras_after.get(None, [])):
        add(extra.get("source", ""), f"added-{i}", None)
    for tcell in template.cells:
        meta = _meta(tcell)
        label, role, task = meta.get("cell"), meta.get("role"), meta.get("task")
        if role == "setup":
            add(tcell.source, label, None)
        elif role == "answer":
            found = answers.get(label)
            if task not in deleted and found:
                add(found[-1].get("source", ""), label, task)
            upcoming = tasks.index(task) + 1
        for i, extra in enumerate(extras_after.get(label, [])):
            add(extra.get("source", ""), f"added-after-{label}-{i}", task if role == "answer" else None)
    return out, problems, deleted


def _nbgrader_id(cell) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader")
    value = meta.get("grade_id") if isinstance(meta, dict) else None
    return value if isinstance(value, str) else None


def _defined_functions(source) -> set[str]:
    import ast

    source = source if isinstance(source, str) else "".join(source) if isinstance(source, list) else ""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


def cell_labels(assignment: Assignment, template, cells: list, problems: list[str]) -> tuple[list, set[str]]:
    """Which cell of the source each submitted cell is (its label; None: an added cell; "": a draft
    superseded by a later cell, not run), and the answer labels whose functions a pasted notebook
    defines in another task's cell.

    The project's own labels (``metadata.kms_teach.cell``) decide when the notebook has any. Without
    them (a notebook that went through nbgrader's release, or answers pasted into a fresh notebook),
    cells are matched by nbgrader's ``grade_id`` (``kms-teach export-nbgrader`` gives the same
    labels), then answer cells by the functions they define (``def seal`` is task 1's answer, as in
    the worked solution); the report says how.
    """
    from ._source import solution_version

    known = {_meta(c).get("cell"): c for c in template.cells}
    own = [_meta(c).get("cell") for c in cells]
    own = [label if isinstance(label, str) else None for label in own]  # forged metadata of another type
    if any(label in known for label in own):
        return own, set()
    labels: list = [None] * len(cells)
    by_id = 0
    for i, cell in enumerate(cells):
        if _meta(cell):
            continue  # metadata of ours that names no known cell: never matched another way
        grade_id = _nbgrader_id(cell)
        if grade_id in known:
            labels[i], by_id = grade_id, by_id + 1
    functions: dict[str, set[str]] = {}  # answer label -> the functions its worked solution defines
    for cell in assignment.cells:
        if cell.role == "answer":
            functions[f"{cell.task}-answer"] = _defined_functions(solution_version(cell.source))
    missing = [label for label in functions if label not in labels]
    by_name: dict[str, int] = {}
    covered: set[str] = set()
    for i, cell in enumerate(cells):
        if labels[i] is not None or _meta(cell) or cell.get("cell_type") != "code":
            continue
        defined = _defined_functions(cell.get("source", ""))
        matched = [label for label in missing if functions[label] & defined]
        if matched:
            for label, j in list(by_name.items()):
                if j != i and label in matched:  # a later cell defines it again: the later one is the answer,
                    labels[j] = ""               # the earlier draft is not run (it would run after it)
            first = matched[0]
            labels[i] = first
            for label in matched:
                by_name[label] = i
            covered |= set(matched[1:])
    covered -= {labels[i] for i in by_name.values()}
    drafts = [i + 1 for i, label in enumerate(labels) if label == ""]
    if by_id:
        problems.append("the notebook has no kms-teach cell labels; its cells were matched by nbgrader's grade_id")
    if by_name:
        found = ", ".join(f"{label.split('-')[0]}: cell {i + 1}" for label, i in sorted(by_name.items()))
        problems.append(f"the notebook has no answer cells of the assignment; the answers were found by the "
                        f"functions they define ({found})"
                        + (f"; earlier definitions in cell(s) {', '.join(map(str, drafts))} were not run" if drafts else ""))
    return labels, covered


def kernel_manager():
    """A kernel manager whose ``python3`` is ipykernel in *this* interpreter, whatever else is installed.

    Run it with ``NotebookClient(..., km=kernel_manager(), shutdown_kernel="immediate")`` and
    ``setup_kernel(cleanup_kc=True)`` (or ``execute(cleanup_kc=True)``): nbclient leaves a kernel it
    did not create running unless told to stop it.
    """
    import ipykernel.kernelspec
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    class CurrentEnvKernelSpecs(KernelSpecManager):
        """python3 = ipykernel in this interpreter, whatever else is installed."""

        def get_kernel_spec(self, kernel_name):
            return self.kernel_spec_class(resource_dir=ipykernel.kernelspec.RESOURCES,
                                          **ipykernel.kernelspec.get_kernel_dict())

    # Async: nbclient's time limits run on an event loop that a blocking client would stall.
    return AsyncKernelManager(kernel_name="python3", kernel_spec_manager=CurrentEnvKernelSpecs())


def sandbox_status(sandbox: bool) -> str:
    """What the reports say about how the code ran; raises SandboxUnavailable where it cannot be
    sandboxed and ``sandbox`` is True."""
    from ._sandbox import support

    if not sandbox:
        return "none (--no-sandbox)"
    found = support()
    if not found.ok:
        raise SandboxUnavailable(
            f"cannot sandbox the learners' code on this machine: {found.reason}. Grading runs each "
            "submission's code; without a sandbox it can read the hidden checks' sources and other "
            "submissions, and change the grader. Install bubblewrap (tools/ensure-bubblewrap), or grade "
            "with --no-sandbox (sandbox=False) if you trust these submissions.")
    return "bubblewrap" + (f" (not enforced: {'; '.join(found.missing)})" if found.missing else "")


def grade(submission: str | Path, *, assignments_dir: str | Path | None = None, assignment: str | None = None,
          cell_timeout: float | None = None, total_timeout: float = DEFAULT_TOTAL_TIMEOUT,
          sandbox: bool = True) -> Report:
    """Grade one submitted notebook; never raises for anything wrong with the submission.

    ``cell_timeout`` (seconds per cell, and for each task's hidden checks): by default the limit
    ``kms-teach assign`` recorded for the assignment (10x its solution's slowest cell, at least 10 s;
    :data:`CELL_LIMITS_FILE` beside the sources), else :data:`DEFAULT_CELL_TIMEOUT`.

    The learner's code runs in a bubblewrap sandbox; where there is none, :class:`SandboxUnavailable`
    is raised unless ``sandbox=False`` (the code then runs as a plain process, and the report says so).
    """
    import nbformat

    started = time.monotonic()
    submission = Path(submission)
    report = Report(submission=str(submission), assignment=assignment)
    folder = Path(assignments_dir) if assignments_dir else default_assignments_dir()
    if assignment:  # known in advance: even an unreadable submission shows what it was out of
        try:
            report.max_score = load(folder / f"{assignment}.py").total_points
        except SourceError:
            pass
    try:
        size = submission.stat().st_size
        if size > MAX_SUBMISSION_BYTES:
            report.problems.append(f"cannot read the submission: it is {size / 2**20:.0f} MB, more than any notebook "
                                   f"of this course (at most {MAX_SUBMISSION_BYTES // 2**20} MB): clear its outputs "
                                   "(Edit > Clear Outputs of All Cells), save and hand it in again")
            report.seconds = time.monotonic() - started
            return report
        raw = submission.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        report.problems.append(f"cannot read the submission: {exc}")
        report.seconds = time.monotonic() - started
        return report
    try:
        submitted = nbformat.reads(raw, as_version=4)
        if not isinstance(submitted.get("cells"), list):
            raise ValueError("it has no list of cells")
    except Exception as exc:  # nbformat raises several kinds for broken JSON or structure
        report.problems.append(f"not a valid notebook (JSON): {str(exc).splitlines()[0][:200]}")
        report.seconds = time.monotonic() - started
        return report

    meta = submitted.get("metadata", {}).get("kms_teach")
    claimed = meta.get("assignment") if isinstance(meta, dict) else None
    claimed = claimed if isinstance(claimed, str) and claimed else None
    if assignment and claimed and claimed != assignment:
        report.problems.append(f"the notebook says it answers {claimed}; it was graded as {assignment}")
    name = assignment or claimed
    if name and name.startswith("quiz_"):
        _grade_quiz(name[len("quiz_"):], submitted, report, folder)
        report.seconds = round(time.monotonic() - started, 3)
        return report
    if not name:
        # nbgrader's folders name the assignment (submitted/STUDENT/ASSIGNMENT/NOTEBOOK.ipynb), and so
        # may the file itself: used when it is an assignment of the folder, and said.
        for guess in (submission.stem, submission.parent.name):
            if is_source_name(f"{guess}.py") and (folder / f"{guess}.py").is_file():
                name = guess
                report.problems.append(f"the notebook does not say which assignment it answers; graded as {name} "
                                       "(its file or folder name)")
                break
    if not name:
        report.problems.append("the notebook does not say which assignment it answers; grade it with --assignment NAME")
        report.seconds = time.monotonic() - started
        return report
    try:
        source = load(folder / f"{name}.py")
    except SourceError as exc:
        report.problems.append(f"no assignment source for {name!r}: {exc}")
        report.seconds = time.monotonic() - started
        return report
    report.assignment = source.name
    report.max_score = source.total_points
    report.sandbox = sandbox_status(sandbox)
    if cell_timeout is None:
        cell_timeout = recorded_cell_timeout(folder, source.name) or DEFAULT_CELL_TIMEOUT
    report.cell_timeout = cell_timeout
    outcomes = run(source, submitted, report, cell_timeout=cell_timeout, total_timeout=total_timeout,
                   sandbox=sandbox)
    for task in source.tasks.values():
        report.tasks.append(task_result(task, outcomes[task.task_id]))
    report.score = sum(t.points for t in report.tasks)
    report.seconds = round(time.monotonic() - started, 3)
    return report


def task_result(task, got) -> TaskResult:
    """A task's result from what its run gave: each named check's points and reason (partial
    credit); checks that did not run (the task failed before them) score 0 with the task's reason."""
    verdicts = {c.get("name"): c for c in got.checks if isinstance(c, dict)}
    checks = []
    for spec in task.checks:
        found = verdicts.get(spec.name)
        if found is None:
            passed, message = False, got.message or "the hidden checks did not run"
        else:
            passed, message = bool(found.get("passed")), str(found.get("message", ""))
            if not passed and not message:
                message = got.message or "a hidden check failed"
        checks.append(CheckResult(spec.name, passed, spec.points if passed else 0, spec.points, message))
    points = sum(c.points for c in checks)
    passed = bool(checks) and all(c.passed for c in checks)
    message = "" if passed else (got.message or next((c.message for c in checks if not c.passed), ""))
    return TaskResult(task.task_id, task.title, points, task.points, passed, message, checks,
                      None if passed else got.cell)


def _grade_quiz(bank_name: str, submitted, report: Report, folder: Path) -> None:
    """A quiz: the answers the Quiz widget saved in the notebook, scored against the bank (no kernel):
    an exam's bank from the instructor's folder, a practice bank from the package."""
    from ._quiz import QuizError, asked, load_bank, saved_answers, score

    try:
        bank = load_bank(bank_name, folder)
    except QuizError as exc:
        report.problems.append(str(exc))
        return
    report.assignment = f"quiz_{bank.name}"
    saved = saved_answers(submitted)
    if saved is None:
        report.problems.append("no saved quiz answers: run the quiz cell, answer, and save the notebook")
        saved = {}
    elif saved.get("bank") != bank.name:
        report.problems.append(f"the saved answers are for the bank {saved.get('bank')!r}, not {bank.name!r}")
        saved = {}
    questions = asked(bank, saved)
    report.max_score = sum(q.points for q in questions)
    if len(questions) < len(bank.questions):
        report.problems.append(f"graded on the {len(questions)} questions this quiz asked "
                               f"(of {len(bank.questions)} in the bank)")
    for q, verdict in score(bank, saved):
        title = q.prompt if len(q.prompt) <= 70 else q.prompt[:69] + "…"
        points = q.points if verdict.correct else 0
        message = "" if verdict.correct else (verdict.feedback or "wrong")[:300]
        report.tasks.append(TaskResult(q.id, title, points, q.points, verdict.correct, message,
                                       [CheckResult(q.id, verdict.correct, points, q.points, message)]))
    report.score = sum(t.points for t in report.tasks)


def run(source: Assignment, submitted, report: Report, *, cell_timeout: float, total_timeout: float,
        sandbox: bool = True) -> dict:
    """Run the submission task by task (``_run``); the outcome of each task, by task id."""
    from ._run import Run, TaskRun

    cells, problems, deleted = assemble(source, submitted)
    report.problems.extend(problems)
    tasks = list(source.tasks)
    runner = Run(source, cells, tasks, sandboxed=sandbox, cell_timeout=cell_timeout, total_timeout=total_timeout)
    try:
        outcomes = runner.run()
    except Exception as exc:  # a bug of ours must still give a report
        report.problems.append(f"the submission could not be run: {type(exc).__name__}: {exc}"[:400])
        outcomes = {t: TaskRun(False, "the hidden checks did not run") for t in tasks}
    report.problems.extend(runner.problems)
    report.cell_seconds = dict(runner.seconds)
    for task in deleted:
        outcomes[task] = TaskRun(False, "its answer cell was deleted", cell=f"{task}-answer")
    for task, got in outcomes.items():
        if not got.passed and got.answer_error and not got.message.startswith("your answer cell raised"):
            got.message = f"your answer cell raised {got.answer_error}; {got.message or 'the hidden checks failed'}"
        if not got.passed and not got.message:
            got.message = "the hidden checks did not run"
    return outcomes


def write_json(report: Report, path: str | Path) -> None:
    Path(path).write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
