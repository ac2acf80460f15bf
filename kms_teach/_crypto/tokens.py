"""Layer 1: tokens this cloud issues and alone can verify (grant tokens).

A token is its body followed by the first 16 bytes of HMAC-SHA256 (RFC 2104)
of the body under the cloud's secret: anyone can read the body, nobody without
the secret can make one that verifies.
"""

from __future__ import annotations

import hmac

__all__ = ["seal_token", "open_token"]

_TAG_LEN = 16


def _tag(secret: bytes, body: bytes) -> bytes:
    return hmac.digest(secret, body, "sha256")[:_TAG_LEN]


def seal_token(secret: bytes, body: bytes) -> bytes:
    """``body | tag``."""
    return body + _tag(secret, body)


def open_token(secret: bytes, token: bytes) -> bytes | None:
    """The body of a token sealed under ``secret``, or None (compared in constant time)."""
    if len(token) <= _TAG_LEN:
        return None
    body, tag = token[:-_TAG_LEN], token[-_TAG_LEN:]
    return body if hmac.compare_digest(_tag(secret, body), tag) else None
