"""gtag-ga4: the 2Checkout examples, canonical mapping, bad inputs, round-trip properties."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import trackway
from tests.support.roundtrip import assert_roundtrip, normalise, roundtrip
from tests.support.specs import examples
from tests.support.strategies import (
    check_decode,
    ga4_items,
    hostile_scalars,
    ids,
    money,
    scalar,
    text,
    unknown,
)
from tests.support.strategies import json_values as any_json
from trackway.vendors.ga4 import common as ga4

EXAMPLES = examples("gtag-ga4")


def _example(name):
    return next(e for e in EXAMPLES if e.name == name).value


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.id)
def test_spec_example_decodes_without_error_and_round_trips(example):
    decoded = trackway.decode("gtag-ga4", example.value)
    assert decoded.valid, [i for i in decoded.issues if i.is_error]
    assert [e.name for e in decoded.events] == [example.name]
    assert_roundtrip("gtag-ga4", example.value)


def test_purchase_maps_to_canonical_fields():
    event = trackway.decode("gtag-ga4", _example("purchase")).events[0]
    c = event.commerce
    assert (c.transaction_id, c.currency, c.coupon) == ("11741538", "USD", "promotion-code")
    assert (c.value, c.tax, c.shipping) == (Decimal("84.03"), Decimal("15.97"), Decimal("11.02"))
    [item] = c.items
    assert (item.item_id, item.item_name, item.categories) == ("4591180", "Antivirus 2016", ["REGULAR"])
    assert (item.price, item.quantity, item.coupon) == (Decimal("84.03"), 1, "coupon_code")
    assert item.extras == {"group": "General", "tax": Decimal("20.5")}
    assert event.properties == {}


def test_begin_checkout_reads_the_string_value_with_a_warning():
    decoded = trackway.decode("gtag-ga4", _example("begin_checkout"))
    assert decoded.valid
    assert decoded.events[0].commerce.value == Decimal("177.89")
    assert ("$[2].value", "NUMBER_AS_STRING", "warning") in [
        (i.path, i.code, i.severity) for i in decoded.issues
    ]
    # the example's items say "category", not GA4's "item_category": kept as sent, not a category
    item = decoded.events[0].commerce.items[0]
    assert item.categories == []
    assert item.extras["category"] == "REGULAR"


def test_view_item_list_keeps_list_parameters_and_item_extras():
    event = trackway.decode("gtag-ga4", _example("view_item_list")).events[0]
    assert event.properties == {
        "item_list_id": "cross-sell products",
        "item_list_name": "cross-sell products",
    }
    first, second = event.commerce.items
    assert (first.price, first.discount, first.index) == (Decimal("27.9"), Decimal("3.10"), 0)
    assert second.extras["hiddenAdditionalFields"] == [{"Additional hiddenfield": ""}]


def test_page_redirect_is_ambiguous_with_gtag_ua_and_says_so():
    decoded = trackway.decode("auto", _example("page_redirect"))
    assert decoded.dialect == "gtag-ga4"
    assert decoded.alternatives == ["gtag-ua"]
    assert any(i.code == "DIALECT_AMBIGUOUS" for i in decoded.issues)


def _cart(**params):
    return ["event", "add_to_cart", {"currency": "EUR", "value": 1, "items": [{"item_id": "a"}], **params}]


BAD = [
    (
        ["event", "purchase", {"currency": "USD", "value": 1, "items": [{"item_id": "a"}]}],
        "$[2].transaction_id",
        "VALUE_REQUIRED",
    ),
    (["event", "refund", {"transaction_id": ""}], "$[2].transaction_id", "VALUE_REQUIRED"),
    (["event", "add_to_cart", {"currency": "EUR", "value": 1}], "$[2].items", "VALUE_REQUIRED"),
    (["event", "add_to_cart", {"value": 1, "items": [{"item_id": "a"}]}], "$[2].currency", "VALUE_REQUIRED"),
    (_cart(currency="EURO"), "$[2].currency", "CURRENCY_INVALID"),
    (_cart(currency="eur"), "$[2].currency", "CURRENCY_INVALID"),
    (_cart(value="12,50"), "$[2].value", "TYPE_INVALID"),
    (_cart(items=[{"price": 1}]), "$[2].items[0]", "VALUE_REQUIRED"),
    (_cart(items=[{"item_id": "a", "quantity": Decimal("1.5")}]), "$[2].items[0].quantity", "TYPE_INVALID"),
    (_cart(items=[{"item_id": {"x": 1}}]), "$[2].items[0].item_id", "TYPE_INVALID"),
    (_cart(items=[{"item_id": "a", "price": "abc"}]), "$[2].items[0].price", "TYPE_INVALID"),
    (_cart(items={"item_id": "a"}), "$[2].items", "TYPE_INVALID"),
    (_cart(items=[{"item_id": str(n)} for n in range(201)]), "$[2].items", "EXCEEDED_MAX_ENTITIES"),
    (["event", "search", {}], "$[2].search_term", "VALUE_REQUIRED"),
    (_cart(items=[]), "$[2].items", "VALUE_REQUIRED"),
    (["event", "purchase", "T1"], "$[2]", "TYPE_INVALID"),
    (["event", 3, {}], "$[1]", "VALUE_REQUIRED"),
    (["config"], "$", "PAYLOAD_INVALID"),  # a config command names its tag
    (["config", 123], "$[1]", "TYPE_INVALID"),
    (["set", "currency"], "$[1]", "TYPE_INVALID"),
    (["consent", "maybe", {}], "$[1]", "ENUM_INVALID"),
    (["get", "G-1"], "$", "PAYLOAD_INVALID"),
    (["config", "G-1", "send_page_view"], "$[2]", "TYPE_INVALID"),
    (["event", "purchase", {}, {}], "$", "PAYLOAD_INVALID"),
    ({"event": "purchase"}, "$", "PAYLOAD_INVALID"),
]


@pytest.mark.parametrize(("payload", "path", "code"), BAD)
def test_bad_input_gives_its_issue(payload, path, code):
    decoded = trackway.decode("gtag-ga4", payload)
    assert (path, code) in [(i.path, i.code) for i in decoded.issues if i.is_error]
    assert not decoded.valid


def test_amounts_finer_than_the_currency_are_a_warning():
    decoded = trackway.decode("gtag-ga4", _cart(currency="JPY", value=Decimal("100.5")))
    assert decoded.valid
    assert ("$[2].value", "AMOUNT_PRECISION") in [(i.path, i.code) for i in decoded.issues]


def test_every_bad_item_is_reported_in_one_pass():
    items = [{"item_id": "a", "price": "x"}, {"quantity": 1}, {"item_name": 3}]
    decoded = trackway.decode("gtag-ga4", ["event", "view_item_list", {"items": items}])
    paths = {i.path for i in decoded.issues if i.is_error}
    assert {"$[2].items[0].price", "$[2].items[1]", "$[2].items[2].item_name"} <= paths


def test_sniff_scores():
    adapter = trackway.dialects.get("gtag-ga4")
    assert adapter.sniff(_example("purchase")) == 90
    assert adapter.sniff(_example("page_redirect")) == 60
    assert adapter.sniff(["event", "purchase", {"items": [{"id": "a"}]}]) == 10
    assert adapter.sniff({"event": "purchase"}) == 0
    assert adapter.sniff(["config", "G-1", {}]) == 90  # a GA4 tag's config: a non-event of gtag-ga4
    assert adapter.sniff(["config", "UA-1-1"]) == 20
    assert adapter.sniff(["set", {"currency": "EUR"}]) == 60
    assert adapter.sniff(["config", {"siteId": 1}]) == 0  # Commanders Act's cact('config', {...})


def test_gtm_ga4_ecommerce_extras_become_flat_parameters():
    gtm = next(e for e in examples("gtm-ga4") if e.name == "begin_checkout").value
    out = trackway.convert(gtm, "gtm-ga4", "gtag-ga4")
    [payload] = out.payloads
    assert payload[0:2] == ["event", "begin_checkout"]
    assert payload[2]["actionField"] == {"step": 1, "orderDiscountCoupon": "promotion-coupon"}
    assert payload[2]["currency"] == "USD"
    assert not [i for i in out.issues if i.code == "NOT_CARRIED"]


def test_uncarried_identity_is_reported():
    event = trackway.Event(name="login", dialect="commanders-act", user_id="u1", properties={"method": "x"})
    payload, issues = trackway.encode_with_issues("gtag-ga4", event)
    assert payload == ["event", "login", {"method": "x"}]
    assert [(i.path, i.code) for i in issues] == [("user_id", "NOT_CARRIED")]


# -- hypothesis ----------------------------------------------------------------------------

NAMES = [*ga4.EVENTS, "page_redirect", "cartUpdated"]


@st.composite
def commands(draw, name):
    params = draw(
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
                "method": text,
                "event_label": text,
                "non_interaction": st.booleans(),
            },
        )
    )
    params["currency"] = draw(st.sampled_from(["EUR", "USD"]))
    params["items"] = draw(st.lists(ga4_items, min_size=1, max_size=3))
    if name in ("purchase", "refund") or draw(st.booleans()):
        params["transaction_id"] = draw(ids)
    if name == "search":
        params["search_term"] = draw(st.text(min_size=1, max_size=8))
    params.update(draw(unknown(["send_to", "event_category", "$x"])))
    return ["event", name, params]


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_generated_commands_round_trip(name, data):
    command = data.draw(commands(name))
    out, decoded = roundtrip("gtag-ga4", command)
    assert [e.name for e in decoded.events] == [name]
    assert normalise(out) == normalise([command])


def test_a_command_without_parameters_round_trips():
    assert_roundtrip("gtag-ga4", ["event", "page_view"])


@settings(max_examples=200, deadline=None)
@given(
    value=st.one_of(
        any_json(st.one_of(st.sampled_from(["items", "value", "currency", "price", "quantity"]), text)),
        st.tuples(
            st.just("event"),
            text,
            st.dictionaries(
                st.sampled_from(["items", "value", "currency"]), st.one_of(scalar, hostile_scalars)
            ),
        ).map(list),
    )
)
def test_decode_never_raises(value):
    check_decode("gtag-ga4", value)
