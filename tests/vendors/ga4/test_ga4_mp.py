"""ga4-mp: the bundled example, a full body, limits and reserved names, encode, the debug answer."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import resources

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import trackway
from tests.support.roundtrip import assert_roundtrip, normalise, roundtrip
from tests.support.strategies import check_decode, hostile_scalars
from tests.support.strategies import json_values as any_json
from trackway.dialects.base import DecodeContext, EncodeOptions
from trackway.issues import Issues
from trackway.rules.screen import screen
from trackway.vendors.ga4.mp import field_path, validation_messages
from trackway.vendors.ga4.mp_rules import APP_ONLY_EVENTS, RESERVED_EVENTS

NAME = "ga4-mp"
MP = trackway.dialects.get(NAME)
T0 = 1_700_000_000_000_000  # 2023-11-14T22:13:20Z in microseconds
AT0 = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


def body(*events, **request):
    return {"client_id": "123.456", **request, "events": list(events)}


def errors(decoded):
    return [(i.path, i.code) for i in decoded.issues if i.is_error]


def found(decoded):
    return [(i.path, i.code, str(i.severity), i.event) for i in decoded.issues]


def encode_many(events):
    issues = Issues()
    return MP.encode_many(events, EncodeOptions(), issues), issues.items


# -- mapping -------------------------------------------------------------------------------


def test_bundled_purchase_example_maps_to_canonical_fields_and_round_trips():
    payload = json.loads((resources.files("trackway") / "examples" / "mp-purchase.json").read_text())
    decoded = trackway.decode(NAME, payload)
    assert decoded.issues == []
    [event] = decoded.events
    assert (event.name, event.dialect, event.anonymous_id, event.user_id) == (
        "purchase",
        NAME,
        "123456.7654321",
        "u-42",
    )
    assert event.timestamp is None
    c = event.commerce
    assert (c.transaction_id, c.currency, c.value, c.tax) == (
        "T-1001",
        "USD",
        Decimal("30.03"),
        Decimal("4.9"),
    )
    [item] = c.items
    assert (item.item_id, item.item_name, item.price, item.quantity) == (
        "SKU_1",
        "Stan and Friends Tee",
        Decimal("10.01"),
        3,
    )
    assert event.properties == {}
    assert trackway.decode("auto", payload).dialect == NAME
    assert_roundtrip(NAME, payload)


FULL = {
    "client_id": "123456.7654321",
    "user_id": "u-42",
    "timestamp_micros": T0,
    "user_properties": {
        "customer_tier": {"value": "gold", "timestamp_micros": T0 - 5},
        "orders": {"value": 12},
    },
    "user_data": {"sha256_email_address": ["a" * 64]},
    "consent": {"ad_user_data": "GRANTED", "ad_personalization": "DENIED"},
    "non_personalized_ads": False,
    "user_location": {"city": "Mountain View", "region_id": "US-CA", "country_id": "US"},
    "ip_override": "203.0.113.7",
    "device": {"category": "mobile", "language": "en"},
    "user_agent": "Mozilla/5.0",
    "validation_behavior": "ENFORCE_RECOMMENDATIONS",
    "x_sender": "crm",
    "events": [
        {
            "name": "add_to_cart",
            "params": {
                "currency": "EUR",
                "value": 19.98,
                "items": [{"item_id": "SKU_1", "price": 9.99, "quantity": 2, "item_color": "red"}],
                "session_id": "1700000000",
                "engagement_time_msec": 100,
            },
            "timestamp_micros": T0 + 1,
            "x_note": "kept",
        },
        {"name": "search", "params": {"search_term": "tee"}},
        {"name": "tutorial_begin"},
    ],
}


def test_every_request_level_field_maps_to_each_event():
    decoded = trackway.decode(NAME, FULL, received_at=AT0 + timedelta(hours=1))
    assert decoded.issues == []
    cart, search, tutorial = decoded.events
    for event in decoded.events:
        assert (event.anonymous_id, event.user_id) == ("123456.7654321", "u-42")
        assert event.user == {"customer_tier": "gold", "orders": 12}
        assert event.consent == {
            "ad_user_data": "GRANTED",
            "ad_personalization": "DENIED",
            "non_personalized_ads": False,
        }
        assert event.context == {
            "ip": "203.0.113.7",
            "user_agent": "Mozilla/5.0",
            "device": {"category": "mobile", "language": "en"},
            "location": {"city": "Mountain View", "region_id": "US-CA", "country_id": "US"},
            "user_data": {"sha256_email_address": ["a" * 64]},
        }
        assert event.extras["request"] == {"x_sender": "crm"}
        assert event.extras["user_properties"] == {"customer_tier": {"timestamp_micros": T0 - 5}}
    assert cart.timestamp == datetime(2023, 11, 14, 22, 13, 20, 1, tzinfo=UTC)
    assert search.timestamp == tutorial.timestamp == AT0
    assert cart.commerce.value == Decimal("19.98") and cart.commerce.currency == "EUR"
    assert cart.commerce.items[0].extras == {"item_color": "red"}
    assert cart.properties == {"session_id": "1700000000", "engagement_time_msec": 100}
    assert cart.extras["event"] == {"x_note": "kept"}
    assert search.properties == {"search_term": "tee"}
    assert (tutorial.commerce, tutorial.properties) == (None, {})
    cart.context["device"]["category"] = "desktop"  # events do not share objects
    assert search.context["device"]["category"] == "mobile"


def test_a_multi_event_body_round_trips_as_one_body():
    out, decoded = roundtrip(NAME, FULL)
    assert len(decoded.events) == 3
    assert normalise(out) == normalise([FULL])


def test_app_instance_id_is_the_anonymous_id_and_is_written_back():
    payload = {"app_instance_id": "a1b2", "events": [{"name": "screen_view", "params": {}}]}
    decoded = trackway.decode(NAME, payload)
    assert decoded.valid, decoded.issues
    assert decoded.events[0].anonymous_id == "a1b2"
    assert_roundtrip(NAME, payload)


def test_a_params_timestamp_is_the_event_time_and_stays_a_parameter():
    payload = body({"name": "login", "params": {"timestamp_micros": T0, "method": "otp"}})
    event = trackway.decode(NAME, payload).events[0]
    assert event.timestamp == AT0
    assert event.properties == {"timestamp_micros": T0, "method": "otp"}
    assert_roundtrip(NAME, payload)


EDGE_BODIES = [
    body({"name": "a"}, user_properties={}),
    body({"name": "a"}, consent={}),
    body({"name": "a"}, non_personalized_ads=True),
    body({"name": "a"}, consent={}, non_personalized_ads=False),
    body({"name": "a"}, consent={"ad_user_data": "DENIED", "x_extra": 1}),
    body({"name": "a", "params": {}}),
    body({"name": "a", "params": None, "timestamp_micros": None}),
    body({"name": "a"}, user_id=None, user_properties={"tier": {"value": None, "x_note": 1}}),
    body({"name": "a", "timestamp_micros": str(T0)}, timestamp_micros=T0 - 1),
    body({"name": "a", "params": {"items": None, "currency": None}}),
]


@pytest.mark.parametrize("payload", EDGE_BODIES)
def test_edge_shapes_round_trip(payload):
    assert_roundtrip(NAME, payload)


def test_thirty_events_give_two_bodies_of_25_and_5():
    events = [trackway.Event(name=f"step_{n}", dialect="gtm-ga4", anonymous_id="1.2") for n in range(30)]
    out, issues = encode_many(events)
    assert [len(b["events"]) for b in out] == [25, 5]
    assert out[1]["client_id"] == "1.2"
    assert out[1]["events"][0] == {"name": "step_25", "params": {}}
    assert issues == []


def test_events_with_other_request_fields_start_a_new_body():
    a = trackway.Event(name="login", dialect="gtm-ga4", anonymous_id="1.1")
    b = trackway.Event(name="login", dialect="gtm-ga4", anonymous_id="2.2")
    out, _ = encode_many([a, a, b, a])
    assert [(x["client_id"], len(x["events"])) for x in out] == [("1.1", 2), ("2.2", 1), ("1.1", 1)]


# -- bad input -------------------------------------------------------------------------------

ITEM = {"item_id": "a", "price": 1, "quantity": 1}
CART = {"currency": "EUR", "value": 1, "items": [ITEM]}
BAD = [
    (body(*[{"name": "login"}] * 26), "$.events", "EXCEEDED_MAX_ENTITIES"),
    (
        body({"name": "x", "params": {f"p{n}": n for n in range(26)}}),
        "$.events[0].params",
        "EXCEEDED_MAX_ENTITIES",
    ),
    (
        body({"name": "x"}, user_properties={f"u{n}": {"value": n} for n in range(26)}),
        "$.user_properties",
        "EXCEEDED_MAX_ENTITIES",
    ),
    (body({"name": "e" * 41}), "$.events[0].name", "NAME_INVALID"),
    (body({"name": "1st_visit"}), "$.events[0].name", "NAME_INVALID"),
    (body({"name": "add-to-cart"}), "$.events[0].name", "NAME_INVALID"),
    (body({"name": "_badEventName"}), "$.events[0].name", "NAME_INVALID"),
    (body({"name": "x", "params": {"p" * 41: 1}}), f"$.events[0].params.{'p' * 41}", "NAME_INVALID"),
    (
        body({"name": "x", "params": {"procedure-slug": "s"}}),
        "$.events[0].params['procedure-slug']",
        "NAME_INVALID",
    ),
    (
        body({"name": "x", "params": {"firebase_conversion": 1}}),
        "$.events[0].params.firebase_conversion",
        "NAME_RESERVED",
    ),
    (body({"name": "screen_view"}), "$.events[0].name", "NAME_RESERVED"),
    (
        body({"name": "x"}, user_properties={"u" * 25: {"value": 1}}),
        f"$.user_properties.{'u' * 25}",
        "NAME_INVALID",
    ),
    (
        body({"name": "x"}, user_properties={"user_id": {"value": 1}}),
        "$.user_properties.user_id",
        "NAME_RESERVED",
    ),
    (
        body({"name": "x"}, user_properties={"tier": {"value": "v" * 37}}),
        "$.user_properties.tier.value",
        "VALUE_OUT_OF_BOUNDS",
    ),
    (body({"name": "x"}, user_properties={"tier": "gold"}), "$.user_properties.tier", "TYPE_INVALID"),
    (body({"name": "x"}, user_properties={"tier": {}}), "$.user_properties.tier.value", "VALUE_REQUIRED"),
    (body({"name": "x", "params": {"note": "v" * 101}}), "$.events[0].params.note", "VALUE_OUT_OF_BOUNDS"),
    (
        body({"name": "view_item", "params": {**CART, "items": [{"item_id": "a", "item_name": "n" * 101}]}}),
        "$.events[0].params.items[0].item_name",
        "VALUE_OUT_OF_BOUNDS",
    ),
    (
        body({"name": "view_item_list", "params": {"items": [ITEM] * 201}}),
        "$.events[0].params.items",
        "EXCEEDED_MAX_ENTITIES",
    ),
    (
        body(
            {"name": "view_item", "params": {**CART, "items": [{**ITEM, **{f"c{n}": n for n in range(11)}}]}}
        ),
        "$.events[0].params.items[0]",
        "EXCEEDED_MAX_ENTITIES",
    ),
    (
        body({"name": "view_item", "params": {**CART, "items": [{**ITEM, "item-color": "red"}]}}),
        "$.events[0].params.items[0]['item-color']",
        "NAME_INVALID",
    ),
    (
        body({"name": "add_to_cart", "params": {**CART, "items": [{"price": 1}]}}),
        "$.events[0].params.items[0]",
        "VALUE_REQUIRED",
    ),
    (body({"name": "purchase", "params": CART}), "$.events[0].params.transaction_id", "VALUE_REQUIRED"),
    (
        body({"name": "add_to_cart", "params": {"value": 1, "items": [ITEM]}}),
        "$.events[0].params.currency",
        "VALUE_REQUIRED",
    ),
    (
        body({"name": "add_to_cart", "params": {**CART, "currency": "EURO"}}),
        "$.events[0].params.currency",
        "CURRENCY_INVALID",
    ),
    (
        body({"name": "add_to_cart", "params": {"currency": "EUR", "value": 1}}),
        "$.events[0].params.items",
        "VALUE_REQUIRED",
    ),
    (body({"name": "search"}), "$.events[0].params.search_term", "VALUE_REQUIRED"),
    (body({"name": "x"}, consent={"ad_user_data": "granted"}), "$.consent.ad_user_data", "ENUM_INVALID"),
    (
        body({"name": "x"}, consent={"ad_personalization": True}),
        "$.consent.ad_personalization",
        "ENUM_INVALID",
    ),
    ({"events": [{"name": "x"}]}, "$.client_id", "VALUE_REQUIRED"),
    (body({"name": "x"}, client_id=""), "$.client_id", "VALUE_REQUIRED"),
    (body({"name": "x"}, client_id=123), "$.client_id", "TYPE_INVALID"),
    (body({"name": "x"}, app_instance_id="a1"), "$.app_instance_id", "VALUE_INVALID"),
    ({"client_id": "1.2"}, "$.events", "VALUE_REQUIRED"),
    (body(), "$.events", "VALUE_REQUIRED"),
    ({"client_id": "1.2", "events": {"name": "x"}}, "$.events", "TYPE_INVALID"),
    (body("login"), "$.events[0]", "TYPE_INVALID"),
    (body({"params": {}}), "$.events[0].name", "VALUE_REQUIRED"),
    (body({"name": "x", "params": []}), "$.events[0].params", "TYPE_INVALID"),
    (body({"name": "x", "timestamp_micros": "soon"}), "$.events[0].timestamp_micros", "TYPE_INVALID"),
    (body({"name": "x", "timestamp_micros": 1.5}), "$.events[0].timestamp_micros", "TYPE_INVALID"),
    (body({"name": "x"}, timestamp_micros=Decimal("1E+30")), "$.timestamp_micros", "VALUE_OUT_OF_BOUNDS"),
    (body({"name": "x"}, validation_behavior="STRICT"), "$.validation_behavior", "ENUM_INVALID"),
    (body({"name": "x"}, non_personalized_ads="yes"), "$.non_personalized_ads", "TYPE_INVALID"),
    (
        body({"name": "x"}, user_location={"country_id": "USA"}),
        "$.user_location.country_id",
        "FORMAT_INVALID",
    ),
    (["event", "purchase", {}], "$", "PAYLOAD_INVALID"),
]


@pytest.mark.parametrize(("payload", "path", "code"), BAD)
def test_bad_input_gives_its_issue(payload, path, code):
    decoded = trackway.decode(NAME, payload)
    assert (path, code) in errors(decoded), decoded.issues
    assert not decoded.valid
    assert decoded.accepted() == [] or len(decoded.events) > 1


@pytest.mark.parametrize("name", sorted(RESERVED_EVENTS))
def test_every_reserved_event_name_is_rejected(name):
    decoded = trackway.decode(NAME, body({"name": name}))
    assert errors(decoded) == [("$.events[0].name", "NAME_RESERVED")]


@pytest.mark.parametrize("name", sorted(APP_ONLY_EVENTS))
def test_app_only_event_names_are_allowed_with_an_app_instance_id(name):
    assert not trackway.decode(NAME, body({"name": name})).valid
    assert trackway.decode(NAME, {"app_instance_id": "a", "events": [{"name": name}]}).valid


@pytest.mark.parametrize("prefix", ["_", "firebase_", "ga_", "google_", "gtag."])
def test_reserved_parameter_prefixes(prefix):
    key = f"{prefix}source"
    decoded = trackway.decode(NAME, body({"name": "x", "params": {key: "a"}}))
    assert [(i.code, i.event) for i in decoded.issues] == [("NAME_RESERVED", 0)]
    assert decoded.issues[0].path.startswith("$.events[0].params")


@pytest.mark.parametrize("prefix", ["_", "firebase_", "ga_", "google_"])
def test_reserved_user_property_prefixes(prefix):
    decoded = trackway.decode(NAME, body({"name": "x"}, user_properties={f"{prefix}tier": {"value": 1}}))
    assert [(i.path, i.code, i.event) for i in decoded.issues] == [
        (f"$.user_properties.{prefix}tier", "NAME_RESERVED", -1)
    ]


def test_twenty_six_events_reject_the_whole_request():
    decoded = trackway.decode(NAME, body(*[{"name": "login"}] * 26))
    assert len(decoded.events) == 26
    assert [(i.path, i.event) for i in decoded.issues] == [("$.events", -1)]
    assert decoded.accepted() == []


def test_session_id_may_be_longer_than_100_characters():
    decoded = trackway.decode(NAME, body({"name": "x", "params": {"session_id": "1" * 120}}))
    assert decoded.issues == []


def test_every_bad_event_of_a_body_is_reported_in_one_pass_with_its_index():
    payload = body(
        {"name": "login"},
        {"name": "bad-name"},
        {"name": "purchase", "params": {"currency": "EUR", "value": 1, "items": [{"price": 2}]}},
        {"name": "x", "params": {"_p": 1, "q": "v" * 101}},
    )
    decoded = trackway.decode(NAME, payload)
    assert sorted((i.event, i.path, i.code) for i in decoded.issues if i.is_error) == [
        (1, "$.events[1].name", "NAME_INVALID"),
        (2, "$.events[2].params.items[0]", "VALUE_REQUIRED"),
        (2, "$.events[2].params.transaction_id", "VALUE_REQUIRED"),
        (3, "$.events[3].params._p", "NAME_RESERVED"),
        (3, "$.events[3].params.q", "VALUE_OUT_OF_BOUNDS"),
    ]
    assert [e.name for e in decoded.accepted()] == ["login"]


# -- time and validation_behavior ------------------------------------------------------------

OLD = T0 - 73 * 3600 * 10**6


@pytest.mark.parametrize(
    ("behavior", "severity"),
    [(None, "warning"), ("RELAXED", "warning"), ("ENFORCE_RECOMMENDATIONS", "error")],
)
def test_a_timestamp_73_hours_old(behavior, severity):
    extra = {"validation_behavior": behavior} if behavior else {}
    payload = body({"name": "login", "timestamp_micros": OLD}, **extra)
    decoded = trackway.decode(NAME, payload, received_at=AT0)
    assert found(decoded) == [("$.events[0].timestamp_micros", "VALUE_OUT_OF_BOUNDS", severity, 0)]
    assert "72 hours" in decoded.issues[0].message
    assert trackway.decode(NAME, payload).issues == []  # no received_at: the rule does not run


def test_an_old_request_timestamp_is_reported_for_the_events_that_use_it():
    payload = body({"name": "a"}, {"name": "b", "timestamp_micros": T0}, timestamp_micros=OLD)
    decoded = trackway.decode(NAME, payload, received_at=AT0)
    assert found(decoded) == [("$.timestamp_micros", "VALUE_OUT_OF_BOUNDS", "warning", 0)]


def test_an_old_user_property_timestamp_follows_the_same_rule():
    props = {"tier": {"value": "gold", "timestamp_micros": OLD}}
    payload = body({"name": "a"}, user_properties=props, validation_behavior="ENFORCE_RECOMMENDATIONS")
    decoded = trackway.decode(NAME, payload, received_at=AT0)
    assert found(decoded) == [("$.user_properties.tier.timestamp_micros", "VALUE_OUT_OF_BOUNDS", "error", -1)]


def test_future_and_millisecond_timestamps_are_warnings():
    future = trackway.decode(
        NAME, body({"name": "a", "timestamp_micros": T0 + 3600 * 10**6}), received_at=AT0
    )
    assert found(future) == [("$.events[0].timestamp_micros", "VALUE_OUT_OF_BOUNDS", "warning", 0)]
    ms = trackway.decode(NAME, body({"name": "a", "timestamp_micros": T0 // 1000}))
    assert found(ms) == [("$.events[0].timestamp_micros", "VALUE_OUT_OF_BOUNDS", "warning", 0)]
    assert "milliseconds" in ms.issues[0].message


def test_enforce_recommendations_rejects_numbers_sent_as_strings_in_params():
    event = {"name": "add_to_cart", "params": {**CART, "value": "1"}}
    relaxed = trackway.decode(NAME, body(event))
    assert found(relaxed) == [("$.events[0].params.value", "NUMBER_AS_STRING", "warning", 0)]
    strict = trackway.decode(NAME, body(event, validation_behavior="ENFORCE_RECOMMENDATIONS"))
    assert found(strict) == [("$.events[0].params.value", "NUMBER_AS_STRING", "error", 0)]


def test_missing_recommended_parameters_stay_warnings_under_enforce_recommendations():
    payload = body(
        {"name": "add_to_cart", "params": {"items": [ITEM]}}, validation_behavior="ENFORCE_RECOMMENDATIONS"
    )
    decoded = trackway.decode(NAME, payload)
    assert decoded.valid
    assert {(i.path, i.code) for i in decoded.issues} == {
        ("$.events[0].params.value", "RECOMMENDED_MISSING"),
        ("$.events[0].params.currency", "RECOMMENDED_MISSING"),
    }


# -- encode from other dialects -----------------------------------------------------------------


def test_rendering_what_ga4_would_reject_gives_warnings_never_a_silent_drop():
    event = trackway.Event(
        name="n" * 45,
        dialect="koalect",
        properties={"procedure-slug": "spring-run", "note": "v" * 101},
    )
    out, found_ = trackway.encode_with_issues(NAME, event)
    assert "client_id" not in out  # never invented
    assert out["events"] == [
        {"name": "n" * 45, "params": {"procedure-slug": "spring-run", "note": "v" * 101}}
    ]
    assert all(not i.is_error for i in found_)
    assert {(i.path, i.code) for i in found_} == {
        ("anonymous_id", "VALUE_REQUIRED"),
        ("$.events[0].name", "NAME_INVALID"),
        ("$.events[0].params['procedure-slug']", "NAME_INVALID"),
        ("$.events[0].params.note", "VALUE_OUT_OF_BOUNDS"),
    }
    assert any("GA4 would reject" in i.message for i in found_)


def test_fields_the_measurement_protocol_cannot_carry_are_reported():
    event = trackway.Event(
        name="purchase",
        dialect="commanders-act",
        id="E1",
        anonymous_id="1.2",
        user={"email": "a@b.c", "email_sha256": "a" * 64, "segment": "vip"},
        consent={"categories": ["1"]},
        context={"page": {"url": "https://s/t", "title": "T", "path": "/t"}, "ip": "1.1.1.1", "locale": "fr"},
        commerce=trackway.Commerce(
            transaction_id="T",
            currency="EUR",
            value=Decimal("10"),
            revenue=Decimal("8"),
            status="paid",
            items=[trackway.Item(item_id="a", url="https://s/a", image_url="https://s/a.png")],
        ),
    )
    out, found_ = trackway.encode_with_issues(NAME, event)
    assert out["user_properties"] == {"segment": {"value": "vip"}}
    assert out["ip_override"] == "1.1.1.1"
    assert "consent" not in out
    params = out["events"][0]["params"]
    assert (params["page_location"], params["page_title"]) == ("https://s/t", "T")
    assert params["items"] == [{"item_id": "a"}]
    assert params["value"] == Decimal(8)  # GA4's value is Commanders Act's revenue, not its value (total)
    assert {(i.path, i.code) for i in found_} == {
        ("id", "NOT_CARRIED"),
        ("user.email", "NOT_CARRIED"),
        ("user.email_sha256", "NOT_CARRIED"),
        ("consent.categories", "NOT_CARRIED"),
        ("context.page.path", "NOT_CARRIED"),
        ("context.locale", "NOT_CARRIED"),
        ("$.events[0].params.value", "VALUE_DERIVED"),
        ("commerce.value", "NOT_CARRIED"),
        ("commerce.status", "NOT_CARRIED"),
        ("$.events[0].params.items[0].url", "NOT_CARRIED"),
        ("$.events[0].params.items[0].image_url", "NOT_CARRIED"),
    }


def test_encode_many_reports_warnings_against_the_events_they_concern():
    events = [
        trackway.Event(name="ok", dialect="gtm-ga4", anonymous_id="1.2"),
        trackway.Event(name="bad-name", dialect="gtm-ga4", anonymous_id="1.2"),
    ]
    out, issues = encode_many(events)
    assert len(out) == 1
    assert [(i.event, i.path, i.code) for i in issues] == [(1, "$.events[1].name", "NAME_INVALID")]


def test_a_converted_gtm_purchase_is_a_valid_body_once_it_has_a_client_id():
    payload = json.loads((resources.files("trackway") / "examples" / "gtm-ga4-purchase.json").read_text())
    event = trackway.decode("gtm-ga4", payload).events[0]
    event.anonymous_id = "1.2"
    out, found_ = trackway.encode_with_issues(NAME, event)
    assert found_ == []
    assert trackway.decode(NAME, out).valid


# -- the debug endpoint -------------------------------------------------------------------------


def test_validation_messages_answer_like_the_debug_endpoint():
    payload = {"app_instance_id": "A", "validation_behavior": "ENFORCE_RECOMMENDATIONS"}
    payload["events"] = [{"name": "_badEventName", "params": {}}]
    messages = validation_messages(trackway.decode(NAME, payload).issues)
    assert len(messages) == 1
    [m] = messages
    assert set(m) == {"fieldPath", "description", "validationCode"}
    assert (m["fieldPath"], m["validationCode"]) == ("events", "NAME_INVALID")
    assert m["description"].startswith("$.events[0].name: ")
    assert "_badEventName" in m["description"]
    assert validation_messages(trackway.decode(NAME, body({"name": "ok"})).issues) == []


def test_validation_messages_map_trackway_codes_and_leave_out_trackway_warnings():
    payload = body({"name": "add_to_cart", "params": {"currency": "EURO", "value": "1", "items": [ITEM]}})
    decoded = trackway.decode(NAME, payload)
    assert {i.code for i in decoded.issues} == {"CURRENCY_INVALID", "NUMBER_AS_STRING"}
    assert validation_messages(decoded.issues) == [
        {
            "fieldPath": "events.params.currency",
            "description": decoded.issues[0].path + ": " + decoded.issues[0].message,
            "validationCode": "VALUE_INVALID",
        }
    ]


@pytest.mark.parametrize(
    ("path", "code", "expected"),
    [
        ("$.events[3].params.items[2].price", "TYPE_INVALID", "events.params.items.price"),
        ("$.events[0].params['procedure-slug']", "NAME_INVALID", "events.params"),
        ("$.user_properties._tier", "NAME_RESERVED", "user_properties"),
        ("$.client_id", "VALUE_REQUIRED", "client_id"),
        ("$", "PAYLOAD_INVALID", ""),
    ],
)
def test_field_paths(path, code, expected):
    assert field_path(path, code) == expected


def test_sniff_scores():
    assert MP.sniff(FULL) == 95
    assert MP.sniff({"client_id": "1.2"}) == 95
    assert MP.sniff({"events": []}) == 40
    assert MP.sniff({"event": "purchase"}) == 0
    assert MP.sniff(["event", "purchase", {}]) == 0


# -- hypothesis ------------------------------------------------------------------------------

text = st.text(max_size=8)
cents = st.integers(0, 10**7).map(lambda c: Decimal(c).scaleb(-2))
money = st.one_of(cents, cents.map(str))
micros = st.integers(1_600_000_000_000_000, 1_900_000_000_000_000)
scalar = st.one_of(text, st.integers(-5, 10**6), st.booleans())

item = st.tuples(
    st.one_of(
        st.fixed_dictionaries({"item_id": st.one_of(text.filter(bool), st.integers(0, 10**6))}),
        st.fixed_dictionaries({"item_name": text}),
    ),
    st.fixed_dictionaries(
        {},
        optional={
            "price": money,
            "quantity": st.integers(0, 99),
            "discount": cents,
            "item_brand": text,
            "item_category": text,
            "item_category2": text,
            "item_variant": text,
            "item_list_name": text,
            "index": st.integers(0, 50),
            "coupon": text,
            "affiliation": text,
            "location_id": text,
            "promotion_id": text,
        },
    ),
    st.dictionaries(st.sampled_from([f"custom_{n}" for n in range(12)]), scalar, max_size=10),
).map(lambda t: {**t[2], **t[1], **t[0]})

NAMES = [
    "purchase",
    "refund",
    "add_to_cart",
    "view_item_list",
    "select_promotion",
    "search",
    "login",
    "level_up",
]


@st.composite
def mp_events(draw):
    name = draw(st.sampled_from(NAMES))
    params = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "value": money,
                "tax": cents,
                "shipping": cents,
                "coupon": text,
                "payment_type": text,
                "affiliation": text,
                "item_list_name": text,
                "method": text,
                "session_id": st.integers(1, 10**10).map(str),
                "engagement_time_msec": st.integers(1, 10**5),
                "customer_type": st.sampled_from(["new", "returning"]),
            },
        )
    )
    params.update(draw(st.dictionaries(st.sampled_from(["x_a", "x_b", "debug_mode"]), scalar, max_size=2)))
    if "value" in params:
        params["currency"] = draw(st.sampled_from(["EUR", "USD", "JPY"]))
    if name in ("purchase", "refund"):
        params["transaction_id"] = draw(st.one_of(text.filter(bool), st.integers(0, 10**6)))
    if name == "search":
        params["search_term"] = draw(text.filter(bool))
    if name in ("purchase", "add_to_cart", "view_item_list") or draw(st.booleans()):
        params["items"] = draw(st.lists(item, min_size=1, max_size=3))
    event = {"name": name}
    if draw(st.booleans()) or params.keys() & {"transaction_id", "items", "search_term"}:
        event["params"] = params
    if draw(st.booleans()):
        event["timestamp_micros"] = draw(micros)
    event.update(draw(st.dictionaries(st.just("x_event"), scalar, max_size=1)))
    return event


user_property = st.fixed_dictionaries(
    {"value": st.one_of(st.text(max_size=36), st.integers(-(10**6), 10**6))},
    optional={"timestamp_micros": micros},
)
request_fields = st.fixed_dictionaries(
    {},
    optional={
        "user_id": text,
        "timestamp_micros": micros,
        "user_properties": st.dictionaries(
            st.sampled_from(["tier", "plan", "favorite_color"]), user_property
        ),
        "consent": st.fixed_dictionaries(
            {},
            optional={
                "ad_user_data": st.sampled_from(["GRANTED", "DENIED"]),
                "ad_personalization": st.sampled_from(["GRANTED", "DENIED"]),
            },
        ),
        "non_personalized_ads": st.booleans(),
        "user_location": st.fixed_dictionaries({"country_id": st.sampled_from(["US", "FR"]), "city": text}),
        "ip_override": st.sampled_from(["203.0.113.7", "2001:db8::1"]),
        "device": st.fixed_dictionaries({"category": st.sampled_from(["mobile", "desktop"])}),
        "user_agent": text,
        "user_data": st.fixed_dictionaries({"sha256_email_address": st.just(["a" * 64])}),
        "validation_behavior": st.just("RELAXED"),
        "x_request": scalar,
    },
)


@st.composite
def bodies(draw):
    identity = draw(
        st.one_of(
            st.fixed_dictionaries({"client_id": st.integers(1, 10**9).map(lambda n: f"{n}.{n * 7}")}),
            st.fixed_dictionaries(
                {"app_instance_id": st.text(alphabet="0123456789abcdef", min_size=1, max_size=8)}
            ),
        )
    )
    return {
        **identity,
        **draw(request_fields),
        "events": draw(st.lists(mp_events(), min_size=1, max_size=25)),
    }


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=bodies())
def test_generated_bodies_round_trip(payload):
    out, decoded = roundtrip(NAME, payload)
    assert [e.name for e in decoded.events] == [e["name"] for e in payload["events"]]
    assert normalise(out) == normalise([payload])


MP_KEYS = [
    "events",
    "name",
    "params",
    "items",
    "client_id",
    "user_properties",
    "value",
    "consent",
    "quantity",
]
mp_values = any_json(
    st.one_of(st.sampled_from(MP_KEYS), text),
    st.one_of(hostile_scalars, st.sampled_from(["purchase", "items", "GRANTED"])),
)


@settings(max_examples=300, deadline=None)
@given(
    value=st.one_of(
        mp_values, st.builds(lambda e, r: {**r, "events": e}, mp_values, st.dictionaries(text, mp_values))
    )
)
def test_decode_never_raises(value):
    check_decode(NAME, value)
    issues = Issues()
    ctx = DecodeContext(received_at=AT0)
    events = MP.decode(value, ctx, issues)
    assert all(isinstance(e, trackway.Event) for e in events)
    if type(value) is dict and type(value.get("events")) is list and value["events"]:
        readable = screen(value, Issues())[1]  # the screen rejects a payload no field could read
        assert len(events) == (len(value["events"]) if readable else 0)
    assert all(-1 <= i.event < max(len(events), 1) for i in issues.items)
    validation_messages(issues.items)
    for n, event in enumerate(events):
        if not issues.has_error(n):
            trackway.encode_with_issues(NAME, event)


def test_a_rendered_body_over_130_kb_is_a_warning():
    items = [trackway.Item(item_id=f"{n:06d}", item_name="n" * 100) for n in range(200)]
    event = trackway.Event(
        name="view_item_list", dialect="gtm-ga4", anonymous_id="1.2", commerce=trackway.Commerce(items=items)
    )
    out, issues = encode_many([event] * 5)
    assert len(out) == 1
    assert [(i.event, i.path, i.code, str(i.severity)) for i in issues] == [
        (0, "$", "VALUE_OUT_OF_BOUNDS", "warning")
    ]
