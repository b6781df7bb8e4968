"""trackway.destinations.types: Trackway's own types and those the vendors declare."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from trackway import vendors
from trackway.destinations import types
from trackway.destinations.webhook import ENCODER as WEBHOOK
from trackway.errors import ConfigError

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
