"""A class of 32 generated submissions graded as an instructor would, from the command line: the whole
class into a gradebook, then one student regraded into the same gradebook (the two compared), then
the LMS exports, the feedback pages and the class report made from it."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ._class_mix import make_class

ROOT = Path(__file__).resolve().parents[2]
N = 32
ASSIGNMENT = "ex02_data_keys"

pytestmark = pytest.mark.slow


def kms_teach(*args, cwd):
    return subprocess.run([sys.executable, "-m", "kms_teach", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=900)


def rows(path):
    return {r["student"]: r for r in csv.DictReader(open(path, encoding="utf-8"))}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    work = tmp_path_factory.mktemp("class")
    info = make_class(work / "class", N, ASSIGNMENT)
    out = kms_teach("grade", "class", "--roster", "roster.csv", "--gradebook", "gradebook.csv", "--cell-timeout", 5,
                    "--jobs", 2, cwd=work)
    first = rows(work / "gradebook.csv")
    shutil.copy(work / "gradebook.csv", work / "first.csv")
    shutil.copy(work / "gradebook.details.json", work / "first.details.json")
    return {"work": work, "info": info, "out": out, "first": first}


def test_the_whole_class_is_graded_with_every_kind_of_submission_told_apart(graded):
    out, first, students = graded["out"], graded["first"], graded["info"]["students"]
    # Two files could not be read: the batch still finishes, lists them, and exits 1.
    assert out.returncode == 1, out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    assert len(re.findall(r"could not grade \S+ \(unreadable\)", out.stderr)) == 2
    assert "skipped class/README.txt: not a notebook" in out.stderr
    assert "skipped class/.ipynb_checkpoints/s0001-checkpoint.ipynb: a Jupyter checkpoint" in out.stderr
    assert len(first) == N + 1  # every student on the roster, the absent one too
    for sid, s in students.items():
        r = first[sid]
        assert (r["name"], r["email"], r["assignment"]) == (s["name"], f"{sid}@uni.example", ASSIGNMENT), sid
        if s["expect"] == "unreadable":
            assert (r["status"], r["score"], r["final_score"]) == ("unreadable", "", ""), sid
        else:
            assert r["status"] == "graded" and r["max_score"] == "9", sid
        if s["expect"] == "full":
            assert r["score"] == "9", (sid, r["notes"])
        elif s["expect"] == "zero":
            assert r["score"] == "0" and "not answered" in r["notes"], sid
        elif s["expect"].startswith("loses"):
            lost = re.findall(r"t\d+", s["expect"].split("(")[0])
            assert all(r[t] == "0" for t in lost) and 0 <= int(r["score"]) < 9, (sid, r)
    absent = first[graded["info"]["absent"]]
    assert (absent["status"], absent["score"], absent["submission"]) == ("missing", "", "")
    # Per-student folders (class/s0003/ex02_data_keys.ipynb) are found and named for their student.
    assert first["s0003"]["submission"].endswith("s0003/ex02_data_keys.ipynb")
    # The looping answer costs its task (and t3, whose seal_file calls t1's seal) but not t2, and the
    # note says which cell was stopped.
    loop = first["s0013"]
    assert (loop["t1"], loop["t2"], loop["score"]) == ("0", "2", "2") and "ran longer than 5 s" in loop["notes"]


def test_regrading_one_student_changes_that_row_only(graded):
    work, first = graded["work"], graded["first"]
    fixed = ROOT / "solutions" / f"{ASSIGNMENT}.ipynb"
    target = graded["info"]["students"]["s0002"]["path"]
    assert first["s0002"]["score"] != "9"
    shutil.copy(fixed, target)  # the student hands in a corrected notebook
    out = kms_teach("grade", target.relative_to(work), "--roster", "roster.csv", "--gradebook", "gradebook.csv",
                    cwd=work)
    assert out.returncode == 0, out.stderr
    second = rows(work / "gradebook.csv")
    assert list(second) == list(first)  # same students, same order: 33 rows, not 2
    assert open(work / "gradebook.csv").readline() == open(work / "first.csv").readline()  # same columns
    changed = {sid for sid in first if first[sid] != second[sid]}
    assert changed == {"s0002"}
    assert (second["s0002"]["score"], second["s0002"]["status"], second["s0002"]["name"]) == (
        "9", "graded", first["s0002"]["name"])
    details = json.loads((work / "gradebook.details.json").read_text())["entries"]
    assert len(details) == N + 1 and next(d for d in details if d["student"] == "s0002")["score"] == 9


def test_the_gradebook_exports_to_canvas_and_moodle(graded):
    work = graded["work"]
    out = kms_teach("export", "gradebook.csv", "--lms", "canvas", "--column", "Data keys (4711)", cwd=work)
    assert out.returncode == 0, out.stderr
    canvas = list(csv.reader(open(work / "gradebook-canvas.csv", encoding="utf-8")))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Data keys (4711)"]
    assert canvas[1][0] == "Points Possible" and canvas[1][-1] == "9"
    by_id = {r[2]: r[-1] for r in canvas[2:]}
    assert len(by_id) == N + 1 and by_id["s0001"] == "9" and by_id["s0011"] == "" and by_id["s0033"] == ""
    out = kms_teach("export", "gradebook.csv", "--lms", "moodle", "--out", "moodle.csv", cwd=work)
    assert out.returncode == 0, out.stderr
    moodle = {r["ID number"]: r for r in csv.DictReader(open(work / "moodle.csv", encoding="utf-8"))}
    assert moodle["s0005"]["Email address"] == "s0005@uni.example" and moodle["s0005"][ASSIGNMENT] == "0"
    assert "not answered" in moodle["s0005"][f"Feedback: {ASSIGNMENT}"]


def test_feedback_pages_for_every_student(graded):
    work = graded["work"]
    out = kms_teach("feedback", "gradebook.csv", "feedback", cwd=work)
    assert out.returncode == 0, out.stderr
    assert len(list((work / "feedback").glob("*.html"))) == N + 1
    md = (work / "feedback" / f"s0006-{ASSIGNMENT}.md").read_text()
    assert "## t1:" in md and "✗" in md and "The hidden checks of t1 failed on your answer cell:" in md
    assert "```python\ndef seal(" in md
    page = (work / "feedback" / f"s0011-{ASSIGNMENT}.html").read_text()
    assert "could not be read as a notebook" in page


def test_the_class_report_counts_misconceptions_and_finds_the_copies(graded):
    work = graded["work"]
    out = kms_teach("report", "gradebook.csv", "report.html", cwd=work)
    assert out.returncode == 0, out.stderr
    page = (work / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 3  # scores, pass rates, misconceptions
    assert "Pass rate of each task" in page and "Misconceptions most often hit" in page
    # The copied answer (names and comments changed) and the same mistake made independently are one group.
    copies = {sid for sid, s in graded["info"]["students"].items() if s["kind"] == "copied"}
    groups = re.findall(r"<tr><td>([^<]*)</td><td class='n'>identical</td>", page)
    assert any(copies <= set(g.split(", ")) for g in groups), groups
    assert "the worked solution, token for token" in page
    # The untouched exercises are not "identical" to each other: unanswered cells are left out.
    untouched = {sid for sid, s in graded["info"]["students"].items() if s["kind"] == "untouched"}
    assert not any(untouched & set(g.split(", ")) for g in groups)


def _numbers_agree(work, book_name, max_score="9"):
    """The gradebook's final scores are what both exports, every feedback page and the report say."""
    book = rows(work / book_name)
    stem = Path(book_name).stem
    for lms in ("canvas", "moodle"):
        out = kms_teach("export", book_name, "--lms", lms, cwd=work)
        assert out.returncode == 0, out.stderr
    canvas = list(csv.reader(open(work / f"{stem}-canvas.csv", encoding="utf-8")))
    assert canvas[1][-1] == max_score
    canvas_scores = {r[2]: r[-1] for r in canvas[2:]}
    moodle = {r["ID number"]: r for r in csv.DictReader(open(work / f"{stem}-moodle.csv", encoding="utf-8"))}
    out = kms_teach("feedback", book_name, f"{stem}-feedback", cwd=work)
    assert out.returncode == 0, out.stderr
    assert set(canvas_scores) == set(moodle) == set(book)
    for sid, r in book.items():
        final = r["final_score"] if r["status"] == "graded" else ""
        assert canvas_scores[sid] == moodle[sid][ASSIGNMENT] == final, sid
        feedback = moodle[sid][f"Feedback: {ASSIGNMENT}"]
        md = (work / f"{stem}-feedback" / f"{sid}-{ASSIGNMENT}.md").read_text()
        page = (work / f"{stem}-feedback" / f"{sid}-{ASSIGNMENT}.html").read_text()
        if final:
            assert feedback.startswith(f"{final}/{max_score}"), (sid, feedback)
            assert f"**Score: {final} / {max_score}**" in md, sid
            assert f"<p class='score'>{final} <small>/ {max_score} points</small>" in page, sid
            for t in ("t1", "t2", "t3"):
                assert re.search(rf"^\| {t}: .* \| {r[t]}/\d+ \|$", md, re.M), (sid, t)
        if r["late_days"] not in ("", "0"):
            days = int(r["late_days"])
            said = f"Handed in {days} day{'s' if days > 1 else ''} late: -{r['late_penalty']}"
            assert said in md and said in page and f"Before the penalty: {r['score']}." in md, sid
            assert f"{days} day{'s' if days > 1 else ''} late: -{r['late_penalty']}" in r["notes"], sid
    out = kms_teach("report", book_name, f"{stem}-report.html", cwd=work)
    assert out.returncode == 0, out.stderr
    report = (work / f"{stem}-report.html").read_text()
    finals = [float(r["final_score"]) for r in book.values() if r["status"] == "graded"]
    assert f"mean <b>{sum(finals) / len(finals):.1f}</b>" in report
    cards = dict((k, int(v)) for v, k in re.findall(r"<div class='card'><b>(\d+)</b><span>([^<]+)</span>", report))
    statuses = [r["status"] for r in book.values()]
    assert cards == {"students": len(book), "graded": statuses.count("graded"),
                     "unreadable": statuses.count("unreadable"), "not graded": statuses.count("not graded"),
                     "missing": statuses.count("missing"),
                     "late": sum(r["late_days"] not in ("", "0") for r in book.values())}
    return book


def test_late_policy_set_then_changed_on_a_regrade_and_every_output_agrees(graded):
    import os
    from datetime import datetime, timedelta, timezone

    work, students = graded["work"], graded["info"]["students"]
    shutil.copy(work / "first.csv", work / "late.csv")
    shutil.copy(work / "first.details.json", work / "late.details.json")
    due = datetime(2026, 12, 4, 23, 59, tzinfo=timezone.utc)
    late = {"s0001": (1.5, 2), "s0008": (0.25, 1)}  # days after the due date, and the days counted late
    for sid, (after, _) in late.items():
        when = (due + timedelta(days=after)).timestamp()
        os.utime(students[sid]["path"], (when, when))
    paths = [students[sid]["path"].relative_to(work) for sid in late]
    before = rows(work / "late.csv")
    out = kms_teach("grade", *paths, "--roster", "roster.csv", "--gradebook", "late.csv", "--due",
                    "2026-12-04T23:59Z", "--late-penalty", "10%", "--submitted-from", "mtime", cwd=work)
    assert out.returncode == 0, out.stderr
    assert "had the late policy [none]" in out.stderr  # graded before without one: the instructor is told
    book = _numbers_agree(work, "late.csv")
    assert {sid for sid in book if book[sid] != before[sid]} == set(late)
    for sid, (_, days) in late.items():
        r = book[sid]
        penalty = round(days * 0.9, 2)
        assert (r["late_days"], float(r["late_penalty"])) == (str(days), penalty), r
        assert float(r["final_score"]) == round(max(0.0, float(r["score"]) - penalty), 2), r
    # The instructor changes the policy to 1 point a day and regrades the same two.
    out = kms_teach("grade", *paths, "--roster", "roster.csv", "--gradebook", "late.csv", "--due",
                    "2026-12-04T23:59Z", "--late-penalty", "1", "--submitted-from", "mtime", cwd=work)
    assert out.returncode == 0, out.stderr
    assert "10% of the maximum" in out.stderr and "now [due 2026-12-04T23:59+00:00; 1 points off" in out.stderr
    book = _numbers_agree(work, "late.csv")
    for sid, (_, days) in late.items():
        r = book[sid]
        assert (r["late_days"], r["late_penalty"]) == (str(days), str(days)), r
        assert float(r["final_score"]) == max(0, float(r["score"]) - days), r
    assert {sid for sid in book if book[sid]["final_score"] != before[sid]["final_score"]} <= set(late)
    raw = kms_teach("export", "late.csv", "--lms", "canvas", "--raw", "--out", "raw.csv", cwd=work)
    assert raw.returncode == 0, raw.stderr
    assert {r[2]: r[-1] for r in list(csv.reader(open(work / "raw.csv")))[2:]}["s0001"] == book["s0001"]["score"]
