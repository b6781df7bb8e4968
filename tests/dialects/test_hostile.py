"""Every registered dialect, fed what an attacker or a broken client sends.

``decode`` never raises (ParseError only for unreadable text), every issue has a path, a
known code and a message, and what cannot be stored is an issue, never a silent NULL.
The dialects come from the registry: a new adapter is covered without touching this file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import trackway
from tests.support.strategies import check_decode, corrupted, hostile_json, nest
from trackway import dialects
from trackway.rules.values import MAX_DEPTH

NAMES = dialects.names()
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("name", NAMES)
@FUZZ
@given(value=hostile_json)
def test_decode_never_raises_on_any_json(name, value):
    check_decode(name, value)


@pytest.mark.parametrize("name", NAMES)
@FUZZ
@given(data=st.data())
def test_a_valid_payload_with_one_hostile_value_never_raises(name, data):
    check_decode(name, data.draw(corrupted(name)))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    ("depth", "decoded"), [(MAX_DEPTH - 1, True), (MAX_DEPTH, True), (MAX_DEPTH + 1, False), (5_000, False)]
)
def test_nesting_beyond_the_limit_is_one_error_and_no_events(name, depth, decoded):
    value = nest("x", depth)
    opening = "".join("[" if n % 2 else '{"ecommerce":' for n in reversed(range(depth)))
    text = opening + '"x"' + "".join("]" if n % 2 else "}" for n in range(depth))
    for payload in (value, text, text.encode()):
        result = check_decode(name, payload)
        too_deep = [i for i in result.issues if i.code == "PAYLOAD_TOO_DEEP"]
        assert (not too_deep) is decoded
        if not decoded:
            assert len(too_deep) == 1 and too_deep[0].is_error and result.events == []


MP_BODY = (
    '{"client_id":"1.2","events":[{"name":"purchase","params":{"currency":"EUR","value":1,'
    '"transaction_id":"T1","items":[{"item_id":"a","price":1,"quantity":%s}]}}]}'
)
MP_QUANTITY = "$.events[0].params.items[0].quantity"

# (dialect, body, path, code, severity, events kept)
BAD = [
    ("ga4-mp", MP_BODY % "1e1000000", MP_QUANTITY, "VALUE_OUT_OF_BOUNDS", "error", 0),
    ("ga4-mp", MP_BODY % "-1e-1000000", MP_QUANTITY, "VALUE_OUT_OF_BOUNDS", "error", 0),
    ("ga4-mp", MP_BODY % "1e999", MP_QUANTITY, "VALUE_OUT_OF_BOUNDS", "error", 0),
    ("ga4-mp", MP_BODY % ("9" * 5000), MP_QUANTITY, "VALUE_OUT_OF_BOUNDS", "error", 0),
    ("ga4-mp", MP_BODY % '"1e9999"', MP_QUANTITY, "VALUE_OUT_OF_BOUNDS", "error", 1),
    ("ga4-mp", MP_BODY % str(2**70), MP_QUANTITY, "VALUE_OUT_OF_BOUNDS", "error", 1),
    ("ga4-mp", MP_BODY % str(2**63), MP_QUANTITY, "VALUE_OUT_OF_BOUNDS", "error", 1),
    ("ga4-mp", MP_BODY % "1.5", MP_QUANTITY, "TYPE_INVALID", "error", 1),
    (
        "ga4-mp",
        (MP_BODY % "1").replace('"value":1', '"value":1e40'),
        "$.events[0].params.value",
        "VALUE_OUT_OF_BOUNDS",
        "error",
        1,
    ),
    (
        "ga4-mp",
        (MP_BODY % "1").replace('"value":1', '"value":' + "1" * 20),
        "$.events[0].params.value",
        "VALUE_OUT_OF_BOUNDS",
        "error",
        1,
    ),
    (
        "ga4-mp",
        (MP_BODY % "1").replace('"value":1', '"value":' + "1" * 29),
        "$.events[0].params.value",
        "VALUE_OUT_OF_BOUNDS",
        "error",
        1,
    ),
    (
        "ga4-mp",
        (MP_BODY % "1").replace('"price":1', '"price":1e-10'),
        "$.events[0].params.items[0].price",
        "AMOUNT_ROUNDED",
        "warning",
        1,
    ),
    (
        "ga4-mp",
        (MP_BODY % "1").replace('"client_id":"1.2"', '"client_id":"1.2","user_id":"\\udc00"'),
        "$.user_id",
        "TEXT_REPLACED",
        "warning",
        1,
    ),
    (
        "ga4-mp",
        (MP_BODY % "1").replace('"item_id":"a"', '"item_id":"a","\\ud800x":1'),
        "$.events[0].params.items[0]['\ufffdx']",
        "TEXT_REPLACED",
        "warning",
        1,
    ),
    (
        "commanders-act",
        '{"event_name":"page_view","page_type":"home","user":{"id":"u"},'
        '"context":{"event_timestamp":"1e9999"}}',
        "$.context.event_timestamp",
        "VALUE_OUT_OF_BOUNDS",
        "error",
        1,
    ),
    (
        "commanders-act",
        '{"event_name":"page_view","page_type":"home","user":{"id":"u"},'
        '"context":{"event_timestamp":' + "9" * 5000 + "}}",
        "$.context.event_timestamp",
        "VALUE_OUT_OF_BOUNDS",
        "error",
        0,
    ),
    (
        "gtm-ga4",
        '{"event":"add_to_cart","ecommerce":{"currency":"EUR","value":1,'
        '"items":[{"item_id":"a","price":1,"quantity":"1e9999"}]}}',
        "$.ecommerce.items[0].quantity",
        "VALUE_OUT_OF_BOUNDS",
        "error",
        1,
    ),
    (
        "gtm-ga4",
        '{"event":"add_to_cart","ecommerce":{"currency":"EUR","value":1,'
        '"items":[{"item_id":"a","price":1e1000000}]}}',
        "$.ecommerce.items[0].price",
        "VALUE_OUT_OF_BOUNDS",
        "error",
        0,
    ),
    (
        "gtm-ga4",
        '{"event":"add_to_cart","ecommerce":{"currency":"EUR","value":1,'
        '"items":[{"item_id":"a","price":1,"quantity":9223372036854775808}]}}',
        "$.ecommerce.items[0].quantity",
        "VALUE_OUT_OF_BOUNDS",
        "error",
        1,
    ),
]


@pytest.mark.parametrize(("name", "body", "path", "code", "severity", "events"), BAD)
def test_each_hostile_value_is_an_issue_at_its_path(name, body, path, code, severity, events):
    for payload in (body, body.encode()):  # text: the typed fast path, then the general one
        decoded = trackway.decode(name, payload, received_at=datetime(2026, 1, 1, tzinfo=UTC))
        found = [(i.path, i.code, str(i.severity)) for i in decoded.issues]
        assert (path, code, severity) in found
        assert len(decoded.events) == events
        for issue in decoded.issues:
            assert issue.message.startswith("expected"), issue.message
            issue.message.encode("utf-8")


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        (Decimal("NaN"), "NaN"),
        (Decimal("Infinity"), "Infinity"),
        (Decimal("-Infinity"), "-Infinity"),
        (Decimal("sNaN"), "sNaN"),
        (float("nan"), "nan"),
        (float("inf"), "inf"),
    ],
)
@pytest.mark.parametrize("name", NAMES)
def test_a_non_finite_number_anywhere_is_an_error_with_its_path(name, value, sent):
    decoded = check_decode(name, {"event": "purchase", "ecommerce": {"value": value}, "x": [value]})
    found = [(i.path, i.code) for i in decoded.issues if i.is_error]
    assert ("$.ecommerce.value", "VALUE_INVALID") in found
    assert ("$.x[0]", "VALUE_INVALID") in found
    assert decoded.events == []


def test_repaired_text_is_decoded_with_u_fffd():
    decoded = trackway.decode("gtm-ga4", {"event": "login", "user_id": "ab\udc00", "\udc00": 1})
    [event] = decoded.events
    assert event.properties == {"user_id": "ab\ufffd", "\ufffd": 1}
    assert sorted(i.path for i in decoded.issues if i.code == "TEXT_REPLACED") == [
        "$.user_id",
        "$['\ufffd']",
    ]
    trackway.to_json(event).decode("utf-8")


def test_the_callers_payload_is_not_changed_by_the_repair():
    payload = {"event": "login", "user_id": "\udc00"}
    trackway.decode("gtm-ga4", payload)
    assert payload == {"event": "login", "user_id": "\udc00"}


GOOD = [
    # (amount sent, amount read): the edges DECIMAL(38, 9) holds
    (Decimal("9999999999999999999.999999999"), Decimal("9999999999999999999.999999999")),
    (Decimal("-9999999999999999999.999999999"), Decimal("-9999999999999999999.999999999")),
    (Decimal("0.000000001"), Decimal("0.000000001")),
    (Decimal("3.3333333333333335"), Decimal("3.333333333")),  # 10/3 computed by a browser
    (Decimal("1.5000000000000"), Decimal("1.5")),
    (Decimal("0.0000000015"), Decimal("0.000000002")),  # half-even: 1.5e-9 -> 2e-9
    (int("9" * 19), Decimal("9" * 19)),
    ("9999999999999999999", Decimal("9999999999999999999")),
]


@pytest.mark.parametrize(("sent", "read"), GOOD)
def test_amounts_within_decimal_38_9_are_kept(sent, read):
    decoded = trackway.decode(
        "gtm-ga4", {"event": "add_to_cart", "ecommerce": {"currency": "EUR", "value": sent}}
    )
    [event] = decoded.events
    assert event.commerce.value == read
    assert not [i for i in decoded.issues if i.path == "$.ecommerce.value" and i.is_error]
