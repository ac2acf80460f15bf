"""Layer 3: the audit trail - one CloudTrail-shaped event per call, of every service.

:class:`AuditLog` keeps the trail. A call is collected in an :class:`_Audit`
while it runs, frozen into a tuple of atoms when it ends (plaintext,
ciphertext and key material dropped) and rendered into CloudTrail's record
layout (:func:`render_event`) only when someone reads the trail. Every service
records its calls through the service base (``base.Service.call``); KMS names
the keys each call touched.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import threading
import uuid
from typing import Any

from .._errors import AWSError
from .._model import KmsKey
from .context import RequestContext

__all__ = ["AuditLog", "render_event"]


class AuditLog:
    """The audit trail: one CloudTrail-shaped event per call, in order.

    Entries are recorded cheaply on every call and rendered into CloudTrail's
    record layout (plain dicts) when read. Events never hold plaintext,
    ciphertext or key material.

    Fidelity: CloudTrail's event history keeps 90 days of events; kms_teach
    keeps the newest ``max_events`` (100,000 by default) in memory.
    """

    def __init__(self, max_events: int = 100_000):
        self.max_events = max_events
        self._entries: list = []  # frozen entries (tuples of atoms), rendered by ``renderer``
        self.renderer = None  # (entry, event_id) -> CloudTrail record; set by the service that records
        self._rendered: list[dict] = []  # always a prefix of _entries, rendered
        self._first = 0  # sequence number of _entries[0]
        self._salt = os.urandom(8)
        self._lock = threading.Lock()  # services append from their own locks; readers render concurrently

    def append(self, entry) -> None:
        with self._lock:
            self._entries.append(entry)
            if len(self._entries) > self.max_events + max(1, self.max_events // 10):
                drop = len(self._entries) - self.max_events
                del self._entries[:drop]
                del self._rendered[: min(drop, len(self._rendered))]
                self._first += drop

    def _event_id(self, n: int) -> str:
        digest = hashlib.sha256(self._salt + n.to_bytes(8, "big")).digest()[:16]
        return str(uuid.UUID(bytes=digest, version=4))

    @property
    def events(self) -> list[dict]:
        """Every event kept, oldest first."""
        with self._lock:
            return list(self._render())

    def _render(self) -> list[dict]:
        for i in range(len(self._rendered), len(self._entries)):
            self._rendered.append(self.renderer(self._entries[i], self._event_id(self._first + i)))
        return self._rendered

    def numbered(self) -> list[tuple[int, dict]]:
        """Every event kept with its sequence number (which never changes, even as old events go)."""
        with self._lock:
            return [(self._first + i, e) for i, e in enumerate(self._render())]

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self):
        return iter(self.events)


# ---------------------------------------------------------------------------
# Audit events (CloudTrail's record layout)
# ---------------------------------------------------------------------------

# Request members that never reach the audit trail: data, not metadata.
_SECRET_FIELDS = frozenset({"plaintext", "ciphertext_blob", "message", "signature", "mac", "public_key", "grant_token",
                            "encrypted_key_material", "import_token", "grant_tokens", "recipient"})
_READ_ONLY = frozenset({"DescribeKey", "ListKeys", "ListAliases", "GetKeyPolicy", "ListKeyPolicies",
                        "GetKeyRotationStatus", "ListKeyRotations", "ListResourceTags", "ListGrants",
                        "ListRetirableGrants", "GetPublicKey", "Encrypt", "Decrypt", "ReEncrypt",
                        "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair",
                        "GenerateDataKeyPairWithoutPlaintext", "GenerateRandom", "Sign", "Verify",
                        "GenerateMac", "VerifyMac", "DeriveSharedSecret"})


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _public(value):
    if isinstance(value, dict):
        return {_camel(k) if "_" in k or k[:1].islower() else k: _public(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_public(v) for v in value]
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    return value


class _Audit:
    """Collects what one call touched, then becomes its CloudTrail event."""

    __slots__ = ("operation", "request", "ctx", "when", "resources", "service_event", "response", "error",
                 "event_source")

    def __init__(self, operation: str, request: dict, ctx: RequestContext, when: _dt.datetime,
                 event_source: str = "kms.amazonaws.com"):
        self.event_source = event_source
        self.operation = operation
        self.request = request
        self.ctx = ctx
        self.when = when
        self.resources: list[KmsKey] = []
        self.service_event = False
        self.response: dict | None = None
        self.error: AWSError | None = None

    def resource(self, key: KmsKey) -> None:
        for r in self.resources:
            if r is key:
                return
        self.resources.append(key)

    def freeze(self) -> tuple:
        """This call as an immutable tuple of strings, numbers and dates.

        The trail can hold 100,000 entries; tuples of atoms are invisible to
        Python's garbage collector, so the trail never slows the collections
        every call pays for. Plaintext, ciphertext and key material are dropped
        here: they never reach the trail, not even in memory.
        """
        p, c = self.ctx.principal, self.ctx
        request = {k: v for k, v in self.request.items() if k not in _SECRET_FIELDS and not isinstance(v, bytes)}
        if request and all(type(v) is str for v in request.values()):
            frozen_request = tuple(request.items())  # the common case: a tuple of strings, no JSON needed
        else:
            frozen_request = _dumps(request) if request else None
        response = None
        if self.response:
            response = {k: v for k, v in self.response.items()
                        if k not in _SECRET_FIELDS and k not in _SECRET_RESPONSE_FIELDS and not isinstance(v, bytes)}
        return (
            self.operation, self.when, self.event_source, self.service_event,
            (p.arn, p.account_id, p.kind, p.name, p.principal_id, (c.extra or {}).get("access_key_id")),
            c.region, c.user_agent, c.source_ip, c.via_service, c.request_id,
            frozen_request, _dumps(response) if response else None,
            self.error.code if self.error is not None else None,
            self.error.message if self.error is not None else None,
            tuple((k.account_id, k.arn) for k in self.resources),
        )


def render_event(entry: tuple, event_id: str) -> dict:
    """A frozen audit entry as a CloudTrail record."""
    (operation, when, source, service_event, (arn, account, kind, name, principal_id, access_key_id), region, user_agent,
     source_ip, via_service, request_id, request, response, error_code, error_message, resources) = entry
    identity: dict[str, Any]
    if kind == "AWSService":
        identity = {"type": "AWSService", "invokedBy": arn}
    else:
        identity = {"type": kind, "principalId": account if kind == "Root" else principal_id or name or arn,
                    "arn": arn, "accountId": account}
        if access_key_id:
            identity["accessKeyId"] = access_key_id
    params = None
    if request is not None:
        # Encryption context keys are data the customer chose: kept verbatim.
        items = request if isinstance(request, tuple) else _loads(request).items()
        params = {_camel(k): v if "encryption_context" in k else _public(v) for k, v in items}
    elements = None
    if response is not None and operation not in _READ_ONLY:
        elements = {_camel(k): _public(v) for k, v in _loads(response).items()} or None
    event = {
        "eventVersion": "1.08",
        "userIdentity": identity,
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": source,
        "eventName": operation,
        "awsRegion": region,
        "sourceIPAddress": via_service or source_ip,
        "userAgent": user_agent,
        "requestParameters": params,
        "responseElements": elements,
        "requestID": request_id or event_id,
        "eventID": event_id,
        "readOnly": operation in _READ_ONLY or operation.startswith(("Get", "List", "Describe", "Lookup")),
        "resources": [{"accountId": a, "type": "AWS::KMS::Key", "ARN": r} for a, r in resources],
        "eventType": "AwsServiceEvent" if service_event else "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": resources[0][0] if resources else account,
        "eventCategory": "Management",
    }
    if error_code is not None:
        event["errorCode"] = error_code
        event["errorMessage"] = error_message
    return event


try:
    import orjson as _orjson

    def _dumps(value) -> bytes:
        return _orjson.dumps(value, default=str)

    _loads = _orjson.loads
except ImportError:  # pragma: no cover - orjson is a dependency; the standard library is the fallback
    import json as _json

    def _dumps(value) -> bytes:
        return _json.dumps(value, default=str).encode()

    _loads = _json.loads

_SECRET_RESPONSE_FIELDS = frozenset({"credentials", "access_key"})
