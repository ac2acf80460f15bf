"""Layer 4: what the three wire protocols share - botocore's models, the answer, bounds, base64.

* :func:`isolated_session`, :func:`boto3_session`, :func:`service_model`:
  botocore's service models (which drive every codec), read from no AWS
  configuration at all;
* :class:`WireResponse`: the answer every protocol gives (status, headers, body);
* :func:`check_bounds`: a ``min``/``max`` violation of the model, worded as AWS words it;
* strict base64 for blobs.
"""

from __future__ import annotations

import base64
import os
import threading
from typing import Any

import botocore.configprovider as cp
import botocore.session

__all__ = ["isolated_session", "boto3_session", "service_model", "WireResponse", "check_bounds", "INT_RANGES"]

#: What a member of each integer type can hold (Smithy: Integer is 32 bits, Long 64, both signed);
#: a number past it is refused as the protocol refuses a malformed value, never carried inward.
INT_RANGES = {"integer": (-(2 ** 31), 2 ** 31 - 1), "long": (-(2 ** 63), 2 ** 63 - 1)}

_session = None
_session_lock = threading.Lock()
_models: dict[str, Any] = {}


def isolated_session() -> botocore.session.Session:
    """One botocore session per process, reading no AWS configuration at all.

    Every setting keeps botocore's default but is read from no environment
    variable and no config or credentials file: a learner's real AWS profile
    can never leak into, or be used by, the simulated cloud. Sharing it also
    shares botocore's loaded service models, the slow part of making a client.
    """
    global _session
    with _session_lock:
        if _session is None:
            defaults = getattr(cp, "BOTOCORE_DEFAUT_SESSION_VARIABLES", None) or cp.BOTOCORE_DEFAULT_SESSION_VARIABLES
            isolated = {name: (None, None, default, conv) for name, (_c, _e, default, conv) in defaults.items()}
            isolated["config_file"] = (None, None, os.devnull, None)
            isolated["credentials_file"] = (None, None, os.devnull, None)
            _session = botocore.session.Session(session_vars=isolated)
        return _session


_boto3_session = None


def boto3_session():
    """The one boto3 Session every in-process client is made from, over :func:`isolated_session`.

    boto3 registers its customisations (S3's ``upload_file`` and friends) on the
    botocore session once per ``boto3.Session``: a second one over the same
    botocore session would register them again, and S3 clients would fail
    ("Cannot inject class attribute upload_file"). One Session also keeps
    handlers from piling up with every client made.
    """
    global _boto3_session
    session = isolated_session()
    with _session_lock:
        if _boto3_session is None:
            import boto3.session

            _boto3_session = boto3.session.Session(botocore_session=session)
        return _boto3_session


def service_model(name: str):
    """botocore's service model for ``name`` (cached per process)."""
    model = _models.get(name)
    if model is None:
        model = _models[name] = isolated_session().get_service_model(name)
    return model


class WireResponse:
    """Status, headers and body of an answer. Content-Length is the transport's to add
    (an HTTP server frames the body itself; in-process, botocore reads the bytes).

    ``body`` is bytes, or for a large S3 object a stream (an iterable of byte chunks with
    ``read(amt)``; its length is in the answer's Content-Length header), sent as it is read."""

    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: dict[str, str], body: bytes):
        self.status = status
        self.headers = headers
        self.body = body


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def check_bounds(kind: str, lo, hi, n, shown: Any, path: str, errors: list) -> None:
    """Record a ``min``/``max`` violation of the service model as AWS words it (``kind``: length or value).

    Shared by every protocol's decoder, so JSON, query and REST requests are refused alike.
    """
    if lo is not None and n < lo:
        errors.append((path, shown, f"Member must have {kind} greater than or equal to {lo}"))
    if hi is not None and n > hi:
        errors.append((path, shown, f"Member must have {kind} less than or equal to {hi}"))


try:  # SIMD base64: a 4 KB ciphertext decodes in ~0.5 us instead of ~7 us (measured in bench/)
    import pybase64 as _pybase64

    def _b64decode_strict(value: str) -> bytes:
        return _pybase64.b64decode(value, validate=True)

    def _b64encode(value: bytes) -> str:
        return _pybase64.b64encode_as_string(value)

except ImportError:  # pragma: no cover - pybase64 is a dependency; the standard library is the fallback

    def _b64decode_strict(value: str) -> bytes:
        return base64.b64decode(value, validate=True)

    def _b64encode(value: bytes) -> str:
        return base64.b64encode(value).decode("ascii")
