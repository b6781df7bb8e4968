"""The simulation's machinery: people, devices, visits, and invalid attempts.

:class:`World` holds the seeded random generator and the people of every property;
:class:`Visit` emits the actions of one session, advancing its clock and keeping the
ids the person is known by at that moment (a guest who logs in carries both ids from
the login on). The scenarios themselves are in :mod:`trackway.demo.shop` and
:mod:`trackway.demo.donations`.

Identity guarantee (so that the truth's ``person`` is what identity stitching can
find): every device of a person with an account is linked to their user id by at
least one valid action that carries both ids (a login, a sign-up, or a session
logged in from its first event). A shared device is used by its second user only
with that user's id on every event: the second user is a conflict, never a merge.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from trackway.demo.catalog import PROCEDURES
from trackway.demo.truth import Action, Line, Person, Session

UA = frozenset({"gtm-ua", "adobe-dtm", "gtag-ua"})
CONVEAD = frozenset({"convead", "insend"})
GA4 = frozenset({"gtag-ga4", "gtm-ga4", "ga4-mp"})

# Invalid reasons each dialect can show (each one is an error in that dialect).
_REASONS: dict[str, tuple[str, ...]] = {
    "gtag-ga4": (
        "missing_transaction_id",
        "unknown_currency",
        "item_without_id_or_name",
        "missing_search_term",
    ),
    "gtm-ga4": (
        "missing_transaction_id",
        "unknown_currency",
        "item_without_id_or_name",
        "missing_search_term",
    ),
    "ga4-mp": ("missing_transaction_id", "unknown_currency", "item_without_id_or_name", "bad_event_name"),
    "gtm-ua": ("missing_transaction_id", "unknown_currency", "item_without_id_or_name"),
    "adobe-dtm": ("missing_transaction_id", "unknown_currency", "item_without_id_or_name"),
    "gtag-ua": ("missing_transaction_id", "unknown_currency", "item_without_id_or_name"),
    "commanders-act": (
        "missing_transaction_id",
        "unknown_currency",
        "item_without_id_or_name",
        "bad_hash",
        "missing_search_term",
    ),
    "convead": ("missing_transaction_id", "item_without_id_or_name", "bad_email"),
    "insend": ("missing_transaction_id", "item_without_id_or_name", "bad_email"),
    "koalect": (
        "missing_transaction_id",
        "unknown_currency",
        "item_without_id_or_name",
        "missing_search_term",
        "bad_step_name",
    ),
}
UNKNOWN_CURRENCY = "EUX"
# Kinds whose value is the sum of their lines.
VALUE_KINDS = frozenset(
    {
        "view_item",
        "add_to_cart",
        "remove_from_cart",
        "begin_checkout",
        "add_payment_info",
        "purchase",
        "order_update",
    }
)  # three letters, not ISO 4217


def stored_dialect(dialect: str, form: str | None) -> str:
    """The dialect Trackway decodes a payload with: /watch/event reads every body as convead."""
    return "convead" if dialect in CONVEAD and form == "post" else dialect


def canonical_name(kind: str, dialect: str) -> str:
    """The canonical event name Trackway stores for ``kind`` sent in ``dialect``."""
    if kind == "order_update":
        return "purchase"
    if kind == "add_payment_info" and dialect in UA:
        return "set_checkout_option"
    if kind in ("login", "sign_up") and dialect in CONVEAD:
        return "update_info"
    return kind


class World:
    """The seeded generator and the people of every property."""

    def __init__(self, seed: int, start: datetime, end: datetime, invalid_share: float) -> None:
        self.rng = random.Random(seed)
        self.tag = f"{seed:x}" if seed >= 0 else f"n{-seed:x}"  # lower-case: Convead's visitor_uid
        self.start, self.end = start, end
        self.invalid_odds = invalid_share / (1 - invalid_share) if invalid_share < 1 else 1.0
        self.persons: dict[str, Person] = {}
        self.pool: dict[str, list[Person]] = {}  # property -> people who may come back
        self.busy: dict[str, datetime] = {}  # person -> end of their last session
        self.linked: set[tuple[str, str]] = set()  # (person, device) linked by a valid action
        self.sessions: list[Session] = []
        self.habits: dict[str, tuple[str, str | None, str]] = {}  # person -> shop dialect, form, currency
        self.carts: dict[str, dict[str, Line]] = {}  # person -> their open shop cart
        self.bulk_quantity = 1  # units of the bulk order (scenario big_refund), set by generate()
        self._n = {"person": 0, "user": 0, "session": 0, "order": 0, "misc": 0}

    def next(self, what: str) -> int:
        self._n[what] += 1
        return self._n[what]

    def ident(self, prefix: str, what: str, width: int = 6) -> str:
        """A wire id (user, order, project, ...) with the seed in it: data sets of different
        seeds sent to one store never share an id."""
        return f"{prefix}{self.tag}-{self.next(what):0{width}d}"

    def gap(self, low: float = 4.0, high: float = 90.0) -> timedelta:
        return timedelta(milliseconds=int(self.rng.uniform(low, high) * 1000))

    def hours(self, low: float, high: float) -> timedelta:
        """A random delay in whole milliseconds (Commanders Act times are milliseconds)."""
        return timedelta(milliseconds=int(self.rng.uniform(low, high) * 3_600_000))

    def device(self, at: datetime) -> str:
        """A new anonymous id, GA's client id layout: random.first-seen-seconds."""
        return f"{self.rng.randrange(10**9, 10**10)}.{int(at.timestamp())}"

    def new_person(self, prop: str, *, registered: bool, at: datetime, returning: bool = True) -> Person:
        n = self.next("person")
        person = Person(id=f"{prop}:p{n:06d}", property=prop)
        if registered:
            self.register(person)
        person.anonymous_ids.append(self.device(at))
        self.persons[person.id] = person
        if returning:
            self.pool.setdefault(prop, []).append(person)
        return person

    def register(self, person: Person) -> str:
        person.user_id = self.ident("u", "user")  # Convead's visitor_uid allows [0-9a-z-]
        person.email = f"{person.user_id}@example.com"
        return person.user_id

    def pick_person(self, prop: str, at: datetime, registered_share: float) -> tuple[Person, str]:
        """A returning person (a third of visits) or a new one, and the device they use."""
        pool = self.pool.get(prop, [])
        rng = self.rng
        if pool and rng.random() < 0.33:
            for _ in range(4):
                person = pool[rng.randrange(len(pool))]
                if self.busy.get(person.id, self.start) < at:
                    if person.user_id is not None and rng.random() < 0.15:
                        person.anonymous_ids.append(self.device(at))  # a new phone
                    return person, person.anonymous_ids[-1]
        person = self.new_person(prop, registered=rng.random() < registered_share, at=at)
        return person, person.anonymous_ids[0]

    def session(
        self, prop: str, person: Person, dialect: str, form: str | None, at: datetime, *, keep: bool = True
    ) -> Session:
        """A new session; ``keep=False`` leaves it out until :meth:`keep` (when it has actions)."""
        n = self.next("session")
        session = Session(f"s{n:06d}", prop, person.id, dialect, form, at)
        if keep:
            self.keep(session)
        return session

    def keep(self, session: Session) -> None:
        self.persons[session.person].sessions.append(session.id)
        self.sessions.append(session)


class Visit:
    """Emits one session's actions: its clock, the ids the person is known by, invalid attempts."""

    def __init__(
        self, world: World, session: Session, person: Person, device: str, *, logged_in: bool
    ) -> None:
        self.w, self.s, self.person, self.device = world, session, person, device
        self.user = person.user_id if logged_in else None
        self.t = session.start
        self.dialect = stored_dialect(session.dialect, session.form)
        self.currency: str | None = None
        self.currency_sent = True

    @property
    def linked(self) -> bool:
        return (self.person.id, self.device) in self.w.linked

    def emit(
        self,
        kind: str,
        *,
        tags: tuple[str, ...] = (),
        companion: bool = True,
        valid: bool = True,
        **fields: Any,
    ) -> Action:
        """A valid action now (``valid=False``: an invalid attempt, see :meth:`invalid`); then,
        with the configured odds, an invalid attempt beside it."""
        self.t += self.w.gap()
        currency = fields.pop("currency", self.currency)
        action = Action(
            kind=kind,
            name=canonical_name(kind, self.s.dialect),
            dialect=self.dialect,
            at=self.t,
            property=self.s.property,
            person=self.person.id,
            session=self.s.id,
            anonymous_id=self.device,
            user_id=self.user,
            form=self.s.form,
            currency=currency,
            currency_sent=self.currency_sent,
            tags=tags,
            **fields,
        )
        if kind in VALUE_KINDS and action.value is None and action.items:
            action.value = sum((ln.total for ln in action.items), Decimal(0))
        if action.value is None and not action.items:
            action.currency = None  # no money in it
        if valid and self.user is not None and self.device:  # a valid action with both ids links them
            self.w.linked.add((self.person.id, self.device))
        self.s.actions.append(action)
        self.s.tags.update(tags)
        if companion and self.w.rng.random() < self.w.invalid_odds:
            self.invalid(action)
        return action

    def login(self, kind: str = "login", method: str = "password") -> Action:
        if kind == "sign_up" or self.person.user_id is None:
            self.w.register(self.person)
            kind = "sign_up"
        self.user = self.person.user_id
        fresh = not self.linked
        self.w.linked.add((self.person.id, self.device))
        params = {"email": self.person.email} if self.dialect == "convead" else {}
        return self.emit(kind, method=method, params=params, tags=("guest_login",) if fresh else ())

    def invalid(self, near: Action, reason: str | None = None) -> Action:
        """An attempt that Trackway must reject, with the reason, just after ``near``."""
        rng = self.w.rng
        reason = reason or rng.choice(_REASONS[self.s.dialect])
        line = near.items[0] if near.items else Line("SKU-0001", "Classic Tee", Decimal("19.99"), 1)
        currency = near.currency or self.currency or "EUR"
        kind = "add_to_cart"
        fields: dict[str, Any] = {"items": [line]}
        if reason == "missing_transaction_id":
            kind, fields = "purchase", {"items": list(near.items) or [line]}
        elif reason == "unknown_currency":
            currency = UNKNOWN_CURRENCY
        elif reason == "item_without_id_or_name":
            fields = {"items": [Line("", "", line.price, line.quantity)]}
        elif reason in ("bad_hash", "bad_email"):
            kind, fields = "login", {"params": {"email_sha256": "not-a-sha256"}}
            if reason == "bad_email":
                fields = {"params": {"email": "someone-at-example.com"}}
        elif reason == "missing_search_term":
            kind, fields = "search", {}
        elif reason == "bad_step_name":
            kind = "view_step"
            proc = near.procedure or PROCEDURES[0]
            wrong = "project_invitation" if proc.category == "donation" else "personal_infos"
            fields = {"procedure": proc, "step_index": 1, "step_name": wrong}
        if kind in ("purchase", "add_to_cart"):
            fields["value"] = sum((ln.total for ln in fields["items"]), Decimal(0))
            fields["currency"] = currency
        if self.dialect == "koalect" and near.procedure is not None:
            fields.setdefault("procedure", near.procedure)
        action = self.emit(kind, companion=False, valid=False, **fields)
        action.invalid = reason
        if reason == "bad_event_name":
            action.name = "add-to-cart"
        if kind == "login":
            action.method = "password"
        return action
