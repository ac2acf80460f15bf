"""GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext through the boto3 client.

The private key is PKCS#8 DER, the public key DER SubjectPublicKeyInfo; the private key
also comes back encrypted under a symmetric encryption KMS key (a normal symmetric
ciphertext blob, bound to the encryption context). One cloud serves the module.
"""

from __future__ import annotations

import datetime as dt

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

import kms_teach
from kms_teach._crypto.keyspecs import DATA_KEY_PAIR_SPECS
from tests.conftest import error_code, error_message

START = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.timezone.utc)
CURVES = {"ECC_NIST_P256": "secp256r1", "ECC_NIST_P384": "secp384r1", "ECC_NIST_P521": "secp521r1",
          "ECC_SECG_P256K1": "secp256k1"}


@pytest.fixture(scope="module")
def kms():
    cloud = kms_teach.Cloud(clock=kms_teach.Clock(START, frozen=True), seed=7)
    return cloud.client("kms", region_name="us-east-1")


@pytest.fixture(scope="module")
def wrapping_key(kms) -> dict:
    """The symmetric encryption KMS key every pair here is encrypted under."""
    return kms.create_key(Description="wraps data key pairs")["KeyMetadata"]


def _spki(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _check_key_type(spec: str, public_key) -> None:
    if spec.startswith("RSA_"):
        assert isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size == int(spec[4:])
        assert public_key.public_numbers().e == 65537
    elif spec in CURVES:
        assert isinstance(public_key, ec.EllipticCurvePublicKey) and public_key.curve.name == CURVES[spec]
    elif spec == "ECC_NIST_EDWARDS25519":
        assert isinstance(public_key, ed25519.Ed25519PublicKey)
    else:
        from cryptography.hazmat.primitives.asymmetric import mlkem

        cls = {"ML_KEM_768": mlkem.MLKEM768PublicKey, "ML_KEM_1024": mlkem.MLKEM1024PublicKey}[spec]
        assert isinstance(public_key, cls)


@pytest.mark.parametrize("spec", DATA_KEY_PAIR_SPECS)
def test_generate_data_key_pair_returns_a_matching_pkcs8_private_key_and_spki_public_key(kms, wrapping_key, spec):
    context = {"purpose": "data key pair", "spec": spec}
    out = kms.generate_data_key_pair(KeyId=wrapping_key["KeyId"], KeyPairSpec=spec, EncryptionContext=context)
    assert out["KeyId"] == wrapping_key["Arn"]
    assert out["KeyPairSpec"] == spec
    assert out["KeyMaterialId"] == wrapping_key["CurrentKeyMaterialId"]
    private = serialization.load_der_private_key(out["PrivateKeyPlaintext"], password=None)
    # PKCS#8 DER exactly: re-serialising gives the same bytes.
    assert private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()) == out["PrivateKeyPlaintext"]
    public = serialization.load_der_public_key(out["PublicKey"])
    _check_key_type(spec, public)
    assert _spki(private.public_key()) == out["PublicKey"]
    assert out["PrivateKeyPlaintext"] not in out["PrivateKeyCiphertextBlob"]
    # The encrypted private key decrypts, with the same encryption context, to the plaintext one.
    back = kms.decrypt(CiphertextBlob=out["PrivateKeyCiphertextBlob"], EncryptionContext=context)
    assert back["Plaintext"] == out["PrivateKeyPlaintext"]
    assert back["KeyId"] == wrapping_key["Arn"]
    assert back["KeyMaterialId"] == wrapping_key["CurrentKeyMaterialId"]
    with pytest.raises(ClientError) as exc:
        kms.decrypt(CiphertextBlob=out["PrivateKeyCiphertextBlob"])
    assert error_code(exc) == "InvalidCiphertextException"


@pytest.mark.parametrize("spec", [s for s in DATA_KEY_PAIR_SPECS if s != "RSA_4096"])
def test_without_plaintext_omits_the_private_key_but_its_ciphertext_decrypts_to_the_pair(kms, wrapping_key, spec):
    out = kms.generate_data_key_pair_without_plaintext(KeyId=wrapping_key["KeyId"], KeyPairSpec=spec)
    assert "PrivateKeyPlaintext" not in out
    assert out["KeyId"] == wrapping_key["Arn"] and out["KeyPairSpec"] == spec
    assert out["KeyMaterialId"] == wrapping_key["CurrentKeyMaterialId"]
    public = serialization.load_der_public_key(out["PublicKey"])
    _check_key_type(spec, public)
    private_der = kms.decrypt(CiphertextBlob=out["PrivateKeyCiphertextBlob"])["Plaintext"]
    private = serialization.load_der_private_key(private_der, password=None)
    assert _spki(private.public_key()) == out["PublicKey"]


def test_without_plaintext_binds_the_encryption_context(kms, wrapping_key):
    out = kms.generate_data_key_pair_without_plaintext(KeyId=wrapping_key["KeyId"], KeyPairSpec="ECC_NIST_P256",
                                                       EncryptionContext={"tenant": "blue"})
    kms.decrypt(CiphertextBlob=out["PrivateKeyCiphertextBlob"], EncryptionContext={"tenant": "blue"})
    with pytest.raises(ClientError) as exc:
        kms.decrypt(CiphertextBlob=out["PrivateKeyCiphertextBlob"], EncryptionContext={"tenant": "red"})
    assert error_code(exc) == "InvalidCiphertextException"


def test_ml_kem_private_keys_are_in_seed_format_so_all_have_the_same_length(kms, wrapping_key):
    lengths = {
        spec: len(kms.generate_data_key_pair(KeyId=wrapping_key["KeyId"], KeyPairSpec=spec)["PrivateKeyPlaintext"])
        for spec in DATA_KEY_PAIR_SPECS if spec.startswith("ML_KEM_")
    }
    assert len(set(lengths.values())) == 1, lengths


def test_every_call_gives_a_new_key_pair(kms, wrapping_key):
    a = kms.generate_data_key_pair(KeyId=wrapping_key["KeyId"], KeyPairSpec="ECC_NIST_P256")
    b = kms.generate_data_key_pair(KeyId=wrapping_key["KeyId"], KeyPairSpec="ECC_NIST_P256")
    assert a["PublicKey"] != b["PublicKey"] and a["PrivateKeyPlaintext"] != b["PrivateKeyPlaintext"]


def test_the_wrapping_key_can_be_named_by_alias_and_its_arn(kms, wrapping_key):
    kms.create_alias(AliasName="alias/pair-wrapper", TargetKeyId=wrapping_key["KeyId"])
    for ref in ("alias/pair-wrapper", wrapping_key["Arn"]):
        out = kms.generate_data_key_pair(KeyId=ref, KeyPairSpec="ECC_NIST_EDWARDS25519")
        assert out["KeyId"] == wrapping_key["Arn"]


@pytest.fixture(scope="module")
def not_symmetric_encryption_keys(kms) -> dict[str, dict]:
    return {
        name: kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]
        for name, (spec, usage) in {
            "rsa-encryption": ("RSA_2048", "ENCRYPT_DECRYPT"),
            "ecc-signing": ("ECC_NIST_P256", "SIGN_VERIFY"),
            "ecc-key-agreement": ("ECC_NIST_P384", "KEY_AGREEMENT"),
            "ed25519": ("ECC_NIST_EDWARDS25519", "SIGN_VERIFY"),
            "hmac": ("HMAC_256", "GENERATE_VERIFY_MAC"),
        }.items()
    }


@pytest.mark.parametrize("name", ["rsa-encryption", "ecc-signing", "ecc-key-agreement", "ed25519", "hmac"])
@pytest.mark.parametrize("operation", ["generate_data_key_pair", "generate_data_key_pair_without_plaintext"])
def test_the_key_id_must_be_a_symmetric_encryption_key(kms, not_symmetric_encryption_keys, name, operation):
    md = not_symmetric_encryption_keys[name]
    with pytest.raises(ClientError) as exc:
        getattr(kms, operation)(KeyId=md["KeyId"], KeyPairSpec="ECC_NIST_P256")
    assert error_code(exc) == "InvalidKeyUsageException"
    assert error_message(exc).startswith(md["Arn"] + " key ")


@pytest.mark.parametrize("operation", ["generate_data_key_pair", "generate_data_key_pair_without_plaintext"])
def test_sm2_data_key_pairs_are_unsupported_outside_china(kms, wrapping_key, operation):
    with pytest.raises(ClientError) as exc:
        getattr(kms, operation)(KeyId=wrapping_key["KeyId"], KeyPairSpec="SM2")
    assert error_code(exc) == "UnsupportedOperationException"


def test_an_unknown_key_pair_spec_is_a_validation_error(kms, wrapping_key):
    with pytest.raises(ClientError) as exc:
        kms.generate_data_key_pair(KeyId=wrapping_key["KeyId"], KeyPairSpec="RSA_1024")
    assert error_code(exc) == "ValidationException"
    assert "keyPairSpec" in error_message(exc)


def test_a_disabled_wrapping_key_refuses_data_key_pairs(kms):
    md = kms.create_key()["KeyMetadata"]
    kms.disable_key(KeyId=md["KeyId"])
    for operation in ("generate_data_key_pair", "generate_data_key_pair_without_plaintext"):
        with pytest.raises(ClientError) as exc:
            getattr(kms, operation)(KeyId=md["KeyId"], KeyPairSpec="ECC_NIST_P256")
        assert error_code(exc) == "DisabledException"
        assert error_message(exc) == f"{md['Arn']} is disabled."


def test_a_wrapping_key_pending_deletion_refuses_data_key_pairs(kms):
    md = kms.create_key()["KeyMetadata"]
    kms.schedule_key_deletion(KeyId=md["KeyId"], PendingWindowInDays=7)
    with pytest.raises(ClientError) as exc:
        kms.generate_data_key_pair(KeyId=md["KeyId"], KeyPairSpec="ECC_NIST_P256")
    assert error_code(exc) == "KMSInvalidStateException"


def test_data_key_pair_with_dry_run_is_refused_with_dry_run_operation(kms, wrapping_key):
    with pytest.raises(ClientError) as exc:
        kms.generate_data_key_pair(KeyId=wrapping_key["KeyId"], KeyPairSpec="ECC_NIST_P256", DryRun=True)
    assert error_code(exc) == "DryRunOperationException"


def test_the_private_key_ciphertext_follows_the_wrapping_key_through_rotation(kms):
    md = kms.create_key()["KeyMetadata"]
    out = kms.generate_data_key_pair(KeyId=md["KeyId"], KeyPairSpec="ECC_SECG_P256K1")
    kms.rotate_key_on_demand(KeyId=md["KeyId"])
    back = kms.decrypt(CiphertextBlob=out["PrivateKeyCiphertextBlob"])
    assert back["Plaintext"] == out["PrivateKeyPlaintext"]
    assert back["KeyMaterialId"] == out["KeyMaterialId"]
    newer = kms.generate_data_key_pair(KeyId=md["KeyId"], KeyPairSpec="ECC_SECG_P256K1")
    assert newer["KeyMaterialId"] != out["KeyMaterialId"]
    assert newer["KeyMaterialId"] == kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]["CurrentKeyMaterialId"]
