"""The HTTP endpoint: SigV4 authentication, routing, AWS-style errors, limits, concurrency, and `kms-teach serve`.

Every server here listens on 127.0.0.1 on a free port and every client call has
a timeout, so no test can hang.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import hashlib
import http.client
import io
import json
import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

import kms_teach
from kms_teach._http import server as _server, sigv4 as _sigv4

SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
    "Access Key and signing method. Consult the service documentation for details."
)
INVALID_TOKEN = "The security token included in the request is invalid."
CONFIG = Config(connect_timeout=5, read_timeout=20, retries={"total_max_attempts": 1, "mode": "standard"})


@pytest.fixture
def live_cloud():
    """A cloud on the wall clock (requests are signed with the wall clock), unseeded like a learner's."""
    c = kms_teach.Cloud()
    yield c
    c.close()


@pytest.fixture
def endpoint(live_cloud):
    handle = _server.serve_in_background(live_cloud)
    yield handle
    handle.stop()


def client(endpoint, service, *, key=None, secret=None, token=None, region="us-east-1"):
    """A boto3 client that talks HTTP to the endpoint, with the root keys unless told otherwise."""
    env = endpoint.env
    return boto3.session.Session().client(
        service, region_name=region, endpoint_url=endpoint.url, config=CONFIG,
        aws_access_key_id=key or env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=secret or env["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=token)


def raw(endpoint, method="POST", path="/", body=b"", headers=None, timeout=10):
    """One HTTP request on its own connection: (status, headers, body)."""
    host = endpoint.url.split("//", 1)[1]
    conn = http.client.HTTPConnection(host, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def signed(endpoint, service, body=b"", headers=None, *, method="POST", path="/", region="us-east-1",
           key=None, secret=None, token=None):
    """Sign an arbitrary request with botocore's SigV4 signer, then send it raw."""
    env = endpoint.env
    creds = Credentials(key or env["AWS_ACCESS_KEY_ID"], secret or env["AWS_SECRET_ACCESS_KEY"], token)
    req = AWSRequest(method=method, url=endpoint.url + path, data=body, headers=dict(headers or {}))
    SigV4Auth(creds, service, region).add_auth(req)
    return raw(endpoint, method, path, body, dict(req.headers.items()))


def json_error(body: bytes) -> tuple[str, str]:
    doc = json.loads(body)
    return doc["__type"], doc["message"]


def xml_error(body: bytes) -> tuple[str, str]:
    text = body.decode()
    return re.search(r"<Code>(.*?)</Code>", text).group(1), re.search(r"<Message>(.*?)</Message>", text).group(1)


KMS_JSON = {"Content-Type": "application/x-amz-json-1.1"}


# ---------------------------------------------------------------------------
# Answers through genuine boto3 clients over HTTP
# ---------------------------------------------------------------------------


def test_boto3_over_http_encrypts_and_decrypts(endpoint, live_cloud):
    kms = client(endpoint, "kms")
    key_id = kms.create_key(Description="catrobot")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/catrobot", TargetKeyId=key_id)
    blob = kms.encrypt(KeyId="alias/catrobot", Plaintext=b"attack at dawn")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"attack at dawn"
    # The same cloud answers in-process clients: one state.
    assert live_cloud.client("kms").describe_key(KeyId="alias/catrobot")["KeyMetadata"]["KeyId"] == key_id
    assert client(endpoint, "sts").get_caller_identity()["Arn"] == "arn:aws:iam::111122223333:root"
    # The audit trail names the access key and the caller's address.
    event = [e for e in live_cloud.audit.events if e["eventName"] == "Decrypt"][-1]
    assert event["userIdentity"]["accessKeyId"] == endpoint.access_key_id
    assert event["sourceIPAddress"] == "127.0.0.1"


def test_region_comes_from_the_credential_scope(endpoint):
    west = client(endpoint, "kms", region="eu-west-1")
    arn = west.create_key()["KeyMetadata"]["Arn"]
    assert ":eu-west-1:" in arn
    assert client(endpoint, "kms", region="us-east-1").list_keys()["Keys"] == []


def test_iam_user_keys_act_as_the_user(endpoint):
    iam = client(endpoint, "iam")
    iam.create_user(UserName="alice")
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    as_alice = dict(key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    assert client(endpoint, "sts", **as_alice).get_caller_identity()["Arn"] == \
        "arn:aws:iam::111122223333:user/alice"
    key_id = client(endpoint, "kms").create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as exc:  # no policy lets alice use it
        client(endpoint, "kms", **as_alice).encrypt(KeyId=key_id, Plaintext=b"x")
    assert exc.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "user/alice" in exc.value.response["Error"]["Message"]
    # A deactivated key is no longer recognised.
    iam.update_access_key(UserName="alice", AccessKeyId=key["AccessKeyId"], Status="Inactive")
    with pytest.raises(ClientError) as exc:
        client(endpoint, "sts", **as_alice).get_caller_identity()
    assert exc.value.response["Error"]["Code"] == "InvalidClientTokenId"


def test_role_sessions_need_their_session_token(endpoint):
    iam = client(endpoint, "iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                      "Principal": {"AWS": "arn:aws:iam::111122223333:root"}}]}
    iam.create_role(RoleName="ops", AssumeRolePolicyDocument=json.dumps(trust))
    creds = client(endpoint, "sts").assume_role(RoleArn="arn:aws:iam::111122223333:role/ops",
                                                 RoleSessionName="night-shift")["Credentials"]
    session = dict(key=creds["AccessKeyId"], secret=creds["SecretAccessKey"])
    who = client(endpoint, "sts", token=creds["SessionToken"], **session).get_caller_identity()
    assert who["Arn"] == "arn:aws:sts::111122223333:assumed-role/ops/night-shift"
    for token in (None, "not-the-token"):
        with pytest.raises(ClientError) as exc:
            client(endpoint, "kms", token=token, **session).list_keys()
        assert exc.value.response["Error"] == {"Code": "UnrecognizedClientException", "Message": INVALID_TOKEN}
    # A long-term key with a session token is refused too.
    with pytest.raises(ClientError) as exc:
        client(endpoint, "kms", token=creds["SessionToken"]).list_keys()
    assert exc.value.response["Error"]["Code"] == "UnrecognizedClientException"


# ---------------------------------------------------------------------------
# Authentication failures, in each protocol's own words
# ---------------------------------------------------------------------------


def test_unknown_access_key(endpoint):
    with pytest.raises(ClientError) as exc:
        client(endpoint, "kms", key="AKIAIOSFODNN7EXAMPLE", secret="x" * 40).list_keys()
    assert exc.value.response["Error"] == {"Code": "UnrecognizedClientException", "Message": INVALID_TOKEN}
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as exc:
        client(endpoint, "iam", key="AKIAIOSFODNN7EXAMPLE", secret="x" * 40).list_users()
    assert exc.value.response["Error"]["Code"] == "InvalidClientTokenId"
    assert exc.value.response["Error"]["Message"] == INVALID_TOKEN
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_wrong_secret(endpoint):
    with pytest.raises(ClientError) as exc:
        client(endpoint, "kms", secret="wrong" * 8).list_keys()
    assert exc.value.response["Error"] == {"Code": "InvalidSignatureException", "Message": SIGNATURE_MISMATCH}
    with pytest.raises(ClientError) as exc:
        client(endpoint, "sts", secret="wrong" * 8).get_caller_identity()
    assert exc.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert exc.value.response["Error"]["Message"] == SIGNATURE_MISMATCH
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_tampered_body_or_header_fails_the_signature(endpoint):
    env = endpoint.env
    creds = Credentials(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"])
    headers = {**KMS_JSON, "X-Amz-Target": "TrentService.ListKeys"}
    req = AWSRequest(method="POST", url=endpoint.url + "/", data=b"{}", headers=headers)
    SigV4Auth(creds, "kms", "us-east-1").add_auth(req)
    good = dict(req.headers.items())
    assert raw(endpoint, body=b"{}", headers=good)[0] == 200
    status, _, body = raw(endpoint, body=b'{"Limit":1}', headers=good)
    assert status == 400 and json_error(body) == ("InvalidSignatureException", SIGNATURE_MISMATCH)
    status, _, body = raw(endpoint, body=b"{}", headers={**good, "X-Amz-Target": "TrentService.CreateKey"})
    assert status == 400 and json_error(body)[0] == "InvalidSignatureException"
    # A declared payload hash must be the body's.
    status, _, body = signed(endpoint, "kms", b"{}", {**headers, "X-Amz-Content-SHA256": "0" * 64})
    assert status == 400 and json_error(body)[0] == "InvalidSignatureException"
    status, _, body = signed(endpoint, "kms", b"{}",
                             {**headers, "X-Amz-Content-SHA256": hashlib.sha256(b"{}").hexdigest()})
    assert status == 200


def test_missing_authentication(endpoint):
    status, _, body = raw(endpoint, body=b"{}", headers={**KMS_JSON, "X-Amz-Target": "TrentService.ListKeys"})
    assert status == 400
    assert json_error(body)[0] == "MissingAuthenticationTokenException"
    status, headers, body = raw(endpoint, body=b"Action=GetCallerIdentity&Version=2011-06-15",
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 403 and headers["Content-Type"] == "text/xml"
    assert xml_error(body) == ("MissingAuthenticationToken", "Request is missing Authentication Token")


def test_incomplete_authorization_header(endpoint):
    headers = {**KMS_JSON, "X-Amz-Target": "TrentService.ListKeys", "X-Amz-Date": "20260101T000000Z",
               "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/kms/aws4_request"}
    status, _, body = raw(endpoint, body=b"{}", headers=headers)
    code, message = json_error(body)
    assert status == 400 and code == "IncompleteSignatureException"
    assert "requires 'Signature' parameter" in message and "requires 'SignedHeaders' parameter" in message
    headers["Authorization"] = "Basic dXNlcjpwYXNz"
    assert json_error(raw(endpoint, body=b"{}", headers=headers)[2])[0] == "IncompleteSignatureException"


def test_signature_dated_more_than_15_minutes_from_the_wall_clock(live_cloud):
    # The endpoint's wall clock runs an hour ahead of the client's: the client's signatures are stale.
    late = _server.serve_in_background(live_cloud, wall_clock=lambda: time.time() + 3600)
    early = _server.serve_in_background(live_cloud, wall_clock=lambda: time.time() - 3600)
    try:
        with pytest.raises(ClientError) as exc:
            client(late, "kms").list_keys()
        error = exc.value.response["Error"]
        assert error["Code"] == "InvalidSignatureException"
        assert re.fullmatch(r"Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z "
                            r"\(\d{8}T\d{6}Z - 15 min\.\)", error["Message"]), error["Message"]
        with pytest.raises(ClientError) as exc:
            client(late, "sts").get_caller_identity()
        assert exc.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
        assert exc.value.response["Error"]["Message"].startswith("Signature expired: ")
        with pytest.raises(ClientError) as exc:
            client(early, "kms").list_keys()
        assert exc.value.response["Error"]["Message"].startswith("Signature not yet current: ")
    finally:
        late.stop()
        early.stop()
    # The simulated clock does not matter: a year ahead, the wall-clock signature still verifies.
    live_cloud.clock.advance(days=365)
    with _server.serve_in_background(live_cloud) as handle:
        assert client(handle, "kms").list_keys()["Keys"] == []


def test_credential_scope_is_checked(endpoint):
    target = {**KMS_JSON, "X-Amz-Target": "TrentService.ListKeys"}
    status, _, body = signed(endpoint, "kms", b"{}", target, region="moon-east-1")
    assert status == 400 and json_error(body) == (
        "InvalidSignatureException", "Credential should be scoped to a valid region, not 'moon-east-1'. ")
    # A service the cloud does not simulate: 501 once the signature verifies.
    status, _, body = signed(endpoint, "dynamodb", b"{}", {**KMS_JSON, "X-Amz-Target": "DynamoDB_20120810.ListTables"})
    assert status == 501 and json_error(body)[0] == "NotImplemented" and "dynamodb" in json_error(body)[1]
    # The scope's date must be the request's date.
    env = endpoint.env
    creds = Credentials(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"])
    req = AWSRequest(method="POST", url=endpoint.url + "/", data=b"{}", headers=target)
    SigV4Auth(creds, "kms", "us-east-1").add_auth(req)
    headers = dict(req.headers.items())
    headers["Authorization"] = re.sub(r"/\d{8}/", "/19990101/", headers["Authorization"])
    status, _, body = raw(endpoint, body=b"{}", headers=headers)
    assert json_error(body)[0] == "InvalidSignatureException"
    assert json_error(body)[1].startswith("Date in Credential scope does not match YYYYMMDD")


def test_query_protocol_by_get_and_by_presigned_url(endpoint):
    status, _, body = signed(endpoint, "sts", method="GET", path="/?Action=GetCallerIdentity&Version=2011-06-15")
    assert status == 200 and b"<Arn>arn:aws:iam::111122223333:root</Arn>" in body
    url = client(endpoint, "sts").generate_presigned_url("get_caller_identity", ExpiresIn=60, HttpMethod="GET")
    assert "X-Amz-Signature=" in url
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.status == 200 and b"<Arn>arn:aws:iam::111122223333:root</Arn>" in resp.read()
    # Signed for POST (the operation's method), it is good for POST only.
    url = client(endpoint, "sts").generate_presigned_url("get_caller_identity", ExpiresIn=60)
    with urllib.request.urlopen(urllib.request.Request(url, data=b"", method="POST"), timeout=10) as resp:
        assert resp.status == 200
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(url, timeout=10)
    # A tampered presigned URL fails.
    bad = url.replace("Version=2011-06-15", "Version=2011-06-16")
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(bad, timeout=10)
    assert exc.value.code == 403 and xml_error(exc.value.read())[0] == "SignatureDoesNotMatch"


def test_presigned_url_expires(live_cloud):
    with _server.serve_in_background(live_cloud, wall_clock=lambda: time.time() + 120) as later:
        url = client(later, "sts").generate_presigned_url("get_caller_identity", ExpiresIn=60, HttpMethod="GET")
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(url, timeout=10)
        code, message = xml_error(exc.value.read())
        assert code == "SignatureDoesNotMatch" and message.startswith("Signature expired: ")


# ---------------------------------------------------------------------------
# S3 (REST-XML): its own canonical URI, payload hashes, presigned URLs and error words
# ---------------------------------------------------------------------------


def test_s3_through_the_endpoint(live_cloud):
    with _server.serve_in_background(live_cloud, max_body_s3=12 * 1024 * 1024) as handle:
        s3 = client(handle, "s3")
        s3.create_bucket(Bucket="catrobot-plans")
        key = "plans/dawn attack+nap=~ok.txt"
        s3.put_object(Bucket="catrobot-plans", Key=key, Body=b"attack at dawn", ServerSideEncryption="aws:kms")
        assert s3.get_object(Bucket="catrobot-plans", Key=key)["Body"].read() == b"attack at dawn"
        assert s3.head_object(Bucket="catrobot-plans", Key=key)["ContentLength"] == 14
        assert [o["Key"] for o in s3.list_objects_v2(Bucket="catrobot-plans")["Contents"]] == [key]
        big = os.urandom(11 * 1024 * 1024)  # over the JSON services' 10 MiB, under this S3 limit
        s3.put_object(Bucket="catrobot-plans", Key="big", Body=big)
        assert s3.get_object(Bucket="catrobot-plans", Key="big")["Body"].read() == big
        with pytest.raises(ClientError) as exc:
            s3.put_object(Bucket="catrobot-plans", Key="too-big", Body=b"x" * (13 * 1024 * 1024))
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
        assert exc.value.response["Error"]["Code"] == "EntityTooLarge"
        # Presigned URLs, in Signature Version 2 (boto3's default for S3) and 4.
        v4 = boto3.session.Session().client(
            "s3", region_name="us-east-1", endpoint_url=handle.url, config=Config(signature_version="s3v4"),
            aws_access_key_id=handle.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=handle.env["AWS_SECRET_ACCESS_KEY"])
        for signer in (s3, v4):
            url = signer.generate_presigned_url("get_object", Params={"Bucket": "catrobot-plans", "Key": key},
                                                ExpiresIn=60)
            with urllib.request.urlopen(url, timeout=10) as resp:
                assert resp.read() == b"attack at dawn"
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(url.replace("catrobot-plans/plans", "catrobot-plans/other"), timeout=10)
            assert err.value.code == 403 and xml_error(err.value.read())[0] == "SignatureDoesNotMatch"
        # S3's own words for authentication failures.
        with pytest.raises(ClientError) as exc:
            client(handle, "s3", secret="wrong" * 8).list_buckets()
        assert exc.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
        assert exc.value.response["Error"]["Message"].endswith("Check your key and signing method.")
        with pytest.raises(ClientError) as exc:
            client(handle, "s3", key="AKIAIOSFODNN7EXAMPLE", secret="x" * 40).list_buckets()
        assert exc.value.response["Error"]["Code"] == "InvalidAccessKeyId"
        status, headers, body = raw(handle, "GET", "/catrobot-plans")
        assert status == 403 and xml_error(body) == ("AccessDenied", "Access Denied")
        assert "x-amz-request-id" in headers


def test_s3_presigned_url_expires(live_cloud):
    with _server.serve_in_background(live_cloud, wall_clock=lambda: time.time() + 120) as later:
        s3 = client(later, "s3")
        s3.create_bucket(Bucket="expiring")
        for config in (None, Config(signature_version="s3v4")):
            signer = s3 if config is None else boto3.session.Session().client(
                "s3", region_name="us-east-1", endpoint_url=later.url, config=config,
                aws_access_key_id=later.env["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=later.env["AWS_SECRET_ACCESS_KEY"])
            url = signer.generate_presigned_url("list_objects_v2", Params={"Bucket": "expiring"}, ExpiresIn=60)
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(url, timeout=10)
            assert err.value.code == 403 and xml_error(err.value.read()) == ("AccessDenied", "Request has expired")


# ---------------------------------------------------------------------------
# Protocol errors end to end (signed requests the services refuse)
# ---------------------------------------------------------------------------


def test_malformed_requests_get_aws_errors(endpoint):
    kms_target = lambda op: {**KMS_JSON, "X-Amz-Target": f"TrentService.{op}"}  # noqa: E731
    status, _, body = signed(endpoint, "kms", b"{not json", kms_target("ListKeys"))
    assert status == 400 and json_error(body)[0] == "SerializationException"
    status, _, body = signed(endpoint, "kms", b"{}", kms_target("FlyToTheMoon"))
    assert status == 400 and json_error(body)[0] == "UnknownOperationException"
    status, _, body = signed(endpoint, "kms", b"{}", KMS_JSON)
    assert status == 400 and json_error(body)[0] == "MissingAction"
    status, _, body = signed(endpoint, "kms", b'{"KeyId": 5}', kms_target("DescribeKey"))
    assert status == 400 and json_error(body)[0] == "SerializationException"
    status, _, body = signed(endpoint, "kms", b"{}", kms_target("DescribeKey"))
    assert status == 400 and json_error(body)[0] == "ValidationException"
    status, _, body = signed(endpoint, "iam", b"Action=ListUsers&Version=2010-05-08",
                             {"Content-Type": "application/json"})
    assert status == 400 and xml_error(body)[0] == "MissingAction"
    status, _, body = signed(endpoint, "iam", b"Action=ListUsers",
                             {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 400 and xml_error(body)[0] == "InvalidAction"


def test_oversized_bodies_are_refused_and_the_server_goes_on(live_cloud):
    with _server.serve_in_background(live_cloud, max_body=4096) as small:
        target = {**KMS_JSON, "X-Amz-Target": "TrentService.ListKeys"}
        status, headers, body = raw(small, body=b" " * 5000, headers=target)
        assert status == 413 and headers.get("Connection") == "close"
        code, message = json_error(body)
        assert code == "RequestEntityTooLargeException" and "5000 bytes" in message and "4096" in message
        status, _, body = raw(small, body=b"Action=ListUsers&" + b"x" * 5000,
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 413 and xml_error(body)[0] == "RequestEntityTooLarge"
        # Chunked bodies are counted as they come.
        host = small.url.split("//", 1)[1]
        conn = http.client.HTTPConnection(host, timeout=10)
        conn.request("POST", "/", body=iter([b" " * 3000, b" " * 3000]), headers=target, encode_chunked=True)
        resp = conn.getresponse()
        assert resp.status == 413 and json_error(resp.read())[0] == "RequestEntityTooLargeException"
        conn.close()
        # Through boto3: a policy document bigger than the limit.
        kms = client(small, "kms")
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        with pytest.raises(ClientError) as exc:
            kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": f"k{i}", "TagValue": "v" * 200} for i in range(40)])
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
        # The server is unharmed.
        assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
        status, _, body = raw(small, body=b"{}", headers={**target, "Content-Length": "nope"})
        assert status == 400


# ---------------------------------------------------------------------------
# Concurrency
# ---------------------------------------------------------------------------


def test_concurrent_clients_get_correct_answers(live_cloud):
    threads, rounds = 8, 25
    with _server.serve_in_background(live_cloud) as handle:
        shared = client(handle, "kms").create_key()["KeyMetadata"]["KeyId"]

        def work(n: int):
            kms = client(handle, "kms")
            own = kms.create_key(Description=f"worker {n}")["KeyMetadata"]["KeyId"]
            results = []
            for i in range(rounds):
                key = shared if i % 2 else own
                plaintext = f"worker {n} message {i}".encode()
                context = {"worker": str(n), "i": str(i)}
                blob = kms.encrypt(KeyId=key, Plaintext=plaintext, EncryptionContext=context)["CiphertextBlob"]
                out = kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)
                results.append((out["Plaintext"] == plaintext, out["KeyId"].endswith(key)))
                if i % 10 == 0:
                    made = kms.create_key(Description=f"worker {n} round {i}")["KeyMetadata"]
                    results.append((kms.describe_key(KeyId=made["KeyId"])["KeyMetadata"]["Description"]
                                    == f"worker {n} round {i}", True))
            return own, results

        with cf.ThreadPoolExecutor(threads) as pool:
            outcomes = list(pool.map(work, range(threads), timeout=60))
    owns = [own for own, _ in outcomes]
    assert len(set(owns)) == threads
    assert all(ok and right_key for _, results in outcomes for ok, right_key in results)
    keys = {k["KeyId"] for k in live_cloud.client("kms").list_keys(Limit=1000)["Keys"]}
    assert len(keys) == 1 + threads + threads * 3 and set(owns) <= keys


FIRST_CALLS = ["CreateKey", "DescribeKey", "Encrypt", "Decrypt", "GenerateDataKey", "ListKeys", "ListAliases",
               "GetKeyPolicy", "ReEncrypt", "CreateGrant", "ListGrants", "GenerateDataKeyPair", "Sign", "Verify",
               "GetPublicKey", "ListResourceTags", "TagResource", "PutKeyPolicy", "GenerateMac", "ListKeyRotations"]


def _signed_environ(akid: str, secret: str, target: str, body: bytes) -> dict:
    """A WSGI environ of a signed KMS request (for calling the application without HTTP)."""
    req = AWSRequest(method="POST", url="http://127.0.0.1:8555/", data=body,
                     headers={**KMS_JSON, "X-Amz-Target": target})
    SigV4Auth(Credentials(akid, secret), "kms", "us-east-1").add_auth(req)
    environ = {"REQUEST_METHOD": "POST", "REQUEST_URI": "/", "PATH_INFO": "/", "QUERY_STRING": "",
               "REMOTE_ADDR": "127.0.0.1", "CONTENT_LENGTH": str(len(body)), "HTTP_HOST": "127.0.0.1:8555",
               "wsgi.input": io.BytesIO(body)}
    for name, value in req.headers.items():
        if name.lower() == "content-type":
            environ["CONTENT_TYPE"] = value
        else:
            environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def test_first_calls_of_many_operations_at_once():
    """Each operation's first request compiles its codec: concurrent first requests must not see half-built ones."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, to give a race every chance
    try:
        for _ in range(40):
            cloud = kms_teach.Cloud()
            akid, secret = _server.root_credentials(cloud)
            app = _server.EndpointApp(cloud)
            environs = [_signed_environ(akid, secret, f"TrentService.{op}", b'{"KeyId": "alias/none"}')
                        for op in FIRST_CALLS]
            statuses = {}

            def first(op, environ):
                app(environ, lambda status, headers: statuses.__setitem__(op, int(status[:3])))

            threads = [threading.Thread(target=first, args=pair) for pair in zip(FIRST_CALLS, environs)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            assert len(statuses) == len(FIRST_CALLS) and max(statuses.values()) < 500, statuses
    finally:
        sys.setswitchinterval(previous)


# ---------------------------------------------------------------------------
# Credentials and the environment for the aws CLI
# ---------------------------------------------------------------------------


def test_root_credentials_are_reused_and_files_are_private(tmp_path, live_cloud):
    akid, secret = _server.root_credentials(live_cloud)
    assert akid.startswith("AKIA") and _server.root_credentials(live_cloud) == (akid, secret)
    assert _server.root_credentials(live_cloud, preferred="AKIANOTAKEY") == (akid, secret)
    creds, config = _server.write_aws_files(tmp_path / "d", akid, secret, "us-east-1")
    for path in (creds, config):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = creds.read_text()
    assert "[default]" in text and f"aws_access_key_id = {akid}" in text and "region = us-east-1" in text
    assert _server.read_credentials_key(creds) == akid
    lines = _server.export_lines(_server.endpoint_env("http://127.0.0.1:8555", creds, config, "us-east-1"))
    assert "export AWS_ENDPOINT_URL=http://127.0.0.1:8555" in lines
    assert f"export AWS_SHARED_CREDENTIALS_FILE={creds}" in lines
    assert lines[-1].startswith("unset AWS_ACCESS_KEY_ID")


def test_handle_env_drives_boto3_in_a_subprocess(endpoint):
    code = ("import boto3; print(boto3.client('sts').get_caller_identity()['Arn']);"
            "k=boto3.client('kms'); print(k.create_key()['KeyMetadata']['Arn'].split(':')[3])")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "AKIAREALKEY", "AWS_PROFILE": "work", **endpoint.env}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["arn:aws:iam::111122223333:root", "us-east-1"]


def test_only_loopback(live_cloud):
    with pytest.raises(ValueError, match="loopback"):
        _server.serve_in_background(live_cloud, host="0.0.0.0")


def test_sigv4_canonical_forms():
    cred = _sigv4.Credential("AKID", "20260101", "us-east-1", "kms", ["host", "x-amz-date"], "", "20260101T000000Z",
                             dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    assert _sigv4.canonical_uri("/a/./b/../c//d/") == "/a/c/d/"
    assert _sigv4.canonical_uri("/a%20b") == "/a%2520b"
    assert _sigv4.canonical_uri("/a%20b", s3=True) == "/a%20b"
    assert _sigv4.canonical_query("b=2&a=1&a=0&c") == "a=0&a=1&b=2&c="
    assert _sigv4.canonical_query("k=a+b&x=%7e") == "k=a%2Bb&x=~"
    text = _sigv4.canonical_request("post", "/", "", {"host": "h", "x-amz-date": " 20260101T000000Z  "}, cred, "e")
    assert text == "POST\n/\n\nhost:h\nx-amz-date:20260101T000000Z\n\nhost;x-amz-date\ne"


# ---------------------------------------------------------------------------
# kms-teach serve, as a process
# ---------------------------------------------------------------------------


class ServeProcess:
    """`kms-teach serve --port 0 --data DIR` in a subprocess, with its announced URL."""

    def __init__(self, data: Path, *extra: str, env: dict | None = None):
        where = ["--data", str(data)] if env is None else []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kms_teach", "serve", "--port", "0", *where, *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.lines: list[str] = []
        self.url = None
        watchdog = threading.Timer(30, self.proc.kill)  # a server that never says it is ready cannot hang the test
        watchdog.start()
        try:
            while True:
                line = self.proc.stdout.readline()
                if not line:
                    break
                self.lines.append(line.rstrip("\n"))
                m = re.search(r"export AWS_ENDPOINT_URL=(\S+)", line)
                if m:
                    self.url = m.group(1)
                if "to stop" in line:
                    break
        finally:
            watchdog.cancel()
        if self.url is None:
            self.proc.kill()
            raise AssertionError(f"kms-teach serve did not start: {self.lines} {self.proc.stderr.read()}")
        self.data = data

    def client(self, service: str):
        akid = _server.read_credentials_key(self.data / "credentials")
        import configparser
        parser = configparser.ConfigParser()
        parser.read(self.data / "credentials")
        return boto3.session.Session().client(
            service, region_name="us-east-1", endpoint_url=self.url, config=CONFIG, aws_access_key_id=akid,
            aws_secret_access_key=parser.get("default", "aws_secret_access_key"))

    def stop(self, sig=signal.SIGTERM, timeout: float = 20) -> tuple[int, str, str]:
        self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out, err


@pytest.mark.slow
def test_serve_writes_credentials_and_stops_cleanly_on_sigterm(tmp_path):
    data = tmp_path / "cloud"
    server = ServeProcess(data)
    try:
        exports = [line.strip() for line in server.lines if line.strip().startswith(("export ", "unset "))]
        assert f"export AWS_SHARED_CREDENTIALS_FILE={data / 'credentials'}" in exports
        assert f"export AWS_CONFIG_FILE={data / 'config'}" in exports
        assert "export AWS_DEFAULT_REGION=us-east-1" in exports
        assert stat.S_IMODE((data / "credentials").stat().st_mode) == 0o600
        kms = server.client("kms")
        key_id = kms.create_key(Description="kept")["KeyMetadata"]["KeyId"]
        first_key = _server.read_credentials_key(data / "credentials")
        # One server per data directory.
        second = subprocess.run([sys.executable, "-m", "kms_teach", "serve", "--port", "0", "--data", str(data)],
                                capture_output=True, text=True, timeout=30)
        assert second.returncode == 1 and "already in use" in second.stderr
        assert f"process {server.proc.pid}" in second.stderr and server.url in second.stderr
        # Nor may a notebook's Cloud(path=DIR) open it (each would overwrite the other's writes):
        # it is told the server's PID and where to connect instead.
        with pytest.raises(kms_teach._errors.DataDirInUse) as refused:
            kms_teach.Cloud(path=data)
        assert refused.value.pid == server.proc.pid and refused.value.url == server.url
        assert f"AWS_ENDPOINT_URL={server.url}" in str(refused.value)
    finally:
        code, out, err = server.stop()
    assert code == 0, err
    assert "stopping" in out
    assert not (data / "kms.sqlite3-wal").exists()  # the store was closed: its journal checkpointed away
    again = ServeProcess(data)
    try:
        assert _server.read_credentials_key(data / "credentials") == first_key  # the same keys again
        assert again.client("kms").describe_key(KeyId=key_id)["KeyMetadata"]["Description"] == "kept"
    finally:
        assert again.stop()[0] == 0


def test_serve_defaults_to_the_user_data_directory_and_reports_a_busy_port(tmp_path):
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg")}
    server = ServeProcess(tmp_path / "xdg" / "kms-teach", env=env)
    try:
        assert (tmp_path / "xdg" / "kms-teach" / "credentials").is_file()
        assert server.client("sts").get_caller_identity()["Account"] == "111122223333"
        port = server.url.rsplit(":", 1)[1]
        busy = subprocess.run([sys.executable, "-m", "kms_teach", "serve", "--port", port, "--data",
                               str(tmp_path / "other")], capture_output=True, text=True, timeout=30)
        assert busy.returncode == 1 and f"cannot listen on 127.0.0.1:{port}" in busy.stderr
    finally:
        assert server.stop()[0] == 0


def test_serve_refuses_a_public_host(tmp_path):
    out = subprocess.run([sys.executable, "-m", "kms_teach", "serve", "--host", "0.0.0.0", "--data", str(tmp_path)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "loopback" in out.stderr


@pytest.mark.slow
def test_sigkill_during_writes_loses_no_acknowledged_write(tmp_path):
    data = tmp_path / "cloud"
    server = ServeProcess(data)
    acked: list[tuple[str, str]] = []  # (key id, alias)
    lock = threading.Lock()
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer(n: int):
        kms = server.client("kms")
        i = 0
        while not stop.is_set():
            try:
                key_id = kms.create_key(Description=f"w{n}-{i}")["KeyMetadata"]["KeyId"]
                alias = f"alias/w{n}-{i}"
                kms.create_alias(AliasName=alias, TargetKeyId=key_id)
            except Exception as exc:  # the kill: connections drop
                if not stop.is_set():
                    errors.append(exc)
                return
            with lock:
                acked.append((key_id, alias))
            i += 1

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for w in workers:
        w.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(acked) < 40:
        time.sleep(0.05)
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait(timeout=10)
    stop.set()
    for w in workers:
        w.join(timeout=30)
    server.proc.stdout.close()
    server.proc.stderr.close()
    assert len(acked) >= 40, (len(acked), errors)
    assert not any(w.is_alive() for w in workers)
    with lock:
        acked_now = list(acked)
    again = ServeProcess(data)
    try:
        kms = again.client("kms")
        for key_id, alias in acked_now:
            assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
            assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == key_id
        # Consistent: every alias names a key that exists, and every key decrypts what it encrypts.
        keys = {k["KeyId"] for k in kms.list_keys(Limit=1000)["Keys"]}
        aliases = [a for page in kms.get_paginator("list_aliases").paginate() for a in page["Aliases"]]
        assert {alias for _, alias in acked_now} <= {a["AliasName"] for a in aliases}
        for a in aliases:
            if "TargetKeyId" in a and not a["AliasName"].startswith("alias/aws/"):
                assert a["TargetKeyId"] in keys
        key_id = acked_now[-1][0]
        blob = kms.encrypt(KeyId=key_id, Plaintext=b"after the crash")["CiphertextBlob"]
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"after the crash"
    finally:
        assert again.stop()[0] == 0
