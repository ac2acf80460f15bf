"""A hostile student against the class workflow (gradebook, LMS exports, feedback, report), and
nbgrader's folder layout naming its students. Grading is stood in for (fast): what is attacked
here is everything around the grader, which tests/grading/test_attacks.py attacks itself."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from kms_teach.grading import _batch, _export, _feedback, _gradebook, _report, _roster
from kms_teach.grading._gradebook import Entry, Gradebook

from .test_gradebook import _fake_grade, read

A = "ex02_data_keys"
GOOD = json.dumps({"cells": [], "metadata": {"kms_teach": {"assignment": A}}, "good": 1})
BAD = json.dumps({"cells": [], "metadata": {"kms_teach": {"assignment": A}}, "bad": 1})
FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _cells(path):
    return [c for r in csv.reader(open(path, newline="", encoding="utf-8")) for c in r]


def _formulas(path):
    """Cells a spreadsheet would run as a formula (numbers, -2 included, are numbers)."""
    return [c for c in _cells(path) if c.startswith(FORMULA) and not re.fullmatch(r"[-+]?\d+(\.\d+)?", c)]


# ---------------------------------------------------------------------- nbgrader's layout


def test_in_nbgraders_layout_the_student_is_the_folder_above_the_assignments(tmp_path):
    sub = tmp_path / "submitted"
    alice = sub / "alice" / A / f"{A}.ipynb"
    for root in (sub, tmp_path, None):  # the class folder, the course folder above it, or the file alone
        assert _batch.default_student(alice, root, A) == "alice", root
        assert _batch.default_student(alice, root, None) == "alice", root  # assignment from the file's name
    # A folder per assignment with a file per student is not nbgrader's: the file names the student.
    assert _batch.default_student(tmp_path / "class" / A / "ana.ipynb", tmp_path / "class", None) == "ana"
    # The layouts that worked before still do.
    assert _batch.default_student(tmp_path / "class" / "ike" / f"{A}.ipynb", tmp_path / "class", None) == "ike"
    assert _batch.default_student(tmp_path / "class" / "ike" / f"{A}.ipynb", None, A) == "ike"


def test_nbgraders_layout_graded_as_a_class_then_one_student_regraded_with_a_roster(tmp_path, monkeypatch):
    monkeypatch.setattr(_batch, "grade", _fake_grade)
    sub = tmp_path / "submitted"
    for who, body in (("alice", BAD), ("bob", GOOD)):
        _write(sub / who / A / f"{A}.ipynb", body)
    roster = _roster.load_roster(_write(tmp_path / "roster.csv", "student_id,name\nalice,Alice\nbob,Bob\n"))
    book = tmp_path / "g.csv"
    run = _batch.grade_class([sub], book, roster=roster, progress=False, assignment=A, sandbox=False)
    assert run.exit_status == 0 and not run.skipped
    assert {r["student"]: r["score"] for r in read(book)} == {"alice": "0", "bob": "3"}
    # alice hands in again; graded alone (no class folder), her file is still hers, with or without a roster
    _write(sub / "alice" / A / f"{A}.ipynb", GOOD)
    for given in (roster, None):
        run = _batch.grade_class([sub / "alice" / A / f"{A}.ipynb"], book, roster=given, progress=False,
                                 sandbox=False)
        assert run.exit_status == 0 and not run.skipped, run.skipped
        assert sorted((r["student"], r["score"]) for r in read(book)) == [("alice", "3"), ("bob", "3")]


def test_grade_many_names_nbgraders_students_by_their_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(_batch, "grade", _fake_grade)
    alice = _write(tmp_path / "submitted" / "alice" / A / f"{A}.ipynb", GOOD)
    one, = _batch.grade_many([alice], progress=False, assignment=A, sandbox=False)
    assert one.student == "alice"


# ---------------------------------------------------------------------- CSV injection


def test_no_formula_reaches_the_gradebook_or_either_export(tmp_path, monkeypatch):
    monkeypatch.setattr(_batch, "grade", _fake_grade)
    folder = tmp_path / "class"
    # File names a learner chose (an LMS keeps them after its own prefix), and display names a learner
    # set in the LMS that the roster was exported from.
    _write(folder / '=HYPERLINK("http://evil.example","click").ipynb', GOOD)
    _write(folder / "@SUM(A1).ipynb", BAD)
    _write(folder / "-2+3.ipynb", GOOD)
    _write(folder / "\t=1+1.ipynb", GOOD)
    _write(folder / 'o"brien, jr\nx.ipynb', GOOD)
    book = tmp_path / "g.csv"
    _batch.grade_class([folder], book, progress=False, assignment=A, sandbox=False)
    roster = _roster.load_roster(_write(tmp_path / "roster.csv",
                                        'student_id,name,email,section\n'
                                        's1,"=cmd|\' /C calc\'!A0",+s1@uni.example,@A\n'
                                        's2,Ana -Lima,s2@uni.example,-B\n'))
    _write(folder / "s1.ipynb", GOOD)
    _write(folder / "s2.ipynb", BAD)
    run = _batch.grade_class([folder / "s1.ipynb", folder / "s2.ipynb"], book, roster=roster, progress=False,
                             assignment=A, sandbox=False)
    assert run.exit_status == 0
    assert _formulas(book) == []
    rows = {r["student"]: r for r in read(book)}
    assert rows["s1"]["name"] == "'=cmd|' /C calc'!A0" and rows["s1"]["section"] == "'@A"
    assert 'o"brien, jr\nx' in rows  # quotes, a comma and a newline stay inside their own cell
    # Read back and written again (a regrade), nothing is doubled and no row is lost.
    _batch.grade_class([folder / "s1.ipynb"], book, roster=roster, progress=False, assignment=A, sandbox=False)
    again = {r["student"]: r for r in read(book)}
    assert set(again) == set(rows) and again["s1"]["name"] == "'=cmd|' /C calc'!A0"
    for lms in ("canvas", "moodle"):
        out = tmp_path / f"{lms}.csv"
        _export.export(Gradebook(book), lms, out, column="=1+1 (4711)")
        assert _formulas(out) == [], lms
        assert "'=cmd|' /C calc'!A0" in _cells(out) or "'=cmd|'" in _cells(out), lms
    canvas = list(csv.reader(open(tmp_path / "canvas.csv", newline="", encoding="utf-8")))
    assert canvas[1][-1] == "3" and {r[2]: r[-1] for r in canvas[2:]}["s1"] == "3"  # scores stay numbers


def test_a_gradebook_edited_by_hand_cannot_smuggle_a_formula_into_an_export(tmp_path):
    book = tmp_path / "g.csv"
    book.write_text("student,name,email,section,submission,assignment,status,t1,score,max_score,final_score,notes\n"
                    'ana,"=HYPERLINK(""x"")",=ana@x,+A,s.ipynb,ex02_data_keys,graded,3,3,9,3,@notes\n')
    for lms in ("canvas", "moodle"):
        _export.export(Gradebook(book), lms, tmp_path / f"{lms}.csv")
        assert _formulas(tmp_path / f"{lms}.csv") == [], lms


def test_a_roster_id_that_starts_like_a_formula_is_refused_with_its_line(tmp_path):
    path = _write(tmp_path / "roster.csv", "student_id,name\nok,Ok\n=HYPERLINK(1),Bad\n")
    with pytest.raises(_roster.RosterError, match=r"roster.csv:3: .*starts like a spreadsheet formula"):
        _roster.load_roster(path)


# ---------------------------------------------------------------------- feedback


def _entry(student, score="3", answer="x = 1\n", message="wrong"):
    from kms_teach.grading import CheckResult, Report, TaskResult

    report = Report(f"{student}.ipynb", A, score=int(score), max_score=9, tasks=[
        TaskResult("t1", "Seal a file", int(score), 9, score == "9", message,
                   [CheckResult("seals", score == "9", int(score), 9, message)], cell="hidden checks of t1")])
    details = {**report.to_dict(), "status": "graded", "answers": {"t1-answer": answer}}
    return Entry({"student": student, "name": student.title(), "email": f"{student}@uni.example", "assignment": A,
                  "status": "graded", "score": score, "final_score": score, "max_score": "9", "graded_at": "now"},
                 details)


def test_a_student_id_that_looks_like_anothers_never_overwrites_or_gets_their_feedback(tmp_path):
    book = Gradebook(tmp_path / "g.csv")
    ids = ["alice", "alice.", "alice/", "../alice", "alice\n", "Alice", "ALICE", "a,b", 'q"uote']
    book.update([_entry(sid, answer=f"secret = {i}  # {sid!r}\n") for i, sid in enumerate(ids)])
    paths = _feedback.write_feedback(book, tmp_path / "out")
    assert len({p.name.lower() for p in paths}) == 2 * len(ids)  # one page each, never one over another
    assert all(p.parent == tmp_path / "out" for p in paths)
    pages = [p.read_text() for p in paths if p.suffix == ".html"]
    # Each student's answer is on exactly one page, and that page holds no one else's.
    assert sorted(tuple(re.findall(r"secret = (\d+)", page)) for page in pages) == sorted(
        (str(i),) for i in range(len(ids)))
    assert (tmp_path / "out" / f"a_b-{A}.html").exists() is False  # changed ids carry a digest of themselves


def test_html_and_markdown_in_answers_and_reasons_stay_text_in_the_feedback(tmp_path):
    answer = ("def seal():\n    ''''````\n</code></pre><script>alert(1)</script>\n````\n"
              "<img src=x onerror=alert(2)>'''\n")
    reason = "returned '<img src=x onerror=alert(3)>'"
    book = Gradebook(tmp_path / "g.csv")
    book.update([_entry("<b>mallory</b>", answer=answer, message=reason)])
    paths = _feedback.write_feedback(book, tmp_path / "out")
    page = next(p for p in paths if p.suffix == ".html").read_text()
    assert "<script>" not in page and "<img" not in page and "<b>mallory" not in page
    md = next(p for p in paths if p.suffix == ".md").read_text()
    # The code block's fence is longer than any run of backticks in the code: the code cannot close it.
    fence = re.search(r"^(`{3,})python$", md, re.M).group(1)
    assert len(fence) == 5 and md.count(f"\n{fence}\n") == 1
    outside = md.replace(md[md.index(fence + "python"):md.rindex(fence)], "")
    assert "<img" not in outside and "<b>" not in outside and "&lt;img src=x onerror=alert(3)&gt;" in outside


# ---------------------------------------------------------------------- the class report


def test_a_learners_saved_outputs_cannot_break_or_script_the_class_report(tmp_path):
    from kms_teach.widgets import _class_charts

    book = Gradebook(tmp_path / "g.csv")
    entries = []
    for sid in ("ana", "<script>alert(1)</script>", "ben"):
        e = _entry(sid, message="sent more than 4 KB to Encrypt")
        # What the self-checks printed is whatever the learner saved: mathtext, markup.
        e.details["self_checks"] = [r"[x] t1: $\frac{$ costs", "[x] t1: <img src=x onerror=alert(1)>"]
        entries.append(e)
    book.update(entries)
    stats = _report.analyse(book, assignments_dir=tmp_path)
    charts = _class_charts.class_charts(stats)  # a mathtext parse error would stop the whole report
    assert set(charts) == {f"{A}:scores", f"{A}:tasks", f"{A}:misconceptions"}
    page = _report.write_report(stats, tmp_path / "report.html", charts).read_text()
    assert "<script>" not in page and "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and r"$\frac{$ costs" in page


# ---------------------------------------------------------------------- the notebook itself


def test_a_huge_or_absurdly_nested_notebook_is_unreadable_not_a_crash(tmp_path, monkeypatch):
    from kms_teach import grading
    from kms_teach.grading import _grader

    monkeypatch.setattr(_batch, "MAX_SUBMISSION_BYTES", 10_000)
    monkeypatch.setattr(_grader, "MAX_SUBMISSION_BYTES", 10_000)
    folder = tmp_path / "class"
    _write(folder / "huge.ipynb", json.dumps({"cells": [{"cell_type": "code", "source": "x" * 20_000,
                                                         "metadata": {}}], "metadata": {}}))
    _write(folder / "deep.ipynb", "[" * 5000 + "]" * 5000)
    _write(folder / "ok.ipynb", GOOD)
    report = grading.grade(folder / "huge.ipynb", assignment=A, sandbox=False)
    assert report.problems[0].startswith("cannot read the submission") and "at most" in report.problems[0]
    assert not report.tasks
    monkeypatch.setattr(_batch, "grade", lambda path, **o: grading.grade(path, **o) if "ok" not in str(path)
                        else _fake_grade(path, **o))
    for assignment in (A, None):  # with --assignment, or each file's own claim read first
        run = _batch.grade_class([folder], tmp_path / "g.csv", progress=False, assignment=assignment,
                                 sandbox=False)
        got = {e.row["student"]: e.row["status"] for e in run.entries}
        assert got == {"huge": "unreadable", "deep": "unreadable", "ok": "graded"}, assignment
        assert run.exit_status == 1


def test_a_notebook_claiming_another_student_or_assignment_changes_nobody_elses_row(tmp_path, monkeypatch):
    monkeypatch.setattr(_batch, "grade", _fake_grade)
    folder = tmp_path / "class"
    _write(folder / "bob.ipynb", GOOD)
    forged = {"cells": [], "good": 1, "metadata": {"kms_teach": {"assignment": "ex00_first_steps", "student": "bob",
                                                                  "quiz": {"student": "bob"}}}}
    _write(folder / "mallory.ipynb", json.dumps(forged))
    book = tmp_path / "g.csv"
    run = _batch.grade_class([folder], book, progress=False, assignment=A, sandbox=False)
    rows = {(r["student"], r["assignment"]) for r in read(book)}
    # The file's place names the student, --assignment the assignment: the claims in it are not believed.
    assert rows == {("bob", A), ("mallory", A)}
    assert run.exit_status == 0


def test_a_file_name_that_is_not_utf8_and_lone_surrogates_in_the_json_do_not_stop_the_gradebook(tmp_path,
                                                                                                monkeypatch):
    import os

    monkeypatch.setattr(_batch, "grade", _fake_grade)
    folder = tmp_path / "class"
    folder.mkdir()
    with open(os.fsencode(folder) + b"/\xffbad.ipynb", "w") as f:  # bytes a zip may hold, and Linux keeps
        f.write(GOOD)
    cells = [{"cell_type": "code", "source": "x = '\\ud800'  # a lone surrogate, escaped as JSON allows",
              "metadata": {"kms_teach": {"cell": "t1-answer", "role": "answer"}}}]
    _write(folder / "ana.ipynb", json.dumps({"cells": cells, "metadata": {}, "bad": 1}).replace("\\\\ud800", "\\ud800"))
    book = tmp_path / "g.csv"
    for _ in range(2):  # graded, then regraded: the same rows, read back as written
        run = _batch.grade_class([folder], book, progress=False, assignment=A, sandbox=False)
        assert run.exit_status == 0
        assert sorted(r["student"] for r in read(book)) == ["ana", "\ufffdbad"]
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    paths = _feedback.write_feedback(Gradebook(book), tmp_path / "out")
    assert len(paths) == 4


def test_a_file_name_with_terminal_escapes_cannot_redraw_the_instructors_terminal(tmp_path):
    import subprocess
    import sys

    folder = tmp_path / "class"
    # Clear the line, go up one, carriage return: it would hide the lines that say what went wrong.
    evil = "\x1b[2K\x1b[1A\rall good"
    _write(folder / f"{evil}.ipynb", '{"cells": [{"cut short')
    _write(folder / f"{evil}.txt", "notes")
    out = subprocess.run([sys.executable, "-m", "kms_teach", "grade", "class", "--assignment", A, "--gradebook",
                          "g.csv", "--no-sandbox"], cwd=tmp_path, capture_output=True, timeout=300)
    stdout, stderr = out.stdout.decode(), out.stderr.decode()  # bytes as the terminal gets them
    assert out.returncode == 1, stderr
    for stream in (stdout, stderr):  # (the progress bar's own carriage returns start its line)
        assert "\x1b" not in stream and "\rall good" not in stream
    assert "\\x1b[2K\\x1b[1A\\rall good" in stderr  # shown as escapes, so the instructor sees the trick
    assert "could not grade" in stderr and "skipped" in stderr


def test_a_broken_reupload_regraded_alone_replaces_the_students_row(tmp_path, monkeypatch):
    monkeypatch.setattr(_batch, "grade", _fake_grade)
    folder = tmp_path / "class"
    _write(folder / "ana.ipynb", GOOD)
    _write(folder / "ben.ipynb", GOOD)
    book = tmp_path / "g.csv"
    _batch.grade_class([folder], book, progress=False, sandbox=False)
    _write(folder / "ana.ipynb", '{"cells": [{"cut short')  # ana uploads again, and the upload breaks
    run = _batch.grade_class([folder / "ana.ipynb"], book, progress=False, sandbox=False)  # no --assignment
    assert run.exit_status == 1
    assert sorted((r["student"], r["assignment"], r["status"], r["score"]) for r in read(book)) == [
        ("ana", A, "unreadable", ""), ("ben", A, "graded", "3")]


def test_a_symbolic_link_to_the_solution_or_to_another_students_file_is_not_graded(tmp_path, monkeypatch):
    import os

    monkeypatch.setattr(_batch, "grade", _fake_grade)
    solutions = _write(tmp_path / "solutions" / f"{A}.ipynb", GOOD)
    folder = tmp_path / "class"
    _write(folder / "ben.ipynb", GOOD)
    (folder / "mallory.ipynb").symlink_to(os.path.relpath(solutions, folder))  # as unzip restores it
    (folder / "eve.ipynb").symlink_to("ben.ipynb")
    (folder / "trudy").symlink_to(tmp_path / "solutions", target_is_directory=True)
    book = tmp_path / "g.csv"
    run = _batch.grade_class([folder], book, progress=False, assignment=A, sandbox=False)
    assert [r["student"] for r in read(book)] == ["ben"]
    linked = sorted(Path(s.path).name for s in run.skipped if "symbolic link" in s.reason)
    assert linked == ["eve.ipynb", "mallory.ipynb", "trudy"] and run.exit_status == 1
    # Named on the command line (a shell's class/*.ipynb), a link is refused too.
    run = _batch.grade_class([folder / "mallory.ipynb"], book, progress=False, assignment=A, sandbox=False)
    assert not run.entries and run.exit_status == 1
    # A class folder that the instructor linked is graded.
    (tmp_path / "linked-class").symlink_to(folder, target_is_directory=True)
    run = _batch.grade_class([tmp_path / "linked-class"], book, progress=False, assignment=A, sandbox=False)
    assert [e.row["student"] for e in run.entries] == ["ben"]


def test_a_pipe_named_like_a_notebook_does_not_hang_the_batch(tmp_path, monkeypatch):
    import os

    monkeypatch.setattr(_batch, "grade", _fake_grade)
    folder = tmp_path / "class"
    _write(folder / "ben.ipynb", GOOD)
    os.mkfifo(folder / "mallory.ipynb")  # reading it would wait for a writer that never comes
    run = _batch.grade_class([folder], tmp_path / "g.csv", progress=False, assignment=A, sandbox=False)
    assert [e.row["student"] for e in run.entries] == ["ben"] and run.exit_status == 1
    assert any("not a regular file" in s.reason for s in run.skipped)
