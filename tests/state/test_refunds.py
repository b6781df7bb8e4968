"""What each refund takes back from its order (state/refunds.py), event by event."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.state.test_engine import ev, run
from trackway.state import refunds

D = Decimal
LINES = [{"item_id": "A", "price": D(50), "quantity": 2}, {"item_id": "B", "price": D(30), "quantity": 1}]


def purchase(**kw):
    """Order R of 130 EUR: 2 x A at 50, 1 x B at 30."""
    return ev("purchase", "a", items=LINES, transaction_id="R", currency="EUR", value=D(130), **kw)


def refund(*items, **kw):
    """A refund of order R; ``items`` as (item_id, quantity, price or None)."""
    lines = [{"item_id": i, "quantity": q, **({"price": D(p)} if p is not None else {})} for i, q, p in items]
    return ev("refund", "a", items=lines or None, transaction_id="R", **kw)


def history(state):
    return [(h.name, h.refund) for h in state.history]


CASES = [
    # (refunds after the purchase, what each took back)
    ([refund(currency="EUR")], [D(130)]),  # no items, no amount: the whole order
    ([refund(currency="EUR", value=D(10))], [D(10)]),  # an amount: that amount, not the whole order
    ([refund(value=D(10)), refund()], [D(10), D(120)]),  # then the rest
    ([refund(("A", 1, None))], [D(50)]),  # items: at the order's price
    ([refund(("B", 1, "25"))], [D(25)]),  # at the refund's own price
    ([refund(("A", 1, None), ("B", 1, None)), refund()], [D(80), D(50)]),
    ([refund(("A", 5, None))], [D(100)]),  # capped at the 2 units bought
    ([refund(("A", 5, None)), refund()], [D(100), D(30)]),  # never more than 130 in all
    ([refund(("A", 1, None)), refund(("A", 2, None))], [D(50), D(50)]),  # 1 unit of A was left
    ([refund(), refund()], [D(130), D(0)]),  # nothing left: 0, never negative
    ([refund(), refund(("A", 1, None))], [D(130), D(0)]),
    ([refund(value=D(200))], [D(130)]),  # capped at the order's revenue
    ([refund(value=D(-5))], [D(0)]),
    ([refund(("C", 1, "10"))], [D(0)]),  # an item the order does not hold
    ([refund(("A", 0, None)), refund(("A", -2, None))], [D(0), D(0)]),
]


@pytest.mark.parametrize(("after", "taken"), CASES)
def test_a_refund_takes_back_its_worth_and_never_more_than_is_left(after, taken):
    state, _ = run(purchase(), *after)
    order = state.orders[("shop", "R")]
    assert history(state) == [("purchase", None)] + [("refund", t) for t in taken]
    assert order.refunded == sum(taken) <= order.revenue == D(130)


@pytest.mark.parametrize(
    ("asked", "note"),
    [
        (
            refund(("A", 5, None)),
            "expected at most 2 x 'A' back (bought less refunded before), got 5: 2 booked",
        ),
        (
            refund(value=D(200)),
            "expected at most 130 back (the order's revenue 130 less 0 refunded before), got 200: 130 booked",
        ),
        (refund(value=D(-5)), "expected a refund amount of 0 or more, got -5"),
        (
            refund(("C", 1, "10")),
            "expected at most 0 x 'C' back (bought less refunded before), got 1: 0 booked",
        ),
        (refund(value=D(10)), None),
    ],
)
def test_a_refund_that_takes_back_less_than_asked_says_so(asked, note):
    state, _ = run(purchase(), asked)
    found = state.history[-1].note
    assert (found is None) if note is None else (note in found)


@pytest.mark.parametrize(
    "asked",
    [
        refund(currency="USD", value=D(5)),
        refund(("A", 1, "5"), currency="USD"),
        refund(currency="USD"),
    ],
)
def test_a_refund_in_another_currency_is_not_booked(asked):
    state, _ = run(purchase(), asked)
    order = state.orders[("shop", "R")]
    assert (order.currency, order.refunded, order.refunded_items) == ("EUR", D(0), {})
    change = state.history[-1]
    assert change.refund is None
    assert "expected a refund in the order's currency EUR, got USD: not booked" in change.note


BEFORE = [
    # (refunds before the purchase, what each took back once it came)
    ([refund(("A", 1, None))], [D(50)]),  # priced from the purchase
    ([refund()], [D(130)]),  # the whole order
    ([refund(value=D(5), currency="EUR")], [D(5)]),
    ([refund(("A", 2, None)), refund()], [D(100), D(30)]),  # in the order they came
    ([refund(("A", 3, None))], [D(100)]),
    ([refund(currency="USD", value=D(5))], [None]),  # not the order's currency
]


@pytest.mark.parametrize(("before", "taken"), BEFORE)
def test_a_refund_before_its_purchase_is_valued_when_the_purchase_comes(before, taken):
    state, _ = run(*before)
    order = state.orders[("shop", "R")]
    assert (order.purchased, order.refunded, len(order.pending_refunds)) == (False, D(0), len(before))
    assert [(h.refund, h.note) for h in state.history] == [(None, refunds.WAITING)] * len(before)

    state, _ = run(*before, purchase())
    order = state.orders[("shop", "R")]
    assert history(state) == [("refund", t) for t in taken] + [("purchase", None)]
    assert order.refunded == sum(t for t in taken if t is not None)
    assert order.pending_refunds == []
    assert all(h.note != refunds.WAITING for h in state.history)


def test_a_refund_after_the_purchase_that_came_late_is_valued_at_once():
    state, _ = run(refund(("A", 1, None)), purchase(), refund(("B", 1, None)))
    assert history(state) == [("refund", D(50)), ("purchase", None), ("refund", D(30))]
    assert state.orders[("shop", "R")].refunded == D(80)


def test_a_purchase_line_of_quantity_0_or_less_is_no_sale():
    # It entered the order's lines and amounts: the -1 line took 80 off the subtotal (50,
    # not 130), and a refund of the whole order gave back 50.
    lines = [
        *LINES,
        {"item_id": "C", "price": D(80), "quantity": -1},
        {"item_id": "E", "price": D(9), "quantity": 0},
    ]
    state, _ = run(ev("purchase", "a", items=lines, transaction_id="R", currency="EUR"), refund())
    order = state.orders[("shop", "R")]
    assert [(ln.item_id, ln.quantity) for ln in order.lines] == [("A", 2), ("B", 1)]
    assert order.subtotal == order.revenue == D(130)
    assert history(state) == [("purchase", None), ("refund", D(130))]
