"""The typed fast path gives exactly what the general path gives, or steps aside."""

from __future__ import annotations

import gc
import tracemalloc
from decimal import Decimal

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trackway import dialects
from trackway.dialects.base import DecodeContext
from trackway.dialects.fastpath import Fallback, compile_table, wire_attrs
from trackway.dialects.fields import Field, Table
from trackway.issues import Issues
from trackway.model import encode_json
from trackway.rules import values as v

text = st.text(min_size=0, max_size=8)
amount = st.one_of(
    st.integers(-1000, 10**6),
    st.decimals(min_value=-1000, max_value=10**6, places=3, allow_nan=False),
    st.sampled_from(["12.5", "x", "", None]),
)
item = st.dictionaries(
    st.sampled_from(
        [
            "item_id",
            "item_name",
            "price",
            "quantity",
            "item_brand",
            "item_category",
            "item_category2",
            "item_category3",
            "index",
            "discount",
            "coupon",
            "item_variant",
            "custom",
        ]
    ),
    st.one_of(text, amount, st.integers(0, 5), st.booleans(), st.none()),
    max_size=8,
)
ecommerce = st.fixed_dictionaries(
    {},
    optional={
        "transaction_id": st.one_of(text, st.integers(0, 99), st.none()),
        "currency": st.sampled_from(["EUR", "USD", "JPY", "eur", "EURO", "", None]),
        "value": amount,
        "tax": amount,
        "shipping": amount,
        "coupon": st.one_of(text, st.none()),
        "items": st.lists(item, max_size=4),
        "item_list_id": text,
    },
)
payload = st.fixed_dictionaries(
    {
        "event": st.sampled_from(
            ["purchase", "add_to_cart", "view_item_list", "refund", "search", "custom_x", ""]
        )
    },
    optional={"ecommerce": ecommerce, "event_id": st.one_of(text, st.integers(0, 3)), "page": text},
)


def general(adapter, data: bytes):
    issues = Issues()
    value = msgspec.json.Decoder(float_hook=Decimal).decode(data)
    return adapter.decode(value, DecodeContext(), issues), issues.items


@settings(max_examples=400, deadline=None)
@given(payload)
def test_gtm_ga4_fast_path_agrees_with_the_general_path(p):
    adapter = dialects.get("gtm-ga4")
    data = encode_json(p)
    issues = Issues()
    fast = adapter.decode_plain(data, DecodeContext(), issues)
    if fast is not None:
        assert (fast, issues.items) == general(adapter, data)


def test_fast_path_takes_plain_payloads_and_leaves_the_rest():
    adapter = dialects.get("gtm-ga4")
    plain = (
        b'{"event":"purchase","ecommerce":{"transaction_id":"T","currency":"EUR","value":1.5,'
        b'"items":[{"item_id":"a","price":1.5,"quantity":1}]}}'
    )
    assert adapter.decode_plain(plain, DecodeContext(), Issues()) is not None
    for not_plain in (
        plain.replace(b'"value":1.5', b'"value":"1.5"'),  # a number sent as a string: a warning to give
        plain.replace(b'"quantity":1', b'"quantity":1,"custom":2'),  # an unknown key to keep
        plain.replace(b'"EUR"', b'"EURO"'),  # an error to report
        plain.replace(b'"price":1.5', b'"price":null'),  # a null to keep
        plain.replace(b'"value":1.5', b'"value":0e-500'),  # zero, but beyond the screen's magnitudes
        b"{event: 'x'}",  # JavaScript: the general path reads it
    ):
        assert adapter.decode_plain(not_plain, DecodeContext(), Issues()) is None


@pytest.mark.parametrize(
    "data",
    [
        b'{"event":"purchase","ecommerce":{"currency":"EUR","value":1.5,"items":[{"item_id":"a"}]}}',
        b'{"event":"purchase","ecommerce":{"transaction_id":"T","currency":"EUR","value":1.5}}',
        b'{"event":"purchase","ecommerce":{"transaction_id":"T","currency":"EUR","items":[{"item_id":"a"}]}}',
        b'{"event":"refund","ecommerce":{"currency":"JPY","value":1.5,"transaction_id":"T"}}',
    ],
    ids=["no transaction_id", "no items", "no value", "JPY decimals"],
)
def test_plain_payloads_missing_what_a_rule_needs_get_the_general_paths_issues(data):
    """The shortcut for events whose rules all hold must see an absent parameter (None in
    the wire struct, not UNSET): a purchase without transaction_id is an error."""
    adapter = dialects.get("gtm-ga4")
    issues = Issues()
    fast = adapter.decode_plain(data, DecodeContext(), issues)
    assert fast is not None
    general_events, general_issues = general(adapter, data)
    assert (fast, issues.items) == (general_events, general_issues)
    assert general_issues  # each case has something to report


def _fallbacks(convert, wire, times: int) -> list[Fallback]:
    caught = []
    for _ in range(times):
        with pytest.raises(Fallback) as info:
            convert(wire)
        caught.append(info.value)
    return caught


def test_a_give_up_is_a_fresh_fallback_that_keeps_no_frame():
    """Re-raising one shared instance chained every raise's traceback onto it: each
    give-up kept its frames (and the payload in them) alive for good."""
    struct, convert = compile_table(Table("probe", [Field("price", "price", v.amount)]), "Probe")
    wire = msgspec.json.decode(b'{"price": "x"}', type=struct)  # a string amount: a warning to give
    first, second = _fallbacks(convert, wire, 2)
    assert first is not second
    assert _depth(second.__traceback__) == _depth(first.__traceback__)


def _depth(tb) -> int:
    n = 0
    while tb is not None:
        n, tb = n + 1, tb.tb_next
    return n


@pytest.mark.parametrize(
    ("dialect", "payload"),
    [
        ("gtm-ga4", {"event": "purchase", "ecommerce": {"currency": "EUR", "items": [{"price": "x"}]}}),
        (
            "ga4-mp",
            {"client_id": "1", "events": [{"name": "purchase", "params": {"items": [{"price": "x"}]}}]},
        ),
    ],
)
def test_payloads_that_are_not_plain_keep_no_memory(dialect, payload):
    """Before, each of these decodes kept 4-8 kB: its frames, on the shared instance's traceback."""
    adapter = dialects.get(dialect)
    data = encode_json(payload)
    assert adapter.decode_plain(data, DecodeContext(), Issues()) is None, (
        "expected a payload that is not plain"
    )
    for _ in range(200):  # warm every cache first
        adapter.decode_plain(data, DecodeContext(), Issues())
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(2000):
            adapter.decode_plain(data, DecodeContext(), Issues())
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept < 200_000, f"expected the fast path to keep nothing, it kept {kept} bytes over 2,000 decodes"


def test_wire_attrs_name_the_attributes_of_the_compiled_struct():
    table = Table("t", [Field("a-b", "x", v.string), Field("c", "y", v.integer)])
    struct, _ = compile_table(table, "WireAttrsT")
    attrs = wire_attrs(table)
    assert list(attrs) == ["a-b", "c"]
    wire = msgspec.json.decode(b'{"a-b": "s", "c": 3}', type=struct)
    assert [getattr(wire, attrs[k]) for k in ("a-b", "c")] == ["s", 3]
