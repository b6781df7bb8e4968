"""Commanders Act decoding of event parameters and items, with the events reference's rules.

Both payload forms share this: the call form's third element and the server body's
root (minus ``event_name`` and ``context``) are the same parameter object.
"""

from __future__ import annotations

from decimal import Context, Decimal, Inexact, Overflow
from typing import Any

from trackway.issues import MISSING, Issues, Path, article, describe
from trackway.model import Commerce, Event, Item
from trackway.rules.codes import check_precision
from trackway.rules.values import sent, string
from trackway.vendors.commanders_act import schema as s


def present(obj: dict[str, Any], key: str) -> bool:
    return sent(obj.get(key))


def read_params(name: str, params: dict[str, Any], base: Path, form: str, issues: Issues) -> Event:
    """The event of ``params`` (``user`` already taken out): commerce, properties and rules."""
    values, rest = s.COMMERCE.read(params, base, issues)
    typed, others = s.PARAMS.read(rest, base, issues)
    properties = {**others, **typed}
    commerce = None
    raw_items = values.pop("items", None)
    if name in s.TRANSACTION_EVENTS and "id" in typed:
        values["transaction_id"] = properties.pop("id")
    if values or raw_items is not None:
        commerce = Commerce(**values)
        if raw_items is not None:
            commerce.items = read_items(raw_items, (base, "items"), issues)
    check_rules(name, params, base, form, issues)
    if commerce is not None:
        check_money(commerce, params, base, issues)
    return Event(name=name, dialect=s.DIALECT, commerce=commerce, properties=properties)


def check_rules(name: str, params: dict[str, Any], base: Path, form: str, issues: Issues) -> None:
    """The required and recommended parameters of a documented event."""
    rule = s.EVENTS.get(name)
    if rule is None:
        return
    for key in rule.required:
        if present(params, key):
            continue
        if form == "call" and key in rule.call_recommended:
            issues.warning(
                (base, key),
                "RECOMMENDED_MISSING",
                f"expected the parameter {key!r} on {article(name + ' event')}, got none; the events "
                "reference requires it, though its own cact() example leaves it out, and the server-side API "
                "rejects the event without it: add it",
            )
        else:
            issues.error(
                (base, key),
                "VALUE_REQUIRED",
                f"expected the parameter {key!r} on {article(name + ' event')}, got none; add it",
            )
    for key in rule.recommended:
        if not present(params, key):
            issues.warning(
                (base, key),
                "RECOMMENDED_MISSING",
                f"expected the recommended parameter {key!r} on {article(name + ' event')}, got none; "
                "Commanders Act reports need it",
            )
    items = params.get("items")
    if rule.items == "required" and (items is None or items == []):
        issues.error(
            (base, "items"),
            "VALUE_REQUIRED",
            f"expected an items array with at least one item on {article(name + ' event')}, "
            f"got {describe(params.get('items', MISSING))}; add the items",
        )
    page_type = params.get("page_type")
    if name == "page_view" and type(page_type) is str and page_type and page_type not in s.PAGE_TYPES:
        lowered = {p.lower(): p for p in s.PAGE_TYPES}
        hint = lowered.get(page_type.strip().lower())
        issues.warning(
            (base, "page_type"),
            "ENUM_INVALID",
            f"expected one of the recommended page types ({', '.join(s.PAGE_TYPES)}), got "
            f"{describe(page_type)}"
            + (f"; did you mean {hint!r}? case matters" if hint else "; kept as sent"),
        )


def check_money(c: Commerce, params: dict[str, Any], base: Path, issues: Issues) -> None:
    """Currency is required when value or revenue is set; amounts fit the currency."""
    if c.currency is None and not present(params, "currency"):
        for key in ("value", "revenue"):
            if getattr(c, key) is not None:
                issues.error(
                    (base, "currency"),
                    "VALUE_REQUIRED",
                    f"expected a currency (ISO 4217) because {key} is set, got none; "
                    "add currency such as 'EUR'",
                )
                break
    if c.currency is not None:
        for key, wire in (("value", "value"), ("revenue", "revenue"), ("tax", "tax_amount")):
            v = getattr(c, key)
            if v is not None:
                check_precision(v, c.currency, (base, wire), issues)
        if c.shipping is not None:
            check_precision(c.shipping, c.currency, (base, "shipping_amount"), issues)
    currencies = {it.currency for it in c.items or () if it.currency is not None}
    if len(currencies) > 1:
        issues.warning(
            (base, "items"),
            "VALUE_INVALID",
            f"expected one product currency per event, got {', '.join(sorted(currencies))}; "
            "Commanders Act does not support several currencies in one event",
        )


def read_items(raw: list[Any], base: Path, issues: Issues) -> list[Item]:
    items = []
    for n, obj in enumerate(raw):
        item = read_item(obj, (base, n), issues)
        if item is not None:
            items.append(item)
    return items


def read_item(obj: Any, path: Path, issues: Issues) -> Item | None:
    if type(obj) is not dict:
        issues.error(
            path, "TYPE_INVALID", f"expected an item object {{id, quantity, product}}, got {describe(obj)}"
        )
        return None
    values, extras = s.ITEM.read(obj, path, issues)
    for key in ("id", "quantity", "product"):
        if obj.get(key) is None:
            issues.error(
                (path, key),
                "VALUE_REQUIRED",
                f"expected the item's {key!r}, got {'none' if key not in obj else describe(obj[key])}; add it"
                + ("" if key != "product" else " as an object {id, name, price, ...}"),
            )
    if "affiliation" not in obj:
        issues.warning(
            (path, "affiliation"),
            "RECOMMENDED_MISSING",
            "expected the item's affiliation, got none; most affiliation destinations need it",
        )
    product = values.pop("product", None)
    if product is not None:
        product_values, product_extras = read_product(product, (path, "product"), issues)
        list_price = product_values.pop("price", None)
        values.update(product_values)
        if product_extras:
            extras["product"] = product_extras
        if list_price is not None:
            price = unit_price(list_price, values.get("discount"), ((path, "product"), "price"), issues)
            if price is not None:
                values["price"] = price
    if extras:
        values["extras"] = extras
    return Item(**values)


def read_product(obj: dict[str, Any], path: Path, issues: Issues) -> tuple[dict[str, Any], dict[str, Any]]:
    values, extras = s.PRODUCT.read(obj, path, issues)
    if "colors" in extras or "size" in extras:
        s.PRODUCT_KEPT.read(extras, path, issues)  # checked; kept in extras as sent
    for key in ("name", "price"):
        if obj.get(key) is None:
            issues.error(
                (path, key),
                "VALUE_REQUIRED",
                f"expected the product's {key!r}, got "
                f"{'none' if key not in obj else describe(obj[key])}; add it",
            )
    if obj.get("id") is None:
        issues.warning(
            (path, "id"),
            "RECOMMENDED_MISSING",
            "expected the product's id (its catalogue id), got none; add it to use the catalogue",
        )
    cats = values.get("categories")
    if cats is not None and len(cats) == 5:
        n = 6
        while type(extras.get(f"category_{n}")) is str:
            cats.append(extras.pop(f"category_{n}"))
            n += 1
    for key, v in extras.items():
        suffix = key[9:] if key.startswith("category_") else ""
        if suffix.isascii() and suffix.isdigit() and len(suffix) < 6 and int(suffix) > 5 and v is not None:
            string(v, (path, key), issues)
    return values, extras


_EXACT = 60  # digits: amounts beyond this are not amounts


def unit_price(list_price: Decimal, discount: Decimal | None, path: Path, issues: Issues) -> Decimal | None:
    """The unit price paid: the list price less the unit discount, exactly."""
    if discount is None:
        return list_price
    ctx = Context(prec=_EXACT, traps=[])
    price = ctx.subtract(list_price, discount)
    if ctx.flags[Inexact] or ctx.flags[Overflow]:
        issues.error(
            path,
            "VALUE_OUT_OF_BOUNDS",
            f"expected an amount of at most {_EXACT} digits, got {list_price} less a discount of {discount}; "
            "send the price in the currency's units",
        )
        return None
    return price


def list_price(price: Decimal, discount: Decimal | None) -> tuple[Decimal, bool]:
    """``product.price`` for an item's unit price paid; False when it could not be exact."""
    if discount is None:
        return price, True
    ctx = Context(prec=_EXACT, traps=[])
    out = ctx.add(price, discount)
    return out, not (ctx.flags[Inexact] or ctx.flags[Overflow])
