"""Rendering a canonical event as a UA dataLayer object (gtm-ua, adobe-dtm).

The action comes from the event name (``add_to_cart`` is ``add``, ``select_content``
with promotions is ``promoClick``); an event with no commerce, or a name with no
action, is rendered as a plain dataLayer event (``{"event": name, **properties}``).
Wire metadata (``$event``, ``$currency``, ``$action``) is honoured only for events
that came from a UA dataLayer; extras in ``extras["ecommerce"]`` go into the action
object (``actionField`` inside its actionField), as 2Checkout's GA4 layout keeps them in
``ecommerce``.
"""

from __future__ import annotations

from typing import Any

import msgspec

from trackway import amounts
from trackway.dialects.base import EncodeOptions, report_foreign_extras, report_uncarried
from trackway.dialects.fields import merge_extras
from trackway.issues import Issues
from trackway.model import Commerce, Event, Item
from trackway.vendors.ua import common as ua
from trackway.vendors.ua.actions import BY_KEY, BY_NAME, COMMERCE_TARGETS, Action

UA_DIALECTS = frozenset({"gtm-ua", "adobe-dtm"})
CONTAINERS = frozenset({"ecommerce", "ua_ecommerce"})
_ORDER_FIELDS = (
    "value",
    "revenue",
    "tax",
    "shipping",
    "discount",
    "coupon",
    "transaction_id",
    "payment_method",
    "shipping_tier",
    "status",
    "type",
    "affiliation",
)


def action_for(event: Event, own: bool) -> Action | None:
    """The UA action an event is rendered as, or None for a plain dataLayer event."""
    if own and "$action" in event.extras:
        return None
    if event.name == "select_content":  # gtag-ua's product or promotion click
        if event.properties.get("promotions"):
            action: Action | None = BY_KEY["promoClick"]
        elif event.commerce is not None and event.commerce.items:
            action = BY_KEY["click"]
        else:
            return None
    else:
        action = BY_NAME.get(event.name)
    if action is None or event.commerce is not None:
        return action
    if own:  # a UA action always decodes with a commerce: this was a plain event
        return None
    if action.promotions and ua.promotion_from_params(event.properties):
        return action
    carried = {f.target for f in action.field.fields} | ({"promotions"} if action.promotions else set())
    return action if carried & event.properties.keys() else None


def encode_ua(event: Event, options: EncodeOptions, target: str, issues: Issues) -> dict[str, Any]:
    own = event.dialect in UA_DIALECTS
    action = action_for(event, own)
    props = dict(event.properties)
    if action is not None:
        out = _encode_action(event, action, props, own, options, target, issues)
    else:
        out = {"event": event.name}
        if event.commerce is not None:
            out["ecommerce"] = _encode_bare(event, target, issues)
    ua.put_params(out, props, "$", issues)
    if event.id:
        out["event_id"] = event.id
    report_uncarried(event, frozenset(), target, issues)
    report_foreign_extras(event.extras, CONTAINERS, target, issues)
    return out


def _encode_bare(event: Event, target: str, issues: Issues) -> dict[str, Any]:
    """The ``ecommerce`` object of an event with no UA action: its currency and extras."""
    where = f"UA has no action for {event.name!r}: it"
    meaning = ua.DATALAYER_AMOUNTS
    c = amounts.render(
        event, meaning, issues, dialect=target, carried=(), base="$", where=where, items_carried=False
    )
    assert c is not None
    ecom: dict[str, Any] = {}
    if c.currency is not None:
        ecom["currencyCode"] = c.currency
    _not_carried(c, set(), f"UA has no action for {event.name!r}: it", issues)
    if c.items:
        issues.warning(
            "commerce.items",
            "NOT_CARRIED",
            f"UA has no action for {event.name!r}: its {len(c.items)} items are left out",
        )
    merge_extras(ecom, event.extras.get("ua_ecommerce") or {}, "$.ecommerce", issues)
    merge_extras(ecom, event.extras.get("ecommerce") or {}, "$.ecommerce", issues)
    return ecom


def _encode_action(
    event: Event,
    action: Action,
    props: dict[str, Any],
    own: bool,
    options: EncodeOptions,
    target: str,
    issues: Issues,
) -> dict[str, Any]:
    path = f"$.ecommerce.{action.key}"
    fields = {f.target for f in (*action.direct.fields, *action.field.fields)}
    c = (
        amounts.render(
            event,
            ua.DATALAYER_AMOUNTS,
            issues,
            dialect=target,
            carried=fields.intersection(amounts.AMOUNT_FIELDS),
            base=path,
            where=f"UA's {action.key}",
            items_carried=action.products,
        )
        or Commerce()
    )
    meta = event.extras if own else {}
    out: dict[str, Any] = {}
    wire_event = meta.get("$event", action.event)
    if wire_event is not None:
        out["event"] = wire_event
    obj: dict[str, Any] = {}
    af: dict[str, Any] = {}
    carried: set[str] = set()
    for table, dest in ((action.direct, obj), (action.field, af)):
        for f in table.fields:
            carried.add(f.target)
            if f.target in COMMERCE_TARGETS:
                v = getattr(c, f.target)
            else:
                v = props.pop(f.target) if props.get(f.target) is not None else None
            if v is not None:
                dest[f.wire] = v
    _not_carried(c, carried, f"UA's {action.key}", issues)
    action_extras = event.extras.get("ecommerce")
    action_extras = action_extras if type(action_extras) is dict else {}
    af_extras = action_extras.get("actionField")
    if type(af_extras) is dict:
        merge_extras(af, af_extras, f"{path}.actionField", issues)
    if af or type(af_extras) is dict or action.required:
        obj["actionField"] = af
    ecom: dict[str, Any] = {}
    if action.key == "impressions":
        items = c.items or []
        if not own and type(props.get("item_list_name")) is str:  # GA4's list applies to every item
            items = _with_list(items, props.pop("item_list_name"))
        ecom["impressions"] = ua.write_products(items, ua.PRODUCT, issues, path)
    elif action.products and c.items is not None:
        obj["products"] = ua.write_products(c.items, ua.PRODUCT, issues, f"{path}.products")
    elif c.items:
        issues.warning(
            "commerce.items",
            "NOT_CARRIED",
            f"UA's {action.key} carries no products: the event's {len(c.items)} items are left out",
        )
    if action.promotions:
        _encode_promotions(props, obj)
    place = meta.get("$currency")
    if c.currency is not None:
        home = out if place == "root" else obj if place == "action" else ecom
        home["currencyCode"] = c.currency
    if action.key == "impressions":  # a list: what has no place in it goes beside it
        merge_extras(ecom, action_extras, "$.ecommerce", issues)
    else:
        rest = {k: v for k, v in action_extras.items() if k != "actionField" or type(v) is not dict}
        merge_extras(obj, rest, path, issues)
        ecom[action.key] = obj
    _fill(action, c, obj, af, path, options, issues)
    merge_extras(ecom, event.extras.get("ua_ecommerce") or {}, "$.ecommerce", issues)
    out["ecommerce"] = ecom
    return out


def _fill(
    action: Action,
    c: Commerce,
    obj: dict[str, Any],
    af: dict[str, Any],
    path: str,
    options: EncodeOptions,
    issues: Issues,
) -> None:
    """The 2Checkout defaults (checkout step, orderDiscountCoupon) and the required keys."""
    if action.key == "checkout" and "step" not in af and options.checkout_step is not None:
        af["step"] = options.checkout_step
        issues.warning(
            f"{path}.actionField.step",
            "VALUE_FILLED",
            f"the event has no checkout step; wrote the checkout_step option ({options.checkout_step})",
        )
    for wire in action.required:
        if af.get(wire) is None or af.get(wire) == "":
            hint = "set the checkout_step option" if wire == "step" else "the event needs its transaction id"
            issues.error(
                f"{path}.actionField.{wire}",
                "VALUE_REQUIRED",
                f"UA's {action.key} needs actionField.{wire}, and the event gives none; {hint}",
            )
    home = af if "coupon" in action.field.by_wire else obj if "coupon" in action.direct.by_wire else None
    default = options.order_discount_coupon
    if home is not None and c.coupon and default is not None and "orderDiscountCoupon" not in home:
        home["orderDiscountCoupon"] = default
        where = "actionField." if home is af else ""
        issues.warning(
            f"{path}.{where}orderDiscountCoupon",
            "VALUE_FILLED",
            f"the order has a coupon but no orderDiscountCoupon; wrote the default {default!r}",
        )


def _with_list(items: list[Item], name: str) -> list[Item]:
    return [it if it.list_name is not None else msgspec.structs.replace(it, list_name=name) for it in items]


def _encode_promotions(props: dict[str, Any], obj: dict[str, Any]) -> None:
    promos = props.pop("promotions", None)
    if promos is None:
        promo = ua.promotion_from_params(props)
        if promo is None:
            return
        for key in promo:
            del props[key]
        promos = [promo]
    obj["promotions"] = ua.write_promotions(promos, ua.PROMOTION)


def _not_carried(c: Commerce, carried: set[str], where: str, issues: Issues) -> None:
    for key in _ORDER_FIELDS:
        v = getattr(c, key)
        if v is not None and key not in carried:
            issues.warning(
                f"commerce.{key}",
                "NOT_CARRIED",
                f"{where} has no field for the order {key} ({v}); it is left out",
            )
