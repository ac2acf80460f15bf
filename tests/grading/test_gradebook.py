"""The gradebook file, the roster and the late policy, without grading anything (fast)."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from kms_teach.grading import _batch, _gradebook, _roster
from kms_teach.grading._gradebook import Entry, Gradebook, GradebookError, LatePolicy


def row(student, assignment="ex00_first_steps", score="8", **more):
    return Entry({"student": student, "assignment": assignment, "status": "graded", "t1": score, "score": score,
                  "max_score": "8", "final_score": score, **more}, {"tasks": [], "score": int(score or 0)})


def read(path):
    return list(csv.DictReader(open(path, encoding="utf-8")))


def test_regrading_one_student_replaces_that_row_and_keeps_every_other(tmp_path):
    book = Gradebook(tmp_path / "gradebook.csv")
    book.update([row(f"s{i:02d}", score=str(i % 9)) for i in range(36)])
    before = read(book.path)
    assert len(before) == 36
    book.update([row("s07", score="0")])
    after = read(book.path)
    assert len(after) == 36
    assert [r for r in after if r["student"] != "s07"] == [r for r in before if r["student"] != "s07"]
    assert next(r for r in after if r["student"] == "s07")["score"] == "0"
    details = json.loads(book.details_path.read_text())
    assert len(details["entries"]) == 36
    assert next(d for d in details["entries"] if d["student"] == "s07")["score"] == 0


def test_a_student_has_one_row_per_assignment(tmp_path):
    book = Gradebook(tmp_path / "g.csv")
    book.update([row("ana"), row("ana", "ex02_data_keys", "5")])
    book.update([row("ana", "ex02_data_keys", "9")])
    assert [(r["student"], r["assignment"], r["score"]) for r in read(book.path)] == [
        ("ana", "ex00_first_steps", "8"), ("ana", "ex02_data_keys", "9")]


def test_columns_the_instructor_added_by_hand_survive_regrading(tmp_path):
    book = Gradebook(tmp_path / "g.csv")
    book.update([row("ana"), row("ben")])
    rows = read(book.path)
    columns = list(rows[0]) + ["comment"]
    for r in rows:
        r["comment"] = f"seen {r['student']}"
    with open(book.path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, columns)
        w.writeheader()
        w.writerows(rows)
    book.update([row("ana", score="3")])
    got = {r["student"]: r for r in read(book.path)}
    assert got["ana"]["comment"] == "seen ana" and got["ana"]["score"] == "3"
    assert got["ben"]["comment"] == "seen ben"
    assert list(got["ana"])[-1] == "comment"


def test_a_failed_write_leaves_the_previous_gradebook_whole(tmp_path, monkeypatch):
    book = Gradebook(tmp_path / "g.csv")
    book.update([row("ana"), row("ben")])
    before = book.path.read_bytes()

    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_gradebook.os, "replace", no_space)
    with pytest.raises(GradebookError, match="No space left"):
        book.update([row("cy")])
    assert book.path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []  # no temporary file left


def test_two_graders_writing_one_gradebook_take_turns_and_lose_nothing(tmp_path):
    path = tmp_path / "g.csv"

    def grader(prefix):
        for i in range(15):
            Gradebook(path).update([row(f"{prefix}{i:02d}")])

    threads = [threading.Thread(target=grader, args=(p,)) for p in "abc"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(read(path)) == 45
    assert len(json.loads(Gradebook(path).details_path.read_text())["entries"]) == 45


def test_a_file_that_is_not_a_gradebook_is_refused_not_overwritten(tmp_path):
    path = tmp_path / "grades.csv"
    path.write_text("name,mark\nana,7\n")
    with pytest.raises(GradebookError, match="not a kms-teach gradebook"):
        Gradebook(path).update([row("ana")])
    assert path.read_text() == "name,mark\nana,7\n"


# ---------------------------------------------------------------------- roster


def test_a_roster_maps_folders_files_and_emails_to_students(tmp_path):
    roster_path = tmp_path / "roster.csv"
    roster_path.write_text("\ufeffStudent ID;Name;Email Address;Section\n"  # Excel's BOM and semicolons
                           "1001;Ana Lima;ana.lima@uni.example;A\n1002;Ben Okafor;bokafor@uni.example;B\n"
                           "1003;Ike Turner;ike@uni.example;B\n", encoding="utf-8")
    roster = _roster.load_roster(roster_path)
    root = tmp_path / "class"
    (root / "ike").mkdir(parents=True)
    assert roster.match(root / "1001.ipynb", root)[0].name == "Ana Lima"
    assert roster.match(root / "bokafor_ex02_data_keys.ipynb", root)[0].student_id == "1002"
    assert roster.match(root / "ike" / "ex02_data_keys.ipynb", root)[0].student_id == "1003"
    # graded alone, the file in its student's folder is still that student's
    assert roster.match(root / "ike" / "ex02_data_keys.ipynb", None)[0].student_id == "1003"
    who, why = roster.match(root / "zed.ipynb", root)
    assert who is None and "not on the roster" in why and "'zed'" in why
    assert roster.get("1002").section == "B"


@pytest.mark.parametrize("text, message", [
    ("name,email\nAna,a@x\n", "no student id column"),
    ("id,name\n7,Ana\n7,Ben\n", "on line 2 already"),
    ("id,name\n,Ana\n", "the student id is empty"),
    ("id,submitted_at\n7,yesterday\n", "not a date and time"),
    ("id,submitted_at\n7,2026-12-04\n", r"roster.csv:2: '2026-12-04' is a day without a time; give the time too"),
    ("", "the roster is empty"),
])
def test_a_broken_roster_is_refused_with_its_line(tmp_path, text, message):
    path = tmp_path / "roster.csv"
    path.write_text(text)
    with pytest.raises(_roster.RosterError, match=message):
        _roster.load_roster(path)


def test_without_a_roster_the_folder_below_the_class_names_the_student(tmp_path):
    root = tmp_path / "class"
    assert _batch.default_student(root / "ike" / "ex03_key_policies.ipynb", root, None) == "ike"
    assert _batch.default_student(root / "ana.ipynb", root, "ex03_key_policies") == "ana"
    # graded alone from its folder, a file named after the assignment is its folder's student's
    assert _batch.default_student(root / "ike" / "ex03_key_policies.ipynb", None, "ex03_key_policies") == "ike"


def test_discovery_is_recursive_and_says_what_it_left_out(tmp_path):
    root = tmp_path / "class"
    for name in ("ana.ipynb", "ike/ex03_key_policies.ipynb", "ike/.ipynb_checkpoints/ex03-checkpoint.ipynb",
                 "notes.txt", ".DS_Store", "joe/sub/answers.py"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("{}")
    found, skipped = _batch.discover([root])
    assert sorted(str(s.path.relative_to(root)) for s in found) == ["ana.ipynb", "ike/ex03_key_policies.ipynb"]
    reasons = {str(Path(s.path).relative_to(root)): s.reason for s in skipped}
    assert "checkpoint" in reasons["ike/.ipynb_checkpoints/ex03-checkpoint.ipynb"]
    assert "hidden" in reasons[".DS_Store"] and "not a notebook (.txt" in reasons["notes.txt"]
    assert "not a notebook (.py" in reasons["joe/sub/answers.py"]


def test_an_earlier_submission_of_the_same_student_is_left_out_and_listed(tmp_path):
    root = tmp_path / "class"
    (root / "ana").mkdir(parents=True)
    old, new = root / "ana" / "first.ipynb", root / "ana" / "second.ipynb"
    for p in (old, new):
        p.write_text(json.dumps({"cells": [], "metadata": {"kms_teach": {"assignment": "ex00_first_steps"}}}))
    os.utime(old, (1_000_000, 1_000_000))
    subs, _ = _batch.discover([root])
    skipped = _batch._who(subs, None, None)
    assert [s.path for s in subs] == [new]
    assert len(skipped) == 1 and skipped[0].path == str(old) and "earlier submission of ana" in skipped[0].reason


# ---------------------------------------------------------------------- late policy


def test_points_off_per_day_or_part_of_a_day_never_below_zero():
    due = datetime(2026, 12, 1, 23, 59, tzinfo=timezone.utc)
    policy = LatePolicy.parse(due, "2")
    assert policy.days_late(due) == 0 and policy.days_late(due - timedelta(days=3)) == 0
    assert policy.days_late(due + timedelta(minutes=1)) == 1
    assert policy.days_late(due + timedelta(days=1, seconds=1)) == 2
    assert policy.penalty(2, 10) == 4
    share = LatePolicy.parse(due, "10%/day")
    assert share.penalty(3, 8) == 2.4
    for bad in ("ten", "-1", "120%", "nan"):
        with pytest.raises(GradebookError):
            LatePolicy.parse(due, bad)


def test_the_late_penalty_is_applied_from_the_roster_time_or_the_file_time(tmp_path):
    from kms_teach.grading import CheckResult, Report, TaskResult

    sub_path = tmp_path / "ana.ipynb"
    sub_path.write_text(json.dumps({"cells": [], "metadata": {}}))
    due = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
    os.utime(sub_path, ((due + timedelta(hours=30)).timestamp(),) * 2)  # 2 days late by the file
    report = Report(str(sub_path), "ex00_first_steps", score=7, max_score=8,
                    tasks=[TaskResult("t1", "T", 7, 8, False, "no", [CheckResult("c", False, 7, 8, "no")])])
    student = _roster.Student("7", "Ana", submitted_at=due + timedelta(hours=1))  # 1 day late by the roster
    sub = _batch.Submission(sub_path, None, "7", student)
    by_file = _batch.entry_for(sub, report, late=LatePolicy.parse(due, "1", "mtime"), now=0)
    assert (by_file.row["late_days"], by_file.row["late_penalty"], by_file.row["final_score"]) == ("2", "2", "5")
    by_roster = _batch.entry_for(sub, report, late=LatePolicy.parse(due, "1", "auto"), now=0)
    assert (by_roster.row["late_days"], by_roster.row["final_score"], by_roster.row["score"]) == ("1", "6", "7")
    assert "1 day late: -1" in by_roster.row["notes"]


# ---------------------------------------------------------------------- LMS export


def _class_book(tmp_path):
    book = Gradebook(tmp_path / "g.csv")
    book.update([
        row("1001", name="Ana Lima", email="Ana.Lima@uni.example", section="A", score="8", final_score="6.4"),
        Entry({"student": "1002", "name": "Ben, Jr. Okafor", "email": "ben@uni.example", "assignment": "ex00_first_steps",
               "status": "unreadable", "max_score": "8", "notes": "not a valid notebook"}, {}),
        Entry({"student": "1003", "name": "Cy", "email": "", "assignment": "ex00_first_steps", "status": "missing",
               "max_score": "8"}, {}),
        row("1001", "ex02_data_keys", "9"),
    ])
    return book


def test_canvas_export_has_canvas_columns_points_possible_and_blank_for_ungraded(tmp_path):
    from kms_teach.grading import _export

    book = _class_book(tmp_path)
    with pytest.raises(GradebookError, match="holds 2 assignments"):
        _export.export(book, "canvas", tmp_path / "c.csv")
    done = _export.export(book, "canvas", tmp_path / "c.csv", assignment="ex00_first_steps",
                          column="First steps (4711)")
    lines = list(csv.reader(open(tmp_path / "c.csv", newline="", encoding="utf-8")))
    assert lines[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "First steps (4711)"]
    assert lines[1] == ["Points Possible", "", "", "", "", "8"]
    assert lines[2:] == [["Ana Lima", "", "1001", "", "A", "6.4"], ["Ben, Jr. Okafor", "", "1002", "", "", ""],
                         ["Cy", "", "1003", "", "", ""]]
    assert (done.rows, done.blank) == (3, 2) and "1002" in done.warnings[0]
    raw = _export.export(book, "canvas", tmp_path / "r.csv", assignment="ex00_first_steps", final=False)
    assert list(csv.reader(open(tmp_path / "r.csv")))[2][-1] == "8" and raw.blank == 2


def test_moodle_export_has_moodle_user_fields_a_grade_and_its_feedback(tmp_path):
    from kms_teach.grading import _export

    book = _class_book(tmp_path)
    done = _export.export(book, "moodle", tmp_path / "m.csv", assignment="ex00_first_steps")
    lines = list(csv.DictReader(open(tmp_path / "m.csv", newline="", encoding="utf-8")))
    assert list(lines[0]) == ["First name", "Last name", "ID number", "Email address", "ex00_first_steps",
                              "Feedback: ex00_first_steps"]
    ana = lines[0]
    assert (ana["First name"], ana["Last name"], ana["Email address"], ana["ex00_first_steps"]) == (
        "Ana", "Lima", "Ana.Lima@uni.example", "6.4")  # Moodle matches emails case-sensitively: as given
    assert lines[1]["ex00_first_steps"] == "" and "could not be read" in lines[1]["Feedback: ex00_first_steps"]
    assert lines[2]["Feedback: ex00_first_steps"] == "Nothing handed in."
    assert any("1003 has no email" in w for w in done.warnings)


# ---------------------------------------------------------------------- feedback


def _graded_entry(student="../../etc/ana", answer="def f():\n    return '<script>alert(1)</script>'\n"):
    from kms_teach.grading import CheckResult, Report, TaskResult

    report = Report("ana.ipynb", "ex02_data_keys", score=3, max_score=9, tasks=[
        TaskResult("t1", "Seal a file", 3, 3, True, "", [CheckResult("seals", True, 3, 3, "")]),
        TaskResult("t2", "Open it", 0, 6, False, "sent more than 4 KB to Encrypt", [
            CheckResult("uses a data key", False, 0, 4, "sent more than 4 KB to Encrypt"),
            CheckResult("round trip", False, 0, 2, "the plaintext differs")], cell="hidden checks of t2")])
    details = {**report.to_dict(), "status": "graded", "answers": {"t1-answer": "x = 1\n", "t2-answer": answer},
               "late": {"days": 1, "penalty": 1, "policy": "due 2026-12-01T23:59; 1 points off per day late"}}
    return Entry({"student": student, "name": "Ana <b>Lima</b>", "email": "", "assignment": "ex02_data_keys",
                  "status": "graded", "score": "3", "final_score": "2", "max_score": "9", "graded_at": "now"}, details)


def test_feedback_shows_each_tasks_points_each_checks_reason_and_the_failing_cell_escaped(tmp_path):
    from kms_teach.grading import _feedback

    book = Gradebook(tmp_path / "g.csv")
    book.update([_graded_entry()])
    paths = _feedback.write_feedback(book, tmp_path / "out")
    # A student id cannot write outside OUT; changed to be a file name, it carries a digest of itself.
    stem = "etc_ana-" + hashlib.sha256(b"../../etc/ana").hexdigest()[:10] + "-ex02_data_keys"
    assert sorted(p.name for p in paths) == [f"{stem}.html", f"{stem}.md"]
    assert all(p.parent == tmp_path / "out" for p in paths)
    page = (tmp_path / "out" / f"{stem}.html").read_text()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Ana &lt;b&gt;Lima&lt;/b&gt;" in page
    assert "sent more than 4 KB to Encrypt" in page and "the plaintext differs" in page
    assert "0 / 4" in page and "3 / 3" in page and "1 day late" in page
    md = (tmp_path / "out" / f"{stem}.md").read_text()
    assert "**Score: 2 / 9**" in md and "The hidden checks of t2 failed on your answer cell:" in md
    assert "```python\ndef f():" in md and "✗ uses a data key (0/4): sent more than 4 KB to Encrypt" in md
    assert "x = 1" not in md  # a task that passed shows no code


def test_feedback_for_an_unreadable_file_says_so_and_asks_for_it_again(tmp_path):
    from kms_teach.grading import _feedback

    book = Gradebook(tmp_path / "g.csv")
    book.update([Entry({"student": "cy", "assignment": "ex02_data_keys", "status": "unreadable", "max_score": "9"},
                       {"status": "unreadable", "tasks": [], "problems": ["not a valid notebook (JSON)"]})])
    _feedback.write_feedback(book, tmp_path / "out", students=["cy"])
    md = (tmp_path / "out" / "cy-ex02_data_keys.md").read_text()
    assert "could not be read as a notebook" in md and "Score" not in md
    with pytest.raises(GradebookError, match="no row for zed"):
        _feedback.write_feedback(book, tmp_path / "out", students=["zed"])


# ---------------------------------------------------------------------- class report


def _quiz_entry(student, right):
    from kms_teach.grading import CheckResult, Report, TaskResult

    tasks = [TaskResult(q, f"Question {q}?", 1 if ok else 0, 1, ok, "" if ok else "a KMS key never leaves KMS",
                        [CheckResult(q, ok, 1 if ok else 0, 1, "" if ok else "a KMS key never leaves KMS")])
             for q, ok in right.items()]
    report = Report(f"{student}.ipynb", "quiz_kms-exam", score=sum(right.values()), max_score=len(right), tasks=tasks)
    return Entry({"student": student, "assignment": "quiz_kms-exam", "status": "graded",
                  "score": str(report.score), "final_score": str(report.score), "max_score": str(len(right))},
                 {**report.to_dict(), "status": "graded", "answers": {}, "self_checks": []})


def test_the_report_gives_each_quiz_questions_pass_rate_and_the_reasons_counted(tmp_path):
    from kms_teach.grading import _report

    book = Gradebook(tmp_path / "g.csv")
    book.update([_quiz_entry("a", {"q1": True, "q2": False}), _quiz_entry("b", {"q1": True, "q2": False}),
                 _quiz_entry("c", {"q1": False, "q2": True}),
                 Entry({"student": "d", "assignment": "quiz_kms-exam", "status": "missing", "max_score": "2"}, {})])
    stats, = _report.analyse(book, assignments_dir=tmp_path)
    assert stats.quiz and stats.counts == {"graded": 3, "missing": 1}
    assert [(t.task, t.passed, t.graded) for t in stats.tasks] == [("q1", 2, 3), ("q2", 1, 3)]
    assert [(m.task, m.text, m.students) for m in stats.misconceptions] == [
        ("q2", "a KMS key never leaves KMS", 2), ("q1", "a KMS key never leaves KMS", 1)]
    page = _report.page([stats], {})
    assert "Pass rate of each question" in page and "Not compared for a quiz" in page
    assert "<td class='warn'>missing</td>" in page


def test_normalising_answers_ignores_comments_layout_and_local_names_but_not_the_api():
    from kms_teach.grading._report import normalise

    a = "def seal(kms, key_id, data):\n    dk = kms.generate_data_key(KeyId=key_id, KeySpec='AES_256')\n    return dk\n"
    b = ("def seal(client, k, payload):  # mine\n\n    data_key = client.generate_data_key(KeyId=k, "
         "KeySpec='AES_256')\n    return data_key\n")
    c = a.replace("generate_data_key", "encrypt")
    assert normalise(a) == normalise(b)
    assert normalise(a) != normalise(c)
    assert normalise("def f(:\n  x") == ["def", "f(:", "x"]  # does not tokenise: words


def test_the_longest_name_that_is_a_students_decides(tmp_path):
    roster_path = tmp_path / "roster.csv"
    roster_path.write_text("student_id,name,email\n1001,Ana Lima,ana.lima@uni.example\n1002,Ana Ng,ana@uni.example\n")
    roster = _roster.load_roster(roster_path)
    assert roster.match(tmp_path / "ana.lima_ex02_data_keys.ipynb", tmp_path)[0].student_id == "1001"
    assert roster.match(tmp_path / "ana_ex02_data_keys.ipynb", tmp_path)[0].student_id == "1002"
    ambiguous = tmp_path / "r2.csv"
    ambiguous.write_text("student_id,name,folder\n1,A,kim\n2,B,kim\n")
    who, why = _roster.load_roster(ambiguous).match(tmp_path / "kim.ipynb", tmp_path)
    assert who is None and "'kim' matches several students" in why


def test_reasons_are_counted_as_the_class_shares_them():
    from kms_teach.grading._report import _clean

    a = _clean("seal raised ClientError: An error occurred (ValidationException) when calling the Encrypt "
               "operation: 1 validation error detected")
    assert a == "seal raised ValidationException from Encrypt: 1 validation error detected"
    assert _clean("no grant for 1234abcd-12ab-34cd-56ef-1234567890ab") == _clean(
        "no grant for 0987abcd-12ab-34cd-56ef-1234567890ff")


def test_a_file_name_cannot_put_a_spreadsheet_formula_in_the_gradebook(tmp_path):
    assert _batch.default_student(tmp_path / '=HYPERLINK("x","y").ipynb', tmp_path, None) == 'HYPERLINK("x","y")'
    assert _batch.default_student(tmp_path / "@SUM(1).ipynb", tmp_path, None) == "SUM(1)"
    assert _batch.default_student(tmp_path / "+-=.ipynb", tmp_path, None) == "student"


def test_the_details_keep_a_bounded_copy_of_the_learners_cells(tmp_path):
    cells = [{"cell_type": "code", "source": "x = 1\n" * 10_000, "metadata": {"kms_teach": {"cell": "t1-answer",
                                                                                           "role": "answer"}}}]
    cells += [{"cell_type": "code", "source": "pass", "metadata": {}} for _ in range(500)]
    path = tmp_path / "big.ipynb"
    path.write_text(json.dumps({"cells": cells, "metadata": {}}))
    answers, _ = _batch.learner_cells(path)
    assert len(answers) == _batch.MAX_CELLS_KEPT
    assert len(answers["t1-answer"]) < _batch.MAX_CELL_KEPT + 100 and "more characters not kept" in answers["t1-answer"]
    assert "added-after-t1-answer-0" in answers


def test_the_self_checks_complaints_saved_in_a_notebook_are_counted_as_misconceptions(tmp_path):
    from kms_teach.grading import _report

    def notebook(student, complaint):
        cells = [{"cell_type": "code", "source": "def f(): pass", "outputs": [],
                  "metadata": {"kms_teach": {"cell": "t2-answer", "role": "answer", "task": "t2"}}},
                 {"cell_type": "code", "source": "check_t2(f)", "metadata": {"kms_teach": {"cell": "t2-check",
                                                                                          "role": "check"}},
                  "outputs": [{"output_type": "stream", "name": "stdout", "text": [f"[x] t2: {complaint}\n",
                                                                                   "[ok] t1\n"]}]}]
        path = tmp_path / f"{student}.ipynb"
        path.write_text(json.dumps({"cells": cells, "metadata": {}}))
        return _batch.learner_cells(path)

    book = Gradebook(tmp_path / "g.csv")
    entries = []
    for student, complaint in (("a", "that is everyone"), ("b", "that is everyone"), ("c", "no grant")):
        answers, said = notebook(student, complaint)
        assert answers == {"t2-answer": "def f(): pass"} and said == [f"[x] t2: {complaint}"]
        e = row(student)
        e.details = {"tasks": [], "answers": answers, "self_checks": said}
        entries.append(e)
    book.update(entries)
    stats, = _report.analyse(book, assignments_dir=tmp_path)
    assert [(m.text, m.source, m.students) for m in stats.misconceptions] == [
        ("that is everyone", "self-check", 2), ("no grant", "self-check", 1)]


def test_a_regrade_that_forgets_the_late_policy_is_warned_about():
    due = datetime(2026, 12, 1, tzinfo=timezone.utc)
    policy = LatePolicy.parse(due, "10%")
    old = row("ana")
    old.details["late"] = {"days": 2, "penalty": 1.6, "policy": policy.describe()}
    before = {old.key: old.details}
    assert _batch._policy_changes([row("ana")], before, policy) == []
    warned, = _batch._policy_changes([row("ana")], before, None)
    assert "ana" in warned and "10% of the maximum" in warned and "now [none]" in warned
    assert _batch._policy_changes([row("ben")], before, None) == []  # a first grade: nothing to compare


# ---------------------------------------------------------------------- grade_class, with a stand-in grader


def _fake_grade(path, **options):
    from kms_teach.grading import CheckResult, Report, TaskResult

    text = Path(path).read_text()
    report = Report(str(path), options.get("assignment"), max_score=3)
    if not text.startswith("{"):
        report.problems.append("not a valid notebook (JSON): broken")
        return report
    ok = "good" in text
    report.tasks = [TaskResult("t1", "T", 3 if ok else 0, 3, ok, "" if ok else "wrong",
                               [CheckResult("c", ok, 3 if ok else 0, 3, "" if ok else "wrong")])]
    report.score = 3 if ok else 0
    return report


def _class_folder(tmp_path, names):
    folder = tmp_path / "class"
    folder.mkdir(exist_ok=True)
    for name, body in names.items():
        (folder / f"{name}.ipynb").write_text(body)
    return folder


def test_a_batch_interrupted_halfway_keeps_what_it_graded(tmp_path, monkeypatch):
    import time

    started = []

    def grade(path, **options):
        started.append(Path(path).stem)
        time.sleep(0.1)
        return _fake_grade(path, **options)

    def progress(report):
        if len(seen) == 2:
            raise KeyboardInterrupt  # the instructor presses Ctrl-C after the third result
        seen.append(report.student)

    seen: list[str] = []
    monkeypatch.setattr(_batch, "grade", grade)
    good = json.dumps({"cells": [], "metadata": {}, "good": 1})
    folder = _class_folder(tmp_path, {f"s{i:02d}": good for i in range(12)})
    with pytest.raises(KeyboardInterrupt):
        _batch.grade_class([folder], tmp_path / "g.csv", jobs=1, progress=progress, flush_every=3600,
                           assignment="ex00_first_steps", sandbox=False)
    # What was graded is written (none of it waited for a flush); nothing more is started behind the
    # instructor's back.
    assert sorted(r["student"] for r in read(tmp_path / "g.csv")) == ["s00", "s01", "s02"]
    assert len(started) < 6


def test_an_unreadable_file_takes_the_batchs_assignment_and_the_absent_are_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(_batch, "grade", _fake_grade)
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,name\nana,Ana\nben,Ben\ncy,Cy\n")
    good = json.dumps({"cells": [], "metadata": {"kms_teach": {"assignment": "ex00_first_steps"}}, "good": 1})
    folder = _class_folder(tmp_path, {"ana": good, "ben": "{ cut short"})
    run = _batch.grade_class([folder], tmp_path / "g.csv", roster=_roster.load_roster(roster), jobs=1,
                             progress=False, sandbox=False)
    got = {r["student"]: (r["assignment"], r["status"], r["score"]) for r in read(tmp_path / "g.csv")}
    assert got == {"ana": ("ex00_first_steps", "graded", "3"), "ben": ("ex00_first_steps", "unreadable", ""),
                   "cy": ("ex00_first_steps", "missing", "")}
    assert run.exit_status == 1 and [e.row["student"] for e in run.failed] == ["ben"]
    # Graded again once ben hands in a readable file: no row for ben without an assignment, cy still missing.
    (folder / "ben.ipynb").write_text(good.replace('"good": 1', '"bad": 1'))
    run = _batch.grade_class([folder], tmp_path / "g.csv", roster=_roster.load_roster(roster), jobs=1,
                             progress=False, sandbox=False)
    got = {r["student"]: (r["status"], r["score"]) for r in read(tmp_path / "g.csv")}
    assert got == {"ana": ("graded", "3"), "ben": ("graded", "0"), "cy": ("missing", "")} and run.exit_status == 0
