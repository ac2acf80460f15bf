"""Envelope encryption recipes: encrypt data of any size under a KMS key with data keys.

KMS's own Encrypt takes at most 4 KB. For anything bigger, applications do
*envelope encryption*, as the course notes describe for data encryption keys
(DEKs): ask KMS for a fresh data key (``GenerateDataKey``), encrypt the data
locally with the plaintext copy, discard that copy, and store the *encrypted*
copy of the data key next to the encrypted data. To decrypt, hand the
encrypted data key back to KMS (``Decrypt``) and use the plaintext it returns.

This module is a recipe layer: it uses only the public boto3 KMS client API
(``generate_data_key`` and ``decrypt``) and pyca ``cryptography``, so every
function here works unchanged with a client for real AWS::

    >>> import kms_teach
    >>> from kms_teach import envelope
    >>> kms = kms_teach.Cloud().client("kms", region_name="us-east-1")
    >>> key = kms.create_key()["KeyMetadata"]["KeyId"]
    >>> msg = envelope.encrypt_bytes(kms, key, b"attack at dawn" * 1000,
    ...                              encryption_context={"purpose": "demo"})
    >>> envelope.decrypt_bytes(kms, msg, encryption_context={"purpose": "demo"})[:14]
    b'attack at dawn'

Functions
=========

* :func:`encrypt_bytes` / :func:`decrypt_bytes`: bytes in, bytes out.
* :func:`encrypt_stream` / :func:`decrypt_stream`: from any binary reader
  (``read(n)``) to any binary writer (``write(b)``), one chunk at a time, so
  memory stays bounded whatever the size.
* :func:`encrypt_file` / :func:`decrypt_file`: paths in, paths out; the output
  appears (atomically, by rename) only when the whole message has been written
  and, for decryption, verified.
* :func:`read_header`: parse a message's header without decrypting anything
  (for inspection; nothing in it is authenticated until decryption).

Every message gets its own data key (one ``GenerateDataKey`` call, AES_256,
with the message's encryption context). Decryption needs no key ID: the
encrypted data key names its KMS key. ``key_id=`` restricts which KMS key is
accepted, as AWS recommends.

The message format (version 1)
==============================

Documented field by field in ``docs/envelope-format.md``::

    header:  magic "KTEV" | version 1 | algorithm ID | message ID (32 random bytes)
             | chunk size | KMS key ARN | encryption context (canonical encoding)
             | encrypted data key (the CiphertextBlob) | key commitment | header tag
    body:    chunk 0 | chunk 1 | ... | final chunk
    chunk:   type (0 = more follow, 1 = final) | plaintext length | ciphertext | GCM tag

The data key never encrypts anything itself. HKDF-SHA256 derives, from the
data key and the message ID, the message's keys: a content key (AES-256-GCM
over the chunks), a header key (AES-256-GCM tag over the header), a nonce base
and a 32-byte key commitment stored in the header. Chunk ``i`` is encrypted
with nonce ``nonce_base XOR i`` and additional authenticated data
``message ID | i | final flag``, so changing, truncating, reordering,
duplicating or dropping chunks (the final one included) is detected, and a
message whose encrypted data key was swapped for another one's fails the key
commitment check.

The data key lifecycle
======================

Pass ``on_event=callback`` to see every step of the data key's life, as
:class:`DataKeyEvent` objects, in order. Encryption: ``generate``,
``store-encrypted-key``, ``encrypt-data``, ``discard-plaintext``.
Decryption: ``read-encrypted-key``, ``decrypt-key``, ``decrypt-data``,
``discard-plaintext``. Events never carry key bytes: only lengths, the KMS key
ARN and a short SHA-256 fingerprint of the *encrypted* data key.

The header (and with it the encrypted data key) is written *before* the body,
because a reader needs the key before it can decrypt the first chunk; so
``store-encrypted-key`` comes second, not last as in the conceptual
"encrypt, discard, store" order of the course notes. The plaintext data key
is still never stored.

Fidelity: wiping memory in Python is best effort. This module copies the
plaintext data key out of the boto3 response into a ``bytearray``, drops the
response's reference, derives the message keys into another ``bytearray``
(``HKDF.derive_into`` where ``cryptography`` has it), and overwrites both with
zeros as soon as the message keys are set up. It cannot wipe copies it does
not own: the immutable ``bytes`` object botocore parsed (and the base64 text of
the HTTP response body it was parsed from), copies inside ``cryptography`` and
OpenSSL while the ``AESGCM`` objects live, memory the allocator freed without
clearing, and anything the operating system swapped out. Real AWS SDKs in
other languages face the same limits to varying degrees. What this module
does guarantee is that the plaintext data key is never written to the message,
to any file, to an event or to an exception message.

Fidelity: this is kms_teach's own format, modelled on the AWS Encryption SDK's
message format (framed AES-256-GCM, HKDF, key commitment, canonical encryption
context) but simpler and not compatible with it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
import tempfile
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from botocore.exceptions import ClientError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ._errors import EnvelopeError

__all__ = [
    "EnvelopeError",
    "EnvelopeHeader",
    "DataKeyEvent",
    "encrypt_bytes",
    "decrypt_bytes",
    "encrypt_stream",
    "decrypt_stream",
    "encrypt_file",
    "decrypt_file",
    "read_header",
    "MAGIC",
    "VERSION",
    "ALGORITHM_ID",
    "DEFAULT_CHUNK_SIZE",
    "MAX_CHUNK_SIZE",
    "MAX_CHUNKS",
]

MAGIC = b"KTEV"
VERSION = 1
ALGORITHM_ID = 0x0001  # AES-256-GCM chunks, HKDF-SHA256 message keys, key commitment, GCM header tag
DEFAULT_CHUNK_SIZE = 1 << 20  # 1 MiB
MAX_CHUNK_SIZE = 1 << 26  # 64 MiB: bounds the memory a decryptor commits to a chunk
MAX_CHUNKS = (1 << 32) - 1  # chunks per message, the final one included (chunk indexes are u32)

_FIXED = struct.Struct(">4sBH32sI")  # magic, version, algorithm, message ID, chunk size: 43 bytes
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_CHUNK_HEAD = struct.Struct(">BI")  # chunk type, plaintext length: 5 bytes
_AAD = struct.Struct(">32sIB")  # message ID, chunk index, final flag: 37 bytes
_MESSAGE_ID_LEN = 32
_COMMIT_LEN = 32
_TAG_LEN = 16
_DATA_KEY_LEN = 32
_MORE, _FINAL = 0, 1
_HKDF_INFO = b"kms_teach envelope v1" + _U16.pack(ALGORITHM_ID)
# HKDF output: content key | header key | nonce base | key commitment
_OKM_LEN = 32 + 32 + 12 + _COMMIT_LEN
_ZERO_NONCE = bytes(12)
_MAX_FIELD = 0xFFFF


@dataclass(frozen=True)
class DataKeyEvent:
    """One step of a data key's life, and where its two copies are.

    ``plaintext_key`` is ``"absent"`` (this process never had it yet),
    ``"in memory"`` or ``"wiped"``; ``encrypted_key`` says where the encrypted
    copy is (``"in memory"``, or in the message header and where that went).
    No field ever holds key bytes: ``encrypted_key_sha256`` is the first 16 hex
    digits of the SHA-256 of the *encrypted* data key, which is not secret.
    """

    step: str
    plaintext_key: str
    encrypted_key: str
    kms_key_arn: str
    message_id: str
    plaintext_key_length: int
    encrypted_key_length: int
    encrypted_key_sha256: str
    chunks: int = 0
    data_bytes: int = 0
    detail: str = ""

    def __str__(self) -> str:
        return (f"{self.step:<20} plaintext key: {self.plaintext_key:<9}  "
                f"encrypted key: {self.encrypted_key}  {self.detail}")


@dataclass(frozen=True)
class EnvelopeHeader:
    """The parsed header of an envelope message (see ``docs/envelope-format.md``).

    ``layout`` lists ``(field, offset, length)`` of every header field, for
    inspecting a message byte by byte. A header returned by :func:`read_header`
    is *not* authenticated: only decryption proves it unaltered.
    """

    version: int
    algorithm_id: int
    message_id: bytes
    chunk_size: int
    kms_key_arn: str
    encryption_context: dict
    encrypted_data_key: bytes
    key_commitment: bytes
    header_tag: bytes
    length: int
    layout: tuple

    @property
    def encrypted_key_sha256(self) -> str:
        return _fingerprint(self.encrypted_data_key)


# --------------------------------------------------------------------------
# Encryption context: canonical, length-prefixed, sorted
# --------------------------------------------------------------------------


def _context_dict(context: Mapping[str, str] | None) -> dict:
    if context is None:
        return {}
    if not isinstance(context, Mapping):
        raise TypeError("encryption_context must be a mapping of str to str")
    for k, v in context.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError("encryption_context must be a mapping of str to str")
    return dict(context)


def _encode_context(context: dict) -> bytes:
    """u32 count, then for each pair in ascending order of the key's UTF-8: u32 len, key, u32 len, value."""
    try:
        items = sorted((k.encode("utf-8"), v.encode("utf-8")) for k, v in context.items())
    except UnicodeEncodeError:
        raise ValueError("encryption context keys and values must be valid Unicode text (no lone surrogates)") from None
    parts = [_U32.pack(len(items))]
    for k, v in items:
        parts += (_U32.pack(len(k)), k, _U32.pack(len(v)), v)
    return b"".join(parts)


def _decode_context(raw: bytes) -> dict:
    """The inverse of :func:`_encode_context`; only the canonical encoding is accepted."""
    bad = EnvelopeError("malformed header: the encryption context is not in canonical form", reason="format")
    if len(raw) < 4:
        raise bad
    (count,) = _U32.unpack_from(raw, 0)
    pos, out, previous = 4, {}, None
    try:
        for _ in range(count):
            (klen,) = _U32.unpack_from(raw, pos)
            k = bytes(raw[pos + 4 : pos + 4 + klen])
            pos += 4 + klen
            (vlen,) = _U32.unpack_from(raw, pos)
            v = bytes(raw[pos + 4 : pos + 4 + vlen])
            pos += 4 + vlen
            if len(k) != klen or len(v) != vlen or (previous is not None and k <= previous):
                raise bad
            previous = k
            out[k.decode("utf-8")] = v.decode("utf-8")
    except (struct.error, UnicodeDecodeError):
        raise bad from None
    if pos != len(raw):
        raise bad
    return out


def _context_difference(expected: dict, actual: dict) -> str:
    missing = sorted(k for k in actual if k not in expected)
    extra = sorted(k for k in expected if k not in actual)
    changed = sorted(k for k in expected if k in actual and expected[k] != actual[k])
    parts = []
    if missing:
        parts.append(f"the message has keys you did not expect: {missing}")
    if extra:
        parts.append(f"keys you expect are not in the message: {extra}")
    if changed:
        parts.append(f"values differ for keys: {changed}")
    return "; ".join(parts)


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------


def _fingerprint(encrypted_key: bytes) -> str:
    return hashlib.sha256(encrypted_key).hexdigest()[:16]


def _wipe(buf: bytearray) -> None:
    buf[:] = bytes(len(buf))


def _check_chunk_size(chunk_size: int) -> None:
    if not isinstance(chunk_size, int) or isinstance(chunk_size, bool):
        raise TypeError("chunk_size must be an int")
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk_size must be between 1 and {MAX_CHUNK_SIZE} bytes")


def _read_exact(read: Callable[[int], Any], n: int):
    """Up to ``n`` bytes; fewer only at the end of the stream (short reads are retried)."""
    data = read(n)
    if data is None:
        raise ValueError("the reader returned None (a non-blocking stream with no data ready is not supported)")
    if isinstance(data, str):
        raise TypeError("the reader returned str: open it in binary mode")
    got = len(data)
    if got == n or got == 0:
        return data
    parts = [data]
    while got < n:
        more = read(n - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


class _MemoryReader:
    """A zero-copy reader over a bytes-like object."""

    __slots__ = ("_view", "_pos")

    def __init__(self, data):
        self._view = memoryview(data).cast("B")
        self._pos = 0

    def read(self, n: int):
        start = self._pos
        self._pos = min(start + n, len(self._view))
        return self._view[start : self._pos]


def _new_message_id() -> bytes:
    """32 random bytes from the operating system: a message ID is never reused (the known-answer vectors in
    tests/vectors/ replace this to make a message from fixed inputs)."""
    return os.urandom(_MESSAGE_ID_LEN)


def _nonce(base: int, index: int) -> bytes:
    return (base ^ index).to_bytes(12, "big")


class _Events:
    """Builds and delivers :class:`DataKeyEvent` objects (never with key bytes in them)."""

    __slots__ = ("_sink", "arn", "message_id", "edk_len", "edk_sha")

    def __init__(self, sink, arn: str, message_id: bytes, edk: bytes):
        self._sink = sink
        self.arn = arn
        self.message_id = message_id.hex()
        self.edk_len = len(edk)
        self.edk_sha = _fingerprint(edk)

    def __call__(self, step: str, plaintext_key: str, encrypted_key: str, detail: str, *, chunks=0, data_bytes=0):
        if self._sink is not None:
            self._sink(DataKeyEvent(step, plaintext_key, encrypted_key, self.arn, self.message_id,
                                    _DATA_KEY_LEN, self.edk_len, self.edk_sha, chunks, data_bytes, detail))


class _MessageKeys:
    """The per-message keys derived from a data key; owns the only copies this module keeps.

    On construction the data key ``bytearray`` and the derived bytes are wiped:
    from then on the keys live only inside the two ``AESGCM`` objects, which
    :meth:`close` drops.
    """

    __slots__ = ("content", "header", "nonce_base", "commitment")

    def __init__(self, data_key: bytearray, message_id: bytes):
        okm = bytearray(_OKM_LEN)
        try:
            hkdf = HKDF(algorithm=hashes.SHA256(), length=_OKM_LEN, salt=message_id, info=_HKDF_INFO)
            if hasattr(hkdf, "derive_into"):  # recent cryptography: the output never exists as bytes
                hkdf.derive_into(data_key, okm)
            else:  # pragma: no cover - older cryptography; the bytes copy cannot be wiped
                okm[:] = hkdf.derive(bytes(data_key))
            view = memoryview(okm)
            self.content = AESGCM(view[0:32])
            self.header = AESGCM(view[32:64])
            self.nonce_base = int.from_bytes(view[64:76], "big")
            self.commitment = bytes(view[76:108])
            view.release()
        finally:
            _wipe(okm)
            _wipe(data_key)

    def close(self) -> None:
        self.content = self.header = None
        self.nonce_base = 0


# --------------------------------------------------------------------------
# Header
# --------------------------------------------------------------------------


def _build_header(message_id: bytes, chunk_size: int, arn: str, context_raw: bytes, edk: bytes,
                  commitment: bytes) -> bytes:
    arn_raw = arn.encode("utf-8")
    if len(arn_raw) > _MAX_FIELD or len(context_raw) > _MAX_FIELD or len(edk) > _MAX_FIELD:
        raise ValueError("the key ARN, the encryption context and the encrypted data key must each encode "
                         "to at most 65535 bytes")
    return b"".join((
        _FIXED.pack(MAGIC, VERSION, ALGORITHM_ID, message_id, chunk_size),
        _U16.pack(len(arn_raw)), arn_raw,
        _U16.pack(len(context_raw)), context_raw,
        _U16.pack(len(edk)), edk,
        commitment,
    ))


_LAYOUT_MEANING = {
    "magic": "b'KTEV': a kms_teach envelope message",
    "version": "format version (1)",
    "algorithm_id": "0x0001: AES-256-GCM chunks, HKDF-SHA256 keys, key commitment",
    "message_id": "random per message; HKDF salt, bound into every chunk",
    "chunk_size": "plaintext bytes per chunk (the final chunk holds fewer)",
    "key_arn_length": "u16",
    "key_arn": "the KMS key that encrypted the data key",
    "context_length": "u16",
    "encryption_context": "canonical encoding (sorted, length-prefixed)",
    "encrypted_key_length": "u16",
    "encrypted_data_key": "the CiphertextBlob of GenerateDataKey",
    "key_commitment": "HKDF output that commits the data key to this message",
    "header_tag": "AES-GCM tag over all bytes before it (header key)",
}


def _parse_header(read: Callable[[int], Any]) -> tuple[EnvelopeHeader, bytes]:
    """Read and parse one header: ``(header, the header's bytes without the tag)``. Nothing is authenticated yet."""
    raw = bytearray()
    layout = []

    def take(n: int, name: str):
        data = _read_exact(read, n)
        if len(data) < n:
            if not raw and not len(data):
                raise EnvelopeError("not a kms_teach envelope message: it is empty", reason="format")
            raise EnvelopeError("message truncated: it ends inside the header", reason="truncated")
        layout.append((name, len(raw), n))
        raw.extend(data)
        return bytes(data)

    def take_prefixed(name: str, length_name: str) -> bytes:
        (n,) = _U16.unpack(take(2, length_name))
        return take(n, name)

    magic = take(4, "magic")
    if magic != MAGIC:
        raise EnvelopeError("not a kms_teach envelope message (wrong magic bytes)", reason="format")
    (version,) = take(1, "version")
    if version != VERSION:
        raise EnvelopeError(f"unsupported envelope format version {version} (this library reads version {VERSION})",
                            reason="format")
    (algorithm,) = _U16.unpack(take(2, "algorithm_id"))
    if algorithm != ALGORITHM_ID:
        raise EnvelopeError(f"unsupported algorithm ID 0x{algorithm:04x}", reason="format")
    message_id = take(_MESSAGE_ID_LEN, "message_id")
    (chunk_size,) = _U32.unpack(take(4, "chunk_size"))
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise EnvelopeError(f"malformed header: chunk size {chunk_size} is out of range", reason="format")
    arn_raw = take_prefixed("key_arn", "key_arn_length")
    try:
        arn = arn_raw.decode("utf-8")
    except UnicodeDecodeError:
        arn = ""
    if not arn.startswith("arn:") or ":key/" not in arn:
        raise EnvelopeError("malformed header: the KMS key ARN is not a key ARN", reason="format")
    context = _decode_context(take_prefixed("encryption_context", "context_length"))
    edk = take_prefixed("encrypted_data_key", "encrypted_key_length")
    if not edk:
        raise EnvelopeError("malformed header: the encrypted data key is empty", reason="format")
    commitment = take(_COMMIT_LEN, "key_commitment")
    authenticated = bytes(raw)
    tag = take(_TAG_LEN, "header_tag")
    layout = tuple((name, off, n, _LAYOUT_MEANING[name]) for name, off, n in layout)
    header = EnvelopeHeader(version, algorithm, message_id, chunk_size, arn, context, edk, commitment, tag,
                            len(raw), layout)
    return header, authenticated


def read_header(source) -> EnvelopeHeader:
    """Parse the header of a message (bytes-like, or a binary reader positioned at its start).

    Nothing is decrypted and nothing is authenticated: this is for looking at a
    message (which KMS key, which encryption context, how big the encrypted
    data key is). :class:`EnvelopeError` if it is not a well-formed header.
    """
    read = source.read if hasattr(source, "read") else _MemoryReader(source).read
    return _parse_header(read)[0]


# --------------------------------------------------------------------------
# Encryption
# --------------------------------------------------------------------------


def _encrypt(kms_client, key_id: str, read, write, *, encryption_context, chunk_size, on_event, progress,
             total, where: str) -> EnvelopeHeader:
    context = _context_dict(encryption_context)
    _check_chunk_size(chunk_size)
    context_raw = _encode_context(context)
    if len(context_raw) > _MAX_FIELD:
        raise ValueError("the encryption context must encode to at most 65535 bytes")

    request = {"KeyId": key_id, "KeySpec": "AES_256"}
    if context:
        request["EncryptionContext"] = context
    response = kms_client.generate_data_key(**request)
    # The only plaintext copy this module keeps: a bytearray it can overwrite.
    data_key = bytearray(response.pop("Plaintext"))
    edk = response["CiphertextBlob"]
    arn = response["KeyId"]
    del response
    message_id = _new_message_id()
    events = _Events(on_event, arn, message_id, edk)
    keys = None
    try:
        events("generate", "in memory", "in memory",
               f"KMS GenerateDataKey (AES_256) under {arn} returned a {len(data_key)}-byte plaintext data key "
               f"and a {len(edk)}-byte encrypted copy of it")
        keys = _MessageKeys(data_key, message_id)  # wipes data_key
        header = _build_header(message_id, chunk_size, arn, context_raw, edk, keys.commitment)
        tag = keys.header.encrypt(_ZERO_NONCE, b"", header)
        write(header)
        write(tag)
        events("store-encrypted-key", "in memory", f"message header ({where})",
               f"the encrypted data key was written into the message header ({where}), before the body")

        aead, base = keys.content, keys.nonce_base
        index = done = 0
        while True:
            chunk = _read_exact(read, chunk_size)
            n = len(chunk)
            final = n < chunk_size
            if index >= MAX_CHUNKS - 1 and not final:
                raise EnvelopeError(f"too much data for one message at chunk size {chunk_size} "
                                    f"(at most {MAX_CHUNKS} chunks)", reason="too-large")
            kind = _FINAL if final else _MORE
            write(_CHUNK_HEAD.pack(kind, n))
            write(aead.encrypt(_nonce(base, index), chunk, _AAD.pack(message_id, index, kind)))
            del chunk
            index += 1
            done += n
            if progress is not None:
                progress(done, total)
            if final:
                break
        events("encrypt-data", "in memory", f"message header ({where})",
               f"the message key derived from the data key encrypted {done} bytes in {index} "
               f"AES-256-GCM chunk{'s' if index != 1 else ''}", chunks=index, data_bytes=done)
        return _header_of(header, tag)
    finally:
        _wipe(data_key)
        if keys is not None:
            keys.close()
        events("discard-plaintext", "wiped", f"message header ({where})" if keys is not None else "in memory",
               "the plaintext data key was overwritten with zeros once the message keys were derived from it; "
               "the message keys have now been dropped too")


def _header_of(header: bytes, tag: bytes) -> EnvelopeHeader:
    return _parse_header(_MemoryReader(header + tag).read)[0]


def encrypt_stream(kms_client, key_id: str, reader, writer, *, encryption_context: Mapping[str, str] | None = None,
                   chunk_size: int = DEFAULT_CHUNK_SIZE, on_event: Callable[[DataKeyEvent], Any] | None = None,
                   progress: Callable[[int, int | None], Any] | None = None) -> EnvelopeHeader:
    """Encrypt everything ``reader`` yields into one envelope message written to ``writer``.

    ``reader`` needs ``read(n)`` returning bytes (short reads are fine) and
    ``writer`` needs ``write(b)``. One chunk is held at a time, so memory stays
    bounded whatever the size. ``key_id`` is a key ID, key ARN, alias name or
    alias ARN of a symmetric encryption KMS key. ``progress(done, None)`` is
    called after each chunk with the plaintext bytes encrypted so far.

    Returns the header of the message. KMS errors (a disabled key, access
    denied ...) surface as boto3's ``ClientError``.
    """
    return _encrypt(kms_client, key_id, reader.read, writer.write, encryption_context=encryption_context,
                    chunk_size=chunk_size, on_event=on_event, progress=progress, total=None,
                    where="written to the output stream")


def encrypt_bytes(kms_client, key_id: str, data, *, encryption_context: Mapping[str, str] | None = None,
                  chunk_size: int = DEFAULT_CHUNK_SIZE, on_event: Callable[[DataKeyEvent], Any] | None = None,
                  progress: Callable[[int, int | None], Any] | None = None) -> bytes:
    """Encrypt ``data`` (any bytes-like object, any size) into one envelope message."""
    source = _MemoryReader(data)
    parts: list = []
    _encrypt(kms_client, key_id, source.read, parts.append, encryption_context=encryption_context,
             chunk_size=chunk_size, on_event=on_event, progress=progress, total=len(source._view),
             where="returned bytes")
    return b"".join(parts)


def encrypt_file(kms_client, key_id: str, src_path, dst_path, *, encryption_context: Mapping[str, str] | None = None,
                 chunk_size: int = DEFAULT_CHUNK_SIZE, on_event: Callable[[DataKeyEvent], Any] | None = None,
                 progress: Callable[[int, int | None], Any] | None = None) -> EnvelopeHeader:
    """Encrypt the file ``src_path`` into an envelope message at ``dst_path``.

    Streams one chunk at a time. The message is written to a temporary file
    (owner-only permissions) beside ``dst_path`` and renamed into place only
    when complete; on any error no ``dst_path`` is created (an existing one is
    left as it was).
    """
    dst_path = os.fspath(dst_path)
    with open(src_path, "rb") as src:
        total = os.fstat(src.fileno()).st_size
        with _AtomicOutput(dst_path) as out:
            return _encrypt(kms_client, key_id, src.read, out.write, encryption_context=encryption_context,
                            chunk_size=chunk_size, on_event=on_event, progress=progress, total=total,
                            where=f"on disk: {dst_path}")


# --------------------------------------------------------------------------
# Decryption
# --------------------------------------------------------------------------


def _key_part(arn: str) -> str:
    return arn.rsplit(":key/", 1)[-1]


def _plaintext_size(message_size: int | None, header: EnvelopeHeader) -> int | None:
    """The plaintext size a well-formed message of ``message_size`` bytes holds (a progress hint)."""
    if message_size is None:
        return None
    body = message_size - header.length
    full = _CHUNK_HEAD.size + header.chunk_size + _TAG_LEN
    last = _CHUNK_HEAD.size + _TAG_LEN
    if body < last:
        return None
    n_full, rest = divmod(body - last, full)
    return n_full * header.chunk_size + rest if rest < header.chunk_size else None


def _decrypt(kms_client, read, write, *, encryption_context, key_id, on_event, progress, message_size,
             where: str) -> EnvelopeHeader:
    expected = _context_dict(encryption_context)
    header, authenticated = _parse_header(read)
    events = _Events(on_event, header.kms_key_arn, header.message_id, header.encrypted_data_key)
    events("read-encrypted-key", "absent", "in memory",
           f"read the {len(header.encrypted_data_key)}-byte encrypted data key from the message header ({where})")
    if header.encryption_context != expected:
        raise EnvelopeError("encryption context mismatch: " + _context_difference(expected, header.encryption_context),
                            reason="context")

    request = {"CiphertextBlob": header.encrypted_data_key}
    if header.encryption_context:
        request["EncryptionContext"] = header.encryption_context
    if key_id is not None:
        request["KeyId"] = key_id
    try:
        response = kms_client.decrypt(**request)
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code")
        if code == "InvalidCiphertextException":
            raise EnvelopeError("KMS rejected the encrypted data key (InvalidCiphertextException): the header was "
                                "altered, or its encryption context is not the one the data key was made with",
                                reason="key") from e
        if code == "IncorrectKeyException":
            raise EnvelopeError(f"the message's data key was not encrypted under the KMS key {key_id!r}",
                                reason="key") from e
        raise
    data_key = bytearray(response.pop("Plaintext"))
    keys = None
    try:
        if _key_part(response["KeyId"]) != _key_part(header.kms_key_arn):
            raise EnvelopeError("the header names a KMS key that did not encrypt its data key", reason="key")
        del response
        events("decrypt-key", "in memory", "in memory",
               f"KMS Decrypt under {header.kms_key_arn} returned the {len(data_key)}-byte plaintext data key")
        if len(data_key) != _DATA_KEY_LEN:
            raise EnvelopeError("the data key is not an AES-256 key", reason="key")
        keys = _MessageKeys(data_key, header.message_id)  # wipes data_key
        if not hmac.compare_digest(keys.commitment, header.key_commitment):
            raise EnvelopeError("key commitment mismatch: the encrypted data key does not belong to this message",
                                reason="commitment")
        try:
            keys.header.decrypt(_ZERO_NONCE, header.header_tag, authenticated)
        except InvalidTag:
            raise EnvelopeError("header authentication failed: the header was altered", reason="header") from None

        aead, base, message_id, chunk_size = keys.content, keys.nonce_base, header.message_id, header.chunk_size
        total = _plaintext_size(message_size, header)
        index = done = 0
        head_size, full = _CHUNK_HEAD.size, _CHUNK_HEAD.size + chunk_size + _TAG_LEN
        while True:
            # One read per chunk: a whole non-final chunk is exactly `full` bytes; a final one is shorter,
            # and anything read past its end is data after the final chunk.
            buf = _read_exact(read, full)
            if len(buf) < head_size:
                if not len(buf):
                    raise EnvelopeError(f"message truncated: it ends after {index} chunk{'s' if index != 1 else ''} "
                                        "without its final chunk", reason="truncated")
                raise EnvelopeError(f"message truncated inside chunk {index}", reason="truncated")
            kind, n = _CHUNK_HEAD.unpack_from(buf, 0)
            if kind == _MORE:
                if n != chunk_size:
                    raise EnvelopeError(f"malformed chunk {index}: a non-final chunk must hold exactly "
                                        f"{chunk_size} bytes", reason="format")
                if index >= MAX_CHUNKS - 1:
                    raise EnvelopeError(f"malformed message: more than {MAX_CHUNKS} chunks", reason="format")
            elif kind == _FINAL:
                if n >= chunk_size:
                    raise EnvelopeError(f"malformed chunk {index}: the final chunk must hold fewer than "
                                        f"{chunk_size} bytes", reason="format")
            else:
                raise EnvelopeError(f"malformed chunk {index}: unknown chunk type {kind}", reason="format")
            end = head_size + n + _TAG_LEN
            if len(buf) < end:
                raise EnvelopeError(f"message truncated inside chunk {index}", reason="truncated")
            if len(buf) > end:
                raise EnvelopeError("unexpected data after the final chunk", reason="trailing")
            sealed = memoryview(buf)[head_size:end]
            try:
                plain = aead.decrypt(_nonce(base, index), sealed, _AAD.pack(message_id, index, kind))
            except InvalidTag:
                raise EnvelopeError(f"chunk {index} failed authentication: it was altered, reordered, duplicated, "
                                    "or comes from another message", reason="chunk") from None
            sealed.release()
            del sealed, buf
            write(plain)
            del plain
            index += 1
            done += n
            if progress is not None:
                progress(done, total)
            if kind == _FINAL:
                break
        if len(_read_exact(read, 1)):
            raise EnvelopeError("unexpected data after the final chunk", reason="trailing")
        events("decrypt-data", "in memory", "in memory",
               f"the message key derived from the data key decrypted and verified {done} bytes in {index} "
               f"AES-256-GCM chunk{'s' if index != 1 else ''}", chunks=index, data_bytes=done)
        return header
    finally:
        _wipe(data_key)
        if keys is not None:
            keys.close()
        events("discard-plaintext", "wiped", "in memory",
               "the plaintext data key was overwritten with zeros once the message keys were derived from it; "
               "the message keys have now been dropped too")


_DECRYPT_DOC = """

    ``encryption_context`` is the context you expect: the message's must be
    exactly the same (``None`` means empty), or :class:`EnvelopeError` is
    raised before KMS is called; KMS Decrypt is then called with the message's
    context, so KMS enforces it too. No key ID is needed (the encrypted data key
    names its KMS key); ``key_id=`` (key ID, ARN, alias) makes KMS refuse a data
    key encrypted under any other key. ``progress(done, total)`` is called after
    each chunk with the plaintext bytes verified so far.

    Any altered, truncated, reordered, duplicated or extended message raises
    :class:`EnvelopeError`. KMS errors about the key rather than the message
    (a disabled key, access denied ...) surface as boto3's ``ClientError``.
    """


def decrypt_stream(kms_client, reader, writer, *, encryption_context: Mapping[str, str] | None = None,
                   key_id: str | None = None, on_event: Callable[[DataKeyEvent], Any] | None = None,
                   progress: Callable[[int, int | None], Any] | None = None) -> EnvelopeHeader:
    """Decrypt one envelope message from ``reader``, writing the plaintext to ``writer`` chunk by chunk.

    Each chunk is authenticated before its plaintext is written, but a
    truncated message is only detected at its end: if this raises, plaintext
    of the chunks before the failure may already be in ``writer`` and must be
    discarded (:func:`decrypt_file` does that for you). The message must be
    all that is left in ``reader``: bytes after its final chunk are refused.
    Returns the header.
    """
    return _decrypt(kms_client, reader.read, writer.write, encryption_context=encryption_context, key_id=key_id,
                    on_event=on_event, progress=progress, message_size=None, where="read from the input stream")


def decrypt_bytes(kms_client, message, *, encryption_context: Mapping[str, str] | None = None,
                  key_id: str | None = None, on_event: Callable[[DataKeyEvent], Any] | None = None,
                  progress: Callable[[int, int | None], Any] | None = None) -> bytes:
    """Decrypt and verify an envelope message (bytes-like); returns the plaintext."""
    source = _MemoryReader(message)
    parts: list = []
    _decrypt(kms_client, source.read, parts.append, encryption_context=encryption_context, key_id=key_id,
             on_event=on_event, progress=progress, message_size=len(source._view), where="in memory")
    return b"".join(parts)


def decrypt_file(kms_client, src_path, dst_path, *, encryption_context: Mapping[str, str] | None = None,
                 key_id: str | None = None, on_event: Callable[[DataKeyEvent], Any] | None = None,
                 progress: Callable[[int, int | None], Any] | None = None) -> EnvelopeHeader:
    """Decrypt the envelope message in ``src_path`` into ``dst_path``.

    Streams one chunk at a time into a temporary file (owner-only
    permissions) beside ``dst_path``, renamed into place only once the whole
    message has been verified: on any error no plaintext is left behind.
    """
    dst_path = os.fspath(dst_path)
    src_path = os.fspath(src_path)
    with open(src_path, "rb") as src:
        size = os.fstat(src.fileno()).st_size
        with _AtomicOutput(dst_path) as out:
            return _decrypt(kms_client, src.read, out.write, encryption_context=encryption_context, key_id=key_id,
                            on_event=on_event, progress=progress, message_size=size, where=f"on disk: {src_path}")


decrypt_stream.__doc__ += _DECRYPT_DOC
decrypt_bytes.__doc__ += _DECRYPT_DOC
decrypt_file.__doc__ += _DECRYPT_DOC


class _AtomicOutput:
    """A file written under a temporary name beside ``path`` and renamed to ``path`` on success."""

    def __init__(self, path: str):
        self.path = path
        directory = os.path.dirname(os.path.abspath(path))
        fd, self.tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".partial", dir=directory)
        self.file = os.fdopen(fd, "wb")

    def __enter__(self):
        return self.file

    def __exit__(self, exc_type, exc, tb):
        try:
            self.file.close()
        finally:
            if exc_type is None:
                os.replace(self.tmp, self.path)
            else:
                try:
                    os.unlink(self.tmp)
                except FileNotFoundError:  # pragma: no cover
                    pass
        return False
