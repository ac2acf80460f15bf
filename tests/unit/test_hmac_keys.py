"""HMAC KMS keys through the boto3 client: GenerateMac and VerifyMac for every HMAC spec,
the one algorithm each spec accepts, key usage, key states and what HMAC keys cannot do.

One cloud serves the module (``kms`` is module-scoped); ``hmac_key(spec)`` is a shared
key per spec. Tests that change a key's state create their own key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import pytest
from botocore.exceptions import ClientError

import kms_teach
from kms_teach._crypto.keyspecs import mac as keyspec_mac
from tests.conftest import error_code, error_message

START = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.timezone.utc)

SPECS = ["HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512"]
ALGORITHMS = ["HMAC_SHA_224", "HMAC_SHA_256", "HMAC_SHA_384", "HMAC_SHA_512"]
MAC_LENGTH = {"HMAC_SHA_224": 28, "HMAC_SHA_256": 32, "HMAC_SHA_384": 48, "HMAC_SHA_512": 64}


def _algorithm(spec: str) -> str:
    return "HMAC_SHA_" + spec.split("_")[1]


@pytest.fixture(scope="module")
def kms():
    cloud = kms_teach.Cloud(clock=kms_teach.Clock(START, frozen=True), seed=7)
    return cloud.client("kms", region_name="us-east-1")


@pytest.fixture(scope="module")
def hmac_key(kms):
    made: dict[str, dict] = {}

    def get(spec: str) -> dict:
        if spec not in made:
            made[spec] = kms.create_key(KeySpec=spec, KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
        return made[spec]

    return get


@pytest.fixture(scope="module")
def symmetric_key(kms) -> dict:
    return kms.create_key()["KeyMetadata"]


@pytest.mark.parametrize("spec", SPECS)
def test_describe_key_of_an_hmac_key_lists_only_its_mac_algorithm(kms, hmac_key, spec):
    md = kms.describe_key(KeyId=hmac_key(spec)["KeyId"])["KeyMetadata"]
    assert md["KeySpec"] == spec and md["KeyUsage"] == "GENERATE_VERIFY_MAC"
    assert md["MacAlgorithms"] == [_algorithm(spec)]
    for absent in ("EncryptionAlgorithms", "SigningAlgorithms", "KeyAgreementAlgorithms", "CurrentKeyMaterialId"):
        assert absent not in md


@pytest.mark.parametrize("spec", SPECS)
def test_generate_mac_gives_a_mac_of_the_hash_length_that_verify_mac_accepts(kms, hmac_key, spec):
    md = hmac_key(spec)
    algorithm = _algorithm(spec)
    out = kms.generate_mac(KeyId=md["KeyId"], Message=b"attack at dawn", MacAlgorithm=algorithm)
    assert out["KeyId"] == md["Arn"] and out["MacAlgorithm"] == algorithm
    assert len(out["Mac"]) == MAC_LENGTH[algorithm]
    ok = kms.verify_mac(KeyId=md["KeyId"], Message=b"attack at dawn", Mac=out["Mac"], MacAlgorithm=algorithm)
    assert ok == {**ok, "KeyId": md["Arn"], "MacValid": True, "MacAlgorithm": algorithm}


@pytest.mark.parametrize("spec", SPECS)
def test_generate_mac_is_deterministic(kms, hmac_key, spec):
    md = hmac_key(spec)
    a = kms.generate_mac(KeyId=md["KeyId"], Message=b"same", MacAlgorithm=_algorithm(spec))["Mac"]
    b = kms.generate_mac(KeyId=md["Arn"], Message=b"same", MacAlgorithm=_algorithm(spec))["Mac"]
    assert a == b
    c = kms.generate_mac(KeyId=md["KeyId"], Message=b"samf", MacAlgorithm=_algorithm(spec))["Mac"]
    assert c != a


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("bit", [0, 7, 100])
def test_verify_mac_rejects_a_mac_with_one_bit_flipped(kms, hmac_key, spec, bit):
    md = hmac_key(spec)
    algorithm = _algorithm(spec)
    tag = bytearray(kms.generate_mac(KeyId=md["KeyId"], Message=b"msg", MacAlgorithm=algorithm)["Mac"])
    tag[(bit // 8) % len(tag)] ^= 1 << (bit % 8)
    with pytest.raises(ClientError) as exc:
        kms.verify_mac(KeyId=md["KeyId"], Message=b"msg", Mac=bytes(tag), MacAlgorithm=algorithm)
    assert error_code(exc) == "KMSInvalidMacException"
    assert error_message(exc) == ""


@pytest.mark.parametrize("spec", SPECS)
def test_verify_mac_rejects_a_changed_message_and_a_truncated_mac(kms, hmac_key, spec):
    md = hmac_key(spec)
    algorithm = _algorithm(spec)
    tag = kms.generate_mac(KeyId=md["KeyId"], Message=b"msg", MacAlgorithm=algorithm)["Mac"]
    for message, given in ((b"msh", tag), (b"msg", tag[:-1]), (b"msg", tag + b"\x00")):
        with pytest.raises(ClientError) as exc:
            kms.verify_mac(KeyId=md["KeyId"], Message=message, Mac=given, MacAlgorithm=algorithm)
        assert error_code(exc) == "KMSInvalidMacException"


@pytest.mark.parametrize("spec", SPECS)
def test_two_hmac_keys_of_the_same_spec_give_different_macs(kms, hmac_key, spec):
    mine = hmac_key(spec)
    other = kms.create_key(KeySpec=spec, KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
    algorithm = _algorithm(spec)
    a = kms.generate_mac(KeyId=mine["KeyId"], Message=b"msg", MacAlgorithm=algorithm)["Mac"]
    b = kms.generate_mac(KeyId=other["KeyId"], Message=b"msg", MacAlgorithm=algorithm)["Mac"]
    assert a != b
    with pytest.raises(ClientError) as exc:
        kms.verify_mac(KeyId=other["KeyId"], Message=b"msg", Mac=a, MacAlgorithm=algorithm)
    assert error_code(exc) == "KMSInvalidMacException"


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_each_hmac_spec_accepts_only_its_own_algorithm(kms, hmac_key, spec, algorithm):
    md = hmac_key(spec)
    if algorithm == _algorithm(spec):
        tag = kms.generate_mac(KeyId=md["KeyId"], Message=b"msg", MacAlgorithm=algorithm)["Mac"]
        assert kms.verify_mac(KeyId=md["KeyId"], Message=b"msg", Mac=tag, MacAlgorithm=algorithm)["MacValid"] is True
        return
    with pytest.raises(ClientError) as exc:
        kms.generate_mac(KeyId=md["KeyId"], Message=b"msg", MacAlgorithm=algorithm)
    assert error_code(exc) == "InvalidKeyUsageException"
    assert error_message(exc) == f"Algorithm {algorithm} is incompatible with key spec {spec}."
    with pytest.raises(ClientError) as exc:
        kms.verify_mac(KeyId=md["KeyId"], Message=b"msg", Mac=b"\x00" * MAC_LENGTH[algorithm], MacAlgorithm=algorithm)
    assert error_code(exc) == "InvalidKeyUsageException"
    assert error_message(exc) == f"Algorithm {algorithm} is incompatible with key spec {spec}."


def test_generate_mac_on_a_symmetric_encryption_key_is_invalid_key_usage(kms, symmetric_key):
    with pytest.raises(ClientError) as exc:
        kms.generate_mac(KeyId=symmetric_key["KeyId"], Message=b"msg", MacAlgorithm="HMAC_SHA_256")
    assert error_code(exc) == "InvalidKeyUsageException"
    assert error_message(exc) == f"{symmetric_key['Arn']} key usage is ENCRYPT_DECRYPT which is not valid for GenerateMac."
    with pytest.raises(ClientError) as exc:
        kms.verify_mac(KeyId=symmetric_key["KeyId"], Message=b"msg", Mac=b"\x00" * 32, MacAlgorithm="HMAC_SHA_256")
    assert error_code(exc) == "InvalidKeyUsageException"
    assert error_message(exc) == f"{symmetric_key['Arn']} key usage is ENCRYPT_DECRYPT which is not valid for VerifyMac."


def test_generate_mac_on_a_signing_key_is_invalid_key_usage(kms):
    md = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    with pytest.raises(ClientError) as exc:
        kms.generate_mac(KeyId=md["KeyId"], Message=b"msg", MacAlgorithm="HMAC_SHA_256")
    assert error_code(exc) == "InvalidKeyUsageException"
    assert error_message(exc) == f"{md['Arn']} key usage is SIGN_VERIFY which is not valid for GenerateMac."


@pytest.mark.parametrize(
    "call",
    [
        lambda kms, k: kms.encrypt(KeyId=k, Plaintext=b"x"),
        lambda kms, k: kms.generate_data_key(KeyId=k, KeySpec="AES_256"),
        lambda kms, k: kms.generate_data_key_without_plaintext(KeyId=k, NumberOfBytes=16),
        lambda kms, k: kms.generate_data_key_pair(KeyId=k, KeyPairSpec="ECC_NIST_P256"),
        lambda kms, k: kms.sign(KeyId=k, Message=b"x", SigningAlgorithm="ECDSA_SHA_256"),
    ],
    ids=["Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair", "Sign"],
)
def test_an_hmac_key_cannot_encrypt_make_data_keys_or_sign(kms, hmac_key, call):
    md = hmac_key("HMAC_256")
    with pytest.raises(ClientError) as exc:
        call(kms, md["KeyId"])
    assert error_code(exc) == "InvalidKeyUsageException"
    assert "GENERATE_VERIFY_MAC" in error_message(exc)


@pytest.mark.parametrize("operation", ["get_public_key", "enable_key_rotation", "rotate_key_on_demand"])
def test_public_keys_and_rotation_are_unsupported_for_hmac_keys(kms, hmac_key, operation):
    md = hmac_key("HMAC_384")
    with pytest.raises(ClientError) as exc:
        getattr(kms, operation)(KeyId=md["KeyId"])
    assert error_code(exc) == "UnsupportedOperationException"


def test_mac_messages_up_to_4096_bytes_are_accepted_and_4097_is_a_validation_error(kms, hmac_key):
    md = hmac_key("HMAC_512")
    tag = kms.generate_mac(KeyId=md["KeyId"], Message=b"\x01" * 4096, MacAlgorithm="HMAC_SHA_512")["Mac"]
    assert kms.verify_mac(KeyId=md["KeyId"], Message=b"\x01" * 4096, Mac=tag, MacAlgorithm="HMAC_SHA_512")["MacValid"]
    for call in (
        lambda: kms.generate_mac(KeyId=md["KeyId"], Message=b"\x01" * 4097, MacAlgorithm="HMAC_SHA_512"),
        lambda: kms.verify_mac(KeyId=md["KeyId"], Message=b"\x01" * 4097, Mac=tag, MacAlgorithm="HMAC_SHA_512"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_code(exc) == "ValidationException"
        assert "4096" in error_message(exc)


def test_an_empty_mac_message_is_a_validation_error(kms, hmac_key):
    md = hmac_key("HMAC_256")
    with pytest.raises(ClientError) as exc:
        kms.generate_mac(KeyId=md["KeyId"], Message=b"", MacAlgorithm="HMAC_SHA_256")
    assert error_code(exc) == "ValidationException"


def test_a_disabled_hmac_key_refuses_generate_mac_and_verify_mac(kms):
    md = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
    tag = kms.generate_mac(KeyId=md["KeyId"], Message=b"msg", MacAlgorithm="HMAC_SHA_256")["Mac"]
    kms.disable_key(KeyId=md["KeyId"])
    for call in (
        lambda: kms.generate_mac(KeyId=md["KeyId"], Message=b"msg", MacAlgorithm="HMAC_SHA_256"),
        lambda: kms.verify_mac(KeyId=md["KeyId"], Message=b"msg", Mac=tag, MacAlgorithm="HMAC_SHA_256"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_code(exc) == "DisabledException"
        assert error_message(exc) == f"{md['Arn']} is disabled."
    kms.enable_key(KeyId=md["KeyId"])
    # The key material survives disabling: the old MAC still verifies.
    assert kms.verify_mac(KeyId=md["KeyId"], Message=b"msg", Mac=tag, MacAlgorithm="HMAC_SHA_256")["MacValid"] is True


def test_an_hmac_key_pending_deletion_refuses_generate_mac(kms):
    md = kms.create_key(KeySpec="HMAC_224", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
    kms.schedule_key_deletion(KeyId=md["KeyId"], PendingWindowInDays=7)
    with pytest.raises(ClientError) as exc:
        kms.generate_mac(KeyId=md["KeyId"], Message=b"msg", MacAlgorithm="HMAC_SHA_224")
    assert error_code(exc) == "KMSInvalidStateException"
    assert error_message(exc) == f"{md['Arn']} is pending deletion."


def test_generate_mac_with_dry_run_is_refused_with_dry_run_operation(kms, hmac_key):
    md = hmac_key("HMAC_256")
    with pytest.raises(ClientError) as exc:
        kms.generate_mac(KeyId=md["KeyId"], Message=b"msg", MacAlgorithm="HMAC_SHA_256", DryRun=True)
    assert error_code(exc) == "DryRunOperationException"


def test_an_unknown_mac_algorithm_is_a_validation_error(kms, hmac_key):
    md = hmac_key("HMAC_256")
    with pytest.raises(ClientError) as exc:
        kms.generate_mac(KeyId=md["KeyId"], Message=b"msg", MacAlgorithm="HMAC_SHA_1")
    assert error_code(exc) == "ValidationException"


@pytest.mark.parametrize("spec", SPECS)
def test_creating_an_hmac_key_with_another_usage_is_refused(kms, spec):
    with pytest.raises(ClientError) as exc:
        kms.create_key(KeySpec=spec, KeyUsage="ENCRYPT_DECRYPT")
    assert error_code(exc) == "ValidationException"
    assert error_message(exc) == f"KeyUsage ENCRYPT_DECRYPT is not compatible with KeySpec {spec}"


# The key cannot be read through the API, so the MAC function itself is checked against
# RFC 4231 (HMAC-SHA-224/256/384/512 test case 2) and Python's hmac.
def test_the_mac_function_matches_rfc_4231_and_python_hmac():
    key, data = b"Jefe", b"what do ya want for nothing?"
    assert keyspec_mac(key, "HMAC_SHA_256", data).hex() == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )
    for algorithm, name in zip(ALGORITHMS, ("sha224", "sha256", "sha384", "sha512")):
        assert keyspec_mac(key, algorithm, data) == hmac.new(key, data, getattr(hashlib, name)).digest()


def test_generate_mac_and_verify_mac_take_alias_names_and_alias_arns(kms, hmac_key):
    md = hmac_key("HMAC_256")
    kms.create_alias(AliasName="alias/mac", TargetKeyId=md["KeyId"])
    alias_arn = "arn:aws:kms:us-east-1:111122223333:alias/mac"
    by_id = kms.generate_mac(KeyId=md["KeyId"], Message=b"m", MacAlgorithm="HMAC_SHA_256")["Mac"]
    for ref in ("alias/mac", alias_arn):
        out = kms.generate_mac(KeyId=ref, Message=b"m", MacAlgorithm="HMAC_SHA_256")
        assert out["Mac"] == by_id and out["KeyId"] == md["Arn"]
        assert kms.verify_mac(KeyId=ref, Message=b"m", MacAlgorithm="HMAC_SHA_256", Mac=by_id)["MacValid"] is True
    with pytest.raises(kms.exceptions.NotFoundException):
        kms.generate_mac(KeyId="alias/no-such-mac", Message=b"m", MacAlgorithm="HMAC_SHA_256")
