"""AWS's query protocol (IAM, STS): round trips through real botocore clients, validation, malformed bodies."""

from __future__ import annotations

import datetime as dt
import types
from urllib.parse import quote
import xml.etree.ElementTree as ET

import pytest
from botocore import xform_name
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from hypothesis import given, settings
from hypothesis import strategies as st

from kms_teach._cloud import _RawBody
from kms_teach._errors import AWSError, DeleteConflict, EntityAlreadyExists, NoSuchEntity, ServiceFailure
from kms_teach._wire import boto3_session
from kms_teach._wire.query import QueryProtocol, _java_pattern

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
ACCOUNT = "111122223333"
FORM = "application/x-www-form-urlencoded; charset=utf-8"


# ---------------------------------------------------------------------------
# A botocore client answered by QueryProtocol and a recording fake service
# ---------------------------------------------------------------------------


class FakeService:
    """Records each call; answers with the reply set for the operation (or raises it)."""

    def __init__(self):
        self.calls: list[tuple[str, dict]] = []
        self.replies: dict[str, object] = {}
        self.contexts: list = []

    def __call__(self, operation, request, ctx):
        self.calls.append((operation, request))
        self.contexts.append(ctx)
        reply = self.replies.get(operation)
        if isinstance(reply, AWSError):
            raise reply
        return reply

    @property
    def last(self):
        return self.calls[-1]


class Wire:
    def __init__(self, service_name: str):
        self.service = FakeService()
        self.protocol = QueryProtocol(service_name, self.service)
        self.raw: list = []  # (request body, WireResponse)
        # The one boto3 Session over the shared botocore session: another would register boto3's S3
        # customisations on it again, and every S3 client made afterwards in this process would fail.
        session = boto3_session()
        self.client = session.client(
            service_name,
            region_name="us-east-1",
            endpoint_url="https://iam.kms-teach.invalid",
            aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
            aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        )
        self.client.meta.events.register_first("before-send", self._send)

    def _send(self, request, **kwargs):
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif not isinstance(body, (bytes, bytearray)):
            body = body.read()
        content_type = request.headers.get("Content-Type")
        if isinstance(content_type, bytes):
            content_type = content_type.decode("latin-1")
        ctx = types.SimpleNamespace(request_id="")
        reply = self.protocol.handle(bytes(body), ctx, content_type)
        self.raw.append((bytes(body), reply))
        return AWSResponse(request.url, reply.status, reply.headers, _RawBody(reply.body))

    def round_trip(self, method: str, params: dict, response: dict | None):
        """Call ``client.<method>(**params)``; the fake service answers ``response`` (botocore's names)."""
        op_name = self.client.meta.method_to_api_mapping[method]
        op = self.protocol.model.operation_model(op_name)
        self.service.replies[op_name] = None if response is None else snake(response, op.output_shape)
        got = getattr(self.client, method)(**params)
        metadata = got.pop("ResponseMetadata")
        assert metadata["HTTPStatusCode"] == 200
        assert metadata["RequestId"] == self.service.contexts[-1].request_id != ""
        assert self.service.last == (op_name, snake(params, op.input_shape) if op.input_shape else {})
        return got


def snake(value, shape):
    """A botocore-style value in the service's snake_case (map keys are data, not names)."""
    t = shape.type_name
    if t == "structure":
        return {xform_name(k): snake(v, shape.members[k]) for k, v in value.items()}
    if t == "list":
        return [snake(v, shape.member) for v in value]
    if t == "map":
        return {k: snake(v, shape.value) for k, v in value.items()}
    if t == "timestamp":
        return value.astimezone(UTC)
    return value


@pytest.fixture(scope="module")
def iam():
    return Wire("iam")


@pytest.fixture(scope="module")
def sts():
    return Wire("sts")


def _user(name="alice", **extra):
    user = {
        "Path": "/engineering/",
        "UserName": name,
        "UserId": "AIDAJQABLZS4A3QDU576Q",
        "Arn": f"arn:aws:iam::{ACCOUNT}:user/engineering/{name}",
        "CreateDate": T0,
    }
    user.update(extra)
    return user


# ---------------------------------------------------------------------------
# Round trips: what boto3 sends is what the service receives, and back
# ---------------------------------------------------------------------------


def test_create_role_with_tags_reaches_the_service_exactly(iam):
    role = {
        "Path": "/service-role/",
        "RoleName": "app",
        "RoleId": "AROADBQP57FF2AEXAMPLE",
        "Arn": f"arn:aws:iam::{ACCOUNT}:role/service-role/app",
        "CreateDate": T0,
        # IAM returns policy documents URL-encoded; botocore decodes them into dicts
        # (its json_decode_policies handler), so the service must encode them as AWS does.
        "AssumeRolePolicyDocument": quote('{"Version": "2012-10-17", "Statement": []}'),
        "Description": "runs the app",
        "MaxSessionDuration": 7200,
        "Tags": [{"Key": "team", "Value": "blue"}, {"Key": "cost centre", "Value": ""}],
        "RoleLastUsed": {"LastUsedDate": T0 + dt.timedelta(days=3), "Region": "eu-west-1"},
    }
    got = iam.round_trip(
        "create_role",
        {
            "Path": "/service-role/",
            "RoleName": "app",
            "AssumeRolePolicyDocument": '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]}',
            "Description": "runs the app & more",
            "MaxSessionDuration": 7200,
            "PermissionsBoundary": f"arn:aws:iam::{ACCOUNT}:policy/boundary",
            "Tags": [{"Key": "team", "Value": "blue"}, {"Key": "cost centre", "Value": ""}],
        },
        {"Role": role},
    )
    # Spelled out once, in the service's own names, not through the helper:
    assert iam.service.last == (
        "CreateRole",
        {
            "path": "/service-role/",
            "role_name": "app",
            "assume_role_policy_document": '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]}',
            "description": "runs the app & more",
            "max_session_duration": 7200,
            "permissions_boundary": f"arn:aws:iam::{ACCOUNT}:policy/boundary",
            "tags": [{"key": "team", "value": "blue"}, {"key": "cost centre", "value": ""}],
        },
    )
    assert got == {"Role": dict(role, AssumeRolePolicyDocument={"Version": "2012-10-17", "Statement": []})}
    body = iam.raw[-1][0].decode()
    assert "Tags.member.2.Key=cost+centre" in body and body.endswith("Tags.member.2.Value=")


def test_put_role_policy_and_a_response_with_no_output_shape(iam):
    document = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}'
    got = iam.round_trip(
        "put_role_policy", {"RoleName": "app", "PolicyName": "s3", "PolicyDocument": document}, None
    )
    assert got == {}
    reply = iam.raw[-1][1]
    root = ET.fromstring(reply.body)
    assert root.tag == "{https://iam.amazonaws.com/doc/2010-05-08/}PutRolePolicyResponse"
    assert [_local(child.tag) for child in root] == ["ResponseMetadata"]  # no PutRolePolicyResult


def test_create_policy_with_tags(iam):
    policy = {
        "PolicyName": "read-only",
        "PolicyId": "ANPAJ2UCCR6DPCEXAMPLE",
        "Arn": f"arn:aws:iam::{ACCOUNT}:policy/team/read-only",
        "Path": "/team/",
        "DefaultVersionId": "v1",
        "AttachmentCount": 0,
        "PermissionsBoundaryUsageCount": 0,
        "IsAttachable": True,
        "Description": "reads things",
        "CreateDate": T0,
        "UpdateDate": T0,
        "Tags": [{"Key": "owner", "Value": "sec@example.com"}],
    }
    got = iam.round_trip(
        "create_policy",
        {
            "PolicyName": "read-only",
            "Path": "/team/",
            "PolicyDocument": '{"Version":"2012-10-17","Statement":[]}',
            "Description": "reads things",
            "Tags": [{"Key": "owner", "Value": "sec@example.com"}],
        },
        {"Policy": policy},
    )
    assert got == {"Policy": policy}


def test_list_users_with_marker_and_max_items(iam):
    users = [
        _user("alice", PasswordLastUsed=T0 + dt.timedelta(hours=5, microseconds=250000)),
        _user("bob", Tags=[{"Key": "k", "Value": "v"}],
              PermissionsBoundary={"PermissionsBoundaryType": "PermissionsBoundaryPolicy",
                                   "PermissionsBoundaryArn": f"arn:aws:iam::{ACCOUNT}:policy/b"}),
    ]
    response = {"Users": users, "IsTruncated": True, "Marker": "bWFya2VyLTI="}
    got = iam.round_trip("list_users", {"PathPrefix": "/engineering/", "Marker": "bWFya2VyLTE=", "MaxItems": 2},
                         response)
    assert got == response
    assert iam.service.last[1] == {"path_prefix": "/engineering/", "marker": "bWFya2VyLTE=", "max_items": 2}

    empty = {"Users": [], "IsTruncated": False}
    assert iam.round_trip("list_users", {}, empty) == empty


def test_tag_and_untag_user(iam):
    tags = [{"Key": f"k{i}", "Value": f"v {i} é"} for i in range(1, 13)]  # two-digit indexes sort numerically
    assert iam.round_trip("tag_user", {"UserName": "alice", "Tags": tags}, None) == {}
    assert iam.service.last[1]["tags"] == [{"key": f"k{i}", "value": f"v {i} é"} for i in range(1, 13)]
    assert iam.round_trip("tag_user", {"UserName": "alice", "Tags": []}, None) == {}  # sent as "Tags="
    assert iam.service.last[1] == {"user_name": "alice", "tags": []}
    assert iam.round_trip("untag_user", {"UserName": "alice", "TagKeys": ["k1", "k2"]}, None) == {}
    assert iam.service.last[1] == {"user_name": "alice", "tag_keys": ["k1", "k2"]}


def test_get_user_with_dates_boundary_and_tags(iam):
    user = _user(
        "carol",
        PasswordLastUsed=dt.datetime(2026, 2, 3, 4, 5, 6, 789000, tzinfo=UTC),
        PermissionsBoundary={"PermissionsBoundaryType": "PermissionsBoundaryPolicy",
                             "PermissionsBoundaryArn": f"arn:aws:iam::{ACCOUNT}:policy/boundary"},
        Tags=[{"Key": "team", "Value": "red"}, {"Key": "empty", "Value": ""}],
    )
    got = iam.round_trip("get_user", {"UserName": "carol"}, {"User": user})
    assert got == {"User": user}
    body = iam.raw[-1][1].body.decode()
    assert "<CreateDate>2026-01-01T09:00:00Z</CreateDate>" in body
    assert "<PasswordLastUsed>2026-02-03T04:05:06.789Z</PasswordLastUsed>" in body
    assert "<GetUserResult><User>" in body  # the model's resultWrapper


def test_get_user_without_parameters(iam):
    assert iam.round_trip("get_user", {}, {"User": _user()}) == {"User": _user()}
    assert iam.service.last == ("GetUser", {})


def test_list_policies_boolean_and_enum(iam):
    response = {"Policies": [], "IsTruncated": False}
    got = iam.round_trip("list_policies", {"Scope": "Local", "OnlyAttached": True, "PolicyUsageFilter":
                                           "PermissionsPolicy", "MaxItems": 10}, response)
    assert got == response
    assert iam.service.last[1]["only_attached"] is True
    iam.round_trip("list_policies", {"OnlyAttached": False}, response)
    assert iam.service.last[1] == {"only_attached": False}


def test_maps_in_requests_and_responses(iam):
    assert iam.round_trip("put_account_properties", {"Properties": {"Alpha": "1", "Beta/2": "two words"}}, None) == {}
    assert iam.service.last[1] == {"properties": {"Alpha": "1", "Beta/2": "two words"}}
    assert "Properties.entry.1.key=Alpha" in iam.raw[-1][0].decode()
    summary = {"SummaryMap": {"Users": 3, "UsersQuota": 5000, "Policies": 0}}
    assert iam.round_trip("get_account_summary", {}, summary) == summary
    assert "<entry><key>Users</key><value>3</value></entry>" in iam.raw[-1][1].body.decode()


def test_strings_that_need_escaping_survive_the_xml(iam):
    awkward = 'a < b && c > d ]]> "q" \'s\' \r\nline two\ttab é 一 😀 %41 +'
    role = {"Path": "/", "RoleName": "x", "RoleId": "AROADBQP57FF2AEXAMPLE", "Arn": f"arn:aws:iam::{ACCOUNT}:role/x",
            "CreateDate": T0, "Description": awkward}
    got = iam.round_trip("get_role", {"RoleName": "x"}, {"Role": role})
    assert got["Role"]["Description"] == awkward
    iam.round_trip("update_role_description", {"RoleName": "x", "Description": "a+b %41 & é"}, {"Role": role})
    assert iam.service.last[1]["description"] == "a+b %41 & é"


def test_sts_get_caller_identity(sts):
    response = {"UserId": "AIDAJQABLZS4A3QDU576Q", "Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/alice"}
    assert sts.round_trip("get_caller_identity", {}, response) == response
    assert sts.service.last == ("GetCallerIdentity", {})
    body = sts.raw[-1][1].body.decode()
    assert body.startswith('<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
                           "<GetCallerIdentityResult>")


def test_sts_assume_role_with_policy_arns_and_tags(sts):
    params = {
        "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/app",
        "RoleSessionName": "session-1",
        "PolicyArns": [{"arn": f"arn:aws:iam::{ACCOUNT}:policy/p1"}, {"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}],
        "Policy": '{"Version":"2012-10-17","Statement":[]}',
        "DurationSeconds": 3600,
        "Tags": [{"Key": "project", "Value": "kms"}, {"Key": "env", "Value": "dev"}],
        "TransitiveTagKeys": ["project"],
        "ExternalId": "ext-123",
        "SourceIdentity": "alice",
    }
    response = {
        "Credentials": {
            "AccessKeyId": "ASIAIOSFODNN7EXAMPLE",
            "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
            "SessionToken": "IQoJb3JpZ2luX2VjEXAMPLE/+==",
            "Expiration": T0 + dt.timedelta(hours=1),
        },
        "AssumedRoleUser": {"AssumedRoleId": "AROA3XFRBF535PLBIFPI4:session-1",
                            "Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/app/session-1"},
        "PackedPolicySize": 6,
        "SourceIdentity": "alice",
    }
    assert sts.round_trip("assume_role", params, response) == response
    assert sts.service.last[1]["policy_arns"] == [
        {"arn": f"arn:aws:iam::{ACCOUNT}:policy/p1"}, {"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}
    ]
    assert sts.service.last[1]["transitive_tag_keys"] == ["project"]
    assert "<Expiration>2026-01-01T10:00:00Z</Expiration>" in sts.raw[-1][1].body.decode()


# Other query services exercise what IAM and STS never send: flattened lists,
# maps with their own entry names, blobs, timestamps and doubles in requests.


def test_flattened_lists_with_named_items():
    sdb = Wire("sdb")
    attributes = [{"Name": "colour", "Value": "blue"}, {"Name": "size", "Value": "L", "AlternateValueEncoding": "x"}]
    assert sdb.round_trip("get_attributes", {"DomainName": "d", "ItemName": "i", "AttributeNames": ["colour", "size"]},
                          {"Attributes": attributes}) == {"Attributes": attributes}
    body = sdb.raw[-1]
    assert "AttributeName.1=colour" in body[0].decode()
    assert "<Attribute><Name>colour</Name>" in body[1].body.decode()
    one = [{"Name": "only", "Value": "1"}]  # a single flattened item is still a list
    assert sdb.round_trip("get_attributes", {"DomainName": "d", "ItemName": "i"}, {"Attributes": one}) == {
        "Attributes": one
    }
    params = {"DomainName": "d", "ItemName": "i", "Attributes": [{"Name": "n", "Value": "v", "Replace": True}],
              "Expected": {"Name": "n", "Exists": False}}
    assert sdb.round_trip("put_attributes", params, None) == {}
    assert "Attribute.1.Replace=true" in sdb.raw[-1][0].decode()
    assert sdb.round_trip("delete_attributes", {"DomainName": "d", "ItemName": "i", "Attributes": []}, None) == {}
    assert sdb.service.last[1] == {"domain_name": "d", "item_name": "i", "attributes": []}  # sent as "Attributes="


def test_named_map_entries_and_blobs():
    sns = Wire("sns")
    params = {
        "TopicArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:t",
        "Message": "hello",
        "MessageAttributes": {
            "bin": {"DataType": "Binary", "BinaryValue": b"\x00\xffbinary\n"},
            "str": {"DataType": "String", "StringValue": "x y"},
        },
    }
    assert sns.round_trip("publish", params, {"MessageId": "m-1"}) == {"MessageId": "m-1"}
    assert sns.service.last[1]["message_attributes"]["bin"]["binary_value"] == b"\x00\xffbinary\n"
    assert "MessageAttributes.entry.1.Name=bin" in sns.raw[-1][0].decode()
    attrs = {"Policy": '{"a": 1}', "DisplayName": "<t&t>"}
    assert sns.round_trip("get_topic_attributes", {"TopicArn": params["TopicArn"]}, {"Attributes": attrs}) == {
        "Attributes": attrs
    }


def test_timestamps_and_doubles_in_requests():
    autoscaling = Wire("autoscaling")
    params = {"AutoScalingGroupName": "g", "ScheduledActionName": "a", "StartTime": T0,
              "EndTime": dt.datetime(2026, 6, 1, 12, 30, 15, 123456, tzinfo=UTC), "MinSize": 0, "MaxSize": 10}
    assert autoscaling.round_trip("put_scheduled_update_group_action", params, None) == {}
    actions = {"ScheduledUpdateGroupActions": [{"ScheduledActionName": "a", "StartTime": T0, "MaxSize": 10}]}
    assert autoscaling.round_trip("describe_scheduled_actions", {"AutoScalingGroupName": "g"}, actions) == actions
    policy = {"AutoScalingGroupName": "g", "PolicyName": "p", "PolicyType": "TargetTrackingScaling",
              "TargetTrackingConfiguration": {"PredefinedMetricSpecification": {
                  "PredefinedMetricType": "ASGAverageCPUUtilization"}, "TargetValue": 42.5}}
    autoscaling.round_trip("put_scaling_policy", policy, {"PolicyARN": "arn:p", "Alarms": []})
    assert autoscaling.service.last[1]["target_tracking_configuration"]["target_value"] == 42.5


# ---------------------------------------------------------------------------
# Errors raised by the service reach boto3 as AWS's ClientError
# ---------------------------------------------------------------------------


def test_no_such_entity_is_a_404(iam):
    iam.service.replies["GetUser"] = NoSuchEntity("The user with name bob cannot be found.")
    with pytest.raises(iam.client.exceptions.NoSuchEntityException) as excinfo:
        iam.client.get_user(UserName="bob")
    response = excinfo.value.response
    assert response["Error"] == {"Type": "Sender", "Code": "NoSuchEntity",
                                 "Message": "The user with name bob cannot be found."}
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 404  # the status of the class, as the model has it
    assert response["ResponseMetadata"]["RequestId"] == iam.service.contexts[-1].request_id
    root = ET.fromstring(iam.raw[-1][1].body)
    assert root.tag == "{https://iam.amazonaws.com/doc/2010-05-08/}ErrorResponse"
    assert [_local(c.tag) for c in root] == ["Error", "RequestId"]


def test_entity_already_exists_and_error_classes(iam):
    iam.service.replies["CreateUser"] = EntityAlreadyExists("User with name alice already exists.")
    with pytest.raises(iam.client.exceptions.EntityAlreadyExistsException) as excinfo:
        iam.client.create_user(UserName="alice")
    assert excinfo.value.response["Error"]["Code"] == "EntityAlreadyExists"
    assert excinfo.value.response["Error"]["Message"] == "User with name alice already exists."
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409


def test_the_class_status_is_answered_and_5xx_is_a_receiver_fault(iam):
    iam.service.replies["DeleteRole"] = DeleteConflict("Cannot delete entity, must detach all policies first.")
    with pytest.raises(iam.client.exceptions.DeleteConflictException) as excinfo:
        iam.client.delete_role(RoleName="app")
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409

    protocol = QueryProtocol("iam", _raises(ServiceFailure("boom")))
    status, err, reply = _raw(protocol, "Action=ListRoles&Version=2010-05-08")
    assert (status, err["Type"], err["Code"]) == (500, "Receiver", "ServiceFailure")


class ExpiredTokenException(AWSError):
    """An STS error kms_teach never raises (its expired sessions are unknown keys), for the protocol alone."""


def test_sts_errors(sts):
    sts.service.replies["GetSessionToken"] = ExpiredTokenException("The security token included in the request is "
                                                                   "expired")
    with pytest.raises(sts.client.exceptions.ExpiredTokenException) as excinfo:
        sts.client.get_session_token(DurationSeconds=900)
    assert excinfo.value.response["Error"]["Message"] == "The security token included in the request is expired"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert b'xmlns="https://sts.amazonaws.com/doc/2011-06-15/"' in sts.raw[-1][1].body


def test_validation_errors_reach_boto3(iam):
    with pytest.raises(iam.client.exceptions.ClientError) as excinfo:
        iam.client.create_role(RoleName="x" * 65, AssumeRolePolicyDocument="{}")
    assert excinfo.value.response["Error"]["Code"] == "ValidationError"
    assert excinfo.value.response["Error"]["Message"] == (
        f"1 validation error detected: Value '{'x' * 65}' at 'roleName' failed to satisfy constraint: "
        "Member must have length less than or equal to 64"
    )


# ---------------------------------------------------------------------------
# Raw bodies: validation in AWS's words
# ---------------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _raises(exc):
    def handler(operation, request, ctx):
        raise exc

    return handler


def _ok(operation, request, ctx):
    return {}


def _raw(protocol, body, content_type=FORM, request_id=""):
    if isinstance(body, str):
        body = body.encode("utf-8")
    ctx = types.SimpleNamespace(request_id=request_id)
    reply = protocol.handle(body, ctx, content_type)
    assert reply.headers["x-amzn-RequestId"] == ctx.request_id != ""
    assert reply.headers["Content-Type"] == "text/xml"
    assert "Content-Length" not in reply.headers  # framing is the transport's (HTTP server or in-process)
    root = ET.fromstring(reply.body)
    if reply.status == 200:
        return reply.status, None, root
    assert _local(root.tag) == "ErrorResponse"
    assert root.find("{*}RequestId").text == ctx.request_id
    error = {_local(child.tag): child.text for child in root.find("{*}Error")}
    return reply.status, error, root


@pytest.fixture(scope="module")
def iam_raw():
    return QueryProtocol("iam", _ok)


@pytest.fixture(scope="module")
def sts_raw():
    return QueryProtocol("sts", _ok)


def _err(protocol, body, **kw):
    status, error, _ = _raw(protocol, body, **kw)
    assert status == 400 and error["Type"] == "Sender", error
    return error["Code"], error["Message"]


V = "Version=2010-05-08"


def test_a_missing_required_member(iam_raw):
    assert _err(iam_raw, f"Action=CreateRole&{V}&RoleName=app") == (
        "ValidationError",
        "1 validation error detected: Value null at 'assumeRolePolicyDocument' failed to satisfy constraint: "
        "Member must not be null",
    )


def test_a_too_long_name_and_every_violation_at_once(iam_raw):
    code, message = _err(iam_raw, f"Action=CreateRole&{V}&RoleName={'r' * 65}&AssumeRolePolicyDocument=%7B%7D"
                                  f"&MaxSessionDuration=60&Tags.member.1.Key=&Tags.member.1.Value=a%26b")
    assert code == "ValidationError"
    assert message.startswith("5 validation errors detected: ")
    assert f"Value '{'r' * 65}' at 'roleName' failed to satisfy constraint: Member must have length less than or " \
           "equal to 64" in message
    assert "Value '60' at 'maxSessionDuration' failed to satisfy constraint: Member must have value greater than " \
           "or equal to 3600" in message
    assert "Value '' at 'tags.1.member.key' failed to satisfy constraint: Member must have length greater than or " \
           "equal to 1; Value '' at 'tags.1.member.key' failed to satisfy constraint: Member must satisfy regular " \
           "expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+" in message
    assert "Value 'a&b' at 'tags.1.member.value' failed to satisfy constraint: Member must satisfy regular " \
           "expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*" in message


def test_patterns_match_whole_values_like_java(iam_raw):
    # Java's Pattern.matches: the whole value, \w is ASCII; \p{L} is any letter.
    code, message = _err(iam_raw, f"Action=GetUser&{V}&UserName=bad+name")
    assert (code, message) == ("ValidationError", "1 validation error detected: Value 'bad name' at 'userName' "
                                                  "failed to satisfy constraint: Member must satisfy regular "
                                                  "expression pattern: [\\w+=,.@-]+")
    assert _err(iam_raw, f"Action=GetUser&{V}&UserName=r%C3%B4le")[0] == "ValidationError"
    assert _raw(iam_raw, f"Action=TagUser&{V}&UserName=u&Tags.member.1.Key=%C3%A9quipe"
                         f"&Tags.member.1.Value=%E4%B8%80+%C2%A0")[0] == 200
    assert _err(iam_raw, f"Action=TagUser&{V}&UserName=u&Tags.member.1.Key=k&Tags.member.1.Value=a%09b")[0] == \
        "ValidationError"


def test_ranges_enums_list_lengths_and_sensitive_values(iam_raw):
    assert _err(iam_raw, f"Action=ListUsers&{V}&MaxItems=0")[1] == (
        "1 validation error detected: Value '0' at 'maxItems' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1"
    )
    assert _err(iam_raw, f"Action=ListPolicies&{V}&Scope=Everything")[1].endswith(
        "at 'scope' failed to satisfy constraint: Member must satisfy enum value set: [All, AWS, Local]"
    )
    assert _err(iam_raw, f"Action=ListPolicies&{V}&Scope=null")[1].startswith(
        "1 validation error detected: Value 'null' at 'scope'"  # the string "null", quoted: not a missing member
    )
    tags = "&".join(f"Tags.member.{i}.Key=k{i}&Tags.member.{i}.Value=v" for i in range(1, 52))
    assert _err(iam_raw, f"Action=TagUser&{V}&UserName=u&{tags}")[1] == (
        "1 validation error detected: Value at 'tags' failed to satisfy constraint: "
        "Member must have length less than or equal to 50"
    )
    message = _err(iam_raw, f"Action=CreateLoginProfile&{V}&UserName=u&Password=")[1]
    assert message == (  # a password is never echoed
        "2 validation errors detected: Value at 'password' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1; Value at 'password' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"
    )
    assert _err(iam_raw, f"Action=PutAccountProperties&{V}&Properties.entry.1.key=k")[1] == (
        "1 validation error detected: Value null at 'properties.entry.1.value' failed to satisfy constraint: "
        "Member must not be null"
    )


def test_sts_validation_paths(sts_raw):
    body = ("Action=AssumeRole&Version=2011-06-15&RoleSessionName=s&PolicyArns.member.1.arn=short"
            "&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fr")
    assert _err(sts_raw, body) == (
        "ValidationError",
        "2 validation errors detected: Value 's' at 'roleSessionName' failed to satisfy constraint: "
        "Member must have length greater than or equal to 2; Value 'short' at 'policyArns.1.member.arn' "
        "failed to satisfy constraint: Member must have length greater than or equal to 20",
    )


# ---------------------------------------------------------------------------
# Raw bodies: Action, Version and malformed requests
# ---------------------------------------------------------------------------


def test_action_and_version(iam_raw):
    assert _err(iam_raw, f"{V}&UserName=u") == ("MissingAction", "Missing Action")
    assert _err(iam_raw, b"") == ("MissingAction", "Missing Action")
    assert _err(iam_raw, f"Action=&{V}") == ("MissingAction", "Missing Action")
    assert _err(iam_raw, f"Action=LaunchRocket&{V}") == (
        "InvalidAction", "Could not find operation LaunchRocket for version 2010-05-08")
    assert _err(iam_raw, "Action=GetUser&Version=2011-06-15") == (
        "InvalidAction", "Could not find operation GetUser for version 2011-06-15")
    assert _err(iam_raw, "Action=GetUser") == (
        "InvalidAction", "Could not find operation GetUser for version NO_VERSION_SPECIFIED")
    assert _err(iam_raw, f"Action=getUser&{V}")[0] == "InvalidAction"  # names are case-sensitive


def test_bodies_that_are_not_form_encoded(iam_raw):
    assert _err(iam_raw, '{"Action": "GetUser"}', content_type="application/json")[0] == "MissingAction"
    assert _err(iam_raw, '{"Action": "GetUser", "Version": "2010-05-08"}', content_type=None)[0] == "MissingAction"
    assert _err(iam_raw, f"Action=GetUser&{V}&UserName=%zz") == (
        "MalformedQueryString", "Invalid percent-encoding in the request body: '%zz'")
    assert _err(iam_raw, f"Action=GetUser&{V}&UserName=abc%4")[0] == "MalformedQueryString"
    assert _err(iam_raw, f"Action=GetUser&{V}&UserName=%E9t%E9")[0] == "MalformedQueryString"  # Latin-1, not UTF-8
    assert _err(iam_raw, b"Action=GetUser&Version=2010-05-08&UserName=\xe9")[0] == "MalformedQueryString"
    assert _err(iam_raw, b"\x89PNG\r\n\x1a\n\x00\x00")[0] == "MalformedQueryString"
    assert _err(iam_raw, f"Action=GetUser&{V}&=u")[0] == "MalformedQueryString"
    assert _err(iam_raw, f"Action=GetUser&{V}&UserName=a&UserName=b") == (
        "MalformedQueryString", "The parameter UserName appears more than once")
    assert _err(iam_raw, f"Action=TagUser&{V}&UserName=u&Tags..Key=k")[0] == "MalformedQueryString"


def test_list_indexes(iam_raw):
    assert _err(iam_raw, f"Action=TagUser&{V}&UserName=u&Tags.member.x.Key=k&Tags.member.x.Value=v") == (
        "MalformedQueryString",
        "Invalid list index 'x' in parameter Tags.member.x.Key: an index is a positive integer",
    )
    assert _err(iam_raw, f"Action=TagUser&{V}&UserName=u&Tags.member.0.Key=k&Tags.member.0.Value=v")[0] == \
        "MalformedQueryString"
    assert _err(iam_raw, f"Action=TagUser&{V}&UserName=u&Tags.member.-1.Key=k&Tags.member.-1.Value=v")[0] == \
        "MalformedQueryString"
    assert _err(iam_raw, f"Action=TagUser&{V}&UserName=u&Tags.member.%C2%B2.Key=k")[0] == "MalformedQueryString"
    assert _err(iam_raw, f"Action=TagUser&{V}&UserName=u&Tags.member.1.Key=a&Tags.member.1.Value=v"
                         f"&Tags.member.01.Key=b&Tags.member.01.Value=v")[0] == "MalformedQueryString"
    # Gaps are tolerated; order follows the indexes, not the body.
    seen = []
    protocol = QueryProtocol("iam", lambda op, req, ctx: seen.append(req) or {})
    status, _, _ = _raw(protocol, f"Action=TagUser&{V}&UserName=u&Tags.member.7.Key=c&Tags.member.7.Value=3"
                                  f"&Tags.member.2.Key=b&Tags.member.2.Value=2")
    assert status == 200
    assert seen == [{"user_name": "u", "tags": [{"key": "b", "value": "2"}, {"key": "c", "value": "3"}]}]


def test_unknown_parameters(iam_raw, sts_raw):
    assert _err(iam_raw, f"Action=GetUser&{V}&Colour=blue") == (
        "UnknownParameter", "The parameter Colour is not recognized")
    assert _err(iam_raw, f"Action=GetUser&{V}&userName=u")[0] == "UnknownParameter"
    assert _err(iam_raw, f"Action=GetUser&{V}&UserName.First=u") == (
        "UnknownParameter", "The parameter UserName.First is not recognized")
    assert _err(iam_raw, f"Action=TagUser&{V}&UserName=u&Tags.member.1.Key=k&Tags.member.1.Colour=v") == (
        "UnknownParameter", "The parameter Tags.member.1.Colour is not recognized")
    assert _err(iam_raw, f"Action=TagUser&{V}&UserName=u&Tags.item.1.Key=k")[0] == "UnknownParameter"
    assert _err(iam_raw, f"Action=PutAccountProperties&{V}&Properties.entry.1.name=k")[0] == "UnknownParameter"
    assert _err(sts_raw, "Action=GetCallerIdentity&Version=2011-06-15&RoleArn=x") == (
        "UnknownParameter", "The parameter RoleArn is not recognized")


def test_values_that_are_not_of_their_type(iam_raw, sts_raw):
    assert _err(iam_raw, f"Action=ListUsers&{V}&MaxItems=ten") == (
        "InvalidParameterValue", "Value (ten) for parameter MaxItems is invalid. Expected: an integer.")
    assert _err(iam_raw, f"Action=ListUsers&{V}&MaxItems=99999999999")[0] == "InvalidParameterValue"
    assert _err(iam_raw, f"Action=ListUsers&{V}&MaxItems=1.5")[0] == "InvalidParameterValue"
    assert _err(iam_raw, f"Action=ListUsers&{V}&MaxItems=")[0] == "InvalidParameterValue"
    assert _err(iam_raw, f"Action=ListPolicies&{V}&OnlyAttached=yes") == (
        "InvalidParameterValue", "Value (yes) for parameter OnlyAttached is invalid. Expected: true or false.")
    assert _err(iam_raw, f"Action=TagUser&{V}&UserName=u&Tags=k")[0] == "InvalidParameterValue"
    assert _err(sts_raw, "Action=AssumeRole&Version=2011-06-15&RoleArn=a&RoleSessionName=s"
                         "&PolicyArns.member.1=arn")[0] == "InvalidParameterValue"


def test_protocol_parameters_and_form_details(iam_raw):
    seen = []
    protocol = QueryProtocol("iam", lambda op, req, ctx: seen.append(req) or {})
    body = (f"Action=GetUser&{V}&UserName=a%2Bb%3D&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20260101T090000Z"
            "&&Signature=abc&")
    assert _raw(protocol, body)[0] == 200
    assert seen == [{"user_name": "a+b="}]


def test_request_ids(iam_raw):
    status, _, root = _raw(iam_raw, f"Action=GetUser&{V}", request_id="fixed-id")
    assert root.find("{*}ResponseMetadata/{*}RequestId").text == "fixed-id"
    assert _raw(iam_raw, "Action=Nope&Version=1", request_id="fixed-2")[1]["Code"] == "InvalidAction"


def test_responses_never_break_the_xml(iam_raw):
    protocol = QueryProtocol("iam", lambda op, req, ctx: {"user": {"user_name": "a\x00b\x1bc\ufffe", "path": "/",
                                                                   "user_id": "u", "arn": "a", "create_date": T0}})
    _, _, root = _raw(protocol, f"Action=GetUser&{V}")
    assert root.find("{*}GetUserResult/{*}User/{*}UserName").text == "a\ufffdb\ufffdc\ufffd"


def test_a_service_bug_in_the_response_is_an_exception_not_bad_xml(iam_raw):
    protocol = QueryProtocol("iam", lambda op, req, ctx: {"user": {"user_name": "a", "colour": "blue"}})
    with pytest.raises(ValueError, match="no member 'colour'"):
        protocol.handle(f"Action=GetUser&{V}".encode(), types.SimpleNamespace(request_id=""), FORM)


def test_codecs_are_compiled_once(iam_raw):
    assert iam_raw._codec("CreateRole") is iam_raw._codec("CreateRole")
    assert iam_raw._codec("NoSuchOperation") is None
    with pytest.raises(ValueError, match="query protocol"):
        QueryProtocol("kms", _ok)


def test_java_patterns():
    letters = _java_pattern(r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*")
    assert letters.fullmatch("équipe 一 ٣ Ωmega\u00a0") and not letters.fullmatch("a&b")
    assert _java_pattern(r"\P{L}+").fullmatch("123") and not _java_pattern(r"\P{L}+").fullmatch("a1")
    assert _java_pattern(r"[\w]+").fullmatch("abc_1") and not _java_pattern(r"[\w]+").fullmatch("é")
    assert _java_pattern("[") is None  # an unreadable pattern is skipped, never a crash


_OPS = ["GetUser", "CreateRole", "TagUser", "ListUsers", "PutAccountProperties", "ListPolicies", "Bogus", ""]
_KEYS = ["UserName", "RoleName", "Tags", "Tags.member", "Tags.member.1", "Tags.member.1.Key", "Tags.member.x.Value",
         "MaxItems", "OnlyAttached", "Properties.entry.1.key", "Properties.entry.2.value", "Version", "A..B", ""]


@settings(max_examples=300, deadline=None)
@given(
    op=st.sampled_from(_OPS),
    pairs=st.lists(st.tuples(st.sampled_from(_KEYS), st.text(max_size=8)), max_size=6),
    junk=st.binary(max_size=24),
)
def test_no_body_ever_gives_a_traceback(iam_raw, op, pairs, junk):
    from urllib.parse import quote_plus

    body = f"Action={op}&{V}&" + "&".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in pairs)
    for candidate in (body.encode(), junk, body.encode() + b"&" + junk):
        status, error, _ = _raw(iam_raw, candidate)
        assert status in (200, 400)
        if status == 400:
            assert error["Code"] in {"MissingAction", "InvalidAction", "MalformedQueryString", "UnknownParameter",
                                     "InvalidParameterValue", "ValidationError"}
