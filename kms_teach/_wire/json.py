"""Layer 4: the JSON 1.1 protocol (KMS, CloudTrail), driven by botocore's service models.

One implementation serves both the in-process boto3 clients (through
botocore's ``before-send`` event, so a request is really serialised, sent
as HTTP bytes, answered and parsed) and the HTTP endpoint.

For the JSON 1.1 protocol (KMS, CloudTrail) a request is::

    POST /                                   X-Amz-Target: TrentService.Encrypt
    Content-Type: application/x-amz-json-1.1
    {"KeyId": "alias/x", "Plaintext": "<base64>", "EncryptionContext": {"a": "b"}}

The codec compiled from the operation's input shape validates the body the way
AWS does (required members, lengths, ranges, enums, patterns: a
``ValidationException`` listing every violation), decodes base64 blobs and
epoch timestamps, and renames members to snake_case for the service. The
output codec does the reverse. Errors travel as ``{"__type": code, "message": text}``.
"""

from __future__ import annotations

import binascii
import datetime as _dt
import json
import math
import re
import threading
import uuid
from typing import Any, Callable

from botocore import xform_name

from .._errors import AWSError, ProtocolError
from .base import INT_RANGES, WireResponse, _b64decode_strict, _b64encode, _lower_first, check_bounds, service_model

__all__ = ["JsonProtocol"]

_UTC = _dt.timezone.utc


class _SerializationError(ProtocolError):
    def __init__(self, message: str):
        self.message = message


def _fmt_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


# ---------------------------------------------------------------------------
# Codec compilation
# ---------------------------------------------------------------------------

Decoder = Callable[[Any, str, list], Any]
Encoder = Callable[[Any], Any]


def _compile_decoder(shape, cache: dict) -> Decoder:
    """A function (value, path, errors) -> decoded value, validating as it goes."""
    key = shape.name
    if key in cache:
        compiled = cache[key]
        # None while the shape is still being compiled (a recursive shape): look it up at call time.
        return compiled if compiled is not None else (lambda v, p, e: cache[key](v, p, e))
    t = shape.type_name
    meta = shape.metadata
    lo, hi = meta.get("min"), meta.get("max")
    sensitive = meta.get("sensitive", False)

    def length_check(n: int, value: Any, path: str, errors: list) -> None:
        check_bounds("length", lo, hi, n, None if sensitive or t == "blob" else value, path, errors)

    if t == "structure":
        members = []
        for name, mshape in shape.members.items():
            members.append((name, xform_name(name), _lower_first(name), None))
        required = list(shape.required_members)
        cache[key] = None  # placeholder for recursion

        table = {
            name: (snake, camel, _compile_decoder(mshape, cache))
            for (name, snake, camel, _), mshape in zip(members, shape.members.values())
        }
        req_camel = [(r, _lower_first(r)) for r in required]

        def dec_struct(value, path, errors):
            if value.__class__ is not dict:
                raise _SerializationError(f"Expected an object at '{path or 'body'}'")
            out = {}
            prefix = path + "." if path else ""
            # Members the model does not know are ignored, as AWS's JSON services do.
            for name, v in value.items():
                entry = table.get(name)
                if entry is None or v is None:
                    continue
                snake, camel, sub = entry
                out[snake] = sub(v, prefix + camel, errors)
            for name, camel in req_camel:
                if value.get(name) is None:
                    errors.append((prefix + camel, "null", "Member must not be null"))
            return out

        cache[key] = dec_struct
        return dec_struct

    if t == "list":
        sub = _compile_decoder(shape.member, cache)

        def dec_list(value, path, errors):
            if not isinstance(value, list):
                raise _SerializationError(f"Expected a list at '{path}'")
            length_check(len(value), value, path, errors)
            return [sub(v, path + ".member", errors) for v in value]

        cache[key] = dec_list
        return dec_list

    if t == "map":
        kdec = _compile_decoder(shape.key, cache)
        vdec = _compile_decoder(shape.value, cache)

        def dec_map(value, path, errors):
            if not isinstance(value, dict):
                raise _SerializationError(f"Expected an object at '{path}'")
            length_check(len(value), value, path, errors)
            return {kdec(k, path + ".key", errors): vdec(v, path + ".value", errors) for k, v in value.items()}

        cache[key] = dec_map
        return dec_map

    if t == "string":
        enum = shape.enum
        pattern = meta.get("pattern")
        # AWS validates with java.util.regex: the whole value must match, and \w is ASCII.
        rx = re.compile(pattern, re.ASCII) if pattern else None

        def dec_string(value, path, errors):
            if not isinstance(value, str):
                raise _SerializationError(f"Expected a string at '{path}'")
            if lo is not None or hi is not None:
                length_check(len(value), value, path, errors)
            if enum and value not in enum:
                errors.append((path, value, f"Member must satisfy enum value set: [{', '.join(enum)}]"))
            elif rx is not None and not rx.fullmatch(value):
                errors.append((path, None if sensitive else value,
                               f"Member must satisfy regular expression pattern: {pattern}"))
            return value

        cache[key] = dec_string
        return dec_string

    if t == "blob":

        def dec_blob(value, path, errors):
            if value.__class__ is not str:
                raise _SerializationError(f"Expected a base64 string at '{path}'")
            try:
                raw = _b64decode_strict(value)
            except (binascii.Error, ValueError):
                raise _SerializationError(f"Value at '{path}' is not valid base64") from None
            length_check(len(raw), raw, path, errors)
            return raw

        cache[key] = dec_blob
        return dec_blob

    if t in ("integer", "long"):
        type_lo, type_hi = INT_RANGES[t]

        def dec_int(value, path, errors):
            if isinstance(value, bool) or not isinstance(value, int):
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                else:
                    raise _SerializationError(f"Expected an integer at '{path}'")
            if not type_lo <= value <= type_hi:  # past the member's type (Integer: 32 bits, Long: 64)
                raise _SerializationError(f"Number out of range for {t} at '{path}'")
            check_bounds("value", lo, hi, value, value, path, errors)
            return value

        cache[key] = dec_int
        return dec_int

    if t == "boolean":

        def dec_bool(value, path, errors):
            if not isinstance(value, bool):
                raise _SerializationError(f"Expected a boolean at '{path}'")
            return value

        cache[key] = dec_bool
        return dec_bool

    if t == "timestamp":

        def dec_ts(value, path, errors):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise _SerializationError(f"Expected an epoch timestamp at '{path}'")
            try:
                return _dt.datetime.fromtimestamp(value, _UTC)
            except (OverflowError, OSError, ValueError):  # past year 9999, before year 1, inf, NaN
                raise _SerializationError(f"Timestamp out of range at '{path}'") from None

        cache[key] = dec_ts
        return dec_ts

    if t in ("double", "float"):

        def dec_num(value, path, errors):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise _SerializationError(f"Expected a number at '{path}'")
            if not math.isfinite(value):  # JSON has no infinity; 1e400 reads as one
                raise _SerializationError(f"Number out of range at '{path}'")
            return value

        cache[key] = dec_num
        return dec_num

    raise NotImplementedError(f"shape type {t}")  # pragma: no cover - every KMS shape type is above


try:  # a fast JSON parser for request bodies (the standard library is the fallback)
    from orjson import loads as _json_loads
except ImportError:  # pragma: no cover
    _json_loads = json.loads

_json_str = json.encoder.encode_basestring_ascii  # C implementation: "..." with escapes


def _json_any(value) -> str:
    return json.dumps(value, separators=(",", ":"))


def _compile_encoder(shape, cache: dict) -> Encoder:
    """A function: snake_case value -> JSON text in AWS's member names.

    Writes JSON directly rather than building a dict for ``json.dumps``:
    blobs are base64 (never needs escaping), so a 4 KB ciphertext is not
    scanned twice. ``tests/unit/test_wire.py`` checks the text parses back.
    """
    key = shape.name
    if key in cache:
        compiled = cache[key]
        return compiled if compiled is not None else (lambda v: cache[key](v))
    t = shape.type_name
    if t == "structure":
        cache[key] = None
        table = {
            xform_name(name): (_json_str(name) + ":", _compile_encoder(mshape, cache))
            for name, mshape in shape.members.items()
        }

        def enc_struct(value):
            parts = []
            for k, v in value.items():
                if v is None:
                    continue
                name, sub = table[k]
                parts.append(name + sub(v))
            return "{" + ",".join(parts) + "}"

        cache[key] = enc_struct
        return enc_struct
    if t == "list":
        sub = _compile_encoder(shape.member, cache)
        enc = cache[key] = lambda v: "[" + ",".join([sub(x) for x in v]) + "]"
        return enc
    if t == "map":
        vsub = _compile_encoder(shape.value, cache)
        enc = cache[key] = lambda v: "{" + ",".join([_json_str(k) + ":" + vsub(x) for k, x in v.items()]) + "}"
        return enc
    if t == "blob":
        enc = cache[key] = lambda v: '"' + _b64encode(v) + '"'
        return enc
    if t == "timestamp":
        enc = cache[key] = lambda v: repr(round(v.timestamp(), 3))
        return enc
    if t == "string":
        enc = cache[key] = _json_str
        return enc
    if t == "boolean":
        enc = cache[key] = lambda v: "true" if v else "false"
        return enc
    if t in ("integer", "long"):
        enc = cache[key] = lambda v: str(int(v))
        return enc
    enc = cache[key] = _json_any
    return enc


def _validation_message(errors: list) -> str:
    parts = []
    for path, value, constraint in errors:
        shown = "" if value is None else (" null" if value == "null" else f" '{_fmt_value(value)}'")
        parts.append(f"Value{shown} at '{path}' failed to satisfy constraint: {constraint}")
    n = len(parts)
    return f"{n} validation error{'s' if n > 1 else ''} detected: " + "; ".join(parts)


# ---------------------------------------------------------------------------
# JSON 1.1
# ---------------------------------------------------------------------------


class JsonProtocol:
    """Serve one AWS JSON-1.1 service (KMS, CloudTrail) from a Python handler.

    ``handler(operation_name, request_dict, ctx) -> response_dict`` works in
    snake_case and raises :class:`AWSError`.
    """

    CONTENT_TYPE = "application/x-amz-json-1.1"

    def __init__(self, service_name: str, handler: Callable[[str, dict, Any], dict]):
        self.model = service_model(service_name)
        self.target_prefix = self.model.metadata["targetPrefix"]
        self.handler = handler
        self._dec_cache: dict = {}
        self._enc_cache: dict = {}
        self._ops: dict[str, tuple] = {}
        self._compile_lock = threading.Lock()

    def _codec(self, operation: str):
        codec = self._ops.get(operation)
        if codec is None:
            with self._compile_lock:  # two first calls at once must not see a half-compiled codec
                return self._compile(operation)
        return codec

    def _compile(self, operation: str):
        codec = self._ops.get(operation)
        if codec is None:
            try:
                op = self.model.operation_model(operation)
            except Exception:
                return None
            dec = _compile_decoder(op.input_shape, self._dec_cache) if op.input_shape else (lambda v, p, e: {})
            enc = _compile_encoder(op.output_shape, self._enc_cache) if op.output_shape else (lambda v: "{}")
            codec = self._ops[operation] = (dec, enc)
        return codec

    def _error(self, code: str, message: str, status: int = 400, request_id: str = "") -> WireResponse:
        body = json.dumps({"__type": code, "message": message}).encode("utf-8")
        return WireResponse(status, self._headers(body, request_id), body)

    def _headers(self, body: bytes, request_id: str) -> dict[str, str]:
        return {
            "x-amzn-RequestId": request_id,
            "Content-Type": self.CONTENT_TYPE,
        }

    def handle(self, target: str | None, body: bytes, ctx) -> WireResponse:
        """Answer one request: ``target`` is the X-Amz-Target header, ``body`` the raw JSON."""
        request_id = ctx.request_id or str(uuid.uuid4())
        ctx.request_id = request_id
        if not target:
            return self._error("MissingAction", "Missing required header: X-Amz-Target", 400, request_id)
        prefix, _, operation = target.rpartition(".")
        if prefix != self.target_prefix or not operation:
            return self._error("UnknownOperationException", f"Unknown operation {target}", 400, request_id)
        codec = self._codec(operation)
        if codec is None:
            return self._error("UnknownOperationException", f"Unknown operation {target}", 400, request_id)
        dec, enc = codec
        try:
            doc = _json_loads(body) if body else {}
        except (ValueError, UnicodeDecodeError):
            return self._error("SerializationException", "Start of structure or map found where not expected.",
                               400, request_id)
        errors: list = []
        try:
            request = dec(doc, "", errors)
        except _SerializationError as exc:
            return self._error("SerializationException", exc.message, 400, request_id)
        if errors:
            return self._error("ValidationException", _validation_message(errors), 400, request_id)
        try:
            result = self.handler(operation, request, ctx)
        except AWSError as exc:
            return self._error(exc.code, exc.message, exc.status, request_id)
        out = enc(result).encode("utf-8")
        return WireResponse(200, self._headers(out, request_id), out)
