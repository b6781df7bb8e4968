"""Sending one request to a destination over HTTP: the forwarder's ``send``.

:class:`Sender` turns an :class:`~trackway.destinations.base.Outgoing` into an
:class:`~trackway.destinations.retry.Answer` and never raises: a timeout, a refused or
reset connection, a TLS failure or a malformed answer becomes ``Answer(error=...)``,
which :func:`trackway.destinations.retry.decide` retries.

A destination is hostile until proven otherwise, so every request is bounded:

- ``connect_s`` to connect, ``timeout_s`` for the whole exchange (sending, the status
  line, the headers and the body read): an answer trickling one byte a second is cut at
  ``timeout_s``, not kept alive by each byte that arrives (httpx's own read timeout is
  per read);
- at most ``max_body`` bytes of the answer are read (the rest is dropped; the retry
  module keeps an excerpt of what was read);
- redirects are not followed: a 3xx is an answer like any other (dead-lettered with it).
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import httpx

from trackway import __version__
from trackway.destinations.base import Outgoing
from trackway.destinations.retry import Answer

CONNECT_S = 5.0
TIMEOUT_S = 30.0
MAX_BODY = 64 * 1024
USER_AGENT = f"Trackway/{__version__} (+forwarding)"


class DeadlineExceeded(Exception):
    """The whole exchange took longer than the sender's ``timeout_s``."""


class Sender:
    """One destination's HTTP client (a connection pool of its own: a slow destination
    holds only its own connections)."""

    def __init__(
        self,
        *,
        connect_s: float = CONNECT_S,
        timeout_s: float = TIMEOUT_S,
        max_body: int = MAX_BODY,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.timeout_s = timeout_s
        self.max_body = max_body
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout_s, connect=connect_s),
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
            transport=transport,
            limits=httpx.Limits(max_connections=4, max_keepalive_connections=2),
        )

    def __call__(self, request: Outgoing) -> Answer:
        deadline = time.monotonic() + self.timeout_s
        try:
            with self.client.stream(
                request.method, request.url, headers=dict(request.headers), content=request.body
            ) as response:
                body = self._read(response, deadline)
                return Answer(response.status_code, _headers(response.headers), body)
        except Exception as exc:  # every failure is an answer: the forwarder must not stop
            return Answer(error=exc)

    def _read(self, response: httpx.Response, deadline: float) -> str:
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
