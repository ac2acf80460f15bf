"""A persistent cloud: ``kms_teach.Cloud(path=...)`` survives reopening, crashes and prying eyes."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import kms_teach

START = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.timezone.utc)
OTHER_ACCOUNT = "444455556666"
REPO = Path(__file__).resolve().parents[2]

# A failed write answers KMSInternalException (HTTP 500), which botocore would
# retry with back-off; the crash tests want to see the first answer.
NO_RETRIES = Config(retries={"total_max_attempts": 1})


def frozen_cloud(path, seed=None, **kwargs) -> kms_teach.Cloud:
    return kms_teach.Cloud(path, clock=kms_teach.Clock(START, frozen=True), seed=seed, **kwargs)


def code_of(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def _drop_metadata(reply: dict) -> dict:
    return {k: v for k, v in reply.items() if k != "ResponseMetadata"}


def snapshot(kms) -> dict:
    """Everything the API shows about one account in one Region."""
    keys = {}
    for entry in kms.list_keys(Limit=1000)["Keys"]:
        key_id = entry["KeyId"]
        metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
        keys[key_id] = {
            "metadata": metadata,
            "policy": kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"],
            "tags": kms.list_resource_tags(KeyId=key_id)["Tags"],
            "rotation": _drop_metadata(kms.get_key_rotation_status(KeyId=key_id)),
            "rotations": kms.list_key_rotations(KeyId=key_id, IncludeKeyMaterial="ALL_KEY_MATERIAL",
                                                Limit=1000)["Rotations"],
        }
    aliases = [a for a in kms.list_aliases(Limit=100)["Aliases"] if "TargetKeyId" in a]
    return {"keys": keys, "aliases": aliases}


def _key_record(key) -> dict:
    # Every field of the record, with each backing key named by its ID instead of its wrapped material.
    return key.to_record(lambda _key, bk: bk.key_material_id)


def in_memory_model(cloud) -> dict:
    """The simulator's in-memory records, by identity (no API call, so nothing falls due)."""
    keys, aliases = {}, {}
    for (account, region), state in cloud.kms._regions.items():
        for key_id, key in state.keys.items():
            keys[(account, region, key_id)] = _key_record(key)
        for name, alias in state.aliases.items():
            aliases[(account, region, name)] = alias.to_record()
    return {"keys": keys, "aliases": aliases}


def stored_model(store) -> dict:
    """The same view of what the store holds on disk."""
    keys, aliases, _ = store.load()
    return {
        "keys": {(k.account_id, k.region, k.key_id): _key_record(k) for k in keys},
        "aliases": {(a.account_id, a.region, a.alias_name): a.to_record() for a in aliases},
    }


def all_backing_key_material(cloud) -> list[bytes]:
    return [
        bk.material
        for state in cloud.kms._regions.values()
        for key in state.keys.values()
        for bk in key.backing_keys
    ]


def database_bytes(path: Path) -> bytes:
    data = b""
    for name in ("kms.sqlite3", "kms.sqlite3-wal", "kms.sqlite3-journal"):
        f = path / name
        if f.exists():
            data += f.read_bytes()
    return data


# ---------------------------------------------------------------------------
# Reopening restores everything
# ---------------------------------------------------------------------------

CUSTOM_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Id": "custom-policy",
        "Statement": [
            {
                "Sid": "Root may do anything",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }
)


def _populate(cloud) -> dict:
    """Keys in several states, Regions and accounts, with aliases, tags, rotations and ciphertexts."""
    kms = cloud.client("kms", region_name="us-east-1")
    made = {"blobs": []}

    plain = kms.create_key(Description="plain key")["KeyMetadata"]["KeyId"]
    tagged = kms.create_key(
        Description="tagged key", Tags=[{"TagKey": "project", "TagValue": "zeppelin"}, {"TagKey": "env", "TagValue": ""}]
    )["KeyMetadata"]["KeyId"]
    kms.tag_resource(KeyId=tagged, Tags=[{"TagKey": "owner", "TagValue": "ada"}])
    kms.untag_resource(KeyId=tagged, TagKeys=["env"])
    kms.update_key_description(KeyId=plain, Description="plain key, renamed")
    kms.put_key_policy(KeyId=plain, PolicyName="default", Policy=CUSTOM_POLICY)

    rotating = kms.create_key(Description="rotating key")["KeyMetadata"]["KeyId"]
    for i in range(3):
        made["blobs"].append((kms.encrypt(KeyId=rotating, Plaintext=b"before rotation %d" % i,
                                          EncryptionContext={"n": str(i)})["CiphertextBlob"], {"n": str(i)},
                              b"before rotation %d" % i))
        kms.rotate_key_on_demand(KeyId=rotating)
    kms.enable_key_rotation(KeyId=rotating, RotationPeriodInDays=180)

    disabled = kms.create_key(Description="disabled key")["KeyMetadata"]["KeyId"]
    made["blobs"].append((kms.encrypt(KeyId=disabled, Plaintext=b"disabled")["CiphertextBlob"], None, b"disabled"))
    kms.disable_key(KeyId=disabled)

    doomed = kms.create_key(Description="doomed key")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/doomed", TargetKeyId=doomed)
    kms.schedule_key_deletion(KeyId=doomed, PendingWindowInDays=7)

    kms.create_alias(AliasName="alias/plain", TargetKeyId=plain)
    kms.create_alias(AliasName="alias/moved", TargetKeyId=plain)
    kms.update_alias(AliasName="alias/moved", TargetKeyId=tagged)
    kms.create_alias(AliasName="alias/gone", TargetKeyId=plain)
    kms.delete_alias(AliasName="alias/gone")
    made["blobs"].append((kms.encrypt(KeyId="alias/plain", Plaintext=b"via alias")["CiphertextBlob"], None,
                          b"via alias"))

    eu = cloud.client("kms", region_name="eu-west-1")
    eu_key = eu.create_key(Description="eu key")["KeyMetadata"]["KeyId"]
    eu.create_alias(AliasName="alias/eu", TargetKeyId=eu_key)
    made["eu_blob"] = eu.encrypt(KeyId=eu_key, Plaintext=b"bonjour")["CiphertextBlob"]

    other = cloud.client("kms", region_name="us-east-1", principal=f"arn:aws:iam::{OTHER_ACCOUNT}:root")
    other_key = other.create_key(Description="other account key")["KeyMetadata"]["KeyId"]
    other.create_alias(AliasName="alias/plain", TargetKeyId=other_key)  # same name, another account
    made["other_blob"] = other.encrypt(KeyId=other_key, Plaintext=b"hello neighbour")["CiphertextBlob"]

    made.update(plain=plain, tagged=tagged, rotating=rotating, disabled=disabled, doomed=doomed, eu_key=eu_key,
                other_key=other_key)
    return made


def _clients(cloud):
    return (
        cloud.client("kms", region_name="us-east-1"),
        cloud.client("kms", region_name="eu-west-1"),
        cloud.client("kms", region_name="us-east-1", principal=f"arn:aws:iam::{OTHER_ACCOUNT}:root"),
    )


def test_reopening_restores_keys_aliases_tags_policies_and_schedules(tmp_path):
    cloud = frozen_cloud(tmp_path, seed=5)
    made = _populate(cloud)
    before = [snapshot(c) for c in _clients(cloud)]
    cloud.close()

    reopened = kms_teach.Cloud(tmp_path)
    after = [snapshot(c) for c in _clients(reopened)]
    assert after == before
    reopened.close()

    us = before[0]["keys"]
    assert us[made["plain"]]["metadata"]["Description"] == "plain key, renamed"
    assert json.loads(us[made["plain"]]["policy"]) == json.loads(CUSTOM_POLICY)
    assert sorted((t["TagKey"], t["TagValue"]) for t in us[made["tagged"]]["tags"]) == [
        ("owner", "ada"), ("project", "zeppelin")]
    assert us[made["disabled"]]["metadata"]["KeyState"] == "Disabled"
    assert us[made["doomed"]]["metadata"]["KeyState"] == "PendingDeletion"
    assert us[made["doomed"]]["metadata"]["DeletionDate"] == START + dt.timedelta(days=7)
    assert us[made["rotating"]]["rotation"]["KeyRotationEnabled"] is True
    assert us[made["rotating"]]["rotation"]["RotationPeriodInDays"] == 180
    assert us[made["rotating"]]["rotation"]["NextRotationDate"] == START + dt.timedelta(days=180)
    assert len(us[made["rotating"]]["rotations"]) == 4
    assert {a["AliasName"]: a["TargetKeyId"] for a in before[0]["aliases"]} == {
        "alias/doomed": made["doomed"], "alias/plain": made["plain"], "alias/moved": made["tagged"]}


def test_old_ciphertexts_decrypt_after_reopening(tmp_path):
    cloud = frozen_cloud(tmp_path, seed=5)
    made = _populate(cloud)
    cloud.close()

    reopened = kms_teach.Cloud(tmp_path)
    us, eu, other = _clients(reopened)
    us.enable_key(KeyId=made["disabled"])
    for blob, context, plaintext in made["blobs"]:
        kwargs = {"EncryptionContext": context} if context else {}
        assert us.decrypt(CiphertextBlob=blob, **kwargs)["Plaintext"] == plaintext
    assert eu.decrypt(CiphertextBlob=made["eu_blob"])["Plaintext"] == b"bonjour"
    assert other.decrypt(CiphertextBlob=made["other_blob"])["Plaintext"] == b"hello neighbour"
    # ... and what the reopened cloud encrypts decrypts after another reopening.
    fresh = us.encrypt(KeyId="alias/moved", Plaintext=b"second life")["CiphertextBlob"]
    reopened.close()
    again = kms_teach.Cloud(tmp_path)
    assert again.client("kms").decrypt(CiphertextBlob=fresh)["Plaintext"] == b"second life"
    again.close()


def test_schedules_restored_after_reopening_still_fall_due(tmp_path):
    cloud = frozen_cloud(tmp_path)
    made = _populate(cloud)
    cloud.close()

    reopened = kms_teach.Cloud(tmp_path)
    kms = reopened.client("kms")
    reopened.clock.advance(days=7)
    with pytest.raises(ClientError) as excinfo:
        kms.describe_key(KeyId=made["doomed"])
    assert code_of(excinfo) == "NotFoundException"
    assert "alias/doomed" not in {a["AliasName"] for a in kms.list_aliases()["Aliases"] if "TargetKeyId" in a}
    reopened.clock.advance(days=173)
    rotations = kms.list_key_rotations(KeyId=made["rotating"])["Rotations"]
    assert [r["RotationType"] for r in rotations] == ["ON_DEMAND"] * 3 + ["AUTOMATIC"]
    assert rotations[-1]["RotationDate"] == START + dt.timedelta(days=180)
    reopened.close()

    # The deletion and the rotation were persisted too.
    third = kms_teach.Cloud(tmp_path)
    kms = third.client("kms")
    assert made["doomed"] not in {k["KeyId"] for k in kms.list_keys()["Keys"]}
    assert len(kms.list_key_rotations(KeyId=made["rotating"])["Rotations"]) == 4
    assert kms.get_key_rotation_status(KeyId=made["rotating"])["NextRotationDate"] == START + dt.timedelta(days=360)
    third.close()


def test_a_frozen_clock_is_at_the_same_instant_after_reopening(tmp_path):
    cloud = frozen_cloud(tmp_path)
    advanced = cloud.clock.advance(days=200)
    assert advanced == START + dt.timedelta(days=200)
    cloud.close()

    reopened = kms_teach.Cloud(tmp_path)
    assert reopened.clock.frozen
    assert reopened.clock.now() == START + dt.timedelta(days=200)
    time.sleep(0.01)
    assert reopened.clock.now() == START + dt.timedelta(days=200)
    reopened.close()


def test_a_frozen_clock_is_restored_even_without_close(tmp_path):
    # No close(): the process ends abruptly after advancing (its folder lock goes with it).
    script = ("import datetime as dt, os, kms_teach\n"
              "start = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.timezone.utc)\n"
              f"cloud = kms_teach.Cloud({str(tmp_path)!r}, clock=kms_teach.Clock(start, frozen=True))\n"
              "cloud.clock.advance(days=200)\n"
              "os._exit(0)\n")
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    reopened = kms_teach.Cloud(tmp_path)
    assert reopened.clock.now() == START + dt.timedelta(days=200)
    reopened.close()


def test_a_running_clock_never_goes_backwards_after_reopening(tmp_path):
    cloud = kms_teach.Cloud(tmp_path)
    cloud.clock.advance(days=30)
    before = cloud.clock.now()
    cloud.close()

    reopened = kms_teach.Cloud(tmp_path)
    assert not reopened.clock.frozen
    assert reopened.clock.now() >= before
    assert reopened.clock.now() - before < dt.timedelta(minutes=5)  # it kept the 30-day offset, no more
    reopened.close()


def test_a_running_clock_never_goes_backwards_even_if_the_wall_clock_did(tmp_path):
    # The first session's wall clock was a year ahead (then corrected, e.g. by NTP).
    ahead = lambda: dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=365)  # noqa: E731
    cloud = kms_teach.Cloud(tmp_path, clock=kms_teach.Clock(wall=ahead))
    kms = cloud.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    created = kms.describe_key(KeyId=key_id)["KeyMetadata"]["CreationDate"]
    last = cloud.clock.now()
    cloud.close()

    reopened = kms_teach.Cloud(tmp_path)
    assert reopened.clock.now() >= last
    assert reopened.clock.now() >= created
    first = reopened.clock.now()
    time.sleep(0.01)
    assert reopened.clock.now() > first  # and it keeps running
    reopened.close()


def test_seeded_persistent_clouds_do_not_replay_randomness_after_reopening(tmp_path):
    first = frozen_cloud(tmp_path / "a", seed=42)
    kms = first.client("kms")
    key_a = kms.create_key()["KeyMetadata"]["KeyId"]
    blob_a = kms.encrypt(KeyId=key_a, Plaintext=b"same")["CiphertextBlob"]
    random_a = kms.generate_random(NumberOfBytes=32)["Plaintext"]
    first.close()

    second = kms_teach.Cloud(tmp_path / "a", seed=42)
    kms = second.client("kms")
    key_b = kms.create_key()["KeyMetadata"]["KeyId"]
    assert key_b != key_a
    blob_b = kms.encrypt(KeyId=key_a, Plaintext=b"same")["CiphertextBlob"]
    assert blob_b[58:86] != blob_a[58:86], "the KDF nonce and IV must never repeat"
    assert kms.generate_random(NumberOfBytes=32)["Plaintext"] != random_a
    materials = all_backing_key_material(second)
    assert len(set(materials)) == len(materials) == 2
    second.close()

    third = kms_teach.Cloud(tmp_path / "a", seed=42)
    key_c = third.client("kms").create_key()["KeyMetadata"]["KeyId"]
    assert key_c not in (key_a, key_b)
    third.close()

    # A seed still makes a fresh store reproducible.
    elsewhere = frozen_cloud(tmp_path / "b", seed=42)
    assert elsewhere.client("kms").create_key()["KeyMetadata"]["KeyId"] == key_a
    elsewhere.close()


# ---------------------------------------------------------------------------
# Encrypted at rest
# ---------------------------------------------------------------------------


def _secrets_of(cloud, made) -> list[bytes]:
    secrets: list[bytes] = []
    for material in all_backing_key_material(cloud):
        assert len(material) == 32
        secrets += [material, material.hex().encode(), base64.b64encode(material)]
    key_ids = [made[k] for k in ("plain", "tagged", "rotating", "disabled", "doomed", "eu_key", "other_key")]
    for key_id in key_ids:
        secrets += [key_id.encode(), key_id.replace("-", "").encode(), bytes.fromhex(key_id.replace("-", ""))]
    secrets += [s.encode() for s in ("alias/plain", "alias/moved", "alias/doomed", "alias/eu", "plain key, renamed",
                                     "tagged key", "rotating key", "disabled key", "doomed key", "eu key",
                                     "other account key", "zeppelin", "owner", "custom-policy", "Root may do anything",
                                     "before rotation", "bonjour", "hello neighbour", "eu-west-1", OTHER_ACCOUNT)]
    return secrets


def test_the_database_holds_no_key_material_ids_names_descriptions_or_tags(tmp_path):
    cloud = frozen_cloud(tmp_path)
    made = _populate(cloud)
    secrets = _secrets_of(cloud, made)
    assert len(all_backing_key_material(cloud)) == 10  # 7 keys + 3 rotations

    data = database_bytes(tmp_path)
    assert data, "the store wrote nothing"
    for secret in secrets:
        assert secret not in data, f"{secret[:40]!r} is readable in the database"
    root_key = (tmp_path / "hsm" / "root-key").read_bytes()
    assert root_key not in data

    cloud.close()  # a checkpoint moves the WAL into the main file
    data = database_bytes(tmp_path)
    for secret in secrets:
        assert secret not in data, f"{secret[:40]!r} is readable in the database after closing"
    assert root_key not in data


def test_the_root_key_is_kept_apart_and_readable_only_by_its_owner(tmp_path):
    frozen_cloud(tmp_path).close()
    root_key = tmp_path / "hsm" / "root-key"
    assert root_key.is_file()
    assert len(root_key.read_bytes()) == 32
    assert stat.S_IMODE(root_key.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "hsm").stat().st_mode) & 0o077 == 0
    assert (tmp_path / "kms.sqlite3").is_file()


def test_closing_a_cloud_twice_is_harmless(tmp_path):
    with frozen_cloud(tmp_path) as cloud:
        cloud.client("kms").create_key()
        cloud.close()
    cloud.close()
    reopened = kms_teach.Cloud(tmp_path)
    assert len(reopened.client("kms").list_keys()["Keys"]) == 1
    reopened.close()


def test_every_store_gets_its_own_root_key_even_with_the_same_seed(tmp_path):
    frozen_cloud(tmp_path / "a", seed=1).close()
    frozen_cloud(tmp_path / "b", seed=1).close()
    assert (tmp_path / "a" / "hsm" / "root-key").read_bytes() != (tmp_path / "b" / "hsm" / "root-key").read_bytes()


def _assert_clean_store_error(excinfo, path: Path) -> None:
    error = excinfo.value
    assert isinstance(error, kms_teach.StoreError)
    assert isinstance(error, kms_teach.KMSTeachError)
    assert str(path) in str(error)
    # A clear error, not the tail of a chain of cryptography/sqlite3 tracebacks.
    assert error.__cause__ is None
    assert error.__suppress_context__ or error.__context__ is None


def test_a_store_opened_with_a_different_root_key_fails_with_store_error(tmp_path):
    cloud = frozen_cloud(tmp_path)
    kms = cloud.client("kms")
    kms.create_key(Description="locked away")
    cloud.close()
    (tmp_path / "hsm" / "root-key").write_bytes(os.urandom(32))

    with pytest.raises(kms_teach.StoreError) as excinfo:
        kms_teach.Cloud(tmp_path)
    _assert_clean_store_error(excinfo, tmp_path)
    assert "root key" in str(excinfo.value)


def test_a_store_whose_root_key_is_lost_fails_with_store_error(tmp_path):
    cloud = frozen_cloud(tmp_path)
    cloud.client("kms").create_key()
    cloud.close()
    (tmp_path / "hsm" / "root-key").unlink()

    with pytest.raises(kms_teach.StoreError) as excinfo:
        kms_teach.Cloud(tmp_path)
    _assert_clean_store_error(excinfo, tmp_path)


def test_a_damaged_root_key_file_fails_with_store_error(tmp_path):
    frozen_cloud(tmp_path).close()
    (tmp_path / "hsm" / "root-key").write_bytes(b"too short")
    with pytest.raises(kms_teach.StoreError) as excinfo:
        kms_teach.Cloud(tmp_path)
    _assert_clean_store_error(excinfo, tmp_path)


def test_a_file_that_is_not_a_database_fails_with_store_error(tmp_path):
    (tmp_path / "kms.sqlite3").write_bytes(b"this is not a database " * 100)
    with pytest.raises(kms_teach.StoreError) as excinfo:
        kms_teach.Cloud(tmp_path)
    _assert_clean_store_error(excinfo, tmp_path)


def test_a_tampered_record_fails_with_store_error(tmp_path):
    cloud = frozen_cloud(tmp_path)
    cloud.client("kms").create_key(Description="tamper with me")
    cloud.close()
    db = sqlite3.connect(tmp_path / "kms.sqlite3")
    name, sealed = db.execute("SELECT name, sealed FROM records WHERE kind = 'key'").fetchone()
    damaged = bytearray(sealed)
    damaged[20] ^= 1
    db.execute("UPDATE records SET sealed = ? WHERE name = ?", (bytes(damaged), name))
    db.commit()
    db.close()

    with pytest.raises(kms_teach.StoreError) as excinfo:
        kms_teach.Cloud(tmp_path)
    _assert_clean_store_error(excinfo, tmp_path)


def test_a_record_moved_under_another_name_fails_with_store_error(tmp_path):
    cloud = frozen_cloud(tmp_path)
    kms = cloud.client("kms")
    kms.create_key(Description="first")
    kms.create_key(Description="second")
    cloud.close()
    db = sqlite3.connect(tmp_path / "kms.sqlite3")
    (first, sealed_first), (second, sealed_second) = db.execute(
        "SELECT name, sealed FROM records WHERE kind = 'key'").fetchall()
    db.execute("UPDATE records SET sealed = ? WHERE name = ?", (sealed_second, first))
    db.execute("UPDATE records SET sealed = ? WHERE name = ?", (sealed_first, second))
    db.commit()
    db.close()

    with pytest.raises(kms_teach.StoreError) as excinfo:
        kms_teach.Cloud(tmp_path)
    _assert_clean_store_error(excinfo, tmp_path)


# ---------------------------------------------------------------------------
# A write that fails half way
# ---------------------------------------------------------------------------


class FailingConnection:
    """Wraps the store's sqlite3 connection; fails the N-th statement of a transaction while armed."""

    def __init__(self, db: sqlite3.Connection, fail_at: str):
        self._db = db
        self.fail_at = fail_at  # "first-write", "second-write" or "commit"
        self.armed = True
        self.failures = 0
        self._writes = 0

    def execute(self, sql: str, *args):
        if sql.startswith("BEGIN"):
            self._writes = 0
        elif self.armed and (sql.startswith("INSERT") or sql.startswith("DELETE")):
            self._writes += 1
            if (self.fail_at == "first-write" and self._writes == 1) or (
                self.fail_at == "second-write" and self._writes == 2
            ):
                self.failures += 1
                raise sqlite3.OperationalError("disk I/O error (injected)")
        elif self.armed and sql == "COMMIT" and self.fail_at == "commit":
            self.failures += 1
            raise sqlite3.OperationalError("database or disk is full (injected)")
        return self._db.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._db, name)


class _Closable:
    """Closes a cloud once, whether the test or the fixture's teardown asks first."""

    def __init__(self, cloud):
        self.cloud = cloud
        self.closed = False

    def __call__(self) -> None:
        if not self.closed:
            self.closed = True
            self.cloud.close()


@pytest.fixture
def failing_cloud(tmp_path):
    """A persistent cloud with two keys and an alias, and a way to make its next writes fail.

    Yields ``(cloud, kms, keys, arm, disarm, close)``.
    """
    cloud = frozen_cloud(tmp_path, seed=3)
    close = _Closable(cloud)
    kms = cloud.client("kms", region_name="us-east-1", config=NO_RETRIES)
    first = kms.create_key(Description="first", Tags=[{"TagKey": "a", "TagValue": "1"}])["KeyMetadata"]["KeyId"]
    second = kms.create_key(Description="second")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/first", TargetKeyId=first)
    blob = kms.encrypt(KeyId=first, Plaintext=b"before the failure")["CiphertextBlob"]
    real = cloud.store._db

    def arm(fail_at: str) -> FailingConnection:
        wrapper = FailingConnection(real, fail_at)
        cloud.store._db = wrapper
        return wrapper

    def disarm() -> None:
        cloud.store._db = real

    yield cloud, kms, {"first": first, "second": second, "blob": blob}, arm, disarm, close
    disarm()
    close()


WRITES = {
    "CreateKey": lambda kms, k: kms.create_key(Description="never committed"),
    "TagResource": lambda kms, k: kms.tag_resource(KeyId=k["first"], Tags=[{"TagKey": "b", "TagValue": "2"}]),
    "UntagResource": lambda kms, k: kms.untag_resource(KeyId=k["first"], TagKeys=["a"]),
    "UpdateKeyDescription": lambda kms, k: kms.update_key_description(KeyId=k["first"], Description="changed"),
    "DisableKey": lambda kms, k: kms.disable_key(KeyId=k["first"]),
    "ScheduleKeyDeletion": lambda kms, k: kms.schedule_key_deletion(KeyId=k["second"], PendingWindowInDays=7),
    "EnableKeyRotation": lambda kms, k: kms.enable_key_rotation(KeyId=k["first"]),
    "RotateKeyOnDemand": lambda kms, k: kms.rotate_key_on_demand(KeyId=k["first"]),
    "CreateAlias": lambda kms, k: kms.create_alias(AliasName="alias/new", TargetKeyId=k["second"]),
    "UpdateAlias": lambda kms, k: kms.update_alias(AliasName="alias/first", TargetKeyId=k["second"]),
    "DeleteAlias": lambda kms, k: kms.delete_alias(AliasName="alias/first"),
    "PutKeyPolicy": lambda kms, k: kms.put_key_policy(KeyId=k["first"], PolicyName="default", Policy=CUSTOM_POLICY),
}


@pytest.mark.parametrize("fail_at", ["first-write", "commit"])
@pytest.mark.parametrize("operation", sorted(WRITES))
def test_a_write_that_fails_to_commit_changes_nothing(failing_cloud, tmp_path, operation, fail_at):
    cloud, kms, keys, arm, disarm, close = failing_cloud
    before = snapshot(kms)
    wrapper = arm(fail_at)

    with pytest.raises(ClientError) as excinfo:
        WRITES[operation](kms, keys)
    assert code_of(excinfo) == "KMSInternalException"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert wrapper.failures == 1
    assert not cloud.store._db.in_transaction, "the failed transaction was rolled back"

    # The in-memory model is what the store holds, and the API shows the state before the call.
    assert in_memory_model(cloud) == stored_model(cloud.store)
    assert snapshot(kms) == before
    assert kms.decrypt(CiphertextBlob=keys["blob"])["Plaintext"] == b"before the failure"

    # Once the store works again, the same write succeeds.
    disarm()
    WRITES[operation](kms, keys)
    after = snapshot(kms)
    assert after != before
    close()

    reopened = kms_teach.Cloud(tmp_path)
    kms = reopened.client("kms")
    assert snapshot(kms) == after
    kms.enable_key(KeyId=keys["first"])
    assert kms.decrypt(CiphertextBlob=keys["blob"])["Plaintext"] == b"before the failure"
    reopened.close()


def test_a_failed_create_key_does_not_appear_in_list_keys_or_after_reopening(failing_cloud, tmp_path):
    cloud, kms, keys, arm, disarm, close = failing_cloud
    arm("first-write")
    with pytest.raises(ClientError) as excinfo:
        kms.create_key(Description="ghost")
    assert code_of(excinfo) == "KMSInternalException"
    listed = {k["KeyId"] for k in kms.list_keys()["Keys"]}
    assert listed == {keys["first"], keys["second"]}
    disarm()
    close()

    reopened = kms_teach.Cloud(tmp_path)
    kms = reopened.client("kms")
    assert {k["KeyId"] for k in kms.list_keys()["Keys"]} == {keys["first"], keys["second"]}
    assert all(kms.describe_key(KeyId=k)["KeyMetadata"]["Description"] != "ghost" for k in listed)
    reopened.close()


def test_a_failed_rotation_leaves_no_key_material_that_was_never_stored(failing_cloud, tmp_path):
    cloud, kms, keys, arm, disarm, close = failing_cloud
    arm("commit")
    with pytest.raises(ClientError):
        kms.rotate_key_on_demand(KeyId=keys["first"])
    disarm()
    blob = kms.encrypt(KeyId=keys["first"], Plaintext=b"after the failure")["CiphertextBlob"]
    close()

    reopened = kms_teach.Cloud(tmp_path)
    assert reopened.client("kms").decrypt(CiphertextBlob=blob)["Plaintext"] == b"after the failure"
    reopened.close()


def test_an_automatic_rotation_that_fails_to_commit_loses_no_ciphertext(failing_cloud, tmp_path):
    """The clock, not a request, drives this write: its failure must not leave memory ahead of the store."""
    cloud, kms, keys, arm, disarm, close = failing_cloud
    kms.enable_key_rotation(KeyId=keys["first"], RotationPeriodInDays=90)
    arm("commit")
    try:
        cloud.clock.advance(days=91)
    except Exception:  # noqa: BLE001 - how the failure surfaces is not the point; what is kept is
        pass
    in_step = in_memory_model(cloud) == stored_model(cloud.store)
    disarm()

    # Every ciphertext made from now on must still decrypt after reopening.
    blob = kms.encrypt(KeyId=keys["first"], Plaintext=b"made after the failed rotation")["CiphertextBlob"]
    material = kms.decrypt(CiphertextBlob=blob)["KeyMaterialId"]
    close()

    reopened = kms_teach.Cloud(tmp_path)
    reply = reopened.client("kms").decrypt(CiphertextBlob=blob)
    assert reply["Plaintext"] == b"made after the failed rotation"
    assert reply["KeyMaterialId"] == material
    reopened.close()
    assert in_step, "after the failed commit, memory held key material the store did not have"


def test_a_scheduled_deletion_that_fails_half_way_keeps_memory_and_store_in_step(failing_cloud, tmp_path):
    """Deleting a key with an alias writes two rows; the second fails."""
    cloud, kms, keys, arm, disarm, close = failing_cloud
    kms.schedule_key_deletion(KeyId=keys["first"], PendingWindowInDays=7)
    arm("second-write")
    try:
        cloud.clock.advance(days=8)
    except Exception:  # noqa: BLE001
        pass
    disarm()
    assert in_memory_model(cloud) == stored_model(cloud.store)
    stored_keys = {ident[2] for ident in stored_model(cloud.store)["keys"]}
    assert keys["first"] in stored_keys, "the failed transaction deleted nothing"
    close()

    reopened = kms_teach.Cloud(tmp_path)
    kms = reopened.client("kms")
    targets = {a["TargetKeyId"] for a in kms.list_aliases()["Aliases"] if "TargetKeyId" in a}
    existing = {k["KeyId"] for k in kms.list_keys()["Keys"]}
    assert targets <= existing
    reopened.close()


# ---------------------------------------------------------------------------
# A process killed in the middle of writing
# ---------------------------------------------------------------------------

CHILD = r"""
import base64, json, sys
import kms_teach

cloud = kms_teach.Cloud(sys.argv[1])
kms = cloud.client("kms", region_name="us-east-1")
print(json.dumps({"ready": True}), flush=True)
i = 0
while True:
    key_id = kms.create_key(Description=f"crash test {i}")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=f"alias/crash-{i}", TargetKeyId=key_id)
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "n", "TagValue": str(i)}])
    plaintext = f"plaintext {i}".encode()
    blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext, EncryptionContext={"n": str(i)})["CiphertextBlob"]
    if i % 2:
        kms.rotate_key_on_demand(KeyId=key_id)
    if i == 0:
        kms.create_alias(AliasName="alias/latest", TargetKeyId=key_id)
    else:
        kms.update_alias(AliasName="alias/latest", TargetKeyId=key_id)
    if i >= 3 and i % 3 == 0:
        kms.delete_alias(AliasName=f"alias/crash-{i - 3}")
    print(json.dumps({"i": i, "key_id": key_id, "blob": base64.b64encode(blob).decode()}), flush=True)
    i += 1
"""


def test_a_process_killed_mid_write_leaves_every_acknowledged_write(tmp_path):
    store = tmp_path / "store"
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(store)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env=env,
    )
    lines: list[bytes] = []
    ready = threading.Event()

    def read() -> None:
        for line in child.stdout:
            lines.append(line)
            ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        if not ready.wait(timeout=30):
            pytest.fail("the child never started" + (f": {child.stderr.read()!r}" if child.poll() is not None else ""))
        time.sleep(1.5)
        assert child.poll() is None, f"the child stopped by itself: {child.stderr.read()!r}"
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
    reader.join(timeout=10)
    child.stdout.close()
    child.stderr.close()

    acknowledged = [json.loads(line) for line in lines if line.endswith(b"\n")][1:]
    assert len(acknowledged) >= 3, "the child acknowledged too few writes to test anything"

    db = sqlite3.connect(store / "kms.sqlite3")
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()

    cloud = kms_teach.Cloud(store)  # loads without error
    kms = cloud.client("kms", region_name="us-east-1")
    existing = {k["KeyId"] for page in kms.get_paginator("list_keys").paginate() for k in page["Keys"]}
    aliases = {a["AliasName"]: a["TargetKeyId"] for page in kms.get_paginator("list_aliases").paginate()
               for a in page["Aliases"] if "TargetKeyId" in a}

    last = acknowledged[-1]
    for ack in acknowledged:
        i, key_id = ack["i"], ack["key_id"]
        assert key_id in existing, f"acknowledged key {i} is lost"
        metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
        assert metadata["Description"] == f"crash test {i}"
        assert kms.list_resource_tags(KeyId=key_id)["Tags"] == [{"TagKey": "n", "TagValue": str(i)}]
        reply = kms.decrypt(CiphertextBlob=base64.b64decode(ack["blob"]), EncryptionContext={"n": str(i)})
        assert reply["Plaintext"] == f"plaintext {i}".encode()
        rotations = kms.list_key_rotations(KeyId=key_id)["Rotations"]
        assert len(rotations) == (1 if i % 2 else 0)
        # Iteration j deletes alias/crash-{j-3} when j is a multiple of 3 (before acknowledging j).
        if i % 3 == 0 and i + 3 <= last["i"]:
            assert f"alias/crash-{i}" not in aliases
        elif i % 3 == 0:  # the unacknowledged next iteration may have deleted it
            assert aliases.get(f"alias/crash-{i}", key_id) == key_id
        else:
            assert aliases.get(f"alias/crash-{i}") == key_id
    for name, target in aliases.items():
        assert target in existing, f"{name} points to a key that does not exist"
    assert aliases["alias/latest"] in existing
    assert aliases["alias/latest"] == last["key_id"] or aliases["alias/latest"] not in {
        a["key_id"] for a in acknowledged[:-1]
    }, "alias/latest went back to an older key"
    cloud.close()


class _LegacyRecord:
    """A record exactly as the store held it before the services kept dataclasses (a plain dict)."""

    def __init__(self, kind: str, ident: tuple, record: dict):
        self.KIND, self.ident, self._record = kind, ident, record

    def to_record(self) -> dict:
        return self._record


def test_a_store_written_before_the_record_classes_still_loads(tmp_path):
    # The IAM and S3 records as the previous version wrote them: dicts with ISO dates, a role that was never
    # assumed (no last_used_* members), an access key of the root user, an SSE-S3 object and its owned key.
    from kms_teach._crypto import RandomSource, wrap_secret
    from kms_teach._crypto.objects import seal_object
    from kms_teach._store import Changes, SQLiteStore

    created = "2026-01-01T00:00:00+00:00"
    document = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:DescribeKey", "Resource": "*"}]})
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:AssumeRole"}]})
    owned_key = bytes(range(32))

    arn = "arn:aws:s3:::old-bucket/note.txt"
    data_key = bytes(range(32, 64))
    legacy = [
        ("iam-account", ("111122223333",), {"account_id": "111122223333", "create_date": created}),
        ("iam-user", ("111122223333", "alice"), {
            "account_id": "111122223333", "user_name": "alice", "path": "/", "user_id": "AIDAALICEALICEALICE1",
            "create_date": created, "tags": [["team", "red"]], "inline": {"describe": document}, "attached": []}),
        ("iam-role", ("111122223333", "app"), {
            "account_id": "111122223333", "role_name": "app", "path": "/", "role_id": "AROAAPPAPPAPPAPPAPP1",
            "create_date": created, "assume_role_policy": trust, "description": None, "max_session_duration": 3600,
            "tags": [], "inline": {}, "attached": []}),
        ("iam-policy", ("111122223333", "readonly"), {
            "account_id": "111122223333", "policy_name": "readonly", "path": "/", "policy_id": "ANPAREADONLYREADONL1",
            "create_date": created, "update_date": created, "description": None, "document": document, "tags": []}),
        ("iam-access-key", ("AKIAOLDROOTKEY000001",), {
            "account_id": "111122223333", "user_name": None, "access_key_id": "AKIAOLDROOTKEY000001",
            "secret": "s" * 40, "status": "Active", "create_date": created}),
        ("s3-bucket", ("old-bucket",), {"name": "old-bucket", "account_id": "111122223333", "region": "us-east-1",
                                        "created": created, "encryption": None}),
        ("s3-owned-key", ("us-east-1",), {"region": "us-east-1", "key_id": "ab" * 16,
                                          "material": base64.b64encode(owned_key).decode()}),
        ("s3-object", ("old-bucket", "note.txt"), {
            "bucket": "old-bucket", "key": "note.txt", "size": 11, "etag": '"5eb63bbbe01eeed093cb22bb8f5acdc3"',
            "last_modified": created, "content_type": "text/plain", "sse": "AES256",
            "ciphertext": base64.b64encode(seal_object(data_key, b"hello world", arn, RandomSource(1))).decode(),
            "data_key": base64.b64encode(wrap_secret(owned_key, data_key, f"sse-s3|{'ab' * 16}|{arn}".encode(),
                                                     RandomSource(2))).decode(),
            "kms_key_arn": None, "encryption_context": {}, "context_given": False, "owned_key_id": "ab" * 16,
            "metadata": {}, "headers": {}, "storage_class": "STANDARD", "checksum": None}),
    ]
    store = SQLiteStore(tmp_path, RandomSource())
    changes = Changes()
    for kind, ident, record in legacy:
        changes.put_record(_LegacyRecord(kind, ident, record))
    store.commit(changes)
    store.close()

    with kms_teach.Cloud(tmp_path) as cloud:
        iam = cloud.client("iam")
        user = iam.get_user(UserName="alice")["User"]
        assert user["UserId"] == "AIDAALICEALICEALICE1"
        assert user["CreateDate"] == dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
        assert user["Tags"] == [{"Key": "team", "Value": "red"}]
        assert iam.get_user_policy(UserName="alice", PolicyName="describe")["PolicyDocument"] == json.loads(document)
        assert not iam.get_role(RoleName="app")["Role"].get("RoleLastUsed")  # never assumed
        assert iam.get_policy(PolicyArn="arn:aws:iam::111122223333:policy/readonly")["Policy"]["PolicyId"] == \
            "ANPAREADONLYREADONL1"
        assert [k["AccessKeyId"] for k in iam.list_access_keys()["AccessKeyMetadata"]] == ["AKIAOLDROOTKEY000001"]
        assert cloud.iam.access_key("AKIAOLDROOTKEY000001")[1] == "s" * 40
        # The role can be assumed, and its new last use is written in the new layout beside the old records.
        sts = cloud.client("sts")
        sts.assume_role(RoleArn="arn:aws:iam::111122223333:role/app", RoleSessionName="s1")
        s3 = cloud.client("s3")
        assert s3.get_object(Bucket="old-bucket", Key="note.txt")["Body"].read() == b"hello world"
        s3.put_object(Bucket="old-bucket", Key="new.txt", Body=b"new")
    with kms_teach.Cloud(tmp_path) as cloud:
        assert cloud.client("iam").get_role(RoleName="app")["Role"]["RoleLastUsed"]["Region"] == "us-east-1"
        s3 = cloud.client("s3")
        assert s3.get_object(Bucket="old-bucket", Key="note.txt")["Body"].read() == b"hello world"
        assert s3.get_object(Bucket="old-bucket", Key="new.txt")["Body"].read() == b"new"
