"""The store process's API: everything that reads or changes the store.

Served on the Unix socket ``run/admin.sock`` (mode 0600) by the process that owns
the DuckDB file. Workers forward ``/api/*`` here once they have checked the admin
token, naming the scope in ``x-trackway-scope`` (a property, or ``*`` for all);
``trackway sql``, ``export`` and ``replay`` call it directly when a server runs.
Only local processes with access to the data dir can reach the socket.

DuckDB calls block, so each runs in a thread (DuckStore gives every thread its own
cursor); the event loop stays free for other requests.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from trackway import reports
from trackway.config import Config
from trackway.errors import ClientGone, HttpError, StoreError, TrackwayError, UnknownPropertyError
from trackway.ingest import freshness
from trackway.ingest.alarms import Alarms
from trackway.ingest.loader import Loader
from trackway.ingest.retry import retry_quarantined
from trackway.replay import replay
from trackway.reports import render
from trackway.reports.params import FIELDS, refuse_unknown
from trackway.server import live
from trackway.server.http import Receive, Request, Scope, Send, parse_json, respond, respond_json
from trackway.server.scoping import existing, scoped
from trackway.server.scoping import short as _short
from trackway.settings import SQL_TIMEOUT_S
from trackway.store import forget as forget_
from trackway.store import logscrub
from trackway.store.base import Query, Store, json_form, truncated
from trackway.timeparse import parse_time

logger = logging.getLogger("trackway.admin")

ASGI = Callable[[Scope, Receive, Send], Awaitable[None]]
SCOPE_HEADER = b"x-trackway-scope"
STALE_HEADER = freshness.STALE_HEADER.encode()  # a read could not wait for the loader (Admin.fresh)
MAX_LIMIT = 10_000
POLL = 0.005  # seconds between looks while a read waits for the loader
NO_WAIT = ("0", "false", "no")
READS_NOTHING = frozenset({"/api/validate", "/api/live"})  # no read-your-writes wait: no stored data
# The query parameters of /api/reports/NAME and /api/export; any other is a 400 (it was
# ignored, and the answer covered what was not asked for). ``wait`` is Admin.fresh's.
REPORT_PARAMS = (*FIELDS, "format", "section", "wait")
_EXPORT_COMMON = ("table", "property", "since", "until", "limit", "after_time", "after_id", "wait")
EXPORT_PARAMS = {"events": (*_EXPORT_COMMON, "name"), "failed_events": (*_EXPORT_COMMON, "code")}


@dataclass(frozen=True)
class Raw:
    """An answer that is not JSON (a report as CSV)."""

    body: bytes
    content_type: bytes


class Admin:
    def __init__(
        self,
        store: Store,
        config: Callable[[], Config | None],
        lag: Callable[[], int] | None = None,
        *,
        loader: Loader | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.lag = lag  # bytes of log not loaded yet, when a loader runs beside the store
        # The loader beside the store (its alarms, its lock for retries): given, or the
        # one whose lag_bytes ``lag`` is.
        owner = getattr(lag, "__self__", None)
        self.loader = loader if loader is not None else owner if isinstance(owner, Loader) else None
        self.alarms = self.loader.alarms if self.loader is not None else Alarms()
        self.live = live.Hub()  # the dashboard's live stream of what the loader stores
        if self.loader is not None:
            self.loader.on_loaded = self.live.publish

    async def fresh(self, request: Request) -> str | None:
        """Read-your-writes: wait until the loader has stored everything acknowledged before
        ``request`` began, at most ``read_wait_seconds``; ``?wait=0`` skips the wait.
        Returns None when the store is current, else what the answer misses (sent as the
        ``Trackway-Stale`` header; the request is answered from the store as it is)."""
        loader = self.loader
        if (
            loader is None
            or not request.path.startswith("/api/")
            or request.path in READS_NOTHING
            or request.query.get("wait", "1").lower() in NO_WAIT
        ):
            return None
        target = freshness.acknowledged(loader.root)
        if loader.passed(target):
            return None
        cfg = self.config()
        bound = float(cfg.server["read_wait_seconds"]) if cfg is not None else 10.0
        deadline = asyncio.get_running_loop().time() + bound
        loader.pacer.wanted += 1  # the loader stops deferring to the workers while a reader waits
        loader.hurry()  # and pausing between batches
        try:
            while not loader.passed(target):
                if asyncio.get_running_loop().time() >= deadline:
                    oldest = await asyncio.to_thread(loader.oldest_unloaded)
                    behind = (
                        f"{max(0.0, time.time() - oldest):.1f} s" if oldest is not None else "less than 1 s"
                    )
                    return (
                        f"waited {bound:g} s (read_wait_seconds) for the loader; events acknowledged in the "
                        f"last {behind} may be missing"
                    )
                await asyncio.sleep(POLL)
        finally:
            loader.pacer.wanted -= 1
        return None

    async def existing(self, prop: str | None) -> None:
        """A 404 for a property neither configured nor in the store (scoping.existing);
        the store is looked at only for a name trackway.toml does not have."""
        cfg = self.config()
        configured = cfg.properties if cfg is not None else {}
        if prop is not None and prop not in configured:
            await asyncio.to_thread(existing, self.store, prop, configured)

    def query(self, request: Request, scope: str, names_key: str) -> Query:
        q = request.query
        prop = scoped(q.get("property") or None, scope)
        try:
            limit = int(q.get("limit", "100"))
        except ValueError:
            raise HttpError(400, f"expected limit as a whole number, got {q['limit']!r}") from None
        if not 1 <= limit <= MAX_LIMIT:
            raise HttpError(400, f"expected limit between 1 and {MAX_LIMIT}, got {limit}")
        names = tuple(n for n in q.get(names_key, "").split(",") if n)
        now = datetime.now(UTC)  # ages count back from one now
        since, until = _time(q.get("since"), now), _time(q.get("until"), now)
        if since is not None and until is not None and until <= since:  # it answered nothing
            raise HttpError(
                400,
                f"expected since before until, got {since:%Y-%m-%d %H:%M:%S} UTC and "
                f"{until:%Y-%m-%d %H:%M:%S} UTC; an age such as 7d counts back from now, so the start "
                "is the larger age (since=7d&until=1d)",
            )
        return Query(property=prop, names=names, since=since, until=until, limit=limit)

    async def events(self, request: Request, scope: str) -> Any:
        query = self.query(request, scope, "name")
        await self.existing(query.property)
        found = await asyncio.to_thread(self.store.events_at, query)
        # canonical events as they are; the endpoint each came to beside them, in step
        return {
            "events": [json_form("events", e) for e, _ in found],
            "endpoints": [ep for _, ep in found],
            "truncated": truncated(found),
        }

    async def failed(self, request: Request, scope: str) -> Any:
        query = self.query(request, scope, "code")
        await self.existing(query.property)
        replayed = request.query.get("replayed")
        if replayed is not None:
            query.replayed = replayed.lower() in ("1", "true", "yes")
        found = await asyncio.to_thread(self.store.failed, query)
        return {
            "failed_events": [json_form("failed_events", f) for f in found],
            "truncated": truncated(found),
        }

    async def export(self, request: Request, scope: str) -> Any:
        table = request.query.get("table", "events")
        if table not in EXPORT_PARAMS:
            raise HttpError(400, f"expected table events or failed_events, got {table!r:.60}")
        refuse_unknown(request.query, EXPORT_PARAMS[table], f"/api/export parameter for table={table}")
        query = self.query(request, scope, "name" if table == "events" else "code")
        await self.existing(query.property)
        after = None
        stamp = _time(request.query.get("after_time"))
        if stamp is not None:
            after = (stamp, request.query.get("after_id", ""))
        elif request.query.get("after_id"):
            raise HttpError(
                400,
                "expected after_time with after_id (the cursor is both: the last row's received_at "
                "and id), got after_id alone; send both, or neither for the first page",
            )
        rows = await asyncio.to_thread(self.store.page, table, query, after)
        total = await asyncio.to_thread(self.store.count, table, query) if after is None else None
        return {"rows": rows, "total": total, "truncated": truncated(rows)}

    async def sql(self, request: Request, scope: str) -> Any:
        if scope != "*":
            raise HttpError(403, "SQL reads every property: it needs the server admin token")
        body = _json_body(request.body)
        text, limit = body.get("query"), body.get("limit", MAX_LIMIT)
        if not isinstance(text, str) or not text.strip():
            raise HttpError(400, 'expected {"query": "SELECT ..."}, got no query')
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
            raise HttpError(400, f"expected limit as a whole number from 1 to {MAX_LIMIT}, got {limit!r:.40}")
        # store.sql refuses anything but one SELECT on the store (store/sqlguard.py):
        # a StoreError, answered 400 with the reason.
        cfg = self.config()
        timeout = cfg.server["sql_timeout_seconds"] if cfg is not None else SQL_TIMEOUT_S
        columns, rows = await asyncio.to_thread(self.store.sql, text, limit, timeout)
        return {"columns": columns, "rows": [list(r) for r in rows]}

    async def replay(self, request: Request, scope: str) -> Any:
        body = _json_body(request.body) if request.body else {}
        prop = scoped(_text(body, "property") or None, scope, "acts on")  # another property's: 403
        query = Query(
            property=prop,
            names=tuple(c for c in [_text(body, "code")] if c),
            since=_time(_text(body, "since")),
            limit=1 << 62,
        )
        report = await asyncio.to_thread(replay, self.store, self.config(), query)
        return report.to_json()

    async def identity(self, request: Request, scope: str) -> Any:
        value = request.query.get("id")
        if not value:
            raise HttpError(400, "expected ?id= an anonymous or user id, got none")
        prop = scoped(request.query.get("property") or None, scope)
        await self.existing(prop)
        people = await asyncio.to_thread(self.store.identity, value, prop)
        return {"people": people}

    async def person(self, request: Request, scope: str) -> Any:
        """``GET /api/person?id=ANY_ID`` (every person it names: the People page), or
        ``?property=P&person_id=X`` (one person); each with ids, links, consent, carts,
        orders and latest events."""
        q = request.query
        prop = scoped(q.get("property") or None, scope)
        people, person = getattr(self.store, "people", None), getattr(self.store, "person", None)
        if people is None or person is None:  # the DuckDB store's own views (store/person_view.py)
            raise HttpError(501, "expected a DuckDB store for person views, got another kind")
        if q.get("id"):
            return {"people": await asyncio.to_thread(people, q["id"], prop)}
        person_id = q.get("person_id", "")
        if not prop or not person_id:
            raise HttpError(
                400, "expected ?id= (any id of the person) or ?property= and ?person_id=, got neither"
            )
        found = await asyncio.to_thread(person, prop, person_id)
        if found is None:
            raise HttpError(404, f"expected a person {person_id!r} in {prop!r}, got none; look them up by id")
        return {"people": [found]}

    async def rebuild(self, request: Request, scope: str) -> Any:
        if scope != "*":
            raise HttpError(403, "rebuild recomputes every property: it needs the server admin token")
        events = await asyncio.to_thread(self.store.rebuild)
        return {"events": events}

    def _person(self, values: dict[str, Any], scope: str) -> tuple[str | None, str | None, str | None]:
        user, email = _text(values, "user") or None, _text(values, "email") or None
        if not user and not email:
            raise HttpError(400, "expected a user id (user) or an email (email), got neither")
        return user, email, scoped(_text(values, "property") or None, scope, "acts on")

    async def forget(self, request: Request, scope: str) -> Any:
        user, email, prop = self._person(_json_body(request.body), scope)
        await self.existing(prop)
        loader = getattr(self, "loader", None)
        path = getattr(self.store, "path", None)
        if loader is not None and path is not None:  # the segments workers write are finished first
            await asyncio.to_thread(logscrub.roll_workers, loader.root, path.parent / "run")
        if loader is not None:  # what the log holds of the person is in the store first
            await asyncio.to_thread(loader.catch_up)
        held = loader.retain if loader is not None else None  # segments a destination has not read
        report = await asyncio.to_thread(self.store.forget, user, email, prop, held)
        if forget_.found_nothing(report):  # a typo in the dashboard's form looked like a success
            raise HttpError(404, forget_.nothing_found(user))
        return report

    async def subject(self, request: Request, scope: str) -> Any:
        user, email, prop = self._person(dict(request.query), scope)
        await self.existing(prop)
        return await asyncio.to_thread(self.store.subject, user, email, prop)

    def report(self, name: str) -> Callable[[Request, str], Awaitable[Any]]:
        async def handler(request: Request, scope: str) -> Any:
            values: dict[str, Any] = dict(request.query)
            refuse_unknown(values, REPORT_PARAMS)
            values.pop("wait", None)  # read-your-writes' own (Admin.fresh), not the report's
            fmt = values.pop("format", "json")
            section = values.pop("section", None) or None
            if fmt not in ("json", "csv"):
                raise HttpError(400, f"expected format json or csv, got {fmt!r:.40}")
            values["property"] = scoped(values.get("property"), scope)
            cfg = self.config()
            steps = cfg.funnel_steps() if cfg is not None else {}  # a property's own funnel
            params = reports.parse(values, property_steps=steps)
            await self.existing(params.property)
            threads = cfg.server["report_threads"] if cfg is not None else 0
            sections = await asyncio.to_thread(
                reports.run, self.store, name, params, threads=threads, section=section
            )
            if fmt == "csv":
                return Raw(render.to_csv(name, sections).encode(), b"text/csv; charset=utf-8")
            return render.document(name, sections)

        return handler

    async def quarantine(self, request: Request, scope: str) -> Any:
        """``GET /api/quarantine``: the records the loader could not load, oldest first."""
        query = self.query(request, scope, "name")
        found = await asyncio.to_thread(self.store.quarantined, query.property, None, query.limit)
        total = await asyncio.to_thread(self.store.quarantine_count, query.property)
        return {"quarantine": [r.to_json() for r in found], "total": total}

    async def quarantine_retry(self, request: Request, scope: str) -> Any:
        """``POST /api/quarantine/retry`` with ``{"ids": [1, 2]}`` or ``{"all": true}``, and
        ``"property"`` to retry one property's only (a property's token: always its own)."""
        body = _json_body(request.body) if request.body else {}
        ids, every = body.get("ids"), body.get("all") is True
        if every == (ids is not None):
            raise HttpError(400, 'expected {"ids": [ID, ...]} or {"all": true}, got ' + _short(body))
        if ids is not None and (
            not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids)
        ):
            raise HttpError(400, f"expected ids as a list of whole numbers, got {_short(ids)}")
        prop = body.get("property") or None
        if scope != "*":
            if prop not in (None, scope):
                raise HttpError(403, f"this admin token acts on the property {scope!r} only, not {prop!r}")
            prop = scope
        if prop is not None and not isinstance(prop, str):
            raise HttpError(400, f"expected property as a name, got {_short(prop)}")
        if self.loader is not None:
            report = await asyncio.to_thread(self.loader.retry, ids, prop)
        else:
            cfg = self.config()
            properties = cfg.properties if cfg is not None else {}
            report = await asyncio.to_thread(retry_quarantined, self.store, properties, ids, prop)
        return report.to_json()

    async def health(self, request: Request, scope: str) -> Any:
        """200 ``{"status": "ok"|"degraded", "store", "log_lag_bytes", "alarms"}``; 503 with
        the same shape and ``"status": "unavailable"`` when the store cannot be written."""
        ok = await asyncio.to_thread(self.store.writable)
        lag = await asyncio.to_thread(self.lag) if self.lag is not None else 0
        alarms = [{"key": a.key, "message": a.message, "since": a.since} for a in self.alarms.active()]
        if not ok:
            error = HttpError(503, "the store is not writable; check the data dir's disk and permissions")
            error.extra = {
                "status": "unavailable",
                "store": "not writable",
                "log_lag_bytes": lag,
                "alarms": alarms,
            }
            raise error
        status = "degraded" if alarms else "ok"
        return {"status": status, "store": "writable", "log_lag_bytes": lag, "alarms": alarms}

    def routes(self) -> dict[tuple[str, str], Callable[[Request, str], Awaitable[Any]]]:
        from trackway.server import admin_views  # the dashboard's views (they import this module)

        return {
            ("GET", "/api/events"): self.events,
            ("GET", "/api/failed_events"): self.failed,
            ("GET", "/api/export"): self.export,
            ("POST", "/api/sql"): self.sql,
            ("POST", "/api/replay"): self.replay,
            ("GET", "/api/identity"): self.identity,
            ("GET", "/api/person"): self.person,
            ("POST", "/api/rebuild"): self.rebuild,
            ("POST", "/api/forget"): self.forget,
            ("GET", "/api/subject"): self.subject,
            ("GET", "/health"): self.health,
            ("GET", "/api/quarantine"): self.quarantine,
            ("POST", "/api/quarantine/retry"): self.quarantine_retry,
            **{("GET", f"/api/reports/{name}"): self.report(name) for name in reports.NAMES},
            **admin_views.routes(self),
        }


def _time(text: Any, now: datetime | None = None) -> datetime | None:
    """A time filter (ISO 8601 or an age before ``now``), or None; 400 when unreadable or
    out of range."""
    if not text:
        return None
    try:
        return parse_time(str(text), now=now)
    except TrackwayError as exc:
        raise HttpError(400, str(exc)) from None


def _json_body(body: bytes) -> dict[str, Any]:
    """The JSON object of a request's body; 400 for anything else, JSON nested past
    MAX_JSON_DEPTH included (msgspec's RecursionError on 5,000 ``[`` was a 500)."""
    value = parse_json(msgspec.json.decode, body)
    if not isinstance(value, dict):
        raise HttpError(
            400, f"expected a JSON object {{...}}, got {_short(value)}; send the fields in one object"
        )
    return value


def _text(values: dict[str, Any], key: str) -> str | None:
    """``values[key]`` as a string (None when absent); 400 for any other JSON type."""
    value = values.get(key)
    if value is None or isinstance(value, str):
        return value
    raise HttpError(
        400, f'expected {key} as a string, got {_short(value)}; send it as text, e.g. "{key}": "..."'
    )


def make_admin_app(admin: Admin) -> ASGI:
    routes = admin.routes()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                while True:
                    message = await receive()
                    if message["type"] == "lifespan.startup":
                        await send({"type": "lifespan.startup.complete"})
                    elif message["type"] == "lifespan.shutdown":
                        await send({"type": "lifespan.shutdown.complete"})
                        return
            return
        request = Request(scope, receive)
        handler = routes.get((request.method, request.path))
        try:
            if request.method == "GET" and request.path == "/api/live":  # a stream, not one answer
                await live.stream(admin.live, request, request.header(SCOPE_HEADER) or "*", send)
                return
            if handler is None:
                known = ""
                if request.path.startswith("/api/reports/"):  # a report's name misspelt
                    known = f"; the reports are {', '.join(sorted(reports.NAMES))}"
                raise HttpError(404, f"no admin endpoint {request.method} {request.path}{known}")
            await request.read(1 << 20)
            who = request.header(SCOPE_HEADER) or "*"
            stale = await admin.fresh(request)
            result = await handler(request, who)
            extra = [(STALE_HEADER, stale.encode())] if stale else None
            if isinstance(result, Raw):
                await respond(send, 200, result.body, result.content_type, extra)
            else:
                await respond_json(send, 200, result, extra)
        except HttpError as exc:
            await respond_json(send, exc.status, exc.body(), exc.headers)
        except ClientGone:  # a TrackwayError now: the client went away, nobody to answer
            return
        except UnknownPropertyError as exc:
            await respond_json(send, 404, {"error": str(exc)})
        except StoreError as exc:
            await respond_json(send, 400, {"error": str(exc)})
        except TrackwayError as exc:
            await respond_json(send, 400, {"error": str(exc)})
        except Exception:  # a bug: answered, logged once with an id, and the store keeps serving
            ref = uuid.uuid4().hex[:12]
            logger.exception("admin API %s %s failed (error id %s)", request.method, request.path, ref)
            await respond_json(
                send,
                500,
                {"error": f"the store failed on this request (error id {ref}); its log has the details"},
            )

    return app
