"""S3 transfers by real clients, unchanged: the aws CLI's ``s3 cp`` and ``s3 sync`` against
``kms-teach serve``, and boto3's transfer manager (``upload_file``/``download_file``) in-process
and over the endpoint, with SSE-KMS under a customer managed key; every round trip compared
byte for byte, at sizes below the multipart threshold (one PutObject) and over it (multipart).
"""

from __future__ import annotations

import hashlib
import json
import math
import os

import boto3
import pytest
from boto3.s3.transfer import TransferConfig

import kms_teach
from tests.compat.conftest import MULTIPART_SIZES, MULTIPART_THRESHOLD, SINGLE_PUT_SIZES, payload
from tests.test_aws_cli import serve_subprocess

MiB = 1024 * 1024
SIZES = SINGLE_PUT_SIZES + MULTIPART_SIZES


def _parts(size: int, chunk: int = MULTIPART_THRESHOLD) -> int:
    """How many parts a transfer manager sends for ``size`` bytes (0: one PutObject)."""
    return 0 if size < MULTIPART_THRESHOLD else math.ceil(size / chunk)


def _etag_parts(etag: str) -> int:
    _, dash, count = etag.strip('"').partition("-")
    return int(count) if dash else 0


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """``kms-teach serve`` with a bucket and a customer managed key made by the aws CLI."""
    with serve_subprocess(tmp_path_factory.mktemp("cloud"), tmp_path_factory.mktemp("work")) as shell:
        key = shell.json("aws kms create-key --description 'videos in S3'")["KeyMetadata"]
        shell.run(f"aws kms create-alias --alias-name alias/videos --target-key-id {key['KeyId']}")
        shell.run("aws s3 mb s3://learner-videos")
        # A profile of the learner's own for the transfer settings (the server's config file stays as written).
        config = shell.cwd / "transfer-config"
        config.write_text("[default]\nregion = us-east-1\ns3 =\n  multipart_chunksize = 5MB\n")
        shell.key_arn = key["Arn"]
        shell.small_parts = f"export AWS_CONFIG_FILE={config}\n"
        yield shell


@pytest.mark.parametrize("size", SIZES)
def test_aws_s3_cp_round_trip_with_a_customer_managed_key(served, size):
    name = f"clip-{size}.bin"
    data = payload(size, seed=size % 251)
    (served.cwd / name).write_bytes(data)
    served.run(f"aws s3 cp {name} s3://learner-videos/{name} --sse aws:kms --sse-kms-key-id {served.key_arn}")
    head = served.json(f"aws s3api head-object --bucket learner-videos --key {name}")
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == served.key_arn
    assert head["ContentLength"] == size
    assert _etag_parts(head["ETag"]) == _parts(size)
    served.run(f"aws s3 cp s3://learner-videos/{name} back-{name}")
    assert (served.cwd / f"back-{name}").read_bytes() == data
    # One GetObject of the whole object (s3 cp sends ranged GETs for large ones): streamed part by part.
    got = served.json(f"aws s3api get-object --bucket learner-videos --key {name} whole-{name}")
    assert got["ContentLength"] == size and (served.cwd / f"whole-{name}").read_bytes() == data
    uploads = served.json("aws s3api list-multipart-uploads --bucket learner-videos")
    assert not uploads.get("Uploads"), "an upload was left behind"


def test_aws_s3_sync_of_a_folder_holding_large_files(served):
    folder = served.cwd / "footage"
    (folder / "day1").mkdir(parents=True)
    files = {"day1/long-take.mov": payload(MULTIPART_SIZES[-1], seed=1), "day1/notes.txt": b"slate 4, take 2\n",
             "trailer.mp4": payload(MULTIPART_SIZES[1], seed=2), "empty.txt": b""}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    # The learner's own profile sets 5 MiB parts: the long take goes up in 7 of them.
    served.run(f"aws s3 sync footage s3://learner-videos/footage --sse aws:kms --sse-kms-key-id alias/videos",
               before=served.small_parts)
    listed = served.json("aws s3api list-objects-v2 --bucket learner-videos --prefix footage/")["Contents"]
    assert sorted(o["Key"] for o in listed) == sorted(f"footage/{n}" for n in files)
    etags = {o["Key"]: o["ETag"] for o in listed}
    assert _etag_parts(etags["footage/day1/long-take.mov"]) == math.ceil(MULTIPART_SIZES[-1] / (5 * MiB))
    assert _etag_parts(etags["footage/day1/notes.txt"]) == 0
    for name in files:
        head = served.json(f"aws s3api head-object --bucket learner-videos --key footage/{name}")
        assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == served.key_arn
    again = served.run("aws s3 sync footage s3://learner-videos/footage --sse aws:kms --sse-kms-key-id alias/videos")
    assert "upload:" not in again.stdout  # nothing changed: nothing sent
    served.run("aws s3 sync s3://learner-videos/footage copy")
    for name, data in files.items():
        assert (served.cwd / "copy" / name).read_bytes() == data, name


def test_aws_s3_cp_between_keys_copies_a_large_object_part_by_part(served):
    # Over the threshold, s3 cp from S3 to S3 is CreateMultipartUpload, UploadPartCopy of each range and
    # CompleteMultipartUpload: S3 decrypts under the source's key and seals under the destination's.
    size = MULTIPART_SIZES[1]
    data = payload(size, seed=11)
    (served.cwd / "original.bin").write_bytes(data)
    served.run("aws s3 cp original.bin s3://learner-videos/original.bin --sse AES256")
    served.run(f"aws s3 cp s3://learner-videos/original.bin s3://learner-videos/copied.bin --sse aws:kms "
               f"--sse-kms-key-id {served.key_arn}")
    head = served.json("aws s3api head-object --bucket learner-videos --key copied.bin")
    assert head["SSEKMSKeyId"] == served.key_arn and _etag_parts(head["ETag"]) == _parts(size)
    served.run("aws s3 cp s3://learner-videos/copied.bin copied.bin")
    assert (served.cwd / "copied.bin").read_bytes() == data


def test_aws_s3_cp_of_a_large_file_to_a_key_the_caller_may_not_use_fails_cleanly(served):
    data = payload(MULTIPART_SIZES[0], seed=9)
    (served.cwd / "refused.bin").write_bytes(data)
    out = served.run("aws s3 cp refused.bin s3://learner-videos/refused.bin --sse aws:kms "
                     "--sse-kms-key-id alias/no-such-key", check=False)
    assert out.returncode != 0 and "KMS.NotFoundException" in out.stderr
    listed = served.json("aws s3api list-objects-v2 --bucket learner-videos --prefix refused")
    assert not listed.get("Contents")


# ---------------------------------------------------------------------------
# boto3's transfer manager
# ---------------------------------------------------------------------------

CONFIG = TransferConfig(multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=5 * MiB, max_concurrency=4)


def _round_trip(client, tmp_path, key_arn, size, seed):
    source, back = tmp_path / f"up-{size}.bin", tmp_path / f"down-{size}.bin"
    data = payload(size, seed=seed)
    source.write_bytes(data)
    client.upload_file(str(source), "boto-bucket", f"obj-{size}", Config=CONFIG,
                       ExtraArgs={"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key_arn})
    head = client.head_object(Bucket="boto-bucket", Key=f"obj-{size}")
    assert head["SSEKMSKeyId"] == key_arn and head["ContentLength"] == size
    assert _etag_parts(head["ETag"]) == _parts(size, 5 * MiB)
    client.download_file("boto-bucket", f"obj-{size}", str(back), Config=CONFIG)
    assert hashlib.sha256(back.read_bytes()).digest() == hashlib.sha256(data).digest()
    assert back.read_bytes() == data
    return head


@pytest.mark.parametrize("size", [SINGLE_PUT_SIZES[2], *MULTIPART_SIZES[1:]])
def test_boto3_upload_file_and_download_file_in_process(tmp_path, size):
    with kms_teach.Cloud() as cloud:
        session = cloud.session()
        key_arn = session.client("kms").create_key()["KeyMetadata"]["Arn"]
        client = session.client("s3")
        client.create_bucket(Bucket="boto-bucket")
        _round_trip(client, tmp_path, key_arn, size, seed=3)
        generated = [e for e in cloud.audit.events if e["eventName"] == "GenerateDataKey"]
        decrypted = [e for e in cloud.audit.events if e["eventName"] == "Decrypt"]
        assert len(generated) == 1 and generated[0]["resources"][0]["ARN"] == key_arn  # one data key per object
        # SSE-KMS: every part uploaded, and each ranged GET of the download (one a part), decrypts the data key.
        parts = _parts(size, 5 * MiB)
        assert len(decrypted) == (2 * parts if parts else 1)


@pytest.mark.parametrize("size", MULTIPART_SIZES[1:])
def test_boto3_upload_file_and_download_file_over_the_endpoint(endpoint_env, live_cloud, tmp_path, size):
    session = boto3.Session()  # the environment a learner pasted: no kms_teach code in the client
    key_arn = session.client("kms").create_key()["KeyMetadata"]["Arn"]
    client = session.client("s3")
    client.create_bucket(Bucket="boto-bucket")
    head = _round_trip(client, tmp_path, key_arn, size, seed=4)
    # botocore's default: a CRC32 for every part, and the object's COMPOSITE checksum of them.
    checked = client.head_object(Bucket="boto-bucket", Key=f"obj-{size}", ChecksumMode="ENABLED")
    assert checked["ChecksumType"] == "COMPOSITE" and checked["ChecksumCRC32"].endswith(f"-{_etag_parts(head['ETag'])}")
    stored = live_cloud.s3.stored_object("boto-bucket", f"obj-{size}")
    assert len(stored["parts"]) == _etag_parts(head["ETag"])
    assert payload(size, seed=4)[:4096] not in json.dumps(stored).encode()
    assert not os.environ.get("AWS_ACCESS_KEY_ID", "").startswith("AKIAREAL")
