"""Self-checks of exercise 05 (key ownership)."""

from __future__ import annotations

from . import Failed, expect, fresh, self_check


def _aws_managed_key(cloud, region: str = "us-east-1") -> dict:
    """The AWS managed key for S3 of the cloud's account in ``region``, made the way S3 makes it: on first use."""
    s3 = cloud.client("s3", region_name=region)
    bucket = f"self-check-{region}"
    conf = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=bucket, **conf)
    s3.put_object(Bucket=bucket, Key="first", Body=b"first object", ServerSideEncryption="aws:kms")
    return cloud.client("kms", region_name=region).describe_key(KeyId="alias/aws/s3")["KeyMetadata"]


@self_check("Task 1")
def t1(customer_managed_keys) -> None:
    cloud, kms = fresh()
    made = [kms.create_key(Description=f"key {i}")["KeyMetadata"]["KeyId"] for i in range(3)]
    managed = _aws_managed_key(cloud)["KeyId"]
    # A customer managed key whose description copies an AWS managed key's: only KeyManager tells them apart.
    made.append(kms.create_key(Description="Default key that protects my S3 resources when no other key is "
                                           "defined")["KeyMetadata"]["KeyId"])
    # More than one page of ListKeys (100 keys a page unless you ask for another Limit).
    made += [kms.create_key(Description=f"more {i}")["KeyMetadata"]["KeyId"] for i in range(100)]
    got = customer_managed_keys(kms)
    expect(got is not None, "customer_managed_keys returned None: return a set of key IDs")
    try:
        got = list(got)
    except TypeError:
        raise Failed(f"customer_managed_keys returned {type(got).__name__}; return a set of key IDs") from None
    expect(all(isinstance(k, str) for k in got),
           "return key IDs (strings), not the entries of ListKeys or the answers of DescribeKey")
    expect(not any(k.startswith("arn:") for k in got), "return key IDs, not key ARNs")
    expect(managed not in got, "the AWS managed key alias/aws/s3 is among them: DescribeKey's KeyManager is AWS for it")
    missing = set(made) - set(got)
    expect(len(missing) < len(made) - 1, "almost none of the customer managed keys are there (most have no alias): "
                                         "ListKeys lists every key, with an alias or not")
    expect(not missing - {made[3]}, f"{len(missing)} of the {len(made)} customer managed keys are missing: ListKeys "
                                    "answers 100 keys a page; read every page (Marker, or a paginator)")
    expect(not missing, "the customer managed key described \"Default key that protects my S3 resources ...\" is "
                        "missing: a description is anyone's text; KeyManager says who manages a key")
    expect(len(got) == len(set(got)) == len(made), "return each customer managed key once, and nothing else")


@self_check("Task 2")
def t2(store_with_aws_managed_key) -> None:
    cloud, kms = fresh()
    s3 = cloud.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="self-check-bucket")
    keys_before = len(kms.list_keys()["Keys"])
    arn = store_with_aws_managed_key(s3, "self-check-bucket", "plan.txt", b"attack at dawn")
    head = s3.head_object(Bucket="self-check-bucket", Key="plan.txt")
    sse = head.get("ServerSideEncryption")
    expect(sse == "aws:kms", f"the object is stored with ServerSideEncryption {sse!r}: that is SSE-S3, under an AWS "
                             "owned key outside your account; ask S3 for SSE-KMS (aws:kms)" if sse == "AES256" else
           f"the object is stored with ServerSideEncryption {sse!r}, not SSE-KMS (aws:kms)")
    used = kms.describe_key(KeyId=head["SSEKMSKeyId"])["KeyMetadata"]
    expect(used["KeyManager"] == "AWS", "S3 used a customer managed key: name no key, and S3 uses (and on first use "
                                        "creates) the AWS managed key alias/aws/s3")
    expect(len(kms.list_keys()["Keys"]) == keys_before + 1,
           "a key of your own was created too: S3 creates the AWS managed key by itself")
    what = repr(arn) if isinstance(arn, str) or arn is None else f"a {type(arn).__name__}"
    expect(arn == used["Arn"], f"returned {what}: return the key ARN S3 reports for the object (PutObject's "
                               "SSEKMSKeyId)")
    expect(s3.get_object(Bucket="self-check-bucket", Key="plan.txt")["Body"].read() == b"attack at dawn",
           "the object does not hold the body it was given")


@self_check("Task 3")
def t3(required_service) -> None:
    cloud, kms = fresh()
    managed = _aws_managed_key(cloud, "eu-west-1")
    eu = cloud.client("kms", region_name="eu-west-1")
    got = required_service(eu, "alias/aws/s3")
    expect(got == "s3.eu-west-1.amazonaws.com",
           f"for alias/aws/s3 in eu-west-1 it returned {got!r}: read the kms:ViaService condition of the key's "
           "key policy (GetKeyPolicy): it names the service and the Region")
    got = required_service(eu, managed["KeyId"])
    expect(got == "s3.eu-west-1.amazonaws.com",
           f"given the same key by its key ID it returned {got!r}: DescribeKey accepts an ID, ARN or alias")
    mine = kms.create_key(Description="application key")["KeyMetadata"]["KeyId"]
    got = required_service(kms, mine)
    expect(got is None, f"for a customer managed key it returned {got!r}: return None when KeyManager is CUSTOMER")
