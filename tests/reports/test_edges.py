"""The reports on small hand-made histories whose answers are worked out by hand:
several currencies, a refund larger than a day's sales, an order canceled after its
purchase, funnel steps out of order, a procedure abandoned at each step, unreadable
and unnamed failures."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import msgspec
import pytest

from trackway import reports
from trackway.ingest import records
from trackway.model import Commerce, Event, Item
from trackway.reports import ReportParams
from trackway.store.duck import DuckStore

D = Decimal
T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)  # a Monday


@pytest.fixture
def store() -> Iterator[DuckStore]:
    s = DuckStore(":memory:")
    yield s
    s.close()


class History:
    def __init__(self, store: DuckStore, prop: str = "shop") -> None:
        self.store, self.prop, self.n = store, prop, 0

    def event(self, name: str, at: datetime, who: str, **kw: object) -> None:
        self.n += 1
        event = Event(
            name=name,
            dialect=str(kw.pop("dialect", "gtm-ga4")),
            id=f"e{self.n:05d}",
            property=self.prop,
            timestamp=at,
            received_at=at,
            anonymous_id=who,
            **kw,  # type: ignore[arg-type]
        )
        record = records.Record(
            kind=records.DECODED,
            request_id=records.uuid7(),
            endpoint="/collect",
            property=self.prop,
            received_at=0,
        )
        self.store.load([(record, records.Outcome(events=[event], client_ids=[False]))], {})

    def order(self, name: str, at: datetime, tx: str, currency: str, value: str | None, **kw: object) -> None:
        items = kw.pop("items", None)
        c = Commerce(
            transaction_id=tx,
            currency=currency,
            value=D(value) if value is not None else None,
            status=kw.pop("status", None),  # type: ignore[arg-type]
            items=items,  # type: ignore[arg-type]
        )
        self.event(name, at, str(kw.pop("who", "buyer")), commerce=c, **kw)

    def failed(
        self, at: datetime, indices: list[int], names: list[str], issues: list[dict[str, str]]
    ) -> None:
        self.n += 1
        record = records.Record(
            kind=records.DECODED,
            request_id=records.uuid7(),
            endpoint="/collect",
            property=self.prop,
            received_at=records.micros(at),
        )
        payload = records.FailedPayload(b"{}", "gtm-ga4", indices, msgspec.json.encode(issues), self.n, names)
        self.store.load([(record, records.Outcome(failed=[payload]))], {})


def run(store: DuckStore, name: str, **kw: object) -> dict[str, list[dict[str, object]]]:
    return reports.run(store, name, ReportParams(**kw))  # type: ignore[arg-type]


def strip(rows: list[dict[str, object]], *drop: str) -> list[dict[str, object]]:
    return [{k: v for k, v in r.items() if k not in drop} for r in rows]


def test_revenue_keeps_currencies_apart_and_books_a_refund_on_its_own_day(store: DuckStore) -> None:
    h = History(store)
    day2 = T0 + timedelta(days=1)
    h.order("purchase", T0, "T1", "EUR", "100")
    h.order("purchase", T0 + timedelta(hours=1), "T2", "USD", "50")
    h.order("purchase", day2, "T3", "EUR", "10")
    h.order("refund", day2 + timedelta(hours=1), "T1", "EUR", None)  # the whole of T1, on day 2

    by_day = run(store, "revenue", by="day")["revenue"]
    assert strip(by_day, "property") == [
        {"period": "2026-11-02", "currency": "EUR", "orders": 1, "gross": D(100), "refunds": D(0),
         "net": D(100), "average_order": D("100.0000")},
        {"period": "2026-11-02", "currency": "USD", "orders": 1, "gross": D(50), "refunds": D(0),
         "net": D(50), "average_order": D("50.0000")},
        {"period": "2026-11-03", "currency": "EUR", "orders": 1, "gross": D(10), "refunds": D(100),
         "net": D(-90), "average_order": D("10.0000")},
    ]  # fmt: skip
    whole = run(store, "revenue")["revenue"]
    assert [
        (r["currency"], r["orders"], r["gross"], r["refunds"], r["net"], r["average_order"]) for r in whole
    ] == [
        ("EUR", 2, D(110), D(100), D(10), D("55.0000")),
        ("USD", 1, D(50), D(0), D(50), D("50.0000")),
    ]
    # the range applies to each amount's own time: day 2 alone has the refund of day 1's order
    only_day2 = run(store, "revenue", since=T0 + timedelta(days=1), until=T0 + timedelta(days=2))["revenue"]
    assert [(r["currency"], r["orders"], r["gross"], r["refunds"]) for r in only_day2] == [
        ("EUR", 1, D(10), D(100))
    ]


def test_an_order_canceled_after_its_purchase_leaves_revenue_unless_included(store: DuckStore) -> None:
    h = History(store)
    h.order("purchase", T0, "T1", "EUR", "30", status="in_progress")
    h.order("purchase", T0 + timedelta(hours=1), "T2", "EUR", "20", status="in_progress")
    h.order("purchase", T0 + timedelta(days=2), "T1", "EUR", None, status="canceled")
    h.order("purchase", T0 + timedelta(days=3), "T1", "EUR", None, status="canceled")  # no change
    h.order("purchase", T0 + timedelta(days=3), "T2", "EUR", None)  # no status: changes nothing

    assert [(r["orders"], r["gross"]) for r in run(store, "revenue")["revenue"]] == [(1, D(20))]
    with_canceled = run(store, "revenue", include=("canceled",))["revenue"]
    assert [(r["orders"], r["gross"]) for r in with_canceled] == [(2, D(50))]
    orders = run(store, "orders", by="week")
    assert strip(orders["statuses"], "property") == [
        {"period": "2026-11-02", "status": "canceled", "orders": 1},
        {"period": "2026-11-02", "status": "in_progress", "orders": 1},
    ]
    assert strip(orders["changes"], "property") == [
        {"period": "2026-11-02", "status": "canceled", "orders": 1},
        {"period": "2026-11-02", "status": "in_progress", "orders": 2},
    ]


def test_the_funnel_takes_steps_in_order_within_the_window(store: DuckStore) -> None:
    h = History(store)
    t = T0
    # p1 adds before viewing, then again after: step 2 is the add after the view
    h.event("add_to_cart", t, "p1")
    h.event("view_item", t + timedelta(minutes=1), "p1")
    h.event("add_to_cart", t + timedelta(minutes=2), "p1")
    # p2 only adds before viewing: step 1 alone
    h.event("add_to_cart", t, "p2")
    h.event("view_item", t + timedelta(minutes=1), "p2")
    # p3 adds 31 days after the view: outside the default window of 30 days
    h.event("view_item", t, "p3")
    h.event("add_to_cart", t + timedelta(days=31), "p3")
    # p4 never views
    h.event("add_to_cart", t, "p4")
    # p5 views and adds at the same time, the add stored after the view
    h.event("view_item", t, "p5")
    h.event("add_to_cart", t, "p5")

    rows = run(store, "funnel", steps=("view_item", "add_to_cart"))["steps"]
    assert strip(rows, "period", "property") == [
        {"step": 1, "name": "view_item", "people": 4, "from_previous": None, "from_first": None},
        {
            "step": 2,
            "name": "add_to_cart",
            "people": 2,
            "from_previous": D("0.5000"),
            "from_first": D("0.5000"),
        },
    ]
    wider = run(store, "funnel", steps=("view_item", "add_to_cart"), window=timedelta(days=40))["steps"]
    assert [r["people"] for r in wider] == [4, 3]
    three = run(store, "funnel", steps=("view_item", "add_to_cart", "purchase"))["steps"]
    assert [(r["people"], r["from_previous"], r["from_first"]) for r in three] == [
        (4, None, None),
        (2, D("0.5000"), D("0.5000")),
        (0, D("0.0000"), D("0.0000")),
    ]
    # a name given twice needs two events: of the five who add, only p1 adds twice
    twice = run(store, "funnel", steps=("add_to_cart", "add_to_cart"))["steps"]
    assert [r["people"] for r in twice] == [5, 1]


PROC = {
    "procedure_id": "P1",
    "procedure_slug": "give-1",
    "procedure_category": "donation",
}


def test_procedures_count_a_visit_abandoned_at_each_step(store: DuckStore) -> None:
    h = History(store, "gifts")
    steps = [(1, "custom"), (2, "personal_infos"), (3, "success")]
    for who, reached in (("q1", 1), ("q2", 2), ("q3", 3), ("q4", 3)):
        at = T0
        for index, name in steps[:reached]:
            if name == "success":
                h.event("begin_checkout", at, who, dialect="koalect", properties=PROC)
                h.event(
                    "purchase",
                    at,
                    who,
                    dialect="koalect",
                    properties=PROC,
                    commerce=Commerce(transaction_id=f"TX-{who}", currency="EUR", value=D("12.5")),
                )
            h.event(
                "view_step",
                at,
                who,
                dialect="koalect",
                properties=PROC | {"step_index": index, "step_name": name},
            )
            at += timedelta(minutes=1)
        if who == "q4":
            h.event("execution", at, who, dialect="koalect", properties=PROC)
    h.order("purchase", T0 + timedelta(hours=1), "TX-q4", "EUR", None, status="canceled", who="q4")

    out = run(store, "procedures")
    funnel = [(r["stage"], r["name"], r["people"]) for r in out["funnel"]]
    assert funnel == [
        ("started", None, 4),
        ("step 1", "custom", 4),
        ("step 2", "personal_infos", 3),
        ("step 3", "success", 2),
        ("success", None, 2),
        ("checkout", None, 2),
        ("transaction", None, 2),
        ("execution", None, 1),
    ]
    assert {(r["slug"], r["category"]) for r in out["funnel"]} == {("give-1", "donation")}
    assert strip(out["revenue"], "period", "property") == [
        {"slug": "give-1", "category": "donation", "currency": "EUR", "transactions": 1, "revenue": D("12.5")}
    ]  # q4's order was canceled


def test_products_count_views_quantities_and_sold_lines_per_currency(store: DuckStore) -> None:
    h = History(store)
    a, b = Item(item_id="A", price=D("10")), Item(item_name="B only by name", price=D("2.5"))
    h.event("view_item", T0, "p1", commerce=Commerce(currency="EUR", items=[a]))
    h.event("view_item", T0, "p2", commerce=Commerce(currency="EUR", items=[a, b]))
    h.event("view_item", T0, "p3", commerce=Commerce(currency="EUR", items=[b, a, b, a]))  # one view each
    lines = [Item(item_id="A", quantity=2), b, Item(item_id="A")]  # lines after the first count too
    h.event("add_to_cart", T0, "p2", commerce=Commerce(currency="EUR", items=lines))
    h.event("add_to_cart", T0, "p1", commerce=Commerce(currency="EUR", items=[Item(item_id="A", quantity=3)]))
    h.event("remove_from_cart", T0, "p1", commerce=Commerce(currency="EUR", items=[Item(item_id="A")]))
    sold_a = Item(item_id="A", price=D("10"), quantity=2)
    h.order("purchase", T0, "T1", "EUR", "20", items=[sold_a])
    h.order(
        "purchase", T0, "T2", "USD", "5", items=[Item(item_name="B only by name", price=D("2.5"), quantity=2)]
    )
    rows = strip(run(store, "products")["products"], "period", "property")
    assert rows == [
        {"item": "A", "currency": None, "views": 3, "adds": 6, "removes": 1, "purchases": 0,
         "revenue": None},
        {"item": "A", "currency": "EUR", "views": 0, "adds": 0, "removes": 0, "purchases": 2,
         "revenue": D(20)},
        {"item": "B only by name", "currency": None, "views": 2, "adds": 1, "removes": 0, "purchases": 0,
         "revenue": None},
        {"item": "B only by name", "currency": "USD", "views": 0, "adds": 0, "removes": 0, "purchases": 2,
         "revenue": D(5)},
    ]  # fmt: skip


def test_an_item_in_its_own_currency_is_sold_in_it_not_in_the_orders(store: DuckStore) -> None:
    # the order's lines dropped the item's currency: 80 USD were summed in the EUR row
    h = History(store)
    usd = Item(item_id="A", price=D("40"), quantity=2, currency="USD")
    eur = Item(item_id="B", price=D("20"), quantity=1)
    h.order("purchase", T0, "C-MIX", "EUR", "20", items=[usd, eur])
    rows = strip(run(store, "products")["products"], "period", "property")
    assert [(r["item"], r["currency"], r["purchases"], r["revenue"]) for r in rows] == [
        ("A", "USD", 2, D(80)),
        ("B", "EUR", 1, D(20)),
    ]
    store.rebuild()  # the same after the state is derived again
    again = strip(run(store, "products")["products"], "period", "property")
    assert again == rows


def test_carts_are_abandoned_after_the_configured_time(store: DuckStore) -> None:
    h = History(store)
    line = [Item(item_id="A", price=D("4.5"), quantity=2)]
    h.event("add_to_cart", T0, "old-eur", commerce=Commerce(currency="EUR", items=line))
    h.event("add_to_cart", T0, "old-usd", commerce=Commerce(currency="USD", items=line))
    h.event("add_to_cart", T0 + timedelta(hours=20), "recent", commerce=Commerce(currency="EUR", items=line))
    h.event("add_to_cart", T0, "buyer", commerce=Commerce(currency="EUR", items=line))
    h.order("purchase", T0 + timedelta(minutes=5), "T1", "EUR", "9")
    now = T0 + timedelta(hours=26)

    out = run(store, "carts", now=now)
    assert [(r["state"], r["carts"]) for r in out["carts"]] == [
        ("abandoned", 2),
        ("converted", 1),
        ("open", 1),
    ]
    assert [(r["currency"], r["carts"], r["value"]) for r in out["value_at_risk"]] == [
        ("EUR", 1, D(9)),
        ("USD", 1, D(9)),
    ]
    patient = run(store, "carts", now=now, abandon_after=timedelta(days=2))
    assert [(r["state"], r["carts"]) for r in patient["carts"]] == [("converted", 1), ("open", 3)]
    assert patient["value_at_risk"] == []


def test_quality_counts_unreadable_and_unnamed_failures_and_gives_the_first_example(store: DuckStore) -> None:
    h = History(store)
    h.event("purchase", T0, "p1", commerce=Commerce(transaction_id="T1", currency="EUR", value=D(1)))
    bad_currency = {"code": "CURRENCY_INVALID", "severity": "error", "path": "$.currency", "message": "first"}
    h.failed(T0 + timedelta(seconds=2), [0, 1], ["purchase"], [bad_currency])
    h.failed(T0 + timedelta(seconds=1), [-1], [], [{**bad_currency, "message": "earliest"}])
    h.failed(
        T0 + timedelta(seconds=3), [-1], [], [{"code": "JSON_INVALID", "severity": "error", "message": "x"}]
    )
    warned = {"code": "CURRENCY_INVALID", "severity": "warning", "path": "$.w", "message": "a warning"}
    h.failed(T0, [0], ["view_item"], [warned, {**bad_currency, "path": "$.items[0]", "message": "oldest"}])

    out = run(store, "quality")
    events = [(r["event"], r["accepted"], r["rejected"]) for r in out["events"]]
    assert events == [("(unnamed)", 0, 1), ("(unreadable)", 0, 2), ("purchase", 1, 1), ("view_item", 0, 1)]
    assert strip(out["issues"], "property") == [
        {"code": "CURRENCY_INVALID", "payloads": 3, "example": "$.items[0]: oldest"},
        {"code": "JSON_INVALID", "payloads": 1, "example": "$: x"},
    ]
    later = run(store, "quality", since=T0 + timedelta(seconds=1))
    assert [r["example"] for r in later["issues"]] == ["$.currency: earliest", "$: x"]


def test_a_cart_event_arriving_late_with_an_older_time_does_not_abandon_an_active_cart(
    store: DuckStore,
) -> None:
    h = History(store)
    now = T0 + timedelta(days=3)
    line = [Item(item_id="A", price=D(10), quantity=1)]
    h.event("add_to_cart", now - timedelta(hours=1), "shopper", commerce=Commerce(currency="EUR", items=line))
    late = [Item(item_id="B", price=D(10), quantity=1)]
    h.event("add_to_cart", now - timedelta(days=2), "shopper", commerce=Commerce(currency="EUR", items=late))
    out = run(store, "carts", now=now)
    assert [(r["state"], r["carts"]) for r in out["carts"]] == [("open", 1)]
    assert out["value_at_risk"] == []


@pytest.mark.parametrize(
    ("moves", "adds", "removes"),
    [
        ([("add_to_cart", [3]), ("remove_from_cart", [1])], 3, 1),
        ([("add_to_cart", [3]), ("remove_from_cart", [-2])], 3, 0),  # not 3 and -2
        ([("add_to_cart", [0, -4, 2]), ("remove_from_cart", [1, -1])], 2, 1),  # lines after the first
    ],
)
def test_products_count_a_quantity_of_zero_or_less_as_nothing(
    store: DuckStore, moves: list[tuple[str, list[int]]], adds: int, removes: int
) -> None:
    h = History(store)
    for name, quantities in moves:
        lines = [Item(item_id="N", price=D(10), quantity=q) for q in quantities]
        h.event(name, T0, "p", commerce=Commerce(currency="EUR", items=lines))
    [row] = run(store, "products")["products"]
    assert (row["item"], row["adds"], row["removes"]) == ("N", adds, removes)


def test_revenue_books_each_refund_for_its_worth_never_more_and_never_across_currencies(
    store: DuckStore,
) -> None:
    h = History(store)
    bought = [Item(item_id="A", price=D(50), quantity=2), Item(item_id="B", price=D(30), quantity=1)]
    a5, a1 = [Item(item_id="A", quantity=5)], [Item(item_id="A", quantity=1)]
    t = T0
    h.order("purchase", t, "R2", "EUR", "130", items=bought)
    h.order("refund", t, "R2", "EUR", "10")  # an amount: 10, not the whole order
    h.order("purchase", t, "R2B", "EUR", "130", items=bought)
    h.order("refund", t, "R2B", "USD", "5")  # another currency: not booked
    h.order("purchase", t, "R3", "EUR", "130", items=bought)
    h.order("refund", t, "R3", "EUR", None, items=a5)  # 2 units of A bought: 100
    h.order("refund", t, "R3", "EUR", None)  # the rest: 30
    h.order("refund", t, "R4", "EUR", None, items=a1)  # before its purchase: 50 once it comes
    h.order("purchase", t, "R4", "EUR", "130", items=bought)
    h.order("refund", t, "R4B", "EUR", None)  # before its purchase: the whole order once it comes
    h.order("purchase", t, "R4B", "EUR", "130", items=bought)
    rows = run(store, "revenue")["revenue"]
    assert [(r["currency"], r["orders"], r["gross"], r["refunds"], r["net"]) for r in rows] == [
        ("EUR", 5, D(650), D(320), D(330))
    ]
    history = store.state_rows("order_history")
    [usd] = [r for r in history if r["transaction_id"] == "R2B" and r["name"] == "refund"]
    assert usd["refund"] is None and "got USD: not booked" in usd["note"]


def test_value_at_risk_never_sums_a_line_in_another_currency_and_counts_it(store: DuckStore) -> None:
    h = History(store)
    a, b = [Item(item_id="A", price=D(100), quantity=1)], [Item(item_id="B", price=D(1), quantity=1)]
    h.event("add_to_cart", T0, "mixed", commerce=Commerce(currency="EUR", items=a))
    h.event("add_to_cart", T0, "mixed", commerce=Commerce(currency="USD", items=b))
    h.event("add_to_cart", T0, "plain", commerce=Commerce(currency="USD", items=b))
    out = run(store, "carts", now=T0 + timedelta(days=2))
    assert [
        (r["currency"], r["carts"], r["value"], r["other_currency_lines"]) for r in out["value_at_risk"]
    ] == [
        ("EUR", 1, D(100), 1),  # the cart stays in EUR; the USD line is not in its value
        ("USD", 1, D(1), 0),
    ]


def test_revenue_is_exact_to_every_digit_the_store_holds(store: DuckStore) -> None:
    # Python's default 28 digits rounded the gross and the net of the largest amounts
    h = History(store)
    h.order("purchase", T0, "T1", "EUR", "9999999999999999999.99")
    h.order("purchase", T0, "T2", "EUR", "3674.610456789")
    h.order("refund", T0 + timedelta(hours=1), "T2", "EUR", None)
    [row] = run(store, "revenue")["revenue"]
    assert row["gross"] == D("10000000000000003674.600456789")
    assert row["refunds"] == D("3674.610456789")
    assert row["net"] == D("9999999999999999999.99")
    assert row["average_order"] == D("5000000000000001837.3002")
