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
        finally:
            for sock in slow:
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
