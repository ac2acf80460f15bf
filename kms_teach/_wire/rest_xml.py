"""Layer 4: AWS's REST-XML protocol (Amazon S3), driven by botocore's service model.

The third of the wire codecs (after JSON 1.1 in :mod:`kms_teach._wire.json` and the
query protocol in :mod:`kms_teach._wire.query`). In REST-XML an operation is
named by its HTTP method, its path and some literal query parameters, and its
members travel wherever the model puts them::

    PUT /my-bucket/reports/2026.csv HTTP/1.1          PutObject: method, path /{Bucket}/{Key+}
    x-amz-server-side-encryption: aws:kms              a header member (ServerSideEncryption)
    x-amz-server-side-encryption-aws-kms-key-id: alias/reports
    x-amz-meta-team: blue                              a header-prefix map member (Metadata)
    <the object's bytes>                               the payload member (Body)

    GET /my-bucket?list-type=2&prefix=reports/ HTTP/1.1     ListObjectsV2: literal ?list-type=2

Everything here comes from the model: the routing table (each operation's
``requestUri`` and method), where each input member is read from (``uri``,
``querystring``, ``header``, ``headers`` prefix maps, or the ``payload``: raw
bytes or an XML document), and where each output member is written to (status
code, headers, a raw or XML payload, or an XML body). The service sees
snake_case dicts, exactly like the other protocols.

An error is S3's XML document (and no body at all for a ``HEAD``, where botocore
reads only the status)::

    <?xml version="1.0" encoding="UTF-8"?>
    <Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>
    <Key>reports/2026.csv</Key><RequestId>..</RequestId><HostId>..</HostId></Error>

Errors raised before the service sees the request: ``MethodNotAllowed`` (no
operation has that method on that resource), ``NotImplemented`` (an operation
the service does not simulate), ``MalformedXML`` (a payload document that is
not well-formed or does not follow the model's schema), ``InvalidArgument``
(a header or query value that is not of its member's type).
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import uuid
from typing import Any, Callable, Iterable
from urllib.parse import parse_qsl, unquote, urlsplit
from xml.etree import ElementTree as ET

import defusedxml as _defused
import defusedxml.ElementTree as _safe_xml

from botocore import xform_name
from botocore.config import Config

from .._errors import ProtocolError
from .base import (INT_RANGES, WireRequest, header_text, Parser, Protocol, WireResponse, XmlSerializer, _format_timestamp, _parse_timestamp,
                   _xml_text, service_model, xml_members)
from .base import boto3_session as _wire_boto3_session

__all__ = ["RestXmlProtocol", "S3_CLIENT_CONFIG", "boto3_session"]

_XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'

# The root element of an XML body that is not a payload member (botocore ignores
# the name; AWS's documents use these).
_ROOT_NAMES = {
    "ListObjectsV2": "ListBucketResult",
    "ListObjects": "ListBucketResult",
    "ListBuckets": "ListAllMyBucketsResult",
    "ListObjectVersions": "ListVersionsResult",
    "ListMultipartUploads": "ListMultipartUploadsResult",
    "CreateMultipartUpload": "InitiateMultipartUploadResult",
    "ListParts": "ListPartsResult",
    "CompleteMultipartUpload": "CompleteMultipartUploadResult",
}

# The HTTP status of the errors this layer answers itself (a service's errors carry theirs).
_PROTOCOL_STATUSES = {
    "MethodNotAllowed": 405,
    "NotImplemented": 501,
    "MalformedXML": 400,
    "InvalidArgument": 400,
    "IncompleteBody": 400,
    "InvalidChunkSizeError": 403,
    "InternalError": 500,
}

#: What a botocore S3 client needs to talk to the simulator: path-style addressing
#: (the simulated endpoint has no per-bucket host names) and checksums only when an
#: operation requires one (otherwise botocore streams ``aws-chunked`` bodies, which
#: this layer also reads).
S3_CLIENT_CONFIG = Config(
    s3={"addressing_style": "path"},
    request_checksum_calculation="when_required",
    response_checksum_validation="when_required",
)

# One boto3 Session for every in-process client: see kms_teach._wire.base.boto3_session.
boto3_session = _wire_boto3_session


class _Route:
    """One operation's place in the routing table."""

    __slots__ = ("name", "method", "segments", "greedy", "literals", "required", "deprecated", "order")

    def __init__(self, op, order: int):
        self.name = op.name
        self.method = op.http["method"].upper()
        path, _, query = op.http["requestUri"].partition("?")
        self.segments = [s for s in path.split("/") if s]
        self.greedy = bool(self.segments) and self.segments[-1].endswith("+}")
        self.literals: dict[str, str | None] = {}
        for piece in query.split("&") if query else ():
            name, eq, value = piece.partition("=")
            self.literals[name] = value if eq else None
        required = []
        shape = op.input_shape
        if shape is not None:
            for member in shape.required_members:
                ser = shape.members[member].serialization
                if ser.get("location") in ("querystring", "header"):
                    required.append((ser["location"], ser.get("name", member).lower() if ser["location"] == "header"
                                     else ser.get("name", member)))
        self.required = required
        self.deprecated = bool(op.deprecated)
        self.order = order

    def match(self, segments: list[str], raw_rest: str | None) -> dict[str, str] | None:
        """URI members from the path (``segments`` are the path's raw segments)."""
        params: dict[str, str] = {}
        tpl = self.segments
        if self.greedy:
            if len(segments) < len(tpl) or raw_rest is None:
                return None
            fixed = tpl[:-1]
        else:
            if len(segments) != len(tpl):
                return None
            fixed = tpl
        for t, s in zip(fixed, segments):
            if t.startswith("{"):
                if not s:
                    return None
                params[t[1:-1]] = unquote(s)
            elif t != s:
                return None
        if self.greedy:
            rest = raw_rest
            if not rest:
                return None
            params[tpl[-1][1:-2]] = unquote(rest)
        return params


class _PayloadError(ProtocolError):
    def __init__(self, code: str, message: str, **details):
        self.code = code
        self.message = message
        self.details = details


def _malformed() -> _PayloadError:
    return _PayloadError(
        "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema"
    )


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


# ---------------------------------------------------------------------------
# XML payload -> snake_case dict, validated against the shape
# ---------------------------------------------------------------------------


class _XmlParser(Parser):
    """A function: an XML payload's element -> snake_case value, following the shape's schema."""

    def _key(self, shape):
        return shape.name, bool(shape.serialization.get("flattened"))

    def _parse_type_structure(self, shape):
        table: dict[str, tuple] = {}
        for snake, tag, flat, mshape in xml_members(shape):
            flat = flat and mshape.type_name == "list"  # a flattened map is read as a map
            table[tag] = (snake, self.compile(mshape.member if flat else mshape), flat)
        required = [xform_name(r) for r in shape.required_members
                    if not shape.members[r].serialization.get("location")]

        def dec_struct(elem):
            if elem.text and elem.text.strip() and not len(elem):
                raise _malformed()
            out: dict[str, Any] = {}
            for child in elem:
                entry = table.get(_local(child.tag))
                if entry is None:
                    raise _malformed()
                snake, sub, flat = entry
                if flat:
                    out.setdefault(snake, []).append(sub(child))
                elif snake in out:
                    raise _malformed()  # a member given twice
                else:
                    out[snake] = sub(child)
            for r in required:
                if r not in out:
                    raise _malformed()
            return out

        return dec_struct

    def _parse_type_list(self, shape):
        item = shape.member.serialization.get("name", "member")
        sub = self.compile(shape.member)

        def dec_list(elem):
            out = []
            for child in elem:
                if _local(child.tag) != item:
                    raise _malformed()
                out.append(sub(child))
            return out

        return dec_list

    def _parse_type_map(self, shape):
        kname = shape.key.serialization.get("name", "key")
        vname = shape.value.serialization.get("name", "value")
        kdec, vdec = self.compile(shape.key), self.compile(shape.value)

        def dec_map(elem):
            out = {}
            for entry in elem:
                parts = {_local(c.tag): c for c in entry}
                if _local(entry.tag) != "entry" or set(parts) != {kname, vname}:
                    raise _malformed()
                out[kdec(parts[kname])] = vdec(parts[vname])
            return out

        return dec_map

    def _parse_type_string(self, shape):
        # Enums are the service's to check: S3 answers some with MalformedXML (SSEAlgorithm)
        # and others with an error of their own (LocationConstraint: InvalidLocationConstraint).
        return _xml_leaf

    def _parse_type_boolean(self, shape):
        def dec_bool(elem):
            value = _xml_leaf(elem).strip()
            if value not in ("true", "false"):
                raise _malformed()
            return value == "true"

        return dec_bool

    def _parse_type_integer(self, shape):
        lo, hi = INT_RANGES[shape.type_name]

        def dec_int(elem):
            value = _xml_leaf(elem).strip()
            if not re.fullmatch(r"[+-]?[0-9]{1,20}", value) or not lo <= int(value) <= hi:
                raise _malformed()
            return int(value)

        return dec_int

    _parse_type_long = _parse_type_integer

    def _parse_type_timestamp(self, shape):
        fmt = (shape.serialization.get("timestampFormat") or "iso8601").lower()

        def dec_ts(elem):
            value = _parse_timestamp(_xml_leaf(elem).strip(), fmt)
            if value is None:
                raise _malformed()
            return value

        return dec_ts

    def _parse_type_blob(self, shape):
        def dec_blob(elem):
            try:
                return base64.b64decode(_xml_leaf(elem), validate=True)
            except ValueError:
                raise _malformed() from None

        return dec_blob


def _xml_leaf(elem) -> str:
    if len(elem):
        raise _malformed()
    return elem.text or ""


# ---------------------------------------------------------------------------
# Scalars in headers and query strings
# ---------------------------------------------------------------------------


def _scalar_in(shape, text: str, where: str, name: str, default_ts: str):
    t = shape.type_name
    if t == "string":
        return text
    if t in ("integer", "long"):
        lo, hi = INT_RANGES[t]
        if not re.fullmatch(r"[+-]?[0-9]{1,20}", text.strip()) or not lo <= int(text) <= hi:
            raise _PayloadError("InvalidArgument", f"Provided {where} value {name} is not an integer in the "
                                                   f"range of {'a long' if t == 'long' else 'an integer'}",
                                ArgumentName=name, ArgumentValue=text)
        return int(text)
    if t == "boolean":
        low = text.strip().lower()
        if low not in ("true", "false"):
            raise _PayloadError("InvalidArgument", f"Invalid {where} value for {name}: expected true or false",
                                ArgumentName=name, ArgumentValue=text)
        return low == "true"
    if t == "timestamp":
        fmt = (shape.serialization.get("timestampFormat") or default_ts).lower()
        value = _parse_timestamp(text.strip(), fmt)
        if value is None and fmt != "rfc822":
            value = _parse_timestamp(text.strip(), "rfc822")
        if value is None:
            raise _PayloadError("InvalidArgument", f"Invalid {where} value for {name}: not a date",
                                ArgumentName=name, ArgumentValue=text)
        return value
    if t == "list":
        return [_scalar_in(shape.member, part.strip(), where, name, default_ts) for part in text.split(",")]
    return text


def _scalar_out(shape, value) -> str:
    t = shape.type_name
    if t == "boolean":
        return "true" if value else "false"
    if t in ("integer", "long"):
        return str(int(value))
    if t == "timestamp":
        return _format_timestamp(value, (shape.serialization.get("timestampFormat") or "rfc822").lower())
    if t == "list":
        return ",".join(_scalar_out(shape.member, v) for v in value)
    return str(value)


#: The trailers an aws-chunked body may carry: the checksums S3 computes (Amazon S3 User Guide,
#: "Checking object integrity": x-amz-trailer names one of them).
_CHECKSUM_TRAILERS = frozenset({"x-amz-checksum-crc32", "x-amz-checksum-crc32c", "x-amz-checksum-crc64nvme",
                                "x-amz-checksum-sha1", "x-amz-checksum-sha256"})


def _decode_aws_chunked(body: bytes, declared: str = "") -> tuple[bytes, dict[str, str]]:
    """An ``aws-chunked`` body (botocore's unsigned streaming upload): (payload, trailing headers).

    Only the checksum trailers that ``x-amz-trailer`` (``declared``) names are taken: any other
    trailer line would otherwise become a request header nobody signed (an SSE choice, a KMS key).
    """
    out = []
    trailers: dict[str, str] = {}
    allowed = {n.strip().lower() for n in declared.split(",") if n.strip()}
    bad = sorted(allowed - _CHECKSUM_TRAILERS)
    if bad:
        raise _PayloadError("InvalidRequest", f"The value specified in the x-amz-trailer header is not supported: "
                                              f"{bad[0]}")
    pos = 0
    while True:
        end = body.find(b"\r\n", pos)
        if end < 0:
            raise _PayloadError("IncompleteBody", "The request body terminated unexpectedly")
        size_text = body[pos:end].split(b";", 1)[0].strip()
        try:
            if not size_text or len(size_text) > 16:
                raise ValueError
            size = int(size_text, 16)
        except ValueError:
            raise _PayloadError("InvalidChunkSizeError", "Only the last chunk is allowed to have a size less than 8192 bytes") from None
        pos = end + 2
        if size == 0:
            break
        if size > len(body) - pos:
            raise _PayloadError("IncompleteBody", "The request body terminated unexpectedly")
        out.append(body[pos : pos + size])
        pos += size + 2
    for line in body[pos:].split(b"\r\n"):
        if not line.strip():
            continue
        name, colon, value = line.partition(b":")
        name_text = name.decode("latin-1").strip().lower()
        if not colon or name_text not in allowed or name_text in trailers:
            raise _PayloadError("MalformedTrailerError", "The request contained trailing data that was not "
                                                         "well-formed or did not conform to our published schema.")
        trailers[name_text] = value.decode("latin-1").strip()
    return b"".join(out), trailers


def _text(value) -> str:
    return value.decode("latin-1") if isinstance(value, (bytes, bytearray)) else str(value)


# ---------------------------------------------------------------------------
# The protocol
# ---------------------------------------------------------------------------


_tables: dict[str, tuple] = {}


def _routing_table(service_name: str) -> tuple[dict[str, list[_Route]], dict[str, int]]:
    """Each HTTP method's routes, and each modelled error's status (built once per process: the model's)."""
    table = _tables.get(service_name)
    if table is None:
        model = service_model(service_name)
        routes: dict[str, list[_Route]] = {}
        for i, name in enumerate(model.operation_names):
            route = _Route(model.operation_model(name), i)
            routes.setdefault(route.method, []).append(route)
        statuses = dict(_PROTOCOL_STATUSES)
        for shape_name in model.shape_names:
            err = model.shape_for(shape_name).metadata.get("error")
            if err and "httpStatusCode" in err:
                statuses.setdefault(err.get("code", shape_name), int(err["httpStatusCode"]))
        table = _tables[service_name] = (routes, statuses)
    return table


_codec_caches: dict[str, tuple] = {}
_codec_caches_lock = threading.Lock()


def _shared_codecs(service_name: str) -> tuple:
    """(lock, decoder cache, encoder cache, operation codecs) of a service, shared process-wide."""
    with _codec_caches_lock:
        caches = _codec_caches.get(service_name)
        if caches is None:
            caches = _codec_caches[service_name] = (threading.Lock(), {}, {}, {})
        return caches


class RestXmlProtocol(Protocol):
    """Serve one AWS REST-XML service (S3) from a Python handler.

    ``handler(operation_name, request_dict, ctx) -> response_dict`` works in
    snake_case (botocore's ``xform_name`` of each member: ``SSEKMSKeyId`` is
    ``ssekms_key_id``) and raises :class:`AWSError`; an error's ``details``
    attribute (a dict), if any, adds elements to the error document (and its
    ``_headers`` entry response headers, e.g. ``x-amz-bucket-region``). A result's
    ``_status`` entry sets a status no output member carries (206 for a range).
    ``operations`` names the operations the handler simulates; a request routed
    to any other operation of the model is answered ``501 NotImplemented``.
    ``handle(method, url, headers, body, ctx)`` answers one HTTP request.
    """

    CONTENT_TYPE = "application/xml"
    PROTOCOL = "rest-xml"

    def __init__(self, service_name: str, handler: Callable[[str, dict, Any], dict | None],
                 operations: Iterable[str] | None = None):
        super().__init__(service_name, handler)
        self.xmlns = f"http://{self.model.metadata.get('endpointPrefix', service_name)}.amazonaws.com/doc/" \
                     f"{self.model.metadata['apiVersion']}/"
        self.operations = frozenset(operations) if operations is not None else None
        self._routes, self._statuses = _routing_table(service_name)
        # Codecs come from the model alone: every protocol of the service shares them.
        self._lock, dec_cache, enc_cache, self._ops = _shared_codecs(service_name)
        self._parser, self._serializer = _XmlParser(dec_cache), XmlSerializer(enc_cache)

    # ------------------------------------------------------------------ routing

    def route(self, method: str, url: str, headers: dict[str, str] | None = None) -> tuple[str, dict] | None:
        """(operation name, URI members) for a request, or None if no operation matches."""
        parts = urlsplit(url)
        found = self._route(method.upper(), parts, {k.lower(): v for k, v in (headers or {}).items()})
        return None if found is None else (found[0].name, found[1])

    def _route(self, method: str, parts, headers: dict[str, str]):
        path = parts.path or "/"
        host = (parts.hostname or "").lower()
        if ".s3." in host and not host.startswith("s3."):
            # Virtual-hosted-style: the bucket is the host's first labels.
            path = "/" + host[: host.index(".s3.")] + (path if path.startswith("/") else "/" + path)
        raw = path[1:]
        segments = raw.split("/")
        if segments == [""]:
            segments = []
        first, sep, rest = raw.partition("/")
        raw_rest = rest if sep else None
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        best = None
        best_score = None
        for route in self._routes.get(method, ()):
            if route.greedy:
                params = route.match([first] + ([rest] if sep else []), raw_rest)
            else:
                # A trailing slash names the same resource ("/bucket/" is the bucket).
                segs = segments[:-1] if len(segments) > 1 and segments[-1] == "" else segments
                params = route.match(segs, None)
            if params is None:
                continue
            ok = True
            for name, value in route.literals.items():
                if name not in query or (value is not None and query[name] != value):
                    ok = False
                    break
            if not ok:
                continue
            if any((name not in headers) if loc == "header" else (name not in query) for loc, name in route.required):
                continue
            implemented = self.operations is None or route.name in self.operations
            score = (len(route.literals), len(route.required), implemented, not route.deprecated, -route.order)
            if best_score is None or score > best_score:
                best, best_score = (route, params, query), score
        return best

    # ------------------------------------------------------------------ codecs

    def _compile(self, op):
        operation = op.name
        inputs = []
        payload = None
        shape = op.input_shape
        if shape is not None:
            pname = shape.serialization.get("payload")
            for name, mshape in shape.members.items():
                ser = mshape.serialization
                snake = xform_name(name)
                if name == pname:
                    if mshape.type_name == "structure":
                        root = ser.get("name", mshape.name)
                        payload = (snake, "xml", root, self._parser.compile(mshape),
                                   name in shape.required_members)
                    else:
                        payload = (snake, mshape.type_name, None, None, False)
                elif ser.get("location"):
                    inputs.append((snake, ser["location"], ser.get("name", name), mshape))
        out_headers = []
        out_payload = None
        body_enc = None
        status_member = None
        oshape = op.output_shape
        if oshape is not None:
            pname = oshape.serialization.get("payload")
            has_body = False
            for name, mshape in oshape.members.items():
                ser = mshape.serialization
                snake = xform_name(name)
                loc = ser.get("location")
                if name == pname:
                    if mshape.type_name == "structure":
                        root = ser.get("name", mshape.name)
                        out_payload = (snake, "xml", root, self._serializer.compile(mshape))
                    else:
                        out_payload = (snake, mshape.type_name, None, None)
                elif loc in ("header", "headers"):
                    out_headers.append((snake, loc, ser.get("name", name), mshape))
                elif loc == "statusCode":
                    status_member = snake
                elif not loc:
                    has_body = True
            if pname is None and has_body:
                root = oshape.serialization.get("name") or _ROOT_NAMES.get(operation) or f"{operation}Result"
                body_enc = (root, self._serializer.compile(oshape))
        status = int(op.http.get("responseCode", 200))
        return (inputs, payload, out_headers, out_payload, body_enc, status_member, status)

    def _decode(self, operation: str, uri: dict, query: dict, headers: dict, body: bytes) -> dict:
        inputs, payload, *_ = self._codec(operation)
        request: dict[str, Any] = {}
        for snake, loc, wire, mshape in inputs:
            if loc == "uri":
                if wire in uri:
                    request[snake] = uri[wire]
            elif loc == "querystring":
                if mshape.type_name == "map":
                    continue  # no S3 operation we route takes a free-form query map
                if wire in query:
                    request[snake] = _scalar_in(mshape, query[wire], "query parameter", wire, "iso8601")
            elif loc == "header":
                value = headers.get(wire.lower())
                if value is not None:
                    request[snake] = _scalar_in(mshape, value, "header", wire, "rfc822")
            elif loc == "headers":
                prefix = wire.lower()
                found = {k[len(prefix):]: v for k, v in headers.items() if k.startswith(prefix) and len(k) > len(prefix)}
                if found:
                    request[snake] = found
        if payload is not None:
            snake, kind, root, dec, required = payload
            if kind == "xml":
                if body.strip():
                    request[snake] = self._parse_xml(body, root, dec)
                elif required:
                    raise _malformed()
            elif kind == "string":
                request[snake] = body.decode("utf-8", "replace")
            else:
                request[snake] = body
        return request

    @staticmethod
    def _parse_xml(body: bytes, root: str, dec) -> dict:
        # S3 documents carry no DTD: the parser refuses one, and any entity declaration, in whatever
        # encoding the document is (searching the bytes for "<!DOCTYPE" misses UTF-16).
        try:
            elem = _safe_xml.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
        except (ET.ParseError, _defused.DefusedXmlException, ValueError, LookupError):
            raise _malformed() from None
        if _local(elem.tag) != root:
            raise _malformed()
        return dec(elem)

    # ------------------------------------------------------------------ replies

    def _headers(self, request_id: str) -> dict[str, str]:
        host_id = base64.b64encode(hashlib.sha256(request_id.encode()).digest()).decode()
        return {"x-amz-request-id": request_id, "x-amz-id-2": host_id, "Server": "AmazonS3"}

    def _error_body(self, code, message, status, request_id, details, headers) -> str:
        extra = "".join(f"<{k}>{_xml_text(str(v))}</{k}>" for k, v in details.items())
        return (f"{_XML_DECL}<Error><Code>{_xml_text(code)}</Code><Message>{_xml_text(message)}</Message>{extra}"
                f"<RequestId>{_xml_text(request_id)}</RequestId><HostId>{headers['x-amz-id-2']}</HostId></Error>")

    def _encode(self, operation: str, result: dict, request_id: str, head: bool) -> WireResponse:
        _inputs, _payload, out_headers, out_payload, body_enc, status_member, status = self._codec(operation)
        if "_status" in result:  # e.g. 206 for a range: a status no output member carries
            result = dict(result)
            status = int(result.pop("_status"))
        headers = self._headers(request_id)
        for snake, loc, wire, mshape in out_headers:
            value = result.get(snake)
            if value is None:
                continue
            if loc == "headers":
                for k, v in value.items():
                    headers[f"{wire}{k}"] = str(v)
            else:
                headers[wire] = _scalar_out(mshape, value)
        if status_member and result.get(status_member) is not None:
            status = int(result[status_member])
        body = b""
        if out_payload is not None:
            snake, kind, root, enc = out_payload
            value = result.get(snake)
            if value is not None:
                if kind == "xml":
                    body = f'{_XML_DECL}<{root} xmlns="{self.xmlns}">{enc(value)}</{root}>'.encode("utf-8")
                    headers.setdefault("Content-Type", self.CONTENT_TYPE)
                elif hasattr(value, "read") and not isinstance(value, (bytes, bytearray)):
                    body = value  # a stream (a multipart object, read part by part): the transport sends it
                else:
                    body = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        elif body_enc is not None:
            root, enc = body_enc
            members = {k: v for k, v in result.items() if k not in {h[0] for h in out_headers}}
            body = f'{_XML_DECL}<{root} xmlns="{self.xmlns}">{enc(members)}</{root}>'.encode("utf-8")
            headers["Content-Type"] = self.CONTENT_TYPE
        if head:
            if hasattr(body, "close"):
                body.close()
            body = b""
        return WireResponse(status, headers, body)

    # ------------------------------------------------------------------ one request

    INTERNAL_ERROR = "InternalError"

    def _answer(self, request: WireRequest, ctx) -> WireResponse:
        return self.handle(request.method, request.url, request.headers, request.body, ctx)

    def handle(self, method: str, url: str, headers: dict, body: bytes, ctx) -> WireResponse:
        """Answer one HTTP request (``headers`` any mapping; names are case-insensitive)."""
        request_id = ctx.request_id or uuid.uuid4().hex[:16].upper()
        ctx.request_id = request_id
        method = method.upper()
        head = method == "HEAD"
        lowered = {str(k).lower(): _text(v) for k, v in headers.items()}
        body = bytes(body or b"")
        try:
            found = self._route(method, urlsplit(url), lowered)
            if found is None:
                return self._error("MethodNotAllowed", "The specified method is not allowed against this resource.",
                                   405, request_id, {"Method": method, "ResourceType": "OBJECT"}, head,
                                   {"Allow": "GET, HEAD, PUT, DELETE"})
            route, uri, query = found
            operation = route.name
            if self.operations is not None and operation not in self.operations:
                return self._error("NotImplemented",
                                   f"A header you provided implies functionality that is not implemented "
                                   f"(kms_teach does not simulate the {self.model.metadata.get('serviceAbbreviation', '')}"
                                   f" {operation} operation).".replace("  ", " "),
                                   501, request_id, None, head)
            encoding = lowered.get("content-encoding", "")
            if "aws-chunked" in encoding or lowered.get("x-amz-content-sha256", "").startswith("STREAMING-"):
                body, trailers = _decode_aws_chunked(body, lowered.get("x-amz-trailer", ""))
                for name, value in trailers.items():
                    if name in lowered:  # a checksum sent both ways: which one would be the signed one?
                        raise _PayloadError("MalformedTrailerError", "The request contained trailing data that "
                                            "was not well-formed or did not conform to our published schema.")
                    lowered[name] = value
                rest = ",".join(p for p in (s.strip() for s in encoding.split(",")) if p and p != "aws-chunked")
                if rest:
                    lowered["content-encoding"] = rest
                else:
                    lowered.pop("content-encoding", None)
            request = self._decode(operation, uri, query, lowered, body)
        except _PayloadError as exc:
            return self._error(exc.code, exc.message, self._statuses.get(exc.code, 400), request_id, exc.details, head)
        result, failed = self._call(operation, request, [], ctx, head)
        if failed is not None:
            return failed
        return self._encode(operation, result or {}, request_id, head)
