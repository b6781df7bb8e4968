"""Truth actions as canonical events, ready for Trackway's encoders.

:func:`canonical` builds the :class:`trackway.Event` of one action in the dialect it
is sent in: what the simulated site does in that dialect (Commanders Act's ``revenue``
and ``type``, UA's checkout steps, Koalect's procedure context) and, for an invalid
action, exactly the fault its reason names. Of the action's client event id, time and
ids it keeps what the wire form carries (``carries``, told by the vendor's renderer);
the fields that exist only in a vendor's wire form (its extras) are the renderer's to
add (``trackway/vendors/<vendor>/demo.py``).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from trackway.demo import catalog as c
from trackway.demo.sessions import CONVEAD, UA, VALUE_KINDS
from trackway.demo.truth import Action, Line
from trackway.model import Commerce, Event, Item

_ORDER = frozenset({"purchase", "order_update"})

# What a wire form can carry of the event's envelope (``carries``): its client id ("id"),
# its time ("timestamp"), its anonymous and user ids ("ids"). The rest travels beside
# the payload (the /collect envelope's ids) or not at all (the collector's receive time);
# leaving it off the canonical event spares the encoders their NOT_CARRIED warnings.
CARRIED = frozenset({"id", "timestamp", "ids"})


def iso(when: datetime) -> str:
    """ISO 8601 UTC with milliseconds and ``Z``."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _item(ln: Line, a: Action, dialect: str, index: int | None) -> Item:
    item = Item(
        item_id=ln.item_id or None, item_name=ln.item_name or None, price=ln.price, quantity=ln.quantity
    )
    product = c.BY_ID.get(ln.item_id)
    if dialect == "koalect":
        proc = a.procedure
        item.currency = a.currency
        item.affiliation = "Koalect Platform"
        if proc is not None:
            item.list_id, item.list_name = proc.slug, proc.name
        return item
    if product is not None and dialect not in CONVEAD:
        item.brand = product.brand
        item.categories = product.category.split("/")
    if dialect == "commanders-act" and ln.item_id:
        item.product_id = ln.item_id
    if a.kind == "view_item_list":
        if dialect != "commanders-act":  # Commanders Act requires a quantity on every item
            item.quantity = None
        item.index = index
        if dialect not in UA or dialect == "gtag-ua":
            item.list_name = a.list_name
    return item


def canonical(a: Action, dialect: str, carries: Collection[str] = ()) -> Event:
    """The canonical event of ``a`` as sent in ``dialect`` (the dialect it is written in),
    with those of its client event id, time and ids that ``carries`` names (:data:`CARRIED`)."""
    if not CARRIED.issuperset(carries):
        raise ValueError(f"expected carries among {sorted(CARRIED)}, got {sorted(set(carries) - CARRIED)}")
    props: dict[str, Any] = {}
    user: dict[str, Any] | None = None
    commerce = None
    kind = a.kind
    if a.items or kind in VALUE_KINDS or kind in ("refund", "update_cart") or a.transaction_id:
        index = 0 if kind == "view_item_list" else None
        items = [_item(ln, a, dialect, None if index is None else n) for n, ln in enumerate(a.items)]
        commerce = Commerce(currency=a.currency if a.currency_sent else None, items=items)
        if kind in VALUE_KINDS or kind in ("refund", "execution"):
            commerce.value = a.value
        if kind == "refund" and a.refund_items is None:
            commerce.items = None  # a full refund
        commerce.transaction_id = a.transaction_id
        if kind in _ORDER or kind == "add_payment_info":
            commerce.payment_method = a.payment_method
        if kind in _ORDER:
            commerce.status = a.status
        if dialect == "commanders-act" and commerce.value is not None:
            commerce.revenue = commerce.value
            if kind in _ORDER or kind == "refund":
                commerce.type = "online"
        if dialect == "koalect" and kind in ("purchase", "execution") and a.procedure is not None:
            commerce.affiliation = "Koalect Platform"
    if kind == "view_item_list" and a.list_name and dialect not in UA:
        props["item_list_name"] = a.list_name
    if dialect in UA and kind == "begin_checkout":
        props["checkout_step"] = 1
    if dialect in UA and kind == "add_payment_info":
        commerce = None
        props["checkout_step"], props["checkout_option"] = 2, a.payment_method
    if a.search_term is not None:
        props["search_term"] = a.search_term
    if a.method is not None and dialect not in CONVEAD:
        props["method"] = a.method
    if a.procedure is not None:
        proc = a.procedure
        props["procedure_id"] = proc.procedure_id
        props["procedure_slug"] = proc.slug
        props["procedure_category"] = proc.category
        props["procedure_target_type"] = proc.target_type
        props["procedure_target_id"] = proc.target_id
    if a.step_index is not None:
        props["step_index"], props["step_name"] = a.step_index, a.step_name
    for key, v in a.params.items():
        if key in ("email", "email_sha256"):
            user = {key: v}
        elif key not in ("fee", "is_subscription"):
            props[key] = v
    if dialect in CONVEAD and kind in ("login", "sign_up") and user is None:
        user = {}
    return Event(
        name=a.name,
        dialect=dialect,
        id=a.event_id if "id" in carries else "",
        timestamp=a.at if "timestamp" in carries else None,
        anonymous_id=a.anonymous_id if "ids" in carries else None,
        user_id=a.user_id if "ids" in carries else None,
        user=user,
        commerce=commerce,
        properties=props,
    )
