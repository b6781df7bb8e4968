"""commanders-act: generated payloads round-trip in both forms; nothing raises on garbage."""

from __future__ import annotations

import hashlib
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import trackway
from tests.support.roundtrip import assert_roundtrip
from tests.support.strategies import check_decode, hostile_scalars
from tests.support.strategies import json_values as any_json
from trackway.vendors.commanders_act.schema import EVENTS, PAGE_TYPES, PAYMENT_METHODS, STATUSES

NAME = "commanders-act"
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

word = st.text(alphabet="abcdefghijklmnopqrstuvwxyz -_ÉéЖ", min_size=1, max_size=8)
ident = st.one_of(st.text(alphabet="ABCxyz0123456789_-", min_size=1, max_size=8), st.integers(0, 10**9))
money = st.one_of(
    st.decimals(min_value=0, max_value=10**6, places=2),
    st.integers(0, 1000),
    st.decimals(min_value=0, max_value=1000, places=2).map(str),  # a number as a string: a warning
)
currency = st.sampled_from(["EUR", "USD", "GBP", "CHF"])
unknown_key = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=6).map(lambda k: f"x_{k}")
leaf = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), word, st.lists(word, max_size=2))
unknown = st.dictionaries(unknown_key, leaf, max_size=2)
hex_of = st.binary(max_size=8).map(lambda b: hashlib.md5(b).hexdigest())
sha_of = st.binary(max_size=8).map(lambda b: hashlib.sha256(b).hexdigest())


def merged(*parts: st.SearchStrategy) -> st.SearchStrategy:
    return st.tuples(*parts).map(lambda ds: {k: v for d in ds for k, v in d.items()})


@st.composite
def categories(draw):
    n = draw(st.integers(0, 7))
    return {f"category_{i}": draw(word) for i in range(1, n + 1)}


product = merged(
    st.fixed_dictionaries(
        {"name": word, "price": money},
        optional={
            "id": ident,
            "currency": currency,
            "brand": word,
            "colors": st.lists(word, max_size=2),
            "size": word,
        },
    ),
    categories(),
    unknown,
)
item = merged(
    st.fixed_dictionaries(
        {"id": ident, "quantity": st.integers(0, 20), "product": product},
        optional={
            "variant": word,
            "list_position": st.integers(0, 50),
            "discount": st.decimals(min_value=0, max_value=100, places=2),
            "affiliation": word,
            "coupon": word,
            "price": money,  # an item-level price, as some of the document's examples send
        },
    ),
    unknown,
)
user = merged(
    st.fixed_dictionaries(
        {},
        optional={
            "id": ident,
            "consistent_anonymous_id": ident,
            "email": st.sampled_from(["john.doe@example.com", "a@b.fr"]),
            "phone": st.sampled_from(["+33612345678", "+14155550123"]),
            "firstname": word,
            "lastname": word,
            "gender": st.sampled_from(["m", "f"]),
            "birthdate": st.sampled_from(["1970-01-01", "2000-02-29"]),
            "city": word,
            "zipcode": st.sampled_from(["02108", "75001"]),
            "country": st.sampled_from(["FR", "USA"]),
            "consent_categories": st.lists(st.one_of(st.integers(0, 9), st.sampled_from(["1", "3", "7"]))),
            "email_md5": hex_of,
            "email_sha256": sha_of,
            "firstname_sha256": sha_of,
            "phone_md5": hex_of,
        },
    ),
    unknown,
)
VALUES = {
    "id": ident,
    "type": word,
    "status": st.sampled_from(STATUSES),
    "payment_method": st.sampled_from(PAYMENT_METHODS),
    "revenue": money,
    "value": money,
    "currency": currency,
    "page_type": st.one_of(st.sampled_from(PAGE_TYPES), word),
    "search_term": word,
}
OPTIONAL = {
    "coupon": word,
    "shipping_amount": money,
    "tax_amount": money,
    "shipping_tier": word,
    "page_name": word,
    "method": word,
    "content_type": word,
    "item_list_name": word,
    "url": word,
    "user": user,
    "value": money,
    "revenue": money,
}
NAMES = st.sampled_from([*EVENTS, "video_start", "ad_click", "x_custom"])


@st.composite
def params(draw, name: str, server: bool):
    rule = EVENTS.get(name)
    required = rule.required if rule else ()
    out = {key: draw(VALUES[key]) for key in required}
    out.update(draw(st.fixed_dictionaries({}, optional=OPTIONAL)))
    if rule and (rule.items == "required" or (rule.items == "optional" and draw(st.booleans()))):
        out["items"] = draw(st.lists(item, min_size=1, max_size=3))
    if "value" in out or "revenue" in out:
        out["currency"] = draw(currency)
    if server and (rule is None or rule.user) and "user" not in out:
        out["user"] = draw(user)
    out.update(draw(unknown))
    return out


page = merged(
    st.fixed_dictionaries(
        {},
        optional={
            "title": word,
            "url": word,
            "lang": st.sampled_from(["fr", "en"]),
            "referrer": word,
            "viewport": st.fixed_dictionaries(
                {"width": st.integers(1, 4000), "height": st.integers(1, 4000)}
            ),
        },
    ),
    unknown,
)
device = merged(
    st.fixed_dictionaries(
        {},
        optional={
            "user_agent": word,
            "ip": st.sampled_from(["203.0.113.7", "2001:db8::1"]),
            "lang": word,
            "cookie": word,
            "timezone": st.one_of(word, st.integers(-12, 12)),
        },
    ),
    unknown,
)
context = merged(
    st.fixed_dictionaries(
        {"event_id": ident, "event_timestamp": st.integers(10**11, 4102444800000)},
        optional={"page": page, "device": device},
    ),
    unknown,
)


@st.composite
def call_payload(draw):
    name = draw(NAMES)
    return ["trigger", name, draw(params(name, server=False))]


@st.composite
def server_payload(draw):
    name = draw(NAMES)
    return {"event_name": name, **draw(params(name, server=True)), "context": draw(context)}


@FAST
@given(payload=call_payload())
def test_call_form_round_trips(payload):
    assert_roundtrip(NAME, payload)


@FAST
@given(payload=server_payload())
def test_server_form_round_trips(payload):
    assert_roundtrip(NAME, payload)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(server_payload(), min_size=1, max_size=3))
def test_batch_round_trips_as_one_body(batch):
    assert_roundtrip(NAME, {"batch": batch})


@FAST
@given(payload=call_payload())
def test_the_form_does_not_change_the_canonical_event(payload):
    event = trackway.decode(NAME, payload).events[0]
    again = trackway.decode(NAME, trackway.encode(NAME, event, form="server")).events[0]
    for field in ("name", "commerce", "properties", "user", "user_id", "anonymous_id", "consent"):
        assert getattr(again, field) == getattr(event, field), field


@FAST
@given(payload=call_payload())
def test_items_price_is_list_price_less_discount(payload):
    event = trackway.decode(NAME, payload).events[0]
    raw = payload[2].get("items") or []
    for wire, decoded in zip(raw, (event.commerce and event.commerce.items) or [], strict=True):
        expected = Decimal(str(wire["product"]["price"])) - wire.get("discount", 0)
        assert decoded.price == expected


# -- fuzz --------------------------------------------------------------------------

KEYS = st.sampled_from(
    [
        "event_name",
        "batch",
        "user",
        "context",
        "event_id",
        "event_timestamp",
        "page",
        "device",
        "items",
        "product",
        "price",
        "discount",
        "id",
        "quantity",
        "name",
        "currency",
        "value",
        "revenue",
        "status",
        "payment_method",
        "consent_categories",
        "email",
        "email_md5",
        "phone_sha256",
        "firstname",
        "first_name",
        "category_1",
        "category_6",
        "list_position",
        "x",
    ]
)
scalars = st.one_of(
    hostile_scalars, st.sampled_from(["trigger", "purchase", "EUR", "card", "pending", "", "1", "refund"])
)
json_values = any_json(st.one_of(KEYS, st.text(max_size=4)), scalars, max_leaves=40)
shaped = st.one_of(
    json_values,
    st.tuples(st.just("trigger"), st.one_of(NAMES, scalars), json_values).map(list),
    st.dictionaries(KEYS, json_values, max_size=6).map(lambda d: {"event_name": "purchase", **d}),
    st.lists(json_values, max_size=3).map(lambda b: {"batch": b}),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=shaped)
def test_decode_never_raises_and_valid_events_encode(value):
    if isinstance(value, str):
        value = [value]
    decoded = check_decode(NAME, value)
    for event in decoded.accepted():
        for form in ("call", "server"):
            trackway.encode_with_issues(NAME, event, form=form)


@FAST
@given(payload=st.one_of(call_payload(), server_payload()), garbage=json_values, data=st.data())
def test_a_corrupted_valid_payload_never_raises(payload, garbage, data):
    target = payload[2] if isinstance(payload, list) else payload
    path = []
    while isinstance(target, dict) and target:
        key = data.draw(st.sampled_from(sorted(target)))
        path.append(key)
        if not isinstance(target[key], dict) or data.draw(st.booleans()):
            target[key] = garbage
            break
        target = target[key]
    check_decode(NAME, payload)
