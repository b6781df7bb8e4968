"""The stores take any string the decoder lets through (lone surrogates become U+FFFD),
and keep quarantined records with their load in one transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from trackway.ingest import records
from trackway.ingest.log import Position
from trackway.ingest.quarantine import clean_text, new_row
from trackway.model import Commerce, Event, Item
from trackway.store.base import Query
from trackway.store.duck import DuckStore
from trackway.store.memory import MemoryStore
from trackway.store.quarantine import sanitize

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
LONE = "\udc00"


@pytest.fixture(params=["duckdb", "memory"])
def store(request):
    s = DuckStore(":memory:") if request.param == "duckdb" else MemoryStore()
    yield s
    s.close()


def record(prop: str = "p") -> records.Record:
    return records.Record(
        kind=records.DECODED,
        request_id=str(records.uuid7()),
        endpoint="/collect",
        property=prop,
        received_at=records.micros(NOW),
    )


def event(n: int, **kw) -> Event:
    return Event(
        name="purchase", dialect="gtag-ga4", id=f"id-{n}", property="p", timestamp=NOW, received_at=NOW, **kw
    )


# Where a lone surrogate can sit in an event: each a field the store encodes differently.
PLACES = [
    ("user_id", lambda: event(1, user_id=f"u{LONE}", anonymous_id="a1"), lambda e: e.user_id),
    ("anonymous_id", lambda: event(2, anonymous_id=LONE), lambda e: e.anonymous_id),
    (
        "name",
        lambda: Event(name=f"x{LONE}", dialect="d", id="id-3", property="p", received_at=NOW),
        lambda e: e.name,
    ),
    ("properties value", lambda: event(4, properties={"k": LONE}), lambda e: e.properties["k"]),
    ("properties key", lambda: event(5, properties={LONE: 1}), lambda e: next(iter(e.properties))),
    ("context", lambda: event(6, context={"page": {"title": LONE}}), lambda e: e.context["page"]["title"]),
    (
        "transaction id",
        lambda: event(
            7, user_id="u7", commerce=Commerce(currency="EUR", value=Decimal(1), transaction_id=LONE)
        ),
        lambda e: e.commerce.transaction_id,
    ),
    (
        "item name",
        lambda: event(8, commerce=Commerce(currency="EUR", items=[Item(item_id="i", item_name=f"{LONE}!")])),
        lambda e: e.commerce.items[0].item_name,
    ),
]


@pytest.mark.parametrize(("where", "make", "get"), PLACES, ids=[p[0] for p in PLACES])
def test_a_lone_surrogate_is_stored_as_the_replacement_character(store, where, make, get):
    out = records.Outcome(events=[make(), event(99)], client_ids=[False, False])
    result = store.load([(record(), out)], {"w1": Position(1, 10)})
    assert result.stored == 2
    [stored] = [e for e in store.events(Query(limit=10)) if e.id != "id-99"]
    value = get(stored)
    if isinstance(store, DuckStore):
        assert "\ufffd" in value and LONE not in value
    else:
        assert value in (get(make()), clean_text(get(make())))  # memory encodes nothing
    assert store.positions() == {"w1": Position(1, 10)}


@pytest.mark.parametrize("where", ["names", "call"])
def test_a_lone_surrogate_in_a_failed_payload_is_stored_as_the_replacement_character(store, where):
    # The decoders give U+FFFD for a JSON escape of one; a failed payload built otherwise
    # (its event names, a tracker's call id) must not fail the batch, and its events go in.
    text = f"x{LONE}"
    failed = records.FailedPayload(
        payload=b"{}",
        dialect="gtm-ga4",
        indices=[0],
        issues=b"[]",
        names=[text] if where == "names" else ["bad"],
        call=text if where == "call" else "",
    )
    out = records.Outcome(events=[event(1)], client_ids=[False], failed=[failed])
    result = store.load([(record(), out)], {"w1": Position(1, 10)})
    assert (result.stored, result.failed) == (1, 1)
    [row] = store.failed(Query(limit=10))
    if isinstance(store, DuckStore):
        assert where != "names" or row.names == ["x\ufffd"]
        assert LONE not in row.id
    assert store.positions() == {"w1": Position(1, 10)}


def test_sanitize_keeps_valid_text_and_replaces_only_lone_surrogates():
    value = {"ok": "plain é 😀", "bad": ["a\ud800b", {"\udfff": 1}], "n": Decimal(1)}
    clean, changed = sanitize(value)
    assert changed == 2
    assert clean == {"ok": "plain é 😀", "bad": ["a\ufffdb", {"\ufffd": 1}], "n": Decimal(1)}
    assert sanitize("valid")[1] == 0


def test_quarantine_rows_commit_with_the_positions_and_leave_on_resolve(store):
    row = new_row(ValueError("boom"), b"\x01raw", "w1", 1, 0, prop="p", received_at=records.micros(NOW))
    store.load([], {"w1": Position(1, 20)}, [row, new_row(KeyError("k"), b"\x02", "w2", 3, 8, prop="q")])
    rows = store.quarantined()
    assert [(r.id, r.property, r.record, r.error_type) for r in rows] == [
        (1, "p", b"\x01raw", "ValueError"),
        (2, "q", b"\x02", "KeyError"),
    ]
    assert rows[0].received_at == NOW
    assert store.quarantine_count("q") == 1 and [r.id for r in store.quarantined("q")] == [2]
    store.update_quarantined(rows[0].failed_again(RuntimeError("again")))
    [updated] = store.quarantined(ids=[1])
    assert (updated.attempts, updated.error_type, updated.error_message) == (2, "RuntimeError", "again")
    out = records.Outcome(events=[event(1)], client_ids=[False])
    store.load([(record(), out)], {}, resolved=[1])
    assert [r.id for r in store.quarantined()] == [2] and len(store.events(Query())) == 1
    assert store.positions() == {"w1": Position(1, 20)}


def test_a_load_that_raises_changes_nothing(store):
    row = new_row(ValueError("boom"), b"raw", "w1", 1, 0, prop="p")
    bad = records.Outcome(events=[event(1), "not an event"], client_ids=[False, False])  # type: ignore[list-item]
    with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the store raises for it
        store.load([(record(), bad)], {"w1": Position(1, 5)}, [row])
    assert store.positions() == {} and store.quarantine_count() == 0 and store.events(Query()) == []
    store.load([(record(), records.Outcome(events=[event(2)], client_ids=[False]))], {"w1": Position(1, 5)})
    assert [e.id for e in store.events(Query())] == ["id-2"]
