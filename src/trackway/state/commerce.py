"""Carts and orders, kept current event by event.

Carts, per person, one open at a time: ``add_to_cart`` and ``remove_from_cart`` apply
their items as deltas (a quantity of 1 when none is sent; a line at 0 is removed);
Convead's ``update_cart`` replaces the whole cart (no items: cleared); a ``purchase``
converts the open cart. A cart whose last line goes is ``emptied``. A
``remove_from_cart`` or an empty ``update_cart`` for a person with no open cart opens none. When a guest
logs in, the guest's open cart is merged into the user's (quantities added). A cart's
``updated_at`` is the time of its latest event, whichever order events arrive in.

Orders, by property and transaction id: a ``purchase`` creates the order or updates
it (a later purchase with the same id carries a new status or new amounts: Commanders
Act's status updates, Convead's order updates); a ``refund`` takes back its items' worth,
else the amount it states, else the rest of the order, never more than is left, never in
another currency; one that comes before the purchase is valued when the purchase comes
(state/refunds.py).
An order's amounts are the parts of its last purchase that states any (trackway.amounts:
the subtotal, discount, revenue, tax, shipping and total, whatever the dialect; an update
with no items takes its subtotal from the order's lines). Every change is kept in
``order_history``.
"""

from __future__ import annotations

from datetime import datetime

from trackway import amounts
from trackway.amounts import Part
from trackway.model import Event, Item
from trackway.state import refunds
from trackway.state.keys import item_key, quantity, transaction_id
from trackway.state.memory import MemoryState
from trackway.state.model import Cart, Line, Order, OrderChange


def _line(item: Item, units: int) -> Line:
    return Line(item_id=item_key(item) or "", item_name=item.item_name, quantity=units, price=item.price)


def _open(state: MemoryState, event: Event, person: str, at: datetime) -> Cart:
    cart = state.open_cart(event.property, person)
    if cart is None:
        cart = Cart(
            property=event.property,
            cart_id=f"c_{event.id}",
            person_id=person,
            status="open",
            opened_at=at,
            updated_at=at,
            lines={},
        )
    return cart


def _close_if_empty(cart: Cart, at: datetime) -> None:
    if not cart.lines and cart.status == "open":
        cart.status, cart.closed_at = "emptied", at


def apply_cart(state: MemoryState, event: Event, person: str, at: datetime) -> None:
    name, c = event.name, event.commerce
    items = c.items if c is not None and c.items is not None else None
    if name == "purchase":
        cart = state.open_cart(event.property, person)
        if cart is not None:
            cart.status, cart.closed_at, cart.updated_at = "converted", at, max(cart.updated_at, at)
            cart.transaction_id = transaction_id(event)
            cart.events += 1
            state.touch_cart(cart)
        return
    if name == "update_cart":
        if items is None:
            return
        lines = {}
        for item in items:
            key = item_key(item)
            if key is not None and quantity(item) > 0:
                lines[key] = _line(item, quantity(item))
        if not lines and state.open_cart(event.property, person) is None:
            return  # clearing a cart the person does not have opens none
        cart = _open(state, event, person, at)
        cart.lines = lines
    elif name in ("add_to_cart", "remove_from_cart"):
        # An item with a quantity of 0 or less changes nothing: a removal of -2 is not an
        # addition of 2 (the vendors' rules warn, QUANTITY_NOT_POSITIVE).
        moves = []
        for item in items or ():
            key, units = item_key(item), quantity(item)
            if key is not None and units > 0:
                moves.append((key, item, units))
        if not moves:
            return  # nothing to apply opens no cart
        if name == "remove_from_cart" and state.open_cart(event.property, person) is None:
            return  # removing from no cart opens none
        cart = _open(state, event, person, at)
        sign = 1 if name == "add_to_cart" else -1
        for key, item, units in moves:
            line = cart.lines.get(key)
            if line is None:
                if sign < 0:
                    continue  # removing what the cart does not hold changes nothing
                line = cart.lines[key] = _line(item, 0)
            line.quantity += sign * units
            if item.price is not None:
                line.price = item.price
            if item.item_name is not None:
                line.item_name = item.item_name
            if line.quantity <= 0:
                del cart.lines[key]
    else:
        return
    if c is not None and c.currency is not None:
        cart.currency = c.currency
    cart.updated_at = max(cart.updated_at, at)  # an older event arriving late is not the latest change
    cart.events += 1
    _close_if_empty(cart, at)
    state.touch_cart(cart)


def move_carts(state: MemoryState, prop: str, source: str, target: str, at: datetime) -> None:
    """A guest's carts become the user's; its open cart merges into the user's open one."""
    guest_open = state.open_cart(prop, source)
    user_open = state.open_cart(prop, target)
    for cart_id in sorted(state.carts_of.pop((prop, source), set())):
        cart = state.carts[(prop, cart_id)]
        cart.person_id = target
        if cart is guest_open and user_open is not None:
            for key, line in cart.lines.items():
                mine = user_open.lines.get(key)
                if mine is None:
                    user_open.lines[key] = Line(
                        item_id=line.item_id,
                        item_name=line.item_name,
                        quantity=line.quantity,
                        price=line.price,
                    )
                else:
                    mine.quantity += line.quantity
            user_open.updated_at = max(user_open.updated_at, at)
            user_open.currency = user_open.currency or cart.currency
            cart.status, cart.closed_at, cart.merged_into = "merged", at, user_open.cart_id
            state.touch_cart(user_open)
        state.open_carts.pop((prop, source), None)
        state.touch_cart(cart)


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
            order.lines = [_line(it, quantity(it)) for it in c.items if item_key(it)]
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
