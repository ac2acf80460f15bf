"""Layer 2: the records a simulated KMS keeps, as plain data.

A *KMS key* is a logical container: an ID, an ARN, dates, a description, a
state, a key policy, tags and settings, over one or more *backing keys* (the
key material). Rotation adds a backing key and keeps every older one, so
ciphertexts made before a rotation still decrypt.

Nothing here performs an operation or checks a permission; the service layer
does that and the store persists these records (encrypted).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import ClassVar

__all__ = [
    "DEFAULT_ACCOUNT",
    "DEFAULT_REGION",
    "BackingKey",
    "KmsKey",
    "Alias",
    "RegionState",
    "Principal",
    "key_arn",
    "partition",
    "alias_arn",
    "from_iso",
]

DEFAULT_ACCOUNT = "111122223333"
DEFAULT_REGION = "us-east-1"

# Key states (KeyState enum of the KMS API)
ENABLED = "Enabled"
DISABLED = "Disabled"
PENDING_DELETION = "PendingDeletion"
PENDING_IMPORT = "PendingImport"
PENDING_REPLICA_DELETION = "PendingReplicaDeletion"
UNAVAILABLE = "Unavailable"
CREATING = "Creating"
UPDATING = "Updating"


def partition(region: str) -> str:
    """The AWS partition of a Region: ``aws``, or ``aws-cn`` for the China Regions."""
    return "aws-cn" if region.startswith("cn-") else "aws"


def key_arn(region: str, account: str, key_id: str) -> str:
    return f"arn:{partition(region)}:kms:{region}:{account}:key/{key_id}"


def alias_arn(region: str, account: str, alias_name: str) -> str:
    return f"arn:{partition(region)}:kms:{region}:{account}:{alias_name}"


def from_iso(value: str | None) -> _dt.datetime | None:
    return _dt.datetime.fromisoformat(value) if value else None


def _iso(value: _dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass(slots=True)
class BackingKey:
    """One version of a KMS key's key material.

    ``material`` is held in memory in plaintext while the simulator runs (as
    inside an HSM); the store only ever writes it wrapped under the root key.
    """

    key_material_id: str  # 64 lowercase hex digits
    material: bytes
    created: _dt.datetime
    rotation_type: str | None = None  # None for the original material, else AUTOMATIC / ON_DEMAND

    def to_record(self, wrap) -> dict:
        return {
            "key_material_id": self.key_material_id,
            "material": wrap(self),
            "created": _iso(self.created),
            "rotation_type": self.rotation_type,
        }

    @classmethod
    def from_record(cls, rec: dict, unwrap) -> "BackingKey":
        bk = cls(rec["key_material_id"], b"", from_iso(rec["created"]), rec["rotation_type"])
        bk.material = unwrap(bk, rec["material"])
        return bk


@dataclass(slots=True)
class KmsKey:
    """A KMS key: the logical container over its backing keys.

    A store record (the convention of ``kms_teach._store.base``) whose key
    material the store wraps on its own: ``to_record`` and ``from_record``
    take the store's wrapping functions.
    """

    KIND: ClassVar[str] = "key"

    account_id: str
    region: str
    key_id: str
    creation_date: _dt.datetime
    description: str = ""
    key_usage: str = "ENCRYPT_DECRYPT"
    key_spec: str = "SYMMETRIC_DEFAULT"
    origin: str = "AWS_KMS"
    key_manager: str = "CUSTOMER"
    key_state: str = ENABLED
    policy: str = ""
    # The unique ID (AIDA..., AROA...) of each IAM user and role the key policy named when it was stored:
    # a statement naming one matches only that principal, never a later one of the same name
    # (IAM User Guide, "Unique identifiers"; KMS Developer Guide, "Key policies in AWS KMS").
    policy_principals: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    deletion_date: _dt.datetime | None = None
    pending_window_days: int | None = None
    rotation_enabled: bool = False
    rotation_period_days: int | None = None
    next_rotation_date: _dt.datetime | None = None
    on_demand_rotation_start: _dt.datetime | None = None
    on_demand_rotations: int = 0
    multi_region: bool = False
    backing_keys: list[BackingKey] = field(default_factory=list)
    seq: int = 0  # creation order within the simulator (ListKeys lists keys in this order)
    # multi-Region keys: "PRIMARY" or "REPLICA" (related keys share the key ID in other Regions)
    mr_role: str | None = None
    # a transient state (Creating, Updating) ends at transition_at, in transition_to
    transition_at: _dt.datetime | None = None
    transition_to: str | None = None
    # imported key material (Origin EXTERNAL)
    expiration_model: str | None = None
    valid_to: _dt.datetime | None = None
    import_salt: str | None = None  # secret: KeyMaterialId = HMAC(salt, material), so re-imports are recognised
    import_tokens: list[dict] = field(default_factory=list)
    grants: list[dict] = field(default_factory=list)  # see _services/kms/grants.py: one dict per grant

    _arn: str = field(default="", init=False, repr=False, compare=False)

    def __post_init__(self):
        # Region, account and key ID never change: the ARN is built once (it is on every response).
        self._arn = key_arn(self.region, self.account_id, self.key_id)

    @property
    def arn(self) -> str:
        return self._arn

    @property
    def ident(self) -> tuple:
        return (self.account_id, self.region, self.key_id)

    @property
    def current_backing_key(self) -> BackingKey | None:
        return self.backing_keys[-1] if self.backing_keys else None

    def backing_key(self, key_material_id: str) -> BackingKey | None:
        for bk in reversed(self.backing_keys):
            if bk.key_material_id == key_material_id:
                return bk
        return None

    @property
    def enabled(self) -> bool:
        return self.key_state == ENABLED

    def to_record(self, wrap) -> dict:
        return {
            "account_id": self.account_id,
            "region": self.region,
            "key_id": self.key_id,
            "creation_date": _iso(self.creation_date),
            "description": self.description,
            "key_usage": self.key_usage,
            "key_spec": self.key_spec,
            "origin": self.origin,
            "key_manager": self.key_manager,
            "key_state": self.key_state,
            "policy": self.policy,
            "tags": list(self.tags.items()),
            "deletion_date": _iso(self.deletion_date),
            "pending_window_days": self.pending_window_days,
            "rotation_enabled": self.rotation_enabled,
            "rotation_period_days": self.rotation_period_days,
            "next_rotation_date": _iso(self.next_rotation_date),
            "on_demand_rotation_start": _iso(self.on_demand_rotation_start),
            "on_demand_rotations": self.on_demand_rotations,
            "multi_region": self.multi_region,
            "seq": self.seq,
            "mr_role": self.mr_role,
            "transition_at": _iso(self.transition_at),
            "transition_to": self.transition_to,
            "expiration_model": self.expiration_model,
            "valid_to": _iso(self.valid_to),
            "import_salt": self.import_salt,
            "import_tokens": self.import_tokens,
            "grants": self.grants,
            "backing_keys": [bk.to_record(lambda b: wrap(self, b)) for bk in self.backing_keys],
            **({"policy_principals": self.policy_principals} if self.policy_principals else {}),
        }

    @classmethod
    def from_record(cls, rec: dict, unwrap) -> "KmsKey":
        key = cls(
            account_id=rec["account_id"],
            region=rec["region"],
            key_id=rec["key_id"],
            creation_date=from_iso(rec["creation_date"]),
            description=rec["description"],
            key_usage=rec["key_usage"],
            key_spec=rec["key_spec"],
            origin=rec["origin"],
            key_manager=rec["key_manager"],
            key_state=rec["key_state"],
            policy=rec["policy"],
            policy_principals=dict(rec.get("policy_principals") or {}),
            tags=dict(rec["tags"]),
            deletion_date=from_iso(rec["deletion_date"]),
            pending_window_days=rec["pending_window_days"],
            rotation_enabled=rec["rotation_enabled"],
            rotation_period_days=rec["rotation_period_days"],
            next_rotation_date=from_iso(rec["next_rotation_date"]),
            on_demand_rotation_start=from_iso(rec["on_demand_rotation_start"]),
            on_demand_rotations=rec["on_demand_rotations"],
            multi_region=rec["multi_region"],
            seq=rec.get("seq", 0),
            mr_role=rec.get("mr_role"),
            transition_at=from_iso(rec.get("transition_at")),
            transition_to=rec.get("transition_to"),
            expiration_model=rec.get("expiration_model"),
            valid_to=from_iso(rec.get("valid_to")),
            import_salt=rec.get("import_salt"),
            import_tokens=list(rec.get("import_tokens") or []),
            grants=list(rec.get("grants") or []),
        )
        key.backing_keys = [BackingKey.from_record(r, lambda b, w: unwrap(key, b, w)) for r in rec["backing_keys"]]
        return key


@dataclass(slots=True)
class Alias:
    """A friendly name for a KMS key, unique per account and Region (a store record)."""

    KIND: ClassVar[str] = "alias"

    account_id: str
    region: str
    alias_name: str
    target_key_id: str
    creation_date: _dt.datetime
    last_updated_date: _dt.datetime

    @property
    def arn(self) -> str:
        return alias_arn(self.region, self.account_id, self.alias_name)

    @property
    def ident(self) -> tuple:
        return (self.account_id, self.region, self.alias_name)

    def to_record(self) -> dict:
        return {
            "account_id": self.account_id,
            "region": self.region,
            "alias_name": self.alias_name,
            "target_key_id": self.target_key_id,
            "creation_date": _iso(self.creation_date),
            "last_updated_date": _iso(self.last_updated_date),
        }

    @classmethod
    def from_record(cls, rec: dict) -> "Alias":
        return cls(
            rec["account_id"],
            rec["region"],
            rec["alias_name"],
            rec["target_key_id"],
            from_iso(rec["creation_date"]),
            from_iso(rec["last_updated_date"]),
        )


@dataclass(slots=True)
class RegionState:
    """Everything one account has in one Region. Regions never share a record."""

    account_id: str
    region: str
    keys: dict[str, KmsKey] = field(default_factory=dict)
    aliases: dict[str, Alias] = field(default_factory=dict)
    _sorted: tuple | None = None

    def add_key(self, key: KmsKey) -> None:
        self.keys[key.key_id] = key
        self._sorted = None

    def remove_key(self, key_id: str) -> None:
        self.keys.pop(key_id, None)
        self._sorted = None

    def sorted_keys(self) -> tuple[list[KmsKey], list[str]]:
        """Keys in creation order, with their sort keys; cached until a key comes or goes."""
        if self._sorted is None:
            keys = sorted(self.keys.values(), key=lambda k: (k.seq, k.key_id))
            self._sorted = (keys, [f"{k.seq:016d}|{k.key_id}" for k in keys])
        return self._sorted


@dataclass(frozen=True, slots=True)
class Principal:
    """Who makes a request: an account root user, an IAM user, a role session or an AWS service."""

    arn: str
    account_id: str
    kind: str  # CloudTrail's userIdentity.type: Root, IAMUser, AssumedRole, AWSService
    name: str | None = None
    # For an assumed-role session: the role's ARN (policies name roles, not sessions).
    role_arn: str | None = None
    # IAM's unique ID (AIDA... for users, AROA...:session for role sessions), as in aws:userid
    principal_id: str | None = None

    @classmethod
    def root(cls, account_id: str) -> "Principal":
        return cls(f"arn:aws:iam::{account_id}:root", account_id, "Root")

    @classmethod
    def service(cls, service_principal: str) -> "Principal":
        return cls(service_principal, "", "AWSService", service_principal)
