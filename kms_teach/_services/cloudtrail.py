"""Layer 3: CloudTrail's LookupEvents over the simulated cloud's audit trail.

Every KMS call, allowed or refused, is recorded as a CloudTrail event (see
``KMS.call``); ``cloud.client("cloudtrail").lookup_events(...)`` reads them
back the way CloudTrail's event history does: the caller's account and Region,
newest first, filtered by one lookup attribute and a time range, paged with
NextToken.

Fidelity: CloudTrail delivers events within about five minutes; here they are
visible at once. Event history keeps 90 days; here the newest events the
audit log holds (see ``AuditLog``).
"""

from __future__ import annotations

import base64
import datetime as _dt
import json

from .._errors import (
    InternalFailure,
    InvalidEventCategoryException,
    InvalidLookupAttributesException,
    InvalidMaxResultsException,
    InvalidNextTokenException,
    InvalidTimeRangeException,
    UnsupportedOperationException,
)
from .audit import AuditLog
from .base import Operation, Service, account_target

__all__ = ["CloudTrail"]



def _event_time(event: dict) -> _dt.datetime:
    return _dt.datetime.strptime(event["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=_dt.timezone.utc)


def _username(event: dict) -> str | None:
    identity = event.get("userIdentity") or {}
    kind = identity.get("type")
    if kind == "Root":
        return "root"
    arn = identity.get("arn") or ""
    if kind == "IAMUser":
        return arn.rsplit("/", 1)[-1]
    if kind == "AssumedRole":
        return arn.rsplit("/", 1)[-1]
    return identity.get("invokedBy")


class CloudTrail(Service):
    """The CloudTrail service of one Cloud (LookupEvents only).

    LookupEvents runs the service base's path: the caller needs ``cloudtrail:LookupEvents`` in an
    identity policy ("Identity-based policy examples for AWS CloudTrail", CloudTrail User Guide: the
    event history is read with ``cloudtrail:LookupEvents``; an account's root user may always read it),
    and the call is itself a management event in the trail.
    """

    EVENT_SOURCE = "cloudtrail.amazonaws.com"

    def __init__(self, audit: AuditLog, *, clock, authorizer=None):
        self.clock = clock
        self._init_service(audit=audit, authorizer=authorizer)

    def _unsupported(self, operation: str):
        # Fidelity: trails, event data stores and Lake queries are not simulated.
        return UnsupportedOperationException(f"kms_teach simulates only LookupEvents, not {operation}.")

    def _internal(self, message: str):
        return InternalFailure(message)

    def _op_LookupEvents(self, ctx, req: dict, call) -> dict:
        return self.lookup_events(req, ctx)

    def lookup_events(self, req: dict, ctx) -> dict:
        attributes = req.get("lookup_attributes") or []
        if len(attributes) > 1:
            raise InvalidLookupAttributesException("You can specify only one lookup attribute.")
        start, end = req.get("start_time"), req.get("end_time")
        if start is not None and end is not None and start > end:
            raise InvalidTimeRangeException("The start time must be before the end time.")
        if req.get("event_category") not in (None, "insight"):
            raise InvalidEventCategoryException("EventCategory must be insight.")
        if req.get("event_category") == "insight":
            return {"events": []}
        limit = req.get("max_results") or 50
        if not 1 <= limit <= 50:
            raise InvalidMaxResultsException("MaxResults must be between 1 and 50.")
        # NextToken names the sequence number to continue below, so events recorded while a
        # caller pages (its own LookupEvents calls among them) never shift a page.
        below = None
        if req.get("next_token"):
            try:
                below = int(base64.b64decode(req["next_token"], validate=True).decode())
            except (ValueError, UnicodeDecodeError):
                raise InvalidNextTokenException("The NextToken is not valid.") from None
        account = ctx.principal.account_id
        page: list[dict] = []
        next_below = last_seq = None
        for seq, event in reversed(self.audit.numbered()):  # newest first
            if below is not None and seq >= below:
                continue
            if event.get("awsRegion") != ctx.region or event.get("recipientAccountId") != account:
                continue
            when = _event_time(event)
            if (start is not None and when < start) or (end is not None and when > end):
                continue
            if attributes and not self._matches(event, attributes[0]):
                continue
            if len(page) == limit:
                next_below = last_seq
                break
            page.append(event)
            last_seq = seq
        out: dict = {"events": [self._entry(e) for e in page]}
        if next_below is not None:
            out["next_token"] = base64.b64encode(str(next_below).encode()).decode()
        return out

    @staticmethod
    def _matches(event: dict, attribute: dict) -> bool:
        key, value = attribute.get("attribute_key"), attribute.get("attribute_value")
        if key == "EventId":
            return event["eventID"] == value
        if key == "EventName":
            return event["eventName"] == value
        if key == "ReadOnly":
            return str(event["readOnly"]).lower() == str(value).lower()
        if key == "Username":
            return _username(event) == value
        if key == "ResourceType":
            return any(r.get("type") == value for r in event.get("resources") or [])
        if key == "ResourceName":
            return any(r.get("ARN") == value or r.get("ARN", "").endswith("/" + value)
                       for r in event.get("resources") or [])
        if key == "EventSource":
            return event["eventSource"] == value
        if key == "AccessKeyId":
            return (event.get("userIdentity") or {}).get("accessKeyId") == value
        raise InvalidLookupAttributesException(f"{key} is not a lookup attribute.")

    @staticmethod
    def _entry(event: dict) -> dict:
        entry = {
            "event_id": event["eventID"],
            "event_name": event["eventName"],
            "read_only": "true" if event["readOnly"] else "false",
            "event_time": _event_time(event),
            "event_source": event["eventSource"],
            "resources": [{"resource_type": r["type"], "resource_name": r["ARN"]} for r in event.get("resources") or []],
            "cloud_trail_event": json.dumps(event, separators=(",", ":")),
        }
        username = _username(event)
        if username:
            entry["username"] = username
        access_key = (event.get("userIdentity") or {}).get("accessKeyId")
        if access_key:
            entry["access_key_id"] = access_key
        return entry


CloudTrail.OPERATIONS = {
    "LookupEvents": Operation("LookupEvents", "cloudtrail:LookupEvents", account_target("cloudtrail:LookupEvents"),
                              CloudTrail._op_LookupEvents),
}
