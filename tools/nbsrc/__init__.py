"""The course notebooks, as Python source.

Each notebook is one module here named ``nbNN_<slug>.py`` that defines:

* ``FILENAME``: the file it becomes in ``notebooks/`` (e.g. ``"00_start_here.ipynb"``);
* ``cells()``: the list of cells, made with :func:`_cells.md` and :func:`_cells.code`;
* optionally ``COURSE_NOTEBOOK = False`` for a notebook that is not a lesson (the syllabus), which is
  exempt from the lesson shape (Objectives, What you saw, Self-check, Next).

``_course.py`` holds the course table (titles, goals, times, exercises) that the syllabus and every
notebook's "Next" cell are written from; ``_figures.py`` the static figures.

To add a notebook, write its module and add its name to ``NOTEBOOKS`` (in
teaching order); ``tools/build_notebooks.py`` then builds and executes it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

NOTEBOOKS: tuple[str, ...] = (
    "syllabus",
    "nb00_start_here",
    "nb01_encrypt_decrypt",
    "nb02_data_keys",
    "nb03_key_policies",
    "nb04_rotation_aliases_deletion",
    "nb05_key_ownership",
    "nb06_key_types",
    "nb07_storage_audit_review",
)


def load(name: str) -> ModuleType:
    module = importlib.import_module(f"{__name__}.{name}")
    for attribute in ("FILENAME", "cells"):
        if not hasattr(module, attribute):
            raise AttributeError(f"notebook source {name} must define {attribute}")
    return module


def load_all() -> list[ModuleType]:
    return [load(name) for name in NOTEBOOKS]
