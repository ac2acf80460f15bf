"""A local AWS endpoint: the simulated cloud over HTTP, for the aws CLI and any SDK.

``kms-teach serve`` (or :func:`serve_in_background` from a notebook) listens on
the loopback interface and answers AWS's wire protocols for every service the
:class:`~kms_teach.Cloud` simulates. Each request must be signed with AWS
Signature Version 4 using an access key the simulated IAM issued; the service
and Region come from the signature's credential scope
(``Credential=AKID/20260101/us-east-1/kms/aws4_request``), the caller is the
key's principal (an account root, an IAM user, or a role session for STS keys
with their ``X-Amz-Security-Token``), and the request goes to
:meth:`Cloud.handle <kms_teach.Cloud.handle>`.

The HTTP server is `cheroot <https://pypi.org/project/cheroot/>`_ (CherryPy's
threaded HTTP/1.1 server, with keep-alive). It hands the application the body
as a stream, so an oversized body is refused on its ``Content-Length`` alone,
before it is read.

Fidelity notes:

* Plain HTTP on the loopback interface only: AWS endpoints are HTTPS only.
  ``aws:SecureTransport`` is still true in the permissions engine.
* The signature's age is checked against the *wall clock*, as AWS checks it
  against real time: the aws CLI and SDKs sign with the machine's clock, and
  the simulated clock (``cloud.clock.advance(days=365)``) would otherwise turn
  every request into "Signature expired". Everything else (key rotation,
  deletion windows, session expiry) runs on the simulated clock.
* Error status codes: the JSON services (KMS, CloudTrail) answer every
  authentication failure with 400, as KMS does; the query services (IAM, STS)
  with 403, except ``IncompleteSignature`` (400), as their Common Errors tables
  say; S3 with its own codes (``InvalidAccessKeyId``, ``SignatureDoesNotMatch``,
  ``RequestTimeTooSkewed``, ``AccessDenied`` ...).
* An expired STS session key is refused as unknown (``UnrecognizedClientException``);
  AWS says ``ExpiredTokenException``.
* Bodies over 10 MiB (64 MiB for S3) are refused with HTTP 413
  (``RequestEntityTooLargeException`` for JSON services, ``RequestEntityTooLarge``
  for query services, ``EntityTooLarge`` for S3). AWS's limits differ per
  service (KMS takes 4 KB plaintexts, S3 5 GiB in one PutObject) and its front
  ends answer 413 in their own words.
* Requests without a signature are refused; S3 would treat them as anonymous
  (and refuse them too unless a bucket policy allows anonymous access).
* S3 presigned URLs in Signature Version 2 (``AWSAccessKeyId``, ``Expires``,
  ``Signature``: what boto3 makes for S3 unless configured for ``s3v4``) are
  accepted; no other request may use Signature Version 2.
"""

from __future__ import annotations

import datetime as _dt
import http
import ipaddress
import json
import os
import re
import secrets
import shlex
import socket
import stat
import tempfile
import threading
import time
import uuid
from email.utils import formatdate
from pathlib import Path
from typing import Callable
from urllib.parse import quote, unquote

from .._errors import AuthError, DataDirInUse, ProtocolError
from . import sigv4 as _sigv4

__all__ = ["serve_in_background", "ServerHandle", "EndpointApp", "make_server", "DEFAULT_PORT", "MAX_BODY",
           "MAX_BODY_S3",
           "default_data_dir", "root_credentials", "write_aws_files", "read_credentials_key", "endpoint_env",
           "endpoint_url", "export_lines", "is_loopback", "DataDirInUse"]

#: The port ``kms-teach serve`` listens on by default (LocalStack has 4566 and moto 5000).
DEFAULT_PORT = 8555
#: The largest request body accepted (HTTP 413 beyond it), for the JSON and query services ...
MAX_BODY = 10 * 1024 * 1024
#: ... and for S3 (an object in one PutObject; AWS takes up to 5 GiB).
MAX_BODY_S3 = 64 * 1024 * 1024
#: A body at most this much over its limit is read and discarded before the 413 answer, so that the
#: client reliably reads the answer; a bigger one is refused without reading (the connection closes).
DRAIN_LIMIT = 64 * 1024 * 1024
#: Worker threads (idle keep-alive connections, and connections still sending their headers, do not hold one).
THREADS = 16
#: Seconds a request body may take, plus one second per MIN_BODY_RATE bytes of it (a client that sends
#: a byte now and then is answered 408 and cut off; see kms_teach._http.guard for the headers' timeout).
BODY_TIMEOUT = 20.0
MIN_BODY_RATE = 256 * 1024

_UTC = _dt.timezone.utc
_XML_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}


def _xml(text: str) -> str:
    return "".join(_XML_ESCAPES.get(c, c) if c in _XML_ESCAPES or c >= " " or c in "\t\n\r" else "\ufffd"
                   for c in text)


# ---------------------------------------------------------------------------
# Errors in each protocol's own format
# ---------------------------------------------------------------------------

#: For each kind of authentication failure: (code, status) of the JSON services, of the query
#: services, and (code, status, message or None to keep the SigV4 text) of S3.
_AUTH_CODES = {
    "missing": (("MissingAuthenticationTokenException", 400), ("MissingAuthenticationToken", 403),
                ("AccessDenied", 403, "Access Denied")),
    "incomplete": (("IncompleteSignatureException", 400), ("IncompleteSignature", 400),
                   ("AuthorizationHeaderMalformed", 400, None)),
    "scope": (("InvalidSignatureException", 400), ("SignatureDoesNotMatch", 403),
              ("AuthorizationHeaderMalformed", 400, None)),
    "skewed": (("InvalidSignatureException", 400), ("SignatureDoesNotMatch", 403),
               ("RequestTimeTooSkewed", 403, "The difference between the request time and the current time is too "
                                             "large.")),
    "expired_url": (("InvalidSignatureException", 400), ("SignatureDoesNotMatch", 403),
                    ("AccessDenied", 403, "Request has expired")),
    "unknown_key": (("UnrecognizedClientException", 400), ("InvalidClientTokenId", 403),
                    ("InvalidAccessKeyId", 403, "The AWS Access Key Id you provided does not exist in our records.")),
    "bad_token": (("UnrecognizedClientException", 400), ("InvalidClientTokenId", 403),
                  ("InvalidToken", 400, "The provided token is malformed or otherwise invalid.")),
    "payload": (("InvalidSignatureException", 400), ("SignatureDoesNotMatch", 403),
                ("XAmzContentSHA256Mismatch", 400, None)),
    "unsigned_headers": (("InvalidSignatureException", 400), ("SignatureDoesNotMatch", 403),
                         ("AccessDenied", 403, None)),
    "signature": (("InvalidSignatureException", 400), ("SignatureDoesNotMatch", 403),
                  ("SignatureDoesNotMatch", 403, "The request signature we calculated does not match the signature "
                                                 "you provided. Check your key and signing method.")),
}
INVALID_TOKEN = "The security token included in the request is invalid."


class _Format:
    """How one service (or a best guess for an unknown one) writes an error."""

    __slots__ = ("kind", "content_type", "xmlns")

    def __init__(self, kind: str, content_type: str, xmlns: str = ""):
        self.kind = kind  # "json", "query" or "xml"
        self.content_type = content_type
        self.xmlns = xmlns

    def error(self, code: str, message: str, status: int, request_id: str | None = None):
        request_id = request_id or str(uuid.uuid4())
        if self.kind == "json":
            body = json.dumps({"__type": code, "message": message}).encode("utf-8")
        elif self.kind == "query":
            xmlns = f' xmlns="{self.xmlns}"' if self.xmlns else ""
            kind = "Receiver" if status >= 500 else "Sender"
            body = (f"<ErrorResponse{xmlns}><Error><Type>{kind}</Type><Code>{_xml(code)}</Code>"
                    f"<Message>{_xml(message)}</Message></Error><RequestId>{request_id}</RequestId>"
                    f"</ErrorResponse>").encode("utf-8")
        else:  # REST-XML (S3)
            body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{_xml(code)}</Code>'
                    f"<Message>{_xml(message)}</Message><RequestId>{request_id}</RequestId></Error>").encode("utf-8")
            return status, {"x-amz-request-id": request_id, "Content-Type": self.content_type}, body
        return status, {"x-amzn-RequestId": request_id, "Content-Type": self.content_type}, body

    def auth_error(self, exc: AuthError):
        (jcode, jstatus), (qcode, qstatus), (xcode, xstatus, xmessage) = _AUTH_CODES[exc.kind]
        if self.kind == "json":
            return self.error(jcode, exc.message, jstatus)
        if self.kind == "query":
            return self.error(qcode, exc.message, qstatus)
        return self.error(xcode, xmessage or exc.message, xstatus)


_JSON_GENERIC = _Format("json", "application/x-amz-json-1.1")
_XML_GENERIC = _Format("xml", "application/xml")
_formats: dict[str, _Format] = {}


_SERVICE_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{0,62}")
_UNKNOWN = _Format("unknown", "")


def _format_for(service: str) -> _Format | None:
    """The error format of a service botocore knows (None for a name it does not)."""
    fmt = _formats.get(service)
    if fmt is _UNKNOWN:
        return None
    if fmt is None:
        if not _SERVICE_NAME.fullmatch(service or ""):
            return None
        from .._wire import service_model
        try:
            meta = service_model(service).metadata
        except Exception:
            if len(_formats) < 1000:
                _formats[service] = _UNKNOWN  # not looked up again
            return None
        protocol = meta.get("protocol")
        if protocol == "json":
            fmt = _Format("json", f"application/x-amz-json-{meta.get('jsonVersion', '1.1')}")
        elif protocol == "query":
            ns = meta.get("xmlNamespace", "")
            if isinstance(ns, dict):
                ns = ns.get("uri", "")
            fmt = _Format("query", "text/xml", ns)
        elif protocol == "rest-json":
            fmt = _Format("json", "application/json")
        else:
            fmt = _XML_GENERIC
        if len(_formats) < 1000:
            _formats[service] = fmt
    return fmt


def declared_service(headers: dict[str, str], raw_query: str) -> str | None:
    """The service a request's signature names (before it is verified), if it names one."""
    auth = headers.get("authorization", "")
    i = auth.find("Credential=")
    if i >= 0:
        parts = auth[i + 11:].split(",", 1)[0].split("/")
        return parts[3] if len(parts) == 5 else None
    if raw_query:
        i = raw_query.find("X-Amz-Credential=")
        if i >= 0:
            parts = unquote(raw_query[i + 17:].split("&", 1)[0]).split("/")
            return parts[3] if len(parts) == 5 else None
        if "AWSAccessKeyId=" in raw_query:
            return "s3"  # only S3 still takes Signature Version 2 (presigned URLs)
    return None


def _guess_format(headers: dict[str, str], raw_query: str = "") -> _Format:
    """The error format for a request whose service is not known yet (no usable signature)."""
    service = declared_service(headers, raw_query)
    if service:
        fmt = _format_for(service)
        if fmt is not None:
            return fmt
    target = headers.get("x-amz-target", "")
    if target.startswith("TrentService."):
        return _format_for("kms") or _JSON_GENERIC
    if "cloudtrail" in target.lower():
        return _format_for("cloudtrail") or _JSON_GENERIC
    ctype = headers.get("content-type", "").lower()
    if target or "json" in ctype:
        return _JSON_GENERIC
    if ctype.startswith("application/x-www-form-urlencoded"):
        return _Format("query", "text/xml")
    return _XML_GENERIC


#: The errors the HTTP layer answers itself: status -> (code of the JSON services, of the query services,
#: of S3, and the status S3 answers it with).
_SERVER_ERRORS = {
    400: ("BadRequestException", "BadRequest", "BadRequest", 400),
    408: ("RequestTimeoutException", "RequestTimeout", "RequestTimeout", 400),
    413: ("RequestEntityTooLargeException", "RequestEntityTooLarge", "EntityTooLarge", 413),
    414: ("RequestURITooLongException", "RequestURITooLong", "RequestURITooLong", 414),
    431: ("RequestHeaderSectionTooLarge", "RequestHeaderSectionTooLarge", "RequestHeaderSectionTooLarge", 400),
    500: ("InternalFailure", "InternalFailure", "InternalError", 500),
    501: ("NotImplemented", "NotImplemented", "NotImplemented", 501),
    505: ("HTTPVersionNotSupported", "HTTPVersionNotSupported", "HTTPVersionNotSupported", 505),
}


def shape_server_error(status: int, message: str, headers: dict[str, str], raw_query: str = ""):
    """(status, headers, body) of an error the HTTP layer produces itself (a malformed request line, a head
    too large, a timeout ...), in the shape of the service the request names (its signature's scope, its
    X-Amz-Target, its content type), as :meth:`_Format.error` writes a service's errors.

    Fidelity: AWS's front ends answer some of these before any service sees the request, in words of
    their own; the codes here are S3's where it has one (``RequestTimeout``, ``EntityTooLarge``,
    ``RequestHeaderSectionTooLarge``) and the same idea in each protocol's style otherwise.
    """
    if status == 413 and "header" in message.lower():
        status = 431  # cheroot says 413 for a head over its limit
    fmt = _guess_format(headers, raw_query)
    jcode, qcode, xcode, xstatus = _SERVER_ERRORS.get(status, _SERVER_ERRORS[400 if status < 500 else 500])
    message = message or _PHRASES.get(status, "Bad Request")
    if fmt.kind == "json":
        return fmt.error(jcode, message, status)
    if fmt.kind == "query":
        return fmt.error(qcode, message, status)
    return fmt.error(xcode, message, xstatus)


# ---------------------------------------------------------------------------
# The WSGI application
# ---------------------------------------------------------------------------


_REGIONS: frozenset[str] | None = None


def _known_regions() -> frozenset[str]:
    """Every Region botocore knows for KMS, in the aws and aws-cn partitions (as ``Cloud`` accepts)."""
    global _REGIONS
    if _REGIONS is None:
        from .._wire import isolated_session

        s = isolated_session()
        _REGIONS = frozenset(s.get_available_regions("kms")) | frozenset(
            s.get_available_regions("kms", partition_name="aws-cn"))
    return _REGIONS


def _request_headers(environ: dict) -> dict[str, str]:
    headers = {}
    for k, v in environ.items():
        if k.startswith("HTTP_"):
            headers[k[5:].replace("_", "-").lower()] = v
    ctype = environ.get("CONTENT_TYPE")
    if ctype:
        headers["content-type"] = ctype
    clen = environ.get("CONTENT_LENGTH")
    if clen:
        headers["content-length"] = clen
    return headers


def _query_params(raw_query: str) -> list[tuple[str, str]]:
    out = []
    for piece in raw_query.split("&"):
        if piece:
            name, _, value = piece.partition("=")
            out.append((unquote(name), unquote(value)))
    return out


class _BadRequest(ProtocolError):
    pass


class _TooLarge(ProtocolError):
    def __init__(self, size: int | None, limit: int):
        super().__init__(size, limit)
        self.size = size
        self.limit = limit


class _TimedOut(ProtocolError):
    """The body did not arrive in time."""


class EndpointApp:
    """The endpoint as a WSGI application: authenticate, route by credential scope, answer with ``cloud.handle``.

    ``wall_clock`` (seconds since the epoch) is what signatures are dated against.
    ``max_body`` limits request bodies, ``max_body_s3`` those of S3 (objects).
    """

    def __init__(self, cloud, *, max_body: int = MAX_BODY, max_body_s3: int = MAX_BODY_S3,
                 wall_clock: Callable[[], float] = time.time, log: Callable[[str], None] | None = None,
                 body_timeout: float = BODY_TIMEOUT):
        self.cloud = cloud
        self.body_timeout = body_timeout
        self.max_body = max_body
        self.max_body_s3 = max_body_s3
        self.wall_clock = wall_clock
        self.log = log
        self.regions = _known_regions()
        self.services = frozenset(cloud.services())
        self._query_services = frozenset(s for s in self.services
                                         if (_format_for(s) or _XML_GENERIC).kind == "query")
        # The first request of each operation compiles its codec; the JSON protocol's compiler
        # is not safe for two threads at once (a half-built codec answers 500), so first
        # requests take turns. Later requests of the operation never wait.
        self._warm: set[tuple[str, str | None]] = set()
        self._first_calls = threading.Lock()
        # The audit log renders events lazily and is not safe for two readers at once:
        # CloudTrail requests (its only readers here) take turns.
        self._cloudtrail = threading.Lock()

    # -- reading the request -------------------------------------------------------

    def _content_length(self, headers: dict[str, str]) -> int | None:
        clen = headers.get("content-length")
        if clen is None:
            return None
        clen = clen.strip()
        if not clen.isdigit() or len(clen) > 18:
            raise _BadRequest(f"Content-Length is not a number of bytes: {clen!r}")
        return int(clen)

    def _reader(self, environ: dict, n: int):
        """A function reading at most ``k`` bytes of the body as they arrive, against the body's deadline.

        A body must arrive within ``body_timeout`` seconds plus one second per ``MIN_BODY_RATE`` bytes:
        a client sending a byte now and then cannot hold a worker for long. Reads go to cheroot's
        socket reader one receive at a time (``read1``), so the deadline is checked between any two.
        """
        stream = environ["wsgi.input"]
        raw = getattr(stream, "rfile", None)
        sock = getattr(getattr(raw, "raw", None), "_sock", None)
        deadline = time.monotonic() + self.body_timeout + n / MIN_BODY_RATE
        if sock is None or not hasattr(raw, "read1") or not hasattr(stream, "remaining"):
            return stream.read  # not cheroot (a test's WSGI environ): its own stream
        before = sock.gettimeout()

        def read(k: int) -> bytes:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _TimedOut()
            k = min(k, stream.remaining)
            if k <= 0:
                return b""
            sock.settimeout(min(left, before) if before else left)
            try:
                chunk = raw.read1(k)
            except (socket.timeout, TimeoutError):
                raise _TimedOut() from None
            finally:
                sock.settimeout(before)
            stream.remaining -= len(chunk)
            return chunk

        return read

    def _drain(self, environ: dict, n: int) -> None:
        """Read and discard a body that will not be used, so that the client reads the answer (a bounded
        amount, within the body's deadline; a bigger one is not read, and the connection closes)."""
        if n > DRAIN_LIMIT:
            return
        read = self._reader(environ, n)
        left = n
        try:
            while left > 0:
                chunk = read(min(left, 1 << 20))
                if not chunk:
                    break
                left -= len(chunk)
        except _TimedOut:
            pass

    def _read_body(self, environ: dict, headers: dict[str, str], limit: int) -> bytes:
        n = self._content_length(headers)
        stream = environ["wsgi.input"]
        if n is not None:
            if n > limit:
                self._drain(environ, n)  # let the client finish sending, so that it reads the answer
                raise _TooLarge(n, limit)
            read = self._reader(environ, n)
            chunks, left = [], n
            while left > 0:
                chunk = read(min(left, 1 << 20))
                if not chunk:
                    break
                chunks.append(chunk)
                left -= len(chunk)
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)
        if "chunked" in headers.get("transfer-encoding", "").lower():
            try:
                body = stream.read(limit + 1)
            except (socket.timeout, TimeoutError):
                raise _TimedOut() from None
            if len(body) > limit:
                raise _TooLarge(None, limit)
            return body
        return b""

    # -- answering ------------------------------------------------------------------

    def __call__(self, environ: dict, start_response):
        started = time.perf_counter()
        headers = _request_headers(environ)
        service = "-"
        try:
            status, out_headers, body, service, unread = self.answer(environ, headers)
            if unread:  # a body refused unread (or only partly read): the connection cannot be reused
                out_headers["Connection"] = "close"
        except _TooLarge as exc:
            fmt = _guess_format(headers, environ.get("QUERY_STRING", ""))
            size = f"of {exc.size} bytes " if exc.size is not None else ""
            code = {"json": "RequestEntityTooLargeException", "query": "RequestEntityTooLarge"}.get(fmt.kind,
                                                                                                "EntityTooLarge")
            status, out_headers, body = fmt.error(
                code, f"The request body {size}exceeds this endpoint's limit of {exc.limit} bytes.", 413)
            out_headers["Connection"] = "close"
        except _BadRequest as exc:  # a malformed Content-Length
            status, out_headers, body = _guess_format(headers, environ.get("QUERY_STRING", "")).error(
                "BadRequest", str(exc), 400)
            out_headers["Connection"] = "close"
        except _TimedOut:
            status, out_headers, body = shape_server_error(
                408, f"Your socket connection to the server was not read from or written to within the timeout "
                     f"period (the request body's deadline: {self.body_timeout:g} s and a second per "
                     f"{MIN_BODY_RATE} bytes).", headers, environ.get("QUERY_STRING", ""))
            out_headers["Connection"] = "close"
        except (OSError, EOFError):
            raise  # the connection broke while reading: nobody to answer
        except Exception as exc:  # an endpoint bug: answer as AWS would, and keep serving
            fmt = _guess_format(headers, environ.get("QUERY_STRING", ""))
            status, out_headers, body = fmt.error("InternalFailure", f"kms_teach endpoint internal error: {exc!r}", 500)
        out = [(k, v) for k, v in out_headers.items()]
        if not any(k.lower() == "content-length" for k in out_headers):
            # The protocols leave framing to the transport; a REST answer that states its own
            # Content-Length (S3's HeadObject: the object's size, no body) keeps it.
            out.append(("Content-Length", str(len(body))))
        out.append(("Date", _http_date()))
        phrase = _PHRASES.get(status) or "Unknown"
        start_response(f"{status} {phrase}", out)
        if self.log is not None:
            self.log(f"{environ.get('REMOTE_ADDR', '-')} {environ.get('REQUEST_METHOD')} {service} "
                     f"{headers.get('x-amz-target', '')} {status} {(time.perf_counter() - started) * 1000:.1f}ms")
        if not isinstance(body, (bytes, bytearray)):
            return body  # a stream (an S3 multipart object): sent part by part, never held whole
        return [body]

    def answer(self, environ: dict, headers: dict[str, str]):
        """(status, headers, body, service, whether the request body was left unread) for one request."""
        method = environ.get("REQUEST_METHOD", "GET")
        uri = environ.get("REQUEST_URI")
        if uri:
            raw_path, _, raw_query = uri.partition("?")
        else:  # pragma: no cover - cheroot always gives REQUEST_URI
            raw_path, raw_query = quote(environ.get("PATH_INFO") or "/"), environ.get("QUERY_STRING", "")
        if raw_path.startswith(("http://", "https://")):  # an absolute-form request target
            rest = raw_path.split("://", 1)[1]
            raw_path = "/" + rest.split("/", 1)[1] if "/" in rest else "/"
        query = _query_params(raw_query) if ("X-Amz-" in raw_query or "AWSAccessKeyId" in raw_query) else []
        # -- the body's limit comes from the route, not from the (unchecked) credential scope ---------
        # JSON (X-Amz-Target) and query (a form) requests are small; only S3's REST requests carry
        # objects, and a body over the small limit is read only once its signature has verified.
        rest = not headers.get("x-amz-target") and not headers.get("content-type", "").lower().startswith(
            "application/x-www-form-urlencoded")
        size = self._content_length(headers)
        large = size is not None and size > self.max_body
        if large and not rest:
            self._drain(environ, size)
            raise _TooLarge(size, self.max_body)
        body = None if large else self._read_body(environ, headers, self.max_body)
        # -- who is asking, and for which service -------------------------------------
        try:
            cred = _sigv4.parse(headers, query)
            service = cred.service
            fmt = _format_for(service) or _guess_format(headers, raw_query)
        except AuthError as exc:
            if large:
                self._drain(environ, size)
            return (*_guess_format(headers, raw_query).auth_error(exc), "-", large)
        try:
            if large and service != "s3":
                raise _TooLarge(size, self.max_body)
            principal = self._authenticate(cred, method, raw_path, raw_query, headers, body)
            if large:
                # Signed, and signed for S3: now the body may be read, up to S3's limit, and its hash
                # checked against the one that was signed.
                if size > self.max_body_s3:
                    self._drain(environ, size)
                    raise _TooLarge(size, self.max_body_s3)
                body = self._read_body(environ, headers, self.max_body_s3)
                _sigv4.check_payload(headers, body)
        except AuthError as exc:
            if large and body is None:
                self._drain(environ, size)
            return (*fmt.auth_error(exc), service, large)
        if service not in self.services:
            return (*fmt.error("NotImplemented", f"kms_teach simulates {', '.join(sorted(self.services))}; "
                                                 f"it has no {service!r} service.", 501), service, False)
        # -- the service answers ----------------------------------------------------------
        if service in self._query_services and not body and raw_query and method in ("GET", "POST"):
            # The query protocol takes its parameters from the query string too (GET, presigned URLs).
            body = raw_query.encode("latin-1")
            headers = dict(headers)
            headers["content-type"] = "application/x-www-form-urlencoded"
        host = headers.get("host", "localhost")
        call = dict(region=cred.region, principal=principal, method=method, url=f"http://{host}{uri or raw_path}",
                    headers=headers, body=body, source_ip=environ.get("REMOTE_ADDR") or "127.0.0.1",
                    access_key_id=cred.access_key_id)
        operation = (service, headers.get("x-amz-target"))
        if service == "cloudtrail":
            with self._cloudtrail:
                reply = self.cloud.handle(service, **call)
        elif operation in self._warm:
            reply = self.cloud.handle(service, **call)
        else:
            with self._first_calls:
                reply = self.cloud.handle(service, **call)
                if len(self._warm) < 10_000:
                    self._warm.add(operation)
        return reply.status, dict(reply.headers), reply.body, service, False

    def _authenticate(self, cred: _sigv4.Credential, method: str, raw_path: str, raw_query: str,
                      headers: dict[str, str], body: bytes):
        if cred.region not in self.regions:
            raise AuthError("scope", f"Credential should be scoped to a valid region, not '{cred.region}'. ")
        now = _dt.datetime.fromtimestamp(self.wall_clock(), _UTC)
        _sigv4.check_time(cred, now)
        iam = self.cloud.iam
        found = iam.access_key(cred.access_key_id)
        if found is None:
            raise AuthError("unknown_key", INVALID_TOKEN)
        principal, secret = found
        if principal.kind == "AssumedRole":
            expected = iam.session_token(cred.access_key_id)
            if not cred.security_token or expected is None or \
                    not secrets.compare_digest(cred.security_token.encode(), expected.encode()):
                raise AuthError("bad_token", INVALID_TOKEN)
        elif cred.security_token:
            # A long-term key has no session token: whatever came is not one IAM issued for it.
            raise AuthError("bad_token", INVALID_TOKEN)
        if cred.version == 2:
            signed_headers = dict(headers)
            if cred.security_token:
                signed_headers["x-amz-security-token"] = cred.security_token
            expires = dict(_query_params(raw_query)).get("Expires", "")
            expected_sig = _sigv4.signature_v2(
                secret, _sigv4.string_to_sign_v2(method, raw_path, raw_query, signed_headers, expires))
        else:
            s3 = cred.service == "s3"
            payload = _sigv4.payload_hash(headers, body, cred, s3=s3)
            canonical = _sigv4.canonical_request(method, raw_path, raw_query, headers, cred, payload, s3=s3)
            expected_sig = _sigv4.signature(secret, cred, canonical)
        if not secrets.compare_digest(expected_sig.encode(), cred.signature.encode("utf-8", "replace")):
            raise AuthError("signature", _sigv4.SIGNATURE_MISMATCH)
        if cred.version == 4 and cred.service == "s3":
            # S3 takes no x-amz-* header the signature does not cover: a presigned URL signed for
            # "host" alone must not let its holder choose SSE-KMS with a key, a context, metadata ...
            unsigned = sorted(h for h in headers if h.startswith("x-amz-") and h not in cred.signed_headers)
            if unsigned:
                raise AuthError("unsigned_headers", f"There were headers present in the request which were not "
                                                    f"signed: {', '.join(unsigned)}")
        return principal


_PHRASES = {s.value: s.phrase for s in http.HTTPStatus}
_date_cache: tuple[int, str] = (0, "")


def _http_date() -> str:
    """The Date header (formatted once a second)."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True))
    return _date_cache[1]


# ---------------------------------------------------------------------------
# Credentials for the aws CLI and SDKs
# ---------------------------------------------------------------------------


def default_data_dir() -> Path:
    """Where ``kms-teach serve`` keeps its cloud without ``--data``: ``$XDG_DATA_HOME/kms-teach``,
    else ``~/.local/share/kms-teach``."""
    base = os.environ.get("XDG_DATA_HOME")
    if base and os.path.isabs(base):
        return Path(base) / "kms-teach"
    return Path.home() / ".local" / "share" / "kms-teach"


def root_credentials(cloud, preferred: str | None = None) -> tuple[str, str]:
    """(access key ID, secret) of an active access key of the default account's root user.

    ``preferred`` (an access key ID, e.g. from an existing credentials file) is
    kept while it is still an active root key. Otherwise an active root key is
    reused if there is one, else a new one is made through IAM's CreateAccessKey
    called as root (so it is in the audit trail like any other).
    """
    root_arn = f"arn:aws:iam::{cloud.account_id}:root"
    if preferred:
        found = cloud.iam.access_key(preferred)
        if found is not None and found[0].arn == root_arn:
            return preferred, found[1]
    iam = cloud.client("iam", region_name="us-east-1")
    for meta in iam.list_access_keys().get("AccessKeyMetadata", []):
        if meta.get("Status") == "Active":
            found = cloud.iam.access_key(meta["AccessKeyId"])
            if found is not None and found[0].arn == root_arn:
                return meta["AccessKeyId"], found[1]
    key = iam.create_access_key()["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, readable by its owner only (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, stat.S_IRUSR | stat.S_IWUSR)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def read_credentials_key(path: Path) -> str | None:
    """The ``aws_access_key_id`` of the ``default`` profile of a shared-credentials file, if any."""
    import configparser

    parser = configparser.ConfigParser()
    try:
        parser.read(path, encoding="utf-8")
        return parser.get("default", "aws_access_key_id", fallback=None)
    except (configparser.Error, OSError, UnicodeDecodeError):
        return None


def write_aws_files(directory: Path, access_key_id: str, secret: str, region: str) -> tuple[Path, Path]:
    """Write ``credentials`` and ``config`` (profile ``default``, mode 0600) for the aws CLI and SDKs."""
    directory = Path(directory)
    credentials = directory / "credentials"
    config = directory / "config"
    _write_private(credentials, "# Written by kms-teach serve: root access keys of the simulated account.\n"
                                "[default]\n"
                                f"aws_access_key_id = {access_key_id}\n"
                                f"aws_secret_access_key = {secret}\n"
                                f"region = {region}\n")
    _write_private(config, "# Written by kms-teach serve.\n"
                           "[default]\n"
                           f"region = {region}\n"
                           "output = json\n")
    return credentials, config


def endpoint_env(url: str, credentials: Path, config: Path, region: str) -> dict[str, str]:
    """The environment that points the aws CLI and the SDKs at the endpoint."""
    return {
        "AWS_ENDPOINT_URL": url,
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
        "AWS_CONFIG_FILE": str(config),
        "AWS_DEFAULT_REGION": region,
        "AWS_PROFILE": "default",
    }


#: Variables that would override the credentials file (a learner's real AWS keys): unset them.
OVERRIDING_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


def export_lines(env: dict[str, str]) -> list[str]:
    """Shell lines that put ``env`` in place (and take real AWS keys out of the way)."""
    lines = [f"export {k}={shlex.quote(v)}" for k, v in env.items()]
    lines.append("unset " + " ".join(OVERRIDING_VARIABLES))
    return lines


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def endpoint_url(host: str, port: int) -> str:
    host = host.strip("[]")
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


# ---------------------------------------------------------------------------
# The HTTP server
# ---------------------------------------------------------------------------


def make_server(app, host: str = "127.0.0.1", port: int = DEFAULT_PORT, *, threads: int = THREADS,
                header_timeout: float | None = None, max_per_address: int | None = None):
    """A cheroot server for ``app``, bound and listening (``port=0``: a free port), not yet serving.

    Slow clients never hold a worker (see :mod:`kms_teach._http.guard`): ``header_timeout`` seconds for a
    request's head once it has begun, ``max_per_address`` connections per client address.
    """
    if not is_loopback(host):
        raise ValueError(f"kms-teach serves on the loopback interface only (127.0.0.1, ::1 or localhost), "
                         f"not {host!r}: it has no TLS and hands out root keys.")
    from .guard import HEADER_TIMEOUT, MAX_PER_ADDRESS, GuardedServer

    server = GuardedServer((host.strip("[]"), port), app, numthreads=threads, server_name="kms-teach",
                           request_queue_size=128, timeout=30, shutdown_timeout=10,
                           header_timeout=HEADER_TIMEOUT if header_timeout is None else header_timeout,
                           max_per_address=MAX_PER_ADDRESS if max_per_address is None else max_per_address,
                           shape_error=shape_server_error)
    server.max_request_header_size = 64 * 1024
    # How often the serving loop looks up: stop() waits for it, and a connection whose head came in
    # pieces is looked at again this often.
    server.expiration_interval = 0.05
    server.max_request_body_size = 0  # EndpointApp enforces its own limit, in AWS's error format
    server.prepare()
    return server


class ServerHandle:
    """A running endpoint: ``url``, ``env`` (for ``subprocess``/``!aws`` cells), ``stop()``.

    ``env`` points the aws CLI and boto3 at the endpoint with root credentials
    of the cloud's default account, in files of a private temporary directory
    (removed by ``stop()``). Use it as ``subprocess.run([...], env={**os.environ, **handle.env})``,
    or ``os.environ.update(handle.env)`` in a notebook.
    """

    def __init__(self, cloud, server, thread: threading.Thread, url: str, env: dict[str, str], files_dir: Path,
                 access_key_id: str):
        self.cloud = cloud
        self._server = server
        self._thread = thread
        self.url = url
        self.port = int(url.rsplit(":", 1)[1])
        self.env = env
        self.access_key_id = access_key_id
        self._files_dir = files_dir
        self._stopped = False

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving (requests in progress finish first). The cloud stays open."""
        if self._stopped:
            return
        self._stopped = True
        self._server.stop()
        self._thread.join(timeout)
        for name in ("credentials", "config"):
            try:
                (self._files_dir / name).unlink()
            except OSError:
                pass
        try:
            self._files_dir.rmdir()
        except OSError:
            pass

    @property
    def running(self) -> bool:
        return not self._stopped and self._thread.is_alive()

    def __enter__(self) -> "ServerHandle":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<kms_teach endpoint {self.url} {'running' if self.running else 'stopped'}>"


def serve_in_background(cloud, port: int = 0, host: str = "127.0.0.1", *, max_body: int = MAX_BODY,
                        max_body_s3: int = MAX_BODY_S3, threads: int = THREADS,
                        wall_clock: Callable[[], float] = time.time, header_timeout: float | None = None,
                        body_timeout: float = BODY_TIMEOUT, max_per_address: int | None = None) -> ServerHandle:
    """Serve ``cloud`` over HTTP from a background thread; returns a :class:`ServerHandle`.

    ``port=0`` picks a free port (``handle.url`` says which). ``wall_clock`` is
    what signatures are dated against (``time.time``; tests shift it).
    """
    akid, secret = root_credentials(cloud)
    app = EndpointApp(cloud, max_body=max_body, max_body_s3=max_body_s3, wall_clock=wall_clock,
                      body_timeout=body_timeout)
    server = make_server(app, host, port, threads=threads, header_timeout=header_timeout,
                         max_per_address=max_per_address)
    bound_port = server.bind_addr[1]
    url = endpoint_url(host, bound_port)
    files_dir = Path(tempfile.mkdtemp(prefix="kms-teach-endpoint-"))
    credentials, config = write_aws_files(files_dir, akid, secret, cloud.region)
    env = endpoint_env(url, credentials, config, cloud.region)
    # Real keys in a learner's environment would win over the credentials file: override them.
    env.update({"AWS_ACCESS_KEY_ID": akid, "AWS_SECRET_ACCESS_KEY": secret, "AWS_SESSION_TOKEN": "",
                "AWS_REGION": cloud.region})
    thread = threading.Thread(target=server.serve, name=f"kms-teach-endpoint-{bound_port}", daemon=True)
    thread.start()
    return ServerHandle(cloud, server, thread, url, env, files_dir, akid)
