#!/usr/bin/env python3
"""Build the course notebooks from their Python source and execute them.

The notebooks in ``notebooks/`` are generated: their cells are written as
Python in ``tools/nbsrc/nbNN_<slug>.py``. This script assembles each one with
nbformat, executes it top to bottom with nbclient in a fresh kernel of *this*
interpreter (so run it with the project's virtualenv), and writes it with its
real outputs. Those stored outputs are what ``pytest --nbval`` compares a
fresh run against, so a notebook that drifts from its source, or from the
behaviour of kms_teach, fails the test suite.

Usage (from the repository root)::

    .venv/bin/python tools/build_notebooks.py            # build and execute every notebook
    .venv/bin/python tools/build_notebooks.py 00         # only notebooks whose file name starts with 00
    .venv/bin/python tools/build_notebooks.py --check    # exit 1 if a committed notebook is out of date
    .venv/bin/python tools/build_notebooks.py --list     # the notebooks this script knows

The output is deterministic: cell IDs are derived from the notebook and cell
position, nbclient's timing metadata is not recorded, and the notebooks pin
their clock and random seed, so rebuilding an unchanged source gives a
byte-identical file.

Widgets. A kms_teach widget displays a live ipywidgets view *and* a static
HTML picture of its state (``text/html``). The committed notebooks keep only
the picture: the live view's model exists only in a running kernel, so a
reader who opens the notebook before running it (in JupyterLab or on GitHub)
sees the figure instead of "widget model not found". Running the notebook
brings the live widgets back.

Figures. The static diagrams and console sketches of ``tools/nbsrc/_figures.py``
are written to ``notebooks/figures/<name>.svg`` (``--check`` compares them too);
the notebooks show them with relative Markdown images.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

TOOLS = Path(__file__).resolve().parent
ROOT = TOOLS.parent
NOTEBOOK_DIR = ROOT / "notebooks"
FIGURE_DIR = NOTEBOOK_DIR / "figures"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

sys.path.insert(0, str(TOOLS))
sys.path.insert(1, str(ROOT))  # this checkout's kms_teach, installed or not
import nbsrc  # noqa: E402  (tools/nbsrc, importable once TOOLS is on the path)
from nbsrc import _figures  # noqa: E402
from kms_teach.grading import KERNELSPEC, kernel_manager, notebook_text  # noqa: E402

# The d2l-style shape every course notebook keeps, in this order (markdown headings).
REQUIRED_SECTIONS = ("## Objectives", "## What you saw", "## Self-check", "## Next")


# ---------------------------------------------------------------------------- build


def assemble(module) -> nbformat.NotebookNode:
    """The notebook a source module describes, without outputs."""
    nb = nbformat.v4.new_notebook()
    nb.cells = list(module.cells())
    prefix = Path(module.FILENAME).stem.split("_", 1)[0]
    for index, cell in enumerate(nb.cells):
        cell.id = f"nb{prefix}-{index:03d}"  # stable IDs: no churn on rebuild
    nb.metadata = nbformat.NotebookNode(
        kernelspec=nbformat.NotebookNode(KERNELSPEC),
        language_info=nbformat.NotebookNode(name="python"),
    )
    if getattr(module, "COURSE_NOTEBOOK", True):
        check_shape(module.FILENAME, nb)
    return nb


def check_shape(filename: str, nb: nbformat.NotebookNode) -> None:
    """Refuse a notebook that lacks the course's fixed section shape."""
    problems = []
    if not nb.cells or nb.cells[0].cell_type != "markdown" or not nb.cells[0].source.startswith("# "):
        problems.append("the first cell must be a markdown cell starting with a '# ' title")
    headings = [
        line.strip()
        for cell in nb.cells
        if cell.cell_type == "markdown"
        for line in cell.source.splitlines()
        if line.startswith("## ")
    ]
    positions = []
    for section in REQUIRED_SECTIONS:
        found = [i for i, h in enumerate(headings) if h == section or h.startswith(section + " ")]
        if not found:
            problems.append(f"missing the section {section!r}")
        else:
            positions.append(found[0])
    if positions != sorted(positions):
        problems.append(f"sections must come in the order {', '.join(REQUIRED_SECTIONS)}")
    self_check = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown" and "## Self-check" in c.source)
    if self_check and "<details>" not in self_check:
        problems.append("the Self-check answers must be hidden in <details> blocks")
    if problems:
        raise ValueError(f"{filename}: " + "; ".join(problems))


def execute(nb: nbformat.NotebookNode, *, timeout: int) -> nbformat.NotebookNode:
    """Run every cell in a fresh kernel (cwd = notebooks/), storing the outputs in ``nb``."""
    client = NotebookClient(
        nb,
        km=kernel_manager(),  # python3 = ipykernel in this interpreter
        shutdown_kernel="immediate",
        timeout=timeout,
        record_timing=False,  # no wall-clock timestamps in the stored notebook
        allow_errors=False,  # only cells tagged raises-exception may raise
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    # The kernel's own stderr is only ipykernel start-up noise; cell output arrives over the kernel protocol.
    client.execute(stderr=subprocess.DEVNULL, cleanup_kc=True)
    return nb


def normalise(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Keep only stable metadata, so a rebuild on another machine does not churn the file."""
    info = nb.metadata.get("language_info", {})
    nb.metadata["language_info"] = nbformat.NotebookNode(
        {k: info[k] for k in ("name", "codemirror_mode", "file_extension", "mimetype", "nbconvert_exporter",
                              "pygments_lexer") if k in info}
    )
    nb.metadata["kernelspec"] = nbformat.NotebookNode(KERNELSPEC)
    nb.metadata.pop("widgets", None)  # widget state: random model IDs, and no kernel to own them
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        for out in cell.get("outputs", []):
            data = out.get("data")
            if data and WIDGET_VIEW in data and len(data) > 1:
                del data[WIDGET_VIEW]  # keep the static picture (text/html) and the text
    nbformat.validate(nb)
    return nb


def build(module, *, run: bool, timeout: int) -> str:
    nb = assemble(module)
    if run and any(cell.cell_type == "code" for cell in nb.cells):
        execute(nb, timeout=timeout)
        check_no_stderr(nb, module.FILENAME)
    return notebook_text(normalise(nb))


def check_no_stderr(nb: nbformat.NotebookNode, filename: str) -> None:
    """A warning on stderr is noise a learner cannot act on (and nbval ignores it in widget cells): refuse it."""
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                raise StderrOutput(f"{filename}: cell {i} ({cell.get('id')}) wrote to stderr:\n{out['text'][:600]}")


class StderrOutput(Exception):
    pass


def comparable(text: str | None):
    """A notebook's content for up-to-date checks: the outputs of cells tagged
    ``nbval-ignore-output`` (widgets, with random model IDs) and widget state do not count."""
    if text is None:
        return None
    doc = json.loads(text)
    doc.get("metadata", {}).pop("widgets", None)
    for cell in doc.get("cells", []):
        if "nbval-ignore-output" in cell.get("metadata", {}).get("tags", []):
            # stderr still counts: a stale warning must not survive in the committed copy.
            cell["outputs"] = [o for o in cell.get("outputs", []) if o.get("name") == "stderr"]
        # How a kernel splits printed text into stream messages depends on timing: join them.
        merged = []
        for out in cell.get("outputs", []):
            if (out.get("output_type") == "stream" and merged and merged[-1].get("output_type") == "stream"
                    and merged[-1].get("name") == out.get("name")):
                merged[-1] = dict(merged[-1], text="".join(merged[-1]["text"]) + "".join(out["text"]))
            else:
                merged.append(dict(out, text="".join(out["text"])) if out.get("output_type") == "stream" else out)
        if "outputs" in cell:
            cell["outputs"] = merged
    return doc


# ---------------------------------------------------------------------------- figures


def figures(*, check: bool) -> list[str]:
    """Write (or with ``check`` compare) ``notebooks/figures/*.svg``; the stale ones, relative to the root."""
    FIGURE_DIR.mkdir(parents=True, exist_ok=True)
    stale = []
    wanted = {f"{name}.svg" for name in _figures.FIGURES}
    for name in _figures.FIGURES:
        path = FIGURE_DIR / f"{name}.svg"
        text = _figures.render(name)
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != text:
            stale.append(str(path.relative_to(ROOT)))
            if not check:
                path.write_text(text, encoding="utf-8")
    for path in sorted(FIGURE_DIR.glob("*.svg")):
        if path.name not in wanted:
            stale.append(f"{path.relative_to(ROOT)} (no longer drawn)")
            if not check:
                path.unlink()
    return stale


# ---------------------------------------------------------------------------- command line


def _select(patterns: list[str]):
    modules = nbsrc.load_all()
    if not patterns:
        return modules
    chosen = [m for m in modules if any(m.FILENAME.startswith(p) or m.__name__.endswith(p) for p in patterns)]
    if not chosen:
        known = ", ".join(m.FILENAME for m in modules)
        raise SystemExit(f"no notebook matches {patterns}; known: {known}")
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="file-name prefixes (e.g. 00) or module names; default: all")
    parser.add_argument("--check", action="store_true", help="build in memory; exit 1 if a notebook on disk differs")
    parser.add_argument("--no-execute", action="store_true", help="write the notebooks without running them")
    parser.add_argument("--timeout", type=int, default=120, help="seconds allowed per cell (default 120)")
    parser.add_argument("--list", action="store_true", help="list the notebooks and exit")
    args = parser.parse_args(argv)

    modules = _select(args.notebooks)
    if args.list:
        for m in modules:
            print(f"{m.FILENAME:40} tools/nbsrc/{m.__name__.split('.')[-1]}.py")
        return 0

    NOTEBOOK_DIR.mkdir(exist_ok=True)
    stale = []
    for path in figures(check=args.check):
        print(f"{path}: {'OUT OF DATE' if args.check else 'written'}")
        if args.check:
            stale.append(path)
    for module in modules:
        target = NOTEBOOK_DIR / module.FILENAME
        started = time.perf_counter()
        try:
            text = build(module, run=not args.no_execute, timeout=args.timeout)
        except (CellExecutionError, StderrOutput) as exc:
            print(f"{module.FILENAME}: a cell failed while executing; nothing written.\n{exc}", file=sys.stderr)
            return 1
        elapsed = time.perf_counter() - started
        current = target.read_text(encoding="utf-8") if target.exists() else None
        rel = target.relative_to(ROOT)
        if args.check:
            if comparable(current) != comparable(text):
                stale.append(str(rel))
                print(f"{rel}: OUT OF DATE ({elapsed:.1f}s)")
            else:
                print(f"{rel}: up to date ({elapsed:.1f}s)")
        elif comparable(current) == comparable(text):
            print(f"{rel}: unchanged ({elapsed:.1f}s)")
        else:
            target.write_text(text, encoding="utf-8")
            print(f"{rel}: written ({elapsed:.1f}s)")
    if stale:
        print(f"rebuild with: .venv/bin/python tools/build_notebooks.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
