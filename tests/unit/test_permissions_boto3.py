"""Permissions enforced on real boto3 calls by IAM users and role sessions, and explained."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.conftest import error_code, error_message

ACCT, OTHER = "111122223333", "444455556666"
TRUST_ROOT = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "sts:AssumeRole"}]})


def _policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.fixture
def people(cloud):
    iam = cloud.client("iam")
    for name in ("keyadmin", "keyuser", "alice"):
        iam.create_user(UserName=name)
    iam.create_role(RoleName="app", AssumeRolePolicyDocument=TRUST_ROOT)
    return iam


@pytest.fixture
def separated_key(cloud, kms, people):
    """The course notes' key policy, with administrators and users as different people."""
    policy = _policy(
        {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "Allow access for Key Administrators", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{ACCT}:user/keyadmin"},
         "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
                    "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
                    "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand"],
         "Resource": "*"},
        {"Sid": "Allow use of the key", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:user/keyuser"},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
         "Resource": "*"},
    )
    return kms.create_key(Policy=policy, Description="separated")["KeyMetadata"]["KeyId"]


def test_role_separation_end_to_end(cloud, separated_key):
    admin = cloud.client("kms", principal=f"arn:aws:iam::{ACCT}:user/keyadmin")
    user = cloud.client("kms", principal=f"arn:aws:iam::{ACCT}:user/keyuser")
    blob = user.encrypt(KeyId=separated_key, Plaintext=b"battle plans")["CiphertextBlob"]
    assert user.decrypt(CiphertextBlob=blob)["Plaintext"] == b"battle plans"
    with pytest.raises(ClientError) as excinfo:
        admin.decrypt(CiphertextBlob=blob)
    assert error_code(excinfo) == "AccessDeniedException"
    assert error_message(excinfo) == (
        f"User: arn:aws:iam::{ACCT}:user/keyadmin is not authorized to perform: kms:Decrypt on resource: "
        f"arn:aws:kms:us-east-1:{ACCT}:key/{separated_key} because no identity-based policy allows the "
        "kms:Decrypt action")
    with pytest.raises(ClientError) as excinfo:
        user.schedule_key_deletion(KeyId=separated_key, PendingWindowInDays=7)
    assert error_code(excinfo) == "AccessDeniedException"
    out = admin.schedule_key_deletion(KeyId=separated_key, PendingWindowInDays=7)
    assert out["KeyState"] == "PendingDeletion"
    admin.cancel_key_deletion(KeyId=separated_key)


def test_explain_says_why_and_agrees_with_the_call(cloud, separated_key):
    decision = cloud.explain(f"arn:aws:iam::{ACCT}:user/keyadmin", "kms:Decrypt", separated_key)
    assert not decision.allowed
    assert "no identity-based policy" in decision.summary
    decision = cloud.explain(f"arn:aws:iam::{ACCT}:user/keyuser", "Decrypt", separated_key)
    assert decision.allowed
    assert [r.label for r in decision.deciding] == ['statement 3 ("Allow use of the key")']


def test_identity_policies_count_only_when_the_key_policy_trusts_the_account(cloud, kms, people):
    people.put_user_policy(UserName="alice", PolicyName="use-keys", PolicyDocument=_policy(
        {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": f"arn:aws:kms:*:{ACCT}:key/*"}))
    alice = cloud.client("kms", principal=f"arn:aws:iam::{ACCT}:user/alice")
    trusting = kms.create_key()["KeyMetadata"]["KeyId"]
    alice.encrypt(KeyId=trusting, Plaintext=b"x")
    untrusting = kms.create_key(Policy=_policy(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:user/keyadmin"}, "Action": "kms:*",
         "Resource": "*"}), BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as excinfo:
        alice.encrypt(KeyId=untrusting, Plaintext=b"x")
    assert error_code(excinfo) == "AccessDeniedException"
    # ...and not even the root user can use that key now.
    with pytest.raises(ClientError):
        kms.describe_key(KeyId=untrusting)


def test_the_lockout_safety_check(kms, people):
    lockout = _policy({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:user/keyadmin"},
                       "Action": "kms:Encrypt", "Resource": "*"})
    with pytest.raises(kms.exceptions.MalformedPolicyDocumentException) as excinfo:
        kms.create_key(Policy=lockout)
    assert "will not allow you to update the key policy in the future" in error_message(excinfo)
    kms.create_key(Policy=lockout, BypassPolicyLockoutSafetyCheck=True)


def test_an_assumed_role_session_uses_its_roles_policies(cloud, kms, people):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    people.put_role_policy(RoleName="app", PolicyName="enc", PolicyDocument=_policy(
        {"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*"}))
    app = cloud.client("kms", principal=f"arn:aws:iam::{ACCT}:role/app")
    app.encrypt(KeyId=key, Plaintext=b"x")
    with pytest.raises(ClientError):
        app.decrypt(CiphertextBlob=kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"])


def test_grants_delegate_use_with_constraints_and_retire(cloud, kms, people):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    app = cloud.client("kms", principal=f"arn:aws:iam::{ACCT}:role/app")
    with pytest.raises(ClientError):
        app.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"tenant": "a"})
    grant = kms.create_grant(KeyId=key, GranteePrincipal=f"arn:aws:iam::{ACCT}:role/app",
                             Operations=["Encrypt", "Decrypt", "RetireGrant"],
                             Constraints={"EncryptionContextEquals": {"tenant": "a"}})
    blob = app.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"tenant": "a"},
                       GrantTokens=[grant["GrantToken"]])["CiphertextBlob"]
    assert app.decrypt(CiphertextBlob=blob, EncryptionContext={"tenant": "a"})["Plaintext"] == b"x"
    with pytest.raises(ClientError) as excinfo:
        app.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"tenant": "b"})
    assert error_code(excinfo) == "AccessDeniedException"
    app.retire_grant(GrantToken=grant["GrantToken"])
    with pytest.raises(ClientError):
        app.decrypt(CiphertextBlob=blob, EncryptionContext={"tenant": "a"})


def test_cross_account_use_needs_both_sides(cloud, kms, people):
    cloud.client("iam", principal=f"arn:aws:iam::{OTHER}:root").create_user(UserName="eve")
    key = kms.create_key(Policy=_policy(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"}, "Action": ["kms:Encrypt", "kms:Decrypt"],
         "Resource": "*"}))["KeyMetadata"]["Arn"]
    eve = cloud.client("kms", principal=f"arn:aws:iam::{OTHER}:user/eve")
    with pytest.raises(ClientError):
        eve.encrypt(KeyId=key, Plaintext=b"x")
    cloud.client("iam", principal=f"arn:aws:iam::{OTHER}:root").put_user_policy(
        UserName="eve", PolicyName="use", PolicyDocument=_policy(
            {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": key}))
    blob = eve.encrypt(KeyId=key, Plaintext=b"shared")["CiphertextBlob"]
    assert eve.decrypt(CiphertextBlob=blob)["Plaintext"] == b"shared"
    with pytest.raises(ClientError):
        eve.schedule_key_deletion(KeyId=key)


def test_denied_calls_are_audited_with_the_caller(cloud, separated_key):
    admin = cloud.client("kms", principal=f"arn:aws:iam::{ACCT}:user/keyadmin")
    with pytest.raises(ClientError):
        admin.encrypt(KeyId=separated_key, Plaintext=b"x")
    event = [e for e in cloud.audit.events if e["eventName"] == "Encrypt"][-1]
    assert event["errorCode"] == "AccessDeniedException"
    assert event["userIdentity"]["type"] == "IAMUser"
    assert event["userIdentity"]["arn"] == f"arn:aws:iam::{ACCT}:user/keyadmin"
    iam_events = [e for e in cloud.audit.events if e["eventSource"] == "iam.amazonaws.com"]
    assert {e["eventName"] for e in iam_events} >= {"CreateUser", "CreateRole"}


def test_a_permission_taken_away_is_gone_at_once(cloud, kms, people):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    people.put_user_policy(UserName="alice", PolicyName="use", PolicyDocument=_policy(
        {"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*"}))
    alice = cloud.client("kms", principal=f"arn:aws:iam::{ACCT}:user/alice")
    alice.encrypt(KeyId=key, Plaintext=b"x")
    alice.encrypt(KeyId=key, Plaintext=b"x")  # a second, identical call (decisions may be remembered)
    people.delete_user_policy(UserName="alice", PolicyName="use")
    with pytest.raises(ClientError):
        alice.encrypt(KeyId=key, Plaintext=b"x")
    people.put_user_policy(UserName="alice", PolicyName="use", PolicyDocument=_policy(
        {"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*"}))
    alice.encrypt(KeyId=key, Plaintext=b"x")
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=_policy(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Deny", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:user/alice"}, "Action": "kms:Encrypt",
         "Resource": "*"}))
    with pytest.raises(ClientError):
        alice.encrypt(KeyId=key, Plaintext=b"x")
    kms.encrypt(KeyId=key, Plaintext=b"x")


def test_policy_validation_rejects_what_aws_rejects(kms, people):
    base = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "kms:*", "Resource": "*"}
    with pytest.raises(kms.exceptions.MalformedPolicyDocumentException) as excinfo:
        kms.create_key(Policy=_policy(dict(base, Condition={"StringSortOfEquals": {"kms:CallerAccount": ACCT}})))
    assert "unknown condition operator" in error_message(excinfo)
    with pytest.raises(kms.exceptions.MalformedPolicyDocumentException) as excinfo:
        kms.create_key(Policy=_policy(base, {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:user/alice"},
                                             "Action": "kms:Decrypt", "Resource": "*", "Condition": {
                                                 "ForAllValues:StringEquals": {"kms:EncryptionContext:dept": "IT"}}}))
    assert "OverlyPermissiveCondition" in error_message(excinfo)


def test_the_course_notes_identity_policy_grants_encrypt_and_decrypt(cloud, kms, people):
    # The notes' example, as valid JSON: with "key/*" (as written, ".../key/" names no key at all).
    people.put_user_policy(UserName="alice", PolicyName="notes", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt"],
                      "Resource": [f"arn:aws:kms:*:{ACCT}:key/*"]}}))
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    alice = cloud.client("kms", principal=f"arn:aws:iam::{ACCT}:user/alice")
    blob = alice.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    assert alice.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"
    with pytest.raises(ClientError):
        alice.generate_data_key(KeyId=key, KeySpec="AES_256")
    people.put_user_policy(UserName="alice", PolicyName="notes", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt"],
                      "Resource": [f"arn:aws:kms:*:{ACCT}:key/"]}}))
    with pytest.raises(ClientError):
        alice.encrypt(KeyId=key, Plaintext=b"x")


def test_iam_and_sts_secrets_never_reach_the_audit_trail(cloud, people):
    keys = people.create_access_key(UserName="alice")["AccessKey"]
    creds = cloud.client("sts").assume_role(RoleArn=f"arn:aws:iam::{ACCT}:role/app", RoleSessionName="s1")["Credentials"]
    text = json.dumps(cloud.audit.events)
    assert keys["SecretAccessKey"] not in text
    assert creds["SecretAccessKey"] not in text and creds["SessionToken"] not in text
    names = [e["eventName"] for e in cloud.audit.events]
    assert "CreateAccessKey" in names and "AssumeRole" in names


def test_access_denied_messages_have_awss_three_shapes(cloud, kms, people):
    key = kms.create_key(Policy=_policy(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Deny", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:user/keyuser"}, "Action": "kms:Encrypt",
         "Resource": "*"}))["KeyMetadata"]["KeyId"]
    arn = f"arn:aws:kms:us-east-1:{ACCT}:key/{key}"
    user = cloud.client("kms", principal=f"arn:aws:iam::{ACCT}:user/keyuser")
    with pytest.raises(ClientError) as excinfo:
        user.encrypt(KeyId=key, Plaintext=b"x")
    assert error_message(excinfo) == (f"User: arn:aws:iam::{ACCT}:user/keyuser is not authorized to perform: "
                                      f"kms:Encrypt on resource: {arn} with an explicit deny in a resource-based policy")
    closed = kms.create_key(Policy=_policy(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:user/keyadmin"}, "Action": "kms:*",
         "Resource": "*"}), BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as excinfo:
        user.describe_key(KeyId=closed)
    assert error_message(excinfo).endswith("because no resource-based policy allows the kms:DescribeKey action")
