"""The ``commanders-act`` destination's renderer for plain events. No I/O.

The general path renders an event with :func:`~trackway.vendors.commanders_act.write.write_event`
and then checks the body it made (:mod:`~trackway.vendors.commanders_act.fast_check`,
else a whole decode), because Commanders Act's API answers 200 to an event its rules
reject and drops it. On ``bench/forward.py``'s events that took 38 us an event (a
purchase of three items 56 us, a page view 19 us), four fifths of the delivery's time;
this renderer takes 29 and 4.5 us for them. Most traffic is plainer than what that path is built for:
an event decoded from a GA4 or dataLayer payload has no wire extras, no user traits and
no page context. :func:`render` writes such an event's body straight from the canonical
event and checks its values where they are written: each value of a type and range the
tables' rule accepts as it is (a string for a string or an identifier, a Decimal amount
under 10^19 with at most 9 decimals, a whole number within 64 bits, a member of an
enumeration or of ISO 4217). Anything else is left to the general path, which knows
what the rule makes of it.

It answers the bytes the general path writes, and only where the general path finds no
error; it answers None for anything else (not plain, or a value a rule rejects), and the
general path decides. ``tests/vendors/commanders_act/test_plain.py`` holds it to the
general path on the corpus of documented examples decoded in every dialect, their
one-change mutations and generated events.

Plain: no ``extras``; no user traits and no consent categories; a timezone-aware
timestamp; a context of device fields only (ip, user_agent, locale, ...: other keys are
left out as the general path leaves them, ``page`` is not plain); items without extras,
with at most five categories. Items and products are msgspec structs (their fields in
the order the general path writes them; a field at None is not written).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import msgspec

from trackway import amounts
from trackway.destinations.base import ErrorsOnly
from trackway.model import Event, Item, encode_json
from trackway.rules import codes, values
from trackway.rules.values import AMOUNT_INTEGER_DIGITS, INTEGER_MAX, INTEGER_MIN
from trackway.vendors.commanders_act import schema as s
from trackway.vendors.commanders_act.fast_check import rules_hold
from trackway.vendors.commanders_act.read import list_price
from trackway.vendors.commanders_act.user import EPOCH
from trackway.vendors.commanders_act.write import AMOUNTS_RENDERED

if TYPE_CHECKING:
    from typing_extensions import TypeIs

_MS = timedelta(milliseconds=1)
# The rendered amount fields and their wire keys, in the order the commerce table writes them.
_AMOUNT_FIELDS = (
    ("value", "value"),
    ("revenue", "revenue"),
    ("shipping", "shipping_amount"),
    ("tax", "tax_amount"),
)
_NANO = Decimal("1e-9")
_CURRENCIES = codes.currency_codes()
_PAYMENT_METHODS, _STATUSES = frozenset(s.PAYMENT_METHODS), frozenset(s.STATUSES)
_STRING, _AMOUNT, _WHOLE = "string", "amount", "whole"
# What each rule accepts as it is, in the terms of accepts() below.
_ACCEPTED: dict[Any, Any] = {
    values.string: _STRING,
    values.ident: _STRING,
    values.amount: _AMOUNT,
    values.integer: _WHOLE,
    values.quantity: _WHOLE,
    codes.currency: _CURRENCIES,
    s.payment_method: _PAYMENT_METHODS,
    s.purchase_status: _STATUSES,
}
# The root's wire keys a rule checks (a property of such a name is checked too); None: not plain.
_ROOT = {f.wire: _ACCEPTED.get(f.rule) for f in (*s.COMMERCE.fields, *s.PARAMS.fields)}
_DEVICE = {f.target: (f.wire, _ACCEPTED.get(f.rule, True)) for f in s.DEVICE.fields}  # True: any value
# The commerce fields written as they are (wire key = canonical field), with what their
# rule accepts, in the table's order.
_OPTIONAL = tuple(
    (f.wire, _ROOT[f.wire])
    for f in s.COMMERCE.fields
    if f.wire in ("coupon", "payment_method", "status", "type", "shipping_tier") and f.wire == f.target
)


def amount(value: Any) -> TypeIs[Decimal]:
    """:func:`trackway.rules.values.amount`'s own inline test: a finite Decimal under
    10^19 with at most 9 decimals."""
    return (
        type(value) is Decimal
        and value.is_finite()
        and value.adjusted() < AMOUNT_INTEGER_DIGITS
        and value.quantize(_NANO) == value
    )


def accepts(kind: Any, value: Any) -> bool:
    """Whether ``value`` is one a rule of ``kind`` (see _ACCEPTED) accepts as it is."""
    if kind is _STRING:
        return type(value) is str
    if kind is _AMOUNT:
        return amount(value)
    if kind is _WHOLE:
        return type(value) is int and INTEGER_MIN <= value <= INTEGER_MAX
    if kind is True:
        return value is not None
    return type(value) is str and kind is not None and value in kind


class _Product(msgspec.Struct, omit_defaults=True, gc=False):
    id: str | None = None
    name: str | None = None
    price: Decimal | None = None
    currency: str | None = None
    brand: str | None = None
    category_1: str | None = None
    category_2: str | None = None
    category_3: str | None = None
    category_4: str | None = None
    category_5: str | None = None


class _Item(msgspec.Struct, omit_defaults=True, gc=False):
    id: str | None = None
    quantity: int | None = None
    variant: str | None = None
    list_position: int | None = None
    discount: Decimal | None = None
    affiliation: str | None = None
    coupon: str | None = None
    product: _Product | None = None


def render(event: Event) -> bytes | None:
    """The server-form body of ``event`` (``context.event_id`` its id), when it is plain and
    Commanders Act's rules find no error in it; else None (see the module docstring)."""
    name, event_id, ts = event.name, event.id, event.timestamp
    if event.extras or event.user or type(name) is not str or not name or type(event_id) is not str:
        return None
    if not event_id or ts is None or ts.tzinfo is None:
        return None
    consent = event.consent
    if consent and "categories" in consent:
        return None
    context: dict[str, Any] = {"event_id": event_id, "event_timestamp": (ts - EPOCH) // _MS}
    if event.context and not _device(event.context, context):
        return None
    body: dict[str, Any] = {"event_name": name, "context": context}
    c = event.commerce
    if c is not None and not _commerce(event, c, body):
        return None
    uid, aid = event.user_id, event.anonymous_id
    if uid is not None or aid is not None:
        user: dict[str, Any] = {}
        if uid is not None:
            if type(uid) is not str:
                return None
            user["id"] = uid
        if aid is not None:
            if type(aid) is not str:
                return None
            user["consistent_anonymous_id"] = aid
        body["user"] = user
    for key, value in event.properties.items():
        if key in body:
            continue  # the rendered value is kept (the general path says so in a warning)
        if key in _ROOT and not accepts(_ROOT[key], value):
            return None
        if key == "items" or key == "user":
            return None
        body[key] = value
    if not rules_hold(name, body):
        return None
    return encode_json(body)


def _device(source: dict[str, Any], context: dict[str, Any]) -> bool:
    """Write ``source``'s device fields into ``context``; False when it is not plain."""
    device: dict[str, Any] = {}
    for key, value in source.items():
        field = _DEVICE.get(key)
        if field is None:
            if key == "page":
                return False
            continue  # Commanders Act's context has no such field: left out, as the general path does
        wire, kind = field
        if not accepts(kind, value):
            return False
        device[wire] = value
    if device:
        context["device"] = device
    return True


def _commerce(event: Event, c: Any, body: dict[str, Any]) -> bool:
    """Write the commerce fields into ``body`` in the table's order; False: not plain."""
    found = amounts.rendered_values(
        event, s.AMOUNTS, ErrorsOnly(), dialect=s.DIALECT, carried=AMOUNTS_RENDERED
    )
    if found is None:
        return False
    currency = c.currency
    if currency is not None:
        if type(currency) is not str or currency not in _CURRENCIES:
            return False
        body["currency"] = currency
    for field, wire in _AMOUNT_FIELDS:
        v = found.get(field)
        if v is not None:
            if not amount(v):
                return False
            body[wire] = v
    for wire, kind in _OPTIONAL:
        v = getattr(c, wire)
        if v is not None:
            if not accepts(kind, v):
                return False
            body[wire] = v
    if c.transaction_id is not None and event.name in s.TRANSACTION_EVENTS:
        if type(c.transaction_id) is not str:
            return False
        body["id"] = c.transaction_id
    if c.items is not None:
        items = []
        for item in c.items:
            out = _item(item)
            if out is None:
                return False
            items.append(out)
        body["items"] = items
    return True


def _item(item: Item) -> _Item | None:
    """One item, or None when it is not plain or a rule would find an error in it."""
    iid, quantity, name, price = item.item_id, item.quantity, item.item_name, item.price
    if item.extras or type(iid) is not str or type(name) is not str or not amount(price):
        return None
    if type(quantity) is not int or not INTEGER_MIN <= quantity <= INTEGER_MAX:
        return None
    variant, index, discount, affiliation, coupon = (
        item.variant,
        item.index,
        item.discount,
        item.affiliation,
        item.coupon,
    )
    if (variant is not None and type(variant) is not str) or (
        index is not None and not accepts(_WHOLE, index)
    ):
        return None
    if (affiliation is not None and type(affiliation) is not str) or (
        coupon is not None and type(coupon) is not str
    ):
        return None
    if discount is not None:
        if not amount(discount):
            return None
        price, exact = list_price(price, discount)
        if not exact or not amount(price):
            return None
    pid, currency, brand, categories = item.product_id, item.currency, item.brand, item.categories
    if (pid is not None and type(pid) is not str) or (brand is not None and type(brand) is not str):
        return None
    if currency is not None and (type(currency) is not str or currency not in _CURRENCIES):
        return None
    if categories and (len(categories) > 5 or not all(type(c) is str for c in categories)):
        return None
    product = _Product(pid, name, price, currency, brand, *categories)
    return _Item(iid, quantity, variant, index, discount, affiliation, coupon, product)
