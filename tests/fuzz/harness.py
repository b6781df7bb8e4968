"""The whole path in one process, one request at a time, for the fuzzers.

:class:`Pipeline` wires what ``trackway serve`` wires (tests/support/inproc.py does the
same for the endpoint tests): the worker's ASGI app over a real :class:`LogWriter` in a
temporary directory, the admin app behind ``/api/*``, the :class:`Loader` and a DuckDB
file store. :meth:`Pipeline.send` puts one :class:`Req` through the app by calling it
as an ASGI server would (no sockets, no HTTP client: any header bytes can be sent),
then loads the log, runs every report and an export, and returns an :class:`Outcome`
saying what happened. :meth:`Outcome.problems` lists the broken invariants.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import msgspec

from tests.support.asgi import http_scope
from trackway import config as configuration
from trackway import reports
from trackway.ingest.loader import Loader
from trackway.ingest.writer import LogWriter
from trackway.reports import render
from trackway.server.admin import Admin, make_admin_app
from trackway.server.app import Collector
from trackway.server.ops import client_forward
from trackway.server.routes import build_app
from trackway.store.base import Query
from trackway.store.duck import DuckStore

SLOW_SECONDS = 1.0  # CPU time of one request past which it is a finding (never asserted)
ADMIN_TOKEN = "twa_fuzz_server_admin_token"  # reads every property
LOAD_ROUNDS = 20  # run_once calls per request before the loader counts as stalled
_export_json = msgspec.json.Encoder(decimal_format="number")


@dataclass(frozen=True)
class Req:
    """One HTTP request as an ASGI server hands it over (header names in lower case)."""

    method: str
    path: str
    query: bytes = b""
    headers: tuple[tuple[bytes, bytes], ...] = ()
    body: bytes = b""
    chunks: int = 1  # how many http.request messages the body arrives in

    def short(self, limit: int = 600) -> str:
        body = self.body if len(self.body) <= limit else self.body[:limit] + b"...(%d bytes)" % len(self.body)
        return (
            f"{self.method} {self.path}?{self.query[:limit]!r} headers={list(self.headers)!r} body={body!r}"
        )


@dataclass
class Outcome:
    req: Req
    status: int | None = None
    escaped: str | None = None  # a traceback: an exception left the ASGI app
    server_log: list[str] = field(default_factory=list)  # tracebacks the app logged (its 500s)
    cpu_seconds: float = 0.0
    events: int = 0  # rows the load added to each table
    failed: int = 0
    quarantined: int = 0
    lag_bytes: int = 0
    loader_error: str | None = None
    undecodable: int = 0
    report_errors: dict[str, str] = field(default_factory=dict)
    answered_bytes: int = 0  # the response body's size

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def slow(self) -> bool:
        return self.cpu_seconds > SLOW_SECONDS

    def problems(self) -> list[str]:
        out = []
        if self.escaped is not None:
            out.append("an exception escaped the app")
        elif self.status is None:
            out.append("no response")
        elif self.status >= 500:
            out.append(f"answered {self.status}")
        if self.loader_error is not None:
            out.append("the loader raised")
        if self.lag_bytes:
            out.append(f"the loader stalled ({self.lag_bytes} bytes of log left)")
        if self.undecodable:
            out.append(f"the loader skipped {self.undecodable} unreadable record(s)")
        out.extend(f"{name} failed" for name in self.report_errors)
        return out

    def tracebacks(self) -> list[str]:
        found = [self.escaped, self.loader_error, *self.server_log, *self.report_errors.values()]
        return [t for t in found if t]


class _Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + "".join(traceback.format_exception(*record.exc_info))
        self.texts.append(text)


class Pipeline:
    """The collector, loader, store and reports over ``root``, rebuilt afresh in a new
    subdirectory when a request leaves the loader stuck (so later requests are judged
    on their own)."""

    def __init__(self, root: Path, *, reports: str = "always") -> None:
        """``reports``: run the reports and export after every request ("always"), after
        those that stored something ("stored"), or never ("never")."""
        self.root = root
        self.reports = reports
        self.generation = 0
        self.sent = 0
        self.loop = asyncio.new_event_loop()
        self._build()

    def _build(self) -> None:
        self.generation += 1
        base = self.root / f"g{self.generation}"
        base.mkdir(parents=True)
        path = base / "trackway.toml"
        if self.generation == 1:
            for name, currency in (("default", "EUR"), ("other", "")):
                configuration.add_property(path, name, currency)
            path.write_text(f'[server]\nadmin_token = "{ADMIN_TOKEN}"\n\n{path.read_text()}')
            self._config_text = path.read_text()
        else:  # the same keys in every generation
            path.write_text(self._config_text)
        self.cfg = configuration.load(path)
        self.writer = LogWriter(base / "log" / "w1", segment_bytes=1 << 20, max_pending=10_000)
        self.store = DuckStore(base / "trackway.duckdb")
        self.loader = Loader(base / "log", self.store, lambda: self.cfg)
        admin = make_admin_app(Admin(self.store, lambda: self.cfg, self.loader.lag_bytes))
        self.admin_client = httpx.AsyncClient(transport=httpx.ASGITransport(admin), base_url="http://store")
        collector = Collector(self.cfg, self.writer, forward=client_forward(self.admin_client))
        self.app = build_app(collector)

    def keys(self, prop: str = "default") -> dict[str, str]:
        return self.cfg.properties[prop].keys()

    def close(self) -> None:
        self.loop.run_until_complete(self.admin_client.aclose())
        self.writer.close()
        self.store.close()

    def shutdown(self) -> None:
        self.close()
        self.loop.close()

    def reset(self) -> None:
        self.close()
        self._build()

    def _counts(self) -> tuple[int, int, int]:
        cur = self.store.cursor()
        [(events,)] = cur.execute("SELECT count(*) FROM events").fetchall()
        [(failed,)] = cur.execute("SELECT count(*) FROM failed_events").fetchall()
        tables = cur.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_name ILIKE '%quarantin%'"
        ).fetchall()
        quarantined = sum(cur.execute(f'SELECT count(*) FROM "{t}"').fetchall()[0][0] for (t,) in tables)
        return events, failed, quarantined

    def send(self, req: Req, *, load: bool = True) -> Outcome:
        """``req`` through the app; then (``load``) the loader, the reports, the export."""
        out = Outcome(req)
        self.sent += 1
        before = self._counts()
        undecodable = self.loader.stats.undecodable
        captured = _Captured()
        logger = logging.getLogger("trackway")
        logger.addHandler(captured)
        try:
            started = time.process_time()
            try:
                out.status, out.answered_bytes = self.loop.run_until_complete(self._call(req))
            except Exception:
                out.escaped = traceback.format_exc()
            out.cpu_seconds = time.process_time() - started
            if load:
                self._load(out)
        finally:
            logger.removeHandler(captured)
        out.server_log = captured.texts
        after = self._counts()
        out.events, out.failed, out.quarantined = (a - b for a, b in zip(after, before, strict=True))
        out.undecodable = self.loader.stats.undecodable - undecodable
        stored = out.events or out.failed or out.quarantined
        if load and (self.reports == "always" or (self.reports == "stored" and stored)):
            self._reports(out)
        if out.loader_error is not None or out.lag_bytes:
            self.reset()  # the next request gets a loader that is not stuck on this one's record
        return out

    async def _call(self, req: Req) -> tuple[int | None, int]:
        """The app's status for ``req`` and the size of its answer's body."""
        body, n = req.body, max(1, req.chunks)
        size = -(-len(body) // n) or 1
        parts = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
        messages = [
            {"type": "http.request", "body": p, "more_body": i < len(parts) - 1} for i, p in enumerate(parts)
        ]
        headers = list(req.headers)
        if not any(k == b"content-length" for k, _ in headers):
            headers.append((b"content-length", str(len(body)).encode()))
        scope = http_scope(
            req.method,
            req.path,
            headers,
            query=req.query,
            raw_path=req.path.encode("utf-8", "surrogateescape"),
        )
        status: list[int] = []
        answered = [0]

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop(0)
            await asyncio.sleep(0)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(int(message["status"]))
            elif message["type"] == "http.response.body":
                answered[0] += len(message.get("body", b""))

        await self.app(scope, receive, send)
        if len(status) > 1:
            raise AssertionError(f"the app started {len(status)} responses: {status}")
        return (status[0] if status else None), answered[0]

    def _load(self, out: Outcome) -> None:
        try:
            for _ in range(LOAD_ROUNDS):
                if self.loader.run_once() == 0:
                    break
        except Exception:
            out.loader_error = traceback.format_exc()
        with contextlib.suppress(Exception):
            out.lag_bytes = self.loader.lag_bytes()

    def _reports(self, out: Outcome) -> None:
        for name in reports.NAMES:
            try:
                render.to_json(name, reports.run(self.store, name, reports.parse({}), threads=1))
            except Exception:
                out.report_errors[f"report {name}"] = traceback.format_exc()
        for table in ("events", "failed_events"):
            try:
                rows = self.store.page(table, Query(limit=10_000), None)
                b"\n".join(_export_json.encode(r) for r in rows)
                self.store.count(table, Query(limit=10_000))
            except Exception:
                out.report_errors[f"export {table}"] = traceback.format_exc()
