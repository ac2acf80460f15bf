"""Layer 3: what every KMS operation shares - the key-state table, validation, pagination.

The service (``service.py``) and its operation groups (the other modules of
this package) build on these; nothing here holds state.
"""

from __future__ import annotations

import base64
import bisect
import datetime as _dt
import re
import struct
from typing import Any

from ..._errors import (
    DisabledException,
    InvalidMarkerException,
    KMSInvalidStateException,
    UnsupportedOperationException,
    ValidationException,
)
from ... import _model as m

__all__ = ["STATE_RULES", "AWS_MANAGED_ALIASES", "DAY", "validation", "in_range"]

DAY = _dt.timedelta(days=1)

# Operations whose KeyId may be an alias name or alias ARN (from the botocore
# model's documentation of each KeyId member; for GenerateMac and VerifyMac from
# their API reference, "Cross-account use: ... specify the key ARN or alias ARN").
# The rest take a key ID or key ARN.
ALIAS_OK = frozenset(
    {
        "DescribeKey", "Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "Sign", "Verify", "GetPublicKey",
        "DeriveSharedSecret", "GetKeyLastUsage", "GenerateMac", "VerifyMac",
    }
)

# Aliases AWS predefines for AWS managed keys. ListAliases shows them, without
# a TargetKeyId, until a service first uses the key.
AWS_MANAGED_ALIASES = (
    "alias/aws/acm", "alias/aws/dynamodb", "alias/aws/ebs", "alias/aws/elasticfilesystem", "alias/aws/es",
    "alias/aws/glue", "alias/aws/kinesisvideo", "alias/aws/lambda", "alias/aws/rds", "alias/aws/redshift",
    "alias/aws/s3", "alias/aws/secretsmanager", "alias/aws/ssm", "alias/aws/xray",
)

MAX_ON_DEMAND_ROTATIONS = 25
MAX_ALIASES_PER_KEY = 50
MAX_TAGS_PER_KEY = 50
ROTATION_CONFLICT_WINDOW = _dt.timedelta(minutes=20)

_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_MRK_RE = re.compile(r"^mrk-[0-9a-f]{32}$")
_KEY_ARN_RE = re.compile(r"^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):key/(.+)$")
_ALIAS_ARN_RE = re.compile(r"^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):(alias/.+)$")


# ---------------------------------------------------------------------------
# The key-state table (AWS KMS Developer Guide, "Key states of AWS KMS keys")
# ---------------------------------------------------------------------------

# What each kind of operation allows. A state missing from a rule's dict is
# allowed; a present state maps to (error class, message template).
_DIS = (DisabledException, "{arn} is disabled.")
_PD = (KMSInvalidStateException, "{arn} is pending deletion.")
_PRD = (KMSInvalidStateException, "{arn} is pending replica deletion.")
_PI = (KMSInvalidStateException, "{arn} is pending import.")
_UNAV = (KMSInvalidStateException, "{arn} is unavailable.")
_CREATING = (KMSInvalidStateException, "{arn} is creating.")
_UPDATING = (KMSInvalidStateException, "{arn} is updating.")
_NOT_PD = (KMSInvalidStateException, "{arn} is not pending deletion.")

_CRYPTO_RULE = {
    m.DISABLED: _DIS, m.PENDING_DELETION: _PD, m.PENDING_REPLICA_DELETION: _PRD,
    m.PENDING_IMPORT: _PI, m.UNAVAILABLE: _UNAV, m.CREATING: _CREATING,
}
_NOT_PENDING_DELETION = {m.PENDING_DELETION: _PD, m.PENDING_REPLICA_DELETION: _PRD}
_ENABLE_DISABLE_RULE = {
    m.PENDING_DELETION: _PD, m.PENDING_REPLICA_DELETION: _PRD, m.PENDING_IMPORT: _PI,
    m.CREATING: _CREATING, m.UPDATING: _UPDATING,
}
_ROTATION_RULE = {
    m.DISABLED: _DIS, m.PENDING_DELETION: _PD, m.PENDING_REPLICA_DELETION: _PRD,
    # footnote [6]: only EXTERNAL-origin keys are ever PendingImport, and their origin is what rules them out
    m.PENDING_IMPORT: (UnsupportedOperationException,
                       "{arn} origin is EXTERNAL which is not valid for this operation."),
    m.UNAVAILABLE: _UNAV, m.CREATING: _CREATING,
}
_CANCEL_RULE = {
    s: _NOT_PD for s in (m.ENABLED, m.DISABLED, m.PENDING_IMPORT, m.UNAVAILABLE, m.CREATING, m.UPDATING)
}
_SCHEDULE_RULE = {m.PENDING_DELETION: _PD, m.PENDING_REPLICA_DELETION: _PRD, m.UPDATING: _UPDATING}
_ANY = {}

STATE_RULES: dict[str, dict] = {
    "Encrypt": _CRYPTO_RULE, "Decrypt": _CRYPTO_RULE, "ReEncrypt": _CRYPTO_RULE,
    "GenerateDataKey": _CRYPTO_RULE, "GenerateDataKeyWithoutPlaintext": _CRYPTO_RULE,
    "GenerateDataKeyPair": _CRYPTO_RULE, "GenerateDataKeyPairWithoutPlaintext": _CRYPTO_RULE,
    "CreateAlias": _NOT_PENDING_DELETION, "UpdateAlias": _NOT_PENDING_DELETION,
    "DeleteAlias": _ANY, "DescribeKey": _ANY, "GetKeyPolicy": _ANY, "PutKeyPolicy": _ANY,
    "ListKeyPolicies": _ANY, "ListResourceTags": _ANY, "ListAliases": _ANY, "ListKeyRotations": _ANY,
    "GetKeyRotationStatus": {m.PENDING_IMPORT: None},  # origin check handles EXTERNAL keys
    "EnableKey": _ENABLE_DISABLE_RULE, "DisableKey": _ENABLE_DISABLE_RULE,
    "EnableKeyRotation": _ROTATION_RULE, "DisableKeyRotation": _ROTATION_RULE,
    "RotateKeyOnDemand": _ROTATION_RULE,
    "ScheduleKeyDeletion": _SCHEDULE_RULE, "CancelKeyDeletion": _CANCEL_RULE,
    "TagResource": _NOT_PENDING_DELETION, "UntagResource": _NOT_PENDING_DELETION,
    "UpdateKeyDescription": _NOT_PENDING_DELETION,
    "ReplicateKey": {**_CRYPTO_RULE, m.UPDATING: _UPDATING},
    "UpdatePrimaryRegion": _CRYPTO_RULE,
    "GetParametersForImport": {m.PENDING_DELETION: _PD, m.PENDING_REPLICA_DELETION: _PRD, m.UNAVAILABLE: _UNAV,
                               m.CREATING: _CREATING, m.UPDATING: _UPDATING},
    "ImportKeyMaterial": {m.PENDING_DELETION: _PD, m.PENDING_REPLICA_DELETION: _PRD, m.UNAVAILABLE: _UNAV,
                          m.CREATING: _CREATING},
    "DeleteImportedKeyMaterial": {m.CREATING: _CREATING, m.UPDATING: _UPDATING},
    "CreateGrant": {m.DISABLED: _DIS, m.PENDING_DELETION: _PD, m.PENDING_REPLICA_DELETION: _PRD,
                    m.PENDING_IMPORT: _PI, m.CREATING: _CREATING},
    "ListGrants": _ANY, "RevokeGrant": _ANY, "RetireGrant": _ANY,
}


def in_range(value: int | None, default: int, low: int, high: int, field_name: str) -> int:
    """A numeric member with the range the service (not only the model) enforces, AWS's message if outside."""
    if value is None:
        return default
    if value < low:
        raise validation(field_name, f"Member must have value greater than or equal to {low}", value)
    if value > high:
        raise validation(field_name, f"Member must have value less than or equal to {high}", value)
    return value


def validation(field_name: str, constraint: str, value: Any = None) -> ValidationException:
    shown = "" if value is None else f" '{value}'"
    return ValidationException(
        f"1 validation error detected: Value{shown} at '{field_name}' failed to satisfy constraint: {constraint}"
    )


def _encode_marker(position: int, scope: str) -> str:
    return base64.urlsafe_b64encode(struct.pack(">I", position) + scope.encode()[:64]).decode()


def _decode_marker(marker: str, scope: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(marker.encode())
        position = struct.unpack(">I", raw[:4])[0]
    except (ValueError, struct.error):
        raise InvalidMarkerException("The request was rejected because the marker that specifies where "
                                     "pagination should next begin is not valid.") from None
    if raw[4:] != scope.encode()[:64]:
        raise InvalidMarkerException("The request was rejected because the marker that specifies where "
                                     "pagination should next begin is not valid.")
    return position


def _check_limit(limit: int | None, default: int, maximum: int) -> int:
    if limit is None:
        return default
    if limit > maximum:
        raise validation("limit", f"Member must have value less than or equal to {maximum}", limit)
    if limit < 1:
        raise validation("limit", "Member must have value greater than or equal to 1", limit)
    return limit


def _page(items: list, limit: int | None, marker: str | None, scope: str, default: int, maximum: int):
    """Limit/Marker pagination over a list whose order never changes: (page, next_marker or None)."""
    limit = _check_limit(limit, default, maximum)
    start = _decode_marker(marker, scope) if marker else 0
    if start > len(items):
        start = len(items)
    page = items[start : start + limit]
    end = start + len(page)
    return page, (_encode_marker(end, scope) if end < len(items) else None)


def _page_after(items: list, sort_keys: list, limit: int | None, marker: str | None, scope: str, default: int,
                maximum: int):
    """Pagination over a sorted, changing list: the marker names the last item returned, so an
    item created or deleted between two pages never makes another one be skipped or repeated."""
    limit = _check_limit(limit, default, maximum)
    start = 0
    if marker:
        try:
            raw = base64.urlsafe_b64decode(marker.encode())
            scope_len = raw[0]
            if raw[1 : 1 + scope_len] != scope.encode()[:255]:
                raise ValueError(marker)
            last = raw[1 + scope_len :].decode("utf-8")
        except (ValueError, IndexError, UnicodeDecodeError):
            raise InvalidMarkerException("The request was rejected because the marker that specifies where "
                                         "pagination should next begin is not valid.") from None
        start = bisect.bisect_right(sort_keys, last)
    page = items[start : start + limit]
    end = start + len(page)
    if end >= len(items):
        return page, None
    scope_bytes = scope.encode()[:255]
    return page, base64.urlsafe_b64encode(bytes([len(scope_bytes)]) + scope_bytes + sort_keys[end - 1].encode()).decode()
