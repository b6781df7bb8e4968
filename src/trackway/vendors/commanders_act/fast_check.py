"""Whether a server-form body is free of errors, answered fast for plain bodies. No I/O.

The ``commanders-act`` destination checks every event it renders by decoding it
(:func:`trackway.vendors.commanders_act.adapter.decode_server`), because Commanders
Act's API answers 200 to an event its rules reject and drops it. That decode builds a
whole canonical event to find, almost always, no error: 64 us of a purchase's 110 us.
:func:`no_error` answers the one question the encoder asks, whether the general path
would report an error, for plain bodies: ``msgspec.convert`` puts the body into wire
Structs generated from the same field tables (:func:`trackway.dialects.fastpath.compile_table`:
the tables' types checked in C, the tables' rules for the rest), then the events
reference's rules that can make an error are checked on them.

It answers True only when nothing could be an error; anything else (a key the tables do
not know inside an item, a product, the user or the context; a null; a value a rule
flags, even with a warning; a rule's required parameter missing) answers False, and the
general path decides. ``tests/vendors/commanders_act/test_fast_check.py`` holds it to
the general path on generated bodies: True never where the general path finds an error.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from trackway.dialects.fastpath import Fallback, compile_table, wire_attrs
from trackway.dialects.fields import Field, Table
from trackway.rules.values import obj, sent, string
from trackway.vendors.commanders_act import schema as s
from trackway.vendors.commanders_act.user import EPOCH

_Product, _product = compile_table(s.PRODUCT, "CaProductWire")
_Item, _item = compile_table(s.ITEM, "CaItemWire", {"product": _Product | UnsetType})
_User, _user = compile_table(s.USER, "CaUserWire")
_Page, _page = compile_table(s.PAGE, "CaPageWire")
_Device, _device = compile_table(s.DEVICE, "CaDeviceWire")
_Context, _context = compile_table(
    s.CONTEXT, "CaContextWire", {"page": _Page | UnsetType, "device": _Device | UnsetType}
)
# The body's root: the commerce and documented parameters (the tables the general path
# reads it with), the name, the user and the context. Other keys are free properties,
# which no rule checks: the Struct drops them.
_ROOT = Table(
    "Commanders Act server body (fast check)",
    [
        *s.COMMERCE.fields,
        *s.PARAMS.fields,
        Field("event_name", "event_name", string),
        Field("user", "user", obj),
        Field("context", "context", obj),
    ],
)
_Root, _root = compile_table(
    _ROOT,
    "CaServerBodyWire",
    {
        "items": list[_Item] | UnsetType,  # type: ignore[valid-type]
        "user": _User | UnsetType,
        "context": _Context | UnsetType,
    },
    forbid_unknown=False,
)
_NOT_PLAIN = (msgspec.ValidationError, Fallback, OverflowError, RecursionError)


_ROOT_ATTR, _CONTEXT_ATTR = wire_attrs(_ROOT), wire_attrs(s.CONTEXT)
_NAME, _ITEMS, _USER, _CONTEXT = (_ROOT_ATTR[k] for k in ("event_name", "items", "user", "context"))
_PRODUCT = wire_attrs(s.ITEM)["product"]
_PAGE, _DEVICE = _CONTEXT_ATTR["page"], _CONTEXT_ATTR["device"]


def no_error(body: dict[str, Any]) -> bool:
    """True: :func:`~trackway.vendors.commanders_act.adapter.decode_server` reports no
    error for ``body``; False: it may, decode it to know (see the module docstring)."""
    try:
        return _clean(body, msgspec.convert(body, _Root))
    except _NOT_PLAIN:
        return False


def _clean(body: dict[str, Any], w: Any) -> bool:
    name = getattr(w, _NAME)
    if not name:
        return False
    _root(w)  # the tables' rules: raises Fallback on any issue
    if not rules_hold(name, body):
        return False
    items = getattr(w, _ITEMS)
    if items is not UNSET and not all(_item_clean(i) for i in items):
        return False
    user_wire = getattr(w, _USER)
    if user_wire is not UNSET:
        user = _user(user_wire)
        categories = user.get("consent.categories")
        if categories is not None and not all(type(c) is str for c in categories):
            return False
    return _context_clean(getattr(w, _CONTEXT))


def rules_hold(name: str, body: dict[str, Any]) -> bool:
    """The events reference's rules that can make an error, on a body whose values the
    tables accept: the required parameters, items and user; a currency where an amount
    is set (the renderer of plain events asks it too)."""
    rule = s.EVENTS.get(name)
    if rule is not None:
        for key in rule.required:
            if not sent(body.get(key)):
                return False
        if rule.items == "required" and not body.get("items"):
            return False
        if rule.user and "user" not in body:
            return False
    if body.get("currency") is None:
        return body.get("value") is None and body.get("revenue") is None
    return True


def _item_clean(w: Any) -> bool:
    item = _item(w)
    product_wire = getattr(w, _PRODUCT)
    if item.get("item_id") is None or item.get("quantity") is None or product_wire is UNSET:
        return False
    product = _product(product_wire)
    # The unit price (price - discount) is exact: the tables' amounts are under 10^19 with
    # at most 9 decimals, far within the 60 digits read.unit_price allows.
    return product.get("item_name") is not None and product.get("price") is not None


def _context_clean(w: Any) -> bool:
    if w is UNSET:
        return False
    context = _context(w)
    if not context.get("id") or context.get("timestamp") is None:
        return False
    EPOCH + timedelta(milliseconds=context["timestamp"])  # out of range: OverflowError
    for attr, convert in ((_PAGE, _page), (_DEVICE, _device)):
        sub = getattr(w, attr)
        if sub is not UNSET:
            convert(sub)
    return True
