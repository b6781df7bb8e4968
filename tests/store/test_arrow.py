"""The loader's column-by-column table equals the reference mapping (rows.event_to_row,
one dict a row, through rows.to_arrow), on generated events and on the edge cases."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trackway.model import Commerce, Event, Item
from trackway.store import arrow, rows

# Values the column holds that Arrow refuses in the form they came in (more than 38 digits,
# or a large exponent on 0): stored at the column's scale, never a failed batch.
ODD = [Decimal("0E+30"), Decimal("1." + "0" * 40), Decimal("12345678901234567890123456789.123456789000000")]
text = st.one_of(st.none(), st.text(max_size=6))
amount = st.one_of(
    st.none(),
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-(10**6), max_value=10**6),
    st.sampled_from([Decimal("1e40"), Decimal("0.0000000001"), Decimal("1e28"), Decimal("-0"), *ODD]),
)
whole = st.one_of(st.none(), st.integers(-5, 5), st.sampled_from([2**63, -(2**63) - 1, 2**70]))
objects = st.dictionaries(st.text(max_size=3), st.one_of(st.integers(), st.text(max_size=3)), max_size=2)
when = st.one_of(st.none(), st.datetimes(timezones=st.just(UTC)))
items = st.builds(
    Item,
    item_id=text,
    item_name=text,
    price=amount,
    quantity=whole,
    discount=amount,
    index=whole,
    categories=st.lists(st.text(max_size=3), max_size=3),
    extras=objects,
)
commerce = st.builds(
    Commerce,
    currency=text,
    currency_filled=st.booleans(),
    value=amount,
    revenue=amount,
    tax=amount,
    transaction_id=text,
    items=st.one_of(st.none(), st.lists(items, max_size=3)),
)
events = st.builds(
    Event,
    name=st.text(min_size=1, max_size=5),
    dialect=st.sampled_from(["ga4-mp", "convead"]),
    id=st.text(max_size=5),
    property=st.just("p"),
    timestamp=when,
    received_at=when,
    anonymous_id=text,
    user_id=text,
    user=st.one_of(st.none(), objects),
    consent=st.one_of(st.none(), objects),
    context=st.one_of(st.none(), objects),
    commerce=st.one_of(st.none(), commerce),
    properties=objects,
    extras=objects,
)


def _reference(evs: list[Event], endpoints: list[str], first: int):
    return rows.to_arrow([rows.event_to_row(e, endpoints[n], first + n) for n, e in enumerate(evs)])


@settings(max_examples=150, deadline=None)
@given(st.lists(events, max_size=8), st.integers(0, 10**6))
def test_the_column_builder_equals_the_reference_mapping(evs, first):
    endpoints = [f"e{n % 3}" for n in range(len(evs))]
    got = arrow.table(evs, endpoints, first)
    want = _reference(evs, endpoints, first)
    assert got.schema == want.schema
    for name in want.column_names:
        assert got[name].to_pylist() == want[name].to_pylist(), name


@settings(max_examples=100, deadline=None)
@given(st.lists(events, min_size=2, max_size=8), st.lists(st.booleans(), min_size=8, max_size=8))
def test_objects_events_share_are_written_as_the_reference_writes_them(evs, shared):
    # the events of one request share their consent and context objects, which the builder
    # encodes once; an empty object shared, and equal objects not shared, come out the same
    for n in range(1, len(evs)):
        if shared[n]:
            before = evs[n - 1]
            evs[n] = msgspec.structs.replace(evs[n], consent=before.consent, context=before.context)
    endpoints = ["e"] * len(evs)
    got = arrow.table(evs, endpoints, 1)
    assert got.equals(_reference(evs, endpoints, 1))


def test_edge_cases_keep_their_exact_text_and_their_list_shapes():
    at = datetime(2026, 1, 2, tzinfo=UTC)
    evs = [
        Event(name="a", dialect="d", id="1", property="p", received_at=at),
        Event(
            name="b", dialect="d", id="2", property="p", commerce=Commerce(value=Decimal("1e40"), items=[])
        ),
        Event(
            name="c",
            dialect="d",
            id="3",
            property="p",
            commerce=Commerce(
                items=[Item(item_id="x", quantity=2**70), Item(item_name="y", price=Decimal("1.5"))]
            ),
        ),
    ]
    got = arrow.table(evs, ["e", "e", "e"], 7)
    assert got.equals(_reference(evs, ["e", "e", "e"], 7))
    listed = got.to_pylist()
    assert [r["seq"] for r in listed] == [7, 8, 9]
    assert listed[0]["items"] is None and listed[1]["items"] == []
    assert listed[1]["value"] is None and '"commerce.value":"1E+40"' in listed[1]["extras"]
    assert (
        listed[2]["items"][0]["quantity"] is None
        and '"items.0.quantity":"' + str(2**70) in listed[2]["extras"]
    )


def _amounts(evs: list[Event]) -> list[Any]:
    out: list[Any] = []
    for e in evs:
        if e.commerce is not None:
            out += [getattr(e.commerce, k) for k in rows.AMOUNTS]
            out += [v for it in e.commerce.items or () for v in (it.price, it.discount)]
    return out


@settings(max_examples=100, deadline=None)
@given(st.lists(events, min_size=1, max_size=8))
def test_a_batch_arrow_takes_as_it_is_gives_the_table_checked_value_by_value(evs):
    endpoints = ["e"] * len(evs)
    want = arrow._checked(evs, endpoints, 1)
    try:
        got = arrow._unchecked(evs, endpoints, 1)
    except arrow._REFUSED:  # refused only for a value that needs its exact text or its scale
        odd = {str(v) for v in ODD}
        assert "$exact" in str(want["extras"].to_pylist()) or odd & {str(v) for v in _amounts(evs)}
        return
    assert got.equals(want)


@pytest.mark.parametrize("value", ODD)
def test_an_amount_arrow_refuses_as_it_came_is_stored_exactly(value):
    at = datetime(2026, 1, 2, tzinfo=UTC)
    item = Item(item_id="x", price=value, quantity=1)
    e = Event(
        name="purchase",
        dialect="d",
        id="1",
        property="p",
        received_at=at,
        commerce=Commerce(value=value, items=[item]),
    )
    (row,) = arrow.table([e], ["e"], 1).to_pylist()
    assert row["value"] == value and row["items"][0]["price"] == value
    assert row["extras"] is None
