"""The data folder under attack: one writer across processes, nothing left of destroyed key material,
private modes whatever the umask, and a root key that is trusted only when it is the user's own.

Each test is an attack from issue 15 ("Two openers lose acknowledged writes", "Deleted keys come back",
the folder's modes and a planted root key, a lock file that is a symbolic link).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

import kms_teach
from kms_teach._errors import DataDirInUse, StoreError
from kms_teach._model import KmsKey

START = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.timezone.utc)


def frozen(path) -> kms_teach.Cloud:
    return kms_teach.Cloud(path, clock=kms_teach.Clock(START, frozen=True))


def _open_elsewhere(path: Path) -> subprocess.CompletedProcess:
    """Open ``path`` as a Cloud in another process, make a key, and print what happened."""
    script = ("import sys, kms_teach\n"
              "from kms_teach._errors import DataDirInUse\n"
              "try:\n"
              f"    cloud = kms_teach.Cloud({str(path)!r})\n"
              "except DataDirInUse as exc:\n"
              "    print('REFUSED', exc.pid, exc)\n"
              "    sys.exit(3)\n"
              "cloud.client('kms').create_key(Description='from the other process')\n"
              "cloud.close()\n"
              "print('OPENED')\n")
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)


# ---------------------------------------------------------------------------
# One writer per folder
# ---------------------------------------------------------------------------


def test_a_second_process_is_refused_with_the_holders_pid_and_how_to_share(tmp_path):
    cloud = kms_teach.Cloud(tmp_path)
    kept = cloud.client("kms").create_key(Description="acknowledged")["KeyMetadata"]["KeyId"]
    try:
        other = _open_elsewhere(tmp_path)
        assert other.returncode == 3, other.stderr
        assert f"REFUSED {os.getpid()} " in other.stdout
        assert f"process {os.getpid()}" in other.stdout
        assert "cloud.serve()" in other.stdout and "connect" in other.stdout
        # Served, the message says where to connect.
        handle = cloud.serve()
        other = _open_elsewhere(tmp_path)
        assert other.returncode == 3 and handle.url in other.stdout, other.stdout
        handle.stop()
    finally:
        cloud.close()
    # Closed, the folder is free again, and nothing either process acknowledged is lost.
    other = _open_elsewhere(tmp_path)
    assert other.returncode == 0 and "OPENED" in other.stdout, other.stderr
    with kms_teach.Cloud(tmp_path) as again:
        descriptions = {again.client("kms").describe_key(KeyId=k["KeyId"])["KeyMetadata"]["Description"]
                        for k in again.client("kms").list_keys()["Keys"]}
        assert descriptions >= {"acknowledged", "from the other process"}
        assert kept in {k["KeyId"] for k in again.client("kms").list_keys()["Keys"]}


def test_a_second_cloud_in_the_same_process_is_refused_until_the_first_closes(tmp_path):
    first = kms_teach.Cloud(tmp_path)
    with pytest.raises(DataDirInUse) as excinfo:
        kms_teach.Cloud(tmp_path)
    assert excinfo.value.pid == os.getpid()
    assert "another Cloud object" in str(excinfo.value)
    first.client("kms").create_key()
    first.close()
    with kms_teach.Cloud(tmp_path) as second:
        assert len(second.client("kms").list_keys()["Keys"]) == 1


def test_a_failed_opening_lets_go_of_the_folder(tmp_path):
    (tmp_path / "kms.sqlite3").write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreError):
        kms_teach.Cloud(tmp_path)
    (tmp_path / "kms.sqlite3").unlink()
    kms_teach.Cloud(tmp_path).close()  # not refused as "in use" by the failed opener


def test_the_lock_file_is_never_followed_through_a_symbolic_link(tmp_path):
    victim = tmp_path / "precious.txt"
    victim.write_text("do not truncate me")
    folder = tmp_path / "cloud"
    folder.mkdir()
    (folder / "lock").symlink_to(victim)
    with pytest.raises(StoreError, match="symbolic link"):
        kms_teach.Cloud(folder)
    assert victim.read_text() == "do not truncate me"


# ---------------------------------------------------------------------------
# Destroyed key material leaves no copy
# ---------------------------------------------------------------------------


def _sealed_rows(folder: Path, cloud: kms_teach.Cloud, key_id: str) -> bytes:
    """The sealed record of ``key_id`` as the database holds it now."""
    key = cloud.kms.resolve_key(kms_teach._services.base.RequestContext(cloud.region, cloud.principal()),
                                key_id, "DescribeKey")
    name = cloud.store._name(KmsKey.KIND, key.ident)
    db = sqlite3.connect(f"file:{folder / 'kms.sqlite3'}?mode=ro", uri=True)
    try:
        return db.execute("SELECT sealed FROM records WHERE name = ?", (name,)).fetchone()[0]
    finally:
        db.close()


def _copy_holds(folder: Path, dest: Path, secrets: list[bytes]) -> list[str]:
    """Copy the folder (as a thief would) and name every file of the copy holding any of ``secrets``."""
    shutil.copytree(folder, dest)
    found = []
    for path in sorted(dest.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            for secret in secrets:
                # The whole sealed record, and pieces of it (a page split could cut it).
                pieces = [secret] + [secret[i:i + 24] for i in range(0, max(len(secret) - 24, 1), 24)]
                if any(p in data for p in pieces):
                    found.append(path.name)
                    break
    return found


def test_a_deleted_key_leaves_no_copy_of_its_record_in_the_folder(tmp_path):
    folder = tmp_path / "cloud"
    cloud = frozen(folder)
    kms = cloud.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"secret")["CiphertextBlob"]
    versions = [_sealed_rows(folder, cloud, key_id)]
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    versions.append(_sealed_rows(folder, cloud, key_id))
    # The search can fail: before the deletion completes, the record is in the folder.
    assert _copy_holds(folder, tmp_path / "before", versions)
    cloud.clock.advance(days=8)
    with pytest.raises(ClientError) as excinfo:
        kms.describe_key(KeyId=key_id)
    assert excinfo.value.response["Error"]["Code"] == "NotFoundException"
    with pytest.raises(ClientError):
        kms.decrypt(CiphertextBlob=blob)
    # A copy taken while the cloud still runs, and one after it closed: no version of the record.
    assert _copy_holds(folder, tmp_path / "running", versions) == []
    cloud.close()
    assert _copy_holds(folder, tmp_path / "closed", versions) == []


def test_deleted_imported_key_material_leaves_no_copy_of_the_record_that_held_it(tmp_path):
    folder = tmp_path / "cloud"
    cloud = frozen(folder)
    kms = cloud.client("kms")
    key_id = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    params = kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                           WrappingKeySpec="RSA_2048")
    public = serialization.load_der_public_key(params["PublicKey"])
    material = os.urandom(32)
    wrapped = public.encrypt(material, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(),
                                                    label=None))
    kms.import_key_material(KeyId=key_id, ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrapped,
                            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    with_material = _sealed_rows(folder, cloud, key_id)
    assert _copy_holds(folder, tmp_path / "before", [with_material])
    kms.delete_imported_key_material(KeyId=key_id)
    assert _copy_holds(folder, tmp_path / "after", [with_material]) == []
    cloud.close()


def test_the_store_zeroes_what_it_deletes(tmp_path):
    with kms_teach.Cloud(tmp_path) as cloud:
        assert cloud.store._db.execute("PRAGMA secure_delete").fetchone()[0] == 1


# ---------------------------------------------------------------------------
# Modes whatever the umask
# ---------------------------------------------------------------------------


def _modes(folder: Path) -> dict[str, int]:
    out = {".": stat.S_IMODE(folder.stat().st_mode)}
    for path in folder.rglob("*"):
        out[str(path.relative_to(folder))] = stat.S_IMODE(path.lstat().st_mode)
    return out


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_the_folder_is_0700_and_its_files_0600_whatever_the_umask(tmp_path, umask):
    folder = tmp_path / "cloud"
    old = os.umask(umask)
    try:
        cloud = kms_teach.Cloud(folder)
        cloud.client("kms").create_key()
        handle = cloud.serve()  # the endpoint's files too
        handle.stop()
        modes = _modes(folder)
        cloud.close()
        modes_closed = _modes(folder)
    finally:
        os.umask(old)
    for seen in (modes, modes_closed):
        assert {"kms.sqlite3", "lock", "hsm/root-key"} <= set(seen)
        for name, mode in seen.items():
            expected = 0o700 if (folder / name).is_dir() else 0o600
            assert mode == expected, (name, oct(mode))
    assert "kms.sqlite3-wal" in modes  # it was there, and 0600, while the cloud ran


def test_a_folder_left_open_by_an_older_version_is_made_private(tmp_path):
    folder = tmp_path / "cloud"
    frozen(folder).close()
    os.chmod(folder, 0o755)
    os.chmod(folder / "kms.sqlite3", 0o644)
    os.chmod(folder / "hsm", 0o755)
    with kms_teach.Cloud(folder):
        modes = _modes(folder)
    assert modes["."] == 0o700 and modes["hsm"] == 0o700 and modes["kms.sqlite3"] == 0o600


# ---------------------------------------------------------------------------
# The root key
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o606])
def test_a_root_key_others_can_read_or_write_is_refused(tmp_path, mode):
    frozen(tmp_path).close()
    os.chmod(tmp_path / "hsm" / "root-key", mode)
    with pytest.raises(StoreError) as excinfo:
        kms_teach.Cloud(tmp_path)
    assert f"{mode:04o}" in str(excinfo.value) and "chmod 600" in str(excinfo.value)
    os.chmod(tmp_path / "hsm" / "root-key", 0o400)  # the owner's alone again: trusted
    kms_teach.Cloud(tmp_path).close()


def test_a_planted_root_key_someone_else_owns_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "cloud"
    (folder / "hsm").mkdir(parents=True)
    key = folder / "hsm" / "root-key"
    key.write_bytes(os.urandom(32))
    os.chmod(key, 0o600)
    if os.geteuid() == 0:
        os.chown(key, 4242, 4242)  # planted by user 4242
        expected = "owned by user 4242"
    else:  # as an ordinary user: the file is someone else's when we are someone else
        real = os.getuid()
        monkeypatch.setattr(os, "getuid", lambda: real + 1)
        expected = f"owned by user {real}"
    with pytest.raises(StoreError, match=expected):
        kms_teach.Cloud(folder)


def test_a_root_key_that_is_a_symbolic_link_is_refused(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(os.urandom(32))
    os.chmod(elsewhere, 0o600)
    folder = tmp_path / "cloud"
    (folder / "hsm").mkdir(parents=True)
    (folder / "hsm" / "root-key").symlink_to(elsewhere)
    with pytest.raises(StoreError, match="symbolic link"):
        kms_teach.Cloud(folder)


def test_a_cloud_dropped_without_close_lets_go_of_its_folder(tmp_path):
    import gc

    cloud = kms_teach.Cloud(tmp_path)
    cloud.client("kms").create_key()
    del cloud
    gc.collect()
    with kms_teach.Cloud(tmp_path) as again:
        assert len(again.client("kms").list_keys()["Keys"]) == 1
