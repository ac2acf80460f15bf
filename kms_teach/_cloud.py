"""The simulated cloud: the public entry point of kms_teach.

>>> import kms_teach
>>> cloud = kms_teach.Cloud()
>>> kms = cloud.client("kms", region_name="us-east-1")
>>> key_id = kms.create_key(Description="battle plans")["KeyMetadata"]["KeyId"]

``cloud.client(...)`` is a genuine boto3 (botocore) client: it validates
parameters, signs and serialises each request into real HTTP bytes, and parses
the HTTP response, raising ``ClientError`` exactly as it would against AWS.
Only the transport differs: instead of going to the network, each request is
answered in-process by the simulator, through botocore's ``before-send`` hook.
"""

from __future__ import annotations

import io
import itertools
import os
from pathlib import Path
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore import UNSIGNED
from botocore.config import Config

from ._clock import Clock
from ._crypto import RandomSource
from ._errors import AWSError
from ._model import DEFAULT_ACCOUNT, DEFAULT_REGION, Principal
from ._policy.authz import Permissions
from ._services.audit import AuditLog, audited
from ._services.base import RequestContext
from ._services.cloudtrail import CloudTrail
from ._services.iam import IAM
from ._services.kms import KMS
from ._services.s3 import S3
from ._store import Changes, MemoryStore, SQLiteStore
from ._wire import S3_CLIENT_CONFIG, JsonProtocol, QueryProtocol, RestXmlProtocol, WireResponse, boto3_session, isolated_session

__all__ = ["Cloud"]

_REGIONS: frozenset[str] | None = None


def known_regions() -> frozenset[str]:
    """Every Region botocore knows for KMS, in the aws and aws-cn partitions."""
    global _REGIONS
    if _REGIONS is None:
        s = isolated_session()
        regions = set(s.get_available_regions("kms"))
        regions |= set(s.get_available_regions("kms", partition_name="aws-cn"))
        _REGIONS = frozenset(regions)
    return _REGIONS


class _RawBody(io.BytesIO):
    """What botocore reads an HTTP body from (``stream()`` for buffered bodies, ``read`` for streams)."""

    def stream(self, amt: int = 65536, decode_content: bool = False):
        while True:
            chunk = self.read(amt)
            if not chunk:
                break
            yield chunk


class Cloud:
    """A private, simulated AWS: accounts, Regions, KMS, and a clock you control.

    Parameters
    ----------
    path:
        A directory to keep everything in (encrypted at rest, SQLite). Without
        it the cloud lives in memory and disappears with the object.
    account_id:
        The default account; clients made without ``principal`` act as its root user.
    region:
        The Region used when a client is made without ``region_name``.
    clock:
        A :class:`~kms_teach.Clock`. By default a clock that runs with the wall
        clock; ``cloud.clock.advance(days=365)`` moves it forward.
    seed:
        Makes every random choice (key IDs, key material, nonces) reproducible.
        For teaching and tests only.
    """

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        *,
        account_id: str = DEFAULT_ACCOUNT,
        region: str = DEFAULT_REGION,
        clock: Clock | None = None,
        seed: int | bytes | str | None = None,
    ):
        if not (isinstance(account_id, str) and len(account_id) == 12 and account_id.isdigit()):
            raise ValueError(f"account_id must be 12 digits, not {account_id!r}")
        self._check_region(region)
        self.account_id = account_id
        self.region = region
        self.path = Path(path) if path is not None else None
        self._seed = seed
        self._closed = False
        self._servers: list = []
        self.random = RandomSource(seed)
        if self.path is not None:
            self.store = SQLiteStore(self.path, self.random)
        else:
            self.store = MemoryStore()
        meta = self.store.load()[2] if self.store.persistent else {}
        if seed is not None and self.store.persistent:
            # A reopened seeded store must not replay the random stream it already used.
            # Each opening takes the next generation atomically, so two processes
            # opening the same store never share a stream.
            generation = self.store.next_generation()
            self.random = RandomSource(f"{seed!r}/{generation}")
            self.store._random = self.random
        if clock is None:
            clock = Clock.from_state(meta["clock"]) if "clock" in meta else Clock()
        self.clock = clock
        self.audit = AuditLog()
        self.kms = KMS(clock=self.clock, random=self.random, store=self.store, audit=self.audit, regions=known_regions())
        self.iam = IAM(clock=self.clock, random=self.random, store=self.store)
        # Every KMS call is authorized by the permissions engine: key policies, identity policies, grants.
        self.permissions = Permissions(self.kms, self.iam)
        self.kms.authorizer = self.permissions
        self.kms.principal_exists = self.iam.principal_exists
        self.cloudtrail = CloudTrail(self.audit)
        self.s3 = S3(clock=self.clock, random=self.random, store=self.store, kms=self.kms, audit=self.audit,
                     regions=known_regions())
        # IAM and STS are global services; CloudTrail records their calls in us-east-1.
        self._protocols = {
            "kms": JsonProtocol("kms", self.kms.call),
            "cloudtrail": JsonProtocol("cloudtrail", audited(self.audit, self.clock, "cloudtrail.amazonaws.com",
                                                             self.cloudtrail.call)),
            "iam": QueryProtocol("iam", audited(self.audit, self.clock, "iam.amazonaws.com", self.iam.call,
                                                region="us-east-1")),
            "sts": QueryProtocol("sts", audited(self.audit, self.clock, "sts.amazonaws.com", self.iam.sts_call)),
            "s3": RestXmlProtocol("s3", self.s3.call, operations=self.s3.operations()),
        }
        self.clock.subscribe(self._on_clock)
        self._persist_meta(clock=self.clock.to_state())
        self.kms.tick()

    # ------------------------------------------------------------------ state

    def _persist_meta(self, **values: Any) -> None:
        if self.store.persistent:
            changes = Changes()
            changes.meta.update(values)
            self.store.commit(changes)

    def _on_clock(self, now) -> None:
        self.kms.tick(now)
        self._persist_meta(clock=self.clock.to_state())

    def close(self) -> None:
        """Write the clock and close the store (a persistent Cloud can be reopened from its path).

        Closing twice is harmless.
        """
        if self._closed:
            return
        self._closed = True
        for handle in self._servers:
            try:
                handle.stop()
            except Exception:  # pragma: no cover - stopping a server that already stopped
                pass
        if self.store.persistent:
            self._persist_meta(clock=self.clock.to_state())
        self.store.close()

    def __enter__(self) -> "Cloud":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ clients

    @staticmethod
    def _check_region(region: str) -> None:
        if region not in known_regions():
            raise ValueError(
                f"{region!r} is not an AWS Region that has KMS. Use one of: {', '.join(sorted(known_regions()))}"
            )

    def principal(self, arn: str | None = None) -> Principal:
        """The :class:`Principal` an ARN names (the default account's root user without one).

        An account root (any 12-digit account), an existing IAM user, or an existing IAM role
        (the client then acts as a session of that role).
        """
        if arn is None:
            return Principal.root(self.account_id)
        return self.iam.principal(arn)

    def explain(self, principal: str | None, action: str, key_id: str | None = None, *, region: str | None = None,
                encryption_context: dict | None = None, via_service: str | None = None, **request: Any):
        """Would ``principal`` be allowed ``action`` (e.g. ``"kms:Decrypt"``) on a KMS key, and why?

        Answers without making the call, with the same decision the call itself
        would get: a :class:`~kms_teach._policy.authz.Decision` whose ``explain()``
        lists every key-policy statement, identity-policy statement and grant
        considered, and why each did or did not apply. ``key_id`` takes anything
        a KeyId does (a key ARN or alias ARN for a key in another account).
        Other request members (snake_case, e.g. ``grantee_principal=...``) feed
        the condition keys.
        """
        who = self.principal(principal)
        region = region or self.region
        action = action if action.startswith("kms:") else f"kms:{action}"
        req = dict(request)
        if encryption_context is not None:
            req["encryption_context"] = encryption_context
        key = None
        if key_id is not None:
            req.setdefault("key_id", key_id)
            ctx = RequestContext(region, who)
            key = self.kms.resolve_key(ctx, key_id, "DescribeKey")
        return self.permissions.decide(who, action, key, req, via_service=via_service)

    def client(self, service_name: str, region_name: str | None = None, *, principal: str | None = None, **kwargs):
        """A genuine boto3 client for ``service_name``, answered by this cloud.

        ``principal`` is the ARN of who makes the calls; without it, the default
        account's root user. Extra keyword arguments (``config=...``) go to boto3.
        """
        region = region_name or self.region
        self._check_region(region)
        protocol = self._protocols.get(service_name)
        if protocol is None:
            raise ValueError(
                f"kms_teach simulates {', '.join(sorted(self._protocols))}; it has no {service_name!r} service."
            )
        who = self.principal(principal)
        # Fidelity: in-process requests are not signed. The caller is the client's
        # principal, fixed when the client is made, so a signature would prove
        # nothing here (and SigV4 costs more than the simulated KMS call itself).
        # The HTTP endpoint verifies real SigV4 signatures.
        config = Config(connect_timeout=1, read_timeout=1, signature_version=UNSIGNED)
        if service_name == "s3":
            config = config.merge(S3_CLIENT_CONFIG)
        if "config" in kwargs:
            config = config.merge(kwargs.pop("config"))
        for forbidden in ("endpoint_url", "aws_access_key_id", "aws_secret_access_key", "aws_session_token"):
            # Who calls is the principal; where it goes is this cloud.
            if forbidden in kwargs:
                raise TypeError(f"{forbidden} is chosen by the simulated cloud; do not pass it")
        session = boto3_session()
        client = session.client(
            service_name,
            region_name=region,
            endpoint_url=f"https://{service_name}.{region}.kms-teach.invalid",
            config=config,
            **kwargs,
        )
        handler = _InProcessTransport(self, protocol, region, who)
        # First in line, so that another library's before-send hook (moto's stubber,
        # for one) never sees, or slows, requests meant for this cloud.
        client.meta.events.register_first("before-send", handler)
        client._kms_teach_transport = handler  # keeps the handler alive with the client
        return client

    def serve(self, port: int = 0, host: str = "127.0.0.1"):
        """Serve this cloud over HTTP for the aws CLI and SDKs, in a background thread.

        Returns a handle with ``.url``, ``.env`` (the environment variables that point the aws CLI
        and boto3 at it, with this cloud's root credentials) and ``.stop()``. Requests must carry
        SigV4 signatures made with access keys this cloud's IAM issued.
        """
        from ._http.server import serve_in_background

        handle = serve_in_background(self, port=port, host=host)
        self._servers.append(handle)
        return handle

    def services(self) -> list[str]:
        """The services this cloud answers (the names ``client()`` and ``handle()`` take)."""
        return sorted(self._protocols)

    def handle(self, service: str, *, region: str, principal: Principal, method: str, url: str,
               headers: dict[str, str], body: bytes, source_ip: str = "127.0.0.1",
               access_key_id: str | None = None) -> WireResponse:
        """Answer one HTTP request to ``service`` as ``principal`` (the HTTP endpoint's entry point).

        ``headers`` is any mapping; lookups are case-insensitive. The answer's
        status, headers and body are AWS's, for the service's protocol.
        """
        protocol = self._protocols.get(service)
        if protocol is None:
            raise ValueError(f"kms_teach has no {service!r} service")
        lowered = {k.lower(): (v.decode("latin-1") if isinstance(v, bytes) else v) for k, v in headers.items()}
        ctx = RequestContext(region, principal, user_agent=lowered.get("user-agent") or "kms_teach",
                             source_ip=source_ip, request_id=_request_id(),
                             extra={"access_key_id": access_key_id} if access_key_id else None)
        try:
            if isinstance(protocol, QueryProtocol):
                return protocol.handle(body, ctx, lowered.get("content-type"))
            if isinstance(protocol, JsonProtocol):
                return protocol.handle(lowered.get("x-amz-target"), body, ctx)
            return protocol.handle(method, url, lowered, body, ctx)
        except AWSError as exc:
            return protocol._error(exc.code, exc.message, exc.status, ctx.request_id)
        except Exception as exc:  # a simulator bug: answer as AWS would
            code = _internal_error_code(protocol)
            return protocol._error(code, f"kms_teach internal error: {exc!r}", 500, ctx.request_id)

    def __repr__(self) -> str:
        where = str(self.path) if self.path else "in memory"
        return f"<kms_teach.Cloud account={self.account_id} region={self.region} {where} now={self.clock.now():%Y-%m-%d %H:%M} UTC>"


class _InProcessTransport:
    """botocore's ``before-send`` handler: answers an HTTP request without a network."""

    __slots__ = ("cloud", "protocol", "region", "principal", "__weakref__")

    def __init__(self, cloud: Cloud, protocol, region: str, principal: Principal):
        self.cloud = cloud
        self.protocol = protocol
        self.region = region
        self.principal = principal

    def __call__(self, request, **kwargs) -> AWSResponse:
        request_id = _request_id()
        try:
            headers = request.headers
            ctx = RequestContext(
                region=self.region,
                principal=self.principal,
                user_agent=_text(headers.get("User-Agent")) or "kms_teach",
                request_id=request_id,
            )
            body = request.body or b""
            if not isinstance(body, (bytes, bytearray)):
                body = body.read() if hasattr(body, "read") else str(body).encode("utf-8")
            if isinstance(self.protocol, QueryProtocol):
                reply = self.protocol.handle(bytes(body), ctx, _text(headers.get("Content-Type")))
            elif isinstance(self.protocol, RestXmlProtocol):
                reply = self.protocol.handle(request.method, request.url, dict(headers.items()), bytes(body), ctx)
            else:
                reply = self.protocol.handle(_text(headers.get("X-Amz-Target")), bytes(body), ctx)
        except AWSError as exc:  # e.g. a store failure surfacing as KMSInternalException
            reply = self.protocol._error(exc.code, exc.message, exc.status, request_id)
        except Exception as exc:  # a simulator bug: answer as AWS would, never break the client
            code = _internal_error_code(self.protocol)
            reply = self.protocol._error(code, f"kms_teach internal error: {exc!r}", 500, request_id)
        return AWSResponse(request.url, reply.status, reply.headers, _RawBody(reply.body))


_request_ids = itertools.count(1)
_REQUEST_ID_PREFIX = os.urandom(10).hex()


def _request_id() -> str:
    """A unique, UUID-shaped request ID (a per-process random prefix and a counter: cheap on the hot path)."""
    p, n = _REQUEST_ID_PREFIX, next(_request_ids)
    return f"{p[:8]}-{p[8:12]}-4{p[13:16]}-a{p[17:20]}-{n:012x}"


def _internal_error_code(protocol) -> str:
    """The code each protocol's services answer a server fault with."""
    if isinstance(protocol, JsonProtocol):
        return "KMSInternalException"
    if isinstance(protocol, RestXmlProtocol):
        return "InternalError"
    return "ServiceFailure"


def _text(value) -> str | None:
    return value.decode("latin-1") if isinstance(value, bytes) else value
