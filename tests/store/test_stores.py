"""The event <-> row mapping is exact, and DuckDB and the memory store behave alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import trackway
from tests.support.logrecords import decoded_record
from tests.support.specs import all_examples
from trackway.ingest import records
from trackway.ingest.log import Position
from trackway.model import Commerce, Event, Item
from trackway.store import rows
from trackway.store.base import Query
from trackway.store.duck import DuckStore
from trackway.store.memory import MemoryStore

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["duckdb", "memory"])
def store(request):
    s = DuckStore(":memory:") if request.param == "duckdb" else MemoryStore()
    yield s
    s.close()


def through_duckdb(events):
    store = DuckStore(":memory:")
    record = records.Record(
        kind=records.DECODED,
        request_id=str(records.uuid7()),
        endpoint="/collect",
        property="p",
        received_at=records.micros(NOW),
    )
    out = records.Outcome(events=events, client_ids=[False] * len(events))
    store.load([(record, out)], {})
    found = store.events(Query(limit=10_000))
    store.close()
    return found


def finalized(event, n=0):
    event.id = event.id or f"id-{n}"
    event.property = "p"
    event.received_at = event.timestamp = NOW
    return event


EXAMPLES = [e for e in all_examples() if e.dialect != "custom"]


def test_every_spec_example_survives_the_table_exactly():
    events = [
        finalized(e, n) for n, x in enumerate(EXAMPLES) for e in trackway.decode(x.dialect, x.value).events
    ]
    back = {e.id: e for e in through_duckdb([msgspec_copy(e) for e in events])}
    for e in events:
        assert trackway.to_json(back[e.id]) == trackway.to_json(_tidy(e)), e.name


def msgspec_copy(event):
    return trackway.from_json(trackway.to_json(event))


def _tidy(event):
    """Numbers as the table gives them back: the same value, trailing zeros dropped."""
    data = trackway.model.to_builtins(event)

    def walk(v):
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, Decimal):
            return rows.tidy(v)
        return v

    c = data.get("commerce")
    if c:
        for k in rows.AMOUNTS:
            if k in c:
                c[k] = rows.tidy(c[k])
        for it in c.get("items") or []:
            for k in rows.ITEM_AMOUNTS:
                if k in it:
                    it[k] = rows.tidy(it[k])
    return trackway.from_json(trackway.model.encode_json(data))


@pytest.mark.parametrize(
    "amount",
    [Decimal("0.0000000001"), Decimal("123456789012345678901234567890.5"), Decimal("-0"), Decimal("1E+40")],
)
def test_amounts_the_column_cannot_hold_are_kept_exactly(amount):
    item = Item(item_id="a", price=amount, quantity=2**70)
    event = finalized(
        Event(
            name="purchase", dialect="gtm-ga4", commerce=Commerce(currency="EUR", value=amount, items=[item])
        )
    )
    [back] = through_duckdb([event])
    assert back.commerce.value == amount
    assert back.commerce.items[0].price == amount
    assert back.commerce.items[0].quantity == 2**70
    assert "$exact" not in back.extras


@settings(max_examples=60, deadline=None)
@given(
    value=st.decimals(min_value=-(10**20), max_value=10**20, places=4, allow_nan=False),
    qty=st.integers(-(2**63), 2**63 - 1),
)
def test_generated_amounts_round_trip(value, qty):
    event = finalized(
        Event(
            name="add_to_cart",
            dialect="gtm-ga4",
            commerce=Commerce(value=value, items=[Item(item_id="x", quantity=qty)]),
        )
    )
    [back] = through_duckdb([event])
    assert back.commerce.value == value
    assert back.commerce.items[0].quantity == qty


def _record(prop="p", endpoint="/collect", at=NOW):
    return decoded_record(at, prop, endpoint)


def _event(name, prop="p", eid="", at=NOW):
    return Event(name=name, dialect="gtm-ga4", id=eid, property=prop, received_at=at, timestamp=at)


def test_load_dedups_client_ids_and_moves_positions_together(store):
    first = records.Outcome(events=[_event("a", eid="c1"), _event("b", eid="t1")], client_ids=[True, False])
    again = records.Outcome(
        events=[_event("a", eid="c1"), _event("a", eid="c1"), _event("c", prop="q", eid="c1")],
        client_ids=[True, True, True],
    )
    r1 = store.load([(_record(), first)], {"w1": Position(1, 10)})
    r2 = store.load([(_record(), again)], {"w1": Position(1, 20), "w2": Position(3, 0)})
    assert (r1.stored, r1.duplicates, r2.stored, r2.duplicates) == (2, 0, 1, 2)
    assert store.positions() == {"w1": Position(1, 20), "w2": Position(3, 0)}
    assert sorted((e.property, e.id) for e in store.events(Query())) == [
        ("p", "c1"),
        ("p", "t1"),
        ("q", "c1"),
    ]


def test_queries_filter_by_property_name_and_time(store):
    events = [_event("view_item", at=NOW - timedelta(hours=h), eid=f"e{h}") for h in range(5)] + [
        _event("purchase", prop="q", eid="x")
    ]
    store.load([(_record(), records.Outcome(events=events, client_ids=[False] * len(events)))], {})
    assert [e.id for e in store.events(Query(property="p", limit=2))] == ["e0", "e1"]
    assert [e.id for e in store.events(Query(names=("purchase",)))] == ["x"]
    since = store.events(Query(property="p", since=NOW - timedelta(hours=2, minutes=30)))
    assert [e.id for e in since] == ["e0", "e1", "e2"]
    assert store.count("events", Query(until=NOW - timedelta(hours=3))) == 1  # until is excluded
    pages, after = [], None
    while batch := store.page("events", Query(limit=2), after):
        pages.append([r["id"] for r in batch])
        after = (datetime.fromisoformat(batch[-1]["received_at"].replace("Z", "+00:00")), batch[-1]["id"])
    assert pages == [["e4", "e3"], ["e2", "e1"], ["e0", "x"]]  # oldest first; ties by id


def test_sql_is_read_only():
    store = DuckStore(":memory:")
    try:
        _check_read_only(store)
    finally:
        store.close()


def _check_read_only(store):
    assert store.sql("SELECT 1 + 1 AS two") == (["two"], [(2,)])
    for query in (
        "DELETE FROM events",
        "DROP TABLE events",
        "INSERT INTO events (id) VALUES ('x')",
        "SELECT 1; DELETE FROM events",
        "COPY events TO '/tmp/x.csv'",
        "ATTACH '/tmp/other.db'",
    ):
        with pytest.raises(trackway.errors.StoreError):
            store.sql(query)
    with pytest.raises(trackway.errors.StoreError, match="cannot parse"):
        store.sql("SELEC nonsense")
