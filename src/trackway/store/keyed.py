"""Rows of a derived table by key, at a cost that follows the keys, not the table.

Every batch the loader reads the state its events can touch (``state_tables.prefetch``)
and ``persons.assign`` reads the persons they belong to: a few hundred keys against
tables that grow with every visitor and order. Joined against the batch's keys, DuckDB
scans the whole table, about 30-60 ns a row: on 4,000,000 rows in each, a batch of 1,000
events took 9.6 times as long as on an empty store (``bench/state_size.py``).

So each key column the loader reads by has an ART index of that one column
(:data:`INDEXES`; DuckDB answers a filter from an index only when the index holds that
one column, not from the tables' composite primary keys), and a large table is read
with ``column IN (?, ?, ...)``, which DuckDB answers from the index: about 10 us a key
that is not there and 50 us one that is (its row is fetched). A small table is still
joined, which costs less there: :func:`by_index` decides by the table's size.

Through the index only the last column of a composite key is looked up; :func:`select`
then keeps the rows whose whole key was asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any

import duckdb
import pyarrow as pa

# (table, column): the one-column indexes, made when a store opens (older stores too).
INDEXES = (
    ("identities", "id"),
    ("identities", "person_id"),
    ("carts", "cart_id"),
    ("carts", "person_id"),
    ("orders", "transaction_id"),
    ("orders", "person_id"),
    ("procedures", "person_id"),
    ("procedures", "procedure_id"),
    ("persons", "person_id"),
)
logger = logging.getLogger("trackway.store")


def create(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Make the :data:`INDEXES` a store lacks (one written before them). DuckDB builds an
    index in memory: one that does not fit in the store's memory limit is left out with a
    warning (its table is then scanned, as before the indexes; the answers are the same).
    Returns the names of those left out."""
    missing = []
    for table, column in INDEXES:
        name = f"{table}_by_{column}"
        try:
            con.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({column})")
        except duckdb.OutOfMemoryException as exc:
            missing.append(name)
            logger.warning(
                "could not make the index %s on %s(%s): %s. The loader reads that table by scanning it "
                "(slower as it grows, the same answers); raise store_memory_limit and restart to make it",
                name,
                table,
                column,
                exc,
            )
    return missing


# A table is read through its index from this many rows a key sought: a join then scans
# more rows than the look-ups cost (a key 10-50 us, a row scanned 30-60 ns).
ROWS_PER_KEY = 1_000
# DuckDB answers an IN list from an index up to index_scan_max_count values (2,048): a
# longer list is sent in parts.
_PART = 2_000


def drop(cur: duckdb.DuckDBPyConnection) -> None:
    """Drop the :data:`INDEXES` (before rewriting whole tables: DuckDB holds the index
    entries of a transaction's new rows in memory until it commits, and making an index
    afterwards needs less). :func:`create` makes them again."""
    for table, column in INDEXES:
        cur.execute(f"DROP INDEX IF EXISTS {table}_by_{column}")


def sizes(cur: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """The derived tables' estimated row counts (DuckDB's own count, read without a scan)."""
    rows = cur.execute(
        "SELECT table_name, estimated_size FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'main'"
    ).fetchall()
    return {str(name): int(size or 0) for name, size in rows}


def by_index(table_rows: int, keys: int) -> bool:
    """Whether ``keys`` keys are read from a table of ``table_rows`` rows through its index."""
    return table_rows >= ROWS_PER_KEY * keys


ROWID = "stored_rowid"  # the column :func:`select` adds with ``rowid``


def select(
    cur: duckdb.DuckDBPyConnection,
    table: str,
    names: tuple[str, ...],
    keys: Collection[tuple[Any, ...]],
    *,
    table_rows: int,
    condition: str = "",
    columns: tuple[str, ...] = (),
    rowid: bool = False,
) -> list[dict[str, Any]]:
    """Every row of ``table`` whose columns ``names`` hold one of ``keys`` (and that meets
    the SQL ``condition``, when given), as dicts of every column, or of ``names`` and
    ``columns`` when those are given; with ``rowid``, also each row's ``rowid`` (as
    :data:`ROWID`). ``table_rows``: the table's size (:func:`sizes`), which decides between
    a join and the index of the last of ``names`` that has one. The keys are parameters
    or an Arrow table, never SQL text."""
    if not keys:
        return []
    wanted = (*names, *columns) if columns else ("*",)
    listed = ", ".join(c if c == "*" else f'"{c}"' for c in wanted)
    if not by_index(table_rows, len(keys)):
        picked = ", ".join(f"t.{c}" if c == "*" else f't."{c}"' for c in wanted)
        where = f" WHERE {condition}" if condition else ""
        query = (
            f"SELECT {'t.rowid AS ' + ROWID + ', ' if rowid else ''}{picked} FROM {table} t "
            f"JOIN wanted_keys USING ({', '.join(names)}){where}"
        )
        cur.register("wanted_keys", pa.table({n: [k[i] for k in keys] for i, n in enumerate(names)}))
        try:
            return _dicts(cur, query, None)
        finally:
            cur.unregister("wanted_keys")
    at = next((i for i in range(len(names) - 1, -1, -1) if (table, names[i]) in INDEXES), None)
    if at is None:
        raise ValueError(f"expected a key with one of the indexed columns {INDEXES}, got {table}{names}")
    column = names[at]
    values = sorted({k[at] for k in keys})
    extra = f" AND ({condition})" if condition else ""
    head = f"SELECT {'rowid AS ' + ROWID + ', ' if rowid else ''}{listed} FROM {table} WHERE {column} IN"
    found: list[dict[str, Any]] = []
    for start in range(0, len(values), _PART):
        part = values[start : start + _PART]
        found.extend(_dicts(cur, f"{head} ({', '.join('?' * len(part))}){extra}", part))
    wanted_set = keys if isinstance(keys, (set, frozenset)) else set(keys)
    return [r for r in found if tuple(r[n] for n in names) in wanted_set]


def _dicts(cur: duckdb.DuckDBPyConnection, query: str, params: list[Any] | None) -> list[dict[str, Any]]:
    """Rows as dicts through Arrow (typed; TIMESTAMPTZ needs no pytz)."""
    rows: list[dict[str, Any]] = cur.sql(query, params=params).to_arrow_table().to_pylist()
    return rows
