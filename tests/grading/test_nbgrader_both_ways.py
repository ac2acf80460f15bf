"""nbgrader both ways: a notebook exported with `export-nbgrader` and released by nbgrader (which keeps
only its own cell metadata) grades with `kms-teach grade`, cells matched by nbgrader's grade_id; and
answers pasted into a fresh notebook (no labels at all) are found by the functions they define.

nbgrader itself is not a test dependency (tools/check_nbgrader_interop.sh runs the real one);
``_nbgrader_release`` does what ``nbgrader generate_assignment`` does to a source notebook: solution
regions become ``# YOUR CODE HERE`` / ``raise NotImplementedError()``, hidden-test regions go,
and each cell keeps its ``metadata.nbgrader`` (grade_id, points, locked...) and nothing of ours.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from kms_teach import grading
from kms_teach.grading._nbgrader import nbgrader_notebook
from kms_teach.grading._source import BEGIN_HIDDEN, BEGIN_SOLUTION, END_HIDDEN, END_SOLUTION

ROOT = Path(__file__).resolve().parents[2]
NAME = "ex02_data_keys"
SOURCE = ROOT / "assignments" / f"{NAME}.py"


def _strip(text: str, begin: str, end: str, replacement: list[str]) -> str:
    out, inside = [], False
    for line in text.splitlines():
        if line.strip() == begin:
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out += [indent + r for r in replacement]
        elif line.strip() == end:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


def _nbgrader_release(assignment) -> nbformat.NotebookNode:
    nb = nbgrader_notebook(assignment)
    nb.metadata.pop("kms_teach", None)  # the worst case: nothing of ours survives, not even the name
    for cell in nb.cells:
        assert "kms_teach" not in cell.metadata
        if cell.metadata["nbgrader"]["solution"]:
            cell.source = _strip(cell.source, BEGIN_SOLUTION, END_SOLUTION,
                                 ["# YOUR CODE HERE", "raise NotImplementedError()"])
        cell.source = _strip(cell.source, BEGIN_HIDDEN, END_HIDDEN, [])
    return nb


def _solved(released, assignment) -> nbformat.NotebookNode:
    """The learner's work on the release: each answer cell holds the worked solution."""
    nb = copy.deepcopy(released)
    solutions = {f"{c.task}-answer": grading._source.solution_version(c.source)
                 for c in assignment.cells if c.role == "answer"}
    for cell in nb.cells:
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        if grade_id in solutions:
            cell.source = solutions[grade_id]
    return nb


def test_a_released_and_solved_nbgrader_notebook_grades_full_marks_and_the_untouched_one_zero(tmp_path):
    assignment = grading.load(SOURCE)
    released = _nbgrader_release(assignment)
    # nbgrader's layout: submitted/STUDENT/ASSIGNMENT/NOTEBOOK.ipynb
    alice = tmp_path / "submitted" / "alice" / NAME / f"{NAME}.ipynb"
    bob = tmp_path / "submitted" / "bob" / NAME / f"{NAME}.ipynb"
    for path, nb in ((alice, _solved(released, assignment)), (bob, released)):
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)
    reports = grading.grade_many([alice, bob], jobs=2, progress=False)
    full, none = reports
    assert (full.score, full.max_score) == (9, 9), full.text()
    assert "matched by nbgrader's grade_id" in " ".join(full.problems)
    assert f"graded as {NAME} (its file or folder name)" in " ".join(full.problems)
    assert not any("deleted" in p for p in full.problems), full.text()
    assert (none.score, none.max_score) == (0, 9), none.text()
    assert all(t.message.startswith("not answered yet") for t in none.tasks), none.text()


def test_answers_pasted_into_a_fresh_notebook_are_found_by_their_function_names(tmp_path):
    assignment = grading.load(SOURCE)
    answers = [grading._source.solution_version(c.source) for c in assignment.cells if c.role == "answer"]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("my homework"),
                nbformat.v4.new_code_cell("import os\nfrom cryptography.hazmat.primitives.ciphers.aead import AESGCM"),
                # out of order, and an earlier draft of t1 that the later one replaces
                nbformat.v4.new_code_cell(answers[1]),
                nbformat.v4.new_code_cell("def seal(kms, key_id, data):\n    return None\n"),
                nbformat.v4.new_code_cell(answers[0]),
                nbformat.v4.new_code_cell(answers[2])]
    path = tmp_path / "pasted.ipynb"
    nbformat.write(nb, path)
    unnamed = grading.grade(path)
    assert unnamed.score == 0 and "--assignment NAME" in " ".join(unnamed.problems)
    report = grading.grade(path, assignment=NAME)
    assert (report.score, report.max_score) == (9, 9), report.text()
    assert ("the answers were found by the functions they define (t1: cell 5, t2: cell 3, t3: cell 6); earlier "
            "definitions in cell(s) 4 were not run") in " ".join(report.problems), report.problems


def test_a_pasted_notebook_missing_an_answer_loses_that_task_only(tmp_path):
    assignment = grading.load(SOURCE)
    answers = [grading._source.solution_version(c.source) for c in assignment.cells if c.role == "answer"]
    # t1 and t2 in one cell: both found; t3 missing
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(answers[0] + "\n\n" + answers[1])]
    path = tmp_path / "pasted.ipynb"
    nbformat.write(nb, path)
    report = grading.grade(path, assignment=NAME)
    assert [t.passed for t in report.tasks] == [True, True, False], report.text()
    assert "the answer cell of task t3 was deleted" in " ".join(report.problems)


def test_our_own_labels_win_over_names_and_grade_ids(tmp_path):
    """A labelled notebook is graded as before: a cell the learner added with a grade_id of an answer
    (and the function of that answer) is an added cell of the last task, not task 2's answer."""
    solution = nbformat.read(ROOT / "solutions" / f"{NAME}.ipynb", as_version=4)
    nb = copy.deepcopy(solution)
    nb.cells.append(nbformat.v4.new_code_cell("def unseal(kms, sealed):\n    return b'forged'\n"))
    nb.cells[-1].metadata["nbgrader"] = {"grade_id": "t2-answer"}
    path = tmp_path / "labelled.ipynb"
    nbformat.write(nb, path)
    report = grading.grade(path)
    assert not any("grade_id" in p or "functions they define" in p for p in report.problems)
    assert report.tasks[1].passed, report.text()  # task 2's answer is still its labelled cell
    assert not any("appears 2 times" in p for p in report.problems)
