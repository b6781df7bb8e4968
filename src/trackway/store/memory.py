"""An in-memory store for tests: the same semantics as DuckDB, no file."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec

from trackway.ingest.log import Position
from trackway.ingest.quarantine import QuarantineRow
from trackway.ingest.records import Outcome, Record, from_micros, loads_issues
from trackway.ingest.sink import LoadResult
from trackway.model import Event
from trackway.state.engine import apply
from trackway.state.memory import MemoryState
from trackway.store.base import (
    FailedRow,
    Query,
    Received,
    Store,
    check_table,
    failed_id,
    json_form,
    new_client_positions,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _match(when: object, q: Query) -> bool:
    return (q.since is None or when >= q.since) and (q.until is None or when < q.until)  # type: ignore[operator]


class MemoryStore(Store):
    def __init__(self) -> None:
        self._events: list[tuple[Event, str]] = []  # (event, endpoint)
        self._failed: list[FailedRow] = []
        self._client: set[tuple[str, str]] = set()
        self._positions: dict[str, Position] = {}
        self._lock = threading.Lock()
        self.state = MemoryState()  # the derived tables, all in memory
        self._seq = 0
        self._quarantine: list[QuarantineRow] = []
        self._quarantine_ids = 0

    def positions(self) -> dict[str, Position]:
        with self._lock:
            return dict(self._positions)

    def load(
        self,
        batch: list[tuple[Record, Outcome]],
        positions: dict[str, Position],
        quarantine: Sequence[QuarantineRow] = (),
        resolved: Sequence[int] = (),
    ) -> LoadResult:
        with self._lock:
            # All or nothing, as a transaction: what changes is put back if anything raises.
            saved = (list(self._events), list(self._failed), set(self._client), copy.deepcopy(self.state))
            seq = self._seq
            try:
                return self._load(batch, positions, quarantine, resolved)
            except BaseException:
                self._events, self._failed, self._client, self.state = saved
                self._seq = seq
                raise

    def _load(
        self,
        batch: list[tuple[Record, Outcome]],
        positions: dict[str, Position],
        quarantine: Sequence[QuarantineRow],
        resolved: Sequence[int],
    ) -> LoadResult:
        result = LoadResult()
        for record, out in batch:
            fresh, dups = new_client_positions(self._client, out.events, out.client_ids)
            keep = [out.events[n] for n in fresh]
            self._store(keep, record.endpoint)
            result.stored += len(keep)
            result.duplicates += dups
            for e in keep:
                result.count(record.endpoint, e.dialect, record.property, "accepted")
            for n, f in enumerate(out.failed):
                fid = failed_id(record.request_id, n, record.property, f.call)
                if f.call and any(r.id == fid for r in self._failed):
                    continue  # a tracker's call sent again: stored once
                self._failed.append(
                    FailedRow(
                        id=fid,
                        property=record.property,
                        endpoint=record.endpoint,
                        dialect=f.dialect,
                        received_at=from_micros(record.received_at),
                        request_id=record.request_id,
                        payload=f.payload,
                        indices=list(f.indices),
                        issues=loads_issues(f.issues),
                        ordinal=f.ordinal,
                        names=list(f.names),
                        meta=dict(record.meta),
                    )
                )
                result.failed += 1
                result.count(record.endpoint, f.dialect, record.property, "rejected", max(len(f.indices), 1))
        gone = set(resolved)
        kept = [q for q in self._quarantine if q.id not in gone]
        for q in quarantine:
            self._quarantine_ids += 1
            kept.append(msgspec.structs.replace(q, id=self._quarantine_ids))
        self._quarantine = kept
        self._positions.update(positions)
        return result

    def quarantined(
        self, prop: str | None = None, ids: Sequence[int] | None = None, limit: int = 1 << 62
    ) -> list[QuarantineRow]:
        with self._lock:
            wanted = None if ids is None else set(ids)
            found = [
                q
                for q in self._quarantine
                if (prop is None or q.property == prop) and (wanted is None or q.id in wanted)
            ]
        return sorted(found, key=lambda q: q.id)[:limit]

    def quarantine_count(self, prop: str | None = None) -> int:
        return len(self.quarantined(prop))

    def update_quarantined(self, row: QuarantineRow) -> None:
        with self._lock:
            self._quarantine = [row if q.id == row.id else q for q in self._quarantine]

    def _store(self, events: list[Event], endpoint: str) -> None:
        for e in events:
            self._seq += 1
            self._events.append((e, endpoint))
            apply(self.state, e, self._seq)

    def rebuild(self, progress: Callable[[int, int], None] | None = None) -> int:
        with self._lock:
            self.state = MemoryState()
            for n, (e, _) in enumerate(self._events):
                apply(self.state, e, n + 1)
        return len(self._events)

    def events(self, query: Query) -> list[Event]:
        return [e for e, _ in self.events_at(query)]

    def events_at(self, query: Query) -> list[tuple[Event, str]]:
        with self._lock:
            found = [
                (e, endpoint)
                for e, endpoint in self._events
                if (query.property is None or e.property == query.property)
                and (not query.names or e.name in query.names)
                and _match(e.received_at, query)
            ]
        found.sort(key=lambda f: (f[0].received_at, f[0].id), reverse=True)  # newest first, as DuckDB orders
        return found[: query.limit]

    def failed(self, query: Query, after: tuple[datetime, str] | None = None) -> list[FailedRow]:
        with self._lock:
            found = [
                f
                for f in self._failed
                if (query.property is None or f.property == query.property)
                and (not query.names or any(i["code"] in query.names for i in f.issues))
                and (query.replayed is None or (f.replayed_at is not None) == query.replayed)
                and _match(f.received_at, query)
            ]
        if after is not None:
            found = [f for f in found if (f.received_at, f.id) > after]
            found.sort(key=lambda f: (f.received_at, f.id))
        else:
            found.sort(key=lambda f: (f.received_at, f.id), reverse=True)
        return found[: query.limit]

    def count(self, table: str, query: Query) -> int:
        q = Query(**{**query.__dict__, "limit": 1 << 62})
        return len(self.events(q) if table == "events" else self.failed(q))

    def page(self, table: str, query: Query, after: tuple[datetime, str] | None) -> list[dict[str, Any]]:
        check_table(table)
        q = Query(**{**query.__dict__, "limit": 1 << 62})
        found: list[Event | FailedRow] = list(self.events(q) if table == "events" else self.failed(q))
        found.sort(key=lambda r: (r.received_at, r.id))
        if after is not None:
            found = [r for r in found if (r.received_at, r.id) > after]
        return [json_form(table, r) for r in found[: query.limit]]

    def replace_failed(self, row: FailedRow, events: list[Event], client_ids: list[bool]) -> int:
        with self._lock:
            fresh, _ = new_client_positions(self._client, events, client_ids)
            keep = [events[n] for n in fresh]
            self._store(keep, row.endpoint)
            for n, f in enumerate(self._failed):
                if f.id == row.id:
                    self._failed[n] = msgspec.structs.replace(row)
        return len(keep)

    def find_event(
        self, id: str, prop: str | None = None, at: datetime | None = None
    ) -> tuple[Event, str] | None:
        with self._lock:
            found = [(e, ep) for e, ep in self._events if e.id == id and prop in (None, e.property)]
        if not found:
            return None
        return max(found, key=lambda f: (f[0].received_at or _EPOCH, f[0].id))

    def find_failed(self, id: str, prop: str | None = None) -> FailedRow | None:
        with self._lock:
            return next((f for f in self._failed if f.id == id and prop in (None, f.property)), None)

    def received(self, prop: str) -> dict[str, Received]:
        out: dict[str, Received] = {}
        with self._lock:
            for e, endpoint in self._events:
                if e.property == prop:
                    out.setdefault(endpoint, Received()).add(1, 0, e.received_at)
            for f in self._failed:
                if f.property == prop:
                    out.setdefault(f.endpoint, Received()).add(0, 1, f.received_at)
        return out

    def writable(self) -> bool:
        return True

    def close(self) -> None:
        pass
