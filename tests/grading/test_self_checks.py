"""The one-line self-checks: a pass for the worked answer, "not answered" for the exercise as handed
out, and feedback aimed at the misconception behind the common wrong answers.

They run in-process here (exec of the assignment's own cells), as they would in the learner's kernel.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path

import pytest

from kms_teach import grading
from kms_teach.grading._source import solution_version, student_version, without_hidden


ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENTS = [p.stem for p in grading.discover(ROOT / "assignments")[0]]


def _run(name: str, kind: str, replace: dict[str, str] | None = None, tmp_path: Path | None = None) -> dict[str, str]:
    """{task: what its self-check printed} for the student or solution version (answers replaced)."""
    a = grading.load(ROOT / "assignments" / f"{name}.py")
    ns: dict = {"__name__": "__main__"}
    printed: dict[str, str] = {}
    here, temp = os.getcwd(), tempfile.tempdir
    if tmp_path:
        os.chdir(tmp_path)
        tempfile.tempdir = str(tmp_path)  # what a wrong answer leaves in "/tmp" stays in the test's folder
    try:
        for cell in a.cells:
            if cell.role == "setup":
                exec(cell.source, ns)
            elif cell.role == "answer":
                code = (replace or {}).get(cell.task) or (
                    solution_version(cell.source) if kind == "solution" else student_version(cell.source, cell.task))
                exec(code, ns)
            elif cell.role == "check":
                out = io.StringIO()
                with contextlib.redirect_stdout(out):
                    exec(without_hidden(cell.source), ns)
                printed[cell.task] = out.getvalue()
    finally:
        os.chdir(here)
        tempfile.tempdir = temp
    return printed


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_the_worked_answer_passes_every_self_check_and_says_hidden_checks_follow(name, tmp_path):
    for task, text in _run(name, "solution", tmp_path=tmp_path).items():
        assert text.startswith(f"[ok] Task {task[1:]}: self-check passed."), (task, text)
        assert "hidden checks run when your notebook is graded" in text


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_the_handed_out_exercise_says_not_answered_yet(name, tmp_path):
    for task, text in _run(name, "student", tmp_path=tmp_path).items():
        assert text.startswith(f"[ ] Task {task[1:]}: not answered yet"), (task, text)


# (assignment, task, label of a wrong answer in assignments/NAME.wrong.py, words the feedback must contain)
MISCONCEPTIONS = [
    ("ex00_first_steps", "t2", "identity 'encryption'", "that is not encryption"),
    ("ex00_first_steps", "t2", "returns base64 text of the blob", "not base64"),
    ("ex00_first_steps", "t1", "returns the ARN", "return the key ID"),
    ("ex00_first_steps", "t3", "reads only the first page of ListKeys", "100 keys a page"),
    ("ex01_encrypt_decrypt", "t1", "no encryption context", "decrypts without any encryption context"),
    ("ex01_encrypt_decrypt", "t2", "no encryption context", "same encryption context"),
    ("ex01_encrypt_decrypt", "t3", "a key policy statement for Principal *", 'Principal "*"'),
    ("ex01_encrypt_decrypt", "t3", "a grant without a constraint", "constrain the permission by encryption context"),
    ("ex02_data_keys", "t1", "sends the data to Encrypt", "more than 4096 bytes"),
    ("ex02_data_keys", "t1", "keeps the plaintext data key as 'encrypted_key'", "holds the plaintext data key"),
    ("ex02_data_keys", "t3", "a plaintext data key next to the file", "plaintext data key is on disk"),
    ("ex02_data_keys", "t3", "the data key in base64 in a JSON file", "plaintext data key is on disk"),
    ("ex02_data_keys", "t3", "the whole file sent to Encrypt", "more than 4096 bytes"),
    ("ex02_data_keys", "t3", "the plaintext data key kept in /tmp", "plaintext data key is on disk"),
    ("ex03_key_policies", "t1", "administrators get kms:*", "administrator may Decrypt"),
    ("ex03_key_policies", "t1", "users are Principal *", 'Principal "*"'),
    ("ex03_key_policies", "t2", "returns the policy unchanged", "root user"),
    ("ex03_key_policies", "t2", "allows everyone everything", 'Principal "*"'),
    ("ex03_key_policies", "t3", "still trusts the account", "has no statement for arn:aws:iam::ACCOUNT:root"),
    ("ex04_rotation", "t1", "rotates once, now", "RotateKeyOnDemand rotates once"),
    ("ex04_rotation", "t2", "the current backing key", "current backing key"),
    ("ex04_rotation", "t3", "Decrypt then Encrypt", "the plaintext came out of KMS"),
    ("ex04_rotation", "t3", "returns the blobs unchanged (rotation re-encrypts, does it not?)", "rotation never re-encrypts"),
    ("ex05_key_ownership", "t1", "every key, AWS managed too", "KeyManager is AWS"),
    ("ex05_key_ownership", "t1", "reads only the first page of ListKeys", "100 keys a page"),
    ("ex05_key_ownership", "t1", "tells them apart by the description", "KeyManager says who manages a key"),
    ("ex05_key_ownership", "t2", "SSE-S3 (an AWS owned key)", "AWS owned key"),
    ("ex05_key_ownership", "t2", "returns the alias, not the key ARN", "return the key ARN"),
    ("ex05_key_ownership", "t3", "hard-codes us-east-1", "kms:ViaService condition"),
    ("ex05_key_ownership", "t3", "never looks at KeyManager", "return None when KeyManager is CUSTOMER"),
    ("ex06_key_types", "t1", "a verifier that always says yes", "accepted a changed message"),
    ("ex06_key_types", "t2", "a wrong tag crashes", "catch it and return False"),
    ("ex06_key_types", "t3", "never expires", "does not expire at valid_to"),
    ("ex07_audit_trail", "t1", "counts refused calls too", "skip refused calls"),
    ("ex07_audit_trail", "t1", "reads only the first page", "a page at a time"),
    ("ex07_audit_trail", "t2", "newest first, as lookup_events gives them", "oldest first"),
    ("ex07_audit_trail", "t3", "ignores the time window", "between start and end"),
]


@pytest.mark.parametrize("name, task, label, words", MISCONCEPTIONS)
def test_a_common_mistake_gets_feedback_aimed_at_it(name, task, label, words, tmp_path):
    code = next(w.code for w in grading.load_wrong_answers(ROOT / "assignments" / f"{name}.py")
                if w.task == task and w.label == label)
    text = _run(name, "solution", {task: code}, tmp_path=tmp_path)[task]
    assert text.startswith(f"[x] Task {task[1:]}:"), text
    assert words in text, text


def test_a_self_check_cell_shows_only_its_line_no_true_or_false_echo():
    """In a real kernel, as JupyterLab runs it: the check's line, and no ``Out[n]: True``/``False`` under it."""
    import nbclient
    import nbformat

    cells = ["from kms_teach.exercises import ex00 as check\ncheck.t1(lambda *a: 1/0)",
             "check.t1(lambda kms, d, a: kms.create_key(Description=d)['KeyMetadata']['KeyId'])",
             "bool(check.t1(lambda *a: 1/0)), bool(_)"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    first, second, third = (c.outputs for c in nb.cells)
    assert [o["output_type"] for o in first] == ["stream"], first
    assert first[0]["text"] == "[x] Task 1: your code raised ZeroDivisionError: division by zero\n"
    assert [o["output_type"] for o in second] == ["stream"] and second[0]["text"].startswith("[x] Task 1:"), second
    # the verdict is still there for code that asks: false when the check failed
    assert third[-1]["output_type"] == "execute_result" and third[-1]["data"]["text/plain"] == "(False, False)"


# ---------------------------------------------------------------------- self-checks and hidden checks agree

BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def _hidden(name: str, replace: dict[str, str], tmp_path: Path) -> dict[str, str | None]:
    """{task: None if its hidden checks passed, else why} - run in-process on the learner's functions, as the
    checker runs them at grading (minus the sandbox), with the worked answers where ``replace`` has none."""
    import tempfile as _tempfile

    from kms_teach import exercises

    a = grading.load(ROOT / "assignments" / f"{name}.py")
    ns: dict = {"__name__": "__main__"}
    verdicts: dict[str, str | None] = {}
    work, tmp = tmp_path / "work", tmp_path / "tmp"
    work.mkdir()
    tmp.mkdir()
    here, temp = os.getcwd(), _tempfile.tempdir
    os.chdir(work)
    _tempfile.tempdir = str(tmp)  # the learner's "/tmp", which the checks search as at grading
    exercises.set_work_root(work, tmp)
    try:
        for cell in a.cells:
            if cell.role == "setup":
                with contextlib.redirect_stdout(io.StringIO()):
                    exec(cell.source, ns)
            elif cell.role == "answer":
                exec(replace.get(cell.task) or solution_version(cell.source), ns)
            elif cell.role == "check" and BEGIN_HIDDEN in cell.source:
                try:
                    exec(cell.source.split(BEGIN_HIDDEN, 1)[1].split(END_HIDDEN, 1)[0], ns)
                    verdicts[cell.task] = None
                except Exception as exc:
                    verdicts[cell.task] = f"{type(exc).__name__}: {exc}"
    finally:
        os.chdir(here)
        _tempfile.tempdir = temp
        exercises.set_work_root(None)
    return verdicts


def _answers(name: str):
    """(label, task or None for the worked answer, code, right?) for the solution, the instructor's wrong
    answers beside the source and the right answers written another way (tests/grading/right_answers.py)."""
    from .right_answers import RIGHT

    yield "the worked answer", None, None, True
    for w in grading.load_wrong_answers(ROOT / "assignments" / f"{name}.py"):
        yield w.label, w.task, w.code, False
    for task, answers in RIGHT.get(name, {}).items():
        for label, code in answers:
            yield label, task, code, True


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_self_checks_and_hidden_checks_agree_on_every_kept_answer(name, tmp_path):
    """A self-check never rejects what the grader accepts (learners would "fix" a right answer), and it catches
    every kept wrong answer the grader catches, so passing it is a real signal; right answers written another
    way (JSON text, Principal "*" with aws:PrincipalArn, ...) pass both."""
    disagreements = []
    for i, (label, task, code, right) in enumerate(_answers(name)):
        replace = {task: code} if task else {}
        said = _run(name, "solution", replace, tmp_path=_mkdir(tmp_path / f"self-{i}"))
        hidden = _hidden(name, replace, _mkdir(tmp_path / f"hidden-{i}"))
        for t in [task] if task else sorted(hidden):
            self_ok, hidden_ok = said[t].startswith("[ok]"), hidden[t] is None
            if (self_ok, hidden_ok) != (right, right):
                disagreements.append(f"{t} {label!r}: self-check {said[t].strip()[:160]!r}; hidden checks: "
                                     f"{hidden[t] or 'passed'}")
    assert not disagreements, "\n".join(disagreements)


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_every_hidden_check_says_what_to_look_at_when_it_fails(name):
    """Every assert of a hidden check has a message (a failing task reports it), and so does every AssertionError
    raised; a bare assert would leave the learner with "AssertionError" and nothing to look at."""
    import ast

    a = grading.load(ROOT / "assignments" / f"{name}.py")
    blocks = [c.source.split(BEGIN_HIDDEN, 1)[1].split(END_HIDDEN, 1)[0] for c in a.cells
              if c.role == "check" and BEGIN_HIDDEN in c.source]
    assert blocks
    silent = []
    for block in blocks:
        for node in ast.walk(ast.parse(block)):
            if isinstance(node, ast.Assert) and node.msg is None:
                silent.append(ast.unparse(node)[:100])
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and \
                    getattr(node.exc.func, "id", "") == "AssertionError" and not node.exc.args:
                silent.append(ast.unparse(node)[:100])
    assert not silent, silent
