# ---
# assignment: ex04_rotation
# title: Rotation - which backing key each ciphertext needs, and refreshing old ciphertexts
# ---

# %% [markdown]
# # Exercise 04: rotation and backing keys
#
# Goes with notebook [04_rotation_aliases_deletion](../notebooks/04_rotation_aliases_deletion.ipynb). Rotation gives a KMS key a new **backing key**
# and keeps every old one, so old ciphertexts still decrypt; the key ID, ARN and aliases stay the same.
# Rotation does **not** re-encrypt anything. Use the simulated clock (`cloud.clock.advance(days=...)`)
# to watch it happen.

# %% [setup]
import kms_teach
from kms_teach.exercises import ex04 as check

cloud = kms_teach.Cloud(seed=2026)
kms = cloud.client("kms", region_name="us-east-1")

# %% [markdown]
# ## Task 1 (2 points): automatic rotation on a schedule
#
# Write `enable_rotation(kms, key_id, days)`, which turns on automatic rotation of the KMS key every
# `days` days (AWS allows 90 to 2560).

# %% [answer t1]
def enable_rotation(kms, key_id, days):
    ### BEGIN SOLUTION
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=days)
    ### END SOLUTION

# %% [check t1 points=2 "Enable automatic rotation with a period"]
check.t1(enable_rotation)
### BEGIN HIDDEN TESTS
from kms_teach.exercises import fresh
cloud_, kms_ = fresh(seed=41)
for days in (90, 730, 2560):
    key_id = kms_.create_key()["KeyMetadata"]["KeyId"]
    enable_rotation(kms_, key_id, days)
    status = kms_.get_key_rotation_status(KeyId=key_id)
    assert status["KeyRotationEnabled"], ("automatic rotation is not enabled: GetKeyRotationStatus says off "
                                          "(RotateKeyOnDemand rotates once; it does not turn on a schedule)")
    assert status["RotationPeriodInDays"] == days, \
        f"asked for {days} days, got {status['RotationPeriodInDays']}: the period is a parameter of the call"
    rotations = kms_.list_key_rotations(KeyId=key_id)["Rotations"]
    assert not rotations, "enabling rotation must not rotate at once: the first rotation comes after the period"
### END HIDDEN TESTS

# %% [markdown]
# ## Task 2 (3 points): which backing key does a ciphertext need?
#
# Write `backing_key_of(kms, blob)`, which returns the ID of the key material (the backing key) that
# the ciphertext blob was encrypted under, as KMS reports it (`KeyMaterialId`).

# %% [answer t2]
def backing_key_of(kms, blob):
    ### BEGIN SOLUTION
    return kms.decrypt(CiphertextBlob=blob)["KeyMaterialId"]
    ### END SOLUTION

# %% [check t2 points=3 "Name the backing key a ciphertext needs"]
check.t2(backing_key_of)
### BEGIN HIDDEN TESTS
from kms_teach.exercises import fresh
cloud_, kms_ = fresh(seed=42)
key_id = kms_.create_key()["KeyMetadata"]["KeyId"]
kms_.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=180)
blobs = []
for half_year in range(4):
    blobs.append(kms_.encrypt(KeyId=key_id, Plaintext=f"era {half_year}".encode())["CiphertextBlob"])
    cloud_.clock.advance(days=180)
materials = [r["KeyMaterialId"] for r in kms_.list_key_rotations(
    KeyId=key_id, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]]
answers = [backing_key_of(kms_, b) for b in blobs]
assert len(set(answers)) == 4, ("ciphertexts made under four backing keys must name four backing keys: ask KMS "
                                "about each ciphertext, not about the key")
assert answers == materials[:4], ("a ciphertext was matched to the wrong backing key: what does Decrypt report "
                                  "about the key material it used?")
### END HIDDEN TESTS

# %% [markdown]
# ## Task 3 (4 points): refresh old ciphertexts, without the plaintext leaving KMS
#
# After a suspected leak of old data, a team wants every stored ciphertext re-encrypted under the
# key's **current** backing key. Write `refresh(kms, key_id, blobs)`: the blobs were all encrypted
# under the KMS key `key_id`; return them re-encrypted under its current backing key (same KMS key,
# same order) **without the plaintext ever leaving KMS**: no Decrypt calls. [Notebook 04, section 1
# (Automatic rotation)](../notebooks/04_rotation_aliases_deletion.ipynb) ends with the call that does both
# steps inside KMS.

# %% [answer t3]
def refresh(kms, key_id, blobs):
    ### BEGIN SOLUTION
    # ReEncrypt decrypts and encrypts inside KMS: the plaintext never reaches this program.
    return [kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=key_id)["CiphertextBlob"] for blob in blobs]
    ### END SOLUTION

# %% [check t3 points=4 "Re-encrypt under the current backing key"]
check.t3(refresh)
### BEGIN HIDDEN TESTS
from kms_teach.exercises import fresh
cloud_, kms_ = fresh(seed=43)
k = kms_.create_key()["KeyMetadata"]["KeyId"]
kms_.create_alias(AliasName="alias/records", TargetKeyId=k)
old = []
for i in range(4):
    old.append(kms_.encrypt(KeyId=k, Plaintext=f"record {i}".encode())["CiphertextBlob"])
    kms_.rotate_key_on_demand(KeyId=k)
before = len(cloud_.audit.events)
new = refresh(kms_, "alias/records", old)
calls = [e["eventName"] for e in cloud_.audit.events[before:]]
assert "Decrypt" not in calls, "refresh called Decrypt: the plaintext left KMS (ReEncrypt keeps it inside)"
assert isinstance(new, list) and len(new) == len(old), "refresh must return a list, one ciphertext per input, in order"
for i, blob in enumerate(new):
    current = kms_.describe_key(KeyId=k)["KeyMetadata"]["CurrentKeyMaterialId"]
    out = kms_.decrypt(CiphertextBlob=blob)
    assert out["Plaintext"] == f"record {i}".encode(), \
        "a refreshed ciphertext decrypts to something else: keep the order of the blobs"
    assert out["KeyId"].endswith(k), "a refreshed ciphertext moved to another KMS key: the destination is key_id"
    assert out["KeyMaterialId"] == current, ("a refreshed ciphertext does not use the current backing key: rotation "
                                             "never re-encrypts old ciphertexts by itself")
### END HIDDEN TESTS
