"""ga4-mp's typed fast path gives exactly what the general path gives, or steps aside.

The general path (the screen, ``decode_body`` and MP's rules) is the reference. Bodies
are generated plain (the fast path must take every one of them) and then mutated
(wrong types, unknown keys, nulls, limits, names, timestamps): whenever the fast path
takes a body, its events (every field, extras included, types and digits exact) and its
issues (codes, paths, severities, messages, event indices, order) are the general path's.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import trackway
from tests.support.strategies import hostile_scalars
from trackway import dialects
from trackway.api import parse
from trackway.dialects.base import DecodeContext
from trackway.issues import Issues
from trackway.model import encode_json
from trackway.rules.codes import currency_codes
from trackway.vendors.ga4 import common as ga4
from trackway.vendors.ga4 import mp_rules as r
from trackway.vendors.ga4.mp_wire import PLAIN_PARAMS

MP = dialects.get("ga4-mp")
T0 = 1_700_000_000_000_000  # 2023-11-14T22:13:20Z in microseconds
AT0 = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


def canon(value: Any) -> Any:
    """A form where == is exact: types kept (True is not 1), Decimal digits kept (1.0 is
    not 1), dict keys sorted (the general path orders free parameters as a set does)."""
    if hasattr(value, "__struct_fields__"):
        return (type(value).__name__, [(f, canon(getattr(value, f))) for f in value.__struct_fields__])
    if type(value) is dict:
        return ("dict", sorted((repr(k), canon(v)) for k, v in value.items()))
    if type(value) is list:
        return ("list", [canon(v) for v in value])
    if type(value) is Decimal:
        return ("Decimal", str(value))
    return (type(value).__name__, value)


def both(data: bytes, ctx: DecodeContext) -> tuple[Any, Any]:
    """(fast path's events and issues or None, the general path's events and issues)."""
    fast_issues = Issues()
    fast = MP.decode_plain(data, ctx, fast_issues)
    issues = Issues()
    events = MP.decode(parse(data), ctx, issues)  # screened, as every general decode
    return (None if fast is None else (fast, fast_issues.items)), (events, issues.items)


def assert_same(data: bytes, ctx: DecodeContext) -> bool:
    """Whether the fast path took ``data``; when it did, its result is the general path's."""
    fast, general = both(data, ctx)
    if fast is not None:
        assert canon(fast[0]) == canon(general[0])
        assert fast[1] == general[1]
        assert fast[0] == general[0]
    return fast is not None


# -- plain bodies -------------------------------------------------------------------------

_WORD = r"[A-Za-z][A-Za-z0-9_]{0,%d}"


def _allowed(check: Any) -> Any:
    def ok(name: str) -> bool:
        scratch = Issues()
        check(name, scratch)
        return not scratch.items

    return ok


event_names = st.one_of(
    st.sampled_from(sorted(ga4.EVENTS)),
    st.from_regex(_WORD % 39, fullmatch=True).filter(
        _allowed(lambda n, i: r.check_event_name(n, "$", "web", i))
    ),
)
user_property_names = st.from_regex(_WORD % 23, fullmatch=True).filter(
    _allowed(lambda n, i: r.check_user_property(n, None, "$", i))
)
short = st.text(max_size=12)
up_to_100 = st.one_of(short, st.text(min_size=95, max_size=100))
amounts = st.one_of(
    st.integers(-(10**6), 10**9),
    st.decimals(min_value=-(10**6), max_value=10**9, places=2, allow_nan=False),
    st.decimals(min_value=0, max_value=100, places=4, allow_nan=False),  # precision warnings (JPY, EUR)
)
currencies = st.sampled_from(["EUR", "USD", "JPY", "KWD", "CHF"])
micros = st.one_of(
    st.integers(T0 - 100 * 3_600_000_000, T0 + 3_600_000_000),  # old, recent, ahead of the clock
    st.integers(0, 10**14),  # looks like seconds or milliseconds: a warning
    st.integers(-(10**15), 253_402_300_799_999_999),  # any time a datetime holds
)
ITEM_STRINGS = ("affiliation", "coupon", "item_brand", "item_list_id", "item_list_name", "item_variant")


@st.composite
def items(draw: Any) -> dict[str, Any]:
    item: dict[str, Any] = {}
    which = draw(st.sampled_from(["id", "name", "both"]))
    if which != "name":
        item["item_id"] = draw(st.one_of(up_to_100, st.integers(0, 10**12)))
    if which != "id":
        item["item_name"] = draw(up_to_100)
    for key in draw(st.lists(st.sampled_from(ITEM_STRINGS), max_size=3, unique=True)):
        item[key] = draw(up_to_100)
    for key in draw(st.lists(st.sampled_from(["price", "discount"]), max_size=2, unique=True)):
        item[key] = draw(amounts)
    for key in draw(st.lists(st.sampled_from(["quantity", "index"]), max_size=2, unique=True)):
        item[key] = draw(st.integers(1 if key == "quantity" else -5, 10**6))  # quantity 0: a warning
    for n, level in enumerate(draw(st.lists(short, max_size=5))):  # from the first, no gap
        item["item_category" if n == 0 else f"item_category{n + 1}"] = level
    if draw(st.booleans()):
        item["currency"] = draw(currencies)
    return item


scalars = st.one_of(up_to_100, st.integers(-(2**63), 2**63 - 1), st.booleans())  # beyond: the general path
PLAIN_VALUES = {
    "session_id": st.one_of(st.text(max_size=150), st.integers(0, 10**12), st.booleans()),
    "session_number": st.integers(1, 99),
    "engagement_time_msec": st.one_of(st.integers(0, 10**6), st.sampled_from(["100", "1"])),
    "debug_mode": st.one_of(st.booleans(), st.just(1), st.just("true")),
    "timestamp_micros": micros,
}


@st.composite
def params(draw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if draw(st.booleans()):
        out["currency"] = draw(currencies)
    for key in draw(st.lists(st.sampled_from(["value", "tax", "shipping"]), max_size=3, unique=True)):
        out[key] = draw(amounts)
    for key in draw(st.lists(st.sampled_from(["coupon", "payment_type", "shipping_tier", "affiliation"]))):
        out[key] = draw(short)
    if draw(st.booleans()):
        out["transaction_id"] = draw(st.one_of(short, st.integers(0, 10**9)))
    if draw(st.integers(0, 3)):
        out["items"] = draw(st.lists(items(), max_size=4))
    for key in draw(st.lists(st.sampled_from(sorted(PLAIN_PARAMS)), max_size=6, unique=True)):
        out[key] = draw(PLAIN_VALUES.get(key, scalars))
    return out


@st.composite
def events(draw: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"name": draw(event_names)}
    if draw(st.integers(0, 5)):
        event["params"] = draw(params())
    if draw(st.integers(0, 3)) == 0:
        event["timestamp_micros"] = draw(micros)
    return event


user_properties = st.dictionaries(
    user_property_names,
    st.fixed_dictionaries(
        {"value": st.one_of(st.text(max_size=36), st.integers(-5, 10**6), st.booleans())},
        optional={"timestamp_micros": micros},
    ),
    max_size=4,
)
consents = st.fixed_dictionaries(
    {},
    optional={k: st.sampled_from(["GRANTED", "DENIED"]) for k in ("ad_user_data", "ad_personalization")},
)


@st.composite
def bodies(draw: Any) -> dict[str, Any]:
    id_key = draw(st.sampled_from(["client_id", "app_instance_id"]))
    body: dict[str, Any] = {id_key: draw(st.text(min_size=1, max_size=12))}
    optional = {
        "user_id": short,
        "timestamp_micros": micros,
        "user_properties": user_properties,
        "consent": consents,
        "non_personalized_ads": st.booleans(),
        "ip_override": short,
        "user_agent": short,
        "validation_behavior": st.sampled_from(["RELAXED", "ENFORCE_RECOMMENDATIONS"]),
    }
    for key in draw(st.lists(st.sampled_from(sorted(optional)), unique=True)):
        body[key] = draw(optional[key])
    many = draw(st.integers(0, 9)) == 0
    body["events"] = draw(st.lists(events(), min_size=1, max_size=25 if many else 3))
    return body


contexts = st.sampled_from(
    [
        DecodeContext(),
        DecodeContext(received_at=AT0),
        DecodeContext(received_at=AT0 + timedelta(hours=50)),
        DecodeContext(received_at=AT0 - timedelta(hours=2)),
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies(), contexts)
def test_the_fast_path_takes_every_plain_body_and_gives_the_general_paths_result(body, ctx):
    assert assert_same(encode_json(body), ctx), "a plain body went to the general path"


KNOWN = {f.wire for f in ga4.COMMERCE.fields} | set(PLAIN_PARAMS)
custom_names = st.from_regex(_WORD % 39, fullmatch=True).filter(
    lambda n: (
        n not in KNOWN
        and _allowed(
            lambda name, i: r.check_name(
                name, "$", "parameter", r.MAX_NAME, i, r.RESERVED_PARAMS, r.RESERVED_PARAM_PREFIXES
            )
        )(n)
    )
)


@st.composite
def with_custom(draw: Any) -> dict[str, Any]:
    """A plain body whose events' params have custom parameters besides."""
    body = draw(bodies())
    for event in body["events"]:
        if "params" in event:
            event["params"].update(draw(st.dictionaries(custom_names, scalars, min_size=1, max_size=4)))
    return body


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(with_custom(), contexts)
def test_custom_parameters_are_taken_and_give_the_general_paths_result(body, ctx):
    taken = assert_same(encode_json(body), ctx)
    enforced = body.get("validation_behavior") == "ENFORCE_RECOMMENDATIONS"
    crowded = any(len(e.get("params", {})) > r.MAX_PARAMS for e in body["events"])
    assert taken or enforced or crowded, "a body with plain custom parameters went to the general path"


# -- near-plain bodies --------------------------------------------------------------------

WRONG = st.one_of(
    hostile_scalars,
    st.sampled_from([None, "", "1.5", "100", [], {}, True, Decimal("1.5"), 10**20, Decimal("0E-500")]),
    st.sampled_from(["x" * 101, "y" * 37, "a" * 41, "session_start", "_x", "firebase_conversion"]),
)
NEW_KEYS = st.sampled_from(
    [
        "custom_dimension",
        "firebase_conversion",
        "_reserved",
        "ga_session",
        "bad-name",
        "a" * 41,
        "user_data",
        "device",
        "user_location",
        "item_category3",
        "location_id",
        "items",
        "value",
        "timestamp_micros",
    ]
)


def _containers(value: Any, out: list[Any]) -> list[Any]:
    if type(value) is dict:
        out.append(value)
        for v in value.values():
            _containers(v, out)
    elif type(value) is list:
        out.append(value)
        for v in value:
            _containers(v, out)
    return out


@st.composite
def mutated(draw: Any) -> dict[str, Any]:
    """A plain body with one to three changes at random places."""
    body = draw(bodies())
    for _ in range(draw(st.integers(1, 3))):
        places = _containers(body, [])
        place = draw(st.sampled_from(places))
        keys = list(place) if type(place) is dict else list(range(len(place)))
        how = draw(st.sampled_from(["replace", "add", "delete", "grow"]))
        if how == "grow" and type(place) is list:
            place.extend(place[-1:] * draw(st.sampled_from([1, 25, 200])))
        elif how == "add" and type(place) is dict:
            place[draw(NEW_KEYS)] = draw(WRONG)
        elif how == "delete" and keys:
            del place[draw(st.sampled_from(keys))]
        elif keys:
            place[draw(st.sampled_from(keys))] = draw(WRONG)
    return body


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(), contexts)
def test_on_near_plain_bodies_the_fast_path_agrees_or_steps_aside(body, ctx):
    assert_same(encode_json(body), ctx)


# -- table-driven cases -------------------------------------------------------------------


def mp(*events: Any, **request: Any) -> bytes:
    return encode_json({"client_id": "123.456", **request, "events": list(events)})


ITEM = {"item_id": "SKU_1", "item_name": "Tee", "price": Decimal("19.99"), "quantity": 1}
PURCHASE = {
    "name": "purchase",
    "params": {"transaction_id": "T_1", "currency": "EUR", "value": Decimal("19.99"), "items": [ITEM]},
}


def purchase(**params: Any) -> dict[str, Any]:
    merged = {**PURCHASE["params"], **params}
    return {"name": "purchase", "params": {k: v for k, v in merged.items() if v is not ...}}


TEXT_PARAMS = [k for k in PLAIN_PARAMS if k != "timestamp_micros"]  # 22 take "x"
TAKEN = {
    "a purchase": mp(PURCHASE),
    "25 purchases": mp(*[PURCHASE] * 25),
    "an app stream": encode_json({"app_instance_id": "abc", "events": [PURCHASE]}),
    "an empty client_id beside an app instance id": encode_json(
        {"client_id": "", "app_instance_id": "abc", "events": [PURCHASE]}
    ),
    "a purchase without transaction_id (VALUE_REQUIRED)": mp(purchase(transaction_id=...)),
    "a purchase without currency (VALUE_REQUIRED, RECOMMENDED_MISSING)": mp(purchase(currency=...)),
    "a purchase with an empty items array": mp(purchase(items=[])),
    "JPY with decimals (AMOUNT_PRECISION)": mp(purchase(currency="JPY")),
    "a search without search_term": mp({"name": "search"}),
    "a search with search_term": mp({"name": "search", "params": {"search_term": "tee"}}),
    "custom parameters": mp(
        {"name": "page_view", "params": {"page_type": "product", "score": 3, "logged_in": True}},
        purchase(type="online", status="in_progress"),
    ),
    "a custom parameter of 100 characters": mp({"name": "page_view", "params": {"custom": "c" * 100}}),
    "a custom parameter name of 40 characters": mp({"name": "page_view", "params": {"n" * 40: "x"}}),
    "the same custom parameter names twice (the second time remembered)": mp(
        {"name": "page_view", "params": {"score": 1, "n" * 40: "x"}},
        {"name": "page_view", "params": {"score": 2, "n" * 40: "y"}},
    ),
    "25 parameters, some custom": mp(
        purchase(**dict.fromkeys(TEXT_PARAMS[:11], "x"), **{f"c{n}": n for n in range(10)})
    ),
    "an event without params": mp({"name": "tutorial_begin"}),
    "empty params": mp({"name": "page_view", "params": {}}),
    "common parameters": mp(
        {
            "name": "page_view",
            "params": {
                "session_id": "s" * 150,  # exempt from the 100 characters
                "engagement_time_msec": "100",
                "debug_mode": True,
                "page_location": "https://example.com/",
            },
        }
    ),
    "times at every level, old and in the future": mp(
        {"name": "a", "timestamp_micros": T0 - 80 * 3_600_000_000},
        {"name": "b", "params": {"timestamp_micros": T0 + 3_600_000_000}},
        {"name": "c"},
        timestamp_micros=T0,
    ),
    "a time in milliseconds": mp({"name": "a", "timestamp_micros": T0 // 1000}),
    "an old time under ENFORCE_RECOMMENDATIONS (an error)": mp(
        {"name": "a", "timestamp_micros": T0 - 80 * 3_600_000_000},
        validation_behavior="ENFORCE_RECOMMENDATIONS",
    ),
    "user properties with a time": mp(
        PURCHASE,
        PURCHASE,
        user_properties={"tier": {"value": "gold", "timestamp_micros": T0}, "visits": {"value": 3}},
    ),
    "empty consent with non_personalized_ads": mp(PURCHASE, consent={}, non_personalized_ads=True),
    "consent, ip and user agent": mp(
        PURCHASE,
        consent={"ad_personalization": "DENIED", "ad_user_data": "GRANTED"},
        ip_override="1.2.3.4",
        user_agent="Mozilla/5.0",
        user_id="u-42",
    ),
}


@pytest.mark.parametrize("data", TAKEN.values(), ids=TAKEN.keys())
@pytest.mark.parametrize("ctx", [DecodeContext(), DecodeContext(received_at=AT0)], ids=["now", "at T0"])
def test_plain_bodies_are_taken_and_agree(data, ctx):
    assert assert_same(data, ctx)


LONG_ITEM = {**ITEM, "item_brand": "b" * 101}
NOT_PLAIN = {
    "an unknown body key": mp(PURCHASE, user_data={"sha256_email_address": ["x"]}),
    "an unknown event key": mp({**PURCHASE, "x": 1}),
    "a custom parameter with a reserved prefix": mp({"name": "page_view", "params": {"ga_dimension": "x"}}),
    "a custom parameter name GA4 does not allow": mp({"name": "page_view", "params": {"bad-name": "x"}}),
    "the same name GA4 does not allow again (the verdict remembered)": mp(
        {"name": "page_view", "params": {"bad-name": "y"}}
    ),
    "a custom parameter name of 41 characters": mp({"name": "page_view", "params": {"n" * 41: "x"}}),
    "a custom parameter name of 99,999 characters": mp({"name": "page_view", "params": {"n" * 99_999: "x"}}),
    "a custom parameter of 101 characters": mp({"name": "page_view", "params": {"custom": "c" * 101}}),
    "a decimal custom parameter": mp({"name": "page_view", "params": {"score": Decimal("1.5")}}),
    "a null custom parameter": mp({"name": "page_view", "params": {"score": None}}),
    "an object custom parameter": mp({"name": "page_view", "params": {"score": {"a": 1}}}),
    "26 parameters, some custom": mp(
        purchase(**dict.fromkeys(TEXT_PARAMS[:12], "x"), **{f"c{n}": n for n in range(10)})
    ),
    "a custom parameter nested 100,000 deep": b'{"client_id": "1", "events": [{"name": "a", "params": {"c": '
    + b"[" * 100_000
    + b"]" * 100_000
    + b"}}]}",
    "a custom parameter of 1e999": b'{"client_id": "1", "events": [{"name": "a", "params": {"c": 1e999}}]}',
    "a custom parameter with a lone surrogate": (
        b'{"client_id": "1", "events": [{"name": "a", "params": {"c": "\\ud800"}}]}'
    ),
    "custom parameters under ENFORCE_RECOMMENDATIONS": mp(
        {"name": "page_view", "params": {"custom": "x"}}, validation_behavior="ENFORCE_RECOMMENDATIONS"
    ),
    "a custom item parameter": mp(purchase(items=[{**ITEM, "location_id": "L"}])),
    "a null parameter": mp(purchase(coupon=None)),
    "an amount as a string": mp(purchase(value="19.99")),
    "an amount too small to read": mp(purchase(value=Decimal("0E-500"))),
    "an amount from 10^19": mp(purchase(value=10**19)),
    "an amount with 10 decimals": mp(purchase(value=Decimal("1.0000000001"))),
    "no events": mp(),
    "26 events": mp(*[PURCHASE] * 26),
    "201 items": mp(purchase(items=[ITEM] * 201)),
    "both ids": encode_json({"client_id": "a", "app_instance_id": "b", "events": [PURCHASE]}),
    "no id": encode_json({"events": [PURCHASE]}),
    "an empty client_id": encode_json({"client_id": "", "events": [PURCHASE]}),
    "a parameter value of 101 characters": mp(purchase(coupon="c" * 101)),
    "an item value of 101 characters": mp(purchase(items=[LONG_ITEM])),
    "an item_id of 101 characters": mp(purchase(items=[{**ITEM, "item_id": "i" * 101}])),
    "a transaction_id of 101 characters": mp(purchase(transaction_id="t" * 101)),
    "a reserved event name": mp({"name": "session_start"}),
    "an app event on a web stream": mp({"name": "screen_view"}),
    "an event name of 41 characters": mp({"name": "e" * 41}),
    "an empty event name": mp({"name": ""}),
    "a reserved user property": mp(PURCHASE, user_properties={"first_open_time": {"value": 1}}),
    "a user property value of 37 characters": mp(PURCHASE, user_properties={"p": {"value": "v" * 37}}),
    "26 user properties": mp(PURCHASE, user_properties={f"p{n}": {"value": n} for n in range(26)}),
    "26 parameters": mp(purchase(**dict.fromkeys(TEXT_PARAMS[:22], "x"))),
    "a time as a string": mp({"name": "a", "timestamp_micros": str(T0)}),
    "a time as a decimal": mp({"name": "a", "timestamp_micros": Decimal(T0) + Decimal("0.5")}),
    "a time beyond 64 bits": mp({"name": "a", "timestamp_micros": 2**64}),
    "a time beyond year 9999": mp({"name": "a", "timestamp_micros": 2**62}),
    "a categories gap": mp(purchase(items=[{**ITEM, "item_category2": "x"}])),
    "an unknown consent key": mp(PURCHASE, consent={"analytics_storage": "GRANTED"}),
    "a consent state in lower case": mp(PURCHASE, consent={"ad_user_data": "granted"}),
    "a transaction_id of 102 digits": mp(purchase(transaction_id=10**101)),
    "a free parameter of 102 digits": mp({"name": "page_view", "params": {"content_id": 10**101}}),
    "a session_id beyond 64 bits": mp({"name": "page_view", "params": {"session_id": 2**63}}),
    "a float free parameter": mp({"name": "page_view", "params": {"engagement_time_msec": Decimal("1.5")}}),
    "JavaScript": b"{client_id: '1', events: [{name: 'x'}]}",
    "a lone surrogate": b'{"client_id": "\\ud800", "events": [{"name": "x"}]}',
    "a lone surrogate in text": '{"client_id": "\ud800", "events": [{"name": "x"}]}',
}


@pytest.mark.parametrize("data", NOT_PLAIN.values(), ids=NOT_PLAIN.keys())
def test_bodies_that_are_not_plain_go_to_the_general_path(data):
    issues = Issues()
    assert MP.decode_plain(data, DecodeContext(received_at=AT0), issues) is None
    assert issues.items == []
    assert issues.event == -1


def test_text_is_read_as_bytes_are():
    data = TAKEN["user properties with a time"]
    from_text, from_bytes = both(data.decode(), DecodeContext())[0], both(data, DecodeContext())[0]
    assert from_text is not None
    assert canon(from_text) == canon(from_bytes)


def test_the_api_gives_the_same_from_bytes_and_from_values():
    """Through ``trackway.decode`` (property and all): bytes take the fast path."""
    data = TAKEN["user properties with a time"]
    kw = {"received_at": AT0, "property": "shop"}
    fast, general = trackway.decode("ga4-mp", data, **kw), trackway.decode("ga4-mp", json.loads(data), **kw)
    assert canon(fast.events) == canon(general.events)
    assert fast.issues == general.issues


def test_every_currency_the_rules_accept_is_plain():
    """The fast path's currency set is the rule's: no currency makes it fall back for nothing."""
    taken = [c for c in sorted(currency_codes()) if assert_same(mp(purchase(currency=c)), DecodeContext())]
    assert taken == sorted(currency_codes())
