"""gtm-ua: the 2Checkout examples, the custom event, bad inputs, and round-trip properties."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import trackway
from tests.support.roundtrip import assert_roundtrip, normalise, roundtrip
from tests.support.specs import examples
from tests.support.strategies import (
    category_level,
    check_decode,
    hostile_scalars,
    ids,
    money,
    scalar,
    text,
    unknown,
)
from tests.support.strategies import json_values as any_json
from trackway.vendors.ua.actions import ACTIONS

EXAMPLES = examples("gtm-ua")
CUSTOM = examples("custom")
NAMES = {"checkout": "begin_checkout", "purchase": "purchase", "removeFromCart": "remove_from_cart"}
NAMES["addToCart"] = "add_to_cart"


@pytest.mark.parametrize("example", EXAMPLES + CUSTOM, ids=lambda e: e.id)
def test_spec_example_decodes_without_error_and_round_trips(example):
    decoded = trackway.decode("gtm-ua", example.value)
    assert decoded.valid, [i for i in decoded.issues if i.is_error]
    assert [e.name for e in decoded.events] == [NAMES.get(example.name, example.name)]
    assert_roundtrip("gtm-ua", example.value)


@pytest.mark.parametrize("example", EXAMPLES + CUSTOM, ids=lambda e: e.id)
def test_auto_detection_reads_the_examples_as_gtm_ua(example):
    assert trackway.decode("auto", example.value).dialect == "gtm-ua"


def _example(name):
    return next(e for e in EXAMPLES if e.name == name).value


def test_purchase_maps_to_canonical_fields():
    event = trackway.decode("gtm-ua", _example("purchase")).events[0]
    c = event.commerce
    assert event.name == "purchase"
    assert c.transaction_id == "11544394"
    assert c.currency == "USD"
    assert c.value == Decimal("168.06")  # revenue: tax and shipping included
    assert c.tax == Decimal("31.94")
    assert c.shipping == Decimal("0")
    assert c.coupon == "promotion-code"  # the second "coupon" of the actionField wins, as in JSON
    assert c.affiliation == ""
    assert c.revenue is None
    assert [it.item_id for it in c.items] == ["7628801", "7630067"]
    assert [it.item_name for it in c.items] == ["Panda_Antivirus", "Turbo_Panda_Antivirus"]
    assert [it.price for it in c.items] == [Decimal("84.03"), Decimal("84.03")]
    assert [it.quantity for it in c.items] == [1, 1]
    assert c.items[0].coupon == "coupon_code"
    assert c.items[0].extras["options"] == "USERS=users_one_test;PERIOD=period_one"
    assert c.items[1].extras["isDynamic"] is True
    af = event.extras["ecommerce"]["actionField"]
    assert af == {
        "purchaseFlow": "personal",
        "returnUrl": "",
        "returnType": "",
        "subscription": "",
        "orderDiscountCoupon": "promotion-coupon",
    }
    assert event.extras["$currency"] == "action"  # 2Checkout sends currencyCode inside purchase


def test_purchase_items_are_gtm_ga4_purchase_items():
    ga4 = next(e for e in examples("gtm-ga4") if e.name == "purchase").value
    ga4_c = trackway.decode("gtm-ga4", ga4).events[0].commerce
    ua_c = trackway.decode("gtm-ua", _example("purchase")).events[0].commerce
    assert ua_c.items == ga4_c.items
    assert (ua_c.value, ua_c.tax, ua_c.shipping, ua_c.currency, ua_c.coupon) == (
        ga4_c.value,
        ga4_c.tax,
        ga4_c.shipping,
        ga4_c.currency,
        ga4_c.coupon,
    )


def test_two_checkout_quirks_are_kept_where_they_came_from():
    add = trackway.decode("gtm-ua", _example("addToCart")).events[0]
    assert add.commerce.currency == "USD"
    assert add.extras["$currency"] == "root"
    assert "currencyCode" not in add.properties
    remove = trackway.decode("gtm-ua", _example("removeFromCart")).events[0]
    assert remove.commerce.coupon == "promotion-code"
    assert remove.extras["ecommerce"] == {"orderDiscountCoupon": "promotion-coupon"}
    checkout = trackway.decode("gtm-ua", _example("checkout")).events[0]
    assert checkout.properties == {"checkout_step": 1}
    assert checkout.commerce.coupon == "promotion-code"
    assert "$event" not in checkout.extras


def test_custom_event_keeps_its_name_and_keys():
    event = trackway.decode("gtm-ua", CUSTOM[0].value).events[0]
    assert event.name == "cartUpdated"
    assert event.commerce is None
    assert event.properties == {"CUSTOM_KEY_1": "custom_value_1", "CUSTOM_KEY_2": "custom_value_2"}


def _product(**kw):
    return {"id": "p1", "name": "P", "price": 10, "quantity": 1, **kw}


BAD = [
    (
        {"event": "purchase", "ecommerce": {"purchase": {"actionField": {"revenue": 1}, "products": []}}},
        "$.ecommerce.purchase.actionField.id",
        "VALUE_REQUIRED",
    ),
    ({"ecommerce": {"refund": {"actionField": {}}}}, "$.ecommerce.refund.actionField.id", "VALUE_REQUIRED"),
    (
        {"event": "addToCart", "ecommerce": {"add": {"products": [{"price": 1}]}}},
        "$.ecommerce.add.products[0]",
        "VALUE_REQUIRED",
    ),
    (
        {"ecommerce": {"currencyCode": "EURO", "add": {"products": [_product()]}}},
        "$.ecommerce.currencyCode",
        "CURRENCY_INVALID",
    ),
    (
        {"event": "addToCart", "currencyCode": "usd", "ecommerce": {"add": {"products": [_product()]}}},
        "$.currencyCode",
        "CURRENCY_INVALID",
    ),
    (
        {"ecommerce": {"purchase": {"currencyCode": "XXY", "actionField": {"id": "1"}}}},
        "$.ecommerce.purchase.currencyCode",
        "CURRENCY_INVALID",
    ),
    (
        {"ecommerce": {"add": {"products": [_product(price="abc")]}}},
        "$.ecommerce.add.products[0].price",
        "TYPE_INVALID",
    ),
    (
        {"ecommerce": {"detail": {"products": [_product(quantity=Decimal("1.5"))]}}},
        "$.ecommerce.detail.products[0].quantity",
        "TYPE_INVALID",
    ),
    (
        {"ecommerce": {"checkout": {"actionField": {"step": "first"}}}},
        "$.ecommerce.checkout.actionField.step",
        "TYPE_INVALID",
    ),
    (
        {"ecommerce": {"purchase": {"actionField": {"id": "1", "revenue": "12,50"}}}},
        "$.ecommerce.purchase.actionField.revenue",
        "TYPE_INVALID",
    ),
    ({"event": "addToCart", "ecommerce": {"add": {}}}, "$.ecommerce.add.products", "VALUE_REQUIRED"),
    ({"ecommerce": {"remove": {"products": {"id": "a"}}}}, "$.ecommerce.remove.products", "TYPE_INVALID"),
    ({"ecommerce": {"impressions": {"id": "a"}}}, "$.ecommerce.impressions", "TYPE_INVALID"),
    (
        {"ecommerce": {"impressions": [_product(category=["A", "B"])]}},
        "$.ecommerce.impressions[0].category",
        "TYPE_INVALID",
    ),
    ({"ecommerce": {"promoView": {}}}, "$.ecommerce.promoView.promotions", "VALUE_REQUIRED"),
    (
        {"ecommerce": {"promoClick": {"promotions": [{"creative": "banner"}]}}},
        "$.ecommerce.promoClick.promotions[0]",
        "VALUE_REQUIRED",
    ),
    (
        {"ecommerce": {"click": {"actionField": "list", "products": [_product()]}}},
        "$.ecommerce.click.actionField",
        "TYPE_INVALID",
    ),
    ({"ecommerce": {"add": "x"}}, "$.ecommerce.add", "TYPE_INVALID"),
    ({"event": 5, "ecommerce": {"add": {"products": [_product()]}}}, "$.event", "TYPE_INVALID"),
    ({"event": "x", "ecommerce": []}, "$.ecommerce", "TYPE_INVALID"),
    ({"event": "x", "event_id": 5}, "$.event_id", "TYPE_INVALID"),
    ({"ecommerce": {}}, "$.event", "VALUE_REQUIRED"),
    (["event", "purchase", {}], "$", "PAYLOAD_INVALID"),
]


@pytest.mark.parametrize(("payload", "path", "code"), BAD)
def test_bad_input_gives_its_issue(payload, path, code):
    decoded = trackway.decode("gtm-ua", payload)
    assert (path, code) in [(i.path, i.code) for i in decoded.issues if i.is_error]
    assert not decoded.valid


WARNINGS = [
    (
        {"ecommerce": {"purchase": {"actionField": {"id": "1", "revenue": 10}}}},
        "$.ecommerce.currencyCode",
        "RECOMMENDED_MISSING",
    ),
    (
        {"ecommerce": {"currencyCode": "JPY", "purchase": {"actionField": {"id": "1", "revenue": "10.5"}}}},
        "$.ecommerce.purchase.actionField.revenue",
        "AMOUNT_PRECISION",
    ),
    (
        {"ecommerce": {"add": {"products": [_product(price="84.03")]}}},
        "$.ecommerce.add.products[0].price",
        "NUMBER_AS_STRING",
    ),
    (
        {"ecommerce": {"detail": {"products": [_product(category="a/b/c/d/e/f")]}}},
        "$.ecommerce.detail.products[0].category",
        "VALUE_OUT_OF_BOUNDS",
    ),
]


@pytest.mark.parametrize(("payload", "path", "code"), WARNINGS)
def test_doubtful_input_is_a_warning_and_round_trips(payload, path, code):
    decoded = trackway.decode("gtm-ua", payload)
    assert decoded.valid
    assert (path, code, "warning") in [(i.path, i.code, i.severity) for i in decoded.issues]
    assert_roundtrip("gtm-ua", payload)


def test_every_bad_product_is_reported_in_one_pass():
    products = [_product(price="x"), {"quantity": 1}, _product(name=3)]
    decoded = trackway.decode("gtm-ua", {"ecommerce": {"add": {"products": products}}})
    paths = {i.path for i in decoded.issues if i.is_error}
    assert {
        "$.ecommerce.add.products[0].price",
        "$.ecommerce.add.products[1]",
        "$.ecommerce.add.products[2].name",
    } <= paths


def test_category_levels_and_positions():
    payload = {
        "ecommerce": {"impressions": [_product(category="Apparel/Men/Shirts", position=3, list="Search")]}
    }
    item = trackway.decode("gtm-ua", payload).events[0].commerce.items[0]
    assert (item.categories, item.index, item.list_name) == (["Apparel", "Men", "Shirts"], 3, "Search")
    assert trackway.encode("gtm-ua", trackway.decode("gtm-ua", payload).events[0]) == payload


def test_action_names_and_properties():
    payload = {
        "event": "checkoutOption",
        "ecommerce": {"checkout_option": {"actionField": {"step": 2, "option": "Visa"}}},
    }
    event = trackway.decode("gtm-ua", payload).events[0]
    assert (event.name, event.properties) == (
        "set_checkout_option",
        {"checkout_step": 2, "checkout_option": "Visa"},
    )
    click = {
        "event": "productClick",
        "ecommerce": {"click": {"actionField": {"list": "Search"}, "products": []}},
    }
    event = trackway.decode("gtm-ua", click).events[0]
    assert (event.name, event.properties) == ("select_item", {"item_list_name": "Search"})
    promo = {
        "ecommerce": {"promoView": {"promotions": [{"id": "P1", "creative": "banner", "position": "top"}]}}
    }
    event = trackway.decode("gtm-ua", promo).events[0]
    assert event.name == "view_promotion"
    assert event.properties["promotions"] == [
        {"promotion_id": "P1", "creative_name": "banner", "creative_slot": "top"}
    ]
    refund = trackway.decode("gtm-ua", {"ecommerce": {"refund": {"actionField": {"id": "T1"}}}}).events[0]
    assert (refund.name, refund.commerce.transaction_id, refund.commerce.items) == ("refund", "T1", None)


@pytest.mark.parametrize(
    "payload",
    [
        {"ecommerce": {"add": {"products": [_product()]}}},  # no event
        {"event": "gtm4wp.addProductToCartEEC", "ecommerce": {"add": {"products": [_product()]}}},
        {"event": "impressionsSeen", "ecommerce": {"impressions": [_product()]}},
        {"event": "view_item", "ecommerce": {"currencyCode": "EUR"}},  # an action's name, no action
        {"event": "purchase", "ecommerce": None},
        {"event": "purchase", "transaction_id": "T1"},
    ],
)
def test_event_key_and_plain_objects_round_trip(payload):
    assert_roundtrip("gtm-ua", payload)


def test_several_actions_give_one_event_each_and_render_one_object():
    payload = {
        "event": "productClick",
        "ecommerce": {
            "currencyCode": "EUR",
            "impressions": [_product(list="Related")],
            "click": {"actionField": {"list": "Search"}, "products": [_product()]},
            "promoView": {"promotions": [{"id": "P1"}]},
        },
    }
    decoded = trackway.decode("gtm-ua", payload)
    assert decoded.valid
    assert [e.name for e in decoded.events] == ["select_item", "view_item_list", "view_promotion"]
    assert all(e.commerce.currency == "EUR" for e in decoded.events)
    assert_roundtrip("gtm-ua", payload)


def test_encode_options_fill_2checkout_defaults_with_a_warning():
    event = trackway.Event(
        name="begin_checkout",
        dialect="gtm-ga4",
        commerce=trackway.Commerce(currency="USD", coupon="SUMMER", items=[trackway.Item(item_id="a")]),
    )
    out, issues = trackway.encode_with_issues(
        "gtm-ua", event, checkout_step=1, order_discount_coupon="auto-apply"
    )
    assert out["ecommerce"]["checkout"]["actionField"] == {
        "step": 1,
        "coupon": "SUMMER",
        "orderDiscountCoupon": "auto-apply",
    }
    filled = {(i.path, i.code) for i in issues}
    assert ("$.ecommerce.checkout.actionField.step", "VALUE_FILLED") in filled
    assert ("$.ecommerce.checkout.actionField.orderDiscountCoupon", "VALUE_FILLED") in filled
    out, issues = trackway.encode_with_issues("gtm-ua", event)
    assert "step" not in out["ecommerce"]["checkout"]["actionField"]  # optional: left out, not invented
    assert not [i for i in issues if i.path.startswith("$.ecommerce.checkout.actionField.step")]


def test_what_ua_cannot_carry_is_reported():
    event = trackway.Event(
        name="add_to_cart",
        dialect="gtm-ga4",
        user_id="u1",
        commerce=trackway.Commerce(
            currency="USD", value=Decimal("5"), items=[trackway.Item(item_id="a", discount=Decimal("1"))]
        ),
    )
    out, issues = trackway.encode_with_issues("gtm-ua", event)
    assert out == {
        "event": "addToCart",
        "ecommerce": {"currencyCode": "USD", "add": {"products": [{"id": "a"}]}},
    }
    assert {(i.path, i.code) for i in issues} == {
        ("commerce.value", "NOT_CARRIED"),
        ("$.ecommerce.add.products[0].discount", "NOT_CARRIED"),
        ("user_id", "NOT_CARRIED"),
    }


def test_sniff_scores():
    adapter = trackway.dialects.get("gtm-ua")
    assert adapter.sniff(_example("purchase")) == 80
    assert adapter.sniff({"event": "cartUpdated"}) > trackway.dialects.get("gtm-ga4").sniff(
        {"event": "cartUpdated"}
    )
    assert adapter.sniff({"event": "login"}) < trackway.dialects.get("gtm-ga4").sniff({"event": "login"})
    assert adapter.sniff({"event": "purchase", "ecommerce": {"items": []}}) == 10
    assert adapter.sniff(["event", "purchase", {}]) == 0


# -- hypothesis ----------------------------------------------------------------------------

categories = st.lists(category_level, min_size=1, max_size=7).map("/".join)


PRODUCT_EXTRAS = ["type", "group", "options", "dimension1", "metric2", "isDynamic", "hiddenAdditionalFields"]


def products(extra_names=PRODUCT_EXTRAS):
    known = st.fixed_dictionaries(
        {},
        optional={
            "brand": text,
            "category": categories,
            "variant": text,
            "price": money,
            "quantity": st.integers(0, 1000),
            "coupon": text,
            "position": st.integers(0, 50),
            "list": text,
        },
    )
    who = st.one_of(
        st.fixed_dictionaries({"id": ids}),
        st.fixed_dictionaries({"name": text}),
        st.fixed_dictionaries({"id": ids, "name": text}),
    )
    return st.tuples(who, known, unknown(extra_names)).map(lambda t: {**t[2], **t[1], **t[0]})


promotions = st.tuples(
    st.one_of(st.fixed_dictionaries({"id": ids}), st.fixed_dictionaries({"name": text})),
    st.fixed_dictionaries({}, optional={"creative": text, "position": text}),
    unknown(["x_slot", "dimension3"]),
).map(lambda t: {**t[2], **t[1], **t[0]})

ORDER = {"affiliation": text, "revenue": money, "tax": money, "shipping": money, "coupon": text}
AF_EXTRAS = ["purchaseFlow", "returnUrl", "orderDiscountCoupon", "subscription"]
FIELDS = {
    "detail": ({}, {"list": text}),
    "click": ({}, {"list": text}),
    "add": ({}, {"list": text}),
    "remove": ({}, {"list": text}),
    "checkout": ({"step": st.integers(1, 9)}, {"option": text, "coupon": text}),
    "checkout_option": ({}, {"step": st.integers(1, 9), "option": text}),
    "purchase": ({"id": ids}, ORDER),
    "refund": ({"id": ids}, ORDER),
}


@st.composite
def action_object(draw, key, product_extras=PRODUCT_EXTRAS):
    """A valid UA object for the action ``key``, unknown keys and 2Checkout's quirks included."""
    action = next(a for a in ACTIONS if a.key == key)
    many = st.lists(products(product_extras), max_size=3)
    if key == "impressions":
        body = draw(many)
    elif action.promotions:
        body = {"promotions": draw(st.lists(promotions, min_size=1, max_size=3))}
    else:
        body = {}
        if key in FIELDS:
            required, optional = FIELDS[key]
            af = draw(st.fixed_dictionaries(required, optional=optional))
            if key in ("checkout", "purchase", "refund") or draw(st.booleans()):
                body["actionField"] = {**draw(unknown(AF_EXTRAS)), **af}
        if action.needs_products or draw(st.booleans()):
            body["products"] = draw(many)
        if action.direct.fields and draw(st.booleans()):
            body["coupon"] = draw(text)
        body.update(draw(unknown(["orderDiscountCoupon", "note"])))
    ecom = {key: body, **draw(unknown(["x_ecom"]))}
    payload = draw(unknown(["pageType", "userType", "gtm.uniqueEventId"]))
    place = draw(st.sampled_from(["ecommerce", "root", "none"] + (["action"] if type(body) is dict else [])))
    code = draw(st.sampled_from(["EUR", "USD", "JPY", "BHD"]))
    if place == "ecommerce":
        ecom["currencyCode"] = code
    elif place == "root":
        payload["currencyCode"] = code
    elif place == "action":
        body["currencyCode"] = code
    event = draw(st.sampled_from(["absent", "default", "other"]))
    if event == "default" and action.event:
        payload["event"] = action.event
    elif event == "other":
        payload["event"] = draw(st.sampled_from(["gtm.dom", "ecommerceEvent", "purchase", "addToCart"]))
    if draw(st.booleans()):
        payload["event_id"] = draw(st.text(min_size=1, max_size=8))
    payload["ecommerce"] = ecom
    return payload


@pytest.mark.parametrize("key", [a.key for a in ACTIONS])
@settings(max_examples=120, deadline=None)
@given(data=st.data())
def test_generated_action_objects_round_trip(key, data):
    payload = data.draw(action_object(key))
    out, decoded = roundtrip("gtm-ua", payload)
    assert [e.name for e in decoded.events] == [next(a.name for a in ACTIONS if a.key == key)]
    assert normalise(out) == normalise([payload])


@settings(max_examples=100, deadline=None)
@given(
    first=action_object("impressions"),
    second=st.sampled_from(["detail", "click", "promoView"]).flatmap(action_object),
)
def test_generated_objects_with_several_actions_round_trip(first, second):
    payload = {
        **second,
        "ecommerce": {**second["ecommerce"], "impressions": first["ecommerce"]["impressions"]},
    }
    out, decoded = roundtrip("gtm-ua", payload)
    assert len(decoded.events) == 2
    assert normalise(out) == normalise([payload])


@settings(max_examples=100, deadline=None)
@given(
    name=st.text(min_size=1, max_size=12),
    keys=st.dictionaries(
        st.text(max_size=6).filter(lambda k: k not in ("event", "ecommerce", "event_id")), scalar
    ),
)
def test_generated_custom_events_round_trip(name, keys):
    payload = {"event": name, **keys}
    decoded = trackway.decode("gtm-ua", payload)
    assert [(e.name, e.properties) for e in decoded.events] == [(name, keys)]
    assert_roundtrip("gtm-ua", payload)


UA_KEYS = st.sampled_from(
    [
        "event",
        "ecommerce",
        "currencyCode",
        "actionField",
        "products",
        "promotions",
        "impressions",
        "detail",
        "click",
        "add",
        "remove",
        "checkout",
        "checkout_option",
        "purchase",
        "refund",
        "promoView",
        "promoClick",
        "id",
        "name",
        "price",
        "quantity",
        "category",
        "revenue",
        "step",
        "position",
        "event_id",
    ]
)
json_values = any_json(
    st.one_of(UA_KEYS, text), st.one_of(hostile_scalars, st.sampled_from(["EUR", "purchase", "1.5", ""]))
)


@settings(max_examples=200, deadline=None)
@given(value=st.one_of(json_values, json_values.map(lambda v: {"ecommerce": v})))
def test_decode_never_raises(value):
    check_decode("gtm-ua", value)
