"""Self-checks for the exercises: one line per task, immediate feedback aimed at the likely mistake.

A self-check runs the learner's function against a cloud of its own and prints either a pass (and
that the hidden checks run at grading: passing here is not full marks) or what looks wrong, in
words aimed at the misconception behind it. It never raises, so a notebook still runs top to bottom.

``kms_teach.exercises.exNN`` holds the checks of assignment exNN; the helpers below are shared by
them and by the hidden checks of the assignment sources.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from typing import Callable

from .._clock import Clock
from .._cloud import Cloud
from .._model import DEFAULT_ACCOUNT

START = dt.datetime(2027, 3, 1, 9, 0, tzinfo=dt.timezone.utc)
ACCOUNT = DEFAULT_ACCOUNT
PENDING = "The hidden checks run when your notebook is graded: they try other inputs too."


class Failed(Exception):
    """A self-check that found a problem; the message is what the learner reads."""


def fresh(seed: int = 7, region: str = "us-east-1", account_id: str = ACCOUNT):
    """A new cloud with a frozen clock, and a KMS client of the account's root user."""
    cloud = Cloud(clock=Clock(START, frozen=True), seed=seed, account_id=account_id)
    return cloud, cloud.client("kms", region_name=region)


def grading_rng():
    """Randomness for hidden checks: names, account IDs and scenarios nobody can know in advance, so an
    answer that hard-codes what the notes or the self-checks use fails."""
    import random

    return random.SystemRandom()


def error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None


class Verdict:
    """What a self-check returns: true when it passed. It displays nothing, so a check cell shows only the
    check's own line (a plain bool would be echoed as ``True``/``False`` under it)."""

    __slots__ = ("passed",)

    def __init__(self, passed: bool):
        self.passed = passed

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return f"Verdict(passed={self.passed})"

    def _ipython_display_(self) -> None:
        """IPython calls this instead of showing the result: nothing to add to the printed line."""


def self_check(task: str) -> Callable:
    """Decorate a check: it prints the verdict, never raises, and returns a :class:`Verdict`, true when it passed."""

    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def run(*args, **kwargs) -> Verdict:
            try:
                fn(*args, **kwargs)
            except NotImplementedError:
                print(f"[ ] {task}: not answered yet - replace the NotImplementedError line with your code.")
                return Verdict(False)
            except Failed as exc:
                print(f"[x] {task}: {exc}")
                return Verdict(False)
            except Exception as exc:  # the learner's code raised: show it plainly
                code = error_code(exc)
                what = f"{code}: {exc}" if code else f"{type(exc).__name__}: {exc}"
                print(f"[x] {task}: your code raised {what}")
                return Verdict(False)
            print(f"[ok] {task}: self-check passed. {PENDING}")
            return Verdict(True)

        return run

    return wrap


# Condition keys that name who the caller is: with one of them, Principal "*" is not everyone. (AWS KMS
# Developer Guide, "Key policies": AWS recommends Principal "*" with aws:PrincipalArn over NotPrincipal.)
_NAMING_KEYS = ("aws:principalarn", "aws:userid", "aws:username", "aws:sourcearn")


def allows_everyone(policy) -> bool:
    """Does an Allow statement of this key policy (JSON text or dict) name Principal "*" with no condition
    that says who the caller must be (``aws:PrincipalArn`` and the like)?"""
    import json

    doc = json.loads(policy) if isinstance(policy, str) else policy
    statements = doc.get("Statement", [])
    for st in statements if isinstance(statements, list) else [statements]:
        principal = st.get("Principal")
        aws = principal.get("AWS") if isinstance(principal, dict) else principal
        names = aws if isinstance(aws, list) else [aws]
        condition = st.get("Condition") if isinstance(st.get("Condition"), dict) else {}
        named = any(isinstance(pairs, dict) and any(str(k).lower() in _NAMING_KEYS for k in pairs)
                    for pairs in condition.values())
        if st.get("Effect") == "Allow" and "*" in names and not named:
            return True
    return False


def record_data_keys(kms) -> list[bytes]:
    """Every 32-byte plaintext key this client receives from now on (GenerateDataKey, Decrypt).

    The list fills as calls return: what a learner's code was handed, to look for later on disk.
    """
    seen: list[bytes] = []

    def keep(parsed=None, **_):
        plaintext = (parsed or {}).get("Plaintext")
        if isinstance(plaintext, (bytes, bytearray)) and len(plaintext) == 32:
            seen.append(bytes(plaintext))

    for op in ("GenerateDataKey", "Decrypt"):
        kms.meta.events.register(f"after-call.kms.{op}", keep)
    return seen


def forms(secret: bytes) -> list[bytes]:
    """The ways a key is commonly written down: raw, hex (both cases), base64 (with and without
    padding), a Python bytes literal (``repr``, ``str()`` of a response, ``json.dumps(default=str)``)
    and a list of numbers (``list(key)`` printed or dumped as JSON)."""
    import base64
    import json

    b64 = base64.b64encode(secret)
    literal = repr(secret)
    return [secret, secret.hex().encode(), secret.hex().upper().encode(), b64, b64.rstrip(b"="),
            base64.urlsafe_b64encode(secret), base64.urlsafe_b64encode(secret).rstrip(b"="),
            literal.encode(), json.dumps(literal)[1:-1].encode(), str(list(secret)).encode(),
            json.dumps(list(secret)).encode(), json.dumps(list(secret), separators=(",", ":")).encode()]


# ---------------------------------------------------------------------- files the learner's code wrote
#
# At grading, the learner's code runs in a sandbox and the checks outside it: a folder is shared
# (the same absolute path on both sides), and everything in it was written by code that may attack
# the checks. So files are opened through a directory descriptor, never following a symbolic link
# (a link to /etc/shadow, or to the instructor's sources, stays a link), only regular files are read
# (a FIFO would block), and at most MAX_FILE bytes of each.

MAX_FILE = 64 * 1024 * 1024
_work_root: str | None = None
_also_written: list[str] = []


def set_work_root(path, *others) -> None:
    """The folder the learner's code may write to, and any others it can write (the grader's checker
    sets them; default: the current folder, as in a self-check)."""
    global _work_root, _also_written
    _work_root = None if path is None else str(path)
    _also_written = [str(p) for p in others if p]


def work_root():
    """The learner's working folder (its current folder and HOME at grading)."""
    from pathlib import Path

    return Path(_work_root or ".").absolute()


def written_folders() -> list:
    """Every folder the learner's code could have written to: at grading, its working folder and
    its /tmp (seen from outside the sandbox); in a self-check, the current folder."""
    from pathlib import Path

    return [work_root(), *(Path(p) for p in _also_written)]


class Folder:
    """A folder shared with the learner's code, read and written without following links."""

    def __init__(self, path):
        from pathlib import Path

        self.path = Path(path)

    def _dir(self) -> int:
        return os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)

    def write(self, name: str, data: bytes) -> None:
        """Create ``name`` (it must not exist yet) holding ``data``."""
        d = self._dir()
        try:
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=d)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        finally:
            os.close(d)

    def read(self, name: str) -> bytes | None:
        """The bytes of the regular file ``name``, or None (missing, a link, a folder, a FIFO, ...)."""
        d = self._dir()
        try:
            return _read_regular(name, d)
        finally:
            os.close(d)

    def remove(self, name: str) -> None:
        d = self._dir()
        try:
            os.unlink(name, dir_fd=d)
        except FileNotFoundError:
            pass
        finally:
            os.close(d)

    def __truediv__(self, name: str):
        return self.path / name

    def __repr__(self) -> str:
        return f"Folder({str(self.path)!r})"


def _read_regular(name: str, dir_fd: int) -> bytes | None:
    import stat

    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read(MAX_FILE)
    finally:
        os.close(fd)


def work_folder(prefix: str = "check"):
    """A new, empty :class:`Folder` under :func:`work_root` with a name nobody can guess, for the
    checks to put files in and hand their paths to the learner's functions."""
    import secrets

    path = work_root() / f"{prefix}-{secrets.token_hex(6)}"
    os.mkdir(path, 0o777)  # fails if anything (a link, a file) took the name
    os.chmod(path, 0o777)  # writable from the sandbox, whatever its user
    return Folder(path)


def files_holding(folders, secrets) -> list[str]:
    """Files under ``folders`` (a folder or a list of them; recursively, links not followed) holding
    any of ``secrets`` in any of its :func:`forms`."""
    wanted = [f for s in secrets for f in forms(s)]
    found = []
    for folder in ([folders] if isinstance(folders, (str, os.PathLike)) else folders):
        for top, _dirs, files, top_fd in os.fwalk(str(folder), follow_symlinks=False):
            for name in sorted(files):
                data = _read_regular(name, top_fd)
                if data is not None and any(f in data for f in wanted):
                    found.append(os.path.join(top, name))
    return sorted(found)


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise Failed(message)


from ._audit import audit_scenario  # noqa: E402  (these use fresh, above)
from ._policies import LOCKOUT_HINTS, explain_all, lockout_cases, policy_matrix  # noqa: E402
