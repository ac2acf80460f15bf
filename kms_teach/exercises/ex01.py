"""Self-checks of exercise 01 (encryption context, narrow permissions)."""

from __future__ import annotations

from . import Failed, allows_everyone, error_code, expect, fresh, self_check


@self_check("Task 1")
def t1(encrypt_record) -> None:
    _, kms = fresh()
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = encrypt_record(kms, key_id, b"invoice 1", "acme")
    expect(isinstance(blob, (bytes, bytearray)), "return the CiphertextBlob (bytes)")
    try:
        kms.decrypt(CiphertextBlob=blob)
    except Exception as exc:
        expect(error_code(exc) == "InvalidCiphertextException", f"unexpected error {exc}")
    else:
        raise Failed("the record decrypts without any encryption context: pass EncryptionContext={'tenant': tenant} "
                     "to Encrypt, so that only a caller who names the tenant gets it back")
    try:
        kms.decrypt(CiphertextBlob=blob, EncryptionContext={"tenant": "acme"})
    except Exception:
        raise Failed("the record does not decrypt with {'tenant': 'acme'}: is the context exactly that one "
                     "(the key 'tenant', the tenant's name as value)?") from None


@self_check("Task 2")
def t2(decrypt_record) -> None:
    _, kms = fresh()
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"q1", EncryptionContext={"tenant": "acme"})["CiphertextBlob"]
    try:
        out = decrypt_record(kms, blob, "acme")
    except Exception as exc:
        if error_code(exc) == "InvalidCiphertextException":
            raise Failed("KMS refused the record: Decrypt must be given the same encryption context Encrypt got "
                         "(the context is not stored in a way that lets KMS fill it in for you)") from None
        raise
    expect(out == b"q1", f"decrypt_record returned {out!r}; return Decrypt's Plaintext (bytes)")
    expect(_raises(decrypt_record, kms, blob, "globex"),
           "asked as another tenant, decrypt_record still returned the record: do not catch the error, and do not "
           "retry without the context")
    untagged = kms.encrypt(KeyId=key_id, Plaintext=b"no tenant")["CiphertextBlob"]
    expect(_raises(decrypt_record, kms, untagged, "acme"),
           "a record encrypted without any tenant came back as acme's: decrypt with the tenant's encryption context "
           "only, never retry without it")


def _raises(fn, *args) -> bool:
    """Did ``fn(*args)`` fail (as a refused decryption must)?"""
    try:
        fn(*args)
    except Exception:
        return True
    return False


@self_check("Task 3")
def t3(allow_tenant_reader) -> None:
    cloud, kms = fresh()
    cloud.client("iam").create_user(UserName="reader")
    user = f"arn:aws:iam::{cloud.account_id}:user/reader"
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"r", EncryptionContext={"tenant": "acme"})["CiphertextBlob"]
    allow_tenant_reader(kms, key_id, user, "acme")
    policy = kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
    expect(not allows_everyone(policy), 'the key policy now allows Principal "*": anyone, in any account, can match '
                                        "that statement; name the user instead")
    reader = cloud.client("kms", region_name="us-east-1", principal=user)
    try:
        reader.decrypt(CiphertextBlob=blob, EncryptionContext={"tenant": "acme"})
    except Exception as exc:
        raise Failed(f"the user still cannot decrypt acme's record ({error_code(exc)}); "
                     f"cloud.explain(user, 'kms:Decrypt', key_id, encryption_context=...) says why") from None
    expect(not cloud.explain(user, "kms:Encrypt", key_id, encryption_context={"tenant": "acme"}).allowed,
           "the user may now Encrypt too: give Decrypt only")
    for action in ("kms:CreateGrant", "kms:ReEncryptFrom", "kms:GenerateDataKey"):
        expect(not cloud.explain(user, action, key_id, encryption_context={"tenant": "acme"}).allowed,
               f"the user may now {action.removeprefix('kms:')} too: give Decrypt only (a grant's Operations "
               "list, or a statement's Action, is exactly what it allows)")
    expect(not cloud.explain(user, "kms:Decrypt", key_id, encryption_context={"tenant": "globex"}).allowed,
           "the user may decrypt other tenants' records: constrain the permission by encryption context")
