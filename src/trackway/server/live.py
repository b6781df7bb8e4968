"""``GET /api/live``: the events of a property as they are loaded, as server-sent events.

The loader (in the store process) hands each batch it stored to :class:`Hub`; a batch
costs nothing while nobody watches. Each watcher has a filter (property, dialect, event
name, endpoint, valid/failed, person id, free text) and a bounded queue: at most
``PER_BATCH`` entries of one batch reach it (the rest are counted as ``skipped``), and
a watcher that does not read loses entries rather than holding memory. So five
browsers watching a saturating ingest cost the loader a bounded few summaries a batch,
whatever the rate (bench/dashboard.py measures it).

Entries are summaries (enough for a row of the live page); the event detail page reads
the stored event by id. Workers forward the stream to the browser (ops.live).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from trackway.errors import HttpError
from trackway.ingest.records import Record, from_micros, loads_issues
from trackway.model import Event
from trackway.server.http import Receive, Request, Send
from trackway.server.scoping import scoped
from trackway.store.base import failed_id

PER_BATCH = 50  # entries of one loaded batch a watcher gets at most
LOOK_AT = 2_000  # entries of one batch a watcher's filter is tried on at most
QUEUE = 20  # batches a watcher may have waiting
KEEPALIVE_S = 15.0
STREAM_S = 300.0  # a stream ends after this; EventSource reconnects by itself
MAX_WATCHERS = 50
FILTERS = ("dialect", "name", "endpoint", "status", "person", "q")

_json = msgspec.json.Encoder(decimal_format="number")


@dataclass(eq=False)  # watchers are kept in a set, by identity
class Watch:
    """One watcher: its filter and its queue of encoded batches."""

    property: str | None
    filters: dict[str, str]
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[bytes] = field(default_factory=lambda: asyncio.Queue(QUEUE))
    dropped: int = 0

    def wants(self, entry: dict[str, Any]) -> bool:
        if self.property is not None and entry["property"] != self.property:
            return False
        f = self.filters
        if f.get("dialect") and entry.get("dialect") != f["dialect"]:
            return False
        if f.get("name") and entry.get("name") != f["name"]:
            return False
        if f.get("endpoint") and entry.get("endpoint") != f["endpoint"]:
            return False
        if f.get("status") in ("valid", "failed") and entry["status"] != f["status"]:
            return False
        person = f.get("person")
        if person and person not in (entry.get("anonymous_id"), entry.get("user_id")):
            return False
        text = f.get("q", "").lower()
        return not text or text in entry["text"]

    def offer(self, data: bytes) -> None:  # on the watcher's event loop
        try:
            self.queue.put_nowait(data)
        except asyncio.QueueFull:
            self.dropped += 1


def _event(record: Record, event: Event) -> dict[str, Any]:
    commerce = event.commerce
    entry: dict[str, Any] = {
        "kind": "event",
        "status": "valid",
        "id": event.id,
        "property": record.property,
        "name": event.name,
        "dialect": event.dialect,
        "endpoint": record.endpoint,
        "received_at": from_micros(record.received_at).isoformat(),
        "anonymous_id": event.anonymous_id,
        "user_id": event.user_id,
    }
    if commerce is not None:
        amount = commerce.revenue if commerce.revenue is not None else commerce.value
        if amount is not None:
            entry["amount"] = f"{amount} {commerce.currency or ''}".strip()
        if commerce.items:
            entry["items"] = len(commerce.items)
    return entry


def _failed(record: Record, n: int, failed: Any) -> dict[str, Any]:
    issues = loads_issues(failed.issues)
    # what refused it: its first error (a warning may come before it)
    first = next((i for i in issues if i.get("severity") == "error"), issues[0] if issues else {})
    return {
        "kind": "failed",
        "status": "failed",
        "id": failed_id(record.request_id, n, record.property, failed.call),
        "property": record.property,
        "name": failed.names[0] if failed.names else None,
        "dialect": failed.dialect or None,
        "endpoint": record.endpoint,
        "received_at": from_micros(record.received_at).isoformat(),
        "issues": len(issues),
        "codes": sorted({str(i.get("code")) for i in issues}),
        "problem": f"{first.get('path', '$')}: {first.get('message', '')}"[:300],
    }


def newest_first(records: Sequence[tuple[Record, Any]]) -> Iterator[dict[str, Any]]:
    """One entry per event and failed payload of ``records`` (``(record, outcome)``), the
    last stored first, made as they are asked for."""
    for record, outcome in reversed(records):
        for n in range(len(outcome.failed) - 1, -1, -1):
            yield _searchable(_failed(record, n, outcome.failed[n]))
        for event in reversed(outcome.events):
            yield _searchable(_event(record, event))


def _searchable(entry: dict[str, Any]) -> dict[str, Any]:
    entry["text"] = " ".join(str(v) for v in entry.values() if isinstance(v, str)).lower()
    return entry


class _Lazy:
    """The entries of a batch, made once however many watchers look at them."""

    def __init__(self, source: Iterator[dict[str, Any]]) -> None:
        self.source = source
        self.made: list[dict[str, Any]] = []

    def get(self, i: int) -> dict[str, Any] | None:
        while len(self.made) <= i:
            entry = next(self.source, None)
            if entry is None:
                return None
            self.made.append(entry)
        return self.made[i]


class Hub:
    def __init__(self) -> None:
        self.watchers: set[Watch] = set()
        self._lock = threading.Lock()  # the loader's thread publishes, event loops subscribe

    def publish(self, records: Iterable[tuple[Record, Any]]) -> None:
        """Hand the watchers a loaded batch (called by the loader's thread; returns at once
        while nobody watches). Never raises: the loader must go on whatever happens here.

        Each watcher looks at the batch newest first, taking up to ``PER_BATCH`` entries its
        filter wants and looking at no more than ``LOOK_AT``: a batch costs a few hundred
        summaries whatever its size (the loader's batches hold up to 20,000 records)."""
        with self._lock:
            watchers = list(self.watchers)
        if not watchers:
            return
        with contextlib.suppress(Exception):
            props = {w.property for w in watchers}
            wanted = None if None in props else props
            mine = [(r, o) for r, o in records if wanted is None or r.property in wanted]
            sizes: dict[str, int] = {}
            for r, o in mine:
                sizes[r.property] = sizes.get(r.property, 0) + len(o.events) + len(o.failed)
            entries = _Lazy(newest_first(mine))
            for w in watchers:
                taken: list[dict[str, Any]] = []
                seen = 0
                while len(taken) < PER_BATCH and seen < LOOK_AT:
                    entry = entries.get(seen)
                    if entry is None:
                        break
                    seen += 1
                    if w.wants(entry):
                        taken.append(entry)
                if not taken:
                    continue
                total = sizes.get(w.property, 0) if w.property is not None else sum(sizes.values())
                taken.reverse()
                data = _json.encode({"events": taken, "skipped": max(0, total - seen)})
                with contextlib.suppress(RuntimeError):  # the watcher's loop has closed
                    w.loop.call_soon_threadsafe(w.offer, data)

    def watch(self, prop: str | None, filters: dict[str, str]) -> Watch:
        with self._lock:
            if len(self.watchers) >= MAX_WATCHERS:
                raise HttpError(
                    503,
                    f"expected at most {MAX_WATCHERS} live streams at once, got one more; close a "
                    "dashboard tab or retry later",
                    headers=[(b"retry-after", b"10")],
                )
            w = Watch(prop, {k: v for k, v in filters.items() if k in FILTERS}, asyncio.get_running_loop())
            self.watchers.add(w)
        return w

    def leave(self, w: Watch) -> None:
        with self._lock:
            self.watchers.discard(w)


async def stream(hub: Hub, request: Request, scope: str, send: Send) -> None:
    """Serve one watcher as ``text/event-stream`` until the client leaves or STREAM_S."""
    prop = scoped(request.query.get("property") or None, scope)
    w = hub.watch(prop, request.query)
    gone = asyncio.ensure_future(_disconnected(request.receive))
    try:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream; charset=utf-8"),
                    (b"cache-control", b"no-store"),
                    (b"x-accel-buffering", b"no"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b"retry: 2000\n\n", "more_body": True})
        deadline = asyncio.get_running_loop().time() + STREAM_S
        while not gone.done() and asyncio.get_running_loop().time() < deadline:
            getter = asyncio.ensure_future(w.queue.get())
            done, _ = await asyncio.wait(
                {getter, gone}, timeout=KEEPALIVE_S, return_when=asyncio.FIRST_COMPLETED
            )
            if getter in done:
                chunk = b"data: " + getter.result() + b"\n\n"
                if w.dropped:
                    chunk += b"event: dropped\ndata: " + str(w.dropped).encode() + b"\n\n"
                    w.dropped = 0
            else:
                getter.cancel()
                chunk = b": keep-alive\n\n"
            if not gone.done():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        with contextlib.suppress(Exception):
            await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        hub.leave(w)
        gone.cancel()


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
