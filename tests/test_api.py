"""The Python API: decode, encode, convert, parse, detect."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

import pytest

import trackway
from trackway import vendors
from trackway.errors import ParseError, UnknownDialectError
from trackway.issues import MAX_LISTED, Issue, Severity

PURCHASE = {
    "event": "purchase",
    "ecommerce": {
        "transaction_id": "T1",
        "currency": "EUR",
        "value": 10,
        "items": [{"item_id": "a", "price": 10}],
    },
}


@pytest.mark.parametrize(
    "payload",
    [
        PURCHASE,
        trackway.model.encode_json(PURCHASE),
        trackway.model.encode_json(PURCHASE).decode(),
        "{event: 'purchase', ecommerce: {transaction_id: 'T1', currency: 'EUR', value: 10,"
        " items: [{item_id: 'a', price: 10}]}}",
    ],
    ids=["object", "bytes", "json-text", "javascript"],
)
def test_decode_takes_objects_json_and_javascript(payload):
    decoded = trackway.decode("gtm-ga4", payload)
    assert decoded.valid
    assert decoded.events[0].commerce.value == Decimal(10)


def test_decode_sets_the_property():
    assert trackway.decode("gtm-ga4", PURCHASE, property="shop").events[0].property == "shop"


def test_unparsable_text_raises_the_one_documented_error():
    with pytest.raises(ParseError):
        trackway.decode("gtm-ga4", b"{event: ")
    with pytest.raises(ParseError):
        trackway.decode("auto", b"\xff\xfe")


def test_unknown_dialect_names_the_known_ones():
    with pytest.raises(UnknownDialectError, match="gtm-ga4"):
        trackway.decode("gtm-ga5", PURCHASE)


def test_auto_detection_reports_its_choice():
    decoded = trackway.decode("auto", PURCHASE)
    assert decoded.dialect == "gtm-ga4"
    assert decoded.detection.startswith("auto: read as gtm-ga4")


def test_auto_detection_of_nothing_known_is_an_error():
    decoded = trackway.decode("auto", {"hello": "world"})
    assert not decoded.valid
    assert decoded.issues[0].code == "DIALECT_UNKNOWN"


def test_encode_renders_a_canonical_event():
    event = trackway.decode("gtm-ga4", PURCHASE).events[0]
    assert trackway.encode("gtm-ga4", event) == PURCHASE


def test_hash_transaction_id_option_writes_the_sha256_of_the_reference():
    event = trackway.decode(
        "gtm-ga4", dict(PURCHASE, ecommerce=dict(PURCHASE["ecommerce"], transaction_id="11544394"))
    ).events[0]
    out = trackway.encode("gtm-ga4", event, hash_transaction_id=True)
    assert out["ecommerce"]["transaction_id"] == hashlib.sha256(b"11544394").hexdigest()
    again = trackway.decode("gtm-ga4", out).events[0]  # an id that is already a SHA-256 is kept
    assert trackway.encode("gtm-ga4", again, hash_transaction_id=True) == out


def test_convert_skips_events_with_errors_and_returns_all_issues():
    bad = {"event": "purchase", "ecommerce": {"currency": "EURO", "items": [{"item_id": "a"}]}}
    result = trackway.convert(bad, "gtm-ga4", "gtm-ga4")
    assert result.payloads == []
    assert not result.valid
    assert {i.code for i in result.issues} >= {"CURRENCY_INVALID", "VALUE_REQUIRED"}


def test_decoded_accepted_keeps_only_events_without_errors():
    decoded = trackway.decode("gtm-ga4", {"event": "search"})
    assert decoded.accepted() == []
    assert trackway.decode("gtm-ga4", PURCHASE).accepted() == trackway.decode("gtm-ga4", PURCHASE).events


def test_importing_one_adapter_first_does_not_hide_the_others():
    import subprocess
    import sys

    code = "import trackway.vendors.ga4.mp, trackway; print(','.join(trackway.dialect_names()))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().split(",") == trackway.dialect_names()
    declared = [a.name for v in vendors.vendors() for a in v.dialects]
    assert sorted(trackway.dialect_names()) == sorted(declared)
    assert {v.name for v in vendors.vendors()} == {
        p.parent.name for p in Path(vendors.__file__).parent.glob("*/__init__.py")
    }  # every vendor package, and none registered by a test left behind


def nested_text(depth: int) -> str:
    return '{"event":"purchase","ecommerce":' + "[" * depth + "]" * depth + "}"


@pytest.mark.parametrize("dialect", ["gtm-ga4", "ga4-mp", "auto"])
@pytest.mark.parametrize("form", [str, str.encode])
@pytest.mark.parametrize("depth", [100, 1_000, 100_000])
def test_deep_text_is_one_issue_not_a_recursion_error(dialect, form, depth):
    decoded = trackway.decode(dialect, form(nested_text(depth)))
    [issue] = decoded.issues
    assert (issue.code, issue.is_error) == ("PAYLOAD_TOO_DEEP", True)
    assert issue.path.startswith("$")  # where the 65th level is when the text parsed, else "$"
    assert decoded.events == []


def test_parse_refuses_deep_text_with_a_parse_error():
    with pytest.raises(ParseError, match="nested at most 64 levels"):
        trackway.parse(nested_text(5_000))
    assert trackway.parse(nested_text(10)) == trackway.parse(nested_text(10).encode())


def test_a_lone_surrogate_in_text_is_replaced_with_a_warning():
    text = '{"event":"login","user_id":"\\udc00x"}'  # msgspec refuses it; the literal reader reads it
    for payload in (text, text.encode(), "{event: 'login', user_id: '\\udc00x'}"):
        decoded = trackway.decode("auto", payload)
        assert decoded.dialect == "gtm-ga4"
        replaced = [i.path for i in decoded.issues if i.code == "TEXT_REPLACED"]
        assert replaced == ["$.user_id"]
        assert decoded.events[0].properties["user_id"] == "\ufffdx"


def test_a_str_holding_a_lone_surrogate_is_text_and_does_not_raise_unicode_errors():
    with pytest.raises(ParseError):
        trackway.decode("gtm-ga4", "\udc00")
    decoded = trackway.decode("gtm-ga4", '{"event": "login", "user_id": "\udc00"}')
    assert [i.code for i in decoded.issues] == ["TEXT_REPLACED"]


CART = '{"event":"add_to_cart","ecommerce":{"currency":"EUR","value":%s,"items":[{"item_id":"a"%s}]}}'
BIG_QUANTITY = ',"quantity":18446744073709551615'


@pytest.mark.parametrize(
    ("body", "path", "code"),
    [
        (CART % ("1e1000000", ""), "$.ecommerce.value", "VALUE_OUT_OF_BOUNDS"),
        (CART % ("1e25", ""), "$.ecommerce.value", "VALUE_OUT_OF_BOUNDS"),
        (CART % ("1", BIG_QUANTITY), "$.ecommerce.items[0].quantity", "VALUE_OUT_OF_BOUNDS"),
        (CART % ("1.0000000001", ""), "$.ecommerce.value", "AMOUNT_ROUNDED"),
    ],
    ids=["1e1000000", "1e25", "uint64 quantity", "10 decimals"],
)
def test_the_typed_fast_path_gives_up_on_numbers_out_of_bounds(body, path, code):
    from_text = trackway.decode("gtm-ga4", body)
    from_value = trackway.decode("gtm-ga4", trackway.parse(body))
    assert from_text == from_value
    assert (path, code) in [(i.path, i.code) for i in from_text.issues]


def test_decode_is_fast_on_huge_exponents():
    # 1e1000000 once cost 25-60 s in Decimal conversions; the size is now checked first.
    # No timing here (the figure is in the report): the value is never converted, so the
    # issue shows its exponent rather than its digits.
    decoded = trackway.decode(
        "ga4-mp", b'{"client_id":"1","events":[{"name":"x","params":{"quantity":1e1000000}}]}'
    )
    [issue] = [i for i in decoded.issues if i.is_error]
    assert "1E+1000000" in issue.message and "10^1000000" in issue.message


def test_import_trackway_is_lazy_and_keeps_every_name() -> None:
    """`import trackway` imports no dialect (the CLI's start), yet its public names and its
    submodules as attributes (``trackway.model``) work as when it imported them all."""
    import subprocess
    import sys

    code = (
        "import sys, trackway\n"
        "assert 'trackway.api' not in sys.modules and 'trackway.dialects' not in sys.modules\n"
        "assert trackway.model.encode_json({'a': 1}) == b'{\"a\":1}'\n"
        "assert callable(trackway.decode) and 'gtm-ga4' in trackway.dialect_names()\n"
        "from trackway import Event, convert\n"
        "try:\n    trackway.no_such_name\nexcept AttributeError:\n    pass\nelse:\n    raise SystemExit(1)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def _issue(event: int, error: bool = True) -> Issue:
    return Issue("$.x", "VALUE_INVALID", Severity.ERROR if error else Severity.WARNING, "m", event)


@pytest.mark.parametrize(
    ("issues", "unlisted", "failed"),
    [
        ([], [], set()),
        ([_issue(1)], [], {1}),
        ([_issue(0, error=False), _issue(2)], [], {2}),
        ([_issue(-1)], [], {0, 1, 2}),  # the payload's error is every event's
        ([_issue(7)], [], set()),  # an index past the events (no event to fail)
        ([], [1], {1}),  # an error past the issues listed still fails its event
        ([_issue(0)], [-1], {0, 1, 2}),
    ],
)
def test_failed_is_every_event_with_an_error_of_its_own_or_of_the_payload(issues, unlisted, failed):
    events = [trackway.Event(name=f"e{n}", dialect="gtm-ga4") for n in range(3)]
    decoded = trackway.Decoded(dialect="gtm-ga4", events=events, issues=issues, unlisted_errors=unlisted)
    assert decoded.failed() == failed
    assert decoded.valid == (not unlisted and not any(i.is_error for i in issues))
    assert [e.name for e in decoded.accepted()] == [f"e{n}" for n in range(3) if n not in failed]


def test_issues_past_the_listed_ones_are_counted_and_their_events_still_fail():
    bad_items = ",".join(["1"] * (MAX_LISTED + 50))  # an error each (not an item object)
    batch = [
        f'{{"event_name":"purchase","items":[{bad_items}]}}',
        '{"event_name":"search","search_term":"t","user":{"id":"u1"},'
        '"context":{"event_id":"e-1","event_timestamp":1700000000000}}',
        '{"event_name":"purchase","items":[1]}',  # one error, past the listed ones
    ]
    decoded = trackway.decode("commanders-act", '{"batch":[' + ",".join(batch) + "]}")
    assert len(decoded.issues) == MAX_LISTED + 1
    summary = decoded.issues[-1]
    assert (summary.code, summary.severity, summary.event) == ("ISSUES_UNLISTED", Severity.WARNING, -1)
    assert "make 1 more event(s) invalid" in summary.message, summary.message
    assert decoded.failed() == {0, 2} and not decoded.valid
    assert [e.name for e in decoded.accepted()] == ["search"]
