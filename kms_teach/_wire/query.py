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

import calendar
import datetime as _dt
import math
import re
import threading
import unicodedata
import uuid
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any, Callable
from urllib.parse import unquote_to_bytes

from botocore import xform_name

from .._errors import AWSError, ProtocolError
from .base import INT_RANGES, WireResponse, _b64decode_strict, _b64encode, _lower_first, check_bounds, service_model

__all__ = ["QueryProtocol"]

_UTC = _dt.timezone.utc

#: Parameters of the query protocol itself (query-string authentication), not of an operation.
_AUTH_PARAMS = frozenset(
    {"AWSAccessKeyId", "Signature", "SignatureMethod", "SignatureVersion", "Timestamp", "Expires", "SecurityToken"}
)


_NULL = object()  # "Value null at ..." (a missing member), never confused with the string "null"


def _validation_message(errors: list) -> str:
    """AWS's ValidationError text: every violation, as ``Value 'v' at 'path' failed to satisfy constraint: ...``."""
    parts = []
    for path, value, constraint in errors:
        shown = "" if value is None else (" null" if value is _NULL else f" '{value}'")
        parts.append(f"Value{shown} at '{path}' failed to satisfy constraint: {constraint}")
    n = len(parts)
    return f"{n} validation error{'s' if n > 1 else ''} detected: " + "; ".join(parts)


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


# ---------------------------------------------------------------------------
# Java regular expressions (AWS validates with java.util.regex)
# ---------------------------------------------------------------------------

_category_ranges: dict[str, list[tuple[int, int]]] | None = None
_category_lock = threading.Lock()


def _ranges_for(category: str) -> list[tuple[int, int]]:
    """Code point ranges of a Unicode general category (``L``, ``Lu``, ``N``, ``Z`` ...)."""
    global _category_ranges
    with _category_lock:
        if _category_ranges is None:
            table: dict[str, list[tuple[int, int]]] = {}
            cat = unicodedata.category
            # Planes 0-3 and 14 hold every assigned letter, number and separator
            # (4-13 are unassigned, 15-16 private use): a quarter of the scan.
            for lo, hi in ((0, 0x40000), (0xE0000, 0xE1000)):
                start, prev = lo, cat(chr(lo))
                for cp in range(lo + 1, hi):
                    c = cat(chr(cp))
                    if c != prev:
                        table.setdefault(prev, []).append((start, cp - 1))
                        start, prev = cp, c
                table.setdefault(prev, []).append((start, hi - 1))
            _category_ranges = table
    ranges = sorted(r for c, rs in _category_ranges.items() if c.startswith(category) for r in rs)
    merged: list[tuple[int, int]] = []
    for a, b in ranges:
        if merged and a <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def _class_body(category: str) -> str:
    return "".join(f"\\U{a:08x}" if a == b else f"\\U{a:08x}-\\U{b:08x}" for a, b in _ranges_for(category))


def _java_pattern(pattern: str) -> re.Pattern | None:
    """Compile an AWS (java.util.regex) pattern for :func:`re.fullmatch` semantics.

    Java's ``\\w``, ``\\d`` and ``\\s`` are ASCII (``re.ASCII``); ``\\p{L}`` and
    friends, which Python's ``re`` lacks, become explicit code point ranges.
    ``None`` when the pattern cannot be expressed (the check is then skipped).
    """
    if "\\p{" in pattern or "\\P{" in pattern:
        out, i, in_class = [], 0, False
        while i < len(pattern):
            ch = pattern[i]
            if ch == "\\" and i + 1 < len(pattern):
                m = re.match(r"\\([pP])\{(?:Is)?([A-Za-z]{1,2})\}", pattern[i:])
                if m:
                    body = _class_body(m.group(2))
                    if m.group(1) == "p":
                        out.append(body if in_class else f"[{body}]")
                    elif in_class:
                        return None
                    else:
                        out.append(f"[^{body}]")
                    i += m.end()
                    continue
                out.append(pattern[i : i + 2])
                i += 2
                continue
            if ch == "[" and not in_class:
                in_class = True
            elif ch == "]" and in_class:
                in_class = False
            out.append(ch)
            i += 1
        pattern = "".join(out)
    try:
        return re.compile(pattern, re.ASCII)
    except re.error:
        return None


# ---------------------------------------------------------------------------
# Scalars
# ---------------------------------------------------------------------------

_INT_RE = re.compile(r"[+-]?[0-9]+\Z")
_INT_BOUNDS = INT_RANGES
_ISO_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):?(\d{2}))\Z"
)


def _parse_iso8601(text: str) -> _dt.datetime | None:
    m = _ISO_RE.match(text)
    if m is None:
        return None
    y, mo, d, h, mi, s, frac, z, sign, oh, om = m.groups()
    try:
        value = _dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), int((frac or "0")[:6].ljust(6, "0")),
                             tzinfo=_UTC)
    except ValueError:
        return None
    if not z:
        offset = _dt.timedelta(hours=int(oh), minutes=int(om))
        try:
            value -= offset if sign == "+" else -offset
        except OverflowError:  # an offset that takes it past year 9999 or before year 1
            return None
    return value


def _parse_timestamp(text: str, fmt: str) -> _dt.datetime | None:
    if fmt == "unixtimestamp":
        try:
            number = float(text)
            return _dt.datetime.fromtimestamp(number, _UTC) if math.isfinite(number) else None
        except (ValueError, OverflowError, OSError):
            return None
    if fmt == "rfc822":
        try:
            value = parsedate_to_datetime(text)
            return value.astimezone(_UTC) if value.tzinfo else value.replace(tzinfo=_UTC)
        except (TypeError, ValueError, IndexError, OverflowError):  # OverflowError: year 9999 with an offset
            return None
    return _parse_iso8601(text)


def _format_timestamp(value: Any, fmt: str) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = _dt.datetime.fromtimestamp(value, _UTC)
    elif isinstance(value, _dt.datetime):
        value = value.astimezone(_UTC) if value.tzinfo else value.replace(tzinfo=_UTC)
    else:
        raise TypeError(f"a timestamp must be a datetime, not {type(value).__name__}")
    if fmt == "unixtimestamp":
        return repr(round(calendar.timegm(value.timetuple()) + value.microsecond / 1e6, 6))
    if fmt == "rfc822":
        return format_datetime(value.replace(microsecond=0), usegmt=True)
    us = value.microsecond
    frac = "" if not us else (f".{us // 1000:03d}" if us % 1000 == 0 else f".{us:06d}")
    return (f"{value.year:04d}-{value.month:02d}-{value.day:02d}T"
            f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}{frac}Z")


_XML_SPECIAL = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_XML_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#xD;"}


def _xml_text(text: str) -> str:
    """Character data for an element (characters XML 1.0 cannot carry become U+FFFD)."""
    if _XML_SPECIAL.search(text) is None:
        return text
    return _XML_SPECIAL.sub(lambda m: _XML_ESCAPES.get(m.group(), "\ufffd"), text)


def _format_double(value: Any) -> str:
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


# ---------------------------------------------------------------------------
# Codec compilation
# ---------------------------------------------------------------------------

# (node, vpath, errors) -> value; vpath is AWS's validation path ("tags.1.member.key").
Decoder = Callable[[_Node, str, list], Any]
# value -> XML character data / child elements (without the element's own tags).
Encoder = Callable[[Any], str]


def _cache_key(shape) -> tuple:
    ser = shape.serialization
    return shape.name, bool(ser.get("flattened")), ser.get("timestampFormat")


def _member_wire_names(name: str, mshape) -> tuple[str, str | None]:
    """The parameter/element name of a structure member, and (for a flattened
    list whose items have their own name) the name its items use instead."""
    wire = mshape.serialization.get("name", name)
    if mshape.type_name == "list" and mshape.serialization.get("flattened"):
        item = mshape.member.serialization.get("name")
        if item:
            return wire, item
    return wire, None


def _compile_decoder(shape, cache: dict) -> Decoder:
    key = _cache_key(shape)
    if key in cache:
        compiled = cache[key]
        return compiled if compiled is not None else (lambda n, p, e: cache[key](n, p, e))
    t = shape.type_name
    meta = shape.metadata
    lo, hi = meta.get("min"), meta.get("max")
    sensitive = meta.get("sensitive", False)

    def length_check(n: int, shown: Any, path: str, errors: list) -> None:
        check_bounds("length", lo, hi, n, shown, path, errors)

    if t == "structure":
        cache[key] = None  # placeholder for recursive shapes
        table: dict[str, tuple] = {}
        for name, mshape in shape.members.items():
            wire, item = _member_wire_names(name, mshape)
            entry = (xform_name(name), _lower_first(name), _compile_decoder(mshape, cache))
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
                    errors.append((prefix + camel, _NULL, "Member must not be null"))
            return out

        cache[key] = dec_struct
        return dec_struct

    if t == "list":
        flattened = bool(shape.serialization.get("flattened"))
        item_name = shape.member.serialization.get("name", "member")
        cache[key] = None
        sub = _compile_decoder(shape.member, cache)

        def dec_list(node, path, errors):
            if node.value is not None:
                if node.value or node.kids:  # ``Name=`` is how the query protocol sends an empty list
                    raise _invalid(node.value, node.key, "a list")
                items = []
            elif flattened:
                items = _indexed(node.kids)
            else:
                for seg, child in node.kids.items():
                    if seg != item_name:
                        raise _unknown(_a_key(child))
                holder = node.kids[item_name]
                if holder.value is not None:
                    raise _invalid(holder.value, holder.key, "a list")
                items = _indexed(holder.kids)
            out = [sub(child, f"{path}.{i}.member", errors) for i, child in items]
            length_check(len(out), None, path, errors)
            return out

        cache[key] = dec_list
        return dec_list

    if t == "map":
        flattened = bool(shape.serialization.get("flattened"))
        kname = shape.key.serialization.get("name", "key")
        vname = shape.value.serialization.get("name", "value")
        cache[key] = None
        kdec = _compile_decoder(shape.key, cache)
        vdec = _compile_decoder(shape.value, cache)

        def dec_map(node, path, errors):
            if node.value is not None:
                if node.value or node.kids:
                    raise _invalid(node.value, node.key, "a map")
                return {}
            if flattened:
                entries = _indexed(node.kids)
            else:
                for seg, child in node.kids.items():
                    if seg != "entry":
                        raise _unknown(_a_key(child))
                holder = node.kids["entry"]
                if holder.value is not None:
                    raise _invalid(holder.value, holder.key, "a map")
                entries = _indexed(holder.kids)
            out = {}
            for i, entry in entries:
                if entry.value is not None:
                    raise _invalid(entry.value, entry.key, "a map entry")
                for seg, child in entry.kids.items():
                    if seg not in (kname, vname):
                        raise _unknown(_a_key(child))
                k_node, v_node = entry.kids.get(kname), entry.kids.get(vname)
                epath = f"{path}.entry.{i}"
                if k_node is None or v_node is None:
                    missing = kname if k_node is None else vname
                    errors.append((f"{epath}.{missing}", _NULL, "Member must not be null"))
                    continue
                out[kdec(k_node, epath + "." + kname, errors)] = vdec(v_node, epath + "." + vname, errors)
            length_check(len(out), None, path, errors)
            return out

        cache[key] = dec_map
        return dec_map

    # Scalars: a leaf of the tree, never a parent.
    def leaf(node) -> str:
        if node.kids:
            raise _unknown(_a_key(next(iter(node.kids.values()))))
        return node.value

    if t == "string":
        enum = shape.enum
        pattern = meta.get("pattern")
        rx = _java_pattern(pattern) if pattern else None

        def dec_string(node, path, errors):
            value = leaf(node)
            shown = None if sensitive else value
            if lo is not None or hi is not None:
                length_check(len(value), shown, path, errors)
            if enum and value not in enum:
                errors.append((path, shown, f"Member must satisfy enum value set: [{', '.join(enum)}]"))
            elif rx is not None and rx.fullmatch(value) is None:
                errors.append((path, shown, f"Member must satisfy regular expression pattern: {pattern}"))
            return value

        cache[key] = dec_string
        return dec_string

    if t in ("integer", "long"):
        bounds = _INT_BOUNDS[t]

        def dec_int(node, path, errors):
            text = leaf(node)
            if not _INT_RE.match(text) or not bounds[0] <= int(text) <= bounds[1]:
                raise _invalid(text, node.key, "an integer" if t == "integer" else "a long integer")
            value = int(text)
            check_bounds("value", lo, hi, value, value, path, errors)
            return value

        cache[key] = dec_int
        return dec_int

    if t in ("double", "float"):

        def dec_num(node, path, errors):
            text = leaf(node)
            try:
                value = float(text)
            except ValueError:
                raise _invalid(text, node.key, "a number") from None
            if "_" in text or text.strip() != text or not math.isfinite(value):
                raise _invalid(text, node.key, "a number")
            check_bounds("value", lo, hi, value, value, path, errors)
            return value

        cache[key] = dec_num
        return dec_num

    if t == "boolean":

        def dec_bool(node, path, errors):
            text = leaf(node)
            lowered = text.lower()
            if lowered == "true":
                return True
            if lowered == "false":
                return False
            raise _invalid(text, node.key, "true or false")

        cache[key] = dec_bool
        return dec_bool

    if t == "timestamp":
        fmt = (shape.serialization.get("timestampFormat") or "iso8601").lower()

        def dec_ts(node, path, errors):
            text = leaf(node)
            value = _parse_timestamp(text, fmt)
            if value is None:
                raise _invalid(text, node.key, "an ISO 8601 timestamp" if fmt == "iso8601" else f"a {fmt} timestamp")
            return value

        cache[key] = dec_ts
        return dec_ts

    if t == "blob":

        def dec_blob(node, path, errors):
            text = leaf(node)
            try:
                raw = _b64decode_strict(text)
            except ValueError:  # binascii.Error is a ValueError
                raise _invalid(text[:64], node.key, "base64-encoded binary data") from None
            length_check(len(raw), None, path, errors)
            return raw

        cache[key] = dec_blob
        return dec_blob

    raise NotImplementedError(f"shape type {t}")  # pragma: no cover - no query model has another type


def _compile_encoder(shape, cache: dict) -> Encoder:
    """A function: snake_case value -> the XML inside the value's element."""
    key = _cache_key(shape)
    if key in cache:
        compiled = cache[key]
        return compiled if compiled is not None else (lambda v: cache[key](v))
    t = shape.type_name

    if t == "structure":
        cache[key] = None
        table: dict[str, tuple] = {}
        for name, mshape in shape.members.items():
            if mshape.serialization.get("location"):
                continue  # headers/status: never in a query body
            wire, item = _member_wire_names(name, mshape)
            tag = item or wire
            flat = bool(mshape.serialization.get("flattened")) and mshape.type_name in ("list", "map")
            if flat:
                inner = mshape.member if mshape.type_name == "list" else None
                each = _compile_encoder(inner, cache) if inner is not None else _compile_map_entry(mshape, cache)
            else:
                each = _compile_encoder(mshape, cache)
            table[xform_name(name)] = (f"<{tag}>", f"</{tag}>", each, flat)
        struct_name = shape.name

        def enc_struct(value):
            parts = []
            for k, v in value.items():
                if v is None:
                    continue
                entry = table.get(k)
                if entry is None:
                    raise ValueError(f"{struct_name} has no member {k!r} (members: {', '.join(table)})")
                open_, close, sub, flat = entry
                if flat:
                    items = v.items() if isinstance(v, dict) else v
                    parts.extend([open_ + sub(x) + close for x in items])
                else:
                    parts.append(open_ + sub(v) + close)
            return "".join(parts)

        cache[key] = enc_struct
        return enc_struct

    if t == "list":
        item = shape.member.serialization.get("name", "member")
        open_, close = f"<{item}>", f"</{item}>"
        cache[key] = None
        sub = _compile_encoder(shape.member, cache)
        enc = cache[key] = lambda v: "".join([open_ + sub(x) + close for x in v])
        return enc

    if t == "map":
        cache[key] = None
        entry = _compile_map_entry(shape, cache)
        enc = cache[key] = lambda v: "".join(["<entry>" + entry(x) + "</entry>" for x in v.items()])
        return enc

    if t == "string":
        enc = cache[key] = _xml_text
        return enc
    if t == "boolean":
        enc = cache[key] = lambda v: "true" if v else "false"
        return enc
    if t in ("integer", "long"):
        enc = cache[key] = lambda v: str(int(v))
        return enc
    if t in ("double", "float"):
        enc = cache[key] = _format_double
        return enc
    if t == "timestamp":
        fmt = (shape.serialization.get("timestampFormat") or "iso8601").lower()
        enc = cache[key] = lambda v: _format_timestamp(v, fmt)
        return enc
    if t == "blob":
        enc = cache[key] = lambda v: _b64encode(v.encode("utf-8") if isinstance(v, str) else bytes(v))
        return enc
    raise NotImplementedError(f"shape type {t}")  # pragma: no cover


def _compile_map_entry(shape, cache: dict) -> Callable[[tuple], str]:
    kname = shape.key.serialization.get("name", "key")
    vname = shape.value.serialization.get("name", "value")
    kenc = _compile_encoder(shape.key, cache)
    venc = _compile_encoder(shape.value, cache)
    ko, kc, vo, vc = f"<{kname}>", f"</{kname}>", f"<{vname}>", f"</{vname}>"
    return lambda kv: ko + kenc(kv[0]) + kc + vo + venc(kv[1]) + vc


# ---------------------------------------------------------------------------
# The query protocol
# ---------------------------------------------------------------------------


class QueryProtocol:
    """Serve one AWS query-protocol service (IAM, STS) from a Python handler.

    ``handler(operation_name, request_dict, ctx) -> response_dict`` works in
    snake_case and raises :class:`AWSError`. ``handle(body, ctx, content_type)``
    answers one HTTP request body with a :class:`WireResponse`.
    """

    CONTENT_TYPE = "text/xml"
    FORM = "application/x-www-form-urlencoded"

    def __init__(self, service_name: str, handler: Callable[[str, dict, Any], dict | None]):
        self.model = service_model(service_name)
        if self.model.metadata.get("protocol") != "query":
            raise ValueError(f"{service_name} does not speak the query protocol")
        self.api_version = self.model.metadata["apiVersion"]
        ns = self.model.metadata.get("xmlNamespace", "")
        if isinstance(ns, dict):
            ns = ns.get("uri", "")
        self.xmlns = f' xmlns="{ns}"' if ns else ""
        self.handler = handler
        self._dec_cache: dict = {}
        self._enc_cache: dict = {}
        self._ops: dict[str, tuple] = {}
        self._lock = threading.Lock()

    def _codec(self, operation: str):
        codec = self._ops.get(operation)
        if codec is None:
            if operation not in self.model.operation_names:
                return None
            op = self.model.operation_model(operation)
            with self._lock:  # compiling fills shared caches (and placeholders for recursion)
                dec = _compile_decoder(op.input_shape, self._dec_cache) if op.input_shape else None
                names = frozenset(
                    n for name, m in (op.input_shape.members.items() if op.input_shape else ())
                    for n in _member_wire_names(name, m) if n
                )
                if op.output_shape is not None:
                    enc = _compile_encoder(op.output_shape, self._enc_cache)
                    wrapper = op.output_shape.serialization.get("resultWrapper") or f"{operation}Result"
                else:
                    enc = wrapper = None
            codec = self._ops[operation] = (dec, enc, wrapper, names)
        return codec

    # ------------------------------------------------------------------ replies

    def _error(self, code: str, message: str, status: int = 400, request_id: str = "") -> WireResponse:
        kind = "Receiver" if status >= 500 else "Sender"
        body = (
            f"<ErrorResponse{self.xmlns}><Error><Type>{kind}</Type><Code>{_xml_text(code)}</Code>"
            f"<Message>{_xml_text(message)}</Message></Error>"
            f"<RequestId>{_xml_text(request_id)}</RequestId></ErrorResponse>"
        ).encode("utf-8")
        return WireResponse(status, self._headers(body, request_id), body)

    def _headers(self, body: bytes, request_id: str) -> dict[str, str]:
        return {
            "x-amzn-RequestId": request_id,
            "Content-Type": self.CONTENT_TYPE,
        }

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
        if errors:
            return self._error("ValidationError", _validation_message(errors), 400, request_id)
        try:
            result = self.handler(action, request, ctx)
        except AWSError as exc:
            return self._error(exc.code, exc.message, exc.status, request_id)
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
        return WireResponse(200, self._headers(out, request_id), out)
