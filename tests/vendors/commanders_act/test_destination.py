"""The ``commanders-act`` destination: server API requests from canonical events."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import trackway
from tests.support.specs import examples
from trackway.errors import ConfigError
from trackway.model import Commerce, Event, Item, encode_json
from trackway.vendors import destination_types, resolve
from trackway.vendors.commanders_act.destination import BATCH_MAX, ENCODER, EVENT_MAX

NOW = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)
OPTIONS = {"site": "1234", "token": "s3cret"}
HEADERS = {"content-type": "application/json", "authorization": "Bearer s3cret"}


def event(n: int, **kw) -> Event:
    fields = {
        "name": "add_to_cart",
        "dialect": "commanders-act",
        "id": f"e{n}",
        "anonymous_id": "anon-1",
        "timestamp": NOW - timedelta(seconds=n),
        "commerce": Commerce(
            currency="EUR",
            value=Decimal("12.50"),
            items=[Item(item_id="p1", item_name="Shoe", price=Decimal("12.50"), quantity=1)],
        ),
    }
    return Event(**(fields | kw))


# What the document's purchase and refund examples leave out, though the server-side
# API requires it (the dialect warns of it in the call form).
REQUIRED = {"type": "online", "status": "pending", "payment_method": "card"}


def spec_events(*, complete: bool = True) -> list[Event]:
    """The document's examples, decoded, with what a stored event has (id, time, person)
    and, when ``complete``, what the server-side API requires beside."""
    out = []
    for n, example in enumerate(examples("commanders-act")):
        decoded = trackway.decode("commanders-act", example.value)
        assert not [i for i in decoded.issues if i.is_error], example.id
        for ev in decoded.events:
            ev = msgspec.structs.replace(
                ev, id=f"s{n}", anonymous_id=f"anon-{n}", timestamp=NOW - timedelta(minutes=n)
            )
            if complete and ev.commerce is not None and ev.name in ("purchase", "refund"):
                required = {k: v for k, v in REQUIRED.items() if ev.name == "purchase" or k == "type"}
                ev = msgspec.structs.replace(ev, commerce=msgspec.structs.replace(ev.commerce, **required))
            out.append(ev)
    return out


def test_declared_by_the_vendor():
    assert resolve(destination_types()["commanders-act"]) is ENCODER
    assert ENCODER.type == "commanders-act"
    assert set(ENCODER.options) == {"site", "token", "base_url", "batch"}
    assert ENCODER.secrets == {"token"}


@pytest.mark.parametrize(
    ("options", "url", "key"),
    [
        (OPTIONS, "https://collect.commander1.com/events/batch?tc_s=1234", None),
        (OPTIONS | {"batch": True}, "https://collect.commander1.com/events/batch?tc_s=1234", None),
        (OPTIONS | {"batch": False}, "https://collect.commander1.com/events?tc_s=1234", "e0"),
        (OPTIONS | {"base_url": "http://127.0.0.1:9/"}, "http://127.0.0.1:9/events/batch?tc_s=1234", None),
    ],
)
def test_request_url_headers_and_key(options, url, key):
    (request,) = ENCODER.encode([event(0)], options, NOW).requests
    assert (request.method, request.url, request.idempotency_key) == ("POST", url, key)
    assert request.headers == HEADERS
    assert "s3cret" not in request.url  # the token travels in the header
    body = json.loads(request.body)
    rendered = body["batch"][0] if "batch" in body else body
    assert rendered["context"]["event_id"] == "e0"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"token": "t"}, "option site: expected a non-empty string, got nothing; set it to the site id"),
        ({"site": "1"}, "option token: expected a non-empty string, got nothing; set it to the source key"),
        ({"site": 1, "token": "t"}, "option site: expected a non-empty string, got int"),
        (OPTIONS | {"batch": "yes"}, "option batch: expected true or false, got 'yes'"),
        (OPTIONS | {"base_url": "collect.example"}, "option base_url: expected an http:// or https:// URL"),
        (OPTIONS | {"tc_s": "1"}, "expected options among site, token, base_url, batch, got tc_s"),
    ],
)
def test_bad_options(options, expected):
    with pytest.raises(ConfigError) as info:
        ENCODER.encode([event(0)], options, NOW)
    assert str(info.value).startswith("commanders-act destination") and expected in str(info.value)


def test_event_id_replaces_a_kept_one():
    kept = event(0, extras={"context": {"event_id": "old"}})
    (request,) = ENCODER.encode([kept], OPTIONS | {"batch": False}, NOW).requests
    assert json.loads(request.body)["context"]["event_id"] == "e0"


@pytest.mark.parametrize(
    ("ev", "why"),
    [
        (event(0, id=""), "expected an event id"),
        (event(0, properties={"note": "x" * EVENT_MAX}), f"at most {EVENT_MAX} bytes"),
        (
            event(0, name="purchase"),
            "$.payment_method: expected the parameter 'payment_method' on a purchase",
        ),
        (event(0, name="search"), "$.search_term: expected"),
    ],
)
@pytest.mark.parametrize("batch", [True, False])
def test_refused(ev, why, batch):
    out = ENCODER.encode([event(1), ev, event(2)], OPTIONS | {"batch": batch}, NOW)
    assert [r.event for r in out.refused] == [ev.id]
    assert why in out.refused[0].reason
    assert [e for r in out.requests for e in r.events] == ["e1", "e2"]


def test_spec_examples_the_server_api_drops_are_refused():
    events = spec_events(complete=False)
    out = ENCODER.encode(events, OPTIONS, NOW)
    refused = {e.id: e.name for e in events if e.id in {r.event for r in out.refused}}
    assert sorted(refused.values()) == ["purchase", "refund"]
    assert all(
        r.reason.startswith("Commanders Act's rules reject this event (its API answers 200 all the same)")
        and "not sent: $.type: expected" in r.reason
        for r in out.refused
    )


def test_one_event_a_request_without_batch():
    out = ENCODER.encode([event(n) for n in range(3)], OPTIONS | {"batch": False}, NOW)
    assert [(r.events, r.idempotency_key) for r in out.requests] == [
        (("e0",), "e0"),
        (("e1",), "e1"),
        (("e2",), "e2"),
    ]


padding = st.integers(0, 31_000).map(lambda n: "p" * n)


@st.composite
def batches(draw):
    n = draw(st.integers(0, 60))
    return [
        event(
            k,
            name=draw(st.sampled_from(["add_to_cart", "view_cart", "add_to_wishlist"])),
            properties={"note": draw(padding)},
        )
        for k in range(n)
    ]


@settings(max_examples=50, deadline=None)
@given(batches(), st.booleans())
def test_limits_hold(events, batch):
    out = ENCODER.encode(events, OPTIONS | {"batch": batch}, NOW)
    sent = [e for r in out.requests for e in r.events]
    refused = [r.event for r in out.refused]
    assert sorted(sent + refused) == sorted(e.id for e in events)  # each exactly once
    assert sent == [e.id for e in events if e.id in set(sent)]  # in order
    for request in out.requests:
        body = json.loads(request.body)
        rendered = body["batch"] if batch else [body]
        assert len(request.body) <= (BATCH_MAX if batch else EVENT_MAX)
        assert [r["context"]["event_id"] for r in rendered] == list(request.events)
        assert all(len(encode_json(r)) <= EVENT_MAX for r in rendered)
    for refusal in out.refused:
        assert f"at most {EVENT_MAX} bytes" in refusal.reason


def test_the_limits_hold_however_commanders_act_counts_a_kb() -> None:
    # "500 KB" a batch: 511,755 bytes went out (500 x 1024), over 500,000
    assert (EVENT_MAX, BATCH_MAX) == (32_000, 500_000)


def test_batches_filled_to_the_limit():
    events = [event(k, properties={"note": "p" * 30_000}) for k in range(40)]
    out = ENCODER.encode(events, OPTIONS, NOW)
    assert len(out.requests) == 3  # 16 events of ~30 kB a batch: 500 KB
    assert all(len(r.body) <= BATCH_MAX for r in out.requests)
    assert len(out.requests[0].body) > BATCH_MAX - 31_000


@pytest.mark.parametrize("batch", [True, False])
def test_round_trip_through_the_commanders_act_decoder(batch):
    events = spec_events()
    out = ENCODER.encode(events, OPTIONS | {"batch": batch}, NOW)
    assert not out.refused
    got = []
    for request in out.requests:
        decoded = trackway.decode("commanders-act", request.body)
        assert [i for i in decoded.issues if i.is_error] == []
        got.extend(decoded.events)
    assert len(got) == len(events)
    for sent, back in zip(events, got, strict=True):
        assert (back.name, back.id, back.timestamp) == (sent.name, sent.id, sent.timestamp)
        assert (back.anonymous_id, back.user_id, back.user) == (sent.anonymous_id, sent.user_id, sent.user)
        assert (back.commerce, back.properties, back.consent) == (
            sent.commerce,
            sent.properties,
            sent.consent,
        )


@pytest.mark.anyio
@pytest.mark.parametrize("batch", [True, False])
async def test_trackways_own_receiver_takes_every_request(h, batch):
    keys = h.keys()
    options = {
        "site": keys["commanders_act_site"],
        "token": keys["commanders_act_token"],
        "base_url": "http://t",
        "batch": batch,
    }
    events = spec_events()
    out = ENCODER.encode(events, options, NOW)
    for request in out.requests:
        response = await h.client.post(request.url, headers=dict(request.headers), content=request.body)
        assert response.status_code == 200, response.text
        assert response.json() == {"status": "ok", "events": len(request.events)}
    stored = await h.events("default")
    assert sorted(e.id for e in stored) == sorted(e.id for e in events)
    assert await h.failed("default") == []
