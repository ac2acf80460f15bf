"""Layer 2: the permissions engine - who may call which KMS operation on which key, and why.

AWS's evaluation for KMS (KMS Developer Guide, "Determining access to a KMS
key" and "Key policies in AWS KMS"):

1. An explicit ``Deny`` in the key policy or in any of the caller's identity
   policies that applies wins. Grants never deny.
2. Otherwise the call is allowed when
   * the key policy allows the caller directly (it names the caller, the
     caller's role, ``*``, or - for the account's root user - the account), or
   * the key policy allows the caller's *account* (``arn:aws:iam::ACCT:root``)
     and one of the caller's identity policies allows the action on the key:
     the account root statement only lets IAM policies count, or
   * a grant on the key lets the caller perform the operation, its
     encryption-context constraints met.
   For a caller in another account, the key policy must allow that account
   or caller *and* the caller's identity policy must allow the action.
3. Otherwise: implicit deny. The root user is no exception: a key policy that
   does not name the account leaves even the root user out.

Operations without a key (CreateKey, ListKeys, ListAliases, GenerateRandom,
ListRetirableGrants) are decided by identity policies alone; the root user may
do them. Alias operations also need the permission on the alias in an
identity policy.

:meth:`Permissions.decide` returns a :class:`Decision` holding every statement
and grant considered, with the reason each did or did not apply. Enforcement
(:meth:`Permissions.__call__`) uses the same method, so an explanation can
never disagree with what a call does.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import functools
from dataclasses import dataclass, field
from typing import Any

from .._errors import AccessDeniedException, MalformedPolicyDocumentException
from .. import _model as m
from .evaluation import EvalRequest, StatementResult, evaluate_statement, split_operator, wildcard_match
from .grants import grant_allows, grant_names
from .._model import KmsKey, Principal
from .document import Policy, parse_policy

__all__ = ["Permissions", "Decision", "Reason", "Resource"]


@dataclass(frozen=True)
class Resource:
    """A resource of a service other than KMS, as the permissions engine decides on it.

    ``arn`` and ``account_id`` (the owner); ``policy``, the resource-based policy attached to it
    (an S3 bucket policy, a role's trust policy) or None; ``policy_label`` names it in reasons;
    ``context``, the condition keys the request adds (``iam:PolicyARN``, ``sts:ExternalId``).
    ``policy_required``: the resource-based policy must let the caller in even within the account (a
    role's trust policy: IAM policies alone never let anyone assume a role), as a key policy must.
    ``bindings``: the unique IDs of the principals the policy named when stored (see evaluation).
    """

    arn: str
    account_id: str
    policy: str | None = None
    policy_label: str = "bucket policy"
    context: dict | None = None
    policy_required: bool = False
    bindings: dict | None = None


_ALIAS_ACTIONS = frozenset({"kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias"})
# The request member that carries the encryption context each action is checked with.
_CONTEXT_FIELD = {
    "kms:ReEncryptFrom": "source_encryption_context",
    "kms:ReEncryptTo": "destination_encryption_context",
}


@functools.lru_cache(maxsize=1024)
def _parsed(text: str, key_policy: bool) -> Policy:
    return parse_policy(text, key_policy=key_policy, max_bytes=1 << 20)


@dataclass(frozen=True)
class Reason:
    """One statement or grant, and what it contributed."""

    source: str  # "key policy", 'inline policy "x" of user alice', "grant 1a2b...", "IAM"
    label: str  # which statement or grant
    effect: str  # "Allow", "Deny"
    applies: bool
    detail: str
    via: str | None = None  # "principal", "account", "grant": how an Allow counts

    def __str__(self) -> str:
        mark = ("DENY " if self.effect == "Deny" else "ALLOW") if self.applies else "  -  "
        return f"{mark} {self.source}, {self.label}: {self.detail}"


@dataclass
class Decision:
    """The answer to "may this principal do this action on this key?", with its reasons."""

    allowed: bool
    principal: str
    action: str
    resource: str
    summary: str
    reasons: list[Reason] = field(default_factory=list)
    denied_by: Reason | None = None
    allowed_by: list[Reason] = field(default_factory=list)

    @property
    def aws_reason(self) -> str:
        """The end of AWS's AccessDenied message for this decision (the summary explains more)."""
        if self.denied_by is not None:
            where = "a resource-based policy" if self.denied_by.source in _RESOURCE_POLICIES else \
                "an identity-based policy"
            return f"with an explicit deny in {where}"
        if "identity-based policy" in self.summary:
            return f"because no identity-based policy allows the {self.action} action"
        return f"because no resource-based policy allows the {self.action} action"

    @property
    def deciding(self) -> list[Reason]:
        """The statements and grants that decided: the Deny that won, or the Allows that counted."""
        if self.denied_by is not None:
            return [self.denied_by]
        return list(self.allowed_by)

    def explain(self) -> str:
        lines = [f"{'ALLOWED' if self.allowed else 'DENIED'}: {self.principal} -> {self.action} on {self.resource}",
                 f"  {self.summary}"]
        lines += [f"  {r}" for r in self.reasons]
        return "\n".join(lines)

    __str__ = explain


def _from_statement(r: StatementResult) -> Reason:
    return Reason(r.source, r.statement.label, r.effect, r.applies, r.detail, r.principal_match)


class Permissions:
    """The one permissions engine: every service's ``authorizer``, deciding and enforcing every call.

    ``iam`` is where identity policies come from; ``kms``, when given, is the KMS whose aliases and
    principals a decision may need - a KMS that asks hands itself over (``kms=``) instead, so the
    engine can be made before the services that use it.
    """

    def __init__(self, kms=None, iam=None, *, clock=None):
        self.kms = kms
        self.iam = iam
        self.clock = clock if clock is not None else kms.clock
        self._allowed: set[tuple] = set()
        self.remember = True  # remember unconditional allows (see __call__); False evaluates every call afresh

    # ------------------------------------------------------------------ context

    def context(self, principal: Principal, action: str, key: KmsKey | None, request: dict | None,
                via_service: str | None = None, kms=None) -> dict[str, Any]:
        """The condition keys of a request (KMS and global keys), as IAM would see them."""
        request = request or {}
        ctx = self.global_context(principal)
        ctx["kms:CallerAccount"] = principal.account_id
        if via_service:
            ctx["kms:ViaService"] = via_service
            ctx["aws:CalledVia"] = [via_service.split(".")[0] + ".amazonaws.com"]
        encryption_context = request.get(_CONTEXT_FIELD.get(action, "encryption_context"))
        if action == "kms:CreateGrant":
            constraints = request.get("constraints") or {}
            encryption_context = {**(constraints.get("encryption_context_subset") or {}),
                                  **(constraints.get("encryption_context_equals") or {})} or None
            ctx["kms:GrantOperations"] = list(request.get("operations") or [])
            ctx["kms:GrantIsForAWSResource"] = via_service is not None
            if request.get("grantee_principal"):
                ctx["kms:GranteePrincipal"] = request["grantee_principal"]
            if request.get("retiring_principal"):
                ctx["kms:RetiringPrincipal"] = request["retiring_principal"]
            if constraints:
                ctx["kms:GrantConstraintType"] = [
                    {"encryption_context_subset": "EncryptionContextSubset",
                     "encryption_context_equals": "EncryptionContextEquals"}[k] for k in constraints if constraints[k]
                ]
        if action in ("kms:ListGrants", "kms:RevokeGrant"):
            ctx["kms:GrantIsForAWSResource"] = via_service is not None
        if encryption_context:
            for k, v in encryption_context.items():
                ctx[f"kms:EncryptionContext:{k}"] = v
            ctx["kms:EncryptionContextKeys"] = list(encryption_context)
        simple = {
            "encryption_algorithm": "kms:EncryptionAlgorithm", "signing_algorithm": "kms:SigningAlgorithm",
            "mac_algorithm": "kms:MacAlgorithm", "message_type": "kms:MessageType",
            "key_agreement_algorithm": "kms:KeyAgreementAlgorithm", "key_pair_spec": "kms:DataKeyPairSpec",
            "wrapping_algorithm": "kms:WrappingAlgorithm", "wrapping_key_spec": "kms:WrappingKeySpec",
            "expiration_model": "kms:ExpirationModel", "valid_to": "kms:ValidTo",
            "policy_name": "kms:PolicyName", "replica_region": "kms:ReplicaRegion",
            "primary_region": "kms:PrimaryRegion", "rotation_period_in_days": "kms:RotationPeriodInDays",
            "pending_window_in_days": "kms:ScheduleKeyDeletionPendingWindowInDays",
            "bypass_policy_lockout_safety_check": "kms:BypassPolicyLockoutSafetyCheck",
        }
        for member, name in simple.items():
            if request.get(member) is not None:
                ctx[name] = request[member]
        if action == "kms:ScheduleKeyDeletion" and "kms:ScheduleKeyDeletionPendingWindowInDays" not in ctx:
            ctx["kms:ScheduleKeyDeletionPendingWindowInDays"] = 30
        if action == "kms:EnableKeyRotation" and "kms:RotationPeriodInDays" not in ctx:
            ctx["kms:RotationPeriodInDays"] = 365
        ref = request.get("key_id")
        if isinstance(ref, str) and ("alias/" in ref):
            ctx["kms:RequestAlias"] = ref[ref.index("alias/"):]
        for tag in request.get("tags") or []:
            ctx[f"aws:RequestTag/{tag['tag_key']}"] = tag["tag_value"]
        if request.get("tags") is not None or request.get("tag_keys") is not None:
            ctx["aws:TagKeys"] = [t["tag_key"] for t in request.get("tags") or []] or list(request.get("tag_keys") or [])
        if key is not None:
            ctx["kms:KeySpec"] = key.key_spec
            ctx["kms:CustomerMasterKeySpec"] = key.key_spec
            ctx["kms:KeyUsage"] = key.key_usage
            ctx["kms:CustomerMasterKeyUsage"] = key.key_usage
            ctx["kms:KeyOrigin"] = key.origin
            ctx["kms:MultiRegion"] = key.multi_region
            if key.mr_role:
                ctx["kms:MultiRegionKeyType"] = key.mr_role
            for k, v in key.tags.items():
                ctx[f"aws:ResourceTag/{k}"] = v
            aliases = (kms or self.kms).aliases_of(key)
            if len(aliases) <= 50:
                ctx["kms:ResourceAliases"] = aliases
        return ctx

    # ------------------------------------------------------------------ decisions

    def _identity(self, principal: Principal) -> list[tuple[str, Policy]]:
        if self.iam is None or principal.kind in ("Root", "AWSService"):
            return []
        return [(label, _parsed(doc, False)) for label, doc in self.iam.identity_policies(principal)]

    def decide(self, principal: Principal, action: str, key: KmsKey | None, request: dict | None = None, *,
               via_service: str | None = None, resource: str | None = None, explain: bool = True,
               kms=None) -> Decision:
        """Decide, with every reason. ``explain=False`` skips statements whose Action cannot match
        (they can never change the outcome) - the enforcement path."""
        identity = [(label, policy.statements if explain else _candidates(policy, action))
                    for label, policy in self._identity(principal)]
        key_statements = ()
        if key is not None:
            key_policy = _parsed(key.policy, True)
            key_statements = key_policy.statements if explain else _candidates(key_policy, action)
        # Condition keys are worked out only when a statement that may apply has a Condition
        # (building them is most of the cost of a decision).
        needs_context = explain or any(st.condition for st in key_statements) or any(
            st.condition for _, sts in identity for st in sts)
        context = self.context(principal, action, key, request, via_service, kms) if needs_context else {}
        resource = resource or (key.arn if key is not None else "*")
        req = EvalRequest(principal.arn, principal.account_id, principal.kind, action, resource, context,
                          principal.role_arn, principal_id=principal.principal_id)
        reasons: list[Reason] = []
        identity_allow = principal.kind == "Root"  # the root user holds every permission in its own account
        identity_note = "the account's root user needs no identity policy" if identity_allow else ""
        deny, identity_allows = _identity_pass(identity, req, reasons)
        identity_allow = identity_allow or bool(identity_allows)

        if key is None:  # IAM-only operations
            if deny is not None:
                return self._denied(req, reasons, deny)
            if identity_allow:
                return Decision(True, principal.arn, action, resource,
                                identity_note or "an identity policy allows it", reasons, allowed_by=identity_allows)
            return Decision(False, principal.arn, action, resource,
                            f"no identity-based policy allows the {action} action", reasons)

        key_direct = key_account = False
        direct_allows: list[Reason] = []
        account_allows: list[Reason] = []
        for stmt in key_statements:
            r = _from_statement(evaluate_statement(stmt, req, "key policy", resource_policy=True,
                                                   bindings=key.policy_principals))
            reasons.append(r)
            if r.applies and r.effect == "Deny" and deny is None:
                deny = r
            elif r.applies and r.effect == "Allow":
                if r.via == "principal":
                    key_direct = True
                    direct_allows.append(r)
                elif r.via == "account":
                    key_account = True
                    account_allows.append(r)

        grant_reason = None
        operation = action.split(":", 1)[1]
        grant_context = (request or {}).get(_CONTEXT_FIELD.get(action, "encryption_context"))
        for grant in key.grants:
            ok, why = grant_allows(grant, principal.arn, principal.role_arn, operation, grant_context,
                                   principal.principal_id)
            if ok or explain:
                r = Reason(f"grant {grant['grant_id'][:12]}...", grant.get("name") or grant["grant_id"], "Allow", ok,
                           f"grants {', '.join(grant['operations'])} to {grant.get('grantee_principal')}: {why}",
                           "grant")
                reasons.append(r)
                if ok and grant_reason is None:
                    grant_reason = r

        if deny is not None:
            return self._denied(req, reasons, deny)
        same_account = principal.account_id == key.account_id
        if same_account:
            if key_direct:
                return Decision(True, principal.arn, action, resource, "the key policy allows the caller", reasons,
                                allowed_by=direct_allows)
            if key_account and identity_allow:
                return Decision(True, principal.arn, action, resource,
                                "the key policy trusts the account and an identity policy allows the caller",
                                reasons, allowed_by=account_allows + identity_allows)
        elif (key_direct or key_account) and identity_allow:
            return Decision(True, principal.arn, action, resource,
                            "the key policy allows the caller's account or the caller, and the caller's identity "
                            "policy allows the action (cross-account)", reasons,
                            allowed_by=direct_allows + account_allows + identity_allows)
        if grant_reason is not None:
            return Decision(True, principal.arn, action, resource, "a grant allows the caller", reasons,
                            allowed_by=[grant_reason])
        if key_account and not identity_allow:
            summary = (f"the key policy trusts the account, but no identity-based policy allows the {action} "
                       "action")
        elif not same_account and key_direct:
            summary = f"cross-account use also needs an identity-based policy that allows the {action} action"
        else:
            summary = f"no resource-based policy allows the {action} action"
        return Decision(False, principal.arn, action, resource, summary, reasons)

    @staticmethod
    def _denied(req: EvalRequest, reasons: list[Reason], deny: Reason) -> Decision:
        where = "a resource-based policy" if deny.source in _RESOURCE_POLICIES else "an identity-based policy"
        return Decision(False, req.principal_arn, req.action, req.resource,
                        f"with an explicit deny in {where}", reasons, denied_by=deny)

    # ------------------------------------------------------------------ enforcement

    def decide_resource(self, principal: Principal, action: str, resource: Resource, request: dict | None = None,
                        *, ctx=None, explain: bool = True) -> Decision:
        """Decide on a resource of another service (S3, IAM, CloudTrail), with every reason.

        AWS's policy evaluation logic (IAM User Guide, "Policy evaluation logic" and "Cross-account
        policy evaluation logic"): an explicit Deny in an identity policy or the resource-based policy
        wins; otherwise, within the resource's account, an Allow in either an identity policy or the
        resource-based policy (naming the caller) allows; a resource-based policy that names only the
        account delegates to the account's identity policies. Across accounts both sides must allow:
        the resource-based policy must name the caller or the caller's account, and the caller's
        identity policy must allow the action. The root user has every identity permission in its own
        account (and none in another's: a resource-based policy must let its account in).
        """
        identity = [(label, policy.statements if explain else _candidates(policy, action))
                    for label, policy in self._identity(principal)]
        resource_statements = ()
        if resource.policy:
            parsed = _parsed(resource.policy, True)  # a resource-based policy: its statements name principals
            resource_statements = parsed.statements if explain else _candidates(parsed, action)
            if resource.policy_label == "trust policy":  # a trust policy's resource is the role itself
                resource_statements = [st if st.resource is not None or st.not_resource is not None
                                       else dataclasses.replace(st, resource=["*"]) for st in resource_statements]
        context = self.global_context(principal, ctx)
        if resource.context:
            context.update(resource.context)
        req = EvalRequest(principal.arn, principal.account_id, principal.kind, action, resource.arn, context,
                          principal.role_arn, principal_id=principal.principal_id)
        reasons: list[Reason] = []
        deny, identity_allows = _identity_pass(identity, req, reasons)
        identity_allow = principal.kind == "Root" or bool(identity_allows)
        direct: list[Reason] = []
        via_account: list[Reason] = []
        for stmt in resource_statements:
            r = _from_statement(evaluate_statement(stmt, req, resource.policy_label, resource_policy=True,
                                                   bindings=resource.bindings))
            reasons.append(r)
            if r.applies and r.effect == "Deny" and deny is None:
                deny = r
            elif r.applies and r.effect == "Allow":
                (direct if r.via == "principal" else via_account).append(r)
        if deny is not None:
            return self._denied(req, reasons, deny)
        arn = principal.arn
        if principal.account_id == resource.account_id:
            if direct:
                return Decision(True, arn, action, resource.arn, f"the {resource.policy_label} allows the caller",
                                reasons, allowed_by=direct)
            if identity_allow and (via_account or not resource.policy_required):
                summary = ("the account's root user needs no identity policy" if principal.kind == "Root"
                           else "an identity policy allows it")
                return Decision(True, arn, action, resource.arn, summary, reasons,
                                allowed_by=via_account + identity_allows)
            if via_account or not resource.policy_required:
                return Decision(False, arn, action, resource.arn,
                                f"no identity-based policy allows the {action} action", reasons)
            return Decision(False, arn, action, resource.arn,
                            f"no resource-based policy allows the {action} action", reasons)
        if (direct or via_account) and identity_allow:
            return Decision(True, arn, action, resource.arn,
                            f"the {resource.policy_label} allows the caller's account or the caller, and the "
                            "caller's identity policy allows the action (cross-account)", reasons,
                            allowed_by=direct + via_account + identity_allows)
        if direct or via_account:
            summary = f"cross-account use also needs an identity-based policy that allows the {action} action"
        else:
            summary = f"no resource-based policy allows the {action} action"
        return Decision(False, arn, action, resource.arn, summary, reasons)

    def global_context(self, principal: Principal, ctx=None) -> dict[str, Any]:
        """The global condition keys of a request (IAM User Guide, "AWS global condition context keys")."""
        now = self.clock.now()
        context: dict[str, Any] = {
            "aws:PrincipalArn": principal.role_arn or principal.arn,
            "aws:PrincipalAccount": principal.account_id,
            "aws:PrincipalType": {"Root": "Account", "IAMUser": "User", "AssumedRole": "AssumedRole"}.get(
                principal.kind, principal.kind),
            "aws:CurrentTime": now,
            "aws:EpochTime": int(now.timestamp()),
            "aws:SecureTransport": True,
        }
        if principal.principal_id:
            context["aws:userid"] = principal.principal_id
        if principal.kind == "IAMUser" and principal.name:
            context["aws:username"] = principal.name
        if ctx is not None:
            context["aws:SourceIp"] = ctx.source_ip
            context["aws:RequestedRegion"] = ctx.region
        tags = getattr(self.iam, "principal_tags", None)
        if tags is not None and principal.kind in ("IAMUser", "AssumedRole"):
            for k, v in tags(principal).items():
                context[f"aws:PrincipalTag/{k}"] = v
        return context

    def __call__(self, ctx, action: str, key, request: dict, *, denied: type = AccessDeniedException,
                 kms=None) -> None:
        principal = ctx.principal
        if isinstance(key, Resource):
            # An AWS service principal holds no identity policy: only a resource-based policy may let it in.
            decision = self.decide_resource(principal, action, key, request, ctx=ctx, explain=False)
            if not decision.allowed:
                raise denied(f"User: {principal.arn} is not authorized to perform: {action} on resource: "
                             f"{decision.resource} {decision.aws_reason}")
            return
        if principal.kind == "AWSService":
            return  # KMS itself (scheduled rotations and deletions)
        # Without a Condition on any statement that may apply, an allowed decision depends only on
        # the key policy, the caller's identity policies and the action (grants only ever add):
        # remember it until the key policy or anything in IAM changes.
        cache_key = None
        iam_version = getattr(self.iam, "version", None) if self.iam is not None else 0
        if self.remember and key is not None and iam_version is not None and action not in _ALIAS_ACTIONS \
                and action != "kms:CreateGrant":
            cache_key = (key.policy, principal.arn, principal.role_arn, principal.principal_id, action, key.arn,
                         iam_version)
            if cache_key in self._allowed:
                return
        decision = self.decide(principal, action, key, request, via_service=ctx.via_service, explain=False, kms=kms)
        if cache_key is not None and decision.allowed and decision.summary != "a grant allows the caller" \
                and not self._conditional(principal, action, key):
            if len(self._allowed) > 10000:
                self._allowed.clear()
            self._allowed.add(cache_key)
        if decision.allowed and action in _ALIAS_ACTIONS and request.get("alias_name"):
            alias = m.alias_arn(ctx.region, ctx.account_id, request["alias_name"])
            on_alias = self.decide(principal, action, None, request, via_service=ctx.via_service, resource=alias,
                                   explain=False)
            if not on_alias.allowed:
                decision = on_alias
        if decision.allowed and action == "kms:CreateGrant" and key is not None:
            self._check_sub_grant(decision, principal, key, request)
        if not decision.allowed:
            raise denied(
                f"User: {principal.arn} is not authorized to perform: {action} on resource: {decision.resource} "
                f"{decision.aws_reason}"
            )

    def _conditional(self, principal: Principal, action: str, key: KmsKey) -> bool:
        """Whether a statement that may apply to this call has a Condition."""
        if any(st.condition for st in _candidates(_parsed(key.policy, True), action)):
            return True
        return any(st.condition for _, policy in self._identity(principal) for st in _candidates(policy, action))

    @staticmethod
    def _check_sub_grant(decision: Decision, principal: Principal, key: KmsKey, request: dict) -> None:
        """A caller allowed CreateGrant only by a grant may pass on only narrower rights."""
        if decision.summary != "a grant allows the caller":
            return
        wanted = set(request.get("operations") or [])
        new = request.get("constraints") or {}
        for grant in key.grants:
            if "CreateGrant" not in grant["operations"]:
                continue
            if not grant_names(grant, "grantee_principal", principal):
                continue
            if not wanted <= set(grant["operations"]):
                continue
            parent = grant.get("constraints") or {}
            if parent.get("encryption_context_equals") is not None and \
                    new.get("encryption_context_equals") != parent["encryption_context_equals"]:
                continue
            subset = parent.get("encryption_context_subset") or {}
            mine = {**(new.get("encryption_context_subset") or {}), **(new.get("encryption_context_equals") or {})}
            if any(mine.get(k) != v for k, v in subset.items()):
                continue
            return
        raise AccessDeniedException(
            f"User: {principal.arn} is not authorized to perform: kms:CreateGrant on resource: {key.arn} because "
            "a grant can only pass on the operations and constraints of the grant that allows it"
        )

    # ------------------------------------------------------------------ policy checks

    def check_lockout(self, ctx, policy_text: str, *, bypass: bool = False, kms=None) -> None:
        """PutKeyPolicy/CreateKey: every principal must exist, and (unless ``bypass``, i.e.
        BypassPolicyLockoutSafetyCheck) the new policy must let the caller change it again."""
        policy = _parsed(policy_text, True)
        for stmt in policy.statements:
            for block in (stmt.principal, stmt.not_principal):
                for name in (block or {}).get("AWS", []):
                    if name != "*" and not (kms or self.kms).principal_known(name):
                        raise MalformedPolicyDocumentException(
                            "Policy contains a statement with one or more invalid principals."
                        )
            for operator in stmt.condition:
                try:
                    split_operator(operator)
                except KeyError:
                    raise MalformedPolicyDocumentException(
                        f"Policy contains a statement with an unknown condition operator: {operator}."
                    ) from None
                if operator.startswith("ForAllValues:") and any(
                        k.lower().startswith(("kms:encryptioncontext:", "aws:requesttag/"))
                        for k in stmt.condition[operator]):
                    raise MalformedPolicyDocumentException(
                        "OverlyPermissiveCondition: ForAllValues is not valid with a single-valued condition key "
                        "such as kms:EncryptionContext:<key> or aws:RequestTag/<key>."
                    )
        principal = ctx.principal
        if bypass or principal.kind == "AWSService":
            return
        probe = KmsKey(account_id=ctx.account_id, region=ctx.region, key_id="00000000-0000-4000-8000-000000000000",
                       creation_date=_dt.datetime.now(_dt.timezone.utc), policy=policy_text)
        if not self.decide(principal, "kms:PutKeyPolicy", probe, {}, explain=False, kms=kms).allowed:
            raise MalformedPolicyDocumentException(
                "The new key policy will not allow you to update the key policy in the future."
            )


# The sources of statements that are resource-based policies (an explicit Deny there is "in a
# resource-based policy" in AWS's AccessDenied message).
_RESOURCE_POLICIES = frozenset({"key policy", "bucket policy"})


def _may_match(stmt, action: str) -> bool:
    if stmt.action is not None:
        return any(a == "*" or wildcard_match(a, action, case_insensitive=True) for a in stmt.action)
    if stmt.not_action is not None:
        return not any(a == "*" or wildcard_match(a, action, case_insensitive=True) for a in stmt.not_action)
    return False


def _candidates(policy: Policy, action: str) -> tuple:
    """The statements of a policy whose Action can match ``action``, indexed once per policy and action.

    Statements that cannot match never change a decision, so enforcement skips them;
    explanations (``explain=True``) still list every statement.
    """
    index = policy.__dict__.get("_by_action")
    if index is None:
        index = {}
        object.__setattr__(policy, "_by_action", index)
    found = index.get(action)
    if found is None:
        found = index[action] = tuple(s for s in policy.statements if _may_match(s, action))
    return found


def _identity_pass(identity, req: EvalRequest, reasons: list[Reason]) -> tuple[Reason | None, list[Reason]]:
    """Every identity-policy statement against ``req`` (each reason appended to ``reasons``): the first
    explicit Deny that applies, and the Allows that apply."""
    deny: Reason | None = None
    allows: list[Reason] = []
    for label, statements in identity:
        for stmt in statements:
            r = _from_statement(evaluate_statement(stmt, req, label, resource_policy=False))
            reasons.append(r)
            if r.applies and r.effect == "Deny" and deny is None:
                deny = r
            elif r.applies and r.effect == "Allow":
                allows.append(r)
    return deny, allows
