"""Time limits that fit a class: the default cell limit is sized from the solution's own run (10x its
slowest cell, at least 10 s), recorded beside the sources at assign time, and overridable."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat

from kms_teach import grading
from kms_teach.grading import _grader

ROOT = Path(__file__).resolve().parents[2]

LOOP = '''# ---
# assignment: ex90_loop
# title: Loop
# ---
# %% [markdown]
# # Loop
# %% [answer t1]
def double(x):
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION
# %% [check t1 points=1 "Doubling"]
### BEGIN HIDDEN TESTS
assert double(2) == 4, "double(2) is not 4"
### END HIDDEN TESTS
'''


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "assignments"
    folder.mkdir()
    (folder / "ex90_loop.py").write_text(LOOP)
    return folder


def _submission(tmp_path: Path, folder: Path, answer: str | None = None) -> Path:
    nb = grading.load(folder / "ex90_loop.py").notebook("solution")
    if answer is not None:
        nb = grading._validate.with_answers(nb, {"t1": answer})
    path = tmp_path / "ada.ipynb"
    nbformat.write(nb, path)
    return path


def test_the_limit_is_ten_times_the_slowest_cell_and_at_least_ten_seconds():
    assert _grader.sized_cell_timeout({"setup": 0.4, "checks of t1": 0.9}) == ("checks of t1", 0.9, 10)
    assert _grader.sized_cell_timeout({"setup": 0.4, "t2-answer": 3.01}) == ("t2-answer", 3.01, 31)
    assert _grader.sized_cell_timeout({})[2] == _grader.DEFAULT_CELL_TIMEOUT


def test_validation_records_the_limit_and_grading_uses_it(tmp_path):
    folder = _folder(tmp_path)
    found = grading.validate(folder, jobs=1)
    assert found.ok, found.text()
    recorded = json.loads((folder / "cell-limits.json").read_text())["ex90_loop"]
    assert recorded["cell_timeout"] == 10 and recorded["slowest_seconds"] < 1.0
    assert recorded["slowest_cell"] in ("setup", "t1-answer", "checks of t1")
    report = grading.grade(_submission(tmp_path, folder), assignments_dir=folder)
    assert report.score == 1 and report.cell_timeout == 10
    assert set(report.cell_seconds) >= {"t1-answer", "checks of t1"}
    # a new measurement replaces the assignment's entry and keeps the others
    _grader.record_cell_limits(folder, {"ex91_other": {"cell_timeout": 12}})
    assert set(json.loads((folder / "cell-limits.json").read_text())) == {"ex90_loop", "ex91_other"}


def test_a_looping_cell_is_stopped_at_the_recorded_limit_and_an_explicit_one_wins(tmp_path):
    folder = _folder(tmp_path)
    _grader.record_cell_limits(folder, {"ex90_loop": {"cell_timeout": 2}})
    looping = _submission(tmp_path, folder, "while True:\n    pass\n")
    report = grading.grade(looping, assignments_dir=folder, sandbox=False)
    assert report.cell_timeout == 2 and report.score == 0
    assert any("ran longer than 2 s and was stopped" in p for p in report.problems), report.text()
    assert report.seconds < 20
    report = grading.grade(looping, assignments_dir=folder, sandbox=False, cell_timeout=3)
    assert report.cell_timeout == 3
    assert any("ran longer than 3 s" in p for p in report.problems), report.text()


def test_without_a_record_the_limit_is_the_old_default(tmp_path):
    folder = _folder(tmp_path)
    report = grading.grade(_submission(tmp_path, folder), assignments_dir=folder, sandbox=False)
    assert report.cell_timeout == _grader.DEFAULT_CELL_TIMEOUT == 60
    (folder / "cell-limits.json").write_text("{not json")  # a broken file is no record, not a crash
    assert grading.grade(_submission(tmp_path, folder), assignments_dir=folder, sandbox=False).cell_timeout == 60


def test_the_cli_flag_overrides_the_recorded_limit(tmp_path):
    folder = _folder(tmp_path)
    _grader.record_cell_limits(folder, {"ex90_loop": {"cell_timeout": 30}})
    path = _submission(tmp_path, folder, "while True:\n    pass\n")
    result = subprocess.run([sys.executable, "-m", "kms_teach", "grade", str(path), "--assignments", str(folder),
                             "--cell-timeout", "2", "--json", str(tmp_path / "r.json")],
                            capture_output=True, text=True, timeout=120)
    assert "ran longer than 2 s" in result.stdout, result.stdout + result.stderr
    assert json.loads((tmp_path / "r.json").read_text())["cell_timeout"] == 2


def test_the_courses_assignments_have_recorded_limits():
    limits = _grader.recorded_cell_limits(ROOT / "assignments")
    for path in grading.discover(ROOT / "assignments")[0]:
        assert limits.get(path.stem, {}).get("cell_timeout", 0) >= _grader.MIN_CELL_TIMEOUT, \
            f"{path.stem}: run kms-teach assign to measure its cell limit"
