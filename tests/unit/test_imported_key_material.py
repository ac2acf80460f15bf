"""Imported key material (BYOK): GetParametersForImport, ImportKeyMaterial, expiry,
DeleteImportedKeyMaterial, imported HMAC and asymmetric material, secrecy and persistence."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, hmac as chmac, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

import kms_teach
from tests.conftest import START, error_code, error_message

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
ACCOUNT = kms_teach.DEFAULT_ACCOUNT
REGION = "us-east-1"
NO_EXPIRY = {"ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"}


def arn(key_id: str, region: str = REGION) -> str:
    return f"arn:aws:kms:{region}:{ACCOUNT}:key/{key_id}"


def _hash(algorithm: str):
    return hashes.SHA1() if algorithm.endswith("SHA_1") else hashes.SHA256()


def wrap(public_der: bytes, material: bytes, algorithm: str) -> bytes:
    """Wrap key material outside KMS, as the AWS docs describe for each wrapping algorithm."""
    public = serialization.load_der_public_key(public_der)
    h = _hash(algorithm)
    oaep = padding.OAEP(mgf=padding.MGF1(algorithm=h), algorithm=h, label=None)
    if algorithm.startswith("RSA_AES_KEY_WRAP"):
        aes_key = os.urandom(32)
        return public.encrypt(aes_key, oaep) + aes_key_wrap_with_padding(aes_key, material)
    return public.encrypt(material, oaep)


def parameters(kms, key_id: str, algorithm: str = "RSAES_OAEP_SHA_256") -> dict:
    return kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm=algorithm, WrappingKeySpec="RSA_2048")


def import_material(kms, key_id: str, material: bytes, algorithm: str = "RSAES_OAEP_SHA_256", **kwargs) -> dict:
    if "ExpirationModel" not in kwargs and "ValidTo" not in kwargs:
        kwargs.update(NO_EXPIRY)
    params = parameters(kms, key_id, algorithm)
    return kms.import_key_material(KeyId=key_id, ImportToken=params["ImportToken"],
                                   EncryptedKeyMaterial=wrap(params["PublicKey"], material, algorithm), **kwargs)


@pytest.fixture
def external(kms) -> str:
    """A symmetric KMS key with Origin EXTERNAL, still waiting for its material."""
    return kms.create_key(Origin="EXTERNAL", Description="byok")["KeyMetadata"]["KeyId"]


@pytest.fixture
def material() -> bytes:
    return bytes(range(32))


@pytest.fixture
def imported(kms, external, material) -> str:
    import_material(kms, external, material)
    return external


def state(kms, key_id) -> str:
    return kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"]


# -- an EXTERNAL key before import -----------------------------------------------------


def test_external_key_starts_pending_import_without_key_material(kms):
    md = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]
    assert md["Origin"] == "EXTERNAL"
    assert md["KeyState"] == "PendingImport"
    assert md["Enabled"] is False
    assert "CurrentKeyMaterialId" not in md
    assert "ValidTo" not in md
    md = kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]
    assert md["KeyState"] == "PendingImport"
    assert "CurrentKeyMaterialId" not in md


def test_encrypt_with_a_key_pending_import_is_refused(kms, external):
    with pytest.raises(ClientError) as excinfo:
        kms.encrypt(KeyId=external, Plaintext=b"too early")
    assert error_code(excinfo) == "KMSInvalidStateException"
    assert error_message(excinfo) == f"{arn(external)} is pending import."
    with pytest.raises(ClientError) as excinfo:
        kms.generate_data_key(KeyId=external, KeySpec="AES_256")
    assert error_code(excinfo) == "KMSInvalidStateException"


@pytest.mark.parametrize("operation", ["enable_key", "disable_key"])
def test_enable_or_disable_a_key_pending_import_is_refused(kms, external, operation):
    with pytest.raises(ClientError) as excinfo:
        getattr(kms, operation)(KeyId=external)
    assert error_code(excinfo) == "KMSInvalidStateException"
    assert error_message(excinfo) == f"{arn(external)} is pending import."


# -- GetParametersForImport ------------------------------------------------------------


def test_get_parameters_for_import_returns_a_wrapping_key_token_and_24_hours(kms, external):
    reply = parameters(kms, external)
    assert reply["KeyId"] == arn(external)
    public = serialization.load_der_public_key(reply["PublicKey"])
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.key_size == 2048
    assert len(reply["ImportToken"]) > 0
    assert reply["ParametersValidTo"] == START + 24 * HOUR


def test_each_get_parameters_for_import_gives_a_new_wrapping_key_and_token(kms, external):
    a, b = parameters(kms, external), parameters(kms, external)
    assert a["PublicKey"] != b["PublicKey"]
    assert a["ImportToken"] != b["ImportToken"]


def test_get_parameters_for_import_on_an_aws_kms_key_is_unsupported(kms, key_id):
    with pytest.raises(ClientError) as excinfo:
        parameters(kms, key_id)
    assert error_code(excinfo) == "UnsupportedOperationException"
    assert error_message(excinfo) == f"{arn(key_id)} origin is AWS_KMS which is not valid for this operation."


def test_rsaes_pkcs1_v1_5_wrapping_is_refused(kms, external):
    with pytest.raises(ClientError) as excinfo:
        parameters(kms, external, "RSAES_PKCS1_V1_5")
    assert error_code(excinfo) in ("ValidationException", "UnsupportedOperationException")


def test_rsa_private_key_material_needs_rsa_aes_key_wrap(kms):
    key = kms.create_key(Origin="EXTERNAL", KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as excinfo:
        parameters(kms, key, "RSAES_OAEP_SHA_256")
    assert error_code(excinfo) == "ValidationException"
    assert parameters(kms, key, "RSA_AES_KEY_WRAP_SHA_256")["PublicKey"]


def test_get_parameters_for_import_on_a_key_pending_deletion_is_refused(kms, external):
    kms.schedule_key_deletion(KeyId=external, PendingWindowInDays=7)
    with pytest.raises(ClientError) as excinfo:
        parameters(kms, external)
    assert error_code(excinfo) == "KMSInvalidStateException"


# -- ImportKeyMaterial -----------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_256",
                                       "RSA_AES_KEY_WRAP_SHA_1"])
def test_imported_material_makes_the_key_enabled_and_usable(kms, external, material, algorithm):
    reply = import_material(kms, external, material, algorithm)
    assert reply["KeyId"] == arn(external)
    md = kms.describe_key(KeyId=external)["KeyMetadata"]
    assert md["KeyState"] == "Enabled" and md["Enabled"] is True
    assert md["ExpirationModel"] == "KEY_MATERIAL_DOES_NOT_EXPIRE"
    assert "ValidTo" not in md
    assert md["CurrentKeyMaterialId"] == reply["KeyMaterialId"]
    blob = kms.encrypt(KeyId=external, Plaintext=b"bring your own key")["CiphertextBlob"]
    out = kms.decrypt(CiphertextBlob=blob)
    assert out["Plaintext"] == b"bring your own key"
    assert out["KeyMaterialId"] == reply["KeyMaterialId"]


def test_the_same_material_in_two_keys_does_not_make_their_ciphertexts_interchangeable(kms, material):
    a = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    b = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    import_material(kms, a, material)
    import_material(kms, b, material)
    blob = kms.encrypt(KeyId=a, Plaintext=b"only a")["CiphertextBlob"]
    with pytest.raises(ClientError) as excinfo:
        kms.decrypt(CiphertextBlob=blob, KeyId=b)
    assert error_code(excinfo) == "IncorrectKeyException"
    assert kms.decrypt(CiphertextBlob=blob)["KeyId"] == arn(a)


def test_key_material_expires_needs_a_valid_to(kms, external, material):
    params = parameters(kms, external)
    with pytest.raises(ClientError) as excinfo:
        kms.import_key_material(KeyId=external, ImportToken=params["ImportToken"],
                                EncryptedKeyMaterial=wrap(params["PublicKey"], material, "RSAES_OAEP_SHA_256"))
    assert error_code(excinfo) == "ValidationException"
    assert error_message(excinfo) == "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES"
    assert state(kms, external) == "PendingImport"


@pytest.mark.parametrize("valid_to", [START - HOUR, START, START + 365 * DAY + dt.timedelta(seconds=1),
                                      START + 400 * DAY])
def test_valid_to_must_be_in_the_future_and_within_365_days(kms, external, material, valid_to):
    with pytest.raises(ClientError) as excinfo:
        import_material(kms, external, material, ExpirationModel="KEY_MATERIAL_EXPIRES", ValidTo=valid_to)
    assert error_code(excinfo) == "ValidationException"
    assert state(kms, external) == "PendingImport"


def test_valid_to_365_days_ahead_is_accepted(kms, external, material):
    import_material(kms, external, material, ExpirationModel="KEY_MATERIAL_EXPIRES", ValidTo=START + 365 * DAY)
    md = kms.describe_key(KeyId=external)["KeyMetadata"]
    assert md["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"
    assert md["ValidTo"] == START + 365 * DAY


def test_valid_to_with_material_that_does_not_expire_is_refused(kms, external, material):
    with pytest.raises(ClientError) as excinfo:
        import_material(kms, external, material, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
                        ValidTo=START + 30 * DAY)
    assert error_code(excinfo) == "ValidationException"


def test_describe_key_shows_expiration_model_and_valid_to(kms, external, material):
    import_material(kms, external, material, ValidTo=START + 30 * DAY)  # KEY_MATERIAL_EXPIRES by default
    md = kms.describe_key(KeyId=external)["KeyMetadata"]
    assert md["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"
    assert md["ValidTo"] == START + 30 * DAY


def test_an_expired_import_token_is_refused(clock, kms, external, material):
    params = parameters(kms, external)
    wrapped = wrap(params["PublicKey"], material, "RSAES_OAEP_SHA_256")
    clock.advance(hours=25)
    with pytest.raises(ClientError) as excinfo:
        kms.import_key_material(KeyId=external, ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrapped,
                                **NO_EXPIRY)
    assert error_code(excinfo) == "ExpiredImportTokenException"
    assert state(kms, external) == "PendingImport"


def test_an_import_token_is_still_good_just_before_24_hours(clock, kms, external, material):
    params = parameters(kms, external)
    wrapped = wrap(params["PublicKey"], material, "RSAES_OAEP_SHA_256")
    clock.advance(hours=23, minutes=59)
    kms.import_key_material(KeyId=external, ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrapped,
                            **NO_EXPIRY)
    assert state(kms, external) == "Enabled"


def test_a_random_import_token_is_invalid(kms, external, material):
    params = parameters(kms, external)
    with pytest.raises(ClientError) as excinfo:
        kms.import_key_material(KeyId=external, ImportToken=os.urandom(256),
                                EncryptedKeyMaterial=wrap(params["PublicKey"], material, "RSAES_OAEP_SHA_256"),
                                **NO_EXPIRY)
    assert error_code(excinfo) == "InvalidImportTokenException"


def test_another_keys_import_token_is_invalid(kms, external, material):
    other = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    params = parameters(kms, other)
    with pytest.raises(ClientError) as excinfo:
        kms.import_key_material(KeyId=external, ImportToken=params["ImportToken"],
                                EncryptedKeyMaterial=wrap(params["PublicKey"], material, "RSAES_OAEP_SHA_256"),
                                **NO_EXPIRY)
    assert error_code(excinfo) == "InvalidImportTokenException"
    assert state(kms, external) == "PendingImport"


def test_an_earlier_token_of_the_same_key_still_works_with_its_own_wrapping_key(kms, external, material):
    first = parameters(kms, external)
    parameters(kms, external)
    kms.import_key_material(KeyId=external, ImportToken=first["ImportToken"],
                            EncryptedKeyMaterial=wrap(first["PublicKey"], material, "RSAES_OAEP_SHA_256"),
                            **NO_EXPIRY)
    assert state(kms, external) == "Enabled"


def test_material_wrapped_with_another_tokens_wrapping_key_is_an_invalid_ciphertext(kms, external, material):
    first, second = parameters(kms, external), parameters(kms, external)
    with pytest.raises(ClientError) as excinfo:
        kms.import_key_material(KeyId=external, ImportToken=first["ImportToken"],
                                EncryptedKeyMaterial=wrap(second["PublicKey"], material, "RSAES_OAEP_SHA_256"),
                                **NO_EXPIRY)
    assert error_code(excinfo) == "InvalidCiphertextException"


@pytest.mark.parametrize("algorithm", ["RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_256"])
@pytest.mark.parametrize("garbage", [b"\x01" * 256, b"\x02" * 17, b"\x03" * 300])
def test_garbage_encrypted_key_material_is_an_invalid_ciphertext(kms, external, algorithm, garbage):
    params = parameters(kms, external, algorithm)
    with pytest.raises(ClientError) as excinfo:
        kms.import_key_material(KeyId=external, ImportToken=params["ImportToken"], EncryptedKeyMaterial=garbage,
                                **NO_EXPIRY)
    assert error_code(excinfo) == "InvalidCiphertextException"
    assert state(kms, external) == "PendingImport"


def test_rsa_aes_key_wrap_with_a_valid_rsa_part_and_a_corrupt_aes_part_is_an_invalid_ciphertext(kms, external,
                                                                                                material):
    params = parameters(kms, external, "RSA_AES_KEY_WRAP_SHA_256")
    wrapped = bytearray(wrap(params["PublicKey"], material, "RSA_AES_KEY_WRAP_SHA_256"))
    wrapped[-1] ^= 0xFF
    with pytest.raises(ClientError) as excinfo:
        kms.import_key_material(KeyId=external, ImportToken=params["ImportToken"],
                                EncryptedKeyMaterial=bytes(wrapped), **NO_EXPIRY)
    assert error_code(excinfo) == "InvalidCiphertextException"


def test_material_wrapped_with_the_wrong_oaep_hash_is_an_invalid_ciphertext(kms, external, material):
    params = parameters(kms, external, "RSAES_OAEP_SHA_256")
    with pytest.raises(ClientError) as excinfo:
        kms.import_key_material(KeyId=external, ImportToken=params["ImportToken"],
                                EncryptedKeyMaterial=wrap(params["PublicKey"], material, "RSAES_OAEP_SHA_1"),
                                **NO_EXPIRY)
    assert error_code(excinfo) == "InvalidCiphertextException"


@pytest.mark.parametrize("length", [16, 31, 33, 64])
def test_symmetric_material_of_the_wrong_length_is_incorrect_key_material(kms, external, length):
    with pytest.raises(ClientError) as excinfo:
        import_material(kms, external, os.urandom(length))
    assert error_code(excinfo) == "IncorrectKeyMaterialException"
    assert state(kms, external) == "PendingImport"


def test_reimporting_the_same_material_before_expiry_extends_valid_to(kms, external, material):
    import_material(kms, external, material, ValidTo=START + 10 * DAY)
    import_material(kms, external, material, ValidTo=START + 100 * DAY)
    md = kms.describe_key(KeyId=external)["KeyMetadata"]
    assert md["KeyState"] == "Enabled"
    assert md["ValidTo"] == START + 100 * DAY


def test_the_latest_valid_to_is_the_one_that_counts(clock, kms, external, material):
    import_material(kms, external, material, ValidTo=START + 10 * DAY)
    import_material(kms, external, material, ValidTo=START + 100 * DAY)
    clock.advance(days=11)
    assert state(kms, external) == "Enabled"
    clock.advance(days=89)
    assert state(kms, external) == "PendingImport"


def test_expiry_is_recorded_in_the_audit_trail_as_a_service_event(cloud, clock, kms, external, material):
    import_material(kms, external, material, ValidTo=START + 10 * DAY)
    clock.advance(days=12)
    [event] = [e for e in cloud.audit.events if e["eventName"] == "DeleteExpiredKeyMaterial"]
    assert event["eventType"] == "AwsServiceEvent"
    assert event["eventTime"] == "2026-01-11T09:00:00Z"
    assert event["resources"][0]["ARN"] == arn(external)


def test_importing_different_material_into_an_enabled_key_is_refused(kms, imported):
    with pytest.raises(ClientError) as excinfo:
        import_material(kms, imported, os.urandom(32))
    assert error_code(excinfo) == "IncorrectKeyMaterialException"
    assert state(kms, imported) == "Enabled"


# -- expiry and deletion of the material ----------------------------------------------


def test_material_expiry_returns_the_key_to_pending_import(clock, kms, external, material):
    import_material(kms, external, material, ValidTo=START + 10 * DAY)
    blob = kms.encrypt(KeyId=external, Plaintext=b"before expiry")["CiphertextBlob"]
    clock.set(START + 10 * DAY - dt.timedelta(seconds=1))
    assert state(kms, external) == "Enabled"
    clock.advance(seconds=1)
    md = kms.describe_key(KeyId=external)["KeyMetadata"]
    assert md["KeyState"] == "PendingImport"
    assert "ValidTo" not in md
    assert "CurrentKeyMaterialId" not in md
    with pytest.raises(ClientError) as excinfo:
        kms.decrypt(CiphertextBlob=blob)
    assert error_code(excinfo) == "KMSInvalidStateException"
    assert error_message(excinfo) == f"{arn(external)} is pending import."
    with pytest.raises(ClientError) as excinfo:
        kms.encrypt(KeyId=external, Plaintext=b"x")
    assert error_code(excinfo) == "KMSInvalidStateException"


def test_reimporting_the_same_material_after_expiry_decrypts_old_ciphertexts(clock, kms, external, material):
    first = import_material(kms, external, material, ValidTo=START + 10 * DAY)
    blob = kms.encrypt(KeyId=external, Plaintext=b"survives expiry")["CiphertextBlob"]
    clock.advance(days=11)
    assert state(kms, external) == "PendingImport"
    again = import_material(kms, external, material, ValidTo=START + 50 * DAY)
    assert again["KeyMaterialId"] == first["KeyMaterialId"]
    assert state(kms, external) == "Enabled"
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"survives expiry"


def test_reimporting_different_material_after_expiry_is_incorrect_key_material(clock, kms, external, material):
    import_material(kms, external, material, ValidTo=START + 10 * DAY)
    clock.advance(days=11)
    with pytest.raises(ClientError) as excinfo:
        import_material(kms, external, os.urandom(32))
    assert error_code(excinfo) == "IncorrectKeyMaterialException"
    assert state(kms, external) == "PendingImport"


def test_delete_imported_key_material_does_the_same_as_expiry(kms, imported, material):
    blob = kms.encrypt(KeyId=imported, Plaintext=b"paused")["CiphertextBlob"]
    mid = kms.describe_key(KeyId=imported)["KeyMetadata"]["CurrentKeyMaterialId"]
    kms.delete_imported_key_material(KeyId=imported)
    md = kms.describe_key(KeyId=imported)["KeyMetadata"]
    assert md["KeyState"] == "PendingImport"
    assert "CurrentKeyMaterialId" not in md
    with pytest.raises(ClientError) as excinfo:
        kms.decrypt(CiphertextBlob=blob)
    assert error_code(excinfo) == "KMSInvalidStateException"
    with pytest.raises(ClientError) as excinfo:
        import_material(kms, imported, os.urandom(32))
    assert error_code(excinfo) == "IncorrectKeyMaterialException"
    assert import_material(kms, imported, material)["KeyMaterialId"] == mid
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"paused"


def test_delete_imported_key_material_of_a_disabled_key_makes_it_pending_import(kms, imported):
    kms.disable_key(KeyId=imported)
    kms.delete_imported_key_material(KeyId=imported)
    assert state(kms, imported) == "PendingImport"


def test_delete_imported_key_material_on_an_aws_kms_key_is_unsupported(kms, key_id):
    with pytest.raises(ClientError) as excinfo:
        kms.delete_imported_key_material(KeyId=key_id)
    assert error_code(excinfo) == "UnsupportedOperationException"


def test_expired_material_stops_the_expiry_schedule(clock, kms, external, material):
    import_material(kms, external, material, ValidTo=START + 10 * DAY)
    clock.advance(days=11)
    import_material(kms, external, material)  # does not expire now
    clock.advance(days=400)
    md = kms.describe_key(KeyId=external)["KeyMetadata"]
    assert md["KeyState"] == "Enabled"
    assert md["ExpirationModel"] == "KEY_MATERIAL_DOES_NOT_EXPIRE"


def test_reimport_with_does_not_expire_cancels_a_pending_expiry(clock, kms, external, material):
    import_material(kms, external, material, ValidTo=START + 10 * DAY)
    import_material(kms, external, material)
    clock.advance(days=20)
    assert state(kms, external) == "Enabled"


def test_a_key_pending_deletion_stays_pending_deletion_when_its_material_expires(clock, kms, external, material):
    import_material(kms, external, material, ValidTo=START + 3 * DAY)
    kms.schedule_key_deletion(KeyId=external, PendingWindowInDays=7)
    clock.advance(days=4)
    md = kms.describe_key(KeyId=external)["KeyMetadata"]
    assert md["KeyState"] == "PendingDeletion"
    assert md["DeletionDate"] == START + 7 * DAY
    clock.advance(days=3)
    with pytest.raises(ClientError) as excinfo:
        kms.describe_key(KeyId=external)
    assert error_code(excinfo) == "NotFoundException"


def test_a_key_pending_deletion_stays_pending_deletion_when_its_material_is_deleted(kms, imported):
    kms.schedule_key_deletion(KeyId=imported, PendingWindowInDays=7)
    kms.delete_imported_key_material(KeyId=imported)
    md = kms.describe_key(KeyId=imported)["KeyMetadata"]
    assert md["KeyState"] == "PendingDeletion"
    assert md["DeletionDate"] == START + 7 * DAY


def test_cancelling_deletion_of_a_key_without_material_cannot_make_it_usable(clock, kms, external, material):
    """A key whose material expired while pending deletion has no material when the deletion is
    cancelled: it must not be (or become) usable until the same material is imported again."""
    import_material(kms, external, material, ValidTo=START + 1 * DAY)
    blob = kms.encrypt(KeyId=external, Plaintext=b"x")["CiphertextBlob"]
    kms.schedule_key_deletion(KeyId=external, PendingWindowInDays=7)
    clock.advance(days=2)
    kms.cancel_key_deletion(KeyId=external)
    assert state(kms, external) == "PendingImport"
    with pytest.raises(ClientError) as excinfo:
        kms.enable_key(KeyId=external)
    assert error_code(excinfo) == "KMSInvalidStateException"
    import_material(kms, external, material)
    assert state(kms, external) == "Enabled"
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"


def test_an_enabled_key_never_encrypts_without_material(clock, kms, external, material):
    """Whatever the path back from PendingDeletion, Encrypt must not answer with an internal error."""
    import_material(kms, external, material, ValidTo=START + 1 * DAY)
    kms.schedule_key_deletion(KeyId=external, PendingWindowInDays=7)
    kms.delete_imported_key_material(KeyId=external)
    kms.cancel_key_deletion(KeyId=external)
    if state(kms, external) == "Disabled":
        kms.enable_key(KeyId=external)
    with pytest.raises(ClientError) as excinfo:
        kms.encrypt(KeyId=external, Plaintext=b"no material")
    assert error_code(excinfo) == "KMSInvalidStateException"
    assert error_message(excinfo) == f"{arn(external)} is pending import."


# -- rotation ---------------------------------------------------------------------------


def test_automatic_rotation_of_an_imported_key_is_unsupported(kms, imported):
    with pytest.raises(ClientError) as excinfo:
        kms.enable_key_rotation(KeyId=imported)
    assert error_code(excinfo) == "UnsupportedOperationException"
    assert error_message(excinfo) == f"{arn(imported)} origin is EXTERNAL which is not valid for this operation."
    with pytest.raises(ClientError) as excinfo:
        kms.get_key_rotation_status(KeyId=imported)
    assert error_code(excinfo) == "UnsupportedOperationException"


@pytest.mark.parametrize("operation", ["enable_key_rotation", "disable_key_rotation"])
def test_rotation_settings_on_a_key_pending_import_are_unsupported(kms, external, operation):
    # Key-state table, PendingImport column, footnote [6]:
    # UnsupportedOperationException "<arn> origin is EXTERNAL which is not valid for this operation."
    with pytest.raises(ClientError) as excinfo:
        getattr(kms, operation)(KeyId=external)
    assert error_code(excinfo) == "UnsupportedOperationException"
    assert error_message(excinfo) == f"{arn(external)} origin is EXTERNAL which is not valid for this operation."


def test_get_key_rotation_status_on_a_key_pending_import_is_unsupported(kms, external):
    with pytest.raises(ClientError) as excinfo:
        kms.get_key_rotation_status(KeyId=external)
    assert error_code(excinfo) == "UnsupportedOperationException"


def test_list_key_rotations_with_all_key_material_shows_the_import_state(clock, kms, external, material):
    reply = import_material(kms, external, material, ValidTo=START + 10 * DAY)
    assert kms.list_key_rotations(KeyId=external)["Rotations"] == []
    [entry] = kms.list_key_rotations(KeyId=external, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
    assert entry["KeyMaterialId"] == reply["KeyMaterialId"]
    assert entry["ImportState"] == "IMPORTED"
    assert entry["KeyMaterialState"] == "CURRENT"
    assert entry["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"
    assert entry["ValidTo"] == START + 10 * DAY
    clock.advance(days=10)
    [entry] = kms.list_key_rotations(KeyId=external, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
    assert entry["ImportState"] == "PENDING_IMPORT"
    assert entry["KeyMaterialId"] == reply["KeyMaterialId"]


# -- imported HMAC and asymmetric material ---------------------------------------------


@pytest.mark.parametrize("spec,algorithm,size,digest", [
    ("HMAC_224", "HMAC_SHA_224", 28, hashes.SHA224),
    ("HMAC_256", "HMAC_SHA_256", 32, hashes.SHA256),
    ("HMAC_512", "HMAC_SHA_512", 64, hashes.SHA512),
])
def test_imported_hmac_material_computes_standard_hmacs(kms, spec, algorithm, size, digest):
    key = kms.create_key(Origin="EXTERNAL", KeySpec=spec, KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
    secret = os.urandom(size)
    import_material(kms, key, secret)
    assert state(kms, key) == "Enabled"
    mac = kms.generate_mac(KeyId=key, Message=b"message", MacAlgorithm=algorithm)["Mac"]
    expected = chmac.HMAC(secret, digest())
    expected.update(b"message")
    assert mac == expected.finalize()
    assert kms.verify_mac(KeyId=key, Message=b"message", MacAlgorithm=algorithm, Mac=mac)["MacValid"] is True


def test_imported_hmac_material_of_the_wrong_length_is_refused(kms):
    key = kms.create_key(Origin="EXTERNAL", KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as excinfo:
        import_material(kms, key, os.urandom(31))
    assert error_code(excinfo) == "IncorrectKeyMaterialException"


def _pkcs8(private) -> bytes:
    return private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())


def test_imported_ecc_private_key_signs_and_verifies_outside_kms(kms):
    key = kms.create_key(Origin="EXTERNAL", KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    private = ec.generate_private_key(ec.SECP256R1())
    import_material(kms, key, _pkcs8(private))
    assert state(kms, key) == "Enabled"
    public_der = kms.get_public_key(KeyId=key)["PublicKey"]
    assert public_der == private.public_key().public_bytes(serialization.Encoding.DER,
                                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    signature = kms.sign(KeyId=key, Message=b"signed by my own key", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    private.public_key().verify(signature, b"signed by my own key", ec.ECDSA(hashes.SHA256()))
    assert kms.verify(KeyId=key, Message=b"signed by my own key", Signature=signature,
                      SigningAlgorithm="ECDSA_SHA_256")["SignatureValid"] is True


def test_imported_private_key_of_the_wrong_curve_is_incorrect_key_material(kms):
    key = kms.create_key(Origin="EXTERNAL", KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as excinfo:
        import_material(kms, key, _pkcs8(ec.generate_private_key(ec.SECP384R1())))
    assert error_code(excinfo) == "IncorrectKeyMaterialException"
    with pytest.raises(ClientError) as excinfo:
        import_material(kms, key, os.urandom(64))
    assert error_code(excinfo) == "IncorrectKeyMaterialException"


def test_imported_rsa_private_key_signs_with_rsa_aes_key_wrap(kms):
    key = kms.create_key(Origin="EXTERNAL", KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    import_material(kms, key, _pkcs8(private), "RSA_AES_KEY_WRAP_SHA_256")
    signature = kms.sign(KeyId=key, Message=b"rsa", SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256")["Signature"]
    private.public_key().verify(signature, b"rsa", padding.PKCS1v15(), hashes.SHA256())


def test_an_imported_signing_key_pending_import_cannot_sign(kms):
    key = kms.create_key(Origin="EXTERNAL", KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as excinfo:
        kms.sign(KeyId=key, Message=b"x", SigningAlgorithm="ECDSA_SHA_256")
    assert error_code(excinfo) == "KMSInvalidStateException"
    with pytest.raises(ClientError) as excinfo:
        kms.get_public_key(KeyId=key)
    assert error_code(excinfo) == "KMSInvalidStateException"


# -- secrecy ----------------------------------------------------------------------------


def _forms(secret: bytes) -> list[bytes]:
    return [secret, secret.hex().encode(), base64.b64encode(secret), base64.urlsafe_b64encode(secret)]


def test_imported_material_never_appears_in_the_audit_trail(cloud, kms, external):
    material = os.urandom(32)
    import_material(kms, external, material)
    kms.encrypt(KeyId=external, Plaintext=b"x")
    kms.delete_imported_key_material(KeyId=external)
    trail = json.dumps(cloud.audit.events).encode()
    for form in _forms(material):
        assert form not in trail
    names = [e["eventName"] for e in cloud.audit.events]
    assert "GetParametersForImport" in names and "ImportKeyMaterial" in names
    event = next(e for e in cloud.audit.events if e["eventName"] == "ImportKeyMaterial")
    assert "encryptedKeyMaterial" not in (event["requestParameters"] or {})
    assert "importToken" not in (event["requestParameters"] or {})


def test_imported_material_never_appears_in_a_persistent_store(tmp_path):
    material = os.urandom(32)
    with kms_teach.Cloud(tmp_path, clock=kms_teach.Clock(START, frozen=True)) as cloud:
        kms = cloud.client("kms", region_name=REGION)
        key = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
        import_material(kms, key, material)
        raw = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
        for form in _forms(material):
            assert form not in raw
    raw = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    for form in _forms(material):
        assert form not in raw


# -- persistence ------------------------------------------------------------------------


def test_an_imported_key_survives_reopening_and_its_expiry_still_runs(tmp_path):
    material = os.urandom(32)
    with kms_teach.Cloud(tmp_path, clock=kms_teach.Clock(START, frozen=True), seed=3) as cloud:
        kms = cloud.client("kms", region_name=REGION)
        key = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
        reply = import_material(kms, key, material, ValidTo=START + 10 * DAY)
        blob = kms.encrypt(KeyId=key, Plaintext=b"durable")["CiphertextBlob"]

    with kms_teach.Cloud(tmp_path, seed=3) as cloud:
        kms = cloud.client("kms", region_name=REGION)
        md = kms.describe_key(KeyId=key)["KeyMetadata"]
        assert md["KeyState"] == "Enabled"
        assert md["ValidTo"] == START + 10 * DAY
        assert md["CurrentKeyMaterialId"] == reply["KeyMaterialId"]
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"durable"
        cloud.clock.advance(days=10)
        assert state(kms, key) == "PendingImport"

    with kms_teach.Cloud(tmp_path, seed=3) as cloud:
        kms = cloud.client("kms", region_name=REGION)
        assert state(kms, key) == "PendingImport"
        with pytest.raises(ClientError) as excinfo:
            import_material(kms, key, os.urandom(32))
        assert error_code(excinfo) == "IncorrectKeyMaterialException"
        import_material(kms, key, material)
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"durable"


def test_an_import_token_issued_before_closing_works_after_reopening(tmp_path):
    material = os.urandom(32)
    with kms_teach.Cloud(tmp_path, clock=kms_teach.Clock(START, frozen=True)) as cloud:
        kms = cloud.client("kms", region_name=REGION)
        key = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
        params = parameters(kms, key)
    with kms_teach.Cloud(tmp_path) as cloud:
        kms = cloud.client("kms", region_name=REGION)
        kms.import_key_material(KeyId=key, ImportToken=params["ImportToken"],
                                EncryptedKeyMaterial=wrap(params["PublicKey"], material, "RSAES_OAEP_SHA_256"),
                                **NO_EXPIRY)
        assert state(kms, key) == "Enabled"


# -- multi-Region keys with imported material ------------------------------------------


def test_a_replica_of_an_imported_key_waits_for_the_same_material(cloud, kms, material):
    eu = cloud.client("kms", region_name="eu-west-1")
    key = kms.create_key(Origin="EXTERNAL", MultiRegion=True)["KeyMetadata"]["KeyId"]
    first = import_material(kms, key, material)
    blob = kms.encrypt(KeyId=key, Plaintext=b"imported, multi-Region")["CiphertextBlob"]
    md = kms.replicate_key(KeyId=key, ReplicaRegion="eu-west-1")["ReplicaKeyMetadata"]
    assert md["Origin"] == "EXTERNAL"
    assert state(eu, key) == "PendingImport"
    with pytest.raises(ClientError) as excinfo:
        import_material(eu, key, os.urandom(32))
    assert error_code(excinfo) == "IncorrectKeyMaterialException"
    assert import_material(eu, key, material)["KeyMaterialId"] == first["KeyMaterialId"]
    assert state(eu, key) == "Enabled"
    assert eu.decrypt(CiphertextBlob=blob)["Plaintext"] == b"imported, multi-Region"
    # Each Region's material has its own life: deleting it in us-east-1 leaves eu-west-1 working.
    kms.delete_imported_key_material(KeyId=key)
    assert state(kms, key) == "PendingImport"
    assert state(eu, key) == "Enabled"
    assert eu.decrypt(CiphertextBlob=blob)["Plaintext"] == b"imported, multi-Region"
