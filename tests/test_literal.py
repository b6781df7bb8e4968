"""The forgiving JavaScript literal reader."""

from __future__ import annotations

import contextlib
import re
import time
from decimal import Decimal

import pytest

from trackway.errors import ParseError
from trackway.inspect import read_text
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
    ("{a 1}", 1, 2),  # "a" is a stray word: no comment line before it says it is a comment's tail
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


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("{a: " + "1" * 101 + "}", {"a": int("1" * 101)}),
        ("{a: " + "1" * 102 + "}", {"a": Decimal("1" * 102)}),  # the screen reports it, never int()
        ("{a: " + "9" * 5000 + "}", {"a": Decimal("9" * 5000)}),
        ("{a: 1e1000000}", {"a": Decimal("1e1000000")}),
        ("{a: '\\udc00'}", {"a": "\udc00"}),  # the screen replaces it, with a warning
    ],
    ids=["101 digits", "102 digits", "5000 digits", "1e1000000", "lone surrogate"],
)
def test_numbers_of_any_size_and_odd_strings_are_read_without_converting(text, value):
    assert read_literal(text) == value


@pytest.mark.parametrize(("depth", "readable"), [(64, True), (65, False), (100_000, False)])
def test_nesting_beyond_64_levels_is_a_parse_error_not_a_recursion_error(depth, readable):
    text = "f(" * (depth // 2) + "[" * (depth - depth // 2) + "]" * (depth - depth // 2) + ")" * (depth // 2)
    if readable:
        assert read_literal(text) is not None
    else:
        with pytest.raises(ParseError, match="nested at most 64 levels"):
            read_literal(text)


# A word where a key is expected, with no ':' after it: a ParseError at the word, unless it
# starts the line after a // comment (the comment wrapped: Koalect's view_step and share).
STRAY = [
    ("{event:'search', oops search_term:'Tee'}", 1, 18, "'oops'"),
    ("{event: 'search',\n  oops\n  search_term: 'Tee'}", 2, 3, "'oops'"),  # no comment before it
    ("{a: 1, /* block */\nstray b: 2}", 2, 1, "'stray'"),  # only // comments wrap
    ("{a: 1 // note\n}\n{b c: 2}", 3, 2, "'b'"),  # the comment's line is over by then
    ("[{a: 1, x}]", 1, 9, "'x'"),
]


@pytest.mark.parametrize(("text", "line", "column", "word"), STRAY)
def test_a_stray_word_is_a_parse_error_at_its_position(text, line, column, word):
    with pytest.raises(ParseError) as info:
        read_literals(text)
    assert (info.value.line, info.value.column) == (line, column)
    assert f"stray word {word}" in str(info.value) and "expected a key" in str(info.value)


WRAPPED = [
    ("{a: 1, // one, two,\nthree, four\n b: 2}", {"a": 1, "b": 2}, ["'three'", "'four'"]),
    (
        "{a: 'x', // Whatsapp, Messenger,\n\nEmail\n  b: 'y' // Procedure\n}",
        {"a": "x", "b": "y"},
        ["'Email'"],
    ),
]


@pytest.mark.parametrize(("text", "value", "skipped"), WRAPPED)
def test_the_tail_of_a_wrapped_comment_is_skipped_with_a_note(text, value, skipped):
    values, notes = read_literals(text)
    assert values == [value]
    assert [n.split("stray word ")[1].split(" ")[0] for n in notes if "stray word" in n] == skipped


def test_the_strays_are_what_the_decoders_see_as_parse_errors():
    import trackway

    with pytest.raises(trackway.ParseError):
        trackway.decode("koalect", "{event:'search', oops search_term:'Tee'}")
    with pytest.raises(trackway.ParseError):
        trackway.decode("auto", "{event:'search', oops search_term:'Tee'}")


@pytest.mark.parametrize(
    ("text", "callees"),
    [
        ("insend('event', 'custom', {key: 'k'})", ["insend"]),
        ("<code>convead('event', 'link', {})", ["convead"]),
        ("window.dataLayer.push({event: 'x'})", ["window.dataLayer.push"]),
        ("cact('trigger','a',{});\ncact('trigger','b',{})", ["cact", "cact"]),
        ("{event: 'x'}", [None]),
        ("['event', 'x']", [None]),
    ],
)
def test_the_name_of_each_top_level_call_is_kept(text, callees):
    from trackway.literal import LiteralReader

    reader = LiteralReader(text)
    reader.read_all()
    assert reader.callees == callees


# A text that never closes what it opens, repeated: each opening was read again to the end
# of the text, so four times the text cost sixteen times the time (60 kB of "/* " 8 s of CPU).
UNCLOSED = ["/* ", '"\\', "'\\", "\"\\'", "`\\", "\\`"]


@pytest.mark.parametrize("unit", UNCLOSED)
def test_reading_what_is_never_closed_costs_time_in_proportion_to_the_text(unit: str) -> None:
    """CPU time of 4x the text against 1x, best of three: about 4 when it grows with the text
    (under 8 allowed for noise), 16 when it grows with its square as it did."""

    def cost(n: int) -> float:
        text = unit * n
        best = float("inf")
        for _ in range(3):
            start = time.process_time()
            with contextlib.suppress(ParseError):
                read_text(text)
            best = min(best, time.process_time() - start)
        return best

    small, large = cost(2_000), cost(8_000)
    assert large < 8 * max(small, 0.002), (small, large)


@pytest.mark.parametrize(
    ("text", "got"),
    [
        ("{a: 1} /* no end", "a /* comment that is never closed"),
        ("{a: 'no end}", "a ' string that is never closed"),
        ('["x", "no end]', 'a " string that is never closed'),
        ('{a: "ends with an escape\\"}', 'a " string that is never closed'),
    ],
)
def test_what_is_never_closed_is_named_where_it_opens(text: str, got: str) -> None:
    with pytest.raises(ParseError, match=re.escape(got)) as caught:
        read_literals(text)
    assert caught.value.line == 1 and caught.value.column is not None
