"""adobe-dtm: gtm-ua's layout plus product externalRef; the 2Checkout examples and properties."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import trackway
from tests.support.roundtrip import assert_roundtrip, normalise, roundtrip
from tests.support.specs import examples
from tests.support.strategies import check_decode
from tests.vendors.ua.test_gtm_ua import PRODUCT_EXTRAS, action_object, json_values
from trackway.vendors.ua.actions import ACTIONS

EXAMPLES = examples("adobe-dtm")
NAMES = {
    "checkout": "begin_checkout",
    "purchase": "purchase",
    "removeFromCart": "remove_from_cart",
    "addToCart": "add_to_cart",
}


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.id)
def test_spec_example_decodes_without_error_and_round_trips(example):
    decoded = trackway.decode("adobe-dtm", example.value)
    assert decoded.valid, [i for i in decoded.issues if i.is_error]
    assert [e.name for e in decoded.events] == [NAMES[example.name]]
    assert [e.dialect for e in decoded.events] == ["adobe-dtm"]
    assert_roundtrip("adobe-dtm", example.value)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.id)
def test_auto_detection_picks_adobe_dtm_and_names_gtm_ua(example):
    decoded = trackway.decode("auto", example.value)
    assert decoded.dialect == "adobe-dtm"
    assert decoded.alternatives == ["gtm-ua"]


def _example(name):
    return next(e for e in EXAMPLES if e.name == name).value


def test_purchase_maps_to_canonical_fields():
    event = trackway.decode("adobe-dtm", _example("purchase")).events[0]
    c = event.commerce
    assert event.name == "purchase"
    assert c.transaction_id == "11544394"
    assert (c.currency, c.value, c.tax, c.shipping) == (
        "USD",
        Decimal("168.06"),
        Decimal("31.94"),
        Decimal("0"),
    )
    assert (c.coupon, c.affiliation) == ("promotion-code", "")
    assert [it.item_id for it in c.items] == ["7628801", "7630067"]
    assert [it.price for it in c.items] == [Decimal("84.03"), Decimal("84.03")]
    assert [it.extras["externalRef"] for it in c.items] == ["", ""]
    assert event.extras["ecommerce"]["actionField"]["purchaseFlow"] == "personal"


def test_purchase_items_are_gtm_ga4_purchase_items_but_for_what_adobe_adds():
    ga4 = next(e for e in examples("gtm-ga4") if e.name == "purchase").value
    ga4_items = trackway.decode("gtm-ga4", ga4).events[0].commerce.items
    adobe_items = trackway.decode("adobe-dtm", _example("purchase")).events[0].commerce.items
    for ga4_item, adobe_item in zip(ga4_items, adobe_items, strict=True):
        extras = dict(adobe_item.extras)
        assert extras.pop("externalRef") == ""
        if adobe_item.item_id == "7630067":  # the Adobe example adds group and tax to this product
            assert (extras.pop("group"), extras.pop("tax")) == ("General", Decimal("20.5"))
        assert msgspec.structs.replace(adobe_item, extras=extras) == ga4_item


def test_external_ref_goes_to_gtm_ua_and_back():
    event = trackway.decode("adobe-dtm", _example("addToCart")).events[0]
    gtm = trackway.encode("gtm-ua", event)
    assert gtm["ecommerce"]["add"]["products"][0]["externalRef"] == ""
    assert normalise(gtm) == normalise(_example("addToCart"))


def test_gtm_ua_examples_read_the_same_in_adobe_dtm():
    for example in examples("gtm-ua"):
        gtm = trackway.decode("gtm-ua", example.value).events
        adobe = trackway.decode("adobe-dtm", example.value).events
        assert [(e.name, e.commerce, e.properties, e.extras) for e in gtm] == [
            (e.name, e.commerce, e.properties, e.extras) for e in adobe
        ]


BAD = [
    (
        {"event": "purchase", "ecommerce": {"purchase": {"actionField": {"revenue": "1"}, "products": []}}},
        "$.ecommerce.purchase.actionField.id",
        "VALUE_REQUIRED",
    ),
    (
        {"ecommerce": {"add": {"products": [{"externalRef": "X1", "price": 1}]}}},
        "$.ecommerce.add.products[0]",
        "VALUE_REQUIRED",
    ),
    (
        {"ecommerce": {"currencyCode": "dollar", "remove": {"products": [{"id": "a", "externalRef": ""}]}}},
        "$.ecommerce.currencyCode",
        "CURRENCY_INVALID",
    ),
    (
        {"ecommerce": {"add": {"products": [{"id": "a", "price": "n/a", "externalRef": ""}]}}},
        "$.ecommerce.add.products[0].price",
        "TYPE_INVALID",
    ),
    (
        {"ecommerce": {"add": {"products": [{"id": "a", "quantity": Decimal("1.5")}]}}},
        "$.ecommerce.add.products[0].quantity",
        "TYPE_INVALID",
    ),
]


@pytest.mark.parametrize(("payload", "path", "code"), BAD)
def test_bad_input_gives_its_issue(payload, path, code):
    decoded = trackway.decode("adobe-dtm", payload)
    assert (path, code) in [(i.path, i.code) for i in decoded.issues if i.is_error]
    assert not decoded.valid


def test_sniff_scores():
    adobe, gtm = trackway.dialects.get("adobe-dtm"), trackway.dialects.get("gtm-ua")
    with_ref = _example("purchase")
    without = next(e for e in examples("gtm-ua") if e.name == "purchase").value
    assert (adobe.sniff(with_ref), gtm.sniff(with_ref)) == (90, 80)
    assert (adobe.sniff(without), gtm.sniff(without)) == (40, 80)
    assert adobe.sniff({"ecommerce": {"impressions": [{"id": "a", "externalRef": "R"}]}}) == 90
    assert adobe.sniff({"event": "cartUpdated"}) == 30
    assert adobe.sniff(["event", "purchase", {}]) == 0


def test_tables_document_external_ref():
    wires = [f.wire for t in trackway.dialects.get("adobe-dtm").tables() for f in t.fields]
    assert "externalRef" in wires


@pytest.mark.parametrize("key", [a.key for a in ACTIONS])
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_generated_action_objects_round_trip(key, data):
    payload = data.draw(action_object(key, [*PRODUCT_EXTRAS, "externalRef"]))
    out, decoded = roundtrip("adobe-dtm", payload)
    assert [e.dialect for e in decoded.events] == ["adobe-dtm"]
    assert normalise(out) == normalise([payload])


@settings(max_examples=150, deadline=None)
@given(value=st.one_of(json_values, json_values.map(lambda v: {"ecommerce": v})))
def test_decode_never_raises(value):
    check_decode("adobe-dtm", value)
