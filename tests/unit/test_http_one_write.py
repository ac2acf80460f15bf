"""An answer's head goes out with the first part of its body, in one write, and in cheroot's order."""

from __future__ import annotations

import socket

import boto3
from botocore.config import Config

import kms_teach
from kms_teach._http.guard import _OneWrite


class _Raw:
    def __init__(self):
        self.writes: list[bytes] = []

    def write(self, data):
        self.writes.append(bytes(data))
        return len(data)

    def flush(self):
        self.writes.append(b"<flush>")


def test_head_is_held_and_sent_with_the_first_body_part():
    raw = _Raw()
    w = _OneWrite(raw)
    w.holding = True
    assert w.write(b"HTTP/1.1 200 OK\r\n\r\n") == 19
    assert raw.writes == []
    w.write(b"body-1")
    w.write(b"body-2")
    w.release()
    assert raw.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody-1", b"body-2"]


def test_a_head_without_a_body_is_sent_on_release():
    raw = _Raw()
    w = _OneWrite(raw)
    w.holding = True
    w.write(b"HTTP/1.1 204 No Content\r\n\r\n")
    w.release()
    w.release()  # nothing held any more: nothing sent twice
    assert raw.writes == [b"HTTP/1.1 204 No Content\r\n\r\n"]


def test_other_attributes_are_the_raw_writers():
    raw = _Raw()
    w = _OneWrite(raw)
    w.flush()
    assert raw.writes == [b"<flush>"]


def _raw_exchange(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data
            data += chunk


def test_answers_over_the_endpoint_keep_their_shape():
    """Small JSON answers, HEAD answers (a head only) and streamed S3 bodies arrive whole and in order."""
    cloud = kms_teach.Cloud()
    with cloud.serve() as handle:
        cfg = Config(retries={"total_max_attempts": 1})
        kw = dict(region_name="us-east-1", endpoint_url=handle.url, config=cfg,
                  aws_access_key_id=handle.env["AWS_ACCESS_KEY_ID"],
                  aws_secret_access_key=handle.env["AWS_SECRET_ACCESS_KEY"])
        kms = boto3.client("kms", **kw)
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        for i in range(20):  # one keep-alive connection: each answer's framing must be exact
            blob = kms.encrypt(KeyId=key, Plaintext=b"x" * (i + 1))["CiphertextBlob"]
            assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x" * (i + 1)
        s3 = boto3.client("s3", **kw)
        s3.create_bucket(Bucket="one-write")
        s3.put_object(Bucket="one-write", Key="k", Body=b"0123456789" * 1000)
        head = s3.head_object(Bucket="one-write", Key="k")
        assert head["ContentLength"] == 10_000
        assert s3.get_object(Bucket="one-write", Key="k")["Body"].read() == b"0123456789" * 1000
        # An error cheroot answers itself (an unsupported HTTP version) is one whole answer too.
        answer = _raw_exchange(handle.port, b"GET / HTTP/2.5\r\nHost: x\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 505 ")
        head_part, _, body = answer.partition(b"\r\n\r\n")
        length = int(next(line.split(b":", 1)[1] for line in head_part.split(b"\r\n")
                          if line.lower().startswith(b"content-length:")))
        assert len(body) == length
