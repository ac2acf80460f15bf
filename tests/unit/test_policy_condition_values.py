"""A condition value its operator cannot evaluate is refused when the policy is stored (issue 15).

Stored, a key policy whose Date condition holds 10^17 failed every call evaluated against it with a 500:
one policy disabled a key. Now KMS answers MalformedPolicyDocumentException and IAM MalformedPolicyDocument.
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

import kms_teach
from kms_teach._policy import evaluation


def _policy(operator: str, key: str, value, *, principal=True) -> str:
    stmt = {"Effect": "Allow", "Action": "kms:*", "Resource": "*",
            "Condition": {operator: {key: value}}}
    if principal:
        stmt["Principal"] = {"AWS": "arn:aws:iam::111122223333:root"}
    root = {"Sid": "root", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Action": "kms:*", "Resource": "*"}
    return json.dumps({"Version": "2012-10-17", "Statement": [root, stmt] if principal else [stmt]})


BAD = [
    ("DateLessThan", "aws:CurrentTime", "100000000000000000"),  # an epoch past year 9999
    ("DateGreaterThan", "aws:CurrentTime", "1e400"),
    ("DateEquals", "aws:CurrentTime", "not a date"),
    ("DateLessThanIfExists", "aws:CurrentTime", "99999-01-01T00:00:00Z"),
    ("ForAnyValue:DateLessThan", "aws:CurrentTime", ["2030-01-01T00:00:00Z", "10000-01-01"]),
    ("NumericLessThan", "aws:MultiFactorAuthAge", "ten"),
    ("NumericEquals", "aws:MultiFactorAuthAge", "NaN"),
    ("NumericGreaterThan", "aws:MultiFactorAuthAge", "1e400"),
    ("IpAddress", "aws:SourceIp", "999.1.1.1"),
    ("NotIpAddress", "aws:SourceIp", "10.0.0.0/99"),
    ("Null", "kms:GrantConstraintType", "maybe"),
]
GOOD = [
    ("DateLessThan", "aws:CurrentTime", "2099-01-01T00:00:00Z"),
    ("DateGreaterThan", "aws:CurrentTime", "1700000000"),
    ("NumericLessThan", "aws:MultiFactorAuthAge", "3600"),
    ("IpAddress", "aws:SourceIp", "127.0.0.0/8"),
    ("Null", "kms:GrantConstraintType", "true"),
]


@pytest.fixture
def cloud():
    c = kms_teach.Cloud()
    yield c
    c.close()


@pytest.mark.parametrize("operator, key, value", BAD)
def test_a_key_policy_with_an_unevaluable_condition_value_is_refused(cloud, operator, key, value):
    kms = cloud.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    for call in (lambda: kms.put_key_policy(KeyId=key_id, Policy=_policy(operator, key, value)),
                 lambda: kms.create_key(Policy=_policy(operator, key, value))):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert excinfo.value.response["Error"]["Code"] == "MalformedPolicyDocumentException"
        assert key in excinfo.value.response["Error"]["Message"]
    # The key still answers: no policy that would fail every call was stored.
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"


@pytest.mark.parametrize("operator, key, value", BAD)
def test_an_identity_policy_with_an_unevaluable_condition_value_is_refused(cloud, operator, key, value):
    iam = cloud.client("iam", region_name="us-east-1")
    iam.create_user(UserName="u")
    with pytest.raises(ClientError) as excinfo:
        iam.put_user_policy(UserName="u", PolicyName="p", PolicyDocument=_policy(operator, key, value, principal=False))
    assert excinfo.value.response["Error"]["Code"] == "MalformedPolicyDocument"
    with pytest.raises(ClientError) as excinfo:
        iam.create_policy(PolicyName="p", PolicyDocument=_policy(operator, key, value, principal=False))
    assert excinfo.value.response["Error"]["Code"] == "MalformedPolicyDocument"


@pytest.mark.parametrize("operator, key, value", GOOD)
def test_evaluable_condition_values_are_still_taken(cloud, operator, key, value):
    kms = cloud.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.put_key_policy(KeyId=key_id, Policy=_policy(operator, key, value))
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["Enabled"]


def test_evaluating_a_date_past_the_calendar_never_raises():
    # A request value or a policy kept by an older version: the comparison is false, not an exception.
    assert evaluation._to_date("100000000000000000") is None
    assert evaluation._to_date("1e400") is None
    assert evaluation._to_number("NaN") is None
    cmp = evaluation._POSITIVE["DateLessThan"]
    assert cmp("2026-01-01T00:00:00Z", "100000000000000000") is False
