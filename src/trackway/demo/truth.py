"""The ground truth of a generated data set: what happened, independent of Trackway.

Plain dataclasses, filled by the simulation (:mod:`trackway.demo.shop`,
:mod:`trackway.demo.donations`) before anything is rendered. Reports are checked
against plain-Python computations over these objects, never over Trackway's tables,
so nothing here comes from Trackway's decoders.

Conventions:

- ``Action.kind`` is what the person did (a funnel step, a cart change, an order
  update, ...); ``Action.name`` is the canonical event name Trackway stores for it in
  its dialect (UA has no ``add_payment_info``: the step is sent as
  ``set_checkout_option``; Convead's ``login`` is an ``update_info``).
- ``Action.dialect`` is the dialect Trackway decodes the action with (``/watch/event``
  decodes every body as ``convead``, InSend's included).
- Money is :class:`~decimal.Decimal` in the currency's minor unit (JPY: none); an
  action's ``value`` is the sum of ``price * quantity`` of its lines (no tax, no
  shipping), a refund's the amount refunded.
- An ``order_update`` is the order's purchase event sent again (same transaction id,
  items and value) with its new ``status``: Trackway stores it under ``purchase``.
  Commanders Act and Convead/InSend orders get their updates in their own dialect; the
  orders of the other shop dialects (which carry no status) and Koalect donations get
  theirs from a back office through Commanders Act's server API (``catalog.BACK_OFFICE``),
  the first minutes after the purchase, so almost every order has a status. Refunds come
  for the shop dialects but Convead/InSend, in the order's dialect, at most one an
  order, never above its value.
- A person keeps their shop cart between visits until a purchase; the purchase's items
  are that cart. Koalect carts are per procedure visit.
- ``invalid`` is None for an action Trackway must accept, else the reason it must be
  rejected. Invalid actions are extra attempts beside the valid ones: they carry no
  state (no order, no cart change, no identity link), so a reference computed from
  the valid actions alone is the expected content of the derived tables.
"""

from __future__ import annotations

import builtins
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

# What an action may be (Action.kind).
FUNNEL = ("view_item_list", "view_item", "add_to_cart", "begin_checkout", "add_payment_info", "purchase")
KINDS = (
    *FUNNEL,
    "remove_from_cart",
    "update_cart",  # Convead: the full cart (items [] is a cleared cart)
    "order_update",  # a purchase event sent again with the order's new status
    "refund",  # refund_items None: full; else exactly those lines
    "search",
    "login",
    "sign_up",
    "view_step",
    "execution",
    "project_created",
    "project_member_joined",
    "project_deleted",
    "view_update",
    "share",
)

# Why an invalid action must be rejected (Action.invalid).
REASONS = (
    "missing_transaction_id",
    "unknown_currency",
    "item_without_id_or_name",
    "bad_hash",
    "missing_search_term",
    "bad_step_name",
    "bad_event_name",
    "bad_email",
)


@dataclass(frozen=True, slots=True)
class Line:
    """One product line: ``quantity`` units at the unit ``price``."""

    item_id: str
    item_name: str
    price: Decimal
    quantity: int

    @property
    def total(self) -> Decimal:
        return self.price * self.quantity


@dataclass(frozen=True, slots=True)
class Procedure:
    """A Koalect procedure (a donation form, a project creation or an invitation)."""

    procedure_id: str
    slug: str
    name: str
    category: str  # donation, create-project, project-invite
    target_type: str  # Client, Project, Campaign
    target_id: str
    steps: tuple[str, ...]  # step names in order, the last is "success"
    paid: bool


@dataclass(slots=True)
class Action:
    """One thing a person did, sent as one event."""

    kind: str
    name: str
    dialect: str
    at: datetime  # UTC, millisecond precision
    property: str
    person: str
    session: str
    anonymous_id: str | None
    user_id: str | None
    form: str | None = None  # commanders-act call/server, convead call/post
    seq: int = 0  # position in Truth.actions (time order)
    event_id: str = ""  # the client event id sent where the dialect carries one
    currency: str | None = None
    currency_sent: bool = True  # False for Convead: the property's default_currency fills it
    value: Decimal | None = None
    items: list[Line] = field(default_factory=list)
    transaction_id: str | None = None
    status: str | None = None  # order status as sent (Commanders Act status, Convead state)
    payment_method: str | None = None
    refund_items: list[Line] | None = None  # refund: None is a full refund
    search_term: str | None = None
    method: str | None = None  # login, sign_up, share
    list_name: str | None = None  # view_item_list
    procedure: Procedure | None = None
    step_index: int | None = None
    step_name: str | None = None
    params: dict[str, Any] = field(default_factory=dict)  # other parameters (project ids, ...)
    invalid: str | None = None
    tags: tuple[str, ...] = ()  # edge cases this action shows

    @builtins.property  # the class has a field named property
    def valid(self) -> bool:
        return self.invalid is None


@dataclass(slots=True)
class Session:
    """A visit (or a back-office sequence: order updates, refunds) of one person."""

    id: str
    property: str
    person: str
    dialect: str  # the dialect the session's payloads are written in
    form: str | None
    start: datetime
    actions: list[Action] = field(default_factory=list)
    tags: set[str] = field(default_factory=set)
    backoffice: bool = False


@dataclass(slots=True)
class Person:
    """A human of one property. ``user_id`` is set once they have an account;
    ``anonymous_ids`` are their devices (a shared device is listed for both users)."""

    id: str
    property: str
    user_id: str | None = None
    anonymous_ids: list[str] = field(default_factory=list)
    sessions: list[str] = field(default_factory=list)
    email: str | None = None


@dataclass(slots=True)
class Truth:
    """Everything that happened, in time order (``actions[n].seq == n``)."""

    seed: int
    start: datetime
    end: datetime
    properties: dict[str, str]  # name -> kind ("shop" or "donations")
    actions: list[Action]
    sessions: list[Session]
    persons: dict[str, Person]

    def valid(self) -> list[Action]:
        return [a for a in self.actions if a.invalid is None]

    def invalid(self) -> list[Action]:
        return [a for a in self.actions if a.invalid is not None]

    def tags(self) -> Counter[str]:
        """How many sessions show each edge case."""
        return Counter(t for s in self.sessions for t in s.tags)

    def orders(self) -> dict[tuple[str, str], list[Action]]:
        """(property, transaction_id) -> its valid purchase, order updates and refunds, in order."""
        out: dict[tuple[str, str], list[Action]] = {}
        for a in self.actions:
            if a.invalid is None and a.kind in ("purchase", "order_update", "refund") and a.transaction_id:
                out.setdefault((a.property, a.transaction_id), []).append(a)
        return out
