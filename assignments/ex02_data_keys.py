# ---
# assignment: ex02_data_keys
# title: Envelope encryption of data larger than 4 KB, with no plaintext data key left behind
# ---

# %% [markdown]
# # Exercise 02: envelope encryption
#
# Goes with notebook [02_data_keys](../notebooks/02_data_keys.ipynb). KMS encrypts at most 4 KB itself; larger data is encrypted
# **locally** under a **data key** (DEK) that KMS generates, and only the **encrypted** data key is
# kept next to the data. Here you build that yourself with KMS and AES-256-GCM from the
# `cryptography` package, and make sure the plaintext data key is never stored.
#
# Use `AESGCM` from `cryptography.hazmat.primitives.ciphers.aead` with a fresh 12-byte nonce
# (`os.urandom(12)`) and no associated data.

# %% [setup]
import os
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import kms_teach
from kms_teach.exercises import ex02 as check

cloud = kms_teach.Cloud(seed=2026)
kms = cloud.client("kms", region_name="us-east-1")

# %% [markdown]
# ## Task 1 (3 points): seal data under a fresh data key
#
# Write `seal(kms, key_id, data)`. It asks KMS for a new AES-256 data key under the KMS key `key_id`,
# encrypts `data` (bytes, any size) locally with it, and returns a dict with exactly what is needed
# later and nothing secret: `{"encrypted_key": ..., "nonce": ..., "ciphertext": ...}` (all bytes).

# %% [answer t1]
def seal(kms, key_id, data):
    ### BEGIN SOLUTION
    dk = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    nonce = os.urandom(12)
    ciphertext = AESGCM(dk["Plaintext"]).encrypt(nonce, data, None)
    return {"encrypted_key": dk["CiphertextBlob"], "nonce": nonce, "ciphertext": ciphertext}
    ### END SOLUTION

# %% [check t1 points=3 "Seal data with a fresh data key"]
check.t1(seal)
### BEGIN HIDDEN TESTS
from kms_teach.exercises import fresh, forms, record_data_keys
cloud_, kms_ = fresh(seed=21)
handed = record_data_keys(kms_)
key_id = kms_.create_key()["KeyMetadata"]["KeyId"]
data = bytes((i * 7 + 3) % 256 for i in range(50_000))
try:
    records = [seal(kms_, key_id, data), seal(kms_, key_id, data)]
except Exception as exc:
    if "4096" in str(exc):
        raise AssertionError("seal sent the 50 KB of data to KMS, which encrypts at most 4096 bytes: encrypt the "
                             "data locally with a data key (GenerateDataKey)")
    raise
for record in records:
    assert isinstance(record, dict) and set(record) == {"encrypted_key", "nonce", "ciphertext"}, \
        "seal must return a dict with exactly encrypted_key, nonce and ciphertext"
    assert data[:64] not in record["ciphertext"], "the data is readable in the ciphertext: encrypt it with AES-GCM"
    out = kms_.decrypt(CiphertextBlob=record["encrypted_key"])
    assert out["KeyId"].endswith(key_id), \
        "the data key is not encrypted under the KMS key asked for: ask GenerateDataKey with key_id"
    dek = out["Plaintext"]
    assert len(dek) == 32, "the data key is not an AES-256 key: KeySpec AES_256"
    assert AESGCM(dek).decrypt(record["nonce"], record["ciphertext"], None) == data, \
        "the ciphertext does not decrypt with the data key (AES-256-GCM, the nonce, no associated data)"
    blob = b"".join(v if isinstance(v, bytes) else str(v).encode() for v in record.values())
    assert not any(f in blob for f in forms(dek)), \
        "the plaintext data key is in what seal returned: keep only CiphertextBlob, the encrypted data key"
assert records[0]["encrypted_key"] != records[1]["encrypted_key"], \
    "two records share one data key: each seal must ask GenerateDataKey for a new one"
### END HIDDEN TESTS

# %% [markdown]
# ## Task 2 (2 points): open a sealed record
#
# Write `unseal(kms, record)`, which returns the original data from a record made by `seal` (or by
# anybody following the same recipe).

# %% [answer t2]
def unseal(kms, record):
    ### BEGIN SOLUTION
    dek = kms.decrypt(CiphertextBlob=record["encrypted_key"])["Plaintext"]
    return AESGCM(dek).decrypt(record["nonce"], record["ciphertext"], None)
    ### END SOLUTION

# %% [check t2 points=2 "Open a sealed record"]
check.t2(unseal)
### BEGIN HIDDEN TESTS
from kms_teach.exercises import fresh
cloud_, kms_ = fresh(seed=22)
key_id = kms_.create_key()["KeyMetadata"]["KeyId"]
for data in (b"", b"short", bytes(range(256)) * 100):
    dk = kms_.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    nonce = os.urandom(12)
    record = {"encrypted_key": dk["CiphertextBlob"], "nonce": nonce,
              "ciphertext": AESGCM(dk["Plaintext"]).encrypt(nonce, data, None)}
    assert unseal(kms_, record) == data, ("unseal did not return the original data: Decrypt the encrypted data key, "
                                          "then AES-GCM with the record's nonce and no associated data")
tampered = dict(record, ciphertext=record["ciphertext"][:-1] + bytes([record["ciphertext"][-1] ^ 1]))
try:
    unseal(kms_, tampered)
except Exception:
    pass
else:
    raise AssertionError("a tampered record opened without error: let AES-GCM's authentication fail")
### END HIDDEN TESTS

# %% [markdown]
# ## Task 3 (4 points): files, with no plaintext data key on disk
#
# Write `seal_file(kms, key_id, src, dst)`, which writes an encrypted copy of the file `src` to the
# path `dst` (any file format you like), and `open_file(kms, path)`, which returns the original
# bytes. Afterwards the grader reads **every file** your code could have written (your working
# folder, where `src` and `dst` are, everything under it, and `/tmp`) looking for the plaintext data
# key, raw, in hex or in base64.

# %% [answer t3]
def seal_file(kms, key_id, src, dst):
    ### BEGIN SOLUTION
    record = seal(kms, key_id, Path(src).read_bytes())
    ek = record["encrypted_key"]
    Path(dst).write_bytes(len(ek).to_bytes(2, "big") + ek + record["nonce"] + record["ciphertext"])
    ### END SOLUTION


def open_file(kms, path):
    ### BEGIN SOLUTION
    raw = Path(path).read_bytes()
    n = int.from_bytes(raw[:2], "big")
    return unseal(kms, {"encrypted_key": raw[2:2 + n], "nonce": raw[2 + n:14 + n], "ciphertext": raw[14 + n:]})
    ### END SOLUTION

# %% [check t3 points=4 "Seal a file; no plaintext data key on disk"]
check.t3(seal_file, open_file)
### BEGIN HIDDEN TESTS
from kms_teach.exercises import files_holding, fresh, record_data_keys, work_folder, written_folders
cloud_, kms_ = fresh(seed=23)
handed = record_data_keys(kms_)
key_id = kms_.create_key()["KeyMetadata"]["KeyId"]
folder = work_folder()  # new and empty, at the same path for the learner's code and for these checks
src, dst = folder / "report.pdf", folder / "report.pdf.sealed"
data = b"%PDF-1.7 quarterly figures " * 1000
folder.write("report.pdf", data)
seal_file(kms_, key_id, src, dst)
sealed = folder.read("report.pdf.sealed")
assert sealed is not None, "seal_file wrote no file at dst (the path it is given)"
assert data[:40] not in sealed, "the sealed file holds the plaintext: encrypt the file's bytes with the data key"
folder.remove("report.pdf")
assert open_file(kms_, dst) == data, ("open_file did not give the original bytes back (the source file is gone: "
                                      "everything needed must be in the sealed file, the data key encrypted)")
assert handed, "no data key came from KMS: envelope encryption starts with GenerateDataKey"
leaked = files_holding(written_folders(), handed)
assert not leaked, (f"a plaintext data key was written to disk ({[Path(p).name for p in leaked]}): store only the "
                    "encrypted data key, and keep the plaintext one in memory just while you use it")
### END HIDDEN TESTS
