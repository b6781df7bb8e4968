"""Refunds: what each one takes back from its order.

A refund event is read as a :class:`~trackway.state.model.Claim` (:func:`claim`) and
taken back from its order (:func:`take`):

- with items: their worth, each item's price (the refund's, else the order's for that
  item) times its units, at most the units of the item the order has left to refund (an
  item the order does not hold has none left; an order with no lines caps no units);
- without items but with an amount (the refund's revenue, read by its dialect's meaning:
  GA4's ``value``, UA's ``revenue`` less tax and shipping, ...): that amount;
- without items or amount: the whole order, what it has left to refund (and every unit);
- never more than the order has left to refund (its revenue less what refunds took back
  before), never less than 0;
- a refund in another currency than the order's takes back nothing: amounts are never
  converted between currencies; its ``order_history`` row's note says so.

A refund that comes before its order's purchase waits in ``orders.pending_refunds`` (its
history row has no refund yet) and is valued, in the order refunds came, when the
purchase comes (state/orders.py). Pure: no I/O.
"""

from __future__ import annotations

from decimal import Decimal

from trackway import amounts
from trackway.amounts import Part
from trackway.model import Event
from trackway.state.keys import item_key, quantity
from trackway.state.model import Claim, Line, Order

WAITING = "no purchase of this order yet: the refund is valued when the purchase comes"
_ZERO = Decimal(0)


def claim(event: Event, seq: int) -> Claim:
    """What the refund ``event`` (stored as ``seq``) asks to take back."""
    c = event.commerce
    assert c is not None
    items = [
        Line(item_id=key, item_name=it.item_name, quantity=quantity(it), price=it.price)
        for it in c.items or ()
        if (key := item_key(it))
    ]
    amount = None
    if not items:
        found, stated = amounts.values_of(event)
        amount = found.get(Part.REVENUE) if stated else None
    return Claim(seq=seq, items=items or None, amount=amount, currency=c.currency)


def take(order: Order, asked: Claim) -> tuple[Decimal | None, str | None]:
    """Take ``asked`` back from ``order`` (its ``refunded`` and ``refunded_items``); returns
    what it took back in the order's currency (None: nothing booked) and a note when it took
    back less than asked, or nothing."""
    if asked.currency is not None and order.currency is not None and asked.currency != order.currency:
        return None, (
            f"expected a refund in the order's currency {order.currency}, got {asked.currency}: not booked "
            "(amounts are never converted between currencies); send the refund in the order's currency"
        )
    notes: list[str] = []
    if asked.items is not None:
        worth = _items(order, asked.items, notes)
    elif asked.amount is not None:
        worth = asked.amount
        if worth < 0:
            notes.append(f"expected a refund amount of 0 or more, got {_text(worth)}: 0 booked")
            worth = _ZERO
    else:  # the whole order
        worth = _left(order) or _ZERO
        order.refunded_items = {key: n for key, n in _bought(order).items() if n > 0}
    left = _left(order)
    if left is not None and worth > left:
        notes.append(
            f"expected at most {_text(left)} back (the order's revenue {_text(order.revenue)} less "
            f"{_text(order.refunded)} refunded before), got {_text(worth)}: {_text(left)} booked"
        )
        worth = left
    order.refunded += worth
    return worth, "; ".join(notes) or None


def _text(amount: Decimal | None) -> str:
    """An amount in a note, the same however many trailing zeros it has (a stored amount
    has 9 decimals: the note must read the same after a rebuild)."""
    return "?" if amount is None else format(amount.normalize(), "f")


def _left(order: Order) -> Decimal | None:
    """What the order has left to refund (None: its revenue is not known)."""
    if order.revenue is None:
        return None
    return max(order.revenue - order.refunded, _ZERO)


def _bought(order: Order) -> dict[str, int]:
    units: dict[str, int] = {}
    for ln in order.lines:
        units[ln.item_id] = units.get(ln.item_id, 0) + ln.quantity
    return units


def _items(order: Order, items: list[Line], notes: list[str]) -> Decimal:
    """The worth of the refunded ``items``, each capped at the units the order has left to
    refund; records the units taken in ``order.refunded_items``."""
    bought = _bought(order)
    prices = {ln.item_id: ln.price for ln in order.lines if ln.price is not None}
    taken = dict(order.refunded_items)
    worth = _ZERO
    for item in items:
        units = max(item.quantity, 0)
        if order.lines:  # the order's items are known: no more than it has left of this one
            left = max(bought.get(item.item_id, 0) - taken.get(item.item_id, 0), 0)
            if units > left:
                notes.append(
                    f"expected at most {left} x {item.item_id!r} back (bought less refunded before), "
                    f"got {units}: {left} booked"
                )
                units = left
        if units:
            taken[item.item_id] = taken.get(item.item_id, 0) + units
        price = item.price if item.price is not None else prices.get(item.item_id)
        if price is not None:
            worth += price * units
    order.refunded_items = taken
    return max(worth, _ZERO)
