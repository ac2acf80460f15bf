"""Every row of AWS's key-state table for the foundation operations, through boto3.

Source: AWS KMS Developer Guide, "Key states of AWS KMS keys" (the table of
operations and key states). ``OK`` means the call succeeds; otherwise the AWS
error code and the message AWS gives.
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.conftest import error_code, error_message

OK = None
DIS = "DisabledException"
IS = "KMSInvalidStateException"

POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"}
        ],
    }
)


def _calls():
    """operation -> (callable(kms, ctx) , {state: expected})"""
    return {
        "Encrypt": (lambda k, c: k.encrypt(KeyId=c["key"], Plaintext=b"x"), {"Disabled": DIS, "PendingDeletion": IS}),
        "Decrypt": (lambda k, c: k.decrypt(CiphertextBlob=c["blob"]), {"Disabled": DIS, "PendingDeletion": IS}),
        "ReEncrypt": (
            lambda k, c: k.re_encrypt(CiphertextBlob=c["blob"], DestinationKeyId=c["other"]),
            {"Disabled": DIS, "PendingDeletion": IS},
        ),
        "GenerateDataKey": (
            lambda k, c: k.generate_data_key(KeyId=c["key"], KeySpec="AES_256"),
            {"Disabled": DIS, "PendingDeletion": IS},
        ),
        "GenerateDataKeyWithoutPlaintext": (
            lambda k, c: k.generate_data_key_without_plaintext(KeyId=c["key"], NumberOfBytes=16),
            {"Disabled": DIS, "PendingDeletion": IS},
        ),
        "DescribeKey": (lambda k, c: k.describe_key(KeyId=c["key"]), {}),
        "CreateAlias": (
            lambda k, c: k.create_alias(AliasName="alias/new-one", TargetKeyId=c["key"]),
            {"PendingDeletion": IS},
        ),
        "UpdateAlias": (
            lambda k, c: k.update_alias(AliasName="alias/points-elsewhere", TargetKeyId=c["key"]),
            {"PendingDeletion": IS},
        ),
        "DeleteAlias": (lambda k, c: k.delete_alias(AliasName="alias/on-the-key"), {}),
        "EnableKey": (lambda k, c: k.enable_key(KeyId=c["key"]), {"PendingDeletion": IS}),
        "DisableKey": (lambda k, c: k.disable_key(KeyId=c["key"]), {"PendingDeletion": IS}),
        "ScheduleKeyDeletion": (
            lambda k, c: k.schedule_key_deletion(KeyId=c["key"], PendingWindowInDays=7),
            {"PendingDeletion": IS},
        ),
        "CancelKeyDeletion": (
            lambda k, c: k.cancel_key_deletion(KeyId=c["key"]),
            {"Enabled": IS, "Disabled": IS},
        ),
        "EnableKeyRotation": (lambda k, c: k.enable_key_rotation(KeyId=c["key"]), {"Disabled": DIS, "PendingDeletion": IS}),
        "DisableKeyRotation": (lambda k, c: k.disable_key_rotation(KeyId=c["key"]), {"Disabled": DIS, "PendingDeletion": IS}),
        "GetKeyRotationStatus": (lambda k, c: k.get_key_rotation_status(KeyId=c["key"]), {}),
        "RotateKeyOnDemand": (lambda k, c: k.rotate_key_on_demand(KeyId=c["key"]), {"Disabled": DIS, "PendingDeletion": IS}),
        "ListKeyRotations": (lambda k, c: k.list_key_rotations(KeyId=c["key"]), {}),
        "TagResource": (
            lambda k, c: k.tag_resource(KeyId=c["key"], Tags=[{"TagKey": "t", "TagValue": "v"}]),
            {"PendingDeletion": IS},
        ),
        "UntagResource": (lambda k, c: k.untag_resource(KeyId=c["key"], TagKeys=["t"]), {"PendingDeletion": IS}),
        "ListResourceTags": (lambda k, c: k.list_resource_tags(KeyId=c["key"]), {}),
        "UpdateKeyDescription": (
            lambda k, c: k.update_key_description(KeyId=c["key"], Description="new"),
            {"PendingDeletion": IS},
        ),
        "GetKeyPolicy": (lambda k, c: k.get_key_policy(KeyId=c["key"], PolicyName="default"), {}),
        "PutKeyPolicy": (lambda k, c: k.put_key_policy(KeyId=c["key"], PolicyName="default", Policy=POLICY), {}),
        "ListKeyPolicies": (lambda k, c: k.list_key_policies(KeyId=c["key"]), {}),
    }


CALLS = _calls()
STATES = ["Enabled", "Disabled", "PendingDeletion"]


def _put_in_state(kms, key, state):
    if state == "Disabled":
        kms.disable_key(KeyId=key)
    elif state == "PendingDeletion":
        kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)


@pytest.fixture
def setup(kms):
    key = kms.create_key(Description="subject")["KeyMetadata"]["KeyId"]
    other = kms.create_key(Description="other")["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key, Plaintext=b"made while enabled")["CiphertextBlob"]
    kms.create_alias(AliasName="alias/on-the-key", TargetKeyId=key)
    kms.create_alias(AliasName="alias/points-elsewhere", TargetKeyId=other)
    arn = kms.describe_key(KeyId=key)["KeyMetadata"]["Arn"]
    return {"key": key, "other": other, "blob": blob, "arn": arn}


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("operation", sorted(CALLS))
def test_operation_follows_the_key_state_table(kms, setup, operation, state):
    call, table = CALLS[operation]
    expected = table.get(state, OK)
    _put_in_state(kms, setup["key"], state)
    if expected is OK:
        call(kms, setup)
        return
    with pytest.raises(ClientError) as excinfo:
        call(kms, setup)
    assert error_code(excinfo) == expected
    arn = setup["arn"]
    message = error_message(excinfo)
    if expected == DIS:
        assert message == f"{arn} is disabled."
    elif operation == "CancelKeyDeletion":
        assert message == f"{arn} is not pending deletion."
    else:
        assert message == f"{arn} is pending deletion."


def test_a_refused_operation_changes_nothing(kms, setup):
    kms.disable_key(KeyId=setup["key"])
    before = kms.describe_key(KeyId=setup["key"])["KeyMetadata"]
    with pytest.raises(ClientError):
        kms.enable_key_rotation(KeyId=setup["key"])
    assert kms.describe_key(KeyId=setup["key"])["KeyMetadata"] == before
    assert kms.get_key_rotation_status(KeyId=setup["key"])["KeyRotationEnabled"] is False


def test_describe_key_reports_enabled_only_in_the_enabled_state(kms, setup):
    key = setup["key"]
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["Enabled"] is True
    kms.disable_key(KeyId=key)
    md = kms.describe_key(KeyId=key)["KeyMetadata"]
    assert (md["KeyState"], md["Enabled"]) == ("Disabled", False)
    kms.schedule_key_deletion(KeyId=key)
    md = kms.describe_key(KeyId=key)["KeyMetadata"]
    assert (md["KeyState"], md["Enabled"]) == ("PendingDeletion", False)
    assert "DeletionDate" in md
