"""Layer 1: every KMS key spec - its valid key usages, algorithms and real cryptography.

Pure functions over pyca ``cryptography``: key material is generated here,
kept by the service as bytes (32 random bytes for symmetric keys, the HMAC key
for HMAC keys, a PKCS#8 DER private key for asymmetric keys), and used here.
Public keys leave as DER ``SubjectPublicKeyInfo``, exactly what GetPublicKey
returns, so anything outside KMS (``cryptography``, OpenSSL) can use them.

Fidelity: three families of KMS key are not simulated: SM2 (China Regions
only; not in ``cryptography``), ML-DSA signing keys (ML_DSA_44/65/87) and
ML-KEM keys (Encapsulate and Decapsulate). CreateKey refuses them with
UnsupportedOperationException. ML_KEM_512 and SM2 data key pairs are not
available because this machine's ``cryptography`` implements ML-KEM-768 and
-1024 only, and no SM2.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from dataclasses import dataclass
from typing import Callable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from .._errors import KeyMaterialError
from . import ed25519ph as _ed25519ph

__all__ = [
    "KeySpecInfo",
    "KEY_SPECS",
    "DATA_KEY_PAIR_SPECS",
    "SIGNING_ALGORITHMS",
    "KeyMaterialError",
    "generate_material",
    "generate_pair",
    "public_key_der",
    "load_public_key",
    "rsa_encrypt",
    "rsa_decrypt",
    "rsa_max_plaintext",
    "sign",
    "verify",
    "mac",
    "derive_shared_secret",
    "check_material",
]


@dataclass(frozen=True)
class KeySpecInfo:
    spec: str
    kind: str  # "symmetric" | "rsa" | "ecc" | "ed25519" | "hmac" | "mldsa"
    usages: tuple[str, ...]
    encryption_algorithms: tuple[str, ...] = ()
    signing_algorithms: tuple[str, ...] = ()
    mac_algorithms: tuple[str, ...] = ()
    key_agreement_algorithms: tuple[str, ...] = ()
    bits: int = 0  # RSA modulus size, HMAC key size, curve size

    def algorithms_for(self, usage: str) -> dict[str, list[str]]:
        """DescribeKey's algorithm lists for a key of this spec and ``usage``."""
        if usage == "ENCRYPT_DECRYPT":
            return {"encryption_algorithms": list(self.encryption_algorithms)}
        if usage == "SIGN_VERIFY":
            return {"signing_algorithms": list(self.signing_algorithms)}
        if usage == "GENERATE_VERIFY_MAC":
            return {"mac_algorithms": list(self.mac_algorithms)}
        if usage == "KEY_AGREEMENT":
            return {"key_agreement_algorithms": list(self.key_agreement_algorithms)}
        return {}


_RSA_SIGNING = (
    "RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512",
    "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512",
)
_RSA_ENCRYPTION = ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256")

KEY_SPECS: dict[str, KeySpecInfo] = {
    "SYMMETRIC_DEFAULT": KeySpecInfo("SYMMETRIC_DEFAULT", "symmetric", ("ENCRYPT_DECRYPT",),
                                     encryption_algorithms=("SYMMETRIC_DEFAULT",), bits=256),
    **{
        f"RSA_{n}": KeySpecInfo(f"RSA_{n}", "rsa", ("ENCRYPT_DECRYPT", "SIGN_VERIFY"),
                                encryption_algorithms=_RSA_ENCRYPTION, signing_algorithms=_RSA_SIGNING, bits=n)
        for n in (2048, 3072, 4096)
    },
    "ECC_NIST_P256": KeySpecInfo("ECC_NIST_P256", "ecc", ("SIGN_VERIFY", "KEY_AGREEMENT"),
                                 signing_algorithms=("ECDSA_SHA_256",), key_agreement_algorithms=("ECDH",), bits=256),
    "ECC_NIST_P384": KeySpecInfo("ECC_NIST_P384", "ecc", ("SIGN_VERIFY", "KEY_AGREEMENT"),
                                 signing_algorithms=("ECDSA_SHA_384",), key_agreement_algorithms=("ECDH",), bits=384),
    "ECC_NIST_P521": KeySpecInfo("ECC_NIST_P521", "ecc", ("SIGN_VERIFY", "KEY_AGREEMENT"),
                                 signing_algorithms=("ECDSA_SHA_512",), key_agreement_algorithms=("ECDH",), bits=521),
    "ECC_SECG_P256K1": KeySpecInfo("ECC_SECG_P256K1", "ecc", ("SIGN_VERIFY",),
                                   signing_algorithms=("ECDSA_SHA_256",), bits=256),
    "ECC_NIST_EDWARDS25519": KeySpecInfo("ECC_NIST_EDWARDS25519", "ed25519", ("SIGN_VERIFY",),
                                         signing_algorithms=("ED25519_SHA_512", "ED25519_PH_SHA_512"), bits=256),
    **{
        f"HMAC_{n}": KeySpecInfo(f"HMAC_{n}", "hmac", ("GENERATE_VERIFY_MAC",), mac_algorithms=(f"HMAC_SHA_{n}",), bits=n)
        for n in (224, 256, 384, 512)
    },
}

_CURVES = {
    "ECC_NIST_P256": ec.SECP256R1,
    "ECC_NIST_P384": ec.SECP384R1,
    "ECC_NIST_P521": ec.SECP521R1,
    "ECC_SECG_P256K1": ec.SECP256K1,
}
_CURVE_ORDERS = {
    "ECC_NIST_P256": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "ECC_NIST_P384": int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973", 16
    ),
    "ECC_NIST_P521": int("01FF" + "FFFFFFFF" * 7 + "FFFFFFFA"
                         + "51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409", 16),
    "ECC_SECG_P256K1": 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141,
}

# Data key pair specs this machine's cryptography can make (GenerateDataKeyPair).
DATA_KEY_PAIR_SPECS = (
    "RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521",
    "ECC_SECG_P256K1", "ECC_NIST_EDWARDS25519", "ML_KEM_768", "ML_KEM_1024",
)

_HASHES = {"SHA_1": hashes.SHA1, "SHA_256": hashes.SHA256, "SHA_384": hashes.SHA384, "SHA_512": hashes.SHA512}
_DIGEST_SIZES = {"SHA_256": 32, "SHA_384": 48, "SHA_512": 64}

SIGNING_ALGORITHMS = {
    # algorithm -> (family, hash name)
    **{f"RSASSA_PSS_{h}": ("pss", h) for h in ("SHA_256", "SHA_384", "SHA_512")},
    **{f"RSASSA_PKCS1_V1_5_{h}": ("pkcs1", h) for h in ("SHA_256", "SHA_384", "SHA_512")},
    **{f"ECDSA_{h}": ("ecdsa", h) for h in ("SHA_256", "SHA_384", "SHA_512")},
    "ED25519_SHA_512": ("ed25519", "SHA_512"),
    "ED25519_PH_SHA_512": ("ed25519ph", "SHA_512"),
}


def _pkcs8(private_key) -> bytes:
    return private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _ec_private_key(spec: str, token_bytes: Callable[[int], bytes]):
    """An EC private key whose scalar comes from ``token_bytes`` (so a seeded cloud is reproducible)."""
    order = _CURVE_ORDERS[spec]
    nbytes = (order.bit_length() + 7) // 8 + 8  # extra bytes make the modulo bias negligible
    scalar = int.from_bytes(token_bytes(nbytes), "big") % (order - 1) + 1
    return ec.derive_private_key(scalar, _CURVES[spec]())


def generate_material(spec: str, token_bytes: Callable[[int], bytes]) -> bytes:
    """New key material for a KMS key of ``spec``.

    Fidelity: RSA keys come from OpenSSL's own generator, so they are not
    reproducible from a seeded cloud (every other spec is).
    """
    info = KEY_SPECS[spec]
    if info.kind == "symmetric":
        return token_bytes(32)
    if info.kind == "hmac":
        return token_bytes(info.bits // 8)
    if info.kind == "rsa":
        return _pkcs8(rsa.generate_private_key(public_exponent=65537, key_size=info.bits))
    if info.kind == "ecc":
        return _pkcs8(_ec_private_key(spec, token_bytes))
    if info.kind == "ed25519":
        return _pkcs8(ed25519.Ed25519PrivateKey.from_private_bytes(token_bytes(32)))
    raise KeyMaterialError(spec)  # pragma: no cover - every spec in KEY_SPECS is handled above


def generate_pair(spec: str, token_bytes: Callable[[int], bytes]) -> tuple[bytes, bytes]:
    """(PKCS#8 DER private key, DER SubjectPublicKeyInfo) for a data key pair spec."""
    if spec.startswith("ML_KEM_"):
        from cryptography.hazmat.primitives.asymmetric import mlkem

        cls = {"ML_KEM_768": mlkem.MLKEM768PrivateKey, "ML_KEM_1024": mlkem.MLKEM1024PrivateKey}[spec]
        private = cls.generate()
    elif spec in _CURVES:
        private = _ec_private_key(spec, token_bytes)
    elif spec == "ECC_NIST_EDWARDS25519":
        private = ed25519.Ed25519PrivateKey.from_private_bytes(token_bytes(32))
    elif spec.startswith("RSA_"):
        private = rsa.generate_private_key(public_exponent=65537, key_size=int(spec[4:]))
    else:
        raise KeyMaterialError(spec)
    public = private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return _pkcs8(private), public


@functools.lru_cache(maxsize=512)
def _private(material: bytes):
    """The private key object for key material, parsed once: loading an RSA key checks its
    primes, which costs tens of milliseconds, far more than the operation itself."""
    return serialization.load_der_private_key(material, password=None)


def public_key_der(material: bytes) -> bytes:
    """DER SubjectPublicKeyInfo of an asymmetric key's private key material."""
    return _private(material).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_public_key(der: bytes):
    """A public key from DER SubjectPublicKeyInfo; ValueError if it is not one."""
    return serialization.load_der_public_key(der)


def check_material(spec: str, material: bytes) -> None:
    """Raise KeyMaterialError unless ``material`` is valid key material for ``spec`` (imports)."""
    info = KEY_SPECS[spec]
    if info.kind == "symmetric":
        if len(material) != 32:
            raise KeyMaterialError("symmetric key material is 256 bits (32 bytes)")
        return
    if info.kind == "hmac":
        if len(material) != info.bits // 8:
            raise KeyMaterialError(f"{spec} key material is {info.bits} bits ({info.bits // 8} bytes)")
        return
    try:
        key = _private(material)
    except (ValueError, TypeError):
        raise KeyMaterialError("key material is not a PKCS#8 DER private key") from None
    if info.kind == "rsa":
        ok = isinstance(key, rsa.RSAPrivateKey) and key.key_size == info.bits
    elif info.kind == "ecc":
        ok = isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, _CURVES[spec])
    else:
        ok = isinstance(key, ed25519.Ed25519PrivateKey)
    if not ok:
        raise KeyMaterialError(f"key material is not a {spec} private key")


# -- encryption ----------------------------------------------------------------


def _oaep(algorithm: str) -> padding.OAEP:
    # RSAES_OAEP_SHA_1 / RSAES_OAEP_SHA_256: MGF1 with the same hash, empty label (as AWS documents)
    h = hashes.SHA1() if algorithm == "RSAES_OAEP_SHA_1" else hashes.SHA256()
    return padding.OAEP(mgf=padding.MGF1(algorithm=h), algorithm=h, label=None)


def rsa_max_plaintext(spec: str, algorithm: str) -> int:
    """Largest plaintext RSAES-OAEP takes: k - 2*hLen - 2 (AWS's documented limits)."""
    k = KEY_SPECS[spec].bits // 8
    hlen = 20 if algorithm.endswith("SHA_1") else 32
    return k - 2 * hlen - 2


def rsa_encrypt(material: bytes, algorithm: str, plaintext: bytes) -> bytes:
    return _private(material).public_key().encrypt(plaintext, _oaep(algorithm))


def rsa_decrypt(material: bytes, algorithm: str, ciphertext: bytes) -> bytes:
    """RSAES-OAEP decryption; ValueError if the ciphertext does not decrypt."""
    return _private(material).decrypt(ciphertext, _oaep(algorithm))


# -- signatures ----------------------------------------------------------------


def digest_size(algorithm: str) -> int:
    return _DIGEST_SIZES[SIGNING_ALGORITHMS[algorithm][1]]


def sign(material: bytes, algorithm: str, message: bytes, digest: bool) -> bytes:
    """Sign ``message`` (or, if ``digest``, the already computed hash) with ``algorithm``."""
    family, hname = SIGNING_ALGORITHMS[algorithm]
    key = _private(material)
    if family == "ed25519":
        return key.sign(message)
    if family == "ed25519ph":
        seed = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
        # AWS: with ED25519_PH_SHA_512 and a DIGEST message, KMS still applies the SHA-512
        # prehash, so the caller's digest is hashed a second time.
        return _ed25519ph.sign(seed, hashlib.sha512(message).digest())
    h = _HASHES[hname]()
    chosen = Prehashed(h) if digest else h
    if family == "ecdsa":
        return key.sign(message, ec.ECDSA(chosen))
    pad = padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size) if family == "pss" else padding.PKCS1v15()
    return key.sign(message, pad, chosen)


def verify(material: bytes, algorithm: str, message: bytes, digest: bool, signature: bytes) -> bool:
    family, hname = SIGNING_ALGORITHMS[algorithm]
    public = _private(material).public_key()
    try:
        if family == "ed25519":
            public.verify(signature, message)
            return True
        if family == "ed25519ph":
            raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            return _ed25519ph.verify(raw, hashlib.sha512(message).digest(), signature)
        h = _HASHES[hname]()
        chosen = Prehashed(h) if digest else h
        if family == "ecdsa":
            public.verify(signature, message, ec.ECDSA(chosen))
        else:
            pad = padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size) if family == "pss" else padding.PKCS1v15()
            public.verify(signature, message, pad, chosen)
        return True
    except (InvalidSignature, ValueError):
        return False


# -- MACs and key agreement ----------------------------------------------------


def mac(material: bytes, algorithm: str, message: bytes) -> bytes:
    """HMAC (RFC 2104) with SHA-224/256/384/512."""
    return hmac.digest(material, message, "sha" + algorithm.rsplit("_", 1)[-1])


def derive_shared_secret(material: bytes, peer_public_der: bytes) -> bytes:
    """ECDH: the raw shared secret (the x coordinate) with the peer's public key.

    Raises ValueError if the peer key is not a public key on the same curve.
    """
    private = _private(material)
    peer = load_public_key(peer_public_der)
    if not isinstance(peer, ec.EllipticCurvePublicKey) or peer.curve.name != private.curve.name:
        raise ValueError("the public key is not on the KMS key's curve")
    return private.exchange(ec.ECDH(), peer)
