"""The worker's ``/api/*`` gate: who is asking, and how the request reaches the store.

A caller is an admin token in ``Authorization: Bearer`` (scripts, curl) or a dashboard
session cookie (server/sessions.py). Reads are ``GET``; the actions the dashboard
offers are ``POST`` (:data:`ACTIONS`), and with a session they need its CSRF token.
What rebuilds or reads the whole store (``/api/sql``, ``/api/rebuild``) stays with the
CLI on the server's own machine (the store's Unix socket).

``/api/session`` is answered here (the dashboard's who-am-I); ``/api/live`` is a
stream the worker relays from the store process until the browser leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import httpx

from trackway.errors import HttpError
from trackway.server.admin import SCOPE_HEADER
from trackway.server.app import Collector
from trackway.server.http import Request, Send, respond, respond_json
from trackway.server.ops import admin_scope
from trackway.server.sessions import COOKIE, CSRF_HEADER

SOCKET_ONLY = frozenset({"/api/sql", "/api/rebuild"})  # the whole store: the CLI's, never HTTP's
ACTIONS = frozenset(
    {
        "/api/replay",
        "/api/forget",
        "/api/validate",
        "/api/quarantine/retry",
        "/api/destinations/retry",
    }
)
MAX_BODY = 1 << 20
MAX_QUERY = 8192  # the store's client refuses longer URLs; no parameter needs more
STREAMS_PER_WORKER = 20
STOP_CHECK_S = 0.5  # how often a relay looks whether the worker is stopping
SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-accel-buffering", b"no"),
    (b"x-content-type-options", b"nosniff"),
]


def authorize(c: Collector, request: Request) -> tuple[str, str | None]:
    """The caller's scope (a property's name, ``*``) and its session cookie (None for a
    token); 401 when it is neither."""
    if request.header(b"authorization") or "token" in request.query:
        return admin_scope(c, request), None
    cookie = request.cookie(COOKIE)
    scope, why = (
        c.sessions.check(cookie, c.config)
        if cookie
        else (None, "neither (no sign-in cookie: never signed in, or signed out, perhaps in another tab)")
    )
    if scope is None or cookie is None:
        raise HttpError(
            401,
            "expected an admin token as Authorization: Bearer TOKEN, or a dashboard sign-in, got "
            + (f"{why}; sign in again" if cookie else why),
        )
    return scope, cookie


def still_allowed(c: Collector, request: Request, scope: str, cookie: str | None) -> bool:
    """Whether the caller that opened a stream may still read it: its session was not
    signed out, has not expired, its token is still an admin token of the same scope."""
    try:
        return authorize(c, request) == (scope, cookie)
    except HttpError:
        return False


async def api(c: Collector, request: Request, send: Send) -> int:
    scope, cookie = authorize(c, request)
    if len(request.scope.get("query_string", b"")) > MAX_QUERY:
        raise HttpError(
            414,
            f"expected a query string of at most {MAX_QUERY} bytes on {request.path}, got "
            f"{len(request.scope['query_string'])}; send fewer or shorter parameters",
        )
    method, path = request.method, request.path
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in path):  # %0d%0a: a 500, and a forged log line
        raise HttpError(
            400, f"expected a path of printable characters, got {path!r}; no admin endpoint has one"
        )
    if path == "/api/session":
        return await session(c, request, send, scope, cookie)
    if path in SOCKET_ONLY:  # a GET was a 404 from the store ("no admin endpoint"); the docs say 405
        raise HttpError(
            405,
            f"expected {path} on the server's socket, got {method} over HTTP: it is for "
            f"`trackway {path.removeprefix('/api/')}` on the server's machine",
            headers=[(b"allow", b"")],
        )
    if method == "POST" and path in ACTIONS:
        if cookie is not None:
            c.sessions.check_csrf(cookie, request.header(CSRF_HEADER))
        await request.read(MAX_BODY)
    elif method != "GET":
        allow = b"POST" if path in ACTIONS else b"GET"
        raise HttpError(
            405,
            f"expected {allow.decode()} on {path}, got {method}"
            + (
                "; /api/sql and /api/rebuild are for `trackway sql` and `trackway rebuild` on the server"
                if method == "POST"
                else ""
            ),
            headers=[(b"allow", allow)],
        )
    try:
        if path == "/api/live":
            return await relay(c, request, send, scope, lambda: still_allowed(c, request, scope, cookie))
        return await c.forward(request, send, scope)
    except httpx.HTTPError as exc:  # the store process is restarting, stopped, or too busy
        raise HttpError(
            503,
            f"expected the store process to answer {path}, got {type(exc).__name__}; "
            "the events acknowledged are safe in the log: retry shortly, and check `trackway serve`'s "
            "output if it lasts",
            headers=[(b"retry-after", b"5")],
        ) from None


async def session(c: Collector, request: Request, send: Send, scope: str, cookie: str | None) -> int:
    """``GET /api/session``: the caller's scope, the properties it sees, and (for a
    session) the CSRF token its state-changing requests carry."""
    cfg = c.config
    names = sorted(cfg.properties) if scope == "*" else [scope]
    body = {
        "scope": scope,
        "properties": names,
        "csrf": c.sessions.csrf(cookie) if cookie else None,
        "demo_shop": cfg.server["demo_shop"] or None,
    }
    await respond_json(send, 200, body, [(b"cache-control", b"no-store")])
    return 200


async def relay(c: Collector, request: Request, send: Send, scope: str, allowed: Callable[[], bool]) -> int:
    """Relay the store's ``/api/live`` stream to the browser until either side ends it,
    the worker stops, or ``allowed()`` turns false (the session was signed out or has
    expired, the token was removed): it is asked every ``STOP_CHECK_S``."""
    if c.stream is None:
        raise HttpError(503, "expected a live stream from the store process; this server has none")
    if c.streams >= STREAMS_PER_WORKER:
        raise HttpError(
            503,
            f"expected at most {STREAMS_PER_WORKER} live streams on one worker, got one more; close a "
            "dashboard tab or retry later",
            headers=[(b"retry-after", b"10")],
        )
    c.streams += 1
    proxy = asyncio.ensure_future(c.stream(request, send, scope))
    gone = asyncio.ensure_future(_disconnected(request))
    ended = False  # by this side: the worker stops, or the caller may no longer read
    try:
        while not proxy.done() and not gone.done():
            await asyncio.wait({proxy, gone}, timeout=STOP_CHECK_S, return_when=asyncio.FIRST_COMPLETED)
            # end the stream cleanly: the browser reconnects to the next server, or is
            # refused (401) and signs in again
            if c.stopping() or not allowed():
                ended = True
                break
    finally:
        c.streams -= 1
        left = gone.done()
        gone.cancel()
        if not proxy.done():
            proxy.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await proxy
            if ended:
                with contextlib.suppress(Exception):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
    if not proxy.done() or proxy.cancelled():
        return 499 if left else 200  # the browser left, or the worker stopped, or the session ended
    return proxy.result()  # or what the relay raised (the store gone: a 503 if nothing was sent)


async def _disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


def client_stream(client: httpx.AsyncClient) -> Callable[[Request, Send | None, str], Awaitable[int]]:
    """Relay a streamed answer of the store process (``/api/live``) chunk by chunk."""

    async def stream(request: Request, send: Send | None, scope: str) -> int:
        assert send is not None
        headers = {SCOPE_HEADER.decode(): scope}
        timeout = httpx.Timeout(60.0, connect=5.0)
        async with client.stream(
            "GET", request.path, params=request.query, headers=headers, timeout=timeout
        ) as answer:
            if answer.status_code != 200:
                await respond(send, answer.status_code, await answer.aread())
                return answer.status_code
            await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
            with contextlib.suppress(httpx.HTTPError):  # the store went away: end the stream, the
                async for chunk in answer.aiter_raw():  # browser reconnects when it is back
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        return 200

    return stream
