"""Interoperability with pyca ``cryptography`` outside KMS.

What KMS publishes (GetPublicKey's DER SubjectPublicKeyInfo, signatures, RSAES-OAEP
ciphertexts, ECDH shared secrets, data key pairs) must work with a standard library
exactly as AWS documents: OAEP with MGF1 of the same hash and an empty label, RSA-PSS
with salt length = hash length, DER-encoded ECDSA signatures, pure Ed25519 for
ED25519_SHA_512 and Ed25519ph (RFC 8032) for ED25519_PH_SHA_512.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from botocore.exceptions import ClientError
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, x25519
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

import kms_teach
from kms_teach._crypto import ed25519ph as _ed25519ph
from tests.conftest import error_code

START = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.timezone.utc)
HASHES = {"SHA_1": hashes.SHA1, "SHA_256": hashes.SHA256, "SHA_384": hashes.SHA384, "SHA_512": hashes.SHA512}
CURVES = {"ECC_NIST_P256": ec.SECP256R1, "ECC_NIST_P384": ec.SECP384R1, "ECC_NIST_P521": ec.SECP521R1,
          "ECC_SECG_P256K1": ec.SECP256K1}
ECDSA = {"ECC_NIST_P256": "ECDSA_SHA_256", "ECC_NIST_P384": "ECDSA_SHA_384", "ECC_NIST_P521": "ECDSA_SHA_512",
         "ECC_SECG_P256K1": "ECDSA_SHA_256"}
MESSAGE = b"Signed inside KMS, checked outside."


def _hash_of(algorithm: str):
    """The hash an algorithm name ends with: RSAES_OAEP_SHA_1 -> SHA1(), ECDSA_SHA_384 -> SHA384()."""
    return HASHES["SHA_" + algorithm.rsplit("SHA_", 1)[1]]()


def _spki(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture(scope="module")
def kms():
    cloud = kms_teach.Cloud(clock=kms_teach.Clock(START, frozen=True), seed=7)
    return cloud.client("kms", region_name="us-east-1")


@pytest.fixture(scope="module")
def key(kms):
    made: dict[tuple[str, str], str] = {}

    def get(spec: str, usage: str) -> str:
        if (spec, usage) not in made:
            made[(spec, usage)] = kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]["KeyId"]
        return made[(spec, usage)]

    return get


def _public(kms, key_id: str):
    return serialization.load_der_public_key(kms.get_public_key(KeyId=key_id)["PublicKey"])


# ---------------------------------------------------------------------------- RSA encryption


@pytest.mark.parametrize("algorithm,limit", [("RSAES_OAEP_SHA_1", 214), ("RSAES_OAEP_SHA_256", 190)])
def test_ciphertext_made_outside_with_the_public_key_decrypts_inside_kms(kms, key, algorithm, limit):
    key_id = key("RSA_2048", "ENCRYPT_DECRYPT")
    public = _public(kms, key_id)
    h = _hash_of(algorithm)
    oaep = padding.OAEP(mgf=padding.MGF1(algorithm=h), algorithm=h, label=None)
    for plaintext in (b"hello from outside", bytes(range(limit))):
        ciphertext = public.encrypt(plaintext, oaep)
        out = kms.decrypt(CiphertextBlob=ciphertext, KeyId=key_id, EncryptionAlgorithm=algorithm)
        assert out["Plaintext"] == plaintext and out["EncryptionAlgorithm"] == algorithm


def test_oaep_with_a_different_mgf1_hash_outside_does_not_decrypt_inside(kms, key):
    # AWS documents MGF1 with the same hash as OAEP; a mismatched MGF1 is not RSAES_OAEP_SHA_256.
    key_id = key("RSA_2048", "ENCRYPT_DECRYPT")
    public = _public(kms, key_id)
    ciphertext = public.encrypt(b"x", padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA256(), label=None))
    with pytest.raises(ClientError) as exc:
        kms.decrypt(CiphertextBlob=ciphertext, KeyId=key_id, EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    assert error_code(exc) == "InvalidCiphertextException"


# ---------------------------------------------------------------------------- RSA signatures


@pytest.mark.parametrize("spec", ["RSA_2048", "RSA_3072"])
@pytest.mark.parametrize("algorithm", ["RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512"])
def test_rsa_pss_signatures_verify_outside_with_salt_length_equal_to_hash_length(kms, key, spec, algorithm):
    key_id = key(spec, "SIGN_VERIFY")
    public = _public(kms, key_id)
    h = _hash_of(algorithm)
    signature = kms.sign(KeyId=key_id, Message=MESSAGE, SigningAlgorithm=algorithm)["Signature"]
    public.verify(signature, MESSAGE, padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size), h)
    # The salt is exactly the hash length: one byte more or less does not verify.
    for wrong in (h.digest_size - 1, h.digest_size + 1, 0):
        with pytest.raises(InvalidSignature):
            public.verify(signature, MESSAGE, padding.PSS(mgf=padding.MGF1(h), salt_length=wrong), h)
    digest_sig = kms.sign(KeyId=key_id, Message=hashlib.new(h.name, MESSAGE).digest(), MessageType="DIGEST",
                          SigningAlgorithm=algorithm)["Signature"]
    public.verify(digest_sig, MESSAGE, padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size), h)


@pytest.mark.parametrize("algorithm", ["RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384",
                                       "RSASSA_PKCS1_V1_5_SHA_512"])
def test_rsa_pkcs1_v1_5_signatures_verify_outside(kms, key, algorithm):
    key_id = key("RSA_2048", "SIGN_VERIFY")
    public = _public(kms, key_id)
    h = _hash_of(algorithm)
    signature = kms.sign(KeyId=key_id, Message=MESSAGE, SigningAlgorithm=algorithm)["Signature"]
    public.verify(signature, MESSAGE, padding.PKCS1v15(), h)
    digest = hashlib.new(h.name, MESSAGE).digest()
    public.verify(signature, digest, padding.PKCS1v15(), Prehashed(h))
    # PKCS#1 v1.5 is deterministic.
    assert kms.sign(KeyId=key_id, Message=MESSAGE, SigningAlgorithm=algorithm)["Signature"] == signature


def test_a_signature_made_outside_verifies_inside_kms_only_with_the_kms_key(kms, key):
    # Anyone can make an RSA key; a signature by a different key never verifies under the KMS key.
    key_id = key("RSA_2048", "SIGN_VERIFY")
    outsider = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signature = outsider.sign(MESSAGE, padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(ClientError) as exc:
        kms.verify(KeyId=key_id, Message=MESSAGE, Signature=signature, SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256")
    assert error_code(exc) == "KMSInvalidSignatureException"


# ---------------------------------------------------------------------------- ECDSA


@pytest.mark.parametrize("spec", sorted(CURVES))
@pytest.mark.parametrize("message_type", ["RAW", "DIGEST"])
def test_ecdsa_signatures_verify_outside_on_every_curve(kms, key, spec, message_type):
    key_id = key(spec, "SIGN_VERIFY")
    public = _public(kms, key_id)
    assert isinstance(public.curve, CURVES[spec])
    algorithm = ECDSA[spec]
    h = _hash_of(algorithm)
    message = MESSAGE if message_type == "RAW" else hashlib.new(h.name, MESSAGE).digest()
    signature = kms.sign(KeyId=key_id, Message=message, MessageType=message_type, SigningAlgorithm=algorithm)["Signature"]
    public.verify(signature, MESSAGE, ec.ECDSA(h))
    with pytest.raises(InvalidSignature):
        public.verify(signature, MESSAGE + b"!", ec.ECDSA(h))


@pytest.mark.parametrize("spec", sorted(CURVES))
def test_an_ecdsa_signature_made_outside_verifies_inside_kms_only_with_the_kms_key(kms, key, spec):
    key_id = key(spec, "SIGN_VERIFY")
    h = _hash_of(ECDSA[spec])
    outsider = ec.generate_private_key(CURVES[spec]())
    with pytest.raises(ClientError) as exc:
        kms.verify(KeyId=key_id, Message=MESSAGE, Signature=outsider.sign(MESSAGE, ec.ECDSA(h)),
                   SigningAlgorithm=ECDSA[spec])
    assert error_code(exc) == "KMSInvalidSignatureException"


# ---------------------------------------------------------------------------- Ed25519 and Ed25519ph


def test_ed25519_raw_signatures_verify_outside(kms, key):
    key_id = key("ECC_NIST_EDWARDS25519", "SIGN_VERIFY")
    public = _public(kms, key_id)
    assert isinstance(public, ed25519.Ed25519PublicKey)
    signature = kms.sign(KeyId=key_id, Message=MESSAGE, SigningAlgorithm="ED25519_SHA_512")["Signature"]
    public.verify(signature, MESSAGE)
    with pytest.raises(InvalidSignature):
        public.verify(signature, MESSAGE + b"!")


def _raw(public) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def test_ed25519ph_signature_of_a_digest_is_ed25519ph_of_that_digest_as_aws_documents(kms, key):
    # botocore's KMS model (Sign/Verify MessageType): "When you specify the ED25519_PH_SHA_512
    # signing algorithm with MessageType:DIGEST, KMS still performs the SHA-512 prehash described
    # in Step 1 of Section 7.8.1 in FIPS 186-5. This means the input is hashed twice: once by you
    # and once by KMS." So the signature is HashEdDSA (RFC 8032 Ed25519ph) of the message D=digest,
    # whose pre-hash is PH(D) = SHA-512(D); _ed25519ph.verify takes that pre-hash.
    key_id = key("ECC_NIST_EDWARDS25519", "SIGN_VERIFY")
    public = _raw(_public(kms, key_id))
    digest = hashlib.sha512(MESSAGE).digest()
    signature = kms.sign(KeyId=key_id, Message=digest, MessageType="DIGEST",
                         SigningAlgorithm="ED25519_PH_SHA_512")["Signature"]
    hashed_once = _ed25519ph.verify(public, digest, signature)
    assert _ed25519ph.verify(public, hashlib.sha512(digest).digest(), signature), (
        "KMS did not hash the DIGEST again" + (" (the signature is Ed25519ph with PH(M)=digest)" if hashed_once else "")
    )


def test_an_ed25519ph_kms_signature_is_not_a_pure_ed25519_signature(kms, key):
    key_id = key("ECC_NIST_EDWARDS25519", "SIGN_VERIFY")
    public = _public(kms, key_id)
    digest = hashlib.sha512(MESSAGE).digest()
    signature = kms.sign(KeyId=key_id, Message=digest, MessageType="DIGEST",
                         SigningAlgorithm="ED25519_PH_SHA_512")["Signature"]
    for candidate in (MESSAGE, digest):
        with pytest.raises(InvalidSignature):
            public.verify(signature, candidate)


# RFC 8032, section 7.3 (TEST abc): Ed25519ph.
RFC8032_SECRET = bytes.fromhex("833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42")
RFC8032_PUBLIC = bytes.fromhex("ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf")
RFC8032_SIGNATURE = bytes.fromhex(
    "98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae41"
    "31f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406"
)


def test_ed25519ph_matches_the_rfc_8032_test_vector():
    assert _ed25519ph.public_key(RFC8032_SECRET) == RFC8032_PUBLIC
    # The same seed gives the same public key in cryptography's Ed25519.
    assert _raw(ed25519.Ed25519PrivateKey.from_private_bytes(RFC8032_SECRET).public_key()) == RFC8032_PUBLIC
    prehash = hashlib.sha512(b"abc").digest()
    assert _ed25519ph.sign(RFC8032_SECRET, prehash) == RFC8032_SIGNATURE
    assert _ed25519ph.verify(RFC8032_PUBLIC, prehash, RFC8032_SIGNATURE) is True


def test_ed25519ph_verify_rejects_changes_to_the_vector():
    prehash = hashlib.sha512(b"abc").digest()
    flipped = bytearray(RFC8032_SIGNATURE)
    flipped[5] ^= 0x10
    assert _ed25519ph.verify(RFC8032_PUBLIC, prehash, bytes(flipped)) is False
    assert _ed25519ph.verify(RFC8032_PUBLIC, hashlib.sha512(b"abd").digest(), RFC8032_SIGNATURE) is False
    assert _ed25519ph.verify(RFC8032_PUBLIC, prehash, RFC8032_SIGNATURE[:63]) is False
    other = _ed25519ph.public_key(bytes(32))
    assert _ed25519ph.verify(other, prehash, RFC8032_SIGNATURE) is False
    # The Ed25519ph signature is not a pure Ed25519 signature of the message (domain separation).
    with pytest.raises(InvalidSignature):
        ed25519.Ed25519PublicKey.from_public_bytes(RFC8032_PUBLIC).verify(RFC8032_SIGNATURE, b"abc")


# ---------------------------------------------------------------------------- data key pairs


@pytest.fixture(scope="module")
def wrapping_key(kms) -> str:
    return kms.create_key(Description="wraps data key pairs")["KeyMetadata"]["KeyId"]


@pytest.mark.parametrize("spec", ["ECC_NIST_P256", "ECC_NIST_P384", "ECC_SECG_P256K1", "ECC_NIST_EDWARDS25519",
                                  "RSA_2048"])
def test_a_data_key_pair_signs_outside_and_its_public_key_verifies(kms, wrapping_key, spec):
    pair = kms.generate_data_key_pair(KeyId=wrapping_key, KeyPairSpec=spec)
    private = serialization.load_der_private_key(pair["PrivateKeyPlaintext"], password=None)
    public = serialization.load_der_public_key(pair["PublicKey"])
    if spec.startswith("RSA_"):
        signature = private.sign(MESSAGE, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
        public.verify(signature, MESSAGE, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
    elif spec == "ECC_NIST_EDWARDS25519":
        public.verify(private.sign(MESSAGE), MESSAGE)
    else:
        public.verify(private.sign(MESSAGE, ec.ECDSA(hashes.SHA256())), MESSAGE, ec.ECDSA(hashes.SHA256()))


def test_a_data_key_pair_private_key_recovered_with_decrypt_signs_for_the_public_key(kms, wrapping_key):
    pair = kms.generate_data_key_pair_without_plaintext(KeyId=wrapping_key, KeyPairSpec="ECC_NIST_P384",
                                                        EncryptionContext={"app": "signer"})
    private_der = kms.decrypt(CiphertextBlob=pair["PrivateKeyCiphertextBlob"],
                              EncryptionContext={"app": "signer"})["Plaintext"]
    private = serialization.load_der_private_key(private_der, password=None)
    signature = private.sign(MESSAGE, ec.ECDSA(hashes.SHA384()))
    serialization.load_der_public_key(pair["PublicKey"]).verify(signature, MESSAGE, ec.ECDSA(hashes.SHA384()))


def test_an_rsa_data_key_pair_encrypts_outside_and_decrypts_outside(kms, wrapping_key):
    pair = kms.generate_data_key_pair(KeyId=wrapping_key, KeyPairSpec="RSA_2048")
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    ciphertext = serialization.load_der_public_key(pair["PublicKey"]).encrypt(b"for the pair", oaep)
    private = serialization.load_der_private_key(pair["PrivateKeyPlaintext"], password=None)
    assert private.decrypt(ciphertext, oaep) == b"for the pair"


# ---------------------------------------------------------------------------- ECDH


@pytest.mark.parametrize("spec", ["ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521"])
def test_derive_shared_secret_equals_a_local_ecdh_with_the_kms_public_key(kms, key, spec):
    key_id = key(spec, "KEY_AGREEMENT")
    kms_public = _public(kms, key_id)
    assert isinstance(kms_public.curve, CURVES[spec])
    local = ec.generate_private_key(CURVES[spec]())
    out = kms.derive_shared_secret(KeyId=key_id, KeyAgreementAlgorithm="ECDH", PublicKey=_spki(local.public_key()))
    assert out["KeyAgreementAlgorithm"] == "ECDH" and out["KeyOrigin"] == "AWS_KMS"
    assert out["KeyId"].endswith(key_id)
    expected = local.exchange(ec.ECDH(), kms_public)
    assert out["SharedSecret"] == expected
    assert len(out["SharedSecret"]) == (kms_public.curve.key_size + 7) // 8


def test_two_kms_key_agreement_keys_derive_the_same_secret(kms, key):
    alice = key("ECC_NIST_P256", "KEY_AGREEMENT")
    bob = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="KEY_AGREEMENT")["KeyMetadata"]["KeyId"]
    a = kms.derive_shared_secret(KeyId=alice, KeyAgreementAlgorithm="ECDH",
                                 PublicKey=kms.get_public_key(KeyId=bob)["PublicKey"])["SharedSecret"]
    b = kms.derive_shared_secret(KeyId=bob, KeyAgreementAlgorithm="ECDH",
                                 PublicKey=kms.get_public_key(KeyId=alice)["PublicKey"])["SharedSecret"]
    assert a == b


@pytest.mark.parametrize(
    "make_peer",
    [
        lambda: ec.generate_private_key(ec.SECP384R1()).public_key(),
        lambda: ec.generate_private_key(ec.SECP256K1()).public_key(),
        lambda: x25519.X25519PrivateKey.generate().public_key(),
        lambda: ed25519.Ed25519PrivateKey.generate().public_key(),
        lambda: rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key(),
        lambda: b"not a public key",
    ],
    ids=["P384", "secp256k1", "X25519", "Ed25519", "RSA", "garbage"],
)
def test_a_peer_key_on_the_wrong_curve_or_not_a_key_is_a_validation_error(kms, key, make_peer):
    key_id = key("ECC_NIST_P256", "KEY_AGREEMENT")
    peer = make_peer()
    peer_der = peer if isinstance(peer, bytes) else _spki(peer)
    with pytest.raises(ClientError) as exc:
        kms.derive_shared_secret(KeyId=key_id, KeyAgreementAlgorithm="ECDH", PublicKey=peer_der)
    assert error_code(exc) == "ValidationException"


def test_a_disabled_key_agreement_key_refuses_derive_shared_secret(kms):
    key_id = kms.create_key(KeySpec="ECC_NIST_P384", KeyUsage="KEY_AGREEMENT")["KeyMetadata"]["KeyId"]
    kms.disable_key(KeyId=key_id)
    peer = _spki(ec.generate_private_key(ec.SECP384R1()).public_key())
    with pytest.raises(ClientError) as exc:
        kms.derive_shared_secret(KeyId=key_id, KeyAgreementAlgorithm="ECDH", PublicKey=peer)
    assert error_code(exc) == "DisabledException"
