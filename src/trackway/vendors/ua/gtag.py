"""``gtag-ua``: gtag.js commands ``["event", name, params]`` sent to a Universal Analytics property.

The first table of the 2Checkout document is this dialect (its heading was cut off).
Event names are already snake_case and are kept as sent (``checkout_progress``,
``select_content`` included; ``select_item`` and ``select_promotion`` are written as
``select_content``). The commerce parameters (``transaction_id``, ``affiliation``,
``value``, ``currency``, ``tax``, ``shipping``, ``coupon``, ``items``) go to
``commerce``; the others, ``checkout_step``, ``checkout_option`` and ``promotions``
included, are ``properties``. Items are UA items (``id``, ``name``, ``category``,
``list_name``, ``list_position``, ...); promotions (``id``, ``name``, ``creative_name``,
``creative_slot``) are kept GA4-named in ``properties.promotions``.

Rules: purchase and refund need ``transaction_id``; every item needs ``id`` or ``name``.
UA had no mandatory currency (the reporting view's currency applied): a ``value``
without ``currency`` is a RECOMMENDED_MISSING warning, not an error; the property's
``default_currency``, when it has one, fills it instead (a VALUE_FILLED warning), as the view's did.

On ``set_checkout_option`` the ``value`` is the option chosen, not money: Google's
example sends ``{checkout_step: 1, checkout_option: 'shipping method', value: 'USPS'}``.
There it is ``properties.value`` as sent (a string or a number; anything else is a
TYPE_INVALID error). gtag.js commands other than ``event`` (``config``, ``set``,
``consent``, ``js``, ``get``) are non-events: no event and no issue (see ``commands``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from trackway import amounts
from trackway.dialects.base import (
    DecodeContext,
    EncodeOptions,
    EventDoc,
    SingleEventAdapter,
    report_foreign_extras,
    report_uncarried,
)
from trackway.dialects.fields import Field, Table
from trackway.issues import MISSING, Issues, article, describe
from trackway.model import Commerce, Event
from trackway.rules.codes import currency
from trackway.rules.values import amount, array, ident, integer, string
from trackway.vendors.ga4 import commands
from trackway.vendors.ga4 import common as ga4
from trackway.vendors.ua import common as ua

PARAMS = Table(
    "gtag.js UA event parameters",
    [
        Field("transaction_id", "transaction_id", ident, "purchase, refund: required"),
        Field("affiliation", "affiliation", string),
        Field("value", "value", amount, "the event's value as sent"),
        Field("currency", "currency", currency, "optional: the reporting view's currency applies"),
        Field("tax", "tax", amount),
        Field("shipping", "shipping", amount),
        Field("coupon", "coupon", string, "the order coupon"),
        Field("items", "items", array, "UA items"),
        Field("checkout_step", "checkout_step", integer, "properties.checkout_step"),
        Field("checkout_option", "checkout_option", string, "properties.checkout_option"),
        Field("promotions", "promotions", array, "properties.promotions, GA4-named"),
    ],
)
_COMMERCE = ("transaction_id", "affiliation", "value", "currency", "tax", "shipping", "coupon")
_UNCARRIED = ("revenue", "discount", "payment_method", "shipping_tier", "status", "type")
_NEEDS_ID = frozenset({"purchase", "refund"})
_AMOUNTS = ("value", "tax", "shipping")  # the amount fields rendered
_RENAMED = {"select_item": "select_content", "select_promotion": "select_content"}
_UA_ONLY = frozenset({"checkout_progress", "set_checkout_option"})
_SCORES = {None: 0, "bare": 55, "ga4": 10, "ua": 90}  # the sniff, by commands.lean
_OPTION_VALUE = frozenset({"set_checkout_option"})  # value is the option chosen, not money

EVENTS = (
    ("view_item_list", "items seen in a list"),
    ("select_content", "a product (items) or promotion (promotions) click"),
    ("view_item", "a product detail view"),
    ("add_to_cart", ""),
    ("remove_from_cart", ""),
    ("begin_checkout", ""),
    ("checkout_progress", "checkout_step, checkout_option"),
    ("set_checkout_option", "checkout_step, checkout_option"),
    ("purchase", "transaction_id required"),
    ("refund", "transaction_id required; items for a partial refund"),
    ("view_promotion", "promotions"),
    ("page_redirect", "2Checkout's retry page (a custom event)"),
)


def decode_gtag_ua(payload: Any, dialect: str, issues: Issues) -> Event | None:
    opened = commands.open_event(payload, dialect, issues)
    if opened is None:
        return None
    event, params = opened
    if params is MISSING:
        event.extras = {"$bare": True}  # sent without parameters
        return event
    if params is None:
        return event
    name = event.name
    option = MISSING
    if name in _OPTION_VALUE and "value" in params:  # the option chosen ('USPS'), not an amount
        option = params["value"]
        params = {k: v for k, v in params.items() if k != "value"}
    values, properties = PARAMS.read(params, "$[2]", issues)
    if option is not MISSING:
        if option is None or type(option) in (str, int, Decimal):
            properties["value"] = option
        else:
            issues.error(
                ("$[2]", "value"),
                "TYPE_INVALID",
                f"expected the checkout option chosen as a string such as 'USPS', got {describe(option)}",
            )
    raw_items = values.pop("items", None)
    raw_promos = values.pop("promotions", None)
    for key in ("checkout_step", "checkout_option"):
        if key in values:
            properties[key] = values.pop(key)
    if raw_promos is not None:
        properties["promotions"] = ua.read_promotions(
            raw_promos, ("$[2]", "promotions"), ua.GTAG_PROMOTION, issues
        )
    event.properties = properties
    if values or raw_items is not None:
        event.commerce = Commerce(**values)
        if raw_items is not None:
            event.commerce.items = ua.read_products(raw_items, ("$[2]", "items"), ua.GTAG_ITEM, issues)
    if name in _NEEDS_ID and (params.get("transaction_id") is None or params.get("transaction_id") == ""):
        issues.error(
            ("$[2]", "transaction_id"),
            "VALUE_REQUIRED",
            f"expected the parameter 'transaction_id' on {article(name + ' event')}, got none; "
            "add the order's id",
        )
    if event.commerce is not None:
        sent = params.get("currency") is not None
        ga4.check_money(event.commerce, "$[2]", issues, currency_required=False, currency_sent=sent)
    return event


def encode_gtag_ua(event: Event, target: str, issues: Issues) -> list[Any]:
    name = _RENAMED.get(event.name, event.name)
    params: dict[str, Any] = {}
    c = amounts.render(
        event, ua.GTAG_AMOUNTS, issues, dialect=target, carried=_AMOUNTS, base="$[2]", where="gtag.js UA"
    )
    if c is not None:
        for key in _COMMERCE:
            v = getattr(c, key)
            if v is not None:
                params[key] = v
        if c.items is not None:
            params["items"] = ua.write_products(c.items, ua.GTAG_ITEM, issues, "$[2].items")
        for key in _UNCARRIED:
            v = getattr(c, key)
            if v is not None:
                issues.warning(
                    f"commerce.{key}",
                    "NOT_CARRIED",
                    f"gtag.js UA has no parameter for the order {key} ({v}); it is left out",
                )
    props = dict(event.properties)
    if "promotions" in props:
        props["promotions"] = ua.write_promotions(props["promotions"], ua.GTAG_PROMOTION)
    elif event.name in ("view_promotion", "select_promotion"):
        promo = ua.promotion_from_params(props)
        if promo is not None:
            for key in promo:
                del props[key]
            props["promotions"] = ua.write_promotions([promo], ua.GTAG_PROMOTION)
    ua.put_params(params, props, "$[2]", issues)
    report_uncarried(event, frozenset(), target, issues)
    report_foreign_extras(event.extras, frozenset(), target, issues)
    if not params and event.dialect == target and event.extras.get("$bare"):
        return ["event", name]
    return ["event", name, params]


class GtagUa(SingleEventAdapter):
    name = "gtag-ua"
    title = "gtag.js with a Universal Analytics property"
    detect_order = 20
    callees = frozenset({"gtag"})
    amounts = ua.GTAG_AMOUNTS
    events = tuple(EventDoc(n, n, summary) for n, summary in EVENTS)

    def sniff(self, payload: Any) -> int:
        if type(payload) is not list:  # the common case under auto-detection: no call at all
            return 0
        if commands.is_command(payload):
            return commands.sniff(payload, "UA-", "G-", 45)
        side = commands.lean(payload)
        if side == "":
            return 90 if payload[1] in _UA_ONLY else 55
        return _SCORES[side]

    def decode_event(self, payload: Any, ctx: DecodeContext, issues: Issues) -> Event | None:
        event = decode_gtag_ua(payload, self.name, issues)
        if event is not None:
            ua.fill_currency([event], ctx.default_currency, "$[2].currency", issues)
        return event

    def encode(self, event: Event, options: EncodeOptions, issues: Issues) -> Any:
        return encode_gtag_ua(event, self.name, issues)

    def tables(self) -> list[Table]:
        return [PARAMS, ua.GTAG_ITEM, ua.GTAG_PROMOTION]
