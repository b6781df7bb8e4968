"""``GET /health``, ``GET /metrics``, ``GET /openapi.json`` and the ``/api/*`` gate.

``/api/*`` needs an admin token in ``Authorization: Bearer`` (never in the URL: a
``?token=`` is refused, as URLs end up in logs and histories): a property's token
sees that property only, the server's sees all. ``/metrics`` without a token names
no property (each series summed over the properties), and answers 401 when
``metrics_public`` is off; with the server's token it shows every series, with a
property's token that property's series and those of no property. The worker checks
it and forwards the request to the store process with the scope it grants; a scope
header sent by a client is never passed on.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import msgspec

from trackway.config import Config
from trackway.errors import HttpError
from trackway.server import metrics
from trackway.server.admin import SCOPE_HEADER, STALE_HEADER
from trackway.server.app import Collector
from trackway.server.http import Request, Send, encode_json, respond, respond_json
from trackway.server.openapi import document

_OPENAPI: bytes | None = None


_PROBES: dict[str, tuple[float, bool]] = {}  # directory -> when it was last probed, and the answer


def _takes_writes(directory: str) -> bool:
    """Whether ``directory`` takes a 4 KiB write, fsynced (a file made and removed); asked
    at most once a second (a client asking /health in a loop costs no fsync a request)."""
    now = time.monotonic()
    last = _PROBES.get(directory)
    if last is not None and now - last[0] < 1.0:
        return last[1]
    _PROBES[directory] = (now, False)  # a probe at the same time waits for the next second
    answer = _probe(directory)
    _PROBES[directory] = (now, answer)
    return answer


def _probe(directory: str) -> bool:
    path = os.path.join(directory, f".health-{os.getpid()}")
    try:
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        try:
            os.pwrite(fd, b"\0" * 4096, 0)
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(path)
    except OSError:
        return False
    return True


async def health(c: Collector, request: Request, send: Send) -> int:
    """This worker's log and the store process's state: 200 ``ok`` or ``degraded`` (an
    alarm: the store's, or a bad configuration file this worker does not use), 503
    ``unavailable`` when events cannot be acknowledged (the log's commits fail, or the
    store is not writable or not reachable)."""
    failing = c.writer.stats.failing
    # The disk has room again: the next commit succeeds. Saying 503 until an event came
    # kept a readiness probe's instance out of rotation, so that none came, for good.
    if failing:
        recovered: bool = await asyncio.to_thread(_takes_writes, str(c.writer.directory))
        if recovered:
            failing = ""
    writable = os.access(c.writer.directory, os.W_OK)
    log = "failing" if failing else "writable" if writable else "not writable"
    answer: list[bytes] = []

    async def keep(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            answer.append(message.get("body", b""))

    code = 0
    with contextlib.suppress(httpx.HTTPError):
        code = await c.forward(
            Request(dict(request.scope, path="/health", query_string=b""), request.receive), keep, "*"
        )
    got: Any = {}
    with contextlib.suppress(msgspec.DecodeError):
        got = msgspec.json.decode(b"".join(answer)) if code == 200 and answer else {}
    store_health: dict[str, Any] = got if isinstance(got, dict) else {}
    store = "unreachable" if code == 0 else "writable" if code == 200 else "not writable"
    store = str(store_health.get("store", store))
    alarms = [a for a in store_health.get("alarms", []) if isinstance(a, dict)]
    if c.config_error and not any(a.get("key") == "config_invalid" for a in alarms):
        alarms.append(
            {
                "key": "config_invalid",
                "message": f"{c.config_error}; serving with the last good configuration",
                "since": c.config_error_since,
            }
        )
    ok = log == "writable" and store == "writable"
    degraded = bool(alarms) or store_health.get("status") == "degraded"
    body: dict[str, Any] = {
        "status": "unavailable" if not ok else "degraded" if degraded else "ok",
        "log": log,
        "store": store,
    }
    if failing:
        body["log_error"] = (
            f"the last commit to {c.writer.directory} failed: {failing}; requests are answered 503 "
            "(nothing is acknowledged) until a commit succeeds. Is the disk full or failing? (df -h, dmesg)"
        )
    if alarms:
        body["alarms"] = alarms
    await respond_json(send, 200 if ok else 503, body)
    return 200 if ok else 503


async def metrics_text(c: Collector, request: Request, send: Send) -> int:
    if request.header(b"authorization") or "token" in request.query:
        scope: str | None = admin_scope(c, request)
    elif c.config.server["metrics_public"]:
        scope = None
    else:
        raise HttpError(
            401,
            "expected the admin token as Authorization: Bearer TOKEN for /metrics (it names properties); "
            "set metrics_public = true in [server] to scrape it without one, property names left out",
        )
    snapshots = [c.snapshot()]
    if c.run_dir is not None:
        snapshots += metrics.read_all(c.run_dir / "metrics", skip=c.name)
    if scope != "*":
        snapshots = [_scoped(s, scope) for s in snapshots]
    await respond(send, 200, metrics.render(snapshots).encode(), b"text/plain; version=0.0.4; charset=utf-8")
    return 200


# Labels that name a property: ``property``, and ``destination`` (PROPERTY.NAME).
NAMING = frozenset({"property", "destination"})


def _owner(labels: dict[str, str]) -> str | None:
    """The property a series is about, or None for one counting every property's."""
    prop = labels.get("property")
    if prop is None and "destination" in labels:
        prop = labels["destination"].partition(".")[0]
    return prop


def _scoped(snapshot: metrics.Snapshot, scope: str | None) -> metrics.Snapshot:
    """The series a scope may see: a property's token its own only (a series naming no
    property, such as the requests by endpoint, counts every property's traffic: another
    tenant's volume was visible to each); for ``None`` (no token), every series with the
    labels naming a property removed (render sums them: the destinations' series become
    one per outcome or state)."""

    def keep(series: list[Any]) -> list[Any]:
        out = []
        for name, labels, value in series:
            prop = _owner(labels)
            if scope is None:
                if prop is not None:
                    labels = {k: v for k, v in labels.items() if k not in NAMING}
            elif prop != scope:
                continue
            out.append((name, labels, value))
        return out

    return metrics.Snapshot(
        counters=keep(snapshot.counters), gauges=keep(snapshot.gauges), histograms=keep(snapshot.histograms)
    )


async def openapi(c: Collector, request: Request, send: Send) -> int:
    global _OPENAPI
    if _OPENAPI is None:
        _OPENAPI = encode_json(document())
    await respond(send, 200, _OPENAPI)
    return 200


def token_scope(c: Collector, token: str) -> str | None:
    """The scope an admin token grants (a property's name, ``*`` for the server's), or None."""

    def find(cfg: Config) -> str | None:
        if token not in cfg.keyring.admin:
            return None
        prop = cfg.keyring.admin[token]
        return "*" if prop is None else prop.name

    return c.lookup(find)


def admin_scope(c: Collector, request: Request) -> str:
    """The scope an admin token grants: a property's name, or ``*`` for the server token."""
    if "token" in request.query:
        raise HttpError(
            401,
            "expected the admin token in the Authorization: Bearer TOKEN header, got it in the URL (?token=),"
            " which logs and browser histories keep; send the header instead (curl -H 'Authorization: Bearer "
            "TOKEN'), and replace the token if the URL was shared",
        )
    token = ""
    header = request.header(b"authorization") or ""
    if header[:7].lower() == "bearer ":
        token = header[7:].strip()
    if not token:
        raise HttpError(401, "expected an admin token as Authorization: Bearer TOKEN, got none")

    scope = token_scope(c, token)
    if scope is None:
        raise HttpError(
            401, "expected an admin token, got an unknown one; `trackway property list` shows them"
        )
    return scope


def uds_client(socket_path: str) -> httpx.AsyncClient:
    """A client of the store process over its Unix socket."""
    return httpx.AsyncClient(
        transport=httpx.AsyncHTTPTransport(uds=socket_path), base_url="http://store", timeout=60.0
    )


def client_forward(client: httpx.AsyncClient) -> Callable[[Request, Send | None, str], Awaitable[int]]:
    async def forward(request: Request, send: Send | None, scope: str) -> int:
        headers = {SCOPE_HEADER.decode(): scope}  # admin_scope refused a ?token= already
        response = await client.request(
            request.method, request.path, params=request.query, headers=headers, content=request.body
        )
        if send is not None:
            content_type = response.headers.get("content-type", "application/json").encode()
            stale = response.headers.get(STALE_HEADER.decode())  # read-your-writes could not wait (admin.py)
            extra = [(STALE_HEADER, stale.encode())] if stale else None
            await respond(send, response.status_code, response.content, content_type, extra)
        return response.status_code

    return forward
