"""Quizzes: the bank covers the course notes, answers are checked with feedback, the engine decides
its questions, shuffles are per student, and saved answers are graded by kms-teach grade."""

from __future__ import annotations

import copy
import json

import nbformat
import pytest

from kms_teach import grading
from kms_teach.grading._quiz import ANSWERS_MIME, QuizError, check, load_bank, quiz_notebook

from ..test_course_map import NOTES_SECTIONS

from kms_teach.widgets import Quiz


@pytest.fixture(scope="module")
def bank():
    return load_bank("kms-exam")


# The notes misspell one heading; the bank shows learners the right spelling.
SPELLED = {"Key Polcies": "Key Policies"}


def test_the_bank_covers_every_section_of_the_course_notes_with_every_kind_of_question(bank):
    assert {q.topic for q in bank.questions} == {SPELLED.get(s, s) for s in NOTES_SECTIONS}
    assert {q.type for q in bank.questions} == {"single", "multiple", "numeric", "text", "engine"}
    assert len(bank.questions) >= 30


def test_answers_get_feedback_for_what_was_chosen(bank):
    fips = bank.question("fips")
    assert check(fips, "b").correct and "Level 2" in check(fips, "b").feedback
    wrong = check(fips, "c")
    assert not wrong.correct and "CloudHSM" in wrong.feedback
    assert check(bank.question("limit"), "4096").correct and check(bank.question("limit"), 4096.0).correct
    assert not check(bank.question("limit"), "a lot").correct  # not a number: says so
    assert "not a number of bytes" in check(bank.question("limit"), "a lot").feedback
    assert check(bank.question("cmk-name"), "  customer   MASTER key ").correct
    container = bank.question("container")
    partial = check(container, ["a", "b"])
    assert not partial.correct and "also true" in partial.feedback
    assert check(container, ["a", "b", "c", "e"]).correct
    assert not check(container, ["a", "b", "c", "d", "e"]).correct
    assert check(fips, None).feedback == "not answered"


def test_engine_questions_are_decided_by_the_permissions_engine(bank, tmp_path):
    high = bank.question("engine-high-security")
    assert {o.id: o.correct for o in high.options} == {"app": True, "keyadmin": False, "root": False}
    assert "no resource-based policy" in next(o for o in high.options if o.id == "root").feedback
    # Give the same question a policy that trusts the account: the engine, not the JSON, changes the answer.
    doc = json.loads(grading._quiz.BANK_DIR.joinpath("kms-exam.json").read_text())
    spec = copy.deepcopy(next(q for q in doc["questions"] if q["id"] == "engine-high-security"))
    spec["policy"]["Statement"].append({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::ACCOUNT:root"},
                                        "Action": "kms:*", "Resource": "*"})
    (tmp_path / "b.json").write_text(json.dumps({"bank": "b", "questions": [spec]}))
    changed = load_bank(str(tmp_path / "b.json")).question("engine-high-security")
    assert {o.id: o.correct for o in changed.options} == {"app": True, "keyadmin": True, "root": True}


def test_each_student_gets_an_order_of_their_own(bank):
    ada, ada_again, bob = bank.shuffled("ada"), bank.shuffled("ada"), bank.shuffled("bob")
    assert [q.id for q in ada] == [q.id for q in ada_again]
    assert [q.id for q in ada] != [q.id for q in bob]
    assert sorted(q.id for q in ada) == sorted(q.id for q in bank.questions)
    fips_ada = next(q for q in ada if q.id == "fips")
    assert sorted(o.id for o in fips_ada.options) == ["a", "b", "c", "d"]


@pytest.mark.parametrize("question, message", [
    ({"id": "x", "topic": "t", "prompt": "p", "type": "essay"}, "type must be one of"),
    ({"id": "x", "topic": "t", "prompt": "p", "type": "single",
      "options": [{"id": "a", "text": "A", "correct": True}, {"id": "b", "text": "B", "correct": True}]}, "exactly one"),
    ({"id": "x", "topic": "t", "prompt": "p", "type": "numeric", "answer": "many"}, "numeric answer"),
    ({"id": "x", "topic": "t", "prompt": "p", "type": "text"}, "lists the answers"),
    ({"id": "x", "prompt": "p", "type": "text", "accept": ["a"]}, "topic is missing"),
    ({"id": "x", "topic": "t", "prompt": "p", "type": "single",
      "options": [{"id": "a", "text": "A"}, {"id": "a", "text": "B", "correct": True}]}, "same id"),
])
def test_a_broken_bank_is_refused_with_the_reason(question, message, tmp_path):
    (tmp_path / "bad.json").write_text(json.dumps({"bank": "bad", "questions": [question]}))
    with pytest.raises(QuizError, match=message):
        load_bank(str(tmp_path / "bad.json"))
    with pytest.raises(QuizError, match="no quiz bank"):
        load_bank("no-such-bank")


def test_running_the_quiz_cell_again_brings_the_answers_back(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = Quiz("kms-exam", student="Ada L.", questions=["fips", "container", "limit"])
    first.answer("fips", "c")
    first.answer("container", ["a", "e"])
    first.answer("limit", " 4096 ")
    kept = tmp_path / ".kms-teach" / "quiz-kms-exam-ada-l.json"
    assert json.loads(kept.read_text())["answers"] == {"fips": "c", "container": ["a", "e"], "limit": "4096"}
    again = Quiz("kms-exam", student="Ada L.", questions=["fips", "container", "limit"])
    assert again.answers == first.answers and again.score == first.score == (1, 3)
    assert again.controls["fips"].value == "c" and again.controls["limit"].value == "4096"
    container = next(q for q in again.questions if q.id == "container")
    ticked = {o.id for o, box in zip(container.options, again.controls["container"].children) if box.value}
    assert ticked == {"a", "e"} and "Not quite" in again.feedback["fips"].value
    assert Quiz("kms-exam", student="Bob", questions=["fips"]).answers == {}  # someone else's file
    kept.write_text("{ not json")
    assert Quiz("kms-exam", student="Ada L.", questions=["fips"]).answers == {}  # unreadable: start afresh


def test_the_widget_records_checks_and_can_lock_answers(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    quiz = Quiz("kms-exam", student="ada", questions=["fips", "limit", "engine-context"], one_try=True)
    assert [q.id for q in quiz.questions] == [q.id for q in load_bank().shuffled("ada") if q.id in
                                               {"fips", "limit", "engine-context"}]
    quiz.controls["fips"].value = "b"
    quiz.check_buttons["fips"].click()
    assert quiz.verdicts["fips"].correct and quiz.feedback["fips"].value.count("Right") == 1
    assert "Right." in quiz.feedback["fips"].value
    assert quiz.check_buttons["fips"].disabled  # one try
    with pytest.raises(ValueError, match="one try"):
        quiz.answer("fips", "a")
    question = next(q for q in quiz.questions if q.id == "engine-context")
    reporter = [o.id for o in question.options].index("reporter")  # options are shuffled for ada
    quiz.controls["engine-context"].children[reporter].value = True  # the engine says no
    quiz.check_buttons["engine-context"].click()
    assert not quiz.verdicts["engine-context"].correct and "denied" in quiz.feedback["engine-context"].value
    assert quiz.score == (1, 3) and quiz.payload()["answers"] == {"fips": "b", "engine-context": ["reporter"]}
    assert "1/3 points" in quiz.text() and "FIPS 140-2 Level 2" in quiz.text()
    with pytest.raises(ValueError, match="no such questions"):
        Quiz("kms-exam", questions=["nope"])


def _submitted(answers: dict | None, bank: str = "kms-exam") -> nbformat.NotebookNode:
    nb = quiz_notebook(load_bank(), "student")
    if answers is not None:
        nb.cells[1].outputs = [nbformat.v4.new_output("display_data", data={
            ANSWERS_MIME: {"bank": bank, "student": "ada", "answers": answers}, "text/plain": "saved"})]
    return nb


def test_saved_answers_are_graded_against_the_bank(tmp_path):
    path = tmp_path / "ada.ipynb"
    nbformat.write(_submitted({"fips": "b", "limit": "4096", "container": ["a", "b"], "engine-context": ["admin"]}), path)
    r = grading.grade(path)
    by = {t.task: t for t in r.tasks}
    assert (r.assignment, r.score, r.max_score) == ("quiz_kms-exam", 3, 38)
    assert by["fips"].passed and by["engine-context"].passed and not by["container"].passed
    assert "also true" in by["container"].message and by["regional"].message == "not answered"


def test_a_quiz_without_saved_answers_or_for_another_bank_gets_zero_and_a_reason(tmp_path):
    nbformat.write(_submitted(None), tmp_path / "none.ipynb")
    r = grading.grade(tmp_path / "none.ipynb")
    assert r.score == 0 and r.max_score == 38 and "no saved quiz answers" in r.problems[0]
    nbformat.write(_submitted({"fips": "b"}, bank="other"), tmp_path / "other.ipynb")
    r = grading.grade(tmp_path / "other.ipynb")
    assert r.score == 0 and "for the bank 'other'" in r.problems[0]


@pytest.mark.parametrize("answers", [
    {"never-leave": [["a"]]}, {"never-leave": {"a": True}}, {"never-leave": [1, "zz"]}, {"limit": 10 ** 400},
    {"limit": float("nan")}, {"limit": True}, {"fips": ["b"]}, {"cmk-name": {"x": 1}}, ["a", "b"], "oops",
])
def test_saved_answers_of_any_shape_get_a_verdict_not_a_crash(answers, tmp_path):
    nb = quiz_notebook(load_bank(), "student")
    nb.cells[1].outputs = [nbformat.v4.new_output("display_data", data={
        ANSWERS_MIME: {"bank": "kms-exam", "answers": answers}, "text/plain": "saved"})]
    nbformat.write(nb, tmp_path / "odd.ipynb")
    r = grading.grade(tmp_path / "odd.ipynb")
    assert r.score == 0 and r.max_score == 38


def test_an_empty_choice_is_an_answer_for_multiple_choice(bank):
    assert check(bank.question("never-leave"), []).feedback.startswith("also true")
    assert check(bank.question("never-leave"), None).feedback == "not answered"


# ---------------------------------------------------------------------- two modes, and the bugs fixed

from kms_teach.widgets import _quiz as quiz_widget  # noqa: E402

ASSIGNMENTS = grading.default_assignments_dir()
EXAM = "kms-final"


@pytest.fixture(autouse=True)
def _no_one_try_record_between_tests():
    quiz_widget._CHECKED.clear()
    yield
    quiz_widget._CHECKED.clear()


@pytest.fixture(scope="module")
def exam_bank():
    return load_bank(EXAM, ASSIGNMENTS)


def _exam_questions(path) -> dict:
    """Run the locked cell of an exam notebook: the questions it holds."""
    nb = nbformat.read(path, as_version=4)
    ns: dict = {}
    exec(nb.cells[1].source, ns)
    return ns["EXAM"]


def test_an_exam_notebook_holds_questions_and_option_ids_but_no_key(exam_bank):
    path = grading.default_assignments_dir().parent / "exercises" / f"quiz_{EXAM}.ipynb"
    text = path.read_text(encoding="utf-8")
    spec = _exam_questions(path)
    assert [q["id"] for q in spec["questions"]] == [q.id for q in exam_bank.questions]
    for q in spec["questions"]:
        assert not {"correct", "answer", "accept", "feedback", "feedback_right", "feedback_wrong", "tolerance"} & set(q)
        for o in q.get("options", []):
            assert set(o) == {"id", "text"}
    for q in exam_bank.questions:  # nothing that tells the right answer, anywhere in the file
        for secret in [q.feedback_right, q.feedback_wrong, *q.accept, *(o.feedback for o in q.options)]:
            assert not secret or secret not in text, secret
    assert '"correct"' not in text and nbformat.read(path, as_version=4).metadata["kms_teach"]["mode"] == "exam"


def test_an_exam_records_answers_without_checking_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = ASSIGNMENTS.parent / "exercises" / f"quiz_{EXAM}.ipynb"
    quiz = Quiz.exam(_exam_questions(path), student="ada")
    assert quiz.mode == "exam" and quiz.answer("exam-reencrypt", "b") is None
    assert quiz.verdicts == {} and "recorded" in quiz.feedback["exam-reencrypt"].value
    assert "Right" not in quiz.feedback["exam-reencrypt"].value and "points so far" not in quiz.summary.value
    assert quiz.check_buttons["exam-reencrypt"].description == "Save answer"
    assert quiz.payload()["mode"] == "exam" and quiz.payload()["answers"] == {"exam-reencrypt": "b"}


def _saved_exam(answers: dict) -> nbformat.NotebookNode:
    nb = quiz_notebook(load_bank(EXAM, ASSIGNMENTS), "student")
    nb.cells[2].outputs = [nbformat.v4.new_output("display_data", data={
        ANSWERS_MIME: {"bank": EXAM, "mode": "exam", "student": "ada", "answers": answers}, "text/plain": "saved"})]
    return nb


def test_kms_teach_grade_scores_an_exam_against_the_instructor_s_key(tmp_path, exam_bank):
    right = {}
    for q in exam_bank.questions:
        if q.type == "single":
            right[q.id] = next(o.id for o in q.options if o.correct)
        elif q.multiple:
            right[q.id] = [o.id for o in q.options if o.correct]
        elif q.type == "numeric":
            right[q.id] = str(q.answer)
        else:
            right[q.id] = q.accept[0]
    nbformat.write(_saved_exam(right), tmp_path / "ada.ipynb")
    r = grading.grade(tmp_path / "ada.ipynb")
    assert (r.assignment, r.score, r.max_score) == (f"quiz_{EXAM}", exam_bank.total_points, exam_bank.total_points)
    wrong = dict(right, **{"exam-reencrypt": "a", "exam-rotation-min": "365"})
    nbformat.write(_saved_exam(wrong), tmp_path / "bob.ipynb")
    r = grading.grade(tmp_path / "bob.ipynb")
    assert r.score == exam_bank.total_points - 2
    # The key is the instructor's: without the assignments folder, there is nothing to grade against.
    r = grading.grade(tmp_path / "bob.ipynb", assignments_dir=tmp_path)
    assert r.score == 0 and "no quiz bank" in r.problems[0]


def test_an_exam_bank_is_refused_in_the_package(tmp_path, monkeypatch):
    monkeypatch.setattr(grading._quiz, "BANK_DIR", tmp_path)
    (tmp_path / "leaky.json").write_text(json.dumps({"bank": "leaky", "mode": "exam", "questions": []}))
    with pytest.raises(QuizError, match="must not ship in the package"):
        load_bank("leaky")


def test_a_quiz_on_a_subset_of_the_bank_is_graded_on_that_subset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    picked = ["fips", "limit", "regional", "container", "rotation-default"]
    quiz = Quiz("kms-exam", student="ada", questions=picked)
    bank = load_bank()
    for q in bank.questions:
        if q.id in picked:
            quiz.answer(q.id, next(o.id for o in q.options if o.correct) if q.type == "single" else
                        [o.id for o in q.options if o.correct] if q.multiple else str(q.answer))
    assert quiz.score == (5, 5)
    nb = quiz_notebook(bank, "student")
    nb.cells[1].outputs = [nbformat.v4.new_output("display_data", data={ANSWERS_MIME: quiz.payload(),
                                                                          "text/plain": "saved"})]
    nbformat.write(nb, tmp_path / "ada.ipynb")
    r = grading.grade(tmp_path / "ada.ipynb")
    assert (r.score, r.max_score) == (5, 5) and any("the 5 questions this quiz asked" in p for p in r.problems)


def test_one_try_is_not_bypassed_by_typing_another_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = Quiz("kms-exam", student="ada", questions=["fips", "limit"], one_try=True)
    first.answer("fips", "c")  # wrong, and now the learner knows it
    again = Quiz("kms-exam", student="somebody else", questions=["fips", "limit"], one_try=True)
    assert again.answers == {"fips": "c"} and again.check_buttons["fips"].disabled
    with pytest.raises(ValueError, match="one try"):
        again.answer("fips", "b")
    assert again.payload()["answers"]["fips"] == "c"


def test_a_shared_lab_account_does_not_hand_one_student_s_answers_to_the_next(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for anonymous in (None, "YOUR NAME", "  "):  # nothing kept for a quiz without a name
        quiz = Quiz("kms-exam", student=anonymous, questions=["fips"])
        quiz.answer("fips", "b")
        assert quiz.keep_path is None and "Put your name" in quiz.summary.value
    assert not (tmp_path / ".kms-teach").exists()
    assert Quiz("kms-exam", student=None, questions=["fips"]).answers == {}
    mine = Quiz("kms-exam", student="Ada L.", questions=["fips"])
    mine.answer("fips", "b")
    lookalike = Quiz("kms-exam", student="ada-l", questions=["fips"])  # the same file name, another student
    assert lookalike.answers == {} and lookalike.restored == ""
    back = Quiz("kms-exam", student="Ada L.", questions=["fips"])
    assert back.answers == {"fips": "b"} and "Brought back 1 answer saved for Ada L." in back.summary.value


# ---------------------------------------------------------------------- the bank's questions as learners meet them

@pytest.mark.parametrize("answer", ["4096", "4,096", "4 096", " 4096 ", "4096 bytes", "4 KB", "4KB", "4 kb", "4 KiB",
                                    "4096.0", 4096])
def test_numeric_answers_accept_the_usual_spellings_of_the_number(bank, answer):
    assert check(bank.question("limit"), answer).correct, answer


@pytest.mark.parametrize("qid, answer, right", [
    ("deletion-min", "7 days", True), ("deletion-min", "1 week", True), ("deletion-min", "7d", True),
    ("deletion-max", "30 Days", True), ("deletion-min", "7 bytes", False), ("limit", "4 MB", False),
    ("limit", "4097", False), ("limit", "40,96", False), ("limit", True, False),
])
def test_numeric_answers_read_units_and_refuse_the_wrong_ones(bank, qid, answer, right):
    assert check(bank.question(qid), answer).correct is right, (qid, answer)


@pytest.mark.parametrize("qid, answer", [
    ("s3-deks", "object"), ("s3-deks", "Objects"), ("s3-deks", "S3 object"), ("s3-deks", " object. "),
    ("cmk-name", "Customer Master Key"), ("cmk-name", "customer-master-key"), ("cmk-name", "\"customer master key\""),
    ("cli-base64", "Base64"), ("cli-base64", "base 64"), ("cli-base64", "BASE-64"),
])
def test_text_answers_accept_the_usual_spellings(bank, qid, answer):
    assert check(bank.question(qid), answer).correct, (qid, answer)
    assert not check(bank.question(qid), "bucket").correct


def test_the_exam_bank_s_numbers_and_words_accept_the_usual_spellings(exam_bank):
    assert check(exam_bank.question("exam-rotation-min"), "90 days").correct
    assert check(exam_bank.question("exam-rotation-max"), "2,560").correct
    assert check(exam_bank.question("exam-hmac-spec"), "hmac-256").correct


def _engine_ids(b) -> list[str]:
    return [q.id for q in b.questions if q.type == "engine"]


@pytest.mark.parametrize("mode", ["practice", "exam"])
def test_every_engine_question_shows_its_policy(bank, mode, tmp_path, monkeypatch):
    """A question about "the key policy shown" shows it: every statement of it, in the widget (practice and exam)."""
    from kms_teach.grading._quiz import exam_spec

    monkeypatch.chdir(tmp_path)
    engine = _engine_ids(bank)
    assert len(engine) >= 4
    quiz = Quiz("kms-exam", questions=engine) if mode == "practice" else Quiz.exam(exam_spec(bank))
    for qid in engine:
        raw = bank.raw[qid]
        assert "policy shown" in raw["prompt"] or "shown below" in raw["prompt"], raw["prompt"]
        row = next(w for w in quiz.widget.children if f"kms-teach-quiz-{qid}" in getattr(w, "_dom_classes", ()))
        html = row.children[0].value
        assert "kms-teach-quiz-policy" in html, qid
        for statement in raw["policy"]["Statement"]:
            principal = json.dumps(statement["Principal"]["AWS"]).replace("ACCOUNT", "111122223333")
            assert principal.strip('"') in html.replace("&quot;", '"'), (qid, principal)
            assert json.dumps(statement["Effect"]) in html.replace("&quot;", '"')
        if raw.get("encryption_context"):
            assert "encryption context" in html
        text = quiz.text()
        assert all(s.get("Sid", "") in text for s in raw["policy"]["Statement"])


def test_a_right_answer_says_right_once_whatever_its_feedback(bank, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    singles = [q.id for q in bank.questions if q.type == "single"]
    quiz = Quiz("kms-exam", questions=singles + ["limit", "cmk-name"])
    for q in quiz.questions:
        if q.type == "single":
            quiz.answer(q.id, next(o.id for o in q.options if o.correct))
    quiz.answer("limit", "4 KB")
    quiz.answer("cmk-name", "Customer Master Key")
    for q in quiz.questions:
        shown = quiz.feedback[q.id].value
        assert quiz.verdicts[q.id].correct and shown.count("Right") == 1, (q.id, shown)
