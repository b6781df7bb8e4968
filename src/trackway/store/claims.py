"""Rows a client's retry may bring again: claimed by a plain insert, ignored only on a retry.

Two tables hold ids that a client chose and may send again, so that a second copy is a
duplicate rather than a second row: ``client_ids`` (the ids of a batch's events that a
client gave: a tracker's call id, Commanders Act's ``context.event_id``; keyed by
property and id) and ``failed_events`` (keyed by an id made from the request, or from a
tracker's call id). A batch writes both in the transaction that stores its events, so an
id is claimed exactly when its event or failed payload is stored.

How a batch's rows go in, measured on DuckDB 2.0 with 4,000,000 rows in the table:

- a plain ``INSERT`` checks the primary key through its index: 4-14 ms for 100-1,000 rows;
- ``INSERT OR IGNORE`` (and ``ON CONFLICT DO NOTHING``) costs 155-190 ms whatever the
  batch, with a key of one column or two; so does any look-up of (property, id) pairs,
  as DuckDB answers look-ups from an index of one column only and scans the table.

So a batch inserts them plainly (:func:`insert`). When one is already stored (a client's
retry: rare), DuckDB refuses the statement and aborts the whole transaction; :func:`insert`
then raises :class:`Claimed`, and the store runs the batch's transaction again from the
start with ``ignore=True``, where ``INSERT OR IGNORE`` keeps the stored rows and answers
the new ones. An index of ``client_ids.id`` alone would answer look-ups too, at about 90
bytes of memory for every such id ever stored (docs/performance.md); the plain insert
needs no memory beyond the primary key's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
import pyarrow as pa

Key = tuple[str, str]  # a client id: (property, id)


class Claimed(Exception):
    """A plain insert met a key the table already holds (here, or a derived state row
    presumed new in ``state_tables.flush``). DuckDB has aborted the transaction: roll it
    back and run it again with ``ignore=True``."""


def insert(
    cur: duckdb.DuckDBPyConnection, table: str, rows: pa.Table, key: str, *, ignore: bool
) -> list[tuple[Any, ...]] | None:
    """Insert ``rows`` (columns named as ``table``'s) into ``table`` in the caller's
    transaction. With ``ignore``, rows whose key is stored are left out and the ``key``
    columns of those inserted are answered; without, every row must be new (None is
    answered: all were), else :class:`Claimed` is raised and the transaction is aborted."""
    source = rows  # noqa: F841 (read by name in the SQL: DuckDB's replacement scan)
    columns = ", ".join(f'"{name}"' for name in rows.column_names)
    if ignore:
        new: list[tuple[Any, ...]] = cur.execute(
            f"INSERT OR IGNORE INTO {table} ({columns}) SELECT {columns} FROM source RETURNING {key}"
        ).fetchall()
        return new
    try:
        cur.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM source")
    except duckdb.ConstraintException:
        raise Claimed from None
    return None


def client_ids(cur: duckdb.DuckDBPyConnection, keys: Sequence[Key], *, ignore: bool) -> set[Key]:
    """Record ``keys`` (distinct) in ``client_ids`` and answer those that were not there
    (see :func:`insert` for ``ignore`` and :class:`Claimed`)."""
    if not keys:
        return set()
    rows = pa.table({"property": [k[0] for k in keys], "id": [k[1] for k in keys]})
    new = insert(cur, "client_ids", rows, "property, id", ignore=ignore)
    return set(keys) if new is None else set(new)
