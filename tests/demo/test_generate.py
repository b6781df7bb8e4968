"""The demo data generator: deterministic, valid where it says so, covering every edge case.

One data set of at least 100,000 events is generated once for the module; the
decoding checks run on a sample of its requests stratified by endpoint and dialect,
plus every request that carries an invalid attempt.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

import trackway
from tests.demo.support import END, keys_for
from trackway import vendors
from trackway.demo import Dataset, Request, estimate_sessions, generate, render
from trackway.demo import shop as scenario
from trackway.demo.catalog import PROCEDURES
from trackway.demo.truth import FUNNEL, KINDS, REASONS, Action, Line
from trackway.ingest.pipeline import apply_envelope

KEYS = keys_for("shop", "donations")


@pytest.fixture(scope="module")
def big() -> tuple[Dataset, list[Request], float]:
    started = time.perf_counter()
    dataset = generate(2026, estimate_sessions(100_000), end=END)
    requests = dataset.requests(KEYS)
    return dataset, requests, time.perf_counter() - started


def test_100k_events_in_reasonable_time(big: tuple[Dataset, list[Request], float]) -> None:
    dataset, requests, seconds = big
    assert dataset.events >= 100_000
    assert sum(len(r.actions) for r in requests) == dataset.events
    assert seconds < 90, f"{dataset.events} events took {seconds:.1f} s"
    visits = sum(not s.backoffice for s in dataset.truth.sessions)
    print(
        f"\n{visits} visits, {dataset.events} events, {len(requests)} requests in {seconds:.1f} s: "
        f"{visits / seconds:.0f} sessions/s, {dataset.events / seconds:.0f} events/s"
    )


def _fingerprint(requests: list[Request]) -> list[tuple[object, ...]]:
    return [(r.path, sorted(r.query.items()), sorted(r.headers.items()), r.body) for r in requests]


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    one = generate(11, 300, end=END)
    two = generate(11, 300, end=END)
    other = generate(12, 300, end=END)
    assert _fingerprint(one.requests(KEYS)) == _fingerprint(two.requests(KEYS))
    assert [(a.event_id, a.kind, a.at, a.person) for a in one.truth.actions] == [
        (a.event_id, a.kind, a.at, a.person) for a in two.truth.actions
    ]
    assert _fingerprint(one.requests(KEYS)) != _fingerprint(other.requests(KEYS))


def _sample(requests: list[Request], per_group: int) -> list[Request]:
    """Up to ``per_group`` requests of each (endpoint, dialect), and every one with an invalid action."""
    seen: Counter[tuple[str, str]] = Counter()
    out = []
    for r in requests:
        group = (r.path, r.dialect)
        if seen[group] < per_group or any(a.invalid for a in r.actions):
            seen[group] += 1
            out.append(r)
    return out


def test_valid_actions_decode_without_error_invalid_ones_with_one(
    big: tuple[Dataset, list[Request], float],
) -> None:
    _, requests, _ = big
    checked: Counter[tuple[str, bool]] = Counter()
    for request in _sample(requests, 150):
        envelope = request.envelope()
        for dialect, payload, actions in request.units():
            decoded = trackway.decode(dialect, payload, default_currency="EUR", received_at=END)
            assert len(decoded.events) == len(actions), (request.path, dialect, payload)
            apply_envelope(decoded.events, envelope)
            for n, (event, action) in enumerate(zip(decoded.events, actions, strict=True)):
                errors = [i for i in decoded.event_issues(n) if i.is_error]
                checked[(dialect, action.valid)] += 1
                if action.invalid is not None:
                    assert errors, (action.invalid, payload)
                    continue
                assert not errors, (action.kind, payload, errors)
                assert event.name == action.name
                assert (event.anonymous_id, event.user_id) == (action.anonymous_id, action.user_id)
                if event.timestamp is not None:
                    assert event.timestamp == action.at
                if event.id:
                    assert event.id == action.event_id
    assert sum(checked.values()) >= 3000
    dialects = {d for d, _ in checked}
    assert dialects == set(render.dialects())  # every dialect the demo declares it sends
    assert all(checked[(d, False)] > 0 for d in dialects), checked


def test_every_dialect_form_and_endpoint_is_used(big: tuple[Dataset, list[Request], float]) -> None:
    dataset, requests, _ = big
    forms = {(s.dialect, s.form) for s in dataset.truth.sessions}
    assert {d for d, _ in forms} == set(render.dialects())  # every dialect the demo declares it sends
    assert forms >= {(d, f) for d, f, _ in scenario.DIALECTS}  # in every form the shop's mix names
    vendor_of = {a.name: v for v in vendors.vendors() for a in v.dialects}
    used = {(r.path, r.dialect) for r in requests}
    for path, dialect in used:  # /collect, or a wire endpoint of the vendor of the dialect it decodes with
        assert path == "/collect" or path in {e.path for e in vendor_of[dialect].endpoints}, (path, dialect)
    declared = {
        e.path
        for v in vendors.vendors()
        if v.demo
        for e in v.endpoints
        if not e.path.startswith("/debug/")  # a debug endpoint validates and stores nothing
    }
    assert {p for p, _ in used} == declared | {"/collect"}
    shop, gifts = KEYS["shop"], KEYS["donations"]
    for r in requests:
        k = KEYS[r.property]
        if r.path == "/collect":
            assert r.envelope()["key"] == k["collect_key"]
            assert len(r.envelope()["events"]) <= 20
        elif r.path == "/mp/collect":
            assert r.query == {"measurement_id": k["ga4_measurement_id"], "api_secret": k["ga4_api_secret"]}
            assert 1 <= len(r.actions) <= 25
        elif r.path.startswith("/events"):
            assert r.query["tc_s"] == k["commanders_act_site"]
        else:
            assert r.form is not None and r.form["app_key"] == k["convead_app_key"]
    assert {r.property for r in requests if r.dialect == "koalect"} == {"donations"}
    assert shop != gifts
    times = [r.actions[0].at for r in requests]
    assert times == sorted(times)


def test_truth_covers_every_edge_case(big: tuple[Dataset, list[Request], float]) -> None:
    truth = big[0].truth
    tags = truth.tags()
    for tag in (
        "guest_login",
        "shared_device",
        "out_of_order",
        "refund_full",
        "refund_partial",
        "big_refund",
        "order_canceled",
        "cart_update",
        "cart_cleared",
        "jpy_purchase",
        "pending_order",
    ):
        assert tags[tag] > 0, tag
    for proc in PROCEDURES:
        for step in proc.steps[:-1] + (("checkout",) if proc.paid else ()):
            assert tags[f"abandoned:{proc.category}:{step}"] > 0, (proc.slug, step)
    valid = truth.valid()
    kinds = Counter(a.kind for a in valid)
    assert all(kinds[k] > 0 for k in KINDS), set(KINDS) - set(kinds)
    assert set(Counter(a.invalid for a in truth.invalid())) == set(REASONS)
    assert {a.currency for a in valid if a.kind == "purchase"} >= {"EUR", "USD", "GBP", "JPY"}
    assert {a.property for a in valid} == {"shop", "donations"}
    share = len(truth.invalid()) / len(truth.actions)
    assert 0.02 < share < 0.04
    # two users on one device: the same anonymous id with two user ids
    users: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
    for a in valid:
        if a.anonymous_id and a.user_id:
            users[(a.property, a.anonymous_id)].add(a.user_id)
    assert any(len(u) == 2 for u in users.values())
    # a guest who logs in: anonymous-only actions, then the same device with a user id, in one session
    by_session: defaultdict[str, list[Action]] = defaultdict(list)
    for a in valid:
        by_session[a.session].append(a)
    assert any(
        acts[0].user_id is None
        and acts[-1].user_id is not None
        and acts[0].anonymous_id == acts[-1].anonymous_id
        for acts in by_session.values()
    )
    # a refund larger than its day's sales, in its currency and property
    sales: Counter[tuple[str, str | None, object]] = Counter()
    for a in valid:
        if a.kind == "purchase" and a.value is not None:
            sales[(a.property, a.currency, a.at.date())] += a.value
    assert any(
        a.kind == "refund" and a.value is not None and a.value > sales[(a.property, a.currency, a.at.date())]
        for a in valid
    )
    # an order canceled after its purchase
    orders = truth.orders()
    assert any(
        acts[0].kind == "purchase"
        and any(x.kind == "order_update" and x.status == "canceled" for x in acts[1:])
        for acts in orders.values()
    )
    # a funnel out of order: a person adds an item before viewing it
    assert any(a.kind == "add_to_cart" and "out_of_order" in a.tags for a in valid)


def test_truth_is_self_consistent(big: tuple[Dataset, list[Request], float]) -> None:
    truth = big[0].truth
    assert [a.seq for a in truth.actions] == list(range(len(truth.actions)))
    assert all(truth.actions[n].at <= truth.actions[n + 1].at for n in range(len(truth.actions) - 1))
    assert all(truth.start <= a.at < truth.end for a in truth.actions)
    assert all(a.at.microsecond % 1000 == 0 for a in truth.actions)  # milliseconds: what CA carries
    assert len({a.event_id for a in truth.actions}) == len(truth.actions)
    for a in truth.valid():
        if a.kind in ("view_item", "add_to_cart", "remove_from_cart", "begin_checkout", "purchase"):
            assert a.value == sum((ln.total for ln in a.items), Decimal(0)), a
        if a.currency == "JPY":
            assert all(ln.price == ln.price.to_integral_value() for ln in a.items)
        assert all(ln.quantity > 0 and ln.item_id and ln.item_name for ln in a.items)
    # orders: a purchase first, updates repeat its value, a refund never exceeds it
    for (_, tx), acts in truth.orders().items():
        purchase = acts[0]
        assert purchase.kind == "purchase", tx
        assert sum(a.kind == "purchase" for a in acts) == 1
        ordered = {ln.item_id: ln for ln in purchase.items}
        refunded = Decimal(0)
        for a in acts[1:]:
            assert a.at > purchase.at
            if a.kind == "order_update":
                assert a.value == purchase.value and a.status
            else:
                refunded += a.value or 0
                for ln in a.refund_items or []:
                    assert ln.quantity <= ordered[ln.item_id].quantity
                    assert ln.price == ordered[ln.item_id].price
        assert purchase.value is not None and refunded <= purchase.value
    # shop carts: removes never take more than the cart holds, update_cart states the cart
    carts: defaultdict[str, dict[str, int]] = defaultdict(dict)
    for a in truth.valid():
        if a.property != "shop":
            continue
        cart = carts[a.person]
        if a.kind == "add_to_cart":
            for ln in a.items:
                cart[ln.item_id] = cart.get(ln.item_id, 0) + ln.quantity
        elif a.kind == "remove_from_cart":
            for ln in a.items:
                assert cart.get(ln.item_id, 0) >= ln.quantity, a
                cart[ln.item_id] -= ln.quantity
                if not cart[ln.item_id]:
                    del cart[ln.item_id]
        elif a.kind == "update_cart":
            assert cart == {ln.item_id: ln.quantity for ln in a.items}, a
        elif a.kind == "purchase":
            assert cart == {ln.item_id: ln.quantity for ln in a.items}, a
            cart.clear()
    # funnel steps happen in order within a visit, except where the edge case says otherwise
    for session in truth.sessions:
        if session.dialect == "koalect":
            continue  # Koalect sends add_payment_info before checkout, as its document says
        steps = [FUNNEL.index(a.kind) for a in session.actions if a.valid and a.kind in FUNNEL[2:]]
        assert steps == sorted(steps), session.id


def test_every_device_of_a_user_is_linked(big: tuple[Dataset, list[Request], float]) -> None:
    """So that the truth's person is what identity stitching can find (see sessions.py)."""
    truth = big[0].truth
    linked = {(a.person, a.anonymous_id) for a in truth.valid() if a.anonymous_id and a.user_id}
    for a in truth.valid():
        person = truth.persons[a.person]
        if person.user_id is not None and a.anonymous_id:
            assert (a.person, a.anonymous_id) in linked, a
        if a.user_id is not None:
            assert a.user_id == person.user_id


def test_client_time_puts_a_time_on_every_action() -> None:
    dataset = generate(3, 200, end=END, properties={"web": "shop", "gifts": "donations"})
    requests = dataset.requests(keys_for("web", "gifts"), client_time=True)
    seen = Counter()
    for r in requests:
        if r.path == "/collect":
            (action,) = r.actions
            assert r.envelope()["context"] == {
                "client_timestamp": action.at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            }
            seen["collect"] += 1
        elif r.path == "/watch/event":
            [(dialect, payload, (action,))] = r.units()
            event = trackway.decode(dialect, payload, default_currency="EUR").events[0]
            assert event.extras["data"]["client_timestamp"].startswith(
                action.at.strftime("%Y-%m-%dT%H:%M:%S")
            )
            seen["convead"] += 1
    assert seen["collect"] and seen["convead"]


def test_window_properties_and_keys() -> None:
    dataset = generate(4, 50, end=END, days=7, invalid_share=0.0, properties=("shop",))
    assert not dataset.truth.invalid()
    assert dataset.truth.start == END - timedelta(days=7)
    assert {a.property for a in dataset.truth.actions} == {"shop"}
    with pytest.raises(KeyError):
        generate(4, 50, end=END).requests(keys_for("shop"))
    with pytest.raises(ValueError, match="aware"):
        generate(4, 50, end=datetime(2026, 3, 1))
    assert isinstance(Line("a", "b", Decimal(1), 1).total, Decimal)
