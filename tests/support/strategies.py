"""Hypothesis strategies shared by the dialect tests."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import strategies as st

text = st.text(max_size=8)
ids = st.one_of(st.text(min_size=1, max_size=8), st.integers(0, 10**9))
cents = st.integers(0, 10**8).map(lambda c: Decimal(c).scaleb(-2))
money = st.one_of(cents, cents.map(str))
scalar = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), text, st.lists(text, max_size=2))


def unknown(names):
    """Keys the dialect does not know, with any JSON scalar: they must come back as sent."""
    return st.dictionaries(st.sampled_from(names), scalar, max_size=3)


def _categories(values):
    return {("item_category" if n == 0 else f"item_category{n + 1}"): c for n, c in enumerate(values)}


ga4_items = st.tuples(
    st.one_of(
        st.fixed_dictionaries({"item_id": ids}),
        st.fixed_dictionaries({"item_name": text}),
        st.fixed_dictionaries({"item_id": ids, "item_name": text}),
    ),
    st.fixed_dictionaries(
        {},
        optional={
            "affiliation": text,
            "coupon": text,
            "discount": money,
            "index": st.integers(0, 50),
            "item_brand": text,
            "item_list_id": text,
            "item_list_name": text,
            "item_variant": text,
            "price": money,
            "quantity": st.integers(0, 1000),
        },
    ),
    st.lists(text, max_size=5).map(_categories),
    unknown(["group", "tax", "format", "location_id"]),
).map(lambda t: {**t[3], **t[2], **t[1], **t[0]})
