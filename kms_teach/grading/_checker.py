"""The checker: runs each task's hidden checks in a process of its own, outside the learner's sandbox.

One checker process serves one submission (``python -m kms_teach.grading._checker``). The grader
writes a job on its stdin (the assignment source, the channel's socket path, the work folder), then
one line per task; the checker answers each with one line of JSON on the file descriptor it was
given (never stdout, which the hidden checks may print to).

For a task, the checker runs the source's hidden-test region as plain Python in a namespace made of
the source's setup cells, where each function the answer cells define (``seal``, ``fix_lockout``
...) is a :class:`RemoteFunction`: calling it sends "call ``seal`` with these arguments" over the
channel to the agent in the learner's kernel and returns what comes back, decoded. AWS clients and
clouds passed as arguments stay here: the kernel gets clients whose requests come back to be
answered by this process's clouds (:class:`Bridge`), so what the checks inspect is never the
kernel's. Every byte from the kernel is hostile: size, shape and time are limited (``_channel``),
and a broken channel fails the task whatever the hidden code does with the exception.
"""

from __future__ import annotations

import ast
import json
import os
import socket
import sys
import time
import traceback
import urllib.parse

from . import _channel as ch

_METHODS = {"GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"}
_MAX_URL = 16 * 1024
_MAX_HEADERS = 200
MESSAGE_LIMIT = 600


class LearnerRaised(Exception):
    """The learner's function raised; ``response`` mimics botocore's ClientError for ``error_code``."""

    def __init__(self, function: str, type_name: str, message: str, code: str | None):
        super().__init__(f"{function} raised {type_name}: {message}" if message else f"{function} raised {type_name}")
        self.function, self.type_name, self.message, self.code = function, type_name, message, code
        if code:
            self.response = {"Error": {"Code": code, "Message": message}}


class Bridge:
    """The checker's end of the channel for one task: calls into the kernel, AWS requests back out."""

    def __init__(self, listener: socket.socket, deadline: float, task: str):
        self.listener, self.deadline, self.task = listener, deadline, task
        self.sock: socket.socket | None = None
        self.broken: str | None = None
        self.not_answered = False
        self.calls = 0
        self.clients: dict[int, object] = {}
        self.clouds: dict[int, object] = {}
        self._ids: dict[int, int] = {}  # id(obj) -> ref id, objects kept alive in clients/clouds
        self.received = 0

    # ------------------------------------------------------------------ connection

    def _attach(self) -> None:
        """Take the agent's connection for this task. A connection left over from a kernel that was
        stopped (it closes at once) or that greets another task is dropped, and the next one taken."""
        while self.sock is None:
            self.listener.settimeout(max(0.01, self.deadline - time.monotonic()))
            try:
                sock, _ = self.listener.accept()
            except socket.timeout:
                raise ch.ChannelTimeout("the learner's kernel never connected to the grader") from None
            try:
                hello = ch.receive(sock, self.deadline)
            except ch.ChannelClosed:
                sock.close()
                continue
            except ch.ChannelError:
                self.sock = sock
                raise
            if hello.get("op") != "hello":
                self.sock = sock
                raise ch.ProtocolError("the kernel did not start with hello")
            if hello.get("task") not in (None, self.task):
                sock.close()
                continue
            self.sock = sock

    def close(self) -> None:
        if self.sock is None:
            # The checks ended before calling anything: let a waiting agent go rather than hang its kernel.
            self.listener.settimeout(0.2)
            try:
                self.sock, _ = self.listener.accept()
            except OSError:
                return
        if self.sock is not None:
            try:
                self.sock.settimeout(1)
                ch.send(self.sock, {"op": "done"})
            except (OSError, ch.ChannelError, TypeError):
                pass
            self.sock.close()
            self.sock = None

    def _receive(self) -> dict:
        message = ch.receive(self.sock, self.deadline)
        return message

    # ------------------------------------------------------------------ references to our objects

    def _ref(self, value):
        from botocore.client import BaseClient

        from .. import Cloud

        if isinstance(value, BaseClient):
            ref = self._register(value, self.clients)
            return {"client": {"id": ref, "service": value.meta.service_model.service_name,
                               "region": value.meta.region_name, "endpoint": value.meta.endpoint_url,
                               "config": client_config(value)}}
        if isinstance(value, Cloud):
            ref = self._register(value, self.clouds)
            return {"cloud": {"id": ref, "account_id": value.account_id, "region": value.region}}
        return None

    def _register(self, value, table: dict) -> int:
        ref = self._ids.get(id(value))
        if ref is None:
            ref = self._ids[id(value)] = len(self._ids) + 1
            table[ref] = value
        return ref

    # ------------------------------------------------------------------ a call

    def call(self, name: str, args: tuple, kwargs: dict):
        if self.broken:
            raise ch.ChannelError(self.broken)
        self.calls += 1
        try:
            payload = {"op": "call", "name": name, "args": ch.encode(list(args), self._ref),
                       "kwargs": ch.encode(dict(kwargs), self._ref)}
        except ch.Unsendable as exc:  # the hidden code's own mistake: an argument that cannot cross
            raise TypeError(f"the hidden checks passed {name} an argument the channel cannot carry: {exc}") from None
        try:
            self._attach()
            ch.send(self.sock, payload)
            while True:
                message = self._receive()
                op = message.get("op")
                if op == "return":
                    _only(message, {"op", "value"})
                    return ch.decode(message["value"])
                if op == "raise":
                    _only(message, {"op", "type", "message", "code"})
                    type_name, text, code = message["type"], message["message"], message["code"]
                    if not (isinstance(type_name, str) and isinstance(text, str)
                            and (code is None or isinstance(code, str))):
                        raise ch.ProtocolError("a raise message of the wrong shape")
                    if type_name == "NotImplementedError":
                        self.not_answered = True
                        raise NotImplementedError(f"{name} is not answered yet")
                    raise LearnerRaised(name, type_name[:100], text[:1000], code[:100] if code else None)
                if op not in ("aws", "client"):
                    raise ch.ProtocolError(f"an unexpected message ({str(op)[:40]!r})")
                try:
                    (self._aws if op == "aws" else self._client)(message)
                except ch.ChannelError:
                    raise
                except Exception as exc:  # never an Exception the hidden code could take for an answer
                    raise ch.ProtocolError(f"a request the grader could not handle ({type(exc).__name__}: "
                                           f"{str(exc)[:200]})") from None
        except ch.ChannelTimeout:
            self.broken = (f"{name} did not return within the time limit (an answer that never returns?)"
                           if self.sock is not None else
                           "the learner's kernel never connected to the grader (it did not run the grader's cell)")
            raise ch.ChannelError(self.broken) from None
        except ch.ChannelClosed as exc:
            self.broken = f"the learner's kernel went away while {name} ran ({exc})"
            raise ch.ChannelError(self.broken) from None
        except ch.ProtocolError as exc:
            self.broken = f"the learner's kernel broke the grader's protocol while {name} ran: {exc}"
            raise ch.ChannelError(self.broken) from None
        except (OSError, ch.Unsendable) as exc:
            self.broken = f"the channel to the learner's kernel failed while {name} ran: {exc}"
            raise ch.ChannelError(self.broken) from None

    # ------------------------------------------------------------------ requests from the kernel

    def _aws(self, message: dict) -> None:
        from botocore.awsrequest import AWSRequest

        _only(message, {"op", "client", "method", "url", "headers", "body"})
        client = self.clients.get(message["client"]) if isinstance(message["client"], int) else None
        method, url, headers = message["method"], message["url"], message["headers"]
        if client is None:
            raise ch.ProtocolError("a request for a client the grader did not give")
        if method not in _METHODS or not isinstance(url, str) or len(url) > _MAX_URL:
            raise ch.ProtocolError("a request with a bad method or URL")
        if not (isinstance(headers, list) and len(headers) <= _MAX_HEADERS and all(
                isinstance(h, list) and len(h) == 2 and all(isinstance(x, str) and len(x) <= _MAX_URL for x in h)
                for h in headers)):
            raise ch.ProtocolError("request headers of the wrong shape")
        body = ch.decode(message["body"])
        if not isinstance(body, bytes):
            raise ch.ProtocolError("a request body is bytes")
        request = AWSRequest(method=method, url=url, headers=dict(headers), data=body).prepare()
        model = client.meta.service_model
        service_id = model.service_id.hyphenize()
        operation = _operation(model, dict((k.lower(), v) for k, v in headers), body)
        _, response = client.meta.events.emit_until_response(
            f"before-send.{service_id}.{operation or 'Unknown'}", request=request)
        if response is None:
            status, reply_headers, content = 500, {}, b"the grader's client has no transport"
        else:
            status, reply_headers, content = response.status_code, dict(response.headers.items()), response.content
            if operation:
                _after_call(client, operation, response)
        ch.send(self.sock, {"op": "aws-reply", "status": int(status),
                            "headers": [[str(k), str(v)] for k, v in reply_headers.items()],
                            "body": ch.encode(bytes(content))})

    def _client(self, message: dict) -> None:
        _only(message, {"op", "cloud", "service", "region"})
        cloud = self.clouds.get(message["cloud"]) if isinstance(message["cloud"], int) else None
        service, region = message["service"], message["region"]
        if cloud is None or not isinstance(service, str) or not (region is None or isinstance(region, str)):
            raise ch.ProtocolError("a client request of the wrong shape")
        try:
            client = cloud.client(service[:100], region_name=None if region is None else region[:100])
        except (ValueError, TypeError) as exc:
            ch.send(self.sock, {"op": "client-reply", "refused": str(exc)[:500]})
            return
        tag = self._ref(client)
        ch.send(self.sock, {"op": "client-reply", "client": tag["client"]})


_CONFIG_FIELDS = ("signature_version", "s3", "retries", "connect_timeout", "read_timeout",
                  "request_checksum_calculation", "response_checksum_validation", "parameter_validation")


def client_config(client) -> dict:
    """The parts of a client's configuration the kernel-side client copies (JSON-safe)."""
    from botocore import UNSIGNED

    config, out = client.meta.config, {}
    for name in _CONFIG_FIELDS:
        value = getattr(config, name, None)
        if value is UNSIGNED:
            out[name] = "unsigned"
        elif isinstance(value, (str, int, float, bool, dict)) and value is not None:
            out[name] = value
    return out


def _only(message: dict, keys: set) -> None:
    if set(message) != keys:
        raise ch.ProtocolError(f"a {str(message.get('op'))[:40]} message with the keys {sorted(message)[:10]}")


def _operation(model, headers: dict, body: bytes) -> str | None:
    """The operation a request is for, where the protocol names it (JSON: the target; query: Action)."""
    name = None
    if model.protocol == "json":
        target = headers.get("x-amz-target", "")
        name = target.rpartition(".")[2]
    elif model.protocol == "query" and len(body) < 1 << 20:
        name = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("Action", [None])[0]
    return name if name in model.operation_names else None


def _after_call(client, operation: str, response) -> None:
    """Let the hidden checks' hooks on their client see what the learner's calls returned
    (e.g. ``record_data_keys``): parsed as botocore parses it, emitted as botocore emits it."""
    import botocore.parsers

    model = client.meta.service_model
    op_model = model.operation_model(operation)
    parsed = botocore.parsers.create_parser(model.protocol).parse(
        {"status_code": response.status_code, "headers": response.headers, "body": response.content},
        op_model.output_shape)
    client.meta.events.emit(f"after-call.{model.service_id.hyphenize()}.{operation}", http_response=response,
                            parsed=parsed, model=op_model, context={})


class RemoteFunction:
    """A learner's function, as the hidden checks see it: each call goes to the kernel."""

    def __init__(self, name: str, bridge_of):
        self.__name__ = self.name = name
        self._bridge_of = bridge_of

    def __call__(self, *args, **kwargs):
        return self._bridge_of().call(self.name, args, kwargs)

    def __repr__(self) -> str:
        return f"<the learner's {self.name}>"


def answer_names(assignment) -> list[str]:
    """The top-level functions the answer cells define (in the worked solution): what the checks call."""
    from ._source import solution_version

    names: list[str] = []
    for cell in assignment.cells:
        if cell.role == "answer":
            for node in ast.parse(solution_version(cell.source)).body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name not in names:
                    names.append(node.name)
    return names


def visible_definitions(code: str):
    """The check cell's visible part as the checker runs it: its imports, assignments, ``def`` and
    ``class`` statements, so the names it defines exist for the hidden tests; not its bare
    expressions (the self-check call, whose printout is for the learner)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    tree.body = [node for node in tree.body if not isinstance(node, ast.Expr)]
    return compile(tree, "<the check cell's visible part>", "exec") if tree.body else None


def _attempt(code, filename: str, namespace: dict, bridge: Bridge) -> tuple[bool, str]:
    """Run one piece of the hidden checks: (passed, why not)."""
    try:
        exec(compile(code, filename, "exec") if isinstance(code, str) else code, namespace)
        return True, ""
    except ch.ChannelError:
        return False, bridge.broken or "the channel to the learner's kernel broke"
    except NotImplementedError:
        return False, "not answered yet (the cell still raises NotImplementedError)"
    except AssertionError as exc:
        return False, str(exc) or "a hidden check failed"
    except LearnerRaised as exc:
        return False, str(exc)
    except Exception as exc:
        return False, f"{type(exc).__name__}: {exc}"
    except SystemExit:
        return False, "the hidden checks called exit()"


def run_task(task, base: dict, names: list[str], listener: socket.socket, seconds: float) -> dict:
    """Run one task's hidden checks: each named check (``### CHECK points=N "Name"``) in turn, in one
    namespace, each with its own verdict; a check that fails costs its points only, unless the
    channel broke (every check from then on fails) or the learner's code is not answered yet."""
    started = time.monotonic()
    bridge = Bridge(listener, started + seconds, task.task_id)
    namespace = dict(base)
    namespace.update({name: RemoteFunction(name, lambda: bridge) for name in names})
    checks = getattr(task, "checks", None) or []
    if not checks:  # a task made without named checks: its hidden code is its one check
        from ._source import Check

        checks = [Check(task.title, task.points, task.hidden or "raise AssertionError('this task has no hidden checks')")]
    verdicts: list[dict] = []
    try:
        ok, why = True, ""
        visible = visible_definitions(getattr(task, "visible", "") or "")
        if visible is not None:
            ok, why = _attempt(visible, "<the check cell's visible part>", namespace, bridge)
            why = why and f"the check cell's own code failed: {why}"
        if ok and getattr(task, "preamble", "") and checks[0].line:  # shared code before the first ### CHECK
            ok, why = _attempt(task.preamble, f"<hidden checks of {task.task_id}>", namespace, bridge)
        for check in checks:
            if ok and not bridge.broken:
                passed, message = _attempt(check.code, f"<hidden check {check.name!r} of {task.task_id}>",
                                           namespace, bridge)
                if bridge.broken:  # whatever the hidden code did with it, a broken channel fails the check
                    passed, message = False, bridge.broken
            else:
                passed, message = False, bridge.broken or why
            verdicts.append({"name": check.name, "points": check.points, "passed": passed, "message": message})
    finally:
        bridge.close()
    if bridge.not_answered:
        for v in verdicts:
            v["passed"], v["message"] = False, "not answered yet (the cell still raises NotImplementedError)"
    elif bridge.calls == 0 and all(v["passed"] for v in verdicts):
        for v in verdicts:
            v["passed"], v["message"] = False, "the hidden checks never called the learner's code"
    for v in verdicts:
        v["message"] = v["message"][:MESSAGE_LIMIT]
    passed = all(v["passed"] for v in verdicts)
    message = next((v["message"] for v in verdicts if not v["passed"]), "")
    return {"task": task.task_id, "passed": passed, "message": message, "checks": verdicts,
            "calls": bridge.calls, "channel_broken": bool(bridge.broken),
            "seconds": round(time.monotonic() - started, 3)}


def main() -> int:
    """The checker process: a job on stdin, then one task per line; one result line each on stdout."""
    # The hidden checks may print (or a library may write to file descriptor 1): only this copy
    # of stdout carries results; descriptor 1 itself goes nowhere.
    out = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    sys.stdout = open(os.devnull, "w")

    def say(obj: dict) -> None:
        out.write(json.dumps(obj) + "\n")

    try:
        job = json.loads(sys.stdin.readline())
        from . import _source
        from .. import exercises

        assignment = _source.load(job["source"])
        exercises.set_work_root(job["work"], job.get("tmp"))
        os.chdir(job["home"])  # a private folder of the checker's: never the learner's work folder
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(job["socket"])
        os.chmod(job["socket"], 0o666)
        listener.listen(8)
        base: dict = {"__name__": "__kms_teach_checks__"}
        for cell in assignment.cells:
            if cell.role == "setup":
                exec(compile(cell.source, f"<setup of {assignment.name}>", "exec"), base)
        names = answer_names(assignment)
    except Exception as exc:
        say({"ready": False, "error": f"{type(exc).__name__}: {exc}"[:MESSAGE_LIMIT],
             "traceback": traceback.format_exc()[-2000:]})
        return 1
    say({"ready": True, "names": names})
    for line in sys.stdin:
        request = json.loads(line)
        task = assignment.tasks.get(request.get("task"))
        if task is None:
            say({"task": request.get("task"), "passed": False, "message": "no such task", "checks": []})
            continue
        say(run_task(task, base, names, listener, float(request["seconds"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
