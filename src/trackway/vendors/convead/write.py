"""Convead encoding: any canonical event as a convead() call or a POST /watch/event body."""

from __future__ import annotations

from typing import Any

from trackway import amounts
from trackway.dialects.base import report_foreign_extras, report_uncarried
from trackway.issues import Issues, article, show
from trackway.model import Commerce, Event, Item, encode_json
from trackway.vendors.convead import schema as s

_ORDER_UNCARRIED = (
    "revenue",
    "tax",
    "shipping",
    "discount",
    "coupon",
    "payment_method",
    "shipping_tier",
    "type",
    "affiliation",
)
_ITEM_UNCARRIED = (
    "discount",
    "coupon",
    "currency",
    "brand",
    "variant",
    "list_id",
    "list_name",
    "index",
    "affiliation",
)
PAGE_KEYS = tuple(f.target[len("context.page.") :] for f in s.DATA.fields if f.target.startswith("context."))
_NOTES = {
    "revenue": " (Convead's revenue is the event's value)",
    "tax": " (Convead's revenue, the full order cost, should include it)",
    "shipping": " (Convead's revenue, the full order cost, should include it)",
}
OWN = frozenset({"visitor_info", "data", "request"})  # Event.extras containers rendered back


def put(out: dict[str, Any], values: dict[str, Any], path: str, issues: Issues) -> None:
    """Write ``values`` beside the rendered keys; a clash keeps the rendered one (NOT_CARRIED)."""
    for key, value in values.items():
        if key in out:
            if out[key] != value:
                issues.warning(
                    f"{path}.{key}",
                    "NOT_CARRIED",
                    f"the field {key!r} = {show(value)} clashes with the rendered "
                    f"{key!r} = {show(out[key])}; "
                    "the rendered value is kept",
                )
            continue
        out[key] = value


def _uncarried(path: str, what: str, issues: Issues) -> None:
    issues.warning(path, "NOT_CARRIED", f"Convead has no field for {what}; it is left out")


def wire_type(event: Event, issues: Issues) -> tuple[str, dict[str, Any]]:
    """The Convead type of ``event``, and the properties that type needs first (a custom key)."""
    if event.name in s.RULES:
        return event.name, {}
    if event.name in s.TO_WIRE:
        return s.TO_WIRE[event.name], {}
    issues.warning(
        "name",
        "UNKNOWN_EVENT",
        f"Convead has no {event.name} event; it is rendered as a custom event with key {event.name!r}. "
        "Set that key up in My account > My events",
    )
    return "custom", {"key": event.name}


def write_item(item: Item, n: int, path: str, issues: Issues) -> dict[str, Any]:
    out: dict[str, Any] = {}
    product_id = item.item_id if item.item_id is not None else item.product_id
    if product_id is not None:
        out["product_id"] = product_id
    if item.item_name is not None:
        out["product_name"] = item.item_name
    if item.quantity is not None:
        out["qnt"] = item.quantity
    if item.price is not None:
        out["product_price" if item.extras.get("$price") == "product_price" else "price"] = item.price
    if item.url is not None:
        out["product_url"] = item.url
    if item.image_url is not None:
        out["product_image_url"] = item.image_url
    where = f"commerce.items[{n}]"
    if item.item_id is not None and item.product_id not in (None, item.item_id):
        _uncarried(f"{where}.product_id", f"a second product id ({item.product_id!r})", issues)
    for key in _ITEM_UNCARRIED:
        v = getattr(item, key)
        if v is not None:
            _uncarried(f"{where}.{key}", f"the item's {key} ({show(v)})", issues)
    if item.categories:
        _uncarried(
            f"{where}.categories", f"category names ({item.categories!r}); it takes category_id", issues
        )
    put(out, {k: v for k, v in item.extras.items() if k != "$price"}, path, issues)
    return out


def write_commerce(c: Commerce, wire: str, path: str, issues: Issues) -> dict[str, Any]:
    """The properties that carry ``c`` on a ``wire`` event; the rest is reported."""
    out: dict[str, Any] = {}
    items = c.items
    if wire in s.PRODUCT_TYPES:
        if items:
            out = write_item(items[0], 0, path, issues)
        for n, item in enumerate(items or ()):
            if n:
                issues.warning(
                    f"commerce.items[{n}]",
                    "NOT_CARRIED",
                    f"Convead's {wire} carries one product; item {n} ({item.item_id or item.item_name!r}) is "
                    "left out. Send update_cart with the whole cart instead",
                )
    elif wire in s.ITEM_TYPES:
        if wire == "purchase":
            for key, wire_key in (("transaction_id", "order_id"), ("value", "revenue"), ("status", "state")):
                v = getattr(c, key)
                if v is not None:
                    out[wire_key] = v
        if items is not None:
            out["items"] = [write_item(it, n, f"{path}.items[{n}]", issues) for n, it in enumerate(items)]
    elif items is not None:
        _uncarried("commerce.items", f"the items of {article(wire + ' event')}", issues)
    if c.currency is not None and not c.currency_filled:
        _uncarried(
            "commerce.currency", f"the currency ({c.currency}): amounts are the account's currency", issues
        )
    if wire != "purchase":
        for key in ("transaction_id", "value", "status"):
            v = getattr(c, key)
            if v is not None:
                _uncarried(f"commerce.{key}", f"the {key} ({v}) of {article(wire + ' event')}", issues)
    for key in _ORDER_UNCARRIED:
        v = getattr(c, key)
        if v is not None:
            note = _NOTES.get(key, "")
            _uncarried(f"commerce.{key}", f"the order {key} ({v}){note}", issues)
    return out


def write_visitor(event: Event, empty: bool, path: str, issues: Issues) -> dict[str, Any] | None:
    """visitor_info from the user traits; None when there is nothing to send."""
    out: dict[str, Any] = {}
    for key, v in (event.user or {}).items():
        wire = s.TRAIT_TO_WIRE.get(key, key)
        if key.endswith(s.HASH_SUFFIXES):
            _uncarried(f"user.{key}", f"a hashed trait ({key})", issues)
        elif wire in out or (wire in s.VISITOR.by_wire and s.VISITOR.by_wire[wire].target != key):
            issues.warning(
                f"user.{key}",
                "NOT_CARRIED",
                f"the trait {key!r} = {show(v)} would overwrite visitor_info.{wire}; it is left out",
            )
        else:
            out[wire] = v
    kept = event.extras.get("visitor_info")
    if type(kept) is dict:
        put(out, kept, path, issues)
    return out if out or empty else None


def write_page(event: Event, issues: Issues) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, v in (event.context or {}).items():
        if key == "page" and type(v) is dict:
            for page_key, pv in v.items():
                if page_key in PAGE_KEYS:
                    out[page_key] = pv
                else:
                    _uncarried(f"context.page.{page_key}", f"the page's {page_key} ({show(pv)})", issues)
        else:
            _uncarried(f"context.{key}", f"the context's {key} ({show(v)})", issues)
    return out


# The page a GA4 event states in its parameters, and the root key of Convead's data it is.
_PAGE_PARAMS = (("page_location", "url"), ("page_title", "title"), ("page_referrer", "referrer"))


def _kept(event: Event, key: str) -> dict[str, Any]:
    v = event.extras.get(key)
    return v if type(v) is dict else {}


def encode_event(event: Event, form: str, issues: Issues) -> Any:
    """Render ``event`` in ``form`` ("call" or "post"); no validation here."""
    own = event.dialect in s.DIALECTS  # its "$" metadata is Convead's
    extras = event.extras if own else {}
    wire, first = wire_type(event, issues)
    base = "$[2]" if form == "call" else "$.data.properties"
    c = amounts.render(
        event,
        s.AMOUNTS,
        issues,
        dialect=event.dialect if own else "convead",
        carried=("value",) if wire == "purchase" else (),
        base=base,
        where="Convead",
        items_carried=wire in s.ITEM_TYPES,
    )
    props = write_commerce(c, wire, base, issues) if c is not None else {}
    put(props, first, base, issues)
    put(props, event.properties, base, issues)
    empty = extras.get("$empty")
    empty = empty if type(empty) is list else []
    visitor = write_visitor(
        event, "visitor_info" in empty, "$[3]" if form == "call" else "$.data.visitor_info", issues
    )
    if form == "call":
        out: list[Any] = ["event", wire]
        if visitor is not None:
            out += [props, visitor]
        elif props or extras.get("$bare") is not True:
            out.append(props)
        report_uncarried(event, frozenset({"user"}), "the convead() call", issues)
        report_foreign_extras(event.extras, frozenset({"visitor_info"}), "the convead() call", issues)
        return out
    data: dict[str, Any] = {"type": wire}
    if props or "properties" in empty:
        data["properties"] = props
    if visitor is not None:
        data["visitor_info"] = visitor
    data.update(write_page(event, issues))
    for param, key in _PAGE_PARAMS:  # a GA4 page view's page in its params: Convead's at the root
        if key not in data and type(props.get(param)) is str:
            data[key] = props.pop(param)
    if "properties" in data and not data["properties"] and "properties" not in empty:
        del data["properties"]
    body: dict[str, Any] = {}
    app_key = extras.get(s.APP_KEY)
    if app_key is not None:
        body["app_key"] = app_key
    body["visitor_uid"] = event.user_id or ""
    body["guest_uid"] = event.anonymous_id or ""
    copies = extras.get("$data_keys")
    for key in copies if type(copies) is list else ():
        if key in body:
            data[key] = body[key]
    put(data, _kept(event, "data"), "$.data", issues)
    body["data"] = data if extras.get("$data_object") is True else encode_json(data).decode()
    put(body, _kept(event, "request"), "$", issues)
    report_uncarried(event, frozenset({"anonymous_id", "user_id", "user", "context"}), "Convead", issues)
    report_foreign_extras(event.extras, OWN, "Convead", issues)
    return body
