"""docs/course-map.md: every section of the course notes is mapped, and every notebook section it names exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAP = ROOT / "docs" / "course-map.md"

# The headings of kms-course-notes.md, in order, spelled as the notes spell them (typo included), without the
# comment line inside the notes' bash block. The notes live outside this repository, so they are copied here.
NOTES_SECTIONS = [
    "Key Management Service (KMS)", "KMS Keys", "Types of Keys", "Customer Owned", "AWS Managed Keys",
    "Encryption in KMS", "Command for encrypting a file with AWS KMS", "Command to decrypt with KMS",
    "Decryption in KMS", "Permissions", "Key Polcies",
    "Data Encryption Keys (DEKs) - for encrypting data that is more than 4KB", "DEK generation",
    "Encrypting/Decrypting with DEKs", "Creating a Key", "Setting Key Rotation", "Deleting Keys",
]


def _rows() -> list[tuple[str, str, str]]:
    rows = []
    for line in MAP.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| ") or line.startswith("| Notes section") or line.startswith("|---"):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        assert len(cells) == 3, line
        rows.append((cells[0], cells[1], cells[2]))
    return rows


def _notebook_sections() -> dict[str, set[int]]:
    """'02' -> the numbers of the '## N. Title' sections of notebooks/02_*.ipynb."""
    out = {}
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        numbers = set()
        for cell in nb["cells"]:
            if cell["cell_type"] == "markdown":
                numbers |= {int(n) for n in re.findall(r"^## (\d+)\. ", "".join(cell["source"]), re.M)}
        out[path.name[:2]] = numbers
    return out


def test_every_section_of_the_course_notes_is_mapped_in_the_notes_order():
    sections = [s for s, _, _ in _rows()]
    assert set(sections) == set(NOTES_SECTIONS)
    first_seen = list(dict.fromkeys(sections))
    assert first_seen == NOTES_SECTIONS


def test_every_point_names_notebook_sections_that_exist():
    existing = _notebook_sections()
    assert len(existing) >= 7
    rows = _rows()
    assert len(rows) >= 40
    for section, point, where in rows:
        refs = re.findall(r"(\d\d) §(\d+)", where)
        assert refs and len(refs) == where.count("§"), (point, where)
        for notebook, number in refs:
            assert int(number) in existing.get(notebook, set()), f"{point!r}: {notebook} §{number} does not exist"
