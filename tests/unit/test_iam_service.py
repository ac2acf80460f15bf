"""The simulated IAM and STS services, driven directly through ``IAM.call`` / ``IAM.sts_call``."""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from urllib.parse import unquote

import pytest
from botocore import xform_name
from botocore.awsrequest import create_request_object, prepare_request_dict
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

import kms_teach
from kms_teach import Principal, RandomSource
from kms_teach._errors import AWSError
from kms_teach._services.iam import IAM, IAM_OPERATIONS, SESSION_NAME, STS_OPERATIONS
from kms_teach._services.base import RequestContext
from kms_teach._store import MemoryStore, SQLiteStore
from kms_teach._wire import QueryProtocol, WireRequest, service_model

START = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.timezone.utc)
ACCOUNT = "111122223333"
OTHER = "444455556666"
ROOT = RequestContext("us-east-1", Principal.root(ACCOUNT))
OTHER_ROOT = RequestContext("us-east-1", Principal.root(OTHER))


def doc(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*") -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def deny(action, resource="*") -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource}


def trust(*principals, effect="Allow", action="sts:AssumeRole", **extra) -> str:
    statement = {"Effect": effect, "Principal": {"AWS": list(principals)}, "Action": action, **extra}
    return doc(statement)


ACCOUNT_TRUST = trust(f"arn:aws:iam::{ACCOUNT}:root")


@pytest.fixture
def clock():
    return kms_teach.Clock(START, frozen=True)


@pytest.fixture
def iam(clock):
    return IAM(clock=clock, random=RandomSource(seed=1), store=MemoryStore())


def as_(iam: IAM, arn: str) -> RequestContext:
    return RequestContext("us-east-1", iam.principal(arn))


def user_arn(name: str, account: str = ACCOUNT, path: str = "/") -> str:
    return f"arn:aws:iam::{account}:user{path}{name}"


def role_arn(name: str, account: str = ACCOUNT, path: str = "/") -> str:
    return f"arn:aws:iam::{account}:role{path}{name}"


def make_user(iam, name="alice", ctx=ROOT, **kw) -> dict:
    return iam.call("CreateUser", {"user_name": name, **kw}, ctx)["user"]


def make_role(iam, name="app", policy=ACCOUNT_TRUST, ctx=ROOT, **kw) -> dict:
    return iam.call("CreateRole", {"role_name": name, "assume_role_policy_document": policy, **kw}, ctx)["role"]


def grant_user(iam, name, *statements, policy_name="grant"):
    iam.call("PutUserPolicy", {"user_name": name, "policy_name": policy_name, "policy_document": doc(*statements)},
             ROOT)


def grant_role(iam, name, *statements, policy_name="grant"):
    iam.call("PutRolePolicy", {"role_name": name, "policy_name": policy_name, "policy_document": doc(*statements)},
             ROOT)


def fails(code: str, fn, *args, status: int | None = None, match: str | None = None) -> AWSError:
    with pytest.raises(AWSError) as excinfo:
        fn(*args)
    exc = excinfo.value
    assert exc.code == code, f"{exc.code}: {exc.message}"
    if status is not None:
        assert exc.status == status
    if match is not None:
        assert re.search(match, exc.message), exc.message
    return exc


class WireError(AWSError):
    """An error as the query protocol answered it (code, message and status read back from the XML)."""

    def __init__(self, code: str, message: str, status: int):
        super().__init__(message)
        self.code, self.status = code, status


def _pascal(value, shape):
    """snake_case request -> the model's member names (what a client sends), recursively."""
    if shape.type_name == "structure":
        members = {xform_name(n): (n, m) for n, m in shape.members.items()}
        return {members[k][0]: _pascal(v, members[k][1]) for k, v in value.items()}
    if shape.type_name == "list":
        return [_pascal(v, shape.member) for v in value]
    return value


def wire(iam, operation: str, params: dict, ctx, service: str = "iam") -> dict:
    """One call as a client makes it: serialized by botocore (which validates nothing), answered by the
    query protocol, which validates it against botocore's model before IAM (or STS) sees it."""
    model = service_model(service)
    op = model.operation_model(operation)
    serializer = create_serializer("query", include_validation=False)
    request = serializer.serialize_to_request(_pascal(params, op.input_shape), op)
    prepare_request_dict(request, endpoint_url=f"https://{service}.amazonaws.com")
    prepared = create_request_object(request).prepare()
    protocol = QueryProtocol(service, iam.call if service == "iam" else iam.sts.call)
    body = prepared.body or b""
    body = body.encode() if isinstance(body, str) else body
    answer = protocol.answer(WireRequest(prepared.method, prepared.url, prepared.headers, body), ctx)
    parsed = create_parser("query").parse({"status_code": answer.status, "headers": answer.headers,
                                           "body": answer.body}, op.output_shape)
    if answer.status >= 400:
        raise WireError(parsed["Error"]["Code"], parsed["Error"]["Message"], answer.status)
    return parsed


def sts_wire(iam, operation: str, params: dict, ctx) -> dict:
    return wire(iam, operation, params, ctx, service="sts")


def assume(iam, ctx, role="app", session="s1", **kw):
    arn = role if role.startswith("arn:") else role_arn(role)
    return iam.sts_call("AssumeRole", {"role_arn": arn, "role_session_name": session, **kw}, ctx)


# ---------------------------------------------------------------------------
# Responses have AWS's shapes
# ---------------------------------------------------------------------------

IAM_MODEL = service_model("iam")
STS_MODEL = service_model("sts")


# Members AWS's model marks required that AWS itself leaves out: the root user has no name or path.
ROOT_USER_OMITS = {"Path", "UserName"}


def check_shape(value, shape, where="", omitted=frozenset()) -> None:
    """Every key of a snake_case answer is a member of botocore's output shape, with the right type."""
    t = shape.type_name
    if t == "structure":
        assert isinstance(value, dict), where
        members = {xform_name(n): m for n, m in shape.members.items()}
        for key, sub in value.items():
            assert key in members, f"{where}: {key} is not a member of {shape.name} ({sorted(members)})"
            if sub is not None:
                check_shape(sub, members[key], f"{where}.{key}", omitted)
        for required in shape.required_members:
            assert required in omitted or xform_name(required) in value, f"{where}: required {required} missing"
    elif t == "list":
        assert isinstance(value, list), where
        for i, item in enumerate(value):
            check_shape(item, shape.member, f"{where}[{i}]")
    elif t == "string":
        assert isinstance(value, str), where
        if shape.enum:
            assert value in shape.enum, where
    elif t == "timestamp":
        assert isinstance(value, dt.datetime) and value.tzinfo is not None, where
    elif t == "boolean":
        assert isinstance(value, bool), where
    elif t in ("integer", "long"):
        assert isinstance(value, int) and not isinstance(value, bool), where


def test_every_operation_answers_with_members_of_awss_output_shape(iam):
    seen = set()

    def run(op, req, ctx=ROOT, sts=False, omitted=frozenset()):
        out = (iam.sts_call if sts else iam.call)(op, req, ctx)
        model = STS_MODEL if sts else IAM_MODEL
        shape = model.operation_model(op).output_shape
        if shape is None:
            assert out == {}
        else:
            check_shape(out, shape, op, omitted)
        seen.add(op)
        return out

    run("CreateUser", {"user_name": "alice", "tags": [{"key": "team", "value": "blue"}]})
    run("GetUser", {"user_name": "alice"})
    run("GetUser", {}, omitted=ROOT_USER_OMITS)
    run("ListUsers", {"max_items": 1})
    run("CreateRole", {"role_name": "app", "assume_role_policy_document": ACCOUNT_TRUST, "description": "d",
                       "tags": [{"key": "k", "value": "v"}]})
    run("GetRole", {"role_name": "app"})
    run("ListRoles", {})
    run("UpdateAssumeRolePolicy", {"role_name": "app", "policy_document": ACCOUNT_TRUST})
    run("PutUserPolicy", {"user_name": "alice", "policy_name": "p", "policy_document": doc(allow("sts:AssumeRole"))})
    run("GetUserPolicy", {"user_name": "alice", "policy_name": "p"})
    run("ListUserPolicies", {"user_name": "alice"})
    run("PutRolePolicy", {"role_name": "app", "policy_name": "p", "policy_document": doc(allow("kms:*"))})
    run("GetRolePolicy", {"role_name": "app", "policy_name": "p"})
    run("ListRolePolicies", {"role_name": "app"})
    pol = run("CreatePolicy", {"policy_name": "KmsUse", "policy_document": doc(allow("kms:*")), "description": "x",
                               "tags": [{"key": "k", "value": "v"}]})["policy"]["arn"]
    run("GetPolicy", {"policy_arn": pol})
    run("GetPolicyVersion", {"policy_arn": pol, "version_id": "v1"})
    run("ListPolicies", {})
    run("AttachUserPolicy", {"user_name": "alice", "policy_arn": pol})
    run("AttachRolePolicy", {"role_name": "app", "policy_arn": pol})
    run("ListAttachedUserPolicies", {"user_name": "alice"})
    run("ListAttachedRolePolicies", {"role_name": "app"})
    key = run("CreateAccessKey", {"user_name": "alice"})["access_key"]["access_key_id"]
    root_key = run("CreateAccessKey", {}, omitted=ROOT_USER_OMITS)["access_key"]["access_key_id"]
    run("ListAccessKeys", {})
    run("DeleteAccessKey", {"access_key_id": root_key})
    run("ListAccessKeys", {"user_name": "alice"})
    run("UpdateAccessKey", {"user_name": "alice", "access_key_id": key, "status": "Inactive"})
    run("GetCallerIdentity", {}, sts=True)
    run("AssumeRole", {"role_arn": role_arn("app"), "role_session_name": "sess", "source_identity": "me"}, sts=True)
    run("GetRole", {"role_name": "app"})  # with RoleLastUsed filled in
    run("DeleteAccessKey", {"user_name": "alice", "access_key_id": key})
    run("DetachUserPolicy", {"user_name": "alice", "policy_arn": pol})
    run("DetachRolePolicy", {"role_name": "app", "policy_arn": pol})
    run("DeletePolicy", {"policy_arn": pol})
    run("DeleteUserPolicy", {"user_name": "alice", "policy_name": "p"})
    run("DeleteRolePolicy", {"role_name": "app", "policy_name": "p"})
    run("DeleteUser", {"user_name": "alice"})
    run("DeleteRole", {"role_name": "app"})
    assert seen == set(IAM_OPERATIONS) | set(STS_OPERATIONS)


def test_every_simulated_operation_is_in_the_botocore_models():
    assert set(IAM_OPERATIONS) <= set(IAM_MODEL.operation_names)
    assert set(STS_OPERATIONS) <= set(STS_MODEL.operation_names)


def test_an_unsimulated_operation_is_refused_with_invalid_action(iam):
    fails("InvalidAction", iam.call, "CreateGroup", {"group_name": "g"}, ROOT, match="does not simulate")
    fails("InvalidAction", iam.sts_call, "GetSessionToken", {}, ROOT)


# ---------------------------------------------------------------------------
# Users
# ---------------------------------------------------------------------------


def test_create_user_answers_with_an_aida_id_an_arn_and_the_simulated_date(iam, clock):
    user = make_user(iam, tags=[{"key": "team", "value": "blue"}])
    assert re.fullmatch(r"AIDA[A-Z0-9]{17}", user["user_id"])
    assert user["arn"] == user_arn("alice")
    assert user["path"] == "/"
    assert user["create_date"] == clock.now()
    assert user["tags"] == [{"key": "team", "value": "blue"}]


def test_a_user_path_is_part_of_the_arn(iam):
    user = make_user(iam, path="/division/")
    assert user["arn"] == user_arn("alice", path="/division/")
    assert iam.call("GetUser", {"user_name": "alice"}, ROOT)["user"]["path"] == "/division/"


def test_user_names_are_unique_without_regard_to_case(iam):
    make_user(iam, "alice")
    exc = fails("EntityAlreadyExists", make_user, iam, "ALICE", status=409)
    assert exc.message == "User with name ALICE already exists."


def test_users_are_found_without_regard_to_case_and_keep_their_spelling(iam):
    make_user(iam, "Alice")
    assert iam.call("GetUser", {"user_name": "alice"}, ROOT)["user"]["user_name"] == "Alice"


@pytest.mark.parametrize("name, constraint", [
    ("bad name", "regular expression pattern"),
    ("a/b", "regular expression pattern"),
    ("", "length greater than or equal to 1"),
    ("x" * 65, "length less than or equal to 64"),
])
def test_user_names_must_match_iams_pattern_and_length(iam, name, constraint):
    exc = fails("ValidationError", wire, iam, "CreateUser", {"user_name": name}, ROOT, status=400)
    assert "at 'userName' failed to satisfy constraint" in exc.message and constraint in exc.message


def test_a_missing_user_name_is_a_validation_error(iam):
    fails("ValidationError", wire, iam, "CreateUser", {}, ROOT, match="Value null at 'userName'")


def test_a_path_must_start_and_end_with_a_slash(iam):
    for path in ("division", "/division"):
        fails("ValidationError", wire, iam, "CreateUser", {"user_name": "alice", "path": path}, ROOT, match="at 'path'")


def test_duplicate_tag_keys_are_invalid_input_whatever_their_case(iam):
    tags = [{"key": "Team", "value": "a"}, {"key": "team", "value": "b"}]
    fails("InvalidInput", lambda: make_user(iam, tags=tags), status=400, match="Duplicate tag keys")


def test_permissions_boundaries_are_refused_rather_than_ignored(iam):
    fails("InvalidInput", lambda: make_user(iam, permissions_boundary="arn:aws:iam::aws:policy/AdministratorAccess"),
          match="permissions boundaries")


def test_get_user_without_a_name_answers_the_calling_user(iam):
    make_user(iam)
    grant_user(iam, "alice", allow("iam:GetUser", user_arn("alice")))
    got = iam.call("GetUser", {}, as_(iam, user_arn("alice")))["user"]
    assert got["user_name"] == "alice" and got["arn"] == user_arn("alice")


def test_get_user_without_a_name_answers_the_root_user_for_the_root(iam, clock):
    got = iam.call("GetUser", {}, ROOT)["user"]
    assert got == {"user_id": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:root", "create_date": clock.now()}


def test_get_user_without_a_name_is_refused_for_a_role_session(iam):
    make_role(iam)
    grant_role(iam, "app", allow("iam:*"))
    fails("ValidationError", iam.call, "GetUser", {}, as_(iam, role_arn("app")),
          match="Must specify userName when calling with non-User credentials")


def test_get_user_of_a_missing_user_is_no_such_entity(iam):
    exc = fails("NoSuchEntity", iam.call, "GetUser", {"user_name": "bob"}, ROOT, status=404)
    assert exc.message == "The user with name bob cannot be found."


def test_list_users_pages_in_name_order_with_a_marker(iam):
    for name in ["dave", "bob", "erin", "alice", "carol"]:
        make_user(iam, name, tags=[{"key": "k", "value": "v"}])
    names, marker, pages = [], None, 0
    while True:
        req = {"max_items": 2, **({"marker": marker} if marker else {})}
        out = iam.call("ListUsers", req, ROOT)
        pages += 1
        assert all("tags" not in u for u in out["users"])  # listings leave tags out, as AWS does
        names += [u["user_name"] for u in out["users"]]
        if not out["is_truncated"]:
            assert "marker" not in out
            break
        marker = out["marker"]
    assert names == ["alice", "bob", "carol", "dave", "erin"] and pages == 3


def test_list_users_skips_nobody_when_a_user_is_deleted_between_pages(iam):
    for name in ["alice", "bob", "carol", "dave"]:
        make_user(iam, name)
    first = iam.call("ListUsers", {"max_items": 2}, ROOT)
    iam.call("DeleteUser", {"user_name": "bob"}, ROOT)
    rest = iam.call("ListUsers", {"marker": first["marker"]}, ROOT)
    assert [u["user_name"] for u in rest["users"]] == ["carol", "dave"]


def test_list_users_filters_by_path_prefix(iam):
    make_user(iam, "alice", path="/eng/")
    make_user(iam, "bob", path="/ops/")
    make_user(iam, "carol")
    out = iam.call("ListUsers", {"path_prefix": "/eng/"}, ROOT)
    assert [u["user_name"] for u in out["users"]] == ["alice"]
    assert len(iam.call("ListUsers", {}, ROOT)["users"]) == 3


def test_list_users_rejects_a_bad_marker_and_max_items_out_of_range(iam):
    fails("ValidationError", iam.call, "ListUsers", {"marker": "garbage"}, ROOT)
    fails("ValidationError", wire, iam, "ListUsers", {"max_items": 0}, ROOT, match="greater than or equal to 1")
    fails("ValidationError", wire, iam, "ListUsers", {"max_items": 1001}, ROOT, match="less than or equal to 1000")


def test_delete_user_removes_it(iam):
    make_user(iam)
    assert iam.call("DeleteUser", {"user_name": "alice"}, ROOT) == {}
    fails("NoSuchEntity", iam.call, "GetUser", {"user_name": "alice"}, ROOT)
    fails("NoSuchEntity", iam.call, "DeleteUser", {"user_name": "alice"}, ROOT)


def test_deleting_a_user_with_inline_policies_is_a_delete_conflict(iam):
    make_user(iam)
    grant_user(iam, "alice", allow("kms:Encrypt"))
    exc = fails("DeleteConflict", iam.call, "DeleteUser", {"user_name": "alice"}, ROOT, status=409)
    assert exc.message == "Cannot delete entity, must delete policies first."


def test_deleting_a_user_with_attached_policies_is_a_delete_conflict(iam):
    make_user(iam)
    iam.call("AttachUserPolicy", {"user_name": "alice", "policy_arn": "arn:aws:iam::aws:policy/AdministratorAccess"},
             ROOT)
    fails("DeleteConflict", iam.call, "DeleteUser", {"user_name": "alice"}, ROOT,
          match="must detach all policies first")


def test_deleting_a_user_with_access_keys_is_a_delete_conflict(iam):
    make_user(iam)
    iam.call("CreateAccessKey", {"user_name": "alice"}, ROOT)
    fails("DeleteConflict", iam.call, "DeleteUser", {"user_name": "alice"}, ROOT, match="must delete access keys first")


def test_each_account_has_its_own_users(iam):
    ours = make_user(iam, "alice")
    theirs = make_user(iam, "alice", ctx=OTHER_ROOT)
    assert theirs["arn"] == user_arn("alice", OTHER)
    assert theirs["user_id"] != ours["user_id"]
    make_user(iam, "bob", ctx=OTHER_ROOT)
    assert [u["user_name"] for u in iam.call("ListUsers", {}, ROOT)["users"]] == ["alice"]
    assert [u["user_name"] for u in iam.call("ListUsers", {}, OTHER_ROOT)["users"]] == ["alice", "bob"]
    iam.call("DeleteUser", {"user_name": "alice"}, OTHER_ROOT)
    assert iam.call("GetUser", {"user_name": "alice"}, ROOT)["user"]["user_id"] == ours["user_id"]


# ---------------------------------------------------------------------------
# Roles
# ---------------------------------------------------------------------------


def test_create_role_answers_an_aroa_id_and_the_trust_policy_url_encoded(iam, clock):
    from botocore.handlers import decode_quoted_jsondoc

    role = make_role(iam, description="the app", tags=[{"key": "env", "value": "prod"}])
    assert re.fullmatch(r"AROA[A-Z0-9]{17}", role["role_id"])
    assert role["arn"] == role_arn("app") and role["create_date"] == clock.now()
    assert role["description"] == "the app" and role["tags"] == [{"key": "env", "value": "prod"}]
    encoded = role["assume_role_policy_document"]
    assert encoded.startswith("%7B%22Version%22") and unquote(encoded) == ACCOUNT_TRUST
    assert decode_quoted_jsondoc(encoded) == json.loads(ACCOUNT_TRUST)  # what a boto3 caller gets


def test_get_role_shows_max_session_duration_and_role_last_used(iam):
    make_role(iam, max_session_duration=7200)
    role = iam.call("GetRole", {"role_name": "APP"}, ROOT)["role"]
    assert role["role_name"] == "app" and role["max_session_duration"] == 7200 and role["role_last_used"] == {}


def test_assuming_a_role_records_when_and_where_it_was_last_used(iam, clock):
    make_role(iam)
    clock.advance(hours=1)
    assume(iam, ROOT)
    used = iam.call("GetRole", {"role_name": "app"}, ROOT)["role"]["role_last_used"]
    assert used == {"last_used_date": clock.now(), "region": "us-east-1"}


@pytest.mark.parametrize("duration, constraint", [(3599, "greater than or equal to 3600"),
                                                  (43201, "less than or equal to 43200")])
def test_max_session_duration_is_between_one_and_twelve_hours(iam, duration, constraint):
    fails("ValidationError", wire, iam, "CreateRole", {"role_name": "app", "assume_role_policy_document": ACCOUNT_TRUST,
                                                      "max_session_duration": duration}, ROOT, match=constraint)


def test_create_role_requires_a_trust_policy(iam):
    fails("ValidationError", wire, iam, "CreateRole", {"role_name": "app"}, ROOT,
          match="Value null at 'assumeRolePolicyDocument'")


def test_role_names_are_unique_without_regard_to_case(iam):
    make_role(iam, "app")
    fails("EntityAlreadyExists", make_role, iam, "APP", status=409, match="Role with name APP already exists.")


@pytest.mark.parametrize("document, message", [
    ("{not json", "not valid JSON"),
    (doc(allow("sts:AssumeRole")), "no principal"),
    (trust(f"arn:aws:iam::{ACCOUNT}:root", Resource="*"), "Has prohibited field Resource"),
    (trust(f"arn:aws:iam::{ACCOUNT}:root", action="kms:Decrypt"), "may only specify STS AssumeRole actions"),
    (trust(f"arn:aws:iam::{ACCOUNT}:user/nobody"),
     'Invalid principal in policy: "AWS":"arn:aws:iam::111122223333:user/nobody"'),
    (trust("not-an-arn"), "invalid principals"),
])
def test_a_malformed_trust_policy_is_malformed_policy_document(iam, document, message):
    exc = fails("MalformedPolicyDocument", make_role, iam, "app", document, status=400)
    assert message in exc.message
    fails("NoSuchEntity", iam.call, "GetRole", {"role_name": "app"}, ROOT)


def test_a_trust_policy_may_name_existing_users_roles_and_other_accounts(iam):
    make_user(iam, "alice")
    make_role(iam, "first")
    make_role(iam, "app", trust(user_arn("alice"), role_arn("first"), f"arn:aws:iam::{OTHER}:root", OTHER))


def test_a_trust_policy_over_2048_characters_is_limit_exceeded(iam):
    big = trust(f"arn:aws:iam::{ACCOUNT}:root", Sid="x" * 2100)
    fails("LimitExceeded", make_role, iam, "app", big, status=409, match="ACLSizePerRole: 2048")


def test_update_assume_role_policy_replaces_the_trust_policy_and_validates_it(iam):
    make_role(iam)
    make_user(iam, "alice")
    new = trust(user_arn("alice"))
    assert iam.call("UpdateAssumeRolePolicy", {"role_name": "app", "policy_document": new}, ROOT) == {}
    got = iam.call("GetRole", {"role_name": "app"}, ROOT)["role"]["assume_role_policy_document"]
    assert unquote(got) == new
    fails("MalformedPolicyDocument", iam.call, "UpdateAssumeRolePolicy",
          {"role_name": "app", "policy_document": doc(allow("sts:AssumeRole"))}, ROOT)
    fails("NoSuchEntity", iam.call, "UpdateAssumeRolePolicy", {"role_name": "nope", "policy_document": new}, ROOT)


def test_list_roles_pages_and_filters_by_path(iam):
    make_role(iam, "b-role", path="/svc/")
    make_role(iam, "a-role")
    make_role(iam, "c-role", path="/svc/")
    page = iam.call("ListRoles", {"max_items": 2}, ROOT)
    assert [r["role_name"] for r in page["roles"]] == ["a-role", "b-role"] and page["is_truncated"]
    rest = iam.call("ListRoles", {"marker": page["marker"]}, ROOT)
    assert [r["role_name"] for r in rest["roles"]] == ["c-role"] and rest["is_truncated"] is False
    svc = iam.call("ListRoles", {"path_prefix": "/svc/"}, ROOT)["roles"]
    assert [r["arn"] for r in svc] == [role_arn("b-role", path="/svc/"), role_arn("c-role", path="/svc/")]


def test_delete_role_and_its_conflicts(iam):
    make_role(iam)
    grant_role(iam, "app", allow("kms:*"))
    fails("DeleteConflict", iam.call, "DeleteRole", {"role_name": "app"}, ROOT, match="must delete policies first")
    iam.call("DeleteRolePolicy", {"role_name": "app", "policy_name": "grant"}, ROOT)
    iam.call("AttachRolePolicy", {"role_name": "app", "policy_arn": "arn:aws:iam::aws:policy/AdministratorAccess"},
             ROOT)
    fails("DeleteConflict", iam.call, "DeleteRole", {"role_name": "app"}, ROOT, match="must detach all policies first")
    iam.call("DetachRolePolicy", {"role_name": "app", "policy_arn": "arn:aws:iam::aws:policy/AdministratorAccess"},
             ROOT)
    assert iam.call("DeleteRole", {"role_name": "app"}, ROOT) == {}
    fails("NoSuchEntity", iam.call, "DeleteRole", {"role_name": "app"}, ROOT,
          match="The role with name app cannot be found.")


# ---------------------------------------------------------------------------
# Inline policies
# ---------------------------------------------------------------------------


def test_a_user_inline_policy_comes_back_url_encoded_exactly_as_it_was_put(iam):
    from botocore.handlers import decode_quoted_jsondoc

    make_user(iam)
    text = '{\n  "Version": "2012-10-17",\n  "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]\n}'
    assert iam.call("PutUserPolicy", {"user_name": "alice", "policy_name": "Encrypt", "policy_document": text},
                    ROOT) == {}
    got = iam.call("GetUserPolicy", {"user_name": "ALICE", "policy_name": "Encrypt"}, ROOT)
    assert got["user_name"] == "alice" and got["policy_name"] == "Encrypt"
    assert "%" in got["policy_document"] and unquote(got["policy_document"]) == text
    assert decode_quoted_jsondoc(got["policy_document"]) == json.loads(text)


def test_putting_a_policy_under_the_same_name_replaces_it(iam):
    make_user(iam)
    grant_user(iam, "alice", allow("kms:Encrypt"), policy_name="p")
    grant_user(iam, "alice", allow("kms:Decrypt"), policy_name="p")
    assert iam.call("ListUserPolicies", {"user_name": "alice"}, ROOT)["policy_names"] == ["p"]
    got = iam.call("GetUserPolicy", {"user_name": "alice", "policy_name": "p"}, ROOT)["policy_document"]
    assert "kms:Decrypt" in unquote(got)


def test_list_user_policies_pages_in_name_order(iam):
    make_user(iam)
    for name in ["c", "a", "b"]:
        grant_user(iam, "alice", allow("kms:Encrypt"), policy_name=name)
    first = iam.call("ListUserPolicies", {"user_name": "alice", "max_items": 2}, ROOT)
    assert first["policy_names"] == ["a", "b"] and first["is_truncated"]
    rest = iam.call("ListUserPolicies", {"user_name": "alice", "marker": first["marker"]}, ROOT)
    assert rest == {"policy_names": ["c"], "is_truncated": False}


def test_getting_or_deleting_a_missing_inline_policy_is_no_such_entity(iam):
    make_user(iam)
    make_role(iam)
    fails("NoSuchEntity", iam.call, "GetUserPolicy", {"user_name": "alice", "policy_name": "p"}, ROOT,
          match="The user policy with name p cannot be found.")
    fails("NoSuchEntity", iam.call, "DeleteUserPolicy", {"user_name": "alice", "policy_name": "p"}, ROOT)
    fails("NoSuchEntity", iam.call, "GetRolePolicy", {"role_name": "app", "policy_name": "p"}, ROOT,
          match="The role policy with name p cannot be found.")
    fails("NoSuchEntity", iam.call, "DeleteRolePolicy", {"role_name": "app", "policy_name": "p"}, ROOT)


def test_inline_policies_need_an_existing_user_or_role(iam):
    fails("NoSuchEntity", grant_user, iam, "ghost", allow("kms:*"), match="The user with name ghost cannot be found.")
    fails("NoSuchEntity", grant_role, iam, "ghost", allow("kms:*"), match="The role with name ghost cannot be found.")
    fails("NoSuchEntity", iam.call, "ListUserPolicies", {"user_name": "ghost"}, ROOT)
    fails("NoSuchEntity", iam.call, "ListRolePolicies", {"role_name": "ghost"}, ROOT)


@pytest.mark.parametrize("document, message", [
    ("{oops", "not valid JSON"),
    (json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"}]}),
     "should not specify a principal"),
    (json.dumps({"Statement": [{"Effect": "Allow", "Action": "kms:*"}]}), "must contain resources"),
    (json.dumps({"Statement": [{"Effect": "Allow", "Resource": "*"}]}), "must contain actions"),
    (json.dumps({"Statement": [{"Effect": "Maybe", "Action": "kms:*", "Resource": "*"}]}), "Effect"),
])
def test_a_malformed_identity_policy_is_malformed_policy_document(iam, document, message):
    make_user(iam)
    exc = fails("MalformedPolicyDocument", iam.call, "PutUserPolicy",
                {"user_name": "alice", "policy_name": "p", "policy_document": document}, ROOT, status=400)
    assert message in exc.message
    fails("MalformedPolicyDocument", iam.call, "CreatePolicy", {"policy_name": "p", "policy_document": document}, ROOT)


def test_a_policy_document_with_characters_outside_latin1_is_a_validation_error(iam):
    make_user(iam)
    fails("ValidationError", wire, iam, "PutUserPolicy",
          {"user_name": "alice", "policy_name": "p", "policy_document": doc(allow("kms:*"), ) + "\u2603"}, ROOT,
          match="'policyDocument'")


def _padded(size: int, spaces: int = 0) -> str:
    """A valid policy of exactly ``size`` non-whitespace characters, with ``spaces`` whitespace characters more."""
    base = json.dumps({"Version": "2012-10-17", "Statement": [{"Sid": "", "Effect": "Allow", "Action": "kms:*",
                                                               "Resource": "*"}]}, separators=(",", ":"))
    text = base.replace('"Sid":""', '"Sid":"' + "x" * (size - len(base)) + '"')
    assert len(text) == size
    return text.replace("{", "{" + " " * spaces, 1)


def test_a_users_inline_policies_may_total_2048_characters_not_counting_whitespace(iam):
    make_user(iam)
    iam.call("PutUserPolicy", {"user_name": "alice", "policy_name": "a", "policy_document": _padded(2048, 500)}, ROOT)
    exc = fails("LimitExceeded", iam.call, "PutUserPolicy",
                {"user_name": "alice", "policy_name": "b", "policy_document": _padded(100)}, ROOT, status=409)
    assert exc.message == "Maximum policy size of 2048 bytes exceeded for user alice"
    # replacing the policy itself is measured without its old version
    iam.call("PutUserPolicy", {"user_name": "alice", "policy_name": "a", "policy_document": _padded(1000)}, ROOT)
    iam.call("PutUserPolicy", {"user_name": "alice", "policy_name": "b", "policy_document": _padded(1048)}, ROOT)


def test_a_roles_inline_policies_may_total_10240_characters(iam):
    make_role(iam)
    iam.call("PutRolePolicy", {"role_name": "app", "policy_name": "a", "policy_document": _padded(10240)}, ROOT)
    fails("LimitExceeded", iam.call, "PutRolePolicy",
          {"role_name": "app", "policy_name": "b", "policy_document": _padded(100)}, ROOT,
          match="Maximum policy size of 10240 bytes exceeded for role app")


def test_role_inline_policies_round_trip(iam):
    make_role(iam)
    grant_role(iam, "app", allow("kms:Decrypt"), policy_name="Decrypt")
    got = iam.call("GetRolePolicy", {"role_name": "app", "policy_name": "Decrypt"}, ROOT)
    assert got["role_name"] == "app" and json.loads(unquote(got["policy_document"]))["Statement"][0]["Action"] == \
        "kms:Decrypt"
    assert iam.call("ListRolePolicies", {"role_name": "app"}, ROOT)["policy_names"] == ["Decrypt"]
    assert iam.call("DeleteRolePolicy", {"role_name": "app", "policy_name": "Decrypt"}, ROOT) == {}
    assert iam.call("ListRolePolicies", {"role_name": "app"}, ROOT)["policy_names"] == []


# ---------------------------------------------------------------------------
# Managed policies
# ---------------------------------------------------------------------------


def test_create_policy_makes_a_v1_managed_policy_with_a_path_in_its_arn(iam, clock):
    pol = iam.call("CreatePolicy", {"policy_name": "KmsUse", "path": "/team/", "policy_document": doc(allow("kms:*")),
                                    "description": "use keys"}, ROOT)["policy"]
    assert pol["arn"] == f"arn:aws:iam::{ACCOUNT}:policy/team/KmsUse"
    assert re.fullmatch(r"ANPA[A-Z0-9]{17}", pol["policy_id"])
    assert pol["default_version_id"] == "v1" and pol["attachment_count"] == 0 and pol["is_attachable"] is True
    assert pol["create_date"] == pol["update_date"] == clock.now()
    got = iam.call("GetPolicy", {"policy_arn": pol["arn"]}, ROOT)["policy"]
    assert got["description"] == "use keys" and got["policy_id"] == pol["policy_id"]


def test_policy_names_are_unique_in_an_account(iam):
    iam.call("CreatePolicy", {"policy_name": "KmsUse", "policy_document": doc(allow("kms:*"))}, ROOT)
    fails("EntityAlreadyExists", iam.call, "CreatePolicy",
          {"policy_name": "kmsuse", "path": "/other/", "policy_document": doc(allow("kms:*"))}, ROOT,
          match="A policy called kmsuse already exists. Duplicate names are not allowed.")
    iam.call("CreatePolicy", {"policy_name": "KmsUse", "policy_document": doc(allow("kms:*"))}, OTHER_ROOT)


def test_a_managed_policy_may_have_6144_characters(iam):
    iam.call("CreatePolicy", {"policy_name": "big", "policy_document": _padded(6144, 1000)}, ROOT)
    fails("LimitExceeded", iam.call, "CreatePolicy", {"policy_name": "bigger", "policy_document": _padded(6145)}, ROOT,
          match="Cannot exceed quota for PolicySize: 6144")


def test_a_policy_path_must_match_iams_pattern(iam):
    fails("ValidationError", wire, iam, "CreatePolicy",
          {"policy_name": "p", "path": "/bad path/", "policy_document": doc(allow("kms:*"))}, ROOT, match="'path'")


def test_get_policy_version_returns_the_document_url_encoded(iam):
    text = doc(allow("kms:Encrypt"))
    arn = iam.call("CreatePolicy", {"policy_name": "p", "policy_document": text}, ROOT)["policy"]["arn"]
    version = iam.call("GetPolicyVersion", {"policy_arn": arn, "version_id": "v1"}, ROOT)["policy_version"]
    assert unquote(version["document"]) == text and version["is_default_version"] is True
    fails("NoSuchEntity", iam.call, "GetPolicyVersion", {"policy_arn": arn, "version_id": "v2"}, ROOT)


def test_list_policies_by_scope_and_only_attached(iam):
    make_user(iam)
    local = iam.call("CreatePolicy", {"policy_name": "KmsUse", "policy_document": doc(allow("kms:*"))},
                     ROOT)["policy"]["arn"]
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"

    def arns(**req):
        return [p["arn"] for p in iam.call("ListPolicies", req, ROOT)["policies"]]

    assert arns() == [admin, local]
    assert arns(scope="Local") == [local]
    assert arns(scope="AWS") == [admin]
    assert arns(only_attached=True) == []
    iam.call("AttachUserPolicy", {"user_name": "alice", "policy_arn": local}, ROOT)
    assert arns(only_attached=True) == [local]
    assert iam.call("ListPolicies", {"scope": "Local"}, ROOT)["policies"][0]["attachment_count"] == 1


def test_attach_and_detach_managed_policies_to_users_and_roles(iam):
    make_user(iam)
    make_role(iam)
    arn = iam.call("CreatePolicy", {"policy_name": "KmsUse", "policy_document": doc(allow("kms:*"))},
                   ROOT)["policy"]["arn"]
    iam.call("AttachUserPolicy", {"user_name": "alice", "policy_arn": arn}, ROOT)
    iam.call("AttachUserPolicy", {"user_name": "alice", "policy_arn": arn}, ROOT)  # attaching twice is harmless
    iam.call("AttachRolePolicy", {"role_name": "app", "policy_arn": arn}, ROOT)
    assert iam.call("GetPolicy", {"policy_arn": arn}, ROOT)["policy"]["attachment_count"] == 2
    assert iam.call("ListAttachedUserPolicies", {"user_name": "alice"}, ROOT)["attached_policies"] == [
        {"policy_name": "KmsUse", "policy_arn": arn}]
    assert iam.call("ListAttachedRolePolicies", {"role_name": "app"}, ROOT)["attached_policies"] == [
        {"policy_name": "KmsUse", "policy_arn": arn}]
    iam.call("DetachUserPolicy", {"user_name": "alice", "policy_arn": arn}, ROOT)
    iam.call("DetachRolePolicy", {"role_name": "app", "policy_arn": arn}, ROOT)
    assert iam.call("ListAttachedUserPolicies", {"user_name": "alice"}, ROOT)["attached_policies"] == []
    assert iam.call("GetPolicy", {"policy_arn": arn}, ROOT)["policy"]["attachment_count"] == 0


def test_detaching_a_policy_that_is_not_attached_is_no_such_entity(iam):
    make_user(iam)
    make_role(iam)
    arn = iam.call("CreatePolicy", {"policy_name": "KmsUse", "policy_document": doc(allow("kms:*"))},
                   ROOT)["policy"]["arn"]
    fails("NoSuchEntity", iam.call, "DetachUserPolicy", {"user_name": "alice", "policy_arn": arn}, ROOT,
          match=f"Policy {arn} was not found.")
    fails("NoSuchEntity", iam.call, "DetachRolePolicy", {"role_name": "app", "policy_arn": arn}, ROOT)


def test_attaching_a_missing_policy_or_to_a_missing_user_is_no_such_entity(iam):
    make_user(iam)
    missing = f"arn:aws:iam::{ACCOUNT}:policy/Nope"
    fails("NoSuchEntity", iam.call, "AttachUserPolicy", {"user_name": "alice", "policy_arn": missing}, ROOT,
          match=f"Policy {missing} does not exist or is not attachable.")
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    fails("NoSuchEntity", iam.call, "AttachUserPolicy", {"user_name": "ghost", "policy_arn": admin}, ROOT)
    fails("NoSuchEntity", iam.call, "AttachRolePolicy", {"role_name": "ghost", "policy_arn": admin}, ROOT)


def test_an_arn_that_is_not_a_policy_arn_is_invalid_input(iam):
    make_user(iam)
    fails("InvalidInput", iam.call, "AttachUserPolicy",
          {"user_name": "alice", "policy_arn": user_arn("alice")}, ROOT, match="is not valid")


def test_another_accounts_managed_policy_cannot_be_attached(iam):
    make_user(iam)
    theirs = iam.call("CreatePolicy", {"policy_name": "Theirs", "policy_document": doc(allow("kms:*"))},
                      OTHER_ROOT)["policy"]["arn"]
    fails("NoSuchEntity", iam.call, "AttachUserPolicy", {"user_name": "alice", "policy_arn": theirs}, ROOT)


def test_at_most_ten_managed_policies_attach_to_a_user(iam):
    make_user(iam)
    for i in range(10):
        arn = iam.call("CreatePolicy", {"policy_name": f"p{i}", "policy_document": doc(allow("kms:*"))},
                       ROOT)["policy"]["arn"]
        iam.call("AttachUserPolicy", {"user_name": "alice", "policy_arn": arn}, ROOT)
    fails("LimitExceeded", iam.call, "AttachUserPolicy",
          {"user_name": "alice", "policy_arn": "arn:aws:iam::aws:policy/AdministratorAccess"}, ROOT,
          match="PoliciesPerUser: 10")


def test_deleting_an_attached_policy_is_a_delete_conflict(iam):
    make_user(iam)
    arn = iam.call("CreatePolicy", {"policy_name": "KmsUse", "policy_document": doc(allow("kms:*"))},
                   ROOT)["policy"]["arn"]
    iam.call("AttachUserPolicy", {"user_name": "alice", "policy_arn": arn}, ROOT)
    fails("DeleteConflict", iam.call, "DeletePolicy", {"policy_arn": arn}, ROOT, status=409,
          match="Cannot delete a policy attached to entities.")
    iam.call("DetachUserPolicy", {"user_name": "alice", "policy_arn": arn}, ROOT)
    assert iam.call("DeletePolicy", {"policy_arn": arn}, ROOT) == {}
    fails("NoSuchEntity", iam.call, "GetPolicy", {"policy_arn": arn}, ROOT, match=f"Policy {arn} was not found.")


def test_the_aws_managed_administrator_policy_is_readable_but_not_deletable(iam):
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    got = iam.call("GetPolicy", {"policy_arn": admin}, ROOT)["policy"]
    assert got["policy_name"] == "AdministratorAccess"
    version = iam.call("GetPolicyVersion", {"policy_arn": admin, "version_id": "v1"}, ROOT)["policy_version"]
    assert json.loads(unquote(version["document"]))["Statement"][0]["Action"] == "*"
    fails("AccessDenied", iam.call, "DeletePolicy", {"policy_arn": admin}, ROOT)


# ---------------------------------------------------------------------------
# Access keys
# ---------------------------------------------------------------------------


def test_create_access_key_makes_an_active_akia_key_with_a_40_character_secret(iam, clock):
    make_user(iam)
    key = iam.call("CreateAccessKey", {"user_name": "alice"}, ROOT)["access_key"]
    assert re.fullmatch(r"AKIA[A-Z0-9]{16}", key["access_key_id"])
    assert len(key["secret_access_key"]) == 40 and key["status"] == "Active"
    assert key["user_name"] == "alice" and key["create_date"] == clock.now()
    principal, secret = iam.access_key(key["access_key_id"])
    assert secret == key["secret_access_key"]
    assert principal == iam.principal(user_arn("alice"))


def test_a_user_has_at_most_two_access_keys(iam):
    make_user(iam)
    iam.call("CreateAccessKey", {"user_name": "alice"}, ROOT)
    iam.call("CreateAccessKey", {"user_name": "alice"}, ROOT)
    exc = fails("LimitExceeded", iam.call, "CreateAccessKey", {"user_name": "alice"}, ROOT, status=409)
    assert exc.message == "Cannot exceed quota for AccessKeysPerUser: 2"


def test_list_update_and_delete_access_keys(iam):
    make_user(iam)
    first = iam.call("CreateAccessKey", {"user_name": "alice"}, ROOT)["access_key"]["access_key_id"]
    second = iam.call("CreateAccessKey", {"user_name": "alice"}, ROOT)["access_key"]["access_key_id"]
    listed = iam.call("ListAccessKeys", {"user_name": "alice"}, ROOT)
    assert {k["access_key_id"] for k in listed["access_key_metadata"]} == {first, second}
    assert all("secret_access_key" not in k and k["status"] == "Active" for k in listed["access_key_metadata"])
    iam.call("UpdateAccessKey", {"user_name": "alice", "access_key_id": first, "status": "Inactive"}, ROOT)
    assert iam.access_key(first) is None
    statuses = {k["access_key_id"]: k["status"] for k in
                iam.call("ListAccessKeys", {"user_name": "alice"}, ROOT)["access_key_metadata"]}
    assert statuses == {first: "Inactive", second: "Active"}
    iam.call("UpdateAccessKey", {"user_name": "alice", "access_key_id": first, "status": "Active"}, ROOT)
    assert iam.access_key(first) is not None
    iam.call("DeleteAccessKey", {"user_name": "alice", "access_key_id": first}, ROOT)
    assert iam.access_key(first) is None
    exc = fails("NoSuchEntity", iam.call, "DeleteAccessKey", {"user_name": "alice", "access_key_id": first}, ROOT)
    assert exc.message == f"The Access Key with id {first} cannot be found."


def test_another_users_access_key_cannot_be_deleted_through_your_name(iam):
    make_user(iam, "alice")
    make_user(iam, "bob")
    bobs = iam.call("CreateAccessKey", {"user_name": "bob"}, ROOT)["access_key"]["access_key_id"]
    fails("NoSuchEntity", iam.call, "DeleteAccessKey", {"user_name": "alice", "access_key_id": bobs}, ROOT)
    assert iam.access_key(bobs) is not None


def test_a_user_manages_their_own_access_keys_without_naming_themselves(iam):
    make_user(iam)
    grant_user(iam, "alice", allow(["iam:CreateAccessKey", "iam:ListAccessKeys", "iam:DeleteAccessKey"],
                                   user_arn("alice")))
    alice = as_(iam, user_arn("alice"))
    key = iam.call("CreateAccessKey", {}, alice)["access_key"]
    assert key["user_name"] == "alice"
    assert [k["access_key_id"] for k in iam.call("ListAccessKeys", {}, alice)["access_key_metadata"]] == [
        key["access_key_id"]]
    iam.call("DeleteAccessKey", {"access_key_id": key["access_key_id"]}, alice)


def test_a_role_session_must_name_the_user_whose_keys_it_manages(iam):
    make_role(iam)
    grant_role(iam, "app", allow("iam:*"))
    fails("ValidationError", iam.call, "CreateAccessKey", {}, as_(iam, role_arn("app")),
          match="Must specify userName when calling with non-User credentials")


def test_the_root_user_may_have_access_keys_of_its_own(iam):
    key = iam.call("CreateAccessKey", {}, ROOT)["access_key"]
    assert "user_name" not in key or key["user_name"] is None
    principal, _secret = iam.access_key(key["access_key_id"])
    assert principal == Principal.root(ACCOUNT)
    assert [k["access_key_id"] for k in iam.call("ListAccessKeys", {}, ROOT)["access_key_metadata"]] == [
        key["access_key_id"]]


def test_an_unknown_access_key_resolves_to_nothing(iam):
    assert iam.access_key("AKIAAAAAAAAAAAAAAAAA") is None


# ---------------------------------------------------------------------------
# Authorization of IAM calls
# ---------------------------------------------------------------------------


def test_a_user_without_an_identity_policy_is_denied_with_awss_message(iam):
    make_user(iam)
    exc = fails("AccessDenied", make_user, iam, "bob", as_(iam, user_arn("alice")), status=403)
    assert exc.message == (
        f"User: {user_arn('alice')} is not authorized to perform: iam:CreateUser on resource: {user_arn('bob')} "
        f"because no identity-based policy allows the iam:CreateUser action")
    fails("NoSuchEntity", iam.call, "GetUser", {"user_name": "bob"}, ROOT)  # nothing was created


def test_an_inline_identity_policy_allows_a_user(iam):
    make_user(iam)
    grant_user(iam, "alice", allow("iam:CreateUser"))
    assert make_user(iam, "bob", as_(iam, user_arn("alice")))["arn"] == user_arn("bob")


def test_an_attached_managed_policy_allows_a_user(iam):
    make_user(iam)
    iam.call("AttachUserPolicy", {"user_name": "alice", "policy_arn": "arn:aws:iam::aws:policy/AdministratorAccess"},
             ROOT)
    make_role(iam, "app", ctx=as_(iam, user_arn("alice")))


def test_an_allow_covers_only_the_resources_it_names(iam):
    make_user(iam, "alice")
    make_user(iam, "bob")
    grant_user(iam, "alice", allow("iam:GetUser", user_arn("alice")))
    alice = as_(iam, user_arn("alice"))
    iam.call("GetUser", {"user_name": "alice"}, alice)
    fails("AccessDenied", iam.call, "GetUser", {"user_name": "bob"}, alice,
          match=f"on resource: {re.escape(user_arn('bob'))} because")


def test_authorization_comes_before_existence(iam):
    make_user(iam)
    fails("AccessDenied", iam.call, "GetUser", {"user_name": "ghost"}, as_(iam, user_arn("alice")),
          match="arn:aws:iam::111122223333:user/ghost")


def test_an_explicit_deny_wins_over_an_allow(iam):
    make_user(iam)
    grant_user(iam, "alice", allow("iam:*"), policy_name="all")
    grant_user(iam, "alice", deny("iam:DeleteUser"), policy_name="no-delete")
    make_user(iam, "bob")
    alice = as_(iam, user_arn("alice"))
    iam.call("GetUser", {"user_name": "bob"}, alice)
    exc = fails("AccessDenied", iam.call, "DeleteUser", {"user_name": "bob"}, alice)
    assert exc.message.endswith("with an explicit deny in an identity-based policy")
    iam.call("GetUser", {"user_name": "bob"}, ROOT)


def test_conditions_in_identity_policies_are_evaluated(iam):
    make_user(iam, "alice")
    make_user(iam, "bob")
    kms_use = iam.call("CreatePolicy", {"policy_name": "KmsUse", "policy_document": doc(allow("kms:*"))},
                       ROOT)["policy"]["arn"]
    grant_user(iam, "alice", {"Effect": "Allow", "Action": "iam:AttachUserPolicy", "Resource": "*",
                              "Condition": {"ArnEquals": {"iam:PolicyARN": kms_use}}})
    alice = as_(iam, user_arn("alice"))
    iam.call("AttachUserPolicy", {"user_name": "bob", "policy_arn": kms_use}, alice)
    fails("AccessDenied", iam.call, "AttachUserPolicy",
          {"user_name": "bob", "policy_arn": "arn:aws:iam::aws:policy/AdministratorAccess"}, alice)


def test_principal_tags_are_condition_keys(iam):
    make_user(iam, "alice", tags=[{"key": "team", "value": "admins"}])
    make_user(iam, "bob", tags=[{"key": "team", "value": "devs"}])
    statement = {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*",
                 "Condition": {"StringEquals": {"aws:PrincipalTag/team": "admins"}}}
    arn = iam.call("CreatePolicy", {"policy_name": "admins", "policy_document": doc(statement)}, ROOT)["policy"]["arn"]
    for name in ("alice", "bob"):
        iam.call("AttachUserPolicy", {"user_name": name, "policy_arn": arn}, ROOT)
    iam.call("ListUsers", {}, as_(iam, user_arn("alice")))
    fails("AccessDenied", iam.call, "ListUsers", {}, as_(iam, user_arn("bob")))


def test_the_root_user_may_do_anything_in_its_account(iam):
    make_user(iam)
    grant_user(iam, "alice", deny("*"))
    iam.call("DeleteUserPolicy", {"user_name": "alice", "policy_name": "grant"}, ROOT)
    iam.call("DeleteUser", {"user_name": "alice"}, ROOT)


def test_a_role_session_is_authorized_by_its_roles_policies(iam):
    make_role(iam)
    session = as_(iam, role_arn("app"))
    fails("AccessDenied", iam.call, "ListRoles", {}, session,
          match=f"User: arn:aws:sts::{ACCOUNT}:assumed-role/app/{SESSION_NAME} is not authorized")
    grant_role(iam, "app", allow("iam:ListRoles"))
    assert [r["role_name"] for r in iam.call("ListRoles", {}, session)["roles"]] == ["app"]


def test_an_aws_service_principal_may_not_call_iam(iam):
    ctx = RequestContext("us-east-1", Principal.service("kms.amazonaws.com"))
    fails("AccessDenied", iam.call, "ListUsers", {}, ctx)


def test_nobody_acts_on_another_accounts_iam_resources(iam):
    theirs = iam.call("CreatePolicy", {"policy_name": "Theirs", "policy_document": doc(allow("kms:*"))},
                      OTHER_ROOT)["policy"]["arn"]
    exc = fails("AccessDenied", iam.call, "GetPolicy", {"policy_arn": theirs}, ROOT, status=403)
    assert "because no resource-based policy allows the iam:GetPolicy action" in exc.message
    fails("AccessDenied", iam.call, "DeletePolicy", {"policy_arn": theirs}, ROOT)
    fails("AccessDenied", iam.call, "GetPolicyVersion", {"policy_arn": theirs, "version_id": "v1"}, ROOT)
    iam.call("GetPolicy", {"policy_arn": theirs}, OTHER_ROOT)


def test_a_user_deleted_and_created_again_does_not_inherit_the_old_principals_rights(iam):
    make_user(iam)
    grant_user(iam, "alice", allow("iam:ListUsers"))
    old = iam.principal(user_arn("alice"))
    iam.call("DeleteUserPolicy", {"user_name": "alice", "policy_name": "grant"}, ROOT)
    iam.call("DeleteUser", {"user_name": "alice"}, ROOT)
    make_user(iam)
    grant_user(iam, "alice", allow("iam:ListUsers"))
    assert iam.identity_policies(old) == []
    fails("AccessDenied", iam.call, "ListUsers", {}, RequestContext("us-east-1", old))
    iam.call("ListUsers", {}, as_(iam, user_arn("alice")))


# ---------------------------------------------------------------------------
# STS: GetCallerIdentity
# ---------------------------------------------------------------------------


def test_get_caller_identity_of_the_root_user(iam):
    assert iam.sts_call("GetCallerIdentity", {}, ROOT) == {
        "user_id": ACCOUNT, "account": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:root"}


def test_get_caller_identity_of_a_user_needs_no_permission(iam):
    user = make_user(iam)
    grant_user(iam, "alice", deny("*"))
    assert iam.sts_call("GetCallerIdentity", {}, as_(iam, user_arn("alice"))) == {
        "user_id": user["user_id"], "account": ACCOUNT, "arn": user_arn("alice")}


def test_get_caller_identity_of_an_assumed_role_session(iam):
    role = make_role(iam)
    creds = assume(iam, ROOT, session="build-42")
    principal, _ = iam.access_key(creds["credentials"]["access_key_id"])
    got = iam.sts_call("GetCallerIdentity", {}, RequestContext("eu-west-1", principal))
    assert got == {"user_id": f"{role['role_id']}:build-42", "account": ACCOUNT,
                   "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/app/build-42"}


# ---------------------------------------------------------------------------
# STS: AssumeRole
# ---------------------------------------------------------------------------


def test_assume_role_hands_out_temporary_credentials(iam, clock):
    role = make_role(iam)
    out = assume(iam, ROOT, session="s1")
    creds = out["credentials"]
    assert re.fullmatch(r"ASIA[A-Z0-9]{16}", creds["access_key_id"])
    assert len(creds["secret_access_key"]) == 40 and len(creds["session_token"]) > 100
    assert creds["expiration"] == clock.now() + dt.timedelta(hours=1)
    assert out["assumed_role_user"] == {"assumed_role_id": f"{role['role_id']}:s1",
                                        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/app/s1"}
    principal, secret = iam.access_key(creds["access_key_id"])
    assert secret == creds["secret_access_key"]
    assert principal == Principal(f"arn:aws:sts::{ACCOUNT}:assumed-role/app/s1", ACCOUNT, "AssumedRole", "s1",
                                  role_arn("app"), f"{role['role_id']}:s1")
    assert iam.session_token(creds["access_key_id"]) == creds["session_token"]


def test_session_credentials_work_until_they_expire_on_the_simulated_clock(iam, clock):
    make_role(iam)
    creds = assume(iam, ROOT, duration_seconds=900)["credentials"]
    clock.advance(seconds=899)
    assert iam.access_key(creds["access_key_id"]) is not None
    clock.advance(seconds=1)
    assert iam.access_key(creds["access_key_id"]) is None
    assert iam.session_token(creds["access_key_id"]) is None


def test_expired_sessions_are_forgotten_when_new_ones_are_made(iam, clock):
    make_role(iam)
    old = assume(iam, ROOT, duration_seconds=900)["credentials"]["access_key_id"]
    clock.advance(hours=1)
    assume(iam, ROOT)
    assert ("sts-session", (old,)) not in {(k, i) for k, t in iam._data.items() for i in t}


def test_a_trust_policy_that_names_the_user_suffices(iam):
    make_user(iam)
    make_role(iam, "app", trust(user_arn("alice")))
    out = assume(iam, as_(iam, user_arn("alice")))
    assert out["assumed_role_user"]["arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/app/s1"


def test_a_trust_policy_that_names_the_account_needs_an_identity_policy_too(iam):
    make_user(iam)
    make_role(iam)
    alice = as_(iam, user_arn("alice"))
    exc = fails("AccessDenied", assume, iam, alice, status=403)
    assert exc.message == (f"User: {user_arn('alice')} is not authorized to perform: sts:AssumeRole on resource: "
                           f"{role_arn('app')}")
    grant_user(iam, "alice", allow("sts:AssumeRole", role_arn("app")))
    assume(iam, alice)


def test_the_root_user_needs_only_a_trust_policy_that_names_its_account(iam):
    make_role(iam)
    assume(iam, ROOT)


def test_a_trust_policy_that_does_not_name_the_caller_denies_whatever_the_identity_policy(iam):
    make_user(iam, "alice")
    make_user(iam, "bob")
    make_role(iam, "app", trust(user_arn("bob")))
    grant_user(iam, "alice", allow("sts:AssumeRole"))
    fails("AccessDenied", assume, iam, as_(iam, user_arn("alice")))
    fails("AccessDenied", assume, iam, ROOT)


def test_a_deny_in_the_trust_policy_wins(iam):
    make_user(iam)
    statements = [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"},
        {"Effect": "Deny", "Principal": {"AWS": user_arn("alice")}, "Action": "sts:AssumeRole"},
    ]
    make_role(iam, "app", doc(*statements))
    grant_user(iam, "alice", allow("sts:AssumeRole"))
    fails("AccessDenied", assume, iam, as_(iam, user_arn("alice")))
    assume(iam, ROOT)


def test_an_explicit_deny_in_the_identity_policy_wins_even_when_the_trust_names_the_user(iam):
    make_user(iam)
    make_role(iam, "app", trust(user_arn("alice")))
    grant_user(iam, "alice", deny("sts:AssumeRole"))
    fails("AccessDenied", assume, iam, as_(iam, user_arn("alice")))


def test_trust_policy_conditions_see_the_external_id(iam):
    make_role(iam, "app", trust(f"arn:aws:iam::{ACCOUNT}:root",
                                Condition={"StringEquals": {"sts:ExternalId": "xyzzy"}}))
    fails("AccessDenied", assume, iam, ROOT)
    fails("AccessDenied", lambda: assume(iam, ROOT, external_id="wrong-id"))
    assume(iam, ROOT, external_id="xyzzy")


def test_a_service_named_in_the_trust_policy_may_assume_the_role(iam):
    make_role(iam, "fn", doc({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                              "Action": "sts:AssumeRole"}))
    lam = RequestContext("us-east-1", Principal.service("lambda.amazonaws.com"))
    assert assume(iam, lam, "fn")["assumed_role_user"]["arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/fn/s1"
    fails("AccessDenied", assume, iam, ROOT, "fn")


def test_a_missing_role_is_access_denied_not_no_such_entity(iam):
    exc = fails("AccessDenied", assume, iam, ROOT, "ghost")
    assert exc.message.endswith(f"on resource: {role_arn('ghost')}")


def test_a_role_arn_that_is_not_a_role_arn_is_a_validation_error(iam):
    fails("ValidationError", assume, iam, ROOT, f"arn:aws:iam::{ACCOUNT}:user/alice", match="Request ARN is invalid")
    fails("ValidationError", assume, iam, ROOT, "arn:nonsense", match="Request ARN is invalid")


def test_a_role_session_name_must_match_stss_pattern(iam):
    make_role(iam)
    for session, words in (("x", "'roleSessionName'"), ("has space", "regular expression")):
        request = {"role_arn": role_arn("app"), "role_session_name": session}
        fails("ValidationError", sts_wire, iam, "AssumeRole", request, ROOT, match=words)


@pytest.mark.parametrize("seconds, ok", [(899, False), (900, True), (3600, True), (3601, False)])
def test_duration_seconds_is_at_least_900_and_at_most_the_roles_maximum(iam, clock, seconds, ok):
    make_role(iam)
    if ok:
        creds = assume(iam, ROOT, duration_seconds=seconds)["credentials"]
        assert creds["expiration"] == clock.now() + dt.timedelta(seconds=seconds)
    else:
        request = {"role_arn": role_arn("app"), "role_session_name": "s1", "duration_seconds": seconds}
        exc = fails("ValidationError", sts_wire, iam, "AssumeRole", request, ROOT)
        if seconds > 900:
            assert exc.message == "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."


def test_a_role_with_a_longer_maximum_allows_longer_sessions(iam, clock):
    make_role(iam, max_session_duration=43200)
    creds = assume(iam, ROOT, duration_seconds=43200)["credentials"]
    assert creds["expiration"] == clock.now() + dt.timedelta(hours=12)
    request = {"role_arn": role_arn("app"), "role_session_name": "s1", "duration_seconds": 43201}
    fails("ValidationError", sts_wire, iam, "AssumeRole", request, ROOT, match="less than or equal to 43200")


def test_role_chaining_is_limited_to_one_hour(iam):
    make_role(iam, "first")
    make_role(iam, "second", trust(role_arn("first")), max_session_duration=7200)
    creds = assume(iam, ROOT, "first", duration_seconds=3600)["credentials"]
    first, _ = iam.access_key(creds["access_key_id"])
    chained = RequestContext("us-east-1", first)
    out = assume(iam, chained, "second", "chained")
    assert out["assumed_role_user"]["arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/second/chained"
    fails("ValidationError", lambda: assume(iam, chained, "second", "chained", duration_seconds=7200),
          match="1 hour session limit for roles assumed by role chaining")


def test_cross_account_assume_role_needs_the_trust_and_the_callers_identity_policy(iam):
    make_role(iam, "shared", trust(f"arn:aws:iam::{OTHER}:root"))
    make_user(iam, "eve", ctx=OTHER_ROOT)
    eve = as_(iam, user_arn("eve", OTHER))
    fails("AccessDenied", assume, iam, eve, "shared")
    iam.call("PutUserPolicy", {"user_name": "eve", "policy_name": "p",
                               "policy_document": doc(allow("sts:AssumeRole", role_arn("shared")))}, OTHER_ROOT)
    out = assume(iam, eve, "shared")
    principal, _ = iam.access_key(out["credentials"]["access_key_id"])
    assert principal.account_id == ACCOUNT and principal.role_arn == role_arn("shared")
    assume(iam, OTHER_ROOT, "shared")  # the other account's root user needs nothing more


def test_cross_account_naming_the_user_still_needs_their_identity_policy(iam):
    make_user(iam, "eve", ctx=OTHER_ROOT)
    make_role(iam, "shared", trust(user_arn("eve", OTHER)))
    eve = as_(iam, user_arn("eve", OTHER))
    fails("AccessDenied", assume, iam, eve, "shared")
    iam.call("PutUserPolicy", {"user_name": "eve", "policy_name": "p",
                               "policy_document": doc(allow("sts:AssumeRole"))}, OTHER_ROOT)
    assume(iam, eve, "shared")
    fails("AccessDenied", assume, iam, OTHER_ROOT, "shared")  # the trust names eve, not her account


def test_a_role_not_trusting_another_account_cannot_be_assumed_from_it(iam):
    make_role(iam)
    fails("AccessDenied", assume, iam, OTHER_ROOT)


def test_session_policies_are_refused_rather_than_ignored(iam):
    make_role(iam)
    fails("ValidationError", lambda: assume(iam, ROOT, policy=doc(allow("kms:Decrypt"))), match="session policies")


def test_a_session_has_its_roles_identity_policies_until_the_role_is_deleted(iam):
    make_role(iam)
    grant_role(iam, "app", allow("kms:Decrypt"), policy_name="Decrypt")
    creds = assume(iam, ROOT)["credentials"]
    principal, _ = iam.access_key(creds["access_key_id"])
    assert [label for label, _ in iam.identity_policies(principal)] == ['inline policy "Decrypt" of role app']
    iam.call("DeleteRolePolicy", {"role_name": "app", "policy_name": "Decrypt"}, ROOT)
    iam.call("DeleteRole", {"role_name": "app"}, ROOT)
    make_role(iam)  # the same name, a new role
    grant_role(iam, "app", allow("kms:Decrypt"), policy_name="Decrypt")
    assert iam.identity_policies(principal) == []


# ---------------------------------------------------------------------------
# principal(), principal_exists(), identity_policies()
# ---------------------------------------------------------------------------


def test_principal_of_an_account_root(iam):
    assert iam.principal(f"arn:aws:iam::{OTHER}:root") == Principal.root(OTHER)


def test_principal_of_a_user(iam):
    user = make_user(iam, path="/eng/")
    p = iam.principal(user_arn("alice", path="/eng/"))
    assert p == Principal(user_arn("alice", path="/eng/"), ACCOUNT, "IAMUser", "alice", None, user["user_id"])


def test_principal_of_a_role_is_a_session_of_it(iam):
    role = make_role(iam)
    p = iam.principal(role_arn("app"))
    assert p.arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/app/kms-teach-session"
    assert p.kind == "AssumedRole" and p.role_arn == role_arn("app")
    assert p.principal_id == f"{role['role_id']}:kms-teach-session" and p.account_id == ACCOUNT


def test_principal_of_an_assumed_role_arn(iam):
    role = make_role(iam, path="/svc/")
    p = iam.principal(f"arn:aws:sts::{ACCOUNT}:assumed-role/app/batch")
    assert p.role_arn == role_arn("app", path="/svc/") and p.principal_id == f"{role['role_id']}:batch"


@pytest.mark.parametrize("arn, message", [
    (user_arn("ghost"), "There is no IAM user named ghost in account 111122223333"),
    (role_arn("ghost"), "There is no IAM role named ghost"),
    (f"arn:aws:sts::{ACCOUNT}:assumed-role/ghost/s", "There is no IAM role named ghost"),
    ("alice", "is not a principal kms_teach knows"),
    ("arn:aws:iam::aws:policy/AdministratorAccess", "is not a principal kms_teach knows"),
    ("arn:aws:iam::12345:root", "is not a principal kms_teach knows"),
])
def test_principal_explains_what_is_wrong(iam, arn, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        iam.principal(arn)


def test_principal_of_a_user_needs_the_arn_with_its_path(iam):
    make_user(iam, path="/eng/")
    with pytest.raises(ValueError, match=re.escape(user_arn("alice", path="/eng/"))):
        iam.principal(user_arn("alice"))


def test_principal_rejects_an_invalid_session_name(iam):
    make_role(iam)
    with pytest.raises(ValueError, match="not a valid role session name"):
        iam.principal(f"arn:aws:sts::{ACCOUNT}:assumed-role/app/x")


def test_principal_exists_for_roots_users_roles_and_sessions(iam):
    make_user(iam)
    make_role(iam)
    for arn in ["*", OTHER, f"arn:aws:iam::{OTHER}:root", user_arn("alice"), role_arn("app"),
                f"arn:aws:sts::{ACCOUNT}:assumed-role/app/anything"]:
        assert iam.principal_exists(arn), arn
    for arn in [user_arn("bob"), role_arn("ghost"), user_arn("alice", OTHER), "arn:aws:iam::12:root",
                f"arn:aws:sts::{ACCOUNT}:assumed-role/ghost/s", "arn:aws:iam::aws:policy/AdministratorAccess"]:
        assert not iam.principal_exists(arn), arn


def test_identity_policies_label_every_policy_of_a_user(iam):
    make_user(iam)
    grant_user(iam, "alice", allow("kms:Encrypt"), policy_name="Encrypt")
    local = iam.call("CreatePolicy", {"policy_name": "KmsUse", "policy_document": doc(allow("kms:Decrypt"))},
                     ROOT)["policy"]["arn"]
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    iam.call("AttachUserPolicy", {"user_name": "alice", "policy_arn": local}, ROOT)
    iam.call("AttachUserPolicy", {"user_name": "alice", "policy_arn": admin}, ROOT)
    got = iam.identity_policies(iam.principal(user_arn("alice")))
    assert [label for label, _ in got] == [
        'inline policy "Encrypt" of user alice',
        f"managed policy {local} attached to user alice",
        f"managed policy {admin} attached to user alice",
    ]
    assert got[0][1] == doc(allow("kms:Encrypt")) and got[1][1] == doc(allow("kms:Decrypt"))
    assert json.loads(got[2][1])["Statement"][0] == {"Effect": "Allow", "Action": "*", "Resource": "*"}


def test_identity_policies_of_a_role_session_are_the_roles(iam):
    make_role(iam)
    grant_role(iam, "app", allow("kms:Encrypt"), policy_name="Encrypt")
    arn = iam.call("CreatePolicy", {"policy_name": "KmsUse", "policy_document": doc(allow("kms:*"))},
                   ROOT)["policy"]["arn"]
    iam.call("AttachRolePolicy", {"role_name": "app", "policy_arn": arn}, ROOT)
    got = iam.identity_policies(iam.principal(role_arn("app")))
    assert got == [('inline policy "Encrypt" of role app', doc(allow("kms:Encrypt"))),
                   (f"managed policy {arn} attached to role app", doc(allow("kms:*")))]


def test_roots_and_services_have_no_identity_policies(iam):
    assert iam.identity_policies(Principal.root(ACCOUNT)) == []
    assert iam.identity_policies(Principal.service("kms.amazonaws.com")) == []
    assert iam.identity_policies(Principal(user_arn("ghost"), ACCOUNT, "IAMUser", "ghost")) == []


# ---------------------------------------------------------------------------
# Persistence: one transaction per operation; a reopened store restores everything
# ---------------------------------------------------------------------------


class CountingStore(MemoryStore):
    def __init__(self, fail: bool = False):
        self.commits = []
        self.fail = fail

    def commit(self, changes):
        if self.fail:
            raise OSError("disk full")
        self.commits.append(changes)


def test_each_operation_commits_its_changes_in_one_transaction(clock):
    store = CountingStore()
    iam = IAM(clock=clock, random=RandomSource(seed=1), store=store)
    make_user(iam)
    assert len(store.commits) == 1
    assert {kind for kind, _ in store.commits[0].records} == {"iam-user", "iam-account"}
    make_role(iam)
    iam.call("CreateAccessKey", {"user_name": "alice"}, ROOT)
    assert [sorted({k for k, _ in c.records}) for c in store.commits[1:]] == [["iam-role"], ["iam-access-key"]]
    assume(iam, ROOT)
    assert sorted({k for k, _ in store.commits[-1].records}) == ["iam-role", "sts-session"]
    before = len(store.commits)
    iam.call("ListUsers", {}, ROOT)
    iam.call("GetRole", {"role_name": "app"}, ROOT)
    iam.sts_call("GetCallerIdentity", {}, ROOT)
    assert len(store.commits) == before  # reading writes nothing


def test_a_failed_operation_writes_nothing(clock):
    store = CountingStore()
    iam = IAM(clock=clock, random=RandomSource(seed=1), store=store)
    make_user(iam)
    before = len(store.commits)
    fails("EntityAlreadyExists", make_user, iam)
    fails("MalformedPolicyDocument", make_role, iam, "app", "{")
    assert len(store.commits) == before


def test_when_the_store_cannot_be_written_nothing_changes(clock):
    store = CountingStore(fail=True)
    iam = IAM(clock=clock, random=RandomSource(seed=1), store=store)
    fails("ServiceFailure", make_user, iam, status=500)
    store.fail = False
    fails("NoSuchEntity", iam.call, "GetUser", {"user_name": "alice"}, ROOT)
    make_user(iam)


def test_a_reopened_sqlite_store_restores_every_user_role_policy_key_and_session(tmp_path, clock):
    random = RandomSource(seed=1)
    store = SQLiteStore(tmp_path, random)
    iam = IAM(clock=clock, random=random, store=store)
    user = make_user(iam, tags=[{"key": "team", "value": "blue"}])
    make_user(iam, "eve", ctx=OTHER_ROOT)
    make_role(iam, max_session_duration=7200)
    grant_user(iam, "alice", allow("sts:AssumeRole"), policy_name="Assume")
    grant_role(iam, "app", allow("kms:*"), policy_name="Kms")
    arn = iam.call("CreatePolicy", {"policy_name": "KmsUse", "policy_document": doc(allow("kms:*"))},
                   ROOT)["policy"]["arn"]
    iam.call("AttachUserPolicy", {"user_name": "alice", "policy_arn": arn}, ROOT)
    key = iam.call("CreateAccessKey", {"user_name": "alice"}, ROOT)["access_key"]
    creds = assume(iam, as_(iam, user_arn("alice")))["credentials"]
    store.close()

    store2 = SQLiteStore(tmp_path, RandomSource(seed=2))
    again = IAM(clock=clock, random=RandomSource(seed=2), store=store2)
    assert again.call("GetUser", {"user_name": "alice"}, ROOT)["user"] == user
    assert [u["user_name"] for u in again.call("ListUsers", {}, OTHER_ROOT)["users"]] == ["eve"]
    assert again.call("GetRole", {"role_name": "app"}, ROOT)["role"]["max_session_duration"] == 7200
    assert [label for label, _ in again.identity_policies(again.principal(user_arn("alice")))] == [
        'inline policy "Assume" of user alice', f"managed policy {arn} attached to user alice"]
    assert again.access_key(key["access_key_id"]) == (again.principal(user_arn("alice")), key["secret_access_key"])
    session, secret = again.access_key(creds["access_key_id"])
    assert secret == creds["secret_access_key"] and session.role_arn == role_arn("app")
    assert again.session_token(creds["access_key_id"]) == creds["session_token"]
    assert again.call("GetPolicy", {"policy_arn": arn}, ROOT)["policy"]["attachment_count"] == 1
    # new IDs never collide with restored ones
    again.call("CreateUser", {"user_name": "bob"}, ROOT)
    store2.close()

    raw = (tmp_path / "kms.sqlite3").read_bytes()
    wal = tmp_path / "kms.sqlite3-wal"
    raw += wal.read_bytes() if wal.exists() else b""
    for secret_text in (key["secret_access_key"], creds["secret_access_key"], creds["session_token"][:40], "alice"):
        assert secret_text.encode() not in raw
    with sqlite3.connect(tmp_path / "kms.sqlite3") as db:
        kinds = {k for (k,) in db.execute("SELECT DISTINCT kind FROM records")}
    assert {"iam-user", "iam-role", "iam-policy", "iam-access-key", "sts-session", "iam-account"} <= kinds


def test_deletions_persist_too(tmp_path, clock):
    random = RandomSource(seed=1)
    store = SQLiteStore(tmp_path, random)
    iam = IAM(clock=clock, random=random, store=store)
    make_user(iam)
    key = iam.call("CreateAccessKey", {"user_name": "alice"}, ROOT)["access_key"]["access_key_id"]
    iam.call("DeleteAccessKey", {"user_name": "alice", "access_key_id": key}, ROOT)
    iam.call("DeleteUser", {"user_name": "alice"}, ROOT)
    store.close()
    again = IAM(clock=clock, random=random, store=SQLiteStore(tmp_path, random))
    assert again.call("ListUsers", {}, ROOT)["users"] == []
    assert again.access_key(key) is None


def test_concurrent_calls_are_serialized(iam):
    import threading

    errors = []

    def worker(i):
        try:
            for j in range(10):
                make_user(iam, f"user-{i}-{j}")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    users = iam.call("ListUsers", {"max_items": 1000}, ROOT)["users"]
    assert len(users) == 80 and len({u["user_id"] for u in users}) == 80
