"""Self-checks of exercise 02 (envelope encryption)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from . import Failed, _read_regular, error_code, expect, files_holding, forms, fresh, record_data_keys, self_check

BIG = b"0123456789abcdef" * 1024  # 16 KiB: more than Encrypt accepts


def _explain_4kb(exc: Exception) -> None:
    if error_code(exc) == "ValidationException" and "4096" in str(exc):
        raise Failed("KMS refused more than 4096 bytes: Encrypt is only for small secrets. Generate a data key "
                     "(GenerateDataKey) and encrypt the data locally with it") from None


@self_check("Task 1")
def t1(seal) -> None:
    _, kms = fresh()
    handed = record_data_keys(kms)
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    try:
        record = seal(kms, key_id, BIG)
    except Exception as exc:
        _explain_4kb(exc)
        raise
    expect(isinstance(record, dict) and set(record) == {"encrypted_key", "nonce", "ciphertext"},
           "return a dict with exactly encrypted_key, nonce and ciphertext")
    expect(handed, "no data key came from KMS: call kms.generate_data_key(KeyId=..., KeySpec='AES_256')")
    for value in record.values():
        if isinstance(value, (bytes, bytearray)) and any(bytes(value) == k for k in handed):
            raise Failed("the record holds the plaintext data key: keep CiphertextBlob (the encrypted data key) "
                         "and drop Plaintext once the data is encrypted")
    expect(BIG[:32] not in record["ciphertext"], "the data is readable in the ciphertext")
    again = seal(kms, key_id, BIG)
    expect(isinstance(again, dict) and again.get("encrypted_key") != record["encrypted_key"],
           "two records share one data key: ask GenerateDataKey for a new data key for every seal")


@self_check("Task 2")
def t2(unseal) -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    _, kms = fresh()
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    dk = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    nonce = os.urandom(12)
    record = {"encrypted_key": dk["CiphertextBlob"], "nonce": nonce,
              "ciphertext": AESGCM(dk["Plaintext"]).encrypt(nonce, BIG, None)}
    out = unseal(kms, record)
    expect(out == BIG, "unseal did not return the original data: Decrypt the encrypted data key, then AES-GCM "
                       "decrypt with the nonce and no associated data")
    tampered = dict(record, ciphertext=record["ciphertext"][:-1] + bytes([record["ciphertext"][-1] ^ 1]))
    try:
        unseal(kms, tampered)
    except Exception:
        return
    raise Failed("a record changed by one bit opened without an error: let AES-GCM's authentication failure "
                 "(InvalidTag) reach the caller")


def _new_in_tmp(since: float, secrets) -> list[str]:
    """Files written in the top of the temporary folder since ``since`` that hold a secret (the
    grader looks at the whole /tmp of its sandbox; here, only at what this check's run wrote)."""
    found = []
    top = tempfile.gettempdir()
    try:
        entries = [e for e in os.scandir(top) if e.is_file(follow_symlinks=False) and e.stat().st_mtime >= since]
    except OSError:
        return found
    wanted = [f for s in secrets for f in forms(s)]
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for entry in entries:
            data = _read_regular(entry.name, fd)
            if data is not None and any(f in data for f in wanted):
                found.append(entry.path)
    finally:
        os.close(fd)
    return found


@self_check("Task 3")
def t3(seal_file, open_file) -> None:
    import time

    started = time.time() - 1
    _, kms = fresh()
    handed = record_data_keys(kms)
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    with tempfile.TemporaryDirectory() as folder:
        src, dst = Path(folder) / "plans.txt", Path(folder) / "plans.txt.sealed"
        src.write_bytes(BIG)
        here = os.getcwd()
        os.chdir(folder)
        try:
            try:
                seal_file(kms, key_id, src, dst)
            except Exception as exc:
                _explain_4kb(exc)
                raise
            expect(dst.exists(), "seal_file wrote nothing at dst")
            expect(BIG[:32] not in dst.read_bytes(), "the sealed file holds the plaintext")
            leaked = files_holding(folder, handed) + _new_in_tmp(started, handed)
            expect(not leaked, "a plaintext data key is on disk (in "
                               f"{', '.join(Path(p).name for p in leaked)}): write only the encrypted data key")
            expect(open_file(kms, dst) == BIG, "open_file did not give the original bytes back")
        finally:
            os.chdir(here)
