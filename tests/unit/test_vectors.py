"""Known-answer vectors for the two formats kms_teach defines (tests/vectors/*.json, the pyca style).

Each valid vector is checked in both directions: its inputs produce exactly its bytes, and its bytes
parse and decrypt to exactly its inputs, with kms_teach's code and, independently, with pyca
``cryptography`` following the format documents step by step. Invalid vectors must fail, and fail the
way the format says. The vectors are committed; tests/vectors/generate.py wrote them once and the tests
never run it, so a format that changes by accident fails here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import struct
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

import kms_teach
from kms_teach import envelope
from kms_teach._crypto.blob import encode_encryption_context, open_blob, parse_blob_header, seal_blob

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
BLOBS = json.loads((VECTORS / "ciphertext_blob.json").read_text(encoding="utf-8"))
ENVELOPES = json.loads((VECTORS / "envelope.json").read_text(encoding="utf-8"))


class FixedRandom:
    def __init__(self, data: bytes):
        self.data = data

    def token_bytes(self, n: int) -> bytes:
        out, self.data = self.data[:n], self.data[n:]
        assert len(out) == n
        return out


def _ids(vectors):
    return [v["description"] for v in vectors]


# ---------------------------------------------------------------------------
# The ciphertext blob (docs/ciphertext-format.md)
# ---------------------------------------------------------------------------


def _canonical_context(context: dict | None) -> bytes:
    """docs/ciphertext-format.md, "Canonical encryption-context encoding", written out again here."""
    items = sorted((k.encode(), v.encode()) for k, v in (context or {}).items())
    out = struct.pack(">I", len(items))
    for k, v in items:
        out += struct.pack(">I", len(k)) + k + struct.pack(">I", len(v)) + v
    return out


def _documented_open(blob: bytes, backing_key: bytes, context: dict | None) -> bytes:
    """Decrypt a blob with pyca cryptography alone, following docs/ciphertext-format.md."""
    assert blob[:2] == b"KT" and blob[2] == 1
    assert blob[86:90] == hashlib.sha256(blob[:86]).digest()[:4]
    nonce, iv = blob[58:74], blob[74:86]
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=nonce, info=b"kms_teach ciphertext v1").derive(backing_key)
    return AESGCM(key).decrypt(iv, blob[90:], blob[:90] + _canonical_context(context))


def _check_blob(v: dict) -> None:
    blob = bytes.fromhex(v["blob"])
    backing_key = bytes.fromhex(v["backing_key"])
    plaintext = bytes.fromhex(v["plaintext"])
    context = v["encryption_context"]
    # inputs -> bytes
    made = seal_blob(backing_key=backing_key, account_id=v["account_id"], key_id=v["key_id"],
                     key_material_id=v["key_material_id"], plaintext=plaintext, encryption_context=context,
                     random=FixedRandom(bytes.fromhex(v["kdf_nonce"]) + bytes.fromhex(v["iv"])))
    assert made == blob
    # bytes -> inputs
    header = parse_blob_header(blob)
    assert (header.account_id, header.key_id, header.key_material_id) == (v["account_id"], v["key_id"],
                                                                         v["key_material_id"])
    assert (header.kdf_nonce.hex(), header.iv.hex()) == (v["kdf_nonce"], v["iv"])
    assert len(blob) == len(plaintext) + 106
    assert open_blob(blob, header, backing_key=backing_key, encryption_context=context) == plaintext
    assert _documented_open(blob, backing_key, context) == plaintext
    assert encode_encryption_context(context) == _canonical_context(context)


@pytest.mark.parametrize("vector", BLOBS["valid"], ids=_ids(BLOBS["valid"]))
def test_blob_vectors_produce_and_parse(vector):
    _check_blob(vector)


def test_the_two_contexts_with_the_same_letters_encode_differently():
    by = {v["description"]: v for v in BLOBS["valid"]}
    ab, a = by['the context {"ab": "c"}'], by['the context {"a": "bc"}: the same bytes of key and value, another encoding']
    assert ab["blob"][:180] == a["blob"][:180]  # the same 90-byte header (same key, nonce and IV) ...
    assert ab["blob"] != a["blob"]  # ... but another tag: the context is authenticated unambiguously


@pytest.mark.parametrize("vector", BLOBS["invalid"], ids=_ids(BLOBS["invalid"]))
def test_invalid_blob_vectors_fail(vector):
    blob = bytes.fromhex(vector["blob"])
    backing_key = bytes.fromhex(vector["backing_key"])
    if vector["fails"] == "parse":
        with pytest.raises(kms_teach.KMSTeachError):
            parse_blob_header(blob)
    else:
        header = parse_blob_header(blob)
        with pytest.raises(kms_teach.KMSTeachError):
            open_blob(blob, header, backing_key=backing_key, encryption_context=vector["encryption_context"])
        with pytest.raises(InvalidTag):
            _documented_open(blob, backing_key, vector["encryption_context"])


def _seeded(v: dict) -> kms_teach.Cloud:
    return kms_teach.Cloud(seed=v["seed"], clock=kms_teach.Clock(dt.datetime.fromisoformat(v["start"]), frozen=True))


def test_the_seeded_cloud_vector():
    v = BLOBS["seeded_cloud"]
    _check_blob(v)  # its inputs, the seeded cloud's key material included, give its bytes
    plaintext, context = bytes.fromhex(v["plaintext"]), v["encryption_context"]
    with _seeded(v) as cloud:  # the same seeded cloud makes the same key and the same blob, and decrypts it
        kms = cloud.client("kms", region_name=v["region"])
        key_id = kms.create_key(Description="vectors")["KeyMetadata"]["KeyId"]
        assert key_id == v["key_id"]
        assert kms.encrypt(KeyId=key_id, Plaintext=plaintext, EncryptionContext=context)["CiphertextBlob"].hex() == \
            v["blob"]
        out = kms.decrypt(CiphertextBlob=bytes.fromhex(v["blob"]), EncryptionContext=context)
        assert out["Plaintext"] == plaintext and out["KeyMaterialId"] == v["key_material_id"]


# ---------------------------------------------------------------------------
# The envelope message (docs/envelope-format.md)
# ---------------------------------------------------------------------------


class FakeKMS:
    """A KMS client that knows the vectors' data keys (GenerateDataKey gives one, Decrypt finds one)."""

    def __init__(self, vector: dict | None = None):
        self.vector = vector
        self.keys = {bytes.fromhex(v["encrypted_data_key"]): (bytes.fromhex(v["data_key"]), v["kms_key_arn"],
                                                               v["encryption_context"])
                     for v in ENVELOPES["valid"]}
        self.calls = []

    def generate_data_key(self, **request):
        self.calls.append(("GenerateDataKey", request))
        v = self.vector
        return {"Plaintext": bytes.fromhex(v["data_key"]), "CiphertextBlob": bytes.fromhex(v["encrypted_data_key"]),
                "KeyId": v["kms_key_arn"]}

    def decrypt(self, **request):
        self.calls.append(("Decrypt", request))
        found = self.keys.get(request["CiphertextBlob"])
        if found is None or (request.get("EncryptionContext") or None) != found[2]:
            raise ClientError({"Error": {"Code": "InvalidCiphertextException", "Message": ""}}, "Decrypt")
        return {"Plaintext": found[0], "KeyId": found[1]}


def _documented_decrypt(message: bytes, data_key: bytes) -> bytes:
    """Decrypt an envelope message with pyca cryptography alone, following docs/envelope-format.md."""
    magic, version, algorithm, message_id, chunk_size = struct.unpack_from(">4sBH32sI", message, 0)
    assert (magic, version, algorithm) == (b"KTEV", 1, 1)
    pos = 43
    for _ in range(3):  # key ARN, encryption context, encrypted data key: u16 length-prefixed
        (n,) = struct.unpack_from(">H", message, pos)
        pos += 2 + n
    commitment = message[pos:pos + 32]
    header, tag = message[:pos + 32], message[pos + 32:pos + 48]
    okm = HKDF(algorithm=hashes.SHA256(), length=108, salt=message_id,
               info=b"kms_teach envelope v1\x00\x01").derive(data_key)
    assert hmac.compare_digest(okm[76:108], commitment)
    AESGCM(okm[32:64]).decrypt(bytes(12), tag, header)  # the header tag: an empty plaintext, the header as AAD
    content, base = AESGCM(okm[0:32]), int.from_bytes(okm[64:76], "big")
    pos, index, out = pos + 48, 0, b""
    while True:
        kind, n = struct.unpack_from(">BI", message, pos)
        sealed = message[pos + 5:pos + 5 + n + 16]
        aad = message_id + struct.pack(">IB", index, kind)
        out += content.decrypt((base ^ index).to_bytes(12, "big"), sealed, aad)
        pos += 5 + n + 16
        index += 1
        if kind == 1:
            assert pos == len(message)
            return out


def _encrypt(v: dict) -> bytes:
    real = envelope._new_message_id
    envelope._new_message_id = lambda: bytes.fromhex(v["message_id"])
    try:
        kms = FakeKMS(v)
        message = envelope.encrypt_bytes(kms, v["kms_key_arn"], bytes.fromhex(v["plaintext"]),
                                         encryption_context=v["encryption_context"], chunk_size=v["chunk_size"])
    finally:
        envelope._new_message_id = real
    expected = {"KeyId": v["kms_key_arn"], "KeySpec": "AES_256"}
    if v["encryption_context"]:
        expected["EncryptionContext"] = v["encryption_context"]
    assert kms.calls == [("GenerateDataKey", expected)]
    return message


@pytest.mark.parametrize("vector", ENVELOPES["valid"], ids=_ids(ENVELOPES["valid"]))
def test_envelope_vectors_produce_and_parse(vector):
    message, plaintext = bytes.fromhex(vector["message"]), bytes.fromhex(vector["plaintext"])
    # inputs -> bytes
    assert _encrypt(vector) == message
    # bytes -> inputs
    header = envelope.read_header(message)
    assert header.kms_key_arn == vector["kms_key_arn"]
    assert header.message_id.hex() == vector["message_id"]
    assert header.chunk_size == vector["chunk_size"]
    assert header.encryption_context == (vector["encryption_context"] or {})
    assert header.encrypted_data_key.hex() == vector["encrypted_data_key"]
    full, last = divmod(len(plaintext), vector["chunk_size"])
    assert len(message) == header.length + len(plaintext) + 21 * (full + 1)
    assert envelope.decrypt_bytes(FakeKMS(), message, encryption_context=vector["encryption_context"]) == plaintext
    assert _documented_decrypt(message, bytes.fromhex(vector["data_key"])) == plaintext


def test_the_seeded_cloud_decrypts_its_envelope_vector():
    v = next(v for v in ENVELOPES["valid"] if "seed" in v)
    with _seeded(v) as cloud:  # the seeded cloud makes the same key, so the real KMS decrypts the data key
        kms = cloud.client("kms", region_name=v["region"])
        kms.create_key(Description="envelope vectors")
        out = envelope.decrypt_bytes(kms, bytes.fromhex(v["message"]), encryption_context=v["encryption_context"])
        assert out == bytes.fromhex(v["plaintext"])
        dk = kms.generate_data_key(KeyId=v["kms_key_arn"], KeySpec="AES_256", EncryptionContext=v["encryption_context"])
        assert (dk["Plaintext"].hex(), dk["CiphertextBlob"].hex()) == (v["data_key"], v["encrypted_data_key"])


@pytest.mark.parametrize("vector", ENVELOPES["invalid"], ids=_ids(ENVELOPES["invalid"]))
def test_invalid_envelope_vectors_fail_for_their_reason(vector):
    with pytest.raises(envelope.EnvelopeError) as excinfo:
        envelope.decrypt_bytes(FakeKMS(), bytes.fromhex(vector["message"]),
                               encryption_context=vector["expected_context"])
    assert excinfo.value.reason == vector["reason"]
