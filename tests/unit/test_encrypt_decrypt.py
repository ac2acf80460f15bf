"""Encrypt, Decrypt, ReEncrypt, GenerateDataKey(WithoutPlaintext) and GenerateRandom."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, ParamValidationError

from tests.conftest import error_code, error_message


def test_encrypt_then_decrypt_without_naming_the_key(kms, key_id):
    out = kms.encrypt(KeyId=key_id, Plaintext=b"attack at dawn")
    assert out["KeyId"].endswith(key_id) and out["KeyId"].startswith("arn:aws:kms:us-east-1:")
    assert out["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert b"attack at dawn" not in out["CiphertextBlob"]
    back = kms.decrypt(CiphertextBlob=out["CiphertextBlob"])
    assert back["Plaintext"] == b"attack at dawn"
    assert back["KeyId"] == out["KeyId"]
    assert back["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert back["KeyMaterialId"] == kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]


def test_encrypt_by_alias(kms, key_id):
    kms.create_alias(AliasName="alias/catrobot", TargetKeyId=key_id)
    blob = kms.encrypt(KeyId="alias/catrobot", Plaintext=b"battle plans")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"battle plans"


def test_encrypting_the_same_plaintext_twice_gives_different_ciphertexts(kms, key_id):
    a = kms.encrypt(KeyId=key_id, Plaintext=b"same")["CiphertextBlob"]
    b = kms.encrypt(KeyId=key_id, Plaintext=b"same")["CiphertextBlob"]
    assert a != b


@pytest.mark.parametrize("size", [1, 4096])
def test_encrypt_accepts_1_to_4096_bytes(kms, key_id, size):
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"\x07" * size)["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"\x07" * size
    assert len(blob) <= 6144


def test_encrypt_over_4096_bytes_is_refused_by_kms_with_awss_message(kms, key_id):
    # botocore checks only minimums client-side, so the request reaches KMS, which refuses it.
    with pytest.raises(ClientError) as excinfo:
        kms.encrypt(KeyId=key_id, Plaintext=b"x" * 4097)
    assert error_code(excinfo) == "ValidationException"
    assert error_message(excinfo) == (
        "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: "
        "Member must have length less than or equal to 4096"
    )


def test_an_empty_plaintext_is_refused_by_kms(kms, key_id):
    with pytest.raises(ClientError) as excinfo:
        kms.encrypt(KeyId=key_id, Plaintext=b"")
    assert error_message(excinfo) == (
        "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1"
    )


def test_decrypt_needs_the_exact_encryption_context(kms, key_id):
    ctx = {"Department": "IT", "Project": "catrobot"}
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext=ctx)["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=dict(reversed(ctx.items())))["Plaintext"] == b"x"
    for wrong in (None, {}, {"Department": "IT"}, {**ctx, "extra": "1"}, {"Department": "it", "Project": "catrobot"}):
        kwargs = {} if wrong is None else {"EncryptionContext": wrong}
        with pytest.raises(kms.exceptions.InvalidCiphertextException):
            kms.decrypt(CiphertextBlob=blob, **kwargs)


def test_length_prefixed_context_does_not_confuse_ab_c_with_a_bc(kms, key_id):
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext={"ab": "c"})["CiphertextBlob"]
    with pytest.raises(kms.exceptions.InvalidCiphertextException):
        kms.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "bc"})


def test_decrypt_with_a_key_id_that_is_not_the_ciphertexts_key_is_incorrect_key(kms, key_id):
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    with pytest.raises(kms.exceptions.IncorrectKeyException) as excinfo:
        kms.decrypt(CiphertextBlob=blob, KeyId=other)
    assert error_message(excinfo) == (
        "The key ID in the request does not identify a CMK that can perform this operation."
    )
    kms.create_alias(AliasName="alias/right", TargetKeyId=key_id)
    assert kms.decrypt(CiphertextBlob=blob, KeyId="alias/right")["Plaintext"] == b"x"


def test_decrypt_of_garbage_is_invalid_ciphertext(kms, key_id):
    for garbage in (b"x", b"\x00" * 200, b"KT" + b"\x01" * 150):
        with pytest.raises(kms.exceptions.InvalidCiphertextException):
            kms.decrypt(CiphertextBlob=garbage)


def test_decrypt_with_a_key_from_another_region_is_refused_like_aws(cloud, kms, key_id):
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    eu = cloud.client("kms", region_name="eu-west-1")
    with pytest.raises(ClientError) as excinfo:
        eu.decrypt(CiphertextBlob=blob)
    assert error_code(excinfo) == "AccessDeniedException"
    assert "does not exist in this region" in error_message(excinfo)


def test_encrypt_with_an_asymmetric_algorithm_on_a_symmetric_key_is_refused(kms, key_id):
    with pytest.raises(kms.exceptions.InvalidKeyUsageException):
        kms.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256")


def test_dry_run_checks_everything_and_encrypts_nothing(kms, key_id):
    with pytest.raises(ClientError) as excinfo:
        kms.encrypt(KeyId=key_id, Plaintext=b"x", DryRun=True)
    assert error_code(excinfo) == "DryRunOperationException"
    kms.disable_key(KeyId=key_id)
    with pytest.raises(kms.exceptions.DisabledException):
        kms.encrypt(KeyId=key_id, Plaintext=b"x", DryRun=True)


def test_re_encrypt_moves_a_ciphertext_to_another_key_and_context(kms, key_id):
    dest = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"secret", EncryptionContext={"a": "1"})["CiphertextBlob"]
    out = kms.re_encrypt(
        CiphertextBlob=blob,
        SourceEncryptionContext={"a": "1"},
        DestinationKeyId=dest,
        DestinationEncryptionContext={"b": "2"},
    )
    assert out["SourceKeyId"].endswith(key_id) and out["KeyId"].endswith(dest)
    assert out["SourceEncryptionAlgorithm"] == out["DestinationEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"b": "2"})["Plaintext"] == b"secret"
    with pytest.raises(kms.exceptions.InvalidCiphertextException):
        kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=dest)
    with pytest.raises(kms.exceptions.IncorrectKeyException):
        kms.re_encrypt(CiphertextBlob=blob, SourceKeyId=dest, DestinationKeyId=dest, SourceEncryptionContext={"a": "1"})


def test_generate_data_key_returns_a_plaintext_and_an_encrypted_copy(kms, key_id):
    out = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256", EncryptionContext={"file": "plans.txt"})
    assert len(out["Plaintext"]) == 32
    assert out["KeyId"].endswith(key_id)
    back = kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"file": "plans.txt"})
    assert back["Plaintext"] == out["Plaintext"]


@pytest.mark.parametrize("kwargs, size", [({"KeySpec": "AES_128"}, 16), ({"NumberOfBytes": 1}, 1), ({"NumberOfBytes": 1024}, 1024)])
def test_generate_data_key_sizes(kms, key_id, kwargs, size):
    assert len(kms.generate_data_key(KeyId=key_id, **kwargs)["Plaintext"]) == size


def test_generate_data_key_needs_exactly_one_of_keyspec_and_numberofbytes(kms, key_id):
    for kwargs in ({}, {"KeySpec": "AES_256", "NumberOfBytes": 32}):
        with pytest.raises(ClientError) as excinfo:
            kms.generate_data_key(KeyId=key_id, **kwargs)
        assert error_code(excinfo) == "ValidationException"


def test_generate_data_key_without_plaintext_gives_only_the_encrypted_copy(kms, key_id):
    out = kms.generate_data_key_without_plaintext(KeyId=key_id, KeySpec="AES_256")
    assert "Plaintext" not in out
    assert len(kms.decrypt(CiphertextBlob=out["CiphertextBlob"])["Plaintext"]) == 32


def test_kms_keeps_no_copy_of_a_data_key(cloud, kms, key_id):
    before = len(cloud.kms._regions[("111122223333", "us-east-1")].keys[key_id].backing_keys)
    data_key = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")["Plaintext"]
    key = cloud.kms._regions[("111122223333", "us-east-1")].keys[key_id]
    assert len(key.backing_keys) == before
    assert all(bk.material != data_key for bk in key.backing_keys)
    assert all(data_key.hex() not in repr(e) for e in cloud.audit.events)


def test_generate_random(kms):
    a = kms.generate_random(NumberOfBytes=32)["Plaintext"]
    b = kms.generate_random(NumberOfBytes=32)["Plaintext"]
    assert len(a) == 32 and a != b
    with pytest.raises(ClientError) as excinfo:
        kms.generate_random(NumberOfBytes=1025)
    assert error_message(excinfo) == (
        "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: "
        "Member must have value less than or equal to 1024"
    )


def test_generate_random_without_a_size_is_awss_validation_error(kms):
    with pytest.raises(ClientError) as excinfo:
        kms.generate_random()
    assert error_code(excinfo) == "ValidationException"
    assert error_message(excinfo) == "NumberOfBytes is required."


# -- DryRun with DryRunModifiers=["IGNORE_CIPHERTEXT"]: authorization only (Decrypt and ReEncrypt) ----------


def test_decrypt_dry_run_ignoring_the_ciphertext_checks_authorization_only(cloud, kms, key_id):
    for blob in (b"not a ciphertext at all", None):
        call = dict(KeyId=key_id, DryRun=True, DryRunModifiers=["IGNORE_CIPHERTEXT"])
        if blob is not None:
            call["CiphertextBlob"] = blob
        with pytest.raises(ClientError) as excinfo:
            kms.decrypt(**call)
        assert error_code(excinfo) == "DryRunOperationException"
    # Without the modifier, the same junk is an invalid ciphertext, dry run or not.
    with pytest.raises(kms.exceptions.InvalidCiphertextException):
        kms.decrypt(CiphertextBlob=b"not a ciphertext at all", KeyId=key_id, DryRun=True)
    # The modifier means nothing without DryRun.
    with pytest.raises(kms.exceptions.InvalidCiphertextException):
        kms.decrypt(CiphertextBlob=b"not a ciphertext at all", KeyId=key_id, DryRunModifiers=["IGNORE_CIPHERTEXT"])
    # Who may not decrypt with the key is told so, by the same permissions engine.
    cloud.client("iam").create_user(UserName="mallory")
    mallory = cloud.client("kms", principal="arn:aws:iam::111122223333:user/mallory")
    with pytest.raises(ClientError) as excinfo:
        mallory.decrypt(KeyId=key_id, DryRun=True, DryRunModifiers=["IGNORE_CIPHERTEXT"])
    assert error_code(excinfo) == "AccessDeniedException"
    # Which key the dry run is about must be named: nothing else can say.
    with pytest.raises(ClientError) as excinfo:
        kms.decrypt(DryRun=True, DryRunModifiers=["IGNORE_CIPHERTEXT"])
    assert error_code(excinfo) == "ValidationException"
    assert "'keyId'" in error_message(excinfo)
    # And the key's state still counts: a disabled key would not decrypt.
    kms.disable_key(KeyId=key_id)
    with pytest.raises(kms.exceptions.DisabledException):
        kms.decrypt(KeyId=key_id, DryRun=True, DryRunModifiers=["IGNORE_CIPHERTEXT"])
    events = [e for e in cloud.audit.events if e["eventName"] == "Decrypt"]
    assert events and all(e["resources"] for e in events if e.get("errorCode") == "DryRunOperationException")


def test_decrypt_dry_run_ignoring_the_ciphertext_takes_an_alias(kms, key_id):
    kms.create_alias(AliasName="alias/dry", TargetKeyId=key_id)
    with pytest.raises(kms.exceptions.DryRunOperationException):
        kms.decrypt(KeyId="alias/dry", DryRun=True, DryRunModifiers=["IGNORE_CIPHERTEXT"])


def test_re_encrypt_dry_run_ignoring_the_ciphertext_checks_both_keys(cloud, kms, key_id):
    dest = kms.create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(kms.exceptions.DryRunOperationException):
        kms.re_encrypt(SourceKeyId=key_id, DestinationKeyId=dest, DryRun=True, DryRunModifiers=["IGNORE_CIPHERTEXT"])
    with pytest.raises(kms.exceptions.DryRunOperationException):
        kms.re_encrypt(CiphertextBlob=b"junk", SourceKeyId=key_id, DestinationKeyId=dest, DryRun=True,
                       DryRunModifiers=["IGNORE_CIPHERTEXT"])
    with pytest.raises(ClientError) as excinfo:  # the source key must be named
        kms.re_encrypt(DestinationKeyId=dest, DryRun=True, DryRunModifiers=["IGNORE_CIPHERTEXT"])
    assert error_code(excinfo) == "ValidationException" and "'sourceKeyId'" in error_message(excinfo)
    # A caller allowed ReEncryptFrom on the source but not ReEncryptTo on the destination is refused.
    cloud.client("iam").create_user(UserName="carol")
    carol_arn = "arn:aws:iam::111122223333:user/carol"
    kms.create_grant(KeyId=key_id, GranteePrincipal=carol_arn, Operations=["ReEncryptFrom"])
    carol = cloud.client("kms", principal=carol_arn)
    with pytest.raises(ClientError) as excinfo:
        carol.re_encrypt(SourceKeyId=key_id, DestinationKeyId=dest, DryRun=True, DryRunModifiers=["IGNORE_CIPHERTEXT"])
    assert error_code(excinfo) == "AccessDeniedException"
    kms.create_grant(KeyId=dest, GranteePrincipal=carol_arn, Operations=["ReEncryptTo"])
    with pytest.raises(kms.exceptions.DryRunOperationException):
        carol.re_encrypt(SourceKeyId=key_id, DestinationKeyId=dest, DryRun=True, DryRunModifiers=["IGNORE_CIPHERTEXT"])
