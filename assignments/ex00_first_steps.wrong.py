# Wrong answers for ex00_first_steps: plausible mistakes, each of which must lose its task.
# `kms-teach assign --validate` grades each one (in place of its task's answer) and the project's tests
# do too; a hidden check that lets one through is too weak. Format: docs/grading.md.

# %% [wrong t1 "returns the ARN"]
def make_key(kms, description, alias):
    md = kms.create_key(Description=description)["KeyMetadata"]
    kms.create_alias(AliasName=alias, TargetKeyId=md["KeyId"])
    return md["Arn"]

# %% [wrong t1 "forgets the alias"]
def make_key(kms, description, alias):
    return kms.create_key(Description=description)["KeyMetadata"]["KeyId"]

# %% [wrong t1 "an asymmetric key"]
def make_key(kms, description, alias):
    key_id = kms.create_key(Description=description, KeySpec="RSA_2048",
                            KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    return key_id

# %% [wrong t2 "identity 'encryption'"]
def protect(kms, key_ref, text):
    return text.encode("utf-8")

def reveal(kms, blob):
    return blob.decode("utf-8")

# %% [wrong t2 "returns base64 text of the blob"]
import base64

def protect(kms, key_ref, text):
    return base64.b64encode(kms.encrypt(KeyId=key_ref, Plaintext=text.encode())["CiphertextBlob"])

def reveal(kms, blob):
    return kms.decrypt(CiphertextBlob=base64.b64decode(blob))["Plaintext"].decode()

# %% [wrong t2 "encrypts under a key of its own"]
def protect(kms, key_ref, text):
    mine = kms.create_key()["KeyMetadata"]["KeyId"]
    return kms.encrypt(KeyId=mine, Plaintext=text.encode())["CiphertextBlob"]

def reveal(kms, blob):
    return kms.decrypt(CiphertextBlob=blob)["Plaintext"].decode()

# %% [wrong t3 "reads only the first page of ListKeys"]
def find_key(cloud, regions, description):
    for region in regions:
        client = cloud.client("kms", region_name=region)
        for key in client.list_keys()["Keys"]:
            md = client.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
            if md["Description"] == description:
                return region, md["KeyId"]
    return None

# %% [wrong t3 "searches its own list of Regions"]
def find_key(cloud, regions, description):
    for region in ["us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1", "ap-south-1"]:
        client = cloud.client("kms", region_name=region)
        for page in client.get_paginator("list_keys").paginate():
            for key in page["Keys"]:
                md = client.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
                if md["Description"] == description:
                    return region, md["KeyId"]
    return None

# %% [wrong t3 "returns the ARN"]
def find_key(cloud, regions, description):
    for region in regions:
        client = cloud.client("kms", region_name=region)
        for page in client.get_paginator("list_keys").paginate():
            for key in page["Keys"]:
                md = client.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
                if md["Description"] == description:
                    return region, md["Arn"]
    return None
