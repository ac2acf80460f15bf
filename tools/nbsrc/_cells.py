"""Helpers for writing notebook cells as Python source.

Write each cell as an indented triple-quoted string; it is dedented and its
leading and trailing blank lines are dropped, so the source reads naturally.

    md('''
        ## 1. A heading
        Some prose.
    ''')
    code('''
        print("hello")
    ''', tags=["nbval-ignore-output"])
"""

from __future__ import annotations

from textwrap import dedent
from typing import Iterable

from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell

__all__ = ["md", "code"]

# Tags a code cell may carry, with what they mean (nbval, nbclient, nbmake, Jupyter Book).
KNOWN_TAGS = frozenset(
    {
        "raises-exception",  # the cell is meant to raise; nbclient and nbval accept that
        "nbval-ignore-output",  # run, but do not compare the output (random or time-dependent)
        "nbval-skip",  # never run under nbval
        "skip-execution",  # never run by nbclient (e.g. needs real AWS)
        "hide-input",  # Jupyter Book presentation
    }
)


def _text(source: str) -> str:
    return dedent(source).strip("\n")


def md(source: str) -> NotebookNode:
    """A markdown cell."""
    return new_markdown_cell(_text(source))


def code(source: str, *, tags: Iterable[str] = ()) -> NotebookNode:
    """A code cell, optionally tagged (see ``KNOWN_TAGS``)."""
    cell = new_code_cell(_text(source))
    tags = list(tags)
    unknown = set(tags) - KNOWN_TAGS
    if unknown:
        raise ValueError(f"unknown cell tags {sorted(unknown)}; known: {sorted(KNOWN_TAGS)}")
    if tags:
        cell.metadata["tags"] = tags
    return cell
