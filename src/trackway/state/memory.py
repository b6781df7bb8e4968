"""The derived state in memory, with what changed since it was loaded.

Ingestion loads into it the rows a batch of events can touch (prefetched from the
store), applies the events, and writes back what changed (:attr:`dirty`, the new
append-only rows, the removed keys and the person merges). A rebuild starts it empty
and keeps everything. The engine (:mod:`trackway.state.engine`) only ever reads and
writes this object.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from trackway.state.model import Cart, Conflict, Identity, Link, Order, OrderChange, Procedure

IdKey = tuple[str, str, str]  # (property, kind, id)
PersonKey = tuple[str, str]  # (property, person_id)


@dataclass
class Dirty:
    identities: set[IdKey] = field(default_factory=set)
    carts: set[tuple[str, str]] = field(default_factory=set)  # (property, cart_id)
    orders: set[tuple[str, str]] = field(default_factory=set)  # (property, transaction_id)
    procedures: set[tuple[str, str, str]] = field(default_factory=set)  # (property, procedure_id, person_id)


@dataclass
class MemoryState:
    identities: dict[IdKey, Identity] = field(default_factory=dict)
    members: defaultdict[PersonKey, set[tuple[str, str]]] = field(default_factory=lambda: defaultdict(set))
    carts: dict[tuple[str, str], Cart] = field(default_factory=dict)
    open_carts: dict[PersonKey, str] = field(default_factory=dict)  # -> cart_id
    carts_of: defaultdict[PersonKey, set[str]] = field(default_factory=lambda: defaultdict(set))
    orders: dict[tuple[str, str], Order] = field(default_factory=dict)
    orders_of: defaultdict[PersonKey, set[str]] = field(default_factory=lambda: defaultdict(set))
    procedures: dict[tuple[str, str, str], Procedure] = field(default_factory=dict)
    procedures_of: defaultdict[PersonKey, set[str]] = field(default_factory=lambda: defaultdict(set))
    # append-only rows created since the state was loaded
    links: list[Link] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    history: list[OrderChange] = field(default_factory=list)
    # history rows stored before this load whose refund was valued since (a refund that
    # came before its purchase): (property, transaction_id, seq, refund, note)
    revalued: list[tuple[str, str, int, Decimal | None, str | None]] = field(default_factory=list)
    # this load's history rows of refunds waiting for their purchase, by (property, txid, seq)
    waiting: dict[tuple[str, str, int], OrderChange] = field(default_factory=dict)
    # what to write back
    dirty: Dirty = field(default_factory=Dirty)
    # the keys of the rows loaded from the store (ingestion's prefetch): a changed row not
    # among them is presumed new, and inserted as such (store/state_tables.flush)
    loaded: Dirty = field(default_factory=Dirty)
    removed_procedures: set[tuple[str, str, str]] = field(default_factory=set)
    merges: list[tuple[str, str, str]] = field(default_factory=list)  # (property, from person, to person)

    # -- loading (ingestion prefetches rows with these) --------------------------------
    def add_identity(self, row: Identity) -> None:
        self.identities[(row.property, row.kind, row.id)] = row
        self.members[(row.property, row.person_id)].add((row.kind, row.id))

    def add_cart(self, cart: Cart) -> None:
        self.carts[(cart.property, cart.cart_id)] = cart
        self.carts_of[(cart.property, cart.person_id)].add(cart.cart_id)
        if cart.status == "open":
            self.open_carts[(cart.property, cart.person_id)] = cart.cart_id

    def add_order(self, order: Order) -> None:
        self.orders[(order.property, order.transaction_id)] = order
        if order.person_id is not None:
            self.orders_of[(order.property, order.person_id)].add(order.transaction_id)

    def add_procedure(self, proc: Procedure) -> None:
        self.procedures[(proc.property, proc.procedure_id, proc.person_id)] = proc
        self.procedures_of[(proc.property, proc.person_id)].add(proc.procedure_id)

    # -- reads and writes the engine uses ----------------------------------------------
    def identity(self, prop: str, kind: str, value: str) -> Identity | None:
        return self.identities.get((prop, kind, value))

    def set_identity(self, row: Identity) -> None:
        self.add_identity(row)
        self.dirty.identities.add((row.property, row.kind, row.id))

    def has_user(self, prop: str, person: str) -> str | None:
        """A user id of ``person``, if it has one (sorted, so the answer is stable)."""
        users = sorted(i for k, i in self.members.get((prop, person), ()) if k == "user")
        return users[0] if users else None

    def open_cart(self, prop: str, person: str) -> Cart | None:
        cart_id = self.open_carts.get((prop, person))
        return self.carts[(prop, cart_id)] if cart_id is not None else None

    def touch_cart(self, cart: Cart) -> None:
        self.add_cart(cart)
        if cart.status != "open" and self.open_carts.get((cart.property, cart.person_id)) == cart.cart_id:
            del self.open_carts[(cart.property, cart.person_id)]
        self.dirty.carts.add((cart.property, cart.cart_id))

    def touch_order(self, order: Order) -> None:
        self.add_order(order)
        self.dirty.orders.add((order.property, order.transaction_id))

    def record(self, change: OrderChange, *, waiting: bool = False) -> None:
        """A new ``order_history`` row; ``waiting``: a refund to be valued by :meth:`revalue`."""
        self.history.append(change)
        if waiting:
            self.waiting[(change.property, change.transaction_id, change.seq)] = change

    def revalue(self, prop: str, txid: str, seq: int, refund: Decimal | None, note: str | None) -> None:
        """The refund of history row ``seq``, valued now: the row itself when this load holds
        it (a rebuild holds every row), else an update of the stored row."""
        row = self.waiting.pop((prop, txid, seq), None)
        if row is not None:
            row.refund, row.note = refund, note
        else:
            self.revalued.append((prop, txid, seq, refund, note))

    def touch_procedure(self, proc: Procedure) -> None:
        self.add_procedure(proc)
        self.dirty.procedures.add((proc.property, proc.procedure_id, proc.person_id))

    def drop_procedure(self, proc: Procedure) -> None:
        key = (proc.property, proc.procedure_id, proc.person_id)
        self.procedures.pop(key, None)
        self.procedures_of[(proc.property, proc.person_id)].discard(proc.procedure_id)
        self.dirty.procedures.discard(key)
        self.removed_procedures.add(key)
