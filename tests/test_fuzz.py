"""Nothing crashes on garbage: decode only returns issues, or raises ParseError for unreadable text."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import trackway
from trackway.errors import ParseError

NAMES = ["auto", *trackway.dialect_names()]

KEYS = st.sampled_from(
    [
        "event",
        "ecommerce",
        "items",
        "item_id",
        "price",
        "currency",
        "value",
        "event_name",
        "user",
        "context",
        "events",
        "client_id",
        "params",
        "name",
        "data",
        "app_key",
        "guest_uid",
        "visitor_uid",
        "type",
        "properties",
        "product",
        "id",
        "quantity",
        "purchase",
        "actionField",
        "products",
        "batch",
        "trigger",
        "step_name",
        "procedure_category",
        "email",
        "phone",
        "x",
    ]
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=12),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.sampled_from(["event", "trigger", "purchase", "EUR", "{"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.one_of(KEYS, st.text(max_size=5)), inner, max_size=6)
    ),
    max_leaves=40,
)


@pytest.mark.parametrize("dialect", NAMES)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_values)
def test_decode_of_any_json_value_returns_issues(dialect, value):
    if isinstance(value, str):  # a str is text to parse, as bytes are
        value = [value]
    decoded = trackway.decode(dialect, value)
    assert isinstance(decoded.issues, list)
    for event in decoded.events:
        trackway.to_json(event)  # every decoded event has a JSON form
    if decoded.valid:
        for event in decoded.events:
            for target in trackway.dialect_names():
                trackway.encode_with_issues(target, event)  # and renders in every dialect


@pytest.mark.parametrize("dialect", NAMES)
@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=64))
def test_decode_of_any_bytes_returns_issues_or_parse_error(dialect, data):
    try:
        decoded = trackway.decode(dialect, data)
    except ParseError:
        return
    assert isinstance(decoded.issues, list)


@pytest.mark.parametrize("dialect", NAMES)
def test_deep_and_odd_values_do_not_crash(dialect):
    for value in (
        [[[[[]]]]],
        {"event": {"event": "x"}},
        ["event", None, None],
        {"ecommerce": []},
        {"events": [None, 1, "x"]},
        Decimal("1E+999"),
        [],
        {},
    ):
        assert isinstance(trackway.decode(dialect, value).issues, list)
