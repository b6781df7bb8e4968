"""Carts, kept current event by event.

Per person, one open cart at a time: ``add_to_cart`` and ``remove_from_cart`` apply
their items as deltas (a quantity of 1 when none is sent; a line at 0 is removed; an
item with a quantity of 0 or less changes nothing); Convead's ``update_cart`` replaces
the whole cart (no items: cleared); a ``purchase`` converts the open cart. A cart whose
last line goes is ``emptied``. A ``remove_from_cart`` or an empty ``update_cart`` for a
person with no open cart opens none, and neither does an event with no item to apply.
When a guest logs in, the guest's open cart is merged into the user's (quantities
added). A cart's ``updated_at`` is the time of its latest event, whichever order events
arrive in.

Currencies are never summed together. A cart's currency is the first one its events
state (an ``update_cart``, which replaces every line, states the cart's anew). A price
sent in another currency is kept on its line with that currency (``Line.currency``), and
the line is left out of the cart's value (its quantity still counts); a price in the
cart's currency replaces it, and one in another currency never replaces a price in the
cart's. A guest's lines merged into a user's cart in another currency keep theirs (a line
the user's cart holds keeps its price).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from trackway.model import Event
from trackway.state.keys import item_key, line_of, quantity, transaction_id
from trackway.state.memory import MemoryState
from trackway.state.model import Cart, Line


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


def _price(line: Line, price: Decimal | None, currency: str | None, cart: Cart) -> None:
    """Give ``line`` of ``cart`` the ``price`` sent in ``currency`` (None: the cart's)."""
    if price is None:
        return
    if currency is None or currency == cart.currency:
        line.price, line.currency = price, None
    elif line.price is None or line.currency is not None:  # never over a price in the cart's currency
        line.price, line.currency = price, currency


def apply_cart(state: MemoryState, event: Event, person: str, at: datetime) -> None:
    name, c = event.name, event.commerce
    items = c.items if c is not None and c.items is not None else None
    currency = c.currency if c is not None else None
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
                lines[key] = line_of(item, quantity(item))
        if not lines and state.open_cart(event.property, person) is None:
            return  # clearing a cart the person does not have opens none
        cart = _open(state, event, person, at)
        cart.lines = lines  # every line anew, in the currency the update states
        cart.currency = currency or cart.currency
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
        cart.currency = cart.currency or currency  # the first currency stated stays the cart's
        sign = 1 if name == "add_to_cart" else -1
        for key, item, units in moves:
            line = cart.lines.get(key)
            if line is None:
                if sign < 0:
                    continue  # removing what the cart does not hold changes nothing
                line = cart.lines[key] = line_of(item, 0)
                line.price = None
            line.quantity += sign * units
            _price(line, item.price, currency, cart)
            if item.item_name is not None:
                line.item_name = item.item_name
            if line.quantity <= 0:
                del cart.lines[key]
    else:
        return
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
            user_open.currency = user_open.currency or cart.currency
            for key, line in cart.lines.items():
                mine = user_open.lines.get(key)
                if mine is None:
                    mine = user_open.lines[key] = Line(item_id=line.item_id, item_name=line.item_name)
                    _price(mine, line.price, line.currency or cart.currency, user_open)
                elif mine.price is None or mine.currency is not None:  # the user's price stays
                    _price(mine, line.price, line.currency or cart.currency, user_open)
                mine.quantity += line.quantity
            user_open.updated_at = max(user_open.updated_at, at)
            cart.status, cart.closed_at, cart.merged_into = "merged", at, user_open.cart_id
            state.touch_cart(user_open)
        state.open_carts.pop((prop, source), None)
        state.touch_cart(cart)
