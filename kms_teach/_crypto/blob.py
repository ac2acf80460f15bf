"""Layer 1: the ciphertext blob of the simulated KMS, and the sealing of secrets at rest, as pure functions.

Nothing here knows about KMS keys, accounts or state: these are functions over
bytes, built on pyca ``cryptography``. The service layer decides *which* backing
key to use; this module only does the maths and defines the byte formats.

The ciphertext blob (format version 1)
======================================

A symmetric ciphertext made by Encrypt, ReEncrypt or GenerateDataKey is::

    off   len  field
    0     2    magic b"KT" (0x4B 0x54): this is a kms_teach ciphertext blob
    2     1    format version = 1
    3     1    key ID form: 0 = UUID key ID, 1 = multi-Region key ID ("mrk-" + 32 hex)
    4     6    AWS account ID that owns the KMS key (48-bit big-endian integer)
    10    16   KMS key ID (the 16 bytes of the UUID, or of the 32 hex digits after "mrk-")
    26    32   key material ID: names the backing key that encrypted (64 hex digits in the API)
    58    16   KDF nonce N, random per call
    74    12   AES-GCM IV, random per call
    86    4    header check: SHA-256(bytes 0..85)[:4]
    90    n    AES-256-GCM ciphertext of the plaintext (n = plaintext length)
    90+n  16   AES-GCM authentication tag

* The key ID is *bound* into the blob, so Decrypt needs no KeyId, a multi-Region
  replica (same key ID, same backing keys) can decrypt, and a KeyId that names a
  different key is detected before any decryption (IncorrectKeyException).
* The key material ID is bound too, so after any number of rotations Decrypt
  picks the backing key that made the ciphertext.
* As in AWS, the backing key never encrypts data directly: a one-time key
  ``K = HKDF-SHA256(backing key, salt=N, info=b"kms_teach ciphertext v1")`` does.
* The additional authenticated data is the 90-byte header followed by the
  canonical encoding of the encryption context (below), so changing any header
  byte, any ciphertext byte or any pair of the context makes decryption fail.
  The header check makes a damaged header fail the same way even before a key
  is looked up.

Fidelity: AWS's real blob layout is undocumented and differs (it starts
``01 02 03 00 78`` and carries an opaque 32-byte key reference). This format
keeps the documented properties: key ID and backing-key ID bound, a per-call
KDF nonce, AES-256-GCM, header and encryption context authenticated.

Canonical encryption context encoding
=====================================

::

    u32  number of pairs
    then, for each pair in ascending order of the key's UTF-8 bytes:
    u32  length of key     | key as UTF-8
    u32  length of value   | value as UTF-8

Length prefixes make the encoding unambiguous: ``{"ab": "c"}`` and
``{"a": "bc"}`` encode differently (emulators that concatenate ``key+value``
cannot tell them apart). The order of pairs in a request never matters.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import struct
from typing import Mapping, NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .._errors import CryptoError
from .random_source import RandomSource

__all__ = [
    "CryptoError",
    "BLOB_MAGIC",
    "BLOB_VERSION",
    "BLOB_HEADER_LEN",
    "BLOB_OVERHEAD",
    "BlobHeader",
    "BLOB_FIELDS",
    "encode_encryption_context",
    "parse_blob_header",
    "seal_blob",
    "open_blob",
    "derive_key",
    "wrap_secret",
    "unwrap_secret",
    "key_id_to_bytes",
    "key_id_from_bytes",
]


# --------------------------------------------------------------------------
# Encryption context
# --------------------------------------------------------------------------

_U32 = struct.Struct(">I")


_EMPTY_CONTEXT = b"\x00\x00\x00\x00"


def encode_encryption_context(context: Mapping[str, str] | None) -> bytes:
    """The canonical, length-prefixed encoding of an encryption context."""
    if not context:
        return _EMPTY_CONTEXT
    items = sorted((k.encode("utf-8"), v.encode("utf-8")) for k, v in context.items())
    parts = [_U32.pack(len(items))]
    for k, v in items:
        parts += (_U32.pack(len(k)), k, _U32.pack(len(v)), v)
    return b"".join(parts)


# --------------------------------------------------------------------------
# Key IDs in binary form
# --------------------------------------------------------------------------

KEY_ID_UUID = 0
KEY_ID_MRK = 1


_UUID_KEY_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_MRK_KEY_ID = re.compile(r"mrk-[0-9a-f]{32}")


def key_id_to_bytes(key_id: str) -> tuple[int, bytes]:
    """``(form, 16 bytes)`` for a KMS key ID (lowercase UUID, or ``mrk-`` and 32 lowercase hex digits).

    Raises ``ValueError`` for anything else.
    """
    if _MRK_KEY_ID.fullmatch(key_id):
        return KEY_ID_MRK, bytes.fromhex(key_id[4:])
    if _UUID_KEY_ID.fullmatch(key_id):
        return KEY_ID_UUID, bytes.fromhex(key_id.replace("-", ""))
    raise ValueError(f"not a KMS key ID: {key_id!r}")


def key_id_from_bytes(form: int, raw: bytes) -> str:
    h = raw.hex()
    if form == KEY_ID_MRK:
        return "mrk-" + h
    if form == KEY_ID_UUID:
        return f"{h[0:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
    raise ValueError(form)


# --------------------------------------------------------------------------
# The ciphertext blob
# --------------------------------------------------------------------------

BLOB_MAGIC = b"KT"
BLOB_VERSION = 1
_HEADER_BODY = struct.Struct(">2sBB6s16s32s16s12s")  # 86 bytes
BLOB_HEADER_LEN = _HEADER_BODY.size + 4  # + header check
_TAG_LEN = 16
BLOB_OVERHEAD = BLOB_HEADER_LEN + _TAG_LEN
_KDF_INFO = b"kms_teach ciphertext v1"


class BlobHeader(NamedTuple):
    """The authenticated, unencrypted header of a ciphertext blob."""

    account_id: str
    key_id: str
    key_material_id: str
    kdf_nonce: bytes
    iv: bytes


# (name, offset, length, meaning) of every header field - the ciphertext inspector labels bytes with these.
BLOB_FIELDS = (
    ("magic", 0, 2, "b'KT': a kms_teach ciphertext blob"),
    ("version", 2, 1, "format version (1)"),
    ("key_id_form", 3, 1, "0 = UUID key ID, 1 = multi-Region key ID"),
    ("account_id", 4, 6, "AWS account that owns the KMS key"),
    ("key_id", 10, 16, "KMS key ID"),
    ("key_material_id", 26, 32, "backing key that encrypted this"),
    ("kdf_nonce", 58, 16, "random nonce: derives a one-time key from the backing key"),
    ("iv", 74, 12, "AES-GCM initialisation vector"),
    ("header_check", 86, 4, "SHA-256 of the header, first 4 bytes"),
)

_PREFIX_LEN = 58


@functools.lru_cache(maxsize=4096)
def _parse_prefix(prefix: bytes) -> tuple[str, str, str]:
    """(account ID, key ID, key material ID) from header bytes 0..57; ValueError if malformed."""
    if prefix[:2] != BLOB_MAGIC or prefix[2] != BLOB_VERSION:
        raise ValueError("not a version-1 kms_teach blob")
    key_id = key_id_from_bytes(prefix[3], prefix[10:26])
    return f"{int.from_bytes(prefix[4:10], 'big'):012d}", key_id, prefix[26:58].hex()


def parse_blob_header(blob: bytes) -> BlobHeader:
    """Parse and check the header of a ciphertext blob; :class:`CryptoError` if malformed."""
    if len(blob) < BLOB_OVERHEAD:
        raise CryptoError()
    body = blob[:86]
    if blob[86:BLOB_HEADER_LEN] != hashlib.sha256(body).digest()[:4]:
        raise CryptoError()
    try:
        account_id, key_id, material_id = _parse_prefix(body[:_PREFIX_LEN])
    except ValueError:
        raise CryptoError() from None
    return BlobHeader(account_id, key_id, material_id, body[58:74], body[74:86])


try:  # OpenSSL's one-shot HMAC, without the standard library's Python wrapper around it
    from _hashlib import hmac_digest as _hmac_digest
except ImportError:  # pragma: no cover - a Python without OpenSSL's hashlib
    _hmac_digest = hmac.digest


def derive_key(backing_key: bytes, nonce: bytes, info: bytes = _KDF_INFO) -> bytes:
    """HKDF-SHA256 (RFC 5869), one 32-byte block: the one-time key for one call.

    Written over ``hmac`` because a single-block HKDF is two HMACs and this runs
    on every Encrypt and Decrypt; ``tests/unit/test_crypto.py`` checks it
    against ``cryptography``'s HKDF.
    """
    prk = _hmac_digest(nonce, backing_key, "sha256")
    return _hmac_digest(prk, info + b"\x01", "sha256")


def seal_blob(
    *,
    backing_key: bytes,
    account_id: str,
    key_id: str,
    key_material_id: str,
    plaintext: bytes,
    encryption_context: Mapping[str, str] | None,
    random: RandomSource,
) -> bytes:
    """Encrypt ``plaintext`` under a backing key into a version-1 ciphertext blob."""
    if len(backing_key) < 16:
        # Never seal under absent material (e.g. deleted imported material): the nonce is public.
        raise ValueError("a backing key must be present to encrypt")
    prefix = _header_prefix(account_id, key_id, key_material_id)
    rnd = random.token_bytes(28)
    body = prefix + rnd  # nonce (16) | iv (12)
    header = body + hashlib.sha256(body).digest()[:4]
    key = derive_key(backing_key, rnd[:16])
    aad = header + encode_encryption_context(encryption_context) if encryption_context else header + _EMPTY_CONTEXT
    return header + AESGCM(key).encrypt(rnd[16:], plaintext, aad)


@functools.lru_cache(maxsize=4096)
def _header_prefix(account_id: str, key_id: str, key_material_id: str) -> bytes:
    """Bytes 0..57 of the header: the same for every blob of one backing key."""
    form, key_bytes = key_id_to_bytes(key_id)
    return (
        BLOB_MAGIC
        + bytes((BLOB_VERSION, form))
        + int(account_id).to_bytes(6, "big")
        + key_bytes
        + bytes.fromhex(key_material_id)
    )


def open_blob(
    blob: bytes,
    header: BlobHeader,
    *,
    backing_key: bytes,
    encryption_context: Mapping[str, str] | None,
) -> bytes:
    """Decrypt a blob whose header was parsed by :func:`parse_blob_header`."""
    key = derive_key(backing_key, header.kdf_nonce)
    aad = blob[:BLOB_HEADER_LEN] + (encode_encryption_context(encryption_context) if encryption_context else _EMPTY_CONTEXT)
    try:
        return AESGCM(key).decrypt(header.iv, blob[BLOB_HEADER_LEN:], aad)
    except InvalidTag:
        raise CryptoError() from None


# --------------------------------------------------------------------------
# Wrapping secrets at rest (the store's use of the root key)
# --------------------------------------------------------------------------


def wrap_secret(wrapping_key: bytes, secret: bytes, aad: bytes, random: RandomSource) -> bytes:
    """AES-256-GCM ``iv(12) | ciphertext | tag(16)``, bound to ``aad``."""
    iv = random.token_bytes(12)
    return iv + AESGCM(wrapping_key).encrypt(iv, secret, aad)


def unwrap_secret(wrapping_key: bytes, wrapped: bytes, aad: bytes) -> bytes:
    if len(wrapped) < 28:
        raise CryptoError()
    try:
        return AESGCM(wrapping_key).decrypt(wrapped[:12], wrapped[12:], aad)
    except InvalidTag:
        raise CryptoError() from None
