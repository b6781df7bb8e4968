"""The fast check of a server body (trackway.vendors.commanders_act.fast_check).

Its one promise: it clears a body only where the general path (``decode_server``)
reports no error. Held on the corpus (every document example rendered in every
dialect, every documented event, and one-change mutations of each) and on generated
bodies; and it must clear the plain bodies the destination renders, or it is no use.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.dialects import corpus
from trackway.destinations.base import ErrorsOnly
from trackway.model import Commerce, Event, Item
from trackway.vendors.commanders_act import schema as s
from trackway.vendors.commanders_act.adapter import decode_server
from trackway.vendors.commanders_act.destination import render
from trackway.vendors.commanders_act.fast_check import no_error
from trackway.vendors.commanders_act.write import write_event


def general_errors(body: Any) -> list[str]:
    found = ErrorsOnly()
    decode_server(body, "$", found)
    return [f"{i.path}: {i.message}" for i in found.items]


def server_bodies() -> list[dict[str, Any]]:
    """The corpus's Commanders Act server bodies, batches opened; each also as a stored
    event renders it (context and user added where the body has none: the corpus's
    events have neither an id nor a person, which alone is an error in the server form)."""
    out = []
    for dialect, payload in corpus.payloads():
        if dialect != s.DIALECT or type(payload) is not dict:
            continue
        batch = payload.get("batch")
        for b in batch if type(batch) is list else [payload]:
            if type(b) is dict:
                out += [b, {"context": STORED_CONTEXT, "user": {"consistent_anonymous_id": "a1"}} | b]
    return out


STORED_CONTEXT = {"event_id": "e1", "event_timestamp": 1796504971469}


def test_it_clears_a_corpus_body_only_where_the_general_path_finds_no_error():
    bodies = server_bodies()
    cleared = [b for b in bodies if no_error(b)]
    wrong = [(b, general_errors(b)) for b in cleared if general_errors(b)]
    assert wrong == []
    # Not vacuous: it clears some bodies, and the corpus has bodies with errors it does not clear.
    assert len(cleared) >= 1000
    assert sum(1 for b in bodies if general_errors(b)) >= 10000


NOW = datetime(2026, 12, 5, 3, 0, 0, 123000, tzinfo=UTC)
TEE = Item(item_id="SKU_1", item_name="Tee", price=Decimal("19.99"), quantity=2)
PLAIN = [  # (event, cleared): what a destination renders, from GA4 traffic
    (
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
                value=Decimal("39.98"),
                tax=Decimal("4.9"),
                transaction_id="T1",
                payment_method="card",
                items=[TEE, Item(item_id="SKU_2", item_name="Cap", price=Decimal("5"), quantity=1)],
            ),
            properties={"type": "online", "status": "in_progress"},
        ),
        True,
    ),
    (
        Event(
            name="page_view",
            dialect="ga4-mp",
            id="e2",
            timestamp=NOW,
            anonymous_id="555.1",
            properties={"page_type": "product", "page_location": "https://shop.example/p/1", "x": 1},
        ),
        True,
    ),
    (
        Event(
            name="add_to_cart",
            dialect="gtm-ga4",
            id="e3",
            timestamp=NOW,
            anonymous_id="a",
            commerce=Commerce(currency="EUR", value=Decimal("39.98"), items=[TEE]),
        ),
        True,
    ),
    (Event(name="my_custom_event", dialect="gtm-ga4", id="e4", timestamp=NOW, properties={"a": [1]}), True),
    # Not cleared (the general path finds the error): no status; a payment method outside
    # the enumeration; no user on a page view; a unit price the discount makes inexact.
    (
        Event(
            name="purchase",
            dialect="ga4-mp",
            id="e5",
            timestamp=NOW,
            anonymous_id="a",
            commerce=Commerce(
                currency="EUR", value=Decimal("1"), transaction_id="T", payment_method="card", items=[TEE]
            ),
            properties={"type": "online"},
        ),
        False,
    ),
    (
        Event(
            name="add_payment_info",
            dialect="ga4-mp",
            id="e6",
            timestamp=NOW,
            anonymous_id="a",
            commerce=Commerce(payment_method="Visa"),
        ),
        False,
    ),
    (
        Event(name="page_view", dialect="ga4-mp", id="e7", timestamp=NOW, properties={"page_type": "home"}),
        False,
    ),
]


@pytest.mark.parametrize(("event", "cleared"), PLAIN, ids=[f"{e.name}-{c}" for e, c in PLAIN])
def test_it_clears_the_plain_bodies_a_destination_renders_and_no_others(event: Event, cleared: bool):
    body = write_event(event, "server", ErrorsOnly())
    assert no_error(body) is cleared
    assert (general_errors(body) == []) is cleared
    rendered, errors = render(event)
    assert (errors == []) is cleared and rendered.startswith(b'{"event_name":')


scalar = st.one_of(
    st.none(),
    st.sampled_from(["", "x", "EUR", "eur", "card", "Card", "in_progress", "online", "product", "1"]),
    st.integers(-(2**70), 2**70),
    st.decimals(allow_nan=True, places=None),
    st.booleans(),
    st.floats(),
)
value = st.one_of(
    scalar, st.lists(scalar, max_size=2), st.dictionaries(st.sampled_from(["a", "id"]), scalar, max_size=2)
)
product = st.dictionaries(
    st.sampled_from(
        ["id", "name", "price", "currency", "brand", "category_1", "category_2", "category_6", "colors"]
    ),
    value,
    max_size=5,
)
item = st.dictionaries(
    st.sampled_from(
        ["id", "quantity", "product", "variant", "list_position", "discount", "affiliation", "x"]
    ),
    st.one_of(value, product),
    max_size=6,
)
user = st.dictionaries(
    st.sampled_from(
        ["id", "consistent_anonymous_id", "consent_categories", "email", "phone", "zipcode", "email_sha256"]
    ),
    value,
    max_size=4,
)
context = st.dictionaries(
    st.sampled_from(["event_id", "event_timestamp", "page", "device", "x"]),
    st.one_of(
        value,
        st.integers(-(10**16), 10**16),
        st.dictionaries(st.sampled_from(["url", "ip", "lang", "viewport"]), value),
    ),
    max_size=4,
)
body = st.fixed_dictionaries(
    {"event_name": st.one_of(st.sampled_from([*s.EVENTS, "custom_event", ""]), scalar)},
    optional={
        **{f.wire: value for f in (*s.COMMERCE.fields, *s.PARAMS.fields) if f.wire != "items"},
        "items": st.one_of(value, st.lists(item, max_size=3)),
        "user": st.one_of(value, user),
        "context": st.one_of(value, context),
        "free": value,
    },
)


@settings(max_examples=1500, deadline=None)
@given(body)
def test_it_clears_a_generated_body_only_where_the_general_path_finds_no_error(b: dict[str, Any]):
    if no_error(b):
        assert general_errors(b) == []


CLEAN = {
    "event_name": "page_view",
    "page_type": "home",
    "user": {"consistent_anonymous_id": "a1", "consent_categories": ["1", "3"]},
    "context": {"event_id": "e1", "event_timestamp": 1796504971469, "device": {"ip": "203.0.113.9"}},
}
BODIES = [  # (case, body, cleared)
    ("a clean page view", CLEAN, True),
    (
        "consent categories as numbers (read as strings)",
        CLEAN | {"user": {"consent_categories": [1, 3]}},
        False,
    ),
    ("a consent category that is no id", CLEAN | {"user": {"consent_categories": [{"x": 1}]}}, False),
    ("no context.event_id", CLEAN | {"context": {"event_timestamp": 1796504971469}}, False),
    ("an empty context.event_id", CLEAN | {"context": {"event_id": "", "event_timestamp": 1}}, False),
    ("no context.event_timestamp", CLEAN | {"context": {"event_id": "e1"}}, False),
    (
        "a timestamp beyond year 9999",
        CLEAN | {"context": {"event_id": "e1", "event_timestamp": 10**15}},
        False,
    ),
    ("no context", {k: v for k, v in CLEAN.items() if k != "context"}, False),
    ("an unknown device key", CLEAN | {"context": {**CLEAN["context"], "device": {"os": "x"}}}, False),
    (
        "a page viewport that is no object",
        CLEAN | {"context": {**CLEAN["context"], "page": {"viewport": 1}}},
        False,
    ),
    ("a free property", CLEAN | {"anything": [1, {"a": None}]}, True),
    ("a documented parameter of the wrong type", CLEAN | {"page_name": 5}, False),
    ("no event name", {k: v for k, v in CLEAN.items() if k != "event_name"}, False),
    ("a custom event without a user", {"event_name": "x", "context": CLEAN["context"]}, True),
]


@pytest.mark.parametrize(("case", "body", "cleared"), BODIES, ids=[b[0] for b in BODIES])
def test_bodies_at_the_edges(case: str, body: dict[str, Any], cleared: bool):
    assert no_error(body) is cleared, case
    if cleared:
        assert general_errors(body) == []
