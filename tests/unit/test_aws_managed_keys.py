"""AWS managed keys: created on first use by a service, visible to the customer, changeable by no one."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.conftest import START, error_code

ACCT = "111122223333"


@pytest.fixture
def managed(cloud, kms):
    s3 = cloud.client("s3", region_name="us-east-1")
    assert "TargetKeyId" not in {a["AliasName"]: a for a in kms.list_aliases(Limit=100)["Aliases"]}["alias/aws/s3"]
    s3.create_bucket(Bucket="plans")
    s3.put_object(Bucket="plans", Key="battle.txt", Body=b"attack at dawn", ServerSideEncryption="aws:kms")
    return kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]


def test_the_first_sse_kms_use_creates_alias_aws_s3(cloud, kms, managed):
    assert managed["KeyManager"] == "AWS"
    assert managed["KeyState"] == "Enabled"
    aliases = {a["AliasName"]: a for a in kms.list_aliases(Limit=100)["Aliases"]}
    assert aliases["alias/aws/s3"]["TargetKeyId"] == managed["KeyId"]
    creation = [e for e in cloud.audit.events if e["eventName"] == "CreateKey"][-1]
    assert creation["userIdentity"] == {"type": "AWSService", "invokedBy": "s3.amazonaws.com"}


def test_its_policy_lets_the_account_use_it_only_through_the_service(kms, managed):
    policy = json.loads(kms.get_key_policy(KeyId=managed["KeyId"])["Policy"])
    use, metadata = policy["Statement"]
    assert use["Principal"] == {"AWS": "*"}
    assert use["Condition"]["StringEquals"] == {"kms:CallerAccount": ACCT, "kms:ViaService": "s3.us-east-1.amazonaws.com"}
    assert metadata["Principal"] == {"AWS": f"arn:aws:iam::{ACCT}:root"}
    assert sorted(metadata["Action"]) == ["kms:Describe*", "kms:Get*", "kms:List*"]


def test_rotation_is_always_on_and_yearly(kms, managed):
    status = kms.get_key_rotation_status(KeyId=managed["KeyId"])
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 365


@pytest.mark.parametrize("call", [
    lambda k, key: k.disable_key(KeyId=key),
    lambda k, key: k.schedule_key_deletion(KeyId=key, PendingWindowInDays=7),
    lambda k, key: k.disable_key_rotation(KeyId=key),
    lambda k, key: k.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"},
                                                 "Action": "kms:*", "Resource": "*"}]})),
    lambda k, key: k.encrypt(KeyId=key, Plaintext=b"direct use"),
    lambda k, key: k.generate_data_key(KeyId=key, KeySpec="AES_256"),
    lambda k, key: k.tag_resource(KeyId=key, Tags=[{"TagKey": "mine", "TagValue": "no"}]),
], ids=["disable", "schedule deletion", "disable rotation", "put key policy", "encrypt directly",
        "generate data key directly", "tag"])
def test_no_customer_can_change_it_or_use_it_directly(kms, managed, call):
    with pytest.raises(ClientError) as excinfo:
        call(kms, managed["KeyId"])
    assert error_code(excinfo) == "AccessDeniedException"
    assert kms.describe_key(KeyId=managed["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"


def test_an_alias_cannot_point_at_it_and_its_alias_cannot_be_taken(kms, managed):
    with pytest.raises(ClientError) as excinfo:
        kms.create_alias(AliasName="alias/my-s3", TargetKeyId=managed["KeyId"])
    assert error_code(excinfo) in ("NotAuthorizedException", "AccessDeniedException")
    mine = kms.create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as excinfo:
        kms.update_alias(AliasName="alias/aws/s3", TargetKeyId=mine)
    assert error_code(excinfo) == "NotAuthorizedException"


def test_the_customer_sees_the_services_use_of_it(cloud, managed):
    s3 = cloud.client("s3", region_name="us-east-1")
    assert s3.get_object(Bucket="plans", Key="battle.txt")["Body"].read() == b"attack at dawn"
    uses = [e for e in cloud.audit.events if e["eventSource"] == "kms.amazonaws.com"
            and e["eventName"] in ("GenerateDataKey", "Decrypt") and e["resources"]
            and e["resources"][0]["ARN"] == managed["Arn"]]
    assert [e["eventName"] for e in uses] == ["GenerateDataKey", "Decrypt"]
    assert all(e["sourceIPAddress"] == "s3.amazonaws.com" or e["sourceIPAddress"].startswith("s3.") for e in uses)
    assert uses[0]["requestParameters"]["encryptionContext"] == {"aws:s3:arn": "arn:aws:s3:::plans/battle.txt"}


def test_it_is_created_once_per_account_and_region(cloud, kms, managed):
    s3 = cloud.client("s3", region_name="us-east-1")
    s3.put_object(Bucket="plans", Key="two.txt", Body=b"x", ServerSideEncryption="aws:kms")
    assert kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]["KeyId"] == managed["KeyId"]
    eu = cloud.client("kms", region_name="eu-west-1")
    assert "TargetKeyId" not in {a["AliasName"]: a for a in eu.list_aliases(Limit=100)["Aliases"]}["alias/aws/s3"]
    assert managed["CreationDate"] == START
