"""Multi-Region keys: ReplicateKey, shared material across Regions, per-Region settings,
deletion of primaries with replicas, UpdatePrimaryRegion, and persistence."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from botocore.exceptions import ClientError

import kms_teach
from tests.conftest import START, error_code, error_message

DAY = dt.timedelta(days=1)
ACCOUNT = kms_teach.DEFAULT_ACCOUNT
PRIMARY_REGION = "us-east-1"
REPLICA_REGION = "eu-west-1"
OTHER_REGION = "ap-southeast-2"


def arn(region: str, key_id: str) -> str:
    return f"arn:aws:kms:{region}:{ACCOUNT}:key/{key_id}"


def custom_policy(sid: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Id": "custom",
        "Statement": [{
            "Sid": sid,
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }],
    })


@pytest.fixture
def eu(cloud):
    """A client for the replica Region."""
    return cloud.client("kms", region_name=REPLICA_REGION)


@pytest.fixture
def ap(cloud):
    return cloud.client("kms", region_name=OTHER_REGION)


@pytest.fixture
def mrk(kms) -> str:
    """A multi-Region primary key in us-east-1."""
    return kms.create_key(Description="primary", MultiRegion=True)["KeyMetadata"]["KeyId"]


@pytest.fixture
def replicated(kms, eu, mrk) -> str:
    """A multi-Region primary in us-east-1 with an (already Enabled) replica in eu-west-1."""
    kms.replicate_key(KeyId=mrk, ReplicaRegion=REPLICA_REGION)
    assert eu.describe_key(KeyId=mrk)["KeyMetadata"]["KeyState"] == "Enabled"
    return mrk


def state(client, key_id) -> str:
    return client.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"]


def material_id(client, key_id) -> str:
    return client.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]


# -- creation and identity ------------------------------------------------------------


def test_multi_region_key_id_is_mrk_and_32_lowercase_hex(kms):
    md = kms.create_key(MultiRegion=True)["KeyMetadata"]
    assert re.fullmatch(r"mrk-[0-9a-f]{32}", md["KeyId"])
    assert md["Arn"] == arn(PRIMARY_REGION, md["KeyId"])
    assert md["MultiRegion"] is True


def test_new_multi_region_key_is_a_primary_with_no_replicas(kms, mrk):
    md = kms.describe_key(KeyId=mrk)["KeyMetadata"]
    assert md["KeyState"] == "Enabled" and md["Enabled"] is True
    assert md["MultiRegionConfiguration"] == {
        "MultiRegionKeyType": "PRIMARY",
        "PrimaryKey": {"Arn": arn(PRIMARY_REGION, mrk), "Region": PRIMARY_REGION},
        "ReplicaKeys": [],
    }


def test_single_region_key_has_no_multi_region_configuration(kms, key_id):
    md = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert md["MultiRegion"] is False
    assert "MultiRegionConfiguration" not in md
    assert not key_id.startswith("mrk-")


def test_multi_region_key_accepts_its_id_its_arn_and_an_alias(kms, mrk):
    kms.create_alias(AliasName="alias/mr", TargetKeyId=mrk)
    for ref in (mrk, arn(PRIMARY_REGION, mrk), "alias/mr"):
        assert kms.describe_key(KeyId=ref)["KeyMetadata"]["KeyId"] == mrk


# -- ReplicateKey -----------------------------------------------------------------------


def test_replicate_key_returns_a_creating_replica_with_the_default_policy(kms, eu, mrk):
    reply = kms.replicate_key(KeyId=mrk, ReplicaRegion=REPLICA_REGION)
    md = reply["ReplicaKeyMetadata"]
    assert md["KeyId"] == mrk
    assert md["Arn"] == arn(REPLICA_REGION, mrk)
    assert md["KeyState"] == "Creating"
    assert md["Enabled"] is False
    assert md["Description"] == ""
    assert md["MultiRegion"] is True
    assert md["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"
    assert md["MultiRegionConfiguration"]["PrimaryKey"] == {"Arn": arn(PRIMARY_REGION, mrk), "Region": PRIMARY_REGION}
    assert reply["ReplicaTags"] == []
    # The default key policy for the replica's account: the same document a fresh key there gets.
    fresh = eu.create_key()["KeyMetadata"]["KeyId"]
    assert reply["ReplicaPolicy"] == eu.get_key_policy(KeyId=fresh, PolicyName="default")["Policy"]
    assert eu.get_key_policy(KeyId=mrk, PolicyName="default")["Policy"] == reply["ReplicaPolicy"]


def test_replica_does_not_copy_the_primary_key_policy(kms, eu):
    policy = custom_policy("PrimaryOnly")
    key = kms.create_key(MultiRegion=True, Policy=policy)["KeyMetadata"]["KeyId"]
    reply = kms.replicate_key(KeyId=key, ReplicaRegion=REPLICA_REGION)
    assert "PrimaryOnly" not in reply["ReplicaPolicy"]
    assert "PrimaryOnly" not in eu.get_key_policy(KeyId=key, PolicyName="default")["Policy"]
    assert "PrimaryOnly" in kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"]


def test_replicate_key_uses_the_given_policy_description_and_tags(kms, eu, mrk):
    policy = custom_policy("ReplicaPolicy")
    tags = [{"TagKey": "team", "TagValue": "blue"}, {"TagKey": "env", "TagValue": "dr"}]
    reply = kms.replicate_key(KeyId=mrk, ReplicaRegion=REPLICA_REGION, Policy=policy,
                              Description="the Irish copy", Tags=tags)
    assert reply["ReplicaKeyMetadata"]["Description"] == "the Irish copy"
    assert "ReplicaPolicy" in json.loads(reply["ReplicaPolicy"])["Statement"][0]["Sid"]
    assert sorted(reply["ReplicaTags"], key=lambda t: t["TagKey"]) == sorted(tags, key=lambda t: t["TagKey"])
    assert eu.describe_key(KeyId=mrk)["KeyMetadata"]["Description"] == "the Irish copy"
    assert sorted(eu.list_resource_tags(KeyId=mrk)["Tags"], key=lambda t: t["TagKey"]) == \
        sorted(tags, key=lambda t: t["TagKey"])
    assert json.loads(eu.get_key_policy(KeyId=mrk, PolicyName="default")["Policy"])["Statement"][0]["Sid"] == \
        "ReplicaPolicy"
    # The primary keeps its own settings.
    assert kms.describe_key(KeyId=mrk)["KeyMetadata"]["Description"] == "primary"
    assert kms.list_resource_tags(KeyId=mrk)["Tags"] == []


def test_replica_is_enabled_on_the_next_request(kms, eu, mrk):
    kms.replicate_key(KeyId=mrk, ReplicaRegion=REPLICA_REGION)
    md = eu.describe_key(KeyId=mrk)["KeyMetadata"]
    assert md["KeyState"] == "Enabled"
    assert md["Enabled"] is True


def test_replica_shares_id_spec_usage_origin_and_key_material(kms, eu, replicated):
    p = kms.describe_key(KeyId=replicated)["KeyMetadata"]
    r = eu.describe_key(KeyId=replicated)["KeyMetadata"]
    for field in ("KeyId", "KeySpec", "KeyUsage", "Origin", "CurrentKeyMaterialId", "EncryptionAlgorithms",
                  "MultiRegion", "KeyManager"):
        assert p[field] == r[field], field
    assert r["Arn"] == p["Arn"].replace(PRIMARY_REGION, REPLICA_REGION)
    assert r["MultiRegionConfiguration"] == {
        "MultiRegionKeyType": "REPLICA",
        "PrimaryKey": {"Arn": arn(PRIMARY_REGION, replicated), "Region": PRIMARY_REGION},
        "ReplicaKeys": [{"Arn": arn(REPLICA_REGION, replicated), "Region": REPLICA_REGION}],
    }


def test_replica_of_a_hmac_key_keeps_its_spec_and_verifies_the_primarys_macs(kms, eu):
    key = kms.create_key(MultiRegion=True, KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
    reply = kms.replicate_key(KeyId=key, ReplicaRegion=REPLICA_REGION)
    assert reply["ReplicaKeyMetadata"]["KeySpec"] == "HMAC_256"
    assert reply["ReplicaKeyMetadata"]["KeyUsage"] == "GENERATE_VERIFY_MAC"
    mac = kms.generate_mac(KeyId=key, Message=b"hello", MacAlgorithm="HMAC_SHA_256")["Mac"]
    assert eu.verify_mac(KeyId=key, Message=b"hello", MacAlgorithm="HMAC_SHA_256", Mac=mac)["MacValid"] is True


def test_description_policy_tags_and_aliases_are_independent_per_region(kms, eu, replicated):
    eu.update_key_description(KeyId=replicated, Description="replica only")
    eu.tag_resource(KeyId=replicated, Tags=[{"TagKey": "where", "TagValue": "eu"}])
    eu.put_key_policy(KeyId=replicated, PolicyName="default", Policy=custom_policy("EuOnly"))
    eu.create_alias(AliasName="alias/eu-only", TargetKeyId=replicated)

    assert kms.describe_key(KeyId=replicated)["KeyMetadata"]["Description"] == "primary"
    assert kms.list_resource_tags(KeyId=replicated)["Tags"] == []
    assert "EuOnly" not in kms.get_key_policy(KeyId=replicated, PolicyName="default")["Policy"]
    assert [a for a in kms.list_aliases(KeyId=replicated)["Aliases"]] == []
    with pytest.raises(ClientError) as excinfo:
        kms.describe_key(KeyId="alias/eu-only")
    assert error_code(excinfo) == "NotFoundException"

    assert eu.describe_key(KeyId="alias/eu-only")["KeyMetadata"]["Arn"] == arn(REPLICA_REGION, replicated)
    # The same alias name can point at the related key in the primary Region too.
    kms.create_alias(AliasName="alias/eu-only", TargetKeyId=replicated)
    assert kms.describe_key(KeyId="alias/eu-only")["KeyMetadata"]["Arn"] == arn(PRIMARY_REGION, replicated)


def test_disabling_the_replica_leaves_the_primary_usable(kms, eu, replicated):
    eu.disable_key(KeyId=replicated)
    assert state(eu, replicated) == "Disabled"
    assert state(kms, replicated) == "Enabled"
    blob = kms.encrypt(KeyId=replicated, Plaintext=b"still works")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"still works"
    with pytest.raises(ClientError) as excinfo:
        eu.encrypt(KeyId=replicated, Plaintext=b"nope")
    assert error_code(excinfo) == "DisabledException"
    assert error_message(excinfo) == f"{arn(REPLICA_REGION, replicated)} is disabled."
    with pytest.raises(ClientError) as excinfo:
        eu.decrypt(CiphertextBlob=blob)
    assert error_code(excinfo) == "DisabledException"


def test_disabling_the_primary_leaves_the_replica_usable(kms, eu, replicated):
    kms.disable_key(KeyId=replicated)
    blob = eu.encrypt(KeyId=replicated, Plaintext=b"eu works")["CiphertextBlob"]
    assert eu.decrypt(CiphertextBlob=blob)["Plaintext"] == b"eu works"
    assert state(eu, replicated) == "Enabled"


# -- interoperability ------------------------------------------------------------------


def test_ciphertext_from_either_region_decrypts_in_the_other(kms, eu, replicated):
    ctx = {"purpose": "cross-region"}
    from_primary = kms.encrypt(KeyId=replicated, Plaintext=b"from us", EncryptionContext=ctx)["CiphertextBlob"]
    from_replica = eu.encrypt(KeyId=replicated, Plaintext=b"from eu", EncryptionContext=ctx)["CiphertextBlob"]
    out = eu.decrypt(CiphertextBlob=from_primary, EncryptionContext=ctx)
    assert out["Plaintext"] == b"from us"
    assert out["KeyId"] == arn(REPLICA_REGION, replicated)
    out = kms.decrypt(CiphertextBlob=from_replica, EncryptionContext=ctx)
    assert out["Plaintext"] == b"from eu"
    assert out["KeyId"] == arn(PRIMARY_REGION, replicated)
    # Naming the related key explicitly works too.
    assert eu.decrypt(CiphertextBlob=from_primary, EncryptionContext=ctx, KeyId=arn(REPLICA_REGION, replicated))[
        "Plaintext"] == b"from us"
    with pytest.raises(ClientError) as excinfo:
        eu.decrypt(CiphertextBlob=from_primary)  # context still binds
    assert error_code(excinfo) == "InvalidCiphertextException"


def test_data_key_made_in_one_region_decrypts_in_the_other(kms, eu, replicated):
    dk = eu.generate_data_key(KeyId=replicated, KeySpec="AES_256")
    assert kms.decrypt(CiphertextBlob=dk["CiphertextBlob"])["Plaintext"] == dk["Plaintext"]


def test_reencrypt_from_a_replica_ciphertext_in_the_primary_region(kms, eu, replicated, key_id):
    blob = eu.encrypt(KeyId=replicated, Plaintext=b"move me")["CiphertextBlob"]
    moved = kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=key_id)
    assert kms.decrypt(CiphertextBlob=moved["CiphertextBlob"])["Plaintext"] == b"move me"


def test_replica_of_a_key_rotated_earlier_holds_every_older_material(kms, eu, mrk):
    old_blob = kms.encrypt(KeyId=mrk, Plaintext=b"before rotation")["CiphertextBlob"]
    kms.rotate_key_on_demand(KeyId=mrk)
    kms.replicate_key(KeyId=mrk, ReplicaRegion=REPLICA_REGION)
    assert material_id(eu, mrk) == material_id(kms, mrk)
    assert eu.decrypt(CiphertextBlob=old_blob)["Plaintext"] == b"before rotation"


def test_automatic_rotation_of_the_primary_reaches_the_replica(cloud, kms, eu, replicated):
    before = material_id(kms, replicated)
    old_primary = kms.encrypt(KeyId=replicated, Plaintext=b"old us")["CiphertextBlob"]
    old_replica = eu.encrypt(KeyId=replicated, Plaintext=b"old eu")["CiphertextBlob"]
    kms.enable_key_rotation(KeyId=replicated, RotationPeriodInDays=90)
    cloud.clock.advance(days=90)
    after = material_id(kms, replicated)
    assert after != before
    assert material_id(eu, replicated) == after
    new_replica = eu.encrypt(KeyId=replicated, Plaintext=b"new eu")["CiphertextBlob"]
    new_primary = kms.encrypt(KeyId=replicated, Plaintext=b"new us")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=new_replica)["Plaintext"] == b"new eu"
    assert eu.decrypt(CiphertextBlob=new_primary)["Plaintext"] == b"new us"
    assert eu.decrypt(CiphertextBlob=old_primary)["Plaintext"] == b"old us"
    assert kms.decrypt(CiphertextBlob=old_replica)["Plaintext"] == b"old eu"
    assert eu.decrypt(CiphertextBlob=new_primary)["KeyMaterialId"] == after


def test_on_demand_rotation_of_the_primary_reaches_every_replica(kms, eu, ap, replicated):
    kms.replicate_key(KeyId=replicated, ReplicaRegion=OTHER_REGION)
    before = material_id(kms, replicated)
    kms.rotate_key_on_demand(KeyId=replicated)
    after = material_id(kms, replicated)
    assert after != before
    assert material_id(eu, replicated) == after
    assert material_id(ap, replicated) == after
    blob = ap.encrypt(KeyId=replicated, Plaintext=b"from ap")["CiphertextBlob"]
    assert eu.decrypt(CiphertextBlob=blob)["Plaintext"] == b"from ap"
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"from ap"


@pytest.mark.parametrize("operation", ["enable_key_rotation", "disable_key_rotation", "rotate_key_on_demand"])
def test_rotation_operations_on_a_replica_are_unsupported(eu, replicated, operation):
    with pytest.raises(ClientError) as excinfo:
        getattr(eu, operation)(KeyId=replicated)
    assert error_code(excinfo) == "UnsupportedOperationException"
    assert arn(REPLICA_REGION, replicated) in error_message(excinfo)


def test_rotation_status_of_a_replica_reports_the_primarys_schedule(kms, eu, replicated):
    assert eu.get_key_rotation_status(KeyId=replicated)["KeyRotationEnabled"] is False
    kms.enable_key_rotation(KeyId=replicated, RotationPeriodInDays=180)
    status = eu.get_key_rotation_status(KeyId=replicated)
    assert status["KeyRotationEnabled"] is True
    assert status["RotationPeriodInDays"] == 180
    assert status["NextRotationDate"] == START + 180 * DAY
    kms.disable_key_rotation(KeyId=replicated)
    assert eu.get_key_rotation_status(KeyId=replicated)["KeyRotationEnabled"] is False


# -- ReplicateKey errors ---------------------------------------------------------------


def test_replicate_key_on_a_single_region_key_is_unsupported(kms, key_id):
    with pytest.raises(ClientError) as excinfo:
        kms.replicate_key(KeyId=key_id, ReplicaRegion=REPLICA_REGION)
    assert error_code(excinfo) == "UnsupportedOperationException"
    assert error_message(excinfo).startswith(f"{arn(PRIMARY_REGION, key_id)} is not a multi-region")


def test_replicate_key_on_a_replica_is_unsupported(eu, replicated):
    with pytest.raises(ClientError) as excinfo:
        eu.replicate_key(KeyId=replicated, ReplicaRegion=OTHER_REGION)
    assert error_code(excinfo) == "UnsupportedOperationException"
    assert error_message(excinfo) == f"{arn(REPLICA_REGION, replicated)} is not a multi-region primary key."


def test_replicate_key_into_its_own_region_is_refused(kms, mrk):
    with pytest.raises(ClientError) as excinfo:
        kms.replicate_key(KeyId=mrk, ReplicaRegion=PRIMARY_REGION)
    assert error_code(excinfo) == "ValidationException"


def test_replicate_key_into_a_region_with_a_replica_already_exists(kms, replicated):
    with pytest.raises(ClientError) as excinfo:
        kms.replicate_key(KeyId=replicated, ReplicaRegion=REPLICA_REGION)
    assert error_code(excinfo) == "AlreadyExistsException"
    assert arn(REPLICA_REGION, replicated) in error_message(excinfo)


def test_replicate_key_into_a_region_where_a_replica_is_still_creating_already_exists(kms, mrk):
    kms.replicate_key(KeyId=mrk, ReplicaRegion=REPLICA_REGION)
    with pytest.raises(ClientError) as excinfo:
        kms.replicate_key(KeyId=mrk, ReplicaRegion=REPLICA_REGION)
    assert error_code(excinfo) == "AlreadyExistsException"


@pytest.mark.parametrize("region", ["mars-north-1", "us-nowhere-9"])
def test_replicate_key_into_an_unknown_region_is_refused(kms, mrk, region):
    with pytest.raises(ClientError) as excinfo:
        kms.replicate_key(KeyId=mrk, ReplicaRegion=region)
    assert error_code(excinfo) == "ValidationException"
    assert kms.describe_key(KeyId=mrk)["KeyMetadata"]["MultiRegionConfiguration"]["ReplicaKeys"] == []


def test_replicate_key_into_a_china_region_from_an_aws_partition_key_is_refused(cloud, kms, mrk):
    with pytest.raises(ClientError) as excinfo:
        kms.replicate_key(KeyId=mrk, ReplicaRegion="cn-north-1")
    assert error_code(excinfo) == "ValidationException"
    cn = cloud.client("kms", region_name="cn-north-1")
    assert cn.list_keys()["Keys"] == []


def test_replicate_key_from_a_disabled_primary_is_refused(kms, mrk):
    kms.disable_key(KeyId=mrk)
    with pytest.raises(ClientError) as excinfo:
        kms.replicate_key(KeyId=mrk, ReplicaRegion=REPLICA_REGION)
    assert error_code(excinfo) == "DisabledException"
    assert error_message(excinfo) == f"{arn(PRIMARY_REGION, mrk)} is disabled."


def test_replicate_key_from_a_primary_pending_deletion_is_refused(kms, mrk):
    kms.schedule_key_deletion(KeyId=mrk, PendingWindowInDays=7)
    with pytest.raises(ClientError) as excinfo:
        kms.replicate_key(KeyId=mrk, ReplicaRegion=REPLICA_REGION)
    assert error_code(excinfo) == "KMSInvalidStateException"


def test_a_failed_replicate_key_creates_nothing(kms, eu, mrk):
    kms.disable_key(KeyId=mrk)
    with pytest.raises(ClientError):
        kms.replicate_key(KeyId=mrk, ReplicaRegion=REPLICA_REGION)
    with pytest.raises(ClientError) as excinfo:
        eu.describe_key(KeyId=mrk)
    assert error_code(excinfo) == "NotFoundException"


# -- listing ---------------------------------------------------------------------------


def test_describe_key_on_the_primary_lists_every_replica(kms, eu, ap, mrk):
    kms.replicate_key(KeyId=mrk, ReplicaRegion=REPLICA_REGION)
    kms.replicate_key(KeyId=mrk, ReplicaRegion=OTHER_REGION)
    expected = {(arn(REPLICA_REGION, mrk), REPLICA_REGION), (arn(OTHER_REGION, mrk), OTHER_REGION)}
    for client in (kms, eu, ap):
        config = client.describe_key(KeyId=mrk)["KeyMetadata"]["MultiRegionConfiguration"]
        assert {(r["Arn"], r["Region"]) for r in config["ReplicaKeys"]} == expected
        assert config["PrimaryKey"]["Region"] == PRIMARY_REGION
    assert kms.describe_key(KeyId=mrk)["KeyMetadata"]["MultiRegionConfiguration"]["MultiRegionKeyType"] == "PRIMARY"
    assert ap.describe_key(KeyId=mrk)["KeyMetadata"]["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"


def test_list_keys_in_each_region_shows_its_own_copy(kms, eu, ap, replicated, key_id):
    assert {k["KeyId"]: k["KeyArn"] for k in kms.list_keys()["Keys"]} == {
        replicated: arn(PRIMARY_REGION, replicated), key_id: arn(PRIMARY_REGION, key_id)}
    assert eu.list_keys()["Keys"] == [{"KeyId": replicated, "KeyArn": arn(REPLICA_REGION, replicated)}]
    assert ap.list_keys()["Keys"] == []


# -- deletion --------------------------------------------------------------------------


def test_scheduling_deletion_of_a_primary_with_replicas_waits_for_them(kms, eu, replicated):
    reply = kms.schedule_key_deletion(KeyId=replicated, PendingWindowInDays=10)
    assert reply["KeyState"] == "PendingReplicaDeletion"
    assert reply["PendingWindowInDays"] == 10
    assert "DeletionDate" not in reply
    md = kms.describe_key(KeyId=replicated)["KeyMetadata"]
    assert md["KeyState"] == "PendingReplicaDeletion"
    assert md["Enabled"] is False
    assert md["PendingDeletionWindowInDays"] == 10
    assert "DeletionDate" not in md
    # The replica is untouched and still works.
    assert state(eu, replicated) == "Enabled"
    blob = eu.encrypt(KeyId=replicated, Plaintext=b"x")["CiphertextBlob"]
    with pytest.raises(ClientError) as excinfo:
        kms.decrypt(CiphertextBlob=blob)
    assert error_code(excinfo) == "KMSInvalidStateException"
    assert "pending replica deletion" in error_message(excinfo)


def test_primary_pending_replica_deletion_never_deletes_while_a_replica_remains(cloud, kms, replicated):
    kms.schedule_key_deletion(KeyId=replicated, PendingWindowInDays=7)
    cloud.clock.advance(days=400)
    assert state(kms, replicated) == "PendingReplicaDeletion"


def test_primary_starts_its_window_when_the_last_replica_is_deleted(cloud, kms, eu, ap, replicated):
    kms.replicate_key(KeyId=replicated, ReplicaRegion=OTHER_REGION)
    kms.schedule_key_deletion(KeyId=replicated, PendingWindowInDays=10)
    eu.schedule_key_deletion(KeyId=replicated, PendingWindowInDays=7)
    ap.schedule_key_deletion(KeyId=replicated, PendingWindowInDays=20)

    cloud.clock.advance(days=7)
    with pytest.raises(ClientError) as excinfo:
        eu.describe_key(KeyId=replicated)
    assert error_code(excinfo) == "NotFoundException"
    md = kms.describe_key(KeyId=replicated)["KeyMetadata"]
    assert md["KeyState"] == "PendingReplicaDeletion"  # ap-southeast-2 is still there
    assert [r["Region"] for r in md["MultiRegionConfiguration"]["ReplicaKeys"]] == [OTHER_REGION]

    cloud.clock.advance(days=13)  # the last replica's own deletion completes at START + 20 days
    with pytest.raises(ClientError) as excinfo:
        ap.describe_key(KeyId=replicated)
    assert error_code(excinfo) == "NotFoundException"
    md = kms.describe_key(KeyId=replicated)["KeyMetadata"]
    assert md["KeyState"] == "PendingDeletion"
    assert md["DeletionDate"] == START + 20 * DAY + 10 * DAY
    assert "PendingDeletionWindowInDays" not in md
    assert md["MultiRegionConfiguration"]["ReplicaKeys"] == []

    cloud.clock.advance(days=9)
    assert state(kms, replicated) == "PendingDeletion"
    cloud.clock.advance(days=1)
    with pytest.raises(ClientError) as excinfo:
        kms.describe_key(KeyId=replicated)
    assert error_code(excinfo) == "NotFoundException"


def test_primary_whose_last_replica_is_deleted_in_a_long_clock_jump_is_gone_after_both_windows(cloud, kms, eu,
                                                                                                replicated):
    kms.schedule_key_deletion(KeyId=replicated, PendingWindowInDays=7)
    eu.schedule_key_deletion(KeyId=replicated, PendingWindowInDays=7)
    cloud.clock.advance(days=30)
    with pytest.raises(ClientError) as excinfo:
        kms.describe_key(KeyId=replicated)
    assert error_code(excinfo) == "NotFoundException"
    assert kms.list_keys()["Keys"] == []


def test_cancel_deletion_of_a_primary_pending_replica_deletion_leaves_it_disabled(cloud, kms, eu, replicated):
    kms.schedule_key_deletion(KeyId=replicated, PendingWindowInDays=7)
    kms.cancel_key_deletion(KeyId=replicated)
    md = kms.describe_key(KeyId=replicated)["KeyMetadata"]
    assert md["KeyState"] == "Disabled"
    assert "PendingDeletionWindowInDays" not in md and "DeletionDate" not in md
    # Cancelled: deleting the replica now must not start the primary's deletion.
    eu.schedule_key_deletion(KeyId=replicated, PendingWindowInDays=7)
    cloud.clock.advance(days=60)
    assert state(kms, replicated) == "Disabled"


def test_primary_without_replicas_is_scheduled_for_deletion_normally(kms, mrk):
    reply = kms.schedule_key_deletion(KeyId=mrk, PendingWindowInDays=7)
    assert reply["KeyState"] == "PendingDeletion"
    assert reply["DeletionDate"] == START + 7 * DAY


def test_a_replica_is_deleted_on_its_own_and_can_be_replicated_again(cloud, kms, eu, replicated):
    eu.schedule_key_deletion(KeyId=replicated, PendingWindowInDays=7)
    assert state(kms, replicated) == "Enabled"
    cloud.clock.advance(days=7)
    assert kms.describe_key(KeyId=replicated)["KeyMetadata"]["MultiRegionConfiguration"]["ReplicaKeys"] == []
    kms.replicate_key(KeyId=replicated, ReplicaRegion=REPLICA_REGION)
    assert state(eu, replicated) == "Enabled"
    assert material_id(eu, replicated) == material_id(kms, replicated)


# -- UpdatePrimaryRegion ---------------------------------------------------------------


def test_update_primary_region_swaps_the_roles(kms, eu, replicated):
    assert kms.update_primary_region(KeyId=replicated, PrimaryRegion=REPLICA_REGION)["ResponseMetadata"][
        "HTTPStatusCode"] == 200
    new_primary = eu.describe_key(KeyId=replicated)["KeyMetadata"]
    old_primary = kms.describe_key(KeyId=replicated)["KeyMetadata"]
    assert new_primary["KeyState"] == "Enabled" and old_primary["KeyState"] == "Enabled"
    assert new_primary["MultiRegionConfiguration"]["MultiRegionKeyType"] == "PRIMARY"
    assert old_primary["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"
    for md in (new_primary, old_primary):
        assert md["MultiRegionConfiguration"]["PrimaryKey"] == {"Arn": arn(REPLICA_REGION, replicated),
                                                               "Region": REPLICA_REGION}
        assert md["MultiRegionConfiguration"]["ReplicaKeys"] == [{"Arn": arn(PRIMARY_REGION, replicated),
                                                                 "Region": PRIMARY_REGION}]
    # Now only the eu-west-1 key can be replicated.
    with pytest.raises(ClientError) as excinfo:
        kms.replicate_key(KeyId=replicated, ReplicaRegion=OTHER_REGION)
    assert error_code(excinfo) == "UnsupportedOperationException"
    reply = eu.replicate_key(KeyId=replicated, ReplicaRegion=OTHER_REGION)
    assert reply["ReplicaKeyMetadata"]["MultiRegionConfiguration"]["PrimaryKey"]["Region"] == REPLICA_REGION


def test_update_primary_region_puts_both_keys_in_updating_until_the_next_request(cloud, kms, eu, replicated):
    kms.update_primary_region(KeyId=replicated, PrimaryRegion=REPLICA_REGION)
    # White-box peek: the transient state lasts until the next request, which ends it first.
    regions = cloud.kms._regions
    assert regions[(ACCOUNT, PRIMARY_REGION)].keys[replicated].key_state == "Updating"
    assert regions[(ACCOUNT, REPLICA_REGION)].keys[replicated].key_state == "Updating"
    assert state(kms, replicated) == "Enabled"
    assert state(eu, replicated) == "Enabled"


def test_update_primary_region_moves_the_rotation_schedule_to_the_new_primary(cloud, kms, eu, replicated):
    kms.enable_key_rotation(KeyId=replicated, RotationPeriodInDays=90)
    kms.update_primary_region(KeyId=replicated, PrimaryRegion=REPLICA_REGION)
    status = eu.get_key_rotation_status(KeyId=replicated)
    assert status["KeyRotationEnabled"] is True
    assert status["RotationPeriodInDays"] == 90
    assert status["NextRotationDate"] == START + 90 * DAY
    assert kms.get_key_rotation_status(KeyId=replicated)["NextRotationDate"] == START + 90 * DAY
    # Rotation is now managed from eu-west-1 only.
    with pytest.raises(ClientError) as excinfo:
        kms.rotate_key_on_demand(KeyId=replicated)
    assert error_code(excinfo) == "UnsupportedOperationException"
    before = material_id(kms, replicated)
    cloud.clock.advance(days=90)
    after = material_id(eu, replicated)
    assert after != before
    assert material_id(kms, replicated) == after
    eu.rotate_key_on_demand(KeyId=replicated)
    assert material_id(kms, replicated) == material_id(eu, replicated) != after
    eu.disable_key_rotation(KeyId=replicated)
    assert kms.get_key_rotation_status(KeyId=replicated)["KeyRotationEnabled"] is False


def test_update_primary_region_to_a_region_without_a_replica_is_not_found(kms, replicated):
    with pytest.raises(ClientError) as excinfo:
        kms.update_primary_region(KeyId=replicated, PrimaryRegion=OTHER_REGION)
    assert error_code(excinfo) == "NotFoundException"
    assert state(kms, replicated) == "Enabled"
    assert kms.describe_key(KeyId=replicated)["KeyMetadata"]["MultiRegionConfiguration"][
        "MultiRegionKeyType"] == "PRIMARY"


def test_update_primary_region_on_a_replica_is_unsupported(eu, replicated):
    with pytest.raises(ClientError) as excinfo:
        eu.update_primary_region(KeyId=replicated, PrimaryRegion=PRIMARY_REGION)
    assert error_code(excinfo) == "UnsupportedOperationException"
    assert error_message(excinfo) == f"{arn(REPLICA_REGION, replicated)} is not a multi-region primary key."


def test_update_primary_region_on_a_single_region_key_is_unsupported(kms, key_id):
    with pytest.raises(ClientError) as excinfo:
        kms.update_primary_region(KeyId=key_id, PrimaryRegion=REPLICA_REGION)
    assert error_code(excinfo) == "UnsupportedOperationException"


def test_update_primary_region_needs_an_enabled_primary(kms, eu, replicated):
    kms.disable_key(KeyId=replicated)
    with pytest.raises(ClientError) as excinfo:
        kms.update_primary_region(KeyId=replicated, PrimaryRegion=REPLICA_REGION)
    assert error_code(excinfo) == "DisabledException"
    assert eu.describe_key(KeyId=replicated)["KeyMetadata"]["MultiRegionConfiguration"][
        "MultiRegionKeyType"] == "REPLICA"


def test_update_primary_region_needs_an_enabled_replica(kms, eu, replicated):
    eu.disable_key(KeyId=replicated)
    with pytest.raises(ClientError) as excinfo:
        kms.update_primary_region(KeyId=replicated, PrimaryRegion=REPLICA_REGION)
    assert error_code(excinfo) == "DisabledException"
    assert error_message(excinfo) == f"{arn(REPLICA_REGION, replicated)} is disabled."
    assert kms.describe_key(KeyId=replicated)["KeyMetadata"]["MultiRegionConfiguration"][
        "MultiRegionKeyType"] == "PRIMARY"


def test_update_primary_region_to_a_replica_pending_deletion_is_refused(kms, eu, replicated):
    eu.schedule_key_deletion(KeyId=replicated, PendingWindowInDays=7)
    with pytest.raises(ClientError) as excinfo:
        kms.update_primary_region(KeyId=replicated, PrimaryRegion=REPLICA_REGION)
    assert error_code(excinfo) == "KMSInvalidStateException"


def test_update_primary_region_of_a_primary_pending_replica_deletion_is_refused(kms, replicated):
    kms.schedule_key_deletion(KeyId=replicated, PendingWindowInDays=7)
    with pytest.raises(ClientError) as excinfo:
        kms.update_primary_region(KeyId=replicated, PrimaryRegion=REPLICA_REGION)
    assert error_code(excinfo) == "KMSInvalidStateException"


def test_after_update_primary_region_the_old_primary_can_be_deleted_without_waiting(cloud, kms, eu, replicated):
    kms.update_primary_region(KeyId=replicated, PrimaryRegion=REPLICA_REGION)
    reply = kms.schedule_key_deletion(KeyId=replicated, PendingWindowInDays=7)
    assert reply["KeyState"] == "PendingDeletion"
    cloud.clock.advance(days=7)
    md = eu.describe_key(KeyId=replicated)["KeyMetadata"]
    assert md["KeyState"] == "Enabled"
    assert md["MultiRegionConfiguration"]["ReplicaKeys"] == []


# -- persistence -----------------------------------------------------------------------


def test_multi_region_keys_survive_reopening_a_persistent_cloud(tmp_path):
    clock = kms_teach.Clock(START, frozen=True)
    with kms_teach.Cloud(tmp_path, clock=clock, seed=7) as cloud:
        us = cloud.client("kms", region_name=PRIMARY_REGION)
        eu = cloud.client("kms", region_name=REPLICA_REGION)
        key = us.create_key(MultiRegion=True, Description="durable")["KeyMetadata"]["KeyId"]
        us.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
        us.replicate_key(KeyId=key, ReplicaRegion=REPLICA_REGION, Description="durable replica")
        blob = us.encrypt(KeyId=key, Plaintext=b"made before close")["CiphertextBlob"]
        eu_blob = eu.encrypt(KeyId=key, Plaintext=b"eu before close")["CiphertextBlob"]
        mid = material_id(us, key)

    with kms_teach.Cloud(tmp_path, seed=7) as cloud:
        us = cloud.client("kms", region_name=PRIMARY_REGION)
        eu = cloud.client("kms", region_name=REPLICA_REGION)
        p = us.describe_key(KeyId=key)["KeyMetadata"]
        r = eu.describe_key(KeyId=key)["KeyMetadata"]
        assert p["MultiRegionConfiguration"]["MultiRegionKeyType"] == "PRIMARY"
        assert r["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"
        assert [x["Region"] for x in p["MultiRegionConfiguration"]["ReplicaKeys"]] == [REPLICA_REGION]
        assert r["KeyState"] == "Enabled"
        assert r["Description"] == "durable replica"
        assert p["CurrentKeyMaterialId"] == r["CurrentKeyMaterialId"] == mid
        assert eu.decrypt(CiphertextBlob=blob)["Plaintext"] == b"made before close"
        assert us.decrypt(CiphertextBlob=eu_blob)["Plaintext"] == b"eu before close"
        assert eu.get_key_rotation_status(KeyId=key)["NextRotationDate"] == START + 90 * DAY
        # The rotation schedule keeps running after reopening, and still reaches the replica.
        cloud.clock.advance(days=90)
        assert material_id(us, key) != mid
        assert material_id(eu, key) == material_id(us, key)


def test_a_replica_still_creating_at_close_is_enabled_after_reopening(tmp_path):
    clock = kms_teach.Clock(START, frozen=True)
    with kms_teach.Cloud(tmp_path, clock=clock) as cloud:
        us = cloud.client("kms", region_name=PRIMARY_REGION)
        key = us.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
        assert us.replicate_key(KeyId=key, ReplicaRegion=REPLICA_REGION)["ReplicaKeyMetadata"]["KeyState"] == "Creating"
    with kms_teach.Cloud(tmp_path) as cloud:
        eu = cloud.client("kms", region_name=REPLICA_REGION)
        assert state(eu, key) == "Enabled"


def test_update_primary_region_and_pending_replica_deletion_survive_reopening(tmp_path):
    clock = kms_teach.Clock(START, frozen=True)
    with kms_teach.Cloud(tmp_path, clock=clock) as cloud:
        us = cloud.client("kms", region_name=PRIMARY_REGION)
        key = us.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
        us.replicate_key(KeyId=key, ReplicaRegion=REPLICA_REGION)
        us.replicate_key(KeyId=key, ReplicaRegion=OTHER_REGION)
        us.update_primary_region(KeyId=key, PrimaryRegion=REPLICA_REGION)
        eu = cloud.client("kms", region_name=REPLICA_REGION)
        eu.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    with kms_teach.Cloud(tmp_path) as cloud:
        us = cloud.client("kms", region_name=PRIMARY_REGION)
        eu = cloud.client("kms", region_name=REPLICA_REGION)
        ap = cloud.client("kms", region_name=OTHER_REGION)
        assert us.describe_key(KeyId=key)["KeyMetadata"]["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"
        md = eu.describe_key(KeyId=key)["KeyMetadata"]
        assert md["KeyState"] == "PendingReplicaDeletion"
        assert md["MultiRegionConfiguration"]["MultiRegionKeyType"] == "PRIMARY"
        us.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
        ap.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
        cloud.clock.advance(days=7)
        md = eu.describe_key(KeyId=key)["KeyMetadata"]
        assert md["KeyState"] == "PendingDeletion"
        assert md["DeletionDate"] == START + 14 * DAY


# -- more edges ------------------------------------------------------------------------


def test_replicate_key_with_reserved_tags_or_a_malformed_policy_creates_nothing(kms, eu, mrk):
    with pytest.raises(ClientError) as excinfo:
        kms.replicate_key(KeyId=mrk, ReplicaRegion=REPLICA_REGION, Tags=[{"TagKey": "aws:x", "TagValue": "y"}])
    assert error_code(excinfo) == "TagException"
    with pytest.raises(ClientError) as excinfo:
        kms.replicate_key(KeyId=mrk, ReplicaRegion=REPLICA_REGION, Policy="{not json")
    assert error_code(excinfo) == "MalformedPolicyDocumentException"
    assert eu.list_keys()["Keys"] == []
    assert kms.describe_key(KeyId=mrk)["KeyMetadata"]["MultiRegionConfiguration"]["ReplicaKeys"] == []


def test_scheduling_deletion_again_of_a_primary_pending_replica_deletion_is_refused(kms, replicated):
    kms.schedule_key_deletion(KeyId=replicated, PendingWindowInDays=7)
    with pytest.raises(ClientError) as excinfo:
        kms.schedule_key_deletion(KeyId=replicated, PendingWindowInDays=7)
    assert error_code(excinfo) == "KMSInvalidStateException"
    assert error_message(excinfo) == f"{arn(PRIMARY_REGION, replicated)} is pending replica deletion."


def test_deleting_a_replica_removes_only_its_own_regions_aliases(cloud, kms, eu, replicated):
    kms.create_alias(AliasName="alias/shared-name", TargetKeyId=replicated)
    eu.create_alias(AliasName="alias/shared-name", TargetKeyId=replicated)
    eu.schedule_key_deletion(KeyId=replicated, PendingWindowInDays=7)
    cloud.clock.advance(days=7)
    assert [a["AliasName"] for a in eu.list_aliases()["Aliases"] if "TargetKeyId" in a] == []
    assert kms.describe_key(KeyId="alias/shared-name")["KeyMetadata"]["KeyId"] == replicated


def test_rotation_of_a_disabled_primary_waits_and_then_reaches_the_replica(cloud, kms, eu, replicated):
    kms.enable_key_rotation(KeyId=replicated, RotationPeriodInDays=90)
    before = material_id(kms, replicated)
    kms.disable_key(KeyId=replicated)
    cloud.clock.advance(days=100)
    assert material_id(eu, replicated) == before
    kms.enable_key(KeyId=replicated)
    assert material_id(kms, replicated) != before
    assert material_id(eu, replicated) == material_id(kms, replicated)
