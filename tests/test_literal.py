"""The forgiving JavaScript literal reader."""

from __future__ import annotations

from decimal import Decimal

import pytest

from trackway.errors import ParseError
from trackway.literal import read_literal, read_literals

GOOD = [
    ("{a: 1}", {"a": 1}),
    ("{'a': 'x', \"b\": \"y\"}", {"a": "x", "b": "y"}),
    ("{a: 1,}", {"a": 1}),
    ("[1, 2,]", [1, 2]),
    ("{a: 16.00}", {"a": Decimal("16.00")}),
    ("{a: -0.5e2}", {"a": Decimal("-0.5e2")}),
    ("{a: true, b: false, c: null, d: undefined}", {"a": True, "b": False, "c": None, "d": None}),
    ("{a: 1 // comment\n}", {"a": 1}),
    ("{a: /* block */ 1}", {"a": 1}),
    ("{a: 'it\\'s'}", {"a": "it's"}),
    ("{a: '\\u00e9'}", {"a": "é"}),
    ("cact('trigger', 'search', {search_term: 't'})", ["trigger", "search", {"search_term": "t"}]),
    ("dataLayer.push({event: 'x'})", {"event": "x"}),
    ("gtag('event', 'purchase', {})", ["event", "purchase", {}]),
    ("{a: 1\n b: 2}", {"a": 1, "b": 2}),
    ("[{a: 1}\n{b: 2}]", [{"a": 1}, {"b": 2}]),
    ("{u: window.location.href}", {"u": "window.location.href"}),
    ("{a: 1, // x, y\nstray words\n b: 2}", {"a": 1, "b": 2}),
    ('{"a": [1, {"b": "c"}]}', {"a": [1, {"b": "c"}]}),
]


@pytest.mark.parametrize(("text", "expected"), GOOD)
def test_reads_javascript_literals(text, expected):
    assert read_literal(text) == expected


def test_notes_say_what_was_assumed():
    _, notes = read_literals("{a: 1\n b: window.x}")
    assert notes == [
        "line 2: a missing comma after 'a' is restored",
        "line 2: the expression window.x is read as the string 'window.x'",
    ]


def test_several_statements_are_several_values():
    values, _ = read_literals("cact('trigger','a',{});\ncact('trigger','b',{})")
    assert [v[1] for v in values] == ["a", "b"]


BAD = [
    ("{a: }", 1, 5),
    ("{a 1}", 1, 5),  # "a" reads as a wrapped-comment word; 1 is then a key without ":"
    ("[1 2]", 1, 4),
    ("{a: 1", 1, 6),
    ("{\n  a: @}", 2, 6),
]


@pytest.mark.parametrize(("text", "line", "column"), BAD)
def test_unreadable_text_raises_parse_error_with_position(text, line, column):
    with pytest.raises(ParseError) as info:
        read_literal(text)
    assert (info.value.line, info.value.column) == (line, column)
    assert "expected" in str(info.value)


def test_read_literal_wants_exactly_one_value():
    with pytest.raises(ParseError, match="expected one value, found 2"):
        read_literal("{} {}")
