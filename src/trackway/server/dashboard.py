"""The dashboard: ``GET /`` (one page; its scripts draw every view from ``/api/*``),
its static files under ``/dashboard/``, and sign-in.

- ``POST /signin`` with ``{"token": "..."}``: an admin token becomes a session cookie
  (``tw_session``: HttpOnly, SameSite=Strict, Secure over TLS); attempts are rate
  limited per client address (``signin_attempts_per_minute``).
- ``GET /signin?code=...``: a one-time link (``trackway dashboard``) does the same, then
  sends the browser to ``/`` (so the code leaves the address bar and the history).
- ``POST /signout``: ends the session (with its CSRF token).

Every answer carries a Content-Security-Policy without inline scripts or styles:
whatever an event holds is put in the page as text by the scripts, never as markup.
"""

from __future__ import annotations

from urllib.parse import urlencode

import msgspec

from trackway import dashboard
from trackway.config import Config
from trackway.errors import HttpError
from trackway.server.app import Collector, Handler
from trackway.server.http import Request, Send, respond, respond_json
from trackway.server.ops import token_scope
from trackway.server.script import respond_static
from trackway.server.sessions import COOKIE, CSRF_HEADER

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PAGE_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
MAX_SIGNIN_BODY = 4096


class _Signin(msgspec.Struct):
    token: str = ""


async def page(c: Collector, request: Request, send: Send) -> int:
    return await _serve(request, send, "index.html", b"no-store")


def _static(name: str) -> Handler:
    async def serve(c: Collector, request: Request, send: Send) -> int:
        return await _serve(request, send, name, b"no-cache")  # revalidated by its ETag

    return serve


async def _serve(request: Request, send: Send, name: str, cache: bytes) -> int:
    found = dashboard.asset(name)
    headers = [*PAGE_HEADERS, (b"etag", found.etag), (b"cache-control", cache), (b"vary", b"Accept-Encoding")]
    return await respond_static(request, send, found, found.content_type, headers)


def _cookie(request: Request, value: str, seconds: int) -> tuple[bytes, bytes]:
    return request.set_cookie(COOKIE, value, seconds, "Strict")


def _same_origin(request: Request) -> None:
    """A browser's POST names its page's origin; one from another site is refused (the
    session cookie is SameSite=Strict, and this covers sign-in, which has none yet)."""
    origin = request.header(b"origin")
    host = request.header(b"host") or ""
    if origin is not None and origin.split("://", 1)[-1] != host:
        raise HttpError(
            403, f"expected a request from this dashboard's own page ({host}), got one from {origin}"
        )


async def signin(c: Collector, request: Request, send: Send) -> int:
    if request.method == "GET":
        return await _follow_link(c, request, send)
    c.signins.take(request.client_ip or "?", c.server["signin_attempts_per_minute"])
    _same_origin(request)
    body = await request.read(MAX_SIGNIN_BODY)
    try:  # typed: a nested value is refused at its first level, never recursed into
        token = msgspec.json.decode(body, type=_Signin).token
    except msgspec.DecodeError:
        token = ""
    if not token:
        raise HttpError(400, 'expected a JSON body {"token": "ADMIN_TOKEN"}, got none')
    scope = token_scope(c, token)
    if scope is None:
        raise HttpError(
            401,
            "expected an admin token (the server's admin_token, or a property's: `trackway property list`), "
            "got an unknown one",
        )
    seconds = c.server["dashboard_session_seconds"]
    cookie = c.sessions.issue(token, seconds)
    answer = {"scope": scope, "csrf": c.sessions.csrf(cookie)}
    await respond_json(send, 200, answer, [*PAGE_HEADERS, _cookie(request, cookie, seconds)])
    return 200


async def _follow_link(c: Collector, request: Request, send: Send) -> int:
    """``GET /signin?code=``: a browser followed a one-time link. Signed in, it goes to the
    dashboard; refused, to the sign-in form, which says why (not a page of JSON)."""
    try:
        c.signins.take(request.client_ip or "?", c.server["signin_attempts_per_minute"])
        code = request.query.get("code", "")
        if not code:
            raise HttpError(
                400, "expected ?code= from a sign-in link (`trackway dashboard` prints one), got none"
            )
        token = _token_of(c, c.sessions.redeem(code))
    except HttpError as exc:
        where = "/#/signin?" + urlencode({"error": str(exc), "status": exc.status})
        await respond(send, 303, content_type=None, headers=[*PAGE_HEADERS, (b"location", where.encode())])
        return exc.status
    seconds = c.server["dashboard_session_seconds"]
    headers = [_cookie(request, c.sessions.issue(token, seconds), seconds), (b"location", b"/")]
    await respond(send, 303, content_type=None, headers=[*PAGE_HEADERS, *headers])
    return 303


def _token_of(c: Collector, scope: str) -> str:
    """The admin token a one-time link's scope signs in with. None known yet re-reads a
    changed configuration at once: `trackway dashboard` may have added the server's token
    a moment ago, and the link, spent by now, must not fail for the worker's lag."""

    def find(cfg: Config) -> str | None:
        for token, prop in cfg.keyring.admin.items():
            if (prop is None and scope == "*") or (prop is not None and prop.name == scope):
                return token
        return None

    found = c.lookup(find)
    if found is not None:
        return found
    raise HttpError(
        401,
        f"expected an admin token for {scope!r} to sign in with, got none configured; set the server's "
        "admin_token (or the property's) and ask for a new link",
    )


async def signout(c: Collector, request: Request, send: Send) -> int:
    _same_origin(request)
    cookie = request.cookie(COOKIE)
    if cookie:
        c.sessions.check_csrf(cookie, request.header(CSRF_HEADER))
        if c.sessions.scope(cookie, c.config) is not None:
            c.sessions.revoke(cookie)  # a copy of the cookie stops working too
    await respond(send, 204, content_type=None, headers=[*PAGE_HEADERS, _cookie(request, "", 0)])
    return 204


def routes() -> dict[str, dict[str, Handler]]:
    table: dict[str, dict[str, Handler]] = {
        "/": {"GET": page},
        "/signin": {"GET": signin, "POST": signin},
        "/signout": {"POST": signout},
    }
    for name in dashboard.names():
        table[f"/dashboard/{name}"] = {"GET": _static(name)}
    return table
