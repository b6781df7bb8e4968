"""A varied table of events and what the ``segment`` encoder sends for each, byte for byte
(tests/support/golden.py).

``golden.json`` holds the requests the encoder wrote for :data:`CASES` at commit 0fbd97d
(before its rewrite for speed): the rewrite must send the same bytes. After an intended
change of the output, write it again (and review its diff):

    PYTHONPATH=src python -c "from tests.vendors.segment import cases; cases.write_golden()"
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.support import golden
from tests.support.golden import NAN_PRICE, TINY
from tests.support.golden import commerce as _c
from trackway.model import Event, Item
from trackway.vendors.segment.destination import ENCODER

GOLDEN = Path(__file__).with_name("golden.json")
NOW = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)
WHEN = datetime(2026, 12, 5, 2, 59, 1, 250999, tzinfo=UTC)
OPTIONS = {"write_key": "wk_golden", "base_url": "http://127.0.0.1:9"}
D = Decimal

FULL = Item(
    item_id="SKU-1",
    item_name="Mug",
    product_id="db-1",
    price=D("15.00"),
    quantity=2,
    discount=D("1.50"),
    coupon="MUGS",
    currency="EUR",
    brand="Acme",
    categories=["Home", "Kitchen", "Mugs"],
    variant="blue",
    list_id="l-1",
    list_name="Deals",
    index=0,
    affiliation="Store 1",
    url="https://shop.example/mug",
    image_url="https://shop.example/mug.png",
    extras={"item_color": "blue"},
)
NONE = Item()
ID_ONLY = Item(item_id="SKU-2")
EMPTY_PRODUCT_ID = Item(item_id="SKU-3", product_id="", item_name="", price=D("0"), quantity=0, index=7)
UNICODE = Item(item_id="Ünï-4", item_name="Café ☕ 𝄞 \u00e9\u0301", categories=["Épicerie"], brand="Ñandú")
HUGE = Item(item_id="H", price=D("12345678901234567890.12"), quantity=1)
EXPONENT = Item(item_id="E", price=D("6E+1"), quantity=None)
NEGATIVE_ZERO = Item(item_id="Z", price=D("-0.00"), quantity=1)


def _e(name: str, n: int, **kw: Any) -> Event:
    base: dict[str, Any] = {
        "dialect": "ga4-mp",
        "id": f"ev-{n:02d}",
        "anonymous_id": "anon-1",
        "timestamp": WHEN,
        "received_at": WHEN + timedelta(seconds=1),
    }
    return Event(name=name, **{**base, **kw})


CONTEXT = {
    "page": {
        "url": "https://shop.example/thanks?x=1",
        "path": "/thanks",
        "title": "Merci ✓",
        "referrer": "https://search.example/",
        "search": "?x=1",
        "hash": "#top",
    },
    "ip": "203.0.113.0",
    "user_agent": "Mozilla/5.0 (X11)",
    "locale": "fr-FR",
    "ids": {"fbp": "fb.1"},
}

# (label, event): order events with and without each amount, products with all or none
# of their fields, other events, identifiers, contexts, unicode, numbers msgspec writes
# as they are and ones it cannot (the fallback of trackway.model.encode_json), refusals.
CASES: list[tuple[str, Event]] = [
    (
        "purchase, every amount and field",
        _e(
            "purchase",
            1,
            user_id="u-1",
            context=CONTEXT,
            properties={"page_type": "success", "$wire": "dropped"},
            commerce=_c(
                currency="EUR",
                value="30.00",
                tax="6.00",
                shipping="4.90",
                discount="2.00",
                coupon="WINTER",
                transaction_id="T-1",
                affiliation="Online",
                payment_method="card",
                items=[FULL, NONE, ID_ONLY, EMPTY_PRODUCT_ID],
            ),
        ),
    ),
    ("purchase, items only", _e("purchase", 2, commerce=_c(currency="EUR", items=[FULL, ID_ONLY]))),
    ("purchase, an id only", _e("purchase", 3, commerce=_c(transaction_id="T-3"))),
    ("purchase, empty commerce", _e("purchase", 4, commerce=_c())),
    ("purchase, an empty item list", _e("purchase", 5, commerce=_c(value="10", items=[]))),
    ("purchase, value and tax", _e("purchase", 6, commerce=_c(value="59.97", tax="4.9", items=[HUGE, TINY]))),
    ("purchase, shipping 0", _e("purchase", 7, commerce=_c(value="6E+1", shipping="0", items=[EXPONENT]))),
    (
        "purchase, big and tiny amounts",
        _e("purchase", 8, commerce=_c(value="12345678901234567890.12", tax="1E-7", discount="0.0000001")),
    ),
    ("purchase, a NaN value, infinite tax", _e("purchase", 9, commerce=_c(value="NaN", tax="Infinity"))),
    ("purchase, a NaN price", _e("purchase", 10, commerce=_c(currency="EUR", items=[NAN_PRICE, TINY]))),
    ("purchase, negative zero", _e("purchase", 11, commerce=_c(value="-0.00", items=[NEGATIVE_ZERO]))),
    (
        "purchase, UA's value (the total)",
        _e("purchase", 12, dialect="gtag-ua", commerce=_c(value="40.90", tax="6.00", shipping="4.90")),
    ),
    (
        "purchase, UA's value, tax only",
        _e("purchase", 13, dialect="gtm-ua", commerce=_c(value="40.90", tax="6.00", items=[FULL])),
    ),
    (
        "purchase, Commanders Act's value and revenue",
        _e(
            "purchase",
            14,
            dialect="commanders-act",
            commerce=_c(value="22.53", revenue="16.00", tax="3.20", shipping="3.33", items=[TINY]),
        ),
    ),
    (
        "purchase, Commanders Act's revenue over the items",
        _e("purchase", 15, dialect="commanders-act", commerce=_c(revenue="99", items=[FULL])),
    ),
    ("purchase, Convead's revenue", _e("purchase", 16, dialect="convead", commerce=_c(value="12.5"))),
    ("purchase, an unknown dialect", _e("purchase", 17, dialect="nope", commerce=_c(value="1.5", tax="0.3"))),
    (
        "purchase, properties named as Segment's",
        _e(
            "purchase",
            18,
            properties={
                "currency": "X",
                "order_id": "p",
                "products": "p",
                "revenue": 1,
                "total": None,
                "z": 2,
            },
            commerce=_c(currency="EUR", value="5", transaction_id="T-18", items=[ID_ONLY]),
        ),
    ),
    ("refund, value", _e("refund", 19, commerce=_c(currency="USD", value="-12.00", transaction_id="T-19"))),
    ("refund, tax only", _e("refund", 20, commerce=_c(tax="1.10", transaction_id="T-20"))),
    (
        "begin_checkout, value, discount, coupon",
        _e("begin_checkout", 21, commerce=_c(value="20", discount="2.5", coupon="C", items=[FULL, UNICODE])),
    ),
    ("begin_checkout, no amounts", _e("begin_checkout", 22, commerce=_c(items=[NONE]))),
    ("add_payment_info", _e("add_payment_info", 23, commerce=_c(value="9.99", currency="GBP", items=[TINY]))),
    (
        "add_shipping_info (not an order name)",
        _e("add_shipping_info", 24, commerce=_c(value="9.99", tax="1")),
    ),
    (
        "view_item, one item at the top",
        _e("view_item", 25, commerce=_c(currency="EUR", value="15", items=[FULL])),
    ),
    ("view_item, no item fields", _e("view_item", 26, commerce=_c(items=[NONE]))),
    (
        "view_item, properties named as the product's",
        _e("view_item", 27, properties={"price": "p", "sku": "s", "a": 1}, commerce=_c(items=[FULL])),
    ),
    ("view_item, two items", _e("view_item", 28, commerce=_c(items=[FULL, UNICODE]))),
    ("add_to_cart", _e("add_to_cart", 29, commerce=_c(currency="EUR", value="30.00", items=[FULL]))),
    ("remove_from_cart, two", _e("remove_from_cart", 30, commerce=_c(items=[ID_ONLY, HUGE]))),
    ("add_to_wishlist", _e("add_to_wishlist", 31, commerce=_c(items=[UNICODE]))),
    ("select_item", _e("select_item", 32, commerce=_c(items=[EMPTY_PRODUCT_ID]))),
    ("view_cart", _e("view_cart", 33, commerce=_c(currency="EUR", value="0", items=[FULL, NONE]))),
    (
        "view_item_list",
        _e(
            "view_item_list",
            34,
            properties={"item_list_id": "l1", "item_list_name": "Deals", "category": "old"},
            commerce=_c(items=[FULL, ID_ONLY]),
        ),
    ),
    ("view_item_list, no list", _e("view_item_list", 35, properties={"item_list_name": "Deals"})),
    ("search", _e("search", 36, properties={"search_term": "mugs ☕"})),
    ("view_search_results, no term", _e("view_search_results", 37, properties={"q": "x"})),
    ("view_promotion", _e("view_promotion", 38, properties={"promotion_id": "P1"})),
    ("select_promotion", _e("select_promotion", 39, commerce=_c(items=[ID_ONLY]))),
    ("page_view, bare", _e("page_view", 40)),
    (
        "page_view, page context",
        _e(
            "page_view",
            41,
            context={"page": {"url": "https://shop.example/", "title": None, "path": ""}, "locale": "de"},
            properties={"page_location": "https://shop.example/", "engagement_time_msec": 120},
        ),
    ),
    ("page_view, empty page", _e("page_view", 42, context={"page": {"title": None}, "ip": "10.0.0.1"})),
    ("page_view, page not an object", _e("page_view", 43, context={"page": "https://x", "user_agent": "UA"})),
    (
        "page_view, odd context values",
        _e("page_view", 44, context={"ip": 5, "user_agent": "", "locale": None}),
    ),
    ("page_view, currency only", _e("page_view", 45, commerce=_c(currency="EUR"))),
    (
        "login, traits",
        _e(
            "login",
            46,
            user_id="u-46",
            user={"first_name": "Zoë", "email_sha256": "ab" * 32, "ltv": D("1E-7"), "tags": ["a", 1]},
            context={"user_agent": "UA/1", "locale": "fr"},
        ),
    ),
    ("sign_up, empty traits", _e("sign_up", 47, user={})),
    (
        "purchase, traits and a user id only",
        _e("purchase", 48, anonymous_id=None, user_id="u-48", user={"plan": "pro"}, commerce=_c(value="1")),
    ),
    ("page_view, received_at only", _e("page_view", 49, timestamp=None)),
    ("page_view, no time", _e("page_view", 50, timestamp=None, received_at=None)),
    (
        "page_view, not UTC",
        _e(
            "page_view",
            51,
            timestamp=datetime(2026, 12, 31, 23, 30, 0, 999, tzinfo=timezone(timedelta(hours=-1))),
        ),
    ),
    (
        "page_view, values of every JSON type",
        _e(
            "page_view",
            52,
            properties={
                "f": 1.5,
                "big": 10**30,
                "t": True,
                "n": None,
                "l": [1, "two", {"3": D("3.000")}],
                "o": {"k": "v"},
                "emoji": "😀",
                "ctrl": 'a"b\\c\n\t\u0001',
                "": "empty key",
            },
        ),
    ),
    ("a lone surrogate", _e("page_view", 53, properties={"bad": "x\ud800y"}, user={"t": "\udfff"})),
    ("an integer of 4,001 digits", _e("page_view", 54, properties={"huge": 10**4000})),
    ("an infinite float", _e("page_view", 55, properties={"inf": float("inf"), "nan": float("nan")})),
    ("a NaN Decimal property", _e("page_view", 56, properties={"d": D("NaN"), "s": D("-sNaN")})),
    (
        "nested 70 deep",
        _e("page_view", 57, properties={"deep": json.loads("[" * 70 + "]" * 70), "x": {"y": {"z": 1}}}),
    ),
    ("an unknown name, unicode", _e("procédure_étape ☕", 58, properties={"ключ": "значение"})),
    ("a custom event, ids as given", _e("login", 59, id="ü-59", anonymous_id="", user_id="")),
    ("refused: no id", _e("purchase", 60, id="")),
    ("refused: no user", _e("page_view", 61, anonymous_id=None)),
    ("refused: a call over 32 KB", _e("page_view", 62, properties={"blob": "x" * 32 * 1024})),
    ("refused: traits over 32 KB", _e("login", 63, user={"blob": "é" * 16 * 1024})),
    ("a call of 32,768 bytes", _e("page_view", 64, properties={"blob": "x" * 32_625})),
    ("refused: a call of 32,769 bytes", _e("page_view", 65, properties={"blob": "x" * 32_626})),
    ("two calls of 20 KB", _e("login", 66, user={"blob": "a" * 20_000}, properties={"blob": "b" * 20_000})),
]


def rendered(events: list[Event]) -> dict[str, Any]:
    return golden.rendered(ENCODER, events, OPTIONS, NOW)


def big_batch() -> list[Event]:
    """Events of about 20 KB each, whose calls need several requests of at most 500 KB."""
    return [_e("page_view", 100 + n, properties={"pad": "ü" * (10_000 + 37 * n)}) for n in range(60)]


def renderings() -> dict[str, Any]:
    """Each case alone, then all of them in one batch, then a batch over 500 KB."""
    out = {label: rendered([event]) for label, event in CASES}
    out["all of them in one batch"] = rendered([event for _, event in CASES])
    out["a batch over 500 KB"] = rendered(big_batch())
    return out


def write_golden() -> None:
    golden.write(GOLDEN, renderings())
