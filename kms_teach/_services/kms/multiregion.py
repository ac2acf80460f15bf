"""Layer 3: multi-Region keys - ReplicateKey and UpdatePrimaryRegion.

Related multi-Region keys share one key ID (``mrk-`` + 32 hex digits), their
key material (every rotated backing key), key spec, key usage and origin; each
Region keeps its own description, key policy, grants, aliases, tags and
enabled state. Because the key ID is bound into every ciphertext, a ciphertext
made in one Region decrypts in another through the related key. Rotation is
managed on the primary and reaches every replica.
"""

from __future__ import annotations

import dataclasses

from ..._errors import (
    AlreadyExistsException,
    NotFoundException,
    UnsupportedOperationException,
    ValidationException,
)
from ... import _model as m
from .common import DAY
from ..._model import KmsKey
from ..._policy.document import default_key_policy, parse_policy

__all__ = ["MultiRegionOperations", "REGION_PATTERN"]

REGION_PATTERN = r"^([a-z]+-){2,3}\d+$"


class MultiRegionOperations:
    """Mixed into :class:`~kms_teach._services.kms.service.KMS`."""

    def _require_primary(self, key: KmsKey) -> None:
        if not key.multi_region:
            raise UnsupportedOperationException(f"{key.arn} is not a multi-region key.")
        if key.mr_role != "PRIMARY":
            raise UnsupportedOperationException(f"{key.arn} is not a multi-region primary key.")

    def primary_of(self, key: KmsKey) -> KmsKey | None:
        if not key.multi_region:
            return None
        return next((k for k in self.related_keys(key) if k.mr_role == "PRIMARY"), None)

    def _begin_transition(self, key: KmsKey, transient: str, then: str) -> None:
        """Creating and Updating last until the next request (AWS finishes them within moments)."""
        now = self.clock.now()
        key.key_state = transient
        key.transition_at = now
        key.transition_to = then
        self._schedule(now)
        self._save(key)

    def _op_ReplicateKey(self, ctx, req, audit):
        region = req["replica_region"]
        primary = audit.key
        self._require_primary(primary)
        if not self.region_exists(region):
            raise ValidationException(f"{region} is not a valid AWS Region for KMS.")
        if region == primary.region:
            raise ValidationException(
                f"The replica Region {region} is the Region of the primary key: a replica goes to another Region."
            )
        if m.partition(region) != m.partition(primary.region):
            raise ValidationException("A replica key must be in the same AWS partition as its primary key.")
        target = self._region(primary.account_id, region)
        if primary.key_id in target.keys:
            raise AlreadyExistsException(
                f"Replica key {m.key_arn(region, primary.account_id, primary.key_id)} already exists."
            )
        replica_ctx = audit.targets[1].ctx  # authorized for kms:CreateKey in the replica's Region
        policy = req.get("policy")
        if policy is not None:
            parse_policy(policy)
            self._check_lockout(replica_ctx, policy, req)
        else:
            # The key policy is not shared: a replica gets the default unless given one.
            policy = default_key_policy(primary.account_id, m.partition(region))
        tags = self._validated_tags(req.get("tags") or [], {})
        now = self.clock.now()
        replica = KmsKey(
            account_id=primary.account_id,
            region=region,
            key_id=primary.key_id,
            creation_date=now,
            description=req.get("description") or "",
            key_usage=primary.key_usage,
            key_spec=primary.key_spec,
            origin=primary.origin,
            policy=policy,
            tags=tags,
            multi_region=True,
            mr_role="REPLICA",
            import_salt=primary.import_salt,
        )
        if primary.origin == "EXTERNAL":
            # The replica knows which material belongs to the key, but holds none until it is imported.
            replica.backing_keys = [dataclasses.replace(bk, material=b"") for bk in primary.backing_keys]
            then = m.PENDING_IMPORT
        else:
            replica.backing_keys = [dataclasses.replace(bk) for bk in primary.backing_keys]
            then = m.ENABLED
        if req.get("policy") is not None:
            self._bind_policy(replica)
        self._seq += 1
        replica.seq = self._seq
        target.add_key(replica)
        audit.resource(replica)
        self._begin_transition(replica, m.CREATING, then)
        self._save(primary)
        return {
            "replica_key_metadata": self.key_metadata(replica),
            "replica_policy": replica.policy,
            "replica_tags": [{"tag_key": k, "tag_value": v} for k, v in replica.tags.items()],
        }

    def _op_UpdatePrimaryRegion(self, ctx, req, audit):
        region = req["primary_region"]
        primary = audit.key
        self._require_primary(primary)
        if region == primary.region:
            raise ValidationException(f"{primary.arn} is already the primary key in {region}.")
        if len(audit.targets) < 2:
            raise NotFoundException(
                f"Key '{m.key_arn(region, primary.account_id, primary.key_id)}' does not exist"
            )
        new = audit.targets[1].resource  # resolved, authorized and state-checked by the service base
        # Rotation is managed on the primary: its schedule moves with the role.
        new.rotation_enabled, new.rotation_period_days, new.next_rotation_date = (
            primary.rotation_enabled, primary.rotation_period_days, primary.next_rotation_date,
        )
        new.on_demand_rotations = primary.on_demand_rotations
        primary.rotation_enabled, primary.rotation_period_days, primary.next_rotation_date = False, None, None
        primary.mr_role, new.mr_role = "REPLICA", "PRIMARY"
        self._begin_transition(primary, m.UPDATING, primary.key_state)
        self._begin_transition(new, m.UPDATING, new.key_state)
        if new.rotation_enabled and new.next_rotation_date:
            self._schedule(new.next_rotation_date)
        return {}

    # -- what the rest of the service asks of related keys ---------------------------

    def _propagate_rotation(self, key: KmsKey, bk) -> None:
        """A rotation of a multi-Region primary reaches every replica (same material, same ID)."""
        for other in self.related_keys(key):
            if other is not key:
                other.backing_keys.append(dataclasses.replace(bk))
                self._save(other)

    def _after_replica_deleted(self, replica: KmsKey, when) -> None:
        """When a primary's last replica is gone, the primary's own waiting period starts."""
        primary = self.primary_of(replica)
        if primary is None or primary.key_state != m.PENDING_REPLICA_DELETION:
            return
        if any(k.mr_role == "REPLICA" and k is not replica for k in self.related_keys(primary)):
            return
        primary.key_state = m.PENDING_DELETION
        primary.deletion_date = when + primary.pending_window_days * DAY
        self._schedule(primary.deletion_date)
        self._save(primary)

