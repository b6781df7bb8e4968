"""Carts and currencies (state/carts.py): a cart keeps its currency, and a line priced in
another one is kept but never summed into the cart's value."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.state.test_engine import ev, person_of, run

D = Decimal


def add(anon, item, price=None, currency=None, quantity=1, name="add_to_cart", user=None):
    line = {"item_id": item, "quantity": quantity, **({"price": D(price)} if price is not None else {})}
    return ev(name, anon, user, items=[line], **({"currency": currency} if currency else {}))


def lines(cart):
    return {k: (ln.quantity, ln.price, ln.currency) for k, ln in cart.lines.items()}


CASES = [
    # (events, the cart's currency, its lines: (quantity, price, other currency), value)
    (
        [add("k", "A", 100, "EUR"), add("k", "B", 1, "USD")],
        "EUR",
        {"A": (1, D(100), None), "B": (1, D(1), "USD")},
        D(100),
    ),
    (  # the same item in another currency: more units, at the cart's price
        [add("k", "A", 100, "EUR"), add("k", "A", 2, "USD")],
        "EUR",
        {"A": (2, D(100), None)},
        D(200),
    ),
    (  # a price in the cart's currency replaces one in another
        [add("k", "B", 1, "EUR"), add("k", "A", 2, "USD"), add("k", "A", 90, "EUR")],
        "EUR",
        {"B": (1, D(1), None), "A": (2, D(90), None)},
        D(181),
    ),
    (  # an event stating no currency is in the cart's
        [add("k", "A", 10), add("k", "B", 5, "EUR"), add("k", "C", 3)],
        "EUR",
        {"A": (1, D(10), None), "B": (1, D(5), None), "C": (1, D(3), None)},
        D(18),
    ),
    (  # a removal in another currency still removes units
        [add("k", "A", 100, "EUR", quantity=3), add("k", "A", 1, "USD", name="remove_from_cart")],
        "EUR",
        {"A": (2, D(100), None)},
        D(200),
    ),
    (  # update_cart replaces every line, in the currency it states
        [
            add("k", "A", 100, "EUR"),
            ev(
                "update_cart", "k", dialect="convead", items=[{"item_id": "B", "price": D(7)}], currency="USD"
            ),
        ],
        "USD",
        {"B": (1, D(7), None)},
        D(7),
    ),
]


@pytest.mark.parametrize(("events", "currency", "expected", "value"), CASES)
def test_a_cart_keeps_its_currency_and_never_sums_another(events, currency, expected, value):
    state, _ = run(*events)
    [cart] = state.carts.values()
    assert (cart.currency, lines(cart), cart.value) == (currency, expected, value)
    assert cart.other_currency_lines == sum(1 for _, _, other in expected.values() if other)


def test_a_guests_cart_in_another_currency_merges_without_summing_it():
    state, _ = run(
        add("phone", "A", 100, "EUR", user="u1"),
        add("laptop", "B", 20, "USD"),
        add("laptop", "A", 1, "USD"),
        ev("login", "laptop", "u1"),
    )
    [cart] = [c for c in state.carts.values() if c.status == "open"]
    assert cart.person_id == person_of(state, "user", "u1")
    assert (cart.currency, lines(cart)) == ("EUR", {"A": (2, D(100), None), "B": (1, D(20), "USD")})
    assert (cart.value, cart.other_currency_lines) == (D(200), 1)


def test_a_guests_cart_gives_its_currency_to_a_users_cart_that_has_none():
    state, _ = run(
        add("phone", "A", 10, user="u1"), add("laptop", "B", 20, "USD"), ev("login", "laptop", "u1")
    )
    [cart] = [c for c in state.carts.values() if c.status == "open"]
    assert (cart.currency, lines(cart), cart.value) == (
        "USD",
        {"A": (1, D(10), None), "B": (1, D(20), None)},
        D(30),
    )
