"""Layer 1: Ed25519ph (RFC 8032, section 5.1) - the pre-hashed variant of Ed25519.

KMS signs with ``ED25519_PH_SHA_512`` when the caller sends a SHA-512 digest
(``MessageType=DIGEST``); as AWS documents, KMS still applies the prehash, so
the signed value is Ed25519ph of the caller's digest. pyca ``cryptography``
implements only pure Ed25519, so this module follows the RFC's reference
algorithm in Python: the same private key (its 32-byte seed) signs
``dom2(phflag=1, context="") || SHA-512(message)``. Slow (a few milliseconds
per signature) but exact; ``tests/unit/test_interop.py`` checks it against
RFC 8032's published Ed25519ph test vector.
"""

from __future__ import annotations

import hashlib

__all__ = ["sign", "verify", "public_key"]

_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)
_DOM2 = b"SigEd25519 no Ed25519 collisions" + bytes([1, 0])  # phflag = 1, empty context


def _sha512(data: bytes) -> bytes:
    return hashlib.sha512(data).digest()


def _add(p, q):
    x1, y1, z1, t1 = p
    x2, y2, z2, t2 = q
    a = (y1 - x1) * (y2 - x2) % _P
    b = (y1 + x1) * (y2 + x2) % _P
    c = 2 * t1 * t2 * _D % _P
    d = 2 * z1 * z2 % _P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _mul(s: int, p):
    q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            q = _add(q, p)
        p = _add(p, p)
        s >>= 1
    return q


def _equal(p, q) -> bool:
    x1, y1, z1, _ = p
    x2, y2, z2, _ = q
    return (x1 * z2 - x2 * z1) % _P == 0 and (y1 * z2 - y2 * z1) % _P == 0


def _recover_x(y: int, sign: int):
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P)
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P != 0:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P != 0:
        return None
    if (x & 1) != sign:
        x = _P - x
    return x


_GY = 4 * pow(5, _P - 2, _P) % _P
_GX = _recover_x(_GY, 0)
_G = (_GX, _GY, 1, _GX * _GY % _P)


def _compress(p) -> bytes:
    x, y, z, _ = p
    zinv = pow(z, _P - 2, _P)
    x, y = x * zinv % _P, y * zinv % _P
    return int.to_bytes(y | ((x & 1) << 255), 32, "little")


def _decompress(data: bytes):
    if len(data) != 32:
        return None
    y = int.from_bytes(data, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    if x is None:
        return None
    return (x, y, 1, x * y % _P)


def _expand(seed: bytes) -> tuple[int, bytes]:
    h = _sha512(seed)
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    return a, h[32:]


def public_key(seed: bytes) -> bytes:
    """The 32-byte public key of a 32-byte Ed25519 private key seed."""
    a, _ = _expand(seed)
    return _compress(_mul(a, _G))


def sign(seed: bytes, digest: bytes) -> bytes:
    """Ed25519ph signature of a 64-byte SHA-512 ``digest`` with the key ``seed``."""
    a, prefix = _expand(seed)
    pub = _compress(_mul(a, _G))
    r = int.from_bytes(_sha512(_DOM2 + prefix + digest), "little") % _L
    rs = _compress(_mul(r, _G))
    h = int.from_bytes(_sha512(_DOM2 + rs + pub + digest), "little") % _L
    s = (r + h * a) % _L
    return rs + int.to_bytes(s, 32, "little")


def verify(public: bytes, digest: bytes, signature: bytes) -> bool:
    """True if ``signature`` is a valid Ed25519ph signature of ``digest`` under ``public``."""
    if len(public) != 32 or len(signature) != 64:
        return False
    a = _decompress(public)
    if a is None:
        return False
    r = _decompress(signature[:32])
    if r is None:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= _L:
        return False
    h = int.from_bytes(_sha512(_DOM2 + signature[:32] + public + digest), "little") % _L
    return _equal(_mul(s, _G), _add(r, _mul(h, a)))
