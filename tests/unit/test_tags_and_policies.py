"""Tags and key policies (storage and validation; enforcement is the permissions engine's)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.conftest import error_code, error_message


def test_tag_untag_and_list(kms, key_id):
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "team", "TagValue": "red"}, {"TagKey": "env", "TagValue": ""}])
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "team", "TagValue": "blue"}])
    assert kms.list_resource_tags(KeyId=key_id)["Tags"] == [
        {"TagKey": "team", "TagValue": "blue"},
        {"TagKey": "env", "TagValue": ""},
    ]
    kms.untag_resource(KeyId=key_id, TagKeys=["team", "not-there"])
    assert kms.list_resource_tags(KeyId=key_id)["Tags"] == [{"TagKey": "env", "TagValue": ""}]


@pytest.mark.parametrize(
    "tags, message",
    [
        ([{"TagKey": "aws:owner", "TagValue": "x"}], "Tags beginning with aws: are reserved"),
        ([{"TagKey": "a", "TagValue": "1"}, {"TagKey": "a", "TagValue": "2"}], "Duplicate tag keys"),
        ([{"TagKey": f"k{i}", "TagValue": "v"} for i in range(51)], "Too many tags"),
    ],
)
def test_tag_rules_give_tag_exception_and_change_nothing(kms, key_id, tags, message):
    with pytest.raises(ClientError) as excinfo:
        kms.tag_resource(KeyId=key_id, Tags=tags)
    assert (error_code(excinfo), error_message(excinfo)) == ("TagException", message)
    assert kms.list_resource_tags(KeyId=key_id)["Tags"] == []


def test_tag_length_limits_are_validation_errors(kms, key_id):
    with pytest.raises(ClientError) as excinfo:
        kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "k" * 129, "TagValue": "v"}])
    assert error_code(excinfo) == "ValidationException"
    with pytest.raises(ClientError) as excinfo:
        kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "k", "TagValue": "v" * 257}])
    assert error_code(excinfo) == "ValidationException"


def test_list_resource_tags_pages(kms, key_id):
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": f"k{i}", "TagValue": str(i)} for i in range(7)])
    page = kms.list_resource_tags(KeyId=key_id, Limit=3)
    keys = [t["TagKey"] for t in page["Tags"]]
    while page["Truncated"]:
        page = kms.list_resource_tags(KeyId=key_id, Limit=3, Marker=page["NextMarker"])
        keys += [t["TagKey"] for t in page["Tags"]]
    assert keys == [f"k{i}" for i in range(7)]


POLICY = {
    "Version": "2012-10-17",
    "Id": "key-consolepolicy-3",
    "Statement": [
        {
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "Allow use of the key",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:user/iamadmin"},
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
            "Resource": "*",
        },
        {
            "Sid": "Allow attachment of persistent resources",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:user/iamadmin"},
            "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
            "Resource": "*",
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        },
    ],
}


def test_put_and_get_key_policy(cloud, kms, key_id):
    cloud.client("iam").create_user(UserName="iamadmin")  # a key policy may name only principals that exist
    text = json.dumps(POLICY, indent=2)
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=text)
    assert kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"] == text
    assert kms.get_key_policy(KeyId=key_id)["Policy"] == text  # PolicyName is optional


def test_put_key_policy_rejects_malformed_documents_and_keeps_the_old_policy(kms, key_id):
    old = kms.get_key_policy(KeyId=key_id)["Policy"]
    bad = dict(POLICY, Statement=[{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}])
    with pytest.raises(kms.exceptions.MalformedPolicyDocumentException):
        kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(bad))
    assert kms.get_key_policy(KeyId=key_id)["Policy"] == old


def test_policy_characters_are_limited_to_latin_1(kms, key_id):
    with pytest.raises(ClientError) as excinfo:
        kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(POLICY).replace("iamadmin", "iamädmin").replace("ä", "\u0101"))
    assert error_code(excinfo) == "ValidationException"


def test_a_key_has_one_policy_named_default(kms, key_id):
    assert kms.list_key_policies(KeyId=key_id)["PolicyNames"] == ["default"]
    with pytest.raises(kms.exceptions.NotFoundException):
        kms.get_key_policy(KeyId=key_id, PolicyName="other")
    with pytest.raises(ClientError) as excinfo:
        kms.put_key_policy(KeyId=key_id, PolicyName="other", Policy=json.dumps(POLICY))
    assert error_code(excinfo) == "ValidationException"


def test_a_key_policy_naming_a_principal_that_does_not_exist_is_malformed(kms, key_id):
    with pytest.raises(kms.exceptions.MalformedPolicyDocumentException) as excinfo:
        kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(POLICY))
    assert error_message(excinfo) == "Policy contains a statement with one or more invalid principals."
