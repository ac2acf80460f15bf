"""The narrow channel between the checker (outside the sandbox) and the learner's kernel (inside).

Messages are length-prefixed JSON over a Unix socket: a 4-byte big-endian length, then that many
bytes of UTF-8 JSON, one object per message. Values inside messages use a **tagged encoding**, so
that exactly these types cross, and nothing that can run code (never pickle)::

    None, bool, int, float, str       as JSON (non-finite floats as {"float": "nan" | "inf" | "-inf"})
    list                              a JSON array
    bytes, bytearray, memoryview      {"bytes": "<base64>"}            (arrive as bytes)
    tuple                             {"tuple": [...]}
    set, frozenset                    {"set": [...]}                   (arrive as set)
    dict                              {"dict": [[key, value], ...]}    (keys of any hashable type above)
    datetime.datetime / date          {"datetime": "<ISO 8601>"} / {"date": "<ISO 8601>"}
    pathlib.PurePath                  {"path": "/absolute/or/relative"}
    a botocore client of the checker  {"client": {"id", "service", "region"}}  (checker to kernel only)
    a kms_teach.Cloud of the checker  {"cloud": {"id", "account_id", "region"}} (checker to kernel only)

The reading side treats every byte as hostile: a message longer than its limit, JSON that is not
strict (NaN, duplicate keys, nesting deeper than :data:`MAX_DEPTH`, more than :data:`MAX_NODES`
values), an unknown tag or a value of the wrong shape raises :class:`ProtocolError`; a read that
does not complete before its deadline raises :class:`ChannelTimeout`; a closed peer raises
:class:`ChannelClosed`.

Errors::

    ChannelError              (BaseException: hidden checks' ``except Exception`` cannot swallow it)
     ├── ChannelClosed        the other side went away (the kernel died, or closed the socket)
     ├── ChannelTimeout       no complete message before the deadline
     └── ProtocolError        a message that breaks the format or its limits
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
import pathlib
import socket
import struct
import time

MAX_MESSAGE = 16 * 1024 * 1024  # bytes per message: a result, an AWS request or an AWS response
MAX_DEPTH = 64
MAX_NODES = 1_000_000
_HEADER = struct.Struct(">I")


class ChannelError(BaseException):
    """The channel broke. A BaseException on purpose: a hidden check's ``except Exception`` (which
    expects the learner's code to raise) must never mistake a dead or lying kernel for an answer."""


class ChannelClosed(ChannelError):
    """The other side closed the connection."""


class ChannelTimeout(ChannelError):
    """No complete message arrived before the deadline."""


class ProtocolError(ChannelError):
    """A message that breaks the format or its limits."""


class Unsendable(TypeError):
    """A value of a type that does not cross the channel (raised on the sending side)."""


# ---------------------------------------------------------------------- framing


def send(sock: socket.socket, message: dict, *, limit: int = MAX_MESSAGE) -> None:
    data = json.dumps(message, separators=(",", ":"), allow_nan=False, ensure_ascii=False).encode("utf-8")
    if len(data) > limit:
        raise Unsendable(f"a message of {len(data):,} bytes is more than the channel carries ({limit:,})")
    sock.sendall(_HEADER.pack(len(data)) + data)


def receive(sock: socket.socket, deadline: float | None = None, *, limit: int = MAX_MESSAGE) -> dict:
    """One message (a JSON object), read before ``deadline`` (a ``time.monotonic()`` value)."""
    size = _HEADER.unpack(bytes(_read_exactly(sock, _HEADER.size, deadline)))[0]
    if size > limit:
        raise ProtocolError(f"a message of {size:,} bytes was announced; the limit is {limit:,}")
    return parse(bytes(_read_exactly(sock, size, deadline)))


def _read_exactly(sock: socket.socket, n: int, deadline: float | None) -> bytearray:
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ChannelTimeout("no answer before the time limit")
            sock.settimeout(left)
        else:
            sock.settimeout(None)
        try:
            count = sock.recv_into(view[got:], min(n - got, 1 << 20))
        except socket.timeout:
            raise ChannelTimeout("no answer before the time limit") from None
        except OSError as exc:
            raise ChannelClosed(f"the connection failed ({exc.strerror or exc})") from None
        if count == 0:
            raise ChannelClosed("the other side closed the connection")
        got += count
    return buf


def _no_constants(name: str):
    raise ProtocolError(f"{name} is not strict JSON")


def _unique_keys(pairs):
    out = {}
    for key, value in pairs:
        if key in out:
            raise ProtocolError(f"the key {key[:40]!r} appears twice in one object")
        out[key] = value
    return out


def parse(data: bytes) -> dict:
    # Bounded before parsing: each value costs tens of bytes once parsed, so count them first.
    if data.count(b",") + data.count(b"[") + data.count(b"{") > MAX_NODES:
        raise ProtocolError(f"a message with more than {MAX_NODES:,} values")
    try:
        message = json.loads(data.decode("utf-8"), parse_constant=_no_constants, object_pairs_hook=_unique_keys)
    except ProtocolError:
        raise
    except RecursionError:
        raise ProtocolError("a message nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"a message that is not JSON ({str(exc)[:80]})") from None
    if not isinstance(message, dict):
        raise ProtocolError("a message is a JSON object")
    return message


# ---------------------------------------------------------------------- values


def encode(value, refs=None, _depth: int = 0):
    """The tagged JSON form of ``value``; ``refs(value)`` may return a tag for objects it knows
    (the checker's clients and clouds), or None."""
    if _depth > MAX_DEPTH:
        raise Unsendable(f"a value nested more than {MAX_DEPTH} deep")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return {"float": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, list):
        return [encode(v, refs, _depth + 1) for v in value]
    if isinstance(value, tuple):
        return {"tuple": [encode(v, refs, _depth + 1) for v in value]}
    if isinstance(value, (set, frozenset)):
        return {"set": [encode(v, refs, _depth + 1) for v in value]}
    if isinstance(value, dict):
        return {"dict": [[encode(k, refs, _depth + 1), encode(v, refs, _depth + 1)] for k, v in value.items()]}
    if isinstance(value, dt.datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if isinstance(value, pathlib.PurePath):
        return {"path": str(value)}
    if refs is not None:
        tagged = refs(value)
        if tagged is not None:
            return tagged
    raise Unsendable(f"a {type(value).__module__}.{type(value).__qualname__} cannot be sent: only None, bool, "
                     "numbers, str, bytes, lists, tuples, sets, dicts, datetimes and paths cross")


_FLOATS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


class _Decoder:
    def __init__(self, refs):
        self.refs = refs
        self.nodes = 0

    def __call__(self, value, depth: int = 0):
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ProtocolError(f"more than {MAX_NODES:,} values")
        if depth > MAX_DEPTH:
            raise ProtocolError(f"a value nested more than {MAX_DEPTH} deep")
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, list):
            return [self(v, depth + 1) for v in value]
        if not isinstance(value, dict) or len(value) != 1:
            raise ProtocolError("a tagged value is an object with exactly one key")
        (tag, body), = value.items()
        if tag == "bytes":
            if not isinstance(body, str):
                raise ProtocolError("bytes are a base64 string")
            try:
                return base64.b64decode(body.encode("ascii"), validate=True)
            except (binascii.Error, UnicodeEncodeError):
                raise ProtocolError("bytes that are not base64") from None
        if tag in ("tuple", "set"):
            items = self._list(body, tag, depth)
            if tag == "tuple":
                return tuple(items)
            try:
                return set(items)
            except TypeError:
                raise ProtocolError("a set of values that cannot be in a set") from None
        if tag == "dict":
            pairs = self._list(body, tag, depth)
            out = {}
            for pair in pairs:
                if not isinstance(pair, list) or len(pair) != 2:
                    raise ProtocolError("a dict is a list of [key, value] pairs")
                try:
                    out[pair[0]] = pair[1]
                except TypeError:
                    raise ProtocolError("a dict key that cannot be a key") from None
            return out
        if tag == "float":
            if body not in _FLOATS:
                raise ProtocolError("a tagged float is nan, inf or -inf")
            return _FLOATS[body]
        if tag in ("datetime", "date"):
            if not isinstance(body, str) or len(body) > 64:
                raise ProtocolError(f"a {tag} is an ISO 8601 string")
            try:
                return (dt.datetime if tag == "datetime" else dt.date).fromisoformat(body)
            except ValueError:
                raise ProtocolError(f"not an ISO 8601 {tag}") from None
        if tag == "path":
            if not isinstance(body, str) or "\0" in body:
                raise ProtocolError("a path is a string")
            return pathlib.Path(body)
        if self.refs is not None:
            found = self.refs(tag, body)
            if found is not None:
                return found
        raise ProtocolError(f"unknown tag {tag[:40]!r}")

    def _list(self, body, tag, depth):
        if not isinstance(body, list):
            raise ProtocolError(f"a {tag} holds a list")
        return [self(v, depth + 1) for v in body]


def decode(value, refs=None):
    """The value a tagged JSON form stands for; ``refs(tag, body)`` may resolve extra tags."""
    return _Decoder(refs)(value)


def connect(path: str, deadline: float | None = None) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if deadline is not None:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
    sock.connect(path)
    return sock
