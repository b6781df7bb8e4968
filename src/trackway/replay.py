"""``trackway replay``: re-validate failed payloads after a configuration or rules fix.

Each failed payload is decoded again as it was received (same dialect, the
property's settings as they are now, the request's envelope) and the events of it
that had failed and now pass move to ``events`` with the ids they would have had.
The record stays in ``failed_events``: its issues become the current ones, and
``replayed_at`` is set once none of its events fails any more.

It works on the store and through the decoding pipeline (ingest/pipeline.py), so it
sits above both: nothing in ``trackway.ingest`` imports the store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime

import msgspec

import trackway
from trackway.config import Config
from trackway.errors import ParseError, UnknownDialectError
from trackway.ingest import pipeline, records
from trackway.store.base import FailedRow, Query, Store

REPLAY_PAGE = 500  # failed payloads read at a time


@dataclass
class ReplayReport:
    examined: int = 0
    fixed: int = 0  # payloads none of whose events fails any more
    events: int = 0  # events moved into `events`
    still_failing: int = 0
    codes: dict[str, int] = field(default_factory=dict)  # error codes still present

    def to_json(self) -> dict[str, object]:
        return asdict(self)  # the fields, in their order


def replay_row(row: FailedRow, cfg: Config | None) -> tuple[FailedRow, list[trackway.Event], list[bool]]:
    """The row after a new decode, and the events of it that now pass."""
    prop = cfg.properties.get(row.property) if cfg is not None else None
    dialect = row.dialect if row.dialect and row.dialect != "unknown" else "auto"
    received = row.received_at.astimezone(UTC)
    try:
        decoded = trackway.decode(
            dialect,
            row.payload,
            default_currency=prop.default_currency if prop else None,
            received_at=received,
            property=row.property,
        )
    except (ParseError, UnknownDialectError):
        return row, [], []
    pipeline.apply_envelope(decoded.events, pipeline.envelope_of(row.meta))
    record = records.Record(
        kind=records.RAW,
        request_id=row.request_id,
        endpoint=row.endpoint,
        property=row.property,
        received_at=records.micros(received),
        meta=row.meta,
    )
    wanted = set(row.indices)
    failed = decoded.failed()
    still = []
    passing = []
    for n, event in enumerate(decoded.events):
        if n not in wanted and -1 not in wanted:
            continue  # stored the first time
        if n in failed:
            still.append(n)
        else:
            passing.append((n, event))
    if not decoded.events and not decoded.valid:  # valid with no event: a non-event, settled
        still = [-1]
    events, client = [], []
    for n, event in passing:
        client.extend(pipeline.finalize([event], record, row.ordinal + n, prop=prop))
        events.append(event)
    issues = [{**i.to_json(), "event": i.event} for i in decoded.issues]
    new = msgspec.structs.replace(
        row,
        indices=still,
        names=[decoded.events[n].name for n in still if n >= 0 and decoded.events[n].name],
        issues=issues,
        replayed=row.replayed + len(events),
        replayed_at=datetime.now(UTC) if not still else row.replayed_at,
    )
    return new, events, client


def replay(
    store: Store,
    cfg: Config | None,
    query: Query,
    progress: Callable[[int, int], None] | None = None,
) -> ReplayReport:
    query.replayed = False
    total = store.count("failed_events", query) if progress is not None else 0
    total = min(total, query.limit)
    report = ReplayReport()
    for n, row in enumerate(_walk(store, query)):
        new, events, client = replay_row(row, cfg)
        report.examined += 1
        report.events += store.replace_failed(new, events, client) if (events or new != row) else 0
        if new.indices:
            report.still_failing += 1
            for issue in new.issues:
                if issue.get("severity") == "error":
                    report.codes[issue["code"]] = report.codes.get(issue["code"], 0) + 1
        else:
            report.fixed += 1
        if progress is not None:
            progress(n + 1, max(total, n + 1))
    return report


def _walk(store: Store, query: Query) -> Iterator[FailedRow]:
    """The failed payloads ``query`` matches, at most ``query.limit``, oldest first, read a
    page at a time (a table of a million payloads is not read into memory at once)."""
    left, after = query.limit, (datetime.min.replace(tzinfo=UTC), "")
    while left > 0:
        found = store.failed(replace(query, limit=min(left, REPLAY_PAGE)), after)
        if not found:
            return
        yield from found
        left -= len(found)
        after = (found[-1].received_at, found[-1].id)
