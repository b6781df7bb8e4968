"""Value rules: each good input converts, each bad one gives its code."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

import trackway
from trackway.issues import Issues, describe
from trackway.rules import codes, identity, values
from trackway.rules.values import INVALID

GOOD = [
    (values.amount, 16, Decimal(16), None),
    (values.amount, Decimal("16.00"), Decimal("16.00"), None),
    (values.amount, "177.89", Decimal("177.89"), "NUMBER_AS_STRING"),
    (values.amount, "0", Decimal(0), "NUMBER_AS_STRING"),
    (values.integer, 2, 2, None),
    (values.integer, Decimal("2.0"), 2, None),
    (values.integer, "3", 3, "NUMBER_AS_STRING"),
    (values.quantity, 2, 2, None),
    (values.quantity, Decimal("1.0"), 1, None),
    (values.quantity, 0, 0, "QUANTITY_NOT_POSITIVE"),  # kept, with a warning
    (values.quantity, -2, -2, "QUANTITY_NOT_POSITIVE"),
    (values.ident, "SKU_1", "SKU_1", None),
    (values.ident, 4591180, "4591180", None),
    (values.string, "x", "x", None),
    (values.boolean, False, False, None),
    (codes.currency, "EUR", "EUR", None),
    (codes.currency, "JPY", "JPY", None),
    (codes.country, "FR", "FR", None),
    (codes.country, "USA", "USA", None),
    (identity.phone, "+33612345678", "+33612345678", None),
    (identity.email, "john.doe@example.com", "john.doe@example.com", None),
    (identity.birthdate, "1970-01-01", "1970-01-01", None),
    (identity.gender, "f", "f", None),
    (identity.MD5, "8eb1b522f60d11fa897de1dc6351b7e8", "8eb1b522f60d11fa897de1dc6351b7e8", None),
    (
        identity.SHA256,
        "836f82db99121b3481011f16b49dfa5fbc714a0d1b1b9f784a1ebbbf5b39577f",
        "836f82db99121b3481011f16b49dfa5fbc714a0d1b1b9f784a1ebbbf5b39577f",
        None,
    ),
    (values.enum(("card", "cod"), "payment method"), "card", "card", None),
]


@pytest.mark.parametrize(("rule", "raw", "expected", "warning"), GOOD)
def test_good_values_convert(rule, raw, expected, warning):
    issues = Issues()
    assert rule(raw, "$.x", issues) == expected
    assert [i.code for i in issues.items] == ([warning] if warning else [])


BAD = [
    (values.amount, "abc", "TYPE_INVALID"),
    (values.amount, "12,50", "TYPE_INVALID"),
    (values.amount, True, "TYPE_INVALID"),
    (values.amount, [1], "TYPE_INVALID"),
    (values.amount, "NaN", "TYPE_INVALID"),
    (values.integer, 1.5, "TYPE_INVALID"),
    (values.integer, Decimal("1.5"), "TYPE_INVALID"),
    (values.quantity, 1.5, "TYPE_INVALID"),
    (values.quantity, "two", "TYPE_INVALID"),
    (values.ident, 1.5, "TYPE_INVALID"),
    (values.ident, None, "TYPE_INVALID"),
    (values.string, 3, "TYPE_INVALID"),
    (values.boolean, "true", "TYPE_INVALID"),
    (codes.currency, "EURO", "CURRENCY_INVALID"),
    (codes.currency, "eur", "CURRENCY_INVALID"),
    (codes.currency, 978, "CURRENCY_INVALID"),
    (codes.country, "France", "FORMAT_INVALID"),
    (codes.country, "fr", "FORMAT_INVALID"),
    (identity.phone, "0612345678", "FORMAT_INVALID"),
    (identity.phone, "+33 6 12 34", "FORMAT_INVALID"),  # written with spaces, and too short
    (identity.phone, "+1234567890123456", "FORMAT_INVALID"),
    (identity.email, "not-an-email", "FORMAT_INVALID"),
    (identity.birthdate, "01/02/1990", "FORMAT_INVALID"),
    (identity.birthdate, "1990-02-30", "FORMAT_INVALID"),
    (identity.gender, "male", "ENUM_INVALID"),
    (identity.gender, "mr", "ENUM_INVALID"),
    (identity.MD5, "8EB1B522F60D11FA897DE1DC6351B7EX", "HASH_INVALID"),
    (identity.MD5, "8eb1b522f60d11fa897de1dc6351b7e", "HASH_INVALID"),
    (identity.SHA256, "zz" * 32, "HASH_INVALID"),
    (identity.SHA256, "8eb1b522f60d11fa897de1dc6351b7e8", "HASH_INVALID"),
    (values.enum(("card", "cod"), "payment method"), "Card", "ENUM_INVALID"),
]


@pytest.mark.parametrize(("rule", "raw", "code"), BAD)
def test_bad_values_give_their_code(rule, raw, code):
    issues = Issues()
    assert rule(raw, ("$.a", "b"), issues) is INVALID
    assert [(i.path, i.code, i.severity) for i in issues.items] == [("$.a.b", code, "error")]
    assert "expected" in issues.items[0].message and "got" in issues.items[0].message


def test_mis_cased_values_get_a_did_you_mean():
    issues = Issues()
    values.enum(("pending", "shipped"), "purchase status")("Pending", "$.status", issues)
    codes.currency("eur", "$.currency", issues)
    assert "did you mean 'pending'" in issues.items[0].message
    assert "did you mean 'EUR'" in issues.items[1].message


@pytest.mark.parametrize(
    ("amount", "currency", "warns"),
    [
        ("84.03", "USD", False),
        ("84.030", "USD", False),
        ("84.035", "USD", True),
        ("100", "JPY", False),
        ("100.5", "JPY", True),
        ("1.234", "BHD", False),
        ("1.2345", "BHD", True),
        ("1E+30", "USD", False),
        ("1.000000000000000000000000000001", "USD", True),
    ],
)
def test_amount_precision_follows_the_currency_minor_unit(amount, currency, warns):
    issues = Issues()
    codes.check_precision(Decimal(amount), currency, "$.value", issues)
    assert [i.code for i in issues.items] == (["AMOUNT_PRECISION"] if warns else [])


def test_minor_units_come_from_iso_4217_data():
    assert (codes.minor_unit("USD"), codes.minor_unit("JPY"), codes.minor_unit("BHD")) == (2, 0, 3)
    assert codes.minor_unit("XXX") is None


# -- bounds: every number is checked for size before any conversion --------------------

MAX_AMOUNT = Decimal("9" * values.AMOUNT_INTEGER_DIGITS + "." + "9" * values.AMOUNT_SCALE)

IN_BOUNDS = [
    (values.amount, MAX_AMOUNT, MAX_AMOUNT),
    (values.amount, -MAX_AMOUNT, -MAX_AMOUNT),
    (values.amount, 10**values.AMOUNT_INTEGER_DIGITS - 1, Decimal(10**values.AMOUNT_INTEGER_DIGITS - 1)),
    (values.amount, Decimal("0.000000001"), Decimal("0.000000001")),
    (values.amount, Decimal("1.50000000000"), Decimal("1.50000000000")),  # the same value: kept as sent
    (values.amount, Decimal("0E-20"), Decimal("0E-9")),
    (values.amount, 1.5, Decimal("1.5")),
    (values.integer, values.INTEGER_MAX, values.INTEGER_MAX),
    (values.integer, values.INTEGER_MIN, values.INTEGER_MIN),
    (values.integer, Decimal("9.223372036854775807E+18"), values.INTEGER_MAX),
    (values.integer, Decimal("0E+300"), 0),
    (values.integer, Decimal("1E+3"), 1000),
    (values.ident, 10**30, str(10**30)),
]


def short(value):
    """A test id for any value (pytest's str() raises on an int of 5,000 digits)."""
    return getattr(value, "__name__", None) or describe(value, 24)


@pytest.mark.parametrize(("rule", "raw", "expected"), IN_BOUNDS, ids=short)
def test_numbers_at_the_bounds_are_kept(rule, raw, expected):
    issues = Issues()
    got = rule(raw, "$.x", issues)
    assert got == expected and type(got) is type(expected)
    assert issues.items == []


# (rule, raw, code, severity, what the message names)
OUT_OF_BOUNDS = [
    (values.amount, Decimal("1e40"), "VALUE_OUT_OF_BOUNDS", "error", "below 10^19"),
    (values.amount, 10**19, "VALUE_OUT_OF_BOUNDS", "error", "below 10^19"),
    (values.amount, int("1" * 29), "VALUE_OUT_OF_BOUNDS", "error", "below 10^19"),
    (values.amount, -(10**19), "VALUE_OUT_OF_BOUNDS", "error", "below 10^19"),
    (values.amount, "1e40", "VALUE_OUT_OF_BOUNDS", "error", "below 10^19"),
    (values.amount, 1e300, "VALUE_OUT_OF_BOUNDS", "error", "below 10^19"),
    (values.amount, Decimal("1e1000000"), "VALUE_OUT_OF_BOUNDS", "error", "magnitude"),
    (values.amount, "1e1000000", "VALUE_OUT_OF_BOUNDS", "error", "magnitude"),
    (values.amount, Decimal("-1e-1000000"), "VALUE_OUT_OF_BOUNDS", "error", "magnitude"),
    (values.amount, Decimal("Infinity"), "VALUE_INVALID", "error", "finite"),
    (values.amount, Decimal("NaN"), "VALUE_INVALID", "error", "finite"),
    (values.amount, Decimal("sNaN"), "VALUE_INVALID", "error", "finite"),
    (values.amount, float("inf"), "VALUE_INVALID", "error", "finite"),
    (values.amount, 10**5000, "VALUE_OUT_OF_BOUNDS", "error", "more than 100 digits"),
    (values.amount, "9" * 5000, "VALUE_OUT_OF_BOUNDS", "error", "magnitude 10^4999"),
    (values.amount, "0." + "1" * 200, "VALUE_OUT_OF_BOUNDS", "error", "more than 100 significant digits"),
    (values.amount, Decimal("1e-10"), "AMOUNT_ROUNDED", "warning", "stored as 0.000000000"),
    (values.integer, 2**70, "VALUE_OUT_OF_BOUNDS", "error", "64 bits"),
    (values.integer, 2**63, "VALUE_OUT_OF_BOUNDS", "error", "64 bits"),
    (values.integer, -(2**63) - 1, "VALUE_OUT_OF_BOUNDS", "error", "64 bits"),
    (values.integer, Decimal("1e40"), "VALUE_OUT_OF_BOUNDS", "error", "64 bits"),
    (values.integer, "1e9999", "VALUE_OUT_OF_BOUNDS", "error", "magnitude"),
    (values.integer, Decimal("1e1000000"), "VALUE_OUT_OF_BOUNDS", "error", "magnitude"),
    (values.integer, 10**5000, "VALUE_OUT_OF_BOUNDS", "error", "64 bits"),
    (values.integer, Decimal("-1e-1000000"), "VALUE_OUT_OF_BOUNDS", "error", "magnitude"),
    (values.integer, Decimal("Infinity"), "VALUE_INVALID", "error", "finite"),
    (values.integer, float("nan"), "VALUE_INVALID", "error", "finite"),
    (values.ident, 10**5000, "VALUE_OUT_OF_BOUNDS", "error", "more than 100 digits"),
    (values.ident, Decimal("NaN"), "VALUE_INVALID", "error", "finite"),
]


@pytest.mark.parametrize(("rule", "raw", "code", "severity", "named"), OUT_OF_BOUNDS, ids=short)
def test_numbers_beyond_the_bounds_are_an_issue(rule, raw, code, severity, named):
    issues = Issues()
    got = rule(raw, ("$.a", "b"), issues)
    assert [(i.path, i.code, str(i.severity)) for i in issues.items if i.code != "NUMBER_AS_STRING"] == [
        ("$.a.b", code, severity)
    ]
    message = issues.items[-1].message
    assert message.startswith("expected") and "got" in message and named in message
    assert len(message) < 400  # the value is shown shortened, never in full
    if severity == "error":
        assert got is INVALID


def test_more_than_nine_decimals_are_rounded_half_even():
    issues = Issues()
    assert values.amount(Decimal("2.0000000005"), "$.price", issues) == Decimal("2.000000000")
    assert values.amount(Decimal("2.0000000015"), "$.price", issues) == Decimal("2.000000002")
    assert [i.code for i in issues.items] == ["AMOUNT_ROUNDED", "AMOUNT_ROUNDED"]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (Decimal("1e400"), None),
        (Decimal("1e-400"), None),
        (Decimal("1e401"), "a number of magnitude 10^401"),
        (Decimal("1e-401"), "a number of magnitude 10^-401"),
        (Decimal("1." + "1" * 99), None),
        (Decimal("1." + "1" * 100), "a number of more than 100 significant digits"),
        (10**100 - 1, None),
        (10**100, "an integer of more than 100 digits"),
        (Decimal("NaN"), values.NOT_FINITE),
        (float("-inf"), values.NOT_FINITE),
        (1.7976931348623157e308, None),  # every double a browser sends is readable
        (5e-324, None),
        ("1e999", None),  # a string is not a number: the rules read it, bounded
        (True, None),
    ],
    ids=short,
)
def test_number_problem_checks_sizes(value, problem):
    assert values.number_problem(value) == problem


SENT = [  # (value, given): what "required" parameters count as given
    (None, False),
    ("", False),
    ([], False),
    ("x", True),
    (" ", True),
    ([0], True),
    ({}, True),
    (0, True),
    (False, True),
    (Decimal("0"), True),
    (Decimal("NaN"), True),
    (Decimal("16.00"), True),
    (0.0, True),
]


@pytest.mark.parametrize(("value", "given"), SENT, ids=[repr(v) for v, _ in SENT])
def test_sent_is_not_null_not_empty_text_not_an_empty_array(value, given):
    assert values.sent(value) is given
    assert given == (value is not None and value != "" and value != [])  # the definition, spelled out


_GA4_ITEMS = {"currency": "EUR", "value": 0, "items": [{"item_id": "N", "price": 10, "quantity": -2}]}
QUANTITIES = [
    ("gtm-ga4", {"event": "remove_from_cart", "ecommerce": _GA4_ITEMS}, "$.ecommerce.items[0].quantity"),
    ("gtag-ga4", ["event", "remove_from_cart", _GA4_ITEMS], "$[2].items[0].quantity"),
    (
        "ga4-mp",
        {"client_id": "c.1", "events": [{"name": "remove_from_cart", "params": _GA4_ITEMS}]},
        "$.events[0].params.items[0].quantity",
    ),
    (
        "gtm-ua",
        {"event": "removeFromCart", "ecommerce": {"remove": {"products": [{"id": "N", "quantity": -2}]}}},
        "$.ecommerce.remove.products[0].quantity",
    ),
    (
        "gtag-ua",
        ["event", "remove_from_cart", {"items": [{"id": "N", "quantity": 0}]}],
        "$[2].items[0].quantity",
    ),
    (
        "commanders-act",
        {
            "event_name": "remove_from_cart",
            "currency": "EUR",
            "value": 0,
            "items": [{"id": "N", "quantity": -2, "product": {"id": "N", "name": "n", "price": 10}}],
            "user": {"consistent_anonymous_id": "a"},
            "context": {"event_id": "e-1", "event_timestamp": 1_700_000_000_000},
        },
        "$.items[0].quantity",
    ),
    (
        "convead",
        {
            "app_key": "k",
            "visitor_uid": "",
            "guest_uid": "g",
            "data": json.dumps(
                {"type": "add_to_cart", "properties": {"product_id": "N", "qnt": 0, "price": 10}}
            ),
        },
        "$.data.properties.qnt",
    ),
]


@pytest.mark.parametrize(("dialect", "payload", "path"), QUANTITIES, ids=[q[0] for q in QUANTITIES])
def test_every_vendors_item_quantity_of_zero_or_less_is_kept_with_a_warning(dialect, payload, path):
    decoded = trackway.decode(dialect, payload)
    assert decoded.valid
    [issue] = [i for i in decoded.issues if i.code == "QUANTITY_NOT_POSITIVE"]
    assert (issue.path, issue.severity) == (path, "warning")
    assert "expected a quantity of 1 or more" in issue.message
    [event] = decoded.events
    assert [item.quantity for item in event.commerce.items] in ([-2], [0])
