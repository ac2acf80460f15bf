"""Layer 3: the simulated IAM and STS services.

IAM holds, for every account, its *users*, *roles* and customer managed
*policies*, each user's *access keys*, and the *identity policies* (inline,
or managed and attached) that say what a user or a role session may do. STS
hands out temporary credentials for roles (``AssumeRole``) and tells a caller
who it is (``GetCallerIdentity``).

Every operation runs the service base's one path (``base.Service.call``), from
:data:`IAM.OPERATIONS` and :data:`STS.OPERATIONS`:

1. **validate** the request (names, paths, documents) the way AWS does;
2. **authorize** the caller, by the one permissions engine (the handler yields
   the resource as soon as its validation names it; the service base decides):
   an account's root user may do anything in its account; an IAM user or a role
   session needs an identity policy that allows ``iam:<Operation>`` on the
   resource (an explicit ``Deny`` wins); nobody acts on another account's IAM
   resources;
3. **act**, on a private overlay of the records: nothing is visible until the
   whole change is written to the store in one transaction, so a failed
   request never leaves half a change behind (not in memory, not on disk).

Any 12-digit account exists as soon as someone acts in it: the root user of
``444455556666`` creates users in ``444455556666``. Accounts never see each
other's users, roles, policies or keys.

Requests and responses are plain dicts with snake_case names
(``user_name``, ``assume_role_policy_document``); the query-protocol wire
layer maps them to and from AWS's XML. Errors are
:class:`~kms_teach._errors.AWSError` with IAM's codes (``NoSuchEntity``,
``EntityAlreadyExists``, ``DeleteConflict``, ``MalformedPolicyDocument``,
``LimitExceeded``, ``ValidationError``, ``AccessDenied``) and HTTP statuses.

Fidelity notes:

* IAM returns policy documents URL-encoded (RFC 3986), as AWS does; botocore
  decodes them, so a boto3 caller gets back the document they put, parsed into
  a dict.
* Names of users, roles and managed policies are unique per account without
  regard to case, and are found without regard to case, as in AWS.
* Not simulated: groups, permissions boundaries, session policies and session
  tags (requests that use them are refused with a clear message rather than
  silently ignored), policy versions beyond ``v1``, login profiles and MFA.
  One AWS managed policy exists: ``arn:aws:iam::aws:policy/AdministratorAccess``.
"""

from __future__ import annotations

import base64
import bisect
import copy
import datetime as _dt
import functools
import json
import re
import threading
from typing import Any, Callable
from urllib.parse import quote

from ..._errors import (
    AWSError,
    AccessDenied,
    DeleteConflict,
    EntityAlreadyExists,
    InvalidAction,
    InvalidInput,
    LimitExceeded,
    MalformedPolicyDocument,
    NoSuchEntity,
    ServiceFailure,
    ValidationError,
)
from ..._policy.authz import Permissions, Resource
from ..base import Operation, Service, Target, IN_HANDLER, account_target
from ..._model import Principal
from ..._policy.document import Policy, bind_principals, parse_policy, show_bound
from ..._store import Changes, MemoryStore
from .records import RECORD_TYPES, Account, AccessKey, ManagedPolicy, Role, Session, User

__all__ = ["IAM", "IAM_OPERATIONS", "STS_OPERATIONS", "SESSION_NAME"]

#: The session name of the role sessions :meth:`IAM.principal` makes for a role ARN.
SESSION_NAME = "kms-teach-session"

# Quotas (IAM User Guide, "IAM and AWS STS quotas"). Policy sizes are counted
# in characters, without whitespace.
USER_INLINE_POLICY_MAX = 2048  # aggregate of a user's inline policies
ROLE_INLINE_POLICY_MAX = 10240  # aggregate of a role's inline policies
MANAGED_POLICY_MAX = 6144
TRUST_POLICY_MAX = 2048
ACCESS_KEYS_PER_USER = 2
MANAGED_POLICIES_PER_ENTITY = 10
DEFAULT_MAX_ITEMS = 100

# Kinds of store records (each record holds its identity too).
USER, ROLE, POLICY, ACCESS_KEY, SESSION, ACCOUNT = (cls.KIND for cls in RECORD_TYPES)

_ACCOUNT_RE = re.compile(r"^\d{12}$")
_NAME_RE = re.compile(r"[\w+=,.@-]+", re.ASCII)
_SESSION_NAME_RE = re.compile(r"[\w+=,.@-]*", re.ASCII)
_POLICY_PATH_RE = re.compile(r"((/[A-Za-z0-9.,+@=_-]+)*)/")
_IAM_ARN_RE = re.compile(r"^arn:aws:iam::(\d{12}|aws):(user|role|policy)(/.*)$")
_ROOT_ARN_RE = re.compile(r"^arn:aws:iam::(\d{12}):root$")
_SESSION_ARN_RE = re.compile(r"^arn:aws:sts::(\d{12}):assumed-role/([^/]+)/([^/]+)$")
_WHITESPACE_RE = re.compile(r"\s+")
_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

def _validation(path: str, constraint: str, value: Any = None) -> ValidationError:
    shown = "" if value is None else f" '{value}'"
    return ValidationError(
        f"1 validation error detected: Value{shown} at '{path}' failed to satisfy constraint: {constraint}"
    )


def _iso(when: _dt.datetime) -> str:
    return when.isoformat()


def _when(text: str) -> _dt.datetime:
    return _dt.datetime.fromisoformat(text)


# ---------------------------------------------------------------------------
# AWS managed policies (the few the simulator knows)
# ---------------------------------------------------------------------------

_AWS_MANAGED: dict[str, ManagedPolicy] = {
    "administratoraccess": ManagedPolicy(
        account_id="aws",
        policy_name="AdministratorAccess",
        path="/",
        policy_id="ANPAIWMBCKSKIEE64ZLYK",
        create_date=_dt.datetime(2015, 2, 6, 18, 39, 46, tzinfo=_dt.timezone.utc),
        update_date=_dt.datetime(2015, 2, 6, 18, 39, 46, tzinfo=_dt.timezone.utc),
        description="Provides full access to AWS services and resources.",
        document=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
            indent=4,
        ),
    ),
}


def _session_arn(account: str, role_name: str, session: str) -> str:
    return f"arn:aws:sts::{account}:assumed-role/{role_name}/{session}"


@functools.lru_cache(maxsize=512)
def _parsed_identity_policy(text: str) -> Policy:
    return parse_policy(text, key_policy=False, max_bytes=1 << 30)


@functools.lru_cache(maxsize=512)
def _parsed_trust_policy(text: str) -> Policy:
    return parse_policy(text, key_policy=True, max_bytes=1 << 30)


def _policy_size(text: str) -> int:
    """How IAM measures a policy against its quotas: characters, whitespace not counted."""
    return len(_WHITESPACE_RE.sub("", text))


def _encode_doc(text: str) -> str:
    """A policy document as IAM returns it: URL-encoded (RFC 3986)."""
    return quote(text, safe="")


#: Operations of each service, in the order the docs list them.
IAM_OPERATIONS = (
    "CreateUser", "GetUser", "ListUsers", "DeleteUser",
    "CreateRole", "GetRole", "ListRoles", "DeleteRole", "UpdateAssumeRolePolicy",
    "PutUserPolicy", "GetUserPolicy", "ListUserPolicies", "DeleteUserPolicy",
    "PutRolePolicy", "GetRolePolicy", "ListRolePolicies", "DeleteRolePolicy",
    "CreatePolicy", "GetPolicy", "GetPolicyVersion", "ListPolicies", "DeletePolicy",
    "AttachUserPolicy", "AttachRolePolicy", "DetachUserPolicy", "DetachRolePolicy",
    "ListAttachedUserPolicies", "ListAttachedRolePolicies",
    "CreateAccessKey", "ListAccessKeys", "UpdateAccessKey", "DeleteAccessKey",
)
STS_OPERATIONS = ("GetCallerIdentity", "AssumeRole")


class IAM(Service):
    """The simulated AWS Identity and Access Management and Security Token Service of one cloud.

    IAM's operations run the service base's path (:data:`IAM.OPERATIONS`); STS's are :attr:`sts`, a
    service of its own over the same records. Every IAM and STS call is a management event, recorded
    in us-east-1 (IAM and STS are global services; CloudTrail User Guide, "CloudTrail integration with
    IAM and AWS STS"). Without an ``authorizer``, IAM builds its own permissions engine.
    """

    EVENT_SOURCE = "iam.amazonaws.com"
    AUDIT_REGION = "us-east-1"

    def __init__(self, *, clock, random, store=None, audit=None, authorizer=None):
        self.clock = clock
        self.random = random
        self.store = store if store is not None else MemoryStore()
        self._lock = threading.RLock()
        # kind -> identity -> record (records.py: what the store holds, as dataclasses)
        self._data: dict[str, dict[tuple, Any]] = {cls.KIND: {} for cls in RECORD_TYPES}
        # The changes of the operation in progress: reads see them, nobody else does.
        self._tx: Changes | None = None
        # Grows with every committed change: whoever caches a permission decision keys it on this.
        self.version = 0
        self._init_service(audit=audit, authorizer=authorizer if authorizer is not None else
                           Permissions(None, self, clock=clock))
        self.sts = STS(self)
        self._load()

    def _load(self) -> None:
        records = self.store.load_records()
        for cls in RECORD_TYPES:
            table = self._data[cls.KIND] = {}
            for stored in records.get(cls.KIND, ()):
                rec = cls.from_record(stored)
                table[rec.ident] = rec

    # ------------------------------------------------------------------ running an operation

    def sts_call(self, operation: str, request: dict, ctx) -> dict:
        """Run one STS operation (snake_case request and response)."""
        return self.sts.call(operation, request, ctx)

    # -- the service base's hooks ------------------------------------------------

    def _unsupported(self, operation: str) -> AWSError:
        return InvalidAction(f"kms_teach does not simulate the IAM {operation} operation.")

    def _internal(self, message: str) -> AWSError:
        return ServiceFailure(message)

    def _authorize(self, call, target) -> None:
        self.authorizer(target.ctx or call.ctx, target.action, target.resource, call.request, denied=AccessDenied)

    def _begin(self, call, *, touch_account: bool = True) -> None:
        self._tx = Changes()
        account = call.ctx.principal.account_id
        if touch_account and _ACCOUNT_RE.match(account or "") and self._get(ACCOUNT, (account,)) is None:
            # An account appears the first time someone acts in it.
            self._put(Account(account, call.when))

    def _commit(self, call) -> None:
        changes, self._tx = self._tx, None
        if changes:
            try:
                self.store.commit(changes)
            except Exception:
                raise ServiceFailure("The change could not be written to the store; nothing changed.") from None
            self._apply(changes)

    def _rollback(self, reload: bool) -> None:
        self._tx = None

    def _apply(self, changes: Changes) -> None:
        self.version += 1
        for (kind, ident), rec in changes.records.items():
            self._data[kind][ident] = rec
        for kind, ident in changes.deleted_records:
            self._data[kind].pop(ident, None)

    # -- records: reads see the operation's own changes ---------------------

    def _get(self, kind: str, ident: tuple):
        tx = self._tx
        if tx is not None:
            key = (kind, ident)
            if key in tx.records:
                return tx.records[key]
            if key in tx.deleted_records:
                return None
        return self._data[kind].get(ident)

    def _all(self, kind: str, account: str | None = None) -> list:
        table = self._data[kind]
        tx = self._tx
        if tx is not None and (tx.records or tx.deleted_records):
            table = dict(table)
            for (k, ident), rec in tx.records.items():
                if k == kind:
                    table[ident] = rec
            for k, ident in tx.deleted_records:
                if k == kind:
                    table.pop(ident, None)
        if account is None:
            return list(table.values())
        return [rec for rec in table.values() if rec.account_id == account]

    def _put(self, rec) -> None:
        self._tx.put_record(rec)

    def _delete(self, rec) -> None:
        self._tx.delete_record(rec)

    # -- identifiers ----------------------------------------------------------

    def _random_id(self, prefix: str, n: int) -> str:
        raw = self.random.token_bytes(n)
        return prefix + "".join(_B32[b & 31] for b in raw)

    def _unique_id(self, prefix: str) -> str:
        """A 21-character unique ID (AIDA..., AROA..., ANPA...), never reused."""
        used = {r.user_id for r in self._all(USER)} | {r.role_id for r in self._all(ROLE)} | {
            r.policy_id for r in self._all(POLICY)}
        while True:
            ident = self._random_id(prefix, 17)
            if ident not in used:
                return ident

    def _new_access_key_id(self, prefix: str) -> str:
        while True:
            akid = self._random_id(prefix, 16)
            if self._get(ACCESS_KEY, (akid,)) is None and self._get(SESSION, (akid,)) is None:
                return akid

    def _secret(self) -> str:
        return base64.b64encode(self.random.token_bytes(30)).decode("ascii")  # 40 characters

    # ------------------------------------------------------------------ lookups

    def _user(self, account: str, name: str) -> User | None:
        return self._get(USER, (account, name.lower()))

    def _role(self, account: str, name: str) -> Role | None:
        return self._get(ROLE, (account, name.lower()))

    def _need_user(self, account: str, name: str) -> User:
        rec = self._user(account, name)
        if rec is None:
            raise NoSuchEntity(f"The user with name {name} cannot be found.")
        return rec

    def _need_role(self, account: str, name: str) -> Role:
        rec = self._role(account, name)
        if rec is None:
            raise NoSuchEntity(f"The role with name {name} cannot be found.")
        return rec

    def _user_arn_for(self, account: str, name: str) -> str:
        rec = self._user(account, name)
        return rec.arn if rec else f"arn:aws:iam::{account}:user/{name}"

    def _role_arn_for(self, account: str, name: str) -> str:
        rec = self._role(account, name)
        return rec.arn if rec else f"arn:aws:iam::{account}:role/{name}"

    def _user_by_arn(self, arn: str) -> User | None:
        m = _IAM_ARN_RE.match(arn)
        if not m or m.group(2) != "user" or m.group(1) == "aws":
            return None
        rec = self._user(m.group(1), m.group(3).rsplit("/", 1)[-1])
        return rec if rec is not None and rec.arn.lower() == arn.lower() else None

    def _role_by_arn(self, arn: str) -> Role | None:
        m = _IAM_ARN_RE.match(arn)
        if not m or m.group(2) != "role" or m.group(1) == "aws":
            return None
        rec = self._role(m.group(1), m.group(3).rsplit("/", 1)[-1])
        return rec if rec is not None and rec.arn.lower() == arn.lower() else None

    def _policy_by_arn(self, arn: str) -> ManagedPolicy | None:
        m = _IAM_ARN_RE.match(arn)
        if not m or m.group(2) != "policy":
            return None
        name = m.group(3).rsplit("/", 1)[-1].lower()
        rec = _AWS_MANAGED.get(name) if m.group(1) == "aws" else self._get(POLICY, (m.group(1), name))
        return rec if rec is not None and rec.arn.lower() == arn.lower() else None

    def _access_keys_of(self, account: str, user_name: str | None) -> list[AccessKey]:
        want = user_name.lower() if user_name else None
        keys = [k for k in self._all(ACCESS_KEY, account)
                if (k.user_name.lower() if k.user_name else None) == want]
        return sorted(keys, key=lambda k: (k.create_date, k.access_key_id))

    def _attachments(self, policy_arn: str, account: str) -> int:
        """How many users and roles of ``account`` have the policy attached."""
        return sum(1 for rec in self._all(USER, account) + self._all(ROLE, account) if policy_arn in rec.attached)

    # ------------------------------------------------------------------ public interface for the lead

    def principal(self, arn: str) -> Principal:
        """The :class:`Principal` an ARN names: an account root, an IAM user, or a role session.

        A role ARN gives a session of that role named ``kms-teach-session``;
        an assumed-role ARN gives that session. Users and roles must exist.
        """
        with self._lock:
            if not isinstance(arn, str):
                raise ValueError(f"A principal is an ARN string, not {type(arn).__name__}.")
            m = _ROOT_ARN_RE.match(arn)
            if m:
                return Principal.root(m.group(1))
            m = _SESSION_ARN_RE.match(arn)
            if m:
                account, role_name, session = m.groups()
                role = self._role(account, role_name)
                if role is None:
                    raise ValueError(
                        f"There is no IAM role named {role_name} in account {account}, so there can be no session "
                        f"{arn}. Create the role first (iam.create_role(RoleName={role_name!r}, ...)).")
                if not (2 <= len(session) <= 64) or not _SESSION_NAME_RE.fullmatch(session):
                    raise ValueError(
                        f"{session!r} is not a valid role session name: 2 to 64 characters of letters, digits "
                        f"and +=,.@_-.")
                return self._session_principal(role, session)
            m = _IAM_ARN_RE.match(arn)
            if m and m.group(1) != "aws" and m.group(2) in ("user", "role"):
                account, kind, rest = m.groups()
                name = rest.rsplit("/", 1)[-1]
                if kind == "user":
                    rec = self._user(account, name)
                    if rec is None:
                        raise ValueError(
                            f"There is no IAM user named {name} in account {account}. Create it first "
                            f"(iam.create_user(UserName={name!r})) as a principal of that account.")
                    if rec.arn.lower() != arn.lower():
                        raise ValueError(f"The IAM user {rec.user_name} of account {account} has the ARN "
                                         f"{rec.arn}, not {arn} (the path is part of the ARN).")
                    return self._user_principal(rec)
                rec = self._role(account, name)
                if rec is None:
                    raise ValueError(
                        f"There is no IAM role named {name} in account {account}. Create it first "
                        f"(iam.create_role(RoleName={name!r}, AssumeRolePolicyDocument=...)).")
                if rec.arn.lower() != arn.lower():
                    raise ValueError(f"The IAM role {rec.role_name} of account {account} has the ARN "
                                     f"{rec.arn}, not {arn} (the path is part of the ARN).")
                return self._session_principal(rec, SESSION_NAME)
            raise ValueError(
                f"{arn!r} is not a principal kms_teach knows. Use an account root "
                f"(arn:aws:iam::111122223333:root), an IAM user (arn:aws:iam::111122223333:user/NAME), a role "
                f"(arn:aws:iam::111122223333:role/NAME, acting as a session of it) or a role session "
                f"(arn:aws:sts::111122223333:assumed-role/ROLE/SESSION).")

    @staticmethod
    def _user_principal(rec: User) -> Principal:
        return Principal(rec.arn, rec.account_id, "IAMUser", rec.user_name, None, rec.user_id)

    @staticmethod
    def _session_principal(role: Role, session: str) -> Principal:
        return Principal(
            _session_arn(role.account_id, role.role_name, session), role.account_id, "AssumedRole",
            session, role.arn, f"{role.role_id}:{session}",
        )

    def identity_policies(self, principal: Principal) -> list[tuple[str, str]]:
        """(label, document) of every identity policy that applies to ``principal``.

        A user's inline policies and attached managed policies; for a role
        session, its role's. Roots and services have none. A principal whose
        unique ID no longer matches (the user or role was deleted and created
        again under the same name) gets none, as in AWS.
        """
        with self._lock:
            if principal.kind == "IAMUser":
                rec = self._user_by_arn(principal.arn)
                what = "user"
                if rec is None or (principal.principal_id and principal.principal_id != rec.user_id):
                    return []
                name = rec.user_name
            elif principal.kind == "AssumedRole":
                rec = self._role_of_session(principal)
                what = "role"
                if rec is None:
                    return []
                name = rec.role_name
            else:
                return []
            out = [(f'inline policy "{pname}" of {what} {name}', doc) for pname, doc in rec.inline.items()]
            for arn in rec.attached:
                pol = self._policy_by_arn(arn)
                if pol is not None:
                    out.append((f"managed policy {arn} attached to {what} {name}", pol.document))
            return out

    def _role_of_session(self, principal: Principal) -> Role | None:
        role = None
        if principal.role_arn:
            role = self._role_by_arn(principal.role_arn)
        else:
            m = _SESSION_ARN_RE.match(principal.arn)
            if m:
                role = self._role(m.group(1), m.group(2))
        if role is None:
            return None
        if principal.principal_id and principal.principal_id.split(":", 1)[0] != role.role_id:
            return None
        return role

    def principal_tags(self, principal: Principal) -> dict[str, str]:
        """The tags of a user, or of a session's role (the ``aws:PrincipalTag/<key>`` condition keys)."""
        with self._lock:
            if principal.kind == "IAMUser":
                rec = self._user_by_arn(principal.arn)
                if rec is None or (principal.principal_id and principal.principal_id != rec.user_id):
                    return {}
            elif principal.kind == "AssumedRole":
                rec = self._role_of_session(principal)
            else:
                return {}
            return dict(rec.tags) if rec else {}

    def principal_exists(self, arn: str) -> bool:
        """Does ``arn`` name a principal a policy may name? Account roots (and bare account IDs), ``*``,
        existing users and roles, and sessions of existing roles."""
        with self._lock:
            if arn == "*" or _ACCOUNT_RE.match(arn) or _ROOT_ARN_RE.match(arn):
                return True
            m = _SESSION_ARN_RE.match(arn)
            if m:
                return self._role(m.group(1), m.group(2)) is not None
            return self._user_by_arn(arn) is not None or self._role_by_arn(arn) is not None

    def unique_id_of(self, arn: str) -> str | None:
        """The unique ID of the IAM user (AIDA...) or role (AROA...) an ARN names now, else None.

        Resource-based policies (key policies, trust policies) and grants keep it with each user or
        role they name, so that a user or role deleted and made again under the same name is another
        principal to them (IAM User Guide, "IAM identifiers", Unique identifiers).
        """
        with self._lock:
            return self._unique_id_now(arn)

    def access_key(self, access_key_id: str) -> tuple[Principal, str] | None:
        """(principal, secret access key) of an active access key or an unexpired role session, else None."""
        with self._lock:
            rec = self._data[ACCESS_KEY].get((access_key_id,))
            if rec is not None:
                if rec.status != "Active":
                    return None
                if rec.user_name is None:
                    return Principal.root(rec.account_id), rec.secret
                user = self._user(rec.account_id, rec.user_name)
                if user is None:
                    return None
                return self._user_principal(user), rec.secret
            sess = self._data[SESSION].get((access_key_id,))
            if sess is not None and self.clock.now() < sess.expiration:
                principal = Principal(
                    _session_arn(sess.account_id, sess.role_name, sess.session_name), sess.account_id,
                    "AssumedRole", sess.session_name, sess.role_arn, f"{sess.role_id}:{sess.session_name}")
                return principal, sess.secret
            return None

    def session_token(self, access_key_id: str) -> str | None:
        """The session token that must accompany an unexpired AssumeRole session key (for SigV4)."""
        with self._lock:
            sess = self._data[SESSION].get((access_key_id,))
            if sess is not None and self.clock.now() < sess.expiration:
                return sess.session_token
            return None

    # ------------------------------------------------------------------ authorization

    @staticmethod
    def _res(ctx, arn: str, extra: dict | None = None, *, aws_managed_ok: bool = False) -> Resource:
        """An IAM resource as the permissions engine decides on it: identity policies only, since IAM
        resources have no resource-based policy - so nobody acts on another account's IAM resources, not
        even its root user (``aws_managed_ok``: reading an AWS managed policy, which every account may)."""
        account = arn.split(":")[4] if arn.startswith("arn:") else ctx.principal.account_id
        if account == "aws" and aws_managed_ok:
            account = ctx.principal.account_id
        return Resource(arn, account, None, "IAM", extra)

    # ------------------------------------------------------------------ validation

    @staticmethod
    def _tags(request: dict) -> list[list[str]]:
        # The wire checked each tag against botocore's model (at most 50, the key's and value's lengths and
        # patterns); what the model cannot say is that keys are unique whatever their case.
        out, seen = [], set()
        for tag in request.get("tags") or []:
            key, value = tag["key"], tag["value"]
            if key.lower() in seen:
                raise InvalidInput("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
            seen.add(key.lower())
            out.append([key, value])
        return out

    @staticmethod
    def _tag_context(tags: list[list[str]]) -> dict:
        if not tags:
            return {}
        ctx: dict[str, Any] = {f"aws:RequestTag/{k}": v for k, v in tags}
        ctx["aws:TagKeys"] = [k for k, _ in tags]
        return ctx

    @staticmethod
    def _check_identity_policy(text: str) -> None:
        """Reject an identity policy document AWS would reject (MalformedPolicyDocument)."""
        try:
            policy = _parsed_identity_policy(text)
        except AWSError as exc:
            raise MalformedPolicyDocument(exc.message) from None
        for st in policy.statements:
            if st.action is None and st.not_action is None:
                raise MalformedPolicyDocument("Policy statement must contain actions.")
            if st.resource is None and st.not_resource is None:
                raise MalformedPolicyDocument("Policy statement must contain resources.")

    def _unique_id_now(self, arn: str) -> str | None:
        """unique_id_of, inside an operation (its own changes seen, the lock already held)."""
        m = _IAM_ARN_RE.match(arn)
        if not m or m.group(1) == "aws" or m.group(2) not in ("user", "role"):
            return None
        name = m.group(3).rsplit("/", 1)[-1]
        rec = self._user(m.group(1), name) if m.group(2) == "user" else self._role(m.group(1), name)
        if rec is None or rec.arn.lower() != arn.lower():
            return None
        return rec.user_id if m.group(2) == "user" else rec.role_id

    def _bind_trust(self, text: str) -> dict[str, str]:
        """The unique IDs of the users and roles a trust policy names (see _policy.document.bind_principals)."""
        return bind_principals(_parsed_trust_policy(text), self._unique_id_now)

    def _check_trust_policy(self, text: str) -> None:
        """Reject a role trust policy AWS would reject (MalformedPolicyDocument, LimitExceeded)."""
        if _policy_size(text) > TRUST_POLICY_MAX:
            raise LimitExceeded(f"Cannot exceed quota for ACLSizePerRole: {TRUST_POLICY_MAX}")
        try:
            policy = _parsed_trust_policy(text)
        except AWSError as exc:
            raise MalformedPolicyDocument(exc.message) from None
        for st in policy.statements:
            if st.resource is not None or st.not_resource is not None:
                raise MalformedPolicyDocument(
                    f"Has prohibited field {'Resource' if st.resource is not None else 'NotResource'}"
                )
            if st.action is None and st.not_action is None:
                raise MalformedPolicyDocument("Policy statement must contain actions.")
            for action in (st.action or []) + (st.not_action or []):
                if action != "*" and not action.lower().startswith("sts:"):
                    raise MalformedPolicyDocument("AssumeRole policy may only specify STS AssumeRole actions.")
            for block in (st.principal, st.not_principal):
                for name in (block or {}).get("AWS", []):
                    if not self.principal_exists(name):
                        raise MalformedPolicyDocument(f'Invalid principal in policy: "AWS":"{name}"')

    @staticmethod
    def _max_items(request: dict) -> int:
        value = request.get("max_items")  # 1 to 1000: the wire checked it
        return DEFAULT_MAX_ITEMS if value is None else value

    def _page(self, items: list, sort_key: Callable[[Any], str], request: dict, scope: str) -> tuple[list, dict]:
        """Marker/MaxItems pagination over items in a stable order: a marker names the last item returned,
        so items created or deleted between pages never make another one be skipped or repeated."""
        max_items = self._max_items(request)
        items = sorted(items, key=sort_key)
        keys = [sort_key(i) for i in items]
        start = 0
        marker = request.get("marker")
        if marker is not None:
            try:
                got_scope, last = json.loads(base64.urlsafe_b64decode(marker.encode("ascii")))
                if got_scope != scope or not isinstance(last, str):
                    raise ValueError(marker)
            except (ValueError, TypeError, UnicodeError):
                raise ValidationError("Invalid Marker.") from None
            start = bisect.bisect_right(keys, last)
        page = items[start:start + max_items]
        end = start + len(page)
        if end < len(items):
            token = base64.urlsafe_b64encode(json.dumps([scope, keys[end - 1]]).encode()).decode("ascii")
            return page, {"is_truncated": True, "marker": token}
        return page, {"is_truncated": False}

    # ------------------------------------------------------------------ shapes of the answers

    @staticmethod
    def _tags_out(tags: list) -> list[dict]:
        return [{"key": k, "value": v} for k, v in tags]

    def _user_out(self, rec: User, *, tags: bool) -> dict:
        out = {"path": rec.path, "user_name": rec.user_name, "user_id": rec.user_id, "arn": rec.arn,
               "create_date": rec.create_date}
        if tags and rec.tags:
            out["tags"] = self._tags_out(rec.tags)
        return out

    def _role_out(self, rec: Role, *, full: bool, tags: bool, last_used: bool = False) -> dict:
        out = {"path": rec.path, "role_name": rec.role_name, "role_id": rec.role_id, "arn": rec.arn,
               "create_date": rec.create_date,
               "assume_role_policy_document": _encode_doc(
                   show_bound(rec.assume_role_policy, rec.trust_principals, self._unique_id_now)
                   if rec.trust_principals else rec.assume_role_policy)}
        if rec.description is not None:
            out["description"] = rec.description
        if full:
            out["max_session_duration"] = rec.max_session_duration
        if tags and rec.tags:
            out["tags"] = self._tags_out(rec.tags)
        if last_used:
            out["role_last_used"] = {}
            if rec.last_used_date:
                out["role_last_used"] = {"last_used_date": rec.last_used_date,
                                         "region": rec.last_used_region}
        return out

    def _policy_out(self, rec: ManagedPolicy, account: str, *, description: bool, tags: bool) -> dict:
        """A managed policy as IAM shows it to ``account`` (AttachmentCount counts that account's entities)."""
        arn = rec.arn
        out = {"policy_name": rec.policy_name, "policy_id": rec.policy_id, "arn": arn, "path": rec.path,
               "default_version_id": "v1", "attachment_count": self._attachments(arn, account),
               "permissions_boundary_usage_count": 0, "is_attachable": True,
               "create_date": rec.create_date, "update_date": rec.update_date}
        if description and rec.description is not None:
            out["description"] = rec.description
        if tags and rec.tags:
            out["tags"] = self._tags_out(rec.tags)
        return out

    # ------------------------------------------------------------------ users

    def _op_CreateUser(self, ctx, req, now):
        account = ctx.principal.account_id
        name = req["user_name"]
        path = req.get("path") or "/"
        tags = self._tags(req)
        self._no_boundary(req)
        arn = f"arn:aws:iam::{account}:user{path}{name}"
        yield Target("iam:CreateUser", self._res(ctx, arn, self._tag_context(tags)))
        if self._user(account, name) is not None:
            raise EntityAlreadyExists(f"User with name {name} already exists.")
        rec = User(account, name, path, self._unique_id("AIDA"), now, tags)
        self._put(rec)
        return {"user": self._user_out(rec, tags=True)}

    @staticmethod
    def _no_boundary(req: dict) -> None:
        if req.get("permissions_boundary") is not None:
            raise InvalidInput("kms_teach does not simulate permissions boundaries; "
                               "create the entity without PermissionsBoundary.")

    def _op_GetUser(self, ctx, req, now):
        p = ctx.principal
        account = p.account_id
        name = req.get("user_name")
        if name is None:
            if p.kind == "Root":
                yield Target("iam:GetUser", self._res(ctx, p.arn))
                acct = self._get(ACCOUNT, (account,))
                return {"user": {"user_id": account, "arn": p.arn, "create_date": acct.create_date}}
            if p.kind != "IAMUser":
                raise ValidationError("Must specify userName when calling with non-User credentials")
            name = p.name or p.arn.rsplit("/", 1)[-1]
        yield Target("iam:GetUser", self._res(ctx, self._user_arn_for(account, name)))
        return {"user": self._user_out(self._need_user(account, name), tags=True)}

    def _op_ListUsers(self, ctx, req, now):
        account = ctx.principal.account_id
        prefix = req.get("path_prefix") or "/"
        yield Target("iam:ListUsers", self._res(ctx, f"arn:aws:iam::{account}:user/"))
        users = [u for u in self._all(USER, account) if u.path.startswith(prefix)]
        page, more = self._page(users, lambda u: u.user_name.lower(), req, f"users|{account}|{prefix}")
        return {"users": [self._user_out(u, tags=False) for u in page], **more}

    def _op_DeleteUser(self, ctx, req, now):
        account = ctx.principal.account_id
        name = req["user_name"]
        yield Target("iam:DeleteUser", self._res(ctx, self._user_arn_for(account, name)))
        rec = self._need_user(account, name)
        if rec.inline:
            raise DeleteConflict("Cannot delete entity, must delete policies first.")
        if rec.attached:
            raise DeleteConflict("Cannot delete entity, must detach all policies first.")
        if self._access_keys_of(account, rec.user_name):
            raise DeleteConflict("Cannot delete entity, must delete access keys first.")
        self._delete(rec)
        return {}

    # ------------------------------------------------------------------ roles

    def _op_CreateRole(self, ctx, req, now):
        account = ctx.principal.account_id
        name = req["role_name"]
        path = req.get("path") or "/"
        document = req["assume_role_policy_document"]
        description = req.get("description")
        max_session = req.get("max_session_duration") or 3600
        tags = self._tags(req)
        self._no_boundary(req)
        arn = f"arn:aws:iam::{account}:role{path}{name}"
        yield Target("iam:CreateRole", self._res(ctx, arn, self._tag_context(tags)))
        if self._role(account, name) is not None:
            raise EntityAlreadyExists(f"Role with name {name} already exists.")
        self._check_trust_policy(document)
        rec = Role(account, name, path, self._unique_id("AROA"), now, document, description, max_session, tags)
        rec.trust_principals = self._bind_trust(document)
        self._put(rec)
        return {"role": self._role_out(rec, full=False, tags=True)}

    def _op_GetRole(self, ctx, req, now):
        account = ctx.principal.account_id
        name = req["role_name"]
        yield Target("iam:GetRole", self._res(ctx, self._role_arn_for(account, name)))
        return {"role": self._role_out(self._need_role(account, name), full=True, tags=True, last_used=True)}

    def _op_ListRoles(self, ctx, req, now):
        account = ctx.principal.account_id
        prefix = req.get("path_prefix") or "/"
        yield Target("iam:ListRoles", self._res(ctx, f"arn:aws:iam::{account}:role/"))
        roles = [r for r in self._all(ROLE, account) if r.path.startswith(prefix)]
        page, more = self._page(roles, lambda r: r.role_name.lower(), req, f"roles|{account}|{prefix}")
        return {"roles": [self._role_out(r, full=True, tags=False) for r in page], **more}

    def _op_DeleteRole(self, ctx, req, now):
        account = ctx.principal.account_id
        name = req["role_name"]
        yield Target("iam:DeleteRole", self._res(ctx, self._role_arn_for(account, name)))
        rec = self._need_role(account, name)
        if rec.inline:
            raise DeleteConflict("Cannot delete entity, must delete policies first.")
        if rec.attached:
            raise DeleteConflict("Cannot delete entity, must detach all policies first.")
        self._delete(rec)
        return {}

    def _op_UpdateAssumeRolePolicy(self, ctx, req, now):
        account = ctx.principal.account_id
        name = req["role_name"]
        document = req["policy_document"]
        yield Target("iam:UpdateAssumeRolePolicy", self._res(ctx, self._role_arn_for(account, name)))
        rec = copy.deepcopy(self._need_role(account, name))
        self._check_trust_policy(document)
        rec.assume_role_policy = document
        rec.trust_principals = self._bind_trust(document)
        self._put(rec)
        return {}

    # ------------------------------------------------------------------ inline policies

    def _put_inline(self, ctx, req, now, what: str) -> dict:
        account = ctx.principal.account_id
        name = req[f"{what}_name"]
        policy_name = req["policy_name"]
        document = req["policy_document"]
        op = "PutUserPolicy" if what == "user" else "PutRolePolicy"
        arn = self._user_arn_for(account, name) if what == "user" else self._role_arn_for(account, name)
        yield Target(f"iam:{op}", self._res(ctx, arn))
        rec = self._need_user(account, name) if what == "user" else self._need_role(account, name)
        self._check_identity_policy(document)
        limit = USER_INLINE_POLICY_MAX if what == "user" else ROLE_INLINE_POLICY_MAX
        total = _policy_size(document) + sum(_policy_size(d) for n, d in rec.inline.items() if n != policy_name)
        if total > limit:
            raise LimitExceeded(f"Maximum policy size of {limit} bytes exceeded for {what} {getattr(rec, what + '_name')}")
        rec = copy.deepcopy(rec)
        rec.inline[policy_name] = document
        self._put(rec)
        return {}

    def _get_inline(self, ctx, req, now, what: str) -> dict:
        account = ctx.principal.account_id
        name = req[f"{what}_name"]
        policy_name = req["policy_name"]
        op = "GetUserPolicy" if what == "user" else "GetRolePolicy"
        arn = self._user_arn_for(account, name) if what == "user" else self._role_arn_for(account, name)
        yield Target(f"iam:{op}", self._res(ctx, arn))
        rec = self._need_user(account, name) if what == "user" else self._need_role(account, name)
        document = rec.inline.get(policy_name)
        if document is None:
            raise NoSuchEntity(f"The {what} policy with name {policy_name} cannot be found.")
        return {f"{what}_name": getattr(rec, f"{what}_name"), "policy_name": policy_name,
                "policy_document": _encode_doc(document)}

    def _list_inline(self, ctx, req, now, what: str) -> dict:
        account = ctx.principal.account_id
        name = req[f"{what}_name"]
        op = "ListUserPolicies" if what == "user" else "ListRolePolicies"
        arn = self._user_arn_for(account, name) if what == "user" else self._role_arn_for(account, name)
        yield Target(f"iam:{op}", self._res(ctx, arn))
        rec = self._need_user(account, name) if what == "user" else self._need_role(account, name)
        page, more = self._page(list(rec.inline), lambda n: n, req, f"{what}-policies|{arn}")
        return {"policy_names": page, **more}

    def _delete_inline(self, ctx, req, now, what: str) -> dict:
        account = ctx.principal.account_id
        name = req[f"{what}_name"]
        policy_name = req["policy_name"]
        op = "DeleteUserPolicy" if what == "user" else "DeleteRolePolicy"
        arn = self._user_arn_for(account, name) if what == "user" else self._role_arn_for(account, name)
        yield Target(f"iam:{op}", self._res(ctx, arn))
        rec = self._need_user(account, name) if what == "user" else self._need_role(account, name)
        if policy_name not in rec.inline:
            raise NoSuchEntity(f"The {what} policy with name {policy_name} cannot be found.")
        rec = copy.deepcopy(rec)
        del rec.inline[policy_name]
        self._put(rec)
        return {}

    def _op_PutUserPolicy(self, ctx, req, now):
        return self._put_inline(ctx, req, now, "user")

    def _op_GetUserPolicy(self, ctx, req, now):
        return self._get_inline(ctx, req, now, "user")

    def _op_ListUserPolicies(self, ctx, req, now):
        return self._list_inline(ctx, req, now, "user")

    def _op_DeleteUserPolicy(self, ctx, req, now):
        return self._delete_inline(ctx, req, now, "user")

    def _op_PutRolePolicy(self, ctx, req, now):
        return self._put_inline(ctx, req, now, "role")

    def _op_GetRolePolicy(self, ctx, req, now):
        return self._get_inline(ctx, req, now, "role")

    def _op_ListRolePolicies(self, ctx, req, now):
        return self._list_inline(ctx, req, now, "role")

    def _op_DeleteRolePolicy(self, ctx, req, now):
        return self._delete_inline(ctx, req, now, "role")

    # ------------------------------------------------------------------ managed policies

    def _policy_arn_arg(self, req: dict) -> str:
        arn = req["policy_arn"]  # 20 to 2048 characters: the wire checked it
        m = _IAM_ARN_RE.match(arn)
        if not m or m.group(2) != "policy" or not _POLICY_PATH_RE.fullmatch(m.group(3).rsplit("/", 1)[0] + "/") \
                or not _NAME_RE.fullmatch(m.group(3).rsplit("/", 1)[-1]):
            raise InvalidInput(f"ARN {arn} is not valid.")
        return arn

    def _op_CreatePolicy(self, ctx, req, now):
        account = ctx.principal.account_id
        name = req["policy_name"]
        path = req.get("path") or "/"
        document = req["policy_document"]
        description = req.get("description")
        tags = self._tags(req)
        arn = f"arn:aws:iam::{account}:policy{path}{name}"
        yield Target("iam:CreatePolicy", self._res(ctx, arn, self._tag_context(tags)))
        if self._get(POLICY, (account, name.lower())) is not None:
            raise EntityAlreadyExists(f"A policy called {name} already exists. Duplicate names are not allowed.")
        self._check_identity_policy(document)
        if _policy_size(document) > MANAGED_POLICY_MAX:
            raise LimitExceeded(f"Cannot exceed quota for PolicySize: {MANAGED_POLICY_MAX}")
        rec = ManagedPolicy(account, name, path, self._unique_id("ANPA"), now, now, document, description, tags)
        self._put(rec)
        return {"policy": self._policy_out(rec, account, description=False, tags=True)}

    def _need_policy(self, arn: str) -> ManagedPolicy:
        rec = self._policy_by_arn(arn)
        if rec is None:
            raise NoSuchEntity(f"Policy {arn} was not found.")
        return rec

    def _op_GetPolicy(self, ctx, req, now):
        arn = self._policy_arn_arg(req)
        yield Target("iam:GetPolicy", self._res(ctx, arn, aws_managed_ok=True))
        return {"policy": self._policy_out(self._need_policy(arn), ctx.principal.account_id, description=True,
                                           tags=True)}

    def _op_GetPolicyVersion(self, ctx, req, now):
        arn = self._policy_arn_arg(req)
        version = req["version_id"]
        yield Target("iam:GetPolicyVersion", self._res(ctx, arn, aws_managed_ok=True))
        rec = self._need_policy(arn)
        if version != "v1":
            raise NoSuchEntity(f"Policy {arn} version {version} does not exist or is not attachable.")
        return {"policy_version": {"document": _encode_doc(rec.document), "version_id": "v1",
                                   "is_default_version": True, "create_date": rec.create_date}}

    def _op_ListPolicies(self, ctx, req, now):
        account = ctx.principal.account_id
        scope = req.get("scope") or "All"
        prefix = req.get("path_prefix") or "/"
        yield Target("iam:ListPolicies", self._res(ctx, f"arn:aws:iam::{account}:policy/"))
        policies = []
        if scope in ("All", "AWS"):
            policies += list(_AWS_MANAGED.values())
        if scope in ("All", "Local"):
            policies += self._all(POLICY, account)
        policies = [p for p in policies if p.path.startswith(prefix)]
        if req.get("only_attached"):
            attached = {arn for rec in self._all(USER, account) + self._all(ROLE, account) for arn in rec.attached}
            policies = [p for p in policies if p.arn in attached]
        page, more = self._page(policies, lambda p: f"{p.policy_name.lower()}|{p.account_id}", req,
                                f"policies|{account}|{scope}|{prefix}|{bool(req.get('only_attached'))}")
        return {"policies": [self._policy_out(p, account, description=False, tags=False) for p in page], **more}

    def _op_DeletePolicy(self, ctx, req, now):
        arn = self._policy_arn_arg(req)
        yield Target("iam:DeletePolicy", self._res(ctx, arn))
        rec = self._need_policy(arn)
        if self._attachments(rec.arn, rec.account_id):
            raise DeleteConflict("Cannot delete a policy attached to entities.")
        self._delete(rec)
        return {}

    def _attach(self, ctx, req, now, what: str) -> dict:
        account = ctx.principal.account_id
        name = req[f"{what}_name"]
        policy_arn = self._policy_arn_arg(req)
        op = "AttachUserPolicy" if what == "user" else "AttachRolePolicy"
        arn = self._user_arn_for(account, name) if what == "user" else self._role_arn_for(account, name)
        yield Target(f"iam:{op}", self._res(ctx, arn, {"iam:PolicyARN": policy_arn}))
        rec = self._need_user(account, name) if what == "user" else self._need_role(account, name)
        policy = self._policy_by_arn(policy_arn)
        if policy is None or policy.account_id not in ("aws", account):
            raise NoSuchEntity(f"Policy {policy_arn} does not exist or is not attachable.")
        canonical = policy.arn
        if canonical in rec.attached:
            return {}
        if len(rec.attached) >= MANAGED_POLICIES_PER_ENTITY:
            raise LimitExceeded(f"Cannot exceed quota for PoliciesPer{what.title()}: "
                                f"{MANAGED_POLICIES_PER_ENTITY}")
        rec = copy.deepcopy(rec)
        rec.attached.append(canonical)
        self._put(rec)
        return {}

    def _detach(self, ctx, req, now, what: str) -> dict:
        account = ctx.principal.account_id
        name = req[f"{what}_name"]
        policy_arn = self._policy_arn_arg(req)
        op = "DetachUserPolicy" if what == "user" else "DetachRolePolicy"
        arn = self._user_arn_for(account, name) if what == "user" else self._role_arn_for(account, name)
        yield Target(f"iam:{op}", self._res(ctx, arn, {"iam:PolicyARN": policy_arn}))
        rec = self._need_user(account, name) if what == "user" else self._need_role(account, name)
        match = [a for a in rec.attached if a.lower() == policy_arn.lower()]
        if not match:
            raise NoSuchEntity(f"Policy {policy_arn} was not found.")
        rec = copy.deepcopy(rec)
        rec.attached.remove(match[0])
        self._put(rec)
        return {}

    def _list_attached(self, ctx, req, now, what: str) -> dict:
        account = ctx.principal.account_id
        name = req[f"{what}_name"]
        prefix = req.get("path_prefix") or "/"
        op = "ListAttachedUserPolicies" if what == "user" else "ListAttachedRolePolicies"
        arn = self._user_arn_for(account, name) if what == "user" else self._role_arn_for(account, name)
        yield Target(f"iam:{op}", self._res(ctx, arn))
        rec = self._need_user(account, name) if what == "user" else self._need_role(account, name)
        entries = []
        for policy_arn in rec.attached:
            policy = self._policy_by_arn(policy_arn)
            if policy is not None and policy.path.startswith(prefix):
                entries.append({"policy_name": policy.policy_name, "policy_arn": policy_arn})
        page, more = self._page(entries, lambda e: e["policy_arn"].lower(), req, f"attached|{arn}|{prefix}")
        return {"attached_policies": page, **more}

    def _op_AttachUserPolicy(self, ctx, req, now):
        return self._attach(ctx, req, now, "user")

    def _op_AttachRolePolicy(self, ctx, req, now):
        return self._attach(ctx, req, now, "role")

    def _op_DetachUserPolicy(self, ctx, req, now):
        return self._detach(ctx, req, now, "user")

    def _op_DetachRolePolicy(self, ctx, req, now):
        return self._detach(ctx, req, now, "role")

    def _op_ListAttachedUserPolicies(self, ctx, req, now):
        return self._list_attached(ctx, req, now, "user")

    def _op_ListAttachedRolePolicies(self, ctx, req, now):
        return self._list_attached(ctx, req, now, "role")

    # ------------------------------------------------------------------ access keys

    def _key_owner(self, ctx, req, now, action: str) -> tuple[str | None, str]:
        """(user name or None for the root user, resource ARN) whose access keys a request manages, yielded to be
        authorized.

        Without ``UserName`` a request manages the caller's own keys: an IAM
        user's, or the root user's (AWS allows root access keys, and advises
        against them)."""
        p = ctx.principal
        account = p.account_id
        name = req.get("user_name")
        if name is None:
            if p.kind == "Root":
                yield Target(action, self._res(ctx, p.arn))
                return None, p.arn
            if p.kind != "IAMUser":
                raise ValidationError("Must specify userName when calling with non-User credentials")
            name = p.name or p.arn.rsplit("/", 1)[-1]
        arn = self._user_arn_for(account, name)
        yield Target(action, self._res(ctx, arn))
        return self._need_user(account, name).user_name, arn

    def _op_CreateAccessKey(self, ctx, req, now):
        account = ctx.principal.account_id
        user_name, _arn = yield from self._key_owner(ctx, req, now, "iam:CreateAccessKey")
        if len(self._access_keys_of(account, user_name)) >= ACCESS_KEYS_PER_USER:
            raise LimitExceeded(f"Cannot exceed quota for AccessKeysPerUser: {ACCESS_KEYS_PER_USER}")
        rec = AccessKey(account, user_name, self._new_access_key_id("AKIA"), self._secret(), "Active", now)
        self._put(rec)
        return {"access_key": {"user_name": user_name, "access_key_id": rec.access_key_id, "status": "Active",
                               "secret_access_key": rec.secret, "create_date": now}}

    def _op_ListAccessKeys(self, ctx, req, now):
        account = ctx.principal.account_id
        user_name, arn = yield from self._key_owner(ctx, req, now, "iam:ListAccessKeys")
        keys = self._access_keys_of(account, user_name)
        page, more = self._page(keys, lambda k: f"{_iso(k.create_date)}|{k.access_key_id}", req, f"keys|{arn}")
        return {"access_key_metadata": [{"user_name": k.user_name, "access_key_id": k.access_key_id,
                                         "status": k.status, "create_date": k.create_date}
                                        for k in page], **more}

    def _own_key(self, ctx, req, now, action: str) -> AccessKey:
        account = ctx.principal.account_id
        akid = req["access_key_id"]
        user_name, _arn = yield from self._key_owner(ctx, req, now, action)
        rec = self._get(ACCESS_KEY, (akid,))
        if rec is None or rec.account_id != account or (rec.user_name or "").lower() != (user_name or "").lower():
            raise NoSuchEntity(f"The Access Key with id {akid} cannot be found.")
        return rec

    def _op_UpdateAccessKey(self, ctx, req, now):
        status = req.get("status")
        if status not in ("Active", "Inactive"):
            raise _validation("status", "Member must satisfy enum value set: [Active, Inactive]", status)
        rec = copy.copy((yield from self._own_key(ctx, req, now, "iam:UpdateAccessKey")))
        if rec.status != status:
            rec.status = status
            self._put(rec)
        return {}

    def _op_DeleteAccessKey(self, ctx, req, now):
        self._delete((yield from self._own_key(ctx, req, now, "iam:DeleteAccessKey")))
        return {}

    # ------------------------------------------------------------------ STS

    def _sts_GetCallerIdentity(self, ctx, req, now):
        # Fidelity: GetCallerIdentity needs no permission; even an explicit Deny cannot stop it.
        p = ctx.principal
        if p.kind == "Root":
            user_id = p.account_id
        elif p.kind == "IAMUser":
            user = self._user_by_arn(p.arn)
            user_id = p.principal_id or (user.user_id if user else p.name or p.arn)
        elif p.kind == "AssumedRole":
            role = self._role_of_session(p)
            user_id = p.principal_id or (f"{role.role_id}:{p.name}" if role else p.arn)
        else:
            user_id = p.principal_id or p.arn
        return {"user_id": user_id, "account": p.account_id, "arn": p.arn}

    _UNSUPPORTED_ASSUME_ROLE = {
        "policy": "session policies (Policy)",
        "policy_arns": "session policies (PolicyArns)",
        "tags": "session tags (Tags)",
        "transitive_tag_keys": "session tags (TransitiveTagKeys)",
        "serial_number": "MFA (SerialNumber)",
        "token_code": "MFA (TokenCode)",
        "provided_contexts": "trusted context assertions (ProvidedContexts)",
    }

    def _authorize_AssumeRole(self, call, target) -> None:
        """Who may assume a role: its trust policy and the caller's identity policies, decided together by
        the permissions engine (IAM User Guide, "Policy evaluation logic"): an explicit Deny in either
        wins; the trust policy must name the caller, or its account - and then an identity policy must
        allow ``sts:AssumeRole`` - and across accounts both must allow."""
        if call.ctx.principal.kind == "AWSService":
            return
        if not self.authorizer.decide_resource(call.ctx.principal, "sts:AssumeRole", target.resource, call.request,
                                               ctx=call.ctx, explain=False).allowed:
            # STS's message names no reason.
            raise AccessDenied(f"User: {call.ctx.principal.arn} is not authorized to perform: sts:AssumeRole on "
                               f"resource: {target.resource.arn}")

    def _sts_AssumeRole(self, ctx, req, now):
        p = ctx.principal
        role_arn = req["role_arn"]
        session = req["role_session_name"]
        duration = req.get("duration_seconds") or 3600  # 900 to 43200: the wire checked it
        for field, what in self._UNSUPPORTED_ASSUME_ROLE.items():
            if req.get(field):
                raise ValidationError(f"kms_teach does not simulate {what} in AssumeRole; "
                                      f"call it without that parameter.")
        external_id = req.get("external_id")
        source_identity = req.get("source_identity")
        m = _IAM_ARN_RE.match(role_arn) if isinstance(role_arn, str) else None
        if not m or m.group(2) != "role" or m.group(1) == "aws" or not m.group(3)[1:]:
            raise ValidationError("Request ARN is invalid")
        denied = AccessDenied(f"User: {p.arn} is not authorized to perform: sts:AssumeRole on resource: "
                              f"{role_arn}")
        role = self._role_by_arn(role_arn)
        if role is None:
            # Fidelity: STS does not say whether a role exists; a missing role is simply not assumable.
            raise denied
        role_arn = role.arn
        context = {"sts:RoleSessionName": session, "sts:ExternalId": external_id, "sts:SourceIdentity": source_identity}
        yield Target("sts:AssumeRole", Resource(
            role_arn, role.account_id, role.assume_role_policy, "trust policy",
            {k: v for k, v in context.items() if v is not None}, policy_required=True,
            bindings=role.trust_principals), audit=False)
        # 3. The session's length.
        if p.kind == "AssumedRole" and duration > 3600:
            raise ValidationError("The requested DurationSeconds exceeds the 1 hour session limit for roles "
                                  "assumed by role chaining.")
        if duration > role.max_session_duration:
            raise ValidationError("The requested DurationSeconds exceeds the MaxSessionDuration set for "
                                  "this role.")
        # Expired sessions are forgotten as new ones are made.
        for old in self._all(SESSION):
            if old.expiration <= now:
                self._delete(old)
        expiration = now + _dt.timedelta(seconds=duration)
        akid = self._new_access_key_id("ASIA")
        secret = self._secret()
        token = base64.b64encode(self.random.token_bytes(240)).decode("ascii")
        self._put(Session(role.account_id, role.role_name, role_arn, role.role_id, session, akid, secret, token,
                          expiration, source_identity, p.arn))
        used = copy.deepcopy(role)
        used.last_used_date = now
        used.last_used_region = getattr(ctx, "region", None)
        self._put(used)
        out = {
            "credentials": {"access_key_id": akid, "secret_access_key": secret, "session_token": token,
                            "expiration": expiration},
            "assumed_role_user": {"assumed_role_id": f"{role.role_id}:{session}",
                                  "arn": _session_arn(role.account_id, role.role_name, session)},
        }
        if source_identity is not None:
            out["source_identity"] = source_identity
        return out




class STS(Service):
    """AWS Security Token Service over IAM's records: its calls run the service base's path too."""

    EVENT_SOURCE = "sts.amazonaws.com"

    def __init__(self, iam: IAM):
        self.iam = iam
        self.clock = iam.clock
        self._lock = iam._lock
        self._init_service(audit=None, authorizer=None)

    @property
    def audit(self):
        return self.iam.audit

    @audit.setter
    def audit(self, value) -> None:
        pass  # the trail is IAM's

    def _unsupported(self, operation: str) -> AWSError:
        return InvalidAction(f"kms_teach does not simulate the STS {operation} operation.")

    def _internal(self, message: str) -> AWSError:
        return ServiceFailure(message)

    def _begin(self, call) -> None:
        self.iam._begin(call, touch_account=False)

    def _commit(self, call) -> None:
        self.iam._commit(call)

    def _rollback(self, reload: bool) -> None:
        self.iam._rollback(reload)

    def _authorize_assume_role(self, call, target) -> None:
        self.iam._authorize_AssumeRole(call, target)

    def _no_permission(self, call, target) -> None:
        """GetCallerIdentity: "No permissions are required to perform this operation" (STS API Reference);
        even an explicit Deny of sts:GetCallerIdentity does not stop it."""


def _steps(method):
    """A handler of the service base's signature over an IAM method ``(ctx, request, now)``."""

    def handler(service, ctx, request, call):
        iam = service.iam if isinstance(service, STS) else service
        return method(iam, ctx, dict(request or {}), call.when)

    handler.__wrapped__ = method
    return handler


# Every IAM operation is authorized for iam:<Operation> on the user, role, policy or path it names (IAM
# User Guide, "Actions, resources, and condition keys for AWS Identity and Access Management"); the
# handler yields it once the request's validation has said which (UserName may be omitted: the caller's).
IAM.OPERATIONS = {
    name: Operation(name, f"iam:{name}", IN_HANDLER, _steps(getattr(IAM, "_op_" + name)),
                    writes=not name.startswith(("Get", "List")))
    for name in IAM_OPERATIONS
}
STS.OPERATIONS = {
    "AssumeRole": Operation("AssumeRole", "sts:AssumeRole", IN_HANDLER, _steps(IAM._sts_AssumeRole), writes=True,
                            authorize=STS._authorize_assume_role,
                            authorized_by="the role's trust policy with the caller's identity policies"),
    "GetCallerIdentity": Operation("GetCallerIdentity", "sts:GetCallerIdentity",
                                   account_target("sts:GetCallerIdentity"), _steps(IAM._sts_GetCallerIdentity),
                                   authorize=STS._no_permission,
                                   authorized_by="no permission is required (STS API Reference, GetCallerIdentity)"),
}
