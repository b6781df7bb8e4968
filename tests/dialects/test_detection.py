"""Auto-detection: the vendors' examples are read in their dialect, and whenever ``auto``
picks a dialect, naming that dialect gives the same verdict (the same events and issues;
``auto`` only adds its DIALECT_AMBIGUOUS note when another dialect reads the payload too)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import trackway
from tests.dialects.corpus import bases, example_dialect
from tests.fuzz import hostile
from tests.support.specs import Example, all_examples
from trackway.model import to_json

EXAMPLES = all_examples()
# Payloads two dialects read alike; auto names the other in its note.
TWINS = {
    "adobe-dtm": "gtm-ua",  # the gtm-ua layout; externalRef decides, and gtm-ua reads it too
    "gtag-ua": "gtag-ga4",  # page_redirect: the same array in the UA and GA4 tables
    "koalect": "gtm-ga4",  # search: {event: 'search', search_term} is GA4's event as it is
}


def verdict(decoded: trackway.Decoded) -> tuple[list[bytes], list[Any]]:
    """Events and issues, without auto's own note."""
    issues = [i for i in decoded.issues if i.code != "DIALECT_AMBIGUOUS"]
    return [to_json(e) for e in decoded.events], issues


def assert_same_verdict(payload: Any) -> trackway.Decoded | None:
    """``auto``'s result equals the named dialect's (None: unreadable text, or no dialect)."""
    try:
        auto = trackway.decode("auto", payload)
    except trackway.ParseError:
        return None
    if auto.dialect not in trackway.dialect_names():
        return None
    assert verdict(auto) == verdict(trackway.decode(auto.dialect, payload)), auto.dialect
    return auto


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.id)
def test_an_example_as_written_is_read_in_its_dialect(example: Example):
    """From the document's text: insend(...) calls are InSend's, convead(...) Convead's."""
    decoded = assert_same_verdict(example.read)
    assert decoded is not None
    wanted = example_dialect(example.dialect)
    if decoded.dialect != wanted:
        assert TWINS.get(wanted) == decoded.dialect, decoded.detection
        assert wanted in decoded.alternatives or example.name in ("page_redirect", "search"), (
            decoded.detection
        )


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.id)
def test_an_examples_value_gets_the_same_verdict_named_and_auto(example: Example):
    assert assert_same_verdict(example.value) is not None


@pytest.mark.parametrize(
    ("text", "dialect"),
    [
        ("insend('event', 'custom', {key: 'k'})", "insend"),
        ("window.insend('event', 'custom', {key: 'k'})", "insend"),
        ("convead('event', 'custom', {key: 'k'})", "convead"),
        ("cact('trigger', 'search', {search_term: 't'})", "commanders-act"),
        ("gtag('config', 'G-EXAMPLE01')", "gtag-ga4"),
        ("gtag('config', 'UA-123456-1')", "gtag-ua"),
        ("dataLayer.push({ecommerce: null})", "gtm-ga4"),
    ],
)
def test_the_function_a_call_names_decides_among_the_dialects_that_read_it(text, dialect):
    assert trackway.decode("auto", text).dialect == dialect


def test_the_same_call_without_its_name_is_convead_and_insend_shares_it():
    decoded = trackway.decode("auto", ["event", "custom", {"key": "k"}])
    assert decoded.dialect == "convead" and "insend shares this wire format" in decoded.detection


@pytest.mark.parametrize("dialect", ["convead", "insend"])
def test_a_convead_body_without_data_is_detected_and_its_data_reported_missing(dialect):
    body = {"app_key": "k-1", "visitor_uid": "", "guest_uid": "g-1"}
    auto, named = trackway.decode("auto", body), trackway.decode(dialect, body)
    assert auto.dialect == "convead"
    for decoded in (auto, named):
        assert [(i.path, i.code) for i in decoded.issues] == [("$.data", "VALUE_REQUIRED")]


class Drawn:
    """hostile.Chooser over hypothesis's draws (so failing examples shrink)."""

    def __init__(self, data: st.DataObject) -> None:
        self.data = data

    def index(self, n: int) -> int:
        return self.data.draw(st.integers(0, n - 1)) if n > 1 else 0

    def text(self) -> str:
        return self.data.draw(st.text(max_size=8))


def raw_numbers(value: Any) -> Any:
    """``value`` with its Decimals as raw JSON numbers (hostile.dumps writes them as they are)."""
    if type(value) is dict:
        return {k: raw_numbers(v) for k, v in value.items()}
    if type(value) is list:
        return [raw_numbers(v) for v in value]
    if type(value) is Decimal:
        return hostile.Raw(str(value))
    return value


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_whenever_auto_picks_a_dialect_naming_it_gives_the_same_verdict(data):
    """Over the examples, every documented event in every dialect, and their mutations
    (values replaced by hostile ones, keys removed, added or repeated, types changed),
    as JSON text (the typed fast paths included) and as values."""
    _, base = data.draw(st.sampled_from(bases()))
    chooser = Drawn(data)
    value = hostile.mutate(chooser, raw_numbers(base), data.draw(st.integers(0, 3)))
    text = hostile.encode(chooser, value)
    assert_same_verdict(text)
    try:
        plain = trackway.parse(text)
    except trackway.ParseError:
        return
    assert_same_verdict(plain)
