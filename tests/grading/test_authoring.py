"""Authoring an assignment: `kms-teach assign --validate` catches weak or broken hidden checks, the
parser points at the right line with a readable reason, files that look like sources are named,
names of the visible check code exist at grading, self-checks live beside the source, and the
project's own tests keep working when an instructor adds an assignment."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from kms_teach import grading
from kms_teach.grading import SourceError
from kms_teach.grading._source import parse

from . import test_assignments

ROOT = Path(__file__).resolve().parents[2]

# A small assignment: a visible name (`sample`) that the hidden tests use, a task whose untouched
# exercise would pass a weak check (sign(0) is 0 without an answer), and self-checks beside it.
DEMO = '''# ---
# assignment: ex90_numbers
# title: Numbers
# ---
# %% [markdown]
# # Numbers
#
# Two small functions.
# %% [setup]
import math
# %% [answer t1]
def double(x):
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION
# %% [check t1 points=2 "Doubling"]
sample = 21
check_double(double)
### BEGIN HIDDEN TESTS
assert double(sample) == 42, "double(21) is not 42"
assert double(-3) == -6, "double(-3) is not -6"
### END HIDDEN TESTS
# %% [answer t2]
def sign(x):
    if x > 0:
        ### BEGIN SOLUTION
        return 1
        ### END SOLUTION
    ### BEGIN SOLUTION
    if x < 0:
        return -1
    ### END SOLUTION
    return 0
# %% [check t2 points=1 "Sign"]
### BEGIN HIDDEN TESTS
assert sign(5) == 1 and sign(-2) == -1 and sign(0) == 0, "sign is wrong"
### END HIDDEN TESTS
'''

DEMO_WRONG = '''# Wrong answers for ex90_numbers.
# %% [wrong t1 "adds two"]
def double(x):
    return x + 2

# %% [wrong t2 "no negative numbers"]
def sign(x):
    return 1 if x > 0 else 0
'''

DEMO_CHECKS = '''def check_double(double):
    """Task 1's self-check: one line, never raises."""
    try:
        ok = double(5) == 10
    except NotImplementedError:
        print("[ ] Task 1: not answered yet")
        return False
    print("[ok] Task 1: self-check passed." if ok else "[x] Task 1: double(5) should be 10")
    return ok
'''


def _folder(tmp_path: Path, source: str = DEMO, wrong: str | None = DEMO_WRONG, checks: str | None = DEMO_CHECKS,
            name: str = "ex90_numbers") -> Path:
    folder = tmp_path / "assignments"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.py").write_text(source.replace("ex90_numbers", name))
    if wrong is not None:
        (folder / f"{name}.wrong.py").write_text(wrong.replace("ex90_numbers", name))
    if checks is not None:
        (folder / f"{name}.checks.py").write_text(checks)
    return folder


def _assign(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "kms_teach", "assign", *args], capture_output=True, text=True,
                          timeout=600, cwd=cwd)


@pytest.fixture(scope="module")
def demo_validation(tmp_path_factory):
    """One folder, one batch: a good assignment, and three broken the ways an instructor breaks them."""
    tmp = tmp_path_factory.mktemp("authoring")
    folder = _folder(tmp)
    _folder(tmp, DEMO.replace("double(sample) == 42", "double(sampel) == 42"), name="ex91_typo")
    _folder(tmp, DEMO.replace("sign(-2) == -1 and ", ""), wrong=DEMO_WRONG, name="ex92_weak")
    _folder(tmp, DEMO.replace("    ### BEGIN SOLUTION\n    if x < 0:\n        return -1\n    ### END SOLUTION\n",
                              "    if x < 0:\n        return -1\n").replace("sign(5) == 1 and ", ""), name="ex93_leaky")
    (folder / "Ex94 notes.py").write_text("# ---\n# assignment: ex94_notes\n# ---\n# %% [markdown]\n# hi\n")
    (folder / "ex95_gone.wrong.py").write_text(DEMO_WRONG)
    result = _assign("--validate", "--assignments", str(folder), "--jobs", "2")
    return folder, result


def test_validate_passes_a_good_assignment_and_records_its_cell_limit(demo_validation):
    folder, result = demo_validation
    assert "ex90_numbers: cell limit 10 s" in result.stdout, result.stdout
    assert not [line for line in result.stdout.splitlines() if "FAILED" in line and "ex90_numbers" in line]
    limits = grading._grader.recorded_cell_limits(folder)
    assert limits["ex90_numbers"]["cell_timeout"] == 10 and limits["ex90_numbers"]["slowest_seconds"] < 1
    assert grading._grader.recorded_cell_timeout(folder, "ex90_numbers") == 10


def test_validate_reports_a_typo_in_a_hidden_check(demo_validation):
    _, result = demo_validation
    assert result.returncode == 1
    assert "ex91_typo.py: the worked solution gets 1/3, not full marks (t1 0/2: NameError: name 'sampel' is " \
           "not defined)" in result.stdout, result.stdout


def test_validate_reports_a_wrong_answer_that_passes_and_where_it_is(demo_validation):
    _, result = demo_validation
    assert "ex92_weak.wrong.py:6: the wrong answer 'no negative numbers' for t2 gets 1/1: the hidden checks " \
           "of t2 let it through" in result.stdout, result.stdout
    assert "ex92_weak.wrong.py:2" not in result.stdout  # its t1 wrong answer is caught


def test_validate_reports_an_exercise_that_scores_without_an_answer(demo_validation):
    _, result = demo_validation
    assert "ex93_leaky.py: the untouched exercise gets 1/3, not 0: t2 (1/1) score(s) without an answer" \
           in result.stdout, result.stdout


def test_validate_warns_of_files_that_look_like_sources_and_of_orphans(demo_validation):
    _, result = demo_validation
    assert "warning:" in result.stdout
    assert "Ex94 notes.py: looks like an assignment source, but only files named like ex02_data_keys.py" \
           in result.stdout
    assert "rename it to ex94_notes.py" in result.stdout
    assert "ex95_gone.wrong.py: there is no assignment source ex95_gone.py for it" in result.stdout


def test_assign_validates_by_default_and_fails_on_a_bad_assignment(tmp_path):
    folder = _folder(tmp_path, DEMO.replace("sign(-2) == -1 and ", ""))
    result = _assign("--assignments", str(folder), "--jobs", "1")
    assert (tmp_path / "exercises" / "ex90_numbers.ipynb").exists()  # written, then validated
    assert result.returncode == 1, result.stdout + result.stderr
    assert "the wrong answer 'no negative numbers' for t2 gets 1/1" in result.stdout
    assert _assign("--no-validate", "--assignments", str(folder)).returncode == 0


def test_names_of_the_visible_check_code_exist_at_grading_and_self_checks_live_beside_the_source(tmp_path):
    folder = _folder(tmp_path)
    assignment = grading.load(folder / "ex90_numbers.py")
    solution = assignment.notebook("solution")
    first_code = solution.cells[1]
    assert first_code.metadata["kms_teach"]["cell"] == "self-checks" and "def check_double" in first_code.source
    assert first_code.metadata["editable"] is False
    path = tmp_path / "sub.ipynb"
    nbformat.write(solution, path)
    report = grading.grade(path, assignments_dir=folder, sandbox=False)
    assert report.score == 3, report.text()  # `sample` (visible part) was there for the hidden tests
    # The self-check in the visible part is for the learner: it does not run at grading.
    assert report.problems == [], report.text()


def test_an_instructors_new_assignment_keeps_the_projects_own_tests_working(tmp_path):
    """Copy the project's folder (one assignment of it, to keep this quick), add one with its wrong
    answers beside it: validate passes, and the logic of test_assignments holds."""
    folder = tmp_path / "assignments"
    folder.mkdir()
    for name in ("ex00_first_steps.py", "ex00_first_steps.wrong.py"):
        shutil.copy(ROOT / "assignments" / name, folder / name)
    _folder(tmp_path, name="ex08_numbers")
    assert test_assignments.missing_wrong_answers(folder) == []
    assert grading.discover(folder)[1] == []
    result = grading.validate(folder, jobs=2, record=False)
    assert result.ok, result.text()
    assert result.assignments == ["ex00_first_steps", "ex08_numbers"]
    assert test_assignments.failures_of(result, "ex08_numbers") == []
    # Without its wrong answers the project's rule names it.
    (folder / "ex08_numbers.wrong.py").unlink()
    assert test_assignments.missing_wrong_answers(folder) == ["ex08_numbers t1", "ex08_numbers t2"]


# ---------------------------------------------------------------------- the parser's messages


def _error(text: str) -> str:
    with pytest.raises(SourceError) as info:
        parse(text, Path("ex90_numbers.py"))
    return str(info.value)


def test_a_blank_line_in_a_markdown_cell_is_a_paragraph_break():
    a = parse(DEMO.replace("#\n# Two small", "\n# Two small"), Path("ex90_numbers.py"))
    assert a.cells[0].source == "# Numbers\n\nTwo small functions."


def test_a_stray_line_in_a_markdown_cell_is_reported_at_its_line_with_a_reason():
    message = _error(DEMO.replace("# Two small functions.", "Two small functions."))
    assert message == ("ex90_numbers.py:8: the lines of a markdown cell are comments ('# text', or '#' for a blank "
                       "line), not 'Two small functions.'; start a code cell before it ('# %% [setup]') if it is code")


def test_jupytexts_plain_cell_marker_is_refused_with_its_fix():
    message = _error(DEMO.replace("# %% [setup]", "# %%"))
    assert message.startswith("ex90_numbers.py:9: '# %%' is a plain jupytext code cell, which has no role here: "
                              "write '# %% [setup]'"), message
    assert _error(DEMO.replace("# %% [setup]", "# %% [setup] tags=[]")).startswith("ex90_numbers.py:9: ")
    assert "one space" in _error(DEMO.replace("# %% [setup]", "#%% [setup]"))
    # jupytext's own markdown marker and its short form are understood
    assert parse(DEMO.replace("# %% [markdown]", "# %% [md]"), Path("ex90_numbers.py")).cells[0].role == "markdown"


@pytest.mark.parametrize("change, line, words", [
    (("    return 2 * x\n", "    return 2 * x)\n"), 14, "unmatched ')'"),
    (('assert double(-3) == -6, "double(-3) is not -6"\n', 'assert double(-3) == -6, "double(-3) is not -6\n'), 21,
     "unterminated string"),
    (("[check t2", "[check t3"), 34, "task t3 has a check cell but no answer cell ('# %% [answer t3]')"),
    (("[answer t2]", "[answer t2 extra]"), 23, "an answer cell takes only its task"),
    (("[answer t2]\n", "[answer t3]\n", 1), 34, "task t2 has a check cell but no answer cell"),
    (("    ### END SOLUTION\n    return 0", "    return 0"), 29, "BEGIN SOLUTION is never closed"),
])
def test_parser_errors_point_at_the_right_line(change, line, words):
    message = _error(DEMO.replace(*change))
    assert message.startswith(f"ex90_numbers.py:{line}: "), message
    assert words in message


def test_wrong_answer_files_are_checked_too(tmp_path):
    folder = _folder(tmp_path, wrong=DEMO_WRONG.replace("return x + 2", "return x +"))
    with pytest.raises(SourceError, match=r"ex90_numbers.wrong.py:4: invalid syntax"):
        grading.load_wrong_answers(folder / "ex90_numbers.py")
    folder = _folder(tmp_path, wrong=DEMO_WRONG.replace("[wrong t2", "[wrong t7"))
    with pytest.raises(SourceError, match=r"ex90_numbers.wrong.py:6: ex90_numbers has no task t7"):
        grading.load_wrong_answers(folder / "ex90_numbers.py", grading.load(folder / "ex90_numbers.py"))
    folder = _folder(tmp_path, wrong=DEMO_WRONG.replace('[wrong t1 "adds two"]', "[wrong t1]"))
    with pytest.raises(SourceError, match=r'ex90_numbers.wrong.py:2: a wrong answer starts with: # %% \[wrong t1'):
        grading.load_wrong_answers(folder / "ex90_numbers.py")


def test_generate_and_release_read_sources_only(tmp_path):
    folder = _folder(tmp_path)
    assert sorted(Path(p).name for p in grading.generate(folder, banks=[])) == ["ex90_numbers.ipynb"] * 2
    written = grading.release(tmp_path / "out", assignments_dir=folder, root=ROOT)
    names = {p.name for p in written}
    assert "ex90_numbers.ipynb" in names and not any("wrong" in n for n in names)
