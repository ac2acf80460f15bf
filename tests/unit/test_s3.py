"""The simulated S3: envelope encryption with KMS (SSE-KMS) and S3 owned keys (SSE-S3), through real botocore clients.

Each client here is a genuine botocore S3 client whose requests are answered by a
``RestXmlProtocol`` over the service, through botocore's ``before-send`` hook,
exactly as ``Cloud.client`` answers KMS, IAM and STS (see :func:`s3_client`).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
from botocore import UNSIGNED
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError

import kms_teach
from kms_teach._cloud import _RawBody, known_regions
from kms_teach._services.base import RequestContext
from kms_teach._crypto.checksums import crc32c, crc64nvme
from kms_teach._services.s3.service import OPERATIONS, S3
from kms_teach._store import MemoryStore
from kms_teach._wire import S3_CLIENT_CONFIG, RestXmlProtocol, boto3_session
from tests.conftest import START, error_code, error_message

ACCT, OTHER = "111122223333", "444455556666"
MiB = 1024 * 1024


# ---------------------------------------------------------------------------
# A botocore S3 client answered in-process (what Cloud.client("s3") will do)
# ---------------------------------------------------------------------------


def wire(s3: S3) -> RestXmlProtocol:
    """The REST-XML protocol serving ``s3`` (what Cloud keeps in its protocol table), one per service."""
    protocol = getattr(s3, "_test_protocol", None)
    if protocol is None:
        protocol = s3._test_protocol = RestXmlProtocol("s3", s3.call, operations=s3.operations())
    return protocol


def s3_client(cloud, s3: S3, region: str = "us-east-1", principal: str | None = None):
    """A genuine boto3 S3 client for ``s3``, acting as ``principal`` (the default account's root without one)."""
    who = cloud.principal(principal)
    protocol = wire(s3)
    config = Config(connect_timeout=1, read_timeout=1, signature_version=UNSIGNED).merge(S3_CLIENT_CONFIG)
    client = boto3_session().client("s3", region_name=region, endpoint_url=f"https://s3.{region}.kms-teach.invalid",
                            config=config)

    def send(request, **kwargs):
        body = request.body or b""
        if not isinstance(body, (bytes, bytearray)):
            body = body.read()
        ctx = RequestContext(region, who, user_agent="test", request_id="")
        reply = protocol.handle(request.method, request.url, dict(request.headers.items()), bytes(body), ctx)
        return AWSResponse(request.url, reply.status, reply.headers, _RawBody(reply.body))

    client.meta.events.register_first("before-send", send)
    client._send = send  # keeps the handler alive with the client
    return client


class RecordingStore(MemoryStore):
    """Keeps every record S3 commits, as the store writes it (its to_record())."""

    def __init__(self):
        super().__init__()
        self.commits = []

    def commit(self, changes):
        self.commits.append({k: json.loads(json.dumps(v.to_record())) for k, v in changes.records.items()})


@pytest.fixture
def store():
    return RecordingStore()


@pytest.fixture
def s3(cloud, store):
    return S3(clock=cloud.clock, random=cloud.random, store=store, kms=cloud.kms, audit=cloud.audit,
              regions=known_regions(), authorizer=cloud.permissions)


@pytest.fixture
def client(cloud, s3):
    return s3_client(cloud, s3)


@pytest.fixture
def bucket(client):
    client.create_bucket(Bucket="secret-plans")
    return "secret-plans"


def _policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow_s3(cloud, user: str) -> None:
    """An identity policy that lets ``user`` do anything in S3 (S3 permissions are enforced: without one, nothing)."""
    cloud.client("iam").put_user_policy(UserName=user, PolicyName="s3", PolicyDocument=_policy(
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}))


def _kms_events(cloud, name=None):
    return [e for e in cloud.audit.events if e["eventSource"] == "kms.amazonaws.com"
            and (name is None or e["eventName"] == name)]


def _body(size: int) -> bytes:
    """Recognisable plaintext of any size (no 16-byte window repeats within 1 MiB)."""
    out = bytearray()
    i = 0
    while len(out) < size:
        out += hashlib.sha256(b"plaintext %d" % i).digest()
        i += 1
    return bytes(out[:size])


# ---------------------------------------------------------------------------
# Round trips
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, MiB], ids=["0B", "1B", "1MiB"])
@pytest.mark.parametrize("how", ["key-id", "alias", "key-arn", "alias-arn", "aws-managed", "AES256",
                                 "bucket-default-kms", "bucket-default-sse-s3"])
def test_round_trip(cloud, kms, client, bucket, size, how):
    key = kms.create_key(Description="s3 objects")["KeyMetadata"]
    kms.create_alias(AliasName="alias/objects", TargetKeyId=key["KeyId"])
    refs = {"key-id": key["KeyId"], "alias": "alias/objects", "key-arn": key["Arn"],
            "alias-arn": f"arn:aws:kms:us-east-1:{ACCT}:alias/objects"}
    args = {}
    if how in refs:
        args = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": refs[how]}
    elif how == "aws-managed":
        args = {"ServerSideEncryption": "aws:kms"}
    elif how == "AES256":
        args = {"ServerSideEncryption": "AES256"}
    elif how == "bucket-default-kms":
        client.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/objects"}}]})
    data = _body(size)
    put = client.put_object(Bucket=bucket, Key="dir/object.bin", Body=data, **args)
    got = client.get_object(Bucket=bucket, Key="dir/object.bin")
    assert got["Body"].read() == data
    assert got["ContentLength"] == size
    head = client.head_object(Bucket=bucket, Key="dir/object.bin")
    assert head["ContentLength"] == size
    assert put["ETag"] == got["ETag"] == head["ETag"]
    if how in ("AES256", "bucket-default-sse-s3"):
        for out in (put, got, head):
            assert out["ServerSideEncryption"] == "AES256"
            assert "SSEKMSKeyId" not in out
        assert put["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'  # SSE-S3: the MD5 of the data
    else:
        expected = (cloud.kms.aws_managed_key(ACCT, "us-east-1", "s3").arn if how == "aws-managed" else key["Arn"])
        for out in (put, got, head):
            assert out["ServerSideEncryption"] == "aws:kms"
            assert out["SSEKMSKeyId"] == expected
        assert put["ETag"] != f'"{hashlib.md5(data).hexdigest()}"'  # SSE-KMS: an opaque ETag


def test_content_headers_and_metadata_round_trip(client, bucket):
    expires = dt.datetime(2027, 1, 1, tzinfo=dt.timezone.utc)
    client.put_object(Bucket=bucket, Key="report.csv", Body=b"a,b\n", ContentType="text/csv",
                      CacheControl="no-cache", ContentDisposition="attachment", ContentLanguage="en",
                      Expires=expires, Metadata={"Team": "blue", "owner": "ops"})
    for out in (client.get_object(Bucket=bucket, Key="report.csv"), client.head_object(Bucket=bucket, Key="report.csv")):
        assert out["ContentType"] == "text/csv"
        assert out["CacheControl"] == "no-cache"
        assert out["ContentDisposition"] == "attachment"
        assert out["ContentLanguage"] == "en"
        assert out["Metadata"] == {"team": "blue", "owner": "ops"}  # S3 keeps metadata names in lowercase
        assert out["LastModified"] == START
        assert out["AcceptRanges"] == "bytes"
    client.put_object(Bucket=bucket, Key="plain", Body=b"x")
    assert client.head_object(Bucket=bucket, Key="plain")["ContentType"] == "binary/octet-stream"
    got = client.get_object(Bucket=bucket, Key="report.csv", ResponseContentType="text/plain")
    assert got["ContentType"] == "text/plain"


def test_overwrite_replaces_the_object_and_its_data_key(client, bucket, s3):
    client.put_object(Bucket=bucket, Key="k", Body=b"first", ServerSideEncryption="aws:kms")
    first = s3.stored_object(bucket, "k")["data_key"]
    client.put_object(Bucket=bucket, Key="k", Body=b"second", ServerSideEncryption="aws:kms")
    assert s3.stored_object(bucket, "k")["data_key"] != first
    assert client.get_object(Bucket=bucket, Key="k")["Body"].read() == b"second"


def test_delete_object(client, bucket):
    client.put_object(Bucket=bucket, Key="k", Body=b"x")
    out = client.delete_object(Bucket=bucket, Key="k")
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as excinfo:
        client.get_object(Bucket=bucket, Key="k")
    assert error_code(excinfo) == "NoSuchKey"
    # Deleting a key that is not there succeeds, as in S3.
    assert client.delete_object(Bucket=bucket, Key="k")["ResponseMetadata"]["HTTPStatusCode"] == 204


# ---------------------------------------------------------------------------
# SSE-KMS: a data key per object, from KMS, on the caller's behalf
# ---------------------------------------------------------------------------


@pytest.fixture
def kms_spy(cloud, monkeypatch):
    """Every call S3 makes to KMS, with its request, context and response."""
    calls = []
    real = cloud.kms.call

    def spy(operation, request, ctx):
        out = real(operation, request, ctx)
        calls.append((operation, request, ctx, dict(out)))  # S3 drops the plaintext key from its copy
        return out

    monkeypatch.setattr(cloud.kms, "call", spy)
    return calls


def test_each_object_gets_its_own_data_key(client, bucket, kms, s3, kms_spy):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    for name in ("one", "two"):
        client.put_object(Bucket=bucket, Key=name, Body=b"the same body", ServerSideEncryption="aws:kms",
                          SSEKMSKeyId=key_id)
    generated = [(req, out) for op, req, ctx, out in kms_spy if op == "GenerateDataKey"]
    assert len(generated) == 2
    assert generated[0][1]["plaintext"] != generated[1][1]["plaintext"]
    one, two = s3.stored_object(bucket, "one"), s3.stored_object(bucket, "two")
    assert one["data_key"] != two["data_key"]
    assert base64.b64decode(one["data_key"]) == generated[0][1]["ciphertext_blob"]  # the encrypted data key is kept
    assert one["ciphertext"] != two["ciphertext"]
    # The plaintext data keys are nowhere in what S3 keeps.
    for (_req, out), record in zip(generated, (one, two)):
        for value in record.values():
            text = json.dumps(value)
            assert base64.b64encode(out["plaintext"]).decode() not in text
        assert out["plaintext"] not in base64.b64decode(record["ciphertext"])
    # S3 asked for AES_256 keys bound to each object's ARN.
    assert [req for req, _out in generated] == [
        {"key_id": key_id, "key_spec": "AES_256", "encryption_context": {"aws:s3:arn": f"arn:aws:s3:::{bucket}/one"}},
        {"key_id": key_id, "key_spec": "AES_256", "encryption_context": {"aws:s3:arn": f"arn:aws:s3:::{bucket}/two"}},
    ]


def test_s3_calls_kms_as_the_caller_through_s3_and_the_trail_shows_it(cloud, client, bucket, kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    client.put_object(Bucket=bucket, Key="plans/q1.txt", Body=b"attack at dawn", ServerSideEncryption="aws:kms",
                      SSEKMSKeyId=key_id)
    client.get_object(Bucket=bucket, Key="plans/q1.txt")["Body"].read()
    arn = f"arn:aws:s3:::{bucket}/plans/q1.txt"
    generate, = _kms_events(cloud, "GenerateDataKey")
    decrypt, = _kms_events(cloud, "Decrypt")
    for event in (generate, decrypt):
        assert event["userIdentity"]["arn"] == f"arn:aws:iam::{ACCT}:root"  # on the caller's behalf
        assert event["sourceIPAddress"] == "s3.us-east-1.amazonaws.com"
        assert event["userAgent"] == "s3.amazonaws.com"
        assert event["requestParameters"]["encryptionContext"] == {"aws:s3:arn": arn}
        assert event["resources"][0]["ARN"].endswith(key_id)
        assert "errorCode" not in event
    assert generate["requestParameters"]["keySpec"] == "AES_256"


def test_head_object_does_not_call_kms(cloud, client, bucket):
    client.put_object(Bucket=bucket, Key="k", Body=b"x", ServerSideEncryption="aws:kms")
    before = len(_kms_events(cloud))
    head = client.head_object(Bucket=bucket, Key="k")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert len(_kms_events(cloud)) == before


def test_kms_via_service_condition_lets_a_user_use_the_key_only_through_s3(cloud, s3, client, bucket):
    iam = cloud.client("iam")
    iam.create_user(UserName="app")
    _allow_s3(cloud, "app")
    app = f"arn:aws:iam::{ACCT}:user/app"
    kms = cloud.client("kms")
    key_id = kms.create_key(Policy=_policy(
        {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "Only through S3", "Effect": "Allow", "Principal": {"AWS": app},
         "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": "*",
         "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}},
    ))["KeyMetadata"]["KeyId"]
    app_s3 = s3_client(cloud, s3, principal=app)
    app_s3.put_object(Bucket=bucket, Key="k", Body=b"via s3", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_id)
    assert app_s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"via s3"
    with pytest.raises(ClientError) as excinfo:
        cloud.client("kms", principal=app).generate_data_key(KeyId=key_id, KeySpec="AES_256")
    assert error_code(excinfo) == "AccessDeniedException"


@pytest.fixture
def people(cloud, kms):
    """A key whose policy trusts the account's IAM policies; a writer and a reader who may use it,
    and a user of the same account who may use S3 (an identity policy allows s3:*) but not the key."""
    key_id = kms.create_key(Description="team data")["KeyMetadata"]["KeyId"]
    arn = f"arn:aws:kms:us-east-1:{ACCT}:key/{key_id}"
    iam = cloud.client("iam")
    for name in ("writer", "reader", "outsider"):
        iam.create_user(UserName=name)
        _allow_s3(cloud, name)
    iam.put_user_policy(UserName="writer", PolicyName="write", PolicyDocument=_policy(
        {"Effect": "Allow", "Action": ["kms:GenerateDataKey"], "Resource": arn}))
    iam.put_user_policy(UserName="reader", PolicyName="read", PolicyDocument=_policy(
        {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": arn}))
    return key_id


def test_a_user_who_may_not_decrypt_gets_access_denied_from_s3(cloud, s3, client, bucket, people):
    writer = s3_client(cloud, s3, principal=f"arn:aws:iam::{ACCT}:user/writer")
    reader = s3_client(cloud, s3, principal=f"arn:aws:iam::{ACCT}:user/reader")
    outsider = s3_client(cloud, s3, principal=f"arn:aws:iam::{ACCT}:user/outsider")
    writer.put_object(Bucket=bucket, Key="payroll.csv", Body=b"alice,100", ServerSideEncryption="aws:kms",
                      SSEKMSKeyId=people)
    assert reader.get_object(Bucket=bucket, Key="payroll.csv")["Body"].read() == b"alice,100"
    with pytest.raises(ClientError) as excinfo:
        outsider.get_object(Bucket=bucket, Key="payroll.csv")
    assert error_code(excinfo) == "AccessDenied"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error_message(excinfo).startswith(
        f"User: arn:aws:iam::{ACCT}:user/outsider is not authorized to perform: kms:Decrypt")
    # The writer may generate data keys but not decrypt them: it cannot read back what it wrote.
    with pytest.raises(ClientError) as excinfo:
        writer.get_object(Bucket=bucket, Key="payroll.csv")
    assert error_code(excinfo) == "AccessDenied"
    # And the outsider cannot write with the key either (no kms:GenerateDataKey).
    with pytest.raises(ClientError) as excinfo:
        outsider.put_object(Bucket=bucket, Key="x", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=people)
    assert error_code(excinfo) == "AccessDenied"
    assert "kms:GenerateDataKey" in error_message(excinfo)
    # Metadata is still readable: HeadObject needs no data key.
    assert outsider.head_object(Bucket=bucket, Key="payroll.csv")["ContentLength"] == 9
    # The refusal is in the audit trail, as the outsider's failed Decrypt through S3.
    denied = [e for e in _kms_events(cloud, "Decrypt") if e.get("errorCode") == "AccessDeniedException"]
    assert [e["userIdentity"]["arn"] for e in denied] == [f"arn:aws:iam::{ACCT}:user/outsider",
                                                          f"arn:aws:iam::{ACCT}:user/writer"]
    assert {e["sourceIPAddress"] for e in denied} == {"s3.us-east-1.amazonaws.com"}


def test_the_aws_managed_key_is_created_on_first_use(cloud, s3, kms, client, bucket):
    def s3_alias():
        return next(a for a in kms.list_aliases()["Aliases"] if a["AliasName"] == "alias/aws/s3")

    assert "TargetKeyId" not in s3_alias()  # predefined, but no key behind it yet
    keys_before = {k["KeyId"] for k in kms.list_keys()["Keys"]}
    put = client.put_object(Bucket=bucket, Key="k", Body=b"x", ServerSideEncryption="aws:kms")
    alias = s3_alias()
    assert alias["TargetKeyId"] in put["SSEKMSKeyId"]
    meta = kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]
    assert meta["KeyManager"] == "AWS"
    assert meta["Arn"] == put["SSEKMSKeyId"]
    assert {k["KeyId"] for k in kms.list_keys()["Keys"]} - keys_before == {meta["KeyId"]}
    # A second object uses the same AWS managed key (and a new data key).
    again = client.put_object(Bucket=bucket, Key="k2", Body=b"y", ServerSideEncryption="aws:kms")
    assert again["SSEKMSKeyId"] == meta["Arn"]
    assert len({k["KeyId"] for k in kms.list_keys()["Keys"]} - keys_before) == 1
    # An IAM user of the account with no KMS permissions at all may use it, through S3 only.
    cloud.client("iam").create_user(UserName="nobody")
    _allow_s3(cloud, "nobody")
    nobody = s3_client(cloud, s3, principal=f"arn:aws:iam::{ACCT}:user/nobody")
    assert nobody.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"
    with pytest.raises(ClientError) as excinfo:
        cloud.client("kms", principal=f"arn:aws:iam::{ACCT}:user/nobody").generate_data_key(
            KeyId="alias/aws/s3", KeySpec="AES_256")
    assert error_code(excinfo) == "AccessDeniedException"


def test_caller_encryption_context_is_added_to_the_objects_arn(cloud, client, bucket, kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    header = base64.b64encode(json.dumps({"project": "apollo"}).encode()).decode()
    put = client.put_object(Bucket=bucket, Key="k", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_id,
                            SSEKMSEncryptionContext=header)
    echoed = json.loads(base64.b64decode(put["SSEKMSEncryptionContext"]))
    expected = {"project": "apollo", "aws:s3:arn": f"arn:aws:s3:::{bucket}/k"}
    assert echoed == expected
    assert _kms_events(cloud, "GenerateDataKey")[-1]["requestParameters"]["encryptionContext"] == expected
    assert client.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"
    assert _kms_events(cloud, "Decrypt")[-1]["requestParameters"]["encryptionContext"] == expected


def test_a_disabled_key_fails_uploads_and_downloads_with_kms_disabled_exception(client, bucket, kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    client.put_object(Bucket=bucket, Key="before", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_id)
    kms.disable_key(KeyId=key_id)
    with pytest.raises(ClientError) as excinfo:
        client.put_object(Bucket=bucket, Key="after", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_id)
    assert error_code(excinfo) == "KMS.DisabledException"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert key_id in error_message(excinfo) and "is disabled" in error_message(excinfo)
    with pytest.raises(ClientError) as excinfo:
        client.get_object(Bucket=bucket, Key="before")
    assert error_code(excinfo) == "KMS.DisabledException"
    with pytest.raises(ClientError):
        client.get_object(Bucket=bucket, Key="after")  # nothing was stored
    kms.enable_key(KeyId=key_id)
    assert client.get_object(Bucket=bucket, Key="before")["Body"].read() == b"x"


def test_an_unknown_key_fails_the_upload_not_the_bucket_configuration(client, bucket):
    # As in AWS, PutBucketEncryption does not check the key; the uploads that use it fail.
    client.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/nope"}}]})
    with pytest.raises(ClientError) as excinfo:
        client.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert error_code(excinfo) == "KMS.NotFoundException"


def test_bucket_default_encryption_and_explicit_headers(cloud, client, bucket, kms):
    assert client.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"] == {
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}]}
    key = kms.create_key()["KeyMetadata"]
    client.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key["KeyId"]},
         "BucketKeyEnabled": False}]})
    conf = client.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    assert conf["Rules"][0]["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms",
                                                                      "KMSMasterKeyID": key["KeyId"]}
    assert client.put_object(Bucket=bucket, Key="default", Body=b"x")["SSEKMSKeyId"] == key["Arn"]
    # An explicit header wins over the bucket's default.
    assert client.put_object(Bucket=bucket, Key="s3", Body=b"x", ServerSideEncryption="AES256")[
        "ServerSideEncryption"] == "AES256"
    # aws:kms without a key ID in the default: the AWS managed key.
    client.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]})
    managed = client.put_object(Bucket=bucket, Key="managed", Body=b"x")["SSEKMSKeyId"]
    assert managed == kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]["Arn"]
    # Deleting the configuration goes back to SSE-S3, which GetBucketEncryption reports (since 2023).
    assert client.delete_bucket_encryption(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert client.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0][
        "ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert client.put_object(Bucket=bucket, Key="after", Body=b"x")["ServerSideEncryption"] == "AES256"
    # Objects keep the encryption they were written with.
    assert client.get_object(Bucket=bucket, Key="default")["SSEKMSKeyId"] == key["Arn"]


# ---------------------------------------------------------------------------
# SSE-S3: S3 owned keys, invisible to the account
# ---------------------------------------------------------------------------


def test_sse_s3_keys_are_not_kms_keys_and_never_reach_the_account_trail(cloud, kms, client, bucket, s3, store):
    keys_before = kms.list_keys()["Keys"]
    aliases_before = kms.list_aliases()["Aliases"]
    events_before = len(_kms_events(cloud))
    for i in range(3):
        client.put_object(Bucket=bucket, Key=f"k{i}", Body=b"data %d" % i, ServerSideEncryption="AES256")
        client.put_object(Bucket=bucket, Key=f"default{i}", Body=b"data %d" % i)
        client.get_object(Bucket=bucket, Key=f"k{i}")["Body"].read()
    assert kms.list_keys()["Keys"] == keys_before
    assert kms.list_aliases()["Aliases"] == aliases_before
    # The only KMS events since are this test's own ListKeys and ListAliases.
    assert [e["eventName"] for e in _kms_events(cloud)[events_before:]] == ["ListKeys", "ListAliases"]
    # Every object has its own data key, wrapped under the one owned key of the Region.
    records = [s3.stored_object(bucket, f"k{i}") for i in range(3)]
    assert len({r["data_key"] for r in records}) == 3
    assert len({r["owned_key_id"] for r in records}) == 1
    assert all(r["kms_key_arn"] is None and r["sse"] == "AES256" for r in records)
    owned = [rec for commit in store.commits for (kind, _), rec in commit.items() if kind == "s3-owned-key"]
    assert len(owned) == 1 and owned[0]["region"] == "us-east-1"


# ---------------------------------------------------------------------------
# Only ciphertext is ever kept
# ---------------------------------------------------------------------------

SECRET = b"TOP-SECRET-" + bytes(range(32)) + b"-THE-PLAINTEXT-MARKER"


def _never_contains(blob: bytes, secret: bytes) -> None:
    for form in (secret, base64.b64encode(secret), secret.hex().encode(), secret[11:43]):
        assert form not in blob


def test_the_store_and_memory_hold_only_ciphertext(cloud, client, bucket, s3, store, kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    client.put_object(Bucket=bucket, Key="kms", Body=SECRET, ServerSideEncryption="aws:kms", SSEKMSKeyId=key_id)
    client.put_object(Bucket=bucket, Key="s3", Body=SECRET, ServerSideEncryption="AES256")
    committed = json.dumps([{f"{k[0]}|{k[1]}": v for k, v in c.items()} for c in store.commits]).encode()
    _never_contains(committed, SECRET)
    for key in ("kms", "s3"):
        _never_contains(json.dumps(s3.stored_object(bucket, key)).encode(), SECRET)
        obj = s3._objects[bucket][key]
        _never_contains(obj.ciphertext + obj.data_key, SECRET)
    # One transaction per operation: each upload committed once.
    objects = [c for c in store.commits if any(kind == "s3-object" for kind, _ in c)]
    assert len(objects) == 2
    assert client.get_object(Bucket=bucket, Key="kms")["Body"].read() == SECRET


def test_an_sqlite_store_never_holds_plaintext_and_reopens(tmp_path):
    path = tmp_path / "cloud"
    clock = kms_teach.Clock(START, frozen=True)
    with kms_teach.Cloud(path, clock=clock, seed=7) as cloud:
        s3 = S3(clock=cloud.clock, random=cloud.random, store=cloud.store, kms=cloud.kms)
        c = s3_client(cloud, s3)
        c.create_bucket(Bucket="persisted")
        key_id = cloud.client("kms").create_key()["KeyMetadata"]["KeyId"]
        c.put_bucket_encryption(Bucket="persisted", ServerSideEncryptionConfiguration={"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_id}}]})
        c.put_object(Bucket="persisted", Key="kms", Body=SECRET)
        c.put_object(Bucket="persisted", Key="s3", Body=SECRET, ServerSideEncryption="AES256")
        c.put_object(Bucket="persisted", Key="gone", Body=SECRET)
        c.delete_object(Bucket="persisted", Key="gone")
    for file in Path(path).rglob("*"):
        if file.is_file():
            _never_contains(file.read_bytes(), SECRET)
    with kms_teach.Cloud(path, clock=clock, seed=7) as cloud:
        s3 = S3(clock=cloud.clock, random=cloud.random, store=cloud.store, kms=cloud.kms)
        c = s3_client(cloud, s3)
        assert c.get_object(Bucket="persisted", Key="kms")["Body"].read() == SECRET
        assert c.get_object(Bucket="persisted", Key="s3")["Body"].read() == SECRET
        assert [o["Key"] for o in c.list_objects_v2(Bucket="persisted")["Contents"]] == ["kms", "s3"]
        assert c.get_bucket_encryption(Bucket="persisted")["ServerSideEncryptionConfiguration"]["Rules"][0][
            "ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == key_id
        c.put_object(Bucket="persisted", Key="new", Body=b"x", ServerSideEncryption="AES256")  # same owned key
        assert c.get_object(Bucket="persisted", Key="new")["Body"].read() == b"x"


# ---------------------------------------------------------------------------
# ListObjectsV2
# ---------------------------------------------------------------------------


@pytest.fixture
def many(client, bucket):
    keys = [f"logs/2026/{i:02d}.txt" for i in range(12)] + ["logs/readme", "photos/a.jpg", "photos/b.jpg",
                                                              "top.txt", "zeta/deep/x"]
    for k in keys:
        client.put_object(Bucket=bucket, Key=k, Body=k.encode(), ServerSideEncryption="AES256")
    return sorted(keys)


def test_list_objects_v2_pages_with_continuation_tokens(client, bucket, many):
    seen, token, pages = [], None, 0
    while True:
        args = {"ContinuationToken": token} if token else {}
        out = client.list_objects_v2(Bucket=bucket, MaxKeys=5, **args)
        pages += 1
        assert out["KeyCount"] == len(out["Contents"]) <= 5
        assert out["MaxKeys"] == 5
        seen += [o["Key"] for o in out["Contents"]]
        if not out["IsTruncated"]:
            assert "NextContinuationToken" not in out
            break
        token = out["NextContinuationToken"]
        assert out.get("ContinuationToken") == (args.get("ContinuationToken"))
    assert seen == many
    assert pages == 4
    paged = [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                                   PaginationConfig={"PageSize": 3})
             for o in page["Contents"]]
    assert paged == many


def test_list_objects_v2_prefix_start_after_and_contents(client, bucket, many):
    out = client.list_objects_v2(Bucket=bucket, Prefix="photos/")
    assert [o["Key"] for o in out["Contents"]] == ["photos/a.jpg", "photos/b.jpg"]
    assert out["Prefix"] == "photos/" and out["KeyCount"] == 2 and out["IsTruncated"] is False
    row = out["Contents"][0]
    assert row["Size"] == len(b"photos/a.jpg")
    assert row["ETag"] == f'"{hashlib.md5(b"photos/a.jpg").hexdigest()}"'
    assert row["StorageClass"] == "STANDARD"
    assert row["LastModified"] == START
    out = client.list_objects_v2(Bucket=bucket, StartAfter="photos/a.jpg")
    assert [o["Key"] for o in out["Contents"]] == ["photos/b.jpg", "top.txt", "zeta/deep/x"]
    assert out["StartAfter"] == "photos/a.jpg"
    assert client.list_objects_v2(Bucket=bucket, Prefix="nothing/")["KeyCount"] == 0
    assert "Contents" not in client.list_objects_v2(Bucket=bucket, Prefix="nothing/")
    owner = client.list_objects_v2(Bucket=bucket, MaxKeys=1, FetchOwner=True)["Contents"][0]["Owner"]
    assert len(owner["ID"]) == 64
    zero = client.list_objects_v2(Bucket=bucket, MaxKeys=0)
    assert zero["KeyCount"] == 0 and zero["IsTruncated"] is False


def test_list_objects_v2_delimiter_common_prefixes(client, bucket, many):
    out = client.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in out["CommonPrefixes"]] == ["logs/", "photos/", "zeta/"]
    assert [o["Key"] for o in out["Contents"]] == ["top.txt"]
    assert out["KeyCount"] == 4 and out["Delimiter"] == "/"
    out = client.list_objects_v2(Bucket=bucket, Delimiter="/", Prefix="logs/")
    assert [p["Prefix"] for p in out["CommonPrefixes"]] == ["logs/2026/"]
    assert [o["Key"] for o in out["Contents"]] == ["logs/readme"]
    # Common prefixes count towards MaxKeys, and paging never repeats one.
    items, token = [], None
    while True:
        args = {"ContinuationToken": token} if token else {}
        out = client.list_objects_v2(Bucket=bucket, Delimiter="/", MaxKeys=1, **args)
        items += [p["Prefix"] for p in out.get("CommonPrefixes", [])] + [o["Key"] for o in out.get("Contents", [])]
        assert out["KeyCount"] == 1
        if not out["IsTruncated"]:
            break
        token = out["NextContinuationToken"]
    assert items == ["logs/", "photos/", "top.txt", "zeta/"]


def test_list_objects_v2_keys_with_special_characters(client, bucket):
    keys = ["a b", "a+b", "a%2Fb", "ü/ñ", "q?x=1&y", "tab\tkey", "<xml>&", "trailing/"]
    for k in keys:
        client.put_object(Bucket=bucket, Key=k, Body=b"x")
    assert [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]] == sorted(keys)
    for k in keys:
        assert client.get_object(Bucket=bucket, Key=k)["Body"].read() == b"x"
    # Asked for explicitly, encoding-type=url comes back encoded (botocore decodes only what it asked for itself).
    raw = client.list_objects_v2(Bucket=bucket, EncodingType="url", Prefix="a")
    assert [o["Key"] for o in raw["Contents"]] == ["a+b", "a%252Fb", "a%2Bb"]  # "a b", "a%2Fb", "a+b"
    assert raw["Prefix"] == "a" and raw["EncodingType"] == "url"


def test_list_objects_v2_errors(client, bucket):
    with pytest.raises(ClientError) as excinfo:
        client.list_objects_v2(Bucket=bucket, ContinuationToken="not-a-token")
    assert error_code(excinfo) == "InvalidArgument"
    assert error_message(excinfo) == "The continuation token provided is incorrect"
    with pytest.raises(ClientError) as excinfo:
        client.list_objects_v2(Bucket=bucket, MaxKeys=-1)
    assert error_code(excinfo) == "InvalidArgument"
    with pytest.raises(ClientError) as excinfo:
        client.list_objects_v2(Bucket="no-such-bucket-here")
    assert error_code(excinfo) == "NoSuchBucket"


# ---------------------------------------------------------------------------
# Buckets: names, Regions, owners
# ---------------------------------------------------------------------------


def test_bucket_already_owned_by_you_outside_us_east_1(cloud, s3):
    eu = s3_client(cloud, s3, region="eu-west-1")
    out = eu.create_bucket(Bucket="euro-data", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert out["Location"] == "http://euro-data.s3.amazonaws.com/"
    with pytest.raises(ClientError) as excinfo:
        eu.create_bucket(Bucket="euro-data", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert error_code(excinfo) == "BucketAlreadyOwnedByYou"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert excinfo.value.response["Error"]["BucketName"] == "euro-data"


def test_us_east_1_recreating_your_own_bucket_succeeds(client, bucket):
    # AWS: "Amazon S3 returns this error in all AWS Regions except in the North Virginia Region".
    assert client.create_bucket(Bucket=bucket)["Location"] == f"/{bucket}"


def test_bucket_names_are_global_across_accounts_and_regions(cloud, s3, bucket):
    other = s3_client(cloud, s3, region="eu-west-1", principal=f"arn:aws:iam::{OTHER}:root")
    with pytest.raises(ClientError) as excinfo:
        other.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert error_code(excinfo) == "BucketAlreadyExists"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    mine_elsewhere = s3_client(cloud, s3, region="ap-south-1")
    with pytest.raises(ClientError) as excinfo:
        mine_elsewhere.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "ap-south-1"})
    assert error_code(excinfo) == "BucketAlreadyOwnedByYou"


def test_another_account_gets_access_denied(cloud, s3, client, bucket):
    client.put_object(Bucket=bucket, Key="k", Body=b"x")
    other = s3_client(cloud, s3, principal=f"arn:aws:iam::{OTHER}:root")
    for call in (lambda: other.get_object(Bucket=bucket, Key="k"),
                 lambda: other.put_object(Bucket=bucket, Key="k", Body=b"y"),
                 lambda: other.list_objects_v2(Bucket=bucket),
                 lambda: other.get_bucket_encryption(Bucket=bucket),
                 lambda: other.delete_object(Bucket=bucket, Key="k")):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_code(excinfo) == "AccessDenied"
        assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        assert f"arn:aws:iam::{OTHER}:root is not authorized to perform: s3:" in error_message(excinfo)
    with pytest.raises(ClientError) as excinfo:
        other.head_object(Bucket=bucket, Key="k")
    assert error_code(excinfo) == "403"
    with pytest.raises(ClientError) as excinfo:
        client.get_object(Bucket=bucket, Key="k", ExpectedBucketOwner=OTHER)
    assert error_code(excinfo) == "AccessDenied"
    assert client.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"


@pytest.mark.parametrize("name", ["ab", "a" * 64, "Upper-case", "under_score", "-leading", "trailing-",
                                  "two..dots", "192.168.1.1", "xn--punycode", "sthree-x", "name-s3alias",
                                  "name--ol-s3", "amzn-s3-demo-bucket"])
def test_invalid_bucket_names(client, name):
    with pytest.raises(ClientError) as excinfo:
        client.create_bucket(Bucket=name)
    assert error_code(excinfo) == "InvalidBucketName"
    assert error_message(excinfo) == "The specified bucket is not valid."


@pytest.mark.parametrize("name", ["abc", "a" * 63, "my.bucket-1", "0-9"])
def test_valid_bucket_names(client, name):
    client.create_bucket(Bucket=name)
    assert client.head_bucket(Bucket=name)["BucketRegion"] == "us-east-1"


def test_location_constraints(cloud, s3, client):
    with pytest.raises(ClientError) as excinfo:
        client.create_bucket(Bucket="east", CreateBucketConfiguration={"LocationConstraint": "us-east-1"})
    assert error_code(excinfo) == "InvalidLocationConstraint"
    eu = s3_client(cloud, s3, region="eu-west-1")
    with pytest.raises(ClientError) as excinfo:
        eu.create_bucket(Bucket="euro")
    assert error_code(excinfo) == "IllegalLocationConstraintException"
    assert error_message(excinfo) == ("The unspecified location constraint is incompatible for the region specific "
                                      "endpoint this request was sent to.")
    with pytest.raises(ClientError) as excinfo:
        eu.create_bucket(Bucket="euro", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    assert error_code(excinfo) == "IllegalLocationConstraintException"
    assert "The us-west-2 location constraint is incompatible" in error_message(excinfo)
    with pytest.raises(ClientError) as excinfo:
        client.create_bucket(Bucket="mars", CreateBucketConfiguration={"LocationConstraint": "mars-north-1"})
    assert error_code(excinfo) == "InvalidLocationConstraint"
    # The us-east-1 endpoint creates buckets in any Region (as in AWS).
    client.create_bucket(Bucket="made-in-virginia", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert eu.head_bucket(Bucket="made-in-virginia")["BucketRegion"] == "eu-west-1"


def test_each_bucket_lives_in_one_region_and_uses_that_regions_kms(cloud, s3, client):
    eu = s3_client(cloud, s3, region="eu-west-1")
    eu.create_bucket(Bucket="euro-data", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    put = eu.put_object(Bucket="euro-data", Key="k", Body=b"x", ServerSideEncryption="aws:kms")
    assert put["SSEKMSKeyId"].startswith(f"arn:aws:kms:eu-west-1:{ACCT}:key/")
    assert _kms_events(cloud, "GenerateDataKey")[-1]["sourceIPAddress"] == "s3.eu-west-1.amazonaws.com"
    with pytest.raises(ClientError) as excinfo:
        client.get_object(Bucket="euro-data", Key="k")  # a us-east-1 client
    assert error_code(excinfo) == "PermanentRedirect"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 301
    assert excinfo.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "eu-west-1"
    assert eu.get_object(Bucket="euro-data", Key="k")["Body"].read() == b"x"


def test_list_buckets_head_bucket_delete_bucket(cloud, s3, client, bucket):
    client.create_bucket(Bucket="another-one")
    s3_client(cloud, s3, principal=f"arn:aws:iam::{OTHER}:root").create_bucket(Bucket="not-mine")
    out = client.list_buckets()
    assert [b["Name"] for b in out["Buckets"]] == ["another-one", bucket]
    assert out["Buckets"][0]["CreationDate"] == START
    assert out["Buckets"][0]["BucketRegion"] == "us-east-1"
    page = client.list_buckets(MaxBuckets=1)
    assert [b["Name"] for b in page["Buckets"]] == ["another-one"]
    assert [b["Name"] for b in client.list_buckets(MaxBuckets=1, ContinuationToken=page["ContinuationToken"])[
        "Buckets"]] == [bucket]
    client.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as excinfo:
        client.delete_bucket(Bucket=bucket)
    assert error_code(excinfo) == "BucketNotEmpty"
    client.delete_object(Bucket=bucket, Key="k")
    assert client.delete_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as excinfo:
        client.head_bucket(Bucket=bucket)
    assert error_code(excinfo) == "404"
    # The name is free again, for anyone.
    s3_client(cloud, s3, principal=f"arn:aws:iam::{OTHER}:root").create_bucket(Bucket=bucket)


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


def test_no_such_bucket_and_no_such_key(client, bucket):
    for call in (lambda: client.get_object(Bucket="no-such-bucket-x", Key="k"),
                 lambda: client.put_object(Bucket="no-such-bucket-x", Key="k", Body=b"x"),
                 lambda: client.get_bucket_encryption(Bucket="no-such-bucket-x"),
                 lambda: client.delete_object(Bucket="no-such-bucket-x", Key="k")):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_code(excinfo) == "NoSuchBucket"
        assert error_message(excinfo) == "The specified bucket does not exist"
        assert excinfo.value.response["Error"]["BucketName"] == "no-such-bucket-x"
        assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(client.exceptions.NoSuchKey) as excinfo:
        client.get_object(Bucket=bucket, Key="missing/key")
    assert excinfo.value.response["Error"]["Key"] == "missing/key"
    with pytest.raises(ClientError) as excinfo:
        client.head_object(Bucket=bucket, Key="missing/key")
    assert error_code(excinfo) == "404"  # a HEAD answer has no body: botocore sees only the status


@pytest.mark.parametrize("args, value", [
    ({"ServerSideEncryption": "AES256", "SSEKMSKeyId": "alias/x"}, "AES256"),
    ({"SSEKMSKeyId": "alias/x"}, "null"),
    ({"SSEKMSEncryptionContext": base64.b64encode(b'{"a":"b"}').decode()}, "null"),
    ({"ServerSideEncryption": "AES128"}, "AES128"),
])
def test_bad_sse_parameters_are_invalid_argument(client, bucket, args, value):
    with pytest.raises(ClientError) as excinfo:
        client.put_object(Bucket=bucket, Key="k", Body=b"x", **args)
    assert error_code(excinfo) == "InvalidArgument"
    assert excinfo.value.response["Error"]["ArgumentName"] == "x-amz-server-side-encryption"
    assert excinfo.value.response["Error"]["ArgumentValue"] == value


@pytest.mark.parametrize("context", ["not base64!", base64.b64encode(b"[1,2]").decode(),
                                     base64.b64encode(b'{"a": 1}').decode()])
def test_bad_encryption_context_is_invalid_argument(client, bucket, context):
    with pytest.raises(ClientError) as excinfo:
        client.put_object(Bucket=bucket, Key="k", Body=b"x", ServerSideEncryption="aws:kms",
                          SSEKMSEncryptionContext=context)
    assert error_code(excinfo) == "InvalidArgument"
    assert excinfo.value.response["Error"]["ArgumentName"] == "x-amz-server-side-encryption-context"


def test_put_bucket_encryption_errors(client, bucket):
    with pytest.raises(ClientError) as excinfo:
        client.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256", "KMSMasterKeyID": "alias/x"}}]})
    assert error_code(excinfo) == "InvalidArgument"
    assert "KMSMasterKeyID is not applicable" in error_message(excinfo)
    with pytest.raises(ClientError) as excinfo:
        client.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "ROT13"}}]})
    assert error_code(excinfo) == "MalformedXML"
    with pytest.raises(ClientError) as excinfo:
        client.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": []})
    assert error_code(excinfo) == "MalformedXML"
    with pytest.raises(ClientError) as excinfo:
        client.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}]})
    assert error_code(excinfo) == "NotImplemented"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501


def test_server_side_encryption_configuration_not_found_never_happens_since_2023(client, bucket):
    client.delete_bucket_encryption(Bucket=bucket)
    rules = client.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


def test_unsimulated_features_are_not_implemented_never_ignored(client, bucket):
    client.put_object(Bucket=bucket, Key="src", Body=b"x")
    for call in (lambda: client.copy_object(Bucket=bucket, Key="dst", CopySource=f"{bucket}/src"),
                 lambda: client.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="a=b"),
                 lambda: client.put_object(Bucket=bucket, Key="k", Body=b"x", ServerSideEncryption="aws:kms",
                                           BucketKeyEnabled=True),
                 lambda: client.put_object(Bucket=bucket, Key="k", Body=b"x", ServerSideEncryption="aws:kms:dsse"),
                 lambda: client.create_multipart_upload(Bucket=bucket, Key="k", Tagging="a=b"),
                 lambda: client.get_bucket_versioning(Bucket=bucket)):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_code(excinfo) == "NotImplemented"
        assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]] == ["src"]


def test_limits(client, bucket):
    with pytest.raises(ClientError) as excinfo:
        client.put_object(Bucket=bucket, Key="k" * 1025, Body=b"x")
    assert error_code(excinfo) == "KeyTooLongError"
    client.put_object(Bucket=bucket, Key="k" * 1024, Body=b"x")
    with pytest.raises(ClientError) as excinfo:
        client.put_object(Bucket=bucket, Key="k", Body=b"x", Metadata={"big": "v" * 2100})
    assert error_code(excinfo) == "MetadataTooLarge"
    with pytest.raises(ClientError) as excinfo:
        client.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="public-read")
    assert error_code(excinfo) == "AccessControlListNotSupported"
    with pytest.raises(ClientError) as excinfo:
        client.put_object(Bucket=bucket, Key="k", Body=b"x", StorageClass="WARM_ROCKS")
    assert error_code(excinfo) == "InvalidStorageClass"
    client.put_object(Bucket=bucket, Key="ia", Body=b"x", StorageClass="STANDARD_IA")
    assert client.head_object(Bucket=bucket, Key="ia")["StorageClass"] == "STANDARD_IA"


# ---------------------------------------------------------------------------
# Checksums, ranges, conditions
# ---------------------------------------------------------------------------


def test_crc_check_values():
    assert crc32c(b"123456789") == 0xE3069283
    assert crc64nvme(b"123456789") == 0xAE8B14860A799888


@pytest.mark.parametrize("algorithm", ["CRC32", "SHA1", "SHA256"])
def test_checksums_are_validated_and_returned(client, bucket, algorithm):
    data = _body(5000)
    put = client.put_object(Bucket=bucket, Key="k", Body=data, ChecksumAlgorithm=algorithm,
                            ServerSideEncryption="aws:kms")
    member = f"Checksum{algorithm}"
    assert put[member] and put["ChecksumType"] == "FULL_OBJECT"
    got = client.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")  # botocore validates the body
    assert got["Body"].read() == data
    assert got[member] == put[member]
    assert client.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")[member] == put[member]
    listed = client.list_objects_v2(Bucket=bucket)["Contents"][0]
    assert listed["ChecksumAlgorithm"] == [algorithm]


def test_wrong_digests_are_refused(client, bucket):
    with pytest.raises(ClientError) as excinfo:
        client.put_object(Bucket=bucket, Key="k", Body=b"hello", ContentMD5=base64.b64encode(b"0" * 16).decode())
    assert error_code(excinfo) == "BadDigest"
    with pytest.raises(ClientError) as excinfo:
        client.put_object(Bucket=bucket, Key="k", Body=b"hello", ContentMD5="short")
    assert error_code(excinfo) == "InvalidDigest"
    with pytest.raises(ClientError) as excinfo:
        client.put_object(Bucket=bucket, Key="k", Body=b"hello", ChecksumSHA256=base64.b64encode(b"1" * 32).decode())
    assert error_code(excinfo) == "BadDigest"
    good = base64.b64encode(hashlib.md5(b"hello").digest()).decode()
    client.put_object(Bucket=bucket, Key="k", Body=b"hello", ContentMD5=good)


def test_ranges(client, bucket):
    client.put_object(Bucket=bucket, Key="k", Body=b"0123456789", ServerSideEncryption="aws:kms")
    got = client.get_object(Bucket=bucket, Key="k", Range="bytes=2-4")
    assert got["Body"].read() == b"234"
    assert got["ContentRange"] == "bytes 2-4/10" and got["ContentLength"] == 3
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert client.get_object(Bucket=bucket, Key="k", Range="bytes=-3")["Body"].read() == b"789"
    assert client.get_object(Bucket=bucket, Key="k", Range="bytes=7-")["Body"].read() == b"789"
    assert client.get_object(Bucket=bucket, Key="k", Range="bytes=8-100")["Body"].read() == b"89"
    with pytest.raises(ClientError) as excinfo:
        client.get_object(Bucket=bucket, Key="k", Range="bytes=10-20")
    assert error_code(excinfo) == "InvalidRange"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 416


def test_conditional_requests(cloud, client, bucket):
    etag = client.put_object(Bucket=bucket, Key="k", Body=b"x")["ETag"]
    with pytest.raises(ClientError) as excinfo:
        client.get_object(Bucket=bucket, Key="k", IfNoneMatch=etag)
    assert error_code(excinfo) == "304"
    with pytest.raises(ClientError) as excinfo:
        client.get_object(Bucket=bucket, Key="k", IfMatch='"0000"')
    assert error_code(excinfo) == "PreconditionFailed"
    assert client.get_object(Bucket=bucket, Key="k", IfMatch=etag)["Body"].read() == b"x"
    with pytest.raises(ClientError) as excinfo:
        client.get_object(Bucket=bucket, Key="k", IfModifiedSince=START)
    assert error_code(excinfo) == "304"
    cloud.clock.advance(days=1)
    assert client.get_object(Bucket=bucket, Key="k", IfModifiedSince=START - dt.timedelta(days=1))["Body"].read()
    with pytest.raises(ClientError) as excinfo:
        client.put_object(Bucket=bucket, Key="k", Body=b"y", IfNoneMatch="*")
    assert error_code(excinfo) == "PreconditionFailed"
    client.put_object(Bucket=bucket, Key="new", Body=b"y", IfNoneMatch="*")
    assert client.head_object(Bucket=bucket, Key="new")["LastModified"] == START + dt.timedelta(days=1)


# ---------------------------------------------------------------------------
# The wire protocol and the Python API
# ---------------------------------------------------------------------------


def test_routing_follows_the_model(s3):
    route = wire(s3).route
    base = "https://s3.us-east-1.kms-teach.invalid"
    assert route("GET", f"{base}/") == ("ListBuckets", {})
    assert route("PUT", f"{base}/b") == ("CreateBucket", {"Bucket": "b"})
    assert route("PUT", f"{base}/b?encryption") == ("PutBucketEncryption", {"Bucket": "b"})
    assert route("GET", f"{base}/b?list-type=2&prefix=x") == ("ListObjectsV2", {"Bucket": "b"})
    assert route("GET", f"{base}/b") == ("ListObjects", {"Bucket": "b"})
    assert route("GET", f"{base}/b/a%20b/c%2Bd") == ("GetObject", {"Bucket": "b", "Key": "a b/c+d"})
    assert route("GET", f"{base}/b//lead") == ("GetObject", {"Bucket": "b", "Key": "/lead"})
    assert route("PUT", f"{base}/b/k", {"x-amz-copy-source": "b/j"}) == ("CopyObject", {"Bucket": "b", "Key": "k"})
    assert route("PUT", f"{base}/b/k?partNumber=1&uploadId=u") == ("UploadPart", {"Bucket": "b", "Key": "k"})
    assert route("GET", "https://b.s3.us-east-1.kms-teach.invalid/k") == ("GetObject", {"Bucket": "b", "Key": "k"})
    assert route("POST", f"{base}/b/k") is None


def test_raw_protocol_errors(cloud, s3, bucket):
    ctx = RequestContext("us-east-1", cloud.principal())
    base = "https://s3.us-east-1.kms-teach.invalid"
    reply = wire(s3).handle("POST", f"{base}/{bucket}/k", {}, b"", ctx)
    assert reply.status == 405 and b"<Code>MethodNotAllowed</Code>" in reply.body
    reply = wire(s3).handle("PUT", f"{base}/{bucket}?encryption", {}, b"<ServerSideEncryptionConfiguration>", ctx)
    assert reply.status == 400 and b"<Code>MalformedXML</Code>" in reply.body
    doc = b'<!DOCTYPE x [<!ENTITY a "aaaa">]><ServerSideEncryptionConfiguration/>'
    reply = wire(s3).handle("PUT", f"{base}/{bucket}?encryption", {}, doc, ctx)
    assert b"<Code>MalformedXML</Code>" in reply.body
    reply = wire(s3).handle("PUT", f"{base}/{bucket}?encryption", {},
                               b"<ServerSideEncryptionConfiguration><Rule><Bogus/></Rule>"
                               b"</ServerSideEncryptionConfiguration>", ctx)
    assert b"<Code>MalformedXML</Code>" in reply.body
    reply = wire(s3).handle("GET", f"{base}/{bucket}/nope", {}, b"", RequestContext("us-east-1", cloud.principal()))
    assert reply.status == 404
    assert reply.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code>')
    assert reply.headers["x-amz-request-id"] and reply.headers["Content-Type"] == "application/xml"
    reply = wire(s3).handle("HEAD", f"{base}/{bucket}/nope", {}, b"", RequestContext("us-east-1", cloud.principal()))
    assert reply.status == 404 and reply.body == b""


def test_python_api(cloud, s3):
    ctx = RequestContext("us-east-1", cloud.principal())
    assert s3.operations() == sorted(OPERATIONS)
    s3.call("CreateBucket", {"bucket": "py-bucket"}, ctx)
    out = s3.call("PutObject", {"bucket": "py-bucket", "key": "k", "body": b"hello",
                                "server_side_encryption": "aws:kms"}, ctx)
    assert out["server_side_encryption"] == "aws:kms" and out["ssekms_key_id"].startswith("arn:aws:kms:")
    got = s3.call("GetObject", {"bucket": "py-bucket", "key": "k"}, ctx)
    assert got["body"] == b"hello" and got["content_length"] == 5
    with pytest.raises(kms_teach.AWSError) as excinfo:
        s3.call("GetObject", {"bucket": "py-bucket", "key": "nope"}, ctx)
    assert excinfo.value.code == "NoSuchKey" and excinfo.value.status == 404


def test_management_events_are_audited_data_events_are_not(cloud, client, bucket):
    client.put_object(Bucket=bucket, Key="k", Body=b"x")
    client.get_object(Bucket=bucket, Key="k")["Body"].read()
    client.get_bucket_encryption(Bucket=bucket)
    s3_events = [e for e in cloud.audit.events if e["eventSource"] == "s3.amazonaws.com"]
    assert [e["eventName"] for e in s3_events] == ["CreateBucket", "GetBucketEncryption"]
    assert s3_events[0]["userIdentity"]["arn"] == f"arn:aws:iam::{ACCT}:root"
    assert s3_events[0]["awsRegion"] == "us-east-1"
