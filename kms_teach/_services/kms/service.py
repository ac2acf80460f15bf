"""Layer 3: the simulated KMS service.

Every operation runs the service base's one path (:meth:`kms_teach._services.base.Service.call`),
from its declaration in :data:`OPERATIONS` at the end of this module:

1. **validate** what botocore's model cannot say (``_validate_<Operation>``);
2. **resolve** the KMS key the request names (key ID, key ARN, alias name or
   alias ARN, as the operation allows; or the key a ciphertext names);
3. **authorize** the caller for the declared action on that key (the permissions engine);
4. **check the key state** against AWS's key-state table;
5. **act** (the handler ``_op_<Operation>``, the only step that changes anything, and
   only after every check passed, so a failed request never leaves half a change behind);
6. **audit**: one CloudTrail-shaped event per call, allowed or refused; then commit.

Requests and responses are plain dicts with snake_case names (``key_id``,
``encryption_context``); the wire layer maps them to and from AWS's JSON.
Errors are :class:`~kms_teach._errors.AWSError` with AWS's codes and messages.
"""

from __future__ import annotations

import datetime as _dt
import re
import threading
import uuid
from typing import Any, Callable

from ..._errors import (
    AWSError,
    AccessDeniedException,
    AlreadyExistsException,
    ConflictException,
    CryptoError,
    CustomKeyStoreNotFoundException,
    DryRunOperationException,
    IncorrectKeyException,
    InvalidAliasNameException,
    InvalidCiphertextException,
    InvalidKeyUsageException,
    KMSInternalException,
    KMSInvalidStateException,
    LimitExceededException,
    NotAuthorizedException,
    NotFoundException,
    StoreError,
    TagException,
    UnsupportedOperationException,
    ValidationException,
)
from ... import _model as m
from ..._clock import Clock
from ..._crypto import (
    RandomSource,
    open_blob,
    parse_blob_header,
    seal_blob,
)
from ..._model import Alias, BackingKey, KmsKey, Principal, RegionState
from ..._crypto.keyspecs import KEY_SPECS, generate_material, rsa_decrypt, rsa_encrypt, rsa_max_plaintext
from ..._policy.document import bind_principals, default_key_policy, jackson_dumps, parse_policy, show_bound
from ..._store import Changes, MemoryStore
from ..audit import AuditLog, _Audit, render_event
from ..base import Call, Operation, Service, Target, account_target
from ..context import RequestContext
from .grants import GrantOperations
from .imports import ImportOperations
from .keytypes import KeyTypeOperations
from .multiregion import REGION_PATTERN, MultiRegionOperations
from .common import (
    _ALIAS_ARN_RE,
    _CRYPTO_RULE,
    _KEY_ARN_RE,
    _MRK_RE,
    _UUID_RE,
    ALIAS_OK,
    AWS_MANAGED_ALIASES,
    DAY,
    MAX_ALIASES_PER_KEY,
    MAX_ON_DEMAND_ROTATIONS,
    MAX_TAGS_PER_KEY,
    ROTATION_CONFLICT_WINDOW,
    STATE_RULES,
    _page,
    _page_after,
    in_range,
    validation,
)

__all__ = ["KMS", "AWS_MANAGED_ALIASES"]

class KMS(KeyTypeOperations, MultiRegionOperations, ImportOperations, GrantOperations, Service):
    """The simulated AWS Key Management Service of one :class:`~kms_teach.Cloud`.

    It holds every account's and Region's KMS keys and aliases, answers
    operations through :meth:`call`, and keeps an audit trail.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        random: RandomSource,
        store=None,
        authorizer: Callable[..., None] | None = None,
        audit: AuditLog | None = None,
        regions: frozenset[str] | None = None,
        principals=None,
    ):
        self.clock = clock
        # Who exists: IAM (principal_exists(arn), unique_id_of(arn)); without it, any well-formed ARN.
        self.principals = principals
        # The Regions that exist (ReplicateKey checks its ReplicaRegion against them).
        self._known_regions = regions
        self.random = random
        self.store = store or MemoryStore()
        self._lock = threading.RLock()
        # The permissions engine: (ctx, action, key, request) -> None or raises AccessDeniedException.
        self._init_service(audit=audit if audit is not None else AuditLog(), authorizer=authorizer)
        self.audit.renderer = render_event
        self._regions: dict[tuple[str, str], RegionState] = {}
        self._next_due: _dt.datetime | None = None
        self._changes: Changes | None = None
        keys, aliases, meta = self.store.load()
        secret = meta.get("grant_token_secret")
        if secret is None:
            secret = self.random.token_bytes(32).hex()
            changes = Changes()
            changes.meta["grant_token_secret"] = secret
            self.store.commit(changes)
        self.grant_token_secret = bytes.fromhex(secret)
        for key in keys:
            self._region(key.account_id, key.region).add_key(key)
        for alias in aliases:
            self._region(alias.account_id, alias.region).aliases[alias.alias_name] = alias
        self._seq = max((k.seq for st in self._regions.values() for k in st.keys.values()), default=0)
        self._recompute_next_due()

    # ------------------------------------------------------------------ plumbing

    def region_exists(self, region: str) -> bool:
        if self._known_regions is not None:
            return region in self._known_regions
        return re.match(REGION_PATTERN, region) is not None

    def _region(self, account_id: str, region: str) -> RegionState:
        state = self._regions.get((account_id, region))
        if state is None:
            state = self._regions[(account_id, region)] = RegionState(account_id, region)
        return state

    # ------------------------------------------------------------------ the service base's hooks

    EVENT_SOURCE = "kms.amazonaws.com"
    AUDITED_RESOURCE = KmsKey

    def _unsupported(self, operation: str) -> AWSError:
        return UnsupportedOperationException(f"kms_teach does not simulate the {operation} operation.")

    def _internal(self, message: str) -> AWSError:
        return KMSInternalException(message)

    def _before(self, now: _dt.datetime) -> None:
        try:
            self._process_due(now)
        except StoreError:
            raise KMSInternalException("The simulator's store could not be written; nothing changed.")

    def _rollback(self, reload: bool) -> None:
        self._changes = None
        if reload:
            self._reload()

    def _commit(self, call: Call) -> None:
        changes, self._changes = self._changes, None
        if changes:
            try:
                self.store.commit(changes)
            except Exception:
                raise KMSInternalException("The change could not be written to the store; nothing changed.")

    def _authorize(self, call: Call, target: Target) -> None:
        # The engine is handed this KMS (its aliases are condition keys; its principals are checked).
        self.authorizer(target.ctx or call.ctx, target.action, target.resource, call.request, kms=self)

    def _check_state(self, op: Operation, resource) -> None:
        if isinstance(resource, KmsKey):
            refusal = op.states.get(resource.key_state)
            if refusal:
                error, template = refusal
                raise error(template.format(arn=resource.arn))

    def _reload(self) -> None:
        """Throw away the in-memory model and read it back from the store."""
        if not self.store.persistent:
            return
        self._regions.clear()
        keys, aliases, _ = self.store.load()
        for key in keys:
            self._region(key.account_id, key.region).add_key(key)
        for alias in aliases:
            self._region(alias.account_id, alias.region).aliases[alias.alias_name] = alias
        self._recompute_next_due()

    @property
    def _pending(self) -> Changes:
        """The changes the current operation has made so far (created on first use)."""
        if self._changes is None:
            self._changes = Changes()
        return self._changes

    def _save(self, key: KmsKey) -> None:
        self._pending.put_key(key)

    # ------------------------------------------------------------------ audit

    def _record_service_entry(self, entry: _Audit) -> None:
        """An event KMS or another AWS service causes on its own (no caller's request, no response)."""
        entry.service_event = True
        self.audit.append(entry.freeze())

    # ------------------------------------------------------------------ time

    def _recompute_next_due(self) -> None:
        due = None
        for state in self._regions.values():
            for key in state.keys.values():
                for t in self._key_due_times(key):
                    if due is None or t < due:
                        due = t
        self._next_due = due

    @staticmethod
    def _key_due_times(key: KmsKey):
        if key.key_state == m.PENDING_DELETION and key.deletion_date is not None:
            yield key.deletion_date
        if key.rotation_enabled and key.key_state == m.ENABLED and key.next_rotation_date is not None:
            yield key.next_rotation_date
        if key.transition_at is not None:
            yield key.transition_at
        if key.valid_to is not None and key.expiration_model == "KEY_MATERIAL_EXPIRES":
            yield key.valid_to

    def _schedule(self, when: _dt.datetime) -> None:
        if self._next_due is None or when < self._next_due:
            self._next_due = when

    def tick(self, now: _dt.datetime | None = None) -> None:
        """Let everything that has fallen due by ``now`` happen (the clock calls this)."""
        with self._lock:
            now = now or self.clock.now()
            if self._next_due is not None and now >= self._next_due:
                self._process_due(now)

    def _process_due(self, now: _dt.datetime) -> None:
        """Everything the clock has made due, in order: transient states ending (0), imported
        material expiring (1), automatic rotations (2) and deletions at the end of their window (3)."""
        events: list[tuple[_dt.datetime, int, KmsKey]] = []
        for state in self._regions.values():
            for key in state.keys.values():
                if key.transition_at is not None and key.transition_at <= now:
                    events.append((key.transition_at, 0, key))
                if key.valid_to is not None and key.expiration_model == "KEY_MATERIAL_EXPIRES" and key.valid_to <= now:
                    events.append((key.valid_to, 1, key))
                if key.key_state == m.PENDING_DELETION and key.deletion_date and key.deletion_date <= now:
                    events.append((key.deletion_date, 3, key))
                if key.rotation_enabled and key.key_state == m.ENABLED and key.next_rotation_date:
                    when = key.next_rotation_date
                    while when <= now:
                        events.append((when, 2, key))
                        when = when + key.rotation_period_days * DAY
        events.sort(key=lambda e: (e[0], e[1]))
        self._changes = None
        done: list[tuple[str, KmsKey, _dt.datetime]] = []
        try:
            for when, kind, key in events:
                if kind == 0:
                    key.key_state, key.transition_at, key.transition_to = key.transition_to, None, None
                    self._save(key)
                elif kind == 1:
                    self._drop_imported_material(key)
                    done.append(("DeleteExpiredKeyMaterial", key, when))
                elif kind == 2:
                    if key.key_state != m.ENABLED or not key.rotation_enabled:
                        continue  # disabled or deleted by an earlier event of this batch
                    self._rotate(key, when, "AUTOMATIC")
                    key.next_rotation_date = when + key.rotation_period_days * DAY
                    done.append(("RotateKey", key, when))
                else:
                    if key.key_state != m.PENDING_DELETION:
                        continue
                    self._delete_key_now(key, when)
                    done.append(("DeleteKey", key, when))
            if self._changes:
                self.store.commit(self._changes)
        except Exception as exc:
            # Nothing may happen in memory that did not happen in the store.
            self._changes = None
            self._reload()
            raise StoreError(f"scheduled rotations and deletions could not be written to the store: {exc}") from None
        finally:
            self._changes = None
        for name, key, when in done:
            self._record_service_event(name, key, when)
        self._recompute_next_due()

    def _record_service_event(self, name: str, key: KmsKey, when: _dt.datetime) -> None:
        # KMS itself acts: CloudTrail shows these with an AWS service identity.
        ctx = RequestContext(key.region, Principal.service("kms.amazonaws.com"), user_agent="kms.amazonaws.com",
                             source_ip="AWS Internal")
        audit = _Audit(name, {}, ctx, when)
        audit.resource(key)
        self._record_service_entry(audit)

    def _delete_key_now(self, key: KmsKey, when: _dt.datetime) -> None:
        if key.mr_role == "REPLICA":
            self._after_replica_deleted(key, when)
        state = self._region(key.account_id, key.region)
        state.remove_key(key.key_id)
        self._pending.delete_key(key)
        for alias in list(state.aliases.values()):
            if alias.target_key_id == key.key_id:
                del state.aliases[alias.alias_name]
                self._pending.delete_alias(alias)
        # Key material is dropped with the record: every ciphertext made under
        # this key is now unrecoverable, as in AWS.
        for bk in key.backing_keys:
            bk.material = b""
        key.backing_keys.clear()

    # ------------------------------------------------------------------ helpers

    def _new_key_id(self, multi_region: bool = False) -> str:
        raw = self.random.token_bytes(16)
        if multi_region:
            return "mrk-" + raw.hex()
        return str(uuid.UUID(bytes=raw, version=4))

    def _new_backing_key(self, created: _dt.datetime, rotation_type: str | None, spec: str = "SYMMETRIC_DEFAULT") -> BackingKey:
        return BackingKey(self.random.token_bytes(32).hex(), generate_material(spec, self.random.token_bytes), created,
                          rotation_type)

    def _rotate(self, key: KmsKey, when: _dt.datetime, rotation_type: str) -> BackingKey:
        bk = self._new_backing_key(when, rotation_type)
        key.backing_keys.append(bk)
        self._save(key)
        if key.multi_region:
            self._propagate_rotation(key, bk)
        return bk

    def resolve_key(self, ctx: RequestContext, ref: Any, operation: str, *, field_name: str = "keyId") -> KmsKey:
        """The KMS key a KeyId names, with AWS's errors for every way it can fail."""
        if not isinstance(ref, str) or not ref:
            raise validation(field_name, "Member must have length greater than or equal to 1")
        allow_alias = operation in ALIAS_OK
        region, account = ctx.region, ctx.account_id
        if ref.startswith("arn:"):
            km = _KEY_ARN_RE.match(ref)
            am = _ALIAS_ARN_RE.match(ref)
            if km:
                arn_region, account, key_id = km.groups()
                if arn_region != region:
                    raise NotFoundException(f"Invalid arn {arn_region}")
                return self._key_by_id(account, region, key_id, ref)
            if am and allow_alias:
                arn_region, account, alias_name = am.groups()
                if arn_region != region:
                    raise NotFoundException(f"Invalid arn {arn_region}")
                return self._key_by_alias(account, region, alias_name)
            raise NotFoundException(f"Invalid arn {ref}" if not am else f"Invalid keyId '{ref}'")
        if ref.startswith("alias/"):
            if not allow_alias:
                raise NotFoundException(f"Invalid keyId '{ref}'")
            return self._key_by_alias(account, region, ref)
        return self._key_by_id(account, region, ref, ref)

    def _key_by_id(self, account: str, region: str, key_id: str, shown: str) -> KmsKey:
        if not (_UUID_RE.match(key_id) or _MRK_RE.match(key_id)):
            raise NotFoundException(f"Invalid keyId '{shown}'")
        key = self._regions.get((account, region))
        key = key.keys.get(key_id) if key else None
        if key is None:
            raise NotFoundException(f"Key '{m.key_arn(region, account, key_id)}' does not exist")
        return key

    def _key_by_alias(self, account: str, region: str, alias_name: str) -> KmsKey:
        state = self._regions.get((account, region))
        alias = state.aliases.get(alias_name) if state else None
        if alias is None:
            raise NotFoundException(f"Alias {m.alias_arn(region, account, alias_name)} is not found.")
        return self._key_by_id(account, region, alias.target_key_id, alias.target_key_id)

    @staticmethod
    def _dry_run(request: dict) -> None:
        if request.get("dry_run"):
            raise DryRunOperationException("The request would have succeeded, but the DryRun option is set.")

    @staticmethod
    def _ignores_ciphertext(request: dict) -> bool:
        """DryRun with DryRunModifiers IGNORE_CIPHERTEXT: "KMS performs only authorization validation
        without ciphertext validation" (Decrypt and ReEncrypt; the modifiers apply only with DryRun)."""
        return bool(request.get("dry_run")) and "IGNORE_CIPHERTEXT" in (request.get("dry_run_modifiers") or ())

    @staticmethod
    def _require_symmetric_encryption(key: KmsKey, operation: str) -> None:
        if key.key_usage != "ENCRYPT_DECRYPT":
            raise InvalidKeyUsageException(
                f"{key.arn} key usage is {key.key_usage} which is not valid for {operation}."
            )
        if key.key_spec != "SYMMETRIC_DEFAULT":
            raise InvalidKeyUsageException(
                f"{key.arn} key spec is {key.key_spec} which is not valid for {operation}."
            )

    @staticmethod
    def _check_context(context: Any) -> dict | None:
        if context is None:
            return None
        if not isinstance(context, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in context.items()):
            raise ValidationException("The encryption context must be a map of strings to strings.")
        return context

    _PRINCIPAL_ARN = re.compile(r"^arn:aws[a-z-]*:(iam|sts)::\d{12}:(root|user/.+|role/.+|assumed-role/.+)$")

    def principal_known(self, arn: str) -> bool:
        """Whether a principal named in a grant or key policy exists (IAM decides, when the cloud has one)."""
        if self.principals is not None:
            return self.principals.principal_exists(arn)
        return bool(self._PRINCIPAL_ARN.match(arn)) or (arn.isdigit() and len(arn) == 12)

    def principal_unique_id(self, arn: str | None) -> str | None:
        """The unique ID (AIDA..., AROA...) of the IAM user or role an ARN names now, else None."""
        if arn is None or self.principals is None:
            return None
        return self.principals.unique_id_of(arn)

    def _bind_policy(self, key: KmsKey) -> None:
        """Bind the users and roles the key policy names to who they are now (see _policy.document)."""
        key.policy_principals = bind_principals(parse_policy(key.policy), self.principal_unique_id)

    def key_metadata(self, key: KmsKey) -> dict:
        md: dict[str, Any] = {
            "aws_account_id": key.account_id,
            "key_id": key.key_id,
            "arn": key.arn,
            "creation_date": key.creation_date,
            "enabled": key.key_state == m.ENABLED,
            "description": key.description,
            "key_usage": key.key_usage,
            "key_state": key.key_state,
            "origin": key.origin,
            "key_manager": key.key_manager,
            "customer_master_key_spec": key.key_spec,
            "key_spec": key.key_spec,
            "multi_region": key.multi_region,
        }
        if key.key_state == m.PENDING_DELETION and key.deletion_date:
            md["deletion_date"] = key.deletion_date
        if key.key_state == m.PENDING_REPLICA_DELETION:
            md["pending_deletion_window_in_days"] = key.pending_window_days
        if key.origin == "EXTERNAL":
            md["expiration_model"] = key.expiration_model
            if key.expiration_model == "KEY_MATERIAL_EXPIRES":
                md["valid_to"] = key.valid_to
        md.update(KEY_SPECS[key.key_spec].algorithms_for(key.key_usage))
        current = key.current_backing_key
        if key.key_spec == "SYMMETRIC_DEFAULT" and current is not None and current.material:
            md["current_key_material_id"] = current.key_material_id
        if key.multi_region:
            md["multi_region_configuration"] = self._multi_region_configuration(key)
        return md

    def _multi_region_configuration(self, key: KmsKey) -> dict:
        related = self.related_keys(key)
        primary = next((k for k in related if k.mr_role == "PRIMARY"), None)
        config: dict[str, Any] = {"multi_region_key_type": key.mr_role}
        if primary is not None:
            config["primary_key"] = {"arn": primary.arn, "region": primary.region}
        config["replica_keys"] = [{"arn": k.arn, "region": k.region} for k in related if k.mr_role == "REPLICA"]
        return config

    def aws_managed_key(self, account_id: str, region: str, service: str) -> KmsKey:
        """The AWS managed key ``alias/aws/<service>`` of an account and Region, created on first use.

        As in AWS it is a KMS key in the customer's account with KeyManager AWS, a key policy that
        lets every principal of the account use it only through the service (kms:ViaService and
        kms:CallerAccount) and read its metadata directly, and rotation always on, yearly. Nobody
        can change it: its policy grants no management action to anyone.
        """
        with self._lock:
            state = self._region(account_id, region)
            name = f"alias/aws/{service}"
            alias = state.aliases.get(name)
            if alias is not None and alias.target_key_id in state.keys:
                return state.keys[alias.target_key_id]
            now = self.clock.now()
            part = m.partition(region)
            policy = jackson_dumps({
                "Version": "2012-10-17",
                "Id": f"auto-{service}-2",
                "Statement": [
                    {
                        "Sid": f"Allow access through {service.upper() if len(service) <= 3 else service.title()} "
                               f"for all principals in the account that are authorized to use "
                               f"{service.upper() if len(service) <= 3 else service.title()}",
                        "Effect": "Allow",
                        "Principal": {"AWS": "*"},
                        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                                   "kms:DescribeKey"],
                        "Resource": "*",
                        "Condition": {"StringEquals": {"kms:CallerAccount": account_id,
                                                       "kms:ViaService": f"{service}.{region}.amazonaws.com"}},
                    },
                    {
                        "Sid": "Allow direct access to key metadata to the account",
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:{part}:iam::{account_id}:root"},
                        "Action": ["kms:Describe*", "kms:Get*", "kms:List*"],
                        "Resource": "*",
                    },
                ],
            })
            key = KmsKey(
                account_id=account_id, region=region, key_id=self._new_key_id(), creation_date=now,
                description=f"Default key that protects my {service.upper() if len(service) <= 3 else service} "
                "resources when no other key is defined",
                key_manager="AWS", policy=policy,
                # AWS managed keys rotate every year, always.
                rotation_enabled=True, rotation_period_days=365, next_rotation_date=now + 365 * DAY,
            )
            key.backing_keys.append(self._new_backing_key(now, None))
            self._seq += 1
            key.seq = self._seq
            state.add_key(key)
            alias = Alias(account_id, region, name, key.key_id, now, now)
            state.aliases[name] = alias
            changes = Changes()
            changes.put_key(key)
            changes.put_alias(alias)
            self.store.commit(changes)
            self._schedule(key.next_rotation_date)
            ctx = RequestContext(region, Principal.service(f"{service}.amazonaws.com"),
                                 user_agent=f"{service}.amazonaws.com", source_ip=f"{service}.amazonaws.com")
            entry = _Audit("CreateKey", {"description": key.description}, ctx, now)
            entry.resource(key)
            self._record_service_entry(entry)
            return key

    def aliases_of(self, key: KmsKey) -> list[str]:
        """The alias names that point at a key, in its Region."""
        state = self._regions.get((key.account_id, key.region))
        return sorted(a.alias_name for a in state.aliases.values() if a.target_key_id == key.key_id) if state else []

    def related_keys(self, key: KmsKey) -> list[KmsKey]:
        """Every key that shares this multi-Region key's ID (itself included), ordered by Region."""
        if not key.multi_region:
            return [key]
        out = []
        for (account, _region), state in self._regions.items():
            if account == key.account_id:
                other = state.keys.get(key.key_id)
                if other is not None:
                    out.append(other)
        return sorted(out, key=lambda k: k.region)

    # ================================================================ operations
    # Each handler: (ctx, request, audit) -> response dict

    # -- keys -------------------------------------------------------------------

    def _op_CreateKey(self, ctx, req, audit):
        key_spec = req.get("key_spec")
        cmk_spec = req.get("customer_master_key_spec")
        if key_spec and cmk_spec:
            raise ValidationException(
                "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. "
                "CustomerMasterKeySpec parameter is deprecated. Use KeySpec only."
            )
        key_spec = key_spec or cmk_spec or "SYMMETRIC_DEFAULT"
        key_usage = req.get("key_usage")
        origin = req.get("origin") or "AWS_KMS"
        if req.get("custom_key_store_id") or origin in ("AWS_CLOUDHSM", "EXTERNAL_KEY_STORE") or req.get("xks_key_id"):
            # Fidelity: custom key stores (CloudHSM, external key stores) are not simulated.
            raise UnsupportedOperationException(
                "kms_teach does not simulate custom key stores (AWS CloudHSM or external key stores)."
            )
        info = KEY_SPECS.get(key_spec)
        if info is None:
            # Fidelity: SM2 exists only in the China Regions and ML-DSA / ML-KEM KMS keys are not simulated.
            raise UnsupportedOperationException(f"kms_teach does not simulate KMS keys with KeySpec {key_spec}.")
        if key_usage is None:
            if key_spec != "SYMMETRIC_DEFAULT":
                raise ValidationException(
                    "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys."
                )
            key_usage = "ENCRYPT_DECRYPT"
        if key_usage not in info.usages:
            raise ValidationException(f"KeyUsage {key_usage} is not compatible with KeySpec {key_spec}")
        if origin not in ("AWS_KMS", "EXTERNAL"):
            raise UnsupportedOperationException(f"Origin {origin} is not valid for this operation.")
        multi_region = bool(req.get("multi_region"))
        description = req.get("description") or ""
        tags = self._validated_tags(req.get("tags") or [], {})
        account = ctx.account_id
        policy = req.get("policy")
        if policy is not None:
            parse_policy(policy)
            self._check_lockout(ctx, policy, req)
        else:
            policy = default_key_policy(account, m.partition(ctx.region))
        now = self.clock.now()
        key = KmsKey(
            account_id=account,
            region=ctx.region,
            key_id=self._new_key_id(multi_region),
            creation_date=now,
            description=description,
            key_usage=key_usage,
            key_spec=key_spec,
            origin=origin,
            policy=policy,
            tags=tags,
            multi_region=multi_region,
            mr_role="PRIMARY" if multi_region else None,
        )
        if origin == "EXTERNAL":
            # No key material until the customer imports it.
            key.key_state = m.PENDING_IMPORT
            key.import_salt = self.random.token_bytes(32).hex()
        else:
            key.backing_keys.append(self._new_backing_key(now, None, key_spec))
        if req.get("policy") is not None:
            self._bind_policy(key)
        self._seq += 1
        key.seq = self._seq
        self._region(account, ctx.region).add_key(key)
        audit.resource(key)
        self._save(key)
        return {"key_metadata": self.key_metadata(key)}

    def _check_lockout(self, ctx, policy: str, req: dict) -> None:
        """The policy lockout safety check (enforced by the permissions engine when installed)."""
        checker = getattr(self.authorizer, "check_lockout", None)
        if checker is not None:
            checker(ctx, policy, bypass=bool(req.get("bypass_policy_lockout_safety_check")), kms=self)

    def _op_DescribeKey(self, ctx, req, audit):
        key = audit.key
        return {"key_metadata": self.key_metadata(key)}

    def _op_ListKeys(self, ctx, req, audit):
        state = self._regions.get((ctx.account_id, ctx.region))
        keys, sort_keys = state.sorted_keys() if state else ([], [])
        page, marker = _page_after(keys, sort_keys, req.get("limit"), req.get("marker"), "ListKeys", 100, 1000)
        out = {"keys": [{"key_id": k.key_id, "key_arn": k.arn} for k in page], "truncated": marker is not None}
        if marker:
            out["next_marker"] = marker
        return out

    def _op_UpdateKeyDescription(self, ctx, req, audit):
        key = audit.key
        description = req.get("description")
        if description is None:
            raise validation("description", "Member must not be null", "null")
        key.description = description
        self._save(key)
        return {}

    def _op_EnableKey(self, ctx, req, audit):
        key = audit.key
        key.key_state = m.ENABLED
        now = self.clock.now()
        # AWS does not rotate a disabled key; on re-enabling, overdue material rotates at once.
        if key.rotation_enabled and key.next_rotation_date is not None and key.next_rotation_date <= now:
            self._rotate(key, now, "AUTOMATIC")
            key.next_rotation_date = now + key.rotation_period_days * DAY
        if key.rotation_enabled and key.next_rotation_date:
            self._schedule(key.next_rotation_date)
        self._save(key)
        return {}

    def _op_DisableKey(self, ctx, req, audit):
        key = audit.key
        key.key_state = m.DISABLED
        self._save(key)
        return {}

    def _op_ScheduleKeyDeletion(self, ctx, req, audit):
        key = audit.key
        days = in_range(req.get("pending_window_in_days"), 30, 7, 30, "pendingWindowInDays")
        now = self.clock.now()
        key.pending_window_days = days
        if key.mr_role == "PRIMARY" and any(k.mr_role == "REPLICA" for k in self.related_keys(key)):
            # A primary waits for its replicas: its own window starts when the last one is deleted.
            key.key_state = m.PENDING_REPLICA_DELETION
            key.deletion_date = None
            self._save(key)
            return {"key_id": key.arn, "key_state": key.key_state, "pending_window_in_days": days}
        key.key_state = m.PENDING_DELETION
        key.deletion_date = now + days * DAY
        self._schedule(key.deletion_date)
        self._save(key)
        return {
            "key_id": key.arn,
            "deletion_date": key.deletion_date,
            "key_state": key.key_state,
            "pending_window_in_days": days,
        }

    def _op_CancelKeyDeletion(self, ctx, req, audit):
        key = audit.key
        # AWS leaves a key whose deletion was cancelled Disabled, never Enabled; a key whose
        # imported material expired or was deleted meanwhile has nothing to use: PendingImport.
        current = key.current_backing_key
        key.key_state = m.DISABLED if current is not None and current.material else m.PENDING_IMPORT
        key.deletion_date = None
        key.pending_window_days = None
        self._save(key)
        return {"key_id": key.arn}

    # -- cryptography -----------------------------------------------------------

    def _encrypt_under(self, key: KmsKey, plaintext: bytes, context: dict | None) -> bytes:
        bk = key.current_backing_key
        return seal_blob(
            backing_key=bk.material,
            account_id=key.account_id,
            key_id=key.key_id,
            key_material_id=bk.key_material_id,
            plaintext=plaintext,
            encryption_context=context,
            random=self.random,
        )

    @staticmethod
    def _require_usage(key: KmsKey, usage: str, operation: str) -> None:
        if key.key_usage != usage:
            raise InvalidKeyUsageException(
                f"{key.arn} key usage is {key.key_usage} which is not valid for {operation}."
            )

    @staticmethod
    def _refuse_context_for_asymmetric(key: KmsKey, context) -> None:
        if context:
            raise ValidationException(
                f"EncryptionContext is not supported with {key.key_spec} KMS keys: only symmetric encryption "
                "KMS keys take an encryption context."
            )

    def _seal(self, key: KmsKey, plaintext: bytes, algorithm: str | None, context, operation: str):
        """Encrypt under ``key``: (ciphertext, algorithm, key material ID or None). Checks usage and algorithm."""
        self._require_usage(key, "ENCRYPT_DECRYPT", operation)
        info = KEY_SPECS[key.key_spec]
        algorithm = algorithm or "SYMMETRIC_DEFAULT"
        if algorithm not in info.encryption_algorithms:
            raise InvalidKeyUsageException(f"Algorithm {algorithm} is incompatible with key spec {key.key_spec}.")
        if info.kind == "symmetric":
            return (lambda: self._encrypt_under(key, plaintext, context)), algorithm, key.current_backing_key.key_material_id
        self._refuse_context_for_asymmetric(key, context)
        limit = rsa_max_plaintext(key.key_spec, algorithm)
        if len(plaintext) > limit:
            raise ValidationException(
                f"Algorithm {algorithm} and key spec {key.key_spec} cannot encrypt data larger than {limit} bytes."
            )
        material = key.current_backing_key.material
        return (lambda: rsa_encrypt(material, algorithm, plaintext)), algorithm, None

    @staticmethod
    def _check_plaintext(plaintext) -> bytes:
        if plaintext is None:
            raise validation("plaintext", "Member must not be null")
        if not 1 <= len(plaintext) <= 4096:
            raise validation("plaintext", "Member must have length less than or equal to 4096" if plaintext
                             else "Member must have length greater than or equal to 1")
        return plaintext

    def _validate_Encrypt(self, call) -> None:
        req = call.request
        if req.get("grant_tokens") is not None:
            self._check_grant_tokens(req)
        if req.get("encryption_context") is not None:
            self._check_context(req["encryption_context"])
        self._check_plaintext(req.get("plaintext"))

    def _op_Encrypt(self, ctx, req, audit):
        context = req.get("encryption_context")
        plaintext = req["plaintext"]
        key = audit.key
        encrypt, algorithm, _material_id = self._seal(key, plaintext, req.get("encryption_algorithm"), context, "Encrypt")
        self._dry_run(req)
        return {"ciphertext_blob": encrypt(), "key_id": key.arn, "encryption_algorithm": algorithm}

    def _resolve_ciphertext(self, call, *, key_field: str, field_name: str, context_field: str,
                            action: str) -> list[Target]:
        """The KMS key a ciphertext names (Decrypt, or the source half of ReEncrypt).

        A symmetric ciphertext names its key in its header (docs/ciphertext-format.md), so KeyId is
        optional; an asymmetric ciphertext is bare RSAES-OAEP output that names no key, so the caller
        must name it. DryRun with DryRunModifiers IGNORE_CIPHERTEXT: "KMS performs only authorization
        validation without ciphertext validation" (the API reference of Decrypt and ReEncrypt): the
        ciphertext is never looked at and KeyId "is required ... when DryRun is true and
        DryRunModifiers is set to IGNORE_CIPHERTEXT".
        Fidelity: a missing key ID is then answered as a null member, in AWS's validation words.
        """
        ctx, req, scratch = call.ctx, call.request, call.scratch
        if self._ignores_ciphertext(req):
            self._check_context(req.get(context_field))
            if req.get(key_field) is None:
                raise validation(field_name, "Member must not be null", "null")
            scratch["ignore_ciphertext"] = True
            return [Target(action, self.resolve_key(ctx, req[key_field], "Decrypt", field_name=field_name))]
        blob = req.get("ciphertext_blob")
        if blob is None:
            raise validation("ciphertextBlob", "Member must not be null", "null")
        if not 1 <= len(blob) <= 6144:
            raise validation("ciphertextBlob", "Member must have length less than or equal to 6144" if blob
                             else "Member must have length greater than or equal to 1")
        self._check_context(req.get(context_field))
        named = None
        if req.get(key_field) is not None:
            named = self.resolve_key(ctx, req[key_field], "Decrypt")
        if named is not None and named.key_spec != "SYMMETRIC_DEFAULT":
            return [Target(action, named)]
        try:
            header = parse_blob_header(blob)
        except CryptoError:
            if named is not None:
                call.resource(named)
            raise InvalidCiphertextException("") from None
        if named is not None and (named.key_id != header.key_id or named.account_id != header.account_id):
            call.resource(named)
            raise IncorrectKeyException(
                "The key ID in the request does not identify a CMK that can perform this operation."
            )
        state = self._regions.get((header.account_id, ctx.region))
        key = state.keys.get(header.key_id) if state else None
        if key is None:
            raise AccessDeniedException(
                "The ciphertext refers to a customer master key that does not exist, does not exist in this "
                "region, or you are not allowed to access."
            )
        scratch["header"] = header
        return [Target(action, key)]

    def _resolve_Decrypt(self, call) -> list[Target]:
        return self._resolve_ciphertext(call, key_field="key_id", field_name="keyId",
                                        context_field="encryption_context", action="kms:Decrypt")

    def _resolve_ReEncrypt(self, call) -> list[Target]:
        source = self._resolve_ciphertext(call, key_field="source_key_id", field_name="sourceKeyId",
                                          context_field="source_encryption_context", action="kms:ReEncryptFrom")
        dest = self.resolve_key(call.ctx, call.request.get("destination_key_id"), "ReEncrypt",
                                field_name="destinationKeyId")
        return source + [Target("kms:ReEncryptTo", dest)]

    def _unseal(self, req, key: KmsKey, header, operation: str, *, context_field: str, algorithm_field: str):
        """Check everything else needed to decrypt (the key is resolved, authorized, its state checked).

        Returns (algorithm, decrypt) where ``decrypt()`` does the cryptography and returns
        (plaintext, key material ID or None); it is called only once every check has passed.
        """
        blob = req.get("ciphertext_blob")
        context = req.get(context_field)
        algorithm = req.get(algorithm_field) or "SYMMETRIC_DEFAULT"
        self._require_usage(key, "ENCRYPT_DECRYPT", operation)
        if header is None:  # asymmetric: the caller named the key and the algorithm
            if algorithm not in KEY_SPECS[key.key_spec].encryption_algorithms:
                raise InvalidKeyUsageException(
                    f"Algorithm {algorithm} is incompatible with key spec {key.key_spec}."
                )
            self._refuse_context_for_asymmetric(key, context)
            material = key.current_backing_key.material

            def decrypt_rsa():
                try:
                    return rsa_decrypt(material, algorithm, blob), None
                except ValueError:
                    raise InvalidCiphertextException("") from None

            return algorithm, decrypt_rsa
        if algorithm != "SYMMETRIC_DEFAULT":
            raise InvalidKeyUsageException(f"Algorithm {algorithm} is incompatible with key spec {key.key_spec}.")
        bk = key.backing_key(header.key_material_id)
        if bk is None or not bk.material:
            raise InvalidCiphertextException("")

        def decrypt_symmetric():
            try:
                return open_blob(blob, header, backing_key=bk.material, encryption_context=context), bk.key_material_id
            except CryptoError:
                raise InvalidCiphertextException("") from None

        return algorithm, decrypt_symmetric

    def _validate_Decrypt(self, call) -> None:
        self._check_grant_tokens(call.request)
        if call.request.get("recipient"):
            # Fidelity: Nitro Enclaves attestation is not simulated.
            raise UnsupportedOperationException("kms_teach does not simulate Nitro Enclaves recipients.")

    def _op_Decrypt(self, ctx, req, audit):
        key = audit.key
        if audit.scratch.get("ignore_ciphertext"):
            self._require_usage(key, "ENCRYPT_DECRYPT", "Decrypt")
            self._dry_run(req)
        algorithm, decrypt = self._unseal(req, key, audit.scratch.get("header"), "Decrypt",
                                          context_field="encryption_context", algorithm_field="encryption_algorithm")
        self._dry_run(req)
        plaintext, material_id = decrypt()
        out = {"key_id": key.arn, "plaintext": plaintext, "encryption_algorithm": algorithm}
        if material_id is not None:
            out["key_material_id"] = material_id
        return out

    def _op_ReEncrypt(self, ctx, req, audit):
        src, dest = audit.targets[0].resource, audit.targets[1].resource
        if audit.scratch.get("ignore_ciphertext"):
            self._require_usage(src, "ENCRYPT_DECRYPT", "ReEncrypt")
            self._dry_run(req)
        src_algorithm, decrypt = self._unseal(
            req, src, audit.scratch.get("header"), "ReEncrypt", context_field="source_encryption_context",
            algorithm_field="source_encryption_algorithm",
        )
        dest_context = self._check_context(req.get("destination_encryption_context"))
        dest_algorithm = req.get("destination_encryption_algorithm")
        # The destination's size limit is checked against the plaintext, so decrypt first (no state changes).
        plaintext, src_material_id = decrypt()
        encrypt, dest_algorithm, dest_material_id = self._seal(dest, plaintext, dest_algorithm, dest_context, "ReEncrypt")
        self._dry_run(req)
        out = {
            "ciphertext_blob": encrypt(),
            "source_key_id": src.arn,
            "key_id": dest.arn,
            "source_encryption_algorithm": src_algorithm,
            "destination_encryption_algorithm": dest_algorithm,
        }
        if src_material_id is not None:
            out["source_key_material_id"] = src_material_id
        if dest_material_id is not None:
            out["destination_key_material_id"] = dest_material_id
        return out

    def _validate_data_key(self, call) -> None:
        req = call.request
        self._check_grant_tokens(req)
        self._check_context(req.get("encryption_context"))
        if req.get("recipient"):
            raise UnsupportedOperationException("kms_teach does not simulate Nitro Enclaves recipients.")

    def _data_key(self, ctx, req, audit, operation: str) -> tuple[KmsKey, bytes, bytes]:
        context = req.get("encryption_context")
        spec, nbytes = req.get("key_spec"), req.get("number_of_bytes")
        key = audit.key
        self._require_symmetric_encryption(key, operation)
        if spec is None and nbytes is None:
            raise ValidationException("Please specify either number of bytes or key spec.")
        if spec is not None and nbytes is not None:
            raise ValidationException("Please specify either number of bytes or key spec, not both.")
        if spec is not None:
            if spec not in ("AES_256", "AES_128"):
                raise validation("keySpec", "Member must satisfy enum value set: [AES_256, AES_128]", spec)
            nbytes = 32 if spec == "AES_256" else 16
        elif not 1 <= nbytes <= 1024:
            raise validation("numberOfBytes", "Member must have value less than or equal to 1024" if nbytes > 1024
                              else "Member must have value greater than or equal to 1", nbytes)
        self._dry_run(req)
        # The data key exists only in this response: KMS keeps no copy of it.
        data_key = self.random.token_bytes(nbytes)
        return key, data_key, self._encrypt_under(key, data_key, context)

    def _op_GenerateDataKey(self, ctx, req, audit):
        key, data_key, blob = self._data_key(ctx, req, audit, "GenerateDataKey")
        return {
            "ciphertext_blob": blob,
            "plaintext": data_key,
            "key_id": key.arn,
            "key_material_id": key.current_backing_key.key_material_id,
        }

    def _op_GenerateDataKeyWithoutPlaintext(self, ctx, req, audit):
        key, _data_key, blob = self._data_key(ctx, req, audit, "GenerateDataKeyWithoutPlaintext")
        return {"ciphertext_blob": blob, "key_id": key.arn, "key_material_id": key.current_backing_key.key_material_id}

    def _op_GenerateRandom(self, ctx, req, audit):
        if req.get("custom_key_store_id"):
            raise CustomKeyStoreNotFoundException(
                "kms_teach does not simulate custom key stores, so no custom key store exists."
            )
        if req.get("recipient"):
            raise UnsupportedOperationException("kms_teach does not simulate Nitro Enclaves recipients.")
        n = req.get("number_of_bytes")
        if n is None:
            raise ValidationException("NumberOfBytes is required.")
        if n < 1:
            raise validation("numberOfBytes", "Member must have value greater than or equal to 1", n)
        if n > 1024:
            raise validation("numberOfBytes", "Member must have value less than or equal to 1024", n)
        return {"plaintext": self.random.token_bytes(n)}

    # -- aliases ----------------------------------------------------------------

    def _check_alias_name(self, name: Any, *, for_create: bool) -> str:
        if not isinstance(name, str) or not name:
            raise validation("aliasName", "Member must have length greater than or equal to 1")
        if not name.startswith("alias/"):
            raise ValidationException(
                'Alias must start with the prefix "alias/". Please see '
                "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html"
            )
        if len(name) > 256:
            raise validation("aliasName", "Member must have length less than or equal to 256", name)
        if not re.match(r"^[a-zA-Z0-9:/_-]+$", name):
            raise validation("aliasName", "Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$", name)
        if for_create and ":" in name:
            # botocore's pattern admits ':', the AliasName documentation does not ("alphanumeric
            # characters, forward slashes (/), underscores (_), and dashes (-)"); AWS's answer:
            raise ValidationException(f"{name} contains invalid characters for an alias")
        if name == "alias/" or name.endswith("/") and for_create:
            raise InvalidAliasNameException(f"Alias name {name} is not valid.")
        if name.startswith("alias/aws/"):
            # Reserved for AWS managed keys; customers can never create, point or delete them.
            raise NotAuthorizedException("The alias prefix alias/aws/ is reserved for AWS managed keys.")
        return name

    def _alias_target(self, call) -> KmsKey:
        """The KMS key an alias is to point at: in the caller's account and Region only.

        "The KMS key must be in the same Amazon Web Services account and Region as the alias"
        (KMS API Reference, CreateAlias and UpdateAlias, TargetKeyId); an alias is never made for
        another account's key, even by a caller that key's policy lets use it.
        Fidelity: AWS does not document the code; kms_teach answers NotFoundException, as for a key
        the caller's account does not have.
        """
        ctx, ref = call.ctx, call.request.get("target_key_id")
        key = self.resolve_key(ctx, ref, call.op.name, field_name="targetKeyId")
        if key.account_id != ctx.account_id or key.region != ctx.region:
            raise NotFoundException(f"Key '{key.arn}' does not exist")
        return key

    def _validate_alias_name(self, call) -> None:
        self._check_alias_name(call.request.get("alias_name"), for_create=call.op.name == "CreateAlias")

    def _resolve_CreateAlias(self, call) -> list[Target]:
        return [Target("kms:CreateAlias", self._alias_target(call))]

    def _resolve_UpdateAlias(self, call) -> list[Target]:
        # "kms:UpdateAlias on the current KMS key ... and on the new KMS key (key policy)" (UpdateAlias).
        alias = self._existing_alias(call.ctx, call.request["alias_name"])
        old = self._regions[(call.ctx.account_id, call.ctx.region)].keys.get(alias.target_key_id)
        call.scratch["alias"] = alias
        targets = [Target("kms:UpdateAlias", old)] if old is not None else []
        return targets + [Target("kms:UpdateAlias", self._alias_target(call))]

    def _resolve_DeleteAlias(self, call) -> list[Target]:
        alias = self._existing_alias(call.ctx, call.request["alias_name"])
        call.scratch["alias"] = alias
        # An alias whose key is gone is still the caller's to delete: authorized on the alias alone.
        return [Target("kms:DeleteAlias", self._regions[(call.ctx.account_id, call.ctx.region)].keys.get(
            alias.target_key_id))]

    @staticmethod
    def _check_alias_target(key: KmsKey) -> None:
        if key.key_state in (m.PENDING_DELETION, m.PENDING_REPLICA_DELETION):
            raise KMSInvalidStateException(f"{key.arn} is pending deletion.")
        if key.key_manager == "AWS":
            raise NotAuthorizedException("An alias cannot be associated with an AWS managed key.")

    def _op_CreateAlias(self, ctx, req, audit):
        name = req["alias_name"]
        key = audit.key
        self._check_alias_target(key)
        state = self._region(ctx.account_id, ctx.region)
        if name in state.aliases:
            raise AlreadyExistsException(
                f"An alias with the name {m.alias_arn(ctx.region, ctx.account_id, name)} already exists"
            )
        if sum(1 for a in state.aliases.values() if a.target_key_id == key.key_id) >= MAX_ALIASES_PER_KEY:
            raise LimitExceededException(
                f"Cannot create alias {name}: the KMS key {key.arn} already has {MAX_ALIASES_PER_KEY} aliases."
            )
        now = self.clock.now()
        alias = Alias(ctx.account_id, ctx.region, name, key.key_id, now, now)
        state.aliases[name] = alias
        self._pending.put_alias(alias)
        return {}

    def _existing_alias(self, ctx, name: str) -> Alias:
        state = self._regions.get((ctx.account_id, ctx.region))
        alias = state.aliases.get(name) if state else None
        if alias is None:
            raise NotFoundException(f"Alias {m.alias_arn(ctx.region, ctx.account_id, name)} is not found.")
        return alias

    def _op_UpdateAlias(self, ctx, req, audit):
        name = req["alias_name"]
        alias = audit.scratch["alias"]
        old = audit.targets[0].resource if len(audit.targets) == 2 else None
        new = audit.targets[-1].resource
        self._check_alias_target(new)
        if old is not None and (old.key_usage != new.key_usage or _key_type(old) != _key_type(new)):
            raise ValidationException(
                f"Alias {name} cannot be changed from a {_key_type(old)} {old.key_usage} KMS key to a "
                f"{_key_type(new)} {new.key_usage} KMS key: the new key must be of the same type and key usage."
            )
        alias.target_key_id = new.key_id
        alias.last_updated_date = self.clock.now()
        self._pending.put_alias(alias)
        return {}

    def _op_DeleteAlias(self, ctx, req, audit):
        alias = audit.scratch["alias"]
        del self._regions[(ctx.account_id, ctx.region)].aliases[alias.alias_name]
        self._pending.delete_alias(alias)
        return {}

    def _op_ListAliases(self, ctx, req, audit):
        state = self._regions.get((ctx.account_id, ctx.region))
        aliases = list(state.aliases.values()) if state else []
        entries = []
        if req.get("key_id") is not None:
            key = self.resolve_key(ctx, req["key_id"], "ListAliases")
            aliases = [a for a in aliases if a.target_key_id == key.key_id]
        else:
            present = {a.alias_name for a in aliases}
            # Predefined aliases of AWS managed keys not yet created by their service.
            for name in AWS_MANAGED_ALIASES:
                if name not in present:
                    entries.append({"alias_name": name, "alias_arn": m.alias_arn(ctx.region, ctx.account_id, name)})
        for a in aliases:
            entries.append({
                "alias_name": a.alias_name,
                "alias_arn": a.arn,
                "target_key_id": a.target_key_id,
                "creation_date": a.creation_date,
                "last_updated_date": a.last_updated_date,
            })
        entries.sort(key=lambda e: e["alias_name"])
        page, marker = _page_after(entries, [e["alias_name"] for e in entries], req.get("limit"), req.get("marker"),
                                   "ListAliases" + str(req.get("key_id")), 50, 100)
        out = {"aliases": page, "truncated": marker is not None}
        if marker:
            out["next_marker"] = marker
        return out

    # -- rotation ---------------------------------------------------------------

    @staticmethod
    def _require_rotatable(key: KmsKey, operation: str = "") -> None:
        if key.key_spec != "SYMMETRIC_DEFAULT":
            # Recorded from AWS: RotateKeyOnDemand on an asymmetric key answers with an empty message.
            raise UnsupportedOperationException(
                "" if operation == "RotateKeyOnDemand" else
                f"{key.arn} key spec is {key.key_spec}. Automatic and on-demand rotation is supported only "
                f"on symmetric encryption KMS keys."
            )
        if key.origin != "AWS_KMS":
            raise UnsupportedOperationException(
                f"{key.arn} origin is {key.origin} which is not valid for this operation."
            )

    @staticmethod
    def _refuse_replica(key: KmsKey) -> None:
        if key.mr_role == "REPLICA":
            raise UnsupportedOperationException(
                f"{key.arn} is a multi-Region replica key. Rotation is managed on the primary key."
            )

    def _op_EnableKeyRotation(self, ctx, req, audit):
        key = audit.key
        self._require_rotatable(key)
        self._refuse_replica(key)
        self._refuse_aws_managed(key, "EnableKeyRotation")
        period = in_range(req.get("rotation_period_in_days"), 365, 90, 2560, "rotationPeriodInDays")
        now = self.clock.now()
        key.rotation_enabled = True
        key.rotation_period_days = period
        key.next_rotation_date = now + period * DAY
        self._schedule(key.next_rotation_date)
        self._save(key)
        return {}

    def _op_DisableKeyRotation(self, ctx, req, audit):
        key = audit.key
        self._require_rotatable(key)
        self._refuse_replica(key)
        self._refuse_aws_managed(key, "DisableKeyRotation")
        key.rotation_enabled = False
        key.next_rotation_date = None
        self._save(key)
        return {}

    def _op_GetKeyRotationStatus(self, ctx, req, audit):
        key = audit.key
        if key.origin != "AWS_KMS" or key.key_spec != "SYMMETRIC_DEFAULT":
            self._require_rotatable(key)
        # A replica reports its primary's schedule: rotation is managed there.
        source = (self.primary_of(key) or key) if key.mr_role == "REPLICA" else key
        # A key pending deletion reports rotation as disabled; cancelling restores it.
        enabled = source.rotation_enabled and key.key_state != m.PENDING_DELETION
        out: dict[str, Any] = {"key_rotation_enabled": enabled, "key_id": key.arn}
        if enabled:
            out["rotation_period_in_days"] = source.rotation_period_days
            out["next_rotation_date"] = source.next_rotation_date
        return out

    def _op_RotateKeyOnDemand(self, ctx, req, audit):
        key = audit.key
        self._require_rotatable(key, "RotateKeyOnDemand")
        self._refuse_replica(key)
        self._refuse_aws_managed(key, "RotateKeyOnDemand")
        now = self.clock.now()
        if key.on_demand_rotations >= MAX_ON_DEMAND_ROTATIONS:
            raise LimitExceededException(
                "The on-demand rotations limit has been reached for the given keyId. No more on-demand "
                f"rotations can be performed for this key: {key.arn}"
            )
        if key.rotation_enabled and key.next_rotation_date and key.next_rotation_date - now <= ROTATION_CONFLICT_WINDOW:
            raise ConflictException(
                f"{key.arn} has an automatic rotation scheduled within the next 20 minutes. Try again later."
            )
        # Fidelity: AWS rotates on demand in a background process (GetKeyRotationStatus
        # briefly shows OnDemandRotationStartDate); here the rotation completes at once.
        key.on_demand_rotations += 1
        self._rotate(key, now, "ON_DEMAND")
        return {"key_id": key.key_id}

    def _op_ListKeyRotations(self, ctx, req, audit):
        key = audit.key
        if key.key_spec != "SYMMETRIC_DEFAULT":
            self._require_rotatable(key)
        include = req.get("include_key_material") or "ROTATIONS_ONLY"
        current = key.current_backing_key
        entries = []
        for bk in key.backing_keys:
            if bk.rotation_type is None and include == "ROTATIONS_ONLY":
                continue
            entry = {
                "key_id": key.key_id,
                "key_material_id": bk.key_material_id,
                "key_material_state": "CURRENT" if bk is current else "NON_CURRENT",
            }
            if bk.rotation_type is not None:
                # botocore's model: RotationDate "is not present for the first key material".
                entry["rotation_date"] = bk.created
            if bk.rotation_type:
                entry["rotation_type"] = bk.rotation_type
            if key.origin == "EXTERNAL":
                entry["import_state"] = "IMPORTED" if bk.material else "PENDING_IMPORT"
                if bk is current and bk.material:
                    entry["expiration_model"] = key.expiration_model
                    if key.valid_to is not None:
                        entry["valid_to"] = key.valid_to
            entries.append(entry)
        page, marker = _page(entries, req.get("limit"), req.get("marker"), "ListKeyRotations" + key.key_id, 100, 1000)
        out = {"rotations": page, "truncated": marker is not None}
        if marker:
            out["next_marker"] = marker
        return out

    @staticmethod
    def _refuse_aws_managed(key: KmsKey, operation: str) -> None:
        if key.key_manager == "AWS":
            raise UnsupportedOperationException(
                f"{key.arn} is an AWS managed key. You cannot perform {operation} on an AWS managed key."
            )

    # -- tags -------------------------------------------------------------------

    def _validated_tags(self, tags: list, existing: dict[str, str]) -> dict[str, str]:
        seen: set[str] = set()
        merged = dict(existing)
        for tag in tags:
            k, v = tag.get("tag_key"), tag.get("tag_value")
            if k is None:
                raise validation("tags.member.tagKey", "Member must not be null")
            if v is None:
                raise validation("tags.member.tagValue", "Member must not be null")
            if not 1 <= len(k) <= 128:
                raise validation("tags.member.tagKey", "Member must have length less than or equal to 128", k)
            if len(v) > 256:
                raise validation("tags.member.tagValue", "Member must have length less than or equal to 256", v)
            if k.startswith("aws:"):
                raise TagException("Tags beginning with aws: are reserved")
            if k in seen:
                raise TagException("Duplicate tag keys")
            seen.add(k)
            merged[k] = v
        if len(merged) > MAX_TAGS_PER_KEY:
            raise TagException("Too many tags")
        return merged

    def _op_TagResource(self, ctx, req, audit):
        key = audit.key
        tags = req.get("tags")
        if tags is None:
            raise validation("tags", "Member must not be null")
        key.tags = self._validated_tags(tags, key.tags)
        self._save(key)
        return {}

    def _op_UntagResource(self, ctx, req, audit):
        key = audit.key
        keys = req.get("tag_keys")
        if keys is None:
            raise validation("tagKeys", "Member must not be null")
        for k in keys:
            if k.startswith("aws:"):
                raise TagException("Tags beginning with aws: are reserved")
        for k in keys:
            key.tags.pop(k, None)
        self._save(key)
        return {}

    def _op_ListResourceTags(self, ctx, req, audit):
        key = audit.key
        entries = [{"tag_key": k, "tag_value": v} for k, v in key.tags.items()]
        page, marker = _page(entries, req.get("limit"), req.get("marker"), "ListResourceTags" + key.key_id, 50, 50)
        out = {"tags": page, "truncated": marker is not None}
        if marker:
            out["next_marker"] = marker
        return out

    # -- key policies -----------------------------------------------------------

    @staticmethod
    def _policy_name(req: dict) -> str:
        name = req.get("policy_name")
        if name is None:
            return "default"
        if not re.match(r"^[\w]+$", name) or len(name) > 128:
            raise validation("policyName", "Member must satisfy regular expression pattern: [\\w]+", name)
        return name

    def _op_GetKeyPolicy(self, ctx, req, audit):
        key = audit.key
        name = self._policy_name(req)
        if name != "default":
            raise NotFoundException(f"No such policy exists: {name}")
        policy = show_bound(key.policy, key.policy_principals, self.principal_unique_id) \
            if key.policy_principals else key.policy
        return {"policy": policy, "policy_name": "default"}

    def _op_PutKeyPolicy(self, ctx, req, audit):
        key = audit.key
        name = self._policy_name(req)
        if name != "default":
            raise ValidationException(f"PolicyName {name} is not valid: a key policy is always named default.")
        if key.key_manager == "AWS":
            raise AccessDeniedException(
                f"You cannot change the key policy of {key.arn}: it is an AWS managed key."
            )
        policy = req.get("policy")
        if policy is None:
            raise validation("policy", "Member must not be null")
        parse_policy(policy)
        self._check_lockout(ctx, policy, req)
        key.policy = policy
        self._bind_policy(key)
        self._save(key)
        return {}

    def _op_ListKeyPolicies(self, ctx, req, audit):
        page, marker = _page(["default"], req.get("limit"), req.get("marker"), "ListKeyPolicies", 100, 1000)
        out = {"policy_names": page, "truncated": marker is not None}
        if marker:
            out["next_marker"] = marker
        return out


def _key_type(key: KmsKey) -> str:
    if key.key_spec == "SYMMETRIC_DEFAULT":
        return "symmetric"
    if key.key_spec.startswith("HMAC"):
        return "HMAC"
    return "asymmetric"


# ================================================================ declarations
# Each operation: its action, how its KMS key is found, the key states it accepts (AWS KMS Developer
# Guide, "Key states of AWS KMS keys": kms.common.STATE_RULES), whether it writes. The actions and the
# resources are the "Required permissions" of each operation's page in the AWS KMS API Reference.


def _key_id(field: str = "key_id", field_name: str = "keyId"):
    """The KMS key the request's ``field`` names (a key ID or key ARN; an alias where the operation allows)."""

    def resolve(kms: KMS, call: Call) -> list[Target]:
        key = kms.resolve_key(call.ctx, call.request.get(field), call.op.name, field_name=field_name)
        return [Target(call.op.action, key)]

    return resolve


def _grant_tokens(kms: KMS, call: Call) -> None:
    kms._check_grant_tokens(call.request)


def _grant_id(kms: KMS, call: Call) -> None:
    kms._check_grant_id(call.request.get("grant_id"))


def _not_null(member: str, field_name: str):
    def validate(kms: KMS, call: Call) -> None:
        if call.request.get(member) is None:
            raise validation(field_name, "Member must not be null", "null")

    return validate


def _resolve_ReplicateKey(kms: KMS, call: Call) -> list[Target]:
    # "kms:ReplicateKey on the primary key (in the primary key's Region)" and "kms:CreateKey in an IAM
    # policy in the replica Region" (ReplicateKey, Required permissions).
    primary = kms.resolve_key(call.ctx, call.request.get("key_id"), "ReplicateKey")
    c = call.ctx
    replica_ctx = RequestContext(call.request["replica_region"], c.principal, c.user_agent, c.source_ip,
                                 c.via_service, c.request_id)
    return [Target("kms:ReplicateKey", primary), Target("kms:CreateKey", None, replica_ctx, audit=False)]


def _resolve_UpdatePrimaryRegion(kms: KMS, call: Call) -> list[Target]:
    # "kms:UpdatePrimaryRegion on the current multi-Region primary key ... and on the replica key"
    # (UpdatePrimaryRegion, Required permissions). The handler refuses a key that is not a primary.
    primary = kms.resolve_key(call.ctx, call.request.get("key_id"), "UpdatePrimaryRegion")
    targets = [Target("kms:UpdatePrimaryRegion", primary)]
    region = call.request["primary_region"]
    if primary.mr_role == "PRIMARY" and region != primary.region:
        state = kms._regions.get((primary.account_id, region))
        new = state.keys.get(primary.key_id) if state else None
        if new is not None:
            targets.append(Target("kms:UpdatePrimaryRegion", new))
    return targets


# Operations that change nothing (their responses stay out of the audit trail, as CloudTrail's do).
_READS = frozenset({
    "DescribeKey", "ListKeys", "ListAliases", "GetKeyPolicy", "ListKeyPolicies", "GetKeyRotationStatus",
    "ListKeyRotations", "ListResourceTags", "ListGrants", "ListRetirableGrants", "GetPublicKey", "Encrypt",
    "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext", "GenerateRandom", "Sign", "Verify", "GenerateMac", "VerifyMac",
    "DeriveSharedSecret",
})


def _declare(name: str, *, resolve=None, validate=None, action: str | None = None, states: bool = True,
             **extra) -> Operation:
    return Operation(
        name=name, action=action or f"kms:{name}", resolve=resolve or _key_id(), handler=getattr(KMS, "_op_" + name),
        writes=name not in _READS, states=STATE_RULES.get(name, _CRYPTO_RULE) if states else None,
        validate=validate, **extra,
    )


_ON_ACCOUNT = ("CreateKey", "ListKeys", "GenerateRandom", "ListAliases", "ListRetirableGrants")
_DECLARED = [
    *(_declare(name, resolve=account_target(f"kms:{name}"), states=False) for name in _ON_ACCOUNT),
    _declare("DescribeKey", validate=_grant_tokens),
    _declare("GetPublicKey", validate=_grant_tokens),
    _declare("ListGrants", validate=_grant_tokens),
    _declare("Encrypt", validate=KMS._validate_Encrypt),
    _declare("GenerateDataKey", validate=KMS._validate_data_key),
    _declare("GenerateDataKeyWithoutPlaintext", validate=KMS._validate_data_key),
    _declare("GenerateDataKeyPair", validate=KMS._validate_data_key_pair),
    _declare("GenerateDataKeyPairWithoutPlaintext", validate=KMS._validate_data_key_pair),
    _declare("Sign", validate=KMS._validate_signing),
    _declare("Verify", validate=KMS._validate_signing),
    _declare("GenerateMac", validate=KMS._validate_mac),
    _declare("VerifyMac", validate=KMS._validate_mac),
    _declare("DeriveSharedSecret", validate=KMS._validate_DeriveSharedSecret),
    _declare("Decrypt", action="kms:Decrypt", resolve=KMS._resolve_Decrypt, validate=KMS._validate_Decrypt),
    _declare("ReEncrypt", action="kms:ReEncryptFrom and kms:ReEncryptTo", resolve=KMS._resolve_ReEncrypt,
             validate=_grant_tokens),
    _declare("CreateGrant", validate=KMS._validate_CreateGrant),
    _declare("RevokeGrant", validate=_grant_id),
    _declare("RetireGrant", resolve=KMS._resolve_RetireGrant, authorize=KMS._authorize_RetireGrant,
             authorized_by="the grant (KMS Developer Guide, Retiring and revoking grants)"),
    _declare("GetParametersForImport", validate=KMS._validate_GetParametersForImport),
    _declare("ImportKeyMaterial", validate=KMS._validate_ImportKeyMaterial),
    _declare("ReplicateKey", resolve=_resolve_ReplicateKey, validate=_not_null("replica_region", "replicaRegion")),
    _declare("UpdatePrimaryRegion", resolve=_resolve_UpdatePrimaryRegion,
             validate=_not_null("primary_region", "primaryRegion")),
    # Alias operations: kms:<Operation> on the alias (an IAM policy; the permissions engine checks it) and
    # on the KMS key (its key policy), "Controlling access to aliases" in the KMS Developer Guide.
    _declare("CreateAlias", resolve=KMS._resolve_CreateAlias, validate=KMS._validate_alias_name, states=False),
    _declare("UpdateAlias", resolve=KMS._resolve_UpdateAlias, validate=KMS._validate_alias_name, states=False),
    _declare("DeleteAlias", resolve=KMS._resolve_DeleteAlias, validate=KMS._validate_alias_name, states=False),
]
_SIMPLE = sorted({name[4:] for name in dir(KMS) if name.startswith("_op_")} - {op.name for op in _DECLARED})
KMS.OPERATIONS = {op.name: op for op in _DECLARED + [_declare(name) for name in _SIMPLE]}
OPERATIONS = sorted(KMS.OPERATIONS)
