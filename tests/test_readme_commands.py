"""CI runs exactly the README's test command, so what passes in CI is what a reader runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
    return [line.strip() for b in blocks for line in b.splitlines() if line.startswith("python3 -m venv")]


def test_ci_runs_the_readme_test_command_verbatim():
    tests = [c for c in readme_commands() if c.endswith("-m pytest")]
    assert len(tests) == 1, "the README must give exactly one test command"
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    assert tests[0] in ci_lines


def test_the_readme_course_command_opens_the_course():
    course = [c for c in readme_commands() if c.endswith("kms-teach course")]
    assert course and '-e ".[test]"' not in course[0], "the course needs no test extras"
