"""`cloud.session()` and `cloud.botocore_session()`: sessions whose every client is an in-process client.

Libraries that take a session instead of a client (the AWS Encryption SDK, boto3's
transfer manager and resources, data tools) make their clients in their own way;
every one of them must be answered by the cloud, as the session's principal.
"""

from __future__ import annotations

import json

import boto3
import boto3.s3.transfer
import botocore.session
import pytest
from botocore.exceptions import ClientError

from tests.conftest import error_code

ALICE = "arn:aws:iam::111122223333:user/alice"


def test_session_clients_are_answered_by_the_cloud(cloud):
    session = cloud.session()
    assert isinstance(session, boto3.session.Session)
    kms = session.client("kms")
    key_arn = kms.create_key(Description="from a session")["KeyMetadata"]["Arn"]
    # One state: the cloud's own client sees the key the session's client made.
    assert cloud.client("kms").describe_key(KeyId=key_arn)["KeyMetadata"]["Description"] == "from a session"
    assert session.client("sts").get_caller_identity()["Arn"] == "arn:aws:iam::111122223333:root"
    assert session.region_name == cloud.region
    assert sorted(session.get_available_services()) == cloud.services()
    assert session.get_credentials() is None


def test_session_clients_act_as_the_sessions_principal(cloud):
    cloud.client("iam").create_user(UserName="alice")
    key_id = cloud.client("kms").create_key()["KeyMetadata"]["KeyId"]
    as_alice = cloud.session(principal=ALICE)
    assert as_alice.client("sts").get_caller_identity()["Arn"] == ALICE
    with pytest.raises(ClientError) as exc:  # no policy lets alice use the key
        as_alice.client("kms").encrypt(KeyId=key_id, Plaintext=b"x")
    assert error_code(exc) == "AccessDeniedException"
    # The same decision boto3's own client gets.
    with pytest.raises(ClientError):
        cloud.client("kms", principal=ALICE).encrypt(KeyId=key_id, Plaintext=b"x")
    # A principal that does not exist is refused when the session is made, as client() refuses it.
    with pytest.raises(Exception) as missing:
        cloud.session(principal="arn:aws:iam::111122223333:user/nobody")
    with pytest.raises(type(missing.value)):
        cloud.client("kms", principal="arn:aws:iam::111122223333:user/nobody")


def test_a_role_session_is_one_session_for_every_client(cloud):
    iam = cloud.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "111122223333"},
                                                     "Action": "sts:AssumeRole"}]}
    role_arn = iam.create_role(RoleName="reader", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    session = cloud.session(principal=role_arn)
    first = session.client("sts").get_caller_identity()["Arn"]
    second = session.client("sts", region_name="eu-west-1").get_caller_identity()["Arn"]
    assert first.startswith("arn:aws:sts::111122223333:assumed-role/reader/")
    assert first == second


def test_regions_of_the_session_and_of_each_client(cloud):
    session = cloud.session(region_name="eu-west-1")
    assert session.region_name == "eu-west-1"
    assert ":eu-west-1:" in session.client("kms").create_key()["KeyMetadata"]["Arn"]
    assert ":ap-southeast-2:" in session.client("kms", region_name="ap-southeast-2").create_key()["KeyMetadata"]["Arn"]
    with pytest.raises(ValueError, match="not an AWS Region"):
        cloud.session(region_name="moon-1")
    with pytest.raises(ValueError, match="not an AWS Region"):
        session.client("kms", region_name="moon-1")


def test_only_the_clouds_services_and_no_credentials_or_endpoints(cloud):
    session = cloud.session()
    with pytest.raises(ValueError, match="no 'dynamodb' service"):
        session.client("dynamodb")
    for kwargs in ({"endpoint_url": "https://kms.us-east-1.amazonaws.com"},
                   {"aws_access_key_id": "AKIAREALKEY", "aws_secret_access_key": "secret"},
                   {"aws_session_token": "token"}):
        with pytest.raises(TypeError, match="chosen by the simulated cloud"):
            session.client("kms", **kwargs)


def test_real_aws_settings_in_the_environment_are_never_read(cloud, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALACCOUNTKEY00")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "real-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-northeast-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://real.example.invalid")
    session = cloud.session()
    assert session.region_name == cloud.region
    assert session.get_credentials() is None
    assert session.client("kms").list_keys()["Keys"] == []


def test_third_party_code_may_wrap_the_botocore_session_as_often_as_it_likes(cloud, tmp_path):
    # What the Encryption SDK does for every Region it needs: a new boto3.Session over the given session.
    bs = cloud.botocore_session()
    assert isinstance(bs, botocore.session.Session)
    first, second = boto3.Session(botocore_session=bs), boto3.Session(botocore_session=bs)
    first.client("s3").create_bucket(Bucket="shared-bucket")
    source = tmp_path / "report.csv"
    source.write_bytes(b"id,total\n1,42\n" * 100)
    # Resources of both Sessions work: boto3's class customisations are registered once.
    first.resource("s3").Bucket("shared-bucket").upload_file(str(source), "report.csv")
    second.resource("s3").Object("shared-bucket", "report.csv").download_file(str(tmp_path / "back.csv"))
    assert (tmp_path / "back.csv").read_bytes() == source.read_bytes()


def test_boto3_transfer_manager_over_a_session(cloud, tmp_path):
    session = cloud.session()
    s3 = session.client("s3")
    s3.create_bucket(Bucket="transfers")
    key_id = session.client("kms").create_key()["KeyMetadata"]["KeyId"]
    source = tmp_path / "video.bin"
    source.write_bytes(bytes(range(256)) * 4096)  # 1 MiB, under the multipart threshold
    transfer = boto3.s3.transfer.S3Transfer(s3)
    transfer.upload_file(str(source), "transfers", "video.bin",
                         extra_args={"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key_id})
    head = s3.head_object(Bucket="transfers", Key="video.bin")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"].endswith(key_id)
    transfer.download_file("transfers", "video.bin", str(tmp_path / "copy.bin"))
    assert (tmp_path / "copy.bin").read_bytes() == source.read_bytes()
