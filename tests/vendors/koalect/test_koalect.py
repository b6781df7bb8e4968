"""koalect: the document's examples, canonical fields, bad inputs, conversions and properties."""

from __future__ import annotations

import re
import string
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import trackway
from tests.support.roundtrip import assert_roundtrip, normalise, roundtrip
from tests.support.specs import examples
from tests.support.strategies import check_decode, hostile_scalars, json_scalars, json_values
from trackway import dialects
from trackway.dialects.base import EncodeOptions
from trackway.issues import Issues

# Not trackway.vendors.koalect.adapter: importing an adapter module before the registry loads
# would leave the registry with that adapter alone.
from trackway.vendors.koalect.schema import CATEGORIES, STEP_CATEGORY, TARGET_TYPES, parse_consent_cookie

EXAMPLES = examples("koalect")
BY_NAME = {e.name: e.value for e in EXAMPLES}
CANONICAL = {"checkout": "begin_checkout", "transaction": "purchase", "register": "sign_up"}


def issues_of(decoded):
    return [(i.path, i.code, str(i.severity)) for i in decoded.issues]


def errors_of(decoded):
    return [(i.path, i.code) for i in decoded.issues if i.is_error]


def encode(event):
    issues = Issues()
    return dialects.get("koalect").encode(event, EncodeOptions(), issues), issues.items


# -- the document's examples -------------------------------------------------------------
def test_the_document_gives_every_documented_event():
    assert [e.name for e in EXAMPLES] == [w.wire for w in dialects.get("koalect").events]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.name)
def test_example_decodes_without_error_under_its_canonical_name(example):
    decoded = trackway.decode("koalect", example.value)
    assert decoded.valid, errors_of(decoded)
    assert [e.name for e in decoded.events] == [CANONICAL.get(example.name, example.name)]
    assert decoded.events[0].dialect == "koalect"


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.name != "click_link"], ids=lambda e: e.name)
def test_example_round_trips(example):
    assert_roundtrip("koalect", example.value)


def test_click_link_round_trips_with_the_typo_written_as_target_name():
    sent = BY_NAME["click_link"]
    decoded = trackway.decode("koalect", sent)
    assert issues_of(decoded) == [("$.traget_name", "VALUE_FILLED", "warning")]
    assert "read as target_name" in decoded.issues[0].message
    assert decoded.events[0].properties["target_name"] == "Page"
    assert "traget_name" not in decoded.events[0].properties
    out, _ = roundtrip("koalect", sent)
    assert out == [
        {
            "event": "click_link",
            "link_type": "page",
            "link_text": "Go to Koalect",
            "link_url": "https://koalect.com",
            "target_id": "b42ecc37-d715-4bcd-b861-98779f0f2223",
            "target_name": "Page",
            "target_params": {},
        }
    ]


NOTES = {
    "view_step": ["the stray word 'project_invitation'", "the stray word 'custom'"],
    "share": ["the stray word 'Email'"],
    **{
        name: [
            "a missing comma after 'item_brand' is restored",
            "a missing comma after 'item_list_id' is restored",
            "a missing comma after 'item_list_name' is restored",
            "[Product] is the document's Product object",
        ]
        for name in (
            "view_item_list",
            "add_to_cart",
            "remove_from_cart",
            "add_payment_info",
            "checkout",
            "transaction",
            "execution",
        )
    },
}


def test_the_examples_that_needed_the_readers_notes_are_these():
    assert {e.name for e in EXAMPLES if e.notes} == set(NOTES)
    for e in EXAMPLES:
        notes = [re.sub(r"^line \d+: ", "", n) for n in e.notes]
        expected = NOTES.get(e.name, [])
        assert len(notes) == len(expected), (e.name, notes)
        for note, want in zip(notes, expected, strict=True):
            assert note.startswith(want), (e.name, note)
    view_step = next(e for e in EXAMPLES if e.name == "view_step")
    assert all("wrapped comment" in n for n in view_step.notes)


# -- canonical fields ----------------------------------------------------------------------
PROCEDURE = {
    "procedure_id": "a2d3d-2d...",
    "procedure_slug": "test-a2d3d",
    "procedure_category": "donation",
    "procedure_target_type": "Client",
    "procedure_target_id": "a2d3d-2d...",
}


def test_transaction_maps_to_canonical_fields():
    event = trackway.decode("koalect", BY_NAME["transaction"]).events[0]
    assert event.name == "purchase"
    assert event.id == ""
    c = event.commerce
    assert c.transaction_id == "a2d3d-2d..."
    assert c.currency == "EUR"
    assert c.currency_filled is False
    assert c.value == Decimal("16")
    assert c.tax == Decimal("0")
    assert c.shipping == Decimal("0")
    assert c.coupon == ""
    assert c.payment_method == "bancontact"
    assert c.affiliation == "Koalect Platform"
    assert c.revenue is None
    assert c.discount is None
    assert len(c.items) == 1
    item = c.items[0]
    assert item.item_id == "a2d3d-2d..."
    assert item.item_name == "T-Shirt - S"
    assert item.affiliation == "Koalect Platform"
    assert item.brand == "Koalect"
    assert item.categories == ["T-Shirt", "Product", "Project"]
    assert item.list_id == "formulaire-de-don-c29d5"
    assert item.list_name == "Donation form"
    assert item.index == 0
    assert item.price == Decimal("5.50")
    assert item.currency == "EUR"
    assert item.quantity == 2
    assert item.extras == {}
    assert event.properties == PROCEDURE
    assert event.extras == {
        "ecommerce": {
            "category": "donation",
            "is_subscription": False,
            "target_id": "a2d3d-2d...",
            "target_type": "Client",
            "fee": Decimal("0"),
        }
    }
    assert type(event.extras["ecommerce"]["fee"]) is Decimal


def test_view_step_maps_to_canonical_fields():
    event = trackway.decode("koalect", BY_NAME["view_step"]).events[0]
    assert event.name == "view_step"
    assert event.commerce is None
    assert event.extras == {}
    assert event.properties == {**PROCEDURE, "step_index": 1, "step_name": "success"}


def test_share_maps_to_canonical_fields():
    event = trackway.decode("koalect", BY_NAME["share"]).events[0]
    assert event.name == "share"
    assert event.commerce is None
    assert event.extras == {}
    assert event.properties == {"method": "Facebook", "target_id": "a2d3r-2d...", "target_type": "Project"}


def test_execution_and_auth_events_map_to_canonical_fields():
    execution = trackway.decode("koalect", BY_NAME["execution"]).events[0]
    assert execution.name == "execution"
    assert execution.properties["execution_id"] == "a2d3d-2d..."
    assert execution.commerce.transaction_id == "a2d3d-2d..."
    register = trackway.decode("koalect", BY_NAME["register"]).events[0]
    assert (register.name, register.properties) == ("sign_up", {"method": "email"})
    login = trackway.decode("koalect", BY_NAME["login"]).events[0]
    assert (login.name, login.properties) == ("login", {"method": "email"})
    payment = trackway.decode("koalect", BY_NAME["add_payment_info"]).events[0]
    assert payment.commerce.payment_method == "bancontact"
    created = trackway.decode("koalect", BY_NAME["project_created"]).events[0]
    assert (created.commerce.currency, created.commerce.value) == ("EUR", Decimal("16"))
    assert created.properties["project_status"] == "published"


# -- bad inputs ----------------------------------------------------------------------------
DROP = object()
PRODUCT = BY_NAME["transaction"]["ecommerce"]["items"][0]


def step(**changes):
    return {k: v for k, v in {**BY_NAME["view_step"], **changes}.items() if v is not DROP}


def tx(**changes):
    ecom = {k: v for k, v in {**BY_NAME["transaction"]["ecommerce"], **changes}.items() if v is not DROP}
    return {**BY_NAME["transaction"], "ecommerce": ecom}


BAD = [
    ("unknown step_name", step(step_name="payment"), "$.step_name", "ENUM_INVALID"),
    ("step of another category", step(step_name="project_informations"), "$.step_name", "VALUE_INVALID"),
    ("mis-cased category", step(procedure_category="Donation"), "$.procedure_category", "ENUM_INVALID"),
    ("unknown category", step(procedure_category="gift"), "$.procedure_category", "ENUM_INVALID"),
    (
        "mis-cased target type",
        step(procedure_target_type="client"),
        "$.procedure_target_type",
        "ENUM_INVALID",
    ),
    ("fractional step_index", step(step_index=Decimal("1.5")), "$.step_index", "TYPE_INVALID"),
    ("step_index as a word", step(step_index="one"), "$.step_index", "TYPE_INVALID"),
    ("procedure_id as a boolean", step(procedure_id=True), "$.procedure_id", "TYPE_INVALID"),
    ("value without currency", tx(currency=DROP), "$.ecommerce.currency", "VALUE_REQUIRED"),
    ("lower-case currency", tx(currency="eur"), "$.ecommerce.currency", "CURRENCY_INVALID"),
    ("non-numeric value", tx(value="sixteen"), "$.ecommerce.value", "TYPE_INVALID"),
    ("non-numeric tax", tx(tax="n/a"), "$.ecommerce.tax", "TYPE_INVALID"),
    ("non-numeric fee", tx(fee="free"), "$.ecommerce.fee", "TYPE_INVALID"),
    ("fee with a comma", tx(fee="0,50"), "$.ecommerce.fee", "TYPE_INVALID"),
    ("mis-cased ecommerce category", tx(category="Donation"), "$.ecommerce.category", "ENUM_INVALID"),
    ("unknown ecommerce target_type", tx(target_type="Person"), "$.ecommerce.target_type", "ENUM_INVALID"),
    ("is_subscription as a string", tx(is_subscription="no"), "$.ecommerce.is_subscription", "TYPE_INVALID"),
    ("payment_method as a number", tx(payment_method=3), "$.ecommerce.payment_method", "TYPE_INVALID"),
    (
        "transaction without transaction_id",
        tx(transaction_id=DROP),
        "$.ecommerce.transaction_id",
        "VALUE_REQUIRED",
    ),
    ("transaction without items", tx(items=DROP), "$.ecommerce.items", "VALUE_REQUIRED"),
    ("items not an array", tx(items={"item_id": "a"}), "$.ecommerce.items", "TYPE_INVALID"),
    (
        "non-numeric price",
        tx(items=[{**PRODUCT, "price": "five"}]),
        "$.ecommerce.items[0].price",
        "TYPE_INVALID",
    ),
    ("item without id and name", tx(items=[{"price": 1}]), "$.ecommerce.items[0]", "VALUE_REQUIRED"),
    ("item not an object", tx(items=["a2d3d"]), "$.ecommerce.items[0]", "TYPE_INVALID"),
    (
        "item currency",
        tx(items=[{**PRODUCT, "currency": "euro"}]),
        "$.ecommerce.items[0].currency",
        "CURRENCY_INVALID",
    ),
    (
        "item quantity",
        tx(items=[{**PRODUCT, "quantity": 1.5}]),
        "$.ecommerce.items[0].quantity",
        "TYPE_INVALID",
    ),
    (
        "add_to_cart without items",
        {"event": "add_to_cart", **PROCEDURE},
        "$.ecommerce.items",
        "VALUE_REQUIRED",
    ),
    ("search without search_term", {"event": "search"}, "$.search_term", "VALUE_REQUIRED"),
    ("empty search_term", {"event": "search", "search_term": ""}, "$.search_term", "VALUE_REQUIRED"),
    ("search_term as a number", {"event": "search", "search_term": 3}, "$.search_term", "TYPE_INVALID"),
    ("share_method as a number", {"event": "share", "share_method": 1}, "$.share_method", "TYPE_INVALID"),
    ("auth_method as a list", {"event": "login", "auth_method": ["email"]}, "$.auth_method", "TYPE_INVALID"),
    ("traget_name as a number", {"event": "click_link", "traget_name": 1}, "$.traget_name", "TYPE_INVALID"),
    (
        "target_params as a string",
        {"event": "click_link", "target_params": "x"},
        "$.target_params",
        "TYPE_INVALID",
    ),
    ("ecommerce as a list", {"event": "project_created", "ecommerce": []}, "$.ecommerce", "TYPE_INVALID"),
    ("event_id as a number", {"event": "login", "event_id": 5}, "$.event_id", "TYPE_INVALID"),
    ("no event name", {"ecommerce": {}}, "$.event", "VALUE_REQUIRED"),
    ("event name as a number", {"event": 7}, "$.event", "VALUE_REQUIRED"),
    ("not an object", ["event", "view_step"], "$", "PAYLOAD_INVALID"),
]


@pytest.mark.parametrize(("payload", "path", "code"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_gives_exactly_its_error(payload, path, code):
    decoded = trackway.decode("koalect", payload)
    assert errors_of(decoded) == [(path, code)]
    assert not decoded.valid


def test_step_category_mismatch_names_both():
    decoded = trackway.decode("koalect", step(step_name="project_invitation"))
    [issue] = [i for i in decoded.issues if i.is_error]
    assert "'project_invitation'" in issue.message
    assert "'project-invite'" in issue.message
    assert "'donation'" in issue.message


@pytest.mark.parametrize(
    ("step_name", "category"),
    [(s, c) for s, want in STEP_CATEGORY.items() for c in CATEGORIES if want in (None, c)],
)
def test_every_step_fits_its_category(step_name, category):
    assert trackway.decode("koalect", step(step_name=step_name, procedure_category=category)).valid


def test_every_issue_is_reported_in_one_pass():
    payload = tx(
        currency=DROP,
        fee="free",
        category="Gift",
        items=[{**PRODUCT, "price": "x"}, {"quantity": 1}, {**PRODUCT, "item_name": 3}],
    )
    payload.update(step_name="nope", procedure_target_type="client", step_index="x")
    assert sorted(errors_of(trackway.decode("koalect", payload))) == sorted(
        [
            ("$.ecommerce.currency", "VALUE_REQUIRED"),
            ("$.ecommerce.fee", "TYPE_INVALID"),
            ("$.ecommerce.category", "ENUM_INVALID"),
            ("$.ecommerce.items[0].price", "TYPE_INVALID"),
            ("$.ecommerce.items[1]", "VALUE_REQUIRED"),
            ("$.ecommerce.items[2].item_name", "TYPE_INVALID"),
            ("$.step_name", "ENUM_INVALID"),
            ("$.procedure_target_type", "ENUM_INVALID"),
            ("$.step_index", "TYPE_INVALID"),
        ]
    )


# -- warnings ------------------------------------------------------------------------------
def test_procedure_event_without_its_context_warns_per_missing_key():
    decoded = trackway.decode("koalect", {"event": "view_step", "step_index": 2, "step_name": "custom"})
    assert decoded.valid
    assert issues_of(decoded) == [(f"$.{k}", "RECOMMENDED_MISSING", "warning") for k in PROCEDURE]
    assert "view_step" in decoded.issues[0].message


def test_transaction_without_context_names_the_wire_event():
    payload = {k: v for k, v in BY_NAME["transaction"].items() if k != "procedure_slug"}
    decoded = trackway.decode("koalect", payload)
    assert issues_of(decoded) == [("$.procedure_slug", "RECOMMENDED_MISSING", "warning")]
    assert "transaction event" in decoded.issues[0].message


def test_view_step_without_its_step_warns():
    decoded = trackway.decode("koalect", {"event": "view_step", **PROCEDURE})
    assert issues_of(decoded) == [
        ("$.step_index", "RECOMMENDED_MISSING", "warning"),
        ("$.step_name", "RECOMMENDED_MISSING", "warning"),
    ]


def test_non_procedure_events_need_no_context():
    for name in ("project_created", "project_member_joined", "project_deleted", "view_update", "share"):
        assert issues_of(trackway.decode("koalect", BY_NAME[name])) == []


def test_amounts_sent_as_strings_are_warnings_and_exact():
    decoded = trackway.decode("koalect", tx(value="16.24", fee="0.30"))
    assert decoded.valid
    assert decoded.events[0].commerce.value == Decimal("16.24")
    assert decoded.events[0].extras["ecommerce"]["fee"] == Decimal("0.30")
    assert issues_of(decoded) == [
        ("$.ecommerce.value", "NUMBER_AS_STRING", "warning"),
        ("$.ecommerce.fee", "NUMBER_AS_STRING", "warning"),
    ]


def test_fee_precision_is_checked_against_the_currency():
    decoded = trackway.decode("koalect", tx(fee=Decimal("0.505")))
    assert issues_of(decoded) == [("$.ecommerce.fee", "AMOUNT_PRECISION", "warning")]
    decoded = trackway.decode("koalect", tx(fee=Decimal("1.5"), currency="JPY"))
    assert ("$.ecommerce.fee", "AMOUNT_PRECISION", "warning") in issues_of(decoded)


# -- default currency ----------------------------------------------------------------------
def test_default_currency_fills_a_value_without_currency():
    payload = tx(currency=DROP)
    decoded = trackway.decode("koalect", payload, default_currency="EUR")
    assert decoded.valid
    c = decoded.events[0].commerce
    assert (c.currency, c.currency_filled) == ("EUR", True)
    assert issues_of(decoded) == [("$.ecommerce.currency", "VALUE_FILLED", "warning")]
    assert "EUR" in decoded.issues[0].message
    out, issues = encode(decoded.events[0])
    assert out["ecommerce"]["currency"] == "EUR"
    assert issues == []


def test_default_currency_replaces_a_null_currency():
    decoded = trackway.decode("koalect", tx(currency=None), default_currency="GBP")
    assert decoded.valid
    assert decoded.events[0].commerce.currency == "GBP"
    assert "currency" not in decoded.events[0].extras["ecommerce"]
    out, issues = encode(decoded.events[0])
    assert (out["ecommerce"]["currency"], issues) == ("GBP", [])


def test_default_currency_leaves_a_sent_currency_alone():
    decoded = trackway.decode("koalect", BY_NAME["transaction"], default_currency="USD")
    c = decoded.events[0].commerce
    assert (c.currency, c.currency_filled) == ("EUR", False)
    assert issues_of(decoded) == []


def test_default_currency_is_not_used_without_a_value():
    decoded = trackway.decode("koalect", BY_NAME["add_to_cart"], default_currency="EUR")
    assert decoded.events[0].commerce.currency is None
    assert "VALUE_FILLED" not in [i.code for i in decoded.issues]


def test_without_default_currency_the_message_says_how_to_fix():
    decoded = trackway.decode("koalect", {"event": "project_created", "ecommerce": {"value": 16}})
    [issue] = [i for i in decoded.issues if i.is_error]
    assert (issue.path, issue.code) == ("$.ecommerce.currency", "VALUE_REQUIRED")
    assert "default_currency" in issue.message
    assert "USD" not in issue.message


# -- encoding and conversions --------------------------------------------------------------
def test_gtm_ga4_purchase_converts_to_a_koalect_transaction():
    purchase = next(e for e in examples("gtm-ga4") if e.name == "purchase").value
    converted = trackway.convert(purchase, "gtm-ga4", "koalect")
    assert converted.valid
    [out] = converted.payloads
    assert out["event"] == "transaction"
    assert out["ecommerce"]["transaction_id"] == purchase["ecommerce"]["transaction_id"]
    assert out["ecommerce"]["value"] == Decimal("168.06")
    assert out["ecommerce"]["actionField"] == purchase["ecommerce"]["actionField"]
    assert "NOT_CARRIED" not in [i.code for i in converted.issues]


@pytest.mark.parametrize(
    ("ga4", "koalect"),
    [
        (
            {"event": "begin_checkout", "ecommerce": {"items": [{"item_id": "a"}]}},
            {"event": "checkout", "ecommerce": {"items": [{"item_id": "a"}]}},
        ),
        ({"event": "sign_up", "method": "google"}, {"event": "register", "auth_method": "google"}),
        ({"event": "login", "method": "google"}, {"event": "login", "auth_method": "google"}),
        ({"event": "share", "method": "Twitter"}, {"event": "share", "share_method": "Twitter"}),
        ({"event": "select_content", "method": "x"}, {"event": "select_content", "method": "x"}),
        (
            {
                "event": "add_payment_info",
                "ecommerce": {"payment_type": "ideal", "items": [{"item_id": "a"}]},
            },
            {
                "event": "add_payment_info",
                "ecommerce": {"payment_method": "ideal", "items": [{"item_id": "a"}]},
            },
        ),
        (
            {"event": "view_item_list", "ecommerce": {"item_list_name": "x", "items": [{"item_id": "a"}]}},
            {"event": "view_item_list", "item_list_name": "x", "ecommerce": {"items": [{"item_id": "a"}]}},
        ),
    ],
)
def test_canonical_names_map_back_on_encode(ga4, koalect):
    converted = trackway.convert(ga4, "gtm-ga4", "koalect")
    assert converted.payloads == [koalect]


def test_koalect_ecommerce_extras_stay_inside_ecommerce_in_gtm_ga4():
    converted = trackway.convert(BY_NAME["transaction"], "koalect", "gtm-ga4")
    assert converted.valid
    [out] = converted.payloads
    assert out["event"] == "purchase"
    ecom = out["ecommerce"]
    assert (ecom["category"], ecom["is_subscription"], ecom["fee"]) == ("donation", False, Decimal("0"))
    assert (ecom["target_id"], ecom["target_type"]) == ("a2d3d-2d...", "Client")
    assert ecom["payment_type"] == "bancontact"


def test_koalect_to_koalect_through_gtm_ga4_keeps_the_payload():
    for name in ("transaction", "view_step", "share", "register", "checkout"):
        there = trackway.convert(BY_NAME[name], "koalect", "gtm-ga4").payloads[0]
        back = trackway.convert(there, "gtm-ga4", "koalect")
        assert normalise(back.payloads) == normalise([BY_NAME[name]]), name


def test_encode_reports_what_koalect_cannot_carry():
    event = trackway.Event(
        name="purchase",
        dialect="commanders-act",
        user_id="u1",
        commerce=trackway.Commerce(currency="EUR", value=Decimal(10), revenue=Decimal(8), status="paid"),
        extras={"$form": "server", "user": {"x": 1}},
    )
    out, issues = encode(event)
    # Koalect's value is GA4's (no tax, no shipping): Commanders Act's revenue, not its value (the
    # total paid), which Koalect has no field for
    assert out == {"event": "transaction", "ecommerce": {"currency": "EUR", "value": Decimal(8)}}
    assert sorted((i.path, i.code) for i in issues) == [
        ("$.ecommerce.value", "VALUE_DERIVED"),
        ("commerce.status", "NOT_CARRIED"),
        ("commerce.value", "NOT_CARRIED"),
        ("extras.user", "NOT_CARRIED"),
        ("user_id", "NOT_CARRIED"),
    ]


def test_encode_never_overwrites_the_rendered_event_name():
    event = trackway.Event(name="share", dialect="x", properties={"method": "a", "share_method": "b"})
    out, issues = encode(event)
    assert out == {"event": "share", "share_method": "a"}
    assert [(i.path, i.code) for i in issues] == [("$.share_method", "NOT_CARRIED")]


EXACT = [
    {"event": "share", "share_method": "Facebook", "method": "ga4"},
    {"event": "login", "method": "google"},
    {"event": "click_link", "traget_name": "Page", "target_name": "Project"},
    {
        "event": "purchase",
        "ecommerce": {"currency": "EUR", "value": 1, "transaction_id": "t", "items": [{"item_id": "a"}]},
    },
    {"event": "sign_up", "auth_method": "email"},
    {"event": "begin_checkout", "ecommerce": {"items": [{"item_name": "b"}]}},
    {
        "event": "transaction",
        "event_id": "e-1",
        "item_list_id": "root",
        "ecommerce": {
            "currency": "EUR",
            "value": 1,
            "transaction_id": 42,
            "item_list_name": "inside",
            "payment_type": "card",
            "nested": {"a": [1, 2]},
            "target_id": 7,
            "items": [{"item_id": 3, "item_category2": "gap", "x": None}],
        },
    },
    {"event": "share", "share_method": None, "target_id": None},
    {"event": "click_link", "traget_name": None},
    {"event": "project_created", "ecommerce": {}},
    {"event": "gtm.js", "gtm.start": 1700000000000},
    {"event": "view_step", "step_index": "2", "step_name": "custom", "procedure_id": 5},
]


@pytest.mark.parametrize("payload", EXACT, ids=[p["event"] for p in EXACT])
def test_edge_payloads_round_trip_exactly(payload):
    out, _ = roundtrip("koalect", payload)
    expected = payload
    if "traget_name" in payload and "target_name" not in payload:
        expected = {"event": "click_link", "target_name": None}
    assert normalise(out) == normalise([expected])


def test_a_ga4_method_on_a_koalect_share_is_kept_apart():
    event = trackway.decode("koalect", EXACT[0]).events[0]
    assert event.properties == {"method": "Facebook"}
    assert event.extras == {"root": {"method": "ga4"}}


# -- detection -----------------------------------------------------------------------------
SNIFF = [
    (BY_NAME["view_step"], 90),
    (BY_NAME["click_link"], 90),
    (BY_NAME["project_deleted"], 90),
    ({"event": "add_to_cart", "procedure_slug": "x"}, 90),
    ({"event": "transaction", "ecommerce": {"items": []}}, 90),
    ({"event": "search", "search_term": "x"}, 40),
    ({"event": "login"}, 40),
    ({"event": "add_to_cart", "ecommerce": {"items": []}}, 40),
    ({"event": "checkout", "ecommerce": {"currencyCode": "USD", "checkout": {"products": []}}}, 10),
    ({"event": "purchase"}, 10),
    ({"event": "gtm.js"}, 10),
    ({"event": 3}, 0),
    ({"event_name": "purchase"}, 0),
    (["event", "purchase", {}], 0),
    ("view_step", 0),
    (None, 0),
]


@pytest.mark.parametrize(("payload", "score"), SNIFF)
def test_sniff(payload, score):
    assert dialects.get("koalect").sniff(payload) == score


def test_auto_detection_prefers_gtm_ga4_for_shared_names_and_names_koalect():
    decoded = trackway.decode("auto", BY_NAME["search"])
    assert decoded.dialect == "gtm-ga4"
    assert "koalect" in decoded.alternatives
    assert trackway.decode("auto", BY_NAME["view_step"]).dialect == "koalect"
    assert trackway.decode("auto", BY_NAME["transaction"]).dialect == "koalect"


# -- the consent cookie --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "purposes"),
    [
        ("functional analytics marketing", ["functional", "analytics", "marketing"]),
        ("functional analytics", ["functional", "analytics"]),
        ("functional", ["functional"]),
        ("functional%20analytics", ["functional", "analytics"]),
        ("functional+marketing", ["functional", "marketing"]),
        ("  Analytics,  MARKETING ", ["analytics", "marketing"]),
        ("analytics analytics", ["analytics"]),
        ("", []),
        ("   ", []),
        (None, []),
        (3, []),
    ],
)
def test_parse_consent_cookie(value, purposes):
    assert parse_consent_cookie(value) == purposes


@given(st.text(max_size=40))
@settings(max_examples=150, deadline=None)
def test_parse_consent_cookie_never_raises_and_gives_clean_tokens(value):
    purposes = parse_consent_cookie(value)
    assert len(purposes) == len(set(purposes))
    assert all(p and p == p.lower() and not any(c.isspace() or c == "," for c in p) for p in purposes)


# -- properties ----------------------------------------------------------------------------
IDS = st.one_of(
    st.text(string.ascii_letters + string.digits + "-.", min_size=1, max_size=12), st.integers(0, 10**9)
)
TEXT = st.text(max_size=16)
CURRENCIES = st.sampled_from(["EUR", "USD", "GBP", "CHF"])
AMOUNTS = st.one_of(st.decimals(min_value=0, max_value=10**6, places=2), st.integers(0, 10**6))
UNKNOWN_KEYS = st.from_regex(r"x_[a-z0-9_]{1,8}", fullmatch=True)
SCALARS = json_scalars
UNKNOWN_VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3), st.dictionaries(TEXT, SCALARS, max_size=3))


def unknown():
    return st.dictionaries(UNKNOWN_KEYS, UNKNOWN_VALUES, max_size=3)


@st.composite
def products(draw):
    item = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "affiliation": TEXT,
                "item_brand": TEXT,
                "item_list_id": TEXT,
                "item_list_name": TEXT,
                "index": st.integers(0, 50),
                "price": AMOUNTS,
                "currency": CURRENCIES,
                "quantity": st.integers(0, 99),
            },
        )
    )
    item.update(
        draw(
            st.sampled_from(
                [
                    {"item_id": draw(IDS)},
                    {"item_name": draw(TEXT)},
                    {"item_id": draw(IDS), "item_name": draw(TEXT)},
                ]
            )
        )
    )
    categories = draw(st.lists(TEXT, max_size=3))
    item.update(zip(("item_category", "item_category2", "item_category3"), categories, strict=False))
    item.update(draw(unknown()))
    return item


@st.composite
def procedure_context(draw):
    category = draw(st.sampled_from(CATEGORIES))
    context = {
        "procedure_id": draw(IDS),
        "procedure_slug": draw(TEXT),
        "procedure_category": category,
        "procedure_target_type": draw(st.sampled_from(TARGET_TYPES)),
        "procedure_target_id": draw(IDS),
    }
    keep = draw(st.sets(st.sampled_from(sorted(context)), min_size=3))  # a missing key is a warning
    return {k: v for k, v in context.items() if k in keep}, category


@st.composite
def ecommerce(draw, *, money: bool, order: bool, items: bool = True):
    ecom = {}
    if money:
        ecom.update(currency=draw(CURRENCIES), value=draw(AMOUNTS))
    if items:
        ecom["items"] = draw(st.lists(products(), min_size=1, max_size=3))
    if order:
        ecom["transaction_id"] = draw(IDS)
        ecom.update(
            draw(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "affiliation": TEXT,
                        "payment_method": st.sampled_from(
                            ["bancontact", "three_d_secure", "sofort", "ideal"]
                        ),
                        "category": st.sampled_from(CATEGORIES),
                        "is_subscription": st.booleans(),
                        "target_id": IDS,
                        "target_type": st.sampled_from(TARGET_TYPES),
                        "tax": AMOUNTS,
                        "shipping": AMOUNTS,
                        "coupon": TEXT,
                        "fee": AMOUNTS,
                    },
                )
            )
        )
    ecom.update(draw(unknown()))
    return ecom


@st.composite
def koalect_payloads(draw):
    name = draw(st.sampled_from([e.name for e in EXAMPLES]))
    payload = {"event": name}
    if name in (
        "view_step",
        "view_item_list",
        "add_to_cart",
        "remove_from_cart",
        "add_payment_info",
        "checkout",
        "transaction",
        "execution",
    ):
        context, category = draw(procedure_context())
        payload.update(context)
        if name == "view_step":
            steps = [s for s, want in STEP_CATEGORY.items() if want in (None, category)]
            payload.update(step_index=draw(st.integers(0, 9)), step_name=draw(st.sampled_from(steps)))
        else:
            money = name in ("add_payment_info", "checkout", "transaction", "execution") or draw(
                st.booleans()
            )
            order = name in ("transaction", "execution")
            payload["ecommerce"] = draw(ecommerce(money=money, order=order))
            if name == "add_payment_info":
                payload["ecommerce"]["payment_method"] = draw(TEXT)
            if name == "execution":
                payload["execution_id"] = draw(IDS)
    elif name.startswith("project_"):
        keys = [
            "project_id",
            "project_slug",
            "project_name",
            "project_status",
            "campaign_id",
            "invite_id",
            "target_id",
            "target_type",
        ]
        payload.update(
            draw(st.fixed_dictionaries({}, optional={k: IDS if k.endswith("_id") else TEXT for k in keys}))
        )
        if draw(st.booleans()):
            payload["ecommerce"] = {"currency": draw(CURRENCIES), "value": draw(AMOUNTS)}
    elif name == "view_update":
        payload.update(update_id=draw(IDS), target_type=draw(TEXT), target_id=draw(IDS))
    elif name == "share":
        payload.update(share_method=draw(TEXT), target_id=draw(IDS), target_type=draw(TEXT))
    elif name == "search":
        payload["search_term"] = draw(TEXT.filter(bool))
    elif name == "click_link":
        link = dict.fromkeys(("link_type", "link_text", "link_url", "target_name"), TEXT)
        payload.update(
            draw(st.fixed_dictionaries({}, optional={**link, "target_id": IDS, "target_params": unknown()}))
        )
    else:
        payload["auth_method"] = draw(TEXT)
    payload.update(draw(unknown()))
    return payload


@given(payload=koalect_payloads())
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_generated_payloads_round_trip(payload):
    assert_roundtrip("koalect", payload)


@given(payload=koalect_payloads())
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_generated_payloads_decode_again_to_the_same_event(payload):
    first = trackway.decode("koalect", payload).events
    again = trackway.decode("koalect", encode(first[0])[0]).events
    assert again == first


KEYS = st.sampled_from(
    [
        "event",
        "ecommerce",
        "items",
        "item_id",
        "item_name",
        "price",
        "currency",
        "value",
        "fee",
        "category",
        "is_subscription",
        "target_type",
        "step_name",
        "step_index",
        "procedure_category",
        "procedure_target_type",
        "share_method",
        "auth_method",
        "method",
        "traget_name",
        "target_name",
        "search_term",
        "event_id",
        "x",
    ]
)
NAMES = st.sampled_from([e.name for e in EXAMPLES] + ["purchase", "sign_up", "begin_checkout"])
JSON = json_values(
    st.one_of(KEYS, TEXT),
    st.one_of(
        hostile_scalars, NAMES, st.sampled_from(["EUR", "donation", "success", "Client", "personal_infos"])
    ),
)


@st.composite
def odd_payloads(draw):
    if draw(st.booleans()):
        return draw(JSON)
    payload = draw(st.dictionaries(KEYS, JSON, max_size=6))
    payload["event"] = draw(st.one_of(NAMES, JSON))
    return payload


@given(payload=odd_payloads(), default=st.sampled_from([None, "EUR"]))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_decode_never_raises(payload, default):
    decoded = check_decode(
        "koalect", payload if not isinstance(payload, str) else [payload], default_currency=default
    )
    for event in decoded.events:
        if decoded.valid:
            out, _ = encode(event)
            assert CANONICAL.get(out["event"], out["event"]) == event.name


def test_encode_of_odd_extras_reports_them_and_does_not_raise():
    event = trackway.Event(name="login", dialect="x", extras={"ecommerce": [1], "root": "r", "$event": 3})
    out, issues = encode(event)
    assert out == {"event": "login"}
    assert sorted((i.path, i.code) for i in issues) == [
        ("extras.ecommerce", "NOT_CARRIED"),
        ("extras.root", "NOT_CARRIED"),
    ]
