"""Layer 3: grants - CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant.

A grant lets one grantee principal perform the listed operations on one KMS
key, optionally only with a matching encryption context (constraints). Grants
only ever allow: they never override a Deny, and a grantee whose permission to
call CreateGrant comes from a grant can only pass on narrower rights.

Fidelity: AWS grants become effective within about five minutes (immediately
when the request carries the grant token); kms_teach grants are effective at
once. Grant tokens are still checked: a token kms_teach did not issue is
refused with InvalidGrantTokenException.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from ..._errors import (
    AccessDeniedException,
    InvalidGrantIdException,
    InvalidGrantTokenException,
    LimitExceededException,
    NotFoundException,
    UnsupportedOperationException,
    ValidationException,
)
from ... import _model as m
from ..._crypto.keyspecs import KEY_SPECS
from ..._crypto.tokens import open_token, seal_token
from ..._policy.grants import grant_names
from ..base import Target
from .common import _page, validation
from ..._model import KmsKey

__all__ = ["GrantOperations", "grant_operations_for"]

_COMMON = ("CreateGrant", "RetireGrant", "DescribeKey")


def grant_operations_for(key: KmsKey) -> tuple[str, ...]:
    """The grant operations valid for a key of this spec and usage (AWS's table)."""
    kind = KEY_SPECS[key.key_spec].kind
    if key.key_usage == "ENCRYPT_DECRYPT" and kind == "symmetric":
        ops = ("Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom",
               "ReEncryptTo", "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext")
    elif key.key_usage == "ENCRYPT_DECRYPT":
        ops = ("Decrypt", "Encrypt", "ReEncryptFrom", "ReEncryptTo", "GetPublicKey")
    elif key.key_usage == "SIGN_VERIFY":
        ops = ("Sign", "Verify", "GetPublicKey")
    elif key.key_usage == "GENERATE_VERIFY_MAC":
        ops = ("GenerateMac", "VerifyMac")
    else:  # KEY_AGREEMENT
        ops = ("DeriveSharedSecret", "GetPublicKey")
    return ops + _COMMON


class GrantOperations:
    """Mixed into :class:`~kms_teach._services.kms.service.KMS`."""

    # -- tokens -------------------------------------------------------------------

    def _grant_token(self, key: KmsKey, grant_id: str) -> str:
        # Signed with this cloud's secret (kept, encrypted, in the store): only tokens it issued verify.
        nonce = self.random.token_bytes(16)
        body = json.dumps({"k": key.arn, "g": grant_id, "n": nonce.hex()}, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(seal_token(self.grant_token_secret, body)).decode()

    def parse_grant_token(self, token: str) -> tuple[str, str] | None:
        """(key ARN, grant ID) of a token this cloud issued, or None."""
        try:
            raw = base64.urlsafe_b64decode(token.encode())
        except (ValueError, UnicodeEncodeError):
            return None
        body = open_token(self.grant_token_secret, raw)
        if body is None:
            return None
        try:
            doc = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(doc, dict) or not isinstance(doc.get("k"), str) or not isinstance(doc.get("g"), str):
            return None
        return doc["k"], doc["g"]

    def _check_grant_tokens(self, request: dict) -> None:
        tokens = request.get("grant_tokens")
        if tokens is None:
            return
        if len(tokens) > 10:
            raise validation("grantTokens", "Member must have length less than or equal to 10")
        for token in tokens:
            if self.parse_grant_token(token) is None:
                raise InvalidGrantTokenException("The grant token is not valid.")

    # -- CreateGrant ----------------------------------------------------------------

    def _validate_CreateGrant(self, call) -> None:
        req = call.request
        self._check_grant_tokens(req)
        if not req.get("operations"):
            raise validation("operations", "Member must have length greater than or equal to 1")
        if (req.get("grantee_principal") is None) == (req.get("grantee_service_principal") is None):
            raise ValidationException("Specify exactly one of GranteePrincipal and GranteeServicePrincipal.")
        if req.get("retiring_principal") and req.get("retiring_service_principal"):
            raise ValidationException("Specify at most one of RetiringPrincipal and RetiringServicePrincipal.")

    def _op_CreateGrant(self, ctx, req, audit):
        operations = req["operations"]
        grantee = req.get("grantee_principal")
        grantee_service = req.get("grantee_service_principal")
        key = audit.key
        valid = grant_operations_for(key)
        bad = [op for op in operations if op not in valid]
        if bad:
            raise ValidationException(
                f"Grant operations {bad} are not valid for {key.arn}, a {key.key_spec} {key.key_usage} KMS key. "
                f"Valid operations: {', '.join(valid)}."
            )
        constraints = self._grant_constraints(req.get("constraints"), key)
        for principal in (grantee, req.get("retiring_principal")):
            if principal is not None and not self.principal_known(principal):
                raise ValidationException(f"Invalid principal: {principal}")
        name = req.get("name")
        self._dry_run(req)
        grants = key.grants
        if name is not None:
            for g in grants:
                if (g.get("name") == name and g.get("grantee_principal") == grantee
                        and g.get("grantee_service_principal") == grantee_service
                        and sorted(g["operations"]) == sorted(operations) and g.get("constraints") == constraints
                        and g.get("retiring_principal") == req.get("retiring_principal")):
                    # The same Name and parameters: the same grant, and a new token.
                    return {"grant_token": self._grant_token(key, g["grant_id"]), "grant_id": g["grant_id"]}
        if len(grants) >= 50000:
            raise LimitExceededException(f"{key.arn} already has 50,000 grants.")
        grant_id = self.random.token_bytes(32).hex()
        grant = {
            "grant_id": grant_id,
            "key_id": key.arn,
            "name": name,
            "creation_date": self.clock.now().isoformat(),
            "grantee_principal": grantee,
            "grantee_service_principal": grantee_service,
            "retiring_principal": req.get("retiring_principal"),
            "retiring_service_principal": req.get("retiring_service_principal"),
            # Bound to who they are now: a principal of the same name made later gets nothing.
            "grantee_principal_id": self.principal_unique_id(grantee),
            "retiring_principal_id": self.principal_unique_id(req.get("retiring_principal")),
            "issuing_account": f"arn:{m.partition(key.region)}:iam::{ctx.account_id}:root",
            "operations": list(operations),
            "constraints": constraints,
        }
        grants.append(grant)
        self._save(key)
        return {"grant_token": self._grant_token(key, grant_id), "grant_id": grant_id}

    @staticmethod
    def _grant_constraints(raw: Any, key: KmsKey) -> dict | None:
        if not raw:
            return None
        out = {}
        for name in ("encryption_context_subset", "encryption_context_equals"):
            value = raw.get(name)
            if value is None:
                continue
            if len(value) > 8:
                raise ValidationException(f"A grant constraint has at most 8 pairs; {name} has {len(value)}.")
            if any(len(v) > 384 for v in value.values()):
                raise ValidationException("A grant constraint value is at most 384 characters.")
            out[name] = dict(value)
        if raw.get("source_arn"):
            # Fidelity: SourceArn constraints (for AWS services acting on resources) are not simulated.
            raise UnsupportedOperationException("kms_teach does not simulate SourceArn grant constraints.")
        if out and key.key_spec != "SYMMETRIC_DEFAULT":
            raise ValidationException(
                "Encryption context grant constraints are valid only for symmetric encryption KMS keys."
            )
        return out or None

    # -- listing ----------------------------------------------------------------------

    @staticmethod
    def _grant_entry(grant: dict) -> dict:
        entry = {k: grant[k] for k in ("key_id", "grant_id", "issuing_account", "operations") if grant.get(k)}
        entry["creation_date"] = m.from_iso(grant["creation_date"])
        for k in ("name", "grantee_principal", "retiring_principal", "grantee_service_principal",
                  "retiring_service_principal"):
            if grant.get(k):
                entry[k] = grant[k]
        if grant.get("constraints"):
            entry["constraints"] = dict(grant["constraints"])
        return entry

    def _op_ListGrants(self, ctx, req, audit):
        key = audit.key
        grants = key.grants
        if req.get("grant_id") is not None:
            grants = [g for g in grants if g["grant_id"] == req["grant_id"]]
        if req.get("grantee_principal") is not None:
            grants = [g for g in grants if g.get("grantee_principal") == req["grantee_principal"]]
        if req.get("grantee_service_principal") is not None:
            grants = [g for g in grants if g.get("grantee_service_principal") == req["grantee_service_principal"]]
        page, marker = _page(grants, req.get("limit"), req.get("marker"), "ListGrants" + key.key_id, 50, 100)
        out = {"grants": [self._grant_entry(g) for g in page], "truncated": marker is not None}
        if marker:
            out["next_marker"] = marker
        return out

    def _op_ListRetirableGrants(self, ctx, req, audit):
        retiring = req.get("retiring_principal") or req.get("retiring_service_principal")
        if retiring is None:
            raise validation("retiringPrincipal", "Member must not be null", "null")
        found = []
        state = self._regions.get((ctx.account_id, ctx.region))
        for key in (state.sorted_keys()[0] if state else []):
            for g in key.grants:
                if retiring in (g.get("retiring_principal"), g.get("retiring_service_principal")):
                    found.append(g)
        page, marker = _page(found, req.get("limit"), req.get("marker"), "ListRetirableGrants" + retiring, 50, 100)
        out = {"grants": [self._grant_entry(g) for g in page], "truncated": marker is not None}
        if marker:
            out["next_marker"] = marker
        return out

    # -- retiring and revoking ----------------------------------------------------

    @staticmethod
    def _check_grant_id(grant_id: Any) -> str:
        if not isinstance(grant_id, str) or not re.fullmatch(r"[0-9a-f]{64}", grant_id):
            raise InvalidGrantIdException(f"Grant ID {grant_id} is not a valid grant ID.")
        return grant_id

    def _find_grant(self, key: KmsKey, grant_id: str) -> dict:
        for g in key.grants:
            if g["grant_id"] == grant_id:
                return g
        raise NotFoundException(f"Grant ID {grant_id} does not exist for {key.arn}.")

    def _resolve_RetireGrant(self, call) -> list:
        req, ctx = call.request, call.ctx
        token, grant_id = req.get("grant_token"), req.get("grant_id")
        if token is not None:
            parsed = self.parse_grant_token(token)
            if parsed is None:
                raise InvalidGrantTokenException("The grant token is not valid.")
            key = self.resolve_key(ctx, parsed[0], "RetireGrant")
            grant_id = parsed[1]
        else:
            if req.get("key_id") is None or grant_id is None:
                raise ValidationException("Specify a GrantToken, or both a KeyId and a GrantId.")
            key = self.resolve_key(ctx, req["key_id"], "RetireGrant")
            self._check_grant_id(grant_id)
        call.resource(key)
        call.scratch["grant"] = self._find_grant(key, grant_id)
        return [Target("kms:RetireGrant", key)]

    def _authorize_RetireGrant(self, call, target) -> None:
        """Who may retire a grant is said by the grant: its retiring principal, its grantee when the grant
        allows RetireGrant, or the account that created it (KMS Developer Guide, "Retiring and revoking
        grants"; the RetireGrant API reference: "Required permissions: Permission to retire a grant is
        determined primarily by the grant")."""
        grant, key, p = call.scratch["grant"], target.resource, call.ctx.principal
        issuing = grant["issuing_account"].split(":")[4]
        allowed = (
            (p.kind == "Root" and p.account_id == issuing)
            or grant_names(grant, "retiring_principal", p)
            or p.arn == grant.get("retiring_service_principal")
            or ("RetireGrant" in grant["operations"] and (
                grant_names(grant, "grantee_principal", p) or p.arn == grant.get("grantee_service_principal")))
        )
        if not allowed:
            raise AccessDeniedException(
                f"User: {p.arn} is not authorized to perform: kms:RetireGrant on resource: {key.arn} because "
                "it is neither the grant's retiring principal, its grantee with the RetireGrant operation, nor "
                "the account that created it"
            )

    def _op_RetireGrant(self, ctx, req, audit):
        key = audit.key
        self._dry_run(req)
        key.grants.remove(audit.scratch["grant"])
        self._save(key)
        return {}

    def _op_RevokeGrant(self, ctx, req, audit):
        grant_id = req["grant_id"]
        key = audit.key
        grant = self._find_grant(key, grant_id)
        self._dry_run(req)
        key.grants.remove(grant)
        self._save(key)
        return {}
