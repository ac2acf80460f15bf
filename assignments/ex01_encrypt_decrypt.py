# ---
# assignment: ex01_encrypt_decrypt
# title: Encryption context, and narrow use of a key for one role
# ---

# %% [markdown]
# # Exercise 01: encryption context and narrow permissions
#
# Goes with notebook [01_encrypt_decrypt](../notebooks/01_encrypt_decrypt.ipynb). A multi-tenant application keeps one KMS key for all its
# customers ("tenants") and binds each record to its tenant with an **encryption context**. Then a
# reporting user gets the right to decrypt one tenant's records, and nothing more.
#
# Each task has a self-check under it; the hidden checks run at grading, with other inputs.

# %% [setup]
import kms_teach
from kms_teach.exercises import ex01 as check

cloud = kms_teach.Cloud(seed=2026)
kms = cloud.client("kms", region_name="us-east-1")
ACCOUNT = cloud.account_id

# %% [markdown]
# ## Task 1 (2 points): bind a record to its tenant
#
# Write `encrypt_record(kms, key_id, record, tenant)`: encrypt the bytes `record` under `key_id` with
# the encryption context `{"tenant": tenant}` and return the ciphertext blob.

# %% [answer t1]
def encrypt_record(kms, key_id, record, tenant):
    ### BEGIN SOLUTION
    return kms.encrypt(KeyId=key_id, Plaintext=record, EncryptionContext={"tenant": tenant})["CiphertextBlob"]
    ### END SOLUTION

# %% [check t1 points=2 "Encrypt with the tenant as encryption context"]
check.t1(encrypt_record)
### BEGIN HIDDEN TESTS
from kms_teach.exercises import fresh, error_code
cloud_, kms_ = fresh(seed=11)
key_id = kms_.create_key()["KeyMetadata"]["KeyId"]
for tenant, record in [("acme", b"invoice 17"), ("globex", bytes(range(256)) * 8)]:
    blob = encrypt_record(kms_, key_id, record, tenant)
    try:
        out = kms_.decrypt(CiphertextBlob=blob, EncryptionContext={"tenant": tenant})
    except Exception as exc:
        raise AssertionError(f"the record does not decrypt with the encryption context {{'tenant': {tenant!r}}} "
                             f"({error_code(exc) or exc}): encrypt it with exactly that context")
    assert out["Plaintext"] == record, "the record does not decrypt to itself: encrypt the record's bytes as they are"
    for wrong in ({}, {"tenant": tenant + "x"}, {"tenant": tenant, "extra": "1"}):
        try:
            kms_.decrypt(CiphertextBlob=blob, EncryptionContext=wrong)
        except Exception as exc:
            assert error_code(exc) == "InvalidCiphertextException", f"decrypting with another context gave {exc}"
        else:
            raise AssertionError(f"the record also decrypts with the context {wrong}: bind it to exactly "
                                 "{'tenant': tenant}")
### END HIDDEN TESTS

# %% [markdown]
# ## Task 2 (2 points): decrypt a tenant's record
#
# Write `decrypt_record(kms, blob, tenant)`, which returns the plaintext of a record that
# `encrypt_record` made for `tenant`. A record of another tenant must **not** come back: let KMS's
# error propagate.

# %% [answer t2]
def decrypt_record(kms, blob, tenant):
    ### BEGIN SOLUTION
    return kms.decrypt(CiphertextBlob=blob, EncryptionContext={"tenant": tenant})["Plaintext"]
    ### END SOLUTION

# %% [check t2 points=2 "Decrypt with the tenant's context"]
check.t2(decrypt_record)
### BEGIN HIDDEN TESTS
from kms_teach.exercises import fresh, error_code
cloud_, kms_ = fresh(seed=12)
key_id = kms_.create_key()["KeyMetadata"]["KeyId"]
blob = kms_.encrypt(KeyId=key_id, Plaintext=b"q3 numbers", EncryptionContext={"tenant": "initech"})["CiphertextBlob"]
try:
    got = decrypt_record(kms_, blob, "initech")
except Exception as exc:
    raise AssertionError(f"decrypt_record failed for the right tenant ({error_code(exc) or exc}): Decrypt needs the "
                         "same encryption context Encrypt got")
assert got == b"q3 numbers", "decrypt_record did not return the plaintext bytes (Decrypt's Plaintext)"
try:
    leaked = decrypt_record(kms_, blob, "hooli")
except Exception as exc:
    assert error_code(exc) == "InvalidCiphertextException", \
        f"asked as another tenant, expected KMS's InvalidCiphertextException to reach the caller, got {exc!r}"
else:
    raise AssertionError("a record of one tenant came back when asked as another: do not catch KMS's error, and "
                         "never retry without the context")
plain = kms_.encrypt(KeyId=key_id, Plaintext=b"no context")["CiphertextBlob"]
try:
    decrypt_record(kms_, plain, "initech")
except Exception:
    pass
else:
    raise AssertionError("a record made without any tenant came back as a tenant's: decrypt with the tenant's "
                         "encryption context only, never without it")
### END HIDDEN TESTS

# %% [markdown]
# ## Task 3 (4 points): one user, one tenant, decrypt only
#
# The IAM user `user_arn` has no permissions at all. Write `allow_tenant_reader(kms, key_id, user_arn,
# tenant)` so that afterwards this user can **Decrypt** records of `tenant` with this key, and nothing
# else: not other tenants' records, not Encrypt, not GenerateDataKey, and nobody else gains anything.
# A grant or a key policy statement with a condition both work; `cloud.explain` tells you why a
# call would be allowed.

# %% [answer t3]
def allow_tenant_reader(kms, key_id, user_arn, tenant):
    ### BEGIN SOLUTION
    kms.create_grant(KeyId=key_id, GranteePrincipal=user_arn, Operations=["Decrypt"],
                     Constraints={"EncryptionContextEquals": {"tenant": tenant}})
    ### END SOLUTION

# %% [check t3 points=4 "A context-constrained Decrypt-only permission"]
check.t3(allow_tenant_reader)
### BEGIN HIDDEN TESTS
from kms_teach.exercises import fresh, error_code
cloud_, kms_ = fresh(seed=13)
iam_ = cloud_.client("iam")
acct = cloud_.account_id
for name in ("reporter", "stranger"):
    iam_.create_user(UserName=name)
reporter = f"arn:aws:iam::{acct}:user/reporter"
stranger = f"arn:aws:iam::{acct}:user/stranger"
key_id = kms_.create_key()["KeyMetadata"]["KeyId"]
mine = kms_.encrypt(KeyId=key_id, Plaintext=b"acme data", EncryptionContext={"tenant": "acme"})["CiphertextBlob"]
theirs = kms_.encrypt(KeyId=key_id, Plaintext=b"globex data", EncryptionContext={"tenant": "globex"})["CiphertextBlob"]
allow_tenant_reader(kms_, key_id, reporter, "acme")
as_reporter = cloud_.client("kms", region_name="us-east-1", principal=reporter)
as_stranger = cloud_.client("kms", region_name="us-east-1", principal=stranger)
try:
    as_reporter.decrypt(CiphertextBlob=mine, EncryptionContext={"tenant": "acme"})
except Exception as exc:
    raise AssertionError(f"the user still cannot decrypt the tenant's record ({error_code(exc) or exc}): a grant to "
                         "user_arn (notebook 03, section 5) or a key policy statement naming it must allow Decrypt "
                         "with this tenant's encryption context; cloud.explain says which statement decided")

def refused(call, what):
    try:
        call()
    except Exception as exc:
        assert error_code(exc) in ("AccessDeniedException", "InvalidCiphertextException"), f"{what}: {exc}"
    else:
        raise AssertionError(f"{what} was allowed: give Decrypt only, to user_arn only, constrained to the "
                             "tenant's encryption context (a grant's Constraints, or a statement's Condition)")

refused(lambda: as_reporter.decrypt(CiphertextBlob=theirs, EncryptionContext={"tenant": "globex"}),
        "the reporter decrypting another tenant's record")
refused(lambda: as_reporter.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext={"tenant": "acme"}),
        "the reporter encrypting")
refused(lambda: as_reporter.generate_data_key(KeyId=key_id, KeySpec="AES_256", EncryptionContext={"tenant": "acme"}),
        "the reporter generating data keys")
refused(lambda: as_stranger.decrypt(CiphertextBlob=mine, EncryptionContext={"tenant": "acme"}),
        "another user decrypting acme's record")
for action in ("kms:Decrypt", "kms:Encrypt", "kms:PutKeyPolicy", "kms:CreateGrant"):
    assert not cloud_.explain(stranger, action, key_id, encryption_context={"tenant": "acme"}).allowed, \
        f"another user is now allowed {action}: name user_arn as the grantee or Principal, never \"*\""
for action in ("kms:CreateGrant", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:PutKeyPolicy",
               "kms:GenerateDataKeyWithoutPlaintext", "kms:ScheduleKeyDeletion", "kms:RetireGrant"):
    assert not cloud_.explain(reporter, action, key_id, encryption_context={"tenant": "acme"}).allowed, \
        f"the reporter may {action}: Decrypt only (a grant's Operations, or a statement's Action, is exactly what it allows)"
### END HIDDEN TESTS
