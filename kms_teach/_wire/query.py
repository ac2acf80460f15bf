"""Layer 4: AWS's query protocol (IAM, STS), driven by botocore's service models.

The twin of :mod:`kms_teach._wire.json` (JSON 1.1) for the services that speak the
query protocol. A request is a form-encoded body::

    POST /                        Content-Type: application/x-www-form-urlencoded; charset=utf-8
    Action=CreateRole&Version=2010-05-08&RoleName=app&Tags.member.1.Key=team&Tags.member.1.Value=blue

Members are named as botocore's ``QuerySerializer`` names them: scalars by
member (or ``locationName``), lists as ``Name.member.N`` (``Name.N`` when the
model says ``flattened``), maps as ``Name.entry.N.key`` / ``Name.entry.N.value``,
nested structures as ``Name.Sub``. The codec compiled from the operation's input
shape reads that tree back, validates it the way AWS does (a ``ValidationError``
listing every violation, with AWS's paths such as ``tags.1.member.value``) and
hands the service a snake_case dict.

The answer is XML::

    <CreateRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
      <CreateRoleResult><Role>...</Role></CreateRoleResult>
      <ResponseMetadata><RequestId>...</RequestId></ResponseMetadata>
    </CreateRoleResponse>

and an error is ``<ErrorResponse><Error><Type>Sender</Type><Code>..</Code>
<Message>..</Message></Error><RequestId>..</RequestId></ErrorResponse>``.

Error codes for requests that never reach the service (what AWS's query
endpoints answer; see the notes at each):

* ``MissingAction``        no ``Action`` parameter (or a body that is not form-encoded)
* ``InvalidAction``        ``Could not find operation X for version Y`` (unknown Action,
                           wrong or missing Version: ``NO_VERSION_SPECIFIED``)
* ``MalformedQueryString`` bad percent-encoding, not UTF-8, an empty or repeated
                           parameter name, a list index that is not a positive integer
* ``UnknownParameter``     a parameter the operation does not have
* ``InvalidParameterValue`` a value that is not of its member's type (``MaxItems=ten``)
* ``ValidationError``      a documented constraint is broken (required, length, range,
                           enum, pattern)
"""

from __future__ import annotations

import math
import re
import uuid
from typing import Any, Callable
from urllib.parse import unquote_to_bytes

from botocore import xform_name

from .._errors import ProtocolError
from .base import (INT_RANGES, WireRequest, header_text, NULL, Parser, Protocol, WireResponse, XmlSerializer, _b64decode_strict,
                   _lower_first, _member_wire_names, _parse_timestamp, _xml_text, check_bounds,
                   xml_shape_key)
from .base import _java_pattern  # noqa: F401 - where tests/unit/test_wire_query.py has always found it

__all__ = ["QueryProtocol"]

#: Parameters of the query protocol itself (query-string authentication), not of an operation.
_AUTH_PARAMS = frozenset(
    {"AWSAccessKeyId", "Signature", "SignatureMethod", "SignatureVersion", "Timestamp", "Expires", "SecurityToken"}
)


class _QueryError(ProtocolError):
    """A request the protocol layer rejects before the service sees it."""

    def __init__(self, code: str, message: str):
        self.code = code
        self.message = message


def _malformed(message: str) -> _QueryError:
    return _QueryError("MalformedQueryString", message)


def _unknown(key: str) -> _QueryError:
    return _QueryError("UnknownParameter", f"The parameter {key} is not recognized")


def _invalid(value: str | None, key: str, expected: str) -> _QueryError:
    return _QueryError("InvalidParameterValue", f"Value ({value or ''}) for parameter {key} is invalid. Expected: {expected}.")


# ---------------------------------------------------------------------------
# Reading a form-encoded body into a tree of parameters
# ---------------------------------------------------------------------------

_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _unescape(text: str) -> str:
    if "%" not in text and "+" not in text:
        return text
    if _BAD_PERCENT.search(text):
        raise _malformed(f"Invalid percent-encoding in the request body: {text[:64]!r}")
    try:
        return unquote_to_bytes(text.replace("+", " ")).decode("utf-8")
    except UnicodeDecodeError:
        raise _malformed("The request body is not UTF-8 after percent-decoding") from None


def _parse_form(body: bytes) -> dict[str, str]:
    """``a=1&b=2`` -> {"a": "1", "b": "2"}, strictly (AWS rejects what it cannot read)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _malformed("The request body is not UTF-8") from None
    params: dict[str, str] = {}
    for piece in text.split("&"):
        if not piece:
            continue
        raw_key, _, raw_value = piece.partition("=")
        key = _unescape(raw_key)
        if not key:
            raise _malformed(f"A parameter has no name: {piece[:64]!r}")
        if key in params:
            raise _malformed(f"The parameter {key} appears more than once")
        params[key] = _unescape(raw_value)
    return params


class _Node:
    """One step of a dotted parameter name: ``Tags`` -> ``member`` -> ``1`` -> ``Key``."""

    __slots__ = ("value", "kids", "key")

    def __init__(self):
        self.value: str | None = None
        self.kids: dict[str, _Node] | None = None
        self.key: str | None = None  # the full parameter name, on nodes that carry a value


def _tree(params: dict[str, str]) -> _Node:
    root = _Node()
    for key, value in params.items():
        node = root
        for seg in key.split("."):
            if not seg:
                raise _malformed(f"Invalid parameter name {key}")
            kids = node.kids
            if kids is None:
                kids = node.kids = {}
            child = kids.get(seg)
            if child is None:
                child = kids[seg] = _Node()
            node = child
        node.value = value
        node.key = key
    return root


def _a_key(node: _Node) -> str:
    """A full parameter name at or under ``node`` (for messages)."""
    while node.key is None:
        node = next(iter(node.kids.values()))
    return node.key


def _indexed(kids: dict[str, _Node]) -> list[tuple[int, _Node]]:
    """The ``N`` children of a list or map, in index order (AWS accepts gaps, not junk)."""
    out: dict[int, _Node] = {}
    for seg, child in kids.items():
        if not seg.isdigit() or not seg.isascii() or int(seg) < 1:
            raise _malformed(f"Invalid list index '{seg}' in parameter {_a_key(child)}: an index is a positive integer")
        n = int(seg)
        if n in out:
            raise _malformed(f"The list index {n} appears more than once in parameter {_a_key(child)}")
        out[n] = child
    return sorted(out.items())


_INT_RE = re.compile(r"[+-]?[0-9]+\Z")


# ---------------------------------------------------------------------------
# The request parser (the answers are base.XmlSerializer's)
# ---------------------------------------------------------------------------


class _QueryParser(Parser):
    """A function (node, vpath, errors) -> value; vpath is AWS's validation path ("tags.1.member.key")."""

    _key = staticmethod(xml_shape_key)

    def _parse_type_structure(self, shape):
        table: dict[str, tuple] = {}
        for name, mshape in shape.members.items():
            wire, item = _member_wire_names(name, mshape)
            entry = (xform_name(name), _lower_first(name), self.compile(mshape))
            if item is None:
                table[wire] = entry
            else:
                # botocore names the items of a non-empty flattened list after their own
                # locationName (``Attribute.1.Name``) but sends an empty one as ``Attributes=``.
                table[item] = entry
                table.setdefault(wire, entry + (True,))
        required = [(xform_name(r), _lower_first(r)) for r in shape.required_members]

        def dec_struct(node, path, errors):
            if node.value is not None and (node.kids or node.value):
                raise _invalid(node.value, node.key, "a structure")
            out = {}
            prefix = path + "." if path else ""
            if node.kids:
                for seg, child in node.kids.items():
                    entry = table.get(seg)
                    if entry is None:
                        raise _unknown(_a_key(child))
                    if len(entry) == 4:  # the empty-list name of a flattened list with named items
                        if child.kids or child.value:
                            raise _unknown(_a_key(child))
                        out.setdefault(entry[0], [])
                        continue
                    snake, camel, sub = entry
                    out[snake] = sub(child, prefix + camel, errors)
            for snake, camel in required:
                if snake not in out:
                    errors.append((prefix + camel, NULL, "Member must not be null"))
            return out

        return dec_struct

    @staticmethod
    def _items(node, flattened: bool, holder_name: str, what: str) -> list[tuple[int, _Node]]:
        """The ``N`` children of a list (``Name.member.N``) or map (``Name.entry.N``), ``Name.N`` if flattened."""
        if flattened:
            return _indexed(node.kids)
        for seg, child in node.kids.items():
            if seg != holder_name:
                raise _unknown(_a_key(child))
        holder = node.kids[holder_name]
        if holder.value is not None:
            raise _invalid(holder.value, holder.key, what)
        return _indexed(holder.kids)

    def _parse_type_list(self, shape):
        flattened = bool(shape.serialization.get("flattened"))
        item_name = shape.member.serialization.get("name", "member")
        lo, hi = shape.metadata.get("min"), shape.metadata.get("max")
        sub = self.compile(shape.member)
        items_of = self._items

        def dec_list(node, path, errors):
            if node.value is not None:
                if node.value or node.kids:  # ``Name=`` is how the query protocol sends an empty list
                    raise _invalid(node.value, node.key, "a list")
                items = []
            else:
                items = items_of(node, flattened, item_name, "a list")
            out = [sub(child, f"{path}.{i}.member", errors) for i, child in items]
            check_bounds("length", lo, hi, len(out), None, path, errors)
            return out

        return dec_list

    def _parse_type_map(self, shape):
        flattened = bool(shape.serialization.get("flattened"))
        kname = shape.key.serialization.get("name", "key")
        vname = shape.value.serialization.get("name", "value")
        lo, hi = shape.metadata.get("min"), shape.metadata.get("max")
        kdec, vdec = self.compile(shape.key), self.compile(shape.value)
        items_of = self._items

        def dec_map(node, path, errors):
            if node.value is not None:
                if node.value or node.kids:
                    raise _invalid(node.value, node.key, "a map")
                return {}
            out = {}
            for i, entry in items_of(node, flattened, "entry", "a map"):
                if entry.value is not None:
                    raise _invalid(entry.value, entry.key, "a map entry")
                for seg, child in entry.kids.items():
                    if seg not in (kname, vname):
                        raise _unknown(_a_key(child))
                k_node, v_node = entry.kids.get(kname), entry.kids.get(vname)
                epath = f"{path}.entry.{i}"
                if k_node is None or v_node is None:
                    missing = kname if k_node is None else vname
                    errors.append((f"{epath}.{missing}", NULL, "Member must not be null"))
                    continue
                out[kdec(k_node, epath + "." + kname, errors)] = vdec(v_node, epath + "." + vname, errors)
            check_bounds("length", lo, hi, len(out), None, path, errors)
            return out

        return dec_map

    # Scalars: a leaf of the tree, never a parent.

    def _parse_type_string(self, shape):
        check = self._string_check(shape)

        def dec_string(node, path, errors):
            value = _leaf(node)
            if check is not None:
                check(value, path, errors)
            return value

        return dec_string

    @staticmethod
    def _scalar(shape, convert: Callable[[str], Any], expected: str, bound: str = "", shown=None):
        """A leaf's decoder: ``convert(text)`` is its value, or raises ValueError if the text is not of
        the member's type (``InvalidParameterValue``, ``shown(text)`` in the message); ``bound`` names
        the model's ``min``/``max`` check (``value`` or ``length``), if any."""
        lo, hi = shape.metadata.get("min"), shape.metadata.get("max")

        def dec_scalar(node, path, errors):
            text = _leaf(node)
            try:
                value = convert(text)
            except ValueError:  # binascii.Error is a ValueError
                raise _invalid(shown(text) if shown else text, node.key, expected) from None
            if bound == "value":
                check_bounds("value", lo, hi, value, value, path, errors)
            elif bound == "length":
                check_bounds("length", lo, hi, len(value), None, path, errors)
            return value

        return dec_scalar

    def _parse_type_integer(self, shape):
        type_lo, type_hi = INT_RANGES[shape.type_name]

        def convert(text: str) -> int:
            if not _INT_RE.match(text) or not type_lo <= int(text) <= type_hi:
                raise ValueError(text)
            return int(text)

        return self._scalar(shape, convert, "an integer" if shape.type_name == "integer" else "a long integer", "value")

    _parse_type_long = _parse_type_integer

    def _parse_type_double(self, shape):
        def convert(text: str) -> float:
            value = float(text)
            if "_" in text or text.strip() != text or not math.isfinite(value):
                raise ValueError(text)
            return value

        return self._scalar(shape, convert, "a number", "value")

    _parse_type_float = _parse_type_double

    def _parse_type_boolean(self, shape):
        return self._scalar(shape, _query_bool, "true or false")

    def _parse_type_timestamp(self, shape):
        fmt = (shape.serialization.get("timestampFormat") or "iso8601").lower()

        def convert(text: str):
            value = _parse_timestamp(text, fmt)
            if value is None:
                raise ValueError(text)
            return value

        return self._scalar(shape, convert, "an ISO 8601 timestamp" if fmt == "iso8601" else f"a {fmt} timestamp")

    def _parse_type_blob(self, shape):
        return self._scalar(shape, _b64decode_strict, "base64-encoded binary data", "length", lambda text: text[:64])


def _query_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise ValueError(text)


def _leaf(node) -> str:
    if node.kids:
        raise _unknown(_a_key(next(iter(node.kids.values()))))
    return node.value


# ---------------------------------------------------------------------------
# The query protocol
# ---------------------------------------------------------------------------


class QueryProtocol(Protocol):
    """Serve one AWS query-protocol service (IAM, STS) from a Python handler.

    ``handler(operation_name, request_dict, ctx) -> response_dict`` works in
    snake_case and raises :class:`AWSError`. ``handle(body, ctx, content_type)``
    answers one HTTP request body with a :class:`WireResponse`.
    """

    CONTENT_TYPE = "text/xml"
    FORM = "application/x-www-form-urlencoded"

    PROTOCOL = "query"
    VALIDATION_ERROR = "ValidationError"

    def __init__(self, service_name: str, handler: Callable[[str, dict, Any], dict | None]):
        super().__init__(service_name, handler)
        self.api_version = self.model.metadata["apiVersion"]
        ns = self.model.metadata.get("xmlNamespace", "")
        if isinstance(ns, dict):
            ns = ns.get("uri", "")
        self.xmlns = f' xmlns="{ns}"' if ns else ""
        self._parser = _QueryParser()
        self._serializer = XmlSerializer()

    def _compile(self, op):
        dec = self._parser.compile(op.input_shape) if op.input_shape else None
        names = frozenset(
            n for name, m in (op.input_shape.members.items() if op.input_shape else ())
            for n in _member_wire_names(name, m) if n
        )
        if op.output_shape is not None:
            enc = self._serializer.compile(op.output_shape)
            wrapper = op.output_shape.serialization.get("resultWrapper") or f"{op.name}Result"
        else:
            enc = wrapper = None
        return dec, enc, wrapper, names

    # ------------------------------------------------------------------ replies

    def _error_body(self, code, message, status, request_id, details, headers) -> str:
        kind = "Receiver" if status >= 500 else "Sender"
        return (
            f"<ErrorResponse{self.xmlns}><Error><Type>{kind}</Type><Code>{_xml_text(code)}</Code>"
            f"<Message>{_xml_text(message)}</Message></Error>"
            f"<RequestId>{_xml_text(request_id)}</RequestId></ErrorResponse>"
        )

    INTERNAL_ERROR = "ServiceFailure"

    def _answer(self, request: WireRequest, ctx) -> WireResponse:
        return self.handle(request.body, ctx, header_text(request.headers, "content-type"))

    def handle(self, body: bytes, ctx, content_type: str | None = None) -> WireResponse:
        """Answer one request: ``body`` is the raw form-encoded body, ``content_type`` its header (if known)."""
        request_id = ctx.request_id or str(uuid.uuid4())
        ctx.request_id = request_id
        if content_type and content_type.partition(";")[0].strip().lower() != self.FORM:
            # AWS reads parameters only from a form-encoded body: it finds no Action.
            return self._error(
                "MissingAction", f"Missing Action (the body must be {self.FORM}, not {content_type})", 400, request_id
            )
        try:
            params = _parse_form(body) if body else {}
            action = params.pop("Action", "")
            version = params.pop("Version", "")
            if not action:
                return self._error("MissingAction", "Missing Action", 400, request_id)
            codec = self._codec(action) if version == self.api_version else None
            if codec is None:
                return self._error(
                    "InvalidAction",
                    f"Could not find operation {action} for version {version or 'NO_VERSION_SPECIFIED'}",
                    400,
                    request_id,
                )
            dec, enc, wrapper, names = codec
            for name in [p for p in params if (p in _AUTH_PARAMS or p.startswith("X-Amz-")) and p not in names]:
                del params[name]  # query-string authentication, checked (if at all) by the HTTP endpoint
            root = _tree(params)
            errors: list = []
            if dec is not None:
                request = dec(root, "", errors)
            elif root.kids:
                raise _unknown(_a_key(root))
            else:
                request = {}
        except _QueryError as exc:
            return self._error(exc.code, exc.message, 400, request_id)
        result, failed = self._call(action, request, errors, ctx)
        if failed is not None:
            return failed
        xmlns = self.xmlns
        if enc is None:
            inner = ""
        else:
            inner = f"<{wrapper}>{enc(result or {})}</{wrapper}>"
        out = (
            f"<{action}Response{xmlns}>{inner}"
            f"<ResponseMetadata><RequestId>{_xml_text(request_id)}</RequestId></ResponseMetadata>"
            f"</{action}Response>"
        ).encode("utf-8")
        return WireResponse(200, self._headers(request_id), out)
