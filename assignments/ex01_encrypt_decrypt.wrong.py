# Wrong answers for ex01_encrypt_decrypt: plausible mistakes, each of which must lose its task.
# `kms-teach assign --validate` grades each one (in place of its task's answer) and the project's tests
# do too; a hidden check that lets one through is too weak. Format: docs/grading.md.

# %% [wrong t1 "no encryption context"]
def encrypt_record(kms, key_id, record, tenant):
    return kms.encrypt(KeyId=key_id, Plaintext=record)["CiphertextBlob"]

# %% [wrong t1 "a context with more than the tenant"]
def encrypt_record(kms, key_id, record, tenant):
    return kms.encrypt(KeyId=key_id, Plaintext=record,
                       EncryptionContext={"tenant": tenant, "app": "billing"})["CiphertextBlob"]

# %% [wrong t1 "the tenant as the context's key"]
def encrypt_record(kms, key_id, record, tenant):
    return kms.encrypt(KeyId=key_id, Plaintext=record, EncryptionContext={tenant: "tenant"})["CiphertextBlob"]

# %% [wrong t2 "no encryption context"]
def decrypt_record(kms, blob, tenant):
    return kms.decrypt(CiphertextBlob=blob)["Plaintext"]

# %% [wrong t2 "retries without the context"]
def decrypt_record(kms, blob, tenant):
    try:
        return kms.decrypt(CiphertextBlob=blob, EncryptionContext={"tenant": tenant})["Plaintext"]
    except Exception:
        return kms.decrypt(CiphertextBlob=blob)["Plaintext"]

# %% [wrong t2 "swallows the error"]
def decrypt_record(kms, blob, tenant):
    try:
        return kms.decrypt(CiphertextBlob=blob, EncryptionContext={"tenant": tenant})["Plaintext"]
    except Exception:
        return b""

# %% [wrong t3 "a grant without a constraint"]
def allow_tenant_reader(kms, key_id, user_arn, tenant):
    kms.create_grant(KeyId=key_id, GranteePrincipal=user_arn, Operations=["Decrypt"])

# %% [wrong t3 "a grant for Encrypt too"]
def allow_tenant_reader(kms, key_id, user_arn, tenant):
    kms.create_grant(KeyId=key_id, GranteePrincipal=user_arn, Operations=["Decrypt", "Encrypt", "GenerateDataKey"],
                     Constraints={"EncryptionContextEquals": {"tenant": tenant}})

# %% [wrong t3 "a key policy statement for Principal *"]
import json

def allow_tenant_reader(kms, key_id, user_arn, tenant):
    policy = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    policy["Statement"].append({"Sid": "Readers", "Effect": "Allow", "Principal": {"AWS": "*"},
                                "Action": "kms:Decrypt", "Resource": "*",
                                "Condition": {"StringEquals": {"kms:EncryptionContext:tenant": tenant}}})
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(policy))

# %% [wrong t3 "a grant that also lets the reporter create grants"]
def allow_tenant_reader(kms, key_id, user_arn, tenant):
    kms.create_grant(KeyId=key_id, GranteePrincipal=user_arn,
                     Operations=["Decrypt", "CreateGrant", "RetireGrant", "DescribeKey"],
                     Constraints={"EncryptionContextEquals": {"tenant": tenant}})
