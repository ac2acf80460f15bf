"""Envelope encryption recipes (kms_teach.envelope): data of any size under a KMS key, with data keys."""

from __future__ import annotations

import ast
import base64
import dataclasses
import hashlib
import io
import os
import re
import struct
import tracemalloc
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

import kms_teach
from kms_teach import envelope
from kms_teach.envelope import EnvelopeError
from tests.conftest import error_code

MiB = 1 << 20
C = envelope.DEFAULT_CHUNK_SIZE
REPO = Path(__file__).resolve().parents[2]
CONTEXT = {"department": "10", "purpose": "payroll"}


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


class PseudoRandomReader:
    """A generator-backed reader of ``size`` pseudo-random bytes (an AES-CTR keystream), never held whole.

    ``max_read`` caps what one ``read`` returns, to exercise short reads. The
    SHA-256 of everything handed out is in ``digest()``.
    """

    def __init__(self, size: int, seed: bytes = b"seed", max_read: int | None = None):
        self._blocks = self._generate(size, hashlib.sha256(seed).digest())
        self._pending = b""
        self._max_read = max_read
        self._hash = hashlib.sha256()

    @staticmethod
    def _generate(size, key):
        enc = Cipher(algorithms.AES(key), modes.CTR(bytes(16))).encryptor()
        while size:
            n = min(size, MiB)
            yield enc.update(bytes(n))
            size -= n

    def read(self, n: int) -> bytes:
        if self._max_read is not None:
            n = min(n, self._max_read)
        while len(self._pending) < n:
            block = next(self._blocks, None)
            if block is None:
                break
            self._pending = self._pending + block if self._pending else block
        out, self._pending = self._pending[:n], self._pending[n:]
        self._hash.update(out)
        return out

    def digest(self) -> str:
        return self._hash.hexdigest()


class HashingWriter:
    """A writer that keeps only the SHA-256 and the length of what it was given."""

    def __init__(self):
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data) -> int:
        self.hash.update(data)
        self.size += len(data)
        return len(data)


def chunk_spans(message: bytes) -> list[tuple[int, int]]:
    """(start, end) of every body chunk of a well-formed message."""
    header = envelope.read_header(message)
    pos, spans = header.length, []
    while pos < len(message):
        kind, n = struct.unpack_from(">BI", message, pos)
        end = pos + 5 + n + 16
        spans.append((pos, end))
        pos = end
    return spans


def data_key_of(kms, message: bytes) -> bytes:
    """The plaintext data key of a message (the test asks KMS for it, as any key user could)."""
    header = envelope.read_header(message)
    return kms.decrypt(CiphertextBlob=header.encrypted_data_key,
                       EncryptionContext=header.encryption_context)["Plaintext"]


def encodings(secret: bytes) -> list[bytes]:
    """The ways a key could leak into bytes: raw, hex (both cases), base64, urlsafe base64."""
    return [secret, secret.hex().encode(), secret.hex().upper().encode(), base64.b64encode(secret),
            base64.urlsafe_b64encode(secret)]


def kms_calls(cloud, name: str) -> list[dict]:
    return [e for e in cloud.audit.events if e["eventName"] == name]


@pytest.fixture
def small(kms, key_id):
    """A 4-chunk message (16-byte chunks; 50 bytes of plaintext) with an encryption context."""
    data = bytes(range(50))
    return data, envelope.encrypt_bytes(kms, key_id, data, encryption_context=CONTEXT, chunk_size=16)


def expect_error(kms, message, reason=None, **kwargs) -> EnvelopeError:
    kwargs.setdefault("encryption_context", CONTEXT)
    with pytest.raises(EnvelopeError) as excinfo:
        envelope.decrypt_bytes(kms, message, **kwargs)
    if reason is not None:
        assert excinfo.value.reason == reason, str(excinfo.value)
    return excinfo.value


# --------------------------------------------------------------------------
# Round trips
# --------------------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [C, 64])
@pytest.mark.parametrize("size", ["0", "1", "chunk-1", "chunk", "chunk+1", "3*chunk+5"])
def test_round_trip_of_every_size_around_the_chunk_size(kms, key_id, chunk_size, size):
    n = eval(size, {"chunk": chunk_size})
    data = os.urandom(n)
    message = envelope.encrypt_bytes(kms, key_id, data, encryption_context=CONTEXT, chunk_size=chunk_size)
    assert envelope.decrypt_bytes(kms, message, encryption_context=CONTEXT) == data
    spans = chunk_spans(message)
    # Full chunks, then a final chunk holding fewer than chunk_size bytes (possibly none).
    assert len(spans) == n // chunk_size + 1
    assert len(message) == envelope.read_header(message).length + n + 21 * len(spans)
    if n >= 16:
        assert data[:16] not in message


def test_round_trip_without_an_encryption_context(kms, key_id):
    message = envelope.encrypt_bytes(kms, key_id, b"battle plans" * 1000)
    assert envelope.read_header(message).encryption_context == {}
    assert envelope.decrypt_bytes(kms, message) == b"battle plans" * 1000
    assert envelope.decrypt_bytes(kms, message, encryption_context={}) == b"battle plans" * 1000


def test_bytes_like_inputs(kms, key_id):
    data = bytearray(b"x" * 100)
    message = envelope.encrypt_bytes(kms, key_id, memoryview(data), chunk_size=32)
    assert envelope.decrypt_bytes(kms, bytearray(message)) == bytes(data)


def test_streamed_64_mib_round_trip_from_a_generator(kms, key_id, tmp_path):
    size = 64 * MiB + 12345
    reader = PseudoRandomReader(size)
    target = tmp_path / "stream.ktev"
    with open(target, "wb") as out:
        header = envelope.encrypt_stream(kms, key_id, reader, out, encryption_context=CONTEXT)
    assert header.chunk_size == C and header.encryption_context == CONTEXT
    assert target.stat().st_size == header.length + size + 21 * (size // C + 1)
    sink = HashingWriter()
    with open(target, "rb") as src:
        back = envelope.decrypt_stream(kms, src, sink, encryption_context=CONTEXT)
    assert back.message_id == header.message_id
    assert sink.size == size and sink.hash.hexdigest() == reader.digest()


def test_streaming_holds_a_few_chunks_in_memory_whatever_the_size(kms, key_id, tmp_path):
    size, chunk = 24 * MiB, MiB
    target = tmp_path / "bounded.ktev"
    with open(target, "wb") as out:
        tracemalloc.start()
        try:
            envelope.encrypt_stream(kms, key_id, PseudoRandomReader(size), out, chunk_size=chunk)
            encrypt_peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    with open(target, "rb") as src:
        tracemalloc.start()
        try:
            envelope.decrypt_stream(kms, src, HashingWriter())
            decrypt_peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    # The reader's pending block, one plaintext chunk and one sealed chunk: a few MiB, not 24.
    assert encrypt_peak < 5 * chunk, encrypt_peak
    assert decrypt_peak < 4 * chunk, decrypt_peak


def test_short_reads_are_retried(kms, key_id):
    reader = PseudoRandomReader(1000, max_read=7)
    out = io.BytesIO()
    envelope.encrypt_stream(kms, key_id, reader, out, chunk_size=64)
    message = out.getvalue()

    class Trickle(io.RawIOBase):
        def __init__(self, data):
            self.data, self.pos = data, 0

        def readable(self):
            return True

        def readinto(self, b):
            n = min(len(b), 5, len(self.data) - self.pos)
            b[:n] = self.data[self.pos:self.pos + n]
            self.pos += n
            return n

    sink = HashingWriter()
    envelope.decrypt_stream(kms, Trickle(message), sink)
    assert sink.size == 1000 and sink.hash.hexdigest() == reader.digest()


def test_file_round_trip(kms, key_id, tmp_path):
    src, enc, back = tmp_path / "report.pdf", tmp_path / "report.pdf.ktev", tmp_path / "report.out"
    data = os.urandom(2 * C + 77)
    src.write_bytes(data)
    header = envelope.encrypt_file(kms, key_id, src, enc, encryption_context=CONTEXT)
    assert header == envelope.read_header(enc.read_bytes())
    with open(enc, "rb") as f:
        assert envelope.read_header(f) == header
    envelope.decrypt_file(kms, str(enc), str(back), encryption_context=CONTEXT)
    assert back.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.out", "report.pdf", "report.pdf.ktev"]
    assert (back.stat().st_mode & 0o777) == 0o600  # decrypted plaintext is readable by its owner only


def test_a_file_can_be_encrypted_in_place(kms, key_id, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"secret notes" * 100)
    envelope.encrypt_file(kms, key_id, path, path)
    assert path.read_bytes().startswith(b"KTEV")
    envelope.decrypt_file(kms, path, path)
    assert path.read_bytes() == b"secret notes" * 100


def test_a_failed_decryption_leaves_no_plaintext_file(kms, key_id, tmp_path):
    src, enc, out = tmp_path / "a", tmp_path / "a.ktev", tmp_path / "a.out"
    src.write_bytes(os.urandom(300))
    envelope.encrypt_file(kms, key_id, src, enc, chunk_size=64)
    damaged = bytearray(enc.read_bytes())
    damaged[-1] ^= 1  # the final chunk's tag: every earlier chunk verifies and is written first
    enc.write_bytes(bytes(damaged))
    out.write_bytes(b"previous contents")
    with pytest.raises(EnvelopeError, match="chunk 4 failed authentication"):
        envelope.decrypt_file(kms, enc, out)
    assert out.read_bytes() == b"previous contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "a.ktev", "a.out"]
    with pytest.raises(EnvelopeError):
        envelope.decrypt_file(kms, enc, tmp_path / "new.out")
    assert not (tmp_path / "new.out").exists()


def test_progress_reports_plaintext_bytes(kms, key_id, tmp_path):
    data = os.urandom(3 * 64 + 10)
    seen = []
    message = envelope.encrypt_bytes(kms, key_id, data, chunk_size=64, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(64, 202), (128, 202), (192, 202), (202, 202)]
    seen.clear()
    envelope.decrypt_bytes(kms, message, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(64, 202), (128, 202), (192, 202), (202, 202)]
    seen.clear()
    envelope.encrypt_stream(kms, key_id, io.BytesIO(data), io.BytesIO(), chunk_size=64,
                            progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (202, None)
    (tmp_path / "p").write_bytes(data)
    seen.clear()
    envelope.encrypt_file(kms, key_id, tmp_path / "p", tmp_path / "p.ktev", chunk_size=64,
                          progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (202, 202)
    seen.clear()
    envelope.decrypt_file(kms, tmp_path / "p.ktev", tmp_path / "p.out", progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (202, 202)


# --------------------------------------------------------------------------
# The message and its data key
# --------------------------------------------------------------------------


def test_the_header_names_key_context_and_encrypted_data_key(kms, key_id, small):
    _, message = small
    header = envelope.read_header(message)
    arn = kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
    assert header.version == 1 and header.algorithm_id == envelope.ALGORITHM_ID
    assert header.kms_key_arn == arn
    assert header.encryption_context == CONTEXT
    assert header.chunk_size == 16
    assert len(header.message_id) == 32 and len(header.key_commitment) == 32 and len(header.header_tag) == 16
    # The encrypted data key is a CiphertextBlob that KMS decrypts (with the context) to an AES-256 key.
    out = kms.decrypt(CiphertextBlob=header.encrypted_data_key, EncryptionContext=CONTEXT)
    assert out["KeyId"] == arn and len(out["Plaintext"]) == 32
    with pytest.raises(ClientError) as excinfo:
        kms.decrypt(CiphertextBlob=header.encrypted_data_key)
    assert error_code(excinfo) == "InvalidCiphertextException"
    # The layout covers the header exactly, field after field.
    pos = 0
    for name, offset, length, meaning in header.layout:
        assert offset == pos and meaning, name
        pos += length
    assert pos == header.length
    assert [f[0] for f in header.layout] == [
        "magic", "version", "algorithm_id", "message_id", "chunk_size", "key_arn_length", "key_arn",
        "context_length", "encryption_context", "encrypted_key_length", "encrypted_data_key",
        "key_commitment", "header_tag"]
    assert message[:7] == b"KTEV\x01\x00\x01"


def test_the_context_is_encoded_canonically(kms, key_id):
    a = envelope.encrypt_bytes(kms, key_id, b"x", encryption_context={"b": "2", "a": "1"})
    b = envelope.encrypt_bytes(kms, key_id, b"x", encryption_context={"a": "1", "b": "2"})

    def context_bytes(m):
        h = envelope.read_header(m)
        (_, off, n, _), = [f for f in h.layout if f[0] == "encryption_context"]
        return m[off:off + n]

    expected = b"\x00\x00\x00\x02" + b"\x00\x00\x00\x01a\x00\x00\x00\x011" + b"\x00\x00\x00\x01b\x00\x00\x00\x012"
    assert context_bytes(a) == context_bytes(b) == expected
    ab_c = envelope.encrypt_bytes(kms, key_id, b"x", encryption_context={"ab": "c"})
    a_bc = envelope.encrypt_bytes(kms, key_id, b"x", encryption_context={"a": "bc"})
    assert context_bytes(ab_c) != context_bytes(a_bc)
    assert context_bytes(envelope.encrypt_bytes(kms, key_id, b"x")) == b"\x00\x00\x00\x00"


def test_every_message_gets_a_fresh_data_key_with_its_context(cloud, kms, key_id):
    before = len(kms_calls(cloud, "GenerateDataKey"))
    m1 = envelope.encrypt_bytes(kms, key_id, b"same data", encryption_context=CONTEXT)
    m2 = envelope.encrypt_bytes(kms, key_id, b"same data", encryption_context=CONTEXT)
    h1, h2 = envelope.read_header(m1), envelope.read_header(m2)
    assert h1.message_id != h2.message_id and h1.encrypted_data_key != h2.encrypted_data_key
    assert data_key_of(kms, m1) != data_key_of(kms, m2)
    assert m1[h1.length:] != m2[h2.length:]
    calls = kms_calls(cloud, "GenerateDataKey")[before:]
    assert len(calls) == 2
    for call in calls:
        assert call["requestParameters"] == {"keyId": key_id, "keySpec": "AES_256", "encryptionContext": CONTEXT}


def test_decryption_needs_no_key_id_and_calls_kms_decrypt_with_the_messages_context(cloud, kms, key_id, small):
    data, message = small
    assert envelope.decrypt_bytes(kms, message, encryption_context=dict(reversed(CONTEXT.items()))) == data
    call = kms_calls(cloud, "Decrypt")[-1]
    assert call["requestParameters"]["encryptionContext"] == CONTEXT
    assert "keyId" not in call["requestParameters"]


def test_key_id_restricts_the_accepted_kms_key(kms, key_id, small):
    data, message = small
    arn = kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName="alias/payroll", TargetKeyId=key_id)
    for accepted in (key_id, arn, "alias/payroll"):
        assert envelope.decrypt_bytes(kms, message, encryption_context=CONTEXT, key_id=accepted) == data
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    err = expect_error(kms, message, "key", key_id=other)
    assert other in str(err)
    assert isinstance(err.__cause__, ClientError)
    assert err.__cause__.response["Error"]["Code"] == "IncorrectKeyException"


def test_a_multi_region_replica_decrypts_in_its_own_region(cloud):
    east = cloud.client("kms", region_name="us-east-1")
    west = cloud.client("kms", region_name="us-west-2")
    mrk = east.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    replica_arn = east.replicate_key(KeyId=mrk, ReplicaRegion="us-west-2")["ReplicaKeyMetadata"]["Arn"]
    message = envelope.encrypt_bytes(east, mrk, b"global data" * 500, encryption_context=CONTEXT)
    assert envelope.decrypt_bytes(west, message, encryption_context=CONTEXT) == b"global data" * 500
    assert envelope.decrypt_bytes(west, message, encryption_context=CONTEXT, key_id=replica_arn) == b"global data" * 500


# --------------------------------------------------------------------------
# Tampering
# --------------------------------------------------------------------------


def test_every_header_byte_is_protected(kms, small):
    _, message = small
    header = envelope.read_header(message)
    for i in range(header.length):
        damaged = bytearray(message)
        damaged[i] ^= 0x01
        expect_error(kms, bytes(damaged))


def test_every_body_byte_is_protected(kms, small):
    _, message = small
    header = envelope.read_header(message)
    for i in range(header.length, len(message)):
        for flip in (0x01, 0x80):
            damaged = bytearray(message)
            damaged[i] ^= flip
            err = expect_error(kms, bytes(damaged))
            assert err.reason in ("chunk", "format", "truncated", "trailing")


def test_truncation_anywhere_is_detected(kms, small):
    _, message = small
    for n in range(len(message)):
        err = expect_error(kms, message[:n])
        assert err.reason in ("format", "truncated")


def test_truncation_at_every_chunk_boundary_is_detected(kms, small):
    _, message = small
    spans = chunk_spans(message)
    assert len(spans) == 4
    for i, (start, _) in enumerate(spans):
        err = expect_error(kms, message[:start], "truncated")
        assert f"ends after {i} chunk" in str(err) and "without its final chunk" in str(err)


def test_dropping_the_final_chunk_is_detected(kms, small):
    _, message = small
    final_start = chunk_spans(message)[-1][0]
    expect_error(kms, message[:final_start], "truncated")


def test_reordering_duplicating_or_dropping_chunks_is_detected(kms, small):
    _, message = small
    (a0, a1), (b0, b1), (c0, c1), (d0, d1) = chunk_spans(message)
    head, c = message[:a0], [message[s:e] for s, e in chunk_spans(message)]
    assert "chunk 0 failed" in str(expect_error(kms, head + c[1] + c[0] + c[2] + c[3], "chunk"))
    assert "chunk 2 failed" in str(expect_error(kms, head + c[0] + c[1] + c[1] + c[2] + c[3], "chunk"))
    assert "chunk 1 failed" in str(expect_error(kms, head + c[0] + c[2] + c[3], "chunk"))
    # The final chunk moved earlier, or a non-final chunk made final, fails too.
    assert "chunk 2 failed" in str(expect_error(kms, head + c[0] + c[1] + c[3], "chunk"))
    made_final = bytearray(c[2])
    made_final[0] = 1
    expect_error(kms, head + c[0] + c[1] + bytes(made_final), "format")


def test_bytes_after_the_final_chunk_are_refused(kms, small):
    _, message = small
    expect_error(kms, message + b"\x00", "trailing")
    expect_error(kms, message + message, "trailing")


def test_chunks_from_another_message_are_refused(kms, key_id, small):
    data, message = small
    other = envelope.encrypt_bytes(kms, key_id, data, encryption_context=CONTEXT, chunk_size=16)
    spans, other_spans = chunk_spans(message), chunk_spans(other)
    spliced = message[:spans[0][0]] + other[other_spans[0][0]:]
    assert "chunk 0 failed" in str(expect_error(kms, spliced, "chunk"))
    one_chunk = message[:spans[1][0]] + other[other_spans[1][0]:other_spans[1][1]] + message[spans[2][0]:]
    expect_error(kms, one_chunk, "chunk")


def test_swapping_in_another_messages_encrypted_data_key_fails_the_key_commitment(kms, key_id, small):
    _, message = small
    other = envelope.encrypt_bytes(kms, key_id, b"other", encryption_context=CONTEXT, chunk_size=16)
    h, o = envelope.read_header(message), envelope.read_header(other)
    assert len(h.encrypted_data_key) == len(o.encrypted_data_key)
    swapped = message.replace(h.encrypted_data_key, o.encrypted_data_key)
    err = expect_error(kms, swapped, "commitment")
    assert "does not belong to this message" in str(err)


def test_an_encrypted_data_key_of_another_kms_key_is_refused(kms, key_id, small):
    _, message = small
    other_key = kms.create_key()["KeyMetadata"]["KeyId"]
    other = envelope.encrypt_bytes(kms, other_key, b"other", encryption_context=CONTEXT, chunk_size=16)
    swapped = message.replace(envelope.read_header(message).encrypted_data_key,
                              envelope.read_header(other).encrypted_data_key)
    expect_error(kms, swapped, "key")  # the header names key_id, KMS says the data key is other_key's
    expect_error(kms, swapped, "key", key_id=key_id)  # KMS refuses it outright (IncorrectKeyException)


def test_an_altered_context_in_the_header_is_refused_by_kms_too(kms, key_id, small):
    _, message = small
    forged_context = {"department": "20", "purpose": "payroll"}  # same length as the original
    forged = message.replace(b"\x00\x00\x00\x0210", b"\x00\x00\x00\x0220")
    assert envelope.read_header(forged).encryption_context == forged_context
    # A caller who expects the forged context gets past the local check; KMS refuses the data key.
    err = expect_error(kms, forged, "key", encryption_context=forged_context)
    assert isinstance(err.__cause__, ClientError)
    assert err.__cause__.response["Error"]["Code"] == "InvalidCiphertextException"


def test_other_data_is_not_a_message(kms, key_id):
    assert "empty" in str(expect_error(kms, b"", "format"))
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"not an envelope")["CiphertextBlob"]
    assert "not a kms_teach envelope message" in str(expect_error(kms, blob, "format"))
    message = envelope.encrypt_bytes(kms, key_id, b"x", encryption_context=CONTEXT)
    assert "version 2" in str(expect_error(kms, message[:4] + b"\x02" + message[5:], "format"))
    assert "algorithm" in str(expect_error(kms, message[:5] + b"\x00\x02" + message[7:], "format"))
    with pytest.raises(EnvelopeError):
        envelope.read_header(b"KTEV\x01")


# --------------------------------------------------------------------------
# Encryption context
# --------------------------------------------------------------------------


@pytest.mark.parametrize("expected, says", [
    ({"department": "10", "purpose": "bonuses"}, "values differ for keys: ['purpose']"),
    ({"department": "10"}, "the message has keys you did not expect: ['purpose']"),
    (None, "the message has keys you did not expect: ['department', 'purpose']"),
    ({**CONTEXT, "year": "2026"}, "keys you expect are not in the message: ['year']"),
    ({"Department": "10", "purpose": "payroll"}, "keys you expect are not in the message: ['Department']"),
])
def test_a_different_encryption_context_is_refused_before_kms_is_called(cloud, kms, small, expected, says):
    _, message = small
    before = len(kms_calls(cloud, "Decrypt"))
    err = expect_error(kms, message, "context", encryption_context=expected)
    assert says in str(err)
    assert "payroll" not in str(err) and "bonuses" not in str(err)  # names keys, never values
    assert len(kms_calls(cloud, "Decrypt")) == before


def test_a_context_on_a_message_without_one_is_refused(kms, key_id):
    message = envelope.encrypt_bytes(kms, key_id, b"plain")
    expect_error(kms, message, "context", encryption_context={"purpose": "payroll"})


def test_the_context_must_be_text(kms, key_id):
    with pytest.raises(TypeError):
        envelope.encrypt_bytes(kms, key_id, b"x", encryption_context={"n": 1})
    with pytest.raises(TypeError):
        envelope.encrypt_bytes(kms, key_id, b"x", encryption_context=[("a", "b")])


def test_unicode_context_round_trips(kms, key_id):
    ctx = {"résumé": "naïve ☃", "日本": "東京", "emoji": "🐱"}
    message = envelope.encrypt_bytes(kms, key_id, b"data", encryption_context=ctx)
    assert envelope.read_header(message).encryption_context == ctx
    assert envelope.decrypt_bytes(kms, message, encryption_context=ctx) == b"data"


# --------------------------------------------------------------------------
# KMS key states and arguments
# --------------------------------------------------------------------------


def test_a_disabled_kms_key_surfaces_as_a_client_error(kms, key_id, small):
    data, message = small
    kms.disable_key(KeyId=key_id)
    with pytest.raises(ClientError) as excinfo:
        envelope.encrypt_bytes(kms, key_id, b"new data")
    assert error_code(excinfo) == "DisabledException"
    with pytest.raises(ClientError) as excinfo:
        envelope.decrypt_bytes(kms, message, encryption_context=CONTEXT)
    assert error_code(excinfo) == "DisabledException"
    assert not isinstance(excinfo.value, EnvelopeError)
    kms.enable_key(KeyId=key_id)
    assert envelope.decrypt_bytes(kms, message, encryption_context=CONTEXT) == data


def test_a_disabled_key_leaves_no_file_behind(kms, key_id, tmp_path):
    (tmp_path / "in").write_bytes(b"data")
    kms.disable_key(KeyId=key_id)
    with pytest.raises(ClientError):
        envelope.encrypt_file(kms, key_id, tmp_path / "in", tmp_path / "out")
    assert [p.name for p in tmp_path.iterdir()] == ["in"]


@pytest.mark.parametrize("chunk_size, error", [(0, ValueError), (envelope.MAX_CHUNK_SIZE + 1, ValueError),
                                               (True, TypeError), (1.5, TypeError)])
def test_chunk_size_is_checked(kms, key_id, chunk_size, error):
    with pytest.raises(error):
        envelope.encrypt_bytes(kms, key_id, b"x", chunk_size=chunk_size)


def test_a_text_mode_reader_is_refused(kms, key_id):
    with pytest.raises(TypeError, match="binary mode"):
        envelope.encrypt_stream(kms, key_id, io.StringIO("text"), io.BytesIO())


def test_envelope_error_is_a_kms_teach_error():
    assert issubclass(EnvelopeError, kms_teach.KMSTeachError)
    assert not issubclass(EnvelopeError, kms_teach.AWSError)


# --------------------------------------------------------------------------
# The data key lifecycle
# --------------------------------------------------------------------------


def test_encryption_events_in_order(kms, key_id):
    events = []
    data = os.urandom(3 * 64 + 1)
    message = envelope.encrypt_bytes(kms, key_id, data, chunk_size=64, encryption_context=CONTEXT,
                                     on_event=events.append)
    header = envelope.read_header(message)
    assert [e.step for e in events] == ["generate", "store-encrypted-key", "encrypt-data", "discard-plaintext"]
    assert [e.plaintext_key for e in events] == ["in memory", "in memory", "in memory", "wiped"]
    assert events[0].encrypted_key == "in memory"
    assert all(e.encrypted_key.startswith("message header") for e in events[1:])
    assert (events[2].chunks, events[2].data_bytes) == (4, len(data))
    for e in events:
        assert isinstance(e, envelope.DataKeyEvent)
        assert e.kms_key_arn == header.kms_key_arn and e.message_id == header.message_id.hex()
        assert e.plaintext_key_length == 32 and e.encrypted_key_length == len(header.encrypted_data_key)
        assert e.encrypted_key_sha256 == hashlib.sha256(header.encrypted_data_key).hexdigest()[:16]
        assert e.step in str(e)


def test_decryption_events_in_order(kms, key_id, small):
    data, message = small
    events = []
    envelope.decrypt_bytes(kms, message, encryption_context=CONTEXT, on_event=events.append)
    assert [e.step for e in events] == ["read-encrypted-key", "decrypt-key", "decrypt-data", "discard-plaintext"]
    assert [e.plaintext_key for e in events] == ["absent", "in memory", "in memory", "wiped"]
    assert (events[2].chunks, events[2].data_bytes) == (4, len(data))


def test_the_plaintext_key_is_discarded_even_when_the_work_fails(kms, key_id, small):
    events = []

    class Failing:
        def read(self, n):
            raise OSError("disk on fire")

    with pytest.raises(OSError):
        envelope.encrypt_stream(kms, key_id, Failing(), io.BytesIO(), on_event=events.append)
    assert [e.step for e in events] == ["generate", "store-encrypted-key", "discard-plaintext"]
    events.clear()
    _, message = small
    damaged = message[:-1] + bytes([message[-1] ^ 1])
    expect_error(kms, damaged, "chunk", on_event=events.append)
    assert [e.step for e in events] == ["read-encrypted-key", "decrypt-key", "discard-plaintext"]
    events.clear()
    expect_error(kms, message, "context", encryption_context={}, on_event=events.append)
    assert [e.step for e in events] == ["read-encrypted-key"]  # no key was ever decrypted


def test_events_never_carry_key_bytes(kms, key_id):
    events = []
    message = envelope.encrypt_bytes(kms, key_id, os.urandom(500), chunk_size=64, on_event=events.append)
    envelope.decrypt_bytes(kms, message, on_event=events.append)
    header = envelope.read_header(message)
    data_key = data_key_of(kms, message)
    okm = HKDF(hashes.SHA256(), 108, header.message_id, b"kms_teach envelope v1\x00\x01").derive(data_key)
    secrets = [data_key, okm[:32], okm[32:64]]
    for e in events:
        text = (repr(e) + str(e)).encode()
        for secret in secrets:
            for form in encodings(secret):
                assert form not in text
        for field in dataclasses.fields(e):
            assert not isinstance(getattr(e, field.name), (bytes, bytearray, memoryview)), field.name


def test_the_data_key_never_reaches_the_disk(kms, key_id, tmp_path):
    src, enc, out = tmp_path / "payroll.csv", tmp_path / "payroll.csv.ktev", tmp_path / "payroll.out"
    src.write_bytes(os.urandom(3 * 64 + 9))
    events = []
    envelope.encrypt_file(kms, key_id, src, enc, encryption_context=CONTEXT, chunk_size=64, on_event=events.append)
    envelope.decrypt_file(kms, enc, out, encryption_context=CONTEXT, on_event=events.append)
    message = enc.read_bytes()
    header = envelope.read_header(message)
    data_key = data_key_of(kms, message)
    okm = HKDF(hashes.SHA256(), 108, header.message_id, b"kms_teach envelope v1\x00\x01").derive(data_key)
    assert okm[76:] == header.key_commitment  # the test derives the keys as the format says
    secrets = [data_key, okm[:32], okm[32:64]]
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert sorted(p.name for p in files) == ["payroll.csv", "payroll.csv.ktev", "payroll.out"]
    for path in files:
        content = path.read_bytes()
        for secret in secrets:
            for form in encodings(secret):
                assert form not in content, path
    # The encrypted data key, by contrast, is stored in the message.
    assert header.encrypted_data_key in message
    assert events[3].encrypted_key == f"message header (on disk: {enc})"


def test_error_messages_never_carry_key_bytes(kms, key_id, small):
    _, message = small
    data_key = data_key_of(kms, message)
    damaged = [message[:-1] + bytes([message[-1] ^ 1]), message[:-30], message + b"x",
               message[:200] + bytes([message[200] ^ 1]) + message[201:]]
    for m in damaged:
        err = expect_error(kms, m)
        for form in encodings(data_key):
            assert form not in str(err).encode()


# --------------------------------------------------------------------------
# The module's place in the package, and its format document
# --------------------------------------------------------------------------


def test_the_recipe_layer_uses_only_public_apis():
    tree = ast.parse((REPO / "kms_teach" / "envelope.py").read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            imported.add(("." * node.level) + (node.module or ""))
        elif isinstance(node, ast.Import):
            imported.update(a.name for a in node.names)
    package = {m for m in imported if m.startswith(".") or m.startswith("kms_teach")}
    assert package <= {"._errors"}, package
    assert all(m.split(".")[0] in {"__future__", "hashlib", "hmac", "os", "struct", "tempfile", "dataclasses",
                                   "typing", "botocore", "cryptography"}
               for m in imported - package), imported


def test_the_format_document_matches_the_code(kms, key_id, small):
    doc = (REPO / "docs" / "envelope-format.md").read_text()
    _, message = small
    header = envelope.read_header(message)
    for name, offset, length, _ in header.layout:
        assert f"`{name}`" in doc, name
    fixed = {name: (offset, length) for name, offset, length, _ in header.layout[:6]}
    for name, (offset, length) in fixed.items():
        assert re.search(rf"\|\s*{offset}\s*\|\s*{length}\s*\|\s*`{name}`", doc), name
    assert "0x0001" in doc and "KTEV" in doc and "Fidelity" in doc
