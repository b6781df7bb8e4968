"""The enhanced-ecommerce actions of a UA dataLayer object (gtm-ua, adobe-dtm), and how one is read.

Each action is a key of ``ecommerce`` (``add``, ``purchase``, ...) with its canonical
event name, the dataLayer ``event`` UA (or 2Checkout) pushes with it, the
``actionField`` keys it carries, and the order keys 2Checkout sends directly in the
action object (``remove.coupon``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from trackway.dialects.fields import Field, Table
from trackway.issues import Issues, Path, describe
from trackway.model import Item
from trackway.rules.values import amount, ident, integer, string
from trackway.vendors.ua import common as ua

ACTION_FIELD = Table(
    "UA actionField",
    [
        Field("id", "transaction_id", ident, "purchase, refund: required"),
        Field("affiliation", "affiliation", string, "purchase, refund"),
        Field("revenue", "value", amount, "purchase, refund: tax and shipping included"),
        Field("tax", "tax", amount, "purchase, refund"),
        Field("shipping", "shipping", amount, "purchase, refund"),
        Field("coupon", "coupon", string, "purchase, refund, checkout: the order coupon"),
        Field(
            "step", "checkout_step", integer, "checkout (optional), checkout_option: properties.checkout_step"
        ),
        Field("option", "checkout_option", string, "checkout, checkout_option: properties.checkout_option"),
        Field("list", "item_list_name", string, "detail, click, add, remove: properties.item_list_name"),
    ],
)
DIRECT = Table(
    "UA add/remove keys outside actionField (2Checkout)",
    [Field("coupon", "coupon", string, "the order coupon, sent beside products")],
)
EMPTY = Table("", [])

# actionField targets that are Commerce fields; the others are Event.properties.
COMMERCE_TARGETS = frozenset({"transaction_id", "affiliation", "value", "tax", "shipping", "coupon"})


def _subset(*wires: str) -> Table:
    return Table("", [ACTION_FIELD.by_wire[w] for w in wires])


_ORDER = _subset("id", "affiliation", "revenue", "tax", "shipping", "coupon")
_CHECKOUT = _subset("step", "option", "coupon")
_OPTION = _subset("step", "option")
_LIST = _subset("list")


class Action(NamedTuple):
    key: str  # the key in ``ecommerce``
    name: str  # canonical event name
    event: str | None  # the dataLayer event pushed with it (None: UA documents no event)
    field: Table = EMPTY  # actionField keys read
    direct: Table = EMPTY  # order keys read directly in the action object
    products: bool = False  # carries ``products``
    needs_products: bool = False
    promotions: bool = False
    required: tuple[str, ...] = ()  # actionField keys whose absence is VALUE_REQUIRED


ACTIONS = (
    Action("impressions", "view_item_list", None, products=True),
    Action("detail", "view_item", None, _LIST, products=True, needs_products=True),
    Action("click", "select_item", "productClick", _LIST, products=True, needs_products=True),
    Action("add", "add_to_cart", "addToCart", _LIST, DIRECT, products=True, needs_products=True),
    Action("remove", "remove_from_cart", "removeFromCart", _LIST, DIRECT, products=True, needs_products=True),
    Action("checkout", "begin_checkout", "checkout", _CHECKOUT, products=True),  # step: optional
    Action("checkout_option", "set_checkout_option", "checkoutOption", _OPTION),
    Action("purchase", "purchase", "purchase", _ORDER, products=True, required=("id",)),
    Action("refund", "refund", None, _ORDER, products=True, required=("id",)),
    Action("promoView", "view_promotion", None, promotions=True),
    Action("promoClick", "select_promotion", "promotionClick", promotions=True),
)
BY_KEY = {a.key: a for a in ACTIONS}
BY_NAME = {a.name: a for a in ACTIONS} | {"checkout_progress": BY_KEY["checkout"]}

_MISSING: Any = object()


class ActionRead(NamedTuple):
    commerce: dict[str, Any]  # Commerce fields
    items: list[Item] | None
    properties: dict[str, Any]
    extras: dict[str, Any]  # unknown keys of the action object, "actionField": its unknown keys
    currency: Any  # currencyCode sent inside the action object, or None


def read_action(action: Action, obj: Any, path: str, taken: frozenset[str], issues: Issues) -> ActionRead:
    """Read ``ecommerce[action.key]``. ``taken``: property names already used by root keys;
    a value the action would put under such a name stays raw in the extras instead."""
    extras: dict[str, Any] = {}
    props: dict[str, Any] = {}
    if action.key == "impressions":
        items = None
        if type(obj) is list:
            items = ua.read_products(obj, path, ua.PRODUCT, issues)
        else:
            issues.error(path, "TYPE_INVALID", f"expected an array of products [...], got {describe(obj)}")
        return ActionRead({}, items, props, extras, None)
    if type(obj) is not dict:
        issues.error(path, "TYPE_INVALID", f"expected the {action.key} object {{...}}, got {describe(obj)}")
        return ActionRead({}, None, props, extras, None)
    values, rest = action.direct.read(obj, path, issues)
    af = rest.pop("actionField", _MISSING)
    af_path = (path, "actionField")
    if type(af) is dict:
        af_values, af_rest = action.field.read(af, af_path, issues)
        for target in [t for t in af_values if t not in COMMERCE_TARGETS and t in taken]:
            wire = ACTION_FIELD.by_target[target].wire
            af_rest[wire] = af[wire]
            del af_values[target]
        if af_rest or not af_values:
            extras["actionField"] = af_rest
        values.update(af_values)
    elif af is not _MISSING:
        issues.error(af_path, "TYPE_INVALID", f"expected an actionField object {{...}}, got {describe(af)}")
        extras["actionField"] = af
        af = {}
    else:
        af = {}
    for wire in action.required:
        if af.get(wire) is None or af.get(wire) == "":
            issues.error(
                (af_path, wire),
                "VALUE_REQUIRED",
                f"expected actionField.{wire} on {action.key}, got none; add it",
            )
    items = _products(action, rest, extras, path, issues) if action.products else None
    if action.promotions:
        _promotions(action, rest, extras, props, path, taken, issues)
    for target in [t for t in values if t not in COMMERCE_TARGETS]:
        props[target] = values.pop(target)
    currency = rest.get("currencyCode")
    extras.update(rest)
    return ActionRead(values, items, props, extras, currency)


def _products(
    action: Action, rest: dict[str, Any], extras: dict[str, Any], path: str, issues: Issues
) -> list[Item] | None:
    raw = rest.pop("products", _MISSING)
    if type(raw) is list:
        return ua.read_products(raw, (path, "products"), ua.PRODUCT, issues)
    if raw is None:
        extras["products"] = None
    elif raw is not _MISSING:
        issues.error(
            (path, "products"), "TYPE_INVALID", f"expected an array of products [...], got {describe(raw)}"
        )
        extras["products"] = raw
        return None
    if action.needs_products:
        issues.error(
            (path, "products"),
            "VALUE_REQUIRED",
            f"expected a products array on {action.key}, got none; add the products",
        )
    return None


def _promotions(
    action: Action,
    rest: dict[str, Any],
    extras: dict[str, Any],
    props: dict[str, Any],
    path: str,
    taken: frozenset[str],
    issues: Issues,
) -> None:
    raw = rest.pop("promotions", _MISSING)
    promo_path: Path = (path, "promotions")
    if type(raw) is list:
        promos = ua.read_promotions(raw, promo_path, ua.PROMOTION, issues)
        if "promotions" in taken:
            extras["promotions"] = raw
        else:
            props["promotions"] = promos
        return
    if raw is not _MISSING:
        extras["promotions"] = raw
    if raw is _MISSING or raw is None:
        issues.error(
            promo_path,
            "VALUE_REQUIRED",
            f"expected a promotions array on {action.key}, got none; add the promotions",
        )
    else:
        issues.error(
            promo_path, "TYPE_INVALID", f"expected an array of promotions [...], got {describe(raw)}"
        )
