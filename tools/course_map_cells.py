"""Print docs/course-map.md with each notebook section resolved to the cells that teach it.

`02 §3` becomes `02_data_keys.ipynb §3, cells 14-17 (nb02-010 …)`: the heading cell of section 3
and the code cells up to the next section, numbered from 1 as JupyterLab shows them.
Usage: .venv/bin/python tools/course_map_cells.py > /tmp/course-map-cells.md
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def sections(path: Path) -> dict[int, tuple[int, list[tuple[int, str]]]]:
    """section number -> (heading cell number, [(cell number, id) of its code cells])."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    out: dict[int, tuple[int, list[tuple[int, str]]]] = {}
    current = None
    for n, cell in enumerate(cells, start=1):
        src = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            for heading in re.findall(r"^## (.*)", src, re.M):
                found = re.match(r"(\d+)\. ", heading)
                if found:
                    current = int(found.group(1))
                    out[current] = (n, [])
                else:
                    current = None  # "What you saw", "Self-check", ...
        elif current is not None:
            out[current][1].append((n, cell.get("id", "?")))
    return out


def main() -> int:
    books = {p.name[:2]: p for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))}
    index = {k: sections(p) for k, p in books.items()}
    print("| Notes section | Point | Notebook, section and cells |")
    print("|---|---|---|")
    for line in (ROOT / "docs" / "course-map.md").read_text(encoding="utf-8").splitlines():
        if not line.startswith("| ") or line.startswith("| Notes section"):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        where = []
        for nb, sec in re.findall(r"(\d\d) §(\d+)", cells[2]):  # the quoted phrases are for the test
            heading, code = index[nb][int(sec)]
            if not code:  # a section taught in prose (the exam-style review)
                where.append(f"`{books[nb].name}` §{sec} (markdown cell {heading})")
                continue
            span = f"cells {code[0][0]}-{code[-1][0]}" if len(code) > 1 else f"cell {code[0][0]}"
            where.append(f"`{books[nb].name}` §{sec} (code {span}; first `{code[0][1]}`)")
        print(f"| {cells[0]} | {cells[1]} | {'; '.join(where)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
