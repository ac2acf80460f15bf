# Wrong answers for ex04_rotation: plausible mistakes, each of which must lose its task.
# `kms-teach assign --validate` grades each one (in place of its task's answer) and the project's tests
# do too; a hidden check that lets one through is too weak. Format: docs/grading.md.

# %% [wrong t1 "the default period only"]
def enable_rotation(kms, key_id, days):
    kms.enable_key_rotation(KeyId=key_id)

# %% [wrong t1 "rotates once, now"]
def enable_rotation(kms, key_id, days):
    kms.rotate_key_on_demand(KeyId=key_id)

# %% [wrong t1 "enables, then rotates at once"]
def enable_rotation(kms, key_id, days):
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=days)
    kms.rotate_key_on_demand(KeyId=key_id)

# %% [wrong t2 "the current backing key"]
def backing_key_of(kms, blob):
    key_id = kms.decrypt(CiphertextBlob=blob)["KeyId"]
    return kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]

# %% [wrong t2 "the KMS key's ID"]
def backing_key_of(kms, blob):
    return kms.decrypt(CiphertextBlob=blob)["KeyId"]

# %% [wrong t2 "the original backing key"]
def backing_key_of(kms, blob):
    key_id = kms.decrypt(CiphertextBlob=blob)["KeyId"]
    return kms.list_key_rotations(KeyId=key_id, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"][0]["KeyMaterialId"]

# %% [wrong t3 "returns the blobs unchanged (rotation re-encrypts, does it not?)"]
def refresh(kms, key_id, blobs):
    kms.rotate_key_on_demand(KeyId=key_id)
    return list(blobs)

# %% [wrong t3 "Decrypt then Encrypt"]
def refresh(kms, key_id, blobs):
    return [kms.encrypt(KeyId=key_id, Plaintext=kms.decrypt(CiphertextBlob=b)["Plaintext"])["CiphertextBlob"]
            for b in blobs]

# %% [wrong t3 "ReEncrypt under a new KMS key"]
def refresh(kms, key_id, blobs):
    new_key = kms.create_key()["KeyMetadata"]["KeyId"]
    return [kms.re_encrypt(CiphertextBlob=b, DestinationKeyId=new_key)["CiphertextBlob"] for b in blobs]
