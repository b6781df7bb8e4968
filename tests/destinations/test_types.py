"""trackway.destinations.types: Trackway's own types and those the vendors declare."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

import trackway
from tests.support.specs import all_examples
from trackway import vendors
from trackway.destinations import types
from trackway.destinations.webhook import ENCODER as WEBHOOK
from trackway.errors import ConfigError
from trackway.model import Event, to_json
from trackway.privacy.prepare import LastSignals, PrivacySettings, prepare

# A throw-away vendor whose destination type reuses the webhook's encoder object.
PIGEON = vendors.Vendor(
    name="pigeon",
    title="Pigeon",
    doc="# Pigeon",
    destinations={"pigeon": "trackway.destinations.webhook:ENCODER"},
)


@pytest.fixture
def pigeon() -> Iterator[None]:
    vendors.register(PIGEON)
    vendors.reset()
    yield
    vendors.unregister("pigeon")
    vendors.reset()


def test_own_and_declared() -> None:
    found = types.types()
    assert found["webhook"] == "trackway.destinations.webhook:ENCODER"
    assert {k: v for k, v in found.items() if k != "webhook"} == vendors.destination_types()


def test_a_registered_vendors_type(pigeon: None) -> None:
    assert types.types()["pigeon"] == PIGEON.destinations["pigeon"]
    assert types.encoder("pigeon") is WEBHOOK


def test_gone_after_unregister(pigeon: None) -> None:
    vendors.unregister("pigeon")
    assert "pigeon" not in types.types()


@pytest.mark.parametrize("encoder_type", sorted(types.types()))
def test_every_encoder_keeps_the_protocol(encoder_type: str) -> None:
    encoder = types.encoder(encoder_type)
    assert encoder.type == encoder_type
    assert set(encoder.secrets) <= set(encoder.options)
    assert callable(encoder.encode)


def test_unknown() -> None:
    with pytest.raises(ConfigError, match=r"unknown destination type 'fax': expected one of .*webhook"):
        types.encoder("fax")


OPTIONS: dict[str, dict[str, Any]] = {
    "webhook": {"url": "https://hook.example/in", "secret": "whsec_types"},
    "segment": {"write_key": "wk_types"},
    "ga4": {"measurement_id": "G-TYPES1", "api_secret": "s3cret"},
    "commanders-act": {"site": "1234", "token": "tok_types", "batch": True},
    "convead": {"app_key": "app_types"},
    "insend": {"app_key": "app_types"},
}
NOW = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)


def _canonical() -> list[Event]:
    """The events of every example of the vendor documents, as the loader keeps them: with
    the consent the privacy step derives, one object shared by a run of events whose
    signals match (so an encoder that changed one in place would change the others)."""
    out: list[Event] = []
    last, settings = LastSignals(), PrivacySettings()
    for example in all_examples():
        if example.dialect == "custom":  # 2Checkout's own objects: no dialect reads them
            continue
        decoded = trackway.decode(example.dialect, example.value, default_currency="EUR", received_at=NOW)
        for n, event in enumerate(decoded.events):
            event.id = event.id or f"{example.dialect}-{len(out)}-{n}"
            event.property, event.received_at = "shop", NOW
            event.timestamp = event.timestamp or NOW
            event.anonymous_id = event.anonymous_id or "555.1"  # as the tracker's envelope gives it
            prepare(event, settings, last)
            out.append(event)
    return out


def test_every_type_is_declared_here() -> None:
    assert set(OPTIONS) == set(types.types())


@pytest.mark.parametrize("kind", sorted(OPTIONS))
def test_no_type_changes_the_events_it_encodes(kind: str) -> None:
    """An encoder renders; it never writes to the events it is given (a dead letter keeps
    them as selected, and a retry re-encodes nothing)."""
    events = _canonical()
    assert len(events) > 50
    assert len({id(e.consent) for e in events}) < len(events)  # some share their consent
    before = [to_json(e) for e in events]
    encoded = types.encoder(kind).encode(events, OPTIONS[kind], NOW)
    assert encoded.requests  # the check has teeth: events were rendered
    assert [to_json(e) for e in events] == before
