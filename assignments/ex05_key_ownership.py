# ---
# assignment: ex05_key_ownership
# title: Key ownership - your keys, an AWS managed key, and what its key policy allows
# ---

# %% [markdown]
# # Exercise 05: who owns a key
#
# Goes with notebook [05 · Who owns a key](../notebooks/05_key_ownership.ipynb). An account holds two
# kinds of KMS key: **customer managed keys**, which you create and control, and **AWS managed keys**
# (`alias/aws/<service>`), which an AWS service creates in your account the first time it needs one and
# which anyone in the account may use **only through that service**. (**AWS owned keys** live in the
# service's own account: you never see them.) `DescribeKey` says who manages a key (`KeyManager`), and
# `GetKeyPolicy` shows what its key policy allows.
#
# Each task asks for a small function. Under each task a **self-check** runs it once and tells you what
# looks wrong; the **hidden checks**, which run when your notebook is graded, call it again with other
# keys, Regions and buckets against a fresh cloud.

# %% [setup]
import json

import kms_teach
from kms_teach.exercises import ex05 as check

cloud = kms_teach.Cloud(seed=2026)
kms = cloud.client("kms", region_name="us-east-1")
s3 = cloud.client("s3", region_name="us-east-1")

# %% [markdown]
# ## Task 1 (3 points): the keys you manage
#
# Write `customer_managed_keys(kms)`, which returns the set of **key IDs** of every customer managed key
# that the client's account has in the client's Region, and no AWS managed key. An account may have
# hundreds of keys ([notebook 00, section 6](../notebooks/00_start_here.ipynb): listing them a page at a
# time).

# %% [answer t1]
def customer_managed_keys(kms):
    ### BEGIN SOLUTION
    mine = set()
    for page in kms.get_paginator("list_keys").paginate():
        for key in page["Keys"]:
            md = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
            if md["KeyManager"] == "CUSTOMER":
                mine.add(md["KeyId"])
    return mine
    ### END SOLUTION

# %% [check t1 points=3 "Tell customer managed keys from AWS managed keys"]
check.t1(customer_managed_keys)
### BEGIN HIDDEN TESTS
import random as _random
from kms_teach.exercises import fresh
cloud_, kms_ = fresh(seed=_random.randrange(1, 10**6))
s3_ = cloud_.client("s3", region_name="us-east-1")
made = [kms_.create_key(Description=f"team key {i}")["KeyMetadata"]["KeyId"] for i in range(60)]
s3_.create_bucket(Bucket="grading-ownership")
s3_.put_object(Bucket="grading-ownership", Key="a.txt", Body=b"a", ServerSideEncryption="aws:kms")
aws_managed = kms_.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]["KeyId"]
# A customer managed key whose description copies an AWS managed key's: only KeyManager tells them apart.
copycat = kms_.create_key(Description="Default key that protects my S3 resources when no other key is defined")[
    "KeyMetadata"]["KeyId"]
made.append(copycat)
made += [kms_.create_key(Description=f"more keys {i}")["KeyMetadata"]["KeyId"] for i in range(_random.randint(45, 70))]
kms_.create_alias(AliasName="alias/payroll", TargetKeyId=made[3])
got = customer_managed_keys(kms_)
assert got is not None, "customer_managed_keys returned None: return a set of key IDs"
got = list(got)
assert all(isinstance(k, str) for k in got), "return key IDs (strings), not the ListKeys entries or DescribeKey answers"
assert not any(k.startswith("arn:") for k in got), "return key IDs, not key ARNs"
assert aws_managed not in got, "an AWS managed key (KeyManager AWS) is among the keys you returned: look at each key's KeyManager"
missing = set(made) - set(got)
assert len(missing) < len(made) - 1, \
    "almost none of the customer managed keys were returned (most have no alias): ListKeys lists every key"
assert copycat not in missing, \
    "a customer managed key whose description reads like an AWS managed key's is missing: KeyManager says who manages a key"
assert not missing, (f"{len(missing)} of the {len(made)} customer managed keys are missing: ListKeys answers a page "
                     "at a time (look at Truncated and NextMarker, or use a paginator)")
assert len(got) == len(set(got)) == len(made), "return each customer managed key once, and nothing else"
eu = cloud_.client("kms", region_name="eu-west-1")
assert not set(customer_managed_keys(eu)), "the keys are in us-east-1: a client of eu-west-1 must find none"
### END HIDDEN TESTS

# %% [markdown]
# ## Task 2 (3 points): let S3 use its AWS managed key
#
# Write `store_with_aws_managed_key(s3, bucket, name, body)`, which stores the bytes `body` as the object
# `name` of the existing bucket `bucket`, encrypted by S3 with KMS under **the AWS managed key for S3**
# (so that every use of it is in the account's audit trail, with no key of yours to manage), and returns
# the **ARN of the KMS key** that protects the object, as S3 reports it.

# %% [answer t2]
def store_with_aws_managed_key(s3, bucket, name, body):
    ### BEGIN SOLUTION
    # SSE-KMS without naming a key: S3 uses (and on first use creates) alias/aws/s3.
    out = s3.put_object(Bucket=bucket, Key=name, Body=body, ServerSideEncryption="aws:kms")
    return out["SSEKMSKeyId"]
    ### END SOLUTION

# %% [check t2 points=3 "Store an object under the AWS managed key for S3"]
check.t2(store_with_aws_managed_key)
### BEGIN HIDDEN TESTS
import random as _random
from kms_teach.exercises import fresh
cloud_, _ = fresh(seed=_random.randrange(1, 10**6))
region = _random.choice(["eu-west-1", "ap-southeast-2", "sa-east-1"])
s3_ = cloud_.client("s3", region_name=region)
kms_ = cloud_.client("kms", region_name=region)
bucket = f"grading-{_random.randrange(10**6)}"
s3_.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
customer_before = len(kms_.list_keys()["Keys"])
for name, body in [("report.csv", b"id,total\n1,42\n"), ("notes/2027.txt", "x".encode() * 5000)]:
    arn = store_with_aws_managed_key(s3_, bucket, name, body)
    head = s3_.head_object(Bucket=bucket, Key=name)
    assert head.get("ServerSideEncryption") == "aws:kms", \
        f"the object is stored with {head.get('ServerSideEncryption')!r}, not SSE-KMS: SSE-S3 (AES256) uses an AWS " \
        "owned key, which is not in your account and leaves no trail there"
    managed = kms_.describe_key(KeyId=head["SSEKMSKeyId"])["KeyMetadata"]
    assert managed["KeyManager"] == "AWS", \
        "S3 used a customer managed key: name no key, so S3 uses the AWS managed key alias/aws/s3"
    assert arn == managed["Arn"], \
        "return the key ARN S3 reports for the object (PutObject's SSEKMSKeyId), not an alias, key ID or made-up ARN"
    assert s3_.get_object(Bucket=bucket, Key=name)["Body"].read() == body, "the object does not hold body"
assert len(kms_.list_keys()["Keys"]) == customer_before + 1, \
    "store_with_aws_managed_key created keys of its own: S3 creates the AWS managed key, once, by itself"
### END HIDDEN TESTS

# %% [markdown]
# ## Task 3 (3 points): only through its service
#
# A team asks whether its application may call `Encrypt` with a key directly. Write
# `required_service(kms, key_ref)` for a key given by key ID, ARN or alias. If the key is **customer
# managed**, return `None`: who may use it is up to the key policy you write. If it is **AWS managed**,
# return the service endpoint its key policy requires every use to come through (the `kms:ViaService`
# value, for example `"s3.us-east-1.amazonaws.com"`), the only way anyone can use it.

# %% [answer t3]
def required_service(kms, key_ref):
    ### BEGIN SOLUTION
    md = kms.describe_key(KeyId=key_ref)["KeyMetadata"]
    if md["KeyManager"] != "AWS":
        return None
    policy = json.loads(kms.get_key_policy(KeyId=md["KeyId"], PolicyName="default")["Policy"])
    for statement in policy["Statement"]:
        via = statement.get("Condition", {}).get("StringEquals", {}).get("kms:ViaService")
        if via:
            return via
    return None
    ### END SOLUTION

# %% [check t3 points=3 "Read an AWS managed key's key policy"]
check.t3(required_service)
### BEGIN HIDDEN TESTS
import random as _random
from kms_teach.exercises import fresh
cloud_, _ = fresh(seed=_random.randrange(1, 10**6))
region = _random.choice(["eu-central-1", "ap-northeast-1", "ca-central-1"])
s3_ = cloud_.client("s3", region_name=region)
kms_ = cloud_.client("kms", region_name=region)
s3_.create_bucket(Bucket="grading-via", CreateBucketConfiguration={"LocationConstraint": region})
s3_.put_object(Bucket="grading-via", Key="k", Body=b"v", ServerSideEncryption="aws:kms")
managed = kms_.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]
for ref in ("alias/aws/s3", managed["KeyId"], managed["Arn"]):
    got = required_service(kms_, ref)
    assert got == f"s3.{region}.amazonaws.com", \
        f"for the AWS managed key given as {ref.split(':')[0]}..., required_service returned {got!r}: read the " \
        "kms:ViaService condition of its key policy (GetKeyPolicy), which names the service and the key's Region"
mine = kms_.create_key(Description="application key")["KeyMetadata"]
kms_.create_alias(AliasName="alias/app", TargetKeyId=mine["KeyId"])
for ref in (mine["KeyId"], "alias/app", mine["Arn"]):
    got = required_service(kms_, ref)
    assert got is None, f"for a customer managed key required_service returned {got!r}: look at KeyManager first"
### END HIDDEN TESTS
