"""Cloud.handle: one HTTP request answered for any service (the HTTP endpoint's entry point)."""

from __future__ import annotations

import json

import kms_teach


def test_handle_answers_each_protocol(cloud):
    root = cloud.principal()
    r = cloud.handle("kms", region="us-east-1", principal=root, method="POST", url="https://kms.local/",
                     headers={"x-amz-target": "TrentService.CreateKey"}, body=b"{}", access_key_id="AKIAEXAMPLE")
    assert r.status == 200 and json.loads(r.body)["KeyMetadata"]["KeyState"] == "Enabled"
    event = cloud.audit.events[-1]
    assert event["userIdentity"]["accessKeyId"] == "AKIAEXAMPLE"
    r = cloud.handle("sts", region="us-east-1", principal=root, method="POST", url="https://sts.local/",
                     headers={"Content-Type": "application/x-www-form-urlencoded"},
                     body=b"Action=GetCallerIdentity&Version=2011-06-15")
    assert r.status == 200 and b"<Account>111122223333</Account>" in r.body
    r = cloud.handle("kms", region="us-east-1", principal=root, method="POST", url="https://kms.local/",
                     headers={}, body=b"{}")
    assert r.status == 400 and json.loads(r.body)["__type"] == "MissingAction"


def test_handle_knows_its_services(cloud):
    assert {"kms", "iam", "sts", "cloudtrail"} <= set(cloud.services())
    try:
        cloud.handle("ec2", region="us-east-1", principal=cloud.principal(), method="POST", url="/", headers={},
                     body=b"")
    except ValueError as exc:
        assert "ec2" in str(exc)
    else:
        raise AssertionError("an unknown service must be refused")
    assert isinstance(cloud, kms_teach.Cloud)
