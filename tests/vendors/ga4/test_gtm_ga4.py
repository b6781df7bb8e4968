"""gtm-ga4: the 2Checkout examples, round trips, and bad inputs."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import trackway
from tests.support.roundtrip import assert_roundtrip, normalise, roundtrip
from tests.support.specs import examples
from tests.support.strategies import ga4_items, ids, money, text, unknown
from trackway.vendors.ga4 import common as ga4

EXAMPLES = examples("gtm-ga4")


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.name)
def test_spec_example_decodes_without_error_and_round_trips(example):
    decoded = trackway.decode("gtm-ga4", example.value)
    assert decoded.valid, decoded.issues
    assert [e.name for e in decoded.events] == [example.name]
    assert_roundtrip("gtm-ga4", example.value)


def test_purchase_maps_to_canonical_fields():
    purchase = next(e for e in EXAMPLES if e.name == "purchase").value
    event = trackway.decode("gtm-ga4", purchase).events[0]
    c = event.commerce
    assert c.transaction_id == "8c7be1b402d775f256289410d608e47135f4c431d8064005fcbbc8b65ffeaaa5"
    assert (c.currency, c.value, c.tax, c.shipping) == (
        "USD",
        Decimal("168.06"),
        Decimal("31.94"),
        Decimal("0"),
    )
    assert c.items[0].item_id == "7628801"
    assert c.items[0].price == Decimal("84.03")
    assert c.items[0].extras["group"] == "General"
    assert event.extras["ecommerce"]["actionField"]["purchaseFlow"] == "personal"


BAD = [
    (
        {"event": "purchase", "ecommerce": {"currency": "USD", "value": 1, "items": [{"item_id": "a"}]}},
        "$.ecommerce.transaction_id",
        "VALUE_REQUIRED",
    ),
    (
        {"event": "add_to_cart", "ecommerce": {"currency": "EURO", "value": 1, "items": [{"item_id": "a"}]}},
        "$.ecommerce.currency",
        "CURRENCY_INVALID",
    ),
    (
        {"event": "add_to_cart", "ecommerce": {"value": 1, "items": [{"item_id": "a"}]}},
        "$.ecommerce.currency",
        "VALUE_REQUIRED",
    ),
    (
        {"event": "add_to_cart", "ecommerce": {"currency": "EUR", "value": 1, "items": [{"price": 1}]}},
        "$.ecommerce.items[0]",
        "VALUE_REQUIRED",
    ),
    (
        {
            "event": "add_to_cart",
            "ecommerce": {"currency": "EUR", "value": "abc", "items": [{"item_id": "a"}]},
        },
        "$.ecommerce.value",
        "TYPE_INVALID",
    ),
    (
        {"event": "add_to_cart", "ecommerce": {"currency": "EUR", "value": 1}},
        "$.ecommerce.items",
        "VALUE_REQUIRED",
    ),
    (
        {
            "event": "view_item",
            "ecommerce": {"currency": "EUR", "value": 1, "items": [{"item_id": "a", "quantity": 1.5}]},
        },
        "$.ecommerce.items[0].quantity",
        "TYPE_INVALID",
    ),
    ({"event": "search"}, "$.search_term", "VALUE_REQUIRED"),
    (
        {"event": "add_to_cart", "ecommerce": {"currency": "EUR", "value": 1, "items": []}},
        "$.ecommerce.items",
        "VALUE_REQUIRED",
    ),
    ({"ecommerce": {}}, "$.event", "VALUE_REQUIRED"),
    (["event", "x", {}], "$", "PAYLOAD_INVALID"),
]


@pytest.mark.parametrize(("payload", "path", "code"), BAD)
def test_bad_input_gives_its_issue(payload, path, code):
    decoded = trackway.decode("gtm-ga4", payload)
    assert (path, code) in [(i.path, i.code) for i in decoded.issues if i.is_error]
    assert not decoded.valid


def test_every_bad_item_is_reported_in_one_pass():
    items = [{"item_id": "a", "price": "x"}, {"quantity": 1}, {"item_name": 3}]
    decoded = trackway.decode("gtm-ga4", {"event": "view_cart", "ecommerce": {"items": items}})
    paths = {i.path for i in decoded.issues if i.is_error}
    assert {"$.ecommerce.items[0].price", "$.ecommerce.items[1]", "$.ecommerce.items[2].item_name"} <= paths


def test_number_as_string_is_a_warning_and_reads_exactly():
    decoded = trackway.decode(
        "gtm-ga4",
        {
            "event": "add_to_cart",
            "ecommerce": {"currency": "USD", "value": "177.89", "items": [{"item_id": "a"}]},
        },
    )
    assert decoded.valid
    assert decoded.events[0].commerce.value == Decimal("177.89")
    assert [(i.path, i.code, i.severity) for i in decoded.issues] == [
        ("$.ecommerce.value", "NUMBER_AS_STRING", "warning")
    ]


# -- hypothesis ----------------------------------------------------------------------------


@st.composite
def pushes(draw, name):
    ecom = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "value": money,
                "tax": money,
                "shipping": money,
                "coupon": text,
                "payment_type": text,
                "shipping_tier": text,
                "affiliation": text,
                "item_list_id": text,
                "item_list_name": text,
                "creative_name": text,
                "promotion_id": text,
                "customer_type": st.sampled_from(["new", "returning"]),
            },
        )
    )
    ecom["currency"] = draw(st.sampled_from(["EUR", "USD"]))
    ecom["items"] = draw(st.lists(ga4_items, min_size=1, max_size=3))
    if name in ("purchase", "refund") or draw(st.booleans()):
        ecom["transaction_id"] = draw(ids)
    ecom.update(draw(unknown(["actionField", "orderDiscountCoupon", "$x"])))
    root = {"event": name, "ecommerce": ecom}
    if name == "search":
        root["search_term"] = draw(st.text(min_size=1, max_size=8))
    root.update(draw(unknown(["gtm.uniqueEventId", "page_type", "CUSTOM_KEY_1"])))
    if draw(st.booleans()):
        root["event_id"] = draw(st.text(min_size=1, max_size=8))
    return root


@pytest.mark.parametrize("name", [*ga4.EVENTS, "cartUpdated"])
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_generated_pushes_round_trip(name, data):
    push = data.draw(pushes(name))
    out, decoded = roundtrip("gtm-ga4", push)
    assert [e.name for e in decoded.events] == [name]
    assert normalise(out) == normalise([push])
