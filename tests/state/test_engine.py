"""The derived-state rules, event by event, on the in-memory state."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from trackway.model import Commerce, Event, Item
from trackway.state.engine import apply
from trackway.state.memory import MemoryState

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
_ids = itertools.count()


def ev(
    name,
    anon=None,
    user=None,
    *,
    items=None,
    prop="shop",
    dialect="gtm-ga4",
    minutes=None,
    props=None,
    **commerce,
):
    n = next(_ids)
    c = None
    if items is not None or commerce:
        c = Commerce(items=[Item(**i) for i in items] if items is not None else None, **commerce)
    at = T0 + timedelta(minutes=n if minutes is None else minutes)
    return Event(
        name=name,
        dialect=dialect,
        id=f"e{n:05d}",
        property=prop,
        timestamp=at,
        received_at=at,
        anonymous_id=anon,
        user_id=user,
        commerce=c,
        properties=props or {},
    )


def run(*events):
    state = MemoryState()
    people = [apply(state, e, n) for n, e in enumerate(events)]
    return state, people


def person_of(state, kind, value, prop="shop"):
    return state.identities[(prop, kind, value)].person_id


def test_a_guest_who_logs_in_and_buys_is_one_person_from_the_first_event():
    events = [
        ev("view_item_list", "a1"),
        ev(
            "add_to_cart",
            "a1",
            items=[{"item_id": "tee", "price": Decimal("10"), "quantity": 2}],
            currency="EUR",
        ),
        ev("login", "a1", "u1"),
        ev("purchase", "a1", "u1", transaction_id="T1", currency="EUR", value=Decimal("20")),
        ev("view_item", None, "u1"),
    ]
    state, people = run(*events)
    assert len(set(people)) == 1
    assert person_of(state, "anonymous", "a1") == person_of(state, "user", "u1") == people[0]
    assert [(ln.anonymous_id, ln.user_id) for ln in state.links] == [("a1", "u1")]
    assert state.conflicts == []
    assert state.orders[("shop", "T1")].person_id == people[0]


def test_a_known_user_on_a_new_device_merges_the_guest_into_the_user():
    events = [
        ev("login", "old-device", "u1"),
        ev("add_to_cart", "new-device", items=[{"item_id": "cap", "quantity": 1}]),
        ev("login", "new-device", "u1"),
    ]
    state, people = run(*events)
    user = person_of(state, "user", "u1")
    assert person_of(state, "anonymous", "new-device") == user
    assert people[1] != user  # the guest's own person id before the merge
    assert state.merges == [("shop", people[1], user)]
    [cart] = [c for c in state.carts.values() if c.status == "open"]
    assert (cart.person_id, list(cart.lines)) == (user, ["cap"])


def test_two_users_on_one_device_stay_two_people_and_a_conflict_is_recorded():
    state, people = run(
        ev("login", "shared", "alice"), ev("page_view", "shared"), ev("login", "shared", "bob")
    )
    alice, bob = person_of(state, "user", "alice"), person_of(state, "user", "bob")
    assert alice != bob
    assert person_of(state, "anonymous", "shared") == alice  # the first link stays
    assert people == [alice, alice, bob]
    [conflict] = state.conflicts
    assert (conflict.anonymous_id, conflict.user_id, conflict.other_user_id) == ("shared", "alice", "bob")


@pytest.mark.parametrize(
    "placeholder",
    [
        *["", "null", "undefined", "0", "anonymous", "Guest", " NULL ", "(not set)"],
        # unexpanded templates, a variable's name, quoted placeholders, dashes, zeros: each became a
        # real id that linked every guest sending it to one person
        *["{{user_id}}", "${user_id}", "<user_id>", "%USER_ID%", "'null'", '"undefined"', "-", "00", "0.0"],
        *["user_id", "client_id"],
    ],
)
def test_placeholders_are_never_link_keys(placeholder):
    state, people = run(ev("login", placeholder, "alice"), ev("login", placeholder, "bob"))
    assert people[0] != people[1]
    assert state.links == [] and state.conflicts == []
    assert ("shop", "anonymous", placeholder) not in state.identities


@pytest.mark.parametrize("real", ["bob", "100", "a-b", "0x1", "<bob", "1-0", "<img src=x onerror=alert(1)>"])
def test_ids_that_only_look_like_placeholders_are_ids(real):
    state, _ = run(ev("login", real, "alice"))
    assert ("shop", "anonymous", real) in state.identities


def test_properties_have_their_own_identities():
    state, people = run(ev("login", "a1", "u1", prop="shop"), ev("login", "a1", "u2", prop="donations"))
    assert people[0] != people[1]
    assert state.conflicts == []


def _line_view(cart):
    return {k: (ln.quantity, ln.price) for k, ln in cart.lines.items()}


def test_cart_deltas_equal_the_update_cart_that_follows():
    adds = [
        ev("add_to_cart", "a", items=[{"item_id": "tee", "price": Decimal("10"), "quantity": 2}]),
        ev("add_to_cart", "a", items=[{"item_id": "cap", "price": Decimal("5")}]),
        ev("remove_from_cart", "a", items=[{"item_id": "tee", "quantity": 1}]),
        ev("add_to_cart", "a", items=[{"item_id": "mug", "price": Decimal("7"), "quantity": 3}]),
        ev("remove_from_cart", "a", items=[{"item_id": "mug", "quantity": 3}]),
    ]
    state, _ = run(*adds)
    [built] = state.carts.values()
    snapshot = ev(
        "update_cart",
        "b",
        items=[
            {"item_id": "tee", "price": Decimal("10"), "quantity": 1},
            {"item_id": "cap", "price": Decimal("5"), "quantity": 1},
        ],
    )
    state2, _ = run(snapshot)
    [sent] = state2.carts.values()
    assert _line_view(built) == _line_view(sent) == {"tee": (1, Decimal("10")), "cap": (1, Decimal("5"))}
    assert built.value == sent.value == Decimal("15")


def test_update_cart_replaces_and_empty_items_clear_the_cart():
    state, _ = run(
        ev("add_to_cart", "a", items=[{"item_id": "tee", "quantity": 2}]),
        ev("update_cart", "a", dialect="convead", items=[{"item_id": "cap", "quantity": 1}]),
    )
    [cart] = state.carts.values()
    assert (cart.status, list(cart.lines)) == ("open", ["cap"])
    state, _ = run(
        ev("add_to_cart", "a", items=[{"item_id": "tee"}]),
        ev("update_cart", "a", dialect="convead", items=[]),
        ev("add_to_cart", "a", items=[{"item_id": "cap"}]),
    )
    carts = sorted(state.carts.values(), key=lambda c: c.opened_at)
    assert [(c.status, list(c.lines)) for c in carts] == [("emptied", []), ("open", ["cap"])]


def test_a_purchase_converts_the_open_cart_and_the_next_add_opens_another():
    state, _ = run(
        ev("add_to_cart", "a", items=[{"item_id": "tee"}]),
        ev("purchase", "a", transaction_id="T9", currency="EUR", value=Decimal(10)),
        ev("add_to_cart", "a", items=[{"item_id": "cap"}]),
    )
    first, second = sorted(state.carts.values(), key=lambda c: c.opened_at)
    assert (first.status, first.transaction_id, second.status) == ("converted", "T9", "open")


def test_a_guest_cart_merges_into_the_users_open_cart_on_login():
    state, _ = run(
        ev("add_to_cart", "phone", "u1", items=[{"item_id": "tee", "quantity": 1}]),
        ev(
            "add_to_cart",
            "laptop",
            items=[{"item_id": "tee", "quantity": 2}, {"item_id": "cap", "quantity": 1}],
        ),
        ev("login", "laptop", "u1"),
    )
    user = person_of(state, "user", "u1")
    opened = [c for c in state.carts.values() if c.status == "open"]
    merged = [c for c in state.carts.values() if c.status == "merged"]
    assert len(opened) == 1 and len(merged) == 1
    assert opened[0].person_id == merged[0].person_id == user
    assert {k: ln.quantity for k, ln in opened[0].lines.items()} == {"tee": 3, "cap": 1}
    assert merged[0].merged_into == opened[0].cart_id


def _order(items=(("tee", "10", 2), ("cap", "5", 1)), **kw):
    lines = [{"item_id": i, "price": Decimal(p), "quantity": q} for i, p, q in items]
    return ev("purchase", "a", items=lines, transaction_id="T1", currency="EUR", **kw)


def test_a_partial_refund_takes_back_exactly_the_refunded_items():
    state, _ = run(
        _order(value=Decimal("25"), status="in_progress"),
        ev(
            "refund", "a", transaction_id="T1", items=[{"item_id": "tee", "quantity": 1}]
        ),  # priced from the order
        ev(
            "refund",
            "a",
            transaction_id="T1",
            items=[{"item_id": "cap", "quantity": 1, "price": Decimal("4.5")}],
        ),
    )
    order = state.orders[("shop", "T1")]
    assert (order.value, order.refunded) == (Decimal("25"), Decimal("14.5"))
    assert [h.refund for h in state.history] == [None, Decimal("10"), Decimal("4.5")]


def test_a_full_refund_takes_back_the_whole_order_and_a_status_update_keeps_the_history():
    state, _ = run(
        _order(value=Decimal("25"), status="pending"),
        _order(status="shipped"),
        ev("refund", "a", transaction_id="T1", currency="EUR", status="returned"),
    )
    order = state.orders[("shop", "T1")]
    assert (order.status, order.value, order.refunded) == ("returned", Decimal("25"), Decimal("25"))
    assert [(h.name, h.status) for h in state.history] == [
        ("purchase", "pending"),
        ("purchase", "shipped"),
        ("refund", "returned"),
    ]


def test_a_refund_before_its_purchase_is_kept_and_the_purchase_completes_the_order():
    state, _ = run(
        ev("refund", "a", transaction_id="T7", value=Decimal("5"), currency="USD"),
        ev("purchase", "a", transaction_id="T7", value=Decimal("30"), currency="USD"),
    )
    order = state.orders[("shop", "T7")]
    assert (order.purchased, order.value, order.refunded, order.currency) == (
        True,
        Decimal("30"),
        Decimal("5"),
        "USD",
    )


def kevent(name, anon, step=None, **props):
    base = {"procedure_id": "P1", "procedure_slug": "spring-run", "procedure_category": "donation"}
    if step is not None:
        base.update(step_index=step[0], step_name=step[1])
    return ev(name, anon, dialect="koalect", props={**base, **props})


def test_a_procedure_records_steps_checkout_transaction_and_execution():
    state, people = run(
        kevent("view_step", "d1", (1, "personal_infos")),
        kevent("begin_checkout", "d1"),
        ev(
            "purchase",
            "d1",
            dialect="koalect",
            transaction_id="K1",
            value=Decimal(16),
            currency="EUR",
            props={"procedure_id": "P1"},
        ),
        kevent("view_step", "d1", (2, "success")),
        kevent("execution", "d1", execution_id="X1"),
    )
    proc = state.procedures[("shop", "P1", people[0])]
    assert [(s.index, s.name) for s in proc.steps] == [(1, "personal_infos"), (2, "success")]
    assert (proc.category, proc.slug, proc.transaction_id, proc.value, proc.execution_id) == (
        "donation",
        "spring-run",
        "K1",
        Decimal(16),
        "X1",
    )
    assert proc.success_at is not None and proc.checkout_at is not None and proc.executed_at is not None


def test_a_procedure_abandoned_after_its_first_step_has_no_success():
    state, people = run(kevent("view_step", "d2", (1, "personal_infos")))
    proc = state.procedures[("shop", "P1", people[0])]
    assert (proc.success_at, proc.checkout_at, len(proc.steps)) == (None, None, 1)


def test_a_guests_procedure_merges_into_the_users_on_login():
    state, _ = run(
        kevent("view_step", "dev", (1, "personal_infos")),
        ev("login", "old", "u9"),
        kevent("view_step", "old", (1, "personal_infos")),
        ev("login", "dev", "u9"),
    )
    user = person_of(state, "user", "u9")
    [proc] = list(state.procedures.values())
    assert proc.person_id == user
    assert len(proc.steps) == 1
    assert state.removed_procedures


@pytest.mark.parametrize(
    "late",
    [
        ev("add_to_cart", "a", items=[{"item_id": "cap"}], minutes=10),
        ev("remove_from_cart", "a", items=[{"item_id": "tee"}], minutes=10),
        ev("update_cart", "a", dialect="convead", items=[{"item_id": "cap"}], minutes=10),
        ev("purchase", "a", transaction_id="T-late", minutes=10),
    ],
    ids=["add", "remove", "update", "purchase"],
)
def test_an_older_event_arriving_late_does_not_make_the_cart_look_older(late):
    opened = ev("add_to_cart", "a", items=[{"item_id": "tee", "quantity": 2}], minutes=100)
    state, _ = run(opened, late)
    [cart] = state.carts.values()
    assert cart.events == 2
    assert cart.opened_at == cart.updated_at == T0 + timedelta(minutes=100)


def _adds(*moves):
    """add_to_cart / remove_from_cart events of item N with the given quantities (None: unsent)."""
    out = []
    for name, quantity in moves:
        item = {"item_id": "N", "price": Decimal("10")}
        if quantity is not None:
            item["quantity"] = quantity
        out.append(ev(name, "q", items=[item], currency="EUR"))
    return out


@pytest.mark.parametrize(
    ("moves", "lines", "carts"),
    [
        ([("add_to_cart", 3), ("remove_from_cart", 1)], {"N": 2}, 1),
        ([("add_to_cart", None), ("add_to_cart", 2)], {"N": 3}, 1),
        ([("add_to_cart", 3), ("remove_from_cart", -2)], {"N": 3}, 1),  # not an addition of 2
        ([("add_to_cart", 3), ("remove_from_cart", 0)], {"N": 3}, 1),
        ([("add_to_cart", 3), ("add_to_cart", -2)], {"N": 3}, 1),  # not a removal of 2
        ([("add_to_cart", 0)], None, 0),  # opens no cart
        ([("add_to_cart", -1)], None, 0),
    ],
)
def test_a_quantity_of_zero_or_less_changes_no_cart(moves, lines, carts):
    state, _ = run(*_adds(*moves))
    assert len(state.carts) == carts
    open_carts = [c for c in state.carts.values() if c.status == "open"]
    assert ({k: ln.quantity for k, ln in open_carts[0].lines.items()} if open_carts else None) == lines
    assert all(c.events == len([q for _, q in moves if q is None or q > 0]) for c in state.carts.values())


@pytest.mark.parametrize("resent", ["WS-1 ", " WS-1", "WS-1\t", "\u00a0WS-1\u200b"])
def test_a_transaction_id_with_spaces_around_it_is_the_same_order(resent):
    line = [{"item_id": "A", "price": Decimal("10"), "quantity": 1}]
    state, _ = run(
        ev("purchase", "a", items=line, transaction_id="WS-1", currency="EUR", value=Decimal(10)),
        ev(
            "purchase",
            "a",
            items=line,
            transaction_id=resent,
            currency="EUR",
            value=Decimal(10),
            status="paid",
        ),
        ev("refund", "a", transaction_id=resent, items=[{"item_id": "A"}]),
    )
    [order] = state.orders.values()
    assert (order.transaction_id, order.revenue, order.status, order.refunded) == (
        "WS-1",
        Decimal(10),
        "paid",
        Decimal(10),
    )
    assert [h.transaction_id for h in state.history] == ["WS-1"] * 3


@pytest.mark.parametrize("blank", ["", " ", "\t\u00a0"])
def test_a_transaction_id_of_white_space_only_makes_no_order(blank):
    state, _ = run(ev("purchase", "a", transaction_id=blank, currency="EUR", value=Decimal(10)))
    assert state.orders == {} and state.history == []


@pytest.mark.parametrize(("user", "again"), [("bob", " bob "), (" bob", "bob\n"), ("bob", "\ufeffbob")])
def test_a_user_id_with_spaces_around_it_is_the_same_user(user, again):
    state, people = run(
        ev("login", "laptop", user), ev("login", "laptop", again), ev("page_view", None, again)
    )
    assert people[0] == people[1] == people[2] == person_of(state, "user", "bob")
    assert state.conflicts == []
    assert [k for k in state.identities if k[1] == "user"] == [("shop", "user", "bob")]


def test_an_anonymous_id_with_spaces_around_it_is_the_same_guest():
    state, people = run(
        ev("add_to_cart", "g1", items=[{"item_id": "tee"}]),
        ev("add_to_cart", " g1 ", items=[{"item_id": "tee"}]),
        ev("login", "g1\t", "u1"),
    )
    assert len(set(people)) == 1
    [cart] = state.carts.values()
    assert {k: ln.quantity for k, ln in cart.lines.items()} == {"tee": 2}
    assert [(ln.anonymous_id, ln.user_id) for ln in state.links] == [("g1", "u1")]
