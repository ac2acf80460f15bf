"""Verifying AWS Signature Version 4 (SigV4) the way an AWS endpoint does.

A client signs each request with the secret of an access key; the endpoint
looks the key up, rebuilds the *canonical request* from what arrived on the
wire, and recomputes the signature::

    CanonicalRequest = Method \\n CanonicalURI \\n CanonicalQuery \\n CanonicalHeaders \\n
                       SignedHeaders \\n HexSHA256(payload)
    StringToSign     = "AWS4-HMAC-SHA256" \\n X-Amz-Date \\n DATE/REGION/SERVICE/aws4_request \\n
                       HexSHA256(CanonicalRequest)
    SigningKey       = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, DATE), REGION), SERVICE), "aws4_request")
    Signature        = Hex(HMAC(SigningKey, StringToSign))

Both forms are read: the ``Authorization`` header, and query-string
authentication (presigned URLs: ``X-Amz-Algorithm``, ``X-Amz-Credential``,
``X-Amz-Date``, ``X-Amz-Expires``, ``X-Amz-SignedHeaders``, ``X-Amz-Signature``).

This module knows nothing about principals or services: it parses, checks the
time, and computes. :mod:`kms_teach._http.server` decides who the key belongs to and
which error each failure is in the service's protocol.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import re
import threading
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote

from .._errors import AuthError

__all__ = ["AuthError", "Credential", "parse", "canonical_request", "string_to_sign", "signature",
           "check_time", "MAX_SKEW", "EMPTY_SHA256"]

ALGORITHM = "AWS4-HMAC-SHA256"
#: How far the request's X-Amz-Date may be from the endpoint's clock, either way (AWS: 15 minutes).
MAX_SKEW = _dt.timedelta(minutes=15)
#: The longest a presigned URL may live (AWS: 7 days).
MAX_EXPIRES = 604800
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"

_UTC = _dt.timezone.utc
_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")
_HEX64 = re.compile(r"[0-9a-f]{64}")


SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)


class Credential:
    """What a request claims: its access key, scope, signed headers, signature and date."""

    __slots__ = ("access_key_id", "date", "region", "service", "signed_headers", "signature", "amz_date",
                 "when", "presigned", "expires", "security_token", "scope", "version")

    def __init__(self, access_key_id, date, region, service, signed_headers, signature, amz_date, when,
                 presigned=False, expires=None, security_token=None):
        self.access_key_id = access_key_id
        self.date = date
        self.region = region
        self.service = service
        self.signed_headers = signed_headers
        self.signature = signature
        self.amz_date = amz_date
        self.when = when
        self.presigned = presigned
        self.expires = expires
        self.security_token = security_token
        self.scope = f"{date}/{region}/{service}/aws4_request"
        self.version = 4  # 2 for an S3 presigned URL in Signature Version 2


# ---------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------


def _split_credential(value: str) -> tuple[str, str, str, str]:
    parts = value.split("/")
    if len(parts) != 5 or not all(parts[:4]):
        raise AuthError("incomplete", f"Credential must have exactly 5 slash-delimited elements, e.g. "
                                      f"keyid/date/region/service/term, got '{value}'")
    akid, date, region, service, terminator = parts
    if terminator != "aws4_request":
        raise AuthError("scope", f"Credential should be scoped with a valid terminator: 'aws4_request', "
                                     f"not '{terminator}'.")
    if not re.fullmatch(r"\d{8}", date):
        raise AuthError("scope", f"Date in Credential scope is not of the form YYYYMMDD: '{date}'.")
    return akid, date, region, service


def _parse_amz_date(amz_date: str) -> _dt.datetime:
    """``20260101T090000Z`` (already matched by ``_AMZ_DATE``) as a UTC datetime; ValueError if not a real time."""
    d = amz_date
    return _dt.datetime(int(d[0:4]), int(d[4:6]), int(d[6:8]), int(d[9:11]), int(d[11:13]), int(d[13:15]),
                        tzinfo=_UTC)


def _header_date(headers: dict[str, str]) -> tuple[str, _dt.datetime] | None:
    """(X-Amz-Date text, its time) from ``x-amz-date``, else from the HTTP ``date`` header."""
    amz = headers.get("x-amz-date")
    if amz:
        amz = amz.strip()
        if _AMZ_DATE.fullmatch(amz):
            try:
                return amz, _parse_amz_date(amz)
            except ValueError:
                pass
        return None
    date = headers.get("date")
    if date:
        try:
            when = parsedate_to_datetime(date)
            if when.tzinfo is None:
                when = when.replace(tzinfo=_UTC)
            when = when.astimezone(_UTC)  # OverflowError: year 9999 with an offset that passes it
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        return when.strftime("%Y%m%dT%H%M%SZ"), when
    return None


def _auth_fields(value: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for piece in value.split(","):
        name, eq, v = piece.strip().partition("=")
        if eq:
            fields[name.strip()] = v.strip()
    return fields


def parse(headers: dict[str, str], query: list[tuple[str, str]]) -> Credential:
    """Read a request's SigV4 credential from its headers (lower-case names) or its query.

    ``query`` is the decoded query parameters in order. Raises :class:`AuthError`.
    """
    authorization = headers.get("authorization")
    qdict = dict(query) if query else {}
    if authorization is None and "X-Amz-Algorithm" in qdict:
        return _parse_presigned(headers, qdict)
    if authorization is None and "AWSAccessKeyId" in qdict and "Signature" in qdict and "Expires" in qdict:
        return _parse_presigned_v2(qdict)
    if authorization is None:
        if "X-Amz-Credential" in qdict or "X-Amz-Signature" in qdict:
            raise AuthError("incomplete", "AWS query-string parameters must include 'X-Amz-Algorithm'. "
                                          "Re-examine the query-string parameters.")
        raise AuthError("missing", "Request is missing Authentication Token")
    algorithm, _, rest = authorization.strip().partition(" ")
    if algorithm != ALGORITHM:
        if algorithm.startswith("AWS4-"):
            raise AuthError("incomplete", f"Unsupported AWS 'algorithm': '{algorithm}'.")
        # Not SigV4 at all (e.g. "Basic ..." or SigV2): AWS finds no token it understands.
        raise AuthError("incomplete", f"Authorization header requires 'Credential' parameter. Authorization "
                                      f"header requires 'Signature' parameter. Authorization header requires "
                                      f"'SignedHeaders' parameter. Authorization={authorization}")
    fields = _auth_fields(rest)
    problems = [f"Authorization header requires '{name}' parameter."
                for name in ("Credential", "Signature", "SignedHeaders") if not fields.get(name)]
    dated = _header_date(headers)
    if dated is None:
        problems.append("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
    if problems:
        raise AuthError("incomplete", " ".join(problems) + f" Authorization={authorization}")
    akid, date, region, service = _split_credential(fields["Credential"])
    signed = fields["SignedHeaders"].split(";")
    _check_signed_headers(signed)
    amz_date, when = dated
    if date != amz_date[:8]:
        raise AuthError("scope", f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
                                     f"date from HTTP: '{date}' != '{amz_date[:8]}', from '{amz_date}'.")
    return Credential(akid, date, region, service, signed, fields["Signature"], amz_date, when,
                      security_token=headers.get("x-amz-security-token"))


def _check_signed_headers(signed: list[str]) -> None:
    if "host" not in signed and ":authority" not in signed:
        raise AuthError("incomplete", "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")


def _parse_presigned(headers: dict[str, str], q: dict[str, str]) -> Credential:
    algorithm = q.get("X-Amz-Algorithm", "")
    if algorithm != ALGORITHM:
        raise AuthError("incomplete", f"X-Amz-Algorithm only supports \"{ALGORITHM}\"")
    missing = [name for name in ("X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date")
               if not q.get(name)]
    if missing:
        raise AuthError("incomplete", "AWS query-string parameters must include " +
                        ", ".join(f"'{m}'" for m in missing) + ". Re-examine the query-string parameters.")
    akid, date, region, service = _split_credential(q["X-Amz-Credential"])
    amz_date = q["X-Amz-Date"]
    try:
        if not _AMZ_DATE.fullmatch(amz_date):
            raise ValueError
        when = _parse_amz_date(amz_date)
    except ValueError:
        raise AuthError("incomplete", f"X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\", "
                                      f"not '{amz_date}'.") from None
    expires = q.get("X-Amz-Expires")
    if expires is not None:
        if not expires.isascii() or not expires.isdigit():
            raise AuthError("incomplete", "X-Amz-Expires should be a number")
        expires = int(expires)
        if expires > MAX_EXPIRES:
            raise AuthError("incomplete", "X-Amz-Expires must be less than a week (in seconds) that is 604800")
    signed = q["X-Amz-SignedHeaders"].split(";")
    _check_signed_headers(signed)
    if date != amz_date[:8]:
        raise AuthError("scope", f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
                                     f"date from HTTP: '{date}' != '{amz_date[:8]}', from '{amz_date}'.")
    return Credential(akid, date, region, service, signed, q["X-Amz-Signature"], amz_date, when,
                      presigned=True, expires=expires, security_token=q.get("X-Amz-Security-Token"))


def _parse_presigned_v2(q: dict[str, str]) -> Credential:
    """An S3 presigned URL in Signature Version 2 (what boto3 makes for S3 unless told ``s3v4``)."""
    expires = q["Expires"]
    if not expires.isascii() or not expires.isdigit():
        raise AuthError("incomplete", f"Invalid date (should be seconds since epoch): {expires}")
    try:
        when = _dt.datetime.fromtimestamp(int(expires), _UTC)
    except (OverflowError, OSError, ValueError):  # past year 9999 (or the platform's time_t)
        raise AuthError("incomplete", f"Invalid date (should be seconds since epoch): {expires}") from None
    cred = Credential(q["AWSAccessKeyId"], when.strftime("%Y%m%d"), "us-east-1", "s3", [], q["Signature"],
                      _fmt(when), when, presigned=True, expires=None,
                      security_token=q.get("x-amz-security-token") or q.get("X-Amz-Security-Token"))
    cred.version = 2
    return cred


# ---------------------------------------------------------------------------
# Time
# ---------------------------------------------------------------------------


def _fmt(when: _dt.datetime) -> str:
    return when.strftime("%Y%m%dT%H%M%SZ")


def check_time(cred: Credential, now: _dt.datetime) -> None:
    """Refuse a request signed too long ago or too far ahead (AWS's texts), or a presigned URL past its expiry."""
    try:
        _check_time(cred, now)
    except OverflowError:  # a date at the very edge of the calendar (year 1, year 9999): not now either way
        raise AuthError("skewed", f"Signature not yet current or expired: {cred.amz_date} is more than 15 "
                                  f"minutes from {_fmt(now)}.") from None


def _check_time(cred: Credential, now: _dt.datetime) -> None:
    when = cred.when
    if cred.version == 2:  # ``when`` is the URL's expiry
        if now > when:
            raise AuthError("expired_url", f"Request has expired: {_fmt(when)} is now earlier than {_fmt(now)}.")
        return
    if cred.presigned and cred.expires is not None:
        if when - MAX_SKEW > now:
            raise AuthError("skewed", f"Request is not yet valid: {_fmt(when)} is still later than "
                                         f"{_fmt(now + MAX_SKEW)} ({_fmt(now)} + 15 min.)")
        end = when + _dt.timedelta(seconds=cred.expires)
        if now > end:
            raise AuthError("expired_url", f"Signature expired: {_fmt(end)} is now earlier than {_fmt(now)}.")
        return
    if when < now - MAX_SKEW:
        raise AuthError("skewed", f"Signature expired: {cred.amz_date} is now earlier than "
                                     f"{_fmt(now - MAX_SKEW)} ({_fmt(now)} - 15 min.)")
    if when > now + MAX_SKEW:
        raise AuthError("skewed", f"Signature not yet current: {cred.amz_date} is still later than "
                                     f"{_fmt(now + MAX_SKEW)} ({_fmt(now)} + 15 min.)")


# ---------------------------------------------------------------------------
# The canonical request and the signature
# ---------------------------------------------------------------------------


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 5.2.4, and empty segments dropped (what AWS's non-S3 services and botocore do)."""
    out: list[str] = []
    for seg in path.split("/"):
        if seg and seg != ".":
            if seg == "..":
                if out:
                    out.pop()
            else:
                out.append(seg)
    first = "/" if path.startswith("/") else ""
    last = "/" if path.endswith("/") and out else ""
    return first + "/".join(out) + last


def canonical_uri(raw_path: str, *, s3: bool = False) -> str:
    """The canonical URI of the path exactly as it arrived (still percent-encoded).

    Every service but S3 normalises the path and encodes it once more (so ``%2F``
    becomes ``%252F``); S3 uses the path as sent.
    """
    if not raw_path:
        return "/"
    if s3:
        return raw_path
    return quote(_remove_dot_segments(raw_path) or "/", safe="/~")


def canonical_query(raw_query: str, *, drop_signature: bool = False) -> str:
    """Each name and value decoded, re-encoded per RFC 3986, sorted by name then value."""
    if not raw_query:
        return ""
    pairs = []
    for piece in raw_query.split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        name = quote(unquote(name), safe="-_.~")
        if drop_signature and name == "X-Amz-Signature":
            continue
        pairs.append((name, quote(unquote(value), safe="-_.~")))
    pairs.sort()
    return "&".join(f"{k}={v}" for k, v in pairs)


def _header_value(value: str) -> str:
    return " ".join(value.split())


def canonical_request(method: str, raw_path: str, raw_query: str, headers: dict[str, str],
                      cred: Credential, payload_hash: str, *, s3: bool = False) -> str:
    """The canonical request of a received request (``headers``: lower-case names)."""
    lines = [
        method.upper(),
        canonical_uri(raw_path, s3=s3),
        canonical_query(raw_query, drop_signature=cred.presigned),
    ]
    for name in cred.signed_headers:
        value = headers.get(name)
        lines.append(f"{name}:{_header_value(value) if value is not None else ''}")
    lines.append("")
    lines.append(";".join(cred.signed_headers))
    lines.append(payload_hash)
    return "\n".join(lines)


def string_to_sign(cred: Credential, canonical: str) -> str:
    return "\n".join((ALGORITHM, cred.amz_date, cred.scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()))


_keys: dict[tuple[str, str, str, str], bytes] = {}
_keys_lock = threading.Lock()


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """The derived signing key (cached: it only changes with the day, Region, service and secret)."""
    ident = (secret, date, region, service)
    key = _keys.get(ident)
    if key is None:
        k = hmac.digest(("AWS4" + secret).encode("utf-8"), date.encode("utf-8"), "sha256")
        k = hmac.digest(k, region.encode("utf-8"), "sha256")
        k = hmac.digest(k, service.encode("utf-8"), "sha256")
        key = hmac.digest(k, b"aws4_request", "sha256")
        with _keys_lock:
            if len(_keys) >= 4096:
                _keys.clear()
            _keys[ident] = key
    return key


def signature(secret: str, cred: Credential, canonical: str) -> str:
    """Hex HMAC-SHA256 of the string to sign under the derived signing key."""
    key = signing_key(secret, cred.date, cred.region, cred.service)
    return hmac.new(key, string_to_sign(cred, canonical).encode("utf-8"), hashlib.sha256).hexdigest()


def check_payload(headers: dict[str, str], body: bytes) -> None:
    """Refuse a body that is not the one whose hash (``x-amz-content-sha256``) was signed."""
    declared = (headers.get("x-amz-content-sha256") or "").strip()
    if _HEX64.fullmatch(declared) and declared != hashlib.sha256(body).hexdigest():
        raise AuthError("payload", "The provided 'x-amz-content-sha256' header does not match what was computed.")


def payload_hash(headers: dict[str, str], body: bytes | None, cred: Credential, *, s3: bool = False) -> str:
    """The payload hash the client signed: ``x-amz-content-sha256`` when sent (it must match the body), else the
    body's SHA-256 (``UNSIGNED-PAYLOAD`` for an S3 presigned URL).

    ``body`` is None when it has not been read yet (a large S3 body is read only once its signature verifies):
    the signed hash must then be declared, and :func:`check_payload` checks the body once it is read.
    """
    declared = headers.get("x-amz-content-sha256")
    if declared is not None:
        declared = declared.strip()
        if _HEX64.fullmatch(declared):
            if body is not None and declared != hashlib.sha256(body).hexdigest():
                raise AuthError("payload", "The provided 'x-amz-content-sha256' header does not match what "
                                             "was computed.")
            return declared
        if declared == UNSIGNED_PAYLOAD:
            return declared
        # STREAMING-... (S3's chunked signing) and anything else: not supported here.
        raise AuthError("incomplete", f"x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a SHA-256 hex digest, "
                                     f"not '{declared}'.")
    if cred.presigned and s3:
        return UNSIGNED_PAYLOAD  # S3's presigned URLs never sign the payload; other services' do
    if body is None:
        raise AuthError("incomplete", "A request with a large body must declare the hash it signed in "
                                      "x-amz-content-sha256 (S3 requires the header with every signed request).")
    return hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256


# ---------------------------------------------------------------------------
# Signature Version 2 (S3 presigned URLs only)
# ---------------------------------------------------------------------------


def _s3_subresources() -> frozenset[str]:
    from botocore.auth import HmacV1Auth

    return frozenset(HmacV1Auth.QSAOfInterest)


_SUBRESOURCES: frozenset[str] | None = None


def string_to_sign_v2(method: str, raw_path: str, raw_query: str, headers: dict[str, str], expires: str) -> str:
    """S3's SigV2 string to sign for a presigned URL: method, Content-MD5, Content-Type, Expires,
    the x-amz-* headers (a session token in the query counts as one, as botocore signs it), and the
    resource (the path as sent, with its sub-resources)."""
    global _SUBRESOURCES
    if _SUBRESOURCES is None:
        _SUBRESOURCES = _s3_subresources()
    amz = sorted((k, " ".join(v.split())) for k, v in headers.items() if k.startswith("x-amz-"))
    lines = [method.upper(), headers.get("content-md5", "").strip(), headers.get("content-type", "").strip(),
             expires]
    lines += [f"{k}:{v}" for k, v in amz]
    sub = []
    for piece in raw_query.split("&"):
        name, eq, value = piece.partition("=")
        if name in _SUBRESOURCES:
            sub.append((name, unquote(value)) if eq else (name, None))
    sub.sort(key=lambda kv: kv[0])
    resource = raw_path + ("?" + "&".join(k if v is None else f"{k}={v}" for k, v in sub) if sub else "")
    return "\n".join(lines + [resource])


def signature_v2(secret: str, text: str) -> str:
    import base64

    return base64.b64encode(hmac.digest(secret.encode("utf-8"), text.encode("utf-8"), "sha1")).decode("ascii")
