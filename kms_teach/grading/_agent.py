"""The grader's agent in the learner's kernel: answers the checker's calls over the channel.

At grading, after a task's answer cells have run, the grader runs one cell in the learner's kernel::

    __import__("kms_teach.grading._agent", fromlist=["serve"]).serve(SOCKET, globals(), "t1")

It connects to the checker (a process outside the sandbox), then calls the learner's functions by
name as the checker asks, with the arguments decoded from the channel, and sends back what they
return (or what they raise). An argument that is one of the checker's AWS clients becomes here a
genuine botocore client whose transport sends each HTTP request back over the channel, to the
checker's cloud: keys, grants, policies and audit events live only in the checker.

Nothing here is trusted. The learner's code shares this process and may replace any of it; the
checker verifies whatever comes back against its own cloud. This module is only the honest path.
"""

from __future__ import annotations

import io
import threading

from . import _channel as ch

_MAX_ERROR_TEXT = 2000


class _Forward:
    """botocore's ``before-send`` handler of a kernel-side client: the request goes to the checker."""

    def __init__(self, agent: "_Agent", client_id: int):
        self.agent, self.client_id = agent, client_id

    def __call__(self, request, **_):
        from botocore.awsrequest import AWSResponse

        body = request.body or b""
        if not isinstance(body, (bytes, bytearray)):
            body = body.read() if hasattr(body, "read") else str(body).encode("utf-8")
        headers = [[str(k), v.decode("latin-1") if isinstance(v, bytes) else str(v)]
                   for k, v in request.headers.items()]
        reply = self.agent.ask({"op": "aws", "client": self.client_id, "method": request.method,
                                "url": request.url, "headers": headers, "body": ch.encode(bytes(body))},
                               "aws-reply")
        from urllib3 import HTTPResponse

        body = ch.decode(reply.get("body"))
        raw = HTTPResponse(body=io.BytesIO(body), status=int(reply["status"]), preload_content=False)
        return AWSResponse(request.url, int(reply["status"]), dict(reply.get("headers") or []), raw)


class RemoteCloud:
    """The checker's cloud, as the learner's code sees it at grading: ``client()``, ``account_id``, ``region``."""

    def __init__(self, agent: "_Agent", ref: dict):
        self._agent, self._id = agent, ref["id"]
        self.account_id, self.region = ref.get("account_id"), ref.get("region")

    def client(self, service_name: str, region_name: str | None = None, *, principal: str | None = None, **kwargs):
        if principal is not None or kwargs:
            raise TypeError("at grading, the cloud you are given makes clients with client(service_name, "
                            "region_name=...) only")
        reply = self._agent.ask({"op": "client", "cloud": self._id, "service": str(service_name),
                                 "region": None if region_name is None else str(region_name)}, "client-reply")
        if reply.get("refused"):
            raise ValueError(str(reply["refused"]))
        return self._agent.client(reply["client"])

    def __getattr__(self, name):
        raise AttributeError(f"at grading, the cloud you are given has client(), account_id and region, not {name!r}")

    def __repr__(self) -> str:
        return f"<the grader's cloud account={self.account_id} region={self.region}>"


class _Agent:
    def __init__(self, sock, namespace: dict):
        self.sock, self.namespace = sock, namespace
        self.lock = threading.RLock()  # the learner's threads may call AWS at once: one exchange at a time
        self.clients: dict[int, object] = {}

    def ask(self, message: dict, expect: str) -> dict:
        with self.lock:
            ch.send(self.sock, message)
            reply = ch.receive(self.sock)
        if reply.get("op") != expect:
            raise ch.ProtocolError(f"expected {expect}, got {str(reply.get('op'))[:40]}")
        return reply

    def client(self, ref: dict):
        """A genuine boto3 client like the checker's client ``ref``, answered by the checker's cloud."""
        found = self.clients.get(ref["id"])
        if found is None:
            found = _session().client(ref["service"], region_name=ref["region"], endpoint_url=ref["endpoint"],
                                      config=_config(ref.get("config") or {}))
            found.meta.events.register_first("before-send", _Forward(self, ref["id"]))
            self.clients[ref["id"]] = found
        return found

    def _refs(self, tag, body):
        if tag == "client" and isinstance(body, dict):
            return self.client(body)
        if tag == "cloud" and isinstance(body, dict):
            return RemoteCloud(self, body)
        return None

    def run(self, task: str | None) -> None:
        ch.send(self.sock, {"op": "hello", "task": task})
        while True:
            try:
                message = ch.receive(self.sock)
            except ch.ChannelClosed:
                return
            op = message.get("op")
            if op == "done":
                return
            if op != "call":
                raise ch.ProtocolError(f"unexpected {str(op)[:40]}")
            self._call(message)

    def _call(self, message: dict) -> None:
        name = message.get("name")
        try:
            fn = self.namespace[name]
        except (KeyError, TypeError):
            return self._raised(NameError(f"{name!r} is not defined in your notebook (keep the function names "
                                          "the exercise gives)"))
        try:
            args = ch.decode(message.get("args"), self._refs)
            kwargs = ch.decode(message.get("kwargs"), self._refs)
            value = fn(*args, **kwargs)
        except KeyboardInterrupt:
            raise
        except ch.ChannelError:
            raise
        except BaseException as exc:  # the learner's code raised (or exited): that is its answer
            return self._raised(exc)
        try:
            encoded = ch.encode(value)
        except ch.Unsendable as exc:
            return self._raised(TypeError(f"{name} returned something the grader cannot receive: {exc}"))
        with self.lock:
            try:
                ch.send(self.sock, {"op": "return", "value": encoded})
            except ch.Unsendable as exc:
                ch.send(self.sock, _raise_message(TypeError(f"{name} returned too much: {exc}")))

    def _raised(self, exc: BaseException) -> None:
        with self.lock:
            ch.send(self.sock, _raise_message(exc))


_boto3_session = None


def _session():
    """One boto3 session reading no AWS configuration file: nothing of the machine's AWS setup matters."""
    global _boto3_session
    if _boto3_session is None:
        import os

        import boto3.session
        import botocore.session

        core = botocore.session.Session()
        core.set_config_variable("config_file", os.devnull)
        core.set_config_variable("credentials_file", os.devnull)
        _boto3_session = boto3.session.Session(botocore_session=core)
    return _boto3_session


def _config(options: dict):
    """The checker's client configuration, as sent over the channel (see ``_checker.client_config``)."""
    from botocore import UNSIGNED
    from botocore.config import Config

    options = dict(options)
    if options.get("signature_version") == "unsigned":
        options["signature_version"] = UNSIGNED
    return Config(**options)


def _raise_message(exc: BaseException) -> dict:
    try:
        text = str(exc)
    except Exception:
        text = "(an exception that cannot be printed)"
    response = getattr(exc, "response", None)
    code = None
    if isinstance(response, dict) and isinstance(response.get("Error"), dict):
        code = response["Error"].get("Code")
    return {"op": "raise", "type": type(exc).__name__[:100], "message": text[:_MAX_ERROR_TEXT],
            "code": code if isinstance(code, str) else None}


def serve(path: str, namespace: dict, task: str | None = None) -> None:
    """Answer the checker at ``path`` until it is done (the grader runs this; learners need not)."""
    import time

    sock = ch.connect(path, deadline=time.monotonic() + 30)
    try:
        _Agent(sock, namespace).run(task)
    finally:
        sock.close()
