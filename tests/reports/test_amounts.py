"""gross and net have one definition whatever dialect an order came in (docs/reports.md):
the same order sent in every dialect that carries orders gives the same revenue row."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

import trackway
from tests.support.specs import examples
from trackway import dialects, reports
from trackway.ingest import records
from trackway.model import Commerce, Event, Item
from trackway.reports import ReportParams
from trackway.store.duck import DuckStore

D = Decimal
AT = datetime(2026, 11, 2, 9, tzinfo=UTC)


@pytest.fixture
def store() -> Iterator[DuckStore]:
    s = DuckStore(":memory:")
    yield s
    s.close()


def load(store: DuckStore, prop: str, events: list[Event]) -> None:
    for n, event in enumerate(events):
        event.property, event.id = prop, f"{prop}-{n}"
        event.timestamp = event.received_at = AT
        event.anonymous_id = event.anonymous_id or "buyer"
    record = records.Record(
        kind=records.DECODED, request_id=records.uuid7(), endpoint="/collect", property=prop, received_at=0
    )
    store.load([(record, records.Outcome(events=events, client_ids=[False] * len(events)))], {})


def decode(dialect: str, payload: Any) -> list[Event]:
    decoded = trackway.decode(dialect, payload, default_currency="EUR")
    assert decoded.valid, [i for i in decoded.issues if i.is_error]
    return decoded.events


def revenue(store: DuckStore) -> dict[str, dict[str, Any]]:
    rows = reports.run(store, "revenue", ReportParams())["revenue"]
    return {r["property"]: {k: v for k, v in r.items() if k != "property"} for r in rows}


# One order: 8.00 + 2 x 4.00 of items, tax 3.20, shipping 3.33, 22.53 paid.
ORDER = Commerce(
    currency="EUR",
    value=D("16.00"),  # in the canonical (GA4) meaning: the items' price x quantity
    tax=D("3.20"),
    shipping=D("3.33"),
    transaction_id="T1",
    status="in_progress",
    type="online",
    payment_method="card",
    items=[
        Item(item_id="A", item_name="Tee", price=D("8.00"), quantity=1),
        Item(item_id="B", item_name="Cap", price=D("4.00"), quantity=2),
    ],
)
ROW = {
    "period": None,
    "currency": "EUR",
    "orders": 1,
    "gross": D("16.00"),
    "refunds": D(0),
    "net": D("16.00"),
}


def test_the_same_order_in_every_dialect_gives_the_same_revenue_row(store: DuckStore) -> None:
    sent, stated = [], set()
    for adapter in dialects.adapters():
        truth = Event(name="purchase", dialect="canonical", anonymous_id="buyer", commerce=ORDER)
        payload = trackway.encode(adapter.name, truth, form="call")
        events = decode(adapter.name, payload)
        if not any(e.name == "purchase" and e.commerce and e.commerce.transaction_id for e in events):
            continue  # a dialect that carries no order
        stated.add(events[0].commerce.value)  # type: ignore[union-attr]
        load(store, adapter.name, events)
        sent.append(adapter.name)
    assert stated == {D("16.00"), D("22.53")}  # the dialects state the order's value differently
    rows = revenue(store)
    assert set(rows) == set(sent)
    for prop in sent:
        assert {k: rows[prop][k] for k in ROW} == ROW, prop
        assert rows[prop]["average_order"] == D("16.0000")


def test_the_commanders_act_documents_purchase_and_its_ua_twin_give_the_same_row(store: DuckStore) -> None:
    cact = next(e for e in examples("commanders-act") if e.name == "purchase").value
    load(store, "cact", decode("commanders-act", cact))
    ua = {  # the same order as a UA dataLayer sends it: revenue is the total paid
        "event": "purchase",
        "ecommerce": {
            "currencyCode": "EUR",
            "purchase": {
                "actionField": {"id": "O_12345", "revenue": 22.53, "tax": 3.20, "shipping": 3.33},
                "products": [{"id": "SKU_12345", "price": 8, "quantity": 1}, {"id": "SKU_12346", "price": 8}],
            },
        },
    }
    load(store, "ua", decode("gtm-ua", ua))
    items = [{"item_id": "SKU_12345", "price": 8}, {"item_id": "SKU_12346", "price": 8}]
    ga4 = [
        "event",
        "purchase",
        {"transaction_id": "O_12345", "currency": "EUR", "value": 16, "tax": 3.2, "items": items},
    ]
    load(store, "ga4", decode("gtag-ga4", ga4))  # GA4's value is the revenue: 16.00 whatever the tax
    rows = revenue(store)
    assert rows["cact"] == rows["ua"] == rows["ga4"]
    assert rows["cact"]["gross"] == D("16.00")
    orders = {r["property"]: r for r in store.state_rows("orders")}
    assert (orders["cact"]["total"], orders["ua"]["total"]) == (D("22.53"), D("22.53"))
    assert orders["ga4"]["total"] == D("19.20")  # 16.00 + tax 3.20: the event states no shipping
    assert orders["ua"]["value"] == D("22.53") and orders["ga4"]["value"] == D("16")  # as stated


def test_a_full_refund_takes_back_the_orders_revenue_not_its_value(store: DuckStore) -> None:
    cact = next(e for e in examples("commanders-act") if e.name == "purchase").value
    refund = ["trigger", "refund", {"id": "O_12345", "revenue": 16.00, "value": 22.53, "currency": "EUR"}]
    load(store, "cact", decode("commanders-act", cact) + decode("commanders-act", refund))
    [row] = revenue(store).values()
    assert (row["gross"], row["refunds"], row["net"]) == (D("16.00"), D("16.00"), D(0))


@pytest.mark.parametrize(
    ("payload", "paid"),
    [
        (next(e for e in examples("convead") if e.name == "purchase").value, D("99.99")),  # items: 2030.45
        (
            [
                "event",
                "purchase",
                {"order_id": "O2", "revenue": 80, "items": [{"product_id": "A", "qnt": 2, "price": 50}]},
            ],
            D("80"),
        ),
        (
            [
                "event",
                "purchase",
                {"order_id": "O3", "revenue": 125, "items": [{"product_id": "A", "qnt": 2, "price": 50}]},
            ],
            D("100"),
        ),
    ],
)
def test_a_convead_order_counts_what_was_paid_never_more(store: DuckStore, payload: Any, paid: D) -> None:
    """Convead's revenue is the full order cost: items whose prices add up to more than it
    are not what was sold (the gross was the items' 2030.45 for Convead's own 99.99 example);
    items within it are the revenue, the rest tax and shipping Convead has no field for."""
    load(store, "cv", decode("convead", payload))
    [row] = revenue(store).values()
    assert row["gross"] == paid
    [order] = store.state_rows("orders")
    assert order["revenue"] == paid and order["total"] == payload[2]["revenue"]
