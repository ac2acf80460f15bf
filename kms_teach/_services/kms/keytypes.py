"""Layer 3: operations of asymmetric and HMAC KMS keys, and data key pairs.

Sign, Verify, GetPublicKey (RSA, ECC, Ed25519 signing and encryption keys);
GenerateMac, VerifyMac (HMAC keys); DeriveSharedSecret (ECC key agreement);
GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext (under a symmetric
encryption key). Each runs the service's one path: resolve, authorize, check
state, act; the audit is recorded by :meth:`KMS.call`.
"""

from __future__ import annotations

import hmac as _hmac

from ..._errors import (
    InvalidKeyUsageException,
    KMSInvalidMacException,
    KMSInvalidSignatureException,
    UnsupportedOperationException,
    ValidationException,
)
from ..._crypto.keyspecs import (
    DATA_KEY_PAIR_SPECS,
    KEY_SPECS,
    SIGNING_ALGORITHMS,
    derive_shared_secret,
    digest_size,
    generate_pair,
    mac,
    public_key_der,
    sign,
    verify,
)
from .common import validation

__all__ = ["KeyTypeOperations"]


def _check_message(message) -> bytes:
    if message is None:
        raise validation("message", "Member must not be null", "null")
    if not 1 <= len(message) <= 4096:
        raise validation("message", "Member must have length less than or equal to 4096" if message
                         else "Member must have length greater than or equal to 1")
    return message


class KeyTypeOperations:
    """Mixed into :class:`~kms_teach._services.kms.service.KMS`."""

    # -- signatures -------------------------------------------------------------

    def _validate_signing(self, call) -> None:
        req = call.request
        self._check_grant_tokens(req)
        _check_message(req.get("message"))
        if req.get("signing_algorithm") is None:
            raise validation("signingAlgorithm", "Member must not be null", "null")

    def _signing_request(self, ctx, req, audit, operation: str):
        message = req["message"]
        algorithm = req["signing_algorithm"]
        message_type = req.get("message_type") or "RAW"
        key = audit.key
        self._require_usage(key, "SIGN_VERIFY", operation)
        if algorithm not in KEY_SPECS[key.key_spec].signing_algorithms:
            raise InvalidKeyUsageException(f"Algorithm {algorithm} is incompatible with key spec {key.key_spec}.")
        if message_type == "EXTERNAL_MU":
            raise ValidationException(f"MessageType EXTERNAL_MU is not valid for signing algorithm {algorithm}.")
        if algorithm == "ED25519_SHA_512" and message_type != "RAW":
            raise ValidationException("ED25519_SHA_512 signs only messages of MessageType RAW.")
        if algorithm == "ED25519_PH_SHA_512" and message_type != "DIGEST":
            raise ValidationException("ED25519_PH_SHA_512 signs only messages of MessageType DIGEST.")
        digest = message_type == "DIGEST"
        if digest and len(message) != digest_size(algorithm):
            raise ValidationException(f"Digest is invalid length for algorithm {algorithm}.")
        return key, message, algorithm, digest

    def _op_Sign(self, ctx, req, audit):
        key, message, algorithm, digest = self._signing_request(ctx, req, audit, "Sign")
        self._dry_run(req)
        signature = sign(key.current_backing_key.material, algorithm, message, digest)
        return {"key_id": key.arn, "signature": signature, "signing_algorithm": algorithm}

    def _op_Verify(self, ctx, req, audit):
        key, message, algorithm, digest = self._signing_request(ctx, req, audit, "Verify")
        signature = req.get("signature")
        if signature is None:
            raise validation("signature", "Member must not be null", "null")
        self._dry_run(req)
        if not verify(key.current_backing_key.material, algorithm, message, digest, signature):
            # AWS raises rather than answering SignatureValid: false.
            raise KMSInvalidSignatureException("")
        return {"key_id": key.arn, "signature_valid": True, "signing_algorithm": algorithm}

    def _op_GetPublicKey(self, ctx, req, audit):
        key = audit.key
        info = KEY_SPECS[key.key_spec]
        if info.kind in ("symmetric", "hmac"):
            raise UnsupportedOperationException(
                f"{key.arn} key spec is {key.key_spec}. GetPublicKey is valid only for asymmetric KMS keys."
            )
        out = {
            "key_id": key.arn,
            "public_key": public_key_der(key.current_backing_key.material),
            "customer_master_key_spec": key.key_spec,
            "key_spec": key.key_spec,
            "key_usage": key.key_usage,
        }
        out.update(info.algorithms_for(key.key_usage))
        return out

    # -- HMAC -------------------------------------------------------------------

    def _validate_mac(self, call) -> None:
        req = call.request
        self._check_grant_tokens(req)
        _check_message(req.get("message"))
        if req.get("mac_algorithm") is None:
            raise validation("macAlgorithm", "Member must not be null", "null")

    def _mac_request(self, ctx, req, audit, operation: str):
        message = req["message"]
        algorithm = req["mac_algorithm"]
        key = audit.key
        self._require_usage(key, "GENERATE_VERIFY_MAC", operation)
        if algorithm not in KEY_SPECS[key.key_spec].mac_algorithms:
            raise InvalidKeyUsageException(f"Algorithm {algorithm} is incompatible with key spec {key.key_spec}.")
        return key, message, algorithm

    def _op_GenerateMac(self, ctx, req, audit):
        key, message, algorithm = self._mac_request(ctx, req, audit, "GenerateMac")
        self._dry_run(req)
        return {"mac": mac(key.current_backing_key.material, algorithm, message), "mac_algorithm": algorithm,
                "key_id": key.arn}

    def _op_VerifyMac(self, ctx, req, audit):
        key, message, algorithm = self._mac_request(ctx, req, audit, "VerifyMac")
        given = req.get("mac")
        if given is None:
            raise validation("mac", "Member must not be null", "null")
        self._dry_run(req)
        expected = mac(key.current_backing_key.material, algorithm, message)
        if not _hmac.compare_digest(expected, given):
            raise KMSInvalidMacException("")
        return {"key_id": key.arn, "mac_valid": True, "mac_algorithm": algorithm}

    # -- key agreement ------------------------------------------------------------

    def _validate_DeriveSharedSecret(self, call) -> None:
        req = call.request
        self._check_grant_tokens(req)
        if req.get("recipient"):
            raise UnsupportedOperationException("kms_teach does not simulate Nitro Enclaves recipients.")
        if req.get("key_agreement_algorithm") is None:
            raise validation("keyAgreementAlgorithm", "Member must not be null", "null")
        if req.get("public_key") is None:
            raise validation("publicKey", "Member must not be null", "null")

    def _op_DeriveSharedSecret(self, ctx, req, audit):
        algorithm = req["key_agreement_algorithm"]
        peer = req["public_key"]
        key = audit.key
        self._require_usage(key, "KEY_AGREEMENT", "DeriveSharedSecret")
        if algorithm not in KEY_SPECS[key.key_spec].key_agreement_algorithms:
            raise InvalidKeyUsageException(f"Algorithm {algorithm} is incompatible with key spec {key.key_spec}.")
        self._dry_run(req)
        try:
            secret = derive_shared_secret(key.current_backing_key.material, peer)
        except (ValueError, TypeError):
            raise ValidationException(
                f"The public key is not a valid DER-encoded X.509 SubjectPublicKeyInfo on the curve of {key.key_spec}."
            ) from None
        return {"key_id": key.arn, "shared_secret": secret, "key_agreement_algorithm": algorithm, "key_origin": key.origin}

    # -- data key pairs ---------------------------------------------------------------

    def _validate_data_key_pair(self, call) -> None:
        req = call.request
        self._check_grant_tokens(req)
        if req.get("recipient"):
            raise UnsupportedOperationException("kms_teach does not simulate Nitro Enclaves recipients.")
        self._check_context(req.get("encryption_context"))
        if req.get("key_pair_spec") is None:
            raise validation("keyPairSpec", "Member must not be null", "null")

    def _data_key_pair(self, ctx, req, audit, operation: str):
        context = req.get("encryption_context")
        spec = req["key_pair_spec"]
        key = audit.key
        self._require_symmetric_encryption(key, operation)
        if spec not in DATA_KEY_PAIR_SPECS:
            # Fidelity: SM2 (China Regions) and ML_KEM_512 pairs cannot be made with this machine's cryptography.
            raise UnsupportedOperationException(f"kms_teach cannot generate {spec} data key pairs.")
        self._dry_run(req)
        # The pair exists only in this response: KMS keeps no copy of it.
        private, public = generate_pair(spec, self.random.token_bytes)
        blob = self._encrypt_under(key, private, context)
        return key, spec, private, public, blob

    def _op_GenerateDataKeyPair(self, ctx, req, audit):
        key, spec, private, public, blob = self._data_key_pair(ctx, req, audit, "GenerateDataKeyPair")
        return {
            "private_key_ciphertext_blob": blob,
            "private_key_plaintext": private,
            "public_key": public,
            "key_id": key.arn,
            "key_pair_spec": spec,
            "key_material_id": key.current_backing_key.key_material_id,
        }

    def _op_GenerateDataKeyPairWithoutPlaintext(self, ctx, req, audit):
        key, spec, _private, public, blob = self._data_key_pair(ctx, req, audit, "GenerateDataKeyPairWithoutPlaintext")
        return {
            "private_key_ciphertext_blob": blob,
            "public_key": public,
            "key_id": key.arn,
            "key_pair_spec": spec,
            "key_material_id": key.current_backing_key.key_material_id,
        }


# Every signing algorithm named in a key spec is one the key-spec layer can run.
assert all(a in SIGNING_ALGORITHMS for info in KEY_SPECS.values() for a in info.signing_algorithms)
