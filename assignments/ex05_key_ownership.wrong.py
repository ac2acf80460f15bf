# Wrong answers for ex05_key_ownership: plausible mistakes, each of which must lose its task.
# `kms-teach assign --validate` grades each one (in place of its task's answer) and the project's tests
# do too; a hidden check that lets one through is too weak. Format: docs/grading.md.

# %% [wrong t1 "every key, AWS managed too"]
def customer_managed_keys(kms):
    return {k["KeyId"] for page in kms.get_paginator("list_keys").paginate() for k in page["Keys"]}

# %% [wrong t1 "reads only the first page of ListKeys"]
def customer_managed_keys(kms):
    mine = set()
    for key in kms.list_keys()["Keys"]:
        if kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyManager"] == "CUSTOMER":
            mine.add(key["KeyId"])
    return mine

# %% [wrong t1 "tells them apart by the description"]
def customer_managed_keys(kms):
    mine = set()
    for page in kms.get_paginator("list_keys").paginate():
        for key in page["Keys"]:
            md = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
            if not md["Description"].startswith("Default key that protects"):
                mine.add(key["KeyId"])
    return mine

# %% [wrong t1 "the keys with an alias not under alias/aws/"]
def customer_managed_keys(kms):
    return {a["TargetKeyId"] for page in kms.get_paginator("list_aliases").paginate() for a in page["Aliases"]
            if "TargetKeyId" in a and not a["AliasName"].startswith("alias/aws/")}

# %% [wrong t2 "SSE-S3 (an AWS owned key)"]
def store_with_aws_managed_key(s3, bucket, name, body):
    out = s3.put_object(Bucket=bucket, Key=name, Body=body, ServerSideEncryption="AES256")
    return out.get("SSEKMSKeyId")

# %% [wrong t2 "returns the whole PutObject answer"]
def store_with_aws_managed_key(s3, bucket, name, body):
    return s3.put_object(Bucket=bucket, Key=name, Body=body, ServerSideEncryption="aws:kms")

# %% [wrong t2 "returns the alias, not the key ARN"]
def store_with_aws_managed_key(s3, bucket, name, body):
    s3.put_object(Bucket=bucket, Key=name, Body=body, ServerSideEncryption="aws:kms")
    return "alias/aws/s3"

# %% [wrong t3 "hard-codes us-east-1"]
def required_service(kms, key_ref):
    md = kms.describe_key(KeyId=key_ref)["KeyMetadata"]
    return "s3.us-east-1.amazonaws.com" if md["KeyManager"] == "AWS" else None

# %% [wrong t3 "never looks at KeyManager"]
def required_service(kms, key_ref):
    return f"s3.{kms.meta.region_name}.amazonaws.com"

# %% [wrong t3 "goes by the alias's name"]
def required_service(kms, key_ref):
    if key_ref.startswith("alias/aws/"):
        return f"{key_ref.split('/')[2]}.{kms.meta.region_name}.amazonaws.com"
    return None
