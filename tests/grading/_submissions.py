"""Making submissions for the grading tests: a solution or exercise notebook with cells changed."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]


def notebook(kind: str, name: str) -> nbformat.NotebookNode:
    folder = {"solution": "solutions", "student": "exercises"}[kind]
    return nbformat.read(ROOT / folder / f"{name}.ipynb", as_version=4)


def answer_index(nb, task: str) -> int:
    found = [i for i, c in enumerate(nb.cells) if c.metadata.get("kms_teach", {}).get("cell") == f"{task}-answer"]
    assert len(found) == 1, f"{task}: {len(found)} answer cells"
    return found[0]


def with_answers(nb, answers: dict[str, str]) -> nbformat.NotebookNode:
    """A copy of ``nb`` whose answer cells of the given tasks hold the given code."""
    nb = copy.deepcopy(nb)
    for task, code in answers.items():
        nb.cells[answer_index(nb, task)].source = code
    return nb


def write(nb, folder: Path, name: str) -> Path:
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path
