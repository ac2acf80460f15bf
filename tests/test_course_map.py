"""docs/course-map.md: every section of the course notes is mapped, every notebook section it names exists,
and each named section really teaches the point: the phrase quoted after it is in that section."""

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

# `00 §10 "a phrase"`: the phrase may contain \" for a quote.
REFERENCE = re.compile(r'(\d\d) §(\d+) "((?:[^"\\]|\\.)*)"')


def _rows() -> list[tuple[str, str, str]]:
    rows = []
    for line in MAP.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| ") or line.startswith("| Notes section") or line.startswith("|---"):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        assert len(cells) == 3, line
        rows.append((cells[0], cells[1], cells[2]))
    return rows


def _text(cell: dict) -> str:
    parts = ["".join(cell["source"])]
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append("".join(out["text"]))
    return "\n".join(parts)


def _notebook_sections() -> dict[str, dict[int, str]]:
    """'02' -> {section number: the text of its cells (markdown, code and printed output)}."""
    out = {}
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        sections: dict[int, list[str]] = {}
        current = None
        for cell in nb["cells"]:
            if cell["cell_type"] == "markdown":
                # A markdown cell may end one section and start the next: split it at its headings.
                for line in "".join(cell["source"]).splitlines():
                    heading = re.match(r"## (.*)", line)
                    if heading:
                        found = re.match(r"(\d+)\. ", heading.group(1))
                        current = int(found.group(1)) if found else None
                        if current is not None:
                            sections[current] = []
                    if current is not None:
                        sections[current].append(line)
            elif current is not None:
                sections[current].append(_text(cell))
        out[path.name[:2]] = {n: "\n".join(t) for n, t in sections.items()}
    return out


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).lower()


def test_every_section_of_the_course_notes_is_mapped_in_the_notes_order():
    sections = [s for s, _, _ in _rows()]
    assert set(sections) == set(NOTES_SECTIONS)
    first_seen = list(dict.fromkeys(sections))
    assert first_seen == NOTES_SECTIONS


def test_every_point_names_notebook_sections_that_exist_and_teach_it():
    existing = _notebook_sections()
    assert len(existing) >= 8
    rows = _rows()
    assert len(rows) >= 40
    for section, point, where in rows:
        refs = REFERENCE.findall(where)
        assert refs and len(refs) == where.count("§"), f"{point!r}: every reference needs a quoted phrase: {where}"
        for notebook, number, phrase in refs:
            text = existing.get(notebook, {}).get(int(number))
            assert text is not None, f"{point!r}: {notebook} §{number} does not exist"
            phrase = phrase.replace('\\"', '"')
            assert _normal(phrase) in _normal(text), f"{point!r}: {phrase!r} is not in {notebook} §{number}"


def test_the_checker_refuses_a_phrase_from_another_section():
    # The map check must be able to fail: a phrase of 07 §3 is not in 00 §3.
    existing = _notebook_sections()
    assert _normal("FIPS 140-2 at Level 2") in _normal(existing["07"][3])
    assert _normal("FIPS 140-2 at Level 2") not in _normal(existing["00"][3])


# ---------------------------------------------------------------------- graded work is taught first

SERVICES = ("kms", "cloudtrail", "iam", "sts", "s3")


def _operations() -> set[str]:
    """Every boto3 method name that is an API operation of a service the course uses."""
    import botocore.session
    from botocore import xform_name

    session = botocore.session.get_session()
    return {xform_name(op) for svc in SERVICES for op in session.get_service_model(svc).operation_names}


def _calls(source: str, operations: set[str]) -> tuple[set[str], set[str]]:
    """(operations called as ``x.op(``, operations paged: ``get_paginator("op")`` or a Marker/NextToken loop)."""
    called = {m for m in re.findall(r"\.([a-z_][a-z0-9_]*)\(", source) if m in operations}
    paged = {m for m in re.findall(r"get_paginator\(\s*[\"']([a-z_]+)[\"']", source) if m in operations}
    if re.search(r"\b(Marker|NextToken)\s*=", source) or re.search(r"\*\*\(\{\"NextToken\"", source):
        paged |= called
    return called | paged, paged


def _notebook_code() -> dict[str, list[str]]:
    out = {}
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        out[path.name[:2]] = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    return out


def _solution_calls() -> dict[str, tuple[str, set[str], set[str]]]:
    """exercise file -> (notebook number, operations its worked answers call, operations they page)."""
    operations = _operations()
    out = {}
    for path in sorted((ROOT / "solutions").glob("ex[0-9][0-9]_*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
        answers = [c for c in cells if (c["metadata"].get("kms_teach") or {}).get("role") == "answer"] or cells
        called, paged = set(), set()
        for cell in answers:
            c, p = _calls("".join(cell["source"]), operations)
            called |= c
            paged |= p
        out[path.name] = (path.name[2:4], called, paged)
    return out


def test_every_api_call_of_a_worked_answer_is_taught_at_or_before_its_notebook():
    operations = _operations()
    notebooks = _notebook_code()
    solutions = _solution_calls()
    assert len(solutions) >= 7 and any(called for _n, called, _p in solutions.values())
    for exercise, (number, called, paged) in solutions.items():
        taught, taught_paged = set(), set()
        for nb, sources in notebooks.items():
            if nb <= number:
                for source in sources:
                    c, p = _calls(source, operations)
                    taught |= c
                    taught_paged |= p
        missing = sorted(called - taught)
        assert not missing, f"{exercise} calls {missing}, which no notebook up to {number} teaches"
        unpaged = sorted(paged - taught_paged)
        assert not unpaged, f"{exercise} pages {unpaged}, which no notebook up to {number} shows page by page"


def test_the_taught_calls_check_can_fail():
    operations = _operations()
    assert _calls("kms.re_encrypt(CiphertextBlob=b)", operations) == ({"re_encrypt"}, set())
    assert _calls('c.get_paginator("list_keys").paginate()', operations)[1] == {"list_keys"}
    assert _calls("page = kms.list_aliases(Marker=m)", operations)[1] == {"list_aliases"}
    # notebook 00 teaches ListKeys paging, but not ReEncrypt (that is notebook 04's)
    taught = set().union(*(_calls(s, operations)[0] for s in _notebook_code()["00"]))
    assert "list_keys" in taught and "re_encrypt" not in taught
