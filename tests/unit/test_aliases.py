"""Aliases: friendly names per account and Region, with AWS's rules."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from kms_teach._services.kms import AWS_MANAGED_ALIASES
from tests.conftest import error_code, error_message


def _customer_aliases(kms, **kwargs):
    return [a for a in kms.list_aliases(**kwargs)["Aliases"] if not a["AliasName"].startswith("alias/aws/")]


def test_create_alias_and_list_it(kms, key_id, clock):
    kms.create_alias(AliasName="alias/catrobot", TargetKeyId=key_id)
    [entry] = _customer_aliases(kms)
    assert entry["AliasName"] == "alias/catrobot"
    assert entry["AliasArn"] == "arn:aws:kms:us-east-1:111122223333:alias/catrobot"
    assert entry["TargetKeyId"] == key_id
    assert entry["CreationDate"] == entry["LastUpdatedDate"] == clock.now()


def test_create_alias_accepts_a_key_arn_as_target(kms, key_id):
    arn = kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName="alias/by-arn", TargetKeyId=arn)
    assert kms.describe_key(KeyId="alias/by-arn")["KeyMetadata"]["KeyId"] == key_id


def test_an_alias_name_must_start_with_alias_slash(kms, key_id):
    with pytest.raises(ClientError) as excinfo:
        kms.create_alias(AliasName="catrobot", TargetKeyId=key_id)
    assert error_code(excinfo) == "ValidationException"
    assert error_message(excinfo).startswith('Alias must start with the prefix "alias/".')


def test_alias_names_may_only_use_the_documented_characters(kms, key_id):
    with pytest.raises(ClientError) as excinfo:
        kms.create_alias(AliasName="alias/cat robot!", TargetKeyId=key_id)
    assert error_code(excinfo) == "ValidationException"


@pytest.mark.parametrize("name", ["alias/aws/s3", "alias/aws/mine"])
def test_the_alias_aws_prefix_is_reserved_for_aws_managed_keys(kms, key_id, name):
    with pytest.raises(ClientError) as excinfo:
        kms.create_alias(AliasName=name, TargetKeyId=key_id)
    assert error_code(excinfo) == "NotAuthorizedException"


def test_an_alias_name_is_unique_in_a_region(kms, key_id):
    kms.create_alias(AliasName="alias/catrobot", TargetKeyId=key_id)
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(kms.exceptions.AlreadyExistsException):
        kms.create_alias(AliasName="alias/catrobot", TargetKeyId=other)


def test_aliases_are_case_sensitive(kms, key_id):
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/Cat", TargetKeyId=key_id)
    kms.create_alias(AliasName="alias/cat", TargetKeyId=other)
    assert kms.describe_key(KeyId="alias/Cat")["KeyMetadata"]["KeyId"] == key_id
    assert kms.describe_key(KeyId="alias/cat")["KeyMetadata"]["KeyId"] == other


def test_an_alias_cannot_point_at_an_alias(kms, key_id):
    kms.create_alias(AliasName="alias/first", TargetKeyId=key_id)
    with pytest.raises(kms.exceptions.NotFoundException):
        kms.create_alias(AliasName="alias/second", TargetKeyId="alias/first")


def test_a_key_has_at_most_50_aliases(kms, key_id):
    for i in range(50):
        kms.create_alias(AliasName=f"alias/n{i}", TargetKeyId=key_id)
    with pytest.raises(kms.exceptions.LimitExceededException):
        kms.create_alias(AliasName="alias/n50", TargetKeyId=key_id)
    assert len(_customer_aliases(kms, KeyId=key_id, Limit=100)) == 50


def test_update_alias_repoints_it_so_callers_need_not_change(kms, key_id, clock):
    kms.create_alias(AliasName="alias/app", TargetKeyId=key_id)
    new = kms.create_key()["KeyMetadata"]["KeyId"]
    clock.advance(days=1)
    kms.update_alias(AliasName="alias/app", TargetKeyId=new)
    assert kms.encrypt(KeyId="alias/app", Plaintext=b"x")["KeyId"].endswith(new)
    [entry] = _customer_aliases(kms)
    assert entry["TargetKeyId"] == new
    assert entry["LastUpdatedDate"] > entry["CreationDate"]


def test_update_alias_of_a_missing_alias_is_not_found(kms, key_id):
    with pytest.raises(kms.exceptions.NotFoundException) as excinfo:
        kms.update_alias(AliasName="alias/nope", TargetKeyId=key_id)
    assert error_message(excinfo) == "Alias arn:aws:kms:us-east-1:111122223333:alias/nope is not found."


def test_update_alias_works_when_the_old_key_is_pending_deletion(kms, key_id):
    kms.create_alias(AliasName="alias/app", TargetKeyId=key_id)
    kms.schedule_key_deletion(KeyId=key_id)
    new = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.update_alias(AliasName="alias/app", TargetKeyId=new)
    assert kms.describe_key(KeyId="alias/app")["KeyMetadata"]["KeyId"] == new


def test_delete_alias_leaves_the_key(kms, key_id):
    kms.create_alias(AliasName="alias/app", TargetKeyId=key_id)
    kms.delete_alias(AliasName="alias/app")
    assert _customer_aliases(kms) == []
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    with pytest.raises(kms.exceptions.NotFoundException):
        kms.delete_alias(AliasName="alias/app")


def test_aliases_never_appear_in_describe_key(kms, key_id):
    kms.create_alias(AliasName="alias/app", TargetKeyId=key_id)
    assert "alias/app" not in repr(kms.describe_key(KeyId=key_id)["KeyMetadata"])


def test_list_aliases_shows_aws_managed_aliases_without_a_target_until_used(kms):
    listed = {a["AliasName"]: a for a in kms.list_aliases(Limit=100)["Aliases"]}
    for name in AWS_MANAGED_ALIASES:
        assert name in listed and "TargetKeyId" not in listed[name]


def test_list_aliases_for_one_key_pages(kms, key_id):
    for i in range(5):
        kms.create_alias(AliasName=f"alias/p{i}", TargetKeyId=key_id)
    first = kms.list_aliases(KeyId=key_id, Limit=2)
    assert first["Truncated"] and len(first["Aliases"]) == 2
    names = [a["AliasName"] for a in first["Aliases"]]
    marker = first["NextMarker"]
    while marker:
        page = kms.list_aliases(KeyId=key_id, Limit=2, Marker=marker)
        names += [a["AliasName"] for a in page["Aliases"]]
        marker = page.get("NextMarker")
    assert names == [f"alias/p{i}" for i in range(5)]


def test_list_aliases_takes_a_key_id_not_an_alias(kms, key_id):
    kms.create_alias(AliasName="alias/app", TargetKeyId=key_id)
    with pytest.raises(kms.exceptions.NotFoundException):
        kms.list_aliases(KeyId="alias/app")


def test_aliases_are_per_region(cloud, kms, key_id):
    kms.create_alias(AliasName="alias/catrobot", TargetKeyId=key_id)
    eu = cloud.client("kms", region_name="eu-west-1")
    with pytest.raises(eu.exceptions.NotFoundException):
        eu.describe_key(KeyId="alias/catrobot")
    eu_key = eu.create_key()["KeyMetadata"]["KeyId"]
    eu.create_alias(AliasName="alias/catrobot", TargetKeyId=eu_key)  # same name, other Region: fine
    assert eu.describe_key(KeyId="alias/catrobot")["KeyMetadata"]["KeyId"] == eu_key
    assert kms.describe_key(KeyId="alias/catrobot")["KeyMetadata"]["KeyId"] == key_id


@pytest.mark.parametrize("name", ["alias/my:alias", "alias/:", "alias/a:b/c"])
def test_an_alias_name_with_a_colon_is_refused(kms, key_id, name):
    # botocore's pattern admits ':', the AliasName documentation does not, and AWS refuses it.
    with pytest.raises(ClientError) as excinfo:
        kms.create_alias(AliasName=name, TargetKeyId=key_id)
    assert error_code(excinfo) == "ValidationException"
    assert error_message(excinfo) == f"{name} contains invalid characters for an alias"
    assert _customer_aliases(kms) == []
