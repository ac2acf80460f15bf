"""Layer 3: imported key material (BYOK) - GetParametersForImport, ImportKeyMaterial, DeleteImportedKeyMaterial.

A KMS key created with ``Origin=EXTERNAL`` starts in ``PendingImport`` with no
key material. The customer asks for an RSA wrapping public key and an import
token (valid 24 hours on the simulated clock), wraps their own key material
with it outside KMS, and imports it. When the material expires (``ValidTo``)
or is deleted, the key returns to ``PendingImport`` and every ciphertext made
under it waits until the *same* material is imported again.

The key material ID of imported material is an HMAC of the material under a
secret, per-key salt: importing the same bytes again gives the same ID (so old
ciphertexts decrypt), different bytes a different one (IncorrectKeyMaterial).
The cryptography (the wrapping key, unwrapping, the ID) is in
:mod:`kms_teach._crypto.key_import`.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import hmac

from ..._errors import (
    CryptoError,
    ExpiredImportTokenException,
    IncorrectKeyMaterialException,
    InvalidCiphertextException,
    InvalidImportTokenException,
    KeyMaterialError,
    NotFoundException,
    UnsupportedOperationException,
    ValidationException,
)
from ... import _model as m
from ..._crypto.key_import import (
    WRAPPING_ALGORITHMS,
    WRAPPING_KEY_SPECS,
    imported_material_id,
    new_wrapping_key,
    unwrap_key_material,
)
from ..._crypto.keyspecs import KEY_SPECS, check_material
from .common import DAY, validation
from ..._model import BackingKey, KmsKey

__all__ = ["ImportOperations", "IMPORT_TOKEN_LIFETIME"]

IMPORT_TOKEN_LIFETIME = _dt.timedelta(hours=24)
_MAX_OUTSTANDING_TOKENS = 10


class ImportOperations:
    """Mixed into :class:`~kms_teach._services.kms.service.KMS`."""

    def _require_external(self, key: KmsKey) -> None:
        if key.origin != "EXTERNAL":
            raise UnsupportedOperationException(
                f"{key.arn} origin is {key.origin} which is not valid for this operation."
            )

    def _validate_GetParametersForImport(self, call) -> None:
        if call.request.get("wrapping_algorithm") is None:
            raise validation("wrappingAlgorithm", "Member must not be null", "null")
        if call.request.get("wrapping_key_spec") is None:
            raise validation("wrappingKeySpec", "Member must not be null", "null")

    def _op_GetParametersForImport(self, ctx, req, audit):
        algorithm = req["wrapping_algorithm"]
        spec = req["wrapping_key_spec"]
        key = audit.key
        self._require_external(key)
        if algorithm == "RSAES_PKCS1_V1_5":
            raise ValidationException(
                "The RSAES_PKCS1_V1_5 wrapping algorithm is no longer supported. Use RSAES_OAEP_SHA_256 or "
                "RSA_AES_KEY_WRAP_SHA_256."
            )
        if algorithm not in WRAPPING_ALGORITHMS:
            raise UnsupportedOperationException(f"kms_teach does not simulate the {algorithm} wrapping algorithm.")
        if spec not in WRAPPING_KEY_SPECS:
            raise UnsupportedOperationException(f"kms_teach does not simulate {spec} wrapping keys.")
        if KEY_SPECS[key.key_spec].kind == "rsa" and not algorithm.startswith("RSA_AES_KEY_WRAP"):
            raise ValidationException(
                f"Key material for a {key.key_spec} KMS key is an RSA private key, which must be wrapped with "
                "RSA_AES_KEY_WRAP_SHA_1 or RSA_AES_KEY_WRAP_SHA_256."
            )
        now = self.clock.now()
        private, public = new_wrapping_key(spec)
        token = self.random.token_bytes(256)
        valid_to = now + IMPORT_TOKEN_LIFETIME
        # Only a hash of the token is kept: the token itself is the customer's.
        key.import_tokens = [t for t in key.import_tokens if m.from_iso(t["valid_to"]) > now][-(_MAX_OUTSTANDING_TOKENS - 1):]
        key.import_tokens.append({
            "token_sha256": hashlib.sha256(token).hexdigest(),
            "wrapping_key": base64.b64encode(private).decode(),
            "algorithm": algorithm,
            "valid_to": valid_to.isoformat(),
        })
        self._save(key)
        return {"key_id": key.arn, "import_token": token, "public_key": public, "parameters_valid_to": valid_to}

    @staticmethod
    def _unwrap_imported(entry: dict, wrapped: bytes) -> bytes:
        try:
            return unwrap_key_material(base64.b64decode(entry["wrapping_key"]), entry["algorithm"], wrapped)
        except CryptoError:
            raise InvalidCiphertextException(
                "The encrypted key material could not be decrypted with the wrapping key of this import token."
            ) from None

    def _validate_ImportKeyMaterial(self, call) -> None:
        if call.request.get("import_token") is None:
            raise validation("importToken", "Member must not be null", "null")
        if call.request.get("encrypted_key_material") is None:
            raise validation("encryptedKeyMaterial", "Member must not be null", "null")

    def _op_ImportKeyMaterial(self, ctx, req, audit):
        token, wrapped = req["import_token"], req["encrypted_key_material"]
        key = audit.key
        self._require_external(key)
        now = self.clock.now()
        digest = hashlib.sha256(token).hexdigest()
        entry = next((t for t in key.import_tokens if hmac.compare_digest(t["token_sha256"], digest)), None)
        if entry is None:
            raise InvalidImportTokenException(f"The import token is not valid for {key.arn}.")
        if m.from_iso(entry["valid_to"]) <= now:
            raise ExpiredImportTokenException(f"The import token for {key.arn} has expired.")
        model = req.get("expiration_model") or "KEY_MATERIAL_EXPIRES"
        valid_to = req.get("valid_to")
        if model == "KEY_MATERIAL_EXPIRES":
            if valid_to is None:
                raise ValidationException("A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES")
            if valid_to <= now:
                raise ValidationException("The validTo date must be in the future.")
            if valid_to > now + 365 * DAY:
                raise ValidationException("The validTo date must be at most 365 days in the future.")
        elif valid_to is not None:
            raise ValidationException(
                "A validTo date must not be set if the ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE"
            )
        if req.get("import_type") == "NEW_KEY_MATERIAL" and key.backing_keys:
            # Fidelity: importing new key material for on-demand rotation of an imported key is not simulated.
            raise UnsupportedOperationException(
                "kms_teach does not simulate importing new key material into a key that already has key material."
            )
        material = self._unwrap_imported(entry, wrapped)
        try:
            check_material(key.key_spec, material)
        except KeyMaterialError as exc:
            raise IncorrectKeyMaterialException(f"The key material is not valid for {key.arn}: {exc}.") from None
        new_id = imported_material_id(key.import_salt, material)
        if key.backing_keys and key.backing_keys[-1].key_material_id != new_id:
            raise IncorrectKeyMaterialException(
                f"The key material is not the key material previously imported into {key.arn}. "
                "Re-import the same key material."
            )
        given_id = req.get("key_material_id")
        if given_id is not None and given_id != new_id:
            raise IncorrectKeyMaterialException(f"The key material does not have the key material ID {given_id}.")
        if key.backing_keys:
            key.backing_keys[-1].material = material
        else:
            key.backing_keys.append(BackingKey(new_id, material, now, None))
        key.expiration_model = model
        key.valid_to = valid_to if model == "KEY_MATERIAL_EXPIRES" else None
        if key.key_state == m.PENDING_IMPORT:
            key.key_state = m.ENABLED
        if key.valid_to is not None:
            self._schedule(key.valid_to)
        self._save(key)
        return {"key_id": key.arn, "key_material_id": new_id}

    def _op_DeleteImportedKeyMaterial(self, ctx, req, audit):
        key = audit.key
        self._require_external(key)
        given = req.get("key_material_id")
        current = key.current_backing_key
        if given is not None and (current is None or current.key_material_id != given):
            raise NotFoundException(f"Key material {given} does not exist for {key.arn}.")
        self._drop_imported_material(key)
        return {"key_id": key.arn, "key_material_id": current.key_material_id if current else None}

    def _drop_imported_material(self, key: KmsKey) -> None:
        """The key keeps the *identity* of its material (to recognise a re-import) but not the material."""
        for bk in key.backing_keys:
            bk.material = b""
        key.valid_to = None
        key.expiration_model = None
        if key.key_state not in (m.PENDING_DELETION, m.PENDING_REPLICA_DELETION):
            key.key_state = m.PENDING_IMPORT
        self._save(key)
