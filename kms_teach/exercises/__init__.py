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
from typing import Callable

from .._clock import Clock
from .._cloud import Cloud
from .._model import DEFAULT_ACCOUNT

START = dt.datetime(2027, 3, 1, 9, 0, tzinfo=dt.timezone.utc)
ACCOUNT = DEFAULT_ACCOUNT
PENDING = "The hidden checks run when your notebook is graded: they try other inputs too."


class Failed(Exception):
    """A self-check that found a problem; the message is what the learner reads."""


def fresh(seed: int = 7, region: str = "us-east-1"):
    """A new cloud with a frozen clock, and a KMS client of the account's root user."""
    cloud = Cloud(clock=Clock(START, frozen=True), seed=seed)
    return cloud, cloud.client("kms", region_name=region)


def error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None


def self_check(task: str) -> Callable:
    """Decorate a check: it prints the verdict, never raises, and returns True when it passed."""

    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def run(*args, **kwargs) -> bool:
            try:
                fn(*args, **kwargs)
            except NotImplementedError:
                print(f"[ ] {task}: not answered yet - replace the NotImplementedError line with your code.")
                return False
            except Failed as exc:
                print(f"[x] {task}: {exc}")
                return False
            except Exception as exc:  # the learner's code raised: show it plainly
                code = error_code(exc)
                what = f"{code}: {exc}" if code else f"{type(exc).__name__}: {exc}"
                print(f"[x] {task}: your code raised {what}")
                return False
            print(f"[ok] {task}: self-check passed. {PENDING}")
            return True

        return run

    return wrap


def allows_everyone(policy) -> bool:
    """Does an Allow statement of this key policy (JSON text or dict) name Principal "*"?"""
    import json

    doc = json.loads(policy) if isinstance(policy, str) else policy
    statements = doc.get("Statement", [])
    for st in statements if isinstance(statements, list) else [statements]:
        principal = st.get("Principal")
        aws = principal.get("AWS") if isinstance(principal, dict) else principal
        names = aws if isinstance(aws, list) else [aws]
        if st.get("Effect") == "Allow" and "*" in names:
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


def files_holding(folder, secrets) -> list[str]:
    """Files under ``folder`` (recursively) holding any of ``secrets`` in any of its :func:`forms`."""
    from pathlib import Path

    found = []
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if any(f in data for s in secrets for f in forms(s)):
                found.append(str(path))
    return found


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise Failed(message)


from ._audit import audit_scenario  # noqa: E402  (these use fresh, above)
from ._policies import explain_all, lockout_cases, policy_matrix  # noqa: E402
