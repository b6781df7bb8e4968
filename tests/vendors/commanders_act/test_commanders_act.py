"""commanders-act: the document's examples, both forms, batches, and bad inputs."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal

import pytest

import trackway
from tests.support.roundtrip import assert_roundtrip, normalise, roundtrip
from tests.support.specs import commanders_act_hashed_user, examples
from trackway import dialects

NAME = "commanders-act"
EXAMPLES = examples(NAME)


def issues_of(payload, **kw):
    return [(i.path, i.code) for i in trackway.decode(NAME, payload, **kw).issues]


def errors_of(payload):
    return [(i.path, i.code) for i in trackway.decode(NAME, payload).issues if i.is_error]


ITEM = {
    "id": "SKU_1",
    "quantity": 2,
    "discount": Decimal("1.99"),
    "affiliation": "shop",
    "product": {"id": "1", "name": "Trex tshirt", "price": Decimal("9.99"), "currency": "EUR"},
}
USER = {
    "id": "u-1",
    "consistent_anonymous_id": "anon-1",
    "email": "john.doe@example.com",
    "phone": "+33612345678",
    "consent_categories": ["1", "3"],
}
CONTEXT = {"event_id": "e-1", "event_timestamp": 1700000000123}
SERVER_PURCHASE = {
    "event_name": "purchase",
    "id": "O_1",
    "type": "online",
    "status": "in_progress",
    "payment_method": "card",
    "revenue": Decimal("16.00"),
    "value": Decimal("22.53"),
    "shipping_amount": Decimal("3.33"),
    "tax_amount": Decimal("3.20"),
    "currency": "EUR",
    "items": [ITEM],
    "user": USER,
    "context": CONTEXT,
}
CALL_PURCHASE = [
    "trigger",
    "purchase",
    {k: v for k, v in SERVER_PURCHASE.items() if k not in ("event_name", "context")},
]


def server(**changes):
    """SERVER_PURCHASE with dotted keys set (None: removed)."""
    body = copy.deepcopy(SERVER_PURCHASE)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        obj = body
        for key in parents:
            obj = obj[int(key)] if isinstance(obj, list) else obj[key]
        if value is None:
            obj.pop(last)
        else:
            obj[last] = value
    return body


def call(name, params):
    return ["trigger", name, params]


# -- the document's examples --------------------------------------------------------


def test_the_document_gives_sixteen_examples():
    assert len(EXAMPLES) == 16
    assert all(e.value[0] == "trigger" for e in EXAMPLES)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.name)
def test_spec_example_decodes_without_error_and_round_trips(example):
    decoded = trackway.decode(NAME, example.value)
    assert decoded.valid, [i for i in decoded.issues if i.is_error]
    assert [e.name for e in decoded.events] == [example.name]
    assert decoded.events[0].extras["$form"] == "call"
    assert_roundtrip(NAME, example.value)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.name)
def test_spec_example_is_recognised_by_auto_detection(example):
    assert dialects.get(NAME).sniff(example.value) == 95
    assert trackway.decode("auto", example.value).dialect == NAME


def test_purchase_maps_to_canonical_fields():
    purchase = next(e for e in EXAMPLES if e.name == "purchase").value
    event = trackway.decode(NAME, purchase).events[0]
    c = event.commerce
    assert (event.name, event.dialect, event.id) == ("purchase", NAME, "")
    assert c.transaction_id == "O_12345"
    assert c.coupon == "CHRISTMAS"
    assert c.value == Decimal("22.53")
    assert c.revenue == Decimal("16.00")
    assert c.shipping == Decimal("3.33")
    assert c.tax == Decimal("3.20")
    assert c.currency == "EUR"
    assert (c.type, c.status, c.payment_method) == (None, None, None)
    assert event.user_id == "12356"
    assert event.user == {"email": "toto@domain.fr"}
    assert event.anonymous_id is None and event.consent is None
    assert event.properties == {}
    first, second = c.items
    assert first.item_id == "SKU_12345"
    assert first.product_id == "12345"
    assert first.item_name == "Trex tshirt"
    assert first.price == Decimal("8.00")  # product.price 9.99 - discount 1.99
    assert first.discount == Decimal("1.99")
    assert first.quantity == 1
    assert first.variant == "red"
    assert first.coupon == "CHRISTMAS"
    assert first.brand == "Lacoste"
    assert first.categories == ["clothes", "t-shirts", "boy"]
    assert first.currency is None and first.index is None
    assert first.extras == {"product": {"colors": ["red"]}}
    assert second.price == Decimal("8.00")
    assert second.extras == {"price": Decimal("9.99"), "product": {"colors": ["blue", "white"]}}


def test_generate_lead_keeps_the_lead_id_as_a_property():
    event = trackway.decode(NAME, next(e for e in EXAMPLES if e.name == "generate_lead").value).events[0]
    assert event.properties == {"id": "L_12345"}
    assert event.commerce.transaction_id is None
    assert (event.commerce.value, event.commerce.currency) == (Decimal("9.99"), "EUR")


def test_begin_checkout_id_is_the_transaction_id():
    event = trackway.decode(NAME, next(e for e in EXAMPLES if e.name == "begin_checkout").value).events[0]
    assert event.commerce.transaction_id == "O_12345"


def test_hashed_user_example_validates_in_a_server_form_event():
    hashed = commanders_act_hashed_user()
    body = {"event_name": "login", "method": "email", "user": hashed["user"], "context": CONTEXT}
    decoded = trackway.decode(NAME, body)
    assert decoded.valid, [i for i in decoded.issues if i.is_error]
    assert decoded.events[0].user == hashed["user"]
    assert not any(i.code == "HASH_INVALID" for i in decoded.issues)
    assert_roundtrip(NAME, body)


# -- server form and batches ---------------------------------------------------------


def test_server_form_decodes_context_user_and_consent():
    body = server(
        **{
            "user__firstname": "John",
            "user__lastname": "Doe",
            "user__firstname_sha256": "a" * 64,
            "user__loyalty": "gold",
            "context__page": {"title": "Thanks", "url": "https://shop.example/ok", "lang": "fr", "x": 1},
            "context__device": {
                "user_agent": "UA/1",
                "ip": "203.0.113.7",
                "lang": "fr-FR",
                "timezone": "CET",
            },
        }
    )
    decoded = trackway.decode(NAME, body)
    assert decoded.valid, decoded.issues
    event = decoded.events[0]
    assert event.id == "e-1"
    assert event.timestamp == datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)
    assert (event.user_id, event.anonymous_id) == ("u-1", "anon-1")
    assert event.consent == {"categories": ["1", "3"]}
    assert event.user == {
        "email": "john.doe@example.com",
        "phone": "+33612345678",
        "first_name": "John",
        "last_name": "Doe",
        "first_name_sha256": "a" * 64,
        "loyalty": "gold",
    }
    assert event.context == {
        "page": {"title": "Thanks", "url": "https://shop.example/ok", "lang": "fr"},
        "user_agent": "UA/1",
        "ip": "203.0.113.7",
        "locale": "fr-FR",
        "timezone": "CET",
    }
    assert event.extras["context"] == {"page": {"x": 1}}
    assert event.extras["$form"] == "server"
    c = event.commerce
    assert (c.type, c.status, c.payment_method) == ("online", "in_progress", "card")
    assert c.items[0].price == Decimal("8.00")
    assert c.items[0].currency == "EUR"
    assert_roundtrip(NAME, body)


def test_consent_categories_as_numbers_and_strings_are_the_same():
    numbers = trackway.decode(NAME, server(user__consent_categories=[1, 3])).events[0]
    strings = trackway.decode(NAME, server()).events[0]
    assert numbers.consent == strings.consent == {"categories": ["1", "3"]}
    out, _ = roundtrip(NAME, server(user__consent_categories=[1, 3]))
    assert out[0]["user"]["consent_categories"] == [1, 3]  # the form sent comes back


def test_batch_gives_one_event_per_element_with_paths_into_the_batch():
    good = server()
    bad = server(context__event_id=None)
    decoded = trackway.decode(NAME, {"batch": [good, bad, server(event_name="login")]})
    assert [e.name for e in decoded.events] == ["purchase", "purchase", "login"]
    assert ("$.batch[1].context.event_id", "VALUE_REQUIRED") in [(i.path, i.code) for i in decoded.issues]
    assert {i.event for i in decoded.issues if i.is_error} == {1}
    assert [e.name for e in decoded.accepted()] == ["purchase", "login"]


def test_batch_round_trips_as_one_body():
    body = {"batch": [server(), server(event_name="login", context__event_id="e-2")]}
    body["batch"][1] = {k: v for k, v in body["batch"][1].items() if k in ("event_name", "user", "context")}
    assert_roundtrip(NAME, body)


def test_a_broken_batch_element_still_counts_as_an_event():
    decoded = trackway.decode(NAME, {"batch": [7, server()]})
    assert len(decoded.events) == 2
    assert ("$.batch[0]", "TYPE_INVALID") in [(i.path, i.code) for i in decoded.issues]
    assert [e.name for e in decoded.accepted()] == ["purchase"]


@pytest.mark.parametrize(
    ("payload", "score"),
    [
        (["trigger", "purchase", {}], 95),
        (["trigger"], 60),
        (["event", "purchase", {}], 0),
        ({"event_name": "search"}, 95),
        ({"batch": [{"event_name": "search"}, {"event_name": "login"}]}, 90),
        ({"batch": [{"event": "search"}]}, 40),
        ({"event": "purchase"}, 0),
        ("trigger", 0),
    ],
)
def test_sniff(payload, score):
    assert dialects.get(NAME).sniff(payload) == score


# -- rules -------------------------------------------------------------------------

BAD = [
    (server(id=None), "$.id", "VALUE_REQUIRED"),
    (server(type=None), "$.type", "VALUE_REQUIRED"),
    (server(status=None), "$.status", "VALUE_REQUIRED"),
    (server(payment_method=None), "$.payment_method", "VALUE_REQUIRED"),
    (server(revenue=None), "$.revenue", "VALUE_REQUIRED"),
    (server(items=None), "$.items", "VALUE_REQUIRED"),
    (server(items=[]), "$.items", "VALUE_REQUIRED"),
    (call("purchase", {**CALL_PURCHASE[2], "id": None}), "$[2].id", "VALUE_REQUIRED"),
    (server(payment_method="visa"), "$.payment_method", "ENUM_INVALID"),
    (server(status="Pending"), "$.status", "ENUM_INVALID"),
    (server(currency="EURO"), "$.currency", "CURRENCY_INVALID"),
    (server(items__0__product__currency="eur"), "$.items[0].product.currency", "CURRENCY_INVALID"),
    (server(user__email_md5="8eb1b522f60d11fa897de1dc6351b7eZ"), "$.user.email_md5", "HASH_INVALID"),
    (server(user__email_sha256="836f82db"), "$.user.email_sha256", "HASH_INVALID"),
    (server(user__phone_md5="60DD761F55CB17F0532C9FB1679E8DD"), "$.user.phone_md5", "HASH_INVALID"),  # 31
    (server(user__city_sha256=123), "$.user.city_sha256", "HASH_INVALID"),
    (server(user__phone="06 12 34 56 78"), "$.user.phone", "FORMAT_INVALID"),
    (server(user__birthdate="01/01/1970"), "$.user.birthdate", "FORMAT_INVALID"),
    (server(user__gender="male"), "$.user.gender", "ENUM_INVALID"),
    (server(user__country="France"), "$.user.country", "FORMAT_INVALID"),
    (server(user__email="not-an-email"), "$.user.email", "FORMAT_INVALID"),
    (server(user__consent_categories=[True]), "$.user.consent_categories[0]", "TYPE_INVALID"),
    (server(user__consent_categories="1,3"), "$.user.consent_categories", "TYPE_INVALID"),
    (server(user=None), "$.user", "VALUE_REQUIRED"),
    (server(user=[]), "$.user", "TYPE_INVALID"),
    (server(items__0__product=None), "$.items[0].product", "VALUE_REQUIRED"),
    (server(items__0__product="Trex"), "$.items[0].product", "TYPE_INVALID"),
    (server(items__0__id=None), "$.items[0].id", "VALUE_REQUIRED"),
    (server(items__0__quantity=None), "$.items[0].quantity", "VALUE_REQUIRED"),
    (server(items__0__quantity=1.5), "$.items[0].quantity", "TYPE_INVALID"),
    (server(items__0__list_position="first"), "$.items[0].list_position", "TYPE_INVALID"),
    (server(items__0__product__name=None), "$.items[0].product.name", "VALUE_REQUIRED"),
    (server(items__0__product__price=None), "$.items[0].product.price", "VALUE_REQUIRED"),
    (server(items__0__product__category_6=6), "$.items[0].product.category_6", "TYPE_INVALID"),
    (server(items=[3]), "$.items[0]", "TYPE_INVALID"),
    (server(value="abc"), "$.value", "TYPE_INVALID"),
    (server(context__event_id=None), "$.context.event_id", "VALUE_REQUIRED"),
    (server(context__event_timestamp=None), "$.context.event_timestamp", "VALUE_REQUIRED"),
    (server(context__event_timestamp="soon"), "$.context.event_timestamp", "TYPE_INVALID"),
    (server(context__event_timestamp=10**20), "$.context.event_timestamp", "VALUE_OUT_OF_BOUNDS"),
    (server(context=None), "$.context.event_id", "VALUE_REQUIRED"),
    (server(context="now"), "$.context", "TYPE_INVALID"),
    (server(context__page="home"), "$.context.page", "TYPE_INVALID"),
    (server(event_name=None), "$.event_name", "VALUE_REQUIRED"),
    (server(event_name=5), "$.event_name", "TYPE_INVALID"),
    (call("add_to_cart", {"value": 8, "items": [ITEM]}), "$[2].currency", "VALUE_REQUIRED"),
    (
        call("refund", {"id": "O_1", "revenue": 1, "value": 2, "type": "online"}),
        "$[2].currency",
        "VALUE_REQUIRED",
    ),
    (call("add_shipping_info", {"currency": "EUR", "items": [ITEM]}), "$[2].value", "VALUE_REQUIRED"),
    (call("add_shipping_info", {"currency": "EUR", "value": 1}), "$[2].items", "VALUE_REQUIRED"),
    (
        call("begin_checkout", {"value": 2, "currency": "EUR", "items": [ITEM]}),
        "$[2].revenue",
        "VALUE_REQUIRED",
    ),
    (call("add_payment_info", {"revenue": 1, "currency": "EUR"}), "$[2].payment_method", "VALUE_REQUIRED"),
    (call("add_payment_info", {"payment_method": "Card"}), "$[2].payment_method", "ENUM_INVALID"),
    (call("search", {}), "$[2].search_term", "VALUE_REQUIRED"),
    (call("search", {"search_term": 5}), "$[2].search_term", "TYPE_INVALID"),
    (call("page_view", {"page_name": "Home"}), "$[2].page_type", "VALUE_REQUIRED"),
    (call("view_item_list", {"item_list_name": "x"}), "$[2].items", "VALUE_REQUIRED"),
    (call("select_item", {"items": "SKU_1"}), "$[2].items", "TYPE_INVALID"),
    (call("login", []), "$[2]", "TYPE_INVALID"),
    (call("login", {"user": {"email": "@"}}), "$[2].user.email", "FORMAT_INVALID"),
    (["trigger", None, {}], "$[1]", "VALUE_REQUIRED"),
    (["trigger", "login", {}, "callback"], "$[3]", "PAYLOAD_INVALID"),
    (["config"], "$", "PAYLOAD_INVALID"),  # cact('config', {...}) without its settings
    (["pageview", {"siteId": 1}], "$[0]", "PAYLOAD_INVALID"),
    ([], "$", "PAYLOAD_INVALID"),
    ("trigger", "$", "PAYLOAD_INVALID"),
    ({"batch": []}, "$.batch", "VALUE_REQUIRED"),
    (
        {"batch": [server(), server(items__0__product__price="x")]},
        "$.batch[1].items[0].product.price",
        "TYPE_INVALID",
    ),
]


@pytest.mark.parametrize(("payload", "path", "code"), BAD)
def test_bad_input_gives_its_issue(payload, path, code):
    decoded = trackway.decode(NAME, payload)
    assert (path, code) in [(i.path, i.code) for i in decoded.issues if i.is_error]
    assert not decoded.valid


def test_the_valid_fixtures_are_valid():
    for payload in (
        SERVER_PURCHASE,
        CALL_PURCHASE,
        call("add_to_cart", {"value": 8, "currency": "EUR", "items": [ITEM]}),
    ):
        assert errors_of(payload) == []


WARNINGS = [
    (
        [*CALL_PURCHASE[:2], {k: v for k, v in CALL_PURCHASE[2].items() if k != "type"}],
        "$[2].type",
        "RECOMMENDED_MISSING",
    ),
    (
        call("refund", {"id": "O_1", "revenue": 1, "value": 2, "currency": "EUR"}),
        "$[2].type",
        "RECOMMENDED_MISSING",
    ),
    (call("page_view", {"page_type": "Product"}), "$[2].page_type", "ENUM_INVALID"),
    (call("page_view", {"page_type": "blog"}), "$[2].page_type", "ENUM_INVALID"),
    (call("add_to_cart", {"items": [ITEM]}), "$[2].value", "RECOMMENDED_MISSING"),
    (call("view_item", {"items": [ITEM]}), "$[2].revenue", "RECOMMENDED_MISSING"),
    (call("add_payment_info", {"payment_method": "card"}), "$[2].revenue", "RECOMMENDED_MISSING"),
    (server(user__consent_categories=None), "$.user.consent_categories", "RECOMMENDED_MISSING"),
    (server(user__consistent_anonymous_id=None), "$.user.consistent_anonymous_id", "RECOMMENDED_MISSING"),
    (server(user__email=None), "$.user.email", "RECOMMENDED_MISSING"),
    (server(items__0__affiliation=None), "$.items[0].affiliation", "RECOMMENDED_MISSING"),
    (server(items__0__product__id=None), "$.items[0].product.id", "RECOMMENDED_MISSING"),
    (server(event_name="select_item", user=None), "$.user", "RECOMMENDED_MISSING"),
    (server(event_name="video_start", user=None), "$.user", "RECOMMENDED_MISSING"),
    (server(value="22.53"), "$.value", "NUMBER_AS_STRING"),
    (server(value=Decimal("22.531")), "$.value", "AMOUNT_PRECISION"),
    (server(context__event_timestamp=1700000000), "$.context.event_timestamp", "VALUE_OUT_OF_BOUNDS"),
    (
        server(items=[ITEM, {**ITEM, "product": {**ITEM["product"], "currency": "USD"}}]),
        "$.items",
        "VALUE_INVALID",
    ),
]


@pytest.mark.parametrize(("payload", "path", "code"), WARNINGS)
def test_soft_rule_gives_a_warning_and_keeps_the_event(payload, path, code):
    decoded = trackway.decode(NAME, payload)
    assert (path, code) in [(i.path, i.code) for i in decoded.issues if not i.is_error]
    assert decoded.valid, [i for i in decoded.issues if i.is_error]


def test_mis_cased_status_suggests_the_right_one():
    issue = next(
        i for i in trackway.decode(NAME, server(status="Pending")).issues if i.code == "ENUM_INVALID"
    )
    assert "did you mean 'pending'" in issue.message


def test_a_refund_without_items_is_a_full_refund():
    body = server(event_name="refund", items=None, status=None, payment_method=None)
    decoded = trackway.decode(NAME, body)
    assert decoded.valid
    assert not [i for i in decoded.issues if "items" in i.path]
    assert decoded.events[0].commerce.items is None
    assert_roundtrip(NAME, body)


def test_user_is_only_required_in_the_server_form():
    assert errors_of(call("login", {"method": "email"})) == []
    assert errors_of({"event_name": "login", "method": "email", "context": CONTEXT}) == [
        ("$.user", "VALUE_REQUIRED")
    ]


def test_every_issue_is_reported_in_one_pass():
    body = server(
        status="Pending",
        currency="EURO",
        items=[{"quantity": 1}, {**ITEM, "product": {"price": 1}}],
        user__gender="male",
        context__event_id=None,
    )
    found = set(errors_of(body))
    assert {
        ("$.status", "ENUM_INVALID"),
        ("$.currency", "CURRENCY_INVALID"),
        ("$.items[0].id", "VALUE_REQUIRED"),
        ("$.items[0].product", "VALUE_REQUIRED"),
        ("$.items[1].product.name", "VALUE_REQUIRED"),
        ("$.user.gender", "ENUM_INVALID"),
        ("$.context.event_id", "VALUE_REQUIRED"),
    } <= found


def test_categories_beyond_five_continue_the_list():
    product = {**ITEM["product"], **{f"category_{n}": f"c{n}" for n in range(1, 8)}}
    event = trackway.decode(NAME, server(items__0__product=product)).events[0]
    assert event.commerce.items[0].categories == [f"c{n}" for n in range(1, 8)]
    gap = {**ITEM["product"], "category_1": "a", "category_3": "c"}
    item = trackway.decode(NAME, server(items__0__product=gap)).events[0].commerce.items[0]
    assert item.categories == [] and item.extras["product"] == {"category_1": "a", "category_3": "c"}
    assert_roundtrip(NAME, server(items__0__product=gap))


# -- encode --------------------------------------------------------------------------


def test_gtm_ga4_purchase_renders_as_a_server_body_with_warnings():
    purchase = next(e for e in examples("gtm-ga4") if e.name == "purchase").value
    converted = trackway.convert(purchase, "gtm-ga4", NAME)
    [body] = converted.payloads
    assert body["event_name"] == "purchase"
    # GA4's value (168.06, the items' price x quantity) is Commanders Act's revenue; its value is
    # the total paid: 168.06 + tax 31.94 + shipping 0
    assert (body["revenue"], body["value"]) == (Decimal("168.06"), Decimal("200.00"))
    assert body["tax_amount"] == Decimal("31.94") and body["shipping_amount"] == Decimal("0")
    assert body["items"][0]["id"] == "7628801"
    assert body["items"][0]["product"]["price"] == Decimal("84.03")
    assert body["items"][0]["product"]["name"] == "Panda_Antivirus"
    found = {(i.path, i.code) for i in converted.issues if not i.is_error}
    assert ("$.revenue", "VALUE_REQUIRED") not in found
    assert {
        ("$.value", "VALUE_DERIVED"),
        ("$.revenue", "VALUE_DERIVED"),
        ("$.type", "VALUE_REQUIRED"),
        ("$.context.event_id", "VALUE_REQUIRED"),
        ("extras.ecommerce", "NOT_CARRIED"),
    } <= found


def test_encode_uses_the_form_option_then_the_source_form():
    body = server(context__page={"url": "https://shop.example/", "y": 2})
    event = trackway.decode(NAME, body).events[0]
    as_call, call_issues = trackway.encode_with_issues(NAME, event, form="call")
    assert as_call[:2] == ["trigger", "purchase"]
    assert as_call[2]["user"]["consent_categories"] == ["1", "3"]
    assert {("context", "NOT_CARRIED"), ("extras.context", "NOT_CARRIED")} <= {
        (i.path, i.code) for i in call_issues
    }
    assert not any(i.path.startswith("$") for i in call_issues)  # the call form needs no context
    assert normalise(trackway.encode(NAME, event)) == normalise(body)
    call_event = trackway.decode(NAME, CALL_PURCHASE).events[0]
    assert trackway.encode(NAME, call_event)[0] == "trigger"
    call_event.extras = {}
    assert "event_name" in trackway.encode(NAME, call_event)  # no form known: server


def test_item_price_encodes_back_as_list_price():
    item = trackway.Item(
        item_id="a", item_name="A", price=Decimal("8.00"), discount=Decimal("1.99"), quantity=1
    )
    event = trackway.Event(name="add_to_cart", dialect="gtm-ga4", commerce=trackway.Commerce(items=[item]))
    out = trackway.encode(NAME, event, form="call")
    assert out[2]["items"][0]["product"] == {"name": "A", "price": Decimal("9.99")}
    assert out[2]["items"][0]["discount"] == Decimal("1.99")


def test_promotions_become_custom_events_with_a_warning():
    event = trackway.Event(name="view_promotion", dialect="gtm-ga4", properties={"promotion_id": "P1"})
    out, found = trackway.encode_with_issues(NAME, event, form="call")
    assert out == ["trigger", "view_promotion", {"promotion_id": "P1"}]
    assert ("name", "UNKNOWN_EVENT") in [(i.path, i.code) for i in found]


def test_uncarried_fields_are_reported():
    item = trackway.Item(item_id="a", list_name="L", url="https://x")
    event = trackway.Event(
        name="purchase",
        dialect="gtm-ga4",
        consent={"ad_storage": "granted"},
        context={"page": {"path": "/x"}, "screen": "1x1"},
        commerce=trackway.Commerce(discount=Decimal(1), items=[item]),
    )
    found = {(i.path, i.code) for i in trackway.encode_with_issues(NAME, event)[1]}
    assert {
        ("$.items[0].list_name", "NOT_CARRIED"),
        ("$.items[0].url", "NOT_CARRIED"),
        ("consent.ad_storage", "NOT_CARRIED"),
        ("context.page.path", "NOT_CARRIED"),
        ("context.screen", "NOT_CARRIED"),
        ("commerce.discount", "NOT_CARRIED"),
        ("$.items[0].product", "VALUE_REQUIRED"),
    } <= found


def test_a_missing_timestamp_is_filled_from_received_at_with_a_warning():
    at = datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    event = trackway.Event(name="login", dialect="gtm-ga4", id="e", received_at=at)
    out, found = trackway.encode_with_issues(NAME, event)
    assert out["context"] == {"event_id": "e", "event_timestamp": 1704164645678}
    assert ("timestamp", "VALUE_FILLED") in [(i.path, i.code) for i in found]


def test_user_traits_render_with_commanders_act_names():
    event = trackway.Event(
        name="sign_up",
        dialect="ga4-mp",
        user_id="u",
        anonymous_id="a",
        user={"first_name": "J", "last_name_sha256": "b" * 64, "id": "clash"},
        consent={"categories": ["2"]},
    )
    out, found = trackway.encode_with_issues(NAME, event, form="call")
    assert out[2]["user"] == {
        "id": "u",
        "consistent_anonymous_id": "a",
        "firstname": "J",
        "lastname_sha256": "b" * 64,
        "consent_categories": ["2"],
    }
    assert ("user.id", "NOT_CARRIED") in [(i.path, i.code) for i in found]


def test_the_users_starred_fields_missing_are_warned_of_in_whole_sentences():
    # the phone's read "expected the phone (E.164) or its hashes; some destinations, got none"
    decoded = trackway.decode(
        "commanders-act", ["trigger", "page_view", {"page_type": "home", "user": {"id": "1"}}]
    )
    said = {i.path: i.message for i in decoded.issues if i.code == "RECOMMENDED_MISSING"}
    assert said["$[2].user.phone"] == (
        "expected the phone (E.164) or its hashes; some destinations need it, got none"
    )
    assert said["$[2].user.email"].endswith("many destinations need it, got none")
