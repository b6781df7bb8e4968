"""The canonical event: one shape for every dialect.

The JSON form (:func:`to_json`, :func:`from_json`) is a public contract; it is what
``trackway export`` writes and the API returns. Money is :class:`~decimal.Decimal`
(a JSON number with its digits kept), times are UTC and written as ISO 8601 with
``Z``, identifiers are strings.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec


class Item(msgspec.Struct, omit_defaults=True, gc=False):
    """One line of a cart, list or order, in GA4 terms.

    Not keyword-only: the typed fast path builds items positionally, which measured
    twice as fast as with keywords; code should still name the fields.

    ``price`` is the unit price paid (after the unit ``discount``); Commanders Act's
    ``product.price`` (the list price) is ``price + discount``.
    """

    item_id: str | None = None
    item_name: str | None = None
    product_id: str | None = None
    price: Decimal | None = None
    quantity: int | None = None
    discount: Decimal | None = None
    coupon: str | None = None
    currency: str | None = None
    brand: str | None = None
    categories: list[str] = []
    variant: str | None = None
    list_id: str | None = None
    list_name: str | None = None
    index: int | None = None
    affiliation: str | None = None
    url: str | None = None
    image_url: str | None = None
    extras: dict[str, Any] = {}


class Commerce(msgspec.Struct, omit_defaults=True, kw_only=True, gc=False):
    """The money side of an event. Amounts are kept as the source states them, and mean
    what the event's dialect declares (:mod:`trackway.amounts`):

    ``value`` is the event's monetary value as the source states it: GA4 ``value`` and
    Koalect ``value`` (the items' price x quantity, tax and shipping excluded), Universal
    Analytics ``revenue``, Commanders Act ``value`` (tax and shipping included on an order)
    and Convead ``revenue`` (the full order cost). ``revenue`` is Commanders Act's
    ``revenue``: after discount, tax and shipping excluded. ``tax``, ``shipping`` and
    ``discount`` (an order discount) are what the source sends. :func:`trackway.amounts.of_event`
    reads them as parts of one meaning each (subtotal, discount, revenue, tax, shipping,
    total) with where each came from; encoders render each target's amounts by its vendor's
    definition, and never derive one amount from another without an issue saying so.
    """

    currency: str | None = None
    currency_filled: bool = False
    value: Decimal | None = None
    revenue: Decimal | None = None
    tax: Decimal | None = None
    shipping: Decimal | None = None
    discount: Decimal | None = None
    coupon: str | None = None
    transaction_id: str | None = None
    payment_method: str | None = None
    shipping_tier: str | None = None
    status: str | None = None
    type: str | None = None
    affiliation: str | None = None
    items: list[Item] | None = None


class Event(msgspec.Struct, omit_defaults=True, kw_only=True, gc=False):
    """A canonical event. See ``docs/canonical-event.md`` for every field."""

    name: str
    dialect: str
    id: str = ""
    property: str = ""
    timestamp: datetime | None = None
    received_at: datetime | None = None
    anonymous_id: str | None = None
    user_id: str | None = None
    user: dict[str, Any] | None = None
    consent: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    commerce: Commerce | None = None
    properties: dict[str, Any] = {}
    extras: dict[str, Any] = {}


# gc=False: these structs never form reference cycles, and leaving them out of
# the cycle collector makes building them measurably cheaper on the hot path.

# Keys of ``Event.extras`` that start with "$" are wire metadata an adapter keeps
# for exact round trips (the call form of a payload, request-level fields); they
# are never rendered as payload fields.
WIRE_PREFIX = "$"

# Keys of ``Event.consent`` Trackway derives from the signals (trackway.privacy.prepare):
# never signals themselves, and not rendered into any dialect (they are recomputed).
CONSENT_DERIVED = ("purposes", "assumed", "cookieless")

# ``Event.context["ids"]``: the vendors' own ids of the device (the browser tracker's), by
# name; a value longer than this is not an id a vendor sets.
DEVICE_ID_MAX = 200

_encoder = msgspec.json.Encoder(decimal_format="number")
_decoder = msgspec.json.Decoder(Event, float_hook=Decimal)


def to_builtins(event: Event) -> dict[str, Any]:
    """The JSON form as Python values (Decimals stay Decimals, times become strings)."""
    out: dict[str, Any] = msgspec.to_builtins(event, builtin_types=(Decimal,))
    return out


def to_json(event: Event) -> bytes:
    """The JSON form. Never raises: values no JSON can hold (see :func:`encode_json`)
    are written in a form it can."""
    try:
        return _encoder.encode(event)
    except (ValueError, UnicodeEncodeError, OverflowError, RecursionError):
        return _encoder.encode(_jsonable(event))


def from_json(data: bytes | str) -> Event:
    return _decoder.decode(data)


def encode_json(value: Any) -> bytes:
    """JSON with Decimals written as numbers, digits kept.

    Never raises on the values a payload can bring (events are built from payloads):
    a non-finite number is written as the string ``"NaN"``, ``"Infinity"`` or
    ``"-Infinity"``, an integer of more than 4,000 digits as a Decimal number, a lone
    surrogate as U+FFFD, and nesting deeper than 64 levels as the string ``"…"``."""
    try:
        return _encoder.encode(value)
    except (ValueError, UnicodeEncodeError, OverflowError, RecursionError):
        return _encoder.encode(_jsonable(value))


_MAX_DEPTH = 64  # as trackway.rules.values.MAX_DEPTH (the model imports no rules)
_SURROGATE = re.compile("[\ud800-\udfff]")


def _jsonable(value: Any, depth: int = 0) -> Any:
    """``value`` with what msgspec cannot write replaced (the slow path of a rare case)."""
    t = type(value)
    if t is str:
        return value if value.isascii() else _SURROGATE.sub("\ufffd", value)
    if t is Decimal:
        return value if value.is_finite() else str(value)
    if t is float:
        return value if value - value == 0 else str(Decimal(value))
    if t is int:
        return value if -(10**4000) < value < 10**4000 else Decimal(value)
    if depth >= _MAX_DEPTH and (t is dict or t is list or t is tuple or hasattr(value, "__struct_fields__")):
        return "…"
    if t is dict:
        return {_jsonable(k, depth): _jsonable(v, depth + 1) for k, v in value.items()}
    if t is list or t is tuple:
        return [_jsonable(v, depth + 1) for v in value]
    if hasattr(value, "__struct_fields__"):  # as msgspec writes it: fields at their default left out
        out = {}
        for f in msgspec.structs.fields(value):
            v = getattr(value, f.name)
            if f.default is not msgspec.NODEFAULT:
                default = f.default
            elif f.default_factory is not msgspec.NODEFAULT:
                default = f.default_factory()
            else:
                default = msgspec.NODEFAULT  # required: always written
            if v is not default and (type(v) is not type(default) or v != default):
                out[f.encode_name] = _jsonable(v, depth + 1)
        return out
    return value
