"""trackway.vendors.segment.destination: the Segment HTTP Tracking API /v1/batch."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import golden
from tests.vendors.segment import cases
from trackway import vendors
from trackway.destinations import types
from trackway.errors import ConfigError
from trackway.model import Commerce, Event, Item
from trackway.vendors.segment import destination
from trackway.vendors.segment.destination import ENCODER, MAX_BATCH_BYTES, MAX_CALL_BYTES, NAMES, calls

NOW = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)
WHEN = datetime(2026, 12, 5, 2, 59, 1, 250000, tzinfo=UTC)
OPTIONS = {"write_key": "wk_secret"}
MUG = Item(
    item_id="SKU-1",
    product_id="db-1",
    item_name="Mug",
    price=Decimal("15.00"),
    quantity=2,
    categories=["Home", "Kitchen"],
    brand="Acme",
    variant="blue",
    index=3,
)
PEN = Item(item_id="SKU-2", item_name="Pen", price=Decimal("1.10"))


def _event(name: str = "purchase", n: int = 1, **kw: Any) -> Event:
    base: dict[str, Any] = {"id": f"ev-{n}", "anonymous_id": "anon-1", "timestamp": WHEN}
    return Event(name=name, dialect="ga4-mp", **{**base, **kw})


def _calls(events: list[Event], options: dict[str, Any] = OPTIONS) -> list[dict[str, Any]]:
    out = ENCODER.encode(events, options, NOW)
    assert out.refused == []
    return [call for r in out.requests for call in json.loads(r.body)["batch"]]


def test_declared_by_the_vendor() -> None:
    assert vendors.get("segment").destinations == {"segment": "trackway.vendors.segment.destination:ENCODER"}
    assert types.encoder("segment") is ENCODER
    assert ENCODER.secrets == {"write_key"} and set(ENCODER.options) == {"write_key", "base_url"}


def test_request() -> None:
    [request] = ENCODER.encode([_event(), _event(n=2)], OPTIONS, NOW).requests
    assert (request.method, request.url) == ("POST", "https://api.segment.io/v1/batch")
    user, _, password = base64.b64decode(request.headers["Authorization"].removeprefix("Basic ")).partition(
        b":"
    )
    assert (user, password) == (b"wk_secret", b"")
    assert request.headers["Content-Type"] == "application/json"
    assert request.events == ("ev-1", "ev-2")
    body = json.loads(request.body)
    assert body["sentAt"] == "2026-12-05T03:00:00.000Z"
    assert [c["messageId"] for c in body["batch"]] == ["ev-1", "ev-2"]


@pytest.mark.parametrize(
    ("base_url", "url"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/v1/batch"),
        ("https://eu.example/", "https://eu.example/v1/batch"),
    ],
)
def test_base_url(base_url: str, url: str) -> None:
    [request] = ENCODER.encode([_event()], {**OPTIONS, "base_url": base_url}, NOW).requests
    assert request.url == url


def test_purchase() -> None:
    value, tax, shipping = Decimal("30.00"), Decimal("6.00"), Decimal("4.90")
    commerce = Commerce(
        currency="EUR",
        value=value,
        tax=tax,
        shipping=shipping,
        transaction_id="T-1",
        coupon="WINTER",
        items=[MUG],
    )
    event = _event(
        commerce=commerce,
        user_id="u-1",
        context={"page": {"url": "https://shop.example/thanks", "title": "Thanks"}, "ip": "203.0.113.0"},
        properties={"page_type": "success"},
    )
    [track] = _calls([event])
    assert track["type"] == "track"
    assert track["event"] == "Order Completed"
    assert (track["messageId"], track["userId"], track["anonymousId"]) == ("ev-1", "u-1", "anon-1")
    assert track["timestamp"] == "2026-12-05T02:59:01.250Z"
    assert track["context"] == {
        "page": {"url": "https://shop.example/thanks", "title": "Thanks"},
        "ip": "203.0.113.0",
    }
    props = track["properties"]
    assert props["order_id"] == "T-1" and props["coupon"] == "WINTER" and props["currency"] == "EUR"
    assert props["page_type"] == "success"
    # GA4's value is the items' worth: Segment's revenue; total adds tax and shipping.
    assert Decimal(str(props["revenue"])) == value
    assert Decimal(str(props["total"])) == value + tax + shipping
    assert (Decimal(str(props["tax"])), Decimal(str(props["shipping"]))) == (tax, shipping)
    assert "discount" not in props  # not stated: never an assumed 0
    assert props["products"] == [
        {
            "product_id": "db-1",
            "sku": "SKU-1",
            "name": "Mug",
            "price": 15.0,
            "quantity": 2,
            "category": "Home/Kitchen",
            "brand": "Acme",
            "variant": "blue",
            "position": 3,
        }
    ]
    body = ENCODER.encode([event], OPTIONS, NOW).requests[0].body
    assert b'"total":40.90' in body and b'"price":15.00' in body  # Decimal digits kept


@pytest.mark.parametrize(("name", "segment"), sorted(NAMES.items()))
def test_names(name: str, segment: str) -> None:
    [track] = _calls([_event(name)])
    assert track["event"] == segment


@pytest.mark.parametrize("name", ["page_view", "login", "procedure_step"])
def test_other_names_as_they_are(name: str) -> None:
    assert _calls([_event(name)])[0]["event"] == name


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (
            _event("add_to_cart", commerce=Commerce(currency="EUR", value=Decimal("30.00"), items=[MUG])),
            {
                "currency": "EUR",
                "value": 30.0,
                "product_id": "db-1",
                "sku": "SKU-1",
                "name": "Mug",
                "price": 15.0,
            },
        ),
        (
            _event("view_item", commerce=Commerce(items=[PEN])),
            {"product_id": "SKU-2", "sku": "SKU-2", "name": "Pen", "price": 1.1},
        ),
        (
            _event("remove_from_cart", commerce=Commerce(items=[MUG, PEN])),
            {"products": [{"product_id": "db-1"}, {"product_id": "SKU-2"}]},
        ),
        (_event("view_cart", commerce=Commerce(items=[PEN])), {"products": [{"product_id": "SKU-2"}]}),
        (_event("search", properties={"search_term": "mugs"}), {"query": "mugs", "search_term": "mugs"}),
        (
            _event("view_item_list", properties={"item_list_id": "l1", "item_list_name": "Deals"}),
            {"list_id": "l1", "category": "Deals"},
        ),
        (_event("page_view"), {}),
    ],
)
def test_properties(event: Event, expected: dict[str, Any]) -> None:
    props = _calls([event])[0]["properties"]
    for key, value in expected.items():
        if key == "products":
            assert [{k: p[k] for k in v} for p, v in zip(props[key], value, strict=True)] == value
        else:
            assert props[key] == value
    if not expected:
        assert props == {}


def test_identify_when_traits() -> None:
    event = _event(
        user={"first_name": "Ann", "email_sha256": "ab" * 32}, context={"user_agent": "UA/1", "locale": "fr"}
    )
    identify, track = _calls([event])
    assert identify["type"] == "identify"
    assert identify["traits"] == event.user
    assert identify["messageId"] == "ev-1-identify"
    assert identify["anonymousId"] == track["anonymousId"] == "anon-1"
    assert identify["context"] == track["context"] == {"userAgent": "UA/1", "locale": "fr"}
    assert track["type"] == "track" and "traits" not in track


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (_event(anonymous_id=None), "Segment requires userId or anonymousId, and the event has neither"),
        (_event(id=""), "has no id"),
        (_event(properties={"blob": "x" * MAX_CALL_BYTES}), "a Segment call is at most 32,768 bytes"),
        (_event(user={"blob": "x" * MAX_CALL_BYTES}), "a Segment call is at most 32,768 bytes"),
    ],
)
def test_refused(event: Event, reason: str) -> None:
    out = ENCODER.encode([_event(n=9), event], OPTIONS, NOW)
    assert [r.events for r in out.requests] == [("ev-9",)]
    [refusal] = out.refused
    assert refusal.event == event.id
    assert reason in refusal.reason


def test_user_id_alone_is_enough() -> None:
    [track] = _calls([_event(anonymous_id=None, user_id="u-1")])
    assert track["userId"] == "u-1" and "anonymousId" not in track


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "option write_key: expected a non-empty string, got nothing; set it to the source's write key"),
        ({"write_key": ""}, "option write_key: expected a non-empty string, got nothing"),
        ({**OPTIONS, "base_url": "api.segment.io"}, "option base_url: expected an http:// or https:// URL"),
        (
            {**OPTIONS, "api_key": "x"},
            "expected options among write_key, base_url, got api_key; remove or rename them",
        ),
    ],
)
def test_bad_options(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        ENCODER.encode([_event()], options, NOW)
    assert "wk_secret" not in str(caught.value)


@settings(max_examples=60, deadline=None)
@given(pads=st.lists(st.one_of(st.integers(0, 40_000), st.integers(32_550, 32_700)), max_size=45))
def test_batching_limits(pads: list[int]) -> None:
    events = [_event(n=n, properties={"note": "x" * pad}) for n, pad in enumerate(pads)]
    out = ENCODER.encode(events, OPTIONS, NOW)
    sent = [i for r in out.requests for i in r.events]
    refused = [r.event for r in out.refused]
    assert sorted(sent + refused) == sorted(e.id for e in events)  # each exactly once
    assert sent == [e.id for e in events if e.id in set(sent)]  # order kept
    for request in out.requests:
        assert 0 < len(request.body) <= MAX_BATCH_BYTES
        batch = json.loads(request.body)["batch"]
        assert [c["messageId"] for c in batch] == list(request.events)
        assert all(len(json.dumps(c, separators=(",", ":"))) <= MAX_CALL_BYTES for c in batch)
    for event in events:  # refused exactly when its call, written by the standard library, is over 32 KB
        [call] = calls(event)
        assert (event.id in refused) == (len(json.dumps(call, separators=(",", ":"))) > MAX_CALL_BYTES)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (datetime(2026, 1, 2, 3, 4, 5, 678999, tzinfo=UTC), "2026-01-02T03:04:05.678Z"),  # truncated
        (datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))), "2026-01-02T01:04:05.000Z"),
        (datetime(2026, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-1))), "2027-01-01T00:30:00.000Z"),
        (datetime(1, 1, 1, tzinfo=UTC), "0001-01-01T00:00:00.000Z"),
    ],
)
def test_timestamps_are_utc_to_the_millisecond(when: datetime, expected: str) -> None:
    assert destination._time(when) == expected


GOLDEN = golden.read(cases.GOLDEN)
RENDERED: dict[str, Any] = {}  # cases.renderings(), computed once for every label


def test_golden_covers_every_case() -> None:
    assert list(GOLDEN) == [label for label, _ in cases.CASES] + [
        "all of them in one batch",
        "a batch over 500 KB",
    ]


@pytest.mark.parametrize("label", list(GOLDEN))
def test_the_bytes_sent_are_those_of_the_golden_file(label: str) -> None:
    """Each case's requests (URL, headers, event ids, body byte for byte) and refusals are
    those the encoder wrote at 0fbd97d, before it was rewritten for speed (cases.py), but
    for the payment_method an order event now carries (written again then)."""
    if not RENDERED:
        RENDERED.update(cases.renderings())
    assert RENDERED[label] == GOLDEN[label]
