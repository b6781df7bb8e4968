"""Columns of ``events`` written for the reports, and bringing an older store up to date.

Besides the canonical columns (rows.py), each stored event gets:

- ``person_key``: its person when stored (store/persons.py), from the derived state;
- ``item_lines``: each item's key (``item_id``, else ``item_name``) and quantity. The
  products report reads this narrow list instead of ``items``, whose every field DuckDB
  reads with it: at 10M events its views and cart counts took 0.26-0.34 s instead of
  0.87-0.97 s.

Both inserts of events (ingestion, and ``forget`` writing anonymised rows back) go
through :func:`insert_sql`, so ``item_lines`` always derives from ``items`` in one way.
A store written before a column existed gets it when opened: :func:`missing` before the
schema is applied, :func:`fill` after.
"""

from __future__ import annotations

import duckdb

from trackway.store import rows

ITEM_LINES = "list_transform(items, lambda x: {'item': coalesce(x.item_id, x.item_name), 'q': x.quantity})"
ADDED = {"person_key": "BIGINT", "item_lines": "STRUCT(item VARCHAR, q BIGINT)[]"}
DDL = ", ".join(f"{name} {kind}" for name, kind in ADDED.items())  # in CREATE TABLE events


def insert_sql(source: str) -> str:
    """Insert the rows of ``source`` (the canonical columns, rows.COLUMNS, then person_key);
    item_lines is derived from their items."""
    return (
        f"INSERT INTO events ({rows.QUOTED_COLUMNS}, person_key, item_lines) "
        f"SELECT *, {ITEM_LINES} FROM {source}"
    )


def missing(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The added columns an existing ``events`` table lacks (none for a new store)."""
    found = {
        c
        for (c,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = 'events'"
        ).fetchall()
    }
    return set(ADDED) - found if found else set()


def fill(con: duckdb.DuckDBPyConnection, absent: set[str]) -> None:
    """Add the ``absent`` columns; ``item_lines`` is filled here, ``person_key`` by a rebuild."""
    for name in sorted(absent):
        con.execute(f"ALTER TABLE events ADD COLUMN {name} {ADDED[name]}")
    if "item_lines" in absent:
        con.execute(f"UPDATE events SET item_lines = {ITEM_LINES} WHERE items IS NOT NULL")
