"""CreateKey, DescribeKey, ListKeys, UpdateKeyDescription and how a KeyId is resolved."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from botocore.exceptions import ClientError, ParamValidationError

from tests.conftest import START, error_code, error_message

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

DEFAULT_POLICY = """{
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {
    "Sid" : "Enable IAM User Permissions",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "arn:aws:iam::111122223333:root"
    },
    "Action" : "kms:*",
    "Resource" : "*"
  } ]
}"""


def test_create_key_returns_aws_metadata_for_a_symmetric_key(kms):
    md = kms.create_key(Description="battle plans")["KeyMetadata"]
    assert UUID.match(md["KeyId"])
    assert md["Arn"] == f"arn:aws:kms:us-east-1:111122223333:key/{md['KeyId']}"
    assert md["AWSAccountId"] == "111122223333"
    assert md["CreationDate"] == START
    assert md["Description"] == "battle plans"
    assert md["Enabled"] is True
    assert md["KeyState"] == "Enabled"
    assert md["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert md["KeySpec"] == md["CustomerMasterKeySpec"] == "SYMMETRIC_DEFAULT"
    assert md["EncryptionAlgorithms"] == ["SYMMETRIC_DEFAULT"]
    assert md["Origin"] == "AWS_KMS"
    assert md["KeyManager"] == "CUSTOMER"
    assert md["MultiRegion"] is False
    assert re.fullmatch(r"[0-9a-f]{64}", md["CurrentKeyMaterialId"])
    assert "DeletionDate" not in md
    assert "SigningAlgorithms" not in md and "MacAlgorithms" not in md


def test_create_key_without_description_has_an_empty_one(kms):
    assert kms.create_key()["KeyMetadata"]["Description"] == ""


def test_every_key_gets_its_own_id_and_key_material(kms, cloud):
    ids = {kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(20)}
    assert len(ids) == 20
    material = {
        k.current_backing_key.material for k in cloud.kms._regions[("111122223333", "us-east-1")].keys.values()
    }
    assert len(material) == 20


def test_the_default_key_policy_is_byte_for_byte_aws_key_default_1(kms, key_id):
    out = kms.get_key_policy(KeyId=key_id, PolicyName="default")
    assert out["Policy"] == DEFAULT_POLICY
    assert out["PolicyName"] == "default"


def test_describe_key_accepts_key_id_key_arn_alias_name_and_alias_arn(kms, key_id):
    arn = kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName="alias/catrobot", TargetKeyId=key_id)
    for ref in (key_id, arn, "alias/catrobot", "arn:aws:kms:us-east-1:111122223333:alias/catrobot"):
        assert kms.describe_key(KeyId=ref)["KeyMetadata"]["KeyId"] == key_id


@pytest.mark.parametrize(
    "ref, message",
    [
        ("fake-key-id", "Invalid keyId 'fake-key-id'"),
        ("1234abcd12ab34cd56ef1234567890ab", "Invalid keyId '1234abcd12ab34cd56ef1234567890ab'"),
        ("mrk-fake-key-id", "Invalid keyId 'mrk-fake-key-id'"),
        (
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "Key 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab' does not exist",
        ),
        ("alias/nothing", "Alias arn:aws:kms:us-east-1:111122223333:alias/nothing is not found."),
        ("arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", "Invalid arn eu-west-1"),
    ],
)
def test_describe_key_with_a_key_that_does_not_exist_is_not_found(kms, ref, message):
    with pytest.raises(kms.exceptions.NotFoundException) as excinfo:
        kms.describe_key(KeyId=ref)
    assert error_message(excinfo) == message


def test_operations_that_take_only_a_key_id_or_arn_refuse_an_alias(kms, key_id):
    kms.create_alias(AliasName="alias/catrobot", TargetKeyId=key_id)
    with pytest.raises(kms.exceptions.NotFoundException) as excinfo:
        kms.enable_key_rotation(KeyId="alias/catrobot")
    assert error_message(excinfo) == "Invalid keyId 'alias/catrobot'"
    with pytest.raises(kms.exceptions.NotFoundException):
        kms.get_key_policy(KeyId="alias/catrobot")


def test_list_keys_pages_with_limit_and_marker(kms):
    created = [kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(7)]
    first = kms.list_keys(Limit=3)
    assert first["Truncated"] is True and len(first["Keys"]) == 3
    seen = [k["KeyId"] for k in first["Keys"]]
    marker = first["NextMarker"]
    while True:
        page = kms.list_keys(Limit=3, Marker=marker)
        seen += [k["KeyId"] for k in page["Keys"]]
        if not page["Truncated"]:
            assert "NextMarker" not in page
            break
        marker = page["NextMarker"]
    assert seen == created
    for entry in first["Keys"]:
        assert entry["KeyArn"].endswith(entry["KeyId"])


def test_list_keys_default_limit_is_100_and_paginator_sees_every_key(kms):
    created = {kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(130)}
    first = kms.list_keys()
    assert len(first["Keys"]) == 100 and first["Truncated"]
    seen = [k["KeyId"] for page in kms.get_paginator("list_keys").paginate() for k in page["Keys"]]
    assert len(seen) == 130 and set(seen) == created


def test_list_keys_rejects_a_marker_it_did_not_issue(kms, key_id):
    with pytest.raises(kms.exceptions.InvalidMarkerException):
        kms.list_keys(Marker="not-a-marker")


def test_list_keys_limit_above_1000_is_a_validation_error(kms):
    with pytest.raises(ClientError) as excinfo:
        kms.list_keys(Limit=1001)
    assert error_code(excinfo) == "ValidationException"
    assert error_message(excinfo) == (
        "1 validation error detected: Value '1001' at 'limit' failed to satisfy constraint: "
        "Member must have value less than or equal to 1000"
    )
    with pytest.raises(ParamValidationError):  # botocore checks the model's minimum itself
        kms.list_keys(Limit=0)


def test_update_key_description(kms, key_id):
    kms.update_key_description(KeyId=key_id, Description="new words")
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["Description"] == "new words"


def test_create_key_with_a_policy_stores_it_verbatim(kms):
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Enable IAM User Permissions",
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        }
    )
    key = kms.create_key(Policy=policy)["KeyMetadata"]["KeyId"]
    assert kms.get_key_policy(KeyId=key)["Policy"] == policy


@pytest.mark.parametrize(
    "policy",
    [
        "not json",
        "[]",
        json.dumps({"Version": "2012-10-17"}),
        json.dumps({"Statement": [{"Effect": "Maybe", "Principal": "*", "Action": "kms:*", "Resource": "*"}]}),
        json.dumps({"Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}),
        json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "bob"}, "Action": "kms:*", "Resource": "*"}]}),
        json.dumps({"Version": "2099-01-01", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:*"}]}),
        json.dumps(
            {
                "Statement": [
                    {"Sid": "same", "Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"},
                    {"Sid": "same", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*"},
                ]
            }
        ),
    ],
)
def test_create_key_rejects_a_malformed_policy_and_creates_nothing(kms, policy):
    with pytest.raises(kms.exceptions.MalformedPolicyDocumentException):
        kms.create_key(Policy=policy)
    assert kms.list_keys()["Keys"] == []


def test_create_key_rejects_a_policy_over_32_kb(kms):
    statement = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"}
    big = json.dumps({"Version": "2012-10-17", "Statement": [dict(statement, Sid=f"s{i}") for i in range(300)]})
    assert len(big) > 32768
    with pytest.raises(kms.exceptions.LimitExceededException):
        kms.create_key(Policy=big)


def test_create_key_rejects_keyspec_and_customermasterkeyspec_together(kms):
    with pytest.raises(ClientError) as excinfo:
        kms.create_key(KeySpec="SYMMETRIC_DEFAULT", CustomerMasterKeySpec="SYMMETRIC_DEFAULT")
    assert error_code(excinfo) == "ValidationException"


def test_custom_key_stores_are_refused_with_a_clear_message(kms):
    with pytest.raises(ClientError) as excinfo:
        kms.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId="cks-1234567890abcdef0")
    assert error_code(excinfo) == "UnsupportedOperationException"
    assert "custom key stores" in error_message(excinfo)


def test_create_key_with_tags(kms):
    key = kms.create_key(Tags=[{"TagKey": "team", "TagValue": "red"}])["KeyMetadata"]["KeyId"]
    assert kms.list_resource_tags(KeyId=key)["Tags"] == [{"TagKey": "team", "TagValue": "red"}]


def test_creation_date_follows_the_simulated_clock(cloud, kms):
    cloud.clock.advance(days=10)
    md = kms.create_key()["KeyMetadata"]
    assert md["CreationDate"] == START + dt.timedelta(days=10)


def test_list_keys_pages_stay_correct_when_a_key_is_deleted_between_pages(cloud, kms):
    created = [kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(6)]
    kms.schedule_key_deletion(KeyId=created[1], PendingWindowInDays=7)
    first = kms.list_keys(Limit=3)
    assert [k["KeyId"] for k in first["Keys"]] == created[:3]
    cloud.clock.advance(days=8)  # created[1], already listed, is deleted now
    rest = kms.list_keys(Limit=3, Marker=first["NextMarker"])
    assert [k["KeyId"] for k in rest["Keys"]] == created[3:]


def test_keys_in_the_china_regions_use_the_aws_cn_partition(cloud):
    cn = cloud.client("kms", region_name="cn-north-1")
    md = cn.create_key()["KeyMetadata"]
    assert md["Arn"].startswith("arn:aws-cn:kms:cn-north-1:111122223333:key/")
    assert '"AWS" : "arn:aws-cn:iam::111122223333:root"' in cn.get_key_policy(KeyId=md["KeyId"])["Policy"]
