"""The store process's endpoints for the dashboard (issue 17): thin handlers over
:mod:`trackway.inspect`, the store's look-ups and :mod:`trackway.destinations.overview`.

- ``GET /api/event?id=ID``: an event, or a failed payload, with its payload, issues,
  canonical form, renders in every other dialect and the person it belongs to.
- ``POST /api/validate`` ``{"text", "dialect"?, "default_currency"?}``: the validator
  (``trackway validate``'s engine), nothing stored.
- ``GET /api/setup?base=URL[&property=P]``: per property (``P`` only, when named), its
  keys, the tracker tag, a curl per endpoint and what each endpoint received.
- ``GET /api/destinations`` and ``POST /api/destinations/retry``: forwarding's status
  and dead letters, and sending dead letters again.

Scope (the ``x-trackway-scope`` a worker names): a property's token sees its own
property only. A look-up by id of another property's is a 404 (as if it did not exist);
naming another property (``property=``, a destination ``OTHER.NAME``) is a 403.
"""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trackway import inspect, vendors
from trackway.config import Config, Property
from trackway.demo import samples
from trackway.destinations import overview
from trackway.errors import HttpError
from trackway.server import metrics
from trackway.server.admin import Admin, _json_body, _short, _text, scoped
from trackway.server.http import Request
from trackway.settings import COLLECT_KEY

Handler = Callable[[Request, str], Awaitable[Any]]
DEFAULT_BASE = "http://127.0.0.1:8080"
_BASE = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+(?:/[A-Za-z0-9._~\-/]*)?")
MAX_ID = 300
# Trackway's own event endpoint (the tracker's): vendor, path, methods, the keys it needs.
OWN_ENDPOINTS = (("trackway", "/collect", ("POST",), (COLLECT_KEY.name,)),)


class Views:
    def __init__(self, admin: Admin) -> None:
        self.admin = admin

    def routes(self) -> dict[tuple[str, str], Handler]:
        return {
            ("GET", "/api/event"): self.event,
            ("POST", "/api/validate"): self.validate,
            ("GET", "/api/setup"): self.setup,
            ("GET", "/api/destinations"): self.destinations,
            ("POST", "/api/destinations/retry"): self.retry,
        }

    def _config(self) -> Config:
        cfg = self.admin.config()
        if cfg is None:
            raise HttpError(
                503,
                "expected the server's configuration (trackway.toml), got none readable; "
                "check the data dir and `trackway serve`'s output",
            )
        return cfg

    def _data_dir(self) -> Path:
        path = getattr(self.admin.store, "path", None)  # the DuckDB file is in the data dir
        return path.parent if isinstance(path, Path) else self._config().data_dir

    # -- GET /api/event ----------------------------------------------------------

    async def event(self, request: Request, scope: str) -> Any:
        id = request.query.get("id", "")
        if not id:
            raise HttpError(
                400,
                "expected ?id= the id of an event or a failed payload (from /api/events or "
                "/api/failed_events), got none",
            )
        if len(id) > MAX_ID:
            raise HttpError(400, f"expected an id of at most {MAX_ID} characters, got {len(id)}")
        prop = scoped(request.query.get("property"), scope)
        at = _at(request.query.get("at"))
        view = await asyncio.to_thread(self._event, id, prop, at)
        if view is None:
            where = f" of the property {prop!r}" if prop is not None else ""
            raise HttpError(
                404,
                f"expected the id of a stored event or failed payload{where}, got {id!r}, which is neither; "
                "take ids from /api/events or /api/failed_events",
            )
        return view

    def _event(self, id: str, prop: str | None, at: datetime | None = None) -> dict[str, Any] | None:
        store = self.admin.store
        view: dict[str, Any] | None = None
        # A failed payload's id has a "/" (request/n, property/call/id); an event's none:
        # look where it is likely first (a miss on events can scan the table).
        for kind in ("failed", "event") if "/" in id else ("event", "failed"):
            if kind == "event":
                found = store.find_event(id, prop, at)
                view = inspect.event_view(*found) if found is not None else None
            else:
                row = store.find_failed(id, prop)
                view = inspect.failed_view(row) if row is not None else None
            if view is not None:
                break
        if view is None:
            return None
        anonymous_id, user_id = inspect.person_ids(view)
        person: dict[str, Any] = {"anonymous_id": anonymous_id, "user_id": user_id, "people": None}
        if user_id or anonymous_id:
            try:
                person["people"] = store.identity(user_id or anonymous_id or "", view["property"])
            except NotImplementedError:  # a store without identity tables (the memory store)
                person["people"] = None
        view["person"] = person
        return view

    # -- POST /api/validate ------------------------------------------------------

    async def validate(self, request: Request, scope: str) -> Any:
        body = _json_body(request.body)
        text = body.get("text")
        if not isinstance(text, str):
            raise HttpError(
                400,
                f'expected {{"text": "..."}}: the payload or script to check as a string, got '
                f"{_short(text) if 'text' in body else 'no text'}",
            )
        dialect = _text(body, "dialect") or "auto"
        currency = _text(body, "default_currency") or None
        # UsageError (too long, unknown dialect) and ParseError (no payload in it) are 400s
        return await asyncio.to_thread(inspect.validate_text, text, dialect, currency)

    # -- GET /api/setup ----------------------------------------------------------

    async def setup(self, request: Request, scope: str) -> Any:
        base = request.query.get("base") or DEFAULT_BASE
        if not _BASE.fullmatch(base):
            raise HttpError(
                400,
                f"expected base as the collector's URL (http://host:port, letters, digits, '.-:[]/'), "
                f"got {base!r:.100}",
            )
        cfg = self._config()
        seen = [p for name, p in sorted(cfg.properties.items()) if scope in ("*", name)]
        chosen = scoped(request.query.get("property") or None, scope)
        props = [p for p in seen if chosen in (None, p.name)]
        if not props and chosen is not None:
            raise HttpError(
                404,
                f"expected property as one of {', '.join(p.name for p in seen) or '(none yet)'}, got "
                f"{chosen!r:.100}; `trackway property list` shows them",
            )
        out = await asyncio.to_thread(self._setup, props, base.rstrip("/"))
        return {"properties": out}

    def _setup(self, props: list[Property], base: str) -> list[dict[str, Any]]:
        now = datetime.now(UTC)
        specs = [COLLECT_KEY, *(s for k in vendors.key_specs() for s in k.settings)]
        endpoints = [
            *OWN_ENDPOINTS,
            *(
                (v.name, e.path, tuple(e.handlers), tuple(s.name for k in v.keys for s in k.settings))
                for v, e in vendors.endpoints()
            ),
        ]
        out = []
        for prop in props:
            keys = prop.keys()
            found = samples.sample_requests(keys, prop.name, now)
            received = self.admin.store.received(prop.name)
            rows = []
            for vendor, path, methods, needs in endpoints:
                sample = samples.for_path(found, path)
                row: dict[str, Any] = {"vendor": vendor, "path": path, "methods": list(methods), "curl": None}
                empty = [n for n in needs if not keys.get(n)]
                if empty:
                    row["note"] = (
                        f"no curl: the property's {', '.join(empty)} is empty; give it a value under "
                        f"[properties.{prop.name}] in trackway.toml"
                    )
                elif sample is None:
                    row["note"] = "no curl: the demo sends nothing this endpoint reads"
                else:
                    row["curl"] = samples.curl(base, path, sample)
                row["received"] = received[path].to_json() if path in received else None
                rows.append(row)
            entry: dict[str, Any] = {"name": prop.name}
            if prop.default_currency:
                entry["currency"] = prop.default_currency
            collect_key = html.escape(str(keys[COLLECT_KEY.name]), quote=True)
            entry |= {
                "keys": [{"name": s.name, "value": keys[s.name], "secret": s.secret} for s in specs],
                "snippet": f'<script async src="{html.escape(base)}/t.js" data-key="{collect_key}"></script>',
                "endpoints": rows,
            }
            out.append(entry)
        return out

    # -- destinations ------------------------------------------------------------

    async def destinations(self, request: Request, scope: str) -> Any:
        cfg = self._config()
        prop = scoped(request.query.get("property"), scope)
        chosen = [d for d in cfg.destinations().values() if prop in (None, d.property)]
        data = self._data_dir()
        rows = await asyncio.to_thread(lambda: [overview.overview(data, d) for d in chosen])
        out: dict[str, Any] = {"destinations": rows}
        if scope == "*":  # the log kept for every property's destinations: the server's figure
            retained = metrics.gauge(data / "run" / "metrics" / "store.json", "trackway_log_retained_bytes")
            out["log_retained_bytes"] = int(retained or 0)
        return out

    async def retry(self, request: Request, scope: str) -> Any:
        body = _json_body(request.body)
        ref = _text(body, "destination")
        if not ref:
            raise HttpError(
                400, 'expected {"destination": "PROPERTY.NAME", "letter": N} or {..., "all": true}'
            )
        letter, every = body.get("letter"), body.get("all") is True
        if every == (letter is not None):
            raise HttpError(400, 'expected "letter": N or "all": true (one of them), got ' + _short(body))
        if letter is not None and (not isinstance(letter, int) or isinstance(letter, bool) or letter < 1):
            raise HttpError(
                400, f"expected letter as a dead letter's number (1 or more), got {_short(letter)}"
            )
        cfg = self._config()
        found = cfg.destinations()
        prop, dot, name = ref.rpartition(".")
        if not dot:  # NAME alone: the token's own property's, or the one property's that has it
            same = [d for d in found.values() if d.name == name]
            prop = scope if scope != "*" else same[0].property if len(same) == 1 else ""
        scoped(prop or None, scope, "acts on")
        d = found.get(f"{prop}.{name}")
        if d is None:
            known = sorted(i for i, x in found.items() if scope in ("*", x.property))
            raise HttpError(
                404,
                f"expected a destination as PROPERTY.NAME, one of {', '.join(known) or '(none)'}, "
                f"got {ref!r:.100}; `trackway destination list` shows them",
            )
        numbers = None if every or letter is None else [letter]  # one of them: checked above
        data = self._data_dir()
        try:
            report = await asyncio.to_thread(overview.retry, data, d, numbers)
        except overview.UnknownLetters as exc:
            raise HttpError(404, str(exc)) from None
        return report.to_json()


def _at(text: str | None) -> datetime | None:
    """``?at=``: when the event was received (ISO 8601), a hint for the look-up."""
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise HttpError(
            400, f"expected at= as an ISO 8601 time such as 2026-12-01T10:00:00Z, got {_short(text)}"
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def routes(admin: Admin) -> dict[tuple[str, str], Handler]:
    return Views(admin).routes()
