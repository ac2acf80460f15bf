"""The kms-teach command: `kms-teach course` opens the first notebook in JupyterLab."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kms_teach import __main__ as cli


def test_course_starts_jupyter_lab_on_the_first_notebook(monkeypatch):
    calls = []
    monkeypatch.setattr(subprocess, "call", lambda cmd, env=None: calls.append(cmd) or 0)
    assert cli.main(["course", "--no-browser", "--ServerApp.port=8899"]) == 0
    [cmd] = calls
    assert cmd[:3] == [sys.executable, "-m", "jupyter"] and cmd[3] == "lab"
    first = Path(cmd[4])
    assert first.name == "00_start_here.ipynb" and first.is_file()
    assert "--no-browser" in cmd and "--ServerApp.port=8899" in cmd


def test_a_command_is_required(capsys):
    with pytest.raises(SystemExit):
        cli.main([])
