"""NotPrincipal in a Deny: a caller is exempt only when its whole chain is named.

IAM User Guide, "AWS JSON policy elements: NotPrincipal"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html): AWS may
check the account first, then the user (for a role session: the account, the role, then the session), so
NotPrincipal must name the account as well as the not-denied principal. Naming the account alone exempts
only its root user; naming a user without its account exempts nobody of that account.
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from kms_teach import Clock, Cloud
from kms_teach._policy.document import parse_policy
from kms_teach._policy.evaluation import EvalRequest, evaluate_statement

ACCT = "111122223333"
ROOT = f"arn:aws:iam::{ACCT}:root"
ALICE = f"arn:aws:iam::{ACCT}:user/alice"
BOB = f"arn:aws:iam::{ACCT}:user/bob"
ROLE = f"arn:aws:iam::{ACCT}:role/app"
SESSION = f"arn:aws:sts::{ACCT}:assumed-role/app/run-1"
KEY = f"arn:aws:kms:us-east-1:{ACCT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _deny_all_but(*names: str):
    doc = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Only them", "Effect": "Deny", "NotPrincipal": {"AWS": list(names)}, "Action": "kms:*",
         "Resource": "*"}]}
    return parse_policy(json.dumps(doc)).statements[0]


def _req(arn: str, kind: str, role_arn: str | None = None, account: str = ACCT) -> EvalRequest:
    return EvalRequest(arn, account, kind, "kms:Decrypt", KEY, role_arn=role_arn)


ROOT_REQ = _req(ROOT, "Root")
ALICE_REQ = _req(ALICE, "IAMUser")
BOB_REQ = _req(BOB, "IAMUser")
SESSION_REQ = _req(SESSION, "AssumedRole", role_arn=ROLE)


@pytest.mark.parametrize("names, req, denied", [
    # The user alone: AWS checks the account first, and the account is not exempt.
    ((ALICE,), ALICE_REQ, True),
    ((ALICE,), BOB_REQ, True),
    ((ALICE,), ROOT_REQ, True),
    # The user and the account: the user is exempt, the account's other principals are not.
    ((ALICE, ROOT), ALICE_REQ, False),
    ((ALICE, ROOT), BOB_REQ, True),
    ((ALICE, ROOT), ROOT_REQ, False),
    ((ALICE, ACCT), ALICE_REQ, False),  # the account named by its ID
    # The account alone: only its root user is exempt.
    ((ROOT,), ROOT_REQ, False),
    ((ROOT,), ALICE_REQ, True),
    ((ACCT,), ALICE_REQ, True),
    # A role session: the account, the role and the session must all be named.
    ((SESSION, ROLE, ROOT), SESSION_REQ, False),
    ((ROLE, ROOT), SESSION_REQ, True),
    ((SESSION, ROOT), SESSION_REQ, True),
    ((SESSION, ROLE), SESSION_REQ, True),
    ((ROOT,), SESSION_REQ, True),
    # Another account's principal is never exempted by naming this account's.
    ((ALICE, ROOT), _req("arn:aws:iam::444455556666:user/alice", "IAMUser", account="444455556666"), True),
])
def test_a_deny_exempts_only_a_caller_whose_whole_chain_it_names(names, req, denied):
    result = evaluate_statement(_deny_all_but(*names), req, "key policy", resource_policy=True)
    assert result.applies is denied, result.detail


def test_the_reason_says_what_of_the_chain_is_missing():
    alone = evaluate_statement(_deny_all_but(ALICE), ALICE_REQ, "key policy", resource_policy=True)
    assert alone.applies
    assert f"does not name the account {ACCT}" in alone.detail
    session = evaluate_statement(_deny_all_but(SESSION, ROOT), SESSION_REQ, "key policy", resource_policy=True)
    assert f"its NotPrincipal does not name the role {ROLE}: AWS exempts" in session.detail
    exempt = evaluate_statement(_deny_all_but(ALICE, ROOT), ALICE_REQ, "key policy", resource_policy=True)
    assert not exempt.applies and "exempt" in exempt.detail
    # A caller the NotPrincipal names nothing of is simply one of the others: no chain note.
    other = evaluate_statement(_deny_all_but(ALICE, ROOT), _req(
        "arn:aws:iam::444455556666:user/eve", "IAMUser", account="444455556666"), "key policy", resource_policy=True)
    assert other.applies and "does not name" not in other.detail


# --- Through boto3: a key policy stored with KMS, the calls made as each principal -------------------------


@pytest.fixture()
def cloud():
    import datetime as dt

    cloud = Cloud(clock=Clock(dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc), frozen=True), seed=3,
                  account_id=ACCT)
    iam = cloud.client("iam")
    kms_all = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]})
    for name in ("alice", "bob"):
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="kms", PolicyDocument=kms_all)
    return cloud


def _key(cloud, *exempt: str) -> str:
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*",
         "Resource": "*"},
        {"Sid": "Only them", "Effect": "Deny", "NotPrincipal": {"AWS": list(exempt)}, "Action": "kms:Encrypt",
         "Resource": "*"}]}
    return cloud.client("kms").create_key(Policy=json.dumps(policy), BypassPolicyLockoutSafetyCheck=True)[
        "KeyMetadata"]["KeyId"]


def _may_encrypt(cloud, who: str | None, key_id: str) -> bool:
    try:
        cloud.client("kms", principal=who).encrypt(KeyId=key_id, Plaintext=b"x")
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "AccessDeniedException"
        return False
    return True


def test_boto3_the_user_alone_in_not_principal_is_denied_too(cloud):
    key_id = _key(cloud, ALICE)
    assert not _may_encrypt(cloud, ALICE, key_id)
    assert not _may_encrypt(cloud, BOB, key_id)
    assert not _may_encrypt(cloud, None, key_id)
    why = cloud.explain(ALICE, "kms:Encrypt", key_id)
    assert not why.allowed and f"does not name the account {ACCT}" in why.explain()


def test_boto3_the_user_and_the_account_exempt_the_user_and_deny_the_others(cloud):
    key_id = _key(cloud, ALICE, ROOT)
    assert _may_encrypt(cloud, ALICE, key_id)
    assert not _may_encrypt(cloud, BOB, key_id)
    assert _may_encrypt(cloud, None, key_id)  # the root user: its chain is the account alone
    assert cloud.explain(ALICE, "kms:Encrypt", key_id).allowed
    why = cloud.explain(BOB, "kms:Encrypt", key_id)
    assert not why.allowed and f"does not name {BOB}" in why.explain()


def test_boto3_the_account_alone_exempts_only_the_root_user(cloud):
    key_id = _key(cloud, ROOT)
    assert not _may_encrypt(cloud, ALICE, key_id)
    assert not _may_encrypt(cloud, BOB, key_id)
    assert _may_encrypt(cloud, None, key_id)
    assert not cloud.explain(ALICE, "kms:Encrypt", key_id).allowed


def test_boto3_a_role_session_needs_the_account_the_role_and_the_session(cloud):
    iam = cloud.client("iam")
    iam.create_role(RoleName="app", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "sts:AssumeRole"}]}))
    iam.put_role_policy(RoleName="app", PolicyName="kms", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}))
    session = cloud.client("sts", principal=ROLE).get_caller_identity()["Arn"]
    assert session.startswith(f"arn:aws:sts::{ACCT}:assumed-role/app/")
    assert not _may_encrypt(cloud, ROLE, _key(cloud, ROLE, ROOT))
    assert not _may_encrypt(cloud, ROLE, _key(cloud, session, ROOT))
    assert _may_encrypt(cloud, ROLE, _key(cloud, session, ROLE, ROOT))
