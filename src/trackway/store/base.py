"""What every store offers: exactly-once loading from the log, and queries.

:meth:`Store.load` is the only write path of ingestion. It takes the outcomes of a
run of log records and the log positions just past them, and commits both in one
transaction, so a crash between two loads neither loses nor repeats a record.
Events whose client-supplied id the property already stored are dropped there
(idempotent re-sends).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from trackway.errors import StoreError
from trackway.ingest.log import Position
from trackway.ingest.quarantine import QuarantineRow
from trackway.ingest.records import Outcome, Record
from trackway.ingest.sink import LoadResult
from trackway.model import Event, to_builtins

_T = TypeVar("_T")

# What one answer of rows (events_at, failed, page) reads at most, as Arrow: its Python
# objects and JSON take several times it. 10,000 failed payloads of 512 KiB would be 5 GB.
MAX_ROWS_BYTES = 32 << 20


class Rows(list[_T]):
    """Rows a query answered; ``truncated`` when the store stopped short of the limit at
    :data:`MAX_ROWS_BYTES` (a cursor, where the query has one, goes on from the last)."""

    truncated: bool = False


def truncated(found: list[Any]) -> bool:
    """Whether a store cut ``found`` short of its query's limit (see :class:`Rows`)."""
    return isinstance(found, Rows) and found.truncated


@dataclass(frozen=True)
class StoreMemory:
    """The database's memory, in bytes: all it holds in its buffer pool (``used``), of
    which its indexes (``indexes``), and its limit (``store_memory_limit``); and its
    write-ahead log on disk (``wal``), which the next checkpoint writes into the file
    (``store_checkpoint_threshold``), its data held in the buffer pool meanwhile."""

    used: int
    indexes: int
    limit: int
    wal: int = 0


@dataclass
class Query:
    """A filter over events or failed payloads; results come newest first."""

    property: str | None = None  # None: every property (a server admin token)
    names: tuple[str, ...] = ()  # event names (events) or issue codes (failed)
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100
    replayed: bool | None = None  # failed payloads: only replayed, only not, or both


class FailedRow(msgspec.Struct, kw_only=True):
    """A payload that failed validation, as received, with every issue."""

    id: str
    property: str
    endpoint: str
    dialect: str
    received_at: datetime
    request_id: str
    payload: bytes
    indices: list[int]
    issues: list[dict[str, Any]]
    ordinal: int = 0
    names: list[str] = []
    meta: dict[str, Any] = {}
    replayed_at: datetime | None = None
    replayed: int = 0  # events moved to `events` by replays

    def to_json(self) -> dict[str, Any]:
        out = msgspec.to_builtins(self)
        out["payload"] = self.payload.decode("utf-8", errors="replace")
        return out


def json_form(table: str, row: Event | FailedRow) -> dict[str, Any]:
    if isinstance(row, Event):
        return to_builtins(row)
    return row.to_json()


def check_table(table: str) -> None:
    if table not in ("events", "failed_events"):
        raise StoreError(f"unknown table {table!r}: expected events or failed_events")


def failed_id(request_id: str, n: int, prop: str = "", call: str = "") -> str:
    """The id of a request's ``n``-th failed payload; for one with a client's call id (the
    browser tracker's), the property's call id: the same payload sent again is one row."""
    return f"{prop}/call/{call}" if call else f"{request_id}/{n}"


class Store(ABC):
    """A store. What the loader calls (positions, load, fault, missing and the
    quarantine's methods) is also :class:`trackway.ingest.sink.Sink`, which every store
    satisfies without naming it."""

    @abstractmethod
    def positions(self) -> dict[str, Position]:
        """The log position loaded up to, per worker slot."""

    @abstractmethod
    def load(
        self,
        batch: list[tuple[Record, Outcome]],
        positions: dict[str, Position],
        quarantine: Sequence[QuarantineRow] = (),
        resolved: Sequence[int] = (),
    ) -> LoadResult:
        """Store the outcomes, add the ``quarantine`` rows, remove the quarantined rows
        ``resolved`` (ids: a retry that worked) and move the positions, in one transaction."""

    @abstractmethod
    def quarantined(
        self, prop: str | None = None, ids: Sequence[int] | None = None, limit: int = 1 << 62
    ) -> list[QuarantineRow]:
        """Quarantined records, oldest first: all, one property's (``prop``), or those ``ids``."""

    @abstractmethod
    def quarantine_count(self, prop: str | None = None) -> int: ...

    @abstractmethod
    def update_quarantined(self, row: QuarantineRow) -> None:
        """Write back a quarantined row after a retry that failed again (its error, attempts)."""

    def fault(self, exc: BaseException) -> bool:
        """Whether ``exc``, raised by :meth:`load`, is the store's fault (a full disk, no
        memory, a broken database) rather than the records': then no record is to blame
        and none goes to the quarantine; the batch stays in the log for the next try."""
        return isinstance(exc, OSError | MemoryError)

    def missing(self) -> str | None:
        """Why loading into this store would lose data (its file deleted or replaced while
        open), or None."""
        return None

    def memory(self) -> StoreMemory | None:
        """What the store's database holds in memory against its limit, when it has one."""
        return None

    @abstractmethod
    def events(self, query: Query) -> list[Event]: ...

    def events_at(self, query: Query) -> list[tuple[Event, str]]:
        """:meth:`events`, each with the endpoint it came to ('' where not kept)."""
        return [(e, "") for e in self.events(query)]

    @abstractmethod
    def failed(self, query: Query, after: tuple[datetime, str] | None = None) -> list[FailedRow]:
        """Failed payloads, newest first; with ``after``, oldest first after that
        (received_at, id) cursor: how a replay walks a table of any size."""

    @abstractmethod
    def count(self, table: str, query: Query) -> int: ...

    @abstractmethod
    def page(self, table: str, query: Query, after: tuple[datetime, str] | None) -> list[dict[str, Any]]:
        """Up to ``query.limit`` rows in their JSON form, oldest first, after the
        (received_at, id) cursor: how export walks a table of any size."""

    @abstractmethod
    def replace_failed(self, row: FailedRow, events: list[Event], client_ids: list[bool]) -> int:
        """After a replay: store ``events`` (idempotently) and write ``row`` back. Returns events stored."""

    @abstractmethod
    def rebuild(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Recompute the derived tables from the stored events; returns the events read."""

    @abstractmethod
    def writable(self) -> bool: ...

    @abstractmethod
    def close(self) -> None: ...

    def forget(
        self,
        user: str | None,
        email: str | None,
        prop: str | None = None,
        held: Callable[[Path], bool] | None = None,
    ) -> dict[str, Any]:
        raise NotImplementedError(f"{type(self).__name__} cannot forget a person")

    def subject(self, user: str | None, email: str | None, prop: str | None = None) -> dict[str, Any]:
        raise NotImplementedError(f"{type(self).__name__} cannot export a person's data")

    def identity(self, value: str, prop: str | None = None) -> list[dict[str, Any]]:
        raise NotImplementedError(f"{type(self).__name__} does not answer identity queries")

    def sql(
        self, query: str, limit: int = 10_000, timeout: float = 120.0
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        raise NotImplementedError(f"{type(self).__name__} does not run SQL")

    # -- the dashboard's look-ups (server/admin_views.py) ----------------------------

    def find_event(
        self, id: str, prop: str | None = None, at: datetime | None = None
    ) -> tuple[Event, str] | None:
        """The stored event ``id`` (of ``prop``; None: any property, the newest when
        several have it) and the endpoint it came to, or None. ``at``: when it was
        received, if known (a hint: the look-up is quicker, the answer the same)."""
        raise NotImplementedError(f"{type(self).__name__} does not look events up by id")

    def find_failed(self, id: str, prop: str | None = None) -> FailedRow | None:
        """The failed payload ``id`` (of ``prop``; None: any property), or None."""
        raise NotImplementedError(f"{type(self).__name__} does not look failed payloads up by id")

    def received(self, prop: str) -> dict[str, Received]:
        """Per endpoint, what ``prop`` has received there: events stored, payloads
        failed, the last time either came. Endpoints that received nothing are absent."""
        raise NotImplementedError(f"{type(self).__name__} does not count what endpoints received")


@dataclass
class Received:
    """What one endpoint received for a property (:meth:`Store.received`)."""

    events: int = 0
    failed: int = 0
    last: datetime | None = None

    def add(self, events: int, failed: int, last: datetime | None) -> None:
        self.events += events
        self.failed += failed
        if last is not None and (self.last is None or last > self.last):
            self.last = last

    def to_json(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "failed": self.failed,
            "last": self.last.isoformat() if self.last is not None else None,
        }


_UUID7 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def uuid7_time(id: str) -> datetime | None:
    """The time a UUIDv7 (a Trackway event or request id) was made, or None for another
    id (a client's): where a look-up by id searches first."""
    if not _UUID7.fullmatch(id):
        return None
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(id[:8] + id[9:13], 16))


def new_client_positions(
    stored: set[tuple[str, str]], events: Sequence[Event], client_ids: Sequence[bool]
) -> tuple[list[int], int]:
    """The positions in ``events`` of those to keep: all with Trackway ids, and those with
    client ids (property, id) not in ``stored`` (which is updated, so a second event of
    the same id in ``events`` is a duplicate too). Returns them and the number of duplicates."""
    keep = []
    dups = 0
    for n, (event, client) in enumerate(zip(events, client_ids, strict=True)):
        if client:
            key = (event.property, event.id)
            if key in stored:
                dups += 1
                continue
            stored.add(key)
        keep.append(n)
    return keep, dups
