"""Convead decoding: the JS call form, the POST form, each type's properties and visitor_info."""

from __future__ import annotations

from typing import Any

from trackway.dialects.base import DecodeContext
from trackway.issues import MISSING, Issues, Path, article, describe
from trackway.model import Commerce, Event, Item
from trackway.rules.codes import check_precision
from trackway.vendors.convead import schema as s

_MISSING: Any = object()
_PAGE = "context.page."


def read_type(value: Any, path: Path, dialect: str, issues: Issues) -> str | None:
    """The event type: one of the ten; an undocumented one is an error but names the event."""
    if type(value) is str and value in s.RULES:
        return value
    if value is None or value is MISSING or value == "":
        issues.error(
            path, "VALUE_REQUIRED", f"expected the event type such as 'purchase', got {describe(value)}"
        )
        return None
    if type(value) is not str:
        issues.error(path, "TYPE_INVALID", f"expected the event type as a string, got {describe(value)}")
        return None
    hint = ""
    if value.strip().lower() in s.RULES:
        hint = f" (did you mean {value.strip().lower()!r}? case matters)"
    elif value in s.TO_WIRE:
        hint = f" ({s.vendor(dialect)}'s name for it is {s.TO_WIRE[value]!r})"
    issues.error(
        path,
        "ENUM_INVALID",
        f"expected {article(s.vendor(dialect))} event type, one of {', '.join(s.TYPES)}; "
        f"got {describe(value)}{hint}. "
        "Send other events as custom with the key set up in My account > My events",
    )
    return value


def read_product(obj: dict[str, Any], path: Path, issues: Issues) -> tuple[Item, dict[str, Any]]:
    """The product fields of ``obj`` as an Item, and the keys that are no product field."""
    values, rest = s.ITEM.read(obj, path, issues)
    extras: dict[str, Any] = {}
    category = values.pop("extras.category_id", _MISSING)
    if category is not _MISSING:
        extras["category_id"] = category
    other_price = values.pop("product_price", None)
    if other_price is not None:
        if "price" in values:
            extras["product_price"] = other_price
        else:
            values["price"] = other_price
            extras["$price"] = "product_price"  # rendered back under the name it came with
    if extras:
        values["extras"] = extras
    return Item(**values), rest


def read_items(raw: list[Any], base: Path, issues: Issues) -> list[Item]:
    items = []
    for n, obj in enumerate(raw):
        path = (base, n)
        if type(obj) is not dict:
            issues.error(
                path,
                "TYPE_INVALID",
                f"expected an item object {{product_id, qnt, price}}, got {describe(obj)}",
            )
            continue
        item, rest = read_product(obj, path, issues)
        if rest:
            item.extras = {**rest, **item.extras}
        if obj.get("product_id") is None or obj.get("product_id") == "":
            issues.error(
                (path, "product_id"),
                "VALUE_REQUIRED",
                f"expected the item's product_id, got {_got(obj, 'product_id')}; "
                "add the product's catalogue id",
            )
        if "qnt" not in obj:
            issues.warning((path, "qnt"), "RECOMMENDED_MISSING", "expected the item's qnt, got none; add it")
        if "price" not in obj and "product_price" not in obj:
            issues.warning(
                (path, "price"), "RECOMMENDED_MISSING", "expected the item's unit price, got none; add it"
            )
        items.append(item)
    return items


def _got(obj: dict[str, Any], key: str) -> str:
    return "none" if key not in obj else describe(obj[key])


def read_commerce(
    wire: str, props: dict[str, Any], base: Path, issues: Issues
) -> tuple[Commerce | None, dict[str, Any]]:
    """The commerce of a product, purchase or update_cart event, and the other properties."""
    if wire in s.PRODUCT_TYPES:
        item, rest = read_product(props, base, issues)
        return Commerce(items=[item]), rest
    if wire not in s.ITEM_TYPES:
        return None, props
    values, rest = (s.ORDER if wire == "purchase" else s.CART).read(props, base, issues)
    raw_items = values.pop("items", None)
    if not values and raw_items is None:
        return None, rest
    commerce = Commerce(**values)
    if raw_items is not None:
        commerce.items = read_items(raw_items, (base, "items"), issues)
    return commerce, rest


def check_rule(wire: str, props: dict[str, Any], base: Path, issues: Issues) -> None:
    rule = s.RULES[wire]
    for key in rule.required:
        if props.get(key) is None or props.get(key) == "":
            issues.error(
                (base, key),
                "VALUE_REQUIRED",
                f"expected {key!r} in the properties of {article(wire + ' event')}, "
                f"got {_got(props, key)}; add it",
            )
    for key in rule.recommended:
        keys = ("price", "product_price") if key == "price" else (key,)
        if all(props.get(k) is None or props.get(k) == "" for k in keys):
            issues.warning(
                (base, key),
                "RECOMMENDED_MISSING",
                f"expected the recommended {key!r} in the properties of {article(wire + ' event')}, "
                "got none; add it",
            )


def fill_currency(commerce: Commerce, base: Path, dialect: str, ctx: DecodeContext, issues: Issues) -> None:
    """Convead carries no currency: the property's default fills it when there are amounts."""
    if commerce.value is None and not any(it.price is not None for it in commerce.items or ()):
        return
    code = ctx.default_currency
    if code:
        commerce.currency = code
        commerce.currency_filled = True
        issues.warning(
            base,
            "VALUE_FILLED",
            f"{s.vendor(dialect)} sends amounts without a currency; filled with the property's default "
            f"currency {code}",
        )
        if commerce.value is not None:
            check_precision(commerce.value, code, (base, "revenue"), issues)
    else:
        issues.warning(
            base,
            "RECOMMENDED_MISSING",
            f"expected a currency for the amounts, got none: {s.vendor(dialect)} has no currency field "
            "and the property has no default_currency. Set the property's default_currency so the amounts "
            "get one",
        )


def build_event(
    dialect: str, wire: str, props: dict[str, Any], base: Path, ctx: DecodeContext, issues: Issues
) -> Event:
    """The event of one type and its properties (visitor_info and the request come after)."""
    commerce, rest = read_commerce(wire, props, base, issues)
    table = s.TYPE_PROPS.get(wire)
    typed, others = table.read(rest, base, issues) if table is not None else ({}, rest)
    if wire in s.RULES:
        check_rule(wire, props, base, issues)
    if commerce is not None:
        fill_currency(commerce, base, dialect, ctx, issues)
    name = s.TO_CANONICAL.get(wire, wire)
    return Event(name=name, dialect=dialect, commerce=commerce, properties={**others, **typed}, extras={})


def read_visitor(raw: Any, path: Path, event: Event, issues: Issues) -> None:
    """visitor_info: traits under canonical names; keys a trait cannot give back stay raw."""
    if type(raw) is not dict:
        issues.error(
            path,
            "TYPE_INVALID",
            f"expected visitor_info as an object {{email, phone, ...}}, got {describe(raw)}",
        )
        return
    values, rest = s.VISITOR.read(raw, path, issues)
    kept: dict[str, Any] = {}
    traits: dict[str, Any] = {}
    for key, v in rest.items():
        if v is None or key in s.TRAIT_TO_WIRE or key.endswith(s.HASH_SUFFIXES):
            kept[key] = v
        else:
            traits[key] = v
    traits.update(values)
    if traits:
        event.user = traits
    if kept:
        event.extras["visitor_info"] = kept


def _check_update_info(wire: str, visitor: Any, path: Path, issues: Issues) -> None:
    if wire == "update_info" and (visitor is _MISSING or visitor == {}):
        issues.warning(
            path,
            "RECOMMENDED_MISSING",
            "expected visitor_info with the visitor's data on an update_info event, got none; "
            "the event updates nothing without it",
        )


def call(dialect: str) -> str:
    """The JavaScript call of the dialect, for messages: ``convead()`` or ``insend()``."""
    return f"{dialect if dialect in s.DIALECTS else s.DIALECT}()"


def decode_call(payload: list[Any], dialect: str, ctx: DecodeContext, issues: Issues) -> Event | None:
    """``["event", type, properties, visitor_info]`` as the literal reader gives a convead() call."""
    if not payload or payload[0] != "event":
        issues.error(
            "$[0]" if payload else "$",
            "PAYLOAD_INVALID",
            f"expected {article(call(dialect))} call ['event', type, {{properties}}, {{visitor_info}}], got "
            f"{describe(payload[0] if payload else payload)} first; only 'event' calls carry events",
        )
        return None
    if len(payload) > 4:
        issues.error(
            "$[4]",
            "PAYLOAD_INVALID",
            f"expected {dialect}('event', type, properties, visitor_info): at most 4 arguments, "
            f"got {len(payload)}; remove the others",
        )
    wire = read_type(payload[1] if len(payload) > 1 else MISSING, "$[1]", dialect, issues)
    if wire is None:
        return None
    props = payload[2] if len(payload) > 2 else {}
    if type(props) is not dict:
        issues.error("$[2]", "TYPE_INVALID", f"expected the properties as an object, got {describe(props)}")
        props = {}
    event = build_event(dialect, wire, props, "$[2]", ctx, issues)
    visitor = payload[3] if len(payload) > 3 else _MISSING
    if visitor is not _MISSING:
        read_visitor(visitor, "$[3]", event, issues)
    _check_update_info(wire, visitor, "$[3]", issues)
    event.extras["$form"] = "call"
    if len(payload) == 2:
        event.extras["$bare"] = True
    if type(visitor) is dict and not visitor:
        event.extras["$empty"] = ["visitor_info"]
    return event


def read_data(
    data: dict[str, Any], dialect: str, ctx: DecodeContext, issues: Issues
) -> tuple[Event | None, dict[str, Any]]:
    """The event object of the POST form's ``data``; also its values by canonical target."""
    base = "$.data"
    values, rest = s.DATA.read(data, base, issues)
    wire = read_type(data.get("type", MISSING), (base, "type"), dialect, issues)
    if wire is None:
        return None, values
    for key in ("properties", "visitor_info"):
        if key in data and data[key] is None:
            issues.error(
                (base, key),
                "TYPE_INVALID",
                f"expected {key} as an object, got null; send {{}} or leave it out",
            )
    event = build_event(dialect, wire, values.get("properties", {}), "$.data.properties", ctx, issues)
    visitor = values.get("user", _MISSING)
    if visitor is not _MISSING:
        read_visitor(visitor, "$.data.visitor_info", event, issues)
    _check_update_info(wire, data.get("visitor_info", _MISSING), "$.data.visitor_info", issues)
    page = {k[len(_PAGE) :]: v for k, v in values.items() if k.startswith(_PAGE)}
    if page:
        event.context = {"page": page}
    empty = [k for k in ("properties", "visitor_info") if type(data.get(k)) is dict and not data[k]]
    if empty:
        event.extras["$empty"] = empty
    if rest:
        event.extras["data"] = rest
    return event, values
