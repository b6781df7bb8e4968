"""Every report of docs/reports.md in plain Python, from a generated data set's truth.

Nothing here reads Trackway's tables or runs its decoders: the input is
:class:`trackway.demo.truth.Truth` (what happened) and, for the quality report, how
the test sent it (which actions travelled in one payload, and the collector's clock
when each was received). :class:`Reference` first derives, from the valid actions in
store order, what docs/people.md says Trackway derives (identities, carts, orders,
procedures), then each report reads those plain objects as docs/reports.md defines it.

Rows have the reports' columns: money as :class:`~decimal.Decimal`, counts as int,
periods as ``"YYYY-MM-DD"`` (None without ``--by``), None where a definition says
null. :func:`report` returns ``{section: [row, ...]}``, rows in no particular order
(compare them with :func:`sort_rows`).

Readings of the definitions where they leave a choice (each one is written where it
applies too):

- Stored events: the valid actions (invalid ones are not stored), each with its time
  ``Action.at`` and its name ``Action.name``; events of the same time are in store
  order, by default the truth's order (``Action.seq``); the derived state is built in
  store order (``store_order`` overrides it with the order the test sent them in).
- Identity (docs/people.md) is simulated on the actions' ids in store order: a person
  per id, a guest merged into a known user when an event carries both, a conflict (no
  merge) when the anonymous id already belongs to another user. An event's person, as
  ``event_persons`` resolves it when read, is its user id's person, else its anonymous
  id's. The truth's ``Action.person`` must give the same partition (the test checks it).
- Carts (docs/people.md) are the persons' carts *as Trackway sees the persons at the
  time of each event* (a guest's cart is its own until the login merges it into the
  user's open cart, or makes it the user's open cart when the user has none). A
  ``remove_from_cart`` or an empty ``update_cart`` when the person has no open cart
  opens no cart (there is nothing to remove from or to clear). A cart's currency is
  the first currency its events carried (an update_cart's replaces it; a merged guest
  cart gives its currency only to a user cart that has none); a line's price is the last
  price sent for it in the cart's currency, else the last sent in another currency, which
  leaves the line out of the cart's value; the cart's "last change" is its latest cart
  event, or the merge of a guest cart into it.
- Orders: a purchase (first or update) sets the status, value, currency and lines it
  carries; a refund's amount is its items at their price, else the amount it states,
  else the order's value less what was refunded before, never more than that nor less
  than 0 (the truth never refunds more, nor before the purchase, nor in another
  currency); an order's current status is the last one carried.
  An order's value here is its revenue, which ``gross`` sums: the truth's value is the
  items' price x quantity, with no tax, shipping or order discount, in every dialect.
- Procedures: one row per (property, procedure id, person), persons as at the time of
  each event; a guest's rows move to the user at the merge (the same procedure on both
  sides is one row: steps united, earliest first event, the user's transaction kept
  when it has one). A row's transaction is the last purchase applied to it.
- Quality: accepted events are counted by the time they were received (the clock of
  their request), as the rejected ones; the issue codes of a rejected action are
  given by :data:`REASON_CODES` (an invalid action has exactly one fault).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from trackway.demo.truth import Action, Truth

Rows = list[dict[str, Any]]
Sections = dict[str, Rows]

DEFAULT_STEPS = (
    "view_item_list",
    "view_item",
    "add_to_cart",
    "begin_checkout",
    "add_payment_info",
    "purchase",
)
EXCLUDED = ("pending", "canceled")
PLACES = Decimal("0.0001")
PLACEHOLDERS = frozenset(
    {
        "",
        "null",
        "undefined",
        "none",
        "nil",
        "nan",
        "0",
        "-1",
        "anonymous",
        "anon",
        "guest",
        "unknown",
        "n/a",
        "na",
        "[object object]",
        "(not set)",
        "not set",
        "true",
        "false",
    }
)
# The error code each kind of invalid attempt must give (docs/issue-codes.md).
REASON_CODES: dict[str, str] = {
    "missing_transaction_id": "VALUE_REQUIRED",
    "unknown_currency": "CURRENCY_INVALID",
    "item_without_id_or_name": "VALUE_REQUIRED",
    "bad_hash": "HASH_INVALID",
    "missing_search_term": "VALUE_REQUIRED",
    "bad_step_name": "VALUE_INVALID",  # a real step of the other category
    "bad_event_name": "NAME_INVALID",
    "bad_email": "FORMAT_INVALID",
}


@dataclass(frozen=True)
class Params:
    """The parameters of a report (the same fields as ``trackway.reports.ReportParams``)."""

    property: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    by: str | None = None
    steps: tuple[str, ...] | None = None
    window: timedelta = timedelta(days=30)
    include: tuple[str, ...] = ()
    abandon_after: timedelta = timedelta(hours=24)
    now: datetime | None = None


# -- helpers -----------------------------------------------------------------------------


def period(by: str | None, at: datetime) -> str | None:
    """The date the ``by`` period of ``at`` starts (UTC), None without ``--by``."""
    if by is None:
        return None
    day: date = at.date()
    if by == "week":
        day -= timedelta(days=day.weekday())
    elif by == "month":
        day = day.replace(day=1)
    elif by != "day":
        raise ValueError(f"expected day, week or month, got {by!r}")
    return day.isoformat()


def in_range(p: Any, at: datetime) -> bool:
    return (p.since is None or at >= p.since) and (p.until is None or at < p.until)


def wanted(p: Any, prop: str) -> bool:
    return p.property is None or p.property == prop


def ratio(a: int | Decimal, b: int | Decimal) -> Decimal | None:
    if not b:
        return None
    return (Decimal(a) / Decimal(b)).quantize(PLACES, rounding=ROUND_HALF_EVEN)


def usable(value: str | None) -> str | None:
    if value is None or value.strip().lower() in PLACEHOLDERS:
        return None
    return value


def _none_first(value: Any) -> tuple[bool, Any]:
    return (value is not None, "" if value is None else value)


def sort_rows(rows: Iterable[dict[str, Any]]) -> Rows:
    """Rows in one canonical order (every column, None first), to compare two reports."""

    def key(row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(_none_first(row[k]) for k in sorted(row))

    return sorted(rows, key=key)


# -- the derived state -------------------------------------------------------------------


@dataclass
class Cart:
    property: str
    person: str
    opened_at: datetime
    updated_at: datetime
    status: str = "open"  # open, converted, emptied, merged
    currency: str | None = None
    lines: dict[str, list[Any]] = field(default_factory=dict)  # key -> [quantity, price, other currency]

    @property
    def value(self) -> Decimal:
        return sum(
            (q * p for q, p, other in self.lines.values() if p is not None and other is None), Decimal(0)
        )

    @property
    def other_currency_lines(self) -> int:
        return sum(1 for _, _, other in self.lines.values() if other is not None)

    def price(self, line: list[Any], price: Decimal | None, currency: str | None) -> None:
        if price is None:
            return
        if currency is None or currency == self.currency:
            line[1:] = [price, None]
        elif line[1] is None or line[2] is not None:
            line[1:] = [price, currency]


@dataclass
class Order:
    property: str
    transaction_id: str
    purchased: bool = False
    first_purchase: datetime | None = None
    status: str | None = None
    value: Decimal | None = None
    currency: str | None = None
    lines: list[tuple[str, int, Decimal]] = field(default_factory=list)  # (item, quantity, price)
    refunded: Decimal = Decimal(0)
    refunds: list[tuple[datetime, Decimal]] = field(default_factory=list)
    statuses: list[tuple[datetime, str | None]] = field(default_factory=list)  # every event's status


@dataclass
class ProcRow:
    property: str
    procedure_id: str
    person: str
    first_at: datetime
    slug: str | None = None
    category: str | None = None
    steps: set[tuple[int, str]] = field(default_factory=set)
    success: bool = False
    checkout: bool = False
    transaction_id: str | None = None
    value: Decimal | None = None
    currency: str | None = None
    execution: bool = False


class _State:
    """Identities, carts and procedures as docs/people.md derives them, event by event."""

    def __init__(self) -> None:
        self.ids: dict[tuple[str, str, str], str] = {}  # (property, kind, id) -> person
        self.members: defaultdict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
        self.carts: list[Cart] = []
        self.carts_of: defaultdict[tuple[str, str], list[Cart]] = defaultdict(list)
        self.procs_of: defaultdict[tuple[str, str], set[str]] = defaultdict(set)  # (property, person)
        self.open: dict[tuple[str, str], Cart] = {}  # (property, person) -> open cart
        self.procs: dict[tuple[str, str, str], ProcRow] = {}  # (property, procedure, person)
        self.merges = 0
        self.conflicts = 0
        self.proc_collisions = 0  # the same procedure on both sides of a merge
        self.skipped: Counter[str] = Counter()  # cart events that found no cart to change

    def _see(self, prop: str, kind: str, value: str, person: str) -> None:
        old = self.ids.get((prop, kind, value))
        if old is not None:
            self.members[(prop, old)].discard((kind, value))
        self.ids[(prop, kind, value)] = person
        self.members[(prop, person)].add((kind, value))

    def _user_of(self, prop: str, person: str) -> str | None:
        users = sorted(v for k, v in self.members[(prop, person)] if k == "user")
        return users[0] if users else None

    def resolve(self, a: Action) -> str | None:
        """The person of ``a`` now (merging a guest into a user as it goes)."""
        prop, new = a.property, f"p{a.seq}"
        anon, user = usable(a.anonymous_id), usable(a.user_id)
        if user is None:
            if anon is None:
                return None
            person = self.ids.get((prop, "anonymous", anon), new)
            self._see(prop, "anonymous", anon, person)
            return person
        upers = self.ids.get((prop, "user", user))
        if anon is None:
            person = upers or new
            self._see(prop, "user", user, person)
            return person
        guest = self.ids.get((prop, "anonymous", anon))
        if guest is None:
            person = upers or new
        elif upers == guest:
            person = guest
        elif (owner := self._user_of(prop, guest)) is not None and owner != user:
            self.conflicts += 1  # the anonymous id stays with its user; the event is the other's
            person = upers or new
            self._see(prop, "user", user, person)
            return person
        elif upers is None:
            person = guest  # the guest gets a user id
        else:
            person = upers
            self._merge(prop, guest, person, a.at)
        self._see(prop, "user", user, person)
        self._see(prop, "anonymous", anon, person)
        return person

    def _merge(self, prop: str, guest: str, user: str, at: datetime) -> None:
        self.merges += 1
        for kind, value in sorted(self.members.pop((prop, guest), set())):
            self._see(prop, kind, value, user)
        for cart in self.carts_of.pop((prop, guest), []):
            cart.person = user
            self.carts_of[(prop, user)].append(cart)
        mine, theirs = self.open.pop((prop, guest), None), self.open.get((prop, user))
        if mine is not None and theirs is not None:
            theirs.currency = theirs.currency or mine.currency
            for key, (quantity, price, other) in mine.lines.items():
                line = theirs.lines.get(key)
                if line is None:
                    line = theirs.lines[key] = [0, None, None]
                    theirs.price(line, price, other or mine.currency)
                elif line[1] is None or line[2] is not None:
                    theirs.price(line, price, other or mine.currency)
                line[0] += quantity
            theirs.updated_at = max(theirs.updated_at, at)
            mine.status = "merged"
        elif mine is not None:
            self.open[(prop, user)] = mine
        for proc_id in sorted(self.procs_of.pop((prop, guest), set())):
            row = self.procs.pop((prop, proc_id, guest))
            row.person = user
            self.procs_of[(prop, user)].add(proc_id)
            other = self.procs.get((prop, proc_id, user))
            if other is None:
                self.procs[(prop, proc_id, user)] = row
                continue
            self.proc_collisions += 1
            other.steps |= row.steps
            other.first_at = min(other.first_at, row.first_at)
            other.success |= row.success
            other.checkout |= row.checkout
            other.execution |= row.execution
            other.slug = other.slug or row.slug
            other.category = other.category or row.category
            if other.transaction_id is None:
                other.transaction_id, other.value, other.currency = (
                    row.transaction_id,
                    row.value,
                    row.currency,
                )

    def cart_event(self, a: Action, person: str) -> None:
        key = (a.property, person)
        cart = self.open.get(key)
        if a.name == "purchase":
            if cart is not None:
                cart.status, cart.updated_at = "converted", max(cart.updated_at, a.at)
                del self.open[key]
            return
        if a.name == "update_cart":
            lines = {
                ln.item_id or ln.item_name: [ln.quantity, ln.price, None] for ln in a.items if ln.quantity > 0
            }
            if cart is None and not lines:
                self.skipped["update_cart"] += 1
                return  # nothing to clear
            cart = cart or self._new_cart(a, person)
            cart.lines = lines
            cart.currency = a.currency or cart.currency
        elif a.name in ("add_to_cart", "remove_from_cart"):
            if not a.items or (cart is None and a.name == "remove_from_cart"):
                self.skipped[a.name] += 1
                return  # nothing to remove from
            cart = cart or self._new_cart(a, person)
            cart.currency = cart.currency or a.currency
            sign = 1 if a.name == "add_to_cart" else -1
            for ln in a.items:
                k = ln.item_id or ln.item_name
                line = cart.lines.get(k)
                if line is None:
                    if sign < 0:
                        continue
                    line = cart.lines[k] = [0, None, None]
                line[0] += sign * ln.quantity
                cart.price(line, ln.price, a.currency)
                if line[0] <= 0:
                    del cart.lines[k]
        else:
            return
        cart.updated_at = max(cart.updated_at, a.at)
        if not cart.lines:
            cart.status = "emptied"
            del self.open[key]

    def _new_cart(self, a: Action, person: str) -> Cart:
        cart = Cart(a.property, person, a.at, a.at)
        self.carts.append(cart)
        self.carts_of[(a.property, person)].append(cart)
        self.open[(a.property, person)] = cart
        return cart

    def procedure_event(self, a: Action, person: str | None) -> None:
        proc = a.procedure
        if proc is None:
            return
        key = (a.property, proc.procedure_id, person or "")
        row = self.procs.get(key)
        if row is None:
            row = self.procs[key] = ProcRow(a.property, proc.procedure_id, person or "", a.at)
            self.procs_of[(a.property, person or "")].add(proc.procedure_id)
        row.slug, row.category = proc.slug, proc.category
        row.first_at = min(row.first_at, a.at)
        if a.name == "view_step" and a.step_index is not None and a.step_name is not None:
            row.steps.add((a.step_index, a.step_name))
            row.success = row.success or a.step_name == "success"
        elif a.name == "begin_checkout":
            row.checkout = True
        elif a.name == "purchase":
            row.transaction_id = a.transaction_id or row.transaction_id
            row.value = a.value if a.value is not None else row.value
            row.currency = a.currency or row.currency
        elif a.name == "execution":
            row.execution = True


def _order_event(orders: dict[tuple[str, str], Order], a: Action) -> None:
    if a.name not in ("purchase", "refund") or not a.transaction_id:
        return
    key = (a.property, a.transaction_id)
    order = orders.get(key) or orders.setdefault(key, Order(a.property, a.transaction_id))
    if a.name == "purchase":
        if not order.purchased:
            order.purchased, order.first_purchase = True, a.at
        order.status = a.status if a.status is not None else order.status
        order.value = a.value if a.value is not None else order.value
        order.currency = a.currency or order.currency
        if a.items:
            order.lines = [(ln.item_id or ln.item_name, ln.quantity, ln.price) for ln in a.items]
    else:
        left = None if order.value is None else max(order.value - order.refunded, Decimal(0))
        if a.refund_items:
            amount = sum((ln.price * ln.quantity for ln in a.refund_items), Decimal(0))
        elif a.value is not None:
            amount = a.value
        else:
            amount = left or Decimal(0)
        amount = max(amount if left is None else min(amount, left), Decimal(0))
        order.refunded += amount
        order.refunds.append((a.at, amount))
        order.status = a.status if a.status is not None else order.status
        order.currency = order.currency or a.currency
    order.statuses.append((a.at, a.status))


# -- the reports -------------------------------------------------------------------------


class Reference:
    """The reports of ``truth``, computed in plain Python.

    ``store_order``: the actions' ``seq`` in the order they were stored (default: the
    truth's order). ``payload_of``: action seq -> the payload (any hashable) it was
    sent in, and ``received``: action seq -> when the collector received it; both
    default to one payload per action received at its time (quality only).
    """

    def __init__(
        self,
        truth: Truth,
        *,
        store_order: Iterable[int] | None = None,
        payload_of: Mapping[int, Any] | None = None,
        received: Mapping[int, datetime] | None = None,
    ) -> None:
        self.truth = truth
        by_seq = {a.seq: a for a in truth.actions}
        order = [by_seq[s] for s in store_order] if store_order is not None else list(truth.actions)
        self.events = [a for a in order if a.invalid is None]
        self.position = {a.seq: n for n, a in enumerate(order)}
        self.payload_of: Mapping[int, Any] = payload_of or {a.seq: a.seq for a in truth.actions}
        self.received: Mapping[int, datetime] = received or {a.seq: a.at for a in truth.actions}
        state = _State()
        orders: dict[tuple[str, str], Order] = {}
        for a in self.events:
            person = state.resolve(a)
            if person is not None and a.name in (
                "add_to_cart",
                "remove_from_cart",
                "update_cart",
                "purchase",
            ):
                state.cart_event(a, person)
            _order_event(orders, a)
            if a.dialect == "koalect" or a.procedure is not None:
                state.procedure_event(a, person)
        self.state = state
        self.orders = orders
        self.carts = state.carts
        self.procedures = list(state.procs.values())
        # event_persons: the user id's person, else the anonymous id's, resolved at the end
        self.person: dict[int, str | None] = {}
        for a in self.events:
            user, anon = usable(a.user_id), usable(a.anonymous_id)
            if user is not None:
                self.person[a.seq] = state.ids[(a.property, "user", user)]
            elif anon is not None:
                self.person[a.seq] = state.ids[(a.property, "anonymous", anon)]
            else:
                self.person[a.seq] = None

    def report(self, name: str, p: Any) -> Sections:
        reports: dict[str, Callable[[Any], Sections]] = {
            "funnel": self.funnel,
            "revenue": self.revenue,
            "orders": self.orders_report,
            "products": self.products,
            "carts": self.carts_report,
            "procedures": self.procedures_report,
            "quality": self.quality,
        }
        return reports[name](p)

    def _counted(self, p: Any, order: Order) -> bool:
        excluded = {s for s in EXCLUDED if s not in p.include}
        return order.purchased and wanted(p, order.property) and order.status not in excluded

    # -- funnel --------------------------------------------------------------------------

    def funnel(self, p: Any) -> Sections:
        sent: defaultdict[str, set[str]] = defaultdict(set)
        for a in self.events:
            sent[a.property].add(a.name)

        def steps_of(prop: str) -> tuple[str, ...]:
            """--steps, else the shop's less those the property never sent (at any time)."""
            if p.steps:
                return tuple(p.steps)
            return tuple(s for s in DEFAULT_STEPS if s in sent[prop]) or DEFAULT_STEPS

        trail: defaultdict[tuple[str, str], list[Action]] = defaultdict(list)
        for a in self.events:  # store order; sorted by time below (a stable sort)
            person = self.person[a.seq]
            if person is not None and wanted(p, a.property) and in_range(p, a.at):
                trail[(a.property, person)].append(a)
        reached: Counter[tuple[str | None, str, int]] = Counter()
        groups: set[tuple[str | None, str]] = set()
        for (prop, _), acts in trail.items():
            acts.sort(key=lambda a: (a.at, self.position[a.seq]))
            steps = steps_of(prop)
            first = next((n for n, a in enumerate(acts) if a.name == steps[0]), None)
            if first is None:
                continue
            start = acts[first].at
            group = (period(p.by, start), prop)
            groups.add(group)
            reached[(*group, 1)] += 1
            at = first
            for k, name in enumerate(steps[1:], 2):
                at = next(
                    (
                        n
                        for n in range(at + 1, len(acts))  # after step k-1: a name may come twice
                        if acts[n].name == name and acts[n].at <= start + p.window
                    ),
                    None,
                )
                if at is None:
                    break
                reached[(*group, k)] += 1
        rows = []
        for per, prop in groups:
            for k, name in enumerate(steps_of(prop), 1):
                people = reached[(per, prop, k)]
                rows.append(
                    {
                        "period": per,
                        "property": prop,
                        "step": k,
                        "name": name,
                        "people": people,
                        "from_previous": None if k == 1 else ratio(people, reached[(per, prop, k - 1)]),
                        "from_first": None if k == 1 else ratio(people, reached[(per, prop, 1)]),
                    }
                )
        return {"steps": rows}

    # -- revenue -------------------------------------------------------------------------

    def revenue(self, p: Any) -> Sections:
        groups: dict[tuple[str | None, str, str | None], dict[str, Any]] = {}

        def group(at: datetime, order: Order) -> dict[str, Any]:
            key = (period(p.by, at), order.property, order.currency)
            return groups.setdefault(key, {"orders": 0, "gross": Decimal(0), "refunds": Decimal(0)})

        for order in self.orders.values():
            if not self._counted(p, order):
                continue
            assert order.first_purchase is not None
            if in_range(p, order.first_purchase):
                g = group(order.first_purchase, order)
                g["orders"] += 1
                g["gross"] += order.value if order.value is not None else Decimal(0)
            for at, amount in order.refunds:
                if in_range(p, at):
                    group(at, order)["refunds"] += amount
        rows = []
        for (per, prop, currency), g in groups.items():
            rows.append(
                {
                    "period": per,
                    "property": prop,
                    "currency": currency,
                    "orders": g["orders"],
                    "gross": g["gross"],
                    "refunds": g["refunds"],
                    "net": g["gross"] - g["refunds"],
                    "average_order": ratio(g["gross"], g["orders"]),
                }
            )
        return {"revenue": rows}

    # -- orders --------------------------------------------------------------------------

    def orders_report(self, p: Any) -> Sections:
        statuses: Counter[tuple[str | None, str, str]] = Counter()
        changes: Counter[tuple[str | None, str, str]] = Counter()
        for order in self.orders.values():
            if not wanted(p, order.property):
                continue
            if order.purchased and order.first_purchase is not None and in_range(p, order.first_purchase):
                key = (period(p.by, order.first_purchase), order.property, order.status or "unknown")
                statuses[key] += 1
            last: str | None = None
            for at, status in order.statuses:
                if status is None:
                    continue
                if status != last and in_range(p, at):
                    changes[(period(p.by, at), order.property, status)] += 1
                last = status
        return {
            "statuses": [
                {"period": per, "property": pr, "status": s, "orders": n}
                for (per, pr, s), n in statuses.items()
            ],
            "changes": [
                {"period": per, "property": pr, "status": s, "orders": n}
                for (per, pr, s), n in changes.items()
            ],
        }

    # -- products ------------------------------------------------------------------------

    def products(self, p: Any) -> Sections:
        groups: dict[tuple[str | None, str, str, str | None], dict[str, Any]] = {}

        def group(at: datetime, prop: str, item: str, currency: str | None) -> dict[str, Any]:
            key = (period(p.by, at), prop, item, currency)
            empty = {"views": 0, "adds": 0, "removes": 0, "purchases": 0, "revenue": Decimal(0)}
            return groups.setdefault(key, empty)

        column = {"view_item": "views", "add_to_cart": "adds", "remove_from_cart": "removes"}
        for a in self.events:
            col = column.get(a.name)
            if col is None or not wanted(p, a.property) or not in_range(p, a.at):
                continue
            if col == "views":
                for item in dict.fromkeys(ln.item_id or ln.item_name for ln in a.items):
                    group(a.at, a.property, item, None)["views"] += 1
            else:
                for ln in a.items:
                    group(a.at, a.property, ln.item_id or ln.item_name, None)[col] += max(ln.quantity, 0)
        for order in self.orders.values():
            if not self._counted(p, order) or order.first_purchase is None:
                continue
            if not in_range(p, order.first_purchase):
                continue
            for item, quantity, price in order.lines:
                g = group(order.first_purchase, order.property, item, order.currency)
                g["purchases"] += quantity
                g["revenue"] += price * quantity
        rows = [
            {
                "period": per,
                "property": prop,
                "item": item,
                "currency": cur,
                **g,
                "revenue": g["revenue"] if g["purchases"] else None,  # no sale, no amount
            }
            for (per, prop, item, cur), g in groups.items()
        ]
        return {"products": rows}

    # -- carts ---------------------------------------------------------------------------

    def cart_state(self, cart: Cart, p: Any) -> str:
        if cart.status != "open":
            return cart.status
        end = p.until if p.until is not None else p.now
        if end is None:
            raise ValueError("the carts reference needs until or now")
        return "abandoned" if end - cart.updated_at > p.abandon_after else "open"

    def carts_report(self, p: Any) -> Sections:
        states: Counter[tuple[str | None, str, str]] = Counter()
        risk: dict[tuple[str | None, str, str | None], list[Any]] = {}
        for cart in self.carts:
            if not wanted(p, cart.property) or not in_range(p, cart.opened_at):
                continue
            state = self.cart_state(cart, p)
            per = period(p.by, cart.opened_at)
            states[(per, cart.property, state)] += 1
            if state == "abandoned":
                g = risk.setdefault((per, cart.property, cart.currency), [0, Decimal(0), 0])
                g[0] += 1
                g[1] += cart.value
                g[2] += cart.other_currency_lines
        return {
            "carts": [
                {"period": per, "property": pr, "state": s, "carts": n} for (per, pr, s), n in states.items()
            ],
            "value_at_risk": [
                {
                    "period": per,
                    "property": pr,
                    "currency": cur,
                    "carts": n,
                    "value": v,
                    "other_currency_lines": o,
                }
                for (per, pr, cur), (n, v, o) in risk.items()
            ],
        }

    # -- procedures ----------------------------------------------------------------------

    def procedures_report(self, p: Any) -> Sections:
        Group = tuple[str | None, str, str | None, str | None]
        rows_of: defaultdict[Group, list[ProcRow]] = defaultdict(list)
        for row in self.procedures:
            if row.person and wanted(p, row.property) and in_range(p, row.first_at):
                rows_of[(period(p.by, row.first_at), row.property, row.slug, row.category)].append(row)
        funnel: Rows = []
        revenue: dict[tuple[Group, str | None], list[Any]] = {}
        for g, rows in rows_of.items():

            def stage(name: str, label: str | None, people: int, *, g: Group = g) -> dict[str, Any]:
                return {
                    "period": g[0],
                    "property": g[1],
                    "slug": g[2],
                    "category": g[3],
                    "stage": name,
                    "name": label,
                    "people": people,
                }

            funnel.append(stage("started", None, len(rows)))
            highest = [max((i for i, _ in r.steps), default=0) for r in rows]
            for n in range(1, max(highest, default=0) + 1):
                names = Counter(name for r in rows for i, name in r.steps if i == n)
                label = min(names, key=lambda x: (-names[x], x)) if names else None
                funnel.append(stage(f"step {n}", label, sum(h >= n for h in highest)))
            funnel.append(stage("success", None, sum(r.success for r in rows)))
            funnel.append(stage("checkout", None, sum(r.checkout for r in rows)))
            funnel.append(stage("transaction", None, sum(r.transaction_id is not None for r in rows)))
            funnel.append(stage("execution", None, sum(r.execution for r in rows)))
            for r in rows:
                if r.transaction_id is None:
                    continue
                order = self.orders.get((r.property, r.transaction_id))
                if order is not None and order.purchased and not self._counted(p, order):
                    continue
                t = revenue.setdefault((g, r.currency), [0, Decimal(0)])
                t[0] += 1
                t[1] += r.value if r.value is not None else Decimal(0)
        return {
            "funnel": funnel,
            "revenue": [
                {
                    "period": g[0],
                    "property": g[1],
                    "slug": g[2],
                    "category": g[3],
                    "currency": cur,
                    "transactions": n,
                    "revenue": v,
                }
                for (g, cur), (n, v) in revenue.items()
            ],
        }

    # -- quality -------------------------------------------------------------------------

    def quality(self, p: Any) -> Sections:
        counts: dict[tuple[str | None, str, str, str], list[int]] = {}
        payloads: defaultdict[tuple[str, Any], set[str]] = defaultdict(set)  # (property, payload) -> codes
        for a in self.truth.actions:
            if not wanted(p, a.property) or not in_range(p, self.received[a.seq]):
                continue
            key = (period(p.by, self.received[a.seq]), a.property, a.dialect, a.name)
            c = counts.setdefault(key, [0, 0])
            if a.invalid is None:
                c[0] += 1
            else:
                c[1] += 1
                payloads[(a.property, self.payload_of[a.seq])].add(REASON_CODES[a.invalid])
        codes: Counter[tuple[str, str]] = Counter()
        for (prop, _), found in payloads.items():
            for code in found:
                codes[(prop, code)] += 1
        return {
            "events": [
                {"period": per, "property": pr, "dialect": d, "event": e, "accepted": acc, "rejected": rej}
                for (per, pr, d, e), (acc, rej) in counts.items()
            ],
            "issues": [{"property": pr, "code": code, "payloads": n} for (pr, code), n in codes.items()],
            # The paths a code was found at are the dialect's business: the reference knows the
            # payloads per code, which the paths' rows must cover (test_reference checks it).
            "paths": [{"property": pr, "code": code, "payloads": n} for (pr, code), n in codes.items()],
        }


def report(truth: Truth, name: str, p: Any, **kw: Any) -> Sections:
    """One report of ``truth`` (builds a :class:`Reference`; keep one to run several)."""
    return Reference(truth, **kw).report(name, p)
