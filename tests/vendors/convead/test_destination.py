"""The ``convead`` and ``insend`` destinations: /watch/event forms from canonical events."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import parse_qsl

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import trackway
from tests.support.specs import examples
from trackway.errors import ConfigError
from trackway.model import Commerce, Event, Item
from trackway.vendors import destination_types, resolve
from trackway.vendors.convead.destination import ENCODER, INSEND

NOW = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)
OPTIONS = {"app_key": "k3y"}
ENCODERS = {"convead": ENCODER, "insend": INSEND}


def event(n: int, **kw) -> Event:
    fields = {
        "name": "purchase",
        "dialect": "gtm-ga4",
        "id": f"e{n}",
        "anonymous_id": "guest-1",
        "timestamp": NOW,
        "commerce": Commerce(
            currency="EUR",
            value=Decimal("12.50"),
            transaction_id=f"T{n}",
            items=[Item(item_id="p1", item_name="Shoe", price=Decimal("12.50"), quantity=1)],
        ),
    }
    return Event(**(fields | kw))


def form(body: bytes) -> dict[str, str]:
    return dict(parse_qsl(body.decode(), keep_blank_values=True))


def spec_events(dialect: str) -> list[Event]:
    out = []
    for n, example in enumerate(examples(dialect)):
        decoded = trackway.decode(dialect, example.value, default_currency="EUR")
        assert not [i for i in decoded.issues if i.is_error], example.id
        out.extend(msgspec.structs.replace(e, id=f"s{n}", anonymous_id=f"g{n}") for e in decoded.events)
    return out


@pytest.mark.parametrize("kind", ["convead", "insend"])
def test_declared_by_the_vendor(kind):
    assert resolve(destination_types()[kind]) is ENCODERS[kind]
    assert ENCODERS[kind].type == kind
    assert set(ENCODERS[kind].options) == {"app_key", "base_url"}
    assert ENCODERS[kind].secrets == {"app_key"}


@pytest.mark.parametrize("kind", ["convead", "insend"])
@pytest.mark.parametrize(
    ("options", "url"),
    [
        (OPTIONS, "https://tracker.convead.io/watch/event"),
        (OPTIONS | {"base_url": "http://127.0.0.1:9/"}, "http://127.0.0.1:9/watch/event"),
    ],
)
def test_one_event_a_request(kind, options, url):
    out = ENCODERS[kind].encode([event(0), event(1, user_id="u1")], options, NOW)
    assert [(r.method, r.url, r.events, r.idempotency_key) for r in out.requests] == [
        ("POST", url, ("e0",), None),
        ("POST", url, ("e1",), None),
    ]
    assert all(r.headers == {"content-type": "application/x-www-form-urlencoded"} for r in out.requests)
    first, second = (form(r.body) for r in out.requests)
    assert list(first) == ["app_key", "visitor_uid", "guest_uid", "data"]
    assert (first["app_key"], first["visitor_uid"], first["guest_uid"]) == ("k3y", "", "guest-1")
    assert (second["visitor_uid"], second["guest_uid"]) == ("u1", "guest-1")
    data = json.loads(first["data"])
    assert data["type"] == "purchase" and data["properties"]["order_id"] == "T0"


@pytest.mark.parametrize("kind", ["convead", "insend"])
@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, "option app_key: expected a non-empty string, got nothing; set it to the account's app_key"),
        ({"app_key": ""}, "option app_key: expected a non-empty string, got nothing"),
        ({"app_key": 5}, "option app_key: expected a non-empty string, got int"),
        (OPTIONS | {"base_url": 3}, "option base_url: expected an http:// or https:// URL, got 3"),
        (OPTIONS | {"visitor_uid": "v"}, "expected options among app_key, base_url, got visitor_uid"),
    ],
)
def test_bad_options(kind, options, expected):
    with pytest.raises(ConfigError) as info:
        ENCODERS[kind].encode([event(0)], options, NOW)
    assert str(info.value).startswith(f"{kind} destination") and expected in str(info.value)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"anonymous_id": None}, "$.guest_uid: expected guest_uid"),
        ({"commerce": Commerce(currency="EUR", value=Decimal(1))}, "$.data.properties.order_id: expected"),
    ],
)
def test_what_convead_drops_is_refused(change, why):
    out = ENCODER.encode([event(0), event(1, **change), event(2)], OPTIONS, NOW)
    assert [r.event for r in out.refused] == ["e1"]
    assert out.refused[0].reason.startswith("Convead would answer 400") and why in out.refused[0].reason
    assert [r.events for r in out.requests] == [("e0",), ("e2",)]


def test_no_currency_is_the_receivers_matter():
    out = ENCODER.encode([event(0, commerce=Commerce(value=Decimal(3), transaction_id="T"))], OPTIONS, NOW)
    assert not out.refused and len(out.requests) == 1


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["purchase", "view_item", "custom_x"]), st.sampled_from([None, "g1"])),
        max_size=30,
    ),
    st.sampled_from(["convead", "insend"]),
)
def test_every_event_once_in_order(drawn, kind):
    events = [event(n, name=name, anonymous_id=guest) for n, (name, guest) in enumerate(drawn)]
    out = ENCODERS[kind].encode(events, OPTIONS, NOW)
    sent = [e for r in out.requests for e in r.events]
    assert all(len(r.events) == 1 for r in out.requests)
    assert sorted(sent + [r.event for r in out.refused]) == sorted(e.id for e in events)
    assert sent == [e.id for e in events if e.id in set(sent)]
    assert {r.event for r in out.refused} == {e.id for e in events if e.anonymous_id is None}


@pytest.mark.parametrize("kind", ["convead", "insend"])
def test_round_trip_through_the_convead_decoder(kind):
    events = spec_events(kind)
    out = ENCODERS[kind].encode(events, OPTIONS, NOW)
    assert not out.refused and len(out.requests) == len(events)
    for sent, request in zip(events, out.requests, strict=True):
        decoded = trackway.decode("convead", form(request.body), default_currency="EUR")
        assert [i for i in decoded.issues if i.is_error] == []
        (back,) = decoded.events
        assert (back.name, back.anonymous_id, back.user_id, back.user) == (
            sent.name,
            sent.anonymous_id,
            sent.user_id,
            sent.user,
        )
        assert (back.commerce, back.properties) == (sent.commerce, sent.properties)


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["convead", "insend"])
async def test_trackways_own_receiver_takes_every_request(h, kind):
    options = {"app_key": h.keys()["convead_app_key"], "base_url": "http://t"}
    events = spec_events(kind)
    out = ENCODERS[kind].encode(events, options, NOW)
    for request in out.requests:
        response = await h.client.post(request.url, headers=dict(request.headers), content=request.body)
        assert response.status_code == 200, response.text
    stored = await h.events("default")
    assert sorted((e.name, e.anonymous_id) for e in stored) == sorted(
        (e.name, e.anonymous_id) for e in events
    )


@pytest.mark.parametrize(
    ("ids", "key"),
    [
        ({"anonymous_id": "guest-2"}, "guest-2"),  # the browser
        ({"anonymous_id": "guest-2", "user_id": "u9"}, "guest-2"),  # the browser, once signed in too
        ({"anonymous_id": None, "user_id": "u9"}, "u9"),  # else the visitor
    ],
)
def test_a_requests_ordering_key_is_its_browser_else_its_visitor(ids, key):
    """With several requests in flight, one browser's events still go in order."""
    (request,) = ENCODER.encode([event(1, **ids)], OPTIONS, NOW).requests
    assert request.order_key == key
    assert form(request.body)["guest_uid" if ids["anonymous_id"] else "visitor_uid"] == key
