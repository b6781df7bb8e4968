"""Each event's person as an integer key, stored with the event.

Who an event belongs to is decided at ingest by the identity rules
(``state/identity.py``). The ``event_persons`` view resolves it again when read: two
joins of every event against ``identities`` on strings, which at 10 million events
cost more than the funnel's own work. So ingestion also stores it:

- ``events.person_key``: the key of the person the event belonged to when stored;
- ``persons``: each person's key, and ``merged_into``, the key of the person it was
  merged into (a guest who logged in as a user already known).

A person's key is the ``seq`` of its first event: unique across properties, an
integer, and the same after ``trackway rebuild``, which applies the events in the
same order. A merge's source is always a guest and its target always has a user id,
which is never merged again (``state/identity.py``), so one step resolves any key:
``coalesce(merged_into, person_key)`` (the ``event_person_keys`` view).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import duckdb
import pyarrow as pa

from trackway.store import keyed

DDL = """
CREATE TABLE IF NOT EXISTS persons (
    property VARCHAR, person_id VARCHAR, person_key BIGINT, merged_into BIGINT,
    PRIMARY KEY (property, person_id));
"""
# Each event with the key of its person now: the stored key, or the person it merged into.
VIEW = """
CREATE OR REPLACE VIEW event_person_keys AS
SELECT e.*, coalesce(m.merged_into, e.person_key) AS person
FROM events e
LEFT JOIN persons m ON m.person_key = e.person_key AND m.merged_into IS NOT NULL
"""

Person = tuple[str, str]  # (property, person_id)


def _known(cur: duckdb.DuckDBPyConnection, wanted: set[Person], size: int) -> dict[Person, int]:
    found = keyed.select(cur, "persons", ("property", "person_id"), wanted, table_rows=size)
    return {(r["property"], r["person_id"]): r["person_key"] for r in found}


def _write(
    cur: duckdb.DuckDBPyConnection, new: dict[Person, int], merges: dict[Person, int], size: int = 0
) -> None:
    if new:
        rows = pa.table(  # noqa: F841
            {
                "property": [p for p, _ in new],
                "person_id": [i for _, i in new],
                "person_key": pa.array(list(new.values()), pa.int64()),
            }
        )
        cur.execute("INSERT INTO persons (property, person_id, person_key) SELECT * FROM rows")
    if merges:
        m = pa.table(
            {
                "property": [p for p, _ in merges],
                "person_id": [i for _, i in merges],
                "merged_into": pa.array(list(merges.values()), pa.int64()),
            }
        )
        keyed.update(cur, "persons", ("property", "person_id"), m, table_rows=size)


def assign(
    cur: duckdb.DuckDBPyConnection,
    events: Sequence[tuple[str, str | None, int]],
    merges: Iterable[tuple[str, str, str]],
    size: int | None = None,
) -> list[int | None]:
    """The key of each stored event's person, for ``events`` as (property, person or
    None, seq) in store order; records new persons and the batch's ``merges``
    (property, source, target) in ``persons``. Inside the caller's transaction. ``size``:
    the rows of ``persons`` (store/keyed.py), when known."""
    merges = list(merges)
    if size is None:
        size = keyed.sizes(cur).get("persons", 0)
    wanted = {(p, person) for p, person, _ in events if person is not None}
    wanted |= {(p, s) for p, s, _ in merges} | {(p, t) for p, _, t in merges}
    keys = _known(cur, wanted, size)
    new: dict[Person, int] = {}
    out: list[int | None] = []
    for prop, person, seq in events:
        if person is None:
            out.append(None)
            continue
        key = keys.get((prop, person))
        if key is None:  # a person's first event
            key = keys[(prop, person)] = new[(prop, person)] = seq
        out.append(key)
    targets = {(p, s): keys[(p, t)] for p, s, t in merges if (p, t) in keys and (p, s) in keys}
    _write(cur, new, targets, size)
    return out


class Rebuild:
    """Keys for a rebuild: the same rule as ingestion, over every event in store order."""

    def __init__(self) -> None:
        self.keys: dict[Person, int] = {}

    def key(self, prop: str, person: str | None, seq: int) -> int | None:
        if person is None:
            return None
        return self.keys.setdefault((prop, person), seq)

    def update_events(self, cur: duckdb.DuckDBPyConnection, seqs: list[int], keys: list[int | None]) -> None:
        """Set ``events.person_key`` for one chunk of events."""
        c = pa.table({"seq": pa.array(seqs, pa.int64()), "k": pa.array(keys, pa.int64())})  # noqa: F841
        cur.execute(
            "UPDATE events SET person_key = c.k FROM c "
            "WHERE events.seq = c.seq AND events.person_key IS DISTINCT FROM c.k"
        )

    def write(self, cur: duckdb.DuckDBPyConnection, merges: Iterable[tuple[str, str, str]]) -> None:
        """Replace ``persons`` with the rebuilt keys and ``merges``."""
        cur.execute("DELETE FROM persons")
        known = self.keys
        _write(
            cur, known, {(p, s): known[(p, t)] for p, s, t in merges if (p, s) in known and (p, t) in known}
        )
