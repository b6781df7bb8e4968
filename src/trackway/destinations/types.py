"""Every destination type: Trackway's own, then those the vendors declare.

A type's encoder is named ``"module:name"`` and imported only when asked for
(:func:`encoder`), so listing the types imports no encoder."""

from __future__ import annotations

from trackway import vendors
from trackway.destinations.base import Encoder
from trackway.errors import ConfigError

# Types that belong to no vendor.
OWN = {"webhook": "trackway.destinations.webhook:ENCODER"}


def types() -> dict[str, str]:
    """Type name -> ``"module:name"`` of its encoder: :data:`OWN` and every vendor's."""
    return OWN | vendors.destination_types()


def encoder(name: str) -> Encoder:
    """The encoder of type ``name`` (imported now)."""
    known = types()
    ref = known.get(name)
    if ref is None:
        raise ConfigError(
            f"unknown destination type {name!r}: expected one of {', '.join(sorted(known))}; "
            "a vendor declares its types in Vendor.destinations"
        )
    found: Encoder = vendors.resolve(ref)
    return found
