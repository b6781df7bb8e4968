"""A varied table of events and what the ``ga4`` destination sends for each, byte for byte
(tests/support/golden.py).

``golden.json`` holds the requests the encoder wrote for :data:`CASES` at commit 0fbd97d
(before it stopped writing each body twice): the change must send the same bytes. After an
intended change of the output, write it again (and review its diff):

    PYTHONPATH=src python -c "from tests.vendors.ga4 import cases; cases.write_golden()"
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.support import golden
from tests.support.golden import NAN_PRICE as NAN
from tests.support.golden import TINY
from tests.support.golden import commerce as _c
from trackway.model import Event, Item

GOLDEN = Path(__file__).with_name("golden.json")
NOW = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)
WHEN = datetime(2026, 12, 5, 2, 59, 1, 250999, tzinfo=UTC)
OPTIONS = {"measurement_id": "G-GOLDEN1", "api_secret": "s3cret", "base_url": "http://127.0.0.1:9"}
D = Decimal
CONSENT = {
    "ad_user_data": "GRANTED",
    "ad_personalization": "GRANTED",
    "purposes": {"analytics": True, "marketing": True, "personalization": True, "functional": True},
    "assumed": ["analytics", "functional"],
}

FULL = Item(
    item_id="SKU-1",
    item_name="Mug ☕",
    price=D("15.00"),
    quantity=2,
    discount=D("1.50"),
    coupon="MUGS",
    currency="EUR",
    brand="Acme",
    categories=["Home", "Kitchen", "Mugs", "Blue", "Big", "Sixth"],
    variant="blue",
    list_id="l-1",
    list_name="Deals",
    index=0,
    affiliation="Store 1",
    url="https://shop.example/mug",
    extras={"item_color": "blue", "nested": {"size": "L"}, "tags": ["a"]},
)
PLAIN = Item(item_id="SKU_0", item_name="Stan and Friends Tee", price=D("19.99"), quantity=1)
HUGE = Item(item_id="H", price=D("12345678901234567890.12"), quantity=1)


def _e(name: str, n: int, **kw: Any) -> Event:
    base: dict[str, Any] = {
        "dialect": "ga4-mp",
        "id": f"ev-{n:02d}",
        "anonymous_id": "555.1733370000",
        "user_id": "u-42",
        "timestamp": WHEN,
        "received_at": WHEN + timedelta(seconds=1),
        "consent": CONSENT,
        "context": {"ip": "203.0.113.9", "user_agent": "Mozilla/5.0 (bench)"},
    }
    return Event(name=name, **{**base, **kw})


def _long_items(n: int, custom: int = 0) -> list[Item]:
    """``n`` items of long names (and ``custom`` custom parameters), within GA4's rules."""
    extras = {f"custom_{k}": "z" * 100 for k in range(custom)}
    return [
        Item(item_id=f"p{i}", item_name="y" * 100, price=D(1), quantity=1, extras=extras) for i in range(n)
    ]


def _purchase(n: int, **kw: Any) -> Event:
    commerce = _c(currency="EUR", value="59.97", tax="4.9", transaction_id=f"T-{n}", items=[PLAIN] * 3)
    return _e("purchase", n, **{"commerce": commerce, **kw})


# (label, event): what bench/forward.py sends, events of other dialects (amounts and items
# rendered in GA4's terms), every request-level field, values msgspec cannot write (the
# fallback of trackway.model.encode_json), and what GA4's rules or limits refuse.
CASES: list[tuple[str, Event]] = [
    ("purchase, as the bench's", _purchase(1)),
    (
        "page_view, as the bench's",
        _e(
            "page_view",
            2,
            properties={
                "page_location": "https://shop.example/p/1",
                "page_title": "Tee",
                "engagement_time_msec": 120,
            },
        ),
    ),
    (
        "purchase, every amount and field",
        _e(
            "purchase",
            3,
            commerce=_c(
                currency="EUR",
                value="30.00",
                tax="6.00",
                shipping="4.90",
                discount="2.00",
                coupon="WINTER",
                transaction_id="T-3",
                affiliation="Online",
                payment_method="card",
                shipping_tier="express",
                items=[FULL, PLAIN, TINY],
            ),
            properties={"payment_type": "card", "custom_flag": True, "n": 7},
        ),
    ),
    (
        "purchase from UA (its value is the total)",
        _e(
            "purchase",
            4,
            dialect="gtag-ua",
            commerce=_c(
                currency="EUR",
                value="40.90",
                tax="6.00",
                shipping="4.90",
                transaction_id="T-4",
                items=[PLAIN],
            ),
        ),
    ),
    (
        "purchase from Commanders Act, items with extras",
        _e(
            "purchase",
            5,
            dialect="commanders-act",
            commerce=_c(
                currency="EUR", value="22.53", revenue="16.00", tax="3.20", transaction_id="T-5", items=[FULL]
            ),
        ),
    ),
    ("refund", _e("refund", 6, commerce=_c(currency="USD", value="-12.00", transaction_id="T-6"))),
    (
        "begin_checkout",
        _e("begin_checkout", 7, commerce=_c(currency="EUR", value="20", coupon="C", items=[FULL])),
    ),
    ("view_item", _e("view_item", 8, commerce=_c(currency="EUR", value="15", items=[FULL]))),
    ("add_to_cart, no currency", _e("add_to_cart", 9, commerce=_c(value="15", items=[PLAIN]))),
    (
        "view_item_list",
        _e("view_item_list", 10, commerce=_c(items=[PLAIN, TINY]), properties={"item_list_id": "l1"}),
    ),
    ("search", _e("search", 11, properties={"search_term": "mugs ☕"})),
    (
        "login, traits and personal traits",
        _e("login", 12, user={"plan": "gold", "email": "a@example.com", "x_sha256": "ab"}),
    ),
    (
        "sign_up, a page context",
        _e("sign_up", 13, context={"page": {"url": "https://x.example/", "title": "X", "path": "/"}}),
    ),
    ("a time from received_at", _e("page_view", 14, timestamp=None)),
    (
        "not UTC",
        _e(
            "page_view",
            15,
            timestamp=datetime(2026, 12, 5, 4, 0, 1, 999, tzinfo=timezone(timedelta(hours=2))),
        ),
    ),
    ("72 hours and a second old", _e("page_view", 16, timestamp=NOW - timedelta(hours=72, seconds=1))),
    (
        "consent from purposes only",
        _e("page_view", 17, consent={"purposes": {"marketing": True, "personalization": False}}),
    ),
    ("no consent", _e("page_view", 18, consent=None)),
    ("no user id", _e("page_view", 19, user_id=None)),
    ("app_instance_id", _e("screen_view", 20, extras={"$id": "app_instance_id"})),
    ("request timestamp", _e("page_view", 21, extras={"$timestamp": "request"})),
    ("params timestamp", _e("page_view", 22, extras={"$timestamp": "params"})),
    ("validation_behavior", _e("page_view", 23, extras={"$validation_behavior": "ENFORCE_RECOMMENDATIONS"})),
    (
        "context of every kind",
        _e(
            "page_view",
            24,
            context={
                "ip": "203.0.113.1",
                "user_agent": "UA/1",
                "device": {"category": "mobile"},
                "location": {"city": "Paris"},
                "locale": "fr",
            },
        ),
    ),
    ("a request extra", _e("page_view", 25, extras={"request": {"custom_request_field": 1}})),
    ("a request extra named events", _e("page_view", 26, extras={"request": {"events": "theirs", "z": 1}})),
    (
        "a NaN price",
        _e("purchase", 27, commerce=_c(currency="EUR", value="1", transaction_id="T-27", items=[NAN])),
    ),
    ("a NaN property", _e("page_view", 28, properties={"d": D("NaN")})),
    ("an integer of 4,001 digits", _e("page_view", 29, properties={"huge": 10**4000})),
    ("a lone surrogate in a property", _e("page_view", 30, properties={"bad": "x\ud800y"})),
    ("a lone surrogate in the user id", _e("page_view", 31, user_id="u\udfff")),
    ("an infinite float", _e("page_view", 32, properties={"inf": float("inf")})),
    ("unicode", _e("page_view", 33, properties={"word": "значение ☕", "emoji": "😀"})),
    ("refused: no client id", _e("page_view", 34, anonymous_id=None)),
    ("refused: a reserved name", _e("session_start", 35)),
    ("refused: an invalid name", _e("bad name!", 36)),
    ("refused: 30 parameters", _e("page_view", 37, properties={f"p{k}": k for k in range(30)})),
    ("refused: too large alone", _e("view_item_list", 38, commerce=_c(items=_long_items(200, custom=10)))),
    ("refused: a price out of GA4's range", _e("view_item", 41, commerce=_c(currency="EUR", items=[HUGE]))),
    ("refused: an unknown name's unicode", _e("procédure", 42)),
    ("another client", _e("page_view", 39, anonymous_id="777.1")),
    ("the first client again", _e("page_view", 40)),
]


def rendered(events: list[Event]) -> dict[str, Any]:
    from trackway.vendors.ga4.destination import ENCODER

    return golden.rendered(ENCODER, events, OPTIONS, NOW)


def one_client(count: int) -> list[Event]:
    """``count`` events of one client, purchases and page views alternating (as the bench's)."""
    return [_purchase(100 + n) if n % 2 == 0 else _e("page_view", 100 + n) for n in range(count)]


def big_bodies() -> list[Event]:
    """Purchases of 200 long items: bodies split under 130 kB before 25 events."""
    items = _long_items(200)
    return [
        _e(
            "purchase",
            200 + n,
            commerce=_c(currency="EUR", value="200", transaction_id=f"T-{n}", items=items),
        )
        for n in range(12)
    ]


def renderings() -> dict[str, Any]:
    """Each case alone, all of them in one batch, 60 events of one client, large bodies."""
    out = {label: rendered([event]) for label, event in CASES}
    out["all of them in one batch"] = rendered([event for _, event in CASES])
    out["60 events of one client"] = rendered(one_client(60))
    out["bodies over 130 kB"] = rendered(big_bodies())
    return out


def write_golden() -> None:
    golden.write(GOLDEN, renderings())
