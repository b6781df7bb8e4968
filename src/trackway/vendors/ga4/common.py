"""GA4's vocabulary, shared by gtag-ga4, gtm-ga4, ga4-mp and Koalect.

GA4 names are the canonical names, so this module also holds the rules of the
recommended events (required and conditionally required parameters) and the
item mapping every GA4-shaped dialect uses.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import InvalidOperation
from typing import Any, NamedTuple

from msgspec import UnsetType

from trackway import amounts
from trackway.dialects.fastpath import Fallback, compile_table
from trackway.dialects.fields import ITEMS_APART, Field, Table, merge_extras
from trackway.issues import Issues, Path, article, describe, show
from trackway.model import Commerce, Event, Item
from trackway.rules.codes import check_precision, currency, quanta
from trackway.rules.values import amount, array, ident, integer, quantity, sent, string

ITEM = Table(
    "GA4 item",
    [
        Field("item_id", "item_id", ident, "one of item_id or item_name is required"),
        Field("item_name", "item_name", string),
        Field("affiliation", "affiliation", string),
        Field("coupon", "coupon", string),
        Field("discount", "discount", amount, "unit discount"),
        Field("index", "index", integer),
        Field("item_brand", "brand", string),
        Field("item_category", "categories.0", string),
        Field("item_category2", "categories.1", string),
        Field("item_category3", "categories.2", string),
        Field("item_category4", "categories.3", string),
        Field("item_category5", "categories.4", string),
        Field("item_list_id", "list_id", string),
        Field("item_list_name", "list_name", string),
        Field("item_variant", "variant", string),
        Field("price", "price", amount, "discounted unit price"),
        Field("quantity", "quantity", quantity),
        Field("currency", "currency", currency, "not in GA4's item list; Koalect sends it"),
    ],
)

# Event parameters with a home in Commerce.
COMMERCE = Table(
    "GA4 commerce parameters",
    [
        Field("currency", "currency", currency, "required when value is set"),
        Field("value", "value", amount, "sum of price x quantity, without tax and shipping"),
        Field("tax", "tax", amount),
        Field("shipping", "shipping", amount),
        Field("coupon", "coupon", string),
        Field("transaction_id", "transaction_id", ident),
        Field("payment_type", "payment_method", string),
        Field("shipping_tier", "shipping_tier", string),
        Field("affiliation", "affiliation", string),
        Field("items", "items", array, "at most 200"),
    ],
)

MAX_ITEMS = 200
# What GA4's amounts mean: the canonical meaning (value is the items' price x quantity).
AMOUNTS = amounts.Meaning("GA4", wire={"value": "value", "tax": "tax", "shipping": "shipping"})
CARRIED = frozenset({"value", "tax", "shipping"})  # the amount fields GA4 renders
# Dialects whose items are GA4 items: their item extras were GA4 item parameters as sent.
ITEM_DIALECTS = frozenset({"gtm-ga4", "gtag-ga4", "ga4-mp", "koalect"})
MP_DIALECT = "ga4-mp"
_QUANTA = quanta()  # currency -> smallest amount, read on every event


class EventRule(NamedTuple):
    """What GA4's reference says of one recommended event."""

    required: tuple[str, ...] = ()  # missing: VALUE_REQUIRED error
    recommended: tuple[str, ...] = ()  # missing: RECOMMENDED_MISSING warning ("Y*", "typically required")
    items: str = "none"  # "required", "optional", "none"


_CART = EventRule(recommended=("value", "currency"), items="required")
EVENTS: dict[str, EventRule] = {
    "add_payment_info": _CART,
    "add_shipping_info": _CART,
    "add_to_cart": _CART,
    "add_to_wishlist": _CART,
    "begin_checkout": _CART,
    "remove_from_cart": _CART,
    "view_cart": _CART,
    "view_item": _CART,
    "purchase": EventRule(required=("transaction_id",), recommended=("value", "currency"), items="required"),
    "refund": EventRule(required=("transaction_id",), recommended=("value", "currency"), items="optional"),
    "view_item_list": EventRule(items="required"),
    "select_item": EventRule(items="required"),
    "view_promotion": EventRule(items="required"),
    "select_promotion": EventRule(items="optional"),
    "generate_lead": EventRule(recommended=("value", "currency")),
    "login": EventRule(),
    "sign_up": EventRule(),
    "search": EventRule(required=("search_term",)),
    "share": EventRule(),
    "select_content": EventRule(),
    "page_view": EventRule(),
}

# GA4 parameters that GTM puts inside the ``ecommerce`` object (not at the root).
ECOMMERCE_PARAMS = frozenset(
    {
        "item_list_id",
        "item_list_name",
        "creative_name",
        "creative_slot",
        "promotion_id",
        "promotion_name",
        "customer_type",
    }
)


def read_item(obj: Any, base: Path, index: int, issues: Issues) -> Item | None:
    """One GA4 item; an item with neither item_id nor item_name is an error."""
    path = (base, index)
    if type(obj) is not dict:
        issues.error(path, "TYPE_INVALID", f"expected an item object {{...}}, got {describe(obj)}")
        return None
    values, extras = ITEM.read(obj, path, issues)
    if "item_id" not in obj and "item_name" not in obj:
        issues.error(
            path, "VALUE_REQUIRED", "expected one of item_id or item_name in the item; add the item's id"
        )
    if extras:
        values["extras"] = extras
    return Item(**values)


def read_items(raw: list[Any], base: Path, issues: Issues) -> list[Item]:
    if len(raw) > MAX_ITEMS:
        issues.error(
            base,
            "EXCEEDED_MAX_ENTITIES",
            f"expected at most {MAX_ITEMS} items, got {len(raw)}; split the event or drop items",
        )
    items = []
    for n, obj in enumerate(raw):
        item = read_item(obj, base, n, issues)
        if item is not None:
            items.append(item)
    return items


def read_commerce(
    params: dict[str, Any], base: str, issues: Issues
) -> tuple[Commerce | None, dict[str, Any]]:
    """Split GA4 event parameters into Commerce and the rest (which keeps GA4 names)."""
    values, rest = COMMERCE.read(params, base, issues)
    if not values and "items" not in params:
        return None, rest
    raw_items = values.pop("items", None)
    commerce = Commerce(**values)
    if raw_items is not None:
        commerce.items = read_items(raw_items, (base, "items"), issues)
    return commerce, rest


def check_event(
    name: str,
    commerce: Commerce | None,
    containers: list[tuple[str, dict[str, Any]]],
    issues: Issues,
    *,
    currency_required: bool = True,
) -> None:
    """GA4's rules for ``name``: required parameters, currency with value, items.

    ``containers`` are the (path, object) pairs the parameters may sit in: one for
    gtag and MP, the ``ecommerce`` object and the root for GTM. The first holds the
    commerce parameters.
    """

    def present(key: str) -> bool:
        return any(sent(obj.get(key)) for _, obj in containers)

    check_event_with(
        name,
        commerce,
        present,
        containers[0][0],
        containers[-1][0],
        issues,
        currency_required=currency_required,
    )


def check_event_with(
    name: str,
    commerce: Commerce | None,
    present: Callable[[str], bool],
    commerce_path: str,
    other_path: str,
    issues: Issues,
    *,
    currency_required: bool = True,
) -> None:
    """:func:`check_event` with presence given as a function (the typed fast path has no dicts).

    Missing commerce parameters are reported under ``commerce_path``, others under
    ``other_path``.
    """
    rule = EVENTS.get(name)

    def where(key: str) -> str:
        return commerce_path if key in COMMERCE.by_wire or key in ECOMMERCE_PARAMS else other_path

    if rule is not None:
        for key in rule.required:
            if not present(key):
                issues.error(
                    (where(key), key),
                    "VALUE_REQUIRED",
                    f"expected the parameter {key!r} on {article(name + ' event')}, got none; add it",
                )
        for key in rule.recommended:
            if not present(key):
                issues.warning(
                    (where(key), key),
                    "RECOMMENDED_MISSING",
                    f"expected the recommended parameter {key!r} on {article(name + ' event')}, got none; "
                    "GA4 reports need it",
                )
        if rule.items == "required" and not present("items"):
            issues.error(
                (commerce_path, "items"),
                "VALUE_REQUIRED",
                f"expected an items array with at least one item on {article(name + ' event')}, "
                "got none; add the items",
            )
    if commerce is not None:
        sent = commerce.currency is not None or present("currency")
        check_money(commerce, commerce_path, issues, currency_required=currency_required, currency_sent=sent)


def check_money(
    c: Commerce, base: str, issues: Issues, *, currency_required: bool = True, currency_sent: bool = False
) -> None:
    """Currency is required when value or revenue is set; amounts fit the currency's minor unit.

    ``currency_sent``: a currency was sent but is invalid (already reported).
    """
    code = c.currency
    if code is None and not currency_sent and (c.value is not None or c.revenue is not None):
        if currency_required:
            issues.error(
                (base, "currency"),
                "VALUE_REQUIRED",
                "expected a currency (ISO 4217) because value is set, got none; add currency such as 'EUR'",
            )
        else:
            issues.warning(
                (base, "currency"),
                "RECOMMENDED_MISSING",
                "expected a currency because value is set, got none; the reporting view's currency applies",
            )
    check_amounts(c, base, issues)


def check_amounts(c: Commerce, base: str, issues: Issues) -> None:
    """Amounts fit the currency's minor unit (a warning when they do not)."""
    code = c.currency
    smallest = _QUANTA.get(code) if code is not None else None
    if smallest is None:
        return
    for key, v in (("value", c.value), ("revenue", c.revenue), ("tax", c.tax), ("shipping", c.shipping)):
        if v is None:
            continue
        try:
            if v.quantize(smallest) == v:  # fits() inlined: this runs for every amount of every event
                continue
        except InvalidOperation:
            pass
        check_precision(v, code, (base, key), issues)


def fast_rule_fields(name: str) -> tuple[str, ...] | None:
    """The wire keys (all in the ecommerce object) GA4's rules for ``name`` need, or None
    when a rule looks elsewhere (search_term at the root): the typed fast path checks
    these itself and calls :func:`check_event_with` only when one is missing."""
    rule = EVENTS.get(name)
    if rule is None:
        return ()
    keys = (*rule.required, *rule.recommended, *(("items",) if rule.items == "required" else ()))
    if any(k not in COMMERCE.by_wire for k in keys):
        return None
    return keys


def write_item(item: Item, issues: Issues | None, path: str, *, flatten: bool = False) -> dict[str, Any]:
    """A GA4 item. ``flatten``: the item came in another dialect's format, so nested objects
    and arrays in its extras are no GA4 item parameters (see :func:`item_params`)."""
    out = ITEM.write_attrs(item)
    if issues is not None and issues.keeps_warnings:
        uncarried = {"url": item.url, "image_url": item.image_url}
        if item.product_id != item.item_id:
            uncarried["product_id"] = item.product_id
        for key, v in uncarried.items():
            if v is not None:
                issues.warning(
                    f"{path}.{key}",
                    "NOT_CARRIED",
                    f"a GA4 item has no parameter for {key} ({show(v)}); it is left out",
                )
    extras = item_params(item.extras, path, issues) if flatten and item.extras else item.extras
    merge_extras(out, extras, path, issues)
    return out


def item_params(extras: dict[str, Any], path: str, issues: Issues | None) -> dict[str, Any]:
    """Another dialect's item extras as GA4 item parameters, which are strings and numbers:
    scalars as they are, the scalar entries of an object lifted beside them (Commanders Act's
    ``product.size`` is the item's ``size``), arrays and deeper objects left out (NOT_CARRIED)."""
    out = {k: v for k, v in extras.items() if type(v) is not dict and type(v) is not list}

    def drop(where: str, v: Any) -> None:
        if issues is not None:
            issues.warning(
                where,
                "NOT_CARRIED",
                f"GA4 item parameters are strings and numbers, not {describe(v)}; it is left out",
            )

    for key, v in extras.items():
        if type(v) is list:
            drop(f"{path}.{key}", v)
        elif type(v) is dict:
            for inner, w in v.items():
                if type(w) is dict or type(w) is list:
                    drop(f"{path}.{key}.{inner}", w)
                elif inner in out:
                    if issues is not None and out[inner] != w:
                        issues.warning(
                            f"{path}.{key}.{inner}",
                            "NOT_CARRIED",
                            f"the source field {key}.{inner} = {show(w)} would be the item parameter "
                            f"{inner!r}, which is {show(out[inner])}; it is left out",
                        )
                else:
                    out[inner] = w
    return out


def write_event_commerce(event: Event, dialect: str, issues: Issues, path: str) -> dict[str, Any] | None:
    """The GA4 parameters of ``event``'s commerce rendered in ``dialect`` (None: no commerce):
    amounts in GA4's meaning (:func:`trackway.amounts.render`), the item extras of another
    dialect's items flattened (:func:`flattens`)."""
    c = amounts.render(event, AMOUNTS, issues, dialect=dialect, carried=CARRIED, base=path)
    if c is None:
        return None
    return write_commerce(c, issues, path, flatten=flattens(event, dialect))


def flattens(event: Event, dialect: str) -> bool:
    """Whether ``event``'s item extras are flattened into GA4 item parameters in ``dialect``.

    An event of that dialect is rendered as it is. Between the dataLayer dialects of GA4
    (:data:`ITEM_DIALECTS`) items go as the page pushed them, nested values too (the
    2Checkout document's ``hiddenAdditionalFields`` array): the page's own tags read them
    the same way. The Measurement Protocol is what reaches Google's servers, whose item
    parameters are strings and numbers: into ga4-mp (and so the ``ga4`` destination) an
    event of another dialect carries only those, as another vendor's events always do."""
    if event.dialect == dialect:
        return False
    return dialect == MP_DIALECT or event.dialect not in ITEM_DIALECTS


def check_currency(params: dict[str, Any], path: str, issues: Issues) -> None:
    """A rendered value without a currency: GA4 would not count it (a warning)."""
    if params.get("value") is not None and params.get("currency") is None:
        issues.warning(
            f"{path}.currency",
            "VALUE_REQUIRED",
            f"GA4 would reject the rendered value {show(params['value'])}: it needs a currency (ISO 4217) "
            "beside it, and the event has none; give the event a currency (or the property a "
            "default_currency)",
        )


def write_commerce(c: Commerce, issues: Issues | None, path: str, *, flatten: bool = False) -> dict[str, Any]:
    """GA4 parameters for ``c``; revenue, status and type have no GA4 home and are reported."""
    out = COMMERCE.write_attrs(c, ITEMS_APART)
    if c.items is not None:
        out["items"] = [
            write_item(it, issues, f"{path}.items[{n}]", flatten=flatten) for n, it in enumerate(c.items)
        ]
    if issues is not None:
        for key in ("revenue", "discount", "status", "type"):
            v = getattr(c, key)
            if v is not None:
                issues.warning(
                    f"commerce.{key}",
                    "NOT_CARRIED",
                    f"GA4 has no parameter for the order {key} ({v}); it is left out",
                )
    return out


# -- the typed fast path (see fastpath.py) --------------------------------------
FastItem, convert_item = compile_table(ITEM, "Ga4ItemWire", build=Item, one_of=("item_id", "item_name"))
FastCommerce, convert_commerce = compile_table(
    COMMERCE,
    "Ga4CommerceWire",
    {"items": list[FastItem] | UnsetType},  # type: ignore[valid-type]
    build=Commerce,
)


def fast_commerce(w: Any) -> Commerce:
    """Commerce from a plain wire struct; raises Fallback where the general path must decide."""
    commerce: Commerce = convert_commerce(w)  # built directly; its items are still wire structs
    raw = commerce.items
    if raw is not None:
        if len(raw) > MAX_ITEMS:
            raise Fallback
        commerce.items = list(map(convert_item, raw))
    return commerce
