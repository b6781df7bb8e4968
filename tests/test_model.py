"""The canonical event's JSON form."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import msgspec

from trackway.model import Commerce, Event, Item, from_json, to_builtins, to_json


def sample() -> Event:
    return Event(
        name="purchase",
        dialect="gtm-ga4",
        id="e-1",
        property="shop",
        timestamp=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        user={"email": "a@b.c"},
        commerce=Commerce(
            currency="EUR",
            value=Decimal("16.00"),
            transaction_id="T1",
            items=[Item(item_id="S1", price=Decimal("8.005"), quantity=2, categories=["a", "b"])],
        ),
        properties={"coupon_note": "x"},
        extras={"ecommerce": {"actionField": {"step": 1}}},
    )


def test_json_form_round_trips_exactly():
    event = sample()
    assert from_json(to_json(event)) == event


def test_money_is_a_json_number_with_its_digits_and_times_are_utc_iso():
    data = msgspec.json.decode(to_json(sample()))
    assert '"value":16.00' in to_json(sample()).decode()
    assert data["timestamp"] == "2026-01-02T03:04:05.678901Z"
    assert data["commerce"]["items"][0]["price"] == 8.005


def test_defaults_are_left_out_of_the_json_form():
    data = to_builtins(Event(name="login", dialect="koalect"))
    assert data == {"name": "login", "dialect": "koalect"}


def test_decimals_never_become_floats():
    event = from_json(b'{"name":"x","dialect":"d","commerce":{"value":0.1,"items":[{"price":0.2}]}}')
    assert event.commerce.value == Decimal("0.1")
    assert type(event.commerce.items[0].price) is Decimal


def test_to_json_never_raises_on_values_no_json_holds():
    deep: list = []
    for _ in range(5_000):
        deep = [deep]
    event = Event(
        name="x",
        dialect="gtm-ga4",
        extras={
            "inf": Decimal("Infinity"),
            "nan": float("nan"),
            "big": 10**5000,
            "\udc00": "a\udc00",
            "deep": deep,
        },
        commerce=Commerce(value=Decimal("NaN"), items=[Item(price=Decimal("-Infinity"), quantity=2**70)]),
    )
    out = json.loads(to_json(event), parse_int=Decimal, parse_float=Decimal)
    assert out["commerce"] == {"value": "NaN", "items": [{"price": "-Infinity", "quantity": 2**70}]}
    assert out["extras"]["inf"] == "Infinity" and out["extras"]["nan"] == "NaN"
    assert out["extras"]["\ufffd"] == "a\ufffd"
    assert out["extras"]["big"] == 10**5000
    depth, value = 0, out["extras"]["deep"]
    while isinstance(value, list):
        depth, value = depth + 1, value[0]
    assert value == "…" and depth < 70


def test_to_json_of_a_plain_event_is_unchanged_by_the_safe_path():
    event = sample()
    assert to_json(event) == msgspec.json.Encoder(decimal_format="number").encode(event)
