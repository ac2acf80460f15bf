"""The HTTP endpoint under attack (issue 15): slow clients, the server's own errors, bodies before signatures.

Every server listens on 127.0.0.1 on a free port; every socket has a timeout, so no test can hang.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
import time
import tracemalloc

import boto3
import pytest
from botocore.exceptions import ClientError

import kms_teach
from kms_teach._http import server as _server

from .test_server import CONFIG, client, json_error, raw, signed, xml_error


@pytest.fixture
def live_cloud():
    c = kms_teach.Cloud()
    yield c
    c.close()


def _address(endpoint) -> tuple[str, int]:
    host, port = endpoint.url.split("//", 1)[1].rsplit(":", 1)
    return host, int(port)


def _slow_connection(endpoint, head: bytes) -> socket.socket:
    sock = socket.create_connection(_address(endpoint), timeout=15)
    sock.sendall(head)
    return sock


def _read_all(sock: socket.socket, timeout: float = 15) -> bytes:
    sock.settimeout(timeout)
    out = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            out += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    return out


def _split(response: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, body


KMS_HEAD = (b"POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: TrentService.ListKeys\r\n"
            b"Content-Type: application/x-amz-json-1.1\r\n")


# ---------------------------------------------------------------------------
# Slow clients
# ---------------------------------------------------------------------------


def test_more_slow_header_connections_than_workers_do_not_delay_a_signed_request(live_cloud):
    with _server.serve_in_background(live_cloud, threads=4, header_timeout=3) as endpoint:
        stop = threading.Event()
        slow = [_slow_connection(endpoint, KMS_HEAD) for _ in range(16)]  # 4x the workers

        def dribble():  # one header byte every half second, as the attack in the issue did
            while not stop.wait(0.5):
                for sock in slow:
                    try:
                        sock.send(b"X")
                    except OSError:
                        pass

        dribbler = threading.Thread(target=dribble, daemon=True)
        dribbler.start()
        try:
            time.sleep(0.5)
            kms = client(endpoint, "kms")
            started = time.monotonic()
            kms.list_keys()
            kms.create_key()
            assert time.monotonic() - started < 2.0
        finally:
            stop.set()
            dribbler.join(5)
        # The slow ones are answered 408 in the JSON protocol's shape (their X-Amz-Target says KMS), then closed.
        answers = [_read_all(sock) for sock in slow]
        for sock in slow:
            sock.close()
        for answer in answers:
            status, headers, body = _split(answer)
            assert status == 408 and headers["connection"] == "close"
            assert json.loads(body)["__type"] == "RequestTimeoutException"


def test_connections_beyond_the_per_address_bound_give_way_to_new_ones(live_cloud):
    with _server.serve_in_background(live_cloud, threads=2, header_timeout=30, max_per_address=8) as endpoint:
        slow = [_slow_connection(endpoint, b"POST / HTTP/1.1\r\nHost: x\r\n") for _ in range(20)]
        try:
            time.sleep(0.3)
            started = time.monotonic()
            assert client(endpoint, "kms").list_keys()["Keys"] == []
            assert time.monotonic() - started < 2.0
            # The oldest unfinished connections were closed to make room; at most the bound is held.
            closed = 0
            for sock in slow:
                sock.settimeout(0.5)
                try:
                    closed += sock.recv(1) == b""
                except socket.timeout:
                    pass
                except ConnectionResetError:
                    closed += 1
            assert closed >= 20 - 8 + 1
        except BaseException:
            for sock in slow:
                sock.close()
            raise
    # Stopping the server closes the connections still sending their heads, too.
    for sock in slow:
        sock.settimeout(5)
        try:
            assert sock.recv(1) == b""
        except ConnectionResetError:
            pass
        sock.close()


def test_a_client_calling_in_a_loop_does_not_keep_another_from_the_only_worker(live_cloud):
    """A worker waits briefly for its keep-alive connection's next request; never while another waits for it."""
    with _server.serve_in_background(live_cloud, threads=1, header_timeout=5) as endpoint:
        hot = client(endpoint, "kms")
        key = hot.create_key()["KeyMetadata"]["KeyId"]
        stop = threading.Event()
        calls = []

        def loop():
            while not stop.is_set():
                hot.encrypt(KeyId=key, Plaintext=b"x")
                calls.append(1)

        looper = threading.Thread(target=loop, daemon=True)
        looper.start()
        try:
            time.sleep(0.3)
            other = client(endpoint, "kms")
            for _ in range(5):
                started = time.monotonic()
                assert other.describe_key(KeyId=key)["KeyMetadata"]["KeyId"] == key
                assert time.monotonic() - started < 1.0
        finally:
            stop.set()
            looper.join(10)
        assert len(calls) > 10  # the loop ran all along


def test_a_partial_next_head_on_a_keep_alive_connection_does_not_hold_the_worker(live_cloud):
    """After an answer, a connection whose next head comes a byte at a time waits outside the pool (then 408)."""
    with _server.serve_in_background(live_cloud, threads=1, header_timeout=2) as endpoint:
        sock = socket.create_connection(_address(endpoint), timeout=15)
        try:
            # An unsigned first request is answered (400) and the connection kept; then half a head.
            sock.sendall(KMS_HEAD + b"Content-Length: 2\r\n\r\n{}")
            first = b""
            while b"\r\n\r\n" not in first:
                first += sock.recv(65536)
            status, headers, rest = _split(first)
            while len(rest) < int(headers["content-length"]):
                rest += sock.recv(65536)
            assert status == 400 and headers.get("connection") != "close"
            sock.sendall(KMS_HEAD)  # its headers so far name KMS, the blank line never comes
            time.sleep(0.2)
            started = time.monotonic()
            assert client(endpoint, "kms").list_keys()["Keys"] == []  # the only worker is free
            assert time.monotonic() - started < 1.0
            answer = _read_all(sock)
            status, headers, body = _split(answer)
            assert status == 408 and json.loads(body)["__type"] == "RequestTimeoutException", answer
        finally:
            sock.close()


def test_a_body_sent_a_byte_at_a_time_is_cut_off_with_408(live_cloud):
    with _server.serve_in_background(live_cloud, threads=2, body_timeout=1) as endpoint:
        sock = _slow_connection(endpoint, KMS_HEAD + b"Content-Length: 1000\r\n\r\n")
        started = time.monotonic()
        for _ in range(30):
            try:
                sock.send(b" ")
            except OSError:
                break
            time.sleep(0.1)
            sock.settimeout(0.01)
            try:
                if sock.recv(1, socket.MSG_PEEK):
                    break
            except (socket.timeout, BlockingIOError):
                pass
        status, headers, body = _split(_read_all(sock))
        sock.close()
        assert status == 408 and json.loads(body)["__type"] == "RequestTimeoutException"
        assert time.monotonic() - started < 2.5 + 1000 / _server.MIN_BODY_RATE
        assert client(endpoint, "kms").list_keys()["Keys"] == []


# ---------------------------------------------------------------------------
# The HTTP server's own errors, in the protocol's shape
# ---------------------------------------------------------------------------


def _send_raw(endpoint, data: bytes) -> tuple[int, dict[str, str], bytes]:
    sock = socket.create_connection(_address(endpoint), timeout=15)
    try:
        sock.sendall(data)
        return _split(_read_all(sock))
    finally:
        sock.close()


@pytest.mark.parametrize("kind", ["json", "query", "s3"])
def test_errors_the_http_server_makes_itself_are_in_the_protocols_shape(live_cloud, kind):
    heads = {
        "json": b"X-Amz-Target: TrentService.Encrypt\r\nContent-Type: application/x-amz-json-1.1\r\n",
        "query": b"Content-Type: application/x-www-form-urlencoded\r\n",
        "s3": b"Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/s3/aws4_request, "
              b"SignedHeaders=host, Signature=00\r\n",
    }
    extra = heads[kind]

    def check(status, headers, body, want_status, json_code, query_code, s3_code, s3_status=None):
        if kind == "json":
            assert status == want_status and json.loads(body)["__type"] == json_code
            assert headers["content-type"].startswith("application/x-amz-json")
        elif kind == "query":
            assert status == want_status and xml_error(body)[0] == query_code
            assert b"<ErrorResponse" in body
        else:
            assert status == (s3_status or want_status) and xml_error(body)[0] == s3_code
            assert body.startswith(b"<?xml") and b"<Error>" in body
        assert headers["connection"] == "close"
        assert b"Traceback" not in body and b"cheroot" not in body.lower()

    with _server.serve_in_background(live_cloud) as endpoint:
        # Headers too large (over 64 KiB)
        big = b"X-Big: " + b"a" * 70_000 + b"\r\n"
        check(*_send_raw(endpoint, b"POST / HTTP/1.1\r\nHost: x\r\n" + extra + big + b"\r\n"),
              431, "RequestHeaderSectionTooLarge", "RequestHeaderSectionTooLarge", "RequestHeaderSectionTooLarge",
              400)
        # An HTTP version the server does not speak
        check(*_send_raw(endpoint, b"POST / HTTP/2.0\r\nHost: x\r\n" + extra + b"\r\n"),
              505, "HTTPVersionNotSupported", "HTTPVersionNotSupported", "HTTPVersionNotSupported")
        # A malformed header line
        check(*_send_raw(endpoint, b"POST / HTTP/1.1\r\nHost: x\r\n" + extra + b"no colon here\r\n\r\n"),
              400, "BadRequestException", "BadRequest", "BadRequest")
        # A Content-Length that is not a number
        check(*_send_raw(endpoint, b"POST / HTTP/1.1\r\nHost: x\r\n" + extra + b"Content-Length: 12x\r\n\r\n"),
              400, "BadRequestException", "BadRequest", "BadRequest")
        # A head that never ends is answered 408 (tested above); a request line too long has no headers yet:
        status, headers, body = _send_raw(endpoint, b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n")
        assert status == 414 and xml_error(body)[0] == "RequestURITooLong"
        # A malformed request line
        status, headers, body = _send_raw(endpoint, b"NONSENSE\r\n\r\n")
        assert status == 400 and xml_error(body)[0] == "BadRequest"
        # The server is unharmed.
        assert client(endpoint, "kms").list_keys()["Keys"] == []


# ---------------------------------------------------------------------------
# Bodies: the limit from the route, the signature before a large body is read
# ---------------------------------------------------------------------------


def _stream_body(endpoint, headers: dict[str, str], size: int) -> tuple[int, bytes]:
    host = endpoint.url.split("//", 1)[1]
    conn = http.client.HTTPConnection(host, timeout=30)
    try:
        def chunks():
            piece = b"\0" * (1 << 20)
            for _ in range(size >> 20):
                yield piece
        conn.putrequest("PUT", "/bucket/big", skip_accept_encoding=True)
        for k, v in {**headers, "Content-Length": str(size)}.items():
            conn.putheader(k, v)
        conn.endheaders()
        try:
            for piece in chunks():
                conn.send(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_a_large_body_with_a_fake_signature_is_refused_before_it_is_buffered(live_cloud):
    with _server.serve_in_background(live_cloud) as endpoint:
        now = time.gmtime()
        fake = {"Authorization": "AWS4-HMAC-SHA256 Credential=" + endpoint.env["AWS_ACCESS_KEY_ID"] +
                                 time.strftime("/%Y%m%d", now) +
                                 "/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=00",
                "X-Amz-Date": time.strftime("%Y%m%dT%H%M%SZ", now),
                "X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD"}
        tracemalloc.start()
        try:
            status, body = _stream_body(endpoint, fake, 60 << 20)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert status == 403 and xml_error(body)[0] == "SignatureDoesNotMatch"
        assert peak < 16 << 20, f"peak {peak >> 20} MiB"  # the 60 MiB body was never held


def test_the_body_limit_comes_from_the_route_not_the_credential_scope(live_cloud):
    with _server.serve_in_background(live_cloud) as endpoint:
        # Claims S3 in its scope (S3's larger limit) but is a KMS request: KMS's limit applies.
        headers = {"X-Amz-Target": "TrentService.ListKeys", "Content-Type": "application/x-amz-json-1.1",
                   "Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/s3/aws4_request, "
                                    "SignedHeaders=host, Signature=00"}
        status, _ = _stream_body(endpoint, headers, 12 << 20)
        assert status == 413


def test_a_signed_large_s3_put_is_read_and_its_hash_checked(live_cloud):
    with _server.serve_in_background(live_cloud) as endpoint:
        s3 = client(endpoint, "s3")
        s3.create_bucket(Bucket="big")
        data = bytes(range(256)) * (12 * 4096)  # 12 MiB: over the small limit, under S3's
        s3.put_object(Bucket="big", Key="k", Body=data)
        assert s3.get_object(Bucket="big", Key="k")["Body"].read() == data
        # Signed for one body, sent with another of the same size.
        import hashlib
        headers = {"X-Amz-Content-Sha256": hashlib.sha256(data).hexdigest()}
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        req = AWSRequest(method="PUT", url=endpoint.url + "/big/other", data=data, headers=headers)
        SigV4Auth(Credentials(endpoint.env["AWS_ACCESS_KEY_ID"], endpoint.env["AWS_SECRET_ACCESS_KEY"]),
                  "s3", "us-east-1").add_auth(req)
        tampered = bytes([data[0] ^ 1]) + data[1:]
        status, _, body = raw(endpoint, "PUT", "/big/other", tampered, dict(req.headers.items()), timeout=30)
        assert status == 400 and xml_error(body)[0] == "XAmzContentSHA256Mismatch"
        with pytest.raises(ClientError):
            s3.head_object(Bucket="big", Key="other")


# ---------------------------------------------------------------------------
# S3: unsigned x-amz-* headers, aws-chunked trailers, XML with a DTD
# ---------------------------------------------------------------------------


def _s3v4(endpoint):
    from botocore.config import Config

    env = endpoint.env
    return boto3.session.Session().client(
        "s3", region_name="us-east-1", endpoint_url=endpoint.url,
        config=CONFIG.merge(Config(signature_version="s3v4", s3={"addressing_style": "path"})),
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])


def test_a_presigned_put_takes_no_x_amz_header_it_was_not_signed_for(live_cloud):
    with _server.serve_in_background(live_cloud) as endpoint:
        s3 = _s3v4(endpoint)
        s3.create_bucket(Bucket="drop")
        key_id = client(endpoint, "kms").create_key()["KeyMetadata"]["KeyId"]
        url = s3.generate_presigned_url("put_object", Params={"Bucket": "drop", "Key": "k"}, ExpiresIn=300)
        path = url.split(endpoint.url, 1)[1]
        for extra in ({"x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": key_id},
                      {"x-amz-server-side-encryption-context": "eyJhIjoiYiJ9"}, {"x-amz-meta-owner": "mallory"}):
            status, _, body = raw(endpoint, "PUT", path, b"data", extra)
            code, message = xml_error(body)
            assert (status, code) == (403, "AccessDenied") and "not signed" in message
            assert all(name in message for name in extra)
        with pytest.raises(ClientError):
            s3.head_object(Bucket="drop", Key="k")
        status, _, _ = raw(endpoint, "PUT", path, b"data", {})
        assert status == 200
        assert s3.head_object(Bucket="drop", Key="k").get("ServerSideEncryption") != "aws:kms"


def test_a_header_signed_s3_request_takes_no_unsigned_x_amz_header(live_cloud):
    with _server.serve_in_background(live_cloud) as endpoint:
        s3 = client(endpoint, "s3")
        s3.create_bucket(Bucket="bkt")
        import hashlib
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        body = b"hello"
        req = AWSRequest(method="PUT", url=endpoint.url + "/bkt/k", data=body,
                         headers={"X-Amz-Content-Sha256": hashlib.sha256(body).hexdigest(),
                                  "x-amz-server-side-encryption": "AES256"})
        SigV4Auth(Credentials(endpoint.env["AWS_ACCESS_KEY_ID"], endpoint.env["AWS_SECRET_ACCESS_KEY"]),
                  "s3", "us-east-1").add_auth(req)
        headers = dict(req.headers.items())
        headers["x-amz-meta-added-later"] = "1"  # not in SignedHeaders: the signature still verifies
        status, _, answer = raw(endpoint, "PUT", "/bkt/k", body, headers)
        assert status == 403 and xml_error(answer)[0] == "AccessDenied"
        assert "x-amz-meta-added-later" in xml_error(answer)[1]
        del headers["x-amz-meta-added-later"]
        assert raw(endpoint, "PUT", "/bkt/k", body, headers)[0] == 200


def _chunked(payload: bytes, trailers: list[bytes], size: bytes | None = None) -> bytes:
    size = size if size is not None else f"{len(payload):x}".encode()
    return size + b"\r\n" + payload + b"\r\n0\r\n" + b"".join(t + b"\r\n" for t in trailers) + b"\r\n"


def _signed_chunked_put(endpoint, body: bytes, extra: dict[str, str]):
    import hashlib
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    headers = {"X-Amz-Content-Sha256": hashlib.sha256(body).hexdigest(), "Content-Encoding": "aws-chunked",
               "x-amz-server-side-encryption": "AES256", **extra}
    req = AWSRequest(method="PUT", url=endpoint.url + "/bkt/k", data=body, headers=headers)
    SigV4Auth(Credentials(endpoint.env["AWS_ACCESS_KEY_ID"], endpoint.env["AWS_SECRET_ACCESS_KEY"]),
              "s3", "us-east-1").add_auth(req)
    return raw(endpoint, "PUT", "/bkt/k", body, dict(req.headers.items()))


def test_aws_chunked_trailers_are_only_the_declared_checksums(live_cloud):
    import base64
    import zlib
    with _server.serve_in_background(live_cloud) as endpoint:
        s3 = client(endpoint, "s3")
        s3.create_bucket(Bucket="bkt")
        key_id = client(endpoint, "kms").create_key()["KeyMetadata"]["KeyId"]
        # The attack of the issue: a trailer turning a signed AES256 into aws:kms with a chosen key.
        sneaky = _chunked(b"secret", [b"x-amz-server-side-encryption:aws:kms",
                                      f"x-amz-server-side-encryption-aws-kms-key-id:{key_id}".encode()])
        status, _, body = _signed_chunked_put(endpoint, sneaky, {"x-amz-decoded-content-length": "6"})
        assert status == 400 and xml_error(body)[0] == "MalformedTrailerError"
        # Declaring it does not help: only checksum trailers may be declared.
        status, _, body = _signed_chunked_put(endpoint, sneaky, {"x-amz-decoded-content-length": "6",
                                                                 "x-amz-trailer": "x-amz-server-side-encryption"})
        assert status == 400 and xml_error(body)[0] == "InvalidRequest"
        with pytest.raises(ClientError):
            s3.head_object(Bucket="bkt", Key="k")
        # A declared checksum trailer is taken (and checked).
        crc = base64.b64encode(zlib.crc32(b"secret").to_bytes(4, "big")).decode()
        good = _chunked(b"secret", [f"x-amz-checksum-crc32:{crc}".encode()])
        status, _, body = _signed_chunked_put(endpoint, good, {"x-amz-decoded-content-length": "6",
                                                               "x-amz-trailer": "x-amz-checksum-crc32"})
        assert status == 200, body
        head = s3.head_object(Bucket="bkt", Key="k")
        assert head["ServerSideEncryption"] == "AES256"
        assert s3.get_object(Bucket="bkt", Key="k")["Body"].read() == b"secret"
        # Chunk sizes out of range: 2^64, more hex digits than any size, bigger than the body.
        for size in (b"10000000000000000", b"f" * 40, b"ffff"):
            status, _, body = _signed_chunked_put(endpoint, _chunked(b"secret", [], size=size),
                                                  {"x-amz-decoded-content-length": "6"})
            code = xml_error(body)[0]  # S3 answers InvalidChunkSizeError with 403
            assert (status, code) in ((403, "InvalidChunkSizeError"), (400, "IncompleteBody")), body


BOMB = ('<?xml version="1.0" encoding="{enc}"?>\n<!DOCTYPE t [<!ENTITY a "{a}"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        '<ServerSideEncryptionConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule>'
        '<ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm>'
        '<KMSMasterKeyID>&c;</KMSMasterKeyID></ApplyServerSideEncryptionByDefault></Rule>'
        '</ServerSideEncryptionConfiguration>')


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_xml_with_a_dtd_is_refused_in_any_encoding(encoding):
    cloud = kms_teach.Cloud()
    s3 = cloud.client("s3")
    s3.create_bucket(Bucket="bkt")
    enc = {"utf-16-le": "UTF-16", "utf-16-be": "UTF-16"}.get(encoding, encoding.upper())
    text = BOMB.format(enc=enc, a="x" * 100)
    data = text.encode(encoding)
    if encoding in ("utf-16-le", "utf-16-be"):
        data = ("\ufeff" + text).encode(encoding)
    reply = cloud.handle("s3", region="us-east-1", principal=cloud.principal(), method="PUT",
                         url="https://s3.us-east-1.amazonaws.com/bkt?encryption", headers={"content-type": "application/xml"},
                         body=data)
    assert reply.status == 400 and b"<Code>MalformedXML</Code>" in reply.body
    rules = s3.get_bucket_encryption(Bucket="bkt")["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}  # S3's default, untouched


# ---------------------------------------------------------------------------
# Dates out of range before any signature is checked
# ---------------------------------------------------------------------------


def test_out_of_range_dates_in_signatures_get_the_protocols_4xx(live_cloud):
    with _server.serve_in_background(live_cloud) as endpoint:
        akid = endpoint.env["AWS_ACCESS_KEY_ID"]
        cases = [
            # SigV2 presigned S3 URL whose Expires is past year 9999, and past any time_t
            ("GET", f"/bkt/k?AWSAccessKeyId={akid}&Expires=99999999999999&Signature=x", {}, "s3"),
            ("GET", f"/bkt/k?AWSAccessKeyId={akid}&Expires={'9' * 40}&Signature=x", {}, "s3"),
            # A Date header in year 9999 with an offset that takes it past the calendar
            ("POST", "/", {"Date": "Fri, 31 Dec 9999 23:59:59 -0100", "X-Amz-Target": "TrentService.ListKeys",
                           "Content-Type": "application/x-amz-json-1.1",
                           "Authorization": f"AWS4-HMAC-SHA256 Credential={akid}/99991231/us-east-1/kms/aws4_request, "
                                            "SignedHeaders=host;date, Signature=00"}, "kms"),
            # Presigned URLs dated at the edges of the calendar
            ("GET", f"/bkt/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={akid}%2F00010101%2Fus-east-1%2Fs3"
                    f"%2Faws4_request&X-Amz-Date=00010101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host"
                    f"&X-Amz-Signature=00", {}, "s3"),
            ("GET", f"/bkt/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={akid}%2F99991231%2Fus-east-1%2Fs3"
                    f"%2Faws4_request&X-Amz-Date=99991231T235959Z&X-Amz-Expires=604800&X-Amz-SignedHeaders=host"
                    f"&X-Amz-Signature=00", {}, "s3"),
        ]
        for method, path, headers, kind in cases:
            status, _, body = raw(endpoint, method, path, b"", headers)
            assert 400 <= status < 500, (path, status, body)
            if kind == "kms":
                assert json_error(body)[0] in ("IncompleteSignatureException", "InvalidSignatureException")
            else:
                assert xml_error(body)[0] in ("AuthorizationHeaderMalformed", "AccessDenied",
                                              "RequestTimeTooSkewed"), body
