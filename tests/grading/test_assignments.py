"""Tests that catch weak tests: every assignment's solution gets full marks, its untouched exercise
zero, and plausible wrong answers (kept here, never shipped) do not get the task's points.

Wrong answers of the same assignment are graded together: variant k replaces each task's answer
with that task's k-th wrong answer (tasks with fewer are left as solved), and only the tasks
replaced are asserted on. Everything is graded in one parallel batch.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kms_teach import grading

from ._submissions import notebook, with_answers, write
from .wrong_answers import WRONG

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENTS = sorted(p.stem for p in (ROOT / "assignments").glob("ex[0-9][0-9]_*.py"))


def _variants(name: str) -> list[dict[str, tuple[str, str]]]:
    """[{task: (label, code)}] - variant k holds the k-th wrong answer of each task that has one."""
    per_task = WRONG.get(name, {})
    depth = max((len(v) for v in per_task.values()), default=0)
    return [{task: answers[k] for task, answers in per_task.items() if k < len(answers)} for k in range(depth)]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submissions")
    paths, expect = [], {}
    for name in ASSIGNMENTS:
        sol = notebook("solution", name)
        paths.append(write(sol, folder, f"{name}__solution"))
        paths.append(write(notebook("student", name), folder, f"{name}__student"))
        for k, variant in enumerate(_variants(name)):
            nb = with_answers(sol, {task: code for task, (_, code) in variant.items()})
            stem = f"{name}__wrong{k}"
            paths.append(write(nb, folder, stem))
            expect[stem] = variant
    reports = grading.grade_many(paths, jobs=2, progress=False, cell_timeout=60, total_timeout=300)
    return {r.student: r for r in reports}, expect


# A course notebook whose exercise is still being written goes here (its number, "05"); the second assert
# says when it has landed and must leave the list.
EXERCISE_TO_COME: set[str] = set()


def test_every_course_notebook_has_an_exercise():
    numbers = {p.name[:2] for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    assert numbers - EXERCISE_TO_COME <= {name[2:4] for name in ASSIGNMENTS}
    assert not EXERCISE_TO_COME & {name[2:4] for name in ASSIGNMENTS}, "an awaited exercise landed: update the list"


def test_every_task_has_wrong_answers_kept_in_the_tests():
    for name in ASSIGNMENTS:
        tasks = set(grading.load(ROOT / "assignments" / f"{name}.py").tasks)
        assert set(WRONG.get(name, {})) == tasks, f"{name}: wrong answers for every task"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_the_solution_gets_full_marks(graded, name):
    r = graded[0][f"{name}__solution"]
    assert r.max_score > 0 and r.score == r.max_score, r.text()
    assert r.problems == [], r.text()


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_the_untouched_exercise_gets_zero(graded, name):
    r = graded[0][f"{name}__student"]
    assert r.score == 0 and r.max_score > 0, r.text()
    assert all(not t.passed for t in r.tasks)


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_no_wrong_answer_gets_its_tasks_points(graded, name):
    reports, expect = graded
    checked = 0
    for stem, variant in expect.items():
        if not stem.startswith(name + "__"):
            continue
        r = reports[stem]
        for task, (label, _) in variant.items():
            result = next(t for t in r.tasks if t.task == task)
            assert not result.passed, f"{name} {task}: the wrong answer {label!r} passed the hidden checks"
            assert result.message, "a failed task says why"
            checked += 1
        assert r.score < r.max_score
    assert checked >= len(WRONG[name])
