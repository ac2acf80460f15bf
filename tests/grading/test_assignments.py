"""Tests that catch weak tests: every assignment's solution gets full marks, its untouched exercise
zero, and the plausible wrong answers kept beside its source (``assignments/NAME.wrong.py``, never
shipped) do not get the task's points.

This is ``kms-teach assign --validate`` (:func:`kms_teach.grading.validate`) run on the project's own
folder: the tests and the instructor's command share the wrong answers and the logic, so an
instructor who adds an assignment (with its ``.wrong.py``) keeps these tests green
(tests/grading/test_authoring.py adds one to a copy of the folder).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kms_teach import grading

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "assignments"
ASSIGNMENTS = [p.stem for p in grading.discover(FOLDER)[0]]


def missing_wrong_answers(folder: Path) -> list[str]:
    """Tasks of the folder's assignments that have no wrong answer beside their source."""
    missing = []
    for path in grading.discover(folder)[0]:
        assignment = grading.load(path)
        covered = {w.task for w in grading.load_wrong_answers(path, assignment)}
        missing += [f"{assignment.name} {t}" for t in assignment.tasks if t not in covered]
    return missing


def failures_of(validation: grading.Validation, name: str) -> list[str]:
    return [f for f in validation.failures if f"/{name}." in f or f"{name}:" in f]


@pytest.fixture(scope="module")
def validation():
    return grading.validate(FOLDER, jobs=2, record=False)


# A course notebook whose exercise is still being written goes here (its number, "05"); the second assert
# says when it has landed and must leave the list.
EXERCISE_TO_COME: set[str] = set()


def test_every_course_notebook_has_an_exercise():
    numbers = {p.name[:2] for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    assert numbers - EXERCISE_TO_COME <= {name[2:4] for name in ASSIGNMENTS}
    assert not EXERCISE_TO_COME & {name[2:4] for name in ASSIGNMENTS}, "an awaited exercise landed: update the list"


def test_every_task_has_wrong_answers_beside_its_source():
    assert ASSIGNMENTS
    assert missing_wrong_answers(FOLDER) == []


def test_the_folder_holds_nothing_that_looks_like_a_misnamed_source():
    assert grading.discover(FOLDER)[1] == []


def test_every_assignment_validates(validation):
    assert validation.assignments == ASSIGNMENTS
    assert validation.ok, validation.text()
    assert validation.graded >= 3 * len(ASSIGNMENTS)


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_solution_full_marks_exercise_zero_every_wrong_answer_loses_its_task(validation, name):
    assert failures_of(validation, name) == []
    assert name in validation.limits, "the solution got full marks, so its run sized the cell limit"
    wrong = grading.load_wrong_answers(FOLDER / f"{name}.py")
    assert len(wrong) >= len(grading.load(FOLDER / f"{name}.py").tasks)
