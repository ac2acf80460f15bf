"""Out-of-range dates, times and numbers in every protocol get the protocol's own 4xx, never a 500.

Driven from botocore's service models: for every operation of every service the cloud answers (JSON:
KMS and CloudTrail; query: IAM and STS; REST-XML: S3), each timestamp and number member of its input
(top level and inside structures) is sent with values no real service could take - an epoch 10^20, a
year past 9999, an integer past its type's range, an infinite or not-a-number float - wherever the
protocol puts it (JSON body, query string, URI, header, XML body). The request is otherwise filled
from the model (every required member, a plausible value), serialised by botocore's own serializer with
marker values, and the markers replaced by the bad ones in the bytes.
"""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import quote, urlencode

import functools

import botocore.session
import pytest
from botocore import serialize

import kms_teach


@functools.lru_cache(maxsize=None)
def service_model(name: str):
    """A private copy of botocore's model: S3 clients rewrite the shared one's request URIs as they go
    (botocore strips "/{Bucket}" for virtual-hosted addressing), which would send these requests elsewhere."""
    return botocore.session.Session().get_service_model(name)

MARK_TIME = dt.datetime(2001, 2, 3, 4, 5, 6, tzinfo=dt.timezone.utc)
MARK_INT = 424242
MARK_FLOAT = 4242.5
FILL_TIME = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)

# How each protocol writes the markers (every timestamp format botocore may use).
TIME_FORMS = ["981173106", "2001-02-03T04:05:06Z", "2001-02-03T04:05:06.000Z", "Sat, 03 Feb 2001 04:05:06 GMT",
              "2001-02-03T04:05:06"]

BAD_TIMES = {
    "json": ["1e20", "-1e20", "253402300800", "1e400", "-62135596801"],
    "text": ["10000-01-01T00:00:00Z", "99999-12-31T23:59:59Z", "0000-01-01T00:00:00Z", "1e20",
             "Fri, 31 Dec 9999 23:59:59 -0100", "2001-13-45T99:99:99Z"],
}
BAD_INTS = {"json": ["1e400", "100000000000000000000000000000", "-100000000000000000000000000000", "1.5"],
            "text": ["100000000000000000000000000000", "-100000000000000000000000000000", "1e400", "NaN"]}
BAD_FLOATS = {"json": ["1e400", "-1e400"], "text": ["1e400", "NaN", "Infinity", "-Infinity"]}


def _fill(shape, depth=0, seen=()):
    """A plausible value for ``shape`` (required members only, recursively)."""
    t = shape.type_name
    if t == "structure":
        if depth > 4 or shape.name in seen:
            return {}
        return {name: _fill(shape.members[name], depth + 1, seen + (shape.name,))
                for name in shape.required_members}
    if t == "list":
        return [_fill(shape.member, depth + 1, seen)]
    if t == "map":
        return {"k": _fill(shape.value, depth + 1, seen)}
    if t == "string":
        if shape.enum:
            return shape.enum[0]
        n = max(int(shape.metadata.get("min", 1) or 1), 1)
        return ("abcdefgh" * (n // 8 + 1))[:max(n, 3)]
    if t in ("integer", "long"):
        return max(int(shape.metadata.get("min", 1)), 1)
    if t in ("float", "double"):
        return 1.0
    if t == "boolean":
        return False
    if t == "timestamp":
        return FILL_TIME
    if t == "blob":
        return b"abc"
    return "abc"


def _targets(shape, path=(), depth=0, seen=()):
    """Paths to every timestamp and number member, with the member's shape."""
    if shape is None or shape.type_name != "structure" or depth > 2 or shape.name in seen:
        return
    for name, member in shape.members.items():
        if member.type_name in ("timestamp", "integer", "long", "float", "double"):
            yield path + (name,), member
        elif member.type_name == "structure":
            yield from _targets(member, path + (name,), depth + 1, seen + (shape.name,))


def _params(op, target, marker):
    params = _fill(op.input_shape)
    node, shape = params, op.input_shape
    for name in target[:-1]:
        shape = shape.members[name]
        node = node.setdefault(name, _fill(shape))
    node[target[-1]] = marker
    if "Bucket" in params and op.input_shape.members["Bucket"].type_name == "string":
        params["Bucket"] = "fuzz-bucket"  # one that exists, so that requests go as far as they can
    return params


def _cases():
    cloud = kms_teach.Cloud()
    for service in cloud.services():
        model = service_model(service)
        for op_name in model.operation_names:
            op = model.operation_model(op_name)
            for target, shape in _targets(op.input_shape):
                yield pytest.param(service, op_name, target, shape.type_name,
                                   id=f"{service}-{op_name}-{'.'.join(target)}")
    cloud.close()


CASES = list(_cases())


@pytest.fixture(scope="module")
def cloud():
    c = kms_teach.Cloud()
    c.client("s3").create_bucket(Bucket="fuzz-bucket")
    yield c
    c.close()


def _send(cloud, service, request):
    url = "https://{}.us-east-1.amazonaws.com".format(service) + request["url_path"]
    query = request["query_string"]
    joiner = "&" if "?" in url else "?"
    if isinstance(query, dict) and query:
        url += joiner + urlencode(query, doseq=True, quote_via=quote)
    elif isinstance(query, str) and query:
        url += joiner + query
    body = request["body"]
    if isinstance(body, str):
        body = body.encode("utf-8")
    elif isinstance(body, dict):
        body = urlencode(body).encode()
    headers = dict(request["headers"])
    return cloud.handle(service, region="us-east-1", principal=cloud.principal(), method=request["method"],
                        url=url, headers=headers, body=body or b"")


def _shape_ok(protocol, reply) -> bool:
    if protocol == "json":
        return "__type" in json.loads(reply.body)
    if protocol == "query":
        return b"<ErrorResponse" in reply.body and b"<Code>" in reply.body
    return reply.body.startswith(b"<?xml") and b"<Error>" in reply.body and b"<Code>" in reply.body


def _replace(request, forms, value):
    """The serialised request with every marker form replaced by ``value``; None if no marker was found."""
    found = False

    def sub(text):
        nonlocal found
        for form in forms:
            for encoded in (form, quote(form, safe=""), quote(form, safe="").replace("%20", "+")):
                if encoded in text:
                    found = True
                    text = text.replace(encoded, value if encoded == form else quote(value, safe=""))
        return text

    out = dict(request)
    body = request["body"]
    if isinstance(body, bytes):
        out["body"] = sub(body.decode("utf-8")).encode("utf-8")
    elif isinstance(body, str):
        out["body"] = sub(body)
    elif isinstance(body, dict):
        out["body"] = {k: sub(str(v)) for k, v in body.items()}
    out["headers"] = {k: sub(str(v)) for k, v in request["headers"].items()}
    out["url_path"] = sub(request["url_path"])
    query = request["query_string"]
    out["query_string"] = {k: ([sub(str(x)) for x in v] if isinstance(v, list) else sub(str(v)))
                           for k, v in query.items()} if isinstance(query, dict) else sub(query or "")
    return out if found else None


@pytest.mark.parametrize("service, operation, target, kind", CASES)
def test_out_of_range_values_get_the_protocols_4xx(cloud, service, operation, target, kind):
    model = service_model(service)
    protocol = model.metadata["protocol"]
    op = model.operation_model(operation)
    marker = {"timestamp": MARK_TIME, "integer": MARK_INT, "long": MARK_INT}.get(kind, MARK_FLOAT)
    serializer = serialize.create_serializer(protocol, include_validation=False)
    request = serializer.serialize_to_request(_params(op, target, marker), op)
    if service == "s3" and operation not in cloud.s3.operations():
        # Not simulated: S3 Express's ListDirectoryBuckets, say, is GET / as ListBuckets is.
        pytest.skip(f"s3 {operation} is not simulated")
    plain = _send(cloud, service, request)
    if plain.status == 501 or b"<Code>InvalidAction</Code>" in plain.body[:400]:
        # The operation, or this member of it, is not simulated (NotImplemented): nothing to parse.
        pytest.skip(f"{service} {operation} {'.'.join(target)} is not simulated")
    forms = TIME_FORMS if kind == "timestamp" else ([str(MARK_INT)] if kind in ("integer", "long")
                                                   else ["4242.5"])
    style = "json" if protocol == "json" else "text"
    values = {"timestamp": BAD_TIMES, "integer": BAD_INTS, "long": BAD_INTS}.get(kind, BAD_FLOATS)[style]
    tried = 0
    for value in values:
        bad = _replace(request, forms, value)
        if bad is None:
            continue
        tried += 1
        reply = _send(cloud, service, bad)
        assert 400 <= reply.status < 500, (value, reply.status, reply.body[:400])
        if request["method"] != "HEAD":  # a HEAD answer has no body, only its status
            assert _shape_ok(protocol, reply), (value, reply.body[:400])
        assert b"Traceback" not in reply.body and b"internal error" not in reply.body
    assert tried, f"no marker found in {request}"


def test_the_fuzz_covers_every_protocol():
    services = {case.values[0] for case in CASES}
    assert {"kms", "cloudtrail", "iam", "sts", "s3"} <= services
    assert len(CASES) > 150
