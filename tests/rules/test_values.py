"""Value rules: each good input converts, each bad one gives its code."""

from __future__ import annotations

from decimal import Decimal

import pytest

from trackway.issues import Issues
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
    (identity.phone, "+33 6 12 34 56 78", "FORMAT_INVALID"),
    (identity.phone, "+1234567890123456", "FORMAT_INVALID"),
    (identity.email, "not-an-email", "FORMAT_INVALID"),
    (identity.birthdate, "01/02/1990", "FORMAT_INVALID"),
    (identity.birthdate, "1990-02-30", "FORMAT_INVALID"),
    (identity.gender, "male", "ENUM_INVALID"),
    (identity.gender, "M", "ENUM_INVALID"),
    (identity.MD5, "8EB1B522F60D11FA897DE1DC6351B7E8", "HASH_INVALID"),
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
