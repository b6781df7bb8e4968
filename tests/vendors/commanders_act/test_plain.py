"""The commanders-act destination's renderer for plain events (trackway.vendors.commanders_act.plain).

Its one promise: where it answers, it answers the bytes the general path
(``destination.render_checked``: the dialect's writer, then its reader's check) writes,
and the general path finds no error in them. Held on every documented example and its
one-change mutations decoded in every dialect, and on generated canonical events with
values of every type in every field; and it must answer for the plain events a shop's
traffic is made of, or it is no use.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import trackway
from tests.dialects import corpus
from trackway.errors import ParseError
from trackway.model import Commerce, Event, Item
from trackway.vendors.commanders_act import plain
from trackway.vendors.commanders_act import schema as s
from trackway.vendors.commanders_act.destination import render, render_checked

NOW = datetime(2026, 12, 5, 3, 0, 0, 123456, tzinfo=UTC)


def disagreement(event: Event) -> str | None:
    """What is wrong with the plain renderer's answer for ``event``, if anything."""
    fast = plain.render(event)
    if fast is None:
        return None
    body, errors = render_checked(event)
    if errors:
        return f"cleared, but the general path finds {[f'{i.path}: {i.message}' for i in errors]}"
    if body != fast:
        return f"cleared with other bytes:\n  plain   {fast!r}\n  general {body!r}"
    return None


def corpus_events() -> list[Event]:
    """Every event the corpus's payloads decode to (valid or not: a destination may send
    failed events), as the store keeps them: with an id and a timestamp; every other one
    also with an anonymous id (without a user, most Commanders Act server events are
    an error)."""
    out = []
    for dialect, payload in corpus.payloads():
        try:
            decoded = trackway.decode(dialect, payload)
        except ParseError:
            continue
        for event in decoded.events:
            n = len(out)
            changes: dict[str, Any] = {"id": event.id or f"e{n}", "timestamp": event.timestamp or NOW}
            if n % 2 and event.anonymous_id is None:
                changes["anonymous_id"] = f"a{n}"
            out.append(msgspec.structs.replace(event, **changes))
    return out


def test_on_the_corpus_it_answers_only_what_the_general_path_writes_without_error():
    events = corpus_events()
    answered = [e for e in events if plain.render(e) is not None]
    wrong = [(e, why) for e in answered if (why := disagreement(e)) is not None]
    assert wrong[:3] == []
    # Not vacuous: it answers for many events, and many others have errors it left to the general path.
    assert len(answered) >= 10_000
    assert sum(1 for e in events if plain.render(e) is None and render_checked(e)[1]) >= 10_000


TEE = Item(item_id="SKU_1", item_name="Tee", price=Decimal("19.99"), quantity=2)
PLAIN = [  # what a shop's GA4 and dataLayer traffic gives a destination
    Event(
        name="purchase",
        dialect="ga4-mp",
        id="e1",
        timestamp=NOW,
        anonymous_id="555.1",
        user_id="u-42",
        context={"ip": "203.0.113.9", "user_agent": "Mozilla/5.0"},
        commerce=Commerce(
            currency="EUR",
            value=Decimal("44.98"),
            tax=Decimal("4.9"),
            transaction_id="T1",
            payment_method="card",
            items=[
                TEE,
                Item(
                    item_id="SKU_2",
                    item_name="Cap",
                    price=Decimal("5"),
                    quantity=1,
                    categories=["Hats", "Caps"],
                ),
            ],
        ),
        properties={"type": "online", "status": "in_progress"},
    ),
    Event(
        name="page_view",
        dialect="ga4-mp",
        id="e2",
        timestamp=NOW,
        anonymous_id="555.1",
        context={"ip": "203.0.113.9", "screen": "1920x1080"},
        properties={
            "page_type": "product",
            "page_location": "https://shop.example/p/1",
            "x": [1, {"y": None}],
        },
    ),
    Event(
        name="add_to_cart",
        dialect="gtm-ga4",
        id="e3",
        timestamp=NOW,
        anonymous_id="a",
        commerce=Commerce(currency="EUR", value=Decimal("39.98"), items=[TEE]),
    ),
    Event(
        name="refund",
        dialect="gtm-ua",
        id="e4",
        timestamp=NOW,
        user_id="u-1",
        commerce=Commerce(
            currency="USD",
            value=Decimal("50.00"),
            tax=Decimal("5"),
            shipping=Decimal("5"),
            transaction_id="T1",
            type="online",
            items=[
                Item(
                    item_id="SKU_1", item_name="Tee", price=Decimal("20"), quantity=2, discount=Decimal("1.5")
                )
            ],
        ),
    ),
    Event(name="my_custom_event", dialect="gtm-ga4", id="e5", timestamp=NOW, properties={"a": [1]}),
]


def _with(event: Event, **changes: Any) -> Event:
    return msgspec.structs.replace(event, **changes)


def _item(**changes: Any) -> Event:
    return _commerce(items=[msgspec.structs.replace(TEE, **changes)])


def _commerce(**changes: Any) -> Event:
    base = PLAIN[0]
    assert base.commerce is not None
    return _with(base, commerce=msgspec.structs.replace(base.commerce, **changes))


_DEEP: Any = 1
for _ in range(70):
    _DEEP = [_DEEP]
ANSWERED = [
    *PLAIN,
    _item(quantity=0),  # a warning, which the general path drops
    # What encode_json cannot write as it is (it writes U+FFFD and "…"), in a struct and in a property:
    _item(item_name="T\ud800ee", variant="v\udfff"),
    _with(PLAIN[1], properties={"page_type": "product", "x": "\ud800", "deep": _DEEP}),
]


@pytest.mark.parametrize("event", ANSWERED, ids=[e.name for e in ANSWERED])
def test_it_answers_for_plain_events_with_the_general_paths_bytes(event: Event):
    fast = plain.render(event)
    assert fast is not None
    assert render_checked(event) == (fast, [])
    assert render(event) == (fast, [])


NOT_PLAIN = {  # (event, whether the general path finds an error): left to the general path
    "a status outside the enumeration": (
        _with(PLAIN[0], properties={"type": "online", "status": "done"}),
        True,
    ),
    "no status": (_with(PLAIN[0], properties={"type": "online"}), True),
    "a payment method outside the enumeration": (_commerce(payment_method="Visa"), True),
    "a lower-case currency": (_commerce(currency="eur"), True),
    "an item without quantity": (_item(quantity=None), True),
    "a quantity beyond 64 bits": (_item(quantity=2**64), True),
    "a price with 10 decimals": (_item(price=Decimal("1.0000000001")), False),
    "a price of 10^19": (_item(price=Decimal("1e19")), True),
    "a product without a name": (_item(item_name=None), True),
    "six categories": (_item(categories=["a", "b", "c", "d", "e", "f"]), False),
    "a numeric variant": (_item(variant=5), True),
    "item extras": (_item(extras={"product": {"colors": "red"}}), True),
    "no user on a page view": (_with(PLAIN[1], anonymous_id=None), True),
    "a page context": (_with(PLAIN[1], context={"page": {"url": "https://shop.example/"}}), False),
    "a numeric user agent": (_with(PLAIN[1], context={"user_agent": 5}), True),
    "a naive timestamp": (_with(PLAIN[1], timestamp=datetime(2026, 12, 5, 3, 0)), False),
    "no timestamp": (_with(PLAIN[1], timestamp=None), True),
    "user traits": (_with(PLAIN[1], user={"email": "jane@example.org"}), False),
    "consent categories": (_with(PLAIN[1], consent={"categories": ["1", "3"]}), False),
    "wire extras": (_with(PLAIN[1], extras={"$form": "server"}), False),
    "a numeric page type": (_with(PLAIN[1], properties={"page_type": 5}), True),
    "a value with no currency": (_with(PLAIN[4], properties={"value": Decimal("5")}), True),
    "a property named items": (_with(PLAIN[4], properties={"items": []}), False),
}


@pytest.mark.parametrize(("event", "has_error"), NOT_PLAIN.values(), ids=NOT_PLAIN.keys())
def test_it_leaves_the_rest_to_the_general_path(event: Event, has_error: bool):
    assert plain.render(event) is None
    assert bool(render_checked(event)[1]) is has_error


# Values by the canonical field's type (events read from the log are typed: msgspec
# checks each field's type as it decodes them); free ones (properties, context) any.
_STR = [None, "", "x", " x ", "EUR", "eur", "card", "Visa", "online", "in_progress", "product", "T" * 300]
_INT = [None, 0, -1, 2, 2**63, -(2**63) - 1]
_DECIMALS = [
    None,
    *(Decimal(x) for x in ("0", "-3", "1.5", "1e19", "1.0000000001", "NaN", "1e-30", "99.999")),
]
_ANY = [*_STR, *_INT, True, [], {}, ["a"], {"a": 1}, Decimal("1.5"), Decimal("1e19")]
CHANGES: dict[str, dict[str, list[Any]]] = {  # where -> field -> the values it may be given
    "event": {
        "name": [*s.EVENTS, "view_promotion", "my_event", ""],
        "dialect": ["ga4-mp", "gtm-ua", "commanders-act", "convead"],
        "id": ["e9", ""],
        "timestamp": [None, datetime(2026, 12, 5, 3, 0), datetime(1969, 7, 20, 20, 17, tzinfo=UTC)],
        "anonymous_id": _STR,
        "user_id": _STR,
        "user": [None, {}, {"email": "jane@example.org"}],
        "consent": [None, {"categories": ["1"]}, {"ad_storage": "GRANTED"}],
        "extras": [{}, {"$form": "server"}, {"user": {"x": 1}}],
        "context": [
            None,
            {},
            {"ip": 5},
            {"page": {"url": "u"}},
            {"locale": "fr", "screen": 1},
            {"cookie": None},
        ],
    },
    "commerce": {
        **dict.fromkeys(("value", "revenue", "tax", "shipping", "discount"), _DECIMALS),
        **dict.fromkeys(("currency", "coupon", "transaction_id", "payment_method", "status", "type"), _STR),
        **dict.fromkeys(("shipping_tier", "affiliation"), _STR),
        "items": [None, []],
    },
    "item": {
        **dict.fromkeys(("price", "discount"), _DECIMALS),
        **dict.fromkeys(("quantity", "index"), _INT),
        **dict.fromkeys(("item_id", "item_name", "product_id", "coupon", "currency", "brand"), _STR),
        **dict.fromkeys(("variant", "affiliation", "list_id", "url"), _STR),
        "categories": [[], ["a"] * 5, ["a"] * 6, ["a", ""]],
        "extras": [{}, {"product": {"colors": ["red"]}}, {"size": "M"}],
    },
    "property": dict.fromkeys([*plain._ROOT, "items", "user", "event_name", "context", "x"], _ANY),
}


@st.composite
def near_plain(draw: st.DrawFn) -> Event:
    """A plain event with up to four of its fields (the event's, its commerce's, its first
    item's, a property) given other values, good or bad."""
    event = draw(st.sampled_from(ANSWERED))
    for _ in range(draw(st.integers(0, 4))):
        where = draw(st.sampled_from(sorted(CHANGES)))
        field = draw(st.sampled_from(sorted(CHANGES[where])))
        value = draw(st.sampled_from(CHANGES[where][field]))
        if where == "event":
            event = _with(event, **{field: value})
        elif where == "property":
            event = _with(event, properties={**event.properties, field: value})
        elif event.commerce is not None and where == "commerce":
            event = _with(event, commerce=msgspec.structs.replace(event.commerce, **{field: value}))
        elif event.commerce is not None and event.commerce.items:
            first = msgspec.structs.replace(event.commerce.items[0], **{field: value})
            items = [first, *event.commerce.items[1:]]
            event = _with(event, commerce=msgspec.structs.replace(event.commerce, items=items))
    return event


@settings(max_examples=1500, deadline=None)
@given(event=near_plain())
def test_on_generated_events_it_answers_only_what_the_general_path_writes_without_error(event: Event):
    assert disagreement(event) is None
