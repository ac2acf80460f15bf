"""Writes the known-answer vectors of the two formats kms_teach defines (run by hand, never by the tests).

    .venv/bin/python tests/vectors/generate.py        # rewrites ciphertext_blob.json and envelope.json

The vectors are made from fixed keys and from a seeded cloud on a frozen clock. The tests
(tests/unit/test_vectors.py) check the committed JSON: they never run this script, so a format that
changes fails them until the vectors are regenerated on purpose (and the format's version bumped).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

import kms_teach  # noqa: E402
from kms_teach import envelope  # noqa: E402
from kms_teach._crypto.blob import parse_blob_header, seal_blob  # noqa: E402

SEED = "kms_teach known-answer vectors"
START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
REGION, ACCOUNT = "us-east-1", "111122223333"


class FixedRandom:
    """Hands out the bytes it was given, in order (the KDF nonce and the IV of one blob)."""

    def __init__(self, data: bytes):
        self.data = data

    def token_bytes(self, n: int) -> bytes:
        out, self.data = self.data[:n], self.data[n:]
        assert len(out) == n
        return out


def fixed(label: str, n: int) -> bytes:
    return hashlib.shake_256(f"kms_teach vector {label}".encode()).digest(n)


def blob_vector(description, *, account_id, key_id, backing_key, key_material_id, kdf_nonce, iv, context, plaintext):
    blob = seal_blob(backing_key=backing_key, account_id=account_id, key_id=key_id, key_material_id=key_material_id,
                     plaintext=plaintext, encryption_context=context, random=FixedRandom(kdf_nonce + iv))
    return {"description": description, "account_id": account_id, "key_id": key_id,
            "key_material_id": key_material_id, "backing_key": backing_key.hex(), "kdf_nonce": kdf_nonce.hex(),
            "iv": iv.hex(), "encryption_context": context, "plaintext": plaintext.hex(), "blob": blob.hex()}


def seeded_cloud():
    return kms_teach.Cloud(seed=SEED, clock=kms_teach.Clock(START, frozen=True))


def ciphertext_blob_vectors() -> dict:
    valid = [
        blob_vector("a UUID key ID, no encryption context", account_id=ACCOUNT,
                    key_id="1234abcd-12ab-34cd-56ef-1234567890ab", backing_key=fixed("backing key 1", 32),
                    key_material_id=fixed("material id 1", 32).hex(), kdf_nonce=fixed("nonce 1", 16),
                    iv=fixed("iv 1", 12), context=None, plaintext=b"attack at dawn"),
        blob_vector("a multi-Region key ID, a two-pair context (canonical order)", account_id="444455556666",
                    key_id="mrk-1234abcd12ab34cd56ef1234567890ab", backing_key=fixed("backing key 2", 32),
                    key_material_id=fixed("material id 2", 32).hex(), kdf_nonce=fixed("nonce 2", 16),
                    iv=fixed("iv 2", 12), context={"purpose": "test", "department": "finance"},
                    plaintext=fixed("plaintext 2", 32)),
        blob_vector('the context {"ab": "c"}', account_id=ACCOUNT, key_id="1234abcd-12ab-34cd-56ef-1234567890ab",
                    backing_key=fixed("backing key 1", 32), key_material_id=fixed("material id 1", 32).hex(),
                    kdf_nonce=fixed("nonce 3", 16), iv=fixed("iv 3", 12), context={"ab": "c"}, plaintext=b"x"),
        blob_vector('the context {"a": "bc"}: the same bytes of key and value, another encoding',
                    account_id=ACCOUNT, key_id="1234abcd-12ab-34cd-56ef-1234567890ab",
                    backing_key=fixed("backing key 1", 32), key_material_id=fixed("material id 1", 32).hex(),
                    kdf_nonce=fixed("nonce 3", 16), iv=fixed("iv 3", 12), context={"a": "bc"}, plaintext=b"x"),
        blob_vector("non-ASCII context keys and values (UTF-8), 4096 bytes of plaintext", account_id="000000000001",
                    key_id="00000000-0000-4000-8000-000000000000", backing_key=fixed("backing key 4", 32),
                    key_material_id=fixed("material id 4", 32).hex(), kdf_nonce=fixed("nonce 4", 16),
                    iv=fixed("iv 4", 12), context={"Zürich": "straße", "ключ": "значение", "a": ""},
                    plaintext=fixed("plaintext 4", 4096)),
    ]
    base = valid[0]
    blob = bytes.fromhex(base["blob"])

    def flipped(at: int) -> str:
        b = bytearray(blob)
        b[at] ^= 0x01
        return b.hex()

    invalid = [
        {"description": "a header byte changed (the account ID): the header check fails", "fails": "parse",
         "blob": flipped(5)},
        {"description": "the header check itself changed", "fails": "parse", "blob": flipped(87)},
        {"description": "the magic is not KT", "fails": "parse", "blob": flipped(0)},
        {"description": "shorter than a header and a tag", "fails": "parse", "blob": blob[:105].hex()},
        {"description": "a ciphertext byte changed: the tag fails", "fails": "open", "blob": flipped(90)},
        {"description": "the tag changed", "fails": "open", "blob": flipped(len(blob) - 1)},
        {"description": "the right blob under another encryption context", "fails": "open", "blob": base["blob"],
         "encryption_context": {"purpose": "other"}},
        {"description": "the right blob under another backing key", "fails": "open", "blob": base["blob"],
         "backing_key": fixed("backing key 2", 32).hex()},
    ]
    for v in invalid:
        v.setdefault("backing_key", base["backing_key"])
        v.setdefault("encryption_context", base["encryption_context"])

    cloud = seeded_cloud()
    kms = cloud.client("kms", region_name=REGION)
    key_id = kms.create_key(Description="vectors")["KeyMetadata"]["KeyId"]
    context = {"course": "kms_teach"}
    plaintext = b"a ciphertext blob from a seeded cloud"
    seeded_blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext, EncryptionContext=context)["CiphertextBlob"]
    backing = cloud.kms._regions[(ACCOUNT, REGION)].keys[key_id].current_backing_key
    header = parse_blob_header(seeded_blob)
    seeded = {
        "description": "CreateKey then Encrypt in Cloud(seed=SEED) on a clock frozen at START",
        "seed": SEED, "start": START.isoformat(), "region": REGION, "account_id": ACCOUNT, "key_id": key_id,
        "key_material_id": backing.key_material_id, "backing_key": backing.material.hex(),
        "kdf_nonce": header.kdf_nonce.hex(), "iv": header.iv.hex(), "encryption_context": context,
        "plaintext": plaintext.hex(), "blob": seeded_blob.hex(),
    }
    cloud.close()
    return {"format": "the kms_teach ciphertext blob, version 1 (docs/ciphertext-format.md)",
            "generated_by": "tests/vectors/generate.py", "valid": valid, "invalid": invalid, "seeded_cloud": seeded}


class FakeKMS:
    """GenerateDataKey answers with fixed values (the vector's data key, encrypted data key and key ARN)."""

    def __init__(self, data_key: bytes, encrypted: bytes, arn: str):
        self.answer = {"Plaintext": data_key, "CiphertextBlob": encrypted, "KeyId": arn}

    def generate_data_key(self, **request):
        return dict(self.answer)


def message(data_key, encrypted, arn, message_id, chunk_size, context, plaintext) -> bytes:
    real = envelope._new_message_id
    envelope._new_message_id = lambda: message_id
    try:
        return envelope.encrypt_bytes(FakeKMS(data_key, encrypted, arn), arn, plaintext, encryption_context=context,
                                      chunk_size=chunk_size)
    finally:
        envelope._new_message_id = real


def envelope_vector(description, *, data_key, encrypted, arn, message_id, chunk_size, context, plaintext) -> dict:
    return {"description": description, "kms_key_arn": arn, "data_key": data_key.hex(),
            "encrypted_data_key": encrypted.hex(), "message_id": message_id.hex(), "chunk_size": chunk_size,
            "encryption_context": context,
            "plaintext": plaintext.hex(),
            "message": message(data_key, encrypted, arn, message_id, chunk_size, context, plaintext).hex()}


def envelope_vectors() -> dict:
    cloud = seeded_cloud()
    kms = cloud.client("kms", region_name=REGION)
    key_id = kms.create_key(Description="envelope vectors")["KeyMetadata"]["KeyId"]
    context = {"purpose": "known-answer vectors", "record": "42"}
    dk = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256", EncryptionContext=context)
    arn = dk["KeyId"]
    plaintext = fixed("envelope plaintext", 100)
    seeded = envelope_vector("a data key from GenerateDataKey in the seeded cloud; 100 bytes in chunks of 32",
                             data_key=dk["Plaintext"], encrypted=dk["CiphertextBlob"], arn=arn,
                             message_id=fixed("message id 1", 32), chunk_size=32, context=context,
                             plaintext=plaintext)
    seeded.update({"seed": SEED, "start": START.isoformat(), "region": REGION})
    dk2 = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    valid = [
        seeded,
        envelope_vector("the empty plaintext: one empty final chunk", data_key=dk2["Plaintext"],
                        encrypted=dk2["CiphertextBlob"], arn=arn, message_id=fixed("message id 2", 32),
                        chunk_size=1 << 20, context=None, plaintext=b""),
        envelope_vector("a multiple of the chunk size: full chunks, then an empty final chunk",
                        data_key=dk2["Plaintext"], encrypted=dk2["CiphertextBlob"], arn=arn,
                        message_id=fixed("message id 3", 32), chunk_size=16, context=None,
                        plaintext=fixed("envelope plaintext 3", 48)),
    ]
    cloud.close()
    base = valid[0]
    msg = bytes.fromhex(base["message"])
    header = envelope.read_header(msg)
    hlen = header.length
    chunk = 5 + base["chunk_size"] + 16  # a full chunk: type, length, ciphertext, tag

    def flipped(at: int) -> str:
        b = bytearray(msg)
        b[at] ^= 0x01
        return b.hex()

    other = bytes.fromhex(valid[2]["message"])
    other_header = envelope.read_header(other)
    layout = {name: (off, n) for name, off, n, _ in header.layout}
    off, n = layout["key_commitment"]
    spliced = msg[:off] + other_header.key_commitment + msg[off + n:]
    invalid = [
        {"description": "the magic is not KTEV", "reason": "format", "message": flipped(0)},
        {"description": "a header byte changed (the chunk size)", "reason": "header",
         "message": flipped(layout["chunk_size"][0] + 3)},
        {"description": "the key commitment of another message", "reason": "commitment", "message": spliced.hex()},
        {"description": "a ciphertext byte of the first chunk changed", "reason": "chunk", "message": flipped(hlen + 6)},
        {"description": "the first two chunks swapped", "reason": "chunk",
         "message": (msg[:hlen] + msg[hlen + chunk:hlen + 2 * chunk] + msg[hlen:hlen + chunk]
                     + msg[hlen + 2 * chunk:]).hex()},
        {"description": "the final chunk cut off", "reason": "truncated", "message": msg[:hlen + 3 * chunk].hex()},
        {"description": "a byte after the final chunk", "reason": "trailing", "message": (msg + b"\x00").hex()},
        {"description": "the right message, another expected encryption context", "reason": "context",
         "message": base["message"], "expected_context": {"purpose": "something else", "record": "42"}},
    ]
    for v in invalid:
        v.setdefault("expected_context", base["encryption_context"])
    return {"format": "the kms_teach envelope message, version 1 (docs/envelope-format.md)",
            "generated_by": "tests/vectors/generate.py", "valid": valid, "invalid": invalid}


def main() -> None:
    for name, vectors in (("ciphertext_blob.json", ciphertext_blob_vectors()), ("envelope.json", envelope_vectors())):
        (HERE / name).write_text(json.dumps(vectors, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {HERE / name}")


if __name__ == "__main__":
    main()
