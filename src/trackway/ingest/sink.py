"""What the loader needs of a store, declared on the loader's side.

The loader (ingest/loader.py) talks to a :class:`Sink`: any object with these
methods. The stores (store/duck.py, store/memory.py) have them without naming this
protocol, so ingestion imports nothing of ``trackway.store`` and the store imports
only the record format from ingestion (records, log positions, quarantine rows and
:class:`LoadResult`). :class:`LoaderStats` adds the loads up for ``/metrics``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from trackway.ingest.log import Position
from trackway.ingest.quarantine import QuarantineRow
from trackway.ingest.records import Outcome, Record


@dataclass
class LoadResult:
    """What a load stored: events, duplicates dropped, failed payloads, and the counts
    per (endpoint, dialect, property, outcome) for /metrics."""

    stored: int = 0
    duplicates: int = 0
    failed: int = 0
    # Its transaction ran twice: a key it inserted plainly was stored already (a client's
    # retry, or a derived state row presumed new; store/claims.py), and the first was rolled back.
    reruns: int = 0
    by_key: dict[tuple[str, str, str, str], int] = field(
        default_factory=dict
    )  # (endpoint, dialect, property, outcome)

    def count(self, endpoint: str, dialect: str, prop: str, outcome: str, n: int = 1) -> None:
        key = (endpoint, dialect, prop, outcome)
        self.by_key[key] = self.by_key.get(key, 0) + n

    def merge(self, other: LoadResult) -> None:
        """Add ``other``'s counts to these."""
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.failed += other.failed
        self.reruns += other.reruns
        for key, n in other.by_key.items():
            self.count(*key, n=n)


@dataclass
class LoaderStats(LoadResult):
    """What the loader did since it started: the stores' results added up (LoadResult's
    counts), and its own."""

    records: int = 0
    batches: int = 0
    seconds: float = 0.0
    undecodable: int = 0
    deferred_seconds: float = 0.0  # time the loader waited for busy CPUs (ingest/pacing.py)
    quarantined: int = 0  # records put in the quarantine by this process
    errors: int = 0  # batches whose load raised (retried; see the store_write_failed alarm)

    def add(self, result: LoadResult, records: int, seconds: float) -> None:
        self.records += records
        self.batches += 1
        self.seconds += seconds
        self.merge(result)


@runtime_checkable
class Sink(Protocol):
    """A store as the loader sees it (see :class:`trackway.store.base.Store`, which
    documents each method)."""

    def positions(self) -> dict[str, Position]:
        """The log position loaded up to, per worker slot."""
        ...

    def load(
        self,
        batch: list[tuple[Record, Outcome]],
        positions: dict[str, Position],
        quarantine: Sequence[QuarantineRow] = (),
        resolved: Sequence[int] = (),
    ) -> LoadResult:
        """Store the outcomes, add the ``quarantine`` rows, remove the quarantined rows
        ``resolved`` and move the positions, in one transaction."""
        ...

    def fault(self, exc: BaseException) -> bool:
        """Whether ``exc``, raised by :meth:`load`, is the store's fault rather than the
        records' (then the batch stays in the log and nothing is quarantined)."""
        ...

    def missing(self) -> str | None:
        """Why loading into this store would lose data (its file gone), or None."""
        ...

    def quarantined(
        self, prop: str | None = None, ids: Sequence[int] | None = None, limit: int = 1 << 62
    ) -> list[QuarantineRow]: ...

    def quarantine_count(self, prop: str | None = None) -> int: ...

    def update_quarantined(self, row: QuarantineRow) -> None: ...
