"""Layer 2: does a grant allow a request? (Grants only ever allow; the permissions engine weighs them.)

A grant names one grantee principal, the operations it may perform on one KMS
key and, optionally, encryption context constraints (KMS API Reference,
``GrantConstraints``). These functions evaluate one grant against one request,
with the reason; ``authz.Permissions`` combines them with the key policy and
identity policies.
"""

from __future__ import annotations

__all__ = ["grant_allows", "constraints_met"]


# Operations whose request carries an encryption context (constraints apply to them only).
_CONTEXT_OPERATIONS = frozenset({
    "Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
    "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "CreateGrant",
})


def constraints_met(grant: dict, operation: str, context: dict | None) -> tuple[bool, str]:
    """Whether a request's encryption context satisfies a grant's constraints (with the reason)."""
    constraints = grant.get("constraints") or {}
    if not constraints or operation not in _CONTEXT_OPERATIONS:
        return True, "no encryption context constraint applies"
    if operation == "CreateGrant":
        # A sub-grant carries constraints, not a context: whether they are at least as strict
        # is checked against the new grant's constraints (Permissions._check_sub_grant).
        return True, "a sub-grant's constraints are checked against this grant's"
    context = context or {}
    # The API reference: in grant constraints the key is not case-sensitive, the value is.
    folded = {k.lower(): v for k, v in context.items()}
    equals = constraints.get("encryption_context_equals")
    if equals is not None and folded != {k.lower(): v for k, v in equals.items()}:
        return False, f"the encryption context {context} is not exactly {equals} (EncryptionContextEquals)"
    subset = constraints.get("encryption_context_subset")
    if subset is not None and any(folded.get(k.lower()) != v for k, v in subset.items()):
        return False, f"the encryption context {context} does not contain all of {subset} (EncryptionContextSubset)"
    return True, "the encryption context meets the grant's constraints"


def _bound(grant: dict, field: str, principal_id: str | None) -> bool:
    """Whether the principal a grant names in ``field`` is still the one it named when it was made.

    CreateGrant records the unique ID of the grantee and retiring principal (``<field>_id``); a user or
    role deleted and created again under the same name has another unique ID and gets nothing from
    the grant (IAM User Guide, "Unique identifiers").
    """
    bound = grant.get(field + "_id")
    # A caller without a unique ID (a Principal made by hand, not by IAM) is matched by ARN.
    return bound is None or principal_id is None or principal_id.split(":", 1)[0] == bound


def grant_names(grant: dict, field: str, principal) -> bool:
    """Whether a grant's ``grantee_principal`` or ``retiring_principal`` is ``principal`` (a role's sessions
    included), bound to its unique ID."""
    named = grant.get(field)
    return named is not None and named in (principal.arn, principal.role_arn) and _bound(
        grant, field, principal.principal_id)


def grant_allows(grant: dict, principal_arn: str, role_arn: str | None, operation: str, context: dict | None,
                 principal_id: str | None = None) -> tuple[bool, str]:
    """Does this grant let the caller perform ``operation`` (a grant operation name)?"""
    grantee = grant.get("grantee_principal") or grant.get("grantee_service_principal")
    if grantee not in (principal_arn, role_arn):
        return False, f"its grantee is {grantee}"
    if not _bound(grant, "grantee_principal", principal_id):
        return False, (f"its grantee is the {grantee} that existed when the grant was made "
                       f"(unique ID {grant['grantee_principal_id']}), not this one")
    if operation not in grant["operations"]:
        return False, f"it allows {', '.join(grant['operations'])}, not {operation}"
    ok, why = constraints_met(grant, operation, context)
    return ok, why
