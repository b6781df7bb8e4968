"""The DuckDB store's look-ups for the dashboard: an event or a failed payload by id,
and what each endpoint of a property received.

They must answer in a few milliseconds on a store of 10 million events (the pages'
budget is 300 ms), and ``events`` has no index but DuckDB's zone maps (min/max per row
group of ~120,000 rows), which pay off on the columns that grow with the rows:

- a Trackway event id is a UUIDv7 made when the request was received, so it is looked
  for first among the events received within :data:`WINDOW` of its time (``received_at``
  grows with ``seq``: the zone maps skip the rest). Any other stored id is a client's,
  which ``client_ids`` holds: for one property, an id it lacks is a miss at once; a
  client's id found there (or any miss across every property) scans ``events``.
- the counts per endpoint are kept per store object (:class:`ReceivedCache`), and each
  look adds only the events of a ``seq`` above those already counted, found through the
  zone maps of ``seq``; the first look in a process counts every event once.
  ``failed_events`` (small: payloads that failed) is counted each time.

Measured on 10 million events: docs/api.md, "How fast".
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import duckdb

from trackway.store import rows, schema
from trackway.store.base import Received, uuid7_time

HINT = timedelta(seconds=1)  # a caller's received_at to the stored one: the same instant
WINDOW = timedelta(hours=1)  # an id's time to its event's received_at: milliseconds, in practice


def _dicts(cur: duckdb.DuckDBPyConnection, query: str, params: list[Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = cur.sql(query, params=params).to_arrow_table().to_pylist()
    return found


def find_event(
    cur: duckdb.DuckDBPyConnection, id: str, prop: str | None, at: datetime | None = None
) -> tuple[Any, str] | None:
    """The event ``id`` (of ``prop``), looked for first around ``at`` (the time it was
    received, when the caller knows it: the dashboard's links do), then around the time
    a Trackway id holds, then, for a client's id, everywhere."""
    where, params = "id = ?", [id]
    if prop is not None:
        where += " AND property = ?"
        params.append(prop)
    newest = " ORDER BY received_at DESC LIMIT 1"
    found: list[dict[str, Any]] = []
    for when, width in ((at, HINT), (uuid7_time(id), WINDOW)):
        if when is None or found:
            continue
        try:  # the zone maps on received_at skip all but a few row groups
            window = [when - width, when + width]
        except OverflowError:  # at=9999-12-31 or 0001-01-01: a 500 before; nothing is there
            continue
        found = _dicts(
            cur,
            f"SELECT * FROM events WHERE received_at BETWEEN ? AND ? AND {where}{newest}",
            [*window, *params],
        )
    # Not a Trackway id (or not at its time): then it is a client's, and client_ids has
    # it. One it lacks is not stored: no scan of events. (DuckDB answers this look-up
    # by scanning client_ids, two narrow columns: its composite key serves no look-up;
    # about 120 ms at 4,000,000 client ids.)
    if (
        not found
        and prop is not None
        and not cur.execute("SELECT 1 FROM client_ids WHERE property = ? AND id = ?", [prop, id]).fetchall()
    ):
        return None
    if not found:
        found = _dicts(cur, f"SELECT * FROM events WHERE {where}{newest}", params)
    if not found:
        return None
    return rows.row_to_event(found[0]), found[0].get("endpoint") or ""


def find_failed(cur: duckdb.DuckDBPyConnection, id: str, prop: str | None) -> dict[str, Any] | None:
    where, params = "id = ?", [id]
    if prop is not None:
        where += " AND property = ?"
        params.append(prop)
    found = _dicts(cur, f"SELECT {schema.FAILED_COLUMNS} FROM failed_events WHERE {where}", params)
    return found[0] if found else None


class ReceivedCache:
    """The events counted so far per (property, endpoint), up to a ``seq``; made anew
    when the store's file is rewritten (``generation``: a forget compacts it)."""

    def __init__(self, generation: int) -> None:
        self.generation = generation
        self.upto = 0
        self.counts: dict[tuple[str, str], Received] = {}
        self.lock = threading.Lock()

    def update(self, cur: duckdb.DuckDBPyConnection) -> None:
        """Count the events stored since the last look. Loads commit in ``seq`` order
        (one at a time, under the store's write lock), so a read that sees a ``seq`` sees
        every lower one."""
        with self.lock:
            found = cur.execute(
                "SELECT property, coalesce(endpoint, ''), count(*), max(received_at), max(seq) FROM events "
                "WHERE seq > ? GROUP BY ALL",
                [self.upto],
            ).fetchall()
            for prop, endpoint, n, last, top in found:
                self.counts.setdefault((prop, endpoint), Received()).add(int(n), 0, last)
                self.upto = max(self.upto, int(top))

    def received(self, cur: duckdb.DuckDBPyConnection, prop: str) -> dict[str, Received]:
        self.update(cur)
        with self.lock:
            out = {e: Received(r.events, 0, r.last) for (p, e), r in self.counts.items() if p == prop}
        failed = cur.execute(
            "SELECT coalesce(endpoint, ''), count(*), max(received_at) FROM failed_events "
            "WHERE property = ? GROUP BY ALL",
            [prop],
        ).fetchall()
        for endpoint, n, last in failed:
            out.setdefault(endpoint, Received()).add(0, int(n), last)
        return out
