"""Sending one request to a destination over HTTP: the forwarder's ``send``.

:class:`Sender` turns an :class:`~trackway.destinations.base.Outgoing` into an
:class:`~trackway.destinations.retry.Answer` and never raises: a timeout, a refused or
reset connection, a TLS failure or a malformed answer becomes ``Answer(error=...)``,
which :func:`trackway.destinations.retry.decide` retries.

A destination is hostile until proven otherwise, so every request is bounded:

- ``connect_s`` to connect, ``timeout_s`` for the whole exchange (sending, the status
  line, the headers and the body read): an answer trickling one byte a second is cut at
  ``timeout_s``, not kept alive by each byte that arrives. httpx's own timeouts are per
  read, so the connections are made through :class:`_DeadlineBackend`, which gives each
  socket read and write only what is left of the exchange's deadline;
- at most ``max_body`` bytes of the answer are read (the rest is dropped; the retry
  module keeps an excerpt of what was read);
- redirects are not followed: a 3xx is an answer like any other (dead-lettered with it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

import httpcore
import httpx

from trackway import __version__
from trackway.destinations.base import Outgoing
from trackway.destinations.retry import Answer
from trackway.errors import TrackwayError

CONNECT_S = 5.0
TIMEOUT_S = 30.0
MAX_BODY = 64 * 1024
USER_AGENT = f"Trackway/{__version__} (+forwarding)"


class DeadlineExceeded(TrackwayError):
    """The whole exchange took longer than the sender's ``timeout_s``."""


class _Deadline(threading.local):
    """The current exchange's deadline (``time.monotonic()``; None: none), per thread."""

    at: float | None = None
    timeout_s: float = 0.0

    def bound(self, timeout: float | None) -> float | None:
        """``timeout`` shortened to what is left; raises once nothing is left."""
        if self.at is None:
            return timeout
        self.check()
        left = self.at - time.monotonic()
        return left if timeout is None else min(timeout, left)

    def check(self) -> None:
        """Raise :class:`DeadlineExceeded` once the deadline has passed."""
        if self.at is not None and time.monotonic() >= self.at:
            raise DeadlineExceeded(f"the exchange took longer than {self.timeout_s:g} s")


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write ends by the exchange's deadline."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            return self._stream.read(max_bytes, self._deadline.bound(timeout))
        except httpcore.ReadTimeout:
            self._deadline.check()  # say which limit it was
            raise

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        try:
            self._stream.write(buffer, self._deadline.bound(timeout))
        except httpcore.WriteTimeout:
            self._deadline.check()
            raise

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> Any:
        tls = self._stream.start_tls(ssl_context, server_hostname, self._deadline.bound(timeout))
        return _DeadlineStream(tls, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's network backend with :class:`_DeadlineStream` connections."""

    def __init__(self, backend: httpcore.NetworkBackend, deadline: _Deadline) -> None:
        self._backend = backend
        self._deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(
            host, port, self._deadline.bound(timeout), local_address, socket_options
        )
        return _DeadlineStream(stream, self._deadline)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_unix_socket(path, self._deadline.bound(timeout), socket_options)
        return _DeadlineStream(stream, self._deadline)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class Sender:
    """One destination's HTTP client (a connection pool of its own: a slow destination
    holds only its own connections); ``connections``: the requests it sends at once
    (the destination's ``in_flight``), each kept alive for the next."""

    def __init__(
        self,
        *,
        connect_s: float = CONNECT_S,
        timeout_s: float = TIMEOUT_S,
        max_body: int = MAX_BODY,
        transport: httpx.BaseTransport | None = None,
        connections: int = 1,
    ) -> None:
        self.timeout_s = timeout_s
        self.max_body = max_body
        self._deadline = _Deadline()
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout_s, connect=connect_s),
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
            transport=transport,
            limits=httpx.Limits(
                max_connections=max(4, connections), max_keepalive_connections=max(2, connections)
            ),
        )
        if transport is None:  # httpx's own transports (and its proxies from the environment)
            self._bound(self.client._transport)
            for mounted in self.client._mounts.values():
                if mounted is not None:
                    self._bound(mounted)

    def _bound(self, transport: httpx.BaseTransport) -> None:
        """Give ``transport``'s connections the exchange's deadline. httpx offers no public
        way to hand httpcore a network backend, hence its private attributes."""
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is None:
            raise RuntimeError(
                f"httpx {httpx.__version__}: expected its transport to hold an httpcore pool with a network "
                "backend, found none: the sender cannot bound the whole exchange; use the httpx version "
                "in requirements.lock"
            )
        pool._network_backend = _DeadlineBackend(backend, self._deadline)

    def __call__(self, request: Outgoing) -> Answer:
        deadline = time.monotonic() + self.timeout_s
        self._deadline.at = deadline
        self._deadline.timeout_s = self.timeout_s
        try:
            with self.client.stream(
                request.method, request.url, headers=dict(request.headers), content=request.body
            ) as response:
                body = self._read(response, deadline)
                return Answer(response.status_code, _headers(response.headers), body)
        except Exception as exc:  # every failure is an answer: the forwarder must not stop
            return Answer(error=exc)
        finally:
            self._deadline.at = None

    def _read(self, response: httpx.Response, deadline: float) -> str:
        if response.is_stream_consumed:  # a transport that read it already (httpx.MockTransport)
            return response.content[: self.max_body].decode("utf-8", "replace")
        kept = bytearray()
        for chunk in response.iter_raw():
            if time.monotonic() > deadline:
                raise DeadlineExceeded(
                    f"the answer took longer than {self.timeout_s:g} s (read {len(kept)} bytes of it)"
                )
            if len(kept) < self.max_body:
                kept += chunk[: self.max_body - len(kept)]
            else:
                break
        return kept.decode("utf-8", "replace")

    def close(self) -> None:
        self.client.close()


def _headers(headers: httpx.Headers) -> Mapping[str, str]:
    # One value per name (the first); Retry-After is all the retry logic reads.
    out: dict[str, str] = {}
    for name, value in headers.items():
        out.setdefault(name.lower(), value)
    return out
