"""Hypothesis strategies shared by the dialect tests, defined once.

Two families:

- realistic building blocks (``text``, ``ids``, ``money``, ``scalar``, ``unknown``,
  ``ga4_items``): values a dialect reads, for round trips;
- hostile ones (``hostile_scalars``, ``hostile_json``, ``deep``, ``corrupted``): any
  JSON value, including what no browser sends: non-finite and huge decimals, huge
  integers, lone surrogates (in keys too), nesting far beyond any payload. Decoding
  them must never raise; :func:`check_decode` says what must hold.

``json_values(keys, leaves)`` builds a dialect's own "any JSON with my keys" strategy
from these, so each dialect's fuzz test differs only in its vocabulary.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import Any

from hypothesis import strategies as st

import trackway
from trackway import dialects
from trackway.dialects.base import DecodeContext
from trackway.issues import Issues

# -- realistic building blocks --------------------------------------------------------

text = st.text(max_size=8)
ids = st.one_of(st.text(min_size=1, max_size=8), st.integers(0, 10**9))
cents = st.integers(0, 10**8).map(lambda c: Decimal(c).scaleb(-2))
money = st.one_of(cents, cents.map(str))
scalar = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), text, st.lists(text, max_size=2))
#: One level of a UA category path ("a/b/c"): no "/", and no lone surrogate (a realistic
#: string: st.characters() alone draws them, and the screen replaces them).
category_level = st.text(
    alphabet=st.characters(exclude_characters="/", exclude_categories=("Cs",)), max_size=5
)
#: Any JSON scalar a browser can send (JSON.stringify writes doubles: at most 17 digits,
#: a magnitude within 1e308), integers within 64 bits.
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.text(max_size=8),
    st.decimals(min_value=-(10**15), max_value=10**15, allow_nan=False, allow_infinity=False, places=4),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda f: Decimal(repr(f))),
)


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

# -- hostile values -------------------------------------------------------------------

#: Numbers beyond what any field holds or Trackway reads, and the edges of the bounds.
EXTREME_NUMBERS = (
    Decimal("NaN"),
    Decimal("-NaN"),
    Decimal("sNaN"),
    Decimal("Infinity"),
    Decimal("-Infinity"),
    Decimal("1e999"),
    Decimal("1e1000000"),
    Decimal("-1e-1000000"),
    Decimal("0E+1000000"),
    Decimal("1E+999999999"),
    Decimal("1e40"),
    Decimal("1e-10"),
    Decimal("9999999999999999999.999999999"),
    Decimal("10000000000000000000"),
    Decimal("0.3333333333333333333333333333333333333"),
    Decimal(10**101),
    float("nan"),
    float("inf"),
    float("-inf"),
    2**63 - 1,
    2**63,
    -(2**63) - 1,
    2**70,
    10**28,
    10**29,
    10**101,
)
#: Built when drawn: hypothesis shows strategies with repr(), which raises on an int of
#: more than 4,300 digits.
huge_integers = st.sampled_from([5000, -5000, 4301]).map(lambda n: (10 ** abs(n) - 1) * (1 if n > 0 else -1))
#: Strings a numeric or text field may get: numbers too large as text, lone surrogates.
EXTREME_STRINGS = (
    "\udc00",
    "\ud800",
    "a\udfffb",
    "\ud83d",  # the first half of an emoji
    "1e9999",
    "1e1000000",
    "-1e-1000000",
    "9" * 5000,
    "NaN",
    "Infinity",
    "1e-10",
    "18446744073709551616",
)

hostile_numbers = st.one_of(
    st.sampled_from(EXTREME_NUMBERS),
    huge_integers,
    st.decimals(),  # NaN and infinities included, any exponent
    st.integers(),
    st.integers(-(10**120), 10**120),
    st.floats(),
)
hostile_strings = st.one_of(
    st.sampled_from(EXTREME_STRINGS),
    st.text(max_size=8),
    st.text(alphabet=st.characters(codec=None, categories=["Cs", "Ll", "So"]), max_size=4),
)
hostile_scalars = st.one_of(json_scalars, hostile_numbers, hostile_strings)


def nest(value: Any, depth: int, key: str = "ecommerce") -> Any:
    """``value`` inside ``depth`` levels of alternating arrays and objects (no recursion)."""
    for n in range(depth):
        value = [value] if n % 2 else {key: value}
    return value


#: Nesting from just within the limit to far beyond it (RecursionError territory).
deep = st.tuples(
    st.one_of(st.integers(60, 70), st.sampled_from([200, 1_000, 5_000])),
    st.sampled_from(["ecommerce", "items", "events", "params", "data", "x"]),
    hostile_scalars,
).map(lambda t: nest(t[2], t[0], t[1]))


@cache
def wire_keys() -> tuple[str, ...]:
    """Every wire key of every registered dialect's field tables, and the envelope keys."""
    keys = {f.wire for a in dialects.adapters() for table in a.tables() for f in table.fields}
    keys |= {"event", "ecommerce", "events", "params", "items", "event_name", "batch", "context", "data"}
    keys |= {"type", "purchase", "actionField", "products", "user", "user_properties", "consent", "value"}
    return tuple(sorted(keys))


def json_values(keys: Any = None, leaves: Any = hostile_scalars, max_leaves: int = 30) -> Any:
    """Any JSON value whose object keys are often ``keys`` (a strategy; default: every
    dialect's wire keys) and whose leaves are ``leaves`` (default: hostile ones)."""
    key = st.one_of(keys if keys is not None else st.sampled_from(wire_keys()), hostile_strings)
    return st.recursive(
        leaves,
        lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(key, inner, max_size=5)),
        max_leaves=max_leaves,
    )


hostile_json = st.one_of(json_values(), deep, json_values().map(lambda v: {"ecommerce": v}))


@cache
def seeds(name: str) -> tuple[Any, ...]:
    """Valid payloads of dialect ``name``: every vendor example decoded and rendered in it."""
    from tests.support.specs import all_examples

    out = []
    for example in all_examples():
        if example.dialect not in dialects.names():  # a document's own variant ("custom")
            continue
        decoded = trackway.decode(example.dialect, example.value)
        for event in decoded.accepted():
            payload, _ = trackway.encode_with_issues(name, event)
            out.append(payload)
    return tuple(out)


@st.composite
def corrupted(draw: Any, name: str) -> Any:
    """A valid payload of ``name`` with one value (or key) somewhere replaced by a hostile one."""
    import copy

    payload = copy.deepcopy(draw(st.sampled_from(seeds(name))))
    garbage = draw(st.one_of(hostile_scalars, hostile_json))
    target = payload
    while True:
        if type(target) is dict and target:
            key = draw(st.sampled_from(sorted(target)))
        elif type(target) is list and target:
            key = draw(st.integers(0, len(target) - 1))
        else:
            return payload
        inner = target[key]
        if type(inner) not in (dict, list) or not inner or draw(st.integers(0, 3)) == 0:
            if type(target) is dict and draw(st.integers(0, 5)) == 0:
                target[draw(hostile_strings)] = garbage  # a hostile key
            else:
                target[key] = garbage
            return payload
        target = inner


def check_decode(name: str, payload: Any, *, default_currency: str | None = None) -> trackway.Decoded:
    """What must hold for any payload: ``decode`` (the API and the adapter) does not
    raise, every issue has a path, a known code and a message that any UTF-8 output
    takes, and every event renders as JSON and (when valid) in its dialect."""
    if type(payload) is str:  # text: JSON or JavaScript, ParseError when unreadable (documented)
        try:
            decoded = trackway.decode(name, payload, default_currency=default_currency)
        except trackway.ParseError:
            payload = [payload]
    decoded = trackway.decode(name, payload, default_currency=default_currency)
    issues = Issues()
    events = dialects.get(name).decode(payload, DecodeContext(default_currency=default_currency), issues)
    assert len(events) == len(decoded.events)
    for issue in [*decoded.issues, *issues.items]:
        assert issue.path.startswith("$") or issue.path
        assert issue.code in trackway.CODES, issue.code
        assert issue.message
        (issue.path + issue.message).encode("utf-8")  # no lone surrogate: stores and answers take it
    for n, event in enumerate(decoded.events):
        trackway.to_json(event).decode("utf-8")
        if not any(i.is_error for i in decoded.event_issues(n)):
            trackway.encode_with_issues(name, event)
    return decoded
