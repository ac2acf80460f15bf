"""The Cloud, its boto3 clients, Region isolation, the JSON 1.1 wire and the audit trail."""

from __future__ import annotations

import base64
import datetime as dt
import json

import botocore.client
import pytest
from botocore.exceptions import ClientError

import kms_teach
from kms_teach._services.base import RequestContext
from tests.conftest import START, error_code


def _raw(cloud, target, body, region="us-east-1"):
    ctx = RequestContext(region, cloud.principal())
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    reply = cloud._protocols["kms"].handle(target, body, ctx)
    return reply.status, json.loads(reply.body)


def test_client_is_a_genuine_botocore_client(kms):
    assert isinstance(kms, botocore.client.BaseClient)
    assert kms.meta.service_model.service_name == "kms"
    assert kms.meta.region_name == "us-east-1"
    assert issubclass(kms.exceptions.NotFoundException, ClientError)


def test_the_quick_start_of_the_issue_works_exactly(tmp_path):
    cloud = kms_teach.Cloud()
    kms = cloud.client("kms", region_name="us-east-1")
    key_id = kms.create_key(Description="battle plans")["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"attack at dawn")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"attack at dawn"
    before = cloud.clock.now()
    cloud.clock.advance(days=365)
    assert cloud.clock.now().tzinfo is not None
    assert cloud.clock.now() - before >= dt.timedelta(days=365)


def test_regions_are_isolated(cloud, kms, key_id):
    eu = cloud.client("kms", region_name="eu-west-1")
    assert eu.list_keys()["Keys"] == []
    with pytest.raises(eu.exceptions.NotFoundException) as excinfo:
        eu.describe_key(KeyId=key_id)
    assert excinfo.value.response["Error"]["Message"] == (
        f"Key 'arn:aws:kms:eu-west-1:111122223333:key/{key_id}' does not exist"
    )
    eu_key = eu.create_key()["KeyMetadata"]
    assert eu_key["Arn"].startswith("arn:aws:kms:eu-west-1:111122223333:key/")
    assert [k["KeyId"] for k in kms.list_keys()["Keys"]] == [key_id]


def test_another_account_sees_nothing_of_the_default_account(cloud, key_id):
    other = cloud.client("kms", principal="arn:aws:iam::444455556666:root")
    assert other.list_keys()["Keys"] == []
    with pytest.raises(ClientError):
        other.describe_key(KeyId=key_id)
    md = other.create_key()["KeyMetadata"]
    assert md["AWSAccountId"] == "444455556666"
    assert '"AWS" : "arn:aws:iam::444455556666:root"' in other.get_key_policy(KeyId=md["KeyId"])["Policy"]


def test_unknown_region_service_and_principal_get_clear_messages(cloud):
    with pytest.raises(ValueError, match="not an AWS Region"):
        cloud.client("kms", region_name="mars-north-1")
    with pytest.raises(ValueError, match="no 'ec2' service"):
        cloud.client("ec2")
    with pytest.raises(ValueError, match="not a principal"):
        cloud.client("kms", principal="bob")
    with pytest.raises(TypeError, match="endpoint_url"):
        cloud.client("kms", endpoint_url="https://kms.us-east-1.amazonaws.com")


def test_a_learners_aws_configuration_is_never_read(monkeypatch, tmp_path):
    config = tmp_path / "config"
    config.write_text("[default]\nregion = ap-south-1\nparameter_validation = false\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_PROFILE", "does-not-exist")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALKEY")
    cloud = kms_teach.Cloud()
    kms = cloud.client("kms")
    assert kms.meta.region_name == "us-east-1"
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"


def test_cloud_rejects_a_bad_account_id():
    with pytest.raises(ValueError):
        kms_teach.Cloud(account_id="1234")


# --------------------------------------------------------------------------- wire


def test_wire_answers_json_with_base64_blobs_and_epoch_dates(cloud, key_id):
    status, body = _raw(cloud, "TrentService.Encrypt", {"KeyId": key_id, "Plaintext": base64.b64encode(b"hi").decode()})
    assert status == 200
    assert set(body) == {"CiphertextBlob", "KeyId", "EncryptionAlgorithm"}
    base64.b64decode(body["CiphertextBlob"], validate=True)
    status, body = _raw(cloud, "TrentService.DescribeKey", {"KeyId": key_id})
    assert body["KeyMetadata"]["CreationDate"] == START.timestamp()


def test_wire_lists_every_validation_error_in_awss_format(cloud):
    status, body = _raw(cloud, "TrentService.GenerateRandom", {"NumberOfBytes": 5000})
    assert status == 400
    assert body == {
        "__type": "ValidationException",
        "message": "1 validation error detected: Value '5000' at 'numberOfBytes' failed to satisfy constraint: "
        "Member must have value less than or equal to 1024",
    }
    status, body = _raw(cloud, "TrentService.CreateKey", {"KeyUsage": "FLY", "Description": "x" * 8193})
    assert body["__type"] == "ValidationException"
    assert body["message"].startswith("2 validation errors detected: ")
    assert "Member must satisfy enum value set: [" in body["message"]
    status, body = _raw(cloud, "TrentService.Encrypt", {"Plaintext": "aGk="})
    assert body["message"] == (
        "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null"
    )


@pytest.mark.parametrize(
    "target, body, code",
    [
        ("TrentService.Encrypt", "{not json", "SerializationException"),
        ("TrentService.Encrypt", {"KeyId": 5, "Plaintext": "aGk="}, "SerializationException"),
        ("TrentService.Encrypt", {"KeyId": "k", "Plaintext": "!!not base64!!"}, "SerializationException"),
        ("TrentService.Encrypt", [], "SerializationException"),
        ("TrentService.FlyToTheMoon", {}, "UnknownOperationException"),
        ("Other.Encrypt", {}, "UnknownOperationException"),
        (None, {}, "MissingAction"),
    ],
)
def test_wire_answers_malformed_requests_with_aws_errors(cloud, target, body, code):
    status, reply = _raw(cloud, target, body)
    assert status == 400
    assert reply["__type"] == code
    assert reply["message"]


def test_a_simulator_bug_answers_500_and_leaves_no_half_change(cloud, kms, monkeypatch):
    from kms_teach._services.kms import service as _kms

    def broken(self, *args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(_kms.KMS, "key_metadata", broken)
    with pytest.raises(ClientError) as excinfo:
        kms.create_key()
    assert error_code(excinfo) == "KMSInternalException"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


# --------------------------------------------------------------------------- audit


def test_every_call_allowed_or_refused_is_in_the_audit_trail_without_secrets(cloud, kms, key_id):
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"TOP-SECRET-PLAINTEXT", EncryptionContext={"dept": "IT"})["CiphertextBlob"]
    with pytest.raises(ClientError):
        kms.decrypt(CiphertextBlob=blob)
    data_key = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")["Plaintext"]
    events = cloud.audit.events
    assert [e["eventName"] for e in events] == ["CreateKey", "Encrypt", "Decrypt", "GenerateDataKey"]
    enc = events[1]
    assert enc["eventSource"] == "kms.amazonaws.com"
    assert enc["awsRegion"] == "us-east-1"
    assert enc["userIdentity"]["arn"] == "arn:aws:iam::111122223333:root"
    assert enc["requestParameters"]["encryptionContext"] == {"dept": "IT"}
    assert enc["resources"][0]["ARN"].endswith(key_id)
    assert enc["readOnly"] is True
    assert events[2]["errorCode"] == "InvalidCiphertextException"
    text = json.dumps(events)
    assert "TOP-SECRET" not in text
    assert base64.b64encode(blob).decode() not in text
    assert base64.b64encode(data_key).decode() not in text and data_key.hex() not in text
    for key in cloud.kms._regions[("111122223333", "us-east-1")].keys.values():
        for bk in key.backing_keys:
            assert bk.material.hex() not in text and base64.b64encode(bk.material).decode() not in text


def test_the_audit_trail_keeps_the_newest_events_up_to_its_limit(cloud, kms, key_id):
    cloud.audit.max_events = 20
    for i in range(40):
        kms.describe_key(KeyId=key_id)
        if i == 10:
            early = cloud.audit.events  # rendering part of the trail must not disturb trimming
    events = cloud.audit.events
    assert 20 <= len(events) <= 22
    assert all(e["eventName"] == "DescribeKey" for e in events)
    assert len({e["eventID"] for e in events} | {e["eventID"] for e in early}) == len(events) + len(early)
