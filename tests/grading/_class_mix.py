"""A generated class: N submissions of one assignment, mixed as a real class hands them in.

Used by the class test (tests/grading/test_class.py) and the class benchmark (bench/bench_class.py).
The mix, in a fixed rotation so that every N >= 30 holds each kind at least once:

* worked answers (the solution), some in per-student folders (``class/ike/ex02_data_keys.ipynb``);
* untouched exercises;
* partly right: one task's answer replaced by a plausible mistake (the instructor's ``assignments/exNN_*.wrong.py``);
* several mistakes in one notebook;
* a copied wrong answer, handed in three times with the comments and variable names changed;
* broken JSON (an upload cut short);
* an answer that never returns (an infinite loop), which only the cell time limit ends.

Also written: a roster (student_id, name, email) with a student who handed nothing in, and a few
notes/checkpoint files that discovery must leave out.
"""

from __future__ import annotations

import csv
import json
import random
import re
from pathlib import Path

from kms_teach import grading

from ._submissions import ROOT, answer_index, notebook, with_answers

KINDS = ("solution", "partly", "solution_folder", "partly", "untouched", "several", "partly", "solution",
         "copied", "partly", "broken", "solution_folder", "loop", "partly", "several", "copied", "solution",
         "partly", "untouched", "copied")
FIRST = ("Ana", "Ben", "Cy", "Dee", "Eli", "Fay", "Gus", "Hana", "Ike", "Jo", "Kai", "Lea", "Max", "Nia", "Oto",
         "Pia", "Quin", "Ravi", "Sol", "Tea", "Uma", "Vik", "Wen", "Xia", "Yuri", "Zoe")
LAST = ("Lima", "Okafor", "Young", "Dubois", "Nakamura", "Ivanova", "Mensah", "Kowalski", "Turner", "Haddad")


def _renamed(code: str, seed: int) -> str:
    """The same code, as a student who copied it would disguise it: names and comments changed."""
    names = sorted(set(re.findall(r"\b(?:dk|nonce|record|data|key|out|blob|result|ct|plaintext)\b", code)))
    for i, name in enumerate(names):
        code = re.sub(rf"(?<![\"'])\b{name}\b(?![\"'])", f"{name}_{chr(97 + (seed + i) % 26)}", code)
    return f"# my own work\n{code}\n# done ({seed})\n"


def _mistakes(assignment: str) -> list[tuple[str, str, str]]:
    return [(w.task, w.label, w.code)
            for w in grading.load_wrong_answers(ROOT / "assignments" / f"{assignment}.py")]


def make_class(folder: Path, n: int, assignment: str = "ex02_data_keys", *, seed: int = 7,
               loop_every: int | None = None) -> dict:
    """Write N submissions (and a roster) below ``folder``; what was written, by student id."""
    rng = random.Random(seed)
    solution, exercise = notebook("solution", assignment), notebook("student", assignment)
    mistakes = _mistakes(assignment)
    copied_task, copied_what, copied_code = mistakes[1]
    folder.mkdir(parents=True, exist_ok=True)
    students: dict[str, dict] = {}
    copies = 0
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        if kind == "loop" and loop_every is not None and (i // len(KINDS)) % loop_every:
            kind = "partly"  # fewer looping ones (each costs a cell time limit)
        sid = f"s{i + 1:04d}"
        name = f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]}"
        if kind in ("solution", "solution_folder"):
            nb, expect = solution, "full"
        elif kind == "untouched":
            nb, expect = exercise, "zero"
        elif kind == "partly":
            task, what, code = mistakes[rng.randrange(len(mistakes))]
            nb, expect = with_answers(solution, {task: code}), f"loses {task} ({what})"
        elif kind == "several":
            picked = {}
            for task, what, code in rng.sample(mistakes, 3):
                picked.setdefault(task, code)
            nb, expect = with_answers(solution, picked), f"loses {', '.join(sorted(picked))}"
        elif kind == "copied":
            nb = with_answers(solution, {copied_task: _renamed(copied_code, copies)})
            copies += 1
            expect = f"loses {copied_task} (copied: {copied_what})"
        elif kind == "loop":
            first_task = sorted({task for task, _, _ in _mistakes(assignment)})[0]
            nb, expect = with_answers(solution, {first_task: "while True:\n    pass\n"}), f"loses {first_task} (loop)"
        else:
            nb, expect = None, "unreadable"
        path = folder / sid / f"{assignment}.ipynb" if kind == "solution_folder" else folder / f"{sid}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        if nb is None:
            path.write_text('{"cells": [{"cell_type": "code", "sour', encoding="utf-8")  # cut short
        else:
            path.write_text(json.dumps(nb, indent=1), encoding="utf-8")
        students[sid] = {"name": name, "kind": kind, "expect": expect, "path": path}
    # One student handed nothing in; a notes file and a checkpoint copy lie around, as they do.
    absent = f"s{n + 1:04d}"
    (folder / "README.txt").write_text("downloaded from the LMS\n")
    (folder / ".ipynb_checkpoints").mkdir(exist_ok=True)
    (folder / ".ipynb_checkpoints" / "s0001-checkpoint.ipynb").write_text(json.dumps(solution))
    roster = folder.parent / "roster.csv"
    with open(roster, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["student_id", "name", "email"])
        for sid, info in students.items():
            w.writerow([sid, info["name"], f"{sid}@uni.example"])
        w.writerow([absent, "Absent Student", f"{absent}@uni.example"])
    return {"students": students, "absent": absent, "roster": roster, "copied_task": copied_task,
            "answer_cell": lambda nb, task: nb.cells[answer_index(nb, task)]}
