# ---
# assignment: ex00_first_steps
# title: First steps - a named key, a round trip, and Regions that do not share keys
# ---

# %% [markdown]
# # Exercise 00: first steps with KMS
#
# Goes with notebook [00_start_here](../notebooks/00_start_here.ipynb). Each task asks you to write a small function that uses KMS
# through a boto3 client. Under each task a **self-check** runs your function once and tells you
# what looks wrong; passing it is not full marks: the **hidden checks**, which run when your
# notebook is graded, call your function again with other inputs against a fresh cloud.
#
# Work top to bottom. Replace each `raise NotImplementedError(...)` with your code; keep the
# function names and parameters.

# %% [setup]
import kms_teach
from kms_teach.exercises import ex00 as check

cloud = kms_teach.Cloud(seed=2026)
kms = cloud.client("kms", region_name="eu-west-1")

# %% [markdown]
# ## Task 1 (2 points): a KMS key with a name
#
# Write `make_key(kms, description, alias)`. It creates a **symmetric encryption** KMS key with the
# given description, gives it the alias `alias` (a full name such as `"alias/payroll"`), and returns
# the new key's **key ID**.

# %% [answer t1]
def make_key(kms, description, alias):
    ### BEGIN SOLUTION
    key_id = kms.create_key(Description=description)["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    return key_id
    ### END SOLUTION

# %% [check t1 points=2 "A KMS key with a description and an alias"]
check.t1(make_key)
### BEGIN HIDDEN TESTS
from kms_teach.exercises import fresh
cloud_, kms_ = fresh(seed=101)
ids = []
for description, alias in [("salaries 2027", "alias/hr-payroll"), ("backups", "alias/ops/backups")]:
    key_id = make_key(kms_, description, alias)
    md = kms_.describe_key(KeyId=key_id)["KeyMetadata"]
    assert md["KeyId"] == key_id, "make_key must return the key ID (not the ARN or the alias)"
    assert md["Description"] == description, "the key's description is not the one asked for: pass Description"
    assert md["KeySpec"] == "SYMMETRIC_DEFAULT" and md["KeyUsage"] == "ENCRYPT_DECRYPT", \
        "the key must be a symmetric encryption key: what CreateKey makes when you ask for nothing else"
    try:
        target = kms_.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"]
    except Exception:
        raise AssertionError(f"there is no alias {alias}: create it with the full alias name make_key is given")
    assert target == key_id, f"{alias} does not point at the key make_key returned"
    ids.append(key_id)
assert ids[0] != ids[1], "each call must create a new key (CreateKey), not reuse one"
### END HIDDEN TESTS

# %% [markdown]
# ## Task 2 (3 points): a round trip through KMS
#
# Write `protect(kms, key_ref, text)`, which encrypts the string `text` (UTF-8) under the KMS key
# `key_ref` (a key ID, ARN or alias) and returns the **ciphertext blob** (bytes), and
# `reveal(kms, blob)`, which decrypts such a blob and returns the original string. Remember what
# Decrypt needs and what it does not.

# %% [answer t2]
def protect(kms, key_ref, text):
    ### BEGIN SOLUTION
    return kms.encrypt(KeyId=key_ref, Plaintext=text.encode("utf-8"))["CiphertextBlob"]
    ### END SOLUTION


def reveal(kms, blob):
    ### BEGIN SOLUTION
    return kms.decrypt(CiphertextBlob=blob)["Plaintext"].decode("utf-8")
    ### END SOLUTION

# %% [check t2 points=3 "Encrypt and decrypt a message"]
check.t2(protect, reveal)
### BEGIN HIDDEN TESTS
from kms_teach.exercises import fresh
cloud_, kms_ = fresh(seed=202)
key_id = kms_.create_key()["KeyMetadata"]["KeyId"]
kms_.create_alias(AliasName="alias/grading", TargetKeyId=key_id)
for ref, text in [(key_id, "näive café ☕"), ("alias/grading", "x" * 3000)]:
    blob = protect(kms_, ref, text)
    assert isinstance(blob, bytes), "protect must return the ciphertext blob as bytes (Encrypt's CiphertextBlob)"
    assert text.encode() not in blob, "the plaintext can be read in what protect returned: call Encrypt"
    try:
        out = kms_.decrypt(CiphertextBlob=blob)
    except Exception as exc:
        raise AssertionError(f"KMS cannot decrypt what protect returned ({exc}): return CiphertextBlob as it is, "
                             "not base64 or the whole response")
    assert out["Plaintext"] == text.encode("utf-8"), "protect did not encrypt the UTF-8 bytes of the text"
    assert out["KeyId"].endswith(key_id), "protect did not use the key it was given (key_ref: an ID or an alias)"
other = kms_.encrypt(KeyId=key_id, Plaintext="made by the grader".encode())["CiphertextBlob"]
assert reveal(kms_, other) == "made by the grader", \
    "reveal must decrypt any ciphertext blob of this account and return the text (decode Plaintext as UTF-8)"
### END HIDDEN TESTS

# %% [markdown]
# ## Task 3 (3 points): Regions do not share keys
#
# Every Region has its own KMS with its own keys. Write `find_key(cloud, regions, description)`,
# which looks in each Region of the list `regions` (make a client per Region with
# `cloud.client("kms", region_name=...)`) for the one KMS key whose description is `description`,
# and returns `(region, key_id)`. If no Region has it, return `None`.

# %% [answer t3]
def find_key(cloud, regions, description):
    ### BEGIN SOLUTION
    for region in regions:
        client = cloud.client("kms", region_name=region)
        for page in client.get_paginator("list_keys").paginate():
            for key in page["Keys"]:
                md = client.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
                if md["Description"] == description:
                    return region, md["KeyId"]
    return None
    ### END SOLUTION

# %% [check t3 points=3 "Find a key across Regions"]
check.t3(find_key)
### BEGIN HIDDEN TESTS
from kms_teach.exercises import fresh
cloud_, _ = fresh(seed=303)
regions = ["us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1"]
placed = {}
for i, region in enumerate(regions):
    client = cloud_.client("kms", region_name=region)
    for j in range(105 if region == "ap-southeast-2" else 3):  # more than one page (ListKeys: 100)
        client.create_key(Description=f"filler {i}-{j}")
    placed[region] = client.create_key(Description=f"needle in {region}")["KeyMetadata"]["KeyId"]
for region, key_id in placed.items():
    found = find_key(cloud_, regions, f"needle in {region}")
    assert found is not None, (f"find_key found nothing for the key in {region}: did you search every Region of "
                               "the list, and every page of ListKeys (100 keys a page)?")
    assert tuple(found) == (region, key_id), \
        (f"find_key returned {found!r} for the key in {region}: return (Region, key ID), and look at every page "
         "of ListKeys")
assert find_key(cloud_, regions, "no such key") is None, "find_key must return None when no Region has the key"
assert find_key(cloud_, ["eu-west-1"], "needle in us-east-1") is None, \
    "find_key found a key in a Region it was not asked to search: search only the Regions of the list"
### END HIDDEN TESTS
