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

import botocore.session
from botocore.awsrequest import AWSResponse
from botocore import UNSIGNED
from botocore.config import Config

from ._clock import Clock
from ._crypto import RandomSource
from ._errors import AWSError
from ._model import DEFAULT_ACCOUNT, DEFAULT_REGION, Principal
from ._policy.authz import Resource
from ._services.audit import AuditLog
from ._services.base import RequestContext
from ._services.cloudtrail import CloudTrail
from ._services.iam import IAM
from ._services.kms import KMS
from ._services.s3 import S3
from ._store import Changes, MemoryStore, SQLiteStore
from ._wire import S3_CLIENT_CONFIG, JsonProtocol, QueryProtocol, RestXmlProtocol, WireRequest, WireResponse, boto3_session, isolated_session

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
        it the cloud lives in memory and disappears with the object. One
        process at a time may open a folder (``kms-teach serve`` included):
        another opener gets :class:`~kms_teach._errors.DataDirInUse`, naming
        the holder's PID; to share the cloud, ``cloud.serve()`` it and connect
        to the endpoint. The folder is made private (0700, its files 0600).
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
            # Takes the folder's lock: a second opener, in this process or another, is refused
            # (DataDirInUse) rather than allowed to overwrite this one's acknowledged writes.
            self.store = SQLiteStore(self.path, self.random, holder=f"Cloud(path=...) in {_command()}")
            try:
                self._open(account_id, region, clock, seed)
            except BaseException:
                self.store.close()
                raise
        else:
            self.store = MemoryStore()
            self._open(account_id, region, clock, seed)

    def _open(self, account_id: str, region: str, clock: Clock | None, seed) -> None:
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
        # One permissions engine for every service: IAM's (identity policies are IAM's), handed to the others.
        self.iam = IAM(clock=self.clock, random=self.random, store=self.store, audit=self.audit)
        self.permissions = self.iam.authorizer
        self.kms = KMS(clock=self.clock, random=self.random, store=self.store, audit=self.audit, regions=known_regions(),
                       principals=self.iam, authorizer=self.permissions)
        self.cloudtrail = CloudTrail(self.audit, clock=self.clock, authorizer=self.permissions)
        self.s3 = S3(clock=self.clock, random=self.random, store=self.store, kms=self.kms, audit=self.audit,
                     regions=known_regions(), authorizer=self.permissions, principals=self.iam)
        # IAM and STS are global services; CloudTrail records their calls in us-east-1.
        self._protocols = {
            "kms": JsonProtocol("kms", self.kms.call),
            "cloudtrail": JsonProtocol("cloudtrail", self.cloudtrail.call),
            "iam": QueryProtocol("iam", self.iam.call),
            "sts": QueryProtocol("sts", self.iam.sts.call),
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
                encryption_context: dict | None = None, via_service: str | None = None, bucket: str | None = None,
                key: str | None = None, **request: Any):
        """Would ``principal`` be allowed ``action`` (e.g. ``"kms:Decrypt"``) on a KMS key, and why?

        Answers without making the call, with the same decision the call itself
        would get: a :class:`~kms_teach._policy.authz.Decision` whose ``explain()``
        lists every key-policy statement, identity-policy statement and grant
        considered, and why each did or did not apply. ``key_id`` takes anything
        a KeyId does (a key ARN or alias ARN for a key in another account).
        Other request members (snake_case, e.g. ``grantee_principal=...``) feed
        the condition keys.

        S3 questions name the bucket (and the object's ``key``)::

            cloud.explain(bob, "s3:GetObject", bucket="plans", key="q3.txt")

        and are decided on the caller's identity policies and the bucket policy together. Other
        services' actions (``"cloudtrail:LookupEvents"``, ``"iam:GetUser"``) are decided on the
        caller's identity policies.
        """
        who = self.principal(principal)
        region = region or self.region
        service = action.split(":", 1)[0] if ":" in action else "kms"
        if service == "s3":
            if bucket is None:
                resource = Resource("*", who.account_id)
            else:
                with self.s3._lock:
                    found = self.s3._buckets.get(bucket)
                if found is None:
                    raise ValueError(f"There is no S3 bucket named {bucket!r} in this cloud.")
                resource = self.s3.resource_of(found, key)
            return self.permissions.decide_resource(who, action, resource, request)
        if service != "kms":
            return self.permissions.decide_resource(who, action, Resource(request.pop("resource", "*"),
                                                                          who.account_id), request)
        action = action if action.startswith("kms:") else f"kms:{action}"
        req = dict(request)
        if encryption_context is not None:
            req["encryption_context"] = encryption_context
        key = None
        if key_id is not None:
            req.setdefault("key_id", key_id)
            ctx = RequestContext(region, who)
            key = self.kms.resolve_key(ctx, key_id, "DescribeKey")
        return self.permissions.decide(who, action, key, req, via_service=via_service, kms=self.kms)

    def client(self, service_name: str, region_name: str | None = None, *, principal: str | None = None, **kwargs):
        """A genuine boto3 client for ``service_name``, answered by this cloud.

        ``principal`` is the ARN of who makes the calls; without it, the default
        account's root user. Extra keyword arguments (``config=...``) go to boto3.
        """
        region = region_name or self.region
        self._check_region(region)
        self._protocol(service_name)
        return self._client(service_name, region, self.principal(principal), **kwargs)

    def _protocol(self, service_name: str):
        protocol = self._protocols.get(service_name)
        if protocol is None:
            raise ValueError(
                f"kms_teach simulates {', '.join(sorted(self._protocols))}; it has no {service_name!r} service."
            )
        return protocol

    def _client(self, service_name: str, region: str, who: Principal, **kwargs):
        """An in-process client of ``service_name`` in ``region``, acting as ``who``."""
        self._check_region(region)
        protocol = self._protocol(service_name)
        # Fidelity: in-process requests are not signed. The caller is the client's
        # principal, fixed when the client is made, so a signature would prove
        # nothing here (and SigV4 costs more than the simulated KMS call itself).
        # The HTTP endpoint verifies real SigV4 signatures.
        config = Config(connect_timeout=1, read_timeout=1, signature_version=UNSIGNED)
        if service_name == "s3":
            config = config.merge(S3_CLIENT_CONFIG)
        if kwargs.get("config") is not None:
            config = config.merge(kwargs.pop("config"))
        kwargs.pop("config", None)
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

    def botocore_session(self, principal: str | None = None, region_name: str | None = None):
        """A botocore session whose every client is an in-process client of this cloud.

        For libraries that make their own clients from a botocore session, such as the
        AWS Encryption SDK::

            provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(
                key_ids=[key_arn], botocore_session=cloud.botocore_session())

        Clients act as ``principal`` (an ARN, resolved once, when the session is
        made, as :meth:`client` resolves it; the default account's root user
        without one), in ``region_name`` unless the client names its own Region
        (the cloud's Region without either). They read no AWS configuration and
        no credentials: ``get_credentials()`` is None, and a client asked for an
        ``endpoint_url`` or access keys is refused with ``TypeError``.
        """
        region = region_name or self.region
        self._check_region(region)
        return _CloudBotocoreSession(self, self.principal(principal), region)

    def session(self, principal: str | None = None, region_name: str | None = None):
        """A ``boto3.Session`` whose clients and resources are this cloud's in-process clients.

        For code that takes a session rather than a client: boto3's transfer manager
        (``session.client("s3").upload_file(...)``, ``session.resource("s3")``), data tools,
        the AWS Encryption SDK. ``principal`` and ``region_name`` as in :meth:`botocore_session`.
        """
        import boto3.session

        return boto3.session.Session(botocore_session=self.botocore_session(principal, region_name))

    def serve(self, port: int = 0, host: str = "127.0.0.1"):
        """Serve this cloud over HTTP for the aws CLI and SDKs, in a background thread.

        Returns a handle with ``.url``, ``.env`` (the environment variables that point the aws CLI
        and boto3 at it, with this cloud's root credentials) and ``.stop()``. Requests must carry
        SigV4 signatures made with access keys this cloud's IAM issued.
        """
        from ._http.server import serve_in_background

        handle = serve_in_background(self, port=port, host=host)
        self._servers.append(handle)
        lock = getattr(self.store, "folder_lock", None)
        if lock is not None:  # a second opener of the folder is told where to connect instead
            lock.note(f"url {handle.url}")
            lock.note(f"credentials {handle.env['AWS_SHARED_CREDENTIALS_FILE']}")
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
        return protocol.answer(WireRequest(method, url, lowered, body), ctx)

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
        headers = request.headers  # botocore's: case-insensitive names
        ctx = RequestContext(
            region=self.region,
            principal=self.principal,
            user_agent=_text(headers.get("User-Agent")) or "kms_teach",
            request_id=_request_id(),
        )
        body = request.body or b""
        if type(body) is not bytes:
            try:
                body = (bytes(body) if isinstance(body, bytearray)
                        else body.read() if hasattr(body, "read") else str(body).encode("utf-8"))
            except Exception as exc:  # a body botocore cannot give: answer as AWS would, never break the client
                reply = self.protocol._error(self.protocol.INTERNAL_ERROR, f"kms_teach internal error: {exc!r}",
                                             500, ctx.request_id)
                return AWSResponse(request.url, reply.status, reply.headers, _RawBody(reply.body))
        reply = self.protocol.answer(WireRequest(request.method, request.url, headers, body), ctx)
        raw = reply.body if hasattr(reply.body, "read") else _RawBody(reply.body)  # a stream stays one
        return AWSResponse(request.url, reply.status, reply.headers, raw)


class _CloudBotocoreSession(botocore.session.Session):
    """A botocore session bound to one cloud and one principal: ``create_client`` makes in-process clients.

    Third-party code makes clients from a session in its own way (the Encryption SDK wraps it in a new
    ``boto3.Session`` for each Region it needs); every path ends in ``create_client``, so every client
    made from this session, by anyone, is answered by the cloud as the session's principal.
    """

    def __init__(self, cloud: Cloud, principal: Principal, region: str):
        # Every setting is read from no environment variable and no file (see _wire.base.isolated_session).
        super().__init__(session_vars=dict(isolated_session().session_var_map))
        self._kms_teach_cloud = cloud
        self._kms_teach_principal = principal
        self.set_config_variable("region", region)

    def create_client(self, service_name, region_name=None, api_version=None, use_ssl=True, verify=None,
                      endpoint_url=None, aws_access_key_id=None, aws_secret_access_key=None,
                      aws_session_token=None, config=None, aws_account_id=None):
        given = {"endpoint_url": endpoint_url, "aws_access_key_id": aws_access_key_id,
                 "aws_secret_access_key": aws_secret_access_key, "aws_session_token": aws_session_token,
                 "aws_account_id": aws_account_id}
        for name, value in given.items():
            if value is not None:
                raise TypeError(f"{name} is chosen by the simulated cloud; do not pass it "
                                f"(the session acts as {self._kms_teach_principal.arn})")
        cloud = self._kms_teach_cloud
        extra = {"api_version": api_version} if api_version is not None else {}
        return cloud._client(service_name, region_name or self.get_config_variable("region"),
                             self._kms_teach_principal, config=config, **extra)

    def get_credentials(self):
        return None  # in-process clients are not signed: the principal is the session's

    def get_available_services(self):
        return self._kms_teach_cloud.services()

    def register(self, event_name, handler, unique_id=None, unique_id_uses_count=False):
        # Each boto3.Session made over this session registers boto3's class customisations
        # (S3's upload_file on Bucket and Object resources) once more; a second copy would
        # fail ("Cannot inject class attribute"). One registration per customisation.
        if unique_id is None and getattr(handler, "__module__", None) == "boto3.utils":
            names = []
            for cell in getattr(handler, "__closure__", None) or ():
                try:
                    if isinstance(cell.cell_contents, str):
                        names.append(cell.cell_contents)
                except ValueError:  # pragma: no cover - an empty cell
                    pass
            if names:
                unique_id = f"kms_teach:{event_name}:{':'.join(names)}"
        return super().register(event_name, handler, unique_id=unique_id,
                                unique_id_uses_count=unique_id_uses_count)

    def __repr__(self) -> str:
        return (f"<kms_teach botocore session {self._kms_teach_principal.arn} "
                f"{self.get_config_variable('region')}>")


_request_ids = itertools.count(1)
_REQUEST_ID_PREFIX = os.urandom(10).hex()


def _request_id() -> str:
    """A unique, UUID-shaped request ID (a per-process random prefix and a counter: cheap on the hot path)."""
    p, n = _REQUEST_ID_PREFIX, next(_request_ids)
    return f"{p[:8]}-{p[8:12]}-4{p[13:16]}-a{p[17:20]}-{n:012x}"


def _command() -> str:
    """This process's command line, short (what a second opener of the folder is told holds it)."""
    import sys

    argv = sys.argv or ["python"]
    return " ".join([os.path.basename(argv[0]) or "python", *argv[1:]])[:160]


def _text(value) -> str | None:
    return value.decode("latin-1") if isinstance(value, bytes) else value
