"""Layer 3: the request context every service takes.

:class:`RequestContext` says who calls, from where and in which Region; every
service's ``call(operation, request, ctx)`` takes one, and the audit trail
records it (:mod:`.audit`). :mod:`.base` re-exports it beside the service base.
"""

from __future__ import annotations

from .._model import Principal

__all__ = ["RequestContext"]


class RequestContext:
    """Who calls, from where, in which Region (one per request)."""

    __slots__ = ("region", "principal", "user_agent", "source_ip", "via_service", "request_id", "extra")

    def __init__(
        self,
        region: str,
        principal: Principal,
        user_agent: str = "kms_teach",
        source_ip: str = "127.0.0.1",
        via_service: str | None = None,
        request_id: str = "",
        extra: dict | None = None,
    ):
        self.region = region
        self.principal = principal
        self.user_agent = user_agent
        self.source_ip = source_ip
        self.via_service = via_service
        self.request_id = request_id
        self.extra = extra

    @property
    def account_id(self) -> str:
        return self.principal.account_id

    def __repr__(self) -> str:
        return f"RequestContext(region={self.region!r}, principal={self.principal.arn!r}, request_id={self.request_id!r})"
