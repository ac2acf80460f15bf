"""The HTTP server under attack: slow clients never hold a worker, and every error it writes is AWS-shaped.

cheroot hands a connection to a worker thread as soon as it has a byte to read;
the worker then reads the request line and headers with a blocking socket. A
client that sends one header byte every few seconds ("slowloris") would hold the
worker for as long as it likes, and a few of them every worker. Here:

* A connection goes to a worker only once its whole request head (request line
  and headers, up to the blank line) is in the socket's receive buffer, looked at
  with ``MSG_PEEK``: reading it then never blocks. Until then the connection
  waits outside the pool, and is answered ``408`` (in the protocol's shape) and
  closed when its head has not arrived within ``header_timeout`` seconds.
* Each client address may hold ``max_per_address`` connections. A new one beyond
  that closes that address's oldest connection that is not being answered (still
  sending its head, or idle between keep-alive requests); only when every one of
  them is busy in a worker is the new connection refused. So a client that opens
  connections and never finishes them cannot keep a well-behaved one out, even
  on the loopback interface, where every client has the same address.
* The body is read by :class:`~kms_teach._http.server.EndpointApp` against a
  deadline (``body_timeout`` and a minimum rate), not one recv at a time.
* An answer's head and the first part of its body go out in one write (cheroot
  writes them separately: two system calls, and two segments on the wire, for
  every small JSON answer).
* A worker that has answered a keep-alive request waits up to ``keep_hot`` seconds
  (2 ms) for that connection's next request head, and answers it itself when the
  whole head arrives and no other connection waits for a worker; otherwise the
  connection goes back to the selector as before. A client calling in a loop
  then skips the hand-off through the serving thread (an epoll wake-up, the
  queue, a worker wake-up) on every call. The rule that a worker reads only
  complete heads holds: a partial head goes back to wait outside the pool.
* Errors cheroot writes itself (a malformed request line, headers too large, a
  request-target too long, an unsupported HTTP version or method, a timeout) go
  through :attr:`GuardedServer.shape_error`, which answers in the protocol of the
  service the request names (JSON, query XML or S3's XML), not in plain text.
"""

from __future__ import annotations

import select
import selectors
import socket
import threading
import time
from collections import OrderedDict

from cheroot import server as _cheroot_server
from cheroot import wsgi
from cheroot.connections import ConnectionManager

__all__ = ["GuardedServer", "HEADER_TIMEOUT", "MAX_PER_ADDRESS"]

#: Seconds a client has to send its whole request head (line and headers) once it has begun.
HEADER_TIMEOUT = 10.0
#: Connections one client address may hold at once (see the module's docstring for who gives way).
MAX_PER_ADDRESS = 64
#: Seconds a worker waits for the next request of the keep-alive connection it has just answered.
KEEP_HOT = 0.002

_IDLE, _PENDING, _BUSY = "idle", "pending", "busy"


def _head_complete(data: bytes) -> bool:
    data = data.lstrip(b"\r\n")  # empty lines before a request line are allowed (RFC 9112 2.2)
    return b"\r\n\r\n" in data or b"\n\n" in data


def _parse_partial_head(data: bytes) -> dict[str, str]:
    """The headers of a (possibly cut) request head, lower-case names: enough to pick the error's shape."""
    headers: dict[str, str] = {}
    lines = data.decode("latin-1").splitlines()
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon and name and " " not in name:
            headers.setdefault(name.strip().lower(), value.strip())
    if lines:
        parts = lines[0].split(" ")
        if len(parts) >= 2 and "?" in parts[1]:
            headers.setdefault(":query", parts[1].split("?", 1)[1])
    return headers


class _OneWrite:
    """A connection's writer that holds an answer's head until the first part of its body, and sends both at once.

    Whatever is written next (a body part, a chunk, the last chunk, an error answer) goes out after the head
    it holds, so the order on the wire is cheroot's; :meth:`release` sends a head no body followed (HEAD, 204).
    """

    __slots__ = ("raw", "held", "holding")

    def __init__(self, raw):
        self.raw = raw
        self.held = None
        self.holding = False

    def write(self, data):
        if self.holding:
            self.holding = False
            self.held = bytes(data)
            return len(data)
        held = self.held
        if held is not None:
            self.held = None
            self.raw.write(held + data)
            return len(data)
        return self.raw.write(data)

    def release(self) -> None:
        self.holding = False
        held, self.held = self.held, None
        if held is not None:
            self.raw.write(held)

    def __getattr__(self, name):
        return getattr(self.raw, name)


class _Request(_cheroot_server.HTTPRequest):
    """cheroot's request, whose own error answers (``simple_response``) are in the AWS protocol's shape."""

    def send_headers(self):
        # An answer that says "Connection: close" closes it: cheroot would otherwise read the rest of
        # a body the application refused unread (into memory, however large) to keep the connection.
        if any(k.lower() == b"connection" and v.lower() == b"close" for k, v in self.outheaders):
            self.close_connection = True
        wfile = self.conn.wfile
        if isinstance(wfile, _OneWrite):
            wfile.holding = True  # the head cheroot writes now goes out with the body's first part
        try:
            return super().send_headers()
        finally:
            if isinstance(wfile, _OneWrite):
                wfile.holding = False

    def respond(self):
        wfile = self.conn.wfile
        try:
            super().respond()
        except BaseException:
            if isinstance(wfile, _OneWrite):
                try:
                    wfile.release()
                except OSError:
                    pass  # the connection broke: what went wrong first is what cheroot should hear
            raise
        if isinstance(wfile, _OneWrite):
            wfile.release()

    def _head_so_far(self) -> dict[str, str]:
        """The request's headers, from cheroot's parse, else from what has arrived of the head (a request
        line refused before its headers were read: the whole head is already in the socket's buffer)."""
        headers = {}
        for name, value in (self.inheaders or {}).items():
            if isinstance(name, bytes):
                name, value = name.decode("latin-1"), value.decode("latin-1")
            headers[name.lower()] = value
        if headers:
            return headers
        try:
            data = self.server._peek(self.conn) or b""
        except Exception:  # pragma: no cover - a broken connection: no headers to go by
            data = b""
        return _parse_partial_head(b"-\r\n" + data)

    def simple_response(self, status, msg=""):
        status = str(status)
        try:
            code = int(status[:3])
        except ValueError:  # pragma: no cover - cheroot always passes "NNN Reason"
            return super().simple_response(status, msg)
        headers = self._head_so_far()
        raw_query = getattr(self, "qs", b"") or b""
        if isinstance(raw_query, bytes):
            raw_query = raw_query.decode("latin-1")
        shaped = self.server.shape_error(code, msg, headers, raw_query)
        if shaped is None:
            return super().simple_response(status, msg)
        out_status, out_headers, body = shaped
        self.close_connection = True
        reason = status[4:] if out_status == code else _PHRASES.get(out_status, "Error")
        buf = [f"{self.server.protocol} {out_status} {reason}\r\n".encode("latin-1")]
        for name, value in out_headers.items():
            buf.append(f"{name}: {value}\r\n".encode("latin-1"))
        buf.append(f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode("latin-1"))
        buf.append(body)
        try:
            self.conn.wfile.write(b"".join(buf))
        except OSError:
            pass


class _Connection(_cheroot_server.HTTPConnection):
    RequestHandlerClass = _Request

    def __init__(self, server, sock, makefile=_cheroot_server.MakeFile):
        super().__init__(server, sock, makefile)
        self.wfile = _OneWrite(self.wfile)
        self.kt_state = _IDLE
        self.kt_since = time.monotonic()  # when the head began to arrive (pending), or the state began

    def communicate(self):
        server = self.server
        while True:
            keep = super().communicate()
            if not keep or not server.ready:
                return keep
            nxt = server._next_request(self)
            if nxt is not True:
                # None: kept open, back to the selector (nothing yet, or a partial head); False: the client closed
                return nxt is None

    def close(self):
        try:
            super().close()
        finally:
            self.server._forget(self)


class _Connections(ConnectionManager):
    """cheroot's connection manager, bounding connections per address and timing out slow heads."""

    def _from_server_socket(self, server_socket):
        conn = super()._from_server_socket(server_socket)
        if conn is None:
            return None
        if not self.server._admit(conn, self):
            return None
        return conn

    def _expire(self, threshold):
        super()._expire(threshold)
        self.server._check_pending(self)


class GuardedServer(wsgi.Server):
    """A cheroot WSGI server whose workers only ever read complete request heads (see the module)."""

    ConnectionClass = _Connection

    def __init__(self, *args, header_timeout: float = HEADER_TIMEOUT, max_per_address: int = MAX_PER_ADDRESS,
                 shape_error=None, keep_hot: float = KEEP_HOT, **kwargs):
        super().__init__(*args, **kwargs)
        self.keep_hot = keep_hot
        self.header_timeout = header_timeout
        self.max_per_address = max_per_address
        # (status, message, headers, raw query) -> (status, headers, body) or None for cheroot's own
        self.shape_error = shape_error or (lambda status, message, headers, raw_query: None)
        self._guard = threading.Lock()
        self._by_address: dict[str, OrderedDict[int, _Connection]] = {}
        self._pending: dict[int, _Connection] = {}

    def prepare(self):
        super().prepare()
        plain = self._connections
        self._connections = _Connections(self)
        plain._selector.close()  # the listening socket stays open; only the first selector goes

    def stop(self):
        super().stop()
        # Connections still sending their heads are in no selector and no worker: close them too.
        with self._guard:
            pending, self._pending = list(self._pending.values()), {}
        for conn in pending:
            self._close_quietly(conn)

    # -- connections per address ----------------------------------------------------

    def _admit(self, conn: _Connection, manager: _Connections) -> bool:
        """Count ``conn`` against its address; make room by closing the oldest connection not being answered."""
        address = conn.remote_addr or "-"
        victim = None
        with self._guard:
            held = self._by_address.setdefault(address, OrderedDict())
            if len(held) >= self.max_per_address:
                victim = next((c for c in held.values() if c.kt_state == _PENDING), None) or \
                    next((c for c in held.values() if c.kt_state == _IDLE), None)
                if victim is None:  # every connection of this address is being answered: no room
                    refuse = True
                else:
                    refuse = False
                    held.pop(id(victim), None)
                    self._pending.pop(id(victim), None)
            else:
                refuse = False
            if not refuse:
                held[id(conn)] = conn
        if victim is not None:
            if victim.kt_state == _IDLE:
                try:
                    manager._selector.unregister(victim.socket.fileno())
                except (KeyError, ValueError, OSError):
                    pass
            victim.kt_state = _BUSY  # no longer anyone's to dispatch
            self._close_quietly(victim)
        if refuse:
            self._close_quietly(conn)
            return False
        return True

    def _forget(self, conn: _Connection) -> None:
        with self._guard:
            held = self._by_address.get(conn.remote_addr or "-")
            if held is not None:
                held.pop(id(conn), None)
                if not held:
                    del self._by_address[conn.remote_addr or "-"]
            self._pending.pop(id(conn), None)

    @staticmethod
    def _close_quietly(conn) -> None:
        try:
            conn.close()
        except OSError:
            pass

    # -- whole heads only -------------------------------------------------------------

    def _peek(self, conn: _Connection) -> bytes | None:
        """What the connection has sent and nobody has read yet (None: it closed)."""
        buffered = b""
        rfile = conn.rfile
        if rfile.has_data():
            buffered = bytes(rfile._read_buf[rfile._read_pos:])
        sock = conn.socket
        try:
            # A socket with a timeout waits for data before it receives, even with MSG_DONTWAIT: look
            # without waiting (nobody else reads this connection meanwhile).
            before = sock.gettimeout()
            sock.settimeout(0.0)
            try:
                waiting = sock.recv(self.max_request_header_size + 1, socket.MSG_PEEK)
            finally:
                sock.settimeout(before)
        except (BlockingIOError, InterruptedError):
            return buffered
        except OSError:
            return None
        if not waiting and not buffered:
            return None
        return buffered + waiting

    def _ready(self, conn: _Connection) -> tuple[bool | None, int]:
        """(True when the whole head is there, or too much to be a head: the worker answers that; None when
        the client closed), and how many bytes of it there are."""
        data = self._peek(conn)
        if data is None:
            return None, 0
        limit = self.max_request_header_size or 1 << 20
        return len(data) > limit or _head_complete(data), len(data)

    def _next_request(self, conn: _Connection) -> bool | None:
        """After a keep-alive answer: True when ``conn``'s next request head is whole and this worker should
        answer it; False when the client closed; None to hand the connection back (nothing within
        ``keep_hot``, a partial head, or other connections waiting for a worker)."""
        if self.keep_hot <= 0 or self.requests.qsize:
            return None
        if not conn.rfile.has_data():
            try:
                poller = select.poll()
                poller.register(conn.socket.fileno(), select.POLLIN)
                if not poller.poll(self.keep_hot * 1000):
                    return None
            except (OSError, ValueError):
                return None
        if self.requests.qsize:
            return None
        ready, _ = self._ready(conn)
        if ready is None:
            return False
        return True if ready else None

    def process_conn(self, conn):
        ready, size = self._ready(conn)
        if ready:
            conn.kt_state = _BUSY
            return super().process_conn(conn)
        if ready is None:  # the client went away
            conn.kt_state = _BUSY
            self._close_quietly(conn)
            return None
        if size == 0:
            # Nothing of its head yet (a new connection): wait in the selector for its first byte
            # (closed there when idle for ``timeout`` seconds, as any idle connection is).
            conn.kt_state = _IDLE
            conn.last_used = time.time()
            try:
                self._connections._selector.register(conn.socket.fileno(), selectors.EVENT_READ, data=conn)
            except (KeyError, ValueError, OSError):
                self._close_quietly(conn)
            return None
        # Part of a head: it waits here, looked at again every ``expiration_interval``, never in a worker.
        with self._guard:
            if conn.kt_state != _PENDING:
                conn.kt_state = _PENDING
                conn.kt_since = time.monotonic()
            self._pending[id(conn)] = conn
        return None

    def put_conn(self, conn):
        conn.kt_state = _IDLE
        conn.kt_since = time.monotonic()
        return super().put_conn(conn)

    def _check_pending(self, manager: _Connections) -> None:
        """Dispatch the pending connections whose head is now complete; time out the slow ones."""
        with self._guard:
            pending = list(self._pending.values())
        now = time.monotonic()
        for conn in pending:
            if conn.kt_state != _PENDING:
                continue
            ready, _ = self._ready(conn)
            if ready is None:
                conn.kt_state = _BUSY
                self._close_quietly(conn)
            elif ready:
                with self._guard:
                    self._pending.pop(id(conn), None)
                conn.kt_state = _BUSY
                super().process_conn(conn)
            elif now - conn.kt_since > self.header_timeout:
                conn.kt_state = _BUSY
                self._time_out(conn)

    def _time_out(self, conn: _Connection) -> None:
        """Answer a head that did not arrive in time with 408 (in the protocol's shape), then close."""
        data = self._peek(conn) or b""
        headers = _parse_partial_head(data)
        message = (f"Your socket connection to the server was not read from or written to within the timeout "
                   f"period ({self.header_timeout:g} s for the request's headers).")
        shaped = self.shape_error(408, message, headers, headers.pop(":query", ""))
        if shaped is not None:
            status, out_headers, body = shaped
            head = [f"HTTP/1.1 {status} {_PHRASES.get(status, 'Error')}"]
            head += [f"{k}: {v}" for k, v in out_headers.items()]
            head += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
            try:
                conn.socket.send("\r\n".join(head).encode("latin-1") + body, socket.MSG_DONTWAIT)
            except OSError:
                pass
        self._close_quietly(conn)


_PHRASES = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 408: "Request Timeout",
            413: "Payload Too Large", 414: "URI Too Long", 431: "Request Header Fields Too Large",
            500: "Internal Server Error", 501: "Not Implemented", 503: "Service Unavailable",
            505: "HTTP Version Not Supported"}
