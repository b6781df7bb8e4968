"""The one mapping between a canonical event and a row of the ``events`` table.

Amounts are ``DECIMAL(38, 9)`` and the commerce fields and items are typed columns
(items a list of structs), so reports scan columns rather than JSON; the objects
with free keys (user, consent, context, properties, extras) are JSON. An amount the
column cannot hold exactly (more than 9 decimals, or beyond 10^29) or a whole number
beyond 64 bits is stored as NULL with its exact value in ``extras["$exact"]``, and
:func:`row_to_event` puts it back: nothing is rounded away.
"""

from __future__ import annotations

from decimal import Context, Decimal, InvalidOperation
from typing import Any

import msgspec
import pyarrow as pa

from trackway.model import Commerce, Event, Item

SCALE = 9
_Q = Decimal(1).scaleb(-SCALE)
_LIMIT = Decimal(10) ** (38 - SCALE)
INT64 = 2**63
_WIDE = Context(prec=38)  # the default 28 digits raise in quantize from 10^19 up (10^19 + 9 decimals)
DEC = pa.decimal128(38, SCALE)
TS = pa.timestamp("us", tz="UTC")

AMOUNTS = ("value", "revenue", "tax", "shipping", "discount")
STRINGS = ("coupon", "transaction_id", "payment_method", "shipping_tier", "status", "type", "affiliation")
ITEM_AMOUNTS = ("price", "discount")
ITEM_INTS = ("quantity", "index")
ITEM_STRINGS = (
    "item_id",
    "item_name",
    "product_id",
    "coupon",
    "currency",
    "brand",
    "variant",
    "list_id",
    "list_name",
    "affiliation",
    "url",
    "image_url",
)
JSON_OBJECTS = ("user", "consent", "context", "properties", "extras")

ITEM_TYPE = pa.struct(
    [(k, pa.string()) for k in ITEM_STRINGS]
    + [(k, DEC) for k in ITEM_AMOUNTS]
    + [(k, pa.int64()) for k in ITEM_INTS]
    + [("categories", pa.list_(pa.string())), ("extras", pa.string())]
)

SCHEMA = pa.schema(
    [
        ("seq", pa.int64()),
        ("id", pa.string()),
        ("property", pa.string()),
        ("name", pa.string()),
        ("dialect", pa.string()),
        ("endpoint", pa.string()),
        ("timestamp", TS),
        ("received_at", TS),
        ("anonymous_id", pa.string()),
        ("user_id", pa.string()),
        ("has_commerce", pa.bool_()),
        ("currency", pa.string()),
        ("currency_filled", pa.bool_()),
        *[(k, DEC) for k in AMOUNTS],
        *[(k, pa.string()) for k in STRINGS],
        ("items", pa.list_(ITEM_TYPE)),
        *[(k, pa.string()) for k in JSON_OBJECTS],
    ]
)
COLUMNS = tuple(SCHEMA.names)
QUOTED_COLUMNS = ", ".join(f'"{c}"' for c in COLUMNS)

_json = msgspec.json.Encoder(decimal_format="number")
_json_decode = msgspec.json.Decoder(float_hook=Decimal)


def holds(value: Decimal) -> bool:
    """Whether DECIMAL(38, 9) holds ``value`` exactly. Prices repeat, so the answers for
    finite values are remembered (equal numbers get the same answer), up to a bound."""
    known = _HELD.get(value) if value.is_finite() else False
    if known is not None:
        return known
    try:
        held = value.copy_abs() < _LIMIT and value.quantize(_Q, context=_WIDE) == value  # abs() rounds to 28
    except InvalidOperation:
        held = False
    if len(_HELD) < _HELD_MAX:
        _HELD[value] = held
    return held


_HELD: dict[Decimal, bool] = {}
_HELD_MAX = 65_536


def scaled(value: Decimal) -> Decimal:
    """A value the column holds (:func:`holds`) at the column's scale: Arrow refuses some
    forms of such values as they are (``0E+30``, ``1.000...`` with more than 38 digits)."""
    return value.quantize(_Q, context=_WIDE)


def _exact(value: Decimal | int, where: str, exact: dict[str, str]) -> Any:
    """NULL for a value the column cannot hold, its text kept in ``exact`` under ``where``."""
    exact[where] = str(value)
    return None


def _item_row(n: int, item: Item, exact: dict[str, str]) -> dict[str, Any]:
    r = msgspec.structs.asdict(item)  # every field, in C; then what the column types need
    for k in ITEM_AMOUNTS:
        v = r[k]
        if v is not None:
            r[k] = scaled(v) if holds(v) else _exact(v, f"items.{n}.{k}", exact)
    for k in ITEM_INTS:
        v = r[k]
        if v is not None and not -INT64 <= v < INT64:
            r[k] = _exact(v, f"items.{n}.{k}", exact)
    r["categories"] = r["categories"] or None
    r["extras"] = _dump(r["extras"])
    return r


def _dump(value: Any) -> str | None:
    return _json.encode(value).decode() if value else None


def event_to_row(event: Event, endpoint: str, seq: int = 0) -> dict[str, Any]:
    """The row of ``event``; ``seq`` is its place in the store's order (what the derived
    state is computed in)."""
    exact: dict[str, str] = {}
    c = event.commerce
    row: dict[str, Any] = {
        "seq": seq,
        "id": event.id,
        "property": event.property,
        "name": event.name,
        "dialect": event.dialect,
        "endpoint": endpoint,
        "timestamp": event.timestamp,
        "received_at": event.received_at,
        "anonymous_id": event.anonymous_id,
        "user_id": event.user_id,
        "has_commerce": c is not None,
        "currency": c.currency if c else None,
        "currency_filled": c.currency_filled if c else None,
        "items": None,
    }
    if c is None:
        for k in AMOUNTS:
            row[k] = None
        for k in STRINGS:
            row[k] = None
    else:
        for k in AMOUNTS:
            v = getattr(c, k)
            row[k] = v if v is None else scaled(v) if holds(v) else _exact(v, f"commerce.{k}", exact)
        for k in STRINGS:
            row[k] = getattr(c, k)
        if c.items is not None:
            row["items"] = [_item_row(n, it, exact) for n, it in enumerate(c.items)]
    extras = event.extras
    if exact:
        extras = {**extras, "$exact": exact}
    for k in JSON_OBJECTS:
        row[k] = _dump(extras if k == "extras" else getattr(event, k))
    return row


def to_arrow(rows: list[dict[str, Any]]) -> pa.Table:
    """The rows as an Arrow table, built column by column (measured faster than
    ``Table.from_pylist``, which looks every key up per row)."""
    return pa.Table.from_arrays(
        [pa.array([r[f.name] for r in rows], type=f.type) for f in SCHEMA], schema=SCHEMA
    )


def tidy(value: Decimal) -> Decimal:
    """``16.000000000`` (as DECIMAL(38, 9) gives it back) -> ``16``; ``0.500000000`` -> ``0.5``."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def _load(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        return _json_decode.decode(value)
    return value


def row_to_event(row: dict[str, Any]) -> Event:
    """The canonical event a row holds (the inverse of :func:`event_to_row`)."""
    extras = _load(row.get("extras")) or {}
    exact: dict[str, str] = extras.pop("$exact", {})
    commerce = None
    if row.get("has_commerce"):
        values = {k: row[k] for k in STRINGS if row.get(k) is not None}
        values |= {k: tidy(row[k]) for k in AMOUNTS if row.get(k) is not None}
        for k in AMOUNTS:
            if f"commerce.{k}" in exact:
                values[k] = Decimal(exact[f"commerce.{k}"])
        commerce = Commerce(
            currency=row.get("currency"), currency_filled=bool(row.get("currency_filled")), **values
        )
        if row.get("items") is not None:
            commerce.items = [_item(n, r, exact) for n, r in enumerate(row["items"])]
    event = Event(
        name=row["name"],
        dialect=row.get("dialect") or "",
        id=row["id"],
        property=row["property"],
        timestamp=row.get("timestamp"),
        received_at=row.get("received_at"),
        anonymous_id=row.get("anonymous_id"),
        user_id=row.get("user_id"),
        user=_load(row.get("user")),
        consent=_load(row.get("consent")),
        context=_load(row.get("context")),
        commerce=commerce,
        properties=_load(row.get("properties")) or {},
        extras=extras,
    )
    return event


def _item(n: int, r: dict[str, Any], exact: dict[str, str]) -> Item:
    values = {k: r[k] for k in (*ITEM_STRINGS, *ITEM_INTS) if r.get(k) is not None}
    values |= {k: tidy(r[k]) for k in ITEM_AMOUNTS if r.get(k) is not None}
    for k in ITEM_AMOUNTS:
        if f"items.{n}.{k}" in exact:
            values[k] = Decimal(exact[f"items.{n}.{k}"])
    for k in ITEM_INTS:
        if f"items.{n}.{k}" in exact:
            values[k] = int(exact[f"items.{n}.{k}"])
    return Item(categories=list(r.get("categories") or []), extras=_load(r.get("extras")) or {}, **values)
