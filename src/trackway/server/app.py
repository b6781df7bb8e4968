"""The worker's ASGI application: routing, authentication, the commit, errors.

:class:`Collector` is a worker's state: the configuration (re-read when a key is
unknown and the file changed), the log writer, metrics, and how ``/api/*`` reaches
the store process. :func:`make_app` routes requests to the endpoint modules; every
exception becomes an answer, so no input can take a worker down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from trackway import config as configuration
from trackway.api import Decoded
from trackway.config import Config, Property
from trackway.errors import ClientGone, CommitFailed, ConfigError, HttpError, LogClosed, Overloaded
from trackway.ingest import log, pipeline, records
from trackway.ingest.writer import LogWriter
from trackway.server import metrics
from trackway.server.http import Receive, Request, Scope, Send, remember, respond_json
from trackway.server.sessions import Attempts, Sessions

logger = logging.getLogger("trackway.server")

T = TypeVar("T")
CONFIG_CHECK_SECONDS = 1.0
RETRY = [(b"retry-after", b"1")]
Handler = Callable[["Collector", Request, Send], Awaitable[int]]
Forward = Callable[[Request, Send | None, str], Awaitable[int]]  # (request, send or None, scope) -> status


SHED_DELAY = 0.1  # seconds a request refused for the backlog waits before its 503


class Shed(HttpError):
    """A request refused while the store is further behind than max_backlog_seconds. Its
    503 waits ``SHED_DELAY``: a client retrying at once (a load generator, a naive SDK)
    would otherwise keep the workers answering 503s at full speed, on the CPUs the loader
    needs to catch up (measured: the backlog went on growing to 19 s past a bound of 5)."""


class Collector:
    def __init__(
        self,
        cfg: Config,
        writer: LogWriter,
        *,
        forward: Forward,
        name: str = "worker",
        run_dir: Path | None = None,
        stream: Forward | None = None,
    ) -> None:
        self._config = cfg
        self._next_check = time.monotonic() + CONFIG_CHECK_SECONDS
        self.writer = writer
        self.forward = forward
        self.stream = stream  # how a stream (/api/live) reaches the store process, when it can
        self.name = name
        self.run_dir = run_dir
        # The dashboard's sign-ins (server/dashboard.py): the data dir's key, this worker's
        # count of attempts per client address, and its open live streams.
        self.sessions = Sessions(run_dir.parent if run_dir is not None else None)
        self.signins = Attempts()
        self.streams = 0
        self.stopping: Callable[[], bool] = lambda: False  # the worker is shutting down (supervisor)
        self.metrics = metrics.Metrics()
        if run_dir is not None:  # a worker restarted in its slot counts on from its predecessor
            previous = metrics.read(run_dir / "metrics" / f"{name}.json")
            if previous is not None:
                self.metrics.carry(previous)
        writer.on_commit = self._on_commit
        self._reload_lock = asyncio.Lock()
        self._known: dict[str, dict[bytes, Any]] = {}  # kind -> raw key -> property, see lookup_raw
        self._known_config = cfg
        # The configuration file's error while the last good configuration serves ("": none),
        # since when (wall time), and the file version (mtime) it was found in: a file is
        # tried once, not at every request with an unknown key.
        self.config_error = ""
        self.config_error_since = 0.0
        self._failed_mtime: int | None = None
        self._commit_failures = ("trackway_commit_failures_total", (("worker", name),))
        # Connections the worker's protocol closed, by reason (server/protocol.py's sweeper:
        # header_timeout, body_timeout, evicted); set by the worker once its server is built.
        self.connections_closed: Callable[[], dict[str, int]] = dict
        # The store's backlog (seconds: the oldest acknowledged event not loaded yet) when it
        # is past max_backlog_seconds, else 0: new events are refused while it is (see commit).
        self.backlog = 0.0

    def _on_commit(self, n: int, seconds: float) -> None:  # on the event loop, once a commit
        self.metrics.observe("trackway_commit_seconds", seconds, metrics.LATENCY_BUCKETS)
        self.metrics.observe("trackway_commit_records", n, metrics.SIZE_BUCKETS)

    @property
    def server(self) -> dict[str, Any]:
        return self.config.server

    @property
    def config(self) -> Config:
        """The configuration, re-read when the file changed (checked at most once a second)."""
        now = time.monotonic()
        if now >= self._next_check:
            self._next_check = now + CONFIG_CHECK_SECONDS
            if self._config.changed():
                self._reload()
        return self._config

    def _reload(self) -> None:
        try:
            mtime = self._config.path.stat().st_mtime_ns
        except OSError:
            return
        if mtime == self._failed_mtime:
            return  # this version of the file is known to be bad
        try:
            self._config = configuration.load(self._config.path)
        except ConfigError as exc:  # keep serving with the last good file
            self.config_failed(str(exc), mtime)
        else:
            self.config_error, self._failed_mtime = "", None

    def config_failed(self, message: str, mtime: int | None) -> None:
        """The file (version ``mtime``) is bad: serve with the last good configuration and
        say so on /health. The store process logs it, once; a worker does not repeat it."""
        if not self.config_error:
            self.config_error_since = time.time()
        self.config_error, self._failed_mtime = message, mtime
        logger.debug("not reloading the configuration: %s", message)

    def lookup(self, find: Callable[[Config], T | None]) -> T | None:
        """What a key names; an unknown key re-reads a changed file at once (a property
        added while the server runs is live at its first request)."""
        found = find(self.config)
        if found is None and self._config.changed():
            self._reload()
            found = find(self._config)
        return found

    def lookup_raw(self, kind: str, raw: bytes, find: Callable[[Config, bytes], T | None]) -> T | None:
        """:meth:`lookup` of ``find(config, raw)``, remembered by ``raw``, the request bytes
        the key is read from (a query string), until the configuration changes.

        Clients send the same few keys over and over; a remembered one costs one dict
        look-up instead of parsing and finding it. ``kind`` keeps the memories of
        different key types apart. Unknown keys are not remembered."""
        cfg = self.config
        if cfg is not self._known_config:
            self._known.clear()
            self._known_config = cfg
        memo = self._known.get(kind)
        if memo is None:
            memo = self._known[kind] = {}
        found = memo.get(raw)
        if found is None:
            found = self.lookup(lambda c: find(c, raw))
            if found is not None and self._config is self._known_config:
                remember(memo, raw, found)
        return found

    def record(
        self,
        kind: str,
        endpoint: str,
        prop: str,
        request: Request,
        *,
        dialect: str = "",
        body: bytes = b"",
        meta: dict[str, Any] | None = None,
    ) -> records.Record:
        """A log record of ``request`` (``meta`` becomes the record's: the client's
        address and user agent are added to it)."""
        if meta is None:
            meta = {}
        client = request.scope.get("client")
        if client:
            meta["ip"] = client[0]
        agent = request.headers.get(b"user-agent")
        if agent:
            meta["user_agent"] = agent.decode("latin-1")
        return records.Record(
            kind, records.uuid7(), endpoint, prop, records.now_micros(), dialect, meta, body
        )

    async def commit_decoded(
        self, request: Request, prop: Property, decoded: Decoded, payload: bytes
    ) -> None:
        """Log what a request decoded in the worker (an endpoint whose answer reports
        validation): the accepted events and, with its issues, ``payload`` (the unit as
        it is to be stored, credentials taken out) if it failed; return once on disk."""
        record = self.record(records.DECODED, request.path, prop.name, request)
        out = records.Outcome()
        pipeline.split(decoded, payload, out, record, 0, prop)
        record.events = [records.event_json(e) for e in out.events]
        record.client_ids = out.client_ids
        record.failed = out.failed
        await self.commit(record)

    def commit(self, record: records.Record) -> asyncio.Future[None]:
        """Append ``record`` to the log; await the result to know it is on disk.

        Not a coroutine: a request awaits the writer's future directly. The future
        fails with :class:`CommitFailed`, which :func:`make_app` answers 503; the write
        happens even if the request is cancelled meanwhile."""
        if self.backlog:
            self.metrics.inc("trackway_backlog_refused_total")
            raise Shed(
                503,
                f"the store is {self.backlog:.0f} s behind the acknowledged events, past max_backlog_seconds "
                f"({self.server['max_backlog_seconds']} s); nothing was written: retry after the delay given",
                headers=RETRY,
            )
        try:
            return self.writer.append(records.dumps(record))
        except Overloaded:
            self.metrics.inc("trackway_overloaded_total")
            raise HttpError(
                503,
                "the collector is busy: its commit queue is full; retry after the delay given",
                headers=RETRY,
            ) from None
        except LogClosed:
            raise HttpError(503, "the collector is shutting down; retry", headers=RETRY) from None

    def snapshot(self) -> metrics.Snapshot:
        self.metrics.set("trackway_queue_depth", self.writer.pending, worker=self.name)
        self.metrics.counters[self._commit_failures] = self.writer.stats.errors
        for reason, n in self.connections_closed().items():
            self.metrics.counters[
                ("trackway_connections_closed_total", (("reason", reason), ("worker", self.name)))
            ] = n
        return self.metrics.snapshot()


ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def make_app(collector: Collector, routes: dict[str, dict[str, Handler]], api: Handler) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await lifespan(collector, receive, send)
            return
        if kind != "http":
            return
        send = _gone_when_closed(send)
        request = Request(scope, receive)
        path = request.path
        methods = routes.get(path)
        handler: Handler | None
        if methods is not None:
            handler = methods.get(scope["method"])
            if handler is None:
                allow = ", ".join(sorted(methods)).encode()
                await _error(
                    send,
                    HttpError(
                        405,
                        f"expected {allow.decode()} on {path}, got {request.method}",
                        headers=[(b"allow", allow)],
                    ),
                )
                collector.metrics.inc("trackway_requests_total", endpoint=path, status="405")
                return
        elif path.startswith("/api/"):
            handler = api
        else:
            await _error(send, HttpError(404, f"no endpoint at {path}; see /openapi.json for the endpoints"))
            collector.metrics.inc("trackway_requests_total", endpoint="other", status="404")
            return
        status = 500
        try:
            status = await handler(collector, request, send)
        except Shed as exc:
            status = exc.status
            await asyncio.sleep(SHED_DELAY)  # a flood answered at once would keep the CPUs from the loader
            await _error(send, exc)
        except HttpError as exc:
            status = exc.status
            await _error(send, exc)
        except CommitFailed as exc:
            status = 503
            await _error(
                send, HttpError(503, f"the events could not be written to disk ({exc}); retry", headers=RETRY)
            )
        except ClientGone:
            status = 499  # nginx's code for it: the client went away, nothing was stored
        except Exception:  # a bug: answered 500 and logged once, with an id the answer gives too
            request_id = records.uuid7()
            logger.exception("unexpected error on %s %s (request %s)", request.method, path, request_id)
            with contextlib.suppress(Exception):  # unless the answer had begun: uvicorn closes it then
                await _error(
                    send,
                    HttpError(
                        500,
                        "an unexpected error; nothing was stored. The server log has details under "
                        f"request {request_id}; retrying will not help until it is fixed",
                        request_id=request_id,
                    ),
                )
        collector.metrics.inc_request(path if methods is not None else "/api", status)

    return app


async def _error(send: Send, exc: HttpError) -> None:
    with contextlib.suppress(ClientGone):  # nobody to tell
        await respond_json(send, exc.status, exc.body(), exc.headers)


def _gone_when_closed(send: Send) -> Send:
    """``send``, raising ClientGone where the connection is closed under it. A client that
    pipelines requests and closes before their answers made uvicorn's send raise uvloop's
    RuntimeError ("unable to perform operation on <TCPTransport closed=True ...>"): each such
    request was logged with a traceback and counted as a 500."""

    async def guarded(message: dict[str, Any]) -> None:
        try:
            await send(message)
        except ConnectionError:
            raise ClientGone from None
        except RuntimeError as exc:
            if "closed" not in str(exc):
                raise  # not the connection: a misuse of ASGI, a bug to log
            raise ClientGone from None

    return guarded


async def lifespan(collector: Collector, receive: Receive, send: Send) -> None:
    task: asyncio.Task[None] | None = None
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            if collector.run_dir is not None:
                task = asyncio.create_task(_publish_metrics(collector))
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if task is not None:
                task.cancel()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _publish_metrics(collector: Collector) -> None:
    assert collector.run_dir is not None
    directory = collector.run_dir / "metrics"
    while True:
        with contextlib.suppress(OSError):
            metrics.write(directory, collector.name, collector.snapshot())
        collector.backlog = backlog_past(directory, collector.server["max_backlog_seconds"])
        if log.rotation_requested(collector.run_dir, collector.writer.opened_at):
            collector.writer.roll()  # a forget waits for this segment to be finished
        await asyncio.sleep(1.0)


def backlog_past(directory: Path, bound: float) -> float:
    """The store's backlog in seconds (the store process's gauge) when ``bound`` is set and
    it is past it, else 0."""
    if bound <= 0:
        return 0.0
    age = metrics.gauge(directory / "store.json", "trackway_log_oldest_unloaded_seconds")
    return age if age is not None and age > bound else 0.0


def now() -> float:
    return time.time()
