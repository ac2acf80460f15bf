"""The ``kms-teach`` command."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path


def _course_dir() -> Path:
    here = Path(__file__).resolve().parent.parent
    return here / "notebooks"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kms-teach", description="Learn AWS KMS hands-on, locally.")
    sub = parser.add_subparsers(dest="command", required=True)
    course = sub.add_parser("course", help="open the course notebooks in JupyterLab")
    course.add_argument("--no-browser", action="store_true", help="start JupyterLab without opening a browser")
    # Anything else (e.g. --ServerApp.port=8899) goes to jupyter lab unchanged.
    args, jupyter_args = parser.parse_known_args(argv)
    if args.command == "course":
        notebooks = _course_dir()
        if not notebooks.is_dir():
            print(f"kms-teach: the course notebooks are not at {notebooks}; run this from a source checkout.",
                  file=sys.stderr)
            return 2
        cmd = [sys.executable, "-m", "jupyter", "lab", str(notebooks / "00_start_here.ipynb"),
               f"--notebook-dir={notebooks.parent}"]
        if args.no_browser:
            cmd.append("--no-browser")
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            # Containers often run as root; JupyterLab refuses that unless told.
            cmd.append("--allow-root")
        cmd += jupyter_args
        return subprocess.call(cmd, env=os.environ.copy())
    return 2  # pragma: no cover - argparse enforces a command


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
