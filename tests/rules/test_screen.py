"""The screen: depth, unreadable numbers and lone surrogates, before any dialect reads."""

from __future__ import annotations

from decimal import Decimal

import pytest

from trackway.issues import Issues, describe
from trackway.rules.screen import screen
from trackway.rules.values import MAX_DEPTH


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


# (payload, decoded, [(path, code, severity)])
CASES = [
    ({"a": [1, "x", Decimal("1.5"), None, True]}, True, []),
    (nested(MAX_DEPTH), True, []),
    (nested(MAX_DEPTH + 1), False, [("$" + "[0]" * MAX_DEPTH, "PAYLOAD_TOO_DEEP", "error")]),
    (nested(100_000), False, [("$" + "[0]" * MAX_DEPTH, "PAYLOAD_TOO_DEEP", "error")]),
    ({"a": {"b": Decimal("1e1000000")}}, False, [("$.a.b", "VALUE_OUT_OF_BOUNDS", "error")]),
    (
        {"a": [Decimal("NaN"), float("inf")]},
        False,
        [("$.a[0]", "VALUE_INVALID", "error"), ("$.a[1]", "VALUE_INVALID", "error")],
    ),
    ({"a": 10**5000}, False, [("$.a", "VALUE_OUT_OF_BOUNDS", "error")]),
    ({"a": Decimal("1e40"), "b": 2**70}, True, []),  # readable: the field rules bound them
    ({"a": "x\udc00"}, True, [("$.a", "TEXT_REPLACED", "warning")]),
    ({"\ud800": 1}, True, [("$['\ufffd']", "TEXT_REPLACED", "warning")]),
    (["\udc00"], True, [("$[0]", "TEXT_REPLACED", "warning")]),
    ("\udc00", True, [("$", "TEXT_REPLACED", "warning")]),
    (Decimal("-Infinity"), False, [("$", "VALUE_INVALID", "error")]),
    ("\U0001f600 ok", True, []),  # a whole emoji is fine
]


def short(value):
    """A test id for any value (pytest's str() raises on an int of 5,000 digits)."""
    return describe(value, 24)


@pytest.mark.parametrize(("payload", "decoded", "found"), CASES, ids=short)
def test_the_screen_reports_what_no_dialect_could_read(payload, decoded, found):
    issues = Issues()
    _, readable = screen(payload, issues)
    assert readable is decoded
    assert sorted((i.path, i.code, str(i.severity)) for i in issues.items) == sorted(found)
    for issue in issues.items:
        assert issue.message.startswith("expected") and "got" in issue.message
        (issue.path + issue.message).encode("utf-8")


def test_the_screen_repairs_a_copy_and_keeps_the_callers_value():
    payload = {"a": ["x\udc00", {"\udc00k": 1}], "b": Decimal("1.5")}
    repaired, readable = screen(payload, Issues())
    assert readable
    assert repaired == {"a": ["x\ufffd", {"\ufffdk": 1}], "b": Decimal("1.5")}
    assert payload == {"a": ["x\udc00", {"\udc00k": 1}], "b": Decimal("1.5")}


def test_a_clean_payload_is_returned_as_is():
    payload = {"a": [1, {"b": "c"}]}
    assert screen(payload, Issues())[0] is payload


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("EURO", "'EURO' (a string)"),
        (Decimal("16.00"), "16.00 (a number)"),
        (Decimal("Infinity"), "Infinity (a number)"),
        (Decimal("NaN"), "NaN (a number)"),
        (Decimal("1e1000000"), "1E+1000000 (a number)"),
        (Decimal("1." + "2" * 500), "1.22222…E+0 (a number)"),
        (10**5000, "<an integer of about 5,001 digits> (a number)"),
        ("\udc00", "'\ufffd' (a string)"),
        ({"\udc00": ["x\udc00", 1]}, '{"\ufffd":["x\ufffd",1]} (an object)'),
        ([[[]]], "[[[]]] (an array)"),
        (None, "null"),
        (True, "true (a boolean)"),
    ],
    ids=short,
)
def test_describe_shows_any_value_shortly_and_never_raises(value, shown):
    assert describe(value) == shown


def test_describe_of_deep_nesting_stops_at_its_limit():
    text = describe(nested(100_000))
    assert text.startswith("[[[[") and text.endswith("… (an array)") and len(text) < 80
