"""The derived tables in DuckDB: loading a batch's state, writing it back, rebuilding.

For each batch of stored events the loader (inside its transaction) prefetches the
rows those events can touch: the identities of their ids and every id of those
persons, their open carts and procedures, the orders of their transaction ids. The
engine runs on that :class:`MemoryState`; :func:`flush` writes back what changed:
removed procedure rows first, then person merges for rows not in memory (closed
carts, orders), then the changed rows, then the new history rows.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from operator import attrgetter
from typing import Any

import duckdb
import msgspec
import pyarrow as pa

from trackway.model import Event
from trackway.rules.identity import EDGES
from trackway.state.identity import aliases, usable
from trackway.state.keys import key as state_key
from trackway.state.keys import transaction_id
from trackway.state.memory import Dirty, MemoryState
from trackway.state.model import (
    Cart,
    Claim,
    Conflict,
    Identity,
    Line,
    Link,
    Order,
    OrderChange,
    Procedure,
    Step,
)
from trackway.store import claims, keyed
from trackway.store.rows import scaled

AMOUNT = "DECIMAL(38, 9)"
DDL = f"""
CREATE TABLE IF NOT EXISTS identities (
    property VARCHAR, kind VARCHAR, id VARCHAR, person_id VARCHAR,
    first_seen TIMESTAMPTZ, last_seen TIMESTAMPTZ, PRIMARY KEY (property, kind, id));
CREATE TABLE IF NOT EXISTS identity_links (
    property VARCHAR, anonymous_id VARCHAR, user_id VARCHAR, event_id VARCHAR, "at" TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS identity_conflicts (
    property VARCHAR, anonymous_id VARCHAR, user_id VARCHAR, other_user_id VARCHAR, event_id VARCHAR,
    "at" TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS carts (
    property VARCHAR, cart_id VARCHAR, person_id VARCHAR, status VARCHAR, opened_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ, closed_at TIMESTAMPTZ, transaction_id VARCHAR, merged_into VARCHAR,
    currency VARCHAR, "value" {AMOUNT}, lines JSON, events INTEGER, other_currency_lines INTEGER,
    PRIMARY KEY (property, cart_id));
CREATE TABLE IF NOT EXISTS orders (
    property VARCHAR, transaction_id VARCHAR, person_id VARCHAR, status VARCHAR, currency VARCHAR,
    "value" {AMOUNT}, revenue {AMOUNT}, tax {AMOUNT}, shipping {AMOUNT}, refunded {AMOUNT},
    lines JSON, created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ, purchased BOOLEAN, events INTEGER,
    subtotal {AMOUNT}, discount {AMOUNT}, total {AMOUNT}, refunded_items JSON, pending_refunds JSON,
    PRIMARY KEY (property, transaction_id));
CREATE TABLE IF NOT EXISTS order_history (
    property VARCHAR, transaction_id VARCHAR, seq BIGINT, event_id VARCHAR, name VARCHAR, status VARCHAR,
    "value" {AMOUNT}, refund {AMOUNT}, "at" TIMESTAMPTZ, note VARCHAR);
CREATE TABLE IF NOT EXISTS procedures (
    property VARCHAR, procedure_id VARCHAR, person_id VARCHAR, slug VARCHAR, category VARCHAR,
    target_type VARCHAR, target_id VARCHAR, steps JSON, success_at TIMESTAMPTZ, checkout_at TIMESTAMPTZ,
    transaction_id VARCHAR, "value" {AMOUNT}, currency VARCHAR, executed_at TIMESTAMPTZ,
    execution_id VARCHAR, first_at TIMESTAMPTZ, last_at TIMESTAMPTZ,
    PRIMARY KEY (property, procedure_id, person_id));
"""
# Each event with the person it belongs to, resolved when read: a guest's events belong
# to the user once the guest is linked, earlier events included. An event's user id wins
# over its anonymous id (two users on one device stay two people). Ids are keyed without
# the white space around them (state/keys.py), as the identities hold them.
_EDGES = " || ".join(f"chr({ord(c)})" for c in EDGES)
VIEW = f"""
CREATE OR REPLACE VIEW event_persons AS
SELECT e.*, coalesce(u.person_id, a.person_id) AS person_id
FROM events e
LEFT JOIN identities u ON u.property = e.property AND u.kind = 'user' AND u.id = trim(e.user_id, {_EDGES})
LEFT JOIN identities a
    ON a.property = e.property AND a.kind = 'anonymous' AND a.id = trim(e.anonymous_id, {_EDGES})
"""
# Columns a store written before them lacks: (table, column, type). The parts of
# trackway.amounts, then what refunds took back by item, the refunds waiting for their
# purchase and the history's notes (state/refunds.py), the carts' lines priced in another
# currency than theirs (state/carts.py). Any needs a rebuild: the orders' amounts (revenue
# included, which then held only what Commanders Act stated), refunds and carts' values
# are derived by rules those stores were not written with.
ADDED = (
    ("orders", "subtotal", AMOUNT),
    ("orders", "discount", AMOUNT),
    ("orders", "total", AMOUNT),
    ("orders", "refunded_items", "JSON"),
    ("orders", "pending_refunds", "JSON"),
    ("order_history", "note", "VARCHAR"),
    ("carts", "other_currency_lines", "INTEGER"),
)
TABLES = (
    "identities",
    "identity_links",
    "identity_conflicts",
    "carts",
    "orders",
    "order_history",
    "procedures",
)

_LIMIT = Decimal(10) ** 29
_json = msgspec.json.Encoder()  # decimals as strings: SQL reads them into exact DECIMALs
_lines = msgspec.json.Decoder(dict[str, Line], float_hook=Decimal)
_line_list = msgspec.json.Decoder(list[Line], float_hook=Decimal)
_units = msgspec.json.Decoder(dict[str, int])
_claims = msgspec.json.Decoder(list[Claim], float_hook=Decimal)
_steps = msgspec.json.Decoder(list[Step])


def _amount(value: Decimal | None) -> Decimal | None:
    """Derived amounts are rounded to the column's 9 decimals; from 10^29 (or not finite)
    they are NULL. Rounded in the events' columns' context (rows.scaled): the default
    context's 28 digits made every amount from 10^19 up NULL here, while Arrow took the
    same value as it is, so an order's amount depended on the other rows of its batch."""
    if value is None:
        return None
    try:
        return scaled(value) if value.copy_abs() < _LIMIT else None
    except InvalidOperation:
        return None


def upgrade(con: duckdb.DuckDBPyConnection) -> bool:
    """Add the ADDED columns to the tables of a store written before them (after DDL). True
    when any was added: the derived tables need a rebuild."""
    found = set(con.execute("SELECT table_name, column_name FROM duckdb_columns()").fetchall())
    absent = [(t, c, kind) for t, c, kind in ADDED if (t, c) not in found]
    for table, name, kind in absent:
        con.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
    return bool(absent)


_TIME = pa.timestamp("us", tz="UTC")
_DECIMAL = pa.decimal128(38, 9)


def _amounts(values: list[Decimal | None]) -> pa.Array:
    """Amounts as the tables' DECIMAL(38, 9). Arrow takes a value exactly or refuses it
    (more than 9 decimals, 10^29 or more, NaN); then every value is rounded by
    :func:`_amount`, as it always was: the common case costs no rounding."""
    try:
        return pa.array(values, _DECIMAL)
    except pa.ArrowInvalid:
        return pa.array([None if v is None else _amount(v) for v in values], _DECIMAL)


def _as_json(values: list[Any]) -> pa.Array:
    return pa.array([None if v is None else _json.encode(v).decode() for v in values], pa.string())


def _column(annotation: Any) -> Callable[[list[Any]], pa.Array]:
    """How a state struct's field of type ``annotation`` becomes an Arrow column."""
    kind = annotation
    if isinstance(annotation, types.UnionType):  # X | None
        (kind,) = (a for a in typing.get_args(annotation) if a is not type(None))
    if kind is Decimal:
        return _amounts
    if typing.get_origin(kind) in (dict, list):
        return _as_json
    type_ = {datetime: _TIME, bool: pa.bool_(), int: pa.int64(), str: pa.string()}[kind]
    return lambda values: pa.array(values, type_)


_columns: dict[type, list[tuple[str, Callable[[list[Any]], pa.Array]]]] = {}


def _table(kind: type[msgspec.Struct], structs: list[Any], **extra: pa.Array) -> pa.Table:
    """``structs`` (all of type ``kind``) as an Arrow table, typed column by column from
    the struct's fields (amounts by :func:`_amounts`, nested values as JSON), then the
    ``extra`` columns. Building typed columns costs about a tenth of
    ``pa.Table.from_pylist`` on rows, which infers every value's type: that was 7 us a
    row of ``orders``, the largest part of writing a batch's state."""
    spec = _columns.get(kind)
    if spec is None:
        hints = typing.get_type_hints(kind)
        spec = _columns[kind] = [(f, _column(hints[f])) for f in kind.__struct_fields__]
    names = [name for name, _ in spec] + list(extra)
    arrays = [column(list(map(attrgetter(name), structs))) for name, column in spec] + list(extra.values())
    return pa.Table.from_arrays(arrays, names=names)


def _fetch(
    cur: duckdb.DuckDBPyConnection, query: str, params: list[Any] | None = None, **tables: pa.Table
) -> list[dict[str, Any]]:
    """Rows as dicts through Arrow (typed; TIMESTAMPTZ needs no pytz); ``tables`` are Arrow
    tables the query reads by name."""
    for name, table in tables.items():
        cur.register(name, table)
    try:
        return keyed.dicts(cur, query, params)
    finally:
        for name in tables:
            cur.unregister(name)


def _cart(row: dict[str, Any]) -> Cart:
    row.pop("value", None)
    row.pop("other_currency_lines", None)
    row["lines"] = _lines.decode(row["lines"]) if row["lines"] else {}
    return Cart(**row)


def _order(row: dict[str, Any]) -> Order:
    row["lines"] = _line_list.decode(row["lines"]) if row["lines"] else []
    row["refunded_items"] = _units.decode(row["refunded_items"]) if row["refunded_items"] else {}
    row["pending_refunds"] = _claims.decode(row["pending_refunds"]) if row["pending_refunds"] else []
    return Order(**row)


def _procedure(row: dict[str, Any]) -> Procedure:
    row["steps"] = _steps.decode(row["steps"]) if row["steps"] else []
    return Procedure(**row)


def prefetch(
    cur: duckdb.DuckDBPyConnection, events: list[Event], sizes: dict[str, int] | None = None
) -> MemoryState:
    """The stored state ``events`` can touch. ``sizes``: the tables' row counts
    (store/keyed.py), when known."""
    state = MemoryState()
    keys: set[tuple[str, str, str]] = set()
    txids: set[tuple[str, str]] = set()
    procs: set[tuple[str, str]] = set()
    for e in events:
        for kind, value in (("anonymous", e.anonymous_id), ("user", e.user_id)):
            v = usable(value)
            if v is not None:
                keys.add((e.property, kind, v))
        keys.update((e.property, "anonymous", alias) for alias in aliases(e))
        txid = transaction_id(e)
        if txid is not None:
            txids.add((e.property, txid))
        proc = e.properties.get("procedure_id")
        if isinstance(proc, str) and proc:
            procs.add((e.property, proc))
    size = keyed.sizes(cur) if sizes is None else sizes
    ident = ("property", "kind", "id")
    found = keyed.select(cur, "identities", ident, keys, table_rows=size.get("identities", 0))
    persons = {(r["property"], r["person_id"]) for r in found}
    if persons:
        person = ("property", "person_id")
        for row in keyed.select(cur, "identities", person, persons, table_rows=size.get("identities", 0)):
            state.add_identity(Identity(**row))
        carts = keyed.select(
            cur, "carts", person, persons, table_rows=size.get("carts", 0), condition="status = 'open'"
        )
        for row in carts:
            state.add_cart(_cart(row))
        for row in keyed.select(cur, "procedures", person, persons, table_rows=size.get("procedures", 0)):
            state.add_procedure(_procedure(row))
    guests = keyed.select(
        cur,
        "procedures",
        ("property", "procedure_id"),
        procs,
        table_rows=size.get("procedures", 0),
        condition="person_id = ''",
    )
    for row in guests:
        state.add_procedure(_procedure(row))
    orders = ("property", "transaction_id")
    for row in keyed.select(cur, "orders", orders, txids, table_rows=size.get("orders", 0)):
        state.add_order(_order(row))
    state.loaded = Dirty(set(state.identities), set(state.carts), set(state.orders), set(state.procedures))
    return state


# Each state table's key (its primary key), by which a changed row replaces the stored one.
KEYS = {
    "identities": ("property", "kind", "id"),
    "carts": ("property", "cart_id"),
    "orders": ("property", "transaction_id"),
    "procedures": ("property", "procedure_id", "person_id"),
}


def flush(
    cur: duckdb.DuckDBPyConnection,
    state: MemoryState,
    sizes: dict[str, int] | None = None,
    *,
    plain: bool = False,
) -> None:
    """Write back what the engine changed (inside the caller's transaction). ``sizes``: the
    tables' row counts (store/keyed.py), when known.

    With ``plain``, a changed row whose key was not loaded (:attr:`MemoryState.loaded`) is
    inserted with a plain ``INSERT``, which costs a fifth to a half of the ``INSERT OR
    REPLACE`` (or look-up and update) a stored row takes. If such a key is stored after
    all (a closed cart is not loaded), DuckDB refuses the statement and aborts the
    transaction, and :func:`claims.insert` raises :class:`~trackway.store.claims.Claimed`:
    the caller runs the transaction again without ``plain`` (store/duck.py), and every row
    is written as before."""
    for prop, proc_id, person in sorted(state.removed_procedures):
        cur.execute(
            "DELETE FROM procedures WHERE property = ? AND procedure_id = ? AND person_id = ?",
            [prop, proc_id, person],
        )
    for prop, source, target in state.merges:
        for table in ("carts", "orders", "procedures"):
            cur.execute(
                f"UPDATE {table} SET person_id = ? WHERE property = ? AND person_id = ?",
                [target, prop, source],
            )
        cur.execute(
            "UPDATE identities SET person_id = ? WHERE property = ? AND person_id = ?", [target, prop, source]
        )
    d, loaded = state.dirty, state.loaded
    size = keyed.sizes(cur) if sizes is None else sizes

    def write(table: str, keys: set[Any], stored: set[Any], rows: Callable[[list[Any]], pa.Table]) -> None:
        ordered = sorted(keys)
        if plain:
            fresh = [k for k in ordered if k not in stored]
            if fresh:  # raises Claimed when one is stored after all
                claims.insert(cur, table, rows(fresh), ", ".join(KEYS[table]), ignore=False)
            ordered = [k for k in ordered if k in stored]
        if ordered:
            keyed.upsert(cur, table, KEYS[table], rows(ordered), table_rows=size.get(table, 0))

    def cart_rows(keys: list[Any]) -> pa.Table:
        carts = [state.carts[k] for k in keys]
        others = pa.array([c.other_currency_lines for c in carts], pa.int32())
        return _table(Cart, carts, value=_amounts([c.value for c in carts]), other_currency_lines=others)

    write(
        "identities",
        d.identities,
        loaded.identities,
        lambda ks: _table(Identity, [state.identities[k] for k in ks]),
    )
    write("carts", d.carts, loaded.carts, cart_rows)
    write("orders", d.orders, loaded.orders, lambda ks: _table(Order, [state.orders[k] for k in ks]))
    procedures = {k for k in d.procedures if k in state.procedures}
    write(
        "procedures",
        procedures,
        loaded.procedures,
        lambda ks: _table(Procedure, [state.procedures[k] for k in ks]),
    )
    keyed.insert(cur, "identity_links", _table(Link, state.links))
    keyed.insert(cur, "identity_conflicts", _table(Conflict, state.conflicts))
    keyed.insert(cur, "order_history", _table(OrderChange, state.history))
    for prop, txid, seq, refund, note in state.revalued:  # refunds valued when their purchase came
        cur.execute(
            "UPDATE order_history SET refund = ?, note = ? "
            "WHERE seq = ? AND property = ? AND transaction_id = ?",
            [_amount(refund), note, seq, prop, txid],
        )


def write_all(cur: duckdb.DuckDBPyConnection, state: MemoryState) -> None:
    """A rebuilt state, into emptied tables."""
    for table in TABLES:
        cur.execute(f"DELETE FROM {table}")
    state.removed_procedures.clear()
    state.merges.clear()
    state.dirty.identities = set(state.identities)
    state.dirty.carts = set(state.carts)
    state.dirty.orders = set(state.orders)
    state.dirty.procedures = set(state.procedures)
    flush(cur, state, {})  # emptied: no row is replaced


def person_keys(cur: duckdb.DuckDBPyConnection, prop: str, person_id: str) -> list[int]:
    """The person keys whose events are this person's: their own and those of the guests
    merged into them (store/persons.py). Empty for a store written before the keys."""
    own = _fetch(
        cur, "SELECT person_key FROM persons WHERE property = ? AND person_id = ?", [prop, person_id]
    )
    if not own or own[0]["person_key"] is None:
        return []
    key = int(own[0]["person_key"])
    merged = _fetch(cur, "SELECT person_key FROM persons WHERE merged_into = ?", [key])
    return [key, *(int(r["person_key"]) for r in merged)]


def identity(cur: duckdb.DuckDBPyConnection, value: str, prop: str | None) -> list[dict[str, Any]]:
    """Every person an id (anonymous or user) belongs to: its ids, the links and conflicts
    of those ids, and its event counts by name."""
    ids = list({value, state_key(value)})  # the state keys ids without the spaces around them
    where = "list_contains(?, id)"
    params: list[Any] = [ids]
    if prop:
        where, params = where + " AND property = ?", [ids, prop]
    people = _fetch(
        cur, f"SELECT DISTINCT property, person_id FROM identities WHERE {where} ORDER BY ALL", params
    )
    return [graph for p in people if (graph := person_graph(cur, p["property"], p["person_id"])) is not None]


def person_graph(cur: duckdb.DuckDBPyConnection, prop: str, person_id: str) -> dict[str, Any] | None:
    """One person's ids, the links and conflicts of those ids, and their event counts by
    name; None when no id is theirs."""
    key = [prop, person_id]
    ids = _fetch(
        cur,
        "SELECT kind, id, first_seen, last_seen FROM identities "
        "WHERE property = ? AND person_id = ? ORDER BY ALL",
        key,
    )
    if not ids:
        return None
    anons = [r["id"] for r in ids if r["kind"] == "anonymous"]
    users = [r["id"] for r in ids if r["kind"] == "user"]
    links = _fetch(
        cur,
        'SELECT anonymous_id, user_id, event_id, "at" FROM identity_links WHERE property = ? '
        'AND (list_contains(?, anonymous_id) OR list_contains(?, user_id)) ORDER BY "at", event_id',
        [key[0], anons, users],
    )
    conflicts = _fetch(
        cur,
        'SELECT anonymous_id, user_id, other_user_id, event_id, "at" FROM identity_conflicts '
        "WHERE property = ? AND (list_contains(?, anonymous_id) OR list_contains(?, user_id) "
        'OR list_contains(?, other_user_id)) ORDER BY "at", event_id',
        [key[0], anons, users, users],
    )
    found = person_keys(cur, key[0], key[1])
    counts = (
        _fetch(
            cur,
            f"SELECT name, count(*) AS n FROM events WHERE seq >= ? AND person_key IN "
            f"({', '.join('?' * len(found))}) GROUP BY name ORDER BY n DESC, name",
            [min(found), *found],
        )
        if found
        else _fetch(  # a store written before the person keys (store/persons.py)
            cur,
            "SELECT name, count(*) AS n FROM event_persons WHERE property = ? AND person_id = ? "
            "GROUP BY name ORDER BY n DESC, name",
            key,
        )
    )
    return {
        "property": key[0],
        "person_id": key[1],
        "ids": ids,
        "links": links,
        "conflicts": conflicts,
        "events": {r["name"]: r["n"] for r in counts},
    }


# Order statuses left out of revenue unless asked for (Commanders Act: "Conversions with
# status pending are not included in default sum and counts"; canceled ones were not sales).
EXCLUDED_STATUSES = ("pending", "canceled")


def revenue(
    cur: duckdb.DuckDBPyConnection, prop: str, *, include: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """Per currency: orders, gross (their revenue: after discount, tax and shipping excluded,
    as docs/reports.md defines it), refunds and net, leaving out the EXCLUDED_STATUSES not in
    ``include``. Never summed across currencies."""
    excluded = [s for s in EXCLUDED_STATUSES if s not in include]
    return _fetch(
        cur,
        "SELECT currency, count(*) AS orders, sum(coalesce(revenue, 0)) AS gross, sum(refunded) AS refunds, "
        "sum(coalesce(revenue, 0)) - sum(refunded) AS net FROM orders WHERE property = ? AND purchased "
        "AND NOT list_contains(?, coalesce(status, '')) GROUP BY currency ORDER BY currency",
        [prop, excluded],
    )


def state_rows(cur: duckdb.DuckDBPyConnection, table: str) -> list[dict[str, Any]]:
    """Every row of a derived table in a stable order (tests compare ingest and rebuild)."""
    return _fetch(cur, f"SELECT * FROM {table} ORDER BY ALL")
