"""Sending one request to a destination over HTTP: the forwarder's ``send``.

:class:`Sender` turns an :class:`~trackway.destinations.base.Outgoing` into an
:class:`~trackway.destinations.retry.Answer` and never raises: a timeout, a refused or
reset connection, a TLS failure or a malformed answer becomes ``Answer(error=...)``,
which :func:`trackway.destinations.retry.decide` retries.

It is the standard library's :mod:`http.client`, one kept-alive connection per sending
thread and origin. httpx, which Trackway uses elsewhere, spent 577 us of CPU on each
request to a loopback receiver where :mod:`http.client` spends 134 us (this machine,
9 kB bodies); a destination that sends one event a request (Convead, InSend, GA4 with
interleaved visitors) is bound by that CPU, not by its network (docs/forwarding.md).

A destination is hostile until proven otherwise, so every request is bounded:

- ``connect_s`` to connect, ``timeout_s`` for the whole exchange (connecting, the TLS
  handshake, sending, the status line, the headers and the body read): every socket
  read and write gets only what is left of the exchange's deadline
  (:class:`_DeadlineSocket`), so an answer trickling one byte a second is cut at
  ``timeout_s``, not kept alive by each byte that arrives;
- at most ``max_body`` bytes of the answer are read (the connection is then closed
  rather than drained); :mod:`http.client` refuses a header line over 64 KiB and more
  than 100 headers;
- redirects are not followed: a 3xx is an answer like any other (dead-lettered with it).

A kept connection the server closed while idle is not reused (a look at the socket
before each request); one it closes as a request goes out (the connection breaks before
any of the answer came) has the request sent once more at once on a new connection,
within the same deadline: the receiver may get it twice, as after any retry, and
deduplicates it by its idempotency key where the vendor has one.

Proxies come from the environment as for other HTTP clients (``HTTP_PROXY``,
``HTTPS_PROXY``, ``ALL_PROXY``, ``NO_PROXY``, read when the sender is made): a plain
request goes to the proxy in absolute form, an ``https`` one through a ``CONNECT``
tunnel; credentials in the proxy's URL become its ``Proxy-Authorization``.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import select
import socket
import ssl
import threading
import time
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import SplitResult, unquote, urlsplit

from trackway import __version__
from trackway.destinations.base import Outgoing
from trackway.destinations.retry import Answer
from trackway.errors import DeadlineExceeded

__all__ = ["CONNECT_S", "MAX_BODY", "TIMEOUT_S", "USER_AGENT", "DeadlineExceeded", "Sender"]

CONNECT_S = 5.0
TIMEOUT_S = 30.0
MAX_BODY = 64 * 1024
USER_AGENT = f"Trackway/{__version__} (+forwarding)"
PORTS = {"http": 80, "https": 443}
# Origins a thread keeps a connection to (a destination has one; its proxy is another).
KEPT = 8


class _Deadline:
    """The exchange's deadline (``time.monotonic()``), shared by its sockets."""

    __slots__ = ("at", "timeout_s")

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.at = time.monotonic() + timeout_s

    def left(self) -> float:
        """What is left of the exchange; raises once nothing is."""
        left = self.at - time.monotonic()
        if left <= 0:
            raise DeadlineExceeded(f"the exchange took longer than {self.timeout_s:g} s")
        return left


class _Bounded:
    """Reads and writes that end by the exchange's deadline (mixed into the socket
    classes: :mod:`http.client` reads through ``recv_into`` and writes with ``sendall``)."""

    deadline: _Deadline | None = None

    def _bound(self) -> None:
        if self.deadline is not None:
            self.settimeout(self.deadline.left())  # type: ignore[attr-defined]

    def _late(self, exc: TimeoutError) -> BaseException:
        if self.deadline is not None:  # the socket's timeout was what was left of it
            return DeadlineExceeded(f"the exchange took longer than {self.deadline.timeout_s:g} s")
        return exc

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        self._bound()
        try:
            return super().recv_into(buffer, nbytes, flags)  # type: ignore[misc, no-any-return]
        except TimeoutError as exc:
            raise self._late(exc) from None

    def sendall(self, data: Any, flags: int = 0) -> None:
        self._bound()
        try:
            super().sendall(data, flags)  # type: ignore[misc]
        except TimeoutError as exc:
            raise self._late(exc) from None

    def send(self, data: Any, flags: int = 0) -> int:  # SSLSocket.sendall sends in pieces
        self._bound()
        try:
            return super().send(data, flags)  # type: ignore[misc, no-any-return]
        except TimeoutError as exc:
            raise self._late(exc) from None


class _DeadlineSocket(_Bounded, socket.socket):
    """A plain connection bounded by the exchange's deadline."""


class _DeadlineSSLSocket(_Bounded, ssl.SSLSocket):  # type: ignore[misc]  # typeshed's recv_into differs
    """A TLS connection bounded by the exchange's deadline."""


class _Connection(http.client.HTTPConnection):
    """A plain connection whose socket is a :class:`_DeadlineSocket`."""

    deadline: _Deadline | None = None

    def connect(self) -> None:
        deadline = self.deadline
        timeout = self.timeout
        if deadline is not None:
            timeout = deadline.left() if timeout is None else min(timeout, deadline.left())
        try:
            raw = socket.create_connection(
                (self.host, self.port),
                timeout,
                self.source_address,  # type: ignore[attr-defined]  # HTTPConnection's, not in typeshed
            )
        except TimeoutError:
            said = f"connecting to {self.host}:{self.port} took longer than {timeout:g} s"
            raise TimeoutError(said) from None
        sock = _DeadlineSocket(raw.family, raw.type, raw.proto, fileno=raw.detach())
        sock.settimeout(timeout)
        sock.deadline = deadline
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        if self._tunnel_host:  # type: ignore[attr-defined]
            self._tunnel()  # type: ignore[attr-defined]


class _TLSConnection(_Connection):
    """A TLS connection (through a proxy's tunnel if there is one)."""

    def __init__(self, host: str, port: int, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(host, port, timeout)
        self.context = context

    def connect(self) -> None:
        super().connect()
        name = self._tunnel_host or self.host  # type: ignore[attr-defined]
        self.sock = self.context.wrap_socket(self.sock, server_hostname=name)
        self.sock.deadline = self.deadline  # type: ignore[attr-defined]


def _bind(conn: _Connection, deadline: _Deadline | None) -> None:
    """Give ``conn`` (and its open socket) the exchange's deadline (None: none)."""
    conn.deadline = deadline
    if conn.sock is not None:
        conn.sock.deadline = deadline  # type: ignore[union-attr]  # a _Bounded socket: ours


def _stale(conn: _Connection) -> bool:
    """Whether a kept connection was closed (or written to) by the server while idle: a
    request on it would fail, so it is not reused."""
    sock = conn.sock
    if sock is None:
        return False
    try:
        poll = select.poll()  # not select.select: no limit on the descriptor's number
        poll.register(sock, select.POLLIN)
        return bool(poll.poll(0))
    except (OSError, ValueError):
        return True


def tls_context() -> ssl.SSLContext:
    """Certificates verified, hostnames checked: against the system's authorities and
    Mozilla's (certifi's bundle, which httpx used alone), so that a machine without the
    system's bundle (a slim container) still reaches the vendors."""
    context = ssl.create_default_context()
    with contextlib.suppress(ImportError, OSError):
        import certifi

        context.load_verify_locations(cafile=certifi.where())
    return context


class _Unanswered(Exception):
    """A connection that broke before any of the answer came (``cause``: how)."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


class _Route:
    """Where a URL's request goes: its origin's connection key, the request target, and
    how to open a connection (straight, through a proxy, or through a tunnel)."""

    __slots__ = ("headers", "key", "open", "target")

    def __init__(self, url: SplitResult, proxies: Mapping[str, str], sender: Sender) -> None:
        scheme, host = url.scheme, url.hostname
        if scheme not in PORTS or not host:
            raise ValueError(f"expected an http:// or https:// URL with a host, got {url.geturl()!r}")
        port = url.port or PORTS[scheme]
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        proxy = proxies.get(scheme) or proxies.get("all")
        if proxy and urllib.request.proxy_bypass_environment(host, proxies):  # type: ignore[attr-defined]
            proxy = None
        self.headers: dict[str, str] = {}
        if not proxy:
            self.key: tuple[Any, ...] = (scheme, host, port)
            self.target = path
            self.open = lambda: sender.connection(scheme, host, port)
            return
        p = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        if not p.hostname:
            raise ValueError(f"expected a proxy URL with a host in the environment, got {proxy!r}")
        p_host, p_port = p.hostname, p.port or PORTS.get(p.scheme, 80)
        auth = {}
        if p.username is not None:
            basic = f"{unquote(p.username)}:{unquote(p.password or '')}".encode()
            auth["Proxy-Authorization"] = "Basic " + base64.b64encode(basic).decode()
        self.key = (scheme, host, port, p_host, p_port)
        if scheme == "http":  # the proxy takes the absolute URL
            self.target = url._replace(fragment="").geturl()
            self.headers = auth
            self.open = lambda: sender.connection("http", p_host, p_port)
            return
        self.target = path

        def tunnel() -> _Connection:
            conn = sender.connection("https", p_host, p_port)
            conn.set_tunnel(host, port, headers=auth)
            return conn

        self.open = tunnel


class Sender:
    """One destination's HTTP client: one kept-alive connection per sending thread (as
    many as the destination's ``in_flight``) and origin; ``ssl_context``: how ``https``
    servers are verified (:func:`tls_context` by default)."""

    def __init__(
        self,
        *,
        connect_s: float = CONNECT_S,
        timeout_s: float = TIMEOUT_S,
        max_body: int = MAX_BODY,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.connect_s = connect_s
        self.timeout_s = timeout_s
        self.max_body = max_body
        self.ssl_context = ssl_context or tls_context()
        self.ssl_context.sslsocket_class = _DeadlineSSLSocket  # its reads and writes bounded too
        self._proxies = urllib.request.getproxies_environment()
        self._local = threading.local()
        self._all: set[_Connection] = set()  # every connection kept by a thread (for close)
        self._lock = threading.Lock()

    def connection(self, scheme: str, host: str, port: int) -> _Connection:
        """A new connection (not yet open) to ``scheme://host:port``."""
        conn: _Connection
        if scheme == "https":
            conn = _TLSConnection(host, port, self.connect_s, self.ssl_context)
        else:
            conn = _Connection(host, port, self.connect_s)
        with self._lock:
            self._all.add(conn)
        return conn

    def _kept(self, route: _Route) -> _Connection:
        kept: dict[tuple[Any, ...], _Connection] | None = getattr(self._local, "kept", None)
        if kept is None:
            kept = self._local.kept = {}
        conn = kept.get(route.key)
        if conn is not None and _stale(conn):
            conn.close()  # reopened by its next request
        if conn is None:
            if len(kept) >= KEPT:
                with self._lock:
                    self._all.difference_update(kept.values())
                for old in kept.values():
                    old.close()
                kept.clear()
            conn = kept[route.key] = route.open()
        return conn

    def __call__(self, request: Outgoing) -> Answer:
        conn: _Connection | None = None
        try:
            route = _Route(urlsplit(request.url), self._proxies, self)
            conn = self._kept(route)
            deadline = _Deadline(self.timeout_s)
            reused = conn.sock is not None
            try:
                return self._exchange(conn, route, request, deadline)
            except _Unanswered:
                if not reused:
                    raise
                # The server closed the kept connection as the request went out (its idle
                # timeout, a race _stale cannot see): once more on a new connection.
                return self._exchange(conn, route, request, deadline)
        except Exception as exc:  # every failure is an answer: the forwarder must not stop
            error: BaseException = exc.cause if isinstance(exc, _Unanswered) else exc
            if conn is not None:
                conn.close()  # in whatever state the failure left it: the next request reconnects
            return Answer(error=error)
        finally:
            if conn is not None:
                _bind(conn, None)

    def _exchange(self, conn: _Connection, route: _Route, request: Outgoing, deadline: _Deadline) -> Answer:
        """One request and its answer on ``conn``; :class:`_Unanswered` when the
        connection broke before any of the answer came."""
        _bind(conn, deadline)
        headers = {"User-Agent": USER_AGENT, **route.headers, **request.headers}
        response: http.client.HTTPResponse | None = None
        try:
            try:
                conn.request(request.method, route.target, request.body, headers)
                response = conn.getresponse()
            except ConnectionError as exc:  # RemoteDisconnected too: a ConnectionResetError
                conn.close()
                raise _Unanswered(exc) from exc
            body = response.read(self.max_body)
            if len(body) < self.max_body and response.length:  # the server closed mid-body
                raise http.client.IncompleteRead(body, response.length)
            if not response.isclosed():  # more than max_body: not drained, not kept
                response.close()
                conn.close()
            return Answer(response.status, _headers(response.getheaders()), body.decode("utf-8", "replace"))
        except BaseException:
            if response is not None:
                response.close()
            raise

    def close(self) -> None:
        """Close every connection (of every thread); a later request opens its own again,
        still known to the next close."""
        with self._lock:
            conns = list(self._all)
        for conn in conns:
            conn.close()


def _headers(headers: list[tuple[str, str]]) -> Mapping[str, str]:
    # One value per name (the first); Retry-After is all the retry logic reads.
    out: dict[str, str] = {}
    for name, value in headers:
        out.setdefault(name.lower(), value)
    return out
