"""CloudTrail LookupEvents over the audit trail: newest first, filters, time ranges, paging."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from botocore.exceptions import ClientError

from tests.conftest import START, error_code


@pytest.fixture
def trail(cloud):
    return cloud.client("cloudtrail", region_name="us-east-1")


def test_lookup_events_returns_kms_calls_newest_first_with_the_full_record(cloud, kms, trail, key_id):
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"secret", EncryptionContext={"dept": "IT"})["CiphertextBlob"]
    cloud.clock.advance(minutes=1)
    with pytest.raises(ClientError):
        kms.decrypt(CiphertextBlob=blob)
    events = trail.lookup_events()["Events"]
    assert [e["EventName"] for e in events] == ["Decrypt", "Encrypt", "CreateKey"]
    decrypt = events[0]
    assert decrypt["EventSource"] == "kms.amazonaws.com"
    assert decrypt["Username"] == "root"
    assert decrypt["ReadOnly"] == "true"
    assert decrypt["EventTime"] == START + dt.timedelta(minutes=1)
    assert decrypt["Resources"][0]["ResourceName"].endswith(key_id)
    record = json.loads(decrypt["CloudTrailEvent"])
    assert record["errorCode"] == "InvalidCiphertextException"
    assert json.loads(events[1]["CloudTrailEvent"])["requestParameters"]["encryptionContext"] == {"dept": "IT"}
    assert "secret" not in json.dumps([json.loads(e["CloudTrailEvent"]) for e in events])


@pytest.mark.parametrize("key, value, expected", [
    ("EventName", "Encrypt", ["Encrypt"]),
    ("ReadOnly", "false", ["CreateKey"]),
    ("ResourceType", "AWS::KMS::Key", ["Encrypt", "CreateKey"]),
    ("EventSource", "kms.amazonaws.com", ["Encrypt", "CreateKey"]),
    ("Username", "root", ["Encrypt", "CreateKey"]),
])
def test_lookup_attributes_filter(kms, trail, key_id, key, value, expected):
    kms.encrypt(KeyId=key_id, Plaintext=b"x")
    events = trail.lookup_events(LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}])["Events"]
    assert [e["EventName"] for e in events] == expected


def test_resource_name_filter_finds_a_keys_events(kms, trail, key_id):
    kms.create_key()
    events = trail.lookup_events(LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": key_id}])["Events"]
    assert [e["EventName"] for e in events] == ["CreateKey"]


def test_time_range_and_its_errors(cloud, kms, trail, key_id):
    cloud.clock.advance(hours=2)
    kms.describe_key(KeyId=key_id)
    recent = trail.lookup_events(StartTime=START + dt.timedelta(hours=1))["Events"]
    assert [e["EventName"] for e in recent] == ["DescribeKey"]
    with pytest.raises(ClientError) as excinfo:
        trail.lookup_events(StartTime=START + dt.timedelta(hours=1), EndTime=START)
    assert error_code(excinfo) == "InvalidTimeRangeException"


def test_only_one_lookup_attribute_is_allowed(trail):
    with pytest.raises(ClientError) as excinfo:
        trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "Encrypt"},
                                              {"AttributeKey": "ReadOnly", "AttributeValue": "true"}])
    assert error_code(excinfo) == "InvalidLookupAttributesException"


def test_paging_with_next_token_sees_every_event_once(kms, trail, key_id):
    for _ in range(7):
        kms.describe_key(KeyId=key_id)
    ids = [e["EventId"] for page in trail.get_paginator("lookup_events").paginate(PaginationConfig={"PageSize": 3})
           for e in page["Events"]]
    assert len(ids) == len(set(ids)) == 8
    with pytest.raises(ClientError) as excinfo:
        trail.lookup_events(NextToken="!!!")
    assert error_code(excinfo) == "InvalidNextTokenException"


def test_each_region_and_account_sees_only_its_own_events(cloud, kms, key_id):
    assert cloud.client("cloudtrail", region_name="eu-west-1").lookup_events()["Events"] == []
    other = cloud.client("cloudtrail", principal="arn:aws:iam::444455556666:root")
    assert other.lookup_events()["Events"] == []


def test_lookup_events_is_itself_audited_and_paging_stays_stable(cloud, kms, trail, key_id):
    for _ in range(5):
        kms.describe_key(KeyId=key_id)
    first = trail.lookup_events(MaxResults=2)
    second = trail.lookup_events(MaxResults=2, NextToken=first["NextToken"])
    ids = [e["EventId"] for e in first["Events"] + second["Events"]]
    assert len(set(ids)) == 4  # the LookupEvents call between the pages shifted nothing
    assert [e["EventName"] for e in first["Events"]] == ["DescribeKey", "DescribeKey"]
    lookups = trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventSource",
                                                     "AttributeValue": "cloudtrail.amazonaws.com"}])["Events"]
    assert [e["EventName"] for e in lookups] == ["LookupEvents", "LookupEvents"]
    assert all(e["ReadOnly"] == "true" for e in lookups)
