"""Rows of a table by key, at a cost that follows the keys, not the table.

Every batch the loader reads the state its events can touch (``state_tables.prefetch``)
and the persons they belong to (``persons.assign``), and writes back what changed
(``state_tables.flush``): a few hundred keys against tables that grow with every visitor
and order. Joined against the batch's keys, DuckDB scans the whole table (about 30-60 ns
a row), and ``INSERT OR REPLACE`` costs about 100 ms at 4,000,000 rows whatever the rows:
a batch of 1,000 events took 8.6 times as long on such a store as on an empty one
(``bench/state_size.py``).

So each key column the loader reads by has an ART index of that one column
(:data:`INDEXES`; DuckDB answers a filter from an index only when the index holds that
one column, not from the tables' composite primary keys), and a large table is read
with ``column IN (?, ?, ...)``, which DuckDB answers from the index: about 10 us a key
that is not there and 50 us one that is (its row is fetched). A small table is still
joined and written with ``INSERT OR REPLACE``, which cost less there: :func:`by_index`
decides by the table's size.

An index costs memory: DuckDB keeps the part in use in its buffer pool
(``store_memory_limit``), about 25-40 bytes a row for each at 4,000,000 rows. So only
the columns the loader looks up by per person or per order have one; ``client_ids``,
which grows with every event, has none but its primary key.

Through the index only one column of a composite key is looked up; :func:`select`
then keeps the rows whose whole key was asked for.

A few keys (:data:`FEW`) are looked up through the index whatever the table's size: a
batch of a few events (a quiet shop's, gathered for 0.25 s) spent, under a profiler, 14
of its 34 ms of fixed cost in seven joins of a handful of keys, each registering an
Arrow table (0.4 ms here) and joining it (1.0-1.4 ms), where a look-up of the same keys
takes 0.7 ms.
And the tables' sizes are read at most once a second (:class:`Sizes`), not once a batch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
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
# Up to this many keys, :func:`select` reads a table of any size through its index (see
# the module's docstring and :func:`looked_up`): a look-up costs less than registering the
# keys and joining them. Writes keep :func:`by_index`: on a small table one INSERT OR
# REPLACE is one statement, where the index path takes a look-up and two.
FEW = 16
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


class Sizes:
    """:func:`sizes`, read again once ``max_age`` seconds have passed since the last read.
    They only choose between a join and the indexes (:func:`by_index`), so a second's
    growth changes no answer; reading them took about 1 ms, once a batch before."""

    def __init__(self, max_age: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age = max_age
        self.clock = clock
        self._read: dict[str, int] | None = None
        self._at = 0.0

    def __call__(self, cur: duckdb.DuckDBPyConnection) -> dict[str, int]:
        now = self.clock()
        if self._read is None or now - self._at >= self.max_age:
            self._read, self._at = sizes(cur), now
        return self._read


def by_index(table_rows: int, keys: int) -> bool:
    """Whether a table of ``table_rows`` rows is worked through its index for ``keys``
    keys: its writes (:func:`upsert`, :func:`update`), and its reads of more than
    :data:`FEW` keys (:func:`looked_up`)."""
    return table_rows >= ROWS_PER_KEY * keys


def looked_up(table_rows: int, keys: int) -> bool:
    """Whether :func:`select` reads ``keys`` keys from a table of ``table_rows`` rows
    through its index (else it joins them)."""
    return keys <= FEW or by_index(table_rows, keys)


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
    :data:`ROWID`). ``table_rows``: the table's size (:func:`sizes`), which with the number
    of keys decides between a join and the index of the last of ``names`` that has one
    (:func:`looked_up`). The keys are parameters
    or an Arrow table, never SQL text."""
    if not keys:
        return []
    wanted = (*names, *columns) if columns else ("*",)
    listed = ", ".join(c if c == "*" else f'"{c}"' for c in wanted)
    if not looked_up(table_rows, len(keys)):
        picked = ", ".join(f"t.{c}" if c == "*" else f't."{c}"' for c in wanted)
        where = f" WHERE {condition}" if condition else ""
        query = (
            f"SELECT {'t.rowid AS ' + ROWID + ', ' if rowid else ''}{picked} FROM {table} t "
            f"JOIN wanted_keys USING ({', '.join(names)}){where}"
        )
        cur.register("wanted_keys", pa.table({n: [k[i] for k in keys] for i, n in enumerate(names)}))
        try:
            return dicts(cur, query, None)
        finally:
            cur.unregister("wanted_keys")
    at = next((i for i in range(len(names) - 1, -1, -1) if (table, names[i]) in INDEXES), None)
    if at is None:
        raise ValueError(f"expected a key with one of the indexed columns {INDEXES}, got {table}{names}")
    column = names[at]
    values = sorted({k[at] for k in keys})
    for value in values:  # text UTF-8 cannot hold raises here as the join's Arrow table does,
        if type(value) is str:  # and DuckStore.load then replaces lone surrogates and retries
            value.encode()
    extra = f" AND ({condition})" if condition else ""
    head = f"SELECT {'rowid AS ' + ROWID + ', ' if rowid else ''}{listed} FROM {table} WHERE {column} IN"
    found: list[dict[str, Any]] = []
    for start in range(0, len(values), _PART):
        part = values[start : start + _PART]
        found.extend(dicts(cur, f"{head} ({', '.join('?' * len(part))}){extra}", part))
    wanted_set = keys if isinstance(keys, (set, frozenset)) else set(keys)
    return [r for r in found if tuple(r[n] for n in names) in wanted_set]


def insert(cur: duckdb.DuckDBPyConnection, table: str, data: pa.Table, *, verb: str = "INSERT") -> None:
    """Append the rows of ``data`` to ``table`` by its columns' names (``verb``: ``INSERT``
    or, replacing a row with a stored key, ``INSERT OR REPLACE``)."""
    if not data.num_rows:
        return
    cur.register("state_rows", data)
    try:
        columns = ", ".join(f'"{c}"' for c in data.column_names)
        cur.execute(f"{verb} INTO {table} ({columns}) SELECT {columns} FROM state_rows")
    finally:
        cur.unregister("state_rows")


def upsert(
    cur: duckdb.DuckDBPyConnection, table: str, names: tuple[str, ...], data: pa.Table, *, table_rows: int
) -> None:
    """Write the rows of ``data`` into ``table``, each replacing the stored row of its key
    (the columns ``names``, the table's primary key).

    A small table takes ``INSERT OR REPLACE``. On a large one that statement costs about
    100 ms whatever the rows (4,000,000 identities: 1,000 new rows 100 ms, against 1.3 ms
    for an ``INSERT``), so there the stored keys are looked up through the indexes
    (:data:`INDEXES`): the new rows are inserted, the stored ones updated by their rowid,
    their indexed columns only where they changed (DuckDB updates an indexed column by
    deleting and inserting the row, five times the cost)."""
    if not data.num_rows:
        return
    if not by_index(table_rows, data.num_rows):
        insert(cur, table, data, verb="INSERT OR REPLACE")
        return
    indexed = tuple(c for t, c in INDEXES if t == table and c not in names)
    keys, stored = _stored(cur, table, names, data, table_rows, indexed)
    fresh = [k not in stored for k in keys]
    insert(cur, table, data.filter(pa.array(fresh)))
    values = {c: data.column(c).to_pylist() for c in indexed}
    kept: list[int] = []
    moved: list[int] = []
    for i, key in enumerate(keys):
        row = stored.get(key)
        if row is not None:
            (moved if any(row[c] != values[c][i] for c in indexed) else kept).append(i)
    others = [c for c in data.column_names if c not in names]
    for rows, columns in ((kept, [c for c in others if c not in indexed]), (moved, others)):
        if rows and columns:
            rowids = [stored[keys[i]][ROWID] for i in rows]
            _set(cur, table, data.take(pa.array(rows, pa.int64())), columns, rowids)


def update(
    cur: duckdb.DuckDBPyConnection, table: str, names: tuple[str, ...], data: pa.Table, *, table_rows: int
) -> None:
    """Set the other columns of ``data`` on the stored rows of its keys (the columns
    ``names``); a key not stored is left out. A small table is joined; on a large one the
    rows are found through the index and updated by rowid (4,000,000 persons: a join
    took 370 ms)."""
    if not data.num_rows:
        return
    columns = [c for c in data.column_names if c not in names]
    if not by_index(table_rows, data.num_rows):
        match = " AND ".join(f'{table}."{n}" = state_rows."{n}"' for n in names)
        _update_from(cur, table, data, columns, match)
        return
    keys, stored = _stored(cur, table, names, data, table_rows, ())
    rows = [i for i, k in enumerate(keys) if k in stored]
    if rows:
        _set(
            cur, table, data.take(pa.array(rows, pa.int64())), columns, [stored[keys[i]][ROWID] for i in rows]
        )


def _stored(
    cur: duckdb.DuckDBPyConnection,
    table: str,
    names: tuple[str, ...],
    data: pa.Table,
    table_rows: int,
    columns: tuple[str, ...],
) -> tuple[list[tuple[Any, ...]], dict[tuple[Any, ...], dict[str, Any]]]:
    """The key (``names``) of each row of ``data``, in order, and the stored rows of those
    keys by key, each with its ``columns`` and rowid (:data:`ROWID`)."""
    keys = list(zip(*(data.column(n).to_pylist() for n in names), strict=True))
    found = select(cur, table, names, set(keys), table_rows=table_rows, columns=columns, rowid=True)
    return keys, {tuple(r[n] for n in names): r for r in found}


def _set(
    cur: duckdb.DuckDBPyConnection, table: str, data: pa.Table, columns: list[str], rowids: list[int]
) -> None:
    """Set ``columns`` of the rows ``rowids`` of ``table`` to the values of ``data``'s
    rows, in order."""
    data = data.append_column(ROWID, pa.array(rowids, pa.int64()))
    _update_from(cur, table, data, columns, f"{table}.rowid = state_rows.{ROWID}")


def _update_from(
    cur: duckdb.DuckDBPyConnection, table: str, data: pa.Table, columns: list[str], match: str
) -> None:
    """``UPDATE table SET`` each of ``columns`` from ``data`` (read as ``state_rows``)
    where the SQL ``match`` pairs a stored row with a row of ``data``."""
    cur.register("state_rows", data)
    try:
        assigned = ", ".join(f'"{c}" = state_rows."{c}"' for c in columns)
        cur.execute(f"UPDATE {table} SET {assigned} FROM state_rows WHERE {match}")
    finally:
        cur.unregister("state_rows")


def dicts(cur: duckdb.DuckDBPyConnection, query: str, params: list[Any] | None) -> list[dict[str, Any]]:
    """Rows as dicts through Arrow (typed; TIMESTAMPTZ needs no pytz)."""
    rows: list[dict[str, Any]] = cur.sql(query, params=params).to_arrow_table().to_pylist()
    return rows
