"""The public surface: ``kms_teach.__all__``, the error tree and the import layers of the architecture."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
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


def _core_modules():
    """Every module of the package but the course's (widgets, grading and exercises have their own tests)."""
    import importlib
    import pkgutil

    for info in pkgutil.walk_packages(kms_teach.__path__, "kms_teach."):
        if info.name.split(".")[1] in ("widgets", "grading", "exercises", "__main__"):
            continue
        yield importlib.import_module(info.name)


def test_errors_are_written_out_under_the_documented_tree():
    from kms_teach import _errors

    classes = {name: obj for name, obj in vars(_errors).items()
               if isinstance(obj, type) and issubclass(obj, BaseException) and obj.__module__ == _errors.__name__}
    assert set(_errors.__all__) == set(classes)
    drawn = set()
    for line in _errors.__doc__.splitlines():
        words = line.replace("├──", " ").replace("└──", " ").replace("│", " ").split()
        if words and words[0] in classes:
            drawn.add(words[0])
    assert drawn == set(classes), set(classes) - drawn
    for cls in classes.values():
        assert issubclass(cls, kms_teach.KMSTeachError), cls
        if issubclass(cls, kms_teach.AWSError) and cls is not _errors.KMSErrorInS3:
            assert isinstance(cls.code, str) and cls.code and 300 <= cls.status < 600, cls
    codes = [cls.code for cls in classes.values() if issubclass(cls, kms_teach.AWSError)]
    assert len(codes) == len(set(codes)), "two classes answer with one code"


def test_every_exception_the_package_defines_is_under_the_base():
    for module in _core_modules():
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, BaseException) and obj.__module__.startswith("kms_teach"):
                assert issubclass(obj, kms_teach.KMSTeachError), f"{obj.__module__}.{obj.__qualname__}"


def test_a_code_cannot_be_made_up():
    from kms_teach import _errors

    with pytest.raises(TypeError):
        kms_teach.AWSError("no such code", code="NoSuchCodeException")
    with pytest.raises(TypeError):
        _errors.NotFoundException("a KMS error takes no S3 details", BucketName="x")
    with pytest.raises(ImportError):
        from kms_teach._errors import NotFoundExcepton  # noqa: F401  (misspelt)
    assert not hasattr(_errors, "error_class")
    wrapped = _errors.KMSErrorInS3(_errors.DisabledException("off"))
    assert (wrapped.code, wrapped.status, wrapped.message) == ("KMS.DisabledException", 400, "off")


# The layers of the architecture are import-linter contracts in pyproject.toml ([tool.importlinter]);
# these tests run them, so the README's test command checks the layering.
REPO = PACKAGE.parent


def _lint_imports(config: Path) -> subprocess.CompletedProcess:
    lint = Path(sys.executable).with_name("lint-imports")
    command = [str(lint)] if lint.exists() else [sys.executable, "-m", "importlinter.cli"]
    return subprocess.run([*command, "--config", str(config), "--no-cache"], cwd=REPO, capture_output=True,
                          text=True, timeout=300)


def test_the_import_contracts_are_kept():
    result = _lint_imports(REPO / "pyproject.toml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_broken_layer_is_caught(tmp_path):
    # The same tool on a contract the package cannot keep (the wire below the services it serves, the
    # services below the policies they use): lint-imports must fail, so a green run above means something.
    config = tmp_path / "broken.toml"
    config.write_text(
        '[tool.importlinter]\nroot_package = "kms_teach"\n\n'
        '[[tool.importlinter.contracts]]\nname = "upside down"\ntype = "layers"\n'
        'layers = ["kms_teach._policy", "kms_teach._services", "kms_teach._wire"]\n'
    )
    result = _lint_imports(config)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout and "kms_teach._services" in result.stdout


def test_every_module_is_in_a_layer():
    """A new top-level module or package must be placed in the layers contract, not slip past it."""
    text = (REPO / "pyproject.toml").read_text()
    tops = {p.stem for p in PACKAGE.glob("*.py")} | {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    unplaced = {name for name in tops - {"__init__"} if f'"kms_teach.{name}"' not in text
                and f"kms_teach.{name} |" not in text and f"| kms_teach.{name}" not in text}
    assert not unplaced, unplaced


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
    code = ("import sys, kms_teach, kms_teach.widgets, kms_teach.grading; "
            "print(sorted(m for m in ('nbformat', 'nbclient', 'jupyter_client') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
