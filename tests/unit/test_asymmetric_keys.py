"""Asymmetric KMS keys through the boto3 client: CreateKey spec x usage, key usage rules,
RSA encryption (OAEP limits, Decrypt, ReEncrypt), signing and verification, GetPublicKey.

One cloud serves the whole module (RSA key generation is slow): ``kms`` here is
module-scoped and ``key(spec, usage)`` creates each (spec, usage) at most once.
Tests that change a key's state create their own key.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

import kms_teach
from tests.conftest import error_code, error_message

START = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.timezone.utc)

RSA_SIGNING = [
    "RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512",
    "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512",
]
RSA_ENCRYPTION = ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]

# What AWS documents (reference 2.3): (KeySpec, KeyUsage) -> the one algorithm list DescribeKey shows.
VALID = {
    ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"): ("EncryptionAlgorithms", ["SYMMETRIC_DEFAULT"]),
    **{(f"RSA_{n}", "ENCRYPT_DECRYPT"): ("EncryptionAlgorithms", RSA_ENCRYPTION) for n in (2048, 3072, 4096)},
    **{(f"RSA_{n}", "SIGN_VERIFY"): ("SigningAlgorithms", RSA_SIGNING) for n in (2048, 3072, 4096)},
    ("ECC_NIST_P256", "SIGN_VERIFY"): ("SigningAlgorithms", ["ECDSA_SHA_256"]),
    ("ECC_NIST_P384", "SIGN_VERIFY"): ("SigningAlgorithms", ["ECDSA_SHA_384"]),
    ("ECC_NIST_P521", "SIGN_VERIFY"): ("SigningAlgorithms", ["ECDSA_SHA_512"]),
    ("ECC_NIST_P256", "KEY_AGREEMENT"): ("KeyAgreementAlgorithms", ["ECDH"]),
    ("ECC_NIST_P384", "KEY_AGREEMENT"): ("KeyAgreementAlgorithms", ["ECDH"]),
    ("ECC_NIST_P521", "KEY_AGREEMENT"): ("KeyAgreementAlgorithms", ["ECDH"]),
    ("ECC_SECG_P256K1", "SIGN_VERIFY"): ("SigningAlgorithms", ["ECDSA_SHA_256"]),
    ("ECC_NIST_EDWARDS25519", "SIGN_VERIFY"): ("SigningAlgorithms", ["ED25519_SHA_512", "ED25519_PH_SHA_512"]),
    **{(f"HMAC_{n}", "GENERATE_VERIFY_MAC"): ("MacAlgorithms", [f"HMAC_SHA_{n}"]) for n in (224, 256, 384, 512)},
}
ALGORITHM_LISTS = ("EncryptionAlgorithms", "SigningAlgorithms", "MacAlgorithms", "KeyAgreementAlgorithms")
SPECS = sorted({spec for spec, _ in VALID})
USAGES = ["ENCRYPT_DECRYPT", "SIGN_VERIFY", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT", "ENCAPSULATE_DECAPSULATE"]
INVALID = [(s, u) for s in SPECS for u in USAGES if (s, u) not in VALID]

# Signing: (spec, algorithm, digest length) for every algorithm of every signing spec.
SIGNING_CASES = [
    *[(f"RSA_{n}", alg) for n in (2048, 3072, 4096) for alg in RSA_SIGNING],
    ("ECC_NIST_P256", "ECDSA_SHA_256"),
    ("ECC_NIST_P384", "ECDSA_SHA_384"),
    ("ECC_NIST_P521", "ECDSA_SHA_512"),
    ("ECC_SECG_P256K1", "ECDSA_SHA_256"),
]
HASHLIB = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}


def _hash(algorithm: str, message: bytes) -> bytes:
    return HASHLIB[algorithm[-3:]](message).digest()


RSA_LIMITS = {  # reference 2.1: (spec, algorithm) -> largest plaintext
    ("RSA_2048", "RSAES_OAEP_SHA_1"): 214, ("RSA_2048", "RSAES_OAEP_SHA_256"): 190,
    ("RSA_3072", "RSAES_OAEP_SHA_1"): 342, ("RSA_3072", "RSAES_OAEP_SHA_256"): 318,
    ("RSA_4096", "RSAES_OAEP_SHA_1"): 470, ("RSA_4096", "RSAES_OAEP_SHA_256"): 446,
}


@pytest.fixture(scope="module")
def kms():
    """One boto3 client over one cloud for the whole module."""
    cloud = kms_teach.Cloud(clock=kms_teach.Clock(START, frozen=True), seed=7)
    return cloud.client("kms", region_name="us-east-1")


@pytest.fixture(scope="module")
def key(kms):
    """key(spec, usage) -> the CreateKey KeyMetadata of a shared key (created once per module)."""
    made: dict[tuple[str, str], dict] = {}

    def get(spec: str, usage: str) -> dict:
        if (spec, usage) not in made:
            made[(spec, usage)] = kms.create_key(KeySpec=spec, KeyUsage=usage, Description=f"{spec} {usage}")[
                "KeyMetadata"
            ]
        return made[(spec, usage)]

    return get


def _count_keys(kms) -> int:
    return len(kms.list_keys(Limit=1000)["Keys"])


# ---------------------------------------------------------------------------- CreateKey spec x usage


@pytest.mark.parametrize("spec,usage", sorted(VALID))
def test_every_valid_spec_and_usage_is_created_with_exactly_its_algorithm_list(kms, key, spec, usage):
    created = key(spec, usage)
    md = kms.describe_key(KeyId=created["KeyId"])["KeyMetadata"]
    assert md == created
    assert md["KeySpec"] == spec
    assert md["CustomerMasterKeySpec"] == spec
    assert md["KeyUsage"] == usage
    assert md["KeyState"] == "Enabled" and md["Enabled"] is True
    field, algorithms = VALID[(spec, usage)]
    assert sorted(md[field]) == sorted(algorithms)
    assert len(md[field]) == len(set(md[field]))
    for other in ALGORITHM_LISTS:
        if other != field:
            assert other not in md, f"{other} shown for a {spec} {usage} key"


@pytest.mark.parametrize("spec,usage", sorted(VALID))
def test_current_key_material_id_is_shown_only_for_symmetric_keys(key, spec, usage):
    md = key(spec, usage)
    if spec == "SYMMETRIC_DEFAULT":
        assert len(md["CurrentKeyMaterialId"]) == 64
    else:
        assert "CurrentKeyMaterialId" not in md


def test_symmetric_default_key_usage_defaults_to_encrypt_decrypt(kms):
    md = kms.create_key(KeySpec="SYMMETRIC_DEFAULT")["KeyMetadata"]
    assert md["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert md["EncryptionAlgorithms"] == ["SYMMETRIC_DEFAULT"]


@pytest.mark.parametrize("spec,usage", INVALID)
def test_an_invalid_spec_and_usage_is_refused_and_creates_nothing(kms, spec, usage):
    before = _count_keys(kms)
    with pytest.raises(ClientError) as exc:
        kms.create_key(KeySpec=spec, KeyUsage=usage)
    assert error_code(exc) == "ValidationException"
    assert error_message(exc) == f"KeyUsage {usage} is not compatible with KeySpec {spec}"
    assert _count_keys(kms) == before


@pytest.mark.parametrize("spec", [s for s in SPECS if s != "SYMMETRIC_DEFAULT"])
def test_a_non_symmetric_spec_without_key_usage_is_refused_and_creates_nothing(kms, spec):
    before = _count_keys(kms)
    with pytest.raises(ClientError) as exc:
        kms.create_key(KeySpec=spec)
    assert error_code(exc) == "ValidationException"
    assert error_message(exc) == (
        "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys."
    )
    assert _count_keys(kms) == before


@pytest.mark.parametrize(
    "spec,usage", [("ECC_NIST_P256", "SIGN_VERIFY"), ("ECC_NIST_P384", "KEY_AGREEMENT"), ("HMAC_256", "GENERATE_VERIFY_MAC"),
                   ("ECC_SECG_P256K1", "SIGN_VERIFY")]
)
def test_deprecated_customer_master_key_spec_still_creates_the_key(kms, spec, usage):
    md = kms.create_key(CustomerMasterKeySpec=spec, KeyUsage=usage)["KeyMetadata"]
    assert md["KeySpec"] == spec and md["CustomerMasterKeySpec"] == spec and md["KeyUsage"] == usage
    field, algorithms = VALID[(spec, usage)]
    assert sorted(md[field]) == sorted(algorithms)


def test_customer_master_key_spec_does_not_know_newer_specs(kms):
    # The deprecated member's enum stops at SM2: ECC_NIST_EDWARDS25519 exists only as a KeySpec.
    with pytest.raises(ClientError) as exc:
        kms.create_key(CustomerMasterKeySpec="ECC_NIST_EDWARDS25519", KeyUsage="SIGN_VERIFY")
    assert error_code(exc) == "ValidationException"
    assert "customerMasterKeySpec" in error_message(exc)


def test_customer_master_key_spec_is_checked_against_key_usage_too(kms):
    before = _count_keys(kms)
    with pytest.raises(ClientError) as exc:
        kms.create_key(CustomerMasterKeySpec="ECC_SECG_P256K1", KeyUsage="KEY_AGREEMENT")
    assert error_code(exc) == "ValidationException"
    assert error_message(exc) == "KeyUsage KEY_AGREEMENT is not compatible with KeySpec ECC_SECG_P256K1"
    assert _count_keys(kms) == before


def test_key_spec_and_customer_master_key_spec_together_are_refused(kms):
    before = _count_keys(kms)
    with pytest.raises(ClientError) as exc:
        kms.create_key(KeySpec="ECC_NIST_P256", CustomerMasterKeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    assert error_code(exc) == "ValidationException"
    assert _count_keys(kms) == before


def test_an_unknown_key_spec_is_a_validation_error(kms):
    with pytest.raises(ClientError) as exc:
        kms.create_key(KeySpec="RSA_1024", KeyUsage="SIGN_VERIFY")
    assert error_code(exc) == "ValidationException"
    assert "keySpec" in error_message(exc)


# ---------------------------------------------------------------------------- GetPublicKey


@pytest.mark.parametrize("spec,usage", sorted(k for k in VALID if not k[0].startswith(("SYMMETRIC", "HMAC"))))
def test_get_public_key_returns_der_spki_of_the_right_type_and_the_key_facts(kms, key, spec, usage):
    md = key(spec, usage)
    out = kms.get_public_key(KeyId=md["KeyId"])
    assert out["KeyId"] == md["Arn"]
    assert out["KeySpec"] == spec and out["CustomerMasterKeySpec"] == spec and out["KeyUsage"] == usage
    field, algorithms = VALID[(spec, usage)]
    assert sorted(out[field]) == sorted(algorithms)
    for other in ALGORITHM_LISTS:
        if other != field:
            assert other not in out
    public = serialization.load_der_public_key(out["PublicKey"])
    if spec.startswith("RSA_"):
        assert isinstance(public, rsa.RSAPublicKey) and public.key_size == int(spec[4:])
        assert public.public_numbers().e == 65537
    elif spec == "ECC_NIST_EDWARDS25519":
        assert isinstance(public, ed25519.Ed25519PublicKey)
    else:
        curve = {"ECC_NIST_P256": "secp256r1", "ECC_NIST_P384": "secp384r1", "ECC_NIST_P521": "secp521r1",
                 "ECC_SECG_P256K1": "secp256k1"}[spec]
        assert isinstance(public, ec.EllipticCurvePublicKey) and public.curve.name == curve
    # The public key is a fixed property of the key: asking again gives the same bytes.
    assert kms.get_public_key(KeyId=md["Arn"])["PublicKey"] == out["PublicKey"]


def test_get_public_key_accepts_an_alias(kms, key):
    md = key("ECC_NIST_P256", "SIGN_VERIFY")
    kms.create_alias(AliasName="alias/p256-signer", TargetKeyId=md["KeyId"])
    assert kms.get_public_key(KeyId="alias/p256-signer")["PublicKey"] == kms.get_public_key(KeyId=md["KeyId"])[
        "PublicKey"
    ]


@pytest.mark.parametrize("spec,usage", [("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"), ("HMAC_256", "GENERATE_VERIFY_MAC")])
def test_get_public_key_of_a_symmetric_or_hmac_key_is_unsupported(kms, key, spec, usage):
    md = key(spec, usage)
    with pytest.raises(ClientError) as exc:
        kms.get_public_key(KeyId=md["KeyId"])
    assert error_code(exc) == "UnsupportedOperationException"


def test_two_keys_of_the_same_spec_have_different_public_keys(kms, key):
    other = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    mine = key("ECC_NIST_P256", "SIGN_VERIFY")
    assert kms.get_public_key(KeyId=other["KeyId"])["PublicKey"] != kms.get_public_key(KeyId=mine["KeyId"])["PublicKey"]


# ---------------------------------------------------------------------------- operation x key usage


@pytest.mark.parametrize(
    "spec,usage",
    [("RSA_2048", "SIGN_VERIFY"), ("ECC_NIST_P256", "SIGN_VERIFY"), ("ECC_NIST_P256", "KEY_AGREEMENT"),
     ("ECC_NIST_EDWARDS25519", "SIGN_VERIFY"), ("HMAC_256", "GENERATE_VERIFY_MAC")],
)
def test_encrypt_with_a_key_that_is_not_for_encryption_is_invalid_key_usage(kms, key, spec, usage):
    md = key(spec, usage)
    algorithm = "RSAES_OAEP_SHA_256" if spec.startswith("RSA") else "SYMMETRIC_DEFAULT"
    with pytest.raises(ClientError) as exc:
        kms.encrypt(KeyId=md["KeyId"], Plaintext=b"secret", EncryptionAlgorithm=algorithm)
    assert error_code(exc) == "InvalidKeyUsageException"
    assert error_message(exc) == f"{md['Arn']} key usage is {usage} which is not valid for Encrypt."


@pytest.mark.parametrize(
    "spec,usage",
    [("RSA_2048", "ENCRYPT_DECRYPT"), ("RSA_2048", "SIGN_VERIFY"), ("ECC_NIST_P256", "SIGN_VERIFY"),
     ("ECC_NIST_P384", "KEY_AGREEMENT"), ("HMAC_256", "GENERATE_VERIFY_MAC")],
)
@pytest.mark.parametrize("operation", ["generate_data_key", "generate_data_key_without_plaintext"])
def test_generate_data_key_needs_a_symmetric_encryption_key(kms, key, spec, usage, operation):
    md = key(spec, usage)
    with pytest.raises(ClientError) as exc:
        getattr(kms, operation)(KeyId=md["KeyId"], KeySpec="AES_256")
    assert error_code(exc) == "InvalidKeyUsageException"
    assert error_message(exc).startswith(md["Arn"])


@pytest.mark.parametrize(
    "spec,usage",
    [("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"), ("RSA_2048", "ENCRYPT_DECRYPT"), ("ECC_NIST_P256", "KEY_AGREEMENT"),
     ("HMAC_256", "GENERATE_VERIFY_MAC")],
)
def test_sign_and_verify_with_a_key_that_is_not_for_signing_is_invalid_key_usage(kms, key, spec, usage):
    md = key(spec, usage)
    algorithm = "ECDSA_SHA_256" if spec.startswith("ECC") else "RSASSA_PSS_SHA_256"
    with pytest.raises(ClientError) as exc:
        kms.sign(KeyId=md["KeyId"], Message=b"msg", SigningAlgorithm=algorithm)
    assert error_code(exc) == "InvalidKeyUsageException"
    assert error_message(exc) == f"{md['Arn']} key usage is {usage} which is not valid for Sign."
    with pytest.raises(ClientError) as exc:
        kms.verify(KeyId=md["KeyId"], Message=b"msg", Signature=b"\x01" * 64, SigningAlgorithm=algorithm)
    assert error_code(exc) == "InvalidKeyUsageException"
    assert error_message(exc) == f"{md['Arn']} key usage is {usage} which is not valid for Verify."


@pytest.mark.parametrize(
    "spec,usage",
    [("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"), ("RSA_2048", "ENCRYPT_DECRYPT"), ("ECC_NIST_P256", "SIGN_VERIFY")],
)
def test_generate_mac_with_a_key_that_is_not_an_hmac_key_is_invalid_key_usage(kms, key, spec, usage):
    md = key(spec, usage)
    with pytest.raises(ClientError) as exc:
        kms.generate_mac(KeyId=md["KeyId"], Message=b"msg", MacAlgorithm="HMAC_SHA_256")
    assert error_code(exc) == "InvalidKeyUsageException"
    assert error_message(exc) == f"{md['Arn']} key usage is {usage} which is not valid for GenerateMac."


@pytest.mark.parametrize(
    "spec,usage",
    [("ECC_NIST_P256", "SIGN_VERIFY"), ("RSA_2048", "ENCRYPT_DECRYPT"), ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"),
     ("HMAC_256", "GENERATE_VERIFY_MAC")],
)
def test_derive_shared_secret_needs_a_key_agreement_key(kms, key, spec, usage):
    md = key(spec, usage)
    peer = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(ClientError) as exc:
        kms.derive_shared_secret(KeyId=md["KeyId"], KeyAgreementAlgorithm="ECDH", PublicKey=peer)
    assert error_code(exc) == "InvalidKeyUsageException"
    assert error_message(exc) == f"{md['Arn']} key usage is {usage} which is not valid for DeriveSharedSecret."


@pytest.mark.parametrize(
    "spec,algorithm",
    [("ECC_NIST_P256", "ECDSA_SHA_384"), ("ECC_NIST_P384", "ECDSA_SHA_256"), ("ECC_NIST_P521", "ECDSA_SHA_384"),
     ("ECC_SECG_P256K1", "ECDSA_SHA_512"), ("RSA_2048", "ECDSA_SHA_256"), ("ECC_NIST_P256", "RSASSA_PSS_SHA_256"),
     ("ECC_NIST_EDWARDS25519", "ECDSA_SHA_512"), ("RSA_3072", "ED25519_SHA_512")],
)
def test_a_signing_algorithm_the_spec_does_not_have_is_invalid_key_usage(kms, key, spec, algorithm):
    md = key(spec, "SIGN_VERIFY")
    with pytest.raises(ClientError) as exc:
        kms.sign(KeyId=md["KeyId"], Message=b"msg", SigningAlgorithm=algorithm)
    assert error_code(exc) == "InvalidKeyUsageException"
    assert error_message(exc) == f"Algorithm {algorithm} is incompatible with key spec {spec}."
    with pytest.raises(ClientError) as exc:
        kms.verify(KeyId=md["KeyId"], Message=b"msg", Signature=b"\x01" * 64, SigningAlgorithm=algorithm)
    assert error_code(exc) == "InvalidKeyUsageException"


def test_encrypt_with_an_rsa_key_needs_an_rsa_algorithm(kms, key):
    md = key("RSA_2048", "ENCRYPT_DECRYPT")
    with pytest.raises(ClientError) as exc:
        kms.encrypt(KeyId=md["KeyId"], Plaintext=b"secret")  # SYMMETRIC_DEFAULT by default
    assert error_code(exc) == "InvalidKeyUsageException"
    assert error_message(exc) == "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048."


def test_encrypt_with_a_symmetric_key_refuses_an_rsa_algorithm(kms, key):
    md = key("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
    with pytest.raises(ClientError) as exc:
        kms.encrypt(KeyId=md["KeyId"], Plaintext=b"secret", EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    assert error_code(exc) == "InvalidKeyUsageException"
    assert error_message(exc) == "Algorithm RSAES_OAEP_SHA_256 is incompatible with key spec SYMMETRIC_DEFAULT."


# ---------------------------------------------------------------------------- encryption context


def test_encrypt_with_an_rsa_key_refuses_an_encryption_context(kms, key):
    md = key("RSA_2048", "ENCRYPT_DECRYPT")
    with pytest.raises(ClientError) as exc:
        kms.encrypt(KeyId=md["KeyId"], Plaintext=b"secret", EncryptionAlgorithm="RSAES_OAEP_SHA_256",
                    EncryptionContext={"purpose": "test"})
    assert error_code(exc) == "ValidationException"


def test_decrypt_with_an_rsa_key_refuses_an_encryption_context(kms, key):
    md = key("RSA_2048", "ENCRYPT_DECRYPT")
    blob = kms.encrypt(KeyId=md["KeyId"], Plaintext=b"secret", EncryptionAlgorithm="RSAES_OAEP_SHA_256")["CiphertextBlob"]
    with pytest.raises(ClientError) as exc:
        kms.decrypt(CiphertextBlob=blob, KeyId=md["KeyId"], EncryptionAlgorithm="RSAES_OAEP_SHA_256",
                    EncryptionContext={"purpose": "test"})
    assert error_code(exc) == "ValidationException"


def test_re_encrypt_to_an_rsa_key_refuses_a_destination_encryption_context(kms, key):
    sym = key("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
    dest = key("RSA_2048", "ENCRYPT_DECRYPT")
    blob = kms.encrypt(KeyId=sym["KeyId"], Plaintext=b"secret")["CiphertextBlob"]
    with pytest.raises(ClientError) as exc:
        kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=dest["KeyId"],
                       DestinationEncryptionAlgorithm="RSAES_OAEP_SHA_256",
                       DestinationEncryptionContext={"purpose": "test"})
    assert error_code(exc) == "ValidationException"


def test_re_encrypt_from_an_rsa_key_refuses_a_source_encryption_context(kms, key):
    src = key("RSA_2048", "ENCRYPT_DECRYPT")
    sym = key("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
    blob = kms.encrypt(KeyId=src["KeyId"], Plaintext=b"secret", EncryptionAlgorithm="RSAES_OAEP_SHA_1")["CiphertextBlob"]
    with pytest.raises(ClientError) as exc:
        kms.re_encrypt(CiphertextBlob=blob, SourceKeyId=src["KeyId"], SourceEncryptionAlgorithm="RSAES_OAEP_SHA_1",
                       SourceEncryptionContext={"purpose": "test"}, DestinationKeyId=sym["KeyId"])
    assert error_code(exc) == "ValidationException"


# ---------------------------------------------------------------------------- rotation


@pytest.mark.parametrize(
    "spec,usage",
    [("RSA_2048", "ENCRYPT_DECRYPT"), ("RSA_2048", "SIGN_VERIFY"), ("ECC_NIST_P256", "SIGN_VERIFY"),
     ("ECC_NIST_P384", "KEY_AGREEMENT"), ("ECC_NIST_EDWARDS25519", "SIGN_VERIFY"), ("HMAC_256", "GENERATE_VERIFY_MAC")],
)
@pytest.mark.parametrize("operation", ["enable_key_rotation", "rotate_key_on_demand"])
def test_rotation_is_unsupported_for_asymmetric_and_hmac_keys(kms, key, spec, usage, operation):
    md = key(spec, usage)
    public = None if spec.startswith("HMAC") else kms.get_public_key(KeyId=md["KeyId"])["PublicKey"]
    with pytest.raises(ClientError) as exc:
        getattr(kms, operation)(KeyId=md["KeyId"])
    assert error_code(exc) == "UnsupportedOperationException"
    # Nothing rotated: the public key is unchanged.
    if public is not None:
        assert kms.get_public_key(KeyId=md["KeyId"])["PublicKey"] == public


def test_rotate_key_on_demand_of_an_asymmetric_key_has_the_empty_message_recorded_from_aws(kms, key):
    # Reference 2.11: real AWS answers RotateKeyOnDemand on an asymmetric key with an
    # UnsupportedOperationException whose message is empty.
    md = key("ECC_NIST_P256", "SIGN_VERIFY")
    with pytest.raises(ClientError) as exc:
        kms.rotate_key_on_demand(KeyId=md["KeyId"])
    assert error_code(exc) == "UnsupportedOperationException"
    assert error_message(exc) == ""


# ---------------------------------------------------------------------------- key states


def test_a_disabled_rsa_signing_key_refuses_sign_verify_and_get_public_key_until_enabled(kms):
    md = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    signature = kms.sign(KeyId=md["KeyId"], Message=b"msg", SigningAlgorithm="RSASSA_PSS_SHA_256")["Signature"]
    public = kms.get_public_key(KeyId=md["KeyId"])["PublicKey"]
    kms.disable_key(KeyId=md["KeyId"])
    calls = {
        "Sign": lambda: kms.sign(KeyId=md["KeyId"], Message=b"msg", SigningAlgorithm="RSASSA_PSS_SHA_256"),
        "Verify": lambda: kms.verify(KeyId=md["KeyId"], Message=b"msg", Signature=signature,
                                     SigningAlgorithm="RSASSA_PSS_SHA_256"),
        "GetPublicKey": lambda: kms.get_public_key(KeyId=md["KeyId"]),
    }
    for name, call in calls.items():
        with pytest.raises(ClientError) as exc:
            call()
        assert error_code(exc) == "DisabledException", name
        assert error_message(exc) == f"{md['Arn']} is disabled.", name
    kms.enable_key(KeyId=md["KeyId"])
    assert kms.verify(KeyId=md["KeyId"], Message=b"msg", Signature=signature,
                      SigningAlgorithm="RSASSA_PSS_SHA_256")["SignatureValid"] is True
    assert kms.get_public_key(KeyId=md["KeyId"])["PublicKey"] == public


def test_a_disabled_rsa_encryption_key_refuses_encrypt_and_decrypt(kms):
    md = kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
    blob = kms.encrypt(KeyId=md["KeyId"], Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256")["CiphertextBlob"]
    kms.disable_key(KeyId=md["KeyId"])
    with pytest.raises(ClientError) as exc:
        kms.encrypt(KeyId=md["KeyId"], Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    assert error_code(exc) == "DisabledException"
    with pytest.raises(ClientError) as exc:
        kms.decrypt(CiphertextBlob=blob, KeyId=md["KeyId"], EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    assert error_code(exc) == "DisabledException"
    assert error_message(exc) == f"{md['Arn']} is disabled."


def test_a_signing_key_pending_deletion_refuses_sign(kms):
    md = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    kms.schedule_key_deletion(KeyId=md["KeyId"], PendingWindowInDays=7)
    with pytest.raises(ClientError) as exc:
        kms.sign(KeyId=md["KeyId"], Message=b"msg", SigningAlgorithm="ECDSA_SHA_256")
    assert error_code(exc) == "KMSInvalidStateException"
    assert error_message(exc) == f"{md['Arn']} is pending deletion."


def test_sign_with_dry_run_does_not_sign(kms, key):
    md = key("ECC_NIST_P256", "SIGN_VERIFY")
    with pytest.raises(ClientError) as exc:
        kms.sign(KeyId=md["KeyId"], Message=b"msg", SigningAlgorithm="ECDSA_SHA_256", DryRun=True)
    assert error_code(exc) == "DryRunOperationException"


# ---------------------------------------------------------------------------- RSA encryption


@pytest.mark.parametrize("spec,algorithm", sorted(RSA_LIMITS))
def test_rsa_encryption_takes_exactly_the_documented_plaintext_limit(kms, key, spec, algorithm):
    md = key(spec, "ENCRYPT_DECRYPT")
    limit = RSA_LIMITS[(spec, algorithm)]
    plaintext = bytes(range(256)) * 2
    out = kms.encrypt(KeyId=md["KeyId"], Plaintext=plaintext[:limit], EncryptionAlgorithm=algorithm)
    assert out["EncryptionAlgorithm"] == algorithm and out["KeyId"] == md["Arn"]
    assert len(out["CiphertextBlob"]) == int(spec[4:]) // 8  # bare RSAES-OAEP output, no envelope
    back = kms.decrypt(CiphertextBlob=out["CiphertextBlob"], KeyId=md["KeyId"], EncryptionAlgorithm=algorithm)
    assert back["Plaintext"] == plaintext[:limit]
    assert back["EncryptionAlgorithm"] == algorithm and back["KeyId"] == md["Arn"]
    assert "KeyMaterialId" not in back
    with pytest.raises(ClientError) as exc:
        kms.encrypt(KeyId=md["KeyId"], Plaintext=plaintext[: limit + 1], EncryptionAlgorithm=algorithm)
    assert error_code(exc) == "ValidationException"
    assert error_message(exc) == (
        f"Algorithm {algorithm} and key spec {spec} cannot encrypt data larger than {limit} bytes."
    )


def test_rsa_encryption_is_randomised(kms, key):
    md = key("RSA_2048", "ENCRYPT_DECRYPT")
    a = kms.encrypt(KeyId=md["KeyId"], Plaintext=b"same", EncryptionAlgorithm="RSAES_OAEP_SHA_256")["CiphertextBlob"]
    b = kms.encrypt(KeyId=md["KeyId"], Plaintext=b"same", EncryptionAlgorithm="RSAES_OAEP_SHA_256")["CiphertextBlob"]
    assert a != b


def test_decrypt_of_rsa_ciphertext_without_key_id_is_invalid_ciphertext(kms, key):
    md = key("RSA_2048", "ENCRYPT_DECRYPT")
    blob = kms.encrypt(KeyId=md["KeyId"], Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256")["CiphertextBlob"]
    with pytest.raises(ClientError) as exc:
        kms.decrypt(CiphertextBlob=blob, EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    assert error_code(exc) == "InvalidCiphertextException"


def test_decrypt_of_rsa_ciphertext_without_the_algorithm_is_refused(kms, key):
    md = key("RSA_2048", "ENCRYPT_DECRYPT")
    blob = kms.encrypt(KeyId=md["KeyId"], Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256")["CiphertextBlob"]
    with pytest.raises(ClientError) as exc:
        kms.decrypt(CiphertextBlob=blob, KeyId=md["KeyId"])  # defaults to SYMMETRIC_DEFAULT
    assert error_code(exc) == "InvalidKeyUsageException"
    assert error_message(exc) == "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048."


@pytest.mark.parametrize("used,given", [("RSAES_OAEP_SHA_256", "RSAES_OAEP_SHA_1"), ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256")])
def test_decrypt_of_rsa_ciphertext_with_the_other_oaep_algorithm_is_invalid_ciphertext(kms, key, used, given):
    md = key("RSA_2048", "ENCRYPT_DECRYPT")
    blob = kms.encrypt(KeyId=md["KeyId"], Plaintext=b"x", EncryptionAlgorithm=used)["CiphertextBlob"]
    with pytest.raises(ClientError) as exc:
        kms.decrypt(CiphertextBlob=blob, KeyId=md["KeyId"], EncryptionAlgorithm=given)
    assert error_code(exc) == "InvalidCiphertextException"


def test_decrypt_of_rsa_ciphertext_with_another_rsa_key_is_invalid_ciphertext(kms, key):
    md = key("RSA_2048", "ENCRYPT_DECRYPT")
    other = kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
    blob = kms.encrypt(KeyId=md["KeyId"], Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256")["CiphertextBlob"]
    with pytest.raises(ClientError) as exc:
        kms.decrypt(CiphertextBlob=blob, KeyId=other["KeyId"], EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    assert error_code(exc) == "InvalidCiphertextException"


def test_decrypt_with_an_rsa_signing_key_is_invalid_key_usage(kms, key):
    enc = key("RSA_2048", "ENCRYPT_DECRYPT")
    signer = key("RSA_2048", "SIGN_VERIFY")
    blob = kms.encrypt(KeyId=enc["KeyId"], Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256")["CiphertextBlob"]
    with pytest.raises(ClientError) as exc:
        kms.decrypt(CiphertextBlob=blob, KeyId=signer["KeyId"], EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    assert error_code(exc) == "InvalidKeyUsageException"


def test_rsa_decrypt_of_a_tampered_ciphertext_is_invalid_ciphertext(kms, key):
    md = key("RSA_3072", "ENCRYPT_DECRYPT")
    blob = bytearray(kms.encrypt(KeyId=md["KeyId"], Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_1")["CiphertextBlob"])
    blob[10] ^= 0x01
    with pytest.raises(ClientError) as exc:
        kms.decrypt(CiphertextBlob=bytes(blob), KeyId=md["KeyId"], EncryptionAlgorithm="RSAES_OAEP_SHA_1")
    assert error_code(exc) == "InvalidCiphertextException"


def test_re_encrypt_from_rsa_to_symmetric(kms, key):
    src = key("RSA_3072", "ENCRYPT_DECRYPT")
    dest = key("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
    blob = kms.encrypt(KeyId=src["KeyId"], Plaintext=b"move me", EncryptionAlgorithm="RSAES_OAEP_SHA_256")["CiphertextBlob"]
    out = kms.re_encrypt(CiphertextBlob=blob, SourceKeyId=src["KeyId"], SourceEncryptionAlgorithm="RSAES_OAEP_SHA_256",
                         DestinationKeyId=dest["KeyId"])
    assert out["SourceKeyId"] == src["Arn"] and out["KeyId"] == dest["Arn"]
    assert out["SourceEncryptionAlgorithm"] == "RSAES_OAEP_SHA_256"
    assert out["DestinationEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert "SourceKeyMaterialId" not in out
    assert out["DestinationKeyMaterialId"] == dest["CurrentKeyMaterialId"]
    back = kms.decrypt(CiphertextBlob=out["CiphertextBlob"])
    assert back["Plaintext"] == b"move me" and back["KeyId"] == dest["Arn"]


def test_re_encrypt_from_rsa_without_the_source_key_is_invalid_ciphertext(kms, key):
    src = key("RSA_2048", "ENCRYPT_DECRYPT")
    dest = key("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
    blob = kms.encrypt(KeyId=src["KeyId"], Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256")["CiphertextBlob"]
    with pytest.raises(ClientError) as exc:
        kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionAlgorithm="RSAES_OAEP_SHA_256", DestinationKeyId=dest["KeyId"])
    assert error_code(exc) == "InvalidCiphertextException"


def test_re_encrypt_from_symmetric_to_rsa(kms, key):
    src = key("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
    dest = key("RSA_4096", "ENCRYPT_DECRYPT")
    blob = kms.encrypt(KeyId=src["KeyId"], Plaintext=b"move me")["CiphertextBlob"]
    out = kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=dest["KeyId"],
                         DestinationEncryptionAlgorithm="RSAES_OAEP_SHA_1")
    assert out["SourceKeyId"] == src["Arn"] and out["KeyId"] == dest["Arn"]
    assert out["SourceEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert out["DestinationEncryptionAlgorithm"] == "RSAES_OAEP_SHA_1"
    assert out["SourceKeyMaterialId"] == src["CurrentKeyMaterialId"]
    assert "DestinationKeyMaterialId" not in out
    assert len(out["CiphertextBlob"]) == 512
    back = kms.decrypt(CiphertextBlob=out["CiphertextBlob"], KeyId=dest["KeyId"], EncryptionAlgorithm="RSAES_OAEP_SHA_1")
    assert back["Plaintext"] == b"move me"


def test_re_encrypt_to_rsa_needs_the_destination_algorithm(kms, key):
    src = key("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
    dest = key("RSA_2048", "ENCRYPT_DECRYPT")
    blob = kms.encrypt(KeyId=src["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    with pytest.raises(ClientError) as exc:
        kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=dest["KeyId"])
    assert error_code(exc) == "InvalidKeyUsageException"


def test_re_encrypt_to_rsa_applies_the_destination_size_limit(kms, key):
    src = key("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
    dest = key("RSA_2048", "ENCRYPT_DECRYPT")
    blob = kms.encrypt(KeyId=src["KeyId"], Plaintext=b"\x05" * 191)["CiphertextBlob"]
    with pytest.raises(ClientError) as exc:
        kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=dest["KeyId"],
                       DestinationEncryptionAlgorithm="RSAES_OAEP_SHA_256")
    assert error_code(exc) == "ValidationException"
    assert error_message(exc) == "Algorithm RSAES_OAEP_SHA_256 and key spec RSA_2048 cannot encrypt data larger than 190 bytes."


def test_re_encrypt_between_rsa_keys_changes_the_algorithm(kms, key):
    src = key("RSA_2048", "ENCRYPT_DECRYPT")
    dest = key("RSA_3072", "ENCRYPT_DECRYPT")
    blob = kms.encrypt(KeyId=src["KeyId"], Plaintext=b"hop", EncryptionAlgorithm="RSAES_OAEP_SHA_1")["CiphertextBlob"]
    out = kms.re_encrypt(CiphertextBlob=blob, SourceKeyId=src["KeyId"], SourceEncryptionAlgorithm="RSAES_OAEP_SHA_1",
                         DestinationKeyId=dest["KeyId"], DestinationEncryptionAlgorithm="RSAES_OAEP_SHA_256")
    back = kms.decrypt(CiphertextBlob=out["CiphertextBlob"], KeyId=dest["KeyId"], EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    assert back["Plaintext"] == b"hop"


def test_symmetric_ciphertext_cannot_be_decrypted_by_naming_an_rsa_key(kms, key):
    sym = key("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
    rsa_key = key("RSA_2048", "ENCRYPT_DECRYPT")
    blob = kms.encrypt(KeyId=sym["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    with pytest.raises(ClientError) as exc:
        kms.decrypt(CiphertextBlob=blob, KeyId=rsa_key["KeyId"], EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    assert error_code(exc) in ("InvalidCiphertextException", "IncorrectKeyException")


# ---------------------------------------------------------------------------- signing


@pytest.mark.parametrize("spec,algorithm", SIGNING_CASES)
@pytest.mark.parametrize("message_type", ["RAW", "DIGEST"])
def test_sign_then_verify_for_every_algorithm_of_every_spec(kms, key, spec, algorithm, message_type):
    md = key(spec, "SIGN_VERIFY")
    message = b"The quick brown fox jumps over the lazy dog"
    if message_type == "DIGEST":
        message = _hash(algorithm, message)
    out = kms.sign(KeyId=md["KeyId"], Message=message, MessageType=message_type, SigningAlgorithm=algorithm)
    assert out["KeyId"] == md["Arn"] and out["SigningAlgorithm"] == algorithm
    if spec.startswith("RSA_"):
        assert len(out["Signature"]) == int(spec[4:]) // 8
    ok = kms.verify(KeyId=md["KeyId"], Message=message, MessageType=message_type, Signature=out["Signature"],
                    SigningAlgorithm=algorithm)
    assert ok["SignatureValid"] is True and ok["KeyId"] == md["Arn"] and ok["SigningAlgorithm"] == algorithm
    # A changed message does not verify: KMS raises, never answers SignatureValid: false.
    changed = bytes([message[0] ^ 1]) + message[1:]
    with pytest.raises(ClientError) as exc:
        kms.verify(KeyId=md["KeyId"], Message=changed, MessageType=message_type, Signature=out["Signature"],
                   SigningAlgorithm=algorithm)
    assert error_code(exc) == "KMSInvalidSignatureException"
    assert error_message(exc) == ""


@pytest.mark.parametrize("spec,algorithm", SIGNING_CASES)
def test_a_tampered_signature_raises_invalid_signature(kms, key, spec, algorithm):
    md = key(spec, "SIGN_VERIFY")
    signature = bytearray(kms.sign(KeyId=md["KeyId"], Message=b"msg", SigningAlgorithm=algorithm)["Signature"])
    signature[-1] ^= 0x01
    with pytest.raises(ClientError) as exc:
        kms.verify(KeyId=md["KeyId"], Message=b"msg", Signature=bytes(signature), SigningAlgorithm=algorithm)
    assert error_code(exc) == "KMSInvalidSignatureException"


@pytest.mark.parametrize("spec,algorithm", SIGNING_CASES)
def test_a_raw_signature_verifies_as_the_digest_of_the_same_message_and_back(kms, key, spec, algorithm):
    md = key(spec, "SIGN_VERIFY")
    message = b"sign me once, verify me twice"
    digest = _hash(algorithm, message)
    raw_sig = kms.sign(KeyId=md["KeyId"], Message=message, MessageType="RAW", SigningAlgorithm=algorithm)["Signature"]
    assert kms.verify(KeyId=md["KeyId"], Message=digest, MessageType="DIGEST", Signature=raw_sig,
                      SigningAlgorithm=algorithm)["SignatureValid"] is True
    digest_sig = kms.sign(KeyId=md["KeyId"], Message=digest, MessageType="DIGEST", SigningAlgorithm=algorithm)["Signature"]
    assert kms.verify(KeyId=md["KeyId"], Message=message, MessageType="RAW", Signature=digest_sig,
                      SigningAlgorithm=algorithm)["SignatureValid"] is True


def test_a_digest_signed_as_raw_is_hashed_again_and_does_not_verify_as_digest(kms, key):
    md = key("ECC_NIST_P256", "SIGN_VERIFY")
    digest = hashlib.sha256(b"msg").digest()
    sig = kms.sign(KeyId=md["KeyId"], Message=digest, MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    with pytest.raises(ClientError) as exc:
        kms.verify(KeyId=md["KeyId"], Message=digest, MessageType="DIGEST", Signature=sig, SigningAlgorithm="ECDSA_SHA_256")
    assert error_code(exc) == "KMSInvalidSignatureException"


@pytest.mark.parametrize("signed,verified", [("RSASSA_PSS_SHA_256", "RSASSA_PKCS1_V1_5_SHA_256"),
                                             ("RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512"),
                                             ("RSASSA_PSS_SHA_512", "RSASSA_PSS_SHA_256")])
def test_a_signature_does_not_verify_under_another_algorithm(kms, key, signed, verified):
    md = key("RSA_2048", "SIGN_VERIFY")
    sig = kms.sign(KeyId=md["KeyId"], Message=b"msg", SigningAlgorithm=signed)["Signature"]
    with pytest.raises(ClientError) as exc:
        kms.verify(KeyId=md["KeyId"], Message=b"msg", Signature=sig, SigningAlgorithm=verified)
    assert error_code(exc) == "KMSInvalidSignatureException"


def test_a_signature_does_not_verify_under_another_key(kms, key):
    md = key("ECC_NIST_P256", "SIGN_VERIFY")
    other = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    sig = kms.sign(KeyId=md["KeyId"], Message=b"msg", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    with pytest.raises(ClientError) as exc:
        kms.verify(KeyId=other["KeyId"], Message=b"msg", Signature=sig, SigningAlgorithm="ECDSA_SHA_256")
    assert error_code(exc) == "KMSInvalidSignatureException"


@pytest.mark.parametrize("signature", [b"\x00", b"\x30\x06\x02\x01\x01\x02\x01\x01", b"\xff" * 300])
def test_a_malformed_signature_raises_invalid_signature_not_an_internal_error(kms, key, signature):
    for spec, algorithm in [("ECC_NIST_P384", "ECDSA_SHA_384"), ("RSA_2048", "RSASSA_PKCS1_V1_5_SHA_256"),
                            ("ECC_NIST_EDWARDS25519", "ED25519_SHA_512")]:
        md = key(spec, "SIGN_VERIFY")
        with pytest.raises(ClientError) as exc:
            kms.verify(KeyId=md["KeyId"], Message=b"msg", Signature=signature, SigningAlgorithm=algorithm)
        assert error_code(exc) == "KMSInvalidSignatureException", spec


@pytest.mark.parametrize(
    "spec,algorithm,length",
    [("ECC_NIST_P256", "ECDSA_SHA_256", 48), ("ECC_NIST_P256", "ECDSA_SHA_256", 31), ("ECC_NIST_P384", "ECDSA_SHA_384", 32),
     ("ECC_NIST_P521", "ECDSA_SHA_512", 48), ("RSA_2048", "RSASSA_PSS_SHA_256", 64),
     ("RSA_2048", "RSASSA_PKCS1_V1_5_SHA_512", 32), ("ECC_NIST_EDWARDS25519", "ED25519_PH_SHA_512", 32)],
)
def test_a_digest_of_the_wrong_length_is_a_validation_error(kms, key, spec, algorithm, length):
    md = key(spec, "SIGN_VERIFY")
    for call in (
        lambda: kms.sign(KeyId=md["KeyId"], Message=b"\x01" * length, MessageType="DIGEST", SigningAlgorithm=algorithm),
        lambda: kms.verify(KeyId=md["KeyId"], Message=b"\x01" * length, MessageType="DIGEST", Signature=b"\x01" * 64,
                           SigningAlgorithm=algorithm),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_code(exc) == "ValidationException"
        assert error_message(exc) == f"Digest is invalid length for algorithm {algorithm}."


def test_ed25519_sha_512_signs_raw_messages(kms, key):
    md = key("ECC_NIST_EDWARDS25519", "SIGN_VERIFY")
    out = kms.sign(KeyId=md["KeyId"], Message=b"edwards", MessageType="RAW", SigningAlgorithm="ED25519_SHA_512")
    assert len(out["Signature"]) == 64
    assert kms.verify(KeyId=md["KeyId"], Message=b"edwards", Signature=out["Signature"],
                      SigningAlgorithm="ED25519_SHA_512")["SignatureValid"] is True
    # Ed25519 is deterministic.
    again = kms.sign(KeyId=md["KeyId"], Message=b"edwards", SigningAlgorithm="ED25519_SHA_512")["Signature"]
    assert again == out["Signature"]
    with pytest.raises(ClientError) as exc:
        kms.verify(KeyId=md["KeyId"], Message=b"edwardz", Signature=out["Signature"], SigningAlgorithm="ED25519_SHA_512")
    assert error_code(exc) == "KMSInvalidSignatureException"


def test_ed25519_sha_512_refuses_message_type_digest(kms, key):
    md = key("ECC_NIST_EDWARDS25519", "SIGN_VERIFY")
    with pytest.raises(ClientError) as exc:
        kms.sign(KeyId=md["KeyId"], Message=hashlib.sha512(b"m").digest(), MessageType="DIGEST",
                 SigningAlgorithm="ED25519_SHA_512")
    assert error_code(exc) == "ValidationException"


def test_ed25519_ph_sha_512_signs_digests(kms, key):
    md = key("ECC_NIST_EDWARDS25519", "SIGN_VERIFY")
    digest = hashlib.sha512(b"edwards").digest()
    out = kms.sign(KeyId=md["KeyId"], Message=digest, MessageType="DIGEST", SigningAlgorithm="ED25519_PH_SHA_512")
    assert len(out["Signature"]) == 64 and out["SigningAlgorithm"] == "ED25519_PH_SHA_512"
    assert kms.verify(KeyId=md["KeyId"], Message=digest, MessageType="DIGEST", Signature=out["Signature"],
                      SigningAlgorithm="ED25519_PH_SHA_512")["SignatureValid"] is True
    with pytest.raises(ClientError) as exc:
        kms.verify(KeyId=md["KeyId"], Message=hashlib.sha512(b"edwardz").digest(), MessageType="DIGEST",
                   Signature=out["Signature"], SigningAlgorithm="ED25519_PH_SHA_512")
    assert error_code(exc) == "KMSInvalidSignatureException"
    # The pre-hashed and the pure signature are different schemes: neither verifies as the other.
    pure = kms.sign(KeyId=md["KeyId"], Message=b"edwards", SigningAlgorithm="ED25519_SHA_512")["Signature"]
    assert pure != out["Signature"]
    with pytest.raises(ClientError) as exc:
        kms.verify(KeyId=md["KeyId"], Message=digest, MessageType="DIGEST", Signature=pure,
                   SigningAlgorithm="ED25519_PH_SHA_512")
    assert error_code(exc) == "KMSInvalidSignatureException"


def test_ed25519_ph_sha_512_refuses_message_type_raw(kms, key):
    md = key("ECC_NIST_EDWARDS25519", "SIGN_VERIFY")
    for kwargs in ({"MessageType": "RAW"}, {}):
        with pytest.raises(ClientError) as exc:
            kms.sign(KeyId=md["KeyId"], Message=b"edwards", SigningAlgorithm="ED25519_PH_SHA_512", **kwargs)
        assert error_code(exc) == "ValidationException"


@pytest.mark.parametrize("spec,algorithm", [("ECC_NIST_P256", "ECDSA_SHA_256"), ("RSA_2048", "RSASSA_PSS_SHA_256"),
                                            ("ECC_NIST_EDWARDS25519", "ED25519_SHA_512")])
def test_messages_up_to_4096_bytes_are_signed_and_4097_is_a_validation_error(kms, key, spec, algorithm):
    md = key(spec, "SIGN_VERIFY")
    sig = kms.sign(KeyId=md["KeyId"], Message=b"\x42" * 4096, SigningAlgorithm=algorithm)["Signature"]
    assert kms.verify(KeyId=md["KeyId"], Message=b"\x42" * 4096, Signature=sig,
                      SigningAlgorithm=algorithm)["SignatureValid"] is True
    with pytest.raises(ClientError) as exc:
        kms.sign(KeyId=md["KeyId"], Message=b"\x42" * 4097, SigningAlgorithm=algorithm)
    assert error_code(exc) == "ValidationException"
    assert "4096" in error_message(exc)
    with pytest.raises(ClientError) as exc:
        kms.verify(KeyId=md["KeyId"], Message=b"\x42" * 4097, Signature=sig, SigningAlgorithm=algorithm)
    assert error_code(exc) == "ValidationException"


def test_message_type_external_mu_is_refused_for_classic_algorithms(kms, key):
    md = key("ECC_NIST_P256", "SIGN_VERIFY")
    with pytest.raises(ClientError) as exc:
        kms.sign(KeyId=md["KeyId"], Message=b"\x00" * 64, MessageType="EXTERNAL_MU", SigningAlgorithm="ECDSA_SHA_256")
    assert error_code(exc) == "ValidationException"


def test_ecdsa_signatures_are_der_encoded(kms, key):
    md = key("ECC_NIST_P521", "SIGN_VERIFY")
    sig = kms.sign(KeyId=md["KeyId"], Message=b"msg", SigningAlgorithm="ECDSA_SHA_512")["Signature"]
    assert sig[0] == 0x30  # DER SEQUENCE of (r, s)
