"""``generate``: a seeded data set of realistic traffic, its truth and its requests.

    dataset = generate(7, 15_000, end=datetime(2026, 3, 1, tzinfo=UTC))
    dataset.truth.actions            # what happened, in time order
    for request in dataset.requests(keys):   # keys: property -> its wire keys
        ...                          # POST request.path?request.query with request.body

Pure: no I/O. The same arguments give the same truth and byte-identical requests.

Driving a real server: create the properties with ``--default-currency EUR`` (Convead
sends no currency; the truth says EUR for its amounts, ``currency_sent=False``) and
pass an ``end`` that is not in the server's future: the collector replaces client times
more than 10 minutes ahead of (or a year behind) its clock by its receive time. MP
events older than 72 hours are accepted with a warning (GA4's RELAXED mode). Client
event ids (``dm{seed}-{n}``) and wire ids (users, orders) carry the seed, so data sets
of different seeds can share a store, and sending one again is deduplicated for the
dialects that carry event ids.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial

from trackway.demo import catalog, donations, shop
from trackway.demo.render import Keys, Request, session_requests
from trackway.demo.sessions import World
from trackway.demo.truth import Truth

PROPERTY_KINDS = ("shop", "donations")
DONATION_SHARE = 0.25  # of the visits, when both kinds of property are generated
EVENTS_PER_SESSION = 6.3  # a little under the measured mean (6.45, invalid attempts included): enough visits


@dataclass(slots=True)
class Dataset:
    truth: Truth
    client_time: bool = False

    @property
    def events(self) -> int:
        """How many events (actions) the data set sends, invalid ones included."""
        return len(self.truth.actions)

    def requests(self, keys: Keys, *, client_time: bool | None = None) -> list[Request]:
        """Every request, ordered by the time of its first action (a session's stay in order).

        ``keys``: property name -> the object ``trackway property add NAME --format json``
        prints. ``client_time`` (default: the data set's) puts a client time on the
        actions whose dialect has no time field (see :mod:`trackway.demo.render`).
        """
        ct = self.client_time if client_time is None else client_time
        missing = sorted(set(self.truth.properties) - set(keys))
        if missing:
            raise KeyError(f"expected the keys of every property, got none for {', '.join(missing)}")
        out: list[Request] = []
        with _no_gc():
            for session in self.truth.sessions:
                out.extend(session_requests(session, keys, client_time=ct))
        out.sort(key=lambda r: (r.actions[0].at, r.actions[0].seq))
        return out


@contextmanager
def _no_gc() -> Iterator[None]:
    """Build many small objects without the cycle collector scanning them again and again
    (it measured a third of the time); it is restored as it was."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def estimate_sessions(events: int) -> int:
    """How many visits give about ``events`` events."""
    return max(1, math.ceil(events / EVENTS_PER_SESSION))


def estimate_events(sessions: int) -> int:
    return round(sessions * EVENTS_PER_SESSION)


def _kinds(properties: Sequence[str] | Mapping[str, str]) -> dict[str, str]:
    if isinstance(properties, Mapping):
        kinds = dict(properties)
    else:
        kinds = {p: p if p in PROPERTY_KINDS else "shop" for p in properties}
    bad = {k for k in kinds.values() if k not in PROPERTY_KINDS}
    if bad or not kinds:
        raise ValueError(f"expected properties of kinds {PROPERTY_KINDS}, got {sorted(bad) or 'none'}")
    return kinds


def generate(
    seed: int,
    sessions: int,
    *,
    end: datetime,
    days: int = 30,
    invalid_share: float = 0.03,
    properties: Sequence[str] | Mapping[str, str] = ("shop", "donations"),
    client_time: bool = False,
) -> Dataset:
    """``sessions`` visits spread over ``days`` days ending at ``end`` (UTC).

    ``properties``: names (``"shop"`` and ``"donations"`` are those kinds, other names
    are shops) or a mapping name -> kind. The forced edge-case visits of each property
    (``shop.SCENARIOS``, ``donations.scenarios()``) are part of ``sessions`` when it is
    large enough and added to it otherwise; back-office sessions (order updates,
    refunds) come on top. ``invalid_share`` of the events are invalid attempts.
    ``client_time`` is the default of :meth:`Dataset.requests`.
    """
    if end.tzinfo is None:
        raise ValueError("expected an aware end datetime (UTC), got a naive one")
    if not 0 <= invalid_share < 1:
        raise ValueError(f"expected invalid_share in [0, 1), got {invalid_share}")
    end = end.astimezone(UTC)
    start = end - timedelta(days=days)
    kinds = _kinds(properties)
    world = World(seed, start, end, invalid_share)
    rng = world.rng
    shops = [p for p, k in kinds.items() if k == "shop"]
    gifts = [p for p, k in kinds.items() if k == "donations"]
    latest = (end - start - timedelta(hours=3)).total_seconds()

    def when() -> datetime:
        return start + timedelta(milliseconds=int(rng.uniform(0, latest) * 1000))

    plan: list[tuple[datetime, int, Callable[[datetime], None]]] = []  # (start, n, visit)

    def add(at: datetime, run: Callable[[datetime], None]) -> None:
        plan.append((at, len(plan), run))

    early = start + min(timedelta(hours=30), (end - start) / 4)  # the big order, refunded near the end
    for prop in shops:
        for scenario, dialect, form in shop.SCENARIOS:
            at = early if scenario == "big_refund" else when()
            add(at, partial(shop.visit, world, prop, scenario=scenario, dialect=(dialect, form)))
        add(when(), partial(shop.visit, world, prop, scenario="shared_device"))
    for prop in gifts:
        for forced in donations.scenarios():
            add(when(), partial(donations.visit, world, prop, forced=forced))
    share = DONATION_SHARE if shops and gifts else (1.0 if gifts else 0.0)
    world.bulk_quantity = _bulk_quantity(sessions * (1 - share) / max(1, len(shops)), days)
    for _ in range(max(0, sessions - len(plan))):
        if rng.random() < share:
            add(when(), partial(donations.visit, world, rng.choice(gifts)))
        else:
            add(when(), partial(shop.visit, world, rng.choice(shops)))
    plan.sort(key=lambda p: (p[0], p[1]))
    with _no_gc():
        for at, _, run in plan:
            run(at)
    return Dataset(_truth(world, seed, kinds), client_time)


def _bulk_quantity(shop_visits: float, days: int) -> int:
    """Units of the bulk order worth about ``catalog.BULK_DAYS`` days of a shop's EUR sales:
    its refund outweighs the sales of its day, and stays a small share of the month's."""
    daily = Decimal(str(shop_visits)) * catalog.EUR_SALES_PER_SHOP_VISIT / max(1, days)
    return max(1, int(catalog.BULK_DAYS * daily / catalog.BULK.price("EUR")))


def _truth(world: World, seed: int, kinds: dict[str, str]) -> Truth:
    order = {s.id: n for n, s in enumerate(world.sessions)}
    actions = [a for s in world.sessions for a in s.actions]
    actions.sort(key=lambda a: (a.at, order[a.session]))
    for n, a in enumerate(actions):
        a.seq = n
        a.event_id = f"dm{seed}-{n:07d}"
    sessions = sorted(world.sessions, key=lambda s: (s.start, order[s.id]))
    return Truth(seed, world.start, world.end, kinds, actions, sessions, world.persons)
