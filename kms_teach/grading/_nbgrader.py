"""Export an assignment in nbgrader's source format, for instructors who already run nbgrader.

nbgrader reads ``source/<assignment>/<notebook>.ipynb`` with ``metadata.nbgrader`` on each cell
(schema version 3): ``solution`` cells hold the ``### BEGIN SOLUTION`` regions, ``grade`` cells are
the autograder tests (our check cells, hidden regions kept, worth the task's points), and every
other code cell is ``locked``. ``nbgrader generate_assignment`` then strips them as it always does.
"""

from __future__ import annotations

from pathlib import Path

from typing import TYPE_CHECKING

from ._source import Assignment, load, notebook_text

if TYPE_CHECKING:
    import nbformat

SCHEMA_VERSION = 3


def nbgrader_notebook(assignment: Assignment) -> nbformat.NotebookNode:
    import nbformat  # here, not at the top: it costs about 1 s, and the widgets import this package

    nb = nbformat.v4.new_notebook(metadata=assignment.notebook("student").metadata)
    for cell in assignment.cells:
        label = cell.label or (cell.role if cell.task is None else f"{cell.task}-{cell.role}")
        if cell.role == "markdown":
            nbcell = nbformat.v4.new_markdown_cell(cell.source)
            meta = {"grade": False, "solution": False, "locked": True}
        elif cell.role == "setup":
            nbcell = nbformat.v4.new_code_cell(cell.source)
            meta = {"grade": False, "solution": False, "locked": True}
        elif cell.role == "answer":
            nbcell = nbformat.v4.new_code_cell(cell.source)  # the markers stay: nbgrader strips them
            meta = {"grade": False, "solution": True, "locked": False}
        else:
            nbcell = nbformat.v4.new_code_cell(cell.source)  # self-check + hidden tests
            meta = {"grade": True, "solution": False, "locked": True,
                    "points": assignment.tasks[cell.task].points}
        count = sum(1 for c in nb.cells if c.metadata["nbgrader"]["grade_id"].startswith(label))
        grade_id = label if count == 0 else f"{label}-{count + 1}"
        nbcell.metadata["nbgrader"] = {**meta, "grade_id": grade_id, "schema_version": SCHEMA_VERSION}
        nbcell.id = grade_id
        nb.cells.append(nbcell)
    nbformat.validate(nb)
    return nb


def export_nbgrader(source: str | Path, course_dir: str | Path) -> Path:
    """Write ``course_dir/source/<name>/<name>.ipynb``; returns its path."""
    assignment = load(source)
    target = Path(course_dir) / "source" / assignment.name / f"{assignment.name}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(notebook_text(nbgrader_notebook(assignment)), encoding="utf-8")
    return target
