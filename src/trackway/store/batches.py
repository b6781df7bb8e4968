"""A batch of the loader's records written into the DuckDB store, in one transaction.

:class:`~trackway.store.duck.DuckStore` owns the transaction, the write lock and the
events' sequence numbers; this module is what the transaction writes. A batch's records
give events and failed payloads. The failed payloads go to ``failed_events`` first, a
tracker's call sent again stored once; then the events whose ids a client supplied are
claimed in ``client_ids``, so a client's retry is a duplicate, not a second event
(store/claims.py): both before any other work, which a refusal would waste. The events
stored are applied to the derived state (state/engine.py, store/state_tables.py,
store/persons.py), numbered and appended to ``events`` as one Arrow table
(store/arrow.py); then the quarantine's changes and the log positions the batch reached.
Every function here runs inside the caller's transaction, which :meth:`DuckStore._written`
runs again with ``ignore`` True when a plain insert meets an id already stored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import msgspec
import pyarrow as pa

from trackway.ingest.log import Position
from trackway.ingest.quarantine import QuarantineRow
from trackway.ingest.records import Outcome, Record, from_micros, loads_issues
from trackway.ingest.sink import LoadResult
from trackway.model import Event
from trackway.state.engine import apply
from trackway.store import arrow, claims, columns, keyed, persons, state_tables
from trackway.store.base import failed_id, new_client_positions
from trackway.store.quarantine import COLUMNS as QUARANTINE_COLUMNS
from trackway.store.quarantine import as_insert_row

_json = msgspec.json.Encoder(decimal_format="number")

Candidate = tuple[Any, Event, bool]  # (its source: a Record or a FailedRow; the event; a client's id?)


@dataclass
class Batch:
    """What a batch of records writes, worked out once before its transaction (which may run twice)."""

    candidates: list[Candidate] = field(default_factory=list)
    failed_rows: list[dict[str, Any]] = field(default_factory=list)
    rejected: dict[str, tuple[str, str, str, int]] = field(default_factory=dict)  # failed id -> its counts


def prepare(records: list[tuple[Record, Outcome]]) -> Batch:
    """The events and the failed payloads' rows of ``records``; a tracker's call twice in
    one batch gives one row."""
    out = Batch()
    for record, outcome in records:
        out.candidates.extend((record, e, c) for e, c in zip(outcome.events, outcome.client_ids, strict=True))
        for n, f in enumerate(outcome.failed):
            fid = failed_id(record.request_id, n, record.property, f.call)
            if fid in out.rejected:
                continue
            issues = loads_issues(f.issues)
            out.failed_rows.append(
                {
                    "id": fid,
                    "property": record.property,
                    "endpoint": record.endpoint,
                    "dialect": f.dialect,
                    "received_at": from_micros(record.received_at),
                    "request_id": record.request_id,
                    "payload": f.payload,
                    "indices": list(f.indices),
                    "ordinal": f.ordinal,
                    "names": list(f.names),
                    "issues": f.issues.decode(),
                    "codes": sorted({i["code"] for i in issues if i.get("severity") == "error"}),
                    "meta": _json.encode(record.meta).decode() if record.meta else None,
                }
            )
            out.rejected[fid] = (record.endpoint, f.dialect, record.property, max(len(f.indices), 1))
    return out


def write(
    cur: duckdb.DuckDBPyConnection,
    batch: Batch,
    positions: dict[str, Position],
    quarantined: Sequence[QuarantineRow],
    resolved: Sequence[int],
    *,
    ignore: bool,
    first: int,
    derive_state: bool,
    sizes: Callable[[duckdb.DuckDBPyConnection], dict[str, int]] = keyed.sizes,
) -> LoadResult:
    """Write ``batch``, its events numbered from ``first``; the quarantine's new rows and
    those ``resolved``; the log ``positions`` it reached. ``result.stored`` events took
    the numbers from ``first`` on."""
    result = LoadResult()
    dups = 0
    if batch.failed_rows:  # first, as the events' ids: a refusal comes before any other work
        new = claims.insert(
            cur, "failed_events", pa.Table.from_pylist(batch.failed_rows), "id", ignore=ignore
        )
        if new is None:
            new = [(row["id"],) for row in batch.failed_rows]
        for (fid,) in new:
            endpoint, dialect, prop, n = batch.rejected[fid]
            result.failed += 1
            result.count(endpoint, dialect, prop, "rejected", n)
        dups += len(batch.failed_rows) - len(new)
    stored, duplicated = insert_events(
        cur, batch.candidates, ignore=ignore, first=first, derive_state=derive_state, sizes=sizes
    )
    dups += duplicated
    for record, event in stored:
        result.count(record.endpoint, event.dialect, record.property, "accepted")
    if resolved:
        cur.execute("DELETE FROM quarantine WHERE list_contains(?, id)", [list(resolved)])
    if quarantined:
        qtable = pa.Table.from_pylist([as_insert_row(q) for q in quarantined])  # noqa: F841
        names = ", ".join(f'"{c}"' for c in QUARANTINE_COLUMNS)
        cur.execute(f"INSERT INTO quarantine ({names}) SELECT {names} FROM qtable")
    if positions:  # one statement for every slot: each costs about 0.5 ms whatever its rows
        cur.execute(
            "INSERT OR REPLACE INTO log_positions VALUES " + ", ".join(["(?, ?, ?)"] * len(positions)),
            [v for slot, pos in positions.items() for v in (slot, pos.seq, pos.offset)],
        )
    result.stored = len(stored)
    result.duplicates += dups
    return result


def insert_events(
    cur: duckdb.DuckDBPyConnection,
    candidates: list[Candidate],
    *,
    ignore: bool,
    first: int,
    derive_state: bool,
    sizes: Callable[[duckdb.DuckDBPyConnection], dict[str, int]] = keyed.sizes,
) -> tuple[list[tuple[Any, Event]], int]:
    """Insert events (each with its source, for the endpoint) numbered from ``first``,
    skipping client-supplied ids the property already has, and update the derived state
    with what was stored (``derive_state``; ``sizes`` gives the state tables' row counts).
    Returns it and the number of duplicates."""
    events = [e for _, e, _ in candidates]
    flags = [c for _, _, c in candidates]
    kept, dups = new_client_positions(set(), events, flags)  # a client id twice in the batch: once
    client = [(events[n].property, events[n].id) for n in kept if flags[n]]
    new = claims.client_ids(cur, client, ignore=ignore)
    stored = []
    for n in kept:
        source, event, is_client = candidates[n]
        if is_client and (event.property, event.id) not in new:
            dups += 1
            continue
        stored.append((source, event))
    if stored:
        keys: list[int | None] = [None] * len(stored)
        if derive_state:
            size = sizes(cur)  # how each state table is read and written (store/keyed.py)
            state = state_tables.prefetch(cur, [e for _, e in stored], size)
            owners = [(e.property, apply(state, e, first + n), first + n) for n, (_, e) in enumerate(stored)]
            keys = persons.assign(cur, owners, state.merges, size.get("persons", 0))
            state_tables.flush(cur, state, size, plain=not ignore)  # new rows: a plain INSERT
        built = arrow.table([e for _, e in stored], [s.endpoint for s, _ in stored], first)
        built = built.append_column("person_key", pa.array(keys, pa.int64()))
        cur.execute(columns.insert_sql("built"))
    return stored, dups
