"""Layer 3: the service base - one request path for every service.

Each operation of each service is an :class:`Operation`: its IAM action, how the
resources it acts on are found (:attr:`Operation.resolve`, e.g. the KMS key a
``KeyId`` names, the key a ciphertext names, the bucket and object key), the key
states it accepts, whether it writes and which CloudTrail event it is. A service is
a :class:`Service` with a table of them; :meth:`Service.call` runs the same steps
for every operation of every service::

    validate   the wire checked the request against botocore's model; ``Operation.validate``
               adds what the model cannot say (before anything is looked up)
    resolve    ``Operation.resolve`` finds the resources: a list of :class:`Target`
               (action, resource, context), each recorded in the call's audit event
    authorize  every target, by the one permissions engine (``kms_teach._policy.authz``)
               or, where AWS decides otherwise, by the operation's declared ``authorize``
    check      the key state of every KMS key target against ``Operation.states``
    act        the handler - the only step that changes anything
    audit      one CloudTrail-shaped event (management events; allowed or refused)
    commit     the changes of the operation in one store transaction, or roll back

Handlers only act: they get ``(ctx, request, call)`` and find what the steps above
resolved in ``call.targets`` / ``call.key``. ``tests/unit/test_service_base.py`` calls
every operation of every service (from botocore's model and the registered handlers)
to check each is authorized and audited.

Where only the request's own validation can name the resource (IAM's ``UserName``
without which the caller's own user is meant, an access key of a user), the
operation declares ``resolve=IN_HANDLER`` and its handler is a generator that
``yield``s each :class:`Target` as soon as it is known: the base authorizes it
before the handler goes on, and refuses (as a simulator fault) a handler that
finishes without having yielded one. Nothing a handler does before its yield is
visible: the changes are the base's to commit after the handler ends.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import threading
from dataclasses import dataclass
from typing import Any, Callable

from .._errors import AWSError
from .audit import AuditLog, _Audit
from .context import RequestContext

__all__ = ["RequestContext", "Operation", "Target", "Call", "Service", "MANAGEMENT", "DATA", "IN_HANDLER",
           "account_target"]

#: CloudTrail's event categories (CloudTrail User Guide, "Understanding CloudTrail events"): management
#: events are recorded by default and are what LookupEvents' event history shows; data events (S3
#: object-level operations) are recorded only by a trail that asks for them, never in the event history.
MANAGEMENT = "Management"
DATA = "Data"
_UNLOCKED = contextlib.nullcontext()


def IN_HANDLER(service, call) -> list:
    """``resolve`` of an operation whose handler yields its targets (see the module's docstring)."""
    return []


class Target:
    """One thing an operation is authorized for: the action, on a resource, in a context.

    ``resource`` is what the permissions engine decides on: a KMS key, a bucket, an
    object, or an ARN string (``"*"`` for operations on no resource). ``ctx`` is the
    request context to decide in, when it is not the caller's (a replica's Region).
    ``audit`` says whether the resource is one of the call's audit event's resources.
    (A class with slots, not a NamedTuple: one is made on every call's path, and a
    NamedTuple costs two Python calls to make.)
    """

    __slots__ = ("action", "resource", "ctx", "audit")

    def __init__(self, action: str, resource: Any, ctx: RequestContext | None = None, audit: bool = True):
        self.action = action
        self.resource = resource
        self.ctx = ctx
        self.audit = audit

    def __repr__(self) -> str:
        return f"Target({self.action!r}, {self.resource!r})"


@dataclass(frozen=True)
class Operation:
    """One operation of a service, as the service base runs it.

    ``action`` is the IAM action (``kms:Encrypt``, ``s3:GetObject``), or a description
    of the actions when ``resolve`` chooses them (ReEncrypt needs two). ``resolve`` is
    ``(service, call) -> [Target]``; ``authorize``, when given, replaces the
    permissions engine for this operation and must say why (``authorized_by``, citing
    AWS). ``states`` is the key-state rule (``kms.common.STATE_RULES``) a KMS key
    target must pass. ``handler`` is ``(ctx, request, call) -> response``.
    """

    name: str
    action: str
    resolve: Callable[[Any, "Call"], list]
    handler: Callable
    writes: bool = False
    states: dict | None = None
    validate: Callable[[Any, "Call"], None] | None = None
    authorize: Callable[[Any, "Call", Target], None] | None = None
    authorized_by: str | None = None
    event: str = MANAGEMENT
    #: False for an operation that takes the service's lock itself, around what needs it (S3's UploadPart:
    #: the parts of one upload are sealed and stored concurrently); the path then runs without it.
    locked: bool = True

    def __post_init__(self) -> None:
        if self.authorize is not None and not self.authorized_by:
            raise TypeError(f"{self.name}: an operation authorized its own way must say why (authorized_by)")


class Call(_Audit):
    """One call in progress: the audit event it becomes, and what the steps found."""

    __slots__ = ("op", "targets", "key", "authorized", "scratch")

    def __init__(self, op: Operation, request: dict, ctx: RequestContext, when: _dt.datetime, event_source: str):
        # _Audit.__init__, written out (one call fewer on every request's path).
        self.event_source = event_source
        self.operation = op.name
        self.request = request
        self.ctx = ctx
        self.when = when
        self.resources = []
        self.service_event = False
        self.response = None
        self.error = None
        self.op = op
        self.targets: list[Target] = []
        self.key = None  # the first target's resource (the KMS key, the bucket)
        self.authorized = False
        self.scratch: dict[str, Any] = {}  # what resolve found on the way (a parsed ciphertext header)


class Service:
    """What every service is: a table of operations and the one path that runs them.

    A service sets ``EVENT_SOURCE`` and ``OPERATIONS`` (name -> :class:`Operation`) and
    may override the hooks: ``_begin``/``_commit``/``_rollback`` (its transaction),
    ``_before`` (work the clock made due), ``_unsupported`` and ``_internal`` (the
    errors its protocol answers with) and ``_check_state``; ``AUDITED_RESOURCE`` says which resources
    the audit event names.
    """

    EVENT_SOURCE = ""
    OPERATIONS: dict[str, Operation] = {}
    #: The Region CloudTrail records a global service's events in (IAM: us-east-1), or None.
    AUDIT_REGION: str | None = None
    #: The resources a call's audit event names (CloudTrail's ``resources``: KMS keys), a type or a tuple.
    AUDITED_RESOURCE: type | tuple = ()

    def _init_service(self, *, audit: AuditLog | None, authorizer: Callable[..., None] | None) -> None:
        self.audit = audit
        self.authorizer = authorizer
        if not hasattr(self, "_lock"):
            self._lock = threading.RLock()

    def operations(self) -> list[str]:
        return sorted(self.OPERATIONS)

    def operation(self, name: str) -> Operation | None:
        return self.OPERATIONS.get(name)

    # ------------------------------------------------------------------ the path

    def call(self, operation: str, request: dict, ctx: RequestContext) -> dict:
        """Run one operation: validate, resolve, authorize, check state, act, audit, commit."""
        op = self.OPERATIONS.get(operation)
        if op is None:
            raise self._unsupported(operation)
        with self._lock if op.locked else _UNLOCKED:
            now = self.clock.now()
            due = self._next_due
            if due is not None and now >= due:
                self._before(now)
            call = Call(op, request, ctx, now, self.EVENT_SOURCE)
            begin = self._begin
            if begin is not None:
                begin(call)
            try:
                if op.validate is not None:
                    op.validate(self, call)
                if op.resolve is IN_HANDLER:
                    result = self._run_yielding(op, ctx, request, call)
                else:
                    call.targets = targets = op.resolve(self, call)
                    if not targets:
                        # Every operation is authorized for something (Target(action, None) for "*").
                        raise RuntimeError(f"{op.name} resolved nothing to authorize")
                    call.key = targets[0].resource
                    for target in targets:
                        # _pass, written out: this loop is on every call's path (KMS's Encrypt among them).
                        resource = target.resource
                        if target.audit and isinstance(resource, self.AUDITED_RESOURCE):
                            if not call.resources:
                                call.resources.append(resource)
                            else:
                                call.resource(resource)
                        if op.authorize is not None:
                            op.authorize(self, call, target)
                        elif self.authorizer is not None:
                            self._authorize(call, target)
                        if op.states is not None:
                            self._check_state(op, resource)
                    call.authorized = True
                    result = op.handler(self, ctx, request, call)
            except AWSError as exc:
                # Handlers change nothing before every check has passed: the changes are dropped.
                self._rollback(reload=False)
                self._record(call, error=exc)
                raise
            except Exception:
                # A bug must not leave the in-memory model ahead of the store.
                self._rollback(reload=True)
                exc = self._internal("An internal error occurred in the kms_teach simulator.")
                self._record(call, error=exc)
                raise
            try:
                self._commit(call)
            except AWSError as exc:
                self._rollback(reload=True)
                self._record(call, error=exc)
                raise
            self._record(call, response=result)
            return result

    def _pass(self, op: Operation, call: Call, target: Target) -> None:
        """Audit, authorize and state-check one target."""
        if target.audit and isinstance(target.resource, self.AUDITED_RESOURCE):
            call.resource(target.resource)
        if op.authorize is not None:
            op.authorize(self, call, target)
        elif self.authorizer is not None:
            self._authorize(call, target)
        if op.states is not None:
            self._check_state(op, target.resource)

    def _run_yielding(self, op: Operation, ctx: RequestContext, request: dict, call: Call):
        steps = op.handler(self, ctx, request, call)
        try:
            target = next(steps)
        except StopIteration:
            raise RuntimeError(f"{op.name} finished without naming what to authorize") from None
        try:
            while True:
                call.targets.append(target)
                if call.key is None:
                    call.key = target.resource
                self._pass(op, call, target)
                call.authorized = True
                target = steps.send(None)
        except StopIteration as done:
            return done.value
        finally:
            steps.close()

    def _authorize(self, call: Call, target: Target) -> None:
        self.authorizer(target.ctx or call.ctx, target.action, target.resource, call.request)

    def _record(self, call: Call, *, response: dict | None = None, error: AWSError | None = None) -> None:
        if call.op.event != MANAGEMENT or self.audit is None:
            return
        if self.AUDIT_REGION is not None and call.ctx.region != self.AUDIT_REGION:
            c = call.ctx
            call.ctx = RequestContext(self.AUDIT_REGION, c.principal, c.user_agent, c.source_ip, c.via_service,
                                      c.request_id, c.extra)
        # The event is rendered when someone reads the trail, not on the hot path.
        call.response = response if call.op.writes else None
        call.error = error
        self.audit.append(call.freeze())

    # ------------------------------------------------------------------ hooks

    #: When work the clock makes due next falls due (KMS: a rotation, a deletion), or None.
    _next_due: _dt.datetime | None = None

    def _before(self, now: _dt.datetime) -> None:
        """Work the clock has made due by ``now`` (called only once ``_next_due`` has come)."""

    #: ``_begin(call)``, the hook that opens the operation's transaction, where a service needs one.
    _begin: Callable[[Call], None] | None = None

    def _commit(self, call: Call) -> None:
        """Write the operation's changes (raise the service's AWSError if the store fails)."""

    def _rollback(self, reload: bool) -> None:
        """Throw away the operation's changes (``reload``: and the in-memory model, after a bug)."""

    def _check_state(self, op: Operation, resource: Any) -> None:
        """Refuse a resource whose state ``op.states`` does not accept."""

    def _unsupported(self, operation: str) -> AWSError:
        raise NotImplementedError

    def _internal(self, message: str) -> AWSError:
        raise NotImplementedError


def account_target(action: str) -> Callable[[Any, Call], list[Target]]:
    """``resolve`` for an operation on no particular resource (``Resource: "*"``)."""

    def resolve(service, call: Call) -> list[Target]:
        return [Target(action, None)]

    return resolve
