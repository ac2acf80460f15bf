"""Assignment sources: the format, what each generated notebook keeps, nbgrader export, up-to-date files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from kms_teach import grading
from kms_teach.grading import SourceError
from kms_teach.grading._source import parse

ROOT = Path(__file__).resolve().parents[2]

GOOD = '''# ---
# assignment: ex99_demo
# title: Demo
# ---
# %% [markdown]
# # Demo
#
# Some *prose*.
# %% [setup]
import kms_teach
# %% [answer t1]
def double(x):
    if x:
        ### BEGIN SOLUTION
        return 2 * x
        ### END SOLUTION
    return 0
# %% [check t1 points=2 "Doubling"]
print("self-check")
### BEGIN HIDDEN TESTS
assert double(4) == 8, "double(4) is not 8"
### END HIDDEN TESTS
'''


def test_a_source_gives_student_and_solution_notebooks_and_hidden_checks():
    a = parse(GOOD, Path("ex99_demo.py"))
    assert (a.name, a.title, a.total_points) == ("ex99_demo", "Demo", 2)
    assert a.tasks["t1"].hidden == 'assert double(4) == 8, "double(4) is not 8"'
    student, solution = a.notebook("student"), a.notebook("solution")
    assert student.cells[0].source == "# Demo\n\nSome *prose*."
    answer = student.cells[2].source
    assert "return 2 * x" not in answer and "BEGIN SOLUTION" not in answer
    assert '        # YOUR CODE HERE\n        raise NotImplementedError("t1 is not answered yet")' in answer
    assert "        return 2 * x" in solution.cells[2].source and "### " not in solution.cells[2].source
    for nb in (student, solution):
        assert "double(4)" not in nbformat.writes(nb), "hidden checks must not reach a notebook"
        assert nb.cells[3].source == 'print("self-check")'
        assert nb.metadata["kms_teach"]["tasks"] == {"t1": {"title": "Doubling", "points": 2}}
        assert [c.metadata["kms_teach"]["role"] for c in nb.cells] == ["markdown", "setup", "answer", "check"]
        assert nb.cells[1].metadata["editable"] is False and "editable" not in nb.cells[2].metadata


@pytest.mark.parametrize("broken, message", [
    (GOOD.replace("# ---\n# assignment", "# assignment", 1), "header"),
    (GOOD.replace("# %% [answer t1]", "# %% [answer]"), "names its task"),
    (GOOD.replace('points=2 "Doubling"', '"Doubling"'), "points=N"),
    (GOOD.replace("points=2", "points=two"), "whole number"),
    (GOOD.replace("        ### END SOLUTION\n", ""), "BEGIN SOLUTION"),
    (GOOD.replace("### BEGIN HIDDEN TESTS", "# hidden"), "HIDDEN TESTS"),
    (GOOD.replace("[check t1", "[check t2"), "check cell but no answer cell"),
    (GOOD.replace("# %% [setup]", "# %% [locked]"), "one of markdown"),
    (GOOD.replace("# Some *prose*.", "Some prose"), "lines of a markdown cell are comments"),
    (GOOD.replace("ex99_demo", "Demo Assignment"), "assignment names"),
    (GOOD.replace("### END HIDDEN TESTS", "### END HIDDEN TEST"), "is not a marker"),
    (GOOD.replace("### END HIDDEN TESTS", ""), "never closed"),
    (GOOD.replace('assert double(4) == 8, "double(4) is not 8"\n', ""), "hidden tests of task t1 are empty"),
    (GOOD.replace("        ### BEGIN SOLUTION\n", "        ### BEGIN SOLUTION\n        ### BEGIN SOLUTION\n"),
     "inside another one"),
    (GOOD.replace("assignment: ex99_demo", "assignment: ex98_demo"), "the file must be ex98_demo.py"),
])
def test_a_broken_source_is_refused_with_file_and_reason(broken, message):
    with pytest.raises(SourceError, match=message.replace("*", r"\*").replace("(", r"\(")) as info:
        parse(broken, Path("ex99_demo.py"))
    assert "ex99_demo.py" in str(info.value)


def test_every_assignment_source_loads_and_has_rising_tasks():
    sources = grading.discover(ROOT / "assignments")[0]
    assert sources
    for path in sources:
        a = grading.load(path)
        assert len(a.tasks) >= 3, f"{a.name}: several tasks of rising difficulty"
        assert all(t.hidden.strip() for t in a.tasks.values()), f"{a.name}: every task has hidden checks"


def test_committed_exercises_and_solutions_are_up_to_date():
    result = subprocess.run([sys.executable, "-m", "kms_teach", "assign", "--check"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert grading.generate(check=True) == []


def test_a_stale_exercise_is_detected(tmp_path):
    (tmp_path / "assignments").mkdir()
    (tmp_path / "assignments" / "ex99_demo.py").write_text(GOOD)
    assert len(grading.generate(tmp_path / "assignments", banks=[])) == 2
    assert grading.generate(tmp_path / "assignments", check=True, banks=[]) == []
    (tmp_path / "assignments" / "ex99_demo.py").write_text(GOOD.replace("Some *prose*.", "Changed."))
    assert grading.generate(tmp_path / "assignments", check=True, banks=[]) == [str(tmp_path / "exercises" / "ex99_demo.ipynb"),
                                                                        str(tmp_path / "solutions" / "ex99_demo.ipynb")]


def test_nbgrader_export_carries_grade_ids_points_and_locks(tmp_path):
    (tmp_path / "ex99_demo.py").write_text(GOOD)
    path = grading.export_nbgrader(tmp_path / "ex99_demo.py", tmp_path / "course")
    assert path == tmp_path / "course" / "source" / "ex99_demo" / "ex99_demo.ipynb"
    nb = nbformat.read(path, as_version=4)
    meta = [c.metadata["nbgrader"] for c in nb.cells]
    assert [m["grade_id"] for m in meta] == ["markdown", "setup", "t1-answer", "t1-check"]
    assert all(m["schema_version"] == 3 for m in meta)
    assert meta[2] == {"grade": False, "solution": True, "locked": False, "grade_id": "t1-answer", "schema_version": 3}
    assert meta[3]["grade"] is True and meta[3]["points"] == 2 and meta[3]["locked"] is True
    # nbgrader strips the regions itself: its source keeps them.
    assert "### BEGIN SOLUTION" in nb.cells[2].source and "### BEGIN HIDDEN TESTS" in nb.cells[3].source
