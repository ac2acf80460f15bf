"""Grade one submission: rebuild it from the assignment source, run it fresh, run the hidden checks.

What the grader trusts and what it does not:

* The **cells** it runs come from the assignment source, except the learner's answer cells (found by
  ``metadata.kms_teach.cell``) and the cells the learner added after them. Editing, deleting or
  duplicating a locked cell, a self-check or the notebook's metadata changes nothing; a deleted
  answer cell scores 0 for its task, with that reason.
* The **hidden checks** come from the source and run after the learner's cells, in the same kernel
  (they call the learner's functions on fresh inputs, against fresh clouds). Each reports through a
  display message tagged with a random nonce made for this run; a result without it, or twice, does
  not count.
* Each run gets a **fresh kernel** in a **temporary folder**, a per-cell time limit and a total one.
  Anything that goes wrong (invalid JSON, a cell that raises, hangs or writes to stderr, a dead
  kernel) becomes a score and a reason; :func:`grade` never raises for a bad submission.

Fidelity: like nbgrader and otter-grader, this grades code by running it; it is not a sandbox against
a submission written to attack the grader from inside the kernel.
"""

from __future__ import annotations

import functools
import json
import math
import secrets
import subprocess
import tempfile
import textwrap
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ._source import Assignment, SourceError, load

if TYPE_CHECKING:
    import nbformat

RESULT_MIME = "application/vnd.kms-teach.check-result+json"
DEFAULT_CELL_TIMEOUT = 60
DEFAULT_TOTAL_TIMEOUT = 600


def default_assignments_dir() -> Path:
    """``assignments/`` next to the package (a source checkout, as the course is run)."""
    return Path(__file__).resolve().parent.parent.parent / "assignments"


@dataclass
class TaskResult:
    task: str
    title: str
    points: int
    max_points: int
    passed: bool
    message: str


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

    @property
    def student(self) -> str:
        return self.student_name or Path(self.submission).stem

    def to_dict(self) -> dict:
        out = asdict(self)
        out["student"] = self.student
        return out

    def text(self) -> str:
        lines = [f"{self.submission}: {self.score}/{self.max_score}"
                 + (f" ({self.assignment})" if self.assignment else "")]
        for t in self.tasks:
            mark = "PASS" if t.passed else "FAIL"
            lines.append(f"  {t.task} {mark} {t.points}/{t.max_points}  {t.title}"
                         + ("" if t.passed else f"\n      {t.message}"))
        for p in self.problems:
            lines.append(f"  note: {p}")
        return "\n".join(lines)


# ---------------------------------------------------------------------- assembling what runs


def _meta(cell) -> dict:
    value = cell.get("metadata", {}).get("kms_teach")
    return value if isinstance(value, dict) else {}


def assemble(assignment: Assignment, submitted: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, list[str],
                                                                                  dict[str, str], set[str]]:
    """The notebook to run: the source's locked cells, the learner's answers and added cells.

    Returns it, the problems noticed (deleted or duplicated answer cells), for each cell id of the
    result the task whose answer it holds, and the tasks whose answer cell was deleted.
    """
    import nbformat  # here, not at the top: it costs about 1 s, and the widgets import this package

    template = assignment.notebook("template")
    known = {_meta(c).get("cell"): c for c in template.cells}
    answer_labels = {label for label, c in known.items() if _meta(c).get("role") == "answer"}
    problems: list[str] = []

    answers: dict[str, list] = {}
    extras_after: dict[str | None, list] = {}  # label of the known cell they follow -> added cells
    anchor: str | None = None
    for cell in submitted.cells:
        label = _meta(cell).get("cell")
        label = label if isinstance(label, str) else None  # forged metadata of another type: not a label
        if label in known:
            anchor = label
            if label in answer_labels:
                answers.setdefault(label, []).append(cell)
        elif cell.get("cell_type") == "code" and not _meta(cell):
            extras_after.setdefault(anchor, []).append(cell)
        # a markdown cell the learner added, or a cell with forged metadata: not run

    deleted: set[str] = set()
    for label in sorted(answer_labels):
        found = answers.get(label, [])
        task = _meta(known[label]).get("task")
        if not found:
            deleted.add(task)
            problems.append(f"the answer cell of task {task} was deleted; the task scores 0")
        elif len(found) > 1:
            problems.append(f"the answer cell of task {task} appears {len(found)} times; the last one was graded")

    out = nbformat.v4.new_notebook(metadata=template.metadata)
    owner: dict[str, str] = {}

    def add(source: str, label: str, task: str | None = None):
        cell = nbformat.v4.new_code_cell(source)
        cell.id = f"run-{len(out.cells):03d}"
        if task:
            owner[cell.id] = task
        cell.metadata["kms_teach"] = {"cell": label}
        out.cells.append(cell)

    for i, extra in enumerate(extras_after.get(None, [])):
        add(extra.get("source", ""), f"added-{i}")
    for tcell in template.cells:
        meta = _meta(tcell)
        label, role = meta.get("cell"), meta.get("role")
        if role == "setup":
            add(tcell.source, label)
        elif role == "answer":
            found = answers.get(label)
            add(found[-1].get("source", "") if found else tcell.source, label, meta.get("task"))
        # markdown and self-check cells are not needed to grade: the hidden checks decide
        for i, extra in enumerate(extras_after.get(label, [])):
            add(extra.get("source", ""), f"added-after-{label}-{i}", meta.get("task") if role == "answer" else None)
    return out, problems, owner, deleted


def hidden_cell(task_id: str, code: str, nonce: str) -> str:
    """The hidden checks of one task, wrapped so that their outcome is reported exactly once."""
    # No hidden checks would pass everything: a source without them is refused, and this fails safe.
    body = textwrap.indent(code or "raise AssertionError('this task has no hidden checks')", "    ")
    return f'''def __kms_teach_check():
{body}

def __kms_teach_report():
    outcome = {{"task": {task_id!r}, "nonce": {nonce!r}, "passed": False, "message": ""}}
    try:
        __kms_teach_check()
        outcome["passed"] = True
    except NotImplementedError:
        outcome["message"] = "not answered yet (the cell still raises NotImplementedError)"
    except AssertionError as exc:
        outcome["message"] = str(exc) or "a hidden check failed"
    except Exception as exc:
        outcome["message"] = f"{{type(exc).__name__}}: {{exc}}"[:600]
    except SystemExit:
        outcome["message"] = "the code called exit()"
    import IPython.display
    IPython.display.display({{{RESULT_MIME!r}: outcome}}, raw=True)

__kms_teach_report()
del __kms_teach_check, __kms_teach_report
'''


# ---------------------------------------------------------------------- running


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


def _error_text(outputs) -> str | None:
    for out in outputs:
        if out.get("output_type") == "error":
            return f"{out.get('ename')}: {out.get('evalue')}"[:400]
    return None


def grade(submission: str | Path, *, assignments_dir: str | Path | None = None, assignment: str | None = None,
          cell_timeout: float = DEFAULT_CELL_TIMEOUT, total_timeout: float = DEFAULT_TOTAL_TIMEOUT) -> Report:
    """Grade one submitted notebook; never raises for anything wrong with the submission."""
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
        _grade_quiz(name[len("quiz_"):], submitted, report)
        report.seconds = round(time.monotonic() - started, 3)
        return report
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
    outcomes = run(source, submitted, report, cell_timeout=cell_timeout, total_timeout=total_timeout)
    for task in source.tasks.values():
        passed, message = outcomes.get(task.task_id, (False, "the hidden checks did not run"))
        report.tasks.append(TaskResult(task.task_id, task.title, task.points if passed else 0, task.points,
                                       passed, message))
    report.score = sum(t.points for t in report.tasks)
    report.seconds = round(time.monotonic() - started, 3)
    return report


def _grade_quiz(bank_name: str, submitted, report: Report) -> None:
    """A quiz: the answers the Quiz widget saved in the notebook, scored against the bank (no kernel)."""
    from ._quiz import QuizError, load_bank, saved_answers, score

    try:
        bank = load_bank(bank_name)
    except QuizError as exc:
        report.problems.append(str(exc))
        return
    report.assignment = f"quiz_{bank.name}"
    report.max_score = bank.total_points
    saved = saved_answers(submitted)
    if saved is None:
        report.problems.append("no saved quiz answers: run the quiz cell, answer, and save the notebook")
        saved = {}
    elif saved.get("bank") != bank.name:
        report.problems.append(f"the saved answers are for the bank {saved.get('bank')!r}, not {bank.name!r}")
        saved = {}
    for q, verdict in score(bank, saved):
        title = q.prompt if len(q.prompt) <= 70 else q.prompt[:69] + "…"
        report.tasks.append(TaskResult(q.id, title, q.points if verdict.correct else 0, q.points, verdict.correct,
                                       "" if verdict.correct else (verdict.feedback or "wrong")[:300]))
    report.score = sum(t.points for t in report.tasks)


def run(source: Assignment, submitted, report: Report, *, cell_timeout: float,
        total_timeout: float) -> dict[str, tuple[bool, str]]:
    import nbformat
    from nbclient.exceptions import DeadKernelError

    _LimitedClient = _client_class()

    nb, problems, owner, deleted = assemble(source, submitted)
    report.problems.extend(problems)
    nonce = secrets.token_hex(16)
    first_hidden = len(nb.cells)
    for task in source.tasks.values():
        cell = nbformat.v4.new_code_cell(hidden_cell(task.task_id, task.hidden, nonce))
        cell.id = f"hidden-{task.task_id}"
        owner[cell.id] = task.task_id
        nb.cells.append(cell)

    deadline = time.monotonic() + total_timeout
    outcomes: dict[str, tuple[bool, str]] = {}
    answer_errors: dict[str, str] = {}
    stderr_cells: list[str] = []
    with tempfile.TemporaryDirectory(prefix="kms-teach-grade-") as workdir:
        client = _LimitedClient(nb, km=kernel_manager(), timeout=max(1, math.ceil(cell_timeout)),
                                allow_errors=True, interrupt_on_timeout=True, record_timing=False,
                                shutdown_kernel="immediate",  # a kernel stuck in a loop is killed, not asked
                                # A timed-out cell ends with this reply instead of waiting again and again.
                                error_on_timeout={"ename": "CellTimeoutError", "evalue": "time limit",
                                                  "traceback": []},
                                resources={"metadata": {"path": workdir}})
        try:
            # The kernel's own stderr is start-up noise; what cells print arrives over the protocol.
            with client.setup_kernel(cwd=workdir, stderr=subprocess.DEVNULL, cleanup_kc=True):
                for index, cell in enumerate(nb.cells):
                    left = deadline - time.monotonic()
                    task = owner.get(cell.id)
                    if left <= 0:
                        report.problems.append(f"the total time limit ({total_timeout:g} s) ran out; "
                                               "the remaining cells did not run")
                        break
                    client.timeout = max(1, math.ceil(min(cell_timeout, left)))  # whole seconds (a trait)
                    began = time.monotonic()
                    # On timeout nbclient interrupts the kernel itself and moves on (its own recovery:
                    # interrupting from here instead leaves a stray output reader on the channel).
                    client.execute_cell(cell, index)
                    where = f"task {task}'s" if task else "a"
                    if client.truncated.get(index):
                        report.problems.append(f"{where} cell printed more than {MAX_CELL_OUTPUT:,} characters; "
                                               "the rest was dropped")
                    if time.monotonic() - began >= client.timeout:
                        report.problems.append(f"{where} cell ran longer than {client.timeout:g} s and was stopped")
                        if task and index >= first_hidden:
                            outcomes[task] = (False, f"the hidden checks ran longer than {client.timeout:g} s "
                                                     "(an answer that never returns?)")
                        if not _interrupted(cell.outputs):
                            # The code caught the interrupt and carried on (a bare except in a retry
                            # loop): the kernel is still busy, so nothing after it can run.
                            report.problems.append("the code did not stop when interrupted; the kernel was "
                                                   "stopped and the remaining cells did not run")
                            break
                        continue
                    if index < first_hidden:
                        error = _error_text(cell.outputs)
                        if error and task:
                            answer_errors.setdefault(task, error)
                        elif error:
                            report.problems.append(f"a cell raised {error}")
                    if any(o.get("output_type") == "stream" and o.get("name") == "stderr" for o in cell.outputs):
                        stderr_cells.append((task or "setup") if index < first_hidden else f"checks of {task}")
                    if index >= first_hidden and task:
                        outcomes[task] = _outcome(cell.outputs, task, nonce)
        except DeadKernelError:
            report.problems.append("the kernel died (the code exited or crashed it); later cells did not run")
        except Exception as exc:  # the kernel would not start, or the client failed: still a report
            report.problems.append(f"the notebook could not be run: {type(exc).__name__}: {exc}"[:400])
    if stderr_cells:
        report.problems.append("wrote to stderr in: " + ", ".join(dict.fromkeys(stderr_cells)))
    for task in deleted:
        outcomes[task] = (False, "its answer cell was deleted")
    for task, error in answer_errors.items():
        report.problems.append(f"task {task}'s answer cell raised {error}")
        passed, message = outcomes.get(task, (False, "the hidden checks did not run"))
        if not passed:
            outcomes[task] = (False, f"your answer cell raised {error}; {message}")
    return outcomes


def _interrupted(outputs) -> bool:
    """Did the interrupt stop the code (KeyboardInterrupt reached the top of the cell)?"""
    return any(o.get("output_type") == "error" and o.get("ename") == "KeyboardInterrupt" for o in outputs)


MAX_CELL_OUTPUT = 2_000_000  # characters kept per cell: a print loop must not fill the grader's memory


@functools.cache  # made once, on first use: importing nbclient is deferred until something runs
def _client_class():
    from nbclient import NotebookClient

    class LimitedClient(NotebookClient):
        """nbclient, keeping at most MAX_CELL_OUTPUT characters of output per cell."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.kept: dict[int, int] = {}
            self.truncated: dict[int, bool] = {}

        def output(self, outs, msg, display_id, cell_index):
            content = msg.get("content", {})
            size = len(content.get("text", "")) + sum(len(str(v)) for v in (content.get("data") or {}).values())
            if self.kept.get(cell_index, 0) + size > MAX_CELL_OUTPUT:
                self.truncated[cell_index] = True
                return None
            self.kept[cell_index] = self.kept.get(cell_index, 0) + size
            return super().output(outs, msg, display_id, cell_index)

    return LimitedClient


def _outcome(outputs, task: str, nonce: str) -> tuple[bool, str]:
    found = [o.get("data", {}).get(RESULT_MIME) for o in outputs
             if o.get("output_type") == "display_data" and RESULT_MIME in o.get("data", {})]
    genuine = [f for f in found if isinstance(f, dict) and f.get("nonce") == nonce and f.get("task") == task]
    if len(genuine) != 1 or len(found) != 1:
        return False, "the hidden checks' result was missing or forged"
    return bool(genuine[0].get("passed")), str(genuine[0].get("message", ""))


def write_json(report: Report, path: str | Path) -> None:
    Path(path).write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
