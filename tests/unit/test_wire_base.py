"""The wire family's shared base (kms_teach/_wire/base.py): type-driven compilers written once,
one error writer, one validate-and-call step, for the three protocols alike."""

from __future__ import annotations

import json
import types
from xml.etree import ElementTree as ET

import pytest
from botocore.model import ServiceModel

from kms_teach._errors import InternalFailure, NoSuchEntity, NoSuchKey, NotFoundException, ServiceFailure
from kms_teach._wire import JsonProtocol, QueryProtocol, RestXmlProtocol
from kms_teach._wire.base import NULL, Parser, XmlSerializer, validation_message
from kms_teach._wire.json import _JsonParser, _JsonSerializer

SERVICES = [(JsonProtocol, "kms"), (JsonProtocol, "cloudtrail"), (QueryProtocol, "iam"), (QueryProtocol, "sts"),
            (RestXmlProtocol, "s3")]


def ctx():
    return types.SimpleNamespace(request_id="")


def raising(exc):
    def handler(operation, request, context):
        raise exc

    return handler


@pytest.mark.parametrize("cls,service", SERVICES)
def test_every_operation_of_every_simulated_service_compiles(cls, service):
    # A shape type the protocol has no _parse_type_/_serialize_type_ method for fails here, not on a learner's call.
    protocol = cls(service, lambda *a: {})
    for name in protocol.model.operation_names:
        codec = protocol._codec(name)
        assert codec is not None, name
        assert protocol._codec(name) is codec  # compiled once
    assert protocol._codec("NoSuchOperation") is None


def test_a_protocol_refuses_a_model_of_another_protocol():
    with pytest.raises(ValueError, match="does not speak the query protocol"):
        QueryProtocol("kms", lambda *a: {})
    with pytest.raises(ValueError, match="does not speak the json protocol"):
        JsonProtocol("iam", lambda *a: {})


def _recursive_model() -> ServiceModel:
    return ServiceModel({
        "metadata": {"protocol": "json", "apiVersion": "2026-01-01", "targetPrefix": "T", "jsonVersion": "1.1"},
        "operations": {},
        "shapes": {
            "Node": {"type": "structure", "required": ["Name"],
                     "members": {"Name": {"shape": "Name"}, "Child": {"shape": "Node"},
                                 "Kids": {"shape": "Nodes"}}},
            "Nodes": {"type": "list", "member": {"shape": "Node"}, "max": 2},
            "Name": {"type": "string", "min": 1, "max": 3, "pattern": "[a-z]+"},
        },
    })


def test_a_recursive_shape_compiles_once_and_reads_to_any_depth():
    node = _recursive_model().shape_for("Node")
    cache: dict = {}
    parse = _JsonParser(cache).compile(node)
    assert _JsonParser(cache).compile(node) is parse  # the shared cache serves the second compiler
    errors: list = []
    doc = {"Name": "a", "Child": {"Name": "b", "Child": {"Name": "c"}}, "Kids": [{"Name": "d"}]}
    assert parse(doc, "", errors) == {"name": "a", "child": {"name": "b", "child": {"name": "c"}},
                                      "kids": [{"name": "d"}]}
    assert errors == []
    parse({"Child": {"Name": "TOOLONG"}, "Kids": [{"Name": "x"}] * 3}, "", errors)
    assert validation_message(errors) == (
        "4 validation errors detected: "
        "Value 'TOOLONG' at 'child.name' failed to satisfy constraint: Member must have length less than or equal to 3; "
        "Value 'TOOLONG' at 'child.name' failed to satisfy constraint: Member must satisfy regular expression pattern: "
        "[a-z]+; "
        "Value '[{\"Name\":\"x\"},{\"Name\":\"x\"},{\"Name\":\"x\"}]' at 'kids' failed to satisfy constraint: "
        "Member must have length less than or equal to 2; "
        "Value null at 'name' failed to satisfy constraint: Member must not be null"
    )
    serialize = _JsonSerializer().compile(node)
    assert json.loads(serialize({"name": "a", "child": {"name": "b"}})) == {"Name": "a", "Child": {"Name": "b"}}
    assert XmlSerializer().compile(node)({"name": "a", "child": {"name": "b"}}) == "<Name>a</Name><Child><Name>b</Name></Child>"


def test_a_missing_member_and_the_string_null_are_told_apart():
    errors = [("a", NULL, "Member must not be null"), ("b", "null", "Member must satisfy enum value set: [x]")]
    assert validation_message(errors) == (
        "2 validation errors detected: Value null at 'a' failed to satisfy constraint: Member must not be null; "
        "Value 'null' at 'b' failed to satisfy constraint: Member must satisfy enum value set: [x]"
    )


def test_a_sensitive_string_is_never_shown():
    shape = ServiceModel({
        "metadata": {"protocol": "json"}, "operations": {},
        "shapes": {"Secret": {"type": "string", "sensitive": True, "max": 2, "enum": ["ab"]}},
    }).shape_for("Secret")
    errors: list = []
    Parser._string_check(shape)("hunter2", "password", errors)
    assert [shown for _path, shown, _c in errors] == [None, None]
    assert "hunter2" not in validation_message(errors)


# ---------------------------------------------------------------------------- one error writer


def test_json_error_document():
    reply = JsonProtocol("kms", raising(NotFoundException("Key 'k' does not exist"))).handle(
        "TrentService.DescribeKey", b'{"KeyId": "k"}', ctx())
    assert reply.status == 400
    assert reply.headers["Content-Type"] == "application/x-amz-json-1.1"
    assert reply.headers["x-amzn-RequestId"]
    assert json.loads(reply.body) == {"__type": "NotFoundException", "message": "Key 'k' does not exist"}


def test_json_internal_error_keeps_its_status():
    reply = JsonProtocol("cloudtrail", raising(InternalFailure("boom"))).handle(
        "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents", b"{}", ctx())
    assert reply.status == 500
    assert json.loads(reply.body)["__type"] == "InternalFailure"


@pytest.mark.parametrize("exc,status,kind", [(NoSuchEntity("no <user>"), 404, "Sender"),
                                             (ServiceFailure("boom"), 500, "Receiver")])
def test_query_error_document(exc, status, kind):
    context = ctx()
    reply = QueryProtocol("iam", raising(exc)).handle(b"Action=GetUser&Version=2010-05-08", context,
                                                      "application/x-www-form-urlencoded")
    assert reply.status == status
    assert reply.headers["Content-Type"] == "text/xml"
    root = ET.fromstring(reply.body)
    ns = {"i": "https://iam.amazonaws.com/doc/2010-05-08/"}
    assert root.find("i:Error/i:Type", ns).text == kind
    assert root.find("i:Error/i:Code", ns).text == type(exc).__name__
    assert root.find("i:Error/i:Message", ns).text == exc.message
    assert root.find("i:RequestId", ns).text == context.request_id != ""


def test_s3_error_document_carries_details_and_headers_and_a_head_has_no_body():
    exc = NoSuchKey("The specified key does not exist.", Key="a<b", headers={"x-amz-delete-marker": "true"})
    protocol = RestXmlProtocol("s3", raising(exc))
    context = ctx()
    reply = protocol.handle("GET", "https://s3.amazonaws.com/bucket/a%3Cb", {}, b"", context)
    assert reply.status == 404
    assert reply.headers["Content-Type"] == "application/xml"
    assert reply.headers["x-amz-delete-marker"] == "true"
    root = ET.fromstring(reply.body)
    assert [child.tag for child in root] == ["Code", "Message", "Key", "RequestId", "HostId"]
    assert root.findtext("Key") == "a<b"
    assert root.findtext("RequestId") == reply.headers["x-amz-request-id"] == context.request_id
    assert root.findtext("HostId") == reply.headers["x-amz-id-2"]
    head = protocol.handle("HEAD", "https://s3.amazonaws.com/bucket/a%3Cb", {}, b"", ctx())
    assert (head.status, head.body) == (404, b"")
    assert head.headers["x-amz-delete-marker"] == "true"


@pytest.mark.parametrize("cls,service", SERVICES)
def test_one_error_writer_for_every_protocol(cls, service):
    protocol = cls(service, lambda *a: {})
    reply = protocol._error("SomeCode", "a & b", 400, "req-1")
    assert reply.status == 400
    if cls is JsonProtocol:
        assert json.loads(reply.body) == {"__type": "SomeCode", "message": "a & b"}
    else:
        root = ET.fromstring(reply.body)
        assert [e.text for e in root.iter() if e.tag.rpartition("}")[2] in ("Code", "Message")] == ["SomeCode", "a & b"]
    assert reply.headers["Content-Type"] == protocol.CONTENT_TYPE
    assert "req-1" in reply.headers.values()


# ---------------------------------------------------------------------------
# One contract: answer(WireRequest, ctx) -> WireResponse, for the in-process transport and the endpoint
# ---------------------------------------------------------------------------

import kms_teach  # noqa: E402
from kms_teach._wire import WireRequest  # noqa: E402


def _protocols(handler):
    return {
        "kms": (JsonProtocol("kms", handler), WireRequest(
            "POST", "https://kms.us-east-1.amazonaws.com/",
            {"x-amz-target": b"TrentService.ListKeys", "content-type": "application/x-amz-json-1.1"}, b"{}")),
        "cloudtrail": (JsonProtocol("cloudtrail", handler), WireRequest(
            "POST", "https://cloudtrail.us-east-1.amazonaws.com/",
            {"x-amz-target": "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"}, b"{}")),
        "iam": (QueryProtocol("iam", handler), WireRequest(
            "POST", "https://iam.amazonaws.com/", {"content-type": "application/x-www-form-urlencoded"},
            b"Action=ListUsers&Version=2010-05-08")),
        "s3": (RestXmlProtocol("s3", handler), WireRequest("GET", "https://s3.amazonaws.com/", {}, b"")),
    }


@pytest.mark.parametrize("service, code", [("kms", "KMSInternalException"), ("cloudtrail", "InternalFailure"),
                                           ("iam", "ServiceFailure"), ("s3", "InternalError")])
def test_a_simulator_bug_is_answered_as_the_protocol_s_server_fault_never_raised(service, code):
    protocol, request = _protocols(raising(ZeroDivisionError("a bug")))[service]
    reply = protocol.answer(request, ctx())
    assert reply.status == 500 and code.encode() in reply.body and b"kms_teach internal error" in reply.body


@pytest.mark.parametrize("service", ["kms", "iam"])
def test_the_in_process_client_and_the_endpoint_get_the_same_answer(service):
    """Both transports build a WireRequest and call the same answer(): the same document comes back."""
    cloud = kms_teach.Cloud(seed=7)
    protocol, request = _protocols(None)[service]
    if service == "kms":
        cloud.client("kms").create_alias(AliasName="alias/same", TargetKeyId=cloud.client("kms").create_key()[
            "KeyMetadata"]["KeyId"])
        in_process = cloud.client("kms").list_keys()["Keys"]
        reply = cloud.handle(service, region="us-east-1", principal=cloud.principal(), method=request.method,
                             url=request.url, headers=request.headers, body=request.body)
        assert reply.status == 200 and json.loads(reply.body)["Keys"] == in_process
    else:
        cloud.client("iam").create_user(UserName="same")
        in_process = cloud.client("iam").list_users()["Users"]
        reply = cloud.handle(service, region="us-east-1", principal=cloud.principal(), method=request.method,
                             url=request.url, headers=request.headers, body=request.body)
        names = [e.text for e in ET.fromstring(reply.body).iter() if e.tag.endswith("UserName")]
        assert reply.status == 200 and names == [u["UserName"] for u in in_process] == ["same"]
