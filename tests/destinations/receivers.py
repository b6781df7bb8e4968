"""Loopback HTTP receivers for the forwarding tests: real sockets on 127.0.0.1 that misbehave on cue.

:class:`Receiver` is a small HTTP/1.1 server (a raw socket server: it must be able to
misbehave in ways a well-behaved server library would not) listening on a free port,
served by background threads. What it does with each request is scripted: a queue of
behaviours, used one per request, then a default one:

- :class:`Reply`: a fixed answer (``Reply(500)``, ``Reply(429, headers={"Retry-After": "7"})``,
  ``Reply(400, b"bad")``);
- :class:`Normal`: the receiver's own answer (:meth:`Receiver.handle`: 200 for the plain
  receiver, the protocol's answer for :class:`SegmentReceiver` and :class:`WebhookReceiver`);
- :class:`Stall`: wait N seconds, then answer;
- :class:`Reset`: close the connection with SO_LINGER 0 (the client gets a TCP reset);
- :class:`Trickle`: the whole answer, status line included, one byte at a time (1 byte/s);
- :class:`Raw`: bytes as they are (a malformed answer), then close;
- :class:`RefuseEvent`: 400 when the request carries a given event id, else the normal answer.

``process=True`` on a fault (:class:`Reply`, :class:`Stall`, :class:`Reset`,
:class:`Trickle`) makes the receiver process the request (keep its events) before it
misbehaves: the answer is lost, the sender retries, and only the receiver's
deduplication keeps the events once.

Every request is recorded (:attr:`Receiver.requests`: method, path, query, lower-case
headers, body, arrival time). :meth:`Receiver.down` closes the listening socket (a
connect is refused) and :meth:`Receiver.up` listens again on the same port. Used as a
context manager (or through :func:`receiver`), it stops at the end and checks that none
of its threads is left running and that no answer raised.

(Over 500 lines: the fault server and the two protocol receivers built on it are one
piece the forwarding tests import together.)
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import socket
import ssl
import struct
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl

from trackway.destinations import webhook

POLL_S = 0.05  # how often a blocked thread looks whether the receiver is stopping
MAX_HEAD = 64 * 1024
JOIN_S = 5.0


@dataclass(frozen=True)
class Request:
    """One request as received: ``headers`` with lower-case names; ``at`` its
    ``time.monotonic()`` once read whole."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def params(self) -> dict[str, str]:
        return dict(parse_qsl(self.query, keep_blank_values=True))

    def event_ids(self) -> list[str]:
        """The event ids the body carries: a webhook's ``events[].id`` or a Segment
        batch's ``batch[].messageId`` (empty when the body is not such JSON)."""
        try:
            data = json.loads(self.body)
        except ValueError:
            return []
        if not isinstance(data, dict):
            return []
        ids = [e.get("id") for e in data.get("events", []) if isinstance(e, dict)]
        ids += [c.get("messageId") for c in data.get("batch", []) if isinstance(c, dict)]
        return [i for i in ids if isinstance(i, str)]


@dataclass(frozen=True)
class Reply:
    """A fixed answer."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    process: bool = False  # let the receiver process the request first (its answer unused)

    def wire(self, close: bool = False) -> bytes:
        try:
            reason = HTTPStatus(self.status).phrase
        except ValueError:
            reason = "Status"
        head = [f"HTTP/1.1 {self.status} {reason}", f"Content-Length: {len(self.body)}"]
        head += [f"{k}: {v}" for k, v in self.headers.items()]
        if close:
            head.append("Connection: close")
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + self.body

    def serve(self, receiver: Receiver, request: Request, conn: _Connection) -> bool:
        if self.process:
            receiver.handle(request)
        conn.send(self.wire())
        return True


class Behaviour(Protocol):
    def serve(self, receiver: Receiver, request: Request, conn: _Connection) -> bool:
        """Answer ``request`` on ``conn``; True to keep the connection for another request."""
        ...


@dataclass(frozen=True)
class Normal:
    """The receiver's own answer (:meth:`Receiver.handle`)."""

    def serve(self, receiver: Receiver, request: Request, conn: _Connection) -> bool:
        conn.send(receiver.handle(request).wire())
        return True


NOT_KEPT = Reply(503, b"not processed")


def _answer(receiver: Receiver, request: Request, then: Reply | None, process: bool) -> Reply:
    """``then``; None: what the receiver answers once it has processed the request, or
    :data:`NOT_KEPT` when it does not process it (``process`` False)."""
    if not process:
        return then or NOT_KEPT
    handled = receiver.handle(request)
    return then or handled


@dataclass(frozen=True)
class Stall:
    """Wait ``seconds`` (or until the receiver stops), then answer ``then`` (None: see
    :func:`_answer`) and close."""

    seconds: float
    then: Reply | None = None
    process: bool = False

    def serve(self, receiver: Receiver, request: Request, conn: _Connection) -> bool:
        reply = _answer(receiver, request, self.then, self.process)
        if conn.wait(self.seconds):
            conn.send(reply.wire(close=True))
        return False


@dataclass(frozen=True)
class Reset:
    """Close the connection at once with SO_LINGER 0: a TCP reset instead of an answer."""

    process: bool = False

    def serve(self, receiver: Receiver, request: Request, conn: _Connection) -> bool:
        if self.process:
            receiver.handle(request)
        conn.reset()
        return False


@dataclass(frozen=True)
class Trickle:
    """The answer (``then``; None: see :func:`_answer`): its first ``start`` bytes at once
    (0: the status line is trickled too), then one byte every ``1 / rate`` seconds, until
    it is sent, the client leaves or the receiver stops."""

    then: Reply | None = None
    rate: float = 1.0
    start: int = 0
    process: bool = False

    def serve(self, receiver: Receiver, request: Request, conn: _Connection) -> bool:
        data = _answer(receiver, request, self.then, self.process).wire(close=True)
        if not conn.send(data[: self.start]):
            return False
        for i in range(self.start, len(data)):
            if not conn.send(data[i : i + 1]) or not conn.wait(1.0 / self.rate):
                break
        return False


@dataclass(frozen=True)
class Raw:
    """Send ``data`` as it is (not HTTP, or broken HTTP), then close."""

    data: bytes

    def serve(self, receiver: Receiver, request: Request, conn: _Connection) -> bool:
        conn.send(self.data)
        return False


@dataclass(frozen=True)
class RefuseEvent:
    """400 (with a body naming the event and echoing the request's path and query, as a
    careless server does) when the request carries event ``event_id``; else the normal answer."""

    event_id: str
    status: int = 400

    def serve(self, receiver: Receiver, request: Request, conn: _Connection) -> bool:
        if self.event_id in request.event_ids():
            echo = request.path + ("?" + request.query if request.query else "")
            body = json.dumps({"error": f"event {self.event_id} is invalid", "request": echo}).encode()
            conn.send(Reply(self.status, body, {"Content-Type": "application/json"}).wire())
            return True
        return Normal().serve(receiver, request, conn)


class _Connection:
    """One accepted socket: reads requests, sends bytes, waits, resets. Never raises
    OSError to its caller (the client leaving is normal here)."""

    def __init__(self, sock: socket.socket, stopping: threading.Event) -> None:
        self.sock = sock
        self.stopping = stopping
        self.buffer = b""
        self.open = True
        sock.settimeout(POLL_S)

    def _fill(self) -> bool:
        """Read more bytes into the buffer; False when the client closed or we stop."""
        while not self.stopping.is_set():
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return False
            if not chunk:
                return False
            self.buffer += chunk
            return True
        return False

    def read(self) -> Request | None:
        """The next request, or None when the client closed the connection (or sent
        something that is not HTTP/1.1 with a Content-Length)."""
        while b"\r\n\r\n" not in self.buffer:
            if len(self.buffer) > MAX_HEAD or not self._fill():
                return None
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), value.strip())
        try:
            method, target, _version = lines[0].split(" ", 2)
            length = int(headers.get("content-length", "0"))
        except ValueError:
            return None
        while len(self.buffer) < length:
            if not self._fill():
                return None
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        path, _, query = target.partition("?")
        return Request(method, path, query, headers, body, time.monotonic())

    def handshake(self, context: ssl.SSLContext) -> bool:
        """Become a TLS connection (server side); False when the client's handshake fails."""
        try:
            self.sock.settimeout(JOIN_S)
            self.sock = context.wrap_socket(self.sock, server_side=True)
            self.sock.settimeout(POLL_S)
            return True
        except OSError:
            return False

    def send(self, data: bytes) -> bool:
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            return False

    def wait(self, seconds: float) -> bool:
        """Sleep ``seconds``; False when the receiver stops meanwhile."""
        return not self.stopping.wait(seconds)

    def reset(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close()

    def close(self) -> None:
        if self.open:
            self.open = False
            with contextlib.suppress(OSError):
                self.sock.close()


class Receiver:
    """A scripted HTTP receiver on 127.0.0.1 (see the module docstring)."""

    def __init__(
        self, *script: Behaviour, default: Behaviour | None = None, tls: ssl.SSLContext | None = None
    ) -> None:
        self._script: deque[Behaviour] = deque(script)
        self.tls = tls  # a server context: connections are TLS (see tls_pair)
        self.default: Behaviour = default or Normal()
        self.requests: list[Request] = []
        self.connections = 0  # connections accepted
        self.errors: list[BaseException] = []  # raised while answering (a bug of the receiver)
        self.port = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._accepting = threading.Event()
        self._threads: list[threading.Thread] = []
        self._connections: list[_Connection] = []

    def script(self, *behaviours: Behaviour) -> None:
        """Queue ``behaviours``, one per request, before the default."""
        with self._lock:
            self._script.extend(behaviours)

    def handle(self, request: Request) -> Reply:
        """The receiver's own answer (a protocol receiver checks and keeps the request here)."""
        return Reply(200, b'{"ok":true}', {"Content-Type": "application/json"})

    def _next(self) -> Behaviour:
        with self._lock:
            return self._script.popleft() if self._script else self.default

    @property
    def url(self) -> str:
        """The base URL, ``http://127.0.0.1:<port>`` (``https`` with ``tls``)."""
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def start(self) -> Receiver:
        self._stopping.clear()
        self.up()
        return self

    def up(self) -> None:
        """Listen (again, on the same port once it has one)."""
        if self._acceptor is not None:
            return
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(POLL_S)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._accepting.set()
        self._acceptor = threading.Thread(target=self._accept, args=(listener,), name=f"receiver-{self.port}")
        self._acceptor.start()

    def down(self) -> None:
        """Stop listening: a connect is refused until :meth:`up` (open connections are closed)."""
        self._accepting.clear()
        if self._acceptor is not None:
            self._acceptor.join(JOIN_S)
            self._acceptor = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)

    def stop(self, check: bool = True) -> None:
        """Stop every thread (stalls and trickles end at once); with ``check``, fail when
        one is left or an answer raised."""
        self._stopping.set()
        self.down()
        for thread in self._threads:
            thread.join(JOIN_S)
        left = [t.name for t in self._threads if t.is_alive()]
        self._threads = []
        if check:
            assert not left, f"receiver threads still running after stop: {left}"
            assert not self.errors, f"the receiver failed to answer: {self.errors!r}"

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        self.stop(check=kind is None)  # a failing test's own error comes first

    def _accept(self, listener: socket.socket) -> None:
        while self._accepting.is_set() and not self._stopping.is_set():
            try:
                sock, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn = _Connection(sock, self._stopping)
            thread = threading.Thread(target=self._serve, args=(conn,), name=f"receiver-{self.port}-conn")
            with self._lock:
                self.connections += 1
                self._connections.append(conn)
                self._threads = [t for t in self._threads if t.is_alive()]
                self._threads.append(thread)
            thread.start()

    def _serve(self, conn: _Connection) -> None:
        try:
            if self.tls is not None and not conn.handshake(self.tls):
                return
            while conn.open:
                request = conn.read()
                if request is None:
                    break
                with self._lock:
                    self.requests.append(request)
                try:
                    keep = self._next().serve(self, request, conn)
                except Exception as exc:
                    self.errors.append(exc)
                    conn.send(Reply(500, repr(exc).encode()).wire(close=True))
                    break
                if not keep:
                    break
        finally:
            conn.close()
            with self._lock:
                self._connections.remove(conn)


@contextlib.contextmanager
def receiver(cls: Callable[..., Receiver] = Receiver, *args: Any, **kw: Any) -> Iterator[Any]:
    """``cls(*args, **kw)`` started, yielded, stopped."""
    r = cls(*args, **kw)
    with r:
        yield r


def closed_port() -> str:
    """The URL of a loopback port nothing listens on (a connect is refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _json(status: int, **fields: Any) -> Reply:
    return Reply(status, json.dumps(fields).encode(), {"Content-Type": "application/json"})


class SegmentReceiver(Receiver):
    """A Segment-compatible ``POST /v1/batch``: Basic auth with ``write_key`` and an
    empty password (401 otherwise, the key it got echoed back, as a careless server
    does), a body of at most 500 KB (413), each call at most 32 KB with a ``messageId``
    and a ``type`` (400). Keeps the calls whose ``messageId`` it has not seen yet
    (:attr:`calls`), counts the others (:attr:`duplicates`)."""

    MAX_BODY = 500 * 1024
    MAX_CALL = 32 * 1024

    def __init__(self, write_key: str, *script: Behaviour, default: Behaviour | None = None) -> None:
        super().__init__(*script, default=default)
        self.write_key = write_key
        self.calls: list[dict[str, Any]] = []
        self.duplicates = 0
        self._seen: set[str] = set()

    def handle(self, request: Request) -> Reply:
        if request.method != "POST" or request.path != "/v1/batch":
            return _json(404, error=f"expected POST /v1/batch, got {request.method} {request.path}")
        got = _basic_user(request.headers.get("authorization", ""))
        if got != self.write_key:
            return _json(401, error=f"invalid write key {got!r}")
        if len(request.body) > self.MAX_BODY:
            return _json(413, error=f"the batch is {len(request.body)} bytes, over {self.MAX_BODY}")
        try:
            batch = json.loads(request.body)["batch"]
        except (ValueError, KeyError, TypeError):
            batch = None
        if not isinstance(batch, list):
            return _json(400, error="expected a JSON object with a batch array")
        for i, call in enumerate(batch):
            size = len(json.dumps(call, separators=(",", ":"), ensure_ascii=False).encode())
            if not isinstance(call, dict) or size > self.MAX_CALL:
                return _json(400, error=f"batch[{i}] is not a call of at most {self.MAX_CALL} bytes")
            if not call.get("messageId") or not call.get("type"):
                return _json(400, error=f"batch[{i}] lacks messageId or type")
        with self._lock:
            for call in batch:
                if call["messageId"] in self._seen:
                    self.duplicates += 1
                else:
                    self._seen.add(call["messageId"])
                    self.calls.append(call)
        return _json(200, success=True)

    def events(self) -> list[str]:
        """The ``messageId`` of each unique ``track`` call, in arrival order."""
        with self._lock:
            return [c["messageId"] for c in self.calls if c["type"] == "track"]


def _basic_user(header: str) -> str | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user if sep and not password else None


class WebhookReceiver(Receiver):
    """A Trackway webhook receiver: checks ``Trackway-Signature`` with
    :func:`trackway.destinations.webhook.verify` against ``clock()`` (unix seconds; the
    tests' fake clock) and answers 401 when it fails; 400 without an ``Idempotency-Key``;
    keeps the events of each key it has not seen yet (:attr:`events`), counts the
    requests whose key it has (:attr:`duplicates`)."""

    def __init__(
        self,
        secret: str,
        clock: Callable[[], float],
        *script: Behaviour,
        default: Behaviour | None = None,
    ) -> None:
        super().__init__(*script, default=default)
        self.secret = secret
        self.clock = clock
        self.kept: list[dict[str, Any]] = []
        self.duplicates = 0
        self.keys: set[str] = set()

    def handle(self, request: Request) -> Reply:
        header = request.headers.get(webhook.SIGNATURE_HEADER.lower())
        try:
            webhook.verify(request.body, header, self.secret, now=self.clock())
        except webhook.SignatureError as exc:
            return _json(401, error=str(exc))
        key = request.headers.get(webhook.IDEMPOTENCY_HEADER.lower())
        if not key:
            return _json(400, error="expected an Idempotency-Key header")
        try:
            events = json.loads(request.body)["events"]
        except (ValueError, KeyError, TypeError):
            events = None
        if not isinstance(events, list) or not all(isinstance(e, dict) and "id" in e for e in events):
            return _json(400, error='expected {"events": [...]}, each event with an id')
        with self._lock:
            if key in self.keys:
                self.duplicates += 1
                return _json(200, duplicate=True)
            self.keys.add(key)
            self.kept.extend(events)
        return _json(200, success=True)

    def events(self) -> list[str]:
        """The ids of the events kept, in arrival order."""
        with self._lock:
            return [e["id"] for e in self.kept]


def tls_pair(folder: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A self-signed certificate for 127.0.0.1 (made with the openssl command in
    ``folder``): the receiver's server context and a client context that trusts it."""
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    return server, client
