"""events.item_lines, and an older store brought up to date when opened (store/columns.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tests.store.test_persons import keys
from tests.store.test_state_tables import load_in_batches, workload
from trackway.model import Commerce, Event, Item
from trackway.store.duck import DuckStore

AT = datetime(2026, 11, 2, tzinfo=UTC)


def stored_lines(items: list[Item] | None) -> list[dict] | None:
    store = DuckStore(":memory:")
    try:
        event = Event(
            name="add_to_cart",
            dialect="gtm-ga4",
            id="e1",
            property="shop",
            timestamp=AT,
            received_at=AT,
            commerce=Commerce(currency="EUR", items=items),
        )
        load_in_batches(store, [event], 0)
        [(lines,)] = store.cursor().execute("SELECT item_lines FROM events").fetchall()
        return lines
    finally:
        store.close()


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([Item(item_id="A", item_name="Tee", quantity=2)], [{"item": "A", "q": 2}]),
        ([Item(item_name="Tee")], [{"item": "Tee", "q": None}]),
        ([Item(price=Decimal("1.50"), quantity=1)], [{"item": None, "q": 1}]),
        (
            [Item(item_id="A", quantity=1), Item(item_id="B", quantity=3), Item(item_id="A", quantity=1)],
            [{"item": "A", "q": 1}, {"item": "B", "q": 3}, {"item": "A", "q": 1}],
        ),
        (None, None),
    ],
)
def test_item_lines_hold_each_items_key_and_quantity(items, expected):
    assert stored_lines(items) == expected


def test_a_store_from_before_the_added_columns_gets_them_when_opened(tmp_path: Path):
    path = tmp_path / "old.duckdb"
    store = DuckStore(path)
    load_in_batches(store, workload(8, 1500), 8)
    expected = keys(store)
    lines = store.cursor().execute("SELECT seq, item_lines FROM events ORDER BY seq").fetchall()
    assert any(line for _, line in lines)
    cur = store.cursor()
    cur.execute("DROP VIEW event_person_keys")
    cur.execute("DROP VIEW event_persons")
    cur.execute("ALTER TABLE events DROP COLUMN person_key")
    cur.execute("ALTER TABLE events DROP COLUMN item_lines")
    cur.execute("DROP TABLE persons")
    store.close()
    store = DuckStore(path)
    try:
        assert keys(store) == expected
        assert store.cursor().execute("SELECT seq, item_lines FROM events ORDER BY seq").fetchall() == lines
    finally:
        store.close()
