"""The kms-teach command: `kms-teach course` opens notebook 00 of the learner's own copy of the course."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kms_teach import __main__ as cli

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def calls(monkeypatch):
    seen = []
    monkeypatch.setattr(subprocess, "call", lambda cmd, env=None: seen.append(cmd) or 0)
    return seen


def test_course_copies_the_course_and_starts_jupyter_lab_on_notebook_00(tmp_path, calls, capsys):
    home = tmp_path / "my-course"
    assert cli.main(["course", "--dir", str(home), "--no-browser", "--ServerApp.port=8899"]) == 0
    [cmd] = calls
    assert cmd[:4] == [sys.executable, "-m", "jupyter", "lab"]
    first = Path(cmd[4])
    assert first == home / "notebooks" / "00_start_here.ipynb" and first.is_file()
    assert f"--ServerApp.root_dir={home}" in cmd and "--no-browser" in cmd and "--ServerApp.port=8899" in cmd
    # the learner's copy: the lessons (with their figures and the syllabus) and the exercises, nothing else
    assert sorted(p.name for p in home.iterdir() if not p.name.startswith(".")) == ["exercises", "notebooks"]
    assert (home / "notebooks" / "syllabus.ipynb").is_file() and (home / "notebooks" / "figures").is_dir()
    assert (home / "exercises" / "ex00_first_steps.ipynb").is_file() and not (home / "solutions").exists()
    # JupyterLab's news toast is off, through an overrides file of the course's own
    overrides = json.loads((home / ".jupyter" / "app-settings" / "overrides.json").read_text())
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    assert f"--LabApp.app_settings_dir={home / '.jupyter' / 'app-settings'}" in cmd
    # the direct address of notebook 00, with the token the server is given
    out = capsys.readouterr().out
    token = next(a.split("=", 1)[1] for a in cmd if a.startswith("--IdentityProvider.token="))
    assert f"http://127.0.0.1:8899/lab/tree/notebooks/00_start_here.ipynb?token={token}" in out and len(token) >= 32


def test_course_keeps_the_learners_work_and_adds_what_is_new(tmp_path, calls, capsys):
    home = tmp_path / "c"
    assert cli.main(["course", "--dir", str(home), "--no-browser"]) == 0
    mine = home / "notebooks" / "00_start_here.ipynb"
    mine.write_text("my notes")
    (home / "exercises" / "ex00_first_steps.ipynb").unlink()
    assert cli.main(["course", "--dir", str(home), "--no-browser"]) == 0
    assert mine.read_text() == "my notes"  # never overwritten
    assert (home / "exercises" / "ex00_first_steps.ipynb").is_file()  # a missing file comes back
    assert "1 new file(s) added" in capsys.readouterr().out
    port = next(a for a in calls[-1] if a.startswith("--ServerApp.port="))
    assert "--ServerApp.port_retries=0" in calls[-1] and port.split("=")[1].isdigit()


def test_course_refuses_the_tracked_notebooks_as_the_learners_copy(calls, capsys):
    for folder in (REPO, REPO / "notebooks", REPO / "exercises", REPO / "notebooks" / "sub"):
        assert cli.main(["course", "--dir", str(folder), "--no-browser"]) == 2
        assert "part of the course's own files" in capsys.readouterr().err
    assert calls == []


def test_course_default_folder_comes_from_the_environment(tmp_path, calls, monkeypatch):
    monkeypatch.setenv("KMS_TEACH_COURSE_DIR", str(tmp_path / "from-env"))
    assert cli.main(["course", "--no-browser"]) == 0
    assert Path(calls[0][4]) == tmp_path / "from-env" / "notebooks" / "00_start_here.ipynb"


def test_a_command_is_required(capsys):
    with pytest.raises(SystemExit):
        cli.main([])
