"""The ``segment`` destination type: Segment's HTTP Tracking API ``/v1/batch``. Pure: no I/O.

A canonical event becomes a ``track`` call (preceded by an ``identify`` call carrying
``event.user`` as traits when it has any): ``event`` is Segment's e-commerce spec v2 name
of the canonical (GA4) name (:data:`NAMES`; other names are sent as they are),
``messageId`` the event's id (Segment deduplicates on it; the identify call's is the id
and ``-identify``), ``timestamp`` when the event happened, ``userId``/``anonymousId``,
``context`` (page, ip, userAgent, locale) and ``properties``: the event's other
parameters, then the spec's fields from the commerce part:

- order events (``Order Completed``, ``Order Refunded``, ``Checkout Started``,
  ``Payment Info Entered``): ``order_id``, ``affiliation``, ``revenue`` (after discount,
  tax and shipping excluded), ``total`` (tax and shipping included), ``tax``,
  ``shipping``, ``discount``, ``coupon``, ``currency``, ``payment_method``,
  ``shipping_method`` (the shipping tier) and ``products``. Amounts are those
  the event states or that follow from what it states (:mod:`trackway.amounts`), never
  an assumed 0, written as JSON numbers with their digits kept;
- product events (``Product Viewed``, ``Product Added``, ...): the product's fields at
  the top level (the spec's form), or ``products`` when the event has several items;
- lists, carts and searches: ``products``, ``list_id``/``category``, ``query``.

A product is ``product_id`` (the item's product id, else its item id), ``sku`` (item id),
``name``, ``price``, ``quantity``, ``category`` (the item's categories joined with "/"),
``brand``, ``variant``, ``position`` (its index), ``coupon``, ``url``, ``image_url``.

Limits (Segment's): a call over 32 KB is refused; a request is at most 500 KB.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec

from trackway import amounts
from trackway.amounts import Part
from trackway.destinations import options as options_
from trackway.destinations.base import Encoded, Outgoing, Refusal
from trackway.destinations.batching import body, pack
from trackway.model import Commerce, Event, Item, encode_json

TYPE = "segment"
BASE_URL = "https://api.segment.io"
MAX_CALL_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
_PREFIX = b'{"batch":['

# Canonical (GA4) names -> Segment's e-commerce spec v2 names.
NAMES = {
    "view_item": "Product Viewed",
    "select_item": "Product Clicked",
    "add_to_cart": "Product Added",
    "remove_from_cart": "Product Removed",
    "add_to_wishlist": "Product Added to Wishlist",
    "view_cart": "Cart Viewed",
    "begin_checkout": "Checkout Started",
    "add_payment_info": "Payment Info Entered",
    "purchase": "Order Completed",
    "refund": "Order Refunded",
    "search": "Products Searched",
    "view_search_results": "Products Searched",
    "view_item_list": "Product List Viewed",
    "view_promotion": "Promotion Viewed",
    "select_promotion": "Promotion Clicked",
}
ORDER = frozenset({"purchase", "refund", "begin_checkout", "add_payment_info"})
PRODUCT = frozenset({"view_item", "select_item", "add_to_cart", "remove_from_cart", "add_to_wishlist"})
# The parts (trackway.amounts) of the order amounts, each sent as Segment's property of its
# name; module globals, as amounts.values reads them (an enum member read from its class costs).
_REVENUE, _TOTAL, _TAX = Part.REVENUE, Part.TOTAL, Part.TAX
_SHIPPING, _DISCOUNT = Part.SHIPPING, Part.DISCOUNT
_RENAMED = frozenset({"search", "view_search_results", "view_item_list"})  # see properties()
_PAGE = ("url", "path", "title", "referrer", "search")  # the page fields Segment's context has


def _time(value: datetime) -> str:
    """ISO 8601 in UTC to the millisecond (truncated), ``Z``. %-formatting the fields took
    0.8-0.9 us, the same as an f-string 1.6 us, isoformat 1.3 us, strftime twice that."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (  # noqa: UP031 (see above)
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond // 1000,
    )


# The calls and their parts are msgspec structs (omit_defaults: a field left at None is
# not written; the fields' order is the keys' order) rather than dicts built key by key,
# which (with the batch loop below) took the encoder from 61,000 to 82,000 events/s of CPU
# time on bench/forward.py's events (1.35x). Fields are set positionally (faster than by
# keyword); each defaults to None but ``type``, so that encode_json's fallback (which
# writes a struct's fields that are not at their default, as msgspec does) writes the
# same bytes.


class _Product(msgspec.Struct, omit_defaults=True, gc=False):
    """A product object (see the module docstring)."""

    product_id: str | None = None
    sku: str | None = None
    name: str | None = None
    price: Decimal | None = None
    quantity: int | None = None
    category: str | None = None
    brand: str | None = None
    variant: str | None = None
    position: int | None = None
    coupon: str | None = None
    url: str | None = None
    image_url: str | None = None


class _Shop(msgspec.Struct, omit_defaults=True, gc=False):
    """The properties of an event's commerce part, products included (a single product's
    fields are not: see :func:`properties`): an order's (``value`` None), or another
    event's (the order's fields None). The amounts are the parts of their names."""

    order_id: str | None = None
    affiliation: str | None = None
    coupon: str | None = None
    revenue: Decimal | None = None
    total: Decimal | None = None
    tax: Decimal | None = None
    shipping: Decimal | None = None
    discount: Decimal | None = None
    value: Decimal | None = None
    currency: str | None = None
    payment_method: str | None = None
    shipping_method: str | None = None
    products: list[_Product] | None = None


class _Context(msgspec.Struct, omit_defaults=True, gc=False):  # the fields in Segment's names
    page: dict[str, Any] | None = None  # None rather than {}: left out
    ip: Any = None
    userAgent: Any = None
    locale: Any = None


class _Track(msgspec.Struct, omit_defaults=True, gc=False):
    type: str  # "track"; a field, not a msgspec tag: encode_json's fallback writes fields only
    event: str | None = None
    messageId: str | None = None
    userId: str | None = None
    anonymousId: str | None = None
    timestamp: str | None = None
    context: _Context | None = None
    properties: dict[str, Any] | _Shop | None = None  # never None: {} is written


class _Identify(msgspec.Struct, omit_defaults=True, gc=False):
    type: str  # "identify"
    messageId: str | None = None
    userId: str | None = None
    anonymousId: str | None = None
    timestamp: str | None = None
    context: _Context | None = None
    traits: dict[str, Any] | None = None


def _product(item: Item) -> _Product:
    """Segment's product object of a canonical item (fields it has, in the spec's names)."""
    categories = item.categories
    return _Product(
        item.product_id or item.item_id,
        item.item_id,
        item.item_name,
        item.price,
        item.quantity,
        "/".join(categories) if categories else None,
        item.brand,
        item.variant,
        item.index,
        item.coupon,
        item.url,
        item.image_url,
    )


def _fields(struct: msgspec.Struct) -> dict[str, Any]:
    """The fields of ``struct`` that are not None, in its order: what msgspec writes."""
    return {
        k: v
        for k, v in zip(struct.__struct_fields__, msgspec.structs.astuple(struct), strict=True)
        if v is not None
    }


def _shop(event: Event, commerce: Commerce, items: list[Item]) -> _Shop:
    """The properties of ``commerce``, ``event``'s, with ``items`` as its products."""
    name = event.name
    products = [_product(item) for item in items] if items else None
    if name not in ORDER:
        return _Shop(value=commerce.value, currency=commerce.currency, products=products)
    found, _ = amounts.values_of(event)
    return _Shop(
        commerce.transaction_id,
        commerce.affiliation,
        commerce.coupon,
        found.get(_REVENUE),
        found.get(_TOTAL),
        found.get(_TAX),
        found.get(_SHIPPING),
        found.get(_DISCOUNT),
        None,
        commerce.currency,
        commerce.payment_method,
        commerce.shipping_tier,
        products,
    )


def properties(event: Event) -> dict[str, Any] | _Shop:
    """The ``properties`` of the event's track call (see the module docstring): a
    :class:`_Shop` when the commerce part gives them all, else a dict."""
    own = event.properties
    name = event.name
    out = {k: v for k, v in own.items() if not k.startswith("$")} if own else {}
    if name in _RENAMED:
        if name == "view_item_list":
            for ours, theirs in (("item_list_id", "list_id"), ("item_list_name", "category")):
                if ours in own:
                    out[theirs] = own[ours]
        elif "search_term" in own:
            out["query"] = own["search_term"]
    commerce = event.commerce
    if commerce is None:
        return out
    items = commerce.items or []
    single = name in PRODUCT and len(items) == 1
    shop = _shop(event, commerce, [] if single else items)
    if not out and not single:
        return shop
    # Set in the struct's order: a key the event's own properties have keeps its place.
    out.update(_fields(shop))
    if single:
        out.update(_fields(_product(items[0])))
    return out


def context(event: Event) -> _Context | None:
    """Segment's ``context`` from the event's: page, ip, userAgent, locale (None: none of them)."""
    ctx = event.context
    if type(ctx) is not dict:
        return None
    page = ctx.get("page")
    kept = None
    if type(page) is dict:
        kept = {k: page[k] for k in _PAGE if page.get(k) is not None} or None
    ip, agent, locale = ctx.get("ip"), ctx.get("user_agent"), ctx.get("locale")
    if kept is None and ip is None and agent is None and locale is None:
        return None
    return _Context(kept, ip, agent, locale)


def _calls(event: Event, times: dict[datetime, str]) -> tuple[_Track, _Identify | None]:
    """The Segment calls of one event: ``track``, and ``identify`` when it has traits (sent
    before it). ``times``: the timestamps written so far, by time (see :meth:`SegmentEncoder.encode`)."""
    when = event.timestamp or event.received_at
    timestamp = None
    if when is not None:
        timestamp = times.get(when)
        if timestamp is None:
            timestamp = times[when] = _time(when)
    ctx = context(event)
    user_id, anonymous_id = event.user_id, event.anonymous_id
    track = _Track(
        "track",
        NAMES.get(event.name, event.name),
        event.id,
        user_id,
        anonymous_id,
        timestamp,
        ctx,
        properties(event),
    )
    if not event.user:
        return track, None
    identify = _Identify(
        "identify", f"{event.id}-identify", user_id, anonymous_id, timestamp, ctx, event.user
    )
    return track, identify


def calls(event: Event) -> list[dict[str, Any]]:
    """The Segment calls of one event as Python values (Decimals kept): ``identify`` (when
    it has traits), then ``track``."""
    track, identify = _calls(event, {})
    out: list[dict[str, Any]] = msgspec.to_builtins(
        [track] if identify is None else [identify, track], builtin_types=(Decimal,)
    )
    return out


def _refusal(event: Event) -> str | None:
    if not event.id:
        return (
            f"event {event.name!r} has no id: Segment's messageId (its deduplication key) is the event's id; "
            "only events the store assigned an id to can be forwarded"
        )
    if event.user_id is None and event.anonymous_id is None:
        return (
            "Segment requires userId or anonymousId, and the event has neither (stored cookieless, without "
            "consent for identifiers, or sent without a client id): it cannot be sent to Segment"
        )
    return None


def _options(options: Mapping[str, Any]) -> tuple[str, str]:
    options_.known("segment", options, SegmentEncoder.options)
    key = options_.text("segment", options, "write_key", "the source's write key (in the source's settings)")
    return key, options_.url("segment", options, "base_url", BASE_URL).rstrip("/")


class SegmentEncoder:
    """The ``segment`` type's encoder (see the module docstring)."""

    type = TYPE
    options: Sequence[str] = ("write_key", "base_url")
    secrets = frozenset({"write_key"})

    def encode(self, events: Sequence[Event], options: Mapping[str, Any], now: datetime) -> Encoded:
        key, base = _options(options)
        out = Encoded()
        parts = []
        # Events of one request share their time (GA4 MP's without timestamp_micros): each
        # time is written once (_time costs 0.9-1.8 us). On bench/forward.py's events (25 a
        # request) this took the encoder from 82,000 to 102,000 events/s of CPU time; with
        # each event at its own millisecond, 81,000-82,000 (within the noise).
        times: dict[datetime, str] = {}
        for event in events:
            why = _refusal(event)
            if why is not None:
                out.refused.append(Refusal(event.id, why))
                continue
            track, identify = _calls(event, times)
            data = encode_json(track)
            longest = len(data)
            if identify is not None:
                first = encode_json(identify)
                longest = max(longest, len(first))
                data = first + b"," + data
            if longest > MAX_CALL_BYTES:
                out.refused.append(
                    Refusal(
                        event.id,
                        f"a Segment call is at most {MAX_CALL_BYTES:,} bytes (32 KB) and this event's is "
                        f"{longest:,}: Segment would reject it; shorten its properties or traits",
                    )
                )
                continue
            parts.append((event.id, data))
        suffix = b'],"sentAt":' + encode_json(_time(now)) + b"}"
        batches, refused = pack(
            parts,
            max_events=len(parts) or 1,
            max_bytes=MAX_BATCH_BYTES,
            overhead=len(_PREFIX) + len(suffix),
            what="Segment's batch limit",
        )
        out.refused.extend(refused)
        auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode("ascii")
        headers = {"Content-Type": "application/json", "Authorization": auth}
        for batch in batches:
            ids = tuple(event for event, _ in batch)
            data = body(_PREFIX, batch, suffix)
            out.requests.append(Outgoing("POST", f"{base}/v1/batch", headers, data, ids))
        return out


ENCODER = SegmentEncoder()
