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
import uuid
from typing import Any, Callable

from botocore import xform_name

from .._errors import ProtocolError
from .base import (INT_RANGES, WireRequest, header_text, NULL, Parser, Protocol, Serializer, WireResponse, _b64decode_strict, _b64encode,
                   _lower_first, check_bounds)

__all__ = ["JsonProtocol"]

_UTC = _dt.timezone.utc


class _SerializationError(ProtocolError):
    def __init__(self, message: str):
        self.message = message


# ---------------------------------------------------------------------------
# Codecs
# ---------------------------------------------------------------------------


class _JsonParser(Parser):
    """A function (value, path, errors) -> decoded value, validating as it goes."""

    def _parse_type_structure(self, shape):
        table = {
            name: (xform_name(name), _lower_first(name), self.compile(mshape)) for name, mshape in shape.members.items()
        }
        req_camel = [(r, _lower_first(r)) for r in shape.required_members]

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
                    errors.append((prefix + camel, NULL, "Member must not be null"))
            return out

        return dec_struct

    @staticmethod
    def _length(shape):
        """A list's or map's length check; the message shows the value unless it is sensitive."""
        meta = shape.metadata
        lo, hi, sensitive = meta.get("min"), meta.get("max"), meta.get("sensitive", False)
        return lambda value, path, errors: check_bounds("length", lo, hi, len(value), None if sensitive else value,
                                                        path, errors)

    def _parse_type_list(self, shape):
        sub = self.compile(shape.member)
        length = self._length(shape)

        def dec_list(value, path, errors):
            if not isinstance(value, list):
                raise _SerializationError(f"Expected a list at '{path}'")
            length(value, path, errors)
            return [sub(v, path + ".member", errors) for v in value]

        return dec_list

    def _parse_type_map(self, shape):
        kdec, vdec = self.compile(shape.key), self.compile(shape.value)
        length = self._length(shape)

        def dec_map(value, path, errors):
            if not isinstance(value, dict):
                raise _SerializationError(f"Expected an object at '{path}'")
            length(value, path, errors)
            return {kdec(k, path + ".key", errors): vdec(v, path + ".value", errors) for k, v in value.items()}

        return dec_map

    def _parse_type_string(self, shape):
        check = self._string_check(shape)

        def dec_string(value, path, errors):
            if not isinstance(value, str):
                raise _SerializationError(f"Expected a string at '{path}'")
            if check is not None:
                check(value, path, errors)
            return value

        return dec_string

    def _parse_type_blob(self, shape):
        lo, hi = shape.metadata.get("min"), shape.metadata.get("max")

        def dec_blob(value, path, errors):
            if value.__class__ is not str:
                raise _SerializationError(f"Expected a base64 string at '{path}'")
            try:
                raw = _b64decode_strict(value)
            except (binascii.Error, ValueError):
                raise _SerializationError(f"Value at '{path}' is not valid base64") from None
            check_bounds("length", lo, hi, len(raw), None, path, errors)
            return raw

        return dec_blob

    def _parse_type_integer(self, shape):
        t = shape.type_name
        type_lo, type_hi = INT_RANGES[t]
        lo, hi = shape.metadata.get("min"), shape.metadata.get("max")

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

        return dec_int

    _parse_type_long = _parse_type_integer

    def _parse_type_boolean(self, shape):
        def dec_bool(value, path, errors):
            if not isinstance(value, bool):
                raise _SerializationError(f"Expected a boolean at '{path}'")
            return value

        return dec_bool

    def _parse_type_timestamp(self, shape):
        def dec_ts(value, path, errors):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise _SerializationError(f"Expected an epoch timestamp at '{path}'")
            try:
                return _dt.datetime.fromtimestamp(value, _UTC)
            except (OverflowError, OSError, ValueError):  # past year 9999, before year 1, inf, NaN
                raise _SerializationError(f"Timestamp out of range at '{path}'") from None

        return dec_ts

    def _parse_type_double(self, shape):
        def dec_num(value, path, errors):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise _SerializationError(f"Expected a number at '{path}'")
            if not math.isfinite(value):  # JSON has no infinity; 1e400 reads as one
                raise _SerializationError(f"Number out of range at '{path}'")
            return value

        return dec_num

    _parse_type_float = _parse_type_double


try:  # a fast JSON parser for request bodies (the standard library is the fallback)
    from orjson import loads as _json_loads
except ImportError:  # pragma: no cover
    _json_loads = json.loads

_json_str = json.encoder.encode_basestring_ascii  # C implementation: "..." with escapes


def _json_any(value) -> str:
    return json.dumps(value, separators=(",", ":"))


class _JsonSerializer(Serializer):
    """A function: snake_case value -> JSON text in AWS's member names.

    Writes JSON directly rather than building a dict for ``json.dumps``:
    blobs are base64 (never needs escaping), so a 4 KB ciphertext is not
    scanned twice. ``tests/unit/test_wire_base.py`` checks the text parses back.
    """

    def _serialize_type_structure(self, shape):
        table = {
            xform_name(name): (_json_str(name) + ":", self.compile(mshape)) for name, mshape in shape.members.items()
        }

        def enc_struct(value):
            parts = []
            for k, v in value.items():
                if v is None:
                    continue
                name, sub = table[k]
                parts.append(name + sub(v))
            return "{" + ",".join(parts) + "}"

        return enc_struct

    def _serialize_type_list(self, shape):
        sub = self.compile(shape.member)
        return lambda v: "[" + ",".join([sub(x) for x in v]) + "]"

    def _serialize_type_map(self, shape):
        vsub = self.compile(shape.value)
        return lambda v: "{" + ",".join([_json_str(k) + ":" + vsub(x) for k, x in v.items()]) + "}"

    def _serialize_type_blob(self, shape):
        return lambda v: '"' + _b64encode(v) + '"'

    def _serialize_type_timestamp(self, shape):
        return lambda v: repr(round(v.timestamp(), 3))

    def _serialize_type_string(self, shape):
        return _json_str

    def _serialize_type_double(self, shape):
        return _json_any  # as the standard library writes a number

    _serialize_type_float = _serialize_type_double


# ---------------------------------------------------------------------------
# JSON 1.1
# ---------------------------------------------------------------------------


class JsonProtocol(Protocol):
    """Serve one AWS JSON-1.1 service (KMS, CloudTrail) from a Python handler.

    ``handler(operation_name, request_dict, ctx) -> response_dict`` works in
    snake_case and raises :class:`AWSError`.
    """

    CONTENT_TYPE = "application/x-amz-json-1.1"

    PROTOCOL = "json"

    def __init__(self, service_name: str, handler: Callable[[str, dict, Any], dict]):
        super().__init__(service_name, handler)
        self.target_prefix = self.model.metadata["targetPrefix"]
        self._parser = _JsonParser()
        self._serializer = _JsonSerializer()

    def _compile(self, op):
        dec = self._parser.compile(op.input_shape) if op.input_shape else (lambda v, p, e: {})
        enc = self._serializer.compile(op.output_shape) if op.output_shape else (lambda v: "{}")
        return dec, enc

    def _error_body(self, code, message, status, request_id, details, headers) -> str:
        return json.dumps({"__type": code, "message": message})

    @property
    def INTERNAL_ERROR(self) -> str:
        # KMS's own fault code; CloudTrail's API Reference lists none, and AWS's JSON services answer InternalFailure.
        return "KMSInternalException" if self.target_prefix == "TrentService" else "InternalFailure"

    def _answer(self, request: WireRequest, ctx) -> WireResponse:
        return self.handle(header_text(request.headers, "x-amz-target"), request.body, ctx)

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
        result, failed = self._call(operation, request, errors, ctx)
        if failed is not None:
            return failed
        out = enc(result).encode("utf-8")
        return WireResponse(200, self._headers(request_id), out)
