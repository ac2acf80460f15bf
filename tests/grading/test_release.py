"""What learners receive holds no answers: the release folder, and the wheel they install.

Both are searched for every solution region and every hidden test of every assignment source, and
for every exam's answers (the key flags, the feedback that reveals them, the accepted answers).
"""

from __future__ import annotations

import json
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import nbformat
import pytest

from kms_teach import grading
from kms_teach.grading._source import BEGIN_HIDDEN, BEGIN_SOLUTION, END_HIDDEN, END_SOLUTION

ROOT = Path(__file__).resolve().parents[2]
SOURCES = grading.discover(ROOT / "assignments")[0]
EXAMS = grading.exam_paths(ROOT / "assignments")


def _regions(text: str, begin: str, end: str) -> list[str]:
    out, inside, current = [], False, []
    for line in text.splitlines():
        if line.strip() == begin:
            inside, current = True, []
        elif line.strip() == end:
            inside = False
            out.append("\n".join(l.strip() for l in current if l.strip()))
        elif inside:
            current.append(line)
    return out


def secrets() -> list[tuple[str, str]]:
    """(what, text) that must appear in nothing a learner receives."""
    found = []
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        for n, region in enumerate(_regions(text, BEGIN_SOLUTION, END_SOLUTION)):
            found.append((f"{path.stem} solution region {n + 1}", region))
        for n, region in enumerate(_regions(text, BEGIN_HIDDEN, END_HIDDEN)):
            found.append((f"{path.stem} hidden tests {n + 1}", region))
    for path in EXAMS:
        # The key is which option is right and why: the feedback written for it. (An accepted short
        # answer such as HMAC_256 is a fact the course itself teaches; that the exam notebook holds
        # no list of accepted answers, nor any "correct" flag, is checked on the notebook itself.)
        bank = grading.load_bank(str(path))
        for q in bank.questions:
            for s in (q.feedback_right, q.feedback_wrong, *(o.feedback for o in q.options)):
                if s:
                    found.append((f"{bank.name} answer of {q.id}", s))
    assert len(found) > 50
    return found


def _normalised(text: str) -> str:
    """A file's text, and its notebook cells' sources, with each line stripped (indentation differs)."""
    parts = [text]
    try:
        nb = nbformat.reads(text, as_version=4)
        parts += [c.source for c in nb.cells]
        parts += [json.dumps(o) for c in nb.cells for o in c.get("outputs", [])]
    except Exception:
        pass
    return "\n".join("\n".join(l.strip() for l in p.splitlines() if l.strip()) for p in parts)


def _leaks(files: dict[str, str]) -> list[str]:
    texts = {name: _normalised(t) for name, t in files.items()}
    return [f"{what} in {name}" for what, secret in secrets() for name, text in texts.items() if secret in text]


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    out = tmp_path_factory.mktemp("release") / "course"
    args = [sys.executable, "-m", "kms_teach", "release", str(out), "--wheel"]
    for path in EXAMS:
        args += ["--exam", grading.load_bank(str(path)).name]
    proc = subprocess.run(args, cwd=tmp_path_factory.getbasetemp(), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    return out


def test_the_release_holds_the_course_and_the_exercises(released):
    names = {p.relative_to(released).as_posix() for p in released.rglob("*") if p.is_file()}
    for notebook in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"):
        assert f"notebooks/{notebook.name}" in names
    for source in SOURCES:
        assert f"exercises/{source.stem}.ipynb" in names
    for bank in grading.bank_names():
        assert f"exercises/quiz_{bank}.ipynb" in names
    assert "README.md" in names and "exercises/" in (released / "README.md").read_text()
    assert not any(n.startswith(("solutions/", "assignments/")) or n.endswith(".py") for n in names)


def test_no_file_of_the_release_holds_a_solution_a_hidden_test_or_an_exam_answer(released):
    files = {p.relative_to(released).as_posix(): p.read_text(encoding="utf-8", errors="replace")
             for p in released.rglob("*") if p.is_file() and p.suffix != ".whl"}
    assert _leaks(files) == []
    exams = [n for n, t in files.items() if n.startswith("exercises/quiz_") and '"mode": "exam"' in t]
    assert len(exams) == len(EXAMS)
    for name in exams:
        text = files[name]
        for key in ("correct", "accept", "answer", "tolerance", "feedback"):
            assert f"'{key}'" not in text and f'"{key}"' not in text, (name, key)


def test_the_search_finds_a_leak_when_there_is_one(released):
    leaky = {"x.ipynb": nbformat.writes(grading.load(SOURCES[0]).notebook("solution"))}
    assert _leaks(leaky)  # the worked solutions are exactly what it looks for


def test_the_installed_wheel_holds_no_solutions_hidden_tests_or_exam_keys(released, tmp_path):
    wheel = next(released.glob("kms_teach-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        members = z.namelist()
    assert not any("assignments" in m or "solutions" in m or "quiz_" in m for m in members), members
    env = tmp_path / "fresh"
    venv.create(env, with_pip=True, system_site_packages=True)
    python = env / "bin" / "python"
    proc = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    installed = [p for p in site.rglob("*") if p.is_file() and ("kms_teach" in p.as_posix())]
    assert any(p.name == "_checker.py" for p in installed)
    files = {p.relative_to(site).as_posix(): p.read_text(encoding="utf-8", errors="replace")
             for p in installed if p.suffix in (".py", ".json", ".txt", "") or p.name == "METADATA"}
    assert _leaks(files) == []
    banks = [json.loads(t) for n, t in files.items() if n.endswith(".json") and "quizbank" in n]
    assert banks and all(b.get("mode", "practice") == "practice" for b in banks)


def test_release_refuses_to_write_over_a_folder_or_into_the_sources(tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(grading.ReleaseError, match="not empty"):
        grading.release(tmp_path / "busy")
    with pytest.raises(grading.ReleaseError, match="instructor's sources"):
        grading.release(ROOT / "solutions" / "out")
    with pytest.raises(grading.ReleaseError, match="no exam"):
        grading.release(tmp_path / "new", exams=["nope"])
