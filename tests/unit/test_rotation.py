"""Automatic and on-demand rotation: new backing keys, every old one kept."""

from __future__ import annotations

import datetime as dt

import pytest
from botocore.exceptions import ClientError, ParamValidationError

from tests.conftest import START, error_code, error_message

DAY = dt.timedelta(days=1)


def test_rotation_is_off_by_default_for_customer_managed_keys(kms, key_id):
    status = kms.get_key_rotation_status(KeyId=key_id)
    assert status["KeyRotationEnabled"] is False
    assert "NextRotationDate" not in status and "RotationPeriodInDays" not in status


def test_enable_key_rotation_defaults_to_365_days(kms, key_id):
    kms.enable_key_rotation(KeyId=key_id)
    status = kms.get_key_rotation_status(KeyId=key_id)
    assert status["KeyRotationEnabled"] is True
    assert status["RotationPeriodInDays"] == 365
    assert status["NextRotationDate"] == START + 365 * DAY
    assert status["KeyId"].endswith(key_id)


@pytest.mark.parametrize("period", [90, 2560])
def test_rotation_period_accepts_90_to_2560_days(kms, key_id, period):
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=period)
    assert kms.get_key_rotation_status(KeyId=key_id)["RotationPeriodInDays"] == period


def test_rotation_period_outside_90_to_2560_is_refused(kms, key_id):
    with pytest.raises(ParamValidationError):
        kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=89)
    with pytest.raises(ClientError) as excinfo:
        kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=2561)
    assert error_code(excinfo) == "ValidationException"


def test_automatic_rotation_happens_as_the_clock_passes_the_date(cloud, kms, key_id):
    first = kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
    cloud.clock.advance(days=89)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"] == first
    cloud.clock.advance(days=1)
    second = kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]
    assert second != first
    rotations = kms.list_key_rotations(KeyId=key_id)["Rotations"]
    assert [(r["RotationType"], r["RotationDate"]) for r in rotations] == [("AUTOMATIC", START + 90 * DAY)]
    assert kms.get_key_rotation_status(KeyId=key_id)["NextRotationDate"] == START + 180 * DAY


def test_advancing_years_rotates_once_per_period_in_order(cloud, kms, key_id):
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=365)
    cloud.clock.advance(days=365 * 3 + 1)
    dates = [r["RotationDate"] for r in kms.list_key_rotations(KeyId=key_id)["Rotations"]]
    assert dates == [START + 365 * n * DAY for n in (1, 2, 3)]


def test_old_ciphertexts_still_decrypt_after_rotation_with_their_own_backing_key(cloud, kms, key_id):
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
    blobs = []
    for year in range(4):
        out = kms.encrypt(KeyId=key_id, Plaintext=f"message {year}".encode())
        material = kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]
        blobs.append((out["CiphertextBlob"], material, f"message {year}".encode()))
        cloud.clock.advance(days=91)
    materials = {m for _, m, _ in blobs}
    assert len(materials) == 4
    for blob, material, plaintext in blobs:
        back = kms.decrypt(CiphertextBlob=blob)
        assert back["Plaintext"] == plaintext
        assert back["KeyMaterialId"] == material


def test_new_ciphertexts_use_the_newest_backing_key(cloud, kms, key_id):
    kms.rotate_key_on_demand(KeyId=key_id)
    current = kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["KeyMaterialId"] == current


def test_a_disabled_key_does_not_rotate_and_rotates_at_once_when_enabled_late(cloud, kms, key_id):
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
    kms.disable_key(KeyId=key_id)
    cloud.clock.advance(days=200)
    assert kms.list_key_rotations(KeyId=key_id)["Rotations"] == []
    kms.enable_key(KeyId=key_id)
    [rotation] = kms.list_key_rotations(KeyId=key_id)["Rotations"]
    assert rotation["RotationDate"] == START + 200 * DAY
    assert kms.get_key_rotation_status(KeyId=key_id)["NextRotationDate"] == START + 290 * DAY


def test_disable_key_rotation_stops_the_schedule(cloud, kms, key_id):
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
    kms.disable_key_rotation(KeyId=key_id)
    cloud.clock.advance(days=400)
    assert kms.list_key_rotations(KeyId=key_id)["Rotations"] == []


def test_a_key_pending_deletion_reports_rotation_off_and_does_not_rotate(cloud, kms, key_id):
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=30)
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is False
    kms.cancel_key_deletion(KeyId=key_id)
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True


def test_rotate_key_on_demand_adds_a_backing_key_without_moving_the_schedule(kms, key_id):
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=730)
    before = kms.get_key_rotation_status(KeyId=key_id)["NextRotationDate"]
    out = kms.rotate_key_on_demand(KeyId=key_id)
    assert out["KeyId"] == key_id
    [rotation] = kms.list_key_rotations(KeyId=key_id)["Rotations"]
    assert rotation["RotationType"] == "ON_DEMAND"
    assert rotation["KeyMaterialState"] == "CURRENT"
    assert kms.get_key_rotation_status(KeyId=key_id)["NextRotationDate"] == before


def test_rotate_key_on_demand_at_most_25_times(kms, key_id):
    for _ in range(25):
        kms.rotate_key_on_demand(KeyId=key_id)
    with pytest.raises(kms.exceptions.LimitExceededException) as excinfo:
        kms.rotate_key_on_demand(KeyId=key_id)
    arn = kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
    assert error_message(excinfo) == (
        "The on-demand rotations limit has been reached for the given keyId. "
        f"No more on-demand rotations can be performed for this key: {arn}"
    )
    assert len(kms.list_key_rotations(KeyId=key_id)["Rotations"]) == 25


def test_rotate_on_demand_conflicts_with_an_automatic_rotation_due_within_20_minutes(cloud, kms, key_id):
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
    cloud.clock.advance(days=90, minutes=-10)
    with pytest.raises(kms.exceptions.ConflictException):
        kms.rotate_key_on_demand(KeyId=key_id)


def test_list_key_rotations_all_key_material_includes_the_original(kms, key_id):
    kms.rotate_key_on_demand(KeyId=key_id)
    every = kms.list_key_rotations(KeyId=key_id, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
    assert [r["KeyMaterialState"] for r in every] == ["NON_CURRENT", "CURRENT"]
    assert "RotationType" not in every[0]
    # botocore's model: RotationDate "is not present for the first key material".
    assert "RotationDate" not in every[0]


def test_list_key_rotations_pages(kms, key_id):
    for _ in range(5):
        kms.rotate_key_on_demand(KeyId=key_id)
    page = kms.list_key_rotations(KeyId=key_id, Limit=2)
    assert page["Truncated"] and len(page["Rotations"]) == 2
    seen = [r["KeyMaterialId"] for p in kms.get_paginator("list_key_rotations").paginate(KeyId=key_id, PaginationConfig={"PageSize": 2}) for r in p["Rotations"]]
    assert len(seen) == len(set(seen)) == 5


def test_rotation_does_not_change_the_key_id_arn_or_policy(kms, key_id):
    before = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    policy = kms.get_key_policy(KeyId=key_id)["Policy"]
    kms.rotate_key_on_demand(KeyId=key_id)
    after = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert (after["KeyId"], after["Arn"], after["CreationDate"]) == (before["KeyId"], before["Arn"], before["CreationDate"])
    assert kms.get_key_policy(KeyId=key_id)["Policy"] == policy

