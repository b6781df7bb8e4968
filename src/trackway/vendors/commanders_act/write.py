"""Commanders Act encoding: parameters, items and the two payload forms."""

from __future__ import annotations

from typing import Any

from trackway import amounts
from trackway.dialects.base import report_foreign_extras, report_uncarried
from trackway.dialects.fields import ITEMS_APART, merge_extras
from trackway.issues import Issues, show
from trackway.model import Commerce, Event, Item
from trackway.vendors.commanders_act import schema as s
from trackway.vendors.commanders_act.read import list_price
from trackway.vendors.commanders_act.user import ABSENT, write_context, write_user

_ITEM_UNCARRIED = ("list_id", "list_name", "url", "image_url")
AMOUNTS_RENDERED = frozenset({"value", "revenue", "tax", "shipping"})  # the amount fields rendered
PRODUCT_APART = frozenset({"product"})  # the item's product object, written from the item's fields
# The product fields write_item works out itself (the list price, the categories beyond five).
WRITTEN_BELOW = frozenset({"price", "currency", "brand", "categories"})


def write_item(item: Item, issues: Issues, path: str) -> dict[str, Any]:
    out = s.ITEM.write_attrs(item, PRODUCT_APART)
    product = s.PRODUCT.write_attrs(item, WRITTEN_BELOW)
    if item.price is not None:
        price, exact = list_price(item.price, item.discount)
        product["price"] = price
        if not exact:
            issues.warning(
                f"{path}.product.price",
                "VALUE_OUT_OF_BOUNDS",
                f"product.price = price + discount ({item.price} + {item.discount}) is rounded to {price}",
            )
    if item.currency is not None:
        product["currency"] = item.currency
    if item.brand is not None:
        product["brand"] = item.brand
    for n, category in enumerate(item.categories, 1):
        product[f"category_{n}"] = category
    extras = item.extras
    product_extras = extras.get("product") if extras else None
    if type(product_extras) is dict:
        merge_extras(product, product_extras, f"{path}.product", issues)
        extras = {k: v for k, v in extras.items() if k != "product"}
    if product or type(product_extras) is dict:
        out["product"] = product
    if extras:
        merge_extras(out, extras, path, issues)
    for key in _ITEM_UNCARRIED if issues.keeps_warnings else ():
        v = getattr(item, key)
        if v is not None:
            issues.warning(
                f"{path}.{key}",
                "NOT_CARRIED",
                f"a Commanders Act item has no parameter for {key} ({show(v)}); it is left out",
            )
    return out


def write_commerce(c: Commerce, name: str, issues: Issues, path: str) -> dict[str, Any]:
    out = s.COMMERCE.write_attrs(c, ITEMS_APART)
    if c.transaction_id is not None:
        if name in s.TRANSACTION_EVENTS:
            out["id"] = c.transaction_id
        else:
            issues.warning(
                "commerce.transaction_id",
                "NOT_CARRIED",
                f"Commanders Act carries a transaction id on purchase, refund and begin_checkout only; "
                f"{c.transaction_id!r} is left out of this {name} event",
            )
    if c.items is not None:
        out["items"] = [write_item(it, issues, f"{path}.items[{n}]") for n, it in enumerate(c.items)]
    for key in ("discount", "affiliation"):
        v = getattr(c, key)
        if v is not None:
            issues.warning(
                f"commerce.{key}",
                "NOT_CARRIED",
                f"Commanders Act has no event parameter for the order {key} ({v}); it is left out",
            )
    return out


def write_params(event: Event, form: str, issues: Issues, path: str) -> dict[str, Any]:
    """The parameter object: the call form's third element, the server body's root."""
    params: dict[str, Any] = {}
    c = amounts.render(event, s.AMOUNTS, issues, dialect=s.DIALECT, carried=AMOUNTS_RENDERED, base=path)
    if c is not None:
        params = write_commerce(c, event.name, issues, path)
    user = write_user(event, issues, f"{path}.user")
    if user is not ABSENT:
        params["user"] = user
    merge_extras(params, event.properties, path, issues)
    return params


def write_event(event: Event, form: str, issues: Issues) -> Any:
    """Render ``event`` in ``form`` ("call" or "server"); no validation here."""
    if event.name in s.NO_COUNTERPART:
        issues.warning(
            "name",
            "UNKNOWN_EVENT",
            f"Commanders Act has no {event.name} event; it is rendered as a custom event of that name",
        )
    if form == "call":
        params = write_params(event, form, issues, "$[2]")
        report_uncarried(
            event, frozenset({"anonymous_id", "user_id", "user", "consent"}), "the cact() call", issues
        )
        report_foreign_extras(event.extras, frozenset({"user"}), "the cact() call", issues)
        if event.extras.get("$bare") and not params:
            return ["trigger", event.name]
        return ["trigger", event.name, params]
    params = write_params(event, form, issues, "$")
    out: dict[str, Any] = {"event_name": event.name}
    context = write_context(event, issues)
    if context or "context" in event.extras:
        out["context"] = context
    merge_extras(out, params, "$", issues)
    report_foreign_extras(event.extras, frozenset({"user", "context"}), "Commanders Act", issues)
    return out
