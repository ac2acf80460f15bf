"""What learners get: ``kms-teach release OUT/`` writes the course without any answer key.

The release holds the course notebooks, the exercises (made afresh from the assignment sources:
solution regions replaced, hidden tests removed), the practice quizzes, and a README for learners;
with ``exams=[...]``, also those exams' notebooks (questions and option ids only). It never holds
a worked solution, a hidden test, an exam bank or an answer key: those stay in ``assignments/`` and
``solutions/`` of the instructor's checkout. With ``wheel=True`` the package's wheel is built into
the release too (the wheel holds no solutions, hidden tests or exam keys either).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from ._quiz import bank_names, exam_paths, load_bank, quiz_notebook
from ._source import discover, load, notebook_text


class ReleaseError(ValueError):
    """A release that cannot be written as asked (the folder, an unknown exam)."""


LEARNER_README = """# {title}

Learn AWS Key Management Service (KMS) hands-on, in Jupyter, without an AWS account: a local KMS
that does real cryptography and behaves the way AWS documents KMS, answered by ordinary boto3 code.

## Start

You need Python 3.10 or newer. In this folder:

```bash
python3 -m venv .venv
.venv/bin/pip install {install}
.venv/bin/jupyter lab notebooks/00_start_here.ipynb
```

## What is here

| folder | what |
|---|---|
| `notebooks/` | the course, in teaching order: run each one top to bottom |
| `exercises/` | one exercise per notebook (`exNN_*.ipynb`){quizzes}{exams} |

## Exercises

Each exercise has three tasks. Replace each `raise NotImplementedError(...)` with your code and keep
the function names and parameters. Under each task a **self-check** runs your function once and says
what looks wrong; passing it is not full marks: when your notebook is graded, **hidden checks** call
your functions again with other inputs. Hand in the saved notebook file.

When it is graded, your notebook runs in a sandbox: no network, only its own folder to write in,
time and memory limits. Your functions are called from outside it, with AWS clients that talk to
a cloud the grader owns, so write them as the task says: use the clients and paths you are given.

## Quizzes

A **practice quiz** checks each answer at once and explains it; its answer key comes with the
package (that is how it can explain), so it is for learning. An **exam** records your answers and
checks nothing until your instructor grades it. In both, put your name in the quiz cell, answer,
and **save the notebook** before you hand it in: your answers are kept in the notebook.
"""


def release(out: str | Path, *, assignments_dir: str | Path | None = None, root: str | Path | None = None,
            exams: list[str] | None = None, wheel: bool = False, force: bool = False) -> list[Path]:
    """Write the learners' release into ``out``; returns the files written."""
    import nbformat

    from ._grader import default_assignments_dir

    folder = Path(assignments_dir) if assignments_dir else default_assignments_dir()
    root = Path(root) if root else folder.parent
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not force:
        raise ReleaseError(f"{out} is not empty; give an empty or new folder (or --force to write over it)")
    target = out.resolve()
    for private in (root.resolve(), folder.resolve(), (root / "solutions").resolve()):
        if target == private or (private != root.resolve() and private in target.parents):
            raise ReleaseError(f"{out} is among the instructor's sources; release somewhere else")
    known_exams = {load_bank(str(p)).name: p for p in exam_paths(folder)}
    for name in exams or []:
        if name not in known_exams:
            raise ReleaseError(f"no exam {name!r} in {folder} (exams: {', '.join(sorted(known_exams)) or 'none'})")
    written: list[Path] = []

    def put(relative: str, text: str) -> None:
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(target)

    for notebook in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(notebook, as_version=4)
        put(f"notebooks/{notebook.name}", notebook_text(nb))
    for source in discover(folder)[0]:  # the sources only: never a .wrong.py file of the instructor's
        assignment = load(source)
        put(f"exercises/{assignment.name}.ipynb", notebook_text(assignment.notebook("student")))
    practice = [load_bank(name) for name in bank_names()]
    for bank in practice:
        put(f"exercises/quiz_{bank.name}.ipynb", notebook_text(quiz_notebook(bank, "student")))
    for name in exams or []:
        put(f"exercises/quiz_{name}.ipynb", notebook_text(quiz_notebook(load_bank(str(known_exams[name])), "student")))
    install = "kms-teach    # or the wheel your instructor gave you: kms_teach-*.whl"
    if wheel:
        built = build_wheel(root, out)
        written.append(built)
        install = built.name
    quizzes = (f"; practice quizzes ({', '.join(f'`quiz_{b.name}.ipynb`' for b in practice)})" if practice else "")
    exam_text = (f"; exams ({', '.join(f'`quiz_{n}.ipynb`' for n in exams)})" if exams else "")
    put("README.md", LEARNER_README.format(title="kms_teach: the course", install=install, quizzes=quizzes,
                                           exams=exam_text))
    return written


def build_wheel(root: Path, out: Path) -> Path:
    """The package's wheel, built into ``out`` from a copy of what it packages (the checkout keeps no
    build leftovers, and nothing but the package can slip in)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="kms-teach-wheel-") as scratch:
        copy = Path(scratch) / "src"
        copy.mkdir()
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(root / name, copy / name)
        shutil.copytree(root / "kms_teach", copy / "kms_teach", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        built = Path(scratch) / "wheel"
        proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(built), str(copy)],
                              capture_output=True, text=True, timeout=900)
        made = sorted(built.glob("kms_teach-*.whl"))
        if proc.returncode != 0 or not made:
            raise ReleaseError(f"could not build the wheel: {(proc.stderr or proc.stdout).strip()[-500:]}")
        out.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy2(made[-1], out / made[-1].name))
