"""The public surface: ``kms_teach.__all__`` and the import layers of the architecture."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest

import kms_teach

PACKAGE = Path(kms_teach.__file__).parent


def test_public_names_are_exactly_all():
    assert sorted(kms_teach.__all__) == sorted(
        [
            "Cloud",
            "Clock",
            "RandomSource",
            "Principal",
            "KMSTeachError",
            "AWSError",
            "StoreError",
            "DEFAULT_ACCOUNT",
            "DEFAULT_REGION",
            "envelope",
            "__version__",
        ]
    )
    for name in kms_teach.__all__:
        assert hasattr(kms_teach, name), name
    # kms_teach.widgets (ipywidgets, matplotlib), kms_teach.grading (nbclient) and kms_teach.exercises
    # (the self-checks) are imported on their own; once imported they show up as attributes.
    public = {n for n in dir(kms_teach) if not n.startswith("_")} - {"widgets", "grading", "exercises"}
    assert public <= set(kms_teach.__all__), public - set(kms_teach.__all__)


def test_errors_form_the_documented_tree():
    from kms_teach import _errors

    assert issubclass(kms_teach.AWSError, kms_teach.KMSTeachError)
    assert issubclass(kms_teach.StoreError, kms_teach.KMSTeachError)
    for code, status in _errors.KMS_ERROR_CODES.items():
        cls = _errors.error_class(code)
        assert issubclass(cls, kms_teach.AWSError)
        assert cls.code == code and cls.status == status
        assert cls.__name__ in _errors.__doc__ or code in _errors.KMS_ERROR_CODES


# Layer of each module (architecture: each imports only modules of lower layers).
LAYERS = {
    "_errors": 0,
    "_crypto": 1,
    "_sigv4": 1,  # AWS Signature Version 4, pure
    "_clock": 1,
    "_model": 2,
    "_policy": 2,
    "_evaluation": 2.2,  # evaluates parsed policies
    "_store": 2.5,  # persists the model's records
    "_keyspecs": 1,
    "_ed25519ph": 0.5,  # pure maths, used by _keyspecs
    "_kms_common": 3,
    "_kms_keytypes": 3.2,
    "_kms_multiregion": 3.2,
    "_kms_import": 3.2,
    "_kms_grants": 3.2,
    "_authz": 3.3,  # the permissions engine (uses the grants module)
    "_cloudtrail": 3,
    "_iam": 3,
    "_kms": 3.5,
    "_s3": 3.6,  # calls KMS on the caller's behalf
    "_wire": 4,
    "_wire_query": 4.2,
    "_wire_rest": 4.3,  # REST-XML (S3)  # the query protocol (IAM, STS), next to JSON 1.1
    "_server": 4.4,  # the HTTP endpoint over Cloud.handle
    "_cloud": 4.5,  # binds the wire to botocore clients
    "envelope": 4.8,  # recipes: built on the public boto3 client only
    "exercises": 4.9,  # subpackage: self-checks over the public API
    "grading": 4.95,  # subpackage: assignments and the grader
    "__init__": 5,
    "__main__": 5,
}


def _kms_teach_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("kms_teach."):
            found.add(node.module.split(".")[1])
    return found


@pytest.mark.parametrize("module", sorted(LAYERS))
def test_each_module_imports_only_lower_layers(module):
    path = PACKAGE / f"{module}.py"
    if not path.exists():  # a subpackage: test_subpackages_import_only_below_them
        assert (PACKAGE / module / "__init__.py").exists(), module
        return
    for imported in _kms_teach_imports(path):
        assert imported in LAYERS, f"{module} imports unknown module {imported}"
        assert LAYERS[imported] < LAYERS[module], (
            f"{module} (layer {LAYERS[module]}) imports {imported} (layer {LAYERS[imported]})"
        )


def test_every_module_of_the_package_has_a_layer():
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    assert modules <= set(LAYERS), modules - set(LAYERS)


@pytest.mark.parametrize("package, forbidden", [("grading", {"widgets"}), ("exercises", {"widgets", "grading"})])
def test_subpackages_import_only_below_them(package, forbidden):
    for path in (PACKAGE / package).glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            top = None
            if isinstance(node, ast.ImportFrom) and node.level == 2:  # kms_teach's own modules
                top = (node.module or "").split(".")[0] or None
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("kms_teach."):
                top = node.module.split(".")[1]
            elif isinstance(node, ast.Import):
                names = [a.name.split(".")[1] for a in node.names if a.name.startswith("kms_teach.")]
                top = names[0] if names else None
            if top:
                assert top not in forbidden, (path, top)
                assert top in LAYERS and LAYERS[top] < LAYERS[package], (path, top)


def test_only_widgets_may_import_ipywidgets_or_matplotlib():
    for path in PACKAGE.rglob("*.py"):
        if "widgets" in path.parts:
            continue
        text = path.read_text()
        assert "import ipywidgets" not in text and "import matplotlib" not in text, path


def test_clock_moves_only_forward_and_is_timezone_aware():
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    clock = kms_teach.Clock(start, frozen=True)
    assert clock.now() == start
    assert clock.advance(days=1, hours=2) == start + dt.timedelta(days=1, hours=2)
    with pytest.raises(ValueError):
        clock.advance(days=-1)
    with pytest.raises(ValueError):
        kms_teach.Clock(dt.datetime(2026, 1, 1))
    running = kms_teach.Clock()
    assert running.now().tzinfo is not None
    assert running.now() <= running.now()


def test_clock_state_round_trips():
    start = dt.datetime(2026, 5, 1, tzinfo=dt.timezone.utc)
    clock = kms_teach.Clock(start, frozen=True)
    clock.advance(days=3)
    again = kms_teach.Clock.from_state(clock.to_state())
    assert again.now() == clock.now() and again.frozen


def test_grading_exports_exactly_its_all():
    from kms_teach import grading

    assert all(hasattr(grading, name) for name in grading.__all__)
    # Every function and class of kms_teach.grading reachable from the package is listed (imports such
    # as Path or nbformat are not kms_teach's).
    ours = {n for n in dir(grading) if not n.startswith("_")
            and getattr(getattr(grading, n), "__module__", "").startswith("kms_teach.grading")}
    assert ours <= set(grading.__all__), ours - set(grading.__all__)


def test_the_widgets_do_not_pull_in_the_grader_stack():
    # nbformat (jsonschema) costs about a second: every course notebook that imports kms_teach.widgets
    # paid it once the Quiz widget arrived, until grading imported it only where it is used.
    import subprocess
    import sys

    code = ("import sys, kms_teach, kms_teach.widgets, kms_teach.grading; "
            "print(sorted(m for m in ('nbformat', 'nbclient', 'jupyter_client') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
