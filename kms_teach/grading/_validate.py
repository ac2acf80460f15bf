"""``kms-teach assign --validate``: an assignment's hidden checks are tested before learners meet them.

For every source in the instructor's folder, three kinds of notebook are graded, in one parallel
batch, exactly as a class's submissions are:

* the **worked solution** must get full marks (a typo in a hidden check shows here);
* the **untouched exercise** must get zero (a check that passes without an answer shows here);
* each **wrong answer** of ``exNN_name.wrong.py`` beside the source (plausible mistakes, see
  :func:`~kms_teach.grading._source.load_wrong_answers`) must lose its task: a check that lets
  one through is too weak. Variant k replaces each task's answer by that task's k-th wrong answer
  (tasks with fewer keep the solution), so a folder of assignments is a few notebooks each.

The solution's run also sizes the per-cell time limit (10x its slowest cell, at least 10 s), which
is recorded beside the sources (``cell-limits.json``) for ``kms-teach grade`` to use.
"""

from __future__ import annotations

import copy
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ._source import Assignment, SourceError, WrongAnswer, discover, load, load_wrong_answers, notebook_text

VALIDATION_CELL_TIMEOUT = 120   # generous: the limit is what is being measured
VALIDATION_TOTAL_TIMEOUT = 900


@dataclass
class Validation:
    """What validating a folder found: ``failures`` make ``kms-teach assign`` exit non-zero."""

    folder: str
    assignments: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    limits: dict[str, dict] = field(default_factory=dict)   # assignment -> the measured cell limit
    graded: int = 0
    seconds: float = 0.0
    sandbox: str = ""

    @property
    def ok(self) -> bool:
        return not self.failures

    def text(self) -> str:
        lines = [f"validated {len(self.assignments)} assignment(s) in {self.folder}: {self.graded} notebooks graded "
                 f"in {self.seconds:.0f} s ({self.sandbox or 'nothing ran'})"]
        lines += [f"warning: {w}" for w in self.warnings]
        for name, limit in self.limits.items():
            lines.append(f"{name}: cell limit {limit['cell_timeout']} s (its solution's slowest: "
                         f"{limit['slowest_cell']}, {limit['slowest_seconds']:.2f} s)")
        lines += [f"FAILED: {f}" for f in self.failures]
        lines.append("all assignments valid" if self.ok else f"{len(self.failures)} problem(s): see FAILED above")
        return "\n".join(lines)


def variants(wrong: list[WrongAnswer]) -> list[dict[str, WrongAnswer]]:
    """[{task: wrong answer}]: variant k holds the k-th wrong answer of each task that has one."""
    per_task: dict[str, list[WrongAnswer]] = {}
    for w in wrong:
        per_task.setdefault(w.task, []).append(w)
    depth = max((len(v) for v in per_task.values()), default=0)
    return [{t: answers[k] for t, answers in per_task.items() if k < len(answers)} for k in range(depth)]


def with_answers(nb, answers: dict[str, str]):
    """A copy of notebook ``nb`` whose answer cells of the given tasks hold the given code."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("kms_teach", {})
        if meta.get("role") == "answer" and meta.get("task") in answers:
            cell.source = answers[meta["task"]]
    return nb


def validate(folder: str | Path | None = None, *, jobs: int = 2, sandbox: bool | None = None,
             record: bool = True, progress=False) -> Validation:
    """Validate every assignment in ``folder`` (default ``assignments/``); see the module's doc.

    ``sandbox=None``: sandboxed where bubblewrap runs, else not (the code is the instructor's own).
    ``record``: write the measured cell limits beside the sources.
    """
    from ._batch import grade_many
    from ._grader import default_assignments_dir, record_cell_limits, sized_cell_timeout
    from ._sandbox import support

    started = time.monotonic()
    folder = Path(folder) if folder else default_assignments_dir()
    result = Validation(folder=str(folder))
    sources, result.warnings = discover(folder)
    if not folder.is_dir():
        result.failures.append(f"{folder}: no such folder")
        return result
    if not sources:
        result.failures.append(f"{folder}: no assignment sources (files named like ex02_data_keys.py)")
        return result
    if sandbox is None:
        sandbox = support().ok
    plan: list[tuple[Path, str, Assignment, str, dict[str, WrongAnswer] | None]] = []  # path, name, a, kind, wrong
    with tempfile.TemporaryDirectory(prefix="kms-teach-validate-") as tmp:
        for path in sources:
            try:
                assignment = load(path)
                wrong = load_wrong_answers(path, assignment)
            except SourceError as exc:
                result.failures.append(str(exc))
                continue
            result.assignments.append(assignment.name)
            if not wrong:
                result.warnings.append(f"{path}: no wrong answers beside it ({assignment.name}.wrong.py): its hidden "
                                       "checks are not tried against plausible mistakes")
            else:
                bare = [t for t in assignment.tasks if t not in {w.task for w in wrong}]
                if bare:
                    result.warnings.append(f"{path}: no wrong answers for {', '.join(bare)} in "
                                           f"{assignment.name}.wrong.py")
            solution = assignment.notebook("solution")
            notebooks = [("solution", solution, None), ("exercise", assignment.notebook("student"), None)]
            for k, variant in enumerate(variants(wrong)):
                nb = with_answers(solution, {t: w.code for t, w in variant.items()})
                notebooks.append((f"wrong{k}", nb, variant))
            for kind, nb, variant in notebooks:
                target = Path(tmp) / f"{assignment.name}__{kind}.ipynb"
                target.write_text(notebook_text(nb), encoding="utf-8")
                plan.append((target, assignment.name, assignment, kind, variant))
        if not plan:
            result.seconds = round(time.monotonic() - started, 1)
            return result
        reports = grade_many([p for p, *_ in plan], jobs=jobs, progress=progress, assignments_dir=folder,
                             cell_timeout=VALIDATION_CELL_TIMEOUT, total_timeout=VALIDATION_TOTAL_TIMEOUT,
                             sandbox=sandbox)
    result.graded = len(reports)
    result.sandbox = next((r.sandbox for r in reports if r.sandbox), "")
    measured = {}
    for (_, name, assignment, kind, variant), report in zip(plan, reports):
        lost = [t for t in report.tasks if not t.passed]
        if kind == "solution":
            if report.max_score <= 0 or report.score != report.max_score or lost:
                why = "; ".join(f"{t.task} {t.points}/{t.max_points}: {t.message}" for t in lost) or \
                      "; ".join(report.problems) or "it was not graded"
                result.failures.append(f"{assignment.path}: the worked solution gets {report.score}/"
                                       f"{report.max_score}, not full marks ({why})"[:1500])
                continue
            for problem in report.problems:
                result.warnings.append(f"{assignment.path}: grading the worked solution noted: {problem}")
            label, seconds, limit = sized_cell_timeout(report.cell_seconds)
            measured[name] = {"cell_timeout": limit, "slowest_cell": label, "slowest_seconds": seconds,
                              "measured": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
        elif kind == "exercise":
            if report.score != 0 or any(t.passed for t in report.tasks) or not report.tasks:
                passing = [f"{t.task} ({t.points}/{t.max_points})" for t in report.tasks if t.points or t.passed]
                result.failures.append(f"{assignment.path}: the untouched exercise gets {report.score}/"
                                       f"{report.max_score}, not 0: "
                                       + (f"{', '.join(passing)} score(s) without an answer" if passing else
                                          "; ".join(report.problems) or "it was not graded"))
        else:
            for task, wrong in variant.items():
                got = next((t for t in report.tasks if t.task == task), None)
                if got is None:
                    result.failures.append(f"{wrong.path}:{wrong.line}: the wrong answer {wrong.label!r} was not "
                                           f"graded ({'; '.join(report.problems)[:300]})")
                elif got.passed or got.points >= got.max_points:
                    result.failures.append(f"{wrong.path}:{wrong.line}: the wrong answer {wrong.label!r} for {task} "
                                           f"gets {got.points}/{got.max_points}: the hidden checks of {task} let it "
                                           "through")
    result.limits = measured
    if record and measured:
        record_cell_limits(folder, measured)
    result.seconds = round(time.monotonic() - started, 1)
    return result
