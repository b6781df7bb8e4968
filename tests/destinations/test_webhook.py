"""trackway.destinations.webhook: canonical JSON in batches, idempotency key, signature."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trackway.destinations import types
from trackway.destinations.webhook import (
    ENCODER,
    IDEMPOTENCY_HEADER,
    MAX_BYTES,
    MAX_EVENTS,
    SIGNATURE_HEADER,
    SignatureError,
    verify,
)
from trackway.errors import ConfigError
from trackway.model import Commerce, Event, from_json, to_json

NOW = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)
SECRET = "whsec_test"
OPTIONS = {"url": "https://receiver.example/hook", "secret": SECRET}


def _event(n: int, pad: int = 0) -> Event:
    return Event(
        name="purchase",
        dialect="ga4-mp",
        id=f"ev-{n}",
        anonymous_id="a1",
        timestamp=NOW,
        commerce=Commerce(currency="EUR", value=Decimal("19.90"), transaction_id=f"T{n}"),
        properties={"note": "x" * pad} if pad else {},
    )


def _recompute(body: bytes, t: str, secret: str) -> str:
    """The signature as a receiver computes it, written from the documented scheme."""
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def test_registered_as_own_type() -> None:
    assert types.OWN == {"webhook": "trackway.destinations.webhook:ENCODER"}
    assert types.types()["webhook"] == types.OWN["webhook"]
    assert types.encoder("webhook") is ENCODER
    assert ENCODER.secrets == {"secret"}
    assert set(ENCODER.secrets) <= set(ENCODER.options)


def test_one_request() -> None:
    events = [_event(1), _event(2)]
    out = ENCODER.encode(events, OPTIONS, NOW)
    assert out.refused == []
    [request] = out.requests
    assert (request.method, request.url) == ("POST", OPTIONS["url"])
    assert request.events == ("ev-1", "ev-2")
    assert request.headers["Content-Type"] == "application/json"
    sent = json.loads(request.body)
    assert [from_json(json.dumps(e)) for e in sent["events"]] == events
    assert b'"value":19.90' in request.body  # Decimal digits kept
    assert request.headers[IDEMPOTENCY_HEADER] == request.idempotency_key
    assert request.idempotency_key == hashlib.sha256(b"ev-1\nev-2").hexdigest()


def test_signature_recomputed_independently() -> None:
    [request] = ENCODER.encode([_event(1)], OPTIONS, NOW).requests
    header = request.headers[SIGNATURE_HEADER]
    fields = dict(part.split("=", 1) for part in header.split(","))
    assert fields["t"] == str(int(NOW.timestamp()))
    assert fields["v1"] == _recompute(request.body, fields["t"], SECRET)
    assert verify(request.body, header, SECRET, 300, NOW) == int(NOW.timestamp())


def test_retry_has_same_key_and_new_signature() -> None:
    later = NOW + timedelta(minutes=5)
    first = ENCODER.encode([_event(1), _event(2)], OPTIONS, NOW).requests[0]
    retry = ENCODER.encode([_event(1), _event(2)], OPTIONS, later).requests[0]
    other = ENCODER.encode([_event(2), _event(1)], OPTIONS, NOW).requests[0]
    assert retry.idempotency_key == first.idempotency_key
    assert retry.body == first.body
    assert retry.headers[SIGNATURE_HEADER] != first.headers[SIGNATURE_HEADER]
    assert other.idempotency_key != first.idempotency_key


def test_refresh_signs_a_retried_request_at_its_try_and_keeps_its_key() -> None:
    first = ENCODER.encode([_event(1), _event(2)], OPTIONS, NOW).requests[0]
    later = NOW + timedelta(minutes=30)
    again = ENCODER.refresh(first, OPTIONS, later)
    assert (again.body, again.idempotency_key, again.events) == (
        first.body,
        first.idempotency_key,
        first.events,
    )
    assert verify(again.body, again.headers[SIGNATURE_HEADER], OPTIONS["secret"], now=later) == int(
        later.timestamp()
    )


def _signed() -> tuple[bytes, str]:
    request = ENCODER.encode([_event(1)], OPTIONS, NOW).requests[0]
    return request.body, request.headers[SIGNATURE_HEADER]


BODY, HEADER = _signed()
T = int(NOW.timestamp())


@pytest.mark.parametrize(
    ("body", "header", "secret", "now", "message"),
    [
        (BODY.replace(b"19.90", b"99.90"), HEADER, SECRET, NOW, "does not match the body"),
        (BODY + b" ", HEADER, SECRET, NOW, "does not match the body"),
        (BODY, HEADER, "another secret", NOW, "does not match the body"),
        (BODY, HEADER.replace(f"t={T}", f"t={T + 1}"), SECRET, NOW, "does not match the body"),
        (BODY, HEADER[:-1] + ("0" if HEADER[-1] != "0" else "1"), SECRET, NOW, "does not match"),
        (BODY, HEADER, SECRET, NOW + timedelta(seconds=301), "within 300 s of now, got one 301 s old"),
        (
            BODY,
            HEADER,
            SECRET,
            NOW - timedelta(seconds=301),
            "within 300 s of now, got one dated 301 s ahead",
        ),
        (BODY, None, SECRET, NOW, "expected a Trackway-Signature header, got none"),
        (BODY, "", SECRET, NOW, "expected a Trackway-Signature header, got none"),
        (BODY, f"v1={'0' * 64}", SECRET, NOW, "expected Trackway-Signature to hold t=<unix seconds>"),
        (BODY, "t=abc,v1=00", SECRET, NOW, "expected Trackway-Signature to hold t=<unix seconds>"),
        (BODY, f"t={T}", SECRET, NOW, "to hold v1=<hex HMAC-SHA256>"),
        (BODY, HEADER.replace("v1=", "v0="), SECRET, NOW, "to hold v1=<hex HMAC-SHA256>"),
    ],
)
def test_verify_refuses(body: bytes, header: str | None, secret: str, now: datetime, message: str) -> None:
    with pytest.raises(SignatureError, match=message):
        verify(body, header, secret, 300, now)


@pytest.mark.parametrize(
    ("header", "now"),
    [
        (HEADER, NOW),
        (HEADER, NOW + timedelta(seconds=300)),
        (HEADER, NOW - timedelta(seconds=300)),
        (HEADER, T + 12.5),  # unix seconds accepted
        (f"t={T},v1={'0' * 64},v1={HEADER.rsplit('=', 1)[1]}", NOW),  # a rotated secret's too
        (HEADER.replace(",", " , "), NOW),
    ],
)
def test_verify_accepts(header: str, now: datetime | float) -> None:
    assert verify(BODY, header, SECRET, 300, now) == T


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"secret": SECRET}, "option url: expected an http:// or https:// URL, got None"),
        ({**OPTIONS, "url": "ftp://x"}, "option url: expected an http:// or https:// URL, got 'ftp://x'"),
        (
            {"url": OPTIONS["url"]},
            "option secret: expected a non-empty string, got nothing; set it to the key receivers verify",
        ),
        ({**OPTIONS, "secret": ""}, "option secret: expected a non-empty string, got nothing"),
        ({**OPTIONS, "max_events": 0}, "option max_events: expected an integer >= 1, got 0"),
        ({**OPTIONS, "max_events": "10"}, "option max_events: expected an integer >= 1, got '10'"),
        ({**OPTIONS, "max_bytes": 10}, "option max_bytes: expected an integer >= 15, got 10"),
        (
            {**OPTIONS, "token": "x"},
            "expected options among url, secret, max_events, max_bytes, got token; remove or rename them",
        ),
    ],
)
def test_bad_options(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        ENCODER.encode([_event(1)], options, NOW)
    assert SECRET not in str(caught.value)  # a secret never appears in an error


def test_defaults() -> None:
    assert (MAX_EVENTS, MAX_BYTES) == (500, 512 * 1024)
    out = ENCODER.encode([_event(n) for n in range(1201)], OPTIONS, NOW)
    assert [len(r.events) for r in out.requests] == [500, 500, 201]


def test_refusals() -> None:
    small = {**OPTIONS, "max_bytes": 600}
    big = _event(2, pad=1000)
    no_id = Event(name="purchase", dialect="ga4-mp")
    out = ENCODER.encode([_event(1), big, no_id, _event(3)], small, NOW)
    assert [r.events for r in out.requests] == [("ev-1", "ev-3")]
    assert {r.event for r in out.refused} == {"ev-2", ""}
    reasons = {r.event: r.reason for r in out.refused}
    assert (
        f"the event is {len(to_json(big)):,} bytes as sent, over the webhook's max_bytes (600"
        in reasons["ev-2"]
    )
    assert "has no id" in reasons[""]


@settings(max_examples=200, deadline=None)
@given(
    pads=st.lists(st.integers(0, 900), min_size=0, max_size=40),
    max_events=st.integers(1, 12),
    max_bytes=st.integers(200, 3000),
)
def test_batching_limits(pads: list[int], max_events: int, max_bytes: int) -> None:
    events = [_event(n, pad) for n, pad in enumerate(pads)]
    out = ENCODER.encode(events, {**OPTIONS, "max_events": max_events, "max_bytes": max_bytes}, NOW)
    sent = [i for r in out.requests for i in r.events]
    refused = [r.event for r in out.refused]
    assert sorted(sent + refused) == sorted(e.id for e in events)  # each exactly once
    assert sent == [e.id for e in events if e.id in set(sent)]  # order kept
    for request in out.requests:
        assert 1 <= len(request.events) <= max_events
        assert len(request.body) <= max_bytes
        assert [e["id"] for e in json.loads(request.body)["events"]] == list(request.events)
        assert verify(request.body, request.headers[SIGNATURE_HEADER], SECRET, 0, NOW)
    for event in events:
        if event.id in refused:
            assert len(to_json(event)) + len(b'{"events":[]}') > max_bytes
