"""Every operation of every service runs the service base's path: declared, authorized before it acts, audited.

The operations are enumerated from botocore's model of each service and from the handlers each service
registers (``Service.OPERATIONS``). Each one is called with a request that passes its validation and names
resources that exist, as an IAM user, with the permissions engine replaced by one that records what it is
asked and refuses everything: the test fails for any operation that acts (writes to the store, or runs its
handler past the point where it must be authorized) without having asked the engine - or its declared
authorizer - for its action, and for any management event that is not in the audit trail.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

import kms_teach
from kms_teach._errors import AWSError
from kms_teach._services.base import DATA, IN_HANDLER, MANAGEMENT, RequestContext, Service
from kms_teach._services.s3.service import _SUPPORTED
from kms_teach._wire import service_model

ACCT = "111122223333"
START = "2026-01-01T09:00:00+00:00"


def _doc(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.fixture(scope="module")
def setup():
    """A cloud with one of everything an operation may name, and the request members that name them."""
    import datetime as dt

    cloud = kms_teach.Cloud(clock=kms_teach.Clock(dt.datetime.fromisoformat(START), frozen=True), seed=16)
    kms, iam, s3 = cloud.client("kms"), cloud.client("iam"), cloud.client("s3")
    user = iam.create_user(UserName="u")["User"]["Arn"]
    akid = iam.create_access_key(UserName="u")["AccessKey"]["AccessKeyId"]
    trust = _doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "sts:AssumeRole"})
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    identity = _doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    policy = iam.create_policy(PolicyName="p", PolicyDocument=identity)["Policy"]["Arn"]
    key = kms.create_key()["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName="alias/uni", TargetKeyId=key)
    grant = kms.create_grant(KeyId=key, GranteePrincipal=user, Operations=["Decrypt", "RetireGrant"])["GrantId"]
    blob = kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    s3.create_bucket(Bucket="uni")
    s3.put_object(Bucket="uni", Key="o", Body=b"x")
    bucket_policy = _doc({"Effect": "Allow", "Principal": {"AWS": user}, "Action": "s3:GetObject",
                          "Resource": "arn:aws:s3:::uni/*"})
    requests = {
        "kms": {
            "key_id": key, "plaintext": b"x", "ciphertext_blob": blob, "destination_key_id": key, "message": b"m",
            "signing_algorithm": "ECDSA_SHA_256", "mac_algorithm": "HMAC_SHA_256", "key_agreement_algorithm": "ECDH",
            "public_key": b"pk", "key_pair_spec": "RSA_2048", "operations": ["Encrypt"], "grantee_principal": user,
            "grant_id": grant, "wrapping_algorithm": "RSAES_OAEP_SHA_256", "wrapping_key_spec": "RSA_2048",
            "import_token": b"t", "encrypted_key_material": b"m", "replica_region": "us-west-2",
            "primary_region": "us-west-2", "alias_name": "alias/uni", "target_key_id": key, "number_of_bytes": 16,
            "key_spec": "AES_256", "policy_name": "default", "description": "d", "tags": [], "tag_keys": ["a"],
            "policy": _doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"},
                            "Action": "kms:*", "Resource": "*"}),
        },
        "iam": {
            "user_name": "u", "role_name": "r", "policy_name": "p", "policy_document": identity,
            "assume_role_policy_document": trust, "policy_arn": policy, "access_key_id": akid, "status": "Active",
            "version_id": "v1",
        },
        "sts": {"role_arn": role, "role_session_name": "session"},
        "s3": {"bucket": "uni", "key": "o", "body": b"x", "policy": bucket_policy,
               "server_side_encryption_configuration": {
                   "rules": [{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}]}},
        "cloudtrail": {},
    }
    services = {"kms": cloud.kms, "iam": cloud.iam, "sts": cloud.iam.sts, "s3": cloud.s3,
                "cloudtrail": cloud.cloudtrail}
    yield cloud, services, requests, user
    cloud.close()


def _cases():
    from kms_teach._services.cloudtrail import CloudTrail
    from kms_teach._services.iam.service import IAM, STS
    from kms_teach._services.kms.service import KMS
    from kms_teach._services.s3.service import S3

    classes = {"kms": KMS, "iam": IAM, "sts": STS, "s3": S3, "cloudtrail": CloudTrail}
    return [(service, op) for service, cls in classes.items() for op in sorted(cls.OPERATIONS)]


CASES = _cases()


def test_every_service_is_a_service_of_the_base(setup):
    _cloud, services, _requests, _user = setup
    for name, service in services.items():
        assert isinstance(service, Service), name
        model = set(service_model(name).operation_names)
        registered = set(service.OPERATIONS)
        assert registered, name
        assert registered <= model, (name, registered - model)  # every handler is an operation AWS has
        handlers = {n[4:] for n in dir(type(service)) if n.startswith("_op_")}
        if name not in ("iam", "sts"):  # IAM's and STS's handlers are one class's (_op_ for IAM, _sts_ for STS)
            assert handlers == registered, (name, handlers ^ registered)  # no handler outside the table


@pytest.mark.parametrize("service_name, operation", CASES, ids=[f"{s}-{o}" for s, o in CASES])
def test_each_operation_is_declared_authorized_before_it_acts_and_audited(setup, service_name, operation,
                                                                         monkeypatch):
    cloud, services, requests, user = setup
    service = services[service_name]
    op = service.OPERATIONS[operation]
    prefix = {"kms": "kms:", "iam": "iam:", "sts": "sts:", "s3": "s3:", "cloudtrail": "cloudtrail:"}[service_name]
    assert op.action.startswith(prefix), op.action
    assert op.event in (MANAGEMENT, DATA)
    if op.authorize is not None:
        assert op.authorized_by, operation

    asked: list[str] = []

    class Refused(AWSError):
        code = "AccessDeniedByTheTest"

    def engine(ctx, action, resource, request, **kw):
        asked.append(action)
        raise Refused(f"{action} refused by the test")

    def declared(svc, call, target):
        asked.append(target.action)
        raise Refused(f"{target.action} refused by the test")

    acted: list[str] = []
    handler = op.handler

    def watched(svc, ctx, request, call):
        if op.resolve is not IN_HANDLER:
            acted.append(operation)  # a handler that runs before its targets are authorized
        return handler(svc, ctx, request, call)

    monkeypatch.setattr(service, "authorizer", engine)
    monkeypatch.setitem(service.OPERATIONS, operation, dataclasses.replace(
        op, handler=watched, authorize=declared if op.authorize is not None else None))
    commits: list = []
    store_commit = cloud.store.commit
    monkeypatch.setattr(cloud.store, "commit", lambda changes: commits.append(changes) or store_commit(changes))

    request = dict(requests[service_name])
    if service_name == "s3":
        request = {k: v for k, v in request.items() if k in _SUPPORTED[operation]}
        if operation == "CreateBucket":
            request = {"bucket": "another"}
    ctx = RequestContext("us-east-1", cloud.principal(user), request_id="test")
    before = len(cloud.audit)
    with pytest.raises(AWSError) as excinfo:
        service.call(operation, request, ctx)
    assert isinstance(excinfo.value, Refused), (
        f"{service_name} {operation} answered {excinfo.value!r} before asking for authorization")
    assert asked and asked[0].startswith(prefix), asked
    assert not acted and not commits, f"{service_name} {operation} acted without being authorized"
    if op.event == MANAGEMENT:
        assert len(cloud.audit) == before + 1, f"{service_name} {operation} is not in the audit trail"
        event = cloud.audit.events[-1]
        assert event["eventName"] == operation and event["errorCode"] == "AccessDeniedByTheTest"
        assert event["eventSource"] == service.EVENT_SOURCE
    else:
        assert len(cloud.audit) == before  # data events are not in the event history


@pytest.mark.parametrize("service_name", ["kms", "iam", "sts", "s3", "cloudtrail"])
def test_an_operation_no_handler_declares_is_refused_and_changes_nothing(setup, service_name, monkeypatch):
    cloud, services, _requests, user = setup
    service = services[service_name]
    missing = sorted(set(service_model(service_name).operation_names) - set(service.OPERATIONS))
    assert missing, service_name  # kms_teach simulates part of each service
    commits: list = []
    monkeypatch.setattr(cloud.store, "commit", lambda changes: commits.append(changes))
    ctx = RequestContext("us-east-1", cloud.principal(user), request_id="test")
    for operation in missing:
        with pytest.raises(AWSError) as excinfo:
            service.call(operation, {}, ctx)
        assert excinfo.value.code in ("UnsupportedOperationException", "InvalidAction", "NotImplemented"), operation
    assert not commits


def test_a_handler_that_names_nothing_to_authorize_is_a_fault_not_a_pass(setup, monkeypatch):
    cloud, services, requests, _user = setup
    kms = services["kms"]
    op = kms.OPERATIONS["DescribeKey"]
    monkeypatch.setitem(kms.OPERATIONS, "DescribeKey", dataclasses.replace(op, resolve=lambda svc, call: []))
    # A simulator fault: the wire answers it with the service's internal error (HTTP 500), and the trail
    # records the refusal.
    with pytest.raises(RuntimeError, match="resolved nothing to authorize"):
        kms.call("DescribeKey", {"key_id": requests["kms"]["key_id"]},
                 RequestContext("us-east-1", cloud.principal(None)))
    assert cloud.audit.events[-1]["errorCode"] == "KMSInternalException"
    iam = services["iam"]
    op = iam.OPERATIONS["ListUsers"]
    monkeypatch.setitem(iam.OPERATIONS, "ListUsers", dataclasses.replace(
        op, handler=lambda svc, ctx, request, call: iter(())))  # a handler that never yields its resource
    with pytest.raises(RuntimeError, match="without naming what to authorize"):
        iam.call("ListUsers", {}, RequestContext("us-east-1", cloud.principal(None)))
    assert cloud.audit.events[-1]["errorCode"] == "ServiceFailure"
    with pytest.raises(Exception) as excinfo:
        cloud.client("iam").list_users()
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
