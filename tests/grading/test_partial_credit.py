"""Partial credit: a task's points split over named checks (``### CHECK points=N "Name"`` in its
hidden tests), each with its own verdict and reason in the report, its JSON and the CSV gradebook."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import nbformat
import pytest

from kms_teach import grading
from kms_teach.grading import SourceError
from kms_teach.grading._source import parse

SPLIT = '''# ---
# assignment: ex90_split
# title: Split points
# ---
# %% [markdown]
# # Split
# %% [answer t1]
def double(x):
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION
# %% [check t1 "Doubling"]
### BEGIN HIDDEN TESTS
base = 21
### CHECK points=2 "positive numbers"
assert double(base) == 42, "double(21) is not 42"
### CHECK points=1 "negative numbers"
assert double(-3) == -6, "double(-3) is not -6"
### CHECK points=1 "zero"
assert double(0) == 0, "double(0) is not 0"
### END HIDDEN TESTS
# %% [answer t2]
def half(x):
    ### BEGIN SOLUTION
    return x / 2
    ### END SOLUTION
# %% [check t2 points=1 "Halving"]
### BEGIN HIDDEN TESTS
assert half(3) == 1.5, "half(3) is not 1.5"
### END HIDDEN TESTS
'''


def _graded(tmp_path: Path, answers: dict[str, str], **options) -> grading.Report:
    folder = tmp_path / "assignments"
    folder.mkdir(exist_ok=True)
    (folder / "ex90_split.py").write_text(SPLIT)
    nb = grading.load(folder / "ex90_split.py").notebook("solution")
    nb = grading._validate.with_answers(nb, answers)
    path = tmp_path / "ada.ipynb"
    nbformat.write(nb, path)
    return grading.grade(path, assignments_dir=folder, **options)


def test_the_source_gives_each_check_its_points_and_the_task_their_sum():
    a = parse(SPLIT, Path("ex90_split.py"))
    t1 = a.tasks["t1"]
    assert [(c.name, c.points, c.line) for c in t1.checks] == [("positive numbers", 2, 15), ("negative numbers", 1, 17),
                                                               ("zero", 1, 19)]
    assert t1.points == 4 and a.total_points == 5 and t1.preamble == "base = 21"
    assert [(c.name, c.points) for c in a.tasks["t2"].checks] == [("Halving", 1)]
    assert a.notebook("student").metadata["kms_teach"]["tasks"]["t1"]["points"] == 4


@pytest.mark.parametrize("change, message", [
    (('[check t1 "Doubling"]', '[check t1 points=5 "Doubling"]'),
     'ex90_split.py:12: task t1 is worth points=5 but its checks add up to 4'),
    (('### CHECK points=1 "zero"', '### CHECK "zero"'), 'ex90_split.py:19: a check reads: ### CHECK points=N "Name"'),
    (('### CHECK points=1 "zero"', '### CHECK points=1 "positive numbers"'),
     "ex90_split.py:19: task t1 has two checks named 'positive numbers'"),
    (('### CHECK points=1 "zero"\nassert double(0) == 0, "double(0) is not 0"\n', '### CHECK points=1 "zero"\n'),
     "ex90_split.py:19: the check 'zero' is empty"),
    (('### BEGIN HIDDEN TESTS\nbase = 21\n', '### CHECK points=1 "early"\n### BEGIN HIDDEN TESTS\nbase = 21\n'),
     "ex90_split.py:13: a '### CHECK' line belongs inside the hidden tests"),
    (('### CHECK points=1 "zero"', '### CHECKS points=1 "zero"'), 'ex90_split.py:19: write the check as'),
])
def test_a_check_line_that_breaks_the_format_is_refused_at_its_line(change, message):
    with pytest.raises(SourceError) as info:
        parse(SPLIT.replace(*change), Path("ex90_split.py"))
    assert str(info.value).startswith(message), str(info.value)


def test_a_partly_right_answer_gets_the_points_of_the_checks_it_passes_each_with_its_reason(tmp_path):
    report = _graded(tmp_path, {"t1": "def double(x):\n    return abs(2 * x)\n"})  # sandboxed, as a class is
    t1 = report.tasks[0]
    assert (t1.points, t1.max_points, t1.passed) == (3, 4, False)
    assert [(c.name, c.passed, c.points, c.max_points, c.message) for c in t1.checks] == [
        ("positive numbers", True, 2, 2, ""),
        ("negative numbers", False, 0, 1, "double(-3) is not -6"),
        ("zero", True, 1, 1, "")]
    assert t1.message == "double(-3) is not -6"
    assert report.score == 4 and report.max_score == 5
    text = report.text()
    assert "t1 PART 3/4  Doubling" in text
    assert "x   0/1  negative numbers: double(-3) is not -6" in text and "ok  2/2  positive numbers" in text
    # JSON: every check, with its points and reason
    grading.write_json(report, tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["tasks"][0]["checks"][1] == {"name": "negative numbers", "passed": False, "points": 0, "max_points": 1,
                                             "message": "double(-3) is not -6"}
    # CSV: the task's points, and the lost check named with its reason in the notes
    grading.write_csv([report], tmp_path / "g.csv")
    row = next(csv.DictReader(open(tmp_path / "g.csv", newline="")))
    assert row["t1"] == "3" and row["t2"] == "1" and row["score"] == "4"
    assert "t1 'negative numbers' 0/1: double(-3) is not -6" in row["notes"]


def test_a_check_that_hangs_costs_its_points_only_and_the_later_checks(tmp_path):
    hang = "def double(x):\n    while x < 0:\n        pass\n    return 2 * x\n"
    report = _graded(tmp_path, {"t1": hang}, sandbox=False, cell_timeout=3)
    t1, t2 = report.tasks
    assert [c.points for c in t1.checks] == [2, 0, 0], report.text()
    assert "did not return within the time limit" in t1.checks[1].message
    assert t1.checks[2].message == t1.checks[1].message  # the channel broke: the rest could not run
    assert t2.passed, report.text()  # the next task ran in a fresh kernel


def test_an_unanswered_task_scores_no_check(tmp_path):
    report = _graded(tmp_path, {"t1": 'def double(x):\n    raise NotImplementedError("t1")\n'}, sandbox=False)
    assert report.tasks[0].points == 0
    assert all(c.message.startswith("not answered yet") for c in report.tasks[0].checks)
