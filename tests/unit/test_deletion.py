"""Scheduled key deletion: a 7-30 day window, cancel, and really gone afterwards."""

from __future__ import annotations

import datetime as dt

import pytest
from botocore.exceptions import ClientError

from tests.conftest import START, error_code, error_message

DAY = dt.timedelta(days=1)


def test_schedule_key_deletion_defaults_to_30_days(kms, key_id):
    out = kms.schedule_key_deletion(KeyId=key_id)
    assert out["KeyId"] == kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
    assert out["KeyState"] == "PendingDeletion"
    assert out["PendingWindowInDays"] == 30
    assert out["DeletionDate"] == START + 30 * DAY
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["DeletionDate"] == START + 30 * DAY


@pytest.mark.parametrize("days", [7, 30])
def test_the_window_is_7_to_30_days(kms, key_id, days):
    assert kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=days)["PendingWindowInDays"] == days


@pytest.mark.parametrize("days, bound", [(6, "greater than or equal to 7"), (31, "less than or equal to 30")])
def test_a_window_outside_7_to_30_days_is_a_validation_error_and_changes_nothing(kms, key_id, days, bound):
    with pytest.raises(ClientError) as excinfo:
        kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=days)
    assert error_code(excinfo) == "ValidationException"
    assert bound in error_message(excinfo)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"


def test_cancel_key_deletion_leaves_the_key_disabled(kms, key_id):
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    out = kms.cancel_key_deletion(KeyId=key_id)
    assert out["KeyId"].endswith(key_id)
    md = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert md["KeyState"] == "Disabled"
    assert "DeletionDate" not in md
    with pytest.raises(kms.exceptions.DisabledException):
        kms.encrypt(KeyId=key_id, Plaintext=b"x")
    kms.enable_key(KeyId=key_id)
    kms.encrypt(KeyId=key_id, Plaintext=b"x")


def test_when_the_window_passes_the_key_is_gone_and_its_data_unrecoverable(cloud, kms, key_id):
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"the only copy")["CiphertextBlob"]
    kms.create_alias(AliasName="alias/doomed", TargetKeyId=key_id)
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    cloud.clock.advance(days=6, hours=23)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    cloud.clock.advance(hours=1)
    with pytest.raises(kms.exceptions.NotFoundException) as excinfo:
        kms.describe_key(KeyId=key_id)
    assert error_message(excinfo).endswith("does not exist")
    assert key_id not in [k["KeyId"] for k in kms.list_keys()["Keys"]]
    assert "alias/doomed" not in [a["AliasName"] for a in kms.list_aliases()["Aliases"]]
    with pytest.raises(ClientError) as excinfo:
        kms.decrypt(CiphertextBlob=blob)
    assert error_code(excinfo) == "AccessDeniedException"
    # Not even a key with the same ID could come back: the material is destroyed.
    assert all(key_id not in state.keys for state in cloud.kms._regions.values())


def test_deletion_happens_even_without_a_request_after_the_date(cloud, kms, key_id):
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    cloud.clock.advance(days=8)
    events = [e for e in cloud.audit.events if e["eventName"] == "DeleteKey"]
    assert len(events) == 1
    assert events[0]["eventTime"] == (START + 7 * DAY).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert events[0]["userIdentity"]["type"] == "AWSService"


def test_other_keys_are_untouched_by_a_deletion(cloud, kms, key_id):
    survivor = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=survivor, Plaintext=b"safe")["CiphertextBlob"]
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    cloud.clock.advance(days=30)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"safe"


def test_a_key_pending_deletion_cannot_be_scheduled_again(kms, key_id):
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    with pytest.raises(kms.exceptions.KMSInvalidStateException):
        kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=30)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["DeletionDate"] == START + 7 * DAY
