"""``GET /health``, ``GET /metrics``, ``GET /openapi.json`` and the ``/api/*`` gate.

``/api/*`` needs an admin token (``Authorization: Bearer`` or ``?token=``): a
property's token sees that property only, the server's sees all. The worker checks
it and forwards the request to the store process with the scope it grants; a scope
header sent by a client is never passed on.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable

import httpx

from trackway.config import Config
from trackway.server import metrics
from trackway.server.admin import SCOPE_HEADER
from trackway.server.app import Collector
from trackway.server.http import HttpError, Request, Send, encode_json, respond, respond_json
from trackway.server.openapi import document

_OPENAPI: bytes | None = None


async def health(c: Collector, request: Request, send: Send) -> int:
    log_ok = os.access(c.writer.directory, os.W_OK)
    store = "unreachable"
    try:
        status = await c.forward(
            Request(dict(request.scope, path="/health", query_string=b""), request.receive), None, "*"
        )
        store = "writable" if status == 200 else "not writable"
    except httpx.HTTPError:
        pass
    ok = log_ok and store == "writable"
    body = {
        "status": "ok" if ok else "unavailable",
        "log": "writable" if log_ok else "not writable",
        "store": store,
    }
    await respond_json(send, 200 if ok else 503, body)
    return 200 if ok else 503


async def metrics_text(c: Collector, request: Request, send: Send) -> int:
    snapshots = [c.snapshot()]
    if c.run_dir is not None:
        snapshots += metrics.read_all(c.run_dir / "metrics", skip=c.name)
    await respond(send, 200, metrics.render(snapshots).encode(), b"text/plain; version=0.0.4; charset=utf-8")
    return 200


async def openapi(c: Collector, request: Request, send: Send) -> int:
    global _OPENAPI
    if _OPENAPI is None:
        _OPENAPI = encode_json(document())
    await respond(send, 200, _OPENAPI)
    return 200


def admin_scope(c: Collector, request: Request) -> str:
    """The scope an admin token grants: a property's name, or ``*`` for the server token."""
    token = request.query.get("token", "")
    header = request.header(b"authorization") or ""
    if header[:7].lower() == "bearer ":
        token = header[7:].strip()
    if not token:
        raise HttpError(401, "expected an admin token as Authorization: Bearer TOKEN or ?token=, got none")

    def find(cfg: Config) -> str | None:
        if token not in cfg.keyring.admin:
            return None
        prop = cfg.keyring.admin[token]
        return "*" if prop is None else prop.name

    scope = c.lookup(find)
    if scope is None:
        raise HttpError(
            401, "expected an admin token, got an unknown one; `trackway property list` shows them"
        )
    return scope


async def api(c: Collector, request: Request, send: Send) -> int:
    if request.method != "GET":
        raise HttpError(
            405, f"expected GET on {request.path}, got {request.method}", headers=[(b"allow", b"GET")]
        )
    scope = admin_scope(c, request)
    return await c.forward(request, send, scope)


def uds_forward(socket_path: str) -> Callable[[Request, Send | None, str], Awaitable[int]]:
    """Forward to the store process over its Unix socket."""
    return client_forward(
        httpx.AsyncClient(
            transport=httpx.AsyncHTTPTransport(uds=socket_path), base_url="http://store", timeout=60.0
        )
    )


def client_forward(client: httpx.AsyncClient) -> Callable[[Request, Send | None, str], Awaitable[int]]:
    async def forward(request: Request, send: Send | None, scope: str) -> int:
        query = {k: v for k, v in request.query.items() if k != "token"}
        headers = {SCOPE_HEADER.decode(): scope}
        response = await client.request(
            request.method, request.path, params=query, headers=headers, content=request.body
        )
        if send is not None:
            content_type = response.headers.get("content-type", "application/json").encode()
            await respond(send, response.status_code, response.content, content_type)
        return response.status_code

    return forward
