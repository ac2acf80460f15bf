"""S3 multipart upload: the seven operations, SSE-KMS and SSE-S3 part by part, ETags, checksums, the
errors AWS documents, uploads that survive a restart, and bodies streamed part by part."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import tracemalloc
import zlib

import pytest
from botocore.exceptions import ClientError

import kms_teach
from kms_teach._errors import InternalError
from kms_teach._crypto.checksums import checksum as s3_checksum
from kms_teach._crypto.checksums import crc32c
from tests.conftest import START, error_code

MiB = 1024 * 1024
PART = 5 * MiB


def body(size: int, seed: int = 0) -> bytes:
    """Bytes that differ at every 32-byte block (a shifted or swapped part never compares equal)."""
    blocks = (size + 31) // 32
    return b"".join(hashlib.sha256(b"%d/%d" % (seed, i)).digest() for i in range(blocks))[:size]


@pytest.fixture
def s3(cloud):
    client = cloud.client("s3")
    client.create_bucket(Bucket="media")
    return client


@pytest.fixture
def key_arn(kms):
    return kms.create_key(Description="videos")["KeyMetadata"]["Arn"]


def upload(s3, key: str, data: bytes, part_size: int = PART, bucket: str = "media", **create) -> dict:
    """CreateMultipartUpload, UploadPart for each piece, CompleteMultipartUpload: the three answers."""
    created = s3.create_multipart_upload(Bucket=bucket, Key=key, **create)
    parts = []
    for number, offset in enumerate(range(0, max(len(data), 1), part_size), start=1):
        answer = s3.upload_part(Bucket=bucket, Key=key, UploadId=created["UploadId"], PartNumber=number,
                                Body=data[offset : offset + part_size])
        entry = {"PartNumber": number, "ETag": answer["ETag"]}
        for name in ("ChecksumCRC32", "ChecksumCRC32C", "ChecksumSHA256", "ChecksumSHA1", "ChecksumCRC64NVME"):
            if name in answer:
                entry[name] = answer[name]
        parts.append(entry)
    done = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=created["UploadId"],
                                        MultipartUpload={"Parts": parts})
    return {"created": created, "parts": parts, "completed": done}


def blob_count(store) -> int:
    db = getattr(store, "_blob_db", None) or getattr(store, "_db", None)
    return 0 if db is None else db.execute("SELECT count(*) FROM blobs").fetchone()[0]


def kms_events(cloud, name):
    return [e for e in cloud.audit.events if e["eventSource"] == "kms.amazonaws.com" and e["eventName"] == name]


# ---------------------------------------------------------------------------
# Round trips, ETags, ranges
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["sse-kms", "sse-s3", "bucket-default-kms", "bucket-default"])
def test_round_trip_etag_and_ranges_across_parts(cloud, s3, key_arn, how):
    create = {"sse-kms": {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key_arn},
              "sse-s3": {"ServerSideEncryption": "AES256"}}.get(how, {})
    if how == "bucket-default-kms":
        s3.put_bucket_encryption(Bucket="media", ServerSideEncryptionConfiguration={"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}}]})
    data = body(2 * PART + 12345)
    done = upload(s3, "clip.mp4", data, ContentType="video/mp4", Metadata={"Camera": "A"}, **create)
    kms_used = how in ("sse-kms", "bucket-default-kms")
    assert done["created"]["ServerSideEncryption"] == ("aws:kms" if kms_used else "AES256")
    assert done["completed"]["ServerSideEncryption"] == ("aws:kms" if kms_used else "AES256")
    if kms_used:
        assert done["created"]["SSEKMSKeyId"] == done["completed"]["SSEKMSKeyId"] == key_arn
    # The multipart ETag: the MD5 of the parts' binary MD5s, then "-" and the number of parts.
    etags = [p["ETag"].strip('"') for p in done["parts"]]
    expected = hashlib.md5(b"".join(bytes.fromhex(e) for e in etags)).hexdigest() + "-3"
    assert done["completed"]["ETag"] == f'"{expected}"'
    if not kms_used:  # SSE-S3 parts' ETags are their MD5s (SSE-KMS ETags are opaque, as in AWS)
        assert etags == [hashlib.md5(data[i : i + PART]).hexdigest() for i in range(0, len(data), PART)]
    got = s3.get_object(Bucket="media", Key="clip.mp4")
    assert got["Body"].read() == data
    assert got["ETag"] == f'"{expected}"' and got["ContentLength"] == len(data)
    assert got["ContentType"] == "video/mp4" and got["Metadata"] == {"camera": "A"}
    head = s3.head_object(Bucket="media", Key="clip.mp4")
    assert head["ContentLength"] == len(data) and head["ETag"] == f'"{expected}"'
    listed = s3.list_objects_v2(Bucket="media")["Contents"]
    assert [(o["Key"], o["Size"], o["ETag"]) for o in listed] == [("clip.mp4", len(data), f'"{expected}"')]
    for first, last in ((0, 0), (PART - 3, PART + 2), (PART - 1, 2 * PART), (10, 2 * PART + 100),
                        (2 * PART + 12000, 2 * PART + 99999)):
        ranged = s3.get_object(Bucket="media", Key="clip.mp4", Range=f"bytes={first}-{last}")
        assert ranged["Body"].read() == data[first : last + 1]
        assert ranged["ContentRange"] == f"bytes {first}-{min(last, len(data) - 1)}/{len(data)}"
    assert s3.get_object(Bucket="media", Key="clip.mp4", Range="bytes=-7")["Body"].read() == data[-7:]
    assert s3.get_object(Bucket="media", Key="clip.mp4", Range=f"bytes={PART}-")["Body"].read() == data[PART:]
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket="media", Key="clip.mp4", Range=f"bytes={len(data)}-")
    assert error_code(excinfo) == "InvalidRange"


def test_a_one_part_upload_and_an_empty_last_part(s3):
    done = upload(s3, "small", b"tiny")
    assert s3.get_object(Bucket="media", Key="small")["Body"].read() == b"tiny"
    assert done["completed"]["ETag"].endswith('-1"')
    data = body(PART)
    done = upload(s3, "exact", data + b"", part_size=PART)
    assert s3.get_object(Bucket="media", Key="exact")["Body"].read() == data


def test_one_data_key_per_object_and_kms_decrypt_for_each_part_as_the_caller(cloud, s3, key_arn):
    before = len(kms_events(cloud, "GenerateDataKey")), len(kms_events(cloud, "Decrypt"))
    data = body(3 * PART)
    upload(s3, "k", data, ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn,
           SSEKMSEncryptionContext=base64.b64encode(b'{"team":"video"}').decode())
    generated = kms_events(cloud, "GenerateDataKey")[before[0]:]
    decrypted = kms_events(cloud, "Decrypt")[before[1]:]
    assert len(generated) == 1  # at CreateMultipartUpload, for the whole object
    assert len(decrypted) == 3  # UploadPart needs the data key: one Decrypt per part (kms:Decrypt, as AWS says)
    for event in generated + decrypted:
        assert event["requestParameters"]["encryptionContext"] == {"aws:s3:arn": "arn:aws:s3:::media/k",
                                                                   "team": "video"}
        assert event["userAgent"] == "s3.amazonaws.com"
    stored = cloud.s3.stored_object("media", "k")
    assert stored["ciphertext"] == "" and len(stored["parts"]) == 3
    assert s3.get_object(Bucket="media", Key="k")["Body"].read() == data
    assert len(kms_events(cloud, "Decrypt")[before[1]:]) == 4  # GetObject: one Decrypt, whatever the parts


def test_a_user_without_kms_decrypt_cannot_upload_parts(cloud, s3, kms, key_arn):
    iam = cloud.client("iam")
    iam.create_user(UserName="uploader")
    iam.put_user_policy(UserName="uploader", PolicyName="s3-and-generate", PolicyDocument=(
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:GenerateDataKey","s3:PutObject"],"Resource":"*"}]}'))
    user = cloud.client("s3", principal="arn:aws:iam::111122223333:user/uploader")
    created = user.create_multipart_upload(Bucket="media", Key="k", ServerSideEncryption="aws:kms",
                                           SSEKMSKeyId=key_arn)
    with pytest.raises(ClientError) as excinfo:
        user.upload_part(Bucket="media", Key="k", UploadId=created["UploadId"], PartNumber=1, Body=b"x")
    assert error_code(excinfo) == "AccessDenied"
    assert "kms:Decrypt" in excinfo.value.response["Error"]["Message"]


# ---------------------------------------------------------------------------
# The errors AWS documents
# ---------------------------------------------------------------------------


def test_part_size_order_and_etag_errors(s3):
    created = s3.create_multipart_upload(Bucket="media", Key="k")
    uid = created["UploadId"]
    small = s3.upload_part(Bucket="media", Key="k", UploadId=uid, PartNumber=1, Body=b"a" * 100)
    big = s3.upload_part(Bucket="media", Key="k", UploadId=uid, PartNumber=2, Body=body(PART))
    last = s3.upload_part(Bucket="media", Key="k", UploadId=uid, PartNumber=3, Body=b"end")

    def complete(parts):
        with pytest.raises(ClientError) as excinfo:
            s3.complete_multipart_upload(Bucket="media", Key="k", UploadId=uid, MultipartUpload={"Parts": parts})
        return excinfo

    excinfo = complete([{"PartNumber": 1, "ETag": small["ETag"]}, {"PartNumber": 2, "ETag": big["ETag"]}])
    assert error_code(excinfo) == "EntityTooSmall"
    assert excinfo.value.response["Error"]["ProposedSize"] == "100"
    assert excinfo.value.response["Error"]["MinSizeAllowed"] == str(PART)
    excinfo = complete([{"PartNumber": 3, "ETag": last["ETag"]}, {"PartNumber": 2, "ETag": big["ETag"]}])
    assert error_code(excinfo) == "InvalidPartOrder"
    excinfo = complete([{"PartNumber": 2, "ETag": big["ETag"]}, {"PartNumber": 2, "ETag": big["ETag"]}])
    assert error_code(excinfo) == "InvalidPartOrder"
    excinfo = complete([{"PartNumber": 2, "ETag": small["ETag"]}])
    assert error_code(excinfo) == "InvalidPart"
    excinfo = complete([{"PartNumber": 2, "ETag": big["ETag"]}, {"PartNumber": 4, "ETag": last["ETag"]}])
    assert error_code(excinfo) == "InvalidPart" and excinfo.value.response["Error"]["PartNumber"] == "4"
    excinfo = complete([])
    assert error_code(excinfo) == "MalformedXML"
    # Nothing above changed the upload: the valid list completes it (the last part may be small).
    s3.complete_multipart_upload(Bucket="media", Key="k", UploadId=uid, MultipartUpload={"Parts": [
        {"PartNumber": 2, "ETag": big["ETag"]}, {"PartNumber": 3, "ETag": last["ETag"]}]})
    assert s3.get_object(Bucket="media", Key="k")["Body"].read() == body(PART) + b"end"


@pytest.mark.parametrize("number", [0, 10001, -1])
def test_part_numbers_are_1_to_10000(s3, number):
    uid = s3.create_multipart_upload(Bucket="media", Key="k")["UploadId"]
    with pytest.raises(ClientError) as excinfo:
        s3.upload_part(Bucket="media", Key="k", UploadId=uid, PartNumber=number, Body=b"x")
    assert error_code(excinfo) == "InvalidArgument"
    assert excinfo.value.response["Error"]["ArgumentName"] == "partNumber"
    s3.upload_part(Bucket="media", Key="k", UploadId=uid, PartNumber=10000, Body=b"x")


def test_no_such_upload(s3):
    uid = s3.create_multipart_upload(Bucket="media", Key="k")["UploadId"]
    calls = {
        "UploadPart": lambda u, k: s3.upload_part(Bucket="media", Key=k, UploadId=u, PartNumber=1, Body=b"x"),
        "ListParts": lambda u, k: s3.list_parts(Bucket="media", Key=k, UploadId=u),
        "Complete": lambda u, k: s3.complete_multipart_upload(Bucket="media", Key=k, UploadId=u, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": '"x"'}]}),
        "Abort": lambda u, k: s3.abort_multipart_upload(Bucket="media", Key=k, UploadId=u),
    }
    for name, call in calls.items():
        for upload_id, key in (("not-an-upload", "k"), (uid, "another-key")):
            with pytest.raises(ClientError) as excinfo:
                call(upload_id, key)
            assert error_code(excinfo) == "NoSuchUpload", name
            assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    s3.abort_multipart_upload(Bucket="media", Key="k", UploadId=uid)
    for name, call in calls.items():
        with pytest.raises(ClientError) as excinfo:
            call(uid, "k")
        assert error_code(excinfo) == "NoSuchUpload", name
    done = upload(s3, "k", b"abc")
    with pytest.raises(ClientError) as excinfo:
        calls["UploadPart"](done["created"]["UploadId"], "k")
    assert error_code(excinfo) == "NoSuchUpload"


def test_another_account_and_a_missing_bucket(cloud, s3):
    uid = s3.create_multipart_upload(Bucket="media", Key="k")["UploadId"]
    other = cloud.client("s3", principal="arn:aws:iam::444455556666:root")
    with pytest.raises(ClientError) as excinfo:
        other.upload_part(Bucket="media", Key="k", UploadId=uid, PartNumber=1, Body=b"x")
    assert error_code(excinfo) == "AccessDenied"
    with pytest.raises(ClientError) as excinfo:
        other.list_multipart_uploads(Bucket="media")
    assert error_code(excinfo) == "AccessDenied"
    with pytest.raises(ClientError) as excinfo:
        s3.create_multipart_upload(Bucket="no-such-bucket", Key="k")
    assert error_code(excinfo) == "NoSuchBucket"


def test_bad_encryption_requests_are_refused_at_create(s3):
    with pytest.raises(ClientError) as excinfo:
        s3.create_multipart_upload(Bucket="media", Key="k", ServerSideEncryption="AES256", SSEKMSKeyId="x")
    assert error_code(excinfo) == "InvalidArgument"
    with pytest.raises(ClientError) as excinfo:
        s3.create_multipart_upload(Bucket="media", Key="k", ServerSideEncryption="aws:kms",
                                   SSEKMSKeyId="alias/does-not-exist")
    assert error_code(excinfo) == "KMS.NotFoundException"
    with pytest.raises(ClientError) as excinfo:
        s3.create_multipart_upload(Bucket="media", Key="k", Tagging="a=b")
    assert error_code(excinfo) == "NotImplemented"
    assert "Uploads" not in s3.list_multipart_uploads(Bucket="media")


# ---------------------------------------------------------------------------
# Parts, listing, aborting: what the store keeps
# ---------------------------------------------------------------------------


def test_a_part_uploaded_again_replaces_it_and_unlisted_parts_are_dropped(cloud, s3):
    uid = s3.create_multipart_upload(Bucket="media", Key="k")["UploadId"]
    s3.upload_part(Bucket="media", Key="k", UploadId=uid, PartNumber=1, Body=body(PART, seed=1))
    first = s3.upload_part(Bucket="media", Key="k", UploadId=uid, PartNumber=1, Body=body(PART, seed=2))
    s3.upload_part(Bucket="media", Key="k", UploadId=uid, PartNumber=2, Body=b"never listed")
    tail = s3.upload_part(Bucket="media", Key="k", UploadId=uid, PartNumber=3, Body=b"tail")
    assert blob_count(cloud.store) == 3
    parts = s3.list_parts(Bucket="media", Key="k", UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["Size"], p["ETag"]) for p in parts] == [
        (1, PART, first["ETag"]), (2, 12, parts[1]["ETag"]), (3, 4, tail["ETag"])]
    s3.complete_multipart_upload(Bucket="media", Key="k", UploadId=uid, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": first["ETag"]}, {"PartNumber": 3, "ETag": tail["ETag"]}]})
    assert blob_count(cloud.store) == 2
    assert s3.get_object(Bucket="media", Key="k")["Body"].read() == body(PART, seed=2) + b"tail"
    s3.put_object(Bucket="media", Key="k", Body=b"overwritten by a single PUT")
    assert blob_count(cloud.store) == 0
    upload(s3, "k2", body(PART + 1))
    assert blob_count(cloud.store) == 2
    s3.delete_object(Bucket="media", Key="k2")
    assert blob_count(cloud.store) == 0


def test_abort_discards_the_parts(cloud, s3):
    uid = s3.create_multipart_upload(Bucket="media", Key="k")["UploadId"]
    s3.upload_part(Bucket="media", Key="k", UploadId=uid, PartNumber=1, Body=b"x" * 1000)
    assert blob_count(cloud.store) == 1
    assert s3.abort_multipart_upload(Bucket="media", Key="k", UploadId=uid)["ResponseMetadata"][
        "HTTPStatusCode"] == 204
    assert blob_count(cloud.store) == 0
    assert "Uploads" not in s3.list_multipart_uploads(Bucket="media")
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket="media", Key="k")
    assert error_code(excinfo) == "NoSuchKey"
    uid = s3.create_multipart_upload(Bucket="media", Key="k")["UploadId"]
    with pytest.raises(ClientError) as excinfo:
        s3.abort_multipart_upload(Bucket="media", Key="k", UploadId=uid,
                                  IfMatchInitiatedTime=START - dt.timedelta(days=1))
    assert error_code(excinfo) == "PreconditionFailed"
    s3.abort_multipart_upload(Bucket="media", Key="k", UploadId=uid, IfMatchInitiatedTime=START)


def test_list_parts_pages(s3):
    uid = s3.create_multipart_upload(Bucket="media", Key="k")["UploadId"]
    for n in (1, 2, 3, 5, 8):
        s3.upload_part(Bucket="media", Key="k", UploadId=uid, PartNumber=n, Body=b"p%d" % n)
    page = s3.list_parts(Bucket="media", Key="k", UploadId=uid, MaxParts=2)
    assert [p["PartNumber"] for p in page["Parts"]] == [1, 2]
    assert page["IsTruncated"] and page["NextPartNumberMarker"] == 2
    page = s3.list_parts(Bucket="media", Key="k", UploadId=uid, MaxParts=2, PartNumberMarker=2)
    assert [p["PartNumber"] for p in page["Parts"]] == [3, 5]
    page = s3.list_parts(Bucket="media", Key="k", UploadId=uid, PartNumberMarker=5)
    assert [p["PartNumber"] for p in page["Parts"]] == [8] and not page["IsTruncated"]
    assert page["Initiator"]["ID"] == "arn:aws:iam::111122223333:root"
    assert page["StorageClass"] == "STANDARD"
    paginated = s3.get_paginator("list_parts").paginate(Bucket="media", Key="k", UploadId=uid,
                                                        PaginationConfig={"PageSize": 2})
    assert [p["PartNumber"] for page in paginated for p in page.get("Parts", [])] == [1, 2, 3, 5, 8]


def test_list_multipart_uploads_order_markers_prefix_and_delimiter(cloud, s3):
    ids = {}
    for key in ("b", "a/1", "a/2", "c", "b"):
        cloud.clock.advance(dt.timedelta(seconds=1))
        ids.setdefault(key, []).append(s3.create_multipart_upload(Bucket="media", Key=key)["UploadId"])
    listed = s3.list_multipart_uploads(Bucket="media")
    assert [(u["Key"], u["UploadId"]) for u in listed["Uploads"]] == [
        ("a/1", ids["a/1"][0]), ("a/2", ids["a/2"][0]), ("b", ids["b"][0]), ("b", ids["b"][1]), ("c", ids["c"][0])]
    assert not listed["IsTruncated"]
    page = s3.list_multipart_uploads(Bucket="media", MaxUploads=3)
    assert page["IsTruncated"] and (page["NextKeyMarker"], page["NextUploadIdMarker"]) == ("b", ids["b"][0])
    page = s3.list_multipart_uploads(Bucket="media", KeyMarker="b", UploadIdMarker=ids["b"][0])
    assert [(u["Key"], u["UploadId"]) for u in page["Uploads"]] == [("b", ids["b"][1]), ("c", ids["c"][0])]
    page = s3.list_multipart_uploads(Bucket="media", KeyMarker="b")
    assert [u["Key"] for u in page["Uploads"]] == ["c"]
    page = s3.list_multipart_uploads(Bucket="media", Delimiter="/")
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["a/"]
    assert [u["Key"] for u in page["Uploads"]] == ["b", "b", "c"]
    page = s3.list_multipart_uploads(Bucket="media", Prefix="a/")
    assert [u["Key"] for u in page["Uploads"]] == ["a/1", "a/2"]
    everything = s3.get_paginator("list_multipart_uploads").paginate(Bucket="media",
                                                                     PaginationConfig={"PageSize": 2})
    assert [u["UploadId"] for page in everything for u in page.get("Uploads", [])] == [
        u["UploadId"] for u in listed["Uploads"]]


def test_delete_bucket_discards_its_uploads(cloud, s3):
    uid = s3.create_multipart_upload(Bucket="media", Key="k")["UploadId"]
    s3.upload_part(Bucket="media", Key="k", UploadId=uid, PartNumber=1, Body=b"x")
    s3.delete_bucket(Bucket="media")
    assert blob_count(cloud.store) == 0
    s3.create_bucket(Bucket="media")
    assert "Uploads" not in s3.list_multipart_uploads(Bucket="media")


# ---------------------------------------------------------------------------
# Checksums
# ---------------------------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "SHA1", "SHA256"])
def test_composite_checksums(s3, algorithm):
    data = body(PART + 1000) if algorithm != "CRC32C" else body(PART + 10)
    done = upload(s3, "k", data, ChecksumAlgorithm=algorithm)
    assert done["created"]["ChecksumAlgorithm"] == algorithm and done["created"]["ChecksumType"] == "COMPOSITE"
    member = f"Checksum{algorithm}"
    pieces = [data[:PART], data[PART:]]
    assert [p[member] for p in done["parts"]] == [_b64(s3_checksum(algorithm, p)) for p in pieces]
    composite = _b64(s3_checksum(algorithm, b"".join(s3_checksum(algorithm, p) for p in pieces))) + "-2"
    assert done["completed"][member] == composite and done["completed"]["ChecksumType"] == "COMPOSITE"
    head = s3.head_object(Bucket="media", Key="k", ChecksumMode="ENABLED")
    assert head[member] == composite and head["ChecksumType"] == "COMPOSITE"


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME"])
def test_full_object_checksums_are_the_crc_of_the_whole_object(s3, algorithm):
    data = body(PART + 3) if algorithm == "CRC32" else body(PART + 3)[: PART + 3]
    if algorithm != "CRC32":  # the pure-Python CRCs are slow: a small object in three parts is enough here
        data = body(2 * 1000 + 7)
        created = s3.create_multipart_upload(Bucket="media", Key="k", ChecksumAlgorithm=algorithm,
                                             ChecksumType="FULL_OBJECT")
        uid = created["UploadId"]
        etag = s3.upload_part(Bucket="media", Key="k", UploadId=uid, PartNumber=1, Body=data)["ETag"]
        done = s3.complete_multipart_upload(Bucket="media", Key="k", UploadId=uid,
                                            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    else:
        done = upload(s3, "k", data, ChecksumAlgorithm=algorithm, ChecksumType="FULL_OBJECT")["completed"]
        done = {**done}
    assert done[f"Checksum{algorithm}"] == _b64(s3_checksum(algorithm, data))
    assert done["ChecksumType"] == "FULL_OBJECT"
    if algorithm == "CRC32":
        assert done["ChecksumCRC32"] == _b64(zlib.crc32(data).to_bytes(4, "big"))


def test_checksum_errors(s3):
    uid = s3.create_multipart_upload(Bucket="media", Key="k", ChecksumAlgorithm="CRC32")["UploadId"]
    with pytest.raises(ClientError) as excinfo:
        s3.upload_part(Bucket="media", Key="k", UploadId=uid, PartNumber=1, Body=b"data",
                       ChecksumCRC32=_b64(zlib.crc32(b"other").to_bytes(4, "big")))
    assert error_code(excinfo) == "BadDigest"
    with pytest.raises(ClientError) as excinfo:
        s3.upload_part(Bucket="media", Key="k", UploadId=uid, PartNumber=1, Body=b"data",
                       ChecksumSHA256=_b64(hashlib.sha256(b"data").digest()))
    assert error_code(excinfo) == "InvalidRequest"
    with pytest.raises(ClientError) as excinfo:
        s3.upload_part(Bucket="media", Key="k", UploadId=uid, PartNumber=1, Body=b"data",
                       ContentMD5=_b64(hashlib.md5(b"other").digest()))
    assert error_code(excinfo) == "BadDigest"
    # Without a checksum, S3 computes the part's in the upload's algorithm.
    answer = s3.upload_part(Bucket="media", Key="k", UploadId=uid, PartNumber=1, Body=b"data")
    assert answer["ChecksumCRC32"] == _b64(zlib.crc32(b"data").to_bytes(4, "big"))
    with pytest.raises(ClientError) as excinfo:
        s3.complete_multipart_upload(Bucket="media", Key="k", UploadId=uid, MultipartUpload={"Parts": [
            {"PartNumber": 1, "ETag": answer["ETag"], "ChecksumCRC32": _b64(b"\0\0\0\0")}]})
    assert error_code(excinfo) == "InvalidPart"
    for bad in ({"ChecksumType": "FULL_OBJECT"}, {"ChecksumAlgorithm": "SHA256", "ChecksumType": "FULL_OBJECT"},
                {"ChecksumAlgorithm": "CRC64NVME", "ChecksumType": "COMPOSITE"}):
        with pytest.raises(ClientError) as excinfo:
            s3.create_multipart_upload(Bucket="media", Key="other", **bad)
        assert error_code(excinfo) == "InvalidRequest", bad


def test_crc32c_parts_combine(s3):
    # The FULL_OBJECT CRC32C of two parts is combined from theirs, without reading the parts again.
    a, b = body(PART, seed=3), body(5, seed=4)
    uid = s3.create_multipart_upload(Bucket="media", Key="k", ChecksumAlgorithm="CRC32C",
                                     ChecksumType="FULL_OBJECT")["UploadId"]
    parts = []
    for n, piece in enumerate((a, b), 1):
        given = _b64(crc32c(piece).to_bytes(4, "big"))
        answer = s3.upload_part(Bucket="media", Key="k", UploadId=uid, PartNumber=n, Body=piece,
                                ChecksumCRC32C=given)
        parts.append({"PartNumber": n, "ETag": answer["ETag"], "ChecksumCRC32C": given})
    done = s3.complete_multipart_upload(Bucket="media", Key="k", UploadId=uid, MultipartUpload={"Parts": parts},
                                        ChecksumCRC32C=_b64(crc32c(a + b).to_bytes(4, "big")))
    assert done["ChecksumCRC32C"] == _b64(crc32c(a + b).to_bytes(4, "big"))


# ---------------------------------------------------------------------------
# UploadPartCopy
# ---------------------------------------------------------------------------


def test_upload_part_copy_from_single_and_multipart_objects(s3, key_arn):
    single = body(PART + 100, seed=5)
    s3.put_object(Bucket="media", Key="single", Body=single, ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn)
    multi = body(2 * PART + 7, seed=6)
    upload(s3, "multi", multi)
    uid = s3.create_multipart_upload(Bucket="media", Key="joined", ServerSideEncryption="aws:kms",
                                     SSEKMSKeyId=key_arn)["UploadId"]
    one = s3.upload_part_copy(Bucket="media", Key="joined", UploadId=uid, PartNumber=1,
                              CopySource={"Bucket": "media", "Key": "single"})
    two = s3.upload_part_copy(Bucket="media", Key="joined", UploadId=uid, PartNumber=2,
                              CopySource="media/multi", CopySourceRange=f"bytes={PART - 10}-{2 * PART + 6}")
    assert one["ServerSideEncryption"] == "aws:kms" and "ETag" in one["CopyPartResult"]
    s3.complete_multipart_upload(Bucket="media", Key="joined", UploadId=uid, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": one["CopyPartResult"]["ETag"]},
        {"PartNumber": 2, "ETag": two["CopyPartResult"]["ETag"]}]})
    assert s3.get_object(Bucket="media", Key="joined")["Body"].read() == single + multi[PART - 10 :]
    for bad, code in (({"CopySourceRange": "bytes=5-1"}, "InvalidArgument"),
                      ({"CopySourceRange": f"bytes=0-{len(single)}"}, "InvalidRange"),
                      ({"CopySourceIfMatch": '"nope"'}, "PreconditionFailed")):
        with pytest.raises(ClientError) as excinfo:
            s3.upload_part_copy(Bucket="media", Key="joined", UploadId=uid, PartNumber=1, CopySource="media/single",
                                **bad)
        assert error_code(excinfo) in (code, "NoSuchUpload")
    uid = s3.create_multipart_upload(Bucket="media", Key="x")["UploadId"]
    with pytest.raises(ClientError) as excinfo:
        s3.upload_part_copy(Bucket="media", Key="x", UploadId=uid, PartNumber=1, CopySource="media/absent")
    assert error_code(excinfo) == "NoSuchKey"


# ---------------------------------------------------------------------------
# Persistence, secrets at rest, bounded memory
# ---------------------------------------------------------------------------

SECRET_BLOCK = b"TOP SECRET: the launch code is 0000 " * 8


def test_an_upload_survives_a_restart_and_nothing_is_stored_in_clear(tmp_path, clock):
    path = tmp_path / "cloud"
    secret = SECRET_BLOCK * ((PART // len(SECRET_BLOCK)) + 1)
    with kms_teach.Cloud(path, clock=clock, seed=3) as cloud:
        s3 = cloud.client("s3")
        s3.create_bucket(Bucket="vault")
        key_arn = cloud.client("kms").create_key()["KeyMetadata"]["Arn"]
        kms_uid = s3.create_multipart_upload(Bucket="vault", Key="kms", ServerSideEncryption="aws:kms",
                                             SSEKMSKeyId=key_arn, ChecksumAlgorithm="SHA256")["UploadId"]
        s3_uid = s3.create_multipart_upload(Bucket="vault", Key="s3", ServerSideEncryption="AES256")["UploadId"]
        first = {uid: s3.upload_part(Bucket="vault", Key=k, UploadId=uid, PartNumber=1, Body=secret)
                 for k, uid in (("kms", kms_uid), ("s3", s3_uid))}
    for file in path.rglob("*"):
        if file.is_file():
            data = file.read_bytes()
            for form in (SECRET_BLOCK[:40], base64.b64encode(SECRET_BLOCK)[:40], SECRET_BLOCK.hex().encode()[:40]):
                assert form not in data, f"plaintext in {file}"
    with kms_teach.Cloud(path, clock=clock, seed=3) as cloud:
        s3 = cloud.client("s3")
        uploads = s3.list_multipart_uploads(Bucket="vault")["Uploads"]
        assert sorted(u["UploadId"] for u in uploads) == sorted([kms_uid, s3_uid])
        for key, uid in (("kms", kms_uid), ("s3", s3_uid)):
            parts = s3.list_parts(Bucket="vault", Key=key, UploadId=uid)["Parts"]
            assert [(p["PartNumber"], p["Size"], p["ETag"]) for p in parts] == [(1, len(secret),
                                                                                 first[uid]["ETag"])]
            last = s3.upload_part(Bucket="vault", Key=key, UploadId=uid, PartNumber=2, Body=b"the end")
            s3.complete_multipart_upload(Bucket="vault", Key=key, UploadId=uid, MultipartUpload={"Parts": [
                {"PartNumber": 1, "ETag": first[uid]["ETag"], **({"ChecksumSHA256": first[uid]["ChecksumSHA256"]}
                                                                 if key == "kms" else {})},
                {"PartNumber": 2, "ETag": last["ETag"], **({"ChecksumSHA256": last["ChecksumSHA256"]}
                                                           if key == "kms" else {})}]})
    with kms_teach.Cloud(path, clock=clock, seed=3) as cloud:
        s3 = cloud.client("s3")
        for key in ("kms", "s3"):
            assert s3.get_object(Bucket="vault", Key=key)["Body"].read() == secret + b"the end"
        assert "Uploads" not in s3.list_multipart_uploads(Bucket="vault")


def test_a_part_moved_to_another_upload_does_not_open(cloud, s3):
    # The sealed parts are bound to their object, upload and part number: swapping blobs in the store fails.
    a = s3.create_multipart_upload(Bucket="media", Key="a")["UploadId"]
    s3.upload_part(Bucket="media", Key="a", UploadId=a, PartNumber=1, Body=b"part one")
    b = upload(s3, "b", b"other data")
    store = cloud.store
    part_a = cloud.s3._parts[("media", a)][1]
    obj_b = cloud.s3._objects["media"]["b"]
    sealed_a = store.read_blob("s3-part", ("media", a, part_a.blob))
    from kms_teach._store import Changes

    changes = Changes()
    changes.put_blob("s3-part", ("media", obj_b.upload_id, obj_b.parts[0]["blob"]), sealed_a)
    store.commit(changes)
    assert b["completed"]["ETag"]
    streamed = s3.get_object(Bucket="media", Key="b")["Body"]
    with pytest.raises(InternalError):  # the body was streaming already: the read fails, nothing is sent
        streamed.read()


def test_memory_stays_bounded_whatever_the_objects_size(cloud, s3):
    parts = 8
    uid = s3.create_multipart_upload(Bucket="media", Key="big")["UploadId"]
    piece = body(PART)
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        listed = []
        for n in range(1, parts + 1):
            answer = s3.upload_part(Bucket="media", Key="big", UploadId=uid, PartNumber=n, Body=piece)
            listed.append({"PartNumber": n, "ETag": answer["ETag"]})
        s3.complete_multipart_upload(Bucket="media", Key="big", UploadId=uid, MultipartUpload={"Parts": listed})
        retained = tracemalloc.get_traced_memory()[0] - baseline
        # 40 MiB were uploaded; the process keeps none of it (the parts are in the store's blobs).
        assert retained < 2 * MiB, retained
        tracemalloc.reset_peak()
        start = tracemalloc.get_traced_memory()[0]
        stream = s3.get_object(Bucket="media", Key="big")["Body"]
        digest = hashlib.sha256()
        for chunk in iter(lambda: stream.read(256 * 1024), b""):
            digest.update(chunk)
        peak = tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()
    assert digest.digest() == hashlib.sha256(piece * parts).digest()
    # Reading 40 MiB holds about one part at a time (as read from the store, sealed and opened), never the object.
    assert peak < 5 * PART, peak


def test_get_and_head_object_part_number(s3):
    data = body(2 * PART + 9)
    upload(s3, "k", data)
    for number, (first, last) in ((1, (0, PART - 1)), (2, (PART, 2 * PART - 1)), (3, (2 * PART, 2 * PART + 8))):
        got = s3.get_object(Bucket="media", Key="k", PartNumber=number)
        assert got["Body"].read() == data[first : last + 1]
        assert got["PartsCount"] == 3 and got["ContentRange"] == f"bytes {first}-{last}/{len(data)}"
        head = s3.head_object(Bucket="media", Key="k", PartNumber=number)
        assert head["ContentLength"] == last - first + 1 and head["PartsCount"] == 3
    for bad, code in (({"PartNumber": 4}, "InvalidPartNumber"), ({"PartNumber": 0}, "InvalidArgument"),
                      ({"PartNumber": 1, "Range": "bytes=0-1"}, "InvalidRequest")):
        with pytest.raises(ClientError) as excinfo:
            s3.get_object(Bucket="media", Key="k", **bad)
        assert error_code(excinfo) == code, bad
    s3.put_object(Bucket="media", Key="single", Body=b"one part")
    got = s3.get_object(Bucket="media", Key="single", PartNumber=1)
    assert got["Body"].read() == b"one part" and "PartsCount" not in got
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket="media", Key="single", PartNumber=2)
    assert error_code(excinfo) == "InvalidPartNumber"


# ---------------------------------------------------------------------------
# Attacks and accidents: other buckets' uploads, races with abort, a killed endpoint
# ---------------------------------------------------------------------------


def test_an_upload_id_names_one_upload_of_one_bucket(s3):
    s3.create_bucket(Bucket="other-media")
    uid = s3.create_multipart_upload(Bucket="media", Key="k")["UploadId"]
    s3.create_multipart_upload(Bucket="other-media", Key="k")
    with pytest.raises(ClientError) as excinfo:
        s3.upload_part(Bucket="other-media", Key="k", UploadId=uid, PartNumber=1, Body=b"x")
    assert error_code(excinfo) == "NoSuchUpload"
    with pytest.raises(ClientError) as excinfo:
        s3.abort_multipart_upload(Bucket="other-media", Key="k", UploadId=uid)
    assert error_code(excinfo) == "NoSuchUpload"
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket="media")["Uploads"]] == [uid]


def test_parts_racing_an_abort_leave_nothing_behind(cloud, s3):
    import threading

    uid = s3.create_multipart_upload(Bucket="media", Key="k")["UploadId"]
    outcomes: list[str] = []
    started = threading.Barrier(9)

    def send(n: int):
        client = cloud.client("s3")
        started.wait()
        try:
            client.upload_part(Bucket="media", Key="k", UploadId=uid, PartNumber=n, Body=body(MiB, seed=n))
            outcomes.append("stored")
        except ClientError as exc:
            outcomes.append(error_code_of(exc))

    threads = [threading.Thread(target=send, args=(n,)) for n in range(1, 9)]
    for t in threads:
        t.start()
    started.wait()
    s3.abort_multipart_upload(Bucket="media", Key="k", UploadId=uid)
    for t in threads:
        t.join(30)
    assert len(outcomes) == 8 and set(outcomes) <= {"stored", "NoSuchUpload"}
    assert blob_count(cloud.store) == 0  # a part sealed while the upload was aborted is not kept
    assert ("media", uid) not in cloud.s3._parts


def error_code_of(exc: ClientError) -> str:
    return exc.response["Error"]["Code"]


@pytest.mark.slow
def test_an_upload_survives_sigkill_of_kms_teach_serve(tmp_path):
    import signal

    from tests.unit.test_server import ServeProcess

    data = tmp_path / "cloud"
    server = ServeProcess(data)
    pieces = {n: body(PART, seed=n) for n in (1, 2, 3)}
    try:
        s3 = server.client("s3")
        key = server.client("kms").create_key()["KeyMetadata"]["Arn"]
        s3.create_bucket(Bucket="media")
        uid = s3.create_multipart_upload(Bucket="media", Key="film", ServerSideEncryption="aws:kms",
                                         SSEKMSKeyId=key, ChecksumAlgorithm="CRC32")["UploadId"]
        acked = {n: s3.upload_part(Bucket="media", Key="film", UploadId=uid, PartNumber=n, Body=pieces[n])
                 for n in (1, 2)}
    finally:
        server.proc.send_signal(signal.SIGKILL)
        server.proc.communicate(timeout=10)
    again = ServeProcess(data)
    try:
        s3 = again.client("s3")
        parts = s3.list_parts(Bucket="media", Key="film", UploadId=uid)["Parts"]
        assert [(p["PartNumber"], p["ETag"], p["ChecksumCRC32"]) for p in parts] == [
            (n, acked[n]["ETag"], acked[n]["ChecksumCRC32"]) for n in (1, 2)]
        acked[3] = s3.upload_part(Bucket="media", Key="film", UploadId=uid, PartNumber=3, Body=pieces[3])
        s3.complete_multipart_upload(Bucket="media", Key="film", UploadId=uid, MultipartUpload={"Parts": [
            {"PartNumber": n, "ETag": acked[n]["ETag"], "ChecksumCRC32": acked[n]["ChecksumCRC32"]}
            for n in (1, 2, 3)]})
        got = s3.get_object(Bucket="media", Key="film")
        assert got["Body"].read() == pieces[1] + pieces[2] + pieces[3]
        assert got["SSEKMSKeyId"] == key
    finally:
        assert again.stop()[0] == 0


def test_a_get_under_way_finishes_when_the_object_is_deleted_or_overwritten(cloud, s3):
    data = body(3 * PART, seed=8)
    upload(s3, "k", data)
    reading = s3.get_object(Bucket="media", Key="k")["Body"]
    ranged = s3.get_object(Bucket="media", Key="k", Range=f"bytes={PART}-")["Body"]
    first = reading.read(1000)
    s3.delete_object(Bucket="media", Key="k")  # as in S3: the GETs already answered go on to their end
    with pytest.raises(ClientError):
        s3.head_object(Bucket="media", Key="k")
    assert first + reading.read() == data
    assert blob_count(cloud.store) == 3  # the ranged GET is still open: the parts stay for it
    assert ranged.read() == data[PART:]
    assert blob_count(cloud.store) == 0  # the last reader done: the deleted object's parts are gone
    upload(s3, "k", data)
    reading = s3.get_object(Bucket="media", Key="k")["Body"]
    upload(s3, "k", b"new version")
    assert reading.read() == data and blob_count(cloud.store) == 1
    reading = s3.get_object(Bucket="media", Key="k")["Body"]
    reading.close()  # a body closed unread lets go of the parts too
    s3.delete_object(Bucket="media", Key="k")
    assert blob_count(cloud.store) == 0


def test_out_of_range_numbers_are_invalid_argument_never_a_500(cloud, s3):
    uid = s3.create_multipart_upload(Bucket="media", Key="k")["UploadId"]
    who = cloud.principal()

    def answer(method, path, body=b"", headers=None):
        reply = cloud.handle("s3", region="us-east-1", principal=who, method=method,
                             url="http://s3.amazonaws.com" + path, headers=headers or {}, body=body)
        return reply.status, reply.body

    huge = "9" * 30
    for method, path in (("PUT", f"/media/k?partNumber={huge}&uploadId={uid}"),
                         ("PUT", f"/media/k?partNumber=abc&uploadId={uid}"),
                         ("GET", f"/media/k?uploadId={uid}&max-parts={huge}"),
                         ("GET", f"/media/k?uploadId={uid}&max-parts=-1"),
                         ("GET", f"/media/k?uploadId={uid}&part-number-marker={huge}"),
                         ("GET", f"/media?uploads&max-uploads={huge}")):
        status, text = answer(method, path, b"x" if method == "PUT" else b"")
        assert status == 400 and b"<Code>InvalidArgument</Code>" in text, (path, text)
    for xml in (b"not xml", b"<CompleteMultipartUpload><Part><PartNumber>abc</PartNumber><ETag>x</ETag></Part>"
                            b"</CompleteMultipartUpload>",
                b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>"):
        status, text = answer("POST", f"/media/k?uploadId={uid}", xml)
        assert status == 400 and b"<Code>MalformedXML</Code>" in text, text
    status, text = answer("POST", f"/media/k?uploadId={uid}", b"<CompleteMultipartUpload><Part><PartNumber>" +
                          huge.encode() + b"</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>")
    # A part number that does not fit the model's integer is refused by the wire, as XML it cannot read.
    assert status == 400 and b"<Code>MalformedXML</Code>" in text, text


def test_upload_part_copy_needs_s3_get_object_on_its_source(cloud, s3):
    """UploadPartCopy is authorized for s3:PutObject on the upload and s3:GetObject on the copy source."""
    s3.create_bucket(Bucket="source-bucket")
    s3.put_object(Bucket="source-bucket", Key="src", Body=b"s" * 1024)
    iam = cloud.client("iam")
    iam.create_user(UserName="copier")
    iam.put_user_policy(UserName="copier", PolicyName="put-only", PolicyDocument=(
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject",'
        '"Resource":"arn:aws:s3:::media/*"}]}'))
    user = cloud.client("s3", principal="arn:aws:iam::111122223333:user/copier")
    uid = user.create_multipart_upload(Bucket="media", Key="k")["UploadId"]
    with pytest.raises(ClientError) as excinfo:
        user.upload_part_copy(Bucket="media", Key="k", UploadId=uid, PartNumber=1, CopySource="source-bucket/src")
    assert error_code(excinfo) == "AccessDenied"
    assert "s3:GetObject" in excinfo.value.response["Error"]["Message"]
    iam.put_user_policy(UserName="copier", PolicyName="read-source", PolicyDocument=(
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject",'
        '"Resource":"arn:aws:s3:::source-bucket/src"}]}'))
    part = user.upload_part_copy(Bucket="media", Key="k", UploadId=uid, PartNumber=1, CopySource="source-bucket/src")
    assert part["CopyPartResult"]["ETag"]
