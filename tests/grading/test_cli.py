"""``kms-teach grade`` / ``assign`` / ``export-nbgrader`` from the command line."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def kms_teach(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "kms_teach", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_grading_one_submission_prints_a_report_and_writes_json(tmp_path):
    out = kms_teach("grade", ROOT / "solutions" / "ex04_rotation.ipynb", "--json", tmp_path / "r.json")
    assert out.returncode == 0, out.stderr
    assert "9/9 (ex04_rotation)" in out.stdout and "t3 PASS 4/4" in out.stdout
    report = json.loads((tmp_path / "r.json").read_text())
    # A file named after its assignment is named for the folder it is in (class/ike/ex04_rotation.ipynb: ike).
    assert (report["score"], report["max_score"], report["student"]) == (9, 9, "solutions")
    assert [t["task"] for t in report["tasks"]] == ["t1", "t2", "t3"]


def test_grading_a_folder_writes_a_gradebook_even_with_broken_files(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "ana.ipynb").write_text((ROOT / "solutions" / "ex00_first_steps.ipynb").read_text())
    (subs / "ben.ipynb").write_text((ROOT / "exercises" / "ex00_first_steps.ipynb").read_text())
    (subs / "cy.ipynb").write_text("{ broken")
    out = kms_teach("grade", subs, "--assignment", "ex00_first_steps", "--jobs", 2, cwd=tmp_path)
    # An unreadable submission is not a zero: it is marked, listed, and the exit status says so.
    assert out.returncode == 1, out.stderr
    assert "3/3" in out.stderr  # the progress bar
    assert "could not grade" in out.stderr and "cy.ipynb (unreadable)" in out.stderr
    rows = list(csv.DictReader(open(tmp_path / "gradebook.csv")))
    assert [(r["student"], r["status"], r["score"], r["max_score"]) for r in rows] == [
        ("ana", "graded", "8", "8"), ("ben", "graded", "0", "8"), ("cy", "unreadable", "", "8")]
    assert "not a valid notebook" in rows[2]["notes"] and "not answered" in rows[1]["notes"]


def test_bad_arguments_get_a_clear_message(tmp_path):
    out = kms_teach("grade", tmp_path / "nobody.ipynb")
    assert out.returncode == 2 and "no such submission" in out.stderr
    out = kms_teach("grade", ROOT / "solutions" / "ex00_first_steps.ipynb", "--jobs", 0)
    assert out.returncode == 2 and "must be positive" in out.stderr
    out = kms_teach("export-nbgrader", tmp_path / "missing.py", tmp_path)
    assert out.returncode == 2 and "cannot read the assignment source" in out.stderr
    assert "Traceback" not in out.stderr


def test_export_nbgrader_from_the_command_line(tmp_path):
    out = kms_teach("export-nbgrader", ROOT / "assignments" / "ex02_data_keys.py", tmp_path / "course")
    assert out.returncode == 0, out.stderr
    path = tmp_path / "course" / "source" / "ex02_data_keys" / "ex02_data_keys.ipynb"
    points = [c["metadata"]["nbgrader"].get("points") for c in json.loads(path.read_text())["cells"]]
    assert [p for p in points if p] == [3, 2, 4]


def test_output_paths_and_limits_are_checked_before_any_grading(tmp_path):
    sub = ROOT / "solutions" / "ex00_first_steps.ipynb"
    out = kms_teach("grade", sub, "--json", tmp_path / "missing" / "r.json")
    assert out.returncode == 2 and "does not exist" in out.stderr and "Traceback" not in out.stderr
    out = kms_teach("grade", sub, "--cell-timeout", "nan")
    assert out.returncode == 2 and "positive numbers" in out.stderr
    (tmp_path / "empty").mkdir()
    out = kms_teach("grade", tmp_path / "empty")
    assert out.returncode == 2 and "no notebooks" in out.stderr


def test_without_bubblewrap_grading_is_refused_unless_no_sandbox_is_given(tmp_path):
    import os

    env = {**os.environ, "PATH": str(tmp_path)}  # no bwrap on this PATH
    sub = ROOT / "solutions" / "ex00_first_steps.ipynb"
    out = subprocess.run([sys.executable, "-m", "kms_teach", "grade", sub], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300, env=env)
    assert out.returncode == 2 and "bubblewrap (bwrap) is not installed" in out.stderr and "--no-sandbox" in out.stderr
    assert "Traceback" not in out.stderr
    out = subprocess.run([sys.executable, "-m", "kms_teach", "grade", sub, "--no-sandbox", "--csv", tmp_path / "g.csv"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr
    assert "8/8" in out.stdout and "WITHOUT a sandbox" in out.stdout and "WITHOUT a sandbox" in out.stderr
    rows = list(csv.DictReader(open(tmp_path / "g.csv")))
    assert rows[0]["sandbox"] == "none (--no-sandbox)"


def test_release_from_the_command_line(tmp_path):
    out = kms_teach("release", tmp_path / "course", cwd=tmp_path)
    assert out.returncode == 0 and "no solutions, hidden tests or exam keys" in out.stdout, out.stderr
    assert (tmp_path / "course" / "exercises" / "ex02_data_keys.ipynb").exists()
    assert not (tmp_path / "course" / "exercises" / "quiz_kms-final.ipynb").exists()  # exams only when asked
    again = kms_teach("release", tmp_path / "course", cwd=tmp_path)
    assert again.returncode == 2 and "not empty" in again.stderr


def test_a_wrong_configuration_exits_2_before_anything_is_graded(tmp_path):
    sub = ROOT / "solutions" / "ex00_first_steps.ipynb"
    (tmp_path / "roster.csv").write_text("name,email\nAna,a@x\n")
    cases = [
        (["--assignments", tmp_path / "nonexistent"], "no such folder"),
        (["--assignments", tmp_path], "holds no assignment sources"),
        (["--assignment", "ex99_nothing"], "no source ex99_nothing.py"),
        (["--roster", tmp_path / "roster.csv"], "no student id column"),
        (["--roster", tmp_path / "missing.csv"], "cannot read the roster"),
        (["--due", "2026-12-01T23:59"], "--due and --late-penalty go together"),
        (["--due", "friday", "--late-penalty", "1"], "not a date and time"),
        (["--due", "2026-12-01T23:59", "--late-penalty", "lots"], "neither points per day"),
        (["--due", "2026-12-01", "--late-penalty", "1"], "is a day without a time; give the time too (e.g. 2026-12-01T23:59"),
        (["--submitted-from", "mtime"], "needs --due"),
    ]
    for options, message in cases:
        out = kms_teach("grade", sub, *options, cwd=tmp_path)
        assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr, (options, out.stderr)
    assert not (tmp_path / "gradebook.csv").exists()


def test_files_of_nobody_on_the_roster_are_not_graded_and_the_exit_status_says_so(tmp_path):
    subs = tmp_path / "subs"
    (subs / "ana").mkdir(parents=True)
    (subs / "ana" / "ex00_first_steps.ipynb").write_text((ROOT / "solutions" / "ex00_first_steps.ipynb").read_text())
    (subs / "zed.ipynb").write_text((ROOT / "solutions" / "ex00_first_steps.ipynb").read_text())
    (tmp_path / "roster.csv").write_text("student_id,name,email\n1001,Ana Lima,ana@uni.example\n")
    out = kms_teach("grade", "subs", "--roster", "roster.csv", cwd=tmp_path)
    assert out.returncode == 1, out.stderr
    assert "skipped subs/zed.ipynb: not on the roster roster.csv" in out.stderr
    assert "could not be matched to a student" in out.stderr
    rows = list(csv.DictReader(open(tmp_path / "gradebook.csv")))
    assert [(r["student"], r["name"], r["score"]) for r in rows] == [("1001", "Ana Lima", "8")]


def test_one_file_of_nobody_on_the_roster_says_so_and_exits_1_not_no_notebooks(tmp_path):
    (tmp_path / "ike").mkdir()
    (tmp_path / "ike" / "ex00_first_steps.ipynb").write_text((ROOT / "exercises" / "ex00_first_steps.ipynb").read_text())
    (tmp_path / "roster.csv").write_text("student_id,name,email\n1001,Ana Lima,ana@uni.example\n")
    out = kms_teach("grade", "ike/ex00_first_steps.ipynb", "--roster", "roster.csv", "--gradebook", "g.csv",
                    cwd=tmp_path)
    assert out.returncode == 1, out.stderr
    assert "skipped ike/ex00_first_steps.ipynb: not on the roster" in out.stderr
    assert "no notebooks" not in out.stderr and "could not be matched to a student" in out.stderr
    assert not (tmp_path / "g.csv").exists()

