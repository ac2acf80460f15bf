"""Grants through genuine boto3 clients: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant,
RevokeGrant, grant tokens, constraints, sub-grants, key states, Regions, persistence and the audit trail.

Every grantee is an IAM user or role that exists (kms_teach, like AWS, refuses grants to principals
that do not exist). Callers act through ``cloud.client("kms", principal=ARN)``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

import kms_teach
from tests.conftest import START, error_code, error_message

ACCT, OTHER = "111122223333", "444455556666"
REGION, REPLICA_REGION = "us-east-1", "eu-west-1"
ROOT = f"arn:aws:iam::{ACCT}:root"
BOB = f"arn:aws:iam::{ACCT}:user/bob"
CAROL = f"arn:aws:iam::{ACCT}:user/carol"
DAVE = f"arn:aws:iam::{ACCT}:user/dave"
APP = f"arn:aws:iam::{ACCT}:role/app"
TRUST_ROOT = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "sts:AssumeRole"}]})
GRANT_ID = re.compile(r"[0-9a-f]{64}")


def _policy(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def key_arn(key_id: str, region: str = REGION) -> str:
    return f"arn:aws:kms:{region}:{ACCT}:key/{key_id}"


def code_of(call) -> str:
    """Run a call expected to fail; return its error code."""
    with pytest.raises(ClientError) as excinfo:
        call()
    return error_code(excinfo)


def grant_ids(client, key_id: str, **kwargs) -> list[str]:
    return [g["GrantId"] for g in client.list_grants(KeyId=key_id, **kwargs)["Grants"]]


@pytest.fixture
def iam(cloud):
    """Users bob, carol and dave and the role app (no identity policies) in account 111122223333."""
    client = cloud.client("iam")
    for name in ("bob", "carol", "dave"):
        client.create_user(UserName=name)
    client.create_role(RoleName="app", AssumeRolePolicyDocument=TRUST_ROOT)
    return client


@pytest.fixture
def as_(cloud, iam):
    """``as_(ARN)``: a KMS client in us-east-1 acting as that principal."""
    def make(principal: str, region: str = REGION):
        return cloud.client("kms", region_name=region, principal=principal)
    return make


@pytest.fixture
def bob(as_):
    return as_(BOB)


@pytest.fixture
def carol(as_):
    return as_(CAROL)


@pytest.fixture
def dave(as_):
    return as_(DAVE)


@pytest.fixture
def app(as_):
    return as_(APP)


# -- CreateGrant: the reply ---------------------------------------------------------------------------------


def test_create_grant_returns_a_64_hex_grant_id_and_a_token(kms, key_id, iam):
    reply = kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"])
    assert GRANT_ID.fullmatch(reply["GrantId"])
    assert isinstance(reply["GrantToken"], str) and len(reply["GrantToken"]) > 0
    assert set(reply) - {"ResponseMetadata"} == {"GrantId", "GrantToken"}


def test_each_grant_gets_its_own_id(kms, key_id, iam):
    ids = {kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"])["GrantId"]
           for _ in range(3)}
    assert len(ids) == 3


def test_create_grant_accepts_a_key_arn_and_an_alias_is_refused_as_a_key_id(kms, key_id, iam):
    # CreateGrant's KeyId takes a key ID or key ARN (not an alias).
    kms.create_grant(KeyId=key_arn(key_id), GranteePrincipal=BOB, Operations=["Encrypt"])
    kms.create_alias(AliasName="alias/granted", TargetKeyId=key_id)
    with pytest.raises(ClientError):
        kms.create_grant(KeyId="alias/granted", GranteePrincipal=BOB, Operations=["Encrypt"])
    assert len(grant_ids(kms, key_id)) == 1


def test_a_grantee_that_does_not_exist_in_iam_is_refused(kms, key_id, iam):
    with pytest.raises(ClientError) as excinfo:
        kms.create_grant(KeyId=key_id, GranteePrincipal=f"arn:aws:iam::{ACCT}:user/nobody", Operations=["Encrypt"])
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError):
        kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"],
                         RetiringPrincipal=f"arn:aws:iam::{ACCT}:role/nobody")
    assert grant_ids(kms, key_id) == []


# -- the grantee can do exactly what was granted -----------------------------------------------------------


def test_before_a_grant_the_user_has_no_access(bob, key_id):
    # The default key policy trusts the account, but bob has no identity policy.
    assert code_of(lambda: bob.encrypt(KeyId=key_id, Plaintext=b"x")) == "AccessDeniedException"


def test_a_role_session_grantee_can_use_exactly_the_granted_operations(kms, key_id, app):
    kms.create_grant(KeyId=key_id, GranteePrincipal=APP, Operations=["Encrypt", "GenerateDataKey"])
    blob = app.encrypt(KeyId=key_id, Plaintext=b"payroll")["CiphertextBlob"]
    data_key = app.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    assert len(data_key["Plaintext"]) == 32
    refused = {
        "Decrypt": lambda: app.decrypt(CiphertextBlob=blob),
        "GenerateDataKeyWithoutPlaintext": lambda: app.generate_data_key_without_plaintext(
            KeyId=key_id, KeySpec="AES_256"),
        "GenerateDataKeyPair": lambda: app.generate_data_key_pair(KeyId=key_id, KeyPairSpec="ECC_NIST_P256"),
        "ReEncrypt": lambda: app.re_encrypt(CiphertextBlob=blob, DestinationKeyId=key_id),
        "DescribeKey": lambda: app.describe_key(KeyId=key_id),
        "CreateGrant": lambda: app.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"]),
        "ListGrants": lambda: app.list_grants(KeyId=key_id),
        "DisableKey": lambda: app.disable_key(KeyId=key_id),
        "ScheduleKeyDeletion": lambda: app.schedule_key_deletion(KeyId=key_id),
        "PutKeyPolicy": lambda: app.put_key_policy(KeyId=key_id, PolicyName="default", Policy=_policy(
            {"Effect": "Allow", "Principal": {"AWS": APP}, "Action": "kms:*", "Resource": "*"})),
    }
    for name, call in refused.items():
        assert code_of(call) == "AccessDeniedException", name
    # The root user can still decrypt what the grantee encrypted.
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"payroll"


def test_a_user_grantee_with_decrypt_only_cannot_encrypt(kms, key_id, bob):
    kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Decrypt"])
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"secret")["CiphertextBlob"]
    assert bob.decrypt(CiphertextBlob=blob)["Plaintext"] == b"secret"
    assert code_of(lambda: bob.encrypt(KeyId=key_id, Plaintext=b"x")) == "AccessDeniedException"


def test_a_grant_applies_only_to_its_grantee(kms, key_id, bob, carol):
    kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"])
    bob.encrypt(KeyId=key_id, Plaintext=b"x")
    assert code_of(lambda: carol.encrypt(KeyId=key_id, Plaintext=b"x")) == "AccessDeniedException"


def test_a_grant_applies_only_to_its_key(kms, key_id, bob):
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"])
    assert code_of(lambda: bob.encrypt(KeyId=other, Plaintext=b"x")) == "AccessDeniedException"


def test_re_encrypt_needs_both_re_encrypt_from_and_re_encrypt_to(kms, key_id, bob):
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["ReEncryptFrom"])
    assert code_of(lambda: bob.re_encrypt(CiphertextBlob=blob, DestinationKeyId=key_id)) == "AccessDeniedException"
    kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["ReEncryptTo"])
    out = bob.re_encrypt(CiphertextBlob=blob, DestinationKeyId=key_id)
    assert kms.decrypt(CiphertextBlob=out["CiphertextBlob"])["Plaintext"] == b"x"


def test_describe_key_grant(kms, key_id, bob):
    kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["DescribeKey"])
    assert bob.describe_key(KeyId=key_id)["KeyMetadata"]["KeyId"] == key_id


def test_grants_on_a_signing_key_allow_sign_and_verify_but_not_get_public_key(kms, bob):
    key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    kms.create_grant(KeyId=key, GranteePrincipal=BOB, Operations=["Sign", "Verify"])
    sig = bob.sign(KeyId=key, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    assert bob.verify(KeyId=key, Message=b"m", Signature=sig, SigningAlgorithm="ECDSA_SHA_256")["SignatureValid"]
    assert code_of(lambda: bob.get_public_key(KeyId=key)) == "AccessDeniedException"


def test_grants_on_an_hmac_key_allow_generate_mac_only(kms, bob):
    key = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
    kms.create_grant(KeyId=key, GranteePrincipal=BOB, Operations=["GenerateMac"])
    mac = bob.generate_mac(KeyId=key, Message=b"m", MacAlgorithm="HMAC_SHA_256")["Mac"]
    assert code_of(lambda: bob.verify_mac(KeyId=key, Message=b"m", Mac=mac, MacAlgorithm="HMAC_SHA_256")) \
        == "AccessDeniedException"


def test_rsa_encryption_key_grant_allows_get_public_key(kms, bob):
    key = kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
    kms.create_grant(KeyId=key, GranteePrincipal=BOB, Operations=["GetPublicKey", "Decrypt"])
    public = serialization.load_der_public_key(bob.get_public_key(KeyId=key)["PublicKey"])
    blob = public.encrypt(b"hi", padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(),
                                              label=None))
    assert bob.decrypt(KeyId=key, CiphertextBlob=blob, EncryptionAlgorithm="RSAES_OAEP_SHA_256")["Plaintext"] == b"hi"
    assert code_of(lambda: bob.encrypt(KeyId=key, Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256")) \
        == "AccessDeniedException"


# -- operations that do not fit the key are refused -------------------------------------------------------


@pytest.mark.parametrize("spec, usage, operations", [
    ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", ["Sign"]),
    ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", ["Encrypt", "Verify"]),
    ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", ["GetPublicKey"]),
    ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", ["GenerateMac"]),
    ("HMAC_256", "GENERATE_VERIFY_MAC", ["Encrypt"]),
    ("HMAC_256", "GENERATE_VERIFY_MAC", ["GenerateDataKey"]),
    ("RSA_2048", "ENCRYPT_DECRYPT", ["GenerateDataKey"]),
    ("RSA_2048", "ENCRYPT_DECRYPT", ["Sign"]),
    ("RSA_2048", "SIGN_VERIFY", ["Encrypt"]),
    ("ECC_NIST_P256", "SIGN_VERIFY", ["Decrypt"]),
    ("ECC_NIST_P256", "KEY_AGREEMENT", ["Sign"]),
])
def test_operations_invalid_for_the_key_type_are_refused_and_nothing_is_created(kms, iam, spec, usage, operations):
    key = kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]["KeyId"]
    assert code_of(lambda: kms.create_grant(KeyId=key, GranteePrincipal=BOB, Operations=operations)) \
        == "ValidationException"
    assert grant_ids(kms, key) == []


def test_an_unknown_operation_is_refused(kms, key_id, iam):
    # botocore validates the enum only on output; the service must refuse it.
    with pytest.raises(ClientError) as excinfo:
        kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["PutKeyPolicy"])
    assert error_code(excinfo) == "ValidationException"
    assert grant_ids(kms, key_id) == []


# -- constraints ------------------------------------------------------------------------------------------


def test_encryption_context_equals_needs_an_exact_match(kms, key_id, bob):
    kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt", "Decrypt"],
                     Constraints={"EncryptionContextEquals": {"dept": "IT", "app": "hr"}})
    blob = bob.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext={"app": "hr", "dept": "IT"})["CiphertextBlob"]
    assert bob.decrypt(CiphertextBlob=blob, EncryptionContext={"dept": "IT", "app": "hr"})["Plaintext"] == b"x"
    for context in ({"dept": "IT"}, {"dept": "IT", "app": "hr", "extra": "1"}, {"dept": "IT", "app": "HR"}, None):
        kwargs = {"EncryptionContext": context} if context is not None else {}
        assert code_of(lambda: bob.encrypt(KeyId=key_id, Plaintext=b"x", **kwargs)) == "AccessDeniedException", \
            context


def test_encryption_context_subset_needs_its_pairs_and_allows_more(kms, key_id, bob):
    kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt", "GenerateDataKey"],
                     Constraints={"EncryptionContextSubset": {"dept": "IT"}})
    bob.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext={"dept": "IT"})
    bob.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext={"dept": "IT", "project": "apollo"})
    bob.generate_data_key(KeyId=key_id, NumberOfBytes=16, EncryptionContext={"project": "x", "dept": "IT"})
    for context in ({"dept": "it"}, {"project": "apollo"}, {}, None):
        kwargs = {"EncryptionContext": context} if context is not None else {}
        assert code_of(lambda: bob.encrypt(KeyId=key_id, Plaintext=b"x", **kwargs)) == "AccessDeniedException", \
            context


def test_constraints_do_not_apply_to_describe_key_and_retire_grant(kms, key_id, bob):
    grant = kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["DescribeKey", "RetireGrant", "Encrypt"],
                             Constraints={"EncryptionContextEquals": {"a": "1"}})
    bob.describe_key(KeyId=key_id)
    bob.retire_grant(KeyId=key_arn(key_id), GrantId=grant["GrantId"])
    assert grant_ids(kms, key_id) == []


def test_constraint_keys_are_case_insensitive_and_values_case_sensitive(kms, key_id, bob):
    # botocore 1.44.8 GrantConstraints docs: "in a grant constraint, the key in each key-value pair is not case
    # sensitive, but the value is case sensitive" (the 2023 developer guide said both are case-sensitive).
    kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"],
                     Constraints={"EncryptionContextSubset": {"Dept": "IT"}})
    bob.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext={"dept": "IT"})
    assert code_of(lambda: bob.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext={"Dept": "it"})) \
        == "AccessDeniedException"


@pytest.mark.parametrize("spec, usage, operations", [
    ("RSA_2048", "ENCRYPT_DECRYPT", ["Decrypt"]),
    ("RSA_2048", "SIGN_VERIFY", ["Sign"]),
    ("ECC_NIST_P256", "SIGN_VERIFY", ["Sign", "Verify"]),
    ("HMAC_256", "GENERATE_VERIFY_MAC", ["GenerateMac"]),
])
@pytest.mark.parametrize("constraint", ["EncryptionContextEquals", "EncryptionContextSubset"])
def test_constraints_on_asymmetric_and_hmac_keys_are_refused(kms, iam, spec, usage, operations, constraint):
    key = kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as excinfo:
        kms.create_grant(KeyId=key, GranteePrincipal=BOB, Operations=operations,
                         Constraints={constraint: {"a": "1"}})
    assert error_code(excinfo) == "ValidationException"
    assert grant_ids(kms, key) == []


def test_a_constraint_has_at_most_8_pairs_of_values_up_to_384_characters(kms, key_id, iam):
    nine = {f"k{i}": "v" for i in range(9)}
    assert code_of(lambda: kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"],
                                            Constraints={"EncryptionContextSubset": nine})) == "ValidationException"
    assert code_of(lambda: kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"],
                                            Constraints={"EncryptionContextEquals": {"a": "v" * 385}})) \
        == "ValidationException"
    kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"],
                     Constraints={"EncryptionContextEquals": {f"k{i}": "v" * 384 for i in range(8)}})
    assert len(grant_ids(kms, key_id)) == 1


# -- Name idempotency -------------------------------------------------------------------------------------


def test_same_name_and_parameters_return_the_same_grant_and_a_new_token(kms, key_id, iam):
    params = dict(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt", "Decrypt"], Name="nightly-batch",
                  RetiringPrincipal=CAROL, Constraints={"EncryptionContextSubset": {"job": "batch"}})
    first = kms.create_grant(**params)
    second = kms.create_grant(**params)
    assert second["GrantId"] == first["GrantId"]
    assert second["GrantToken"] != first["GrantToken"]
    # The order of the operations does not make the parameters different.
    third = kms.create_grant(**{**params, "Operations": ["Decrypt", "Encrypt"]})
    assert third["GrantId"] == first["GrantId"]
    assert grant_ids(kms, key_id) == [first["GrantId"]]


@pytest.mark.parametrize("change", [
    {"Operations": ["Encrypt"]},
    {"GranteePrincipal": CAROL},
    {"RetiringPrincipal": BOB},
    {"Constraints": {"EncryptionContextSubset": {"job": "other"}}},
    {"Constraints": {"EncryptionContextEquals": {"job": "batch"}}},
    {"Name": "another-name"},
])
def test_same_name_with_different_parameters_creates_a_new_grant(kms, key_id, iam, change):
    params = dict(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt", "Decrypt"], Name="nightly-batch",
                  RetiringPrincipal=CAROL, Constraints={"EncryptionContextSubset": {"job": "batch"}})
    first = kms.create_grant(**params)
    second = kms.create_grant(**{**params, **change})
    assert second["GrantId"] != first["GrantId"]
    assert set(grant_ids(kms, key_id)) == {first["GrantId"], second["GrantId"]}


def test_grants_without_a_name_are_never_merged(kms, key_id, iam):
    params = dict(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"])
    assert kms.create_grant(**params)["GrantId"] != kms.create_grant(**params)["GrantId"]


# -- grant tokens -----------------------------------------------------------------------------------------


def _forged_token(genuine: str) -> str:
    """A genuine token with the grant ID inside replaced (the signature left as it was)."""
    raw = base64.urlsafe_b64decode(genuine.encode())
    body, tag = raw[:-16], raw[-16:]
    doc = json.loads(body)
    doc["g"] = "0" * 64
    return base64.urlsafe_b64encode(json.dumps(doc, separators=(",", ":")).encode() + tag).decode()


@pytest.fixture
def token_keys(kms):
    """One key of each kind, and a genuine grant token."""
    keys = {
        "sym": kms.create_key()["KeyMetadata"]["KeyId"],
        "sign": kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"],
        "hmac": kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"],
        "agree": kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="KEY_AGREEMENT")["KeyMetadata"]["KeyId"],
    }
    return keys


def _calls_with_tokens(kms, keys, tokens):
    sym, sign, mac_key, agree = keys["sym"], keys["sign"], keys["hmac"], keys["agree"]
    blob = kms.encrypt(KeyId=sym, Plaintext=b"x")["CiphertextBlob"]
    sig = kms.sign(KeyId=sign, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    mac = kms.generate_mac(KeyId=mac_key, Message=b"m", MacAlgorithm="HMAC_SHA_256")["Mac"]
    peer = kms.get_public_key(KeyId=sign)["PublicKey"]
    t = {"GrantTokens": tokens}
    return {
        "Encrypt": lambda: kms.encrypt(KeyId=sym, Plaintext=b"x", **t),
        "Decrypt": lambda: kms.decrypt(CiphertextBlob=blob, **t),
        "ReEncrypt": lambda: kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=sym, **t),
        "GenerateDataKey": lambda: kms.generate_data_key(KeyId=sym, KeySpec="AES_128", **t),
        "GenerateDataKeyWithoutPlaintext": lambda: kms.generate_data_key_without_plaintext(
            KeyId=sym, KeySpec="AES_128", **t),
        "GenerateDataKeyPair": lambda: kms.generate_data_key_pair(KeyId=sym, KeyPairSpec="ECC_NIST_P256", **t),
        "GenerateDataKeyPairWithoutPlaintext": lambda: kms.generate_data_key_pair_without_plaintext(
            KeyId=sym, KeyPairSpec="ECC_NIST_P256", **t),
        "DescribeKey": lambda: kms.describe_key(KeyId=sym, **t),
        "CreateGrant": lambda: kms.create_grant(KeyId=sym, GranteePrincipal=CAROL, Operations=["Encrypt"], **t),
        "Sign": lambda: kms.sign(KeyId=sign, Message=b"m", SigningAlgorithm="ECDSA_SHA_256", **t),
        "Verify": lambda: kms.verify(KeyId=sign, Message=b"m", Signature=sig, SigningAlgorithm="ECDSA_SHA_256", **t),
        "GetPublicKey": lambda: kms.get_public_key(KeyId=sign, **t),
        "GenerateMac": lambda: kms.generate_mac(KeyId=mac_key, Message=b"m", MacAlgorithm="HMAC_SHA_256", **t),
        "VerifyMac": lambda: kms.verify_mac(KeyId=mac_key, Message=b"m", Mac=mac, MacAlgorithm="HMAC_SHA_256", **t),
        "DeriveSharedSecret": lambda: kms.derive_shared_secret(KeyId=agree, KeyAgreementAlgorithm="ECDH",
                                                               PublicKey=peer, **t),
    }


def test_an_issued_token_is_accepted_by_every_operation_that_takes_grant_tokens(kms, token_keys, iam):
    # A token of a grant on another key, for another principal: AWS accepts any genuine token.
    token = kms.create_grant(KeyId=token_keys["sym"], GranteePrincipal=BOB, Operations=["Encrypt"])["GrantToken"]
    for name, call in _calls_with_tokens(kms, token_keys, [token]).items():
        call()  # no InvalidGrantTokenException
    assert set(_calls_with_tokens(kms, token_keys, [token])) == {
        "Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "DescribeKey", "CreateGrant", "Sign", "Verify",
        "GetPublicKey", "GenerateMac", "VerifyMac", "DeriveSharedSecret"}


def test_the_grantee_can_use_the_grant_with_its_token(kms, key_id, bob):
    grant = kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt", "Decrypt"])
    blob = bob.encrypt(KeyId=key_id, Plaintext=b"now", GrantTokens=[grant["GrantToken"]])["CiphertextBlob"]
    assert bob.decrypt(CiphertextBlob=blob, GrantTokens=[grant["GrantToken"]])["Plaintext"] == b"now"


def test_a_token_does_not_give_permissions_beyond_its_grant(kms, key_id, bob):
    grant = kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"])
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    assert code_of(lambda: bob.decrypt(CiphertextBlob=blob, GrantTokens=[grant["GrantToken"]])) \
        == "AccessDeniedException"


@pytest.mark.parametrize("bad", ["garbage", "AQIDAHh" + "A" * 200, "forged"])
def test_a_garbage_or_forged_token_is_refused_by_every_operation(kms, token_keys, iam, bad):
    genuine = kms.create_grant(KeyId=token_keys["sym"], GranteePrincipal=BOB, Operations=["Encrypt"])["GrantToken"]
    token = _forged_token(genuine) if bad == "forged" else bad
    for name, call in _calls_with_tokens(kms, token_keys, [genuine, token]).items():
        assert code_of(call) == "InvalidGrantTokenException", name
    assert len(grant_ids(kms, token_keys["sym"])) == 1  # the refused CreateGrant created nothing


def test_a_token_made_outside_kms_teach_is_refused(kms, key_id, iam):
    """A token for a grant that never existed, signed the way kms_teach signs its tokens.

    kms_teach's token MAC key is sha256(b"kms_teach grant token|" + grant_id): a constant and the
    grant ID, no secret. Anyone who reads the source can mint tokens it accepts, although the
    docstring promises that "a token kms_teach did not issue is refused".
    """
    body = json.dumps({"k": key_arn(key_id), "g": "ab" * 32, "n": "00" * 16}, separators=(",", ":")).encode()
    mac_key = hashlib.sha256(b"kms_teach grant token|" + ("ab" * 32).encode()).digest()
    token = base64.urlsafe_b64encode(body + hmac.digest(mac_key, body, "sha256")[:16]).decode()
    assert code_of(lambda: kms.encrypt(KeyId=key_id, Plaintext=b"x", GrantTokens=[token])) \
        == "InvalidGrantTokenException"


def test_up_to_10_tokens_are_accepted_and_11_are_a_validation_error(kms, key_id, iam):
    tokens = [kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"])["GrantToken"]
              for _ in range(11)]
    kms.encrypt(KeyId=key_id, Plaintext=b"x", GrantTokens=tokens[:10])
    with pytest.raises(ClientError) as excinfo:
        kms.encrypt(KeyId=key_id, Plaintext=b"x", GrantTokens=tokens)
    assert error_code(excinfo) == "ValidationException"
    assert "grantTokens" in error_message(excinfo)
    assert code_of(lambda: kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"],
                                            GrantTokens=tokens)) == "ValidationException"
    assert len(grant_ids(kms, key_id, Limit=100)) == 11


# -- ListGrants -------------------------------------------------------------------------------------------


def test_list_grants_entries(cloud, clock, kms, key_id, iam):
    first = kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt", "Decrypt"], Name="one",
                             RetiringPrincipal=CAROL,
                             Constraints={"EncryptionContextEquals": {"tenant": "a"}})
    clock.advance(hours=2)
    second = kms.create_grant(KeyId=key_id, GranteePrincipal=APP, Operations=["GenerateDataKey"],
                              Constraints={"EncryptionContextSubset": {"tenant": "b"}})
    reply = kms.list_grants(KeyId=key_id)
    assert reply["Truncated"] is False and "NextMarker" not in reply
    by_id = {g["GrantId"]: g for g in reply["Grants"]}
    assert list(by_id) == [first["GrantId"], second["GrantId"]]
    g1, g2 = by_id[first["GrantId"]], by_id[second["GrantId"]]
    assert g1["KeyId"] == key_arn(key_id)
    assert g1["IssuingAccount"] == ROOT
    assert g1["GranteePrincipal"] == BOB and g1["RetiringPrincipal"] == CAROL and g1["Name"] == "one"
    assert g1["Operations"] == ["Encrypt", "Decrypt"]
    assert g1["Constraints"] == {"EncryptionContextEquals": {"tenant": "a"}}
    assert g1["CreationDate"] == START
    assert g2["CreationDate"] == START + dt.timedelta(hours=2)
    assert g2["GranteePrincipal"] == APP and "RetiringPrincipal" not in g2
    assert g2["Constraints"] == {"EncryptionContextSubset": {"tenant": "b"}}
    assert g2["IssuingAccount"] == ROOT


def test_list_grants_accepts_the_key_arn(kms, key_id, iam):
    gid = kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"])["GrantId"]
    assert grant_ids(kms, key_arn(key_id)) == [gid]


def test_list_grants_filters_by_grant_id_and_grantee(kms, key_id, iam):
    a = kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"])["GrantId"]
    b = kms.create_grant(KeyId=key_id, GranteePrincipal=CAROL, Operations=["Encrypt"])["GrantId"]
    c = kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Decrypt"])["GrantId"]
    assert grant_ids(kms, key_id, GrantId=b) == [b]
    assert grant_ids(kms, key_id, GranteePrincipal=BOB) == [a, c]
    assert grant_ids(kms, key_id, GranteePrincipal=CAROL) == [b]
    assert grant_ids(kms, key_id, GranteePrincipal=DAVE) == []
    assert grant_ids(kms, key_id, GrantId=a, GranteePrincipal=CAROL) == []


def test_list_grants_pages_with_limit_and_marker(kms, key_id, iam):
    created = [kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"])["GrantId"]
               for _ in range(5)]
    seen, marker, pages = [], None, 0
    while True:
        kwargs = {"Marker": marker} if marker else {}
        reply = kms.list_grants(KeyId=key_id, Limit=2, **kwargs)
        pages += 1
        assert len(reply["Grants"]) <= 2
        seen += [g["GrantId"] for g in reply["Grants"]]
        if not reply["Truncated"]:
            assert "NextMarker" not in reply
            break
        marker = reply["NextMarker"]
    assert pages == 3
    assert seen == created


def test_list_grants_paginator(kms, key_id, iam):
    created = [kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"])["GrantId"]
               for _ in range(3)]
    pages = list(kms.get_paginator("list_grants").paginate(KeyId=key_id, PaginationConfig={"PageSize": 1}))
    assert [g["GrantId"] for p in pages for g in p["Grants"]] == created


def test_list_grants_refuses_a_bad_marker_and_a_limit_over_100(kms, key_id):
    assert code_of(lambda: kms.list_grants(KeyId=key_id, Marker="not-a-marker!")) == "InvalidMarkerException"
    assert code_of(lambda: kms.list_grants(KeyId=key_id, Limit=101)) == "ValidationException"


def test_list_grants_needs_permission(kms, key_id, bob):
    kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"])
    assert code_of(lambda: bob.list_grants(KeyId=key_id)) == "AccessDeniedException"


def test_list_grants_of_an_unknown_key_is_not_found(kms):
    assert code_of(lambda: kms.list_grants(KeyId="11111111-2222-3333-4444-555555555555")) == "NotFoundException"


# -- ListRetirableGrants ----------------------------------------------------------------------------------


def test_list_retirable_grants_by_retiring_principal(kms, key_id, iam):
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    a = kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"], RetiringPrincipal=CAROL)
    b = kms.create_grant(KeyId=other, GranteePrincipal=APP, Operations=["Decrypt"], RetiringPrincipal=CAROL,
                         Name="b")
    kms.create_grant(KeyId=key_id, GranteePrincipal=CAROL, Operations=["Encrypt"], RetiringPrincipal=DAVE)
    kms.create_grant(KeyId=key_id, GranteePrincipal=CAROL, Operations=["Decrypt"])
    reply = kms.list_retirable_grants(RetiringPrincipal=CAROL)
    assert {g["GrantId"] for g in reply["Grants"]} == {a["GrantId"], b["GrantId"]}
    entry = next(g for g in reply["Grants"] if g["GrantId"] == b["GrantId"])
    assert entry["KeyId"] == key_arn(other)
    assert entry["RetiringPrincipal"] == CAROL and entry["GranteePrincipal"] == APP
    assert entry["Operations"] == ["Decrypt"] and entry["Name"] == "b"
    assert entry["IssuingAccount"] == ROOT and entry["CreationDate"] == START
    assert [g["GrantId"] for g in kms.list_retirable_grants(RetiringPrincipal=DAVE)["Grants"]] != []
    assert kms.list_retirable_grants(RetiringPrincipal=BOB)["Grants"] == []


def test_list_retirable_grants_pages(kms, key_id, iam):
    created = [kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"],
                                RetiringPrincipal=CAROL)["GrantId"] for _ in range(3)]
    first = kms.list_retirable_grants(RetiringPrincipal=CAROL, Limit=2)
    assert first["Truncated"] is True and len(first["Grants"]) == 2
    rest = kms.list_retirable_grants(RetiringPrincipal=CAROL, Limit=2, Marker=first["NextMarker"])
    assert rest["Truncated"] is False
    assert [g["GrantId"] for g in first["Grants"] + rest["Grants"]] == created


# -- RetireGrant ------------------------------------------------------------------------------------------


def test_the_retiring_principal_retires_by_token(kms, key_id, bob, carol):
    grant = kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"], RetiringPrincipal=CAROL)
    bob.encrypt(KeyId=key_id, Plaintext=b"x")
    carol.retire_grant(GrantToken=grant["GrantToken"])
    assert grant_ids(kms, key_id) == []
    assert code_of(lambda: bob.encrypt(KeyId=key_id, Plaintext=b"x")) == "AccessDeniedException"


def test_the_retiring_principal_retires_by_key_and_grant_id(kms, key_id, carol):
    grant = kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"], RetiringPrincipal=CAROL)
    carol.retire_grant(KeyId=key_arn(key_id), GrantId=grant["GrantId"])
    assert grant_ids(kms, key_id) == []


def test_a_retiring_role_can_retire_from_a_session(kms, key_id, app):
    grant = kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"], RetiringPrincipal=APP)
    app.retire_grant(GrantToken=grant["GrantToken"])
    assert grant_ids(kms, key_id) == []


def test_the_grantee_retires_only_when_the_grant_includes_retire_grant(kms, key_id, bob, app):
    without = kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"])
    assert code_of(lambda: bob.retire_grant(GrantToken=without["GrantToken"])) == "AccessDeniedException"
    assert code_of(lambda: bob.retire_grant(KeyId=key_arn(key_id), GrantId=without["GrantId"])) \
        == "AccessDeniedException"
    with_retire = kms.create_grant(KeyId=key_id, GranteePrincipal=APP, Operations=["Encrypt", "RetireGrant"])
    app.retire_grant(KeyId=key_arn(key_id), GrantId=with_retire["GrantId"])
    assert grant_ids(kms, key_id) == [without["GrantId"]]


def test_the_root_of_the_issuing_account_can_retire(kms, key_id, iam):
    grant = kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"], RetiringPrincipal=CAROL)
    kms.retire_grant(GrantToken=grant["GrantToken"])
    grant = kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"])
    kms.retire_grant(KeyId=key_arn(key_id), GrantId=grant["GrantId"])
    assert grant_ids(kms, key_id) == []


def test_others_cannot_retire(cloud, kms, key_id, dave, carol):
    grant = kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"], RetiringPrincipal=CAROL)
    # dave is neither retiring principal, nor grantee, nor the issuing account's root.
    with pytest.raises(ClientError) as excinfo:
        dave.retire_grant(GrantToken=grant["GrantToken"])
    assert error_code(excinfo) == "AccessDeniedException"
    assert code_of(lambda: dave.retire_grant(KeyId=key_arn(key_id), GrantId=grant["GrantId"])) \
        == "AccessDeniedException"
    # Nor is the root user of another account (the grant was created in 111122223333).
    other_root = cloud.client("kms", principal=f"arn:aws:iam::{OTHER}:root")
    assert code_of(lambda: other_root.retire_grant(KeyId=key_arn(key_id), GrantId=grant["GrantId"])) \
        == "AccessDeniedException"
    assert grant_ids(kms, key_id) == [grant["GrantId"]]
    carol.retire_grant(GrantToken=grant["GrantToken"])


def test_retire_grant_errors(kms, key_id, iam):
    grant = kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"])
    assert code_of(lambda: kms.retire_grant(GrantToken="garbage")) == "InvalidGrantTokenException"
    assert code_of(lambda: kms.retire_grant(KeyId=key_arn(key_id), GrantId="not-a-grant-id")) \
        == "InvalidGrantIdException"
    assert code_of(lambda: kms.retire_grant(KeyId=key_arn(key_id), GrantId="f" * 64)) == "NotFoundException"
    kms.retire_grant(GrantToken=grant["GrantToken"])
    # Retiring again: the grant is gone.
    assert code_of(lambda: kms.retire_grant(GrantToken=grant["GrantToken"])) == "NotFoundException"


# -- RevokeGrant ------------------------------------------------------------------------------------------


def test_the_root_user_revokes_with_the_default_key_policy(kms, key_id, bob):
    grant = kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"])
    bob.encrypt(KeyId=key_id, Plaintext=b"x")
    kms.revoke_grant(KeyId=key_id, GrantId=grant["GrantId"])
    assert grant_ids(kms, key_id) == []
    assert code_of(lambda: bob.encrypt(KeyId=key_id, Plaintext=b"x")) == "AccessDeniedException"


def test_revoke_needs_kms_revoke_grant_on_the_key(kms, key_id, iam, dave, bob):
    grant = kms.create_grant(KeyId=key_id, GranteePrincipal=BOB,
                             Operations=["Encrypt", "Decrypt", "RetireGrant", "CreateGrant", "DescribeKey"],
                             RetiringPrincipal=DAVE)
    # Neither the grantee nor the retiring principal may revoke without kms:RevokeGrant.
    for who in (dave, bob):
        with pytest.raises(ClientError) as excinfo:
            who.revoke_grant(KeyId=key_id, GrantId=grant["GrantId"])
        assert error_code(excinfo) == "AccessDeniedException"
        assert "kms:RevokeGrant" in error_message(excinfo)
    assert grant_ids(kms, key_id) == [grant["GrantId"]]
    iam.put_user_policy(UserName="dave", PolicyName="revoke", PolicyDocument=_policy(
        {"Effect": "Allow", "Action": "kms:RevokeGrant", "Resource": key_arn(key_id)}))
    dave.revoke_grant(KeyId=key_id, GrantId=grant["GrantId"])
    assert grant_ids(kms, key_id) == []


def test_revoke_grant_errors(kms, key_id, iam):
    assert code_of(lambda: kms.revoke_grant(KeyId=key_id, GrantId="0" * 64)) == "NotFoundException"
    assert code_of(lambda: kms.revoke_grant(KeyId=key_id, GrantId="zz")) == "InvalidGrantIdException"
    grant = kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"])
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    # A grant ID of another key is not found on this one.
    assert code_of(lambda: kms.revoke_grant(KeyId=other, GrantId=grant["GrantId"])) == "NotFoundException"
    kms.revoke_grant(KeyId=key_id, GrantId=grant["GrantId"])
    assert code_of(lambda: kms.revoke_grant(KeyId=key_id, GrantId=grant["GrantId"])) == "NotFoundException"


def test_a_revoked_grant_stops_working_at_once_even_after_repeated_use(kms, key_id, bob):
    grant = kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt", "Decrypt"])
    for _ in range(3):  # decisions may be remembered: the revocation must still count at once
        blob = bob.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
        bob.decrypt(CiphertextBlob=blob)
    kms.revoke_grant(KeyId=key_id, GrantId=grant["GrantId"])
    assert code_of(lambda: bob.encrypt(KeyId=key_id, Plaintext=b"x")) == "AccessDeniedException"
    assert code_of(lambda: bob.decrypt(CiphertextBlob=blob)) == "AccessDeniedException"
    # ... and the token of the revoked grant does not bring it back.
    assert code_of(lambda: bob.encrypt(KeyId=key_id, Plaintext=b"x", GrantTokens=[grant["GrantToken"]])) \
        == "AccessDeniedException"


def test_a_retired_grant_stops_working_at_once(kms, key_id, app):
    grant = kms.create_grant(KeyId=key_id, GranteePrincipal=APP, Operations=["GenerateDataKey", "RetireGrant"])
    app.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    app.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    app.retire_grant(GrantToken=grant["GrantToken"])
    assert code_of(lambda: app.generate_data_key(KeyId=key_id, KeySpec="AES_256")) == "AccessDeniedException"


def test_one_grant_removed_leaves_the_others(kms, key_id, bob):
    enc = kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"])
    kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt", "Decrypt"])
    kms.revoke_grant(KeyId=key_id, GrantId=enc["GrantId"])
    blob = bob.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    bob.decrypt(CiphertextBlob=blob)


# -- grants never override a Deny -------------------------------------------------------------------------


def test_a_grant_never_overrides_an_explicit_deny_in_the_key_policy(kms, iam, bob):
    key = kms.create_key(Policy=_policy(
        {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Deny", "Principal": {"AWS": BOB}, "Action": "kms:Encrypt", "Resource": "*"}))["KeyMetadata"]["KeyId"]
    grant = kms.create_grant(KeyId=key, GranteePrincipal=BOB, Operations=["Encrypt", "Decrypt"])
    with pytest.raises(ClientError) as excinfo:
        bob.encrypt(KeyId=key, Plaintext=b"x", GrantTokens=[grant["GrantToken"]])
    assert error_code(excinfo) == "AccessDeniedException"
    assert "explicit deny" in error_message(excinfo)
    # The rest of the grant (not denied) still works.
    blob = kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    assert bob.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"


def test_a_grant_never_overrides_an_explicit_deny_in_an_identity_policy(kms, key_id, iam, bob):
    iam.put_user_policy(UserName="bob", PolicyName="no-encrypt", PolicyDocument=_policy(
        {"Effect": "Deny", "Action": "kms:Encrypt", "Resource": "*"}))
    kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"])
    assert code_of(lambda: bob.encrypt(KeyId=key_id, Plaintext=b"x")) == "AccessDeniedException"


def test_a_grant_works_even_when_the_key_policy_does_not_trust_the_account(kms, iam, bob):
    key = kms.create_key(Policy=_policy(
        {"Effect": "Allow", "Principal": {"AWS": CAROL}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": ["kms:CreateGrant", "kms:ListGrants",
                                                                   "kms:DescribeKey", "kms:PutKeyPolicy"],
         "Resource": "*"}))["KeyMetadata"]["KeyId"]
    kms.create_grant(KeyId=key, GranteePrincipal=BOB, Operations=["Encrypt"])
    bob.encrypt(KeyId=key, Plaintext=b"x")


# -- sub-grants -------------------------------------------------------------------------------------------


def test_a_grantee_with_create_grant_can_pass_on_a_subset_of_its_operations(kms, key_id, bob, carol):
    kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt", "Decrypt", "CreateGrant"])
    sub = bob.create_grant(KeyId=key_id, GranteePrincipal=CAROL, Operations=["Encrypt"])
    assert GRANT_ID.fullmatch(sub["GrantId"])
    carol.encrypt(KeyId=key_id, Plaintext=b"x")
    entry = kms.list_grants(KeyId=key_id, GrantId=sub["GrantId"])["Grants"][0]
    assert entry["GranteePrincipal"] == CAROL and entry["Operations"] == ["Encrypt"]
    assert entry["IssuingAccount"] == ROOT
    # The very same operations (CreateGrant included) are a subset too.
    bob.create_grant(KeyId=key_id, GranteePrincipal=CAROL, Operations=["Decrypt", "CreateGrant", "Encrypt"])


def test_a_grantee_cannot_pass_on_more_operations_than_it_has(kms, key_id, bob):
    kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt", "CreateGrant"])
    for ops in (["Decrypt"], ["Encrypt", "Decrypt"], ["Encrypt", "GenerateDataKey"], ["DescribeKey"]):
        assert code_of(lambda: bob.create_grant(KeyId=key_id, GranteePrincipal=CAROL, Operations=ops)) \
            == "AccessDeniedException", ops
    assert len(grant_ids(kms, key_id)) == 1


def test_create_grant_permission_is_needed_to_create_sub_grants(kms, key_id, bob):
    kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt", "Decrypt"])
    assert code_of(lambda: bob.create_grant(KeyId=key_id, GranteePrincipal=CAROL, Operations=["Encrypt"])) \
        == "AccessDeniedException"


@pytest.mark.parametrize("child", [
    {"EncryptionContextEquals": {"tenant": "a"}},
], ids=["equal"])
def test_an_equals_constrained_grantee_can_pass_on_the_same_constraint(kms, key_id, bob, carol, child):
    # CreateGrant docs: "If a grant with a grant constraint includes the CreateGrant operation, the constraint
    # requires that any grants created with the CreateGrant permission have an equally strict or stricter
    # encryption context constraint."
    kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt", "CreateGrant"],
                     Constraints={"EncryptionContextEquals": {"tenant": "a"}})
    sub = bob.create_grant(KeyId=key_id, GranteePrincipal=CAROL, Operations=["Encrypt"], Constraints=child)
    assert GRANT_ID.fullmatch(sub["GrantId"])
    carol.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext={"tenant": "a"})


@pytest.mark.parametrize("child", [
    None,
    {"EncryptionContextSubset": {"tenant": "a"}},
    {"EncryptionContextEquals": {"tenant": "b"}},
    {"EncryptionContextEquals": {"tenant": "a", "more": "x"}},
], ids=["none", "subset-same-pairs", "other-value", "other-context"])
def test_an_equals_constrained_grantee_cannot_pass_on_a_looser_constraint(kms, key_id, bob, child):
    kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt", "CreateGrant"],
                     Constraints={"EncryptionContextEquals": {"tenant": "a"}})
    kwargs = {"Constraints": child} if child else {}
    with pytest.raises(ClientError) as excinfo:
        bob.create_grant(KeyId=key_id, GranteePrincipal=CAROL, Operations=["Encrypt"], **kwargs)
    assert error_code(excinfo) == "AccessDeniedException"
    assert len(grant_ids(kms, key_id)) == 1


@pytest.mark.parametrize("child", [
    {"EncryptionContextSubset": {"tenant": "a"}},
    {"EncryptionContextSubset": {"tenant": "a", "project": "p"}},
    {"EncryptionContextEquals": {"tenant": "a"}},
    {"EncryptionContextEquals": {"tenant": "a", "project": "p"}},
], ids=["same", "more-pairs", "equals-same-pairs", "equals-more-pairs"])
def test_a_subset_constrained_grantee_can_pass_on_an_equal_or_stricter_constraint(kms, key_id, bob, carol, child):
    kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt", "CreateGrant"],
                     Constraints={"EncryptionContextSubset": {"tenant": "a"}})
    bob.create_grant(KeyId=key_id, GranteePrincipal=CAROL, Operations=["Encrypt"], Constraints=child)
    context = child.get("EncryptionContextSubset") or child["EncryptionContextEquals"]
    carol.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext=context)


@pytest.mark.parametrize("child", [
    None,
    {"EncryptionContextSubset": {"project": "p"}},
    {"EncryptionContextSubset": {"tenant": "b"}},
    {"EncryptionContextEquals": {"project": "p"}},
], ids=["none", "other-pair", "other-value", "equals-without-the-pair"])
def test_a_subset_constrained_grantee_cannot_pass_on_a_looser_constraint(kms, key_id, bob, child):
    kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt", "CreateGrant"],
                     Constraints={"EncryptionContextSubset": {"tenant": "a"}})
    kwargs = {"Constraints": child} if child else {}
    assert code_of(lambda: bob.create_grant(KeyId=key_id, GranteePrincipal=CAROL, Operations=["Encrypt"],
                                            **kwargs)) == "AccessDeniedException"
    assert len(grant_ids(kms, key_id)) == 1


def test_an_unconstrained_grantee_may_add_a_constraint(kms, key_id, bob, carol):
    kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt", "CreateGrant"])
    bob.create_grant(KeyId=key_id, GranteePrincipal=CAROL, Operations=["Encrypt"],
                     Constraints={"EncryptionContextSubset": {"tenant": "a"}})
    carol.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext={"tenant": "a"})
    assert code_of(lambda: carol.encrypt(KeyId=key_id, Plaintext=b"x")) == "AccessDeniedException"


def test_a_principal_with_create_grant_from_a_policy_is_not_narrowed(kms, key_id, iam, bob):
    iam.put_user_policy(UserName="bob", PolicyName="grants", PolicyDocument=_policy(
        {"Effect": "Allow", "Action": "kms:CreateGrant", "Resource": "*"}))
    bob.create_grant(KeyId=key_id, GranteePrincipal=CAROL, Operations=["Encrypt", "Decrypt", "GenerateDataKey"])


# -- Regions ----------------------------------------------------------------------------------------------


def test_grants_are_per_region_for_multi_region_keys(cloud, kms, as_):
    eu = cloud.client("kms", region_name=REPLICA_REGION)
    mrk = kms.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    kms.replicate_key(KeyId=mrk, ReplicaRegion=REPLICA_REGION)
    assert eu.describe_key(KeyId=mrk)["KeyMetadata"]["KeyState"] == "Enabled"
    primary_grant = kms.create_grant(KeyId=mrk, GranteePrincipal=BOB, Operations=["Encrypt", "Decrypt"])
    bob_us, bob_eu = as_(BOB), as_(BOB, REPLICA_REGION)
    blob = bob_us.encrypt(KeyId=mrk, Plaintext=b"x")["CiphertextBlob"]
    assert code_of(lambda: bob_eu.encrypt(KeyId=mrk, Plaintext=b"x")) == "AccessDeniedException"
    assert code_of(lambda: bob_eu.decrypt(CiphertextBlob=blob)) == "AccessDeniedException"
    assert grant_ids(eu, mrk) == []
    # The primary's grant ID is unknown in the replica's Region.
    assert code_of(lambda: eu.revoke_grant(KeyId=mrk, GrantId=primary_grant["GrantId"])) == "NotFoundException"
    # A grant on the replica works in the replica's Region only.
    replica_grant = eu.create_grant(KeyId=mrk, GranteePrincipal=CAROL, Operations=["Encrypt"])
    assert grant_ids(eu, mrk) == [replica_grant["GrantId"]]
    assert eu.list_grants(KeyId=mrk)["Grants"][0]["KeyId"] == key_arn(mrk, REPLICA_REGION)
    as_(CAROL, REPLICA_REGION).encrypt(KeyId=mrk, Plaintext=b"x")
    assert code_of(lambda: as_(CAROL).encrypt(KeyId=mrk, Plaintext=b"x")) == "AccessDeniedException"
    assert grant_ids(kms, mrk) == [primary_grant["GrantId"]]


def test_a_replica_made_after_a_grant_does_not_copy_it(cloud, kms, iam):
    eu = cloud.client("kms", region_name=REPLICA_REGION)
    mrk = kms.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    kms.create_grant(KeyId=mrk, GranteePrincipal=BOB, Operations=["Encrypt"])
    kms.replicate_key(KeyId=mrk, ReplicaRegion=REPLICA_REGION)
    assert grant_ids(eu, mrk) == []


# -- persistence ------------------------------------------------------------------------------------------


def test_grants_survive_reopening_a_persistent_cloud(tmp_path):
    cloud = kms_teach.Cloud(tmp_path, clock=kms_teach.Clock(START, frozen=True), seed=7)
    cloud.client("iam").create_user(UserName="bob")
    cloud.client("iam").create_user(UserName="carol")
    kms = cloud.client("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    grant = kms.create_grant(KeyId=key, GranteePrincipal=BOB, Operations=["Encrypt", "Decrypt"], Name="kept",
                             RetiringPrincipal=CAROL, Constraints={"EncryptionContextSubset": {"t": "1"}})
    before = kms.list_grants(KeyId=key)["Grants"]
    cloud.close()

    reopened = kms_teach.Cloud(tmp_path)
    try:
        kms2 = reopened.client("kms")
        after = kms2.list_grants(KeyId=key)["Grants"]
        assert after == before
        bob = reopened.client("kms", principal=BOB)
        blob = bob.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"t": "1"},
                           GrantTokens=[grant["GrantToken"]])["CiphertextBlob"]
        assert bob.decrypt(CiphertextBlob=blob, EncryptionContext={"t": "1"})["Plaintext"] == b"x"
        # Same Name and parameters after reopening: still the same grant.
        again = kms2.create_grant(KeyId=key, GranteePrincipal=BOB, Operations=["Encrypt", "Decrypt"], Name="kept",
                                  RetiringPrincipal=CAROL, Constraints={"EncryptionContextSubset": {"t": "1"}})
        assert again["GrantId"] == grant["GrantId"]
        reopened.client("kms", principal=CAROL).retire_grant(GrantToken=grant["GrantToken"])
        assert kms2.list_grants(KeyId=key)["Grants"] == []
    finally:
        reopened.close()
    # The retirement persists too.
    third = kms_teach.Cloud(tmp_path)
    try:
        assert third.client("kms").list_grants(KeyId=key)["Grants"] == []
        assert code_of(lambda: third.client("kms", principal=BOB).encrypt(KeyId=key, Plaintext=b"x")) \
            == "AccessDeniedException"
    finally:
        third.close()


# -- key states -------------------------------------------------------------------------------------------


def test_create_grant_on_a_disabled_key_is_refused(kms, key_id, iam):
    kms.disable_key(KeyId=key_id)
    with pytest.raises(ClientError) as excinfo:
        kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"])
    assert error_code(excinfo) == "DisabledException"
    assert error_message(excinfo) == f"{key_arn(key_id)} is disabled."
    assert grant_ids(kms, key_id) == []


def test_create_grant_on_a_key_pending_deletion_is_refused(kms, key_id, iam):
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    # Documented as DisabledException [2] or KMSInvalidStateException [3].
    assert code_of(lambda: kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"])) \
        in ("KMSInvalidStateException", "DisabledException")
    assert grant_ids(kms, key_id) == []


def test_create_grant_on_a_key_pending_import_is_refused(kms, iam):
    key = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    assert code_of(lambda: kms.create_grant(KeyId=key, GranteePrincipal=BOB, Operations=["Encrypt"])) \
        == "KMSInvalidStateException"


def _import_material(kms, key_id: str) -> None:
    params = kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                           WrappingKeySpec="RSA_2048")
    public = serialization.load_der_public_key(params["PublicKey"])
    wrapped = public.encrypt(bytes(range(32)), padding.OAEP(mgf=padding.MGF1(hashes.SHA256()),
                                                            algorithm=hashes.SHA256(), label=None))
    kms.import_key_material(KeyId=key_id, ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrapped,
                            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")


def _key_in_state(cloud, kms, state: str) -> tuple[object, str]:
    """(client of the key's Region, key ID) of a key with grants that is now in ``state``."""
    if state == "PendingImport":
        key = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
        _import_material(kms, key)
    elif state == "PendingReplicaDeletion":
        key = kms.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
        kms.replicate_key(KeyId=key, ReplicaRegion=REPLICA_REGION)
        cloud.client("kms", region_name=REPLICA_REGION).describe_key(KeyId=key)
    else:
        key = kms.create_key()["KeyMetadata"]["KeyId"]
    for i in range(3):
        kms.create_grant(KeyId=key, GranteePrincipal=BOB, Operations=["Encrypt", "RetireGrant"],
                         RetiringPrincipal=CAROL, Name=f"g{i}")
    if state == "Disabled":
        kms.disable_key(KeyId=key)
    elif state in ("PendingDeletion", "PendingReplicaDeletion"):
        kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    elif state == "PendingImport":
        kms.delete_imported_key_material(KeyId=key)
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == state
    return kms, key


@pytest.mark.parametrize("state", ["Enabled", "Disabled", "PendingDeletion", "PendingImport",
                                   "PendingReplicaDeletion"])
def test_list_revoke_and_retire_work_in_every_key_state(cloud, kms, as_, state):
    client, key = _key_in_state(cloud, kms, state)
    grants = client.list_grants(KeyId=key)["Grants"]
    assert len(grants) == 3
    first, second, third = (g["GrantId"] for g in grants)
    client.revoke_grant(KeyId=key, GrantId=first)
    as_(CAROL).retire_grant(KeyId=key_arn(key), GrantId=second)
    as_(BOB).retire_grant(KeyId=key_arn(key), GrantId=third)
    assert grant_ids(client, key) == []
    assert [g for g in client.list_retirable_grants(RetiringPrincipal=CAROL)["Grants"]
            if g["KeyId"] == key_arn(key)] == []


def test_a_grant_on_a_disabled_key_does_not_allow_use_and_works_again_when_enabled(kms, key_id, bob):
    kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"])
    kms.disable_key(KeyId=key_id)
    assert code_of(lambda: bob.encrypt(KeyId=key_id, Plaintext=b"x")) == "DisabledException"
    kms.enable_key(KeyId=key_id)
    bob.encrypt(KeyId=key_id, Plaintext=b"x")


# -- audit trail ------------------------------------------------------------------------------------------


def _events(cloud, name: str) -> list[dict]:
    return [e for e in cloud.audit.events if e["eventName"] == name]


def test_the_audit_trail_records_create_grant_with_its_parameters(cloud, kms, key_id, iam):
    grant = kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt", "Decrypt"],
                             RetiringPrincipal=CAROL, Name="audited",
                             Constraints={"EncryptionContextEquals": {"Department": "IT"}})
    [event] = _events(cloud, "CreateGrant")
    params = event["requestParameters"]
    assert params["keyId"] == key_id
    assert params["granteePrincipal"] == BOB
    assert params["retiringPrincipal"] == CAROL
    assert params["operations"] == ["Encrypt", "Decrypt"]
    assert params["name"] == "audited"
    assert params["constraints"] == {"encryptionContextEquals": {"Department": "IT"}}
    assert event["resources"] == [{"accountId": ACCT, "type": "AWS::KMS::Key", "ARN": key_arn(key_id)}]
    assert event["readOnly"] is False
    assert event["eventTime"] == "2026-01-01T09:00:00Z"
    assert grant["GrantId"] in json.dumps(event)


def test_the_audit_trail_never_shows_a_grant_token_of_create_grant(cloud, kms, key_id, iam):
    # CloudTrail's CreateGrant record has responseElements {"grantId": ...}; the token is a credential.
    token = kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"])["GrantToken"]
    [event] = _events(cloud, "CreateGrant")
    assert token not in json.dumps(event)
    assert "grantToken" not in (event["responseElements"] or {})


def test_the_audit_trail_never_shows_grant_tokens_passed_to_operations(cloud, kms, key_id, iam):
    token = kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"])["GrantToken"]
    kms.encrypt(KeyId=key_id, Plaintext=b"x", GrantTokens=[token])
    kms.describe_key(KeyId=key_id, GrantTokens=[token])
    kms.create_grant(KeyId=key_id, GranteePrincipal=CAROL, Operations=["Encrypt"], GrantTokens=[token])
    for name in ("Encrypt", "DescribeKey"):
        [event] = _events(cloud, name)
        assert token not in json.dumps(event), name
    assert token not in json.dumps(_events(cloud, "CreateGrant")[1]["requestParameters"])


def test_the_audit_trail_never_shows_the_token_of_retire_grant(cloud, kms, key_id, iam):
    token = kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"])["GrantToken"]
    kms.retire_grant(GrantToken=token)
    [event] = _events(cloud, "RetireGrant")
    assert "errorCode" not in event
    assert token not in json.dumps(event)


def test_the_audit_trail_records_revoke_and_refused_calls(cloud, kms, key_id, dave):
    grant = kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"])
    with pytest.raises(ClientError):
        dave.revoke_grant(KeyId=key_id, GrantId=grant["GrantId"])
    kms.revoke_grant(KeyId=key_id, GrantId=grant["GrantId"])
    denied, ok = _events(cloud, "RevokeGrant")
    assert denied["errorCode"] == "AccessDeniedException"
    assert denied["userIdentity"]["arn"] == DAVE
    assert ok["requestParameters"] == {"keyId": key_id, "grantId": grant["GrantId"]}
    assert "errorCode" not in ok


def test_odd_tokens_and_requests_never_answer_with_an_internal_error(cloud, kms, key_id, bob):
    """Odd but well-formed requests: each must be a 4xx with a KMS error code, never a 500."""
    grant = kms.create_grant(KeyId=key_id, GranteePrincipal=BOB, Operations=["Encrypt"])

    def token(doc) -> str:  # a base64 token whose JSON body is ``doc`` (and a bogus 16-byte tag)
        return base64.urlsafe_b64encode(json.dumps(doc).encode() + b"\0" * 16).decode()

    odd_tokens = ["=" * 8, token([1, 2, 3]), token({"k": 1, "g": 2}), token({"k": "x", "g": None}),
                  token({"g": ["a"]}), "\u00e9" * 10]
    odd = {}
    for i, t in enumerate(odd_tokens):
        odd[f"RetireGrant(GrantToken=odd#{i})"] = lambda t=t: kms.retire_grant(GrantToken=t)
        odd[f"Encrypt(GrantTokens=[odd#{i}])"] = lambda t=t: kms.encrypt(KeyId=key_id, Plaintext=b"x", GrantTokens=[t])
    odd.update({
        "RetireGrant(GrantId only)": lambda: kms.retire_grant(GrantId=grant["GrantId"]),
        "RetireGrant(KeyId only)": lambda: kms.retire_grant(KeyId=key_id),
        "RetireGrant()": lambda: kms.retire_grant(),
        "ListRetirableGrants(not an ARN)": lambda: kms.list_retirable_grants(RetiringPrincipal="not-an-arn"),
        "CreateGrant(grantee not an ARN)": lambda: kms.create_grant(KeyId=key_id, GranteePrincipal="not-an-arn",
                                                                    Operations=["Encrypt"]),
        "CreateGrant(empty constraint)": lambda: kms.create_grant(KeyId=key_id, GranteePrincipal=BOB,
                                                                  Operations=["Encrypt"],
                                                                  Constraints={"EncryptionContextSubset": {}}),
    })
    internal = {}
    for name, call in odd.items():
        try:
            call()
        except ClientError as exc:
            if exc.response["ResponseMetadata"]["HTTPStatusCode"] >= 500:
                internal[name] = exc.response["Error"]
    assert internal == {}, json.dumps(internal, indent=1)
