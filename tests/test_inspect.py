"""trackway.inspect: reading pasted texts and scripts, validating them, rendering an
event in every dialect, and the detail of a stored event or failed payload."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import trackway
from tests.support.specs import DOCUMENT, all_examples, specs_dir
from trackway import dialects
from trackway.errors import ParseError, TrackwayError, UsageError
from trackway.inspect import (
    MAX_CALLS,
    MAX_TEXT,
    event_view,
    failed_view,
    plain,
    read_text,
    renders,
    script_calls,
    split_payloads,
    validate_payloads,
    validate_text,
)
from trackway.store.base import FailedRow

AT = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)

SCRIPTS = [
    # (text, the values read, words of a note)
    ("gtag('event', 'login', {method: 'email'})", [["event", "login", {"method": "email"}]], None),
    (
        "<script>function gtag(){dataLayer.push(arguments);}\n"
        "gtag('event', 'search', {search_term: 'a'});</script>",
        [["event", "search", {"search_term": "a"}]],
        "dataLayer.push(arguments), whose argument is an expression",
    ),
    (
        "var x = 1;\nwindow.dataLayer.push({event: 'page_view', note: 'a ) in a string'});",
        [{"event": "page_view", "note": "a ) in a string"}],
        "page script",
    ),
    (
        "gtag('js', new Date());\ncact('trigger', 'page_view', {page_type: 'home'})",
        [["trigger", "page_view", {"page_type": "home"}]],
        "line 1: skipped gtag(...)",
    ),
    (
        "// gtag('event', 'x')\n/* cact('trigger') */ insend('event', 'link', {})",
        [["event", "link", {}]],
        None,
    ),
    ("<p>gtag('event', 'x', {a: 1}", [], None),  # not closed: nothing
    # a template string never closed: the rest is not read, and a note says so
    ("x = `a; gtag('event', 'a', {})", [], "a ` template string is never closed"),
    ("x = `a\\\\`; gtag('event', 'a', {})", [["event", "a", {}]], None),  # closed after an escaped \\
]


@pytest.mark.parametrize(("text", "values", "note"), SCRIPTS)
def test_a_pasted_script_is_read_for_its_tracking_calls(text, values, note):
    found, notes = script_calls(text)
    assert [p.value for p in found] == values
    assert all(p.call and p.call.split("(")[0].split(".")[-1] in text for p in found)
    if note:
        assert any(note in n for n in notes) or any(note in n for n in read_text(text)[1]), notes


READ = [
    ('{"event": "a"}', [{"event": "a"}]),
    ('[{"event": "a"}, {"event": "b"}]', [{"event": "a"}, {"event": "b"}]),
    ('["event", "a", {}]', [["event", "a", {}]]),  # a call array is one payload
    ('{"event": "a"}\n{"event": "b"}', [{"event": "a"}, {"event": "b"}]),
    ("{event: 'a', value: 1.5}", [{"event": "a", "value": Decimal("1.5")}]),
    ("", []),
]


@pytest.mark.parametrize(("text", "values"), READ)
def test_texts_are_split_into_payloads_as_the_cli_reads_them(text, values):
    assert [p.value for p in split_payloads(text)] == values
    assert [p.value for p in read_text(text)[0]] == values


@pytest.mark.parametrize("text", ["{", "<div>no call</div>", "gtag('event'"])
def test_a_text_with_no_payload_is_a_parse_error_saying_what_was_expected(text):
    with pytest.raises(ParseError, match="expected") as caught:
        read_text(text)
    assert str(caught.value).startswith("<input>:1:") and str(caught.value).count("<input>") == 1


def test_validate_text_bounds_its_input_and_its_work():
    with pytest.raises(UsageError, match=f"at most {MAX_TEXT // 1024} KiB"):
        validate_text("x" * (MAX_TEXT + 1))
    with pytest.raises(UsageError, match="expected dialect auto or one of"):
        validate_text("{}", "nope")
    many = "\n".join('{"event": "page_view"}' for _ in range(MAX_CALLS + 5))
    answer = validate_text(many, "gtm-ga4")
    assert len(answer["calls"]) == MAX_CALLS
    assert any(f"the first {MAX_CALLS}" in n for n in answer["notes"])


def test_renders_give_every_other_dialect_a_payload_with_warnings_or_a_reason():
    event = trackway.decode(
        "gtm-ga4",
        {
            "event": "purchase",
            "ecommerce": {"transaction_id": "T", "currency": "EUR", "value": 5, "items": []},
        },
    ).events[0]
    out = renders(event, "gtm-ga4")
    assert set(out) == set(dialects.names()) - {"gtm-ga4"}
    assert out["gtag-ga4"]["payload"][:2] == ["event", "purchase"]
    ua = out["gtm-ua"]
    assert {i["code"] for i in ua["issues"]} and all(i["severity"] == "warning" for i in ua["issues"])
    for name, render in out.items():
        assert ("payload" in render) != ("error" in render), name
        if "payload" in render:  # what encode_with_issues gives, as JSON values
            payload, issues = trackway.encode_with_issues(name, event)
            assert render == {"payload": plain(payload), "issues": [i.to_json() for i in issues]}


def test_plain_writes_what_json_cannot_hold():
    value = {"a": Decimal("NaN"), "b": "\ud800", "c": Decimal("1.50"), "d": [1, "x"]}
    assert plain(value) == {"a": "NaN", "b": "\ufffd", "c": Decimal("1.50"), "d": [1, "x"]}


def test_an_event_view_renders_the_event_back_into_its_dialect():
    payload = {"client_id": "c1", "events": [{"name": "login", "params": {"method": "email"}}]}
    event = trackway.decode("ga4-mp", payload, received_at=AT, property="shop").events[0]
    event.id, event.received_at = "e1", AT
    view = event_view(event, "/mp/collect")
    assert (
        view["kind"] == "event" and view["payload_source"] == "rendered" and view["endpoint"] == "/mp/collect"
    )
    assert view["payload"]["events"][0]["name"] == "login" and view["payload"]["client_id"] == "c1"
    assert view["event"]["anonymous_id"] == "c1" and view["received_at"] == AT.isoformat()
    assert "ga4-mp" not in view["renders"] and "gtag-ga4" in view["renders"]


def failed(payload: bytes, dialect: str = "gtm-ga4", indices: list[int] | None = None) -> FailedRow:
    issues = [{"path": "$", "code": "X", "severity": "error", "message": "m", "event": -1}]
    return FailedRow(
        id="r/0",
        property="shop",
        endpoint="/collect",
        dialect=dialect,
        received_at=AT,
        request_id="r",
        payload=payload,
        indices=indices or [0],
        issues=issues,
        meta={"envelope": msgspec.json.encode({"anonymous_id": "a1"}).decode()},
    )


FAILED = [
    # (payload, dialect, indices, payload shown, event name (None: no event))
    (
        b'{"event": "purchase", "ecommerce": {"value": 3}}',
        "gtm-ga4",
        [0],
        {"event": "purchase", "ecommerce": {"value": 3}},
        "purchase",
    ),
    (
        b'{"client_id": "c", "events": [{"name": "login"}, {"name": "purchase", "params": {}}]}',
        "ga4-mp",
        [1],
        {"client_id": "c", "events": [{"name": "login"}, {"name": "purchase", "params": {}}]},
        "purchase",
    ),
    (b"not json at all {", "gtm-ga4", [-1], "not json at all {", None),
    (b"\xff\xfe", "unknown", [-1], "\ufffd\ufffd", None),
]


@pytest.mark.parametrize(("payload", "dialect", "indices", "shown", "name"), FAILED)
def test_a_failed_view_shows_the_payload_as_received_and_the_event_that_failed(
    payload, dialect, indices, shown, name
):
    view = failed_view(failed(payload, dialect, indices))
    assert view["kind"] == "failed" and view["payload_source"] == "received" and view["payload"] == shown
    assert view["issues"][0]["code"] == "X"
    if name is None:
        assert view["event"] is None and view["renders"] == {}
    else:
        assert view["event"]["name"] == name and view["renders"]


def test_a_failed_views_event_takes_the_ids_of_its_requests_envelope():
    view = failed_view(failed(b'{"event": "purchase", "ecommerce": {"value": 3}}', indices=[0]))
    assert view["event"]["anonymous_id"] == "a1"  # the /collect envelope's, as replay applies it


# -- the validator under any text -------------------------------------------------

JS_BITS = st.sampled_from(
    [
        "gtag(",
        "cact(",
        "dataLayer.push(",
        "window.",
        "insend(",
        "'event'",
        "'purchase'",
        '"x"',
        "{",
        "}",
        "[",
        "]",
        "(",
        ")",
        ",",
        ":",
        ";",
        "\n",
        "//",
        "/*",
        "*/",
        "function ",
        "value: 1.5",
        "items: [",
        "<script>",
        "`",
        "\n```json\n",  # Markdown code fences (read_text reads such a text's blocks)
        "\n```\n",
        "| ```js\n",
        "\n``` |",
        "~~~",
        "\\",
        "1e999",
        "-0",
        "NaN",
    ]
)
KEYS = ["event", "ecommerce", "items", "item_id", "price", "currency", "value", "transaction_id", "quantity"]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=5),
    max_leaves=20,
)
CALLS = st.lists(
    st.tuples(
        st.sampled_from(["gtag('event', 'purchase', ", "dataLayer.push(", "cact('trigger', 'x', "]), JSON
    ).map(lambda c: c[0] + msgspec.json.encode(c[1]).decode() + ")"),
    max_size=5,
).map(lambda calls: "<script>var a = 1;\n" + ";\n".join(calls) + "</script>")
TEXTS = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(JS_BITS, st.text(max_size=5)), max_size=60).map("".join),
    CALLS,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXTS, dialect=st.sampled_from(["auto", "gtag-ga4", "commanders-act", "ga4-mp"]))
def test_any_text_gets_an_answer_or_a_clear_error_in_bounded_time(text: str, dialect: str) -> None:
    start = time.perf_counter()
    try:
        answer = validate_text(text, dialect)
    except TrackwayError as exc:
        error = str(exc)
    else:
        error = None
    assert time.perf_counter() - start < 5
    if error is not None:
        assert "expected" in error
        return
    msgspec.json.encode(answer)  # JSON all the way down
    assert set(answer) == {"calls", "notes"}
    for call in answer["calls"]:
        assert call["valid"] == (not any(i["severity"] == "error" for i in call["issues"]))
        assert isinstance(call["renders"], dict)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    payload=st.one_of(st.binary(max_size=200), TEXTS.map(str.encode), CALLS.map(str.encode)),
    dialect=st.sampled_from(["unknown", "", "gtag-ga4", "ga4-mp", "commanders-act", "convead", "klingon"]),
    indices=st.lists(st.integers(-1, 5), max_size=3),
)
def test_any_failed_payload_has_a_view(payload: bytes, dialect: str, indices: list[int]) -> None:
    view = failed_view(failed(payload, dialect, indices))
    msgspec.json.encode(view)  # JSON all the way down
    assert view["kind"] == "failed" and (view["event"] is None) == (view["events"] == [])
    assert (view["renders"] == {}) == (view["event"] is None)


MARKDOWN = [
    # a stray backtick in the prose (the Commanders Act document's "Air`)") before a fenced call
    (
        "The tier (e.g. `Next-day`, Air`) chosen.\n\n```javascript\ncact('trigger', 'add_payment_info', "
        "{payment_method: 'card'});\n```\n",
        [["trigger", "add_payment_info", {"payment_method": "card"}]],
        "only the tracking calls",
    ),
    # a block with no call beside blocks with calls: a part of an event, skipped with a note
    (
        "```js\ncact('trigger', 'page_view', {page_type: 'home'})\n```\n"
        "Example :\n\n```\n{user: {id: '1'}}\n```",
        [["trigger", "page_view", {"page_type": "home"}]],
        "line 7: skipped a code block with no tracking call",
    ),
    # fences in a table's cells (the 2Checkout document), and a last fence never closed
    (
        '| **purchase** | PLACE_ORDER | notes | ```json\n["event", "purchase", {"value": 1}]\n``` |\n'
        '| **page_view** | LOAD | notes | ```json\n{"event": "page_view"}\n',
        [["event", "purchase", {"value": 1}], {"event": "page_view"}],
        "only the payloads in its code blocks",
    ),
    # a block that is no payload, beside one that is
    (
        '```\nsee above\n```\n\n~~~json\n{"event": "a"}\n~~~',
        [{"event": "a"}],
        "line 2: skipped a code block with no payload",
    ),
]


@pytest.mark.parametrize(("text", "values", "note"), MARKDOWN)
def test_a_markdown_text_is_read_for_its_code_blocks_only(text, values, note):
    found, notes = read_text(text)
    assert [p.value for p in found] == values
    assert notes[0].startswith("read as Markdown") and any(note in n for n in notes), notes


def test_a_markdown_text_with_no_payload_in_its_blocks_says_so():
    with pytest.raises(ParseError, match="expected a payload or a tracking call in a code block") as caught:
        read_text("Intro\n```\nnot code at all\n```\n", "page.md")
    assert "line 3: skipped a code block" in str(caught.value)


@pytest.mark.parametrize("name", ["commanders-act-events.md", "2checkout-analytics-datalayer.md"])
def test_a_vendor_document_is_validated_whole_with_every_example_and_no_error(name):
    """`trackway validate DOCUMENT.md` reads the examples that tests/support/specs.py finds
    in it by its own means (none missed, in order), and finds no error in any."""
    text = (specs_dir() / name).read_text()
    key = msgspec.json.encode
    expected = Counter(key(e.value) for e in all_examples() if DOCUMENT[e.dialect] == name)
    found, _ = read_text(text, name)
    assert Counter(key(p.value) for p in found) == expected
    results = validate_payloads(found, "auto", None)
    assert [r["index"] for r in results if not r["valid"]] == []
