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
