"""The workers' HTTP protocol: uvicorn's httptools protocol with limits on what a
client may hold.

uvicorn bounds neither the size of a request's head nor the time a client takes to
send it: a 200 MB header was buffered whole (a worker went from 90 to 486 MB), and
~21,000 connections each holding half a header exhausted the descriptors.
:class:`GuardedProtocol` adds, per connection and at the cost of a few attribute
look-ups per request:

- the head (request line and headers) is held to ``max_header_bytes``, counted as it
  arrives, and to ``max_headers`` fields; the URL to ``max_url_bytes``. Over a limit
  the answer is ``431`` (``414`` for the URL), the connection is closed, and nothing
  more is buffered.
- a head not complete within ``header_timeout`` seconds of its first byte (of the
  connection, for a new one), or a body that sends nothing for ``body_timeout``
  seconds, closes the connection (a request cut short is never stored). uvicorn's
  ``timeout_keep_alive`` closes idle keep-alive connections.
- a worker holds at most ``max_connections``: past it, the connections that have
  waited longest for their head are closed first, so a flood of slow clients cannot
  lock the others out; when none is waiting, the new one is answered ``503``.

The timeouts are checked by one timer per worker, once a second (:class:`Sweeper`):
nothing per request. :func:`worker_config` builds the uvicorn configuration of a
worker with them.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import resource
from dataclasses import dataclass
from typing import Any, ClassVar

import httptools
import msgspec
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

logger = logging.getLogger("trackway.server")

SWEEP_SECONDS = 1.0  # how often the timeouts are checked (so they act within a second)
EVICT_TO = 0.9  # over max_connections, waiting connections are closed down to this share of it
LINGER_BYTES = 256 * 1024  # after a 431/414, at most this much more is read (and dropped) before closing
RESERVED_FDS = 64  # descriptors kept for the log, the store socket, imports: not for connections


@dataclass(frozen=True)
class Limits:
    max_header_bytes: int = 16 * 1024
    max_url_bytes: int = 8 * 1024
    max_headers: int = 100
    header_timeout: float = 10.0
    body_timeout: float = 10.0
    max_connections: int = 4096

    @classmethod
    def of(cls, server: dict[str, Any]) -> Limits:
        """The limits of a configuration's ``[server]`` settings."""
        return cls(
            max_header_bytes=server["max_header_bytes"],
            max_url_bytes=server["max_url_bytes"],
            max_headers=server["max_headers"],
            header_timeout=float(server["header_timeout_seconds"]),
            body_timeout=float(server["body_timeout_seconds"]),
            max_connections=server["max_connections"],
        )


_connections = itertools.count()


class _Rejected(Exception):
    """Raised in a parser callback to stop parsing a request that was answered 4xx."""


def _answer(status: int, reason: bytes, message: str, *, retry: bool = False) -> bytes:
    body = msgspec.json.encode({"error": message})
    return (
        b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
        b"connection: close\r\n%s\r\n"
        % (status, reason, len(body), b"retry-after: 1\r\n" if retry else b"")
        + body
    )


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's :class:`HttpToolsProtocol` with :class:`Limits` (see the module)."""

    limits: ClassVar[Limits] = Limits()
    sweeper: ClassVar[Sweeper | None] = None  # one per worker (per class made by protocol_class)

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        # uvicorn's own check answers a text 503 and keeps the connection: ours answers JSON and closes
        self._concurrency: int = self.limit_concurrency or 1 << 62
        self.limit_concurrency = None
        limits = self.limits
        self._max_head = limits.max_header_bytes
        self._max_url = limits.max_url_bytes
        self._max_headers = limits.max_headers
        self._in_head = True  # waiting for a head: a new connection, or after a request's body
        self._head_bytes = 0  # bytes received since the head began
        self._head_start = 0.0  # loop time its first byte came (0: none yet, uvicorn's keep-alive applies)
        self._last_data = 0.0  # loop time the client last sent something while its body was incomplete
        self._lingering = -1  # >= 0 after a rejection: bytes still to drop before closing
        self._seq = next(_connections)  # the order connections came in (loop times tie within a tick)

    # -- the connection ----------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        cls = type(self)
        if cls.sweeper is None:
            cls.sweeper = Sweeper(self.loop, self.connections, cls.limits)
        self._head_start = self.loop.time()  # a connection that never sends times out too
        if len(self.connections) > self.limits.max_connections and not self.sweeper_evict():
            transport.write(_answer(503, b"Service Unavailable", "too many connections; retry", retry=True))
            transport.close()

    def sweeper_evict(self) -> bool:
        sweeper = type(self).sweeper
        return sweeper is not None and sweeper.evict(self)

    def data_received(self, data: bytes) -> None:
        if self._lingering >= 0:  # answered 431/414: drop what still comes, a bounded amount
            self._lingering -= len(data)
            if self._lingering < 0:
                self.transport.close()
            return
        self._unset_keepalive_if_required()
        if self._in_head:
            if not self._head_start:
                self._head_start = self.loop.time()
            self._head_bytes += len(data)
        else:
            self._last_data = self.loop.time()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            if isinstance(exc.__context__, _Rejected):
                return
            self._invalid()
            return
        except httptools.HttpParserError:
            self._invalid()
            return
        except httptools.HttpParserUpgrade:
            # no WebSocket here (ws="none"): the request is served as plain HTTP, without the
            # warning uvicorn would log for each such request
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            return
        if self._in_head and self._head_bytes > self.limits.max_header_bytes:
            limit = self.limits.max_header_bytes
            self._reject(
                431,
                b"Request Header Fields Too Large",
                f"expected a request line and headers of at most {limit} bytes, got more; "
                "send less in headers and cookies (the body has room)",
            )

    def _invalid(self) -> None:
        """Not HTTP/1.1 that httptools can parse: a JSON 400 and close (uvicorn's is text,
        and logs a warning per request, which a client could use to fill the log)."""
        if not self.transport.is_closing():
            message = "expected an HTTP/1.1 request, got bytes that do not parse as one"
            self.transport.write(_answer(400, b"Bad Request", message))
            self.transport.close()

    def _reject(self, status: int, reason: bytes, message: str, *, retry: bool = False) -> None:
        """Answer ``status`` and close, dropping at most LINGER_BYTES more first (closing
        at once with unread data makes the kernel reset the connection, and the client
        would see that instead of the answer)."""
        if self.transport.is_closing():
            return
        self.transport.write(_answer(status, reason, message, retry=retry))
        self._lingering = LINGER_BYTES
        self._in_head = False
        self._last_data = self.loop.time()  # the sweeper closes it after body_timeout if it lingers
        try:
            self.transport.write_eof()
        except (NotImplementedError, RuntimeError, OSError):
            self.transport.close()

    # -- parser callbacks ----------------------------------------------------------------------------

    def on_headers_complete(self) -> None:
        # one test for all the limits (the request path is hot); _refuse says which
        if (
            self._head_bytes > self._max_head
            or len(self.url) > self._max_url
            or len(self.headers) > self._max_headers
            or len(self.connections) >= self._concurrency
            or len(self.tasks) >= self._concurrency
        ) and self._refuse():
            raise _Rejected
        self._in_head = False
        self._last_data = self.loop.time()
        _base_headers_complete(self)

    def _refuse(self) -> bool:
        """Answer the request whose head is complete if it is over a limit; False if not."""
        limits = self.limits
        if self._head_bytes > limits.max_header_bytes and self._head_size() > limits.max_header_bytes:
            # a head that came in one read with its body (the read was over the limit)
            self._reject(
                431,
                b"Request Header Fields Too Large",
                f"expected a request line and headers of at most {limits.max_header_bytes} bytes, "
                f"got {self._head_size()}; send less in headers and cookies (the body has room)",
            )
        elif len(self.url) > limits.max_url_bytes:
            self._reject(
                414,
                b"URI Too Long",
                f"expected a URL of at most {limits.max_url_bytes} bytes, got {len(self.url)}; "
                "send the data in the body",
            )
        elif len(self.headers) > limits.max_headers:
            self._reject(
                431,
                b"Request Header Fields Too Large",
                f"expected at most {limits.max_headers} header fields, got {len(self.headers)}; send fewer",
            )
        elif len(self.connections) >= self._concurrency or len(self.tasks) >= self._concurrency:
            self._reject(
                503,
                b"Service Unavailable",
                f"the worker is at its limit of {self._concurrency - 1} connections or requests; "
                "retry after the delay",
                retry=True,
            )
        else:
            return False
        return True

    def on_message_complete(self) -> None:
        _base_message_complete(self)
        self._in_head = True
        self._head_bytes = 0
        self._head_start = 0.0

    def _head_size(self) -> int:
        """The head's size as received, give or take the spaces around header values."""
        return len(self.url) + 16 + sum(len(name) + len(value) + 4 for name, value in self.headers)

    # -- what the sweeper asks -----------------------------------------------------------------------

    def waiting_since(self) -> float:
        """Loop time since which this connection waits for its client to send a head (0: it
        does not, or is idle between requests, which uvicorn's keep-alive timeout covers)."""
        if not self._in_head or self._lingering >= 0:
            return 0.0
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            return 0.0  # a request is being answered; the next head is pipelined behind it
        return self._head_start

    def stalled_since(self) -> float:
        """Loop time the client last sent part of an incomplete body (0: none is incomplete)."""
        if self._lingering >= 0:
            return self._last_data
        if self._in_head:
            return 0.0
        cycle = self.cycle
        if cycle is None or not cycle.more_body or self.flow.read_paused:
            return 0.0  # no body is incomplete, or the app has not read what came (not the client's fault)
        return self._last_data


class Sweeper:
    """The timeouts and the connection cap of one worker's :class:`GuardedProtocol` connections."""

    def __init__(self, loop: asyncio.AbstractEventLoop, connections: set[Any], limits: Limits) -> None:
        self.loop = loop
        self.connections = connections
        self.limits = limits
        self.closed = {"header_timeout": 0, "body_timeout": 0, "evicted": 0}
        self._handle = loop.call_later(SWEEP_SECONDS, self.sweep)

    def sweep(self) -> None:
        try:
            now = self.loop.time()
            head_before = now - self.limits.header_timeout
            body_before = now - self.limits.body_timeout
            for conn in list(self.connections):
                if not isinstance(conn, GuardedProtocol) or conn.transport.is_closing():
                    continue
                since = conn.waiting_since()
                if since and since < head_before:
                    self.closed["header_timeout"] += 1
                    conn.transport.close()
                    continue
                since = conn.stalled_since()
                if since and since < body_before:
                    self.closed["body_timeout"] += 1
                    conn.transport.close()
        except Exception:  # a bug here must not stop the timeouts for good
            logger.exception("the connection sweeper failed; it runs again in %s s", SWEEP_SECONDS)
        self._handle = self.loop.call_later(SWEEP_SECONDS, self.sweep)

    def evict(self, new: GuardedProtocol) -> bool:
        """Over the cap: close the connections waiting longest for a head, down to
        EVICT_TO of the cap. False when none is waiting (the new one should go)."""
        waiting = []
        for conn in self.connections:
            if conn is not new and isinstance(conn, GuardedProtocol) and not conn.transport.is_closing():
                since = conn.waiting_since()
                if since:
                    waiting.append((since, conn._seq, conn))
        excess = len(self.connections) - int(self.limits.max_connections * EVICT_TO)
        if not waiting or excess <= 0:
            return False
        waiting.sort()
        for _, _, conn in waiting[:excess]:
            conn.transport.close()
        self.closed["evicted"] += min(excess, len(waiting))
        logger.warning(
            "over %d connections: closed the %d waiting longest for their request",
            self.limits.max_connections,
            min(excess, len(waiting)),
        )
        return True


_base_headers_complete = HttpToolsProtocol.on_headers_complete
_base_message_complete = HttpToolsProtocol.on_message_complete


def protocol_class(limits: Limits) -> type[GuardedProtocol]:
    """A :class:`GuardedProtocol` subclass holding ``limits`` (and its own sweeper)."""
    return type("TrackwayProtocol", (GuardedProtocol,), {"limits": limits, "sweeper": None})


def raise_fd_limit() -> int:
    """Raise this process's soft RLIMIT_NOFILE to its hard limit; the soft limit after."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            logger.warning("could not raise the open files limit from %d to %d: %s", soft, target, exc)
    return soft


def worker_config(app: Any, server: dict[str, Any]) -> uvicorn.Config:
    """uvicorn's configuration of a worker serving ``app`` with the ``[server]`` settings.

    Raises the soft descriptor limit to the hard one; when even that leaves less than
    ``max_connections`` (plus RESERVED_FDS), the cap is lowered to fit and a warning says so."""
    limits = Limits.of(server)
    fds = raise_fd_limit()
    if fds - RESERVED_FDS < limits.max_connections:
        fit = max(fds - RESERVED_FDS, 16)
        logger.warning(
            "max_connections = %d but the open files limit is %d: holding %d connections per worker; "
            "raise the limit (ulimit -n, LimitNOFILE=) to hold more",
            limits.max_connections,
            fds,
            fit,
        )
        limits = Limits(**{**limits.__dict__, "max_connections": fit})
    return uvicorn.Config(
        app,
        http=protocol_class(limits),
        ws="none",  # no WebSocket endpoint: an Upgrade request is plain HTTP
        loop="uvloop",
        lifespan="on",
        access_log=False,
        log_level="warning",
        server_header=False,
        date_header=False,
        timeout_graceful_shutdown=10,
        timeout_keep_alive=server["keep_alive_seconds"],
        # X-Forwarded-For/-Proto believed from these only (uvicorn's default, 127.0.0.1, was implied)
        proxy_headers=bool(server["trusted_proxies"].strip()),
        forwarded_allow_ips=server["trusted_proxies"].strip() or None,
        # uvicorn answers 503 when a worker has this many connections or requests in progress;
        # the cap above keeps the connections under it by closing slow ones first
        limit_concurrency=limits.max_connections + 1,
    )
