"""Universal Analytics vocabulary, shared by gtag-ua, gtm-ua and adobe-dtm.

A UA product (``productFieldObject``, or a gtag.js UA item) maps onto the canonical
:class:`~trackway.model.Item`: ``id``/``name`` (one of them required), ``brand``,
``category`` (up to five levels separated by ``/``, read into ``Item.categories`` and
joined back with ``/``), ``variant``, ``price``, ``quantity``, ``coupon``, and the list
position and name (``position``/``list`` on the dataLayer, ``list_position``/``list_name``
with gtag.js). Product keys with no canonical home (``dimensionN``, 2Checkout's
``type``, ``options``, ``externalRef``, ...) ride in ``Item.extras``.

Promotions have no canonical struct: they are kept in ``Event.properties["promotions"]``
as a list of dicts named as GA4 names a promotion (``promotion_id``, ``promotion_name``,
``creative_name``, ``creative_slot``); keys with no GA4 name stay as sent in the dict.
"""

from __future__ import annotations

from typing import Any

from trackway import amounts
from trackway.dialects.fields import Field, Table, merge_extras
from trackway.issues import Issues, Path, describe, show
from trackway.model import Commerce, Event, Item
from trackway.rules.codes import check_precision
from trackway.rules.values import INVALID, amount, ident, integer, quantity, string

MAX_LEVELS = 5  # category levels of a UA product

# What UA's amounts mean: an order's revenue (commerce.value) is the total, tax and shipping included.
_WIRE = {"value": "revenue", "tax": "tax", "shipping": "shipping"}
DATALAYER_AMOUNTS = amounts.Meaning(
    "UA", amounts.TOTAL_VALUE, {k: f"actionField.{v}" for k, v in _WIRE.items()}
)
GTAG_AMOUNTS = amounts.Meaning("UA", amounts.TOTAL_VALUE, {k: k for k in _WIRE})


def category(value: Any, path: Path, issues: Issues) -> Any:
    """'/'-separated category path, up to 5 levels."""
    if type(value) is not str:
        issues.error(
            path, "TYPE_INVALID", f"expected a category path such as 'Apparel/Men', got {describe(value)}"
        )
        return INVALID
    levels = value.split("/", MAX_LEVELS - 1)
    if len(levels) == MAX_LEVELS and "/" in levels[-1]:
        issues.warning(
            path,
            "VALUE_OUT_OF_BOUNDS",
            f"expected at most {MAX_LEVELS} category levels, got {value.count('/') + 1} in {value!r}; "
            f"the levels from the {MAX_LEVELS}th on are kept together as the {MAX_LEVELS}th",
        )
    return levels


_COMMON = [
    Field("id", "item_id", ident, "one of id or name is required"),
    Field("name", "item_name", string),
    Field("brand", "brand", string),
    Field("category", "categories", category, "'/'-separated levels, up to 5"),
    Field("variant", "variant", string),
    Field("price", "price", amount, "unit price"),
    Field("quantity", "quantity", quantity),
    Field("coupon", "coupon", string, "product coupon"),
]

PRODUCT = Table(
    "UA product (dataLayer productFieldObject / impressionFieldObject)",
    [
        *_COMMON,
        Field("position", "index", integer, "position in the list"),
        Field("list", "list_name", string, "impressions: the list the product was seen in"),
    ],
)

GTAG_ITEM = Table(
    "UA item (gtag.js)",
    [
        *_COMMON,
        Field("list_name", "list_name", string),
        Field("list_position", "index", integer),
    ],
)

PROMOTION = Table(
    "UA promotion (dataLayer promoFieldObject), kept in properties.promotions",
    [
        Field("id", "promotion_id", ident, "one of id or name is required"),
        Field("name", "promotion_name", string),
        Field("creative", "creative_name", string),
        Field("position", "creative_slot", ident),
    ],
)

GTAG_PROMOTION = Table(
    "UA promotion (gtag.js), kept in properties.promotions",
    [
        Field("id", "promotion_id", ident, "one of id or name is required"),
        Field("name", "promotion_name", string),
        Field("creative_name", "creative_name", string),
        Field("creative_slot", "creative_slot", ident),
    ],
)

# Event-level GA4 parameters that describe one promotion (gtm-ga4 keeps them in properties).
PROMOTION_PARAMS = ("promotion_id", "promotion_name", "creative_name", "creative_slot")


def read_products(raw: list[Any], base: Path, table: Table, issues: Issues) -> list[Item]:
    """Every product of ``raw``; each bad one is reported, the others are read."""
    items = []
    for n, obj in enumerate(raw):
        path = (base, n)
        if type(obj) is not dict:
            issues.error(path, "TYPE_INVALID", f"expected a product object {{...}}, got {describe(obj)}")
            continue
        values, extras = table.read(obj, path, issues)
        if obj.get("id") is None and obj.get("name") is None:
            issues.error(
                path, "VALUE_REQUIRED", "expected one of id or name in the product, got neither; add its id"
            )
        if extras:
            values["extras"] = extras
        items.append(Item(**values))
    return items


_UNCARRIED_ITEM = ("discount", "currency", "affiliation", "list_id", "url", "image_url")


def write_product(item: Item, table: Table, issues: Issues | None, path: str) -> dict[str, Any]:
    """The wire product of ``item``; item fields UA has no key for are NOT_CARRIED warnings."""
    out: dict[str, Any] = {}
    for f in table.fields:
        if f.target == "categories":
            if item.categories:
                out[f.wire] = "/".join(item.categories)
            continue
        v = getattr(item, f.target)
        if v is not None:
            out[f.wire] = v
    if issues is not None:
        uncarried = {key: getattr(item, key) for key in _UNCARRIED_ITEM}
        if item.product_id != item.item_id:
            uncarried["product_id"] = item.product_id
        for key, v in uncarried.items():
            if v is not None:
                issues.warning(
                    f"{path}.{key}",
                    "NOT_CARRIED",
                    f"a Universal Analytics product has no field for {key} ({show(v)}); it is left out",
                )
    merge_extras(out, item.extras, path, issues)
    return out


def write_products(items: list[Item], table: Table, issues: Issues | None, path: str) -> list[dict[str, Any]]:
    return [write_product(it, table, issues, f"{path}[{n}]") for n, it in enumerate(items)]


def read_promotions(raw: list[Any], base: Path, table: Table, issues: Issues) -> list[Any]:
    """Promotions as GA4-named dicts; unknown keys stay as sent, bad entries are reported."""
    out: list[Any] = []
    for n, obj in enumerate(raw):
        path = (base, n)
        if type(obj) is not dict:
            issues.error(path, "TYPE_INVALID", f"expected a promotion object {{...}}, got {describe(obj)}")
            out.append(obj)
            continue
        values, extras = table.read(obj, path, issues)
        if obj.get("id") is None and obj.get("name") is None:
            issues.error(
                path,
                "VALUE_REQUIRED",
                "expected one of id or name in the promotion, got neither; add the promotion's id",
            )
        values.update(extras)
        out.append(values)
    return out


def write_promotions(promotions: Any, table: Table) -> Any:
    """The wire promotions for canonical ones (anything that is not a list is written as is)."""
    if type(promotions) is not list:
        return promotions
    out = []
    for promo in promotions:
        if type(promo) is not dict:
            out.append(promo)
            continue
        wire = {}
        for key, v in promo.items():
            field = table.by_target.get(key)
            wire[field.wire if field is not None else key] = v
        out.append(wire)
    return out


def promotion_from_params(properties: dict[str, Any]) -> dict[str, Any] | None:
    """One promotion from GA4's event-level promotion parameters, or None when there are none."""
    promo = {key: properties[key] for key in PROMOTION_PARAMS if properties.get(key) is not None}
    return promo or None


def put_params(out: dict[str, Any], params: dict[str, Any], path: str, issues: Issues) -> None:
    """Write event parameters beside the rendered keys (unlike extras, ``$`` names are parameters too);
    a parameter that clashes with a rendered key is a NOT_CARRIED warning."""
    for key, value in params.items():
        if key in out:
            if out[key] != value:
                issues.warning(
                    (path, key),
                    "NOT_CARRIED",
                    f"the parameter {key!r} = {show(value)} clashes with the rendered "
                    f"{key!r} = {show(out[key])}; "
                    "the rendered value is kept",
                )
            continue
        out[key] = value


def fill_currency(events: list[Event], default: str | None, path: str, issues: Issues) -> None:
    """Give the events with amounts and no currency the property's ``default`` currency, as
    UA gave them its reporting view's (a VALUE_FILLED warning each): UA purchases without
    ``currencyCode`` had no currency while Convead's and Koalect's got the default, and a
    later refund in EUR then moved the order from the blank row of the revenue report."""
    if not default:
        return
    for event in events:
        c = event.commerce
        if c is None or c.currency is not None:
            continue
        if c.value is None and not any(it.price is not None for it in c.items or ()):
            continue
        c.currency, c.currency_filled = default, True
        # the warning that no currency came is this one now (one issue a path)
        issues.items = [i for i in issues.items if not (i.code == "RECOMMENDED_MISSING" and i.path == path)]
        issues.warning(
            path,
            "VALUE_FILLED",
            f"expected a currency code (ISO 4217) beside the amounts, got none: UA applied the reporting "
            f"view's currency; filled with the property's default currency {default}",
        )


def check_money(
    c: Commerce,
    currency_path: Path,
    amount_paths: dict[str, Path],
    issues: Issues,
    *,
    currency_sent: bool,
) -> None:
    """UA's money rules: a value without a currency is a warning (the view's currency applies);
    amounts fit the currency's minor unit. ``amount_paths`` maps canonical amounts to wire paths."""
    if c.value is not None and c.currency is None and not currency_sent:
        issues.warning(
            currency_path,
            "RECOMMENDED_MISSING",
            "expected a currency code (ISO 4217) because an amount is set, got none; "
            "the reporting view's currency applies. Add one such as 'EUR'",
        )
    if c.currency is None:
        return
    for key, path in amount_paths.items():
        v = getattr(c, key)
        if v is not None:
            check_precision(v, c.currency, path, issues)
