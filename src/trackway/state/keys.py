"""Keys of the derived state: ids without the white space around them, items' keys
and lines.

" bob " and "bob" are one user, "WS-1 " and "WS-1" one order: a resent purchase whose
transaction id gained a trailing space is the same order, not a second one. The events
keep their ids as sent; what the state keys (identities, orders, the transaction id of
a cart or a procedure) is trimmed of ``EDGES`` (white space, no-break and zero-width
spaces, a BOM: the characters the rules normalise around an email or a phone), and the
``event_persons`` view trims the events' ids the same way (store/state_tables.py).
"""

from __future__ import annotations

from trackway.model import Event, Item
from trackway.rules.identity import EDGES
from trackway.state.model import Line


def key(value: str) -> str:
    """``value`` without the white space around it."""
    return value.strip(EDGES)


def transaction_id(event: Event) -> str | None:
    """The event's transaction id as orders are keyed by it; None when it has none (or
    only white space)."""
    c = event.commerce
    if c is None or c.transaction_id is None:
        return None
    return key(c.transaction_id) or None


def item_key(item: Item) -> str | None:
    """An item's key in a cart or an order: its id, else its name."""
    return item.item_id or item.item_name


def quantity(item: Item) -> int:
    """The item's quantity, 1 when none is sent."""
    return item.quantity if item.quantity is not None else 1


def line_of(item: Item, units: int) -> Line:
    """A cart's or an order's line of ``units`` of ``item``, at its price."""
    return Line(item_id=item_key(item) or "", item_name=item.item_name, quantity=units, price=item.price)
