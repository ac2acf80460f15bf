"""Statement evaluation: principals, actions, resources and condition operators, with reasons."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from kms_teach._policy.evaluation import EvalRequest, evaluate_statement, split_operator, wildcard_match
from kms_teach._policy.document import parse_policy

KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _stmt(**parts):
    statement = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*",
                 "Resource": "*"}
    statement.update(parts)
    statement = {k: v for k, v in statement.items() if v is not None}
    return parse_policy(json.dumps({"Version": "2012-10-17", "Statement": [statement]})).statements[0]


def _req(principal="arn:aws:iam::111122223333:user/alice", kind="IAMUser", account="111122223333",
         action="kms:Encrypt", resource=KEY, role=None, **context):
    return EvalRequest(principal, account, kind, action, resource, dict(context), role)


def _applies(stmt, req, resource_policy=True):
    return evaluate_statement(stmt, req, "key policy", resource_policy=resource_policy)


def test_the_account_root_principal_admits_the_root_user_and_delegates_for_everyone_else():
    stmt = _stmt()
    root = _applies(stmt, _req("arn:aws:iam::111122223333:root", "Root"))
    assert root.applies and root.principal_match == "principal"
    user = _applies(stmt, _req())
    assert user.applies and user.principal_match == "account"
    assert "IAM policies decide" in user.detail
    other = _applies(stmt, _req("arn:aws:iam::444455556666:user/eve", account="444455556666"))
    assert not other.applies and "does not name" in other.detail


def test_a_role_in_the_principal_matches_its_assumed_role_sessions():
    stmt = _stmt(Principal={"AWS": "arn:aws:iam::111122223333:role/app"})
    session = _req("arn:aws:sts::111122223333:assumed-role/app/s1", "AssumedRole",
                   role="arn:aws:iam::111122223333:role/app")
    assert _applies(stmt, session).principal_match == "principal"


def test_wildcard_actions_cover_what_aws_says_they_cover():
    assert wildcard_match("kms:Create*", "kms:CreateGrant", case_insensitive=True)
    assert wildcard_match("kms:Create*", "kms:CreateAlias", case_insensitive=True)
    assert not wildcard_match("kms:Delete*", "kms:ScheduleKeyDeletion", case_insensitive=True)
    assert wildcard_match("kms:ReEncrypt*", "kms:ReEncryptFrom", case_insensitive=True)
    assert wildcard_match("KMS:encrypt", "kms:Encrypt", case_insensitive=True)
    stmt = _stmt(Action=["kms:Create*", "kms:Describe*"])
    assert _applies(stmt, _req(action="kms:CreateGrant")).applies
    assert not _applies(stmt, _req(action="kms:Decrypt")).applies


def test_not_action_and_not_resource():
    stmt = _stmt(Action=None, NotAction="kms:Decrypt")
    assert _applies(stmt, _req(action="kms:Encrypt")).applies
    assert not _applies(stmt, _req(action="kms:Decrypt")).applies
    stmt = _stmt(Resource=None, NotResource="arn:aws:kms:*:111122223333:key/1234*")
    assert not _applies(stmt, _req()).applies


def test_resource_arns_match_part_by_part():
    stmt = _stmt(Resource="arn:aws:kms:*:111122223333:key/*")
    assert _applies(stmt, _req()).applies
    assert not _applies(stmt, _req(resource=KEY.replace("111122223333", "444455556666"))).applies


@pytest.mark.parametrize(
    "condition, context, expected",
    [
        ({"StringEquals": {"kms:EncryptionContext:Department": "IT"}}, {"kms:EncryptionContext:Department": "IT"}, True),
        ({"StringEquals": {"kms:EncryptionContext:Department": "IT"}}, {"kms:EncryptionContext:Department": "HR"}, False),
        ({"StringEquals": {"kms:EncryptionContext:Department": "IT"}}, {}, False),
        ({"StringEquals": {"kms:EncryptionContext:Department": ["IT", "HR"]}}, {"kms:EncryptionContext:Department": "HR"}, True),
        ({"StringNotEquals": {"kms:CallerAccount": "111122223333"}}, {}, True),
        ({"StringEqualsIfExists": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}, {}, True),
        ({"StringLike": {"kms:ViaService": "s3.*.amazonaws.com"}}, {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}, True),
        ({"Bool": {"kms:GrantIsForAWSResource": "true"}}, {"kms:GrantIsForAWSResource": True}, True),
        ({"Bool": {"kms:GrantIsForAWSResource": True}}, {"kms:GrantIsForAWSResource": False}, False),
        ({"Null": {"kms:EncryptionContextKeys": "false"}}, {"kms:EncryptionContextKeys": ["a"]}, True),
        ({"Null": {"kms:EncryptionContextKeys": "false"}}, {}, False),
        ({"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "Department"}}, {"kms:EncryptionContextKeys": ["Project", "Department"]}, True),
        ({"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "Department"}}, {}, False),
        ({"ForAllValues:StringEquals": {"kms:GrantOperations": ["Encrypt", "Decrypt"]}}, {"kms:GrantOperations": ["Decrypt"]}, True),
        ({"ForAllValues:StringEquals": {"kms:GrantOperations": ["Encrypt", "Decrypt"]}}, {"kms:GrantOperations": ["Decrypt", "CreateGrant"]}, False),
        ({"ForAllValues:StringEquals": {"kms:GrantOperations": ["Encrypt"]}}, {}, True),
        ({"NumericLessThanEquals": {"kms:RotationPeriodInDays": "180"}}, {"kms:RotationPeriodInDays": 90}, True),
        ({"NumericGreaterThanEquals": {"kms:ScheduleKeyDeletionPendingWindowInDays": "14"}}, {"kms:ScheduleKeyDeletionPendingWindowInDays": 7}, False),
        ({"DateLessThan": {"aws:CurrentTime": "2027-01-01T00:00:00Z"}}, {"aws:CurrentTime": dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc)}, True),
        ({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/app-*"}}, {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/app-reader"}, True),
        ({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/app-*"}}, {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/app-reader"}, False),
        ({"StringEquals": {"aws:ResourceTag/team": "red"}}, {"aws:ResourceTag/team": "red"}, True),
        ({"StringEquals": {"kms:encryptioncontext:Department": "IT"}}, {"kms:EncryptionContext:Department": "IT"}, True),
        ({"StringEquals": {"kms:EncryptionContext:department": "IT"}}, {"kms:EncryptionContext:Department": "IT"}, False),
        ({"StringEquals": {"kms:CallerAccount": "111122223333"}, "Bool": {"aws:SecureTransport": "true"}}, {"kms:CallerAccount": "111122223333"}, False),
    ],
)
def test_condition_operators(condition, context, expected):
    result = _applies(_stmt(Condition=condition), _req(**{}) if not context else EvalRequest(
        "arn:aws:iam::111122223333:user/alice", "111122223333", "IAMUser", "kms:Encrypt", KEY, context))
    assert result.applies is expected, result.detail
    if not expected:
        assert result.detail.startswith("condition not met")


def test_operator_names_split_into_qualifier_base_and_if_exists():
    assert split_operator("ForAnyValue:StringLikeIfExists") == ("ForAnyValue", "StringLike", True)
    assert split_operator("Null") == (None, "Null", False)
    with pytest.raises(KeyError):
        split_operator("StringSortOf")


def test_identity_policies_have_no_principal_to_match():
    stmt = parse_policy(json.dumps({"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": ["arn:aws:kms:*:111122223333:key/*"]}}),
        key_policy=False).statements[0]
    assert evaluate_statement(stmt, _req(), "identity policy", resource_policy=False).applies
    assert not evaluate_statement(stmt, _req(action="kms:ScheduleKeyDeletion"), "identity policy",
                                  resource_policy=False).applies
