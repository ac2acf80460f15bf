"""The four holes issue 16 closes, each tried through boto3 in-process and over the endpoint (SigV4 over HTTP).

* CloudTrail LookupEvents needs ``cloudtrail:LookupEvents`` (an identity policy; the root user may).
* S3 is authorized for every operation, on identity policies and bucket policies together.
* Key policies, grants and trust policies name the principal that existed when they were stored: a user or
  role deleted and created again under the same name gets nothing, and GetKeyPolicy shows the gone
  principal's unique ID.
* An alias points only at a KMS key of its own account and Region.

Every client here is a genuine boto3 client; ``world`` makes the same calls either in-process
(``cloud.client(..., principal=...)``) or over HTTP with access keys IAM issued.
"""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import kms_teach
from kms_teach._http import server as _server

ACCT = "111122223333"
OTHER = "444455556666"
CONFIG = Config(connect_timeout=5, read_timeout=20, retries={"total_max_attempts": 1, "mode": "standard"})


def _doc(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


class World:
    """One cloud, reached in-process or over its HTTP endpoint, as any principal."""

    def __init__(self, cloud: kms_teach.Cloud, handle=None):
        self.cloud = cloud
        self.handle = handle
        self._keys: dict[str, tuple[str, str, str | None]] = {}

    def client(self, service: str, principal: str | None = None, region: str = "us-east-1"):
        if self.handle is None:
            return self.cloud.client(service, region_name=region, principal=principal)
        key, secret, token = self._credentials(principal)
        return boto3.session.Session().client(
            service, region_name=region, endpoint_url=self.handle.url, config=CONFIG,
            aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token)

    def _credentials(self, principal: str | None) -> tuple[str, str, str | None]:
        if principal is None:
            return self.handle.env["AWS_ACCESS_KEY_ID"], self.handle.env["AWS_SECRET_ACCESS_KEY"], None
        if principal not in self._keys:
            account, rest = principal.split(":")[4], principal.split(":")[5]
            root_iam = self.cloud.client("iam", principal=f"arn:aws:iam::{account}:root")
            if rest == "root":
                key = root_iam.create_access_key()["AccessKey"]
                self._keys[principal] = (key["AccessKeyId"], key["SecretAccessKey"], None)
            elif rest.startswith("user/"):
                key = root_iam.create_access_key(UserName=rest.rsplit("/", 1)[-1])["AccessKey"]
                self._keys[principal] = (key["AccessKeyId"], key["SecretAccessKey"], None)
            else:  # a role: a session of it, assumed by the account's root user
                creds = self.cloud.client("sts", principal=f"arn:aws:iam::{account}:root").assume_role(
                    RoleArn=principal, RoleSessionName="kms-teach-session")["Credentials"]
                self._keys[principal] = (creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
        return self._keys[principal]

    def new_user(self, name: str, *policies: str, account: str = ACCT) -> str:
        iam = self.cloud.client("iam", principal=f"arn:aws:iam::{account}:root")
        iam.create_user(UserName=name)
        for i, doc in enumerate(policies):
            iam.put_user_policy(UserName=name, PolicyName=f"p{i}", PolicyDocument=doc)
        return f"arn:aws:iam::{account}:user/{name}"

    def delete_user(self, name: str, account: str = ACCT) -> None:
        """Delete a user the way a console does: its keys and policies first."""
        iam = self.cloud.client("iam", principal=f"arn:aws:iam::{account}:root")
        for key in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
            iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
        for policy in iam.list_user_policies(UserName=name)["PolicyNames"]:
            iam.delete_user_policy(UserName=name, PolicyName=policy)
        iam.delete_user(UserName=name)
        self._keys.pop(f"arn:aws:iam::{account}:user/{name}", None)


@pytest.fixture(params=["in-process", "endpoint"])
def world(request):
    cloud = kms_teach.Cloud()  # on the wall clock: requests over HTTP are signed with it
    if request.param == "in-process":
        yield World(cloud)
    else:
        handle = _server.serve_in_background(cloud)
        try:
            yield World(cloud, handle)
        finally:
            handle.stop()
    cloud.close()


# --------------------------------------------------------------------------- CloudTrail


def test_lookup_events_needs_cloudtrail_lookup_events(world):
    kms = world.client("kms")
    key_id = kms.create_key(Description="the trail has secrets")["KeyMetadata"]["KeyId"]
    kms.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext={"project": "skunkworks"})
    nobody = world.new_user("nobody")
    iam = world.client("iam")
    iam.create_role(RoleName="empty", AssumeRolePolicyDocument=_doc(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "sts:AssumeRole"}))
    for who in (nobody, f"arn:aws:iam::{ACCT}:role/empty"):
        with pytest.raises(ClientError) as excinfo:
            world.client("cloudtrail", principal=who).lookup_events()
        assert _code(excinfo) == "AccessDeniedException"
        assert "cloudtrail:LookupEvents" in excinfo.value.response["Error"]["Message"]
    auditor = world.new_user("auditor", _doc({"Effect": "Allow", "Action": "cloudtrail:LookupEvents",
                                              "Resource": "*"}))
    names = {e["EventName"] for e in world.client("cloudtrail", principal=auditor).lookup_events()["Events"]}
    assert {"CreateKey", "Encrypt"} <= names
    # An explicit Deny wins over the Allow.
    iam.put_user_policy(UserName="auditor", PolicyName="no", PolicyDocument=_doc(
        {"Effect": "Deny", "Action": "cloudtrail:*", "Resource": "*"}))
    with pytest.raises(ClientError) as excinfo:
        world.client("cloudtrail", principal=auditor).lookup_events()
    assert "explicit deny" in excinfo.value.response["Error"]["Message"]
    # The refusals are in the trail, as the root user sees it.
    refused = [e for e in world.client("cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "LookupEvents"}])["Events"]
        if json.loads(e["CloudTrailEvent"]).get("errorCode") == "AccessDeniedException"]
    assert len(refused) == 3
    assert world.cloud.explain(nobody, "cloudtrail:LookupEvents").allowed is False
    assert world.cloud.explain(auditor, "cloudtrail:LookupEvents").allowed is False


# --------------------------------------------------------------------------- S3


@pytest.fixture
def bucket(world):
    s3 = world.client("s3")
    s3.create_bucket(Bucket="plans")
    s3.put_object(Bucket="plans", Key="q3.txt", Body=b"attack at dawn")  # SSE-S3, the default
    return "plans"


def test_a_user_without_s3_permissions_can_do_nothing(world, bucket):
    nobody = world.client("s3", principal=world.new_user("nobody"))
    calls = {
        "ListBuckets": lambda: nobody.list_buckets(),
        "ListObjectsV2": lambda: nobody.list_objects_v2(Bucket=bucket),
        "GetObject": lambda: nobody.get_object(Bucket=bucket, Key="q3.txt"),
        "HeadObject": lambda: nobody.head_object(Bucket=bucket, Key="q3.txt"),
        "PutObject": lambda: nobody.put_object(Bucket=bucket, Key="q3.txt", Body=b"retreat"),
        "DeleteObject": lambda: nobody.delete_object(Bucket=bucket, Key="q3.txt"),
        "PutBucketEncryption": lambda: nobody.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]}),
        "DeleteBucketEncryption": lambda: nobody.delete_bucket_encryption(Bucket=bucket),
        "GetBucketPolicy": lambda: nobody.get_bucket_policy(Bucket=bucket),
        "DeleteBucket": lambda: nobody.delete_bucket(Bucket=bucket),
        "CreateBucket": lambda: nobody.create_bucket(Bucket="mine-now"),
    }
    for name, call in calls.items():
        with pytest.raises(ClientError) as excinfo:
            call()
        status = excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]
        assert (_code(excinfo) if name != "HeadObject" else status) in ("AccessDenied", 403), name
    root = world.client("s3")
    assert root.get_object(Bucket=bucket, Key="q3.txt")["Body"].read() == b"attack at dawn"
    assert root.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0][
        "ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert "mine-now" not in {b["Name"] for b in root.list_buckets()["Buckets"]}


def test_identity_policies_and_bucket_policies_decide_together(world, bucket):
    root = world.client("s3")
    reader = world.new_user("reader", _doc({"Effect": "Allow", "Action": "s3:GetObject",
                                            "Resource": f"arn:aws:s3:::{bucket}/*"}))
    as_reader = world.client("s3", principal=reader)
    assert as_reader.get_object(Bucket=bucket, Key="q3.txt")["Body"].read() == b"attack at dawn"
    with pytest.raises(ClientError) as excinfo:
        as_reader.put_object(Bucket=bucket, Key="q3.txt", Body=b"retreat")
    assert _code(excinfo) == "AccessDenied"
    # Within the account, a bucket policy that names the user is enough on its own.
    writer = world.new_user("writer")
    root.put_bucket_policy(Bucket=bucket, Policy=_doc(
        {"Sid": "WriterWrites", "Effect": "Allow", "Principal": {"AWS": writer}, "Action": "s3:PutObject",
         "Resource": f"arn:aws:s3:::{bucket}/*"},
        {"Sid": "NobodyReadsDrafts", "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{bucket}/drafts/*"}))
    world.client("s3", principal=writer).put_object(Bucket=bucket, Key="drafts/q4.txt", Body=b"nap")
    decision = world.cloud.explain(writer, "s3:PutObject", bucket=bucket, key="drafts/q4.txt")
    assert decision.allowed and "bucket policy" in decision.summary
    assert any("WriterWrites" in str(r) for r in decision.deciding)
    # An explicit Deny in the bucket policy beats the reader's Allow, and the root user's.
    with pytest.raises(ClientError) as excinfo:
        as_reader.get_object(Bucket=bucket, Key="drafts/q4.txt")
    assert "explicit deny in a resource-based policy" in excinfo.value.response["Error"]["Message"]
    with pytest.raises(ClientError):
        root.get_object(Bucket=bucket, Key="drafts/q4.txt")
    assert world.cloud.explain(reader, "s3:GetObject", bucket=bucket, key="drafts/q4.txt").denied_by is not None
    assert json.loads(root.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"][0]["Sid"] == "WriterWrites"


def test_another_account_needs_the_bucket_policy_and_its_own_identity_policy(world, bucket):
    other_root = f"arn:aws:iam::{OTHER}:root"
    with pytest.raises(ClientError) as excinfo:
        world.client("s3", principal=other_root).get_object(Bucket=bucket, Key="q3.txt")
    assert _code(excinfo) == "AccessDenied"
    world.client("s3").put_bucket_policy(Bucket=bucket, Policy=_doc(
        {"Effect": "Allow", "Principal": {"AWS": other_root}, "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{bucket}/*"}))
    assert world.client("s3", principal=other_root).get_object(Bucket=bucket, Key="q3.txt")["Body"].read() == \
        b"attack at dawn"
    eve = world.new_user("eve", account=OTHER)
    with pytest.raises(ClientError) as excinfo:  # the bucket policy lets her account in; her own policies do not
        world.client("s3", principal=eve).get_object(Bucket=bucket, Key="q3.txt")
    assert _code(excinfo) == "AccessDenied"
    world.cloud.client("iam", principal=other_root).put_user_policy(
        UserName="eve", PolicyName="read", PolicyDocument=_doc({"Effect": "Allow", "Action": "s3:GetObject",
                                                                "Resource": "*"}))
    assert world.client("s3", principal=eve).get_object(Bucket=bucket, Key="q3.txt")["Body"].read() == \
        b"attack at dawn"
    assert "cross-account" in world.cloud.explain(eve, "s3:GetObject", bucket=bucket, key="q3.txt").summary
    # The bucket policy itself is the owner account's alone: 405 from any other account.
    with pytest.raises(ClientError) as excinfo:
        world.client("s3", principal=other_root).get_bucket_policy(Bucket=bucket)
    assert _code(excinfo) == "MethodNotAllowed"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 405


def test_the_owners_root_user_can_always_mend_its_bucket_policy(world, bucket):
    root = world.client("s3")
    root.put_bucket_policy(Bucket=bucket, Policy=_doc(
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [f"arn:aws:s3:::{bucket}",
                                                                           f"arn:aws:s3:::{bucket}/*"]}))
    with pytest.raises(ClientError):
        root.get_object(Bucket=bucket, Key="q3.txt")
    assert "Deny" in root.get_bucket_policy(Bucket=bucket)["Policy"]
    root.delete_bucket_policy(Bucket=bucket)
    assert root.get_object(Bucket=bucket, Key="q3.txt")["Body"].read() == b"attack at dawn"
    with pytest.raises(ClientError) as excinfo:
        root.get_bucket_policy(Bucket=bucket)
    assert _code(excinfo) == "NoSuchBucketPolicy"
    for bad, message in (("not json", "valid JSON"),
                         (_doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}), "principal"),
                         (_doc({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                "Resource": "arn:aws:s3:::someone-else/*"}), "invalid resource"),
                         (_doc({"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt",
                                "Resource": f"arn:aws:s3:::{bucket}/*"}), "invalid action")):
        with pytest.raises(ClientError) as excinfo:
            root.put_bucket_policy(Bucket=bucket, Policy=bad)
        assert _code(excinfo) == "MalformedPolicy"
        assert message.lower() in excinfo.value.response["Error"]["Message"].lower()


def test_s3_audit_management_events_for_every_bucket_operation_and_kms_events_for_sse_kms(world, bucket):
    root = world.client("s3")
    root.put_bucket_policy(Bucket=bucket, Policy=_doc(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "s3:*",
         "Resource": f"arn:aws:s3:::{bucket}/*"}))
    root.put_object(Bucket=bucket, Key="sealed", Body=b"x", ServerSideEncryption="aws:kms")
    root.get_object(Bucket=bucket, Key="sealed")
    nobody = world.client("s3", principal=world.new_user("nobody"))
    with pytest.raises(ClientError):
        nobody.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    events = [e for e in world.cloud.audit.events if e["eventSource"] == "s3.amazonaws.com"]
    names = [e["eventName"] for e in events]
    assert {"CreateBucket", "PutBucketPolicy", "PutBucketEncryption"} <= set(names)
    assert not {"PutObject", "GetObject"} & set(names)  # data events: only trails that ask record them
    refused = [e for e in events if e["eventName"] == "PutBucketEncryption"]
    assert refused[-1]["errorCode"] == "AccessDenied" and refused[-1]["userIdentity"]["type"] == "IAMUser"
    kms_names = [e["eventName"] for e in world.cloud.audit.events if e["eventSource"] == "kms.amazonaws.com"]
    assert "GenerateDataKey" in kms_names and "Decrypt" in kms_names


# --------------------------------------------------------------------------- recreated principals


def test_a_recreated_user_gets_nothing_the_old_one_was_given(world):
    bob = world.new_user("bob")
    iam = world.client("iam")
    old_id = iam.get_user(UserName="bob")["User"]["UserId"]
    kms = world.client("kms")
    key_id = kms.create_key(Policy=_doc(
        {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "kms:*",
         "Resource": "*"},
        {"Sid": "Bob", "Effect": "Allow", "Principal": {"AWS": bob}, "Action": ["kms:Encrypt", "kms:Decrypt"],
         "Resource": "*"}))["KeyMetadata"]["KeyId"]
    kms.create_grant(KeyId=key_id, GranteePrincipal=bob, Operations=["GenerateDataKey"])
    iam.create_role(RoleName="deployer", AssumeRolePolicyDocument=_doc(
        {"Effect": "Allow", "Principal": {"AWS": bob}, "Action": "sts:AssumeRole"}))
    as_bob = world.client("kms", principal=bob)
    blob = as_bob.encrypt(KeyId=key_id, Plaintext=b"old bob's")["CiphertextBlob"]
    as_bob.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    world.client("sts", principal=bob).assume_role(RoleArn=f"arn:aws:iam::{ACCT}:role/deployer",
                                                  RoleSessionName="old-bob")

    world.delete_user("bob")
    shown = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    assert shown["Statement"][1]["Principal"] == {"AWS": old_id}  # as AWS shows a deleted principal
    trust = iam.get_role(RoleName="deployer")["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"AWS": old_id}

    world.new_user("bob")
    assert iam.get_user(UserName="bob")["User"]["UserId"] != old_id
    as_new_bob = world.client("kms", principal=bob)
    for call in (lambda: as_new_bob.decrypt(CiphertextBlob=blob),
                 lambda: as_new_bob.encrypt(KeyId=key_id, Plaintext=b"x"),
                 lambda: as_new_bob.generate_data_key(KeyId=key_id, KeySpec="AES_256")):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert _code(excinfo) == "AccessDeniedException"
    with pytest.raises(ClientError) as excinfo:
        world.client("sts", principal=bob).assume_role(RoleArn=f"arn:aws:iam::{ACCT}:role/deployer",
                                                      RoleSessionName="new-bob")
    assert _code(excinfo) == "AccessDenied"
    assert world.cloud.explain(bob, "kms:Encrypt", key_id).allowed is False
    # Naming the new bob again gives the new bob access (and the policy shows his ARN).
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=_doc(
        {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "kms:*",
         "Resource": "*"},
        {"Sid": "Bob", "Effect": "Allow", "Principal": {"AWS": bob}, "Action": "kms:Encrypt", "Resource": "*"}))
    as_new_bob.encrypt(KeyId=key_id, Plaintext=b"x")
    assert bob in kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]


def test_a_recreated_role_gets_nothing_the_old_one_was_given(world):
    iam = world.client("iam")
    trust = _doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "sts:AssumeRole"})
    iam.create_role(RoleName="app", AssumeRolePolicyDocument=trust)
    app = f"arn:aws:iam::{ACCT}:role/app"
    kms = world.client("kms")
    key_id = kms.create_key(Policy=_doc(
        {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "kms:*",
         "Resource": "*"},
        {"Sid": "App", "Effect": "Allow", "Principal": {"AWS": app}, "Action": "kms:Encrypt",
         "Resource": "*"}))["KeyMetadata"]["KeyId"]
    world.client("kms", principal=app).encrypt(KeyId=key_id, Plaintext=b"x")
    role_id = iam.get_role(RoleName="app")["Role"]["RoleId"]
    iam.delete_role(RoleName="app")
    iam.create_role(RoleName="app", AssumeRolePolicyDocument=trust)
    world._keys.pop(app, None)
    with pytest.raises(ClientError) as excinfo:
        world.client("kms", principal=app).encrypt(KeyId=key_id, Plaintext=b"x")
    assert _code(excinfo) == "AccessDeniedException"
    assert role_id in kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]


# --------------------------------------------------------------------------- aliases


def test_an_alias_points_only_at_a_key_of_its_own_account_and_region(world):
    other_root = f"arn:aws:iam::{OTHER}:root"
    kms = world.client("kms")
    shared = kms.create_key(Policy=_doc(
        {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "kms:*",
         "Resource": "*"},
        {"Sid": "Other", "Effect": "Allow", "Principal": {"AWS": other_root}, "Action": "kms:*",
         "Resource": "*"}))["KeyMetadata"]["Arn"]
    theirs = world.client("kms", principal=other_root)
    theirs.encrypt(KeyId=shared, Plaintext=b"cross-account use is allowed")
    with pytest.raises(ClientError) as excinfo:
        theirs.create_alias(AliasName="alias/borrowed", TargetKeyId=shared)
    assert _code(excinfo) == "NotFoundException"
    own = theirs.create_key()["KeyMetadata"]["KeyId"]
    theirs.create_alias(AliasName="alias/mine", TargetKeyId=own)
    with pytest.raises(ClientError) as excinfo:
        theirs.update_alias(AliasName="alias/mine", TargetKeyId=shared)
    assert _code(excinfo) == "NotFoundException"
    assert [a.get("TargetKeyId") for a in theirs.list_aliases()["Aliases"] if a["AliasName"] == "alias/mine"] == [own]
    # Nor at a key of another Region of the same account.
    west = world.client("kms", region="us-west-2").create_key()["KeyMetadata"]["Arn"]
    with pytest.raises(ClientError) as excinfo:
        kms.create_alias(AliasName="alias/far", TargetKeyId=west)
    assert _code(excinfo) == "NotFoundException"
    # The alias of the key's own account resolves for the other account, by its alias ARN.
    kms.create_alias(AliasName="alias/shared", TargetKeyId=shared)
    alias_arn = f"arn:aws:kms:us-east-1:{ACCT}:alias/shared"
    assert theirs.encrypt(KeyId=alias_arn, Plaintext=b"x")["KeyId"] == shared


def test_a_bucket_policy_names_the_user_that_existed_when_it_was_put(world, bucket):
    root = world.client("s3")
    with pytest.raises(ClientError) as excinfo:
        root.put_bucket_policy(Bucket=bucket, Policy=_doc(
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:user/nobody-yet"},
             "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}))
    assert _code(excinfo) == "MalformedPolicy" and "Invalid principal" in excinfo.value.response["Error"]["Message"]
    dave = world.new_user("dave")
    old_id = world.client("iam").get_user(UserName="dave")["User"]["UserId"]
    root.put_bucket_policy(Bucket=bucket, Policy=_doc(
        {"Effect": "Allow", "Principal": {"AWS": dave}, "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{bucket}/*"}))
    assert world.client("s3", principal=dave).get_object(Bucket=bucket, Key="q3.txt")["Body"].read() == \
        b"attack at dawn"
    world.delete_user("dave")
    world.new_user("dave")
    with pytest.raises(ClientError) as excinfo:
        world.client("s3", principal=dave).get_object(Bucket=bucket, Key="q3.txt")
    assert _code(excinfo) == "AccessDenied"
    assert json.loads(root.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"][0]["Principal"] == {
        "AWS": old_id}
