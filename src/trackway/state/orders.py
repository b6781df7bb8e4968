"""Orders, kept current event by event.

By property and transaction id: a ``purchase`` creates the order or updates it (a later
purchase with the same id carries a new status or new amounts: Commanders Act's status
updates, Convead's order updates); a ``refund`` takes back its items' worth, else the
amount it states, else the rest of the order, never more than is left, never in another
currency; one that comes before the purchase is valued when the purchase comes
(state/refunds.py). An order's amounts are the parts of its last purchase that states any
(trackway.amounts: the subtotal, discount, revenue, tax, shipping and total, whatever the
dialect; an update with no items takes its subtotal from the order's lines). Every change
is kept in ``order_history``.
"""

from __future__ import annotations

from datetime import datetime

from trackway import amounts
from trackway.amounts import Part
from trackway.model import Event, Item
from trackway.state import refunds
from trackway.state.keys import item_key, line_of, quantity, transaction_id
from trackway.state.memory import MemoryState
from trackway.state.model import Line, Order, OrderChange


def _order(state: MemoryState, event: Event, txid: str, person: str | None, at: datetime) -> Order:
    order = state.orders.get((event.property, txid))
    if order is None:
        order = Order(property=event.property, transaction_id=txid, created_at=at, updated_at=at, lines=[])
    if person is not None and order.person_id is None:
        order.person_id = person
    return order


def _set_amounts(order: Order, event: Event) -> None:
    """The order's amounts from a purchase that states any (amounts or items)."""
    c = event.commerce
    assert c is not None
    found, stated = amounts.values_of(event, items=None if c.items else order.lines)
    if not (stated or c.items):
        return  # a status update: the amounts stay
    order.subtotal = found.get(Part.SUBTOTAL)
    order.discount = found.get(Part.DISCOUNT)
    order.revenue = found.get(Part.REVENUE)
    order.tax = found.get(Part.TAX)
    order.shipping = found.get(Part.SHIPPING)
    order.total = found.get(Part.TOTAL)


def apply_order(state: MemoryState, event: Event, person: str | None, at: datetime, seq: int) -> None:
    c, txid = event.commerce, transaction_id(event)
    if c is None or txid is None or event.name not in ("purchase", "refund"):
        return
    order = _order(state, event, txid, person, at)
    refund = note = None
    waiting = False
    if event.name == "purchase":
        order.purchased = True
        for key in ("currency", "value", "status"):
            v = getattr(c, key)
            if v is not None:
                setattr(order, key, v)
        if c.items:
            # a line of quantity 0 or less is no sale (QUANTITY_NOT_POSITIVE), as in a cart
            order.lines = [_line(it, order.currency) for it in c.items if item_key(it) and quantity(it) > 0]
        _set_amounts(order, event)
        for asked in order.pending_refunds:  # the refunds that came first, in their order
            state.revalue(order.property, txid, asked.seq, *refunds.take(order, asked))
        order.pending_refunds = []
    else:
        asked = refunds.claim(event, seq)
        if order.currency is None:
            order.currency = c.currency
        if order.purchased:
            refund, note = refunds.take(order, asked)
        else:
            order.pending_refunds = [*order.pending_refunds, asked]
            note, waiting = refunds.WAITING, True
        if c.status is not None:
            order.status = c.status
    order.updated_at = max(order.updated_at, at)
    order.events += 1
    state.touch_order(order)
    change = OrderChange(
        property=event.property,
        transaction_id=txid,
        seq=seq,
        event_id=event.id,
        name=event.name,
        status=c.status,
        value=c.value,
        refund=refund,
        at=at,
        note=note,
    )
    state.record(change, waiting=waiting)


def move_orders(state: MemoryState, prop: str, source: str, target: str) -> None:
    for txid in sorted(state.orders_of.pop((prop, source), set())):
        order = state.orders[(prop, txid)]
        order.person_id = target
        state.touch_order(order)


def _line(item: Item, currency: str | None) -> Line:
    """An order's line of ``item``; with the item's own currency when it is not the
    order's (the products report then sums it in that currency, never in the order's)."""
    line = line_of(item, quantity(item))
    own = item.currency
    if type(own) is str and own and own != currency and line.price is not None:
        line.currency = own
    return line
