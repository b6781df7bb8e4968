"""The derived state: identities, carts, orders, Koalect procedures.

Rows of the derived tables as Structs. They are derived from stored events only,
in the order the events were stored (``events.seq``), so ``trackway rebuild``
gives the same rows as ingestion did.
"""

from __future__ import annotations

import builtins
from datetime import datetime
from decimal import Decimal

import msgspec


class Identity(msgspec.Struct, kw_only=True):
    """One id (``kind`` ``anonymous`` or ``user``) and the person it belongs to."""

    property: str
    kind: str
    id: str
    person_id: str
    first_seen: datetime
    last_seen: datetime


class Link(msgspec.Struct, kw_only=True):
    """An anonymous id seen with a user id: the guest became this user."""

    property: str
    anonymous_id: str
    user_id: str
    event_id: str
    at: datetime


class Conflict(msgspec.Struct, kw_only=True):
    """An anonymous id linked to ``user_id`` seen with ``other_user_id``: recorded, not merged."""

    property: str
    anonymous_id: str
    user_id: str
    other_user_id: str
    event_id: str
    at: datetime


class Line(msgspec.Struct, kw_only=True):
    """A cart's or an order's line. ``currency``: a cart line's price currency when it is not
    the cart's (the line is then left out of the cart's value); None otherwise."""

    item_id: str
    item_name: str | None = None
    quantity: int = 0
    price: Decimal | None = None
    currency: str | None = None


class Cart(msgspec.Struct, kw_only=True):
    """A person's cart from its first item to its end: ``open``, ``converted`` (a purchase),
    ``emptied`` (no line left) or ``merged`` (a guest's cart merged into the user's).
    ``currency``: the first currency its events stated (state/carts.py)."""

    property: str
    cart_id: str
    person_id: str
    status: str
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    transaction_id: str | None = None
    merged_into: str | None = None
    currency: str | None = None
    lines: dict[str, Line] = {}
    events: int = 0

    @builtins.property  # the class has a field named property
    def value(self) -> Decimal:
        """The lines' price x quantity, in the cart's currency: a line priced in another
        currency is left out (never summed across currencies)."""
        return sum(
            (
                ln.price * ln.quantity
                for ln in self.lines.values()
                if ln.price is not None and ln.currency is None
            ),
            Decimal(0),
        )

    @builtins.property  # the class has a field named property
    def other_currency_lines(self) -> int:
        """How many lines are priced in another currency than the cart's (not in its value)."""
        return sum(1 for ln in self.lines.values() if ln.currency is not None)


class Claim(msgspec.Struct, kw_only=True):
    """What a refund event asks to take back (state/refunds.py): its items (None: it names
    none), else the amount it states (its revenue, by its dialect's meaning), in its
    currency (None: the order's). ``seq`` is its ``order_history`` row."""

    seq: int
    items: list[Line] | None = None
    amount: Decimal | None = None
    currency: str | None = None


class Order(msgspec.Struct, kw_only=True):
    """An order by its transaction id. ``value`` is the order's value as the source states it
    (its meaning is the source dialect's); ``subtotal``, ``discount``, ``revenue`` and ``total``
    are its amounts' parts (trackway.amounts), stated or derived, the same whatever the dialect;
    ``tax``, ``shipping`` and ``discount`` as stated (None: none stated); ``refunded`` what
    refunds took back (in the order's currency), ``refunded_items`` the units they took back
    by item; ``pending_refunds`` the refunds that came before the order's purchase, valued
    when it comes; a row with no purchase yet (a refund first) has no amounts."""

    property: str
    transaction_id: str
    person_id: str | None = None
    status: str | None = None
    currency: str | None = None
    value: Decimal | None = None
    revenue: Decimal | None = None
    tax: Decimal | None = None
    shipping: Decimal | None = None
    subtotal: Decimal | None = None
    discount: Decimal | None = None
    total: Decimal | None = None
    refunded: Decimal = Decimal(0)
    refunded_items: dict[str, int] = {}
    pending_refunds: list[Claim] = []
    lines: list[Line] = []
    created_at: datetime
    updated_at: datetime
    purchased: bool = False
    events: int = 0


class OrderChange(msgspec.Struct, kw_only=True):
    """One event that created or changed an order (the order's history). ``refund``: what a
    refund took back, in the order's currency (None: nothing booked, ``note`` says why: a
    refund in another currency, or one still waiting for the order's purchase); ``note``
    also says when a refund asked for more than the order had left to refund."""

    property: str
    transaction_id: str
    seq: int
    event_id: str
    name: str
    status: str | None
    value: Decimal | None
    refund: Decimal | None
    at: datetime
    note: str | None = None


class Step(msgspec.Struct, kw_only=True):
    index: int | None
    name: str | None
    at: datetime


class Procedure(msgspec.Struct, kw_only=True):
    """A person's way through a Koalect procedure (a donation form, a project creation, ...)."""

    property: str
    procedure_id: str
    person_id: str  # "" for events with no identity (cookieless)
    slug: str | None = None
    category: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    steps: list[Step] = []
    success_at: datetime | None = None
    checkout_at: datetime | None = None
    transaction_id: str | None = None
    value: Decimal | None = None
    currency: str | None = None
    executed_at: datetime | None = None
    execution_id: str | None = None
    first_at: datetime
    last_at: datetime
