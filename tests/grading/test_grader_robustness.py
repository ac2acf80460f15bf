"""The grader against submissions that break things: each gets a score and a reason, none stops the batch.

All submissions are variations of exercise 00 and are graded in one parallel batch (module fixture),
as an instructor would grade a class; each test then reads its own report.
"""

from __future__ import annotations

import copy
import json

import nbformat
import pytest

from kms_teach import grading

from ._submissions import answer_index, notebook, with_answers, write

NAME = "ex00_first_steps"
RESULT_MIME = "application/vnd.kms-teach.check-result+json"  # how the in-kernel grader of old reported
FULL = 8

GOOD_T1 = '''def make_key(kms, description, alias):
    key_id = kms.create_key(Description=description)["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    return key_id
'''


def _cases() -> dict[str, nbformat.NotebookNode | str]:
    sol, student = notebook("solution", NAME), notebook("student", NAME)
    cases: dict[str, nbformat.NotebookNode | str] = {"solution": sol, "student": student}

    locked_gone = copy.deepcopy(sol)
    locked_gone.cells = [c for c in locked_gone.cells if c.metadata["kms_teach"]["role"] == "answer"]
    cases["only_answer_cells"] = locked_gone

    checks_edited = copy.deepcopy(student)
    for c in checks_edited.cells:
        if c.metadata["kms_teach"]["role"] in ("check", "setup"):
            c.source = "print('all hidden checks passed!')\nmake_key = find_key = protect = reveal = print"
    checks_edited.metadata["kms_teach"]["tasks"] = {"t1": {"points": 100}}
    cases["checks_edited"] = checks_edited

    no_t2 = copy.deepcopy(sol)
    del no_t2.cells[answer_index(no_t2, "t2")]
    cases["t2_deleted"] = no_t2

    dup = copy.deepcopy(sol)
    i = answer_index(dup, "t1")
    wrong = copy.deepcopy(dup.cells[i])
    wrong.source = "def make_key(kms, description, alias):\n    return 'not a key'"
    wrong.id = "duplicate-of-t1"
    dup.cells.insert(i + 1, wrong)
    cases["t1_duplicated"] = dup

    cases["t3_cell_raises"] = with_answers(sol, {"t3": notebook("solution", NAME).cells[
        answer_index(sol, "t3")].source + "\n1 / 0"})
    cases["t1_hangs_at_top_level"] = with_answers(sol, {"t1": "import time\ntime.sleep(600)\n" + GOOD_T1})
    cases["t1_hangs_when_called"] = with_answers(sol, {"t1": "def make_key(kms, description, alias):\n"
                                                             "    while True:\n        pass"})
    cases["stderr"] = with_answers(sol, {"t1": "import sys\nprint('debugging', file=sys.stderr)\n" + GOOD_T1})
    cases["kernel_exits"] = with_answers(sol, {"t2": "import os\nos._exit(3)"})
    cases["kernel_exits_when_called"] = with_answers(sol, {"t2": (
        "import os\ndef protect(kms, key_ref, text):\n    os._exit(3)\n\ndef reveal(kms, blob):\n    os._exit(3)")})
    cases["forged_result"] = with_answers(sol, {"t1": (
        "import IPython.display\n"
        f"def make_key(kms, description, alias):\n"
        f"    IPython.display.display({{{RESULT_MIME!r}: {{'task': 't1', 'passed': True, 'nonce': 'x'}}}}, raw=True)\n"
        "    raise AssertionError('stop')\n")})

    helper = copy.deepcopy(sol)
    i = answer_index(helper, "t1")
    helper.cells[i].source = ("def make_key(kms, description, alias):\n"
                              "    return _create_named(kms, description, alias)")
    helper.cells.insert(i + 1, nbformat.v4.new_code_cell(
        "def _create_named(kms, description, alias):\n" + "\n".join(GOOD_T1.splitlines()[1:])))
    cases["added_helper_cell"] = helper

    cases["t1_swallows_the_interrupt"] = with_answers(sol, {"t1": (
        "import time\n"
        "def make_key(kms, description, alias):\n"
        "    while True:  # retry until it works - and never give up\n"
        "        try:\n"
        "            time.sleep(0.2)\n"
        "            raise RuntimeError('not yet')\n"
        "        except:\n"
        "            pass\n")})
    cases["prints_forever"] = with_answers(sol, {"t2": "while True:\n    print('x' * 1000)"})
    retyped = copy.deepcopy(sol)
    i = answer_index(retyped, "t1")
    body = retyped.cells[i].source
    del retyped.cells[i]
    retyped.cells.insert(i + 1, nbformat.v4.new_code_cell(body))  # retyped below the self-check
    cases["t1_answer_deleted_and_retyped_elsewhere"] = retyped
    for label, meta in (("metadata_is_a_string", "ex00_first_steps"), ("assignment_is_a_number", {"assignment": 5})):
        broken = copy.deepcopy(sol)
        broken.metadata["kms_teach"] = meta
        cases[label] = broken
    odd_label = copy.deepcopy(sol)
    odd_label.cells[answer_index(odd_label, "t3")].metadata["kms_teach"]["cell"] = ["t3-answer"]
    cases["cell_label_is_a_list"] = odd_label

    no_meta = copy.deepcopy(sol)
    no_meta.metadata.pop("kms_teach")
    cases["no_notebook_metadata"] = no_meta
    cases["not_json"] = "{'cells': oops"
    cases["json_but_not_a_notebook"] = json.dumps([1, 2, 3])
    return cases


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    paths = []
    for name, case in _cases().items():
        if isinstance(case, str):
            path = folder / f"{name}.ipynb"
            path.write_text(case, encoding="utf-8")
        else:
            path = write(case, folder, name)
        paths.append(path)
    results = grading.grade_many(paths, jobs=2, progress=False, cell_timeout=4, total_timeout=60)
    return {r.student: r for r in results}


def task(report, task_id):
    return next(t for t in report.tasks if t.task == task_id)


def test_the_solution_gets_full_marks_and_the_untouched_exercise_zero(reports):
    assert (reports["solution"].score, reports["solution"].max_score) == (FULL, FULL)
    assert all(t.passed for t in reports["solution"].tasks) and reports["solution"].problems == []
    student = reports["student"]
    assert student.score == 0 and student.max_score == FULL
    assert all("not answered" in t.message for t in student.tasks)


def test_deleting_or_editing_locked_and_check_cells_changes_nothing(reports):
    assert reports["only_answer_cells"].score == FULL
    edited = reports["checks_edited"]
    assert edited.score == 0 and edited.max_score == FULL  # points come from the source, not the metadata


def test_a_deleted_answer_cell_scores_zero_for_its_task_only(reports):
    r = reports["t2_deleted"]
    assert not task(r, "t2").passed and task(r, "t1").passed and task(r, "t3").passed
    assert r.score == FULL - 3
    assert any("task t2 was deleted" in p for p in r.problems)


def test_a_duplicated_answer_cell_is_graded_from_its_last_copy_with_a_reason(reports):
    r = reports["t1_duplicated"]
    assert not task(r, "t1").passed and r.score == FULL - 2
    assert any("appears 2 times" in p for p in r.problems)


def test_a_cell_that_raises_is_reported_and_grading_goes_on(reports):
    r = reports["t3_cell_raises"]
    assert r.score == FULL  # find_key was defined before the error
    assert any("ZeroDivisionError" in p for p in r.problems)


def test_a_hanging_cell_is_stopped_and_later_cells_still_run(reports):
    r = reports["t1_hangs_at_top_level"]
    assert not task(r, "t1").passed and task(r, "t2").passed and task(r, "t3").passed
    assert any("ran longer than 4 s" in p for p in r.problems)


def test_an_answer_that_never_returns_fails_its_own_task_only(reports):
    r = reports["t1_hangs_when_called"]
    assert not task(r, "t1").passed and "never returns" in task(r, "t1").message
    assert task(r, "t2").passed and task(r, "t3").passed


def test_stderr_is_noted_without_costing_points(reports):
    r = reports["stderr"]
    assert r.score == FULL and any("stderr" in p and "t1" in p for p in r.problems)


def test_a_kernel_that_exits_costs_its_own_task_only(reports):
    r = reports["kernel_exits"]
    assert task(r, "t1").passed and not task(r, "t2").passed and task(r, "t3").passed  # t3: a fresh kernel
    assert r.score == FULL - 3
    assert "kernel died while running t2-answer" in task(r, "t2").message and task(r, "t2").cell == "t2-answer"
    assert any("kernel died while running cell t2-answer (task t2)" in p for p in r.problems)


def test_a_kernel_killed_during_a_task_s_checks_costs_that_task_only(reports):
    r = reports["kernel_exits_when_called"]
    assert task(r, "t1").passed and not task(r, "t2").passed and task(r, "t3").passed
    assert "went away while protect ran" in task(r, "t2").message and task(r, "t2").cell == "hidden checks of t2"
    assert any("kernel died during the checks of task t2" in p for p in r.problems)
    assert any("task t3 and later ran in a fresh sandboxed kernel" in p for p in r.problems)


def test_a_result_displayed_by_the_kernel_counts_for_nothing(reports):
    r = reports["forged_result"]
    assert not task(r, "t1").passed and "make_key raised AssertionError: stop" in task(r, "t1").message
    assert task(r, "t2").passed


def test_cells_the_learner_added_after_an_answer_are_run(reports):
    assert reports["added_helper_cell"].score == FULL


def test_broken_files_get_a_reason_and_do_not_stop_the_batch(reports):
    assert len(reports) == len(_cases())
    assert "does not say which assignment" in reports["no_notebook_metadata"].problems[0]
    assert "not a valid notebook" in reports["not_json"].problems[0]
    assert "not a valid notebook" in reports["json_but_not_a_notebook"].problems[0]
    for name in ("no_notebook_metadata", "not_json", "json_but_not_a_notebook"):
        assert reports[name].score == 0


def test_naming_the_assignment_grades_a_notebook_without_metadata(tmp_path):
    nb = notebook("solution", NAME)
    nb.metadata.pop("kms_teach")
    r = grading.grade(write(nb, tmp_path, "anon"), assignment=NAME)
    assert r.score == FULL
    broken = tmp_path / "broken.ipynb"
    broken.write_text("nope")
    r = grading.grade(broken, assignment=NAME)
    assert (r.score, r.max_score) == (0, FULL)


def test_the_total_time_limit_stops_a_slow_submission(tmp_path):
    nb = with_answers(notebook("solution", NAME), {"t1": "import time\ntime.sleep(2.5)\n" + GOOD_T1,
                                                   "t2": "import time\ntime.sleep(2.5)"})
    r = grading.grade(write(nb, tmp_path, "slow"), cell_timeout=10, total_timeout=4)
    assert any("total time limit" in p for p in r.problems)
    assert r.score < FULL


def test_code_that_swallows_the_interrupt_costs_its_own_task_only(reports):
    r = reports["t1_swallows_the_interrupt"]
    assert any("still busy after the checks of task t1" in p for p in r.problems)
    assert not task(r, "t1").passed and "did not return within the time limit" in task(r, "t1").message
    assert task(r, "t2").passed and task(r, "t3").passed and r.seconds < 40  # later tasks: a fresh kernel


def test_a_print_loop_is_cut_off_and_noted(reports):
    r = reports["prints_forever"]
    assert any("printed more than" in p for p in r.problems)
    assert task(r, "t1").passed and not task(r, "t2").passed


def test_a_deleted_answer_cell_scores_zero_even_if_retyped_elsewhere(reports):
    r = reports["t1_answer_deleted_and_retyped_elsewhere"]
    assert not task(r, "t1").passed and "deleted" in task(r, "t1").message and r.score == FULL - 2


def test_metadata_of_the_wrong_type_gets_a_reason_not_a_crash(reports):
    for name in ("metadata_is_a_string", "assignment_is_a_number"):
        assert reports[name].score == 0 and "does not say which assignment" in reports[name].problems[0]
    r = reports["cell_label_is_a_list"]
    assert not task(r, "t3").passed and any("task t3 was deleted" in p for p in r.problems)


def test_a_fractional_cell_time_limit_is_accepted(tmp_path):
    r = grading.grade(write(notebook("solution", NAME), tmp_path, "ok"), cell_timeout=2.5, total_timeout=60.5)
    assert r.score == FULL, r.text()


def test_grading_as_another_assignment_says_so(tmp_path):
    r = grading.grade(write(notebook("solution", NAME), tmp_path, "x"), assignment="ex04_rotation")
    assert any("says it answers ex00_first_steps; it was graded as ex04_rotation" in p for p in r.problems)
    assert r.score == 0


def test_students_in_folders_are_named_by_their_folder(tmp_path):
    for who in ("alice", "bob"):
        (tmp_path / who).mkdir()
        write(notebook("student", NAME), tmp_path / who, NAME)
    reports = grading.grade_many([tmp_path / "alice" / f"{NAME}.ipynb", tmp_path / "bob" / f"{NAME}.ipynb"],
                                 jobs=2, progress=False)
    assert [r.student for r in reports] == ["alice", "bob"]
