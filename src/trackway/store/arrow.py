"""Events into an Arrow table column by column: the loader's hot path.

:func:`trackway.store.rows.event_to_row` is the reference mapping (one dict per row,
one per item, turned into columns by :func:`~trackway.store.rows.to_arrow`). For the
loader's batches this module builds the same table without the dicts: each field goes
straight to its column, and the items become one flat struct array with list offsets,
so pyarrow never looks keys up per row or per item.

A batch is first built without looking at its amounts and whole numbers: Arrow refuses
any the columns cannot hold exactly, and only then is the batch built again value by
value, each such value stored as NULL with its text in ``extras["$exact"]``. A value Arrow
takes is one the column holds, so both give the same table; skipping the checks took an
MP purchase with 3 items from 11.7 to 8.7 us. ``tests/store/test_arrow.py`` checks
on generated events that the table equals the reference mapping's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
import pyarrow as pa

from trackway.model import Event, Item
from trackway.store.rows import (
    AMOUNTS,
    INT64,
    ITEM_AMOUNTS,
    ITEM_INTS,
    ITEM_TYPE,
    JSON_OBJECTS,
    SCHEMA,
    STRINGS,
    holds,
    scaled,
)

_json = msgspec.json.Encoder(decimal_format="number")
_ITEM_FIELDS = Item.__struct_fields__
_ITEM_AT = {name: n for n, name in enumerate(_ITEM_FIELDS)}
_ITEM_CHILDREN = [(_ITEM_AT[f.name], f.type) for f in ITEM_TYPE]
_CATEGORIES = _ITEM_AT["categories"]
_EXTRAS = _ITEM_AT["extras"]
_CHECKED = [(k, _ITEM_AT[k], True) for k in ITEM_AMOUNTS] + [(k, _ITEM_AT[k], False) for k in ITEM_INTS]


def _dump(value: Any) -> bytes | None:
    return _json.encode(value) if value else None


def _dumped(values: Sequence[Any]) -> list[bytes | None]:
    """Each object's JSON, None for an empty one. An object the one before shares is
    encoded once: the events of one request share their consent and context objects
    (the loader's privacy step derives them once a request), so a batch of MP requests
    of 25 events encodes each 800 times instead of 20,000 (16 of a table's 192 ms)."""
    out: list[bytes | None] = []
    last: Any = None
    text: bytes | None = None
    for value in values:
        if value is not last:
            last, text = value, _dump(value)
        out.append(text)
    return out


def _exact_amount(value: Any) -> bool:
    return value is None or holds(value)


def _exact_int(value: Any) -> bool:
    return value is None or -INT64 <= value < INT64


_REFUSED = (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError)
_TOP = ("id", "property", "name", "dialect", "timestamp", "received_at", "anonymous_id", "user_id")


def table(events: Sequence[Event], endpoints: Sequence[str], first_seq: int) -> pa.Table:
    """The ``events`` rows of ``events`` (``endpoints[n]`` the endpoint of the n-th),
    numbered from ``first_seq``: equal to ``rows.to_arrow`` of ``rows.event_to_row``."""
    try:
        return _unchecked(events, endpoints, first_seq)
    except _REFUSED:  # a value the columns cannot hold exactly: value by value
        return _checked(events, endpoints, first_seq)


def _unchecked(events: Sequence[Event], endpoints: Sequence[str], first_seq: int) -> pa.Table:
    """The table, every value as it is (Arrow raises on one the columns cannot hold)."""
    n = len(events)
    cols: dict[str, list[Any]] = {k: [getattr(e, k) for e in events] for k in _TOP}
    commerce = [e.commerce for e in events]
    cols["has_commerce"] = [c is not None for c in commerce]
    for k in ("currency", "currency_filled", *AMOUNTS, *STRINGS):
        cols[k] = [None if c is None else getattr(c, k) for c in commerce]
    present: list[Any] = []
    offsets = [0]
    flat: list[tuple[Any, ...]] = []
    astuple = msgspec.structs.astuple
    for c in commerce:
        its = None if c is None else c.items
        present.append(its)
        if its:
            flat.extend(map(astuple, its))
        offsets.append(len(flat))
    for k in JSON_OBJECTS:
        cols[k] = _dumped([getattr(e, k) for e in events])
    cols["seq"] = list(range(first_seq, first_seq + n))
    cols["endpoint"] = list(endpoints)
    arrays = [
        _items(present, offsets, flat) if f.name == "items" else pa.array(cols[f.name], type=f.type)
        for f in SCHEMA
    ]
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def _checked(events: Sequence[Event], endpoints: Sequence[str], first_seq: int) -> pa.Table:
    """The table, each amount and whole number checked: one the column cannot hold is
    NULL, with its text in ``extras["$exact"]``."""
    n = len(events)
    cols: dict[str, list[Any]] = {f.name: [] for f in SCHEMA}
    ids, props, names, dialects = cols["id"], cols["property"], cols["name"], cols["dialect"]
    stamps, received, anon, users = (
        cols["timestamp"],
        cols["received_at"],
        cols["anonymous_id"],
        cols["user_id"],
    )
    has, currency, filled, items_col = (
        cols["has_commerce"],
        cols["currency"],
        cols["currency_filled"],
        cols["items"],
    )
    amounts = [(k, cols[k]) for k in AMOUNTS]
    strings = [(k, cols[k]) for k in STRINGS]
    objects = [(k, cols[k]) for k in JSON_OBJECTS]
    offsets = [0]
    flat: list[tuple[Any, ...]] = []
    for e in events:
        exact: dict[str, str] = {}
        ids.append(e.id)
        props.append(e.property)
        names.append(e.name)
        dialects.append(e.dialect)
        stamps.append(e.timestamp)
        received.append(e.received_at)
        anon.append(e.anonymous_id)
        users.append(e.user_id)
        c = e.commerce
        if c is None:
            has.append(False)
            currency.append(None)
            filled.append(None)
            items_col.append(None)
            for _, col in amounts:
                col.append(None)
            for _, col in strings:
                col.append(None)
        else:
            has.append(True)
            currency.append(c.currency)
            filled.append(c.currency_filled)
            for k, col in amounts:
                v = getattr(c, k)
                if v is None or holds(v):
                    col.append(v if v is None else scaled(v))
                else:
                    exact[f"commerce.{k}"] = str(v)
                    col.append(None)
            for k, col in strings:
                col.append(getattr(c, k))
            its = c.items
            if its is None:
                items_col.append(None)
            else:
                items_col.append(True)  # a list: its values come from the offsets
                for i, item in enumerate(its):
                    values = msgspec.structs.astuple(item)
                    for k, at, amount in _CHECKED:
                        v = values[at]
                        if not (_exact_amount(v) if amount else _exact_int(v)):
                            values = (*values[:at], None, *values[at + 1 :])
                            exact[f"items.{i}.{k}"] = str(v)
                        elif amount and v is not None:
                            values = (*values[:at], scaled(v), *values[at + 1 :])
                    flat.append(values)
        offsets.append(len(flat))
        extras = {**e.extras, "$exact": exact} if exact else e.extras
        for k, col in objects:
            col.append(_dump(extras if k == "extras" else getattr(e, k)))
    cols["seq"] = list(range(first_seq, first_seq + n))
    cols["endpoint"] = list(endpoints)
    arrays = []
    for f in SCHEMA:
        if f.name == "items":
            arrays.append(_items(items_col, offsets, flat))
        else:
            arrays.append(pa.array(cols[f.name], type=f.type))
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def _items(present: list[Any], offsets: list[int], flat: list[tuple[Any, ...]]) -> pa.Array:
    children = []
    fields: list[Sequence[Any]] = list(zip(*flat, strict=True)) if flat else [()] * len(_ITEM_FIELDS)
    for at, kind in _ITEM_CHILDREN:
        values = fields[at]
        if at == _CATEGORIES:
            values = [v or None for v in values]
        elif at == _EXTRAS:
            values = _dumped(values)
        children.append(pa.array(values, type=kind))
    struct = pa.StructArray.from_arrays(children, fields=list(ITEM_TYPE))
    mask = pa.array([p is None for p in present], type=pa.bool_())
    return pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), struct, mask=mask)
