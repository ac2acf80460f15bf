"""The permissions engine, table-driven against AWS's documented outcomes, plus properties.

Decisions are asked of ``Permissions.decide`` directly, with identity policies
supplied by a small stand-in for IAM, so every case states exactly which
policies exist. (Through-boto3 enforcement with real IAM users and roles is in
test_permissions_boto3.py.)
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kms_teach
from kms_teach._policy.authz import Permissions
from kms_teach._services.base import RequestContext
from kms_teach._model import Principal

ACCT, OTHER = "111122223333", "444455556666"
START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def user(name, account=ACCT):
    return Principal(f"arn:aws:iam::{account}:user/{name}", account, "IAMUser", name)


def role_session(name, account=ACCT):
    return Principal(f"arn:aws:sts::{account}:assumed-role/{name}/s", account, "AssumedRole", f"{name}/s",
                     role_arn=f"arn:aws:iam::{account}:role/{name}")


ROOT = Principal.root(ACCT)


class FakeIAM:
    def __init__(self, policies=None):
        self.policies = policies or {}

    def identity_policies(self, principal):
        key = principal.role_arn or principal.arn
        return [(f"identity policy {i} of {key}", json.dumps(doc)) for i, doc in enumerate(self.policies.get(key, []))]


def allow(actions, resource="*", **extra):
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource, **extra}]}


def deny(actions, resource="*"):
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": actions, "Resource": resource}]}


def key_policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


TRUST_ACCOUNT = {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
                 "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "kms:*", "Resource": "*"}

# The course notes' example key policy, with separate administrator and user identities.
ADMIN_ACTIONS = ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*",
                 "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
                 "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand"]
NOTES_POLICY = key_policy(
    TRUST_ACCOUNT,
    {"Sid": "Allow access for Key Administrators", "Effect": "Allow",
     "Principal": {"AWS": f"arn:aws:iam::{ACCT}:user/keyadmin"}, "Action": ADMIN_ACTIONS, "Resource": "*"},
    {"Sid": "Allow use of the key", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:user/keyuser"},
     "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
     "Resource": "*"},
    {"Sid": "Allow attachment of persistent resources", "Effect": "Allow",
     "Principal": {"AWS": f"arn:aws:iam::{ACCT}:user/keyuser"},
     "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], "Resource": "*",
     "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}},
)


TRUST_ROOT = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "sts:AssumeRole"}]})


def _people(cloud):
    """The IAM users and roles the cases name (key policies and grants may name only principals that exist)."""
    iam = cloud.client("iam")
    for name in ("alice", "bob", "keyadmin", "keyuser", "hr"):
        iam.create_user(UserName=name)
    for name in ("app", "ebs"):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_ROOT)
    cloud.client("iam", principal=f"arn:aws:iam::{OTHER}:root").create_user(UserName="eve")


@pytest.fixture
def env():
    cloud = kms_teach.Cloud(clock=kms_teach.Clock(START, frozen=True), seed=3)
    _people(cloud)
    kms = cloud.client("kms")

    def make_key(policy=None):
        kwargs = {"Policy": policy, "BypassPolicyLockoutSafetyCheck": True} if policy else {}
        key_id = kms.create_key(**kwargs)["KeyMetadata"]["KeyId"]
        return cloud.kms._regions[(ACCT, "us-east-1")].keys[key_id]

    return cloud, make_key


def decide(cloud, principal, action, key, policies=None, request=None, via=None):
    engine = Permissions(cloud.kms, FakeIAM(policies))
    return engine.decide(principal, action, key, request or {}, via_service=via)


# --------------------------------------------------------------------------- the table

CASES = [
    # (name, key policy, identity policies {arn: [docs]}, principal, action, expected, summary fragment)
    ("default policy: root may do anything", None, {}, ROOT, "kms:ScheduleKeyDeletion", True, "key policy allows"),
    ("default policy: a user with no identity policy is denied", None, {}, user("alice"), "kms:Encrypt", False,
     "no identity-based policy"),
    ("default policy: an identity policy grants a user", None,
     {user("alice").arn: [allow(["kms:Encrypt", "kms:Decrypt"])]}, user("alice"), "kms:Decrypt", True,
     "trusts the account"),
    ("default policy: the identity policy's actions are all it grants", None,
     {user("alice").arn: [allow(["kms:Encrypt", "kms:Decrypt"])]}, user("alice"), "kms:ScheduleKeyDeletion", False,
     "no identity-based policy"),
    ("identity policy naming other keys grants nothing here", None,
     {user("alice").arn: [allow("kms:*", f"arn:aws:kms:*:{ACCT}:key/not-this-one")]}, user("alice"), "kms:Encrypt",
     False, "no identity-based policy"),
    ("identity deny beats the account trust", None,
     {user("alice").arn: [allow("kms:*"), deny("kms:Decrypt")]}, user("alice"), "kms:Decrypt", False,
     "explicit deny in an identity-based policy"),
    ("no root trust: IAM policies are inert", key_policy(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:user/bob"}, "Action": "kms:*", "Resource": "*"}),
     {user("alice").arn: [allow("kms:*")]}, user("alice"), "kms:Encrypt", False, "no resource-based policy"),
    ("no root trust: the named user needs no identity policy", key_policy(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:user/bob"}, "Action": "kms:*", "Resource": "*"}),
     {}, user("bob"), "kms:Encrypt", True, "key policy allows the caller"),
    ("no root trust: even the root user is out", key_policy(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:user/bob"}, "Action": "kms:*", "Resource": "*"}),
     {}, ROOT, "kms:DescribeKey", False, "no resource-based policy"),
    ("key policy deny beats key policy allow", key_policy(
        TRUST_ACCOUNT,
        {"Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}),
     {}, ROOT, "kms:Decrypt", False, "explicit deny in a resource-based policy"),
    ("role separation: the administrator can schedule deletion", NOTES_POLICY, {}, user("keyadmin"),
     "kms:ScheduleKeyDeletion", True, "key policy allows"),
    ("role separation: the administrator cannot decrypt", NOTES_POLICY, {}, user("keyadmin"), "kms:Decrypt", False,
     "no identity-based policy"),
    ("role separation: the user can decrypt", NOTES_POLICY, {}, user("keyuser"), "kms:Decrypt", True,
     "key policy allows"),
    ("role separation: the user cannot schedule deletion", NOTES_POLICY, {}, user("keyuser"),
     "kms:ScheduleKeyDeletion", False, "no identity-based policy"),
    ("kms:Create* lets the administrator create grants", NOTES_POLICY, {}, user("keyadmin"), "kms:CreateGrant", True,
     "key policy allows"),
    ("kms:Delete* does not cover ScheduleKeyDeletion", key_policy(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:user/bob"}, "Action": "kms:Delete*",
         "Resource": "*"}), {}, user("bob"), "kms:ScheduleKeyDeletion", False, "no resource-based policy"),
    ("a role in the key policy admits its sessions", key_policy(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:role/app"}, "Action": "kms:Decrypt",
         "Resource": "*"}), {}, role_session("app"), "kms:Decrypt", True, "key policy allows"),
    ("cross-account: key policy and identity policy both allow", key_policy(
        TRUST_ACCOUNT, {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
                        "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*"}),
     {user("eve", OTHER).arn: [allow("kms:Decrypt")]}, user("eve", OTHER), "kms:Decrypt", True, "cross-account"),
    ("cross-account: the key policy alone is not enough", key_policy(
        TRUST_ACCOUNT, {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
                        "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*"}),
     {}, user("eve", OTHER), "kms:Decrypt", False, "no identity-based policy"),
    ("cross-account: the identity policy alone is not enough", None,
     {user("eve", OTHER).arn: [allow("kms:*")]}, user("eve", OTHER), "kms:Decrypt", False,
     "no resource-based policy"),
    ("cross-account: the other account's root needs only the key policy", key_policy(
        TRUST_ACCOUNT, {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
                        "Action": "kms:Decrypt", "Resource": "*"}),
     {}, Principal.root(OTHER), "kms:Decrypt", True, "cross-account"),
]


@pytest.mark.parametrize("name, policy, identity, principal, action, expected, summary", CASES, ids=[c[0] for c in CASES])
def test_decisions_match_awss_documented_outcomes(env, name, policy, identity, principal, action, expected, summary):
    cloud, make_key = env
    key = make_key(policy)
    decision = decide(cloud, principal, action, key, identity)
    assert decision.allowed is expected, decision.explain()
    assert summary in decision.summary
    # The explanation names what decided it.
    if expected:
        assert decision.deciding and all(r.applies for r in decision.deciding)
    if "explicit deny" in summary:
        assert decision.denied_by is not None and decision.denied_by.effect == "Deny"


def test_a_condition_on_the_encryption_context(env):
    cloud, make_key = env
    key = make_key(key_policy(TRUST_ACCOUNT, {
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:user/hr"}, "Action": "kms:Decrypt",
        "Resource": "*", "Condition": {"StringEquals": {"kms:EncryptionContext:Department": "HR"}}}))
    hr = user("hr")
    assert decide(cloud, hr, "kms:Decrypt", key, request={"encryption_context": {"Department": "HR"}}).allowed
    no = decide(cloud, hr, "kms:Decrypt", key, request={"encryption_context": {"Department": "IT"}})
    assert not no.allowed
    assert any("condition not met" in r.detail for r in no.reasons)


def test_grant_is_for_aws_resource_admits_create_grant_only_through_a_service(env):
    cloud, make_key = env
    key = make_key(NOTES_POLICY)
    request = {"operations": ["Decrypt"], "grantee_principal": "arn:aws:iam::111122223333:role/ebs"}
    assert not decide(cloud, user("keyuser"), "kms:CreateGrant", key, request=request).allowed
    assert decide(cloud, user("keyuser"), "kms:CreateGrant", key, request=request,
                  via="ec2.us-east-1.amazonaws.com").allowed


def test_a_grant_allows_only_its_operations_and_constraints(env):
    cloud, make_key = env
    key = make_key()
    kms = cloud.client("kms")
    kms.create_grant(KeyId=key.key_id, GranteePrincipal=f"arn:aws:iam::{ACCT}:role/app",
                     Operations=["Decrypt"], Constraints={"EncryptionContextSubset": {"app": "billing"}})
    app = role_session("app")
    ok = decide(cloud, app, "kms:Decrypt", key, request={"encryption_context": {"app": "billing", "x": "1"}})
    assert ok.allowed and ok.summary == "a grant allows the caller"
    assert not decide(cloud, app, "kms:Decrypt", key, request={"encryption_context": {"app": "other"}}).allowed
    assert not decide(cloud, app, "kms:Encrypt", key, request={"encryption_context": {"app": "billing"}}).allowed


def test_a_grant_never_overrides_a_deny(env):
    cloud, make_key = env
    key = make_key(key_policy(TRUST_ACCOUNT, {"Effect": "Deny", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:role/app"},
                                              "Action": "kms:Decrypt", "Resource": "*"}))
    cloud.client("kms").create_grant(KeyId=key.key_id, GranteePrincipal=f"arn:aws:iam::{ACCT}:role/app",
                                     Operations=["Decrypt"])
    decision = decide(cloud, role_session("app"), "kms:Decrypt", key)
    assert not decision.allowed and decision.denied_by is not None


def test_iam_only_operations_use_identity_policies_alone(env):
    cloud, _ = env
    assert decide(cloud, ROOT, "kms:CreateKey", None).allowed
    assert not decide(cloud, user("alice"), "kms:CreateKey", None).allowed
    assert decide(cloud, user("alice"), "kms:CreateKey", None, {user("alice").arn: [allow("kms:CreateKey")]}).allowed
    # CreateKey's resource is "*": an identity policy scoped to keys does not cover it.
    scoped = {user("alice").arn: [allow("kms:CreateKey", f"arn:aws:kms:*:{ACCT}:key/*")]}
    assert not decide(cloud, user("alice"), "kms:CreateKey", None, scoped).allowed


def test_the_explanation_lists_every_statement_with_its_reason(env):
    cloud, make_key = env
    key = make_key(NOTES_POLICY)
    decision = decide(cloud, user("keyadmin"), "kms:Decrypt", key)
    text = decision.explain()
    assert text.startswith("DENIED: arn:aws:iam::111122223333:user/keyadmin -> kms:Decrypt")
    labels = [r.label for r in decision.reasons if r.source == "key policy"]
    assert labels == [
        'statement 1 ("Enable IAM User Permissions")',
        'statement 2 ("Allow access for Key Administrators")',
        'statement 3 ("Allow use of the key")',
        'statement 4 ("Allow attachment of persistent resources")',
    ]
    admin = decision.reasons[1]
    assert not admin.applies and "does not include kms:Decrypt" in admin.detail


# --------------------------------------------------------------------------- properties

ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "kms:ScheduleKeyDeletion", "kms:CreateGrant",
           "kms:GenerateDataKey", "kms:PutKeyPolicy", "kms:ReEncryptFrom"]
PRINCIPALS = [ROOT, user("alice"), user("keyadmin"), user("keyuser"), role_session("app"), user("eve", OTHER)]
statement_st = st.fixed_dictionaries({
    "Effect": st.sampled_from(["Allow", "Deny"]),
    "Principal": st.sampled_from(["*", {"AWS": f"arn:aws:iam::{ACCT}:root"}, {"AWS": f"arn:aws:iam::{ACCT}:user/alice"},
                                  {"AWS": f"arn:aws:iam::{ACCT}:role/app"}, {"AWS": f"arn:aws:iam::{OTHER}:root"}]),
    "Action": st.lists(st.sampled_from(ACTIONS + ["kms:*", "kms:Re*", "kms:Describe*"]), min_size=1, max_size=3),
    "Resource": st.just("*"),
})
identity_st = st.lists(st.sampled_from(ACTIONS + ["kms:*"]), min_size=0, max_size=3)


@pytest.fixture(scope="module")
def prop_env():
    cloud = kms_teach.Cloud(clock=kms_teach.Clock(START, frozen=True), seed=9)
    _people(cloud)
    return cloud


def _key(cloud, statements):
    kms = cloud.client("kms")
    key_id = kms.create_key(Policy=key_policy(*statements), BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]["KeyId"]
    return cloud.kms._regions[(ACCT, "us-east-1")].keys[key_id]


@settings(max_examples=60, deadline=None)
@given(statements=st.lists(statement_st, min_size=1, max_size=4), extra=statement_st, identity=identity_st,
       principal=st.sampled_from(PRINCIPALS), action=st.sampled_from(ACTIONS))
def test_adding_a_deny_never_widens_access(prop_env, statements, extra, identity, principal, action):
    policies = {principal.role_arn or principal.arn: [allow(identity)]} if identity else {}
    before = decide(prop_env, principal, action, _key(prop_env, statements), policies).allowed
    after = decide(prop_env, principal, action, _key(prop_env, statements + [dict(extra, Effect="Deny")]), policies).allowed
    assert not (after and not before)


@settings(max_examples=60, deadline=None)
@given(statements=st.lists(statement_st, min_size=1, max_size=4), identity=identity_st,
       principal=st.sampled_from(PRINCIPALS), action=st.sampled_from(ACTIONS),
       operations=st.lists(st.sampled_from(["Encrypt", "Decrypt", "DescribeKey", "GenerateDataKey"]), min_size=1,
                           max_size=3, unique=True))
def test_a_grant_never_widens_beyond_its_operations(prop_env, statements, identity, principal, action, operations):
    policies = {principal.role_arn or principal.arn: [allow(identity)]} if identity else {}
    key = _key(prop_env, statements)
    before = decide(prop_env, principal, action, key, policies).allowed
    authorizer, prop_env.kms.authorizer = prop_env.kms.authorizer, None  # the test sets up the grant as it likes
    try:
        prop_env.client("kms").create_grant(KeyId=key.key_id, GranteePrincipal=principal.role_arn or principal.arn,
                                            Operations=operations)
    finally:
        prop_env.kms.authorizer = authorizer
    after = decide(prop_env, principal, action, key, policies).allowed
    if action.split(":")[1] not in operations:
        assert after == before
    else:
        assert after or not before


@settings(max_examples=60, deadline=None)
@given(statements=st.lists(statement_st, min_size=1, max_size=5), identity=identity_st,
       principal=st.sampled_from(PRINCIPALS), action=st.sampled_from(ACTIONS))
def test_the_explanation_always_agrees_with_enforcement(prop_env, statements, identity, principal, action):
    policies = {principal.role_arn or principal.arn: [allow(identity)]} if identity else {}
    key = _key(prop_env, statements)
    engine = Permissions(prop_env.kms, FakeIAM(policies))
    explained = engine.decide(principal, action, key, {}, explain=True)
    enforced = engine.decide(principal, action, key, {}, explain=False)
    assert explained.allowed == enforced.allowed
    ctx = RequestContext("us-east-1", principal)
    try:
        engine(ctx, action, key, {})
        called = True
    except kms_teach.AWSError as exc:
        assert exc.code == "AccessDeniedException"
        called = False
    assert called == explained.allowed
