"""Amounts mean what each vendor defines (trackway.amounts).

The parts of an event's amounts, each with where it came from; each adapter's declaration
of what its amount fields mean; and every ordered pair of dialects converting the same
purchase, refund, checkout and cart event: the target states each amount by its own
definition (derived with a VALUE_DERIVED warning when the source's means something else),
and nothing the source states is lost without a NOT_CARRIED warning.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import trackway
from tests.support.specs import examples
from trackway import amounts, dialects
from trackway.amounts import Part
from trackway.destinations.base import ErrorsOnly
from trackway.issues import Issues
from trackway.model import Commerce, Event, Item

D = Decimal
S, IT, V, A = amounts.STATED, amounts.ITEMS, amounts.DERIVED, amounts.ASSUMED
TWO = [Item(item_id="A", price=D("8.00"), quantity=1), Item(item_id="B", price=D("8.00"))]  # no quantity: 1
# Convead's purchase example (docs: order_id 12345, revenue 99.99): 125.15 + 15 x 127.02 = 2030.45
CONVEAD_ITEMS = [
    Item(item_id="1", price=D("125.15"), quantity=1),
    Item(item_id="2", price=D("127.02"), quantity=15),
]


def c(**kw: Any) -> Commerce:
    return Commerce(**{k: D(v) if isinstance(v, str) else v for k, v in kw.items()})


# (case, dialect, event name, commerce, {part: (value, how)} of the parts found, disagreements)
PARTS = [
    (
        "Commanders Act's cact() purchase example",
        "commanders-act",
        "purchase",
        c(value="22.53", revenue="16.00", tax="3.20", shipping="3.33", items=TWO),
        {
            Part.TOTAL: ("22.53", S),
            Part.REVENUE: ("16.00", S),
            Part.TAX: ("3.20", S),
            Part.SHIPPING: ("3.33", S),
            Part.SUBTOTAL: ("16.00", IT),
            Part.DISCOUNT: ("0.00", V),
        },
        0,
    ),
    (
        "its refund example, whose value is not revenue + tax + shipping",
        "commanders-act",
        "refund",
        c(value="20.33", revenue="16.00", tax="3.20", shipping="3.33"),
        {
            Part.TOTAL: ("20.33", S),
            Part.REVENUE: ("16.00", S),
            Part.TAX: ("3.20", S),
            Part.SHIPPING: ("3.33", S),
            Part.SUBTOTAL: ("16.00", V),
            Part.DISCOUNT: ("0", A),
        },
        1,
    ),
    (
        "a GA4 purchase: value is the subtotal",
        "gtm-ga4",
        "purchase",
        c(value="16.00", tax="3.20", shipping="3.33"),
        {
            Part.SUBTOTAL: ("16.00", S),
            Part.TAX: ("3.20", S),
            Part.SHIPPING: ("3.33", S),
            Part.REVENUE: ("16.00", V),
            Part.TOTAL: ("22.53", V),
            Part.DISCOUNT: ("0", A),
        },
        0,
    ),
    (
        "a UA purchase: revenue (commerce.value) is the total",
        "gtm-ua",
        "purchase",
        c(value="22.53", tax="3.20", shipping="3.33"),
        {
            Part.TOTAL: ("22.53", S),
            Part.TAX: ("3.20", S),
            Part.SHIPPING: ("3.33", S),
            Part.REVENUE: ("16.00", V),
            Part.SUBTOTAL: ("16.00", V),
            Part.DISCOUNT: ("0", A),
        },
        0,
    ),
    (
        "a Convead purchase: the full order cost, no tax or shipping to take off",
        "convead",
        "purchase",
        c(value="22.53", items=TWO),
        {
            Part.TOTAL: ("22.53", S),
            Part.SUBTOTAL: ("16.00", IT),
            Part.REVENUE: ("16.00", V),
            Part.TAX: ("0", A),
            Part.SHIPPING: ("0", A),
            Part.DISCOUNT: ("0", A),
        },
        1,  # 16.00 + tax 0 + shipping 0 is not 22.53: the event does not say what the rest is
    ),
    (
        "Convead's own purchase example: items of 2030.45, the order cost 99.99",
        "convead",
        "purchase",
        c(value="99.99", items=CONVEAD_ITEMS),
        {
            Part.TOTAL: ("99.99", S),
            Part.REVENUE: ("99.99", V),
            Part.SUBTOTAL: ("99.99", V),
            Part.TAX: ("0", A),
            Part.SHIPPING: ("0", A),
            Part.DISCOUNT: ("0", A),
        },
        1,  # the items' prices add up to 2030.45 while the order's total is 99.99
    ),
    (
        "a Convead order with a discount it has no field for: revenue 80, items 2 x 50",
        "convead",
        "purchase",
        c(value="80", items=[Item(item_id="A", price=D("50"), quantity=2)]),
        {
            Part.TOTAL: ("80", S),
            Part.REVENUE: ("80", V),
            Part.SUBTOTAL: ("80", V),
            Part.TAX: ("0", A),
            Part.SHIPPING: ("0", A),
            Part.DISCOUNT: ("0", A),
        },
        1,
    ),
    (
        "a UA purchase whose items cost more than its whole revenue",
        "gtm-ua",
        "purchase",
        c(value="100", tax="10", shipping="5", items=[Item(item_id="A", price=D("50"), quantity=3)]),
        {
            Part.TOTAL: ("100", S),
            Part.TAX: ("10", S),
            Part.SHIPPING: ("5", S),
            Part.REVENUE: ("85", V),
            Part.SUBTOTAL: ("85", V),
            Part.DISCOUNT: ("0", A),
        },
        1,
    ),
    (
        "items within the total but not after tax and shipping (prices with tax): the subtotal stays",
        "gtm-ua",
        "purchase",
        c(value="100", tax="10", shipping="5", items=[Item(item_id="A", price=D("50"), quantity=2)]),
        {
            Part.TOTAL: ("100", S),
            Part.TAX: ("10", S),
            Part.SHIPPING: ("5", S),
            Part.REVENUE: ("85", V),
            Part.SUBTOTAL: ("100", IT),
            Part.DISCOUNT: ("0", A),
        },
        1,  # subtotal 100 - discount 0 is not revenue 85
    ),
    (
        "items within the total after a stated discount: no disagreement",
        "commanders-act",
        "purchase",
        c(value="90", discount="10", items=[Item(item_id="A", price=D("50"), quantity=2)]),
        {
            Part.TOTAL: ("90", S),
            Part.DISCOUNT: ("10", S),
            Part.SUBTOTAL: ("100", IT),
            Part.REVENUE: ("90", V),
            Part.TAX: ("0", A),
            Part.SHIPPING: ("0", A),
        },
        0,
    ),
    (
        "an order discount: the items' subtotal less the revenue",
        "commanders-act",
        "purchase",
        c(value="18.00", revenue="15.00", tax="3.00", items=TWO),
        {
            Part.TOTAL: ("18.00", S),
            Part.REVENUE: ("15.00", S),
            Part.TAX: ("3.00", S),
            Part.SUBTOTAL: ("16.00", IT),
            Part.DISCOUNT: ("1.00", V),
            Part.SHIPPING: ("0", A),
        },
        0,
    ),
    (
        "a cart event: every vendor's value is the items' worth",
        "commanders-act",
        "add_to_cart",
        c(value="16.00", items=TWO),
        {
            Part.SUBTOTAL: ("16.00", S),
            Part.REVENUE: ("16.00", V),
            Part.TOTAL: ("16.00", V),
            Part.TAX: ("0", A),
            Part.SHIPPING: ("0", A),
            Part.DISCOUNT: ("0", A),
        },
        0,
    ),
    (
        "no amount and items without a price: nothing to derive",
        "gtm-ga4",
        "purchase",
        c(items=[Item(item_id="A", quantity=2)]),
        {Part.TAX: ("0", A), Part.SHIPPING: ("0", A), Part.DISCOUNT: ("0", A)},
        0,
    ),
    (
        "an unknown dialect is read in the canonical (GA4) meaning",
        "not-a-dialect",
        "purchase",
        c(value="16.00"),
        {
            Part.SUBTOTAL: ("16.00", S),
            Part.REVENUE: ("16.00", V),
            Part.TOTAL: ("16.00", V),
            Part.TAX: ("0", A),
            Part.SHIPPING: ("0", A),
            Part.DISCOUNT: ("0", A),
        },
        0,
    ),
]


@pytest.mark.parametrize(
    ("case", "dialect", "name", "commerce", "want", "conflicts"), PARTS, ids=[p[0] for p in PARTS]
)
def test_parts_say_what_each_amount_is_and_where_it_came_from(case, dialect, name, commerce, want, conflicts):
    found = amounts.of_event(Event(name=name, dialect=dialect, commerce=commerce))
    assert found is not None
    got = {p: (str(a.value), a.how) for p, a in found.amounts.items()}
    assert got == {p: (v, how) for p, (v, how) in want.items()}
    assert len(found.conflicts) == conflicts
    for part, field in found.stated.items():  # a stated part names the field that states it
        assert getattr(commerce, field) == found.amounts[part].value


def test_a_derived_part_names_its_terms_and_what_it_assumed():
    found = amounts.of_event(Event(name="purchase", dialect="gtm-ga4", commerce=c(value="16.00", tax="3.20")))
    assert found is not None
    total = found.amounts[Part.TOTAL]
    assert (total.value, total.how) == (D("19.20"), V)
    assert "tax" in total.source and "shipping" in total.source
    assert total.assumed == {Part.DISCOUNT, Part.SHIPPING}
    assert found.value(Part.SHIPPING) is None and found.value(Part.TOTAL) == D("19.20")


@pytest.mark.parametrize(
    ("dialect", "commerce", "said"),
    [
        (
            "convead",
            c(value="99.99", items=CONVEAD_ITEMS),
            ["2030.45", "99.99", "1930.46", "revenue 99.99 - tax 0"],
        ),
        (
            "gtm-ua",
            c(value="100", tax="10", shipping="5", items=[Item(item_id="A", price=D("50"), quantity=3)]),
            ["add up to 150 while the order's total is 100", "= 85 for the items", "implied discount of 65"],
        ),
        (
            "commanders-act",
            c(value="80", discount="10", items=[Item(item_id="A", price=D("50"), quantity=2)]),
            ["add up to 100, 90 after", "discount 10", "implied further discount of 10"],
        ),
    ],
)
def test_items_worth_more_than_the_total_say_so_and_take_the_revenue_from_the_total(dialect, commerce, said):
    found = amounts.of_event(Event(name="purchase", dialect=dialect, commerce=commerce))
    assert found is not None
    [conflict] = found.conflicts
    assert "the items' prices add up to" in conflict and "inconsistent prices" in conflict
    assert all(s in conflict for s in said), conflict
    revenue = found.amounts[Part.REVENUE]
    assert revenue.how == V and Part.TOTAL in {p for _, p, _ in revenue.terms}  # from the total


def test_convead_s_purchase_example_gives_what_was_paid_in_every_dialect():
    """The items' 2030.45 is never presented as revenue: GA4's value, the orders' revenue and
    total are 99.99, and the conversion says why."""
    example = next(e for e in examples("convead") if e.name == "purchase").value
    event = decoded("convead", example)
    values, _ = amounts.values_of(event)
    assert values[Part.REVENUE] == values[Part.TOTAL] == values[Part.SUBTOTAL] == D("99.99")
    out = trackway.convert(example, "convead", "gtm-ga4", default_currency="EUR")
    assert out.valid and out.payloads[0]["ecommerce"]["value"] == D("99.99")
    [warning] = [i for i in out.issues if i.code == "VALUE_DERIVED"]
    assert "2030.45" in warning.message and "99.99" in warning.message and not warning.is_error


def test_an_order_update_without_items_takes_the_subtotal_from_the_lines_given():
    event = Event(name="purchase", dialect="convead", commerce=c(value="30"))
    assert amounts.of_event(event).amounts[Part.REVENUE].value == D(30)  # type: ignore[union-attr]
    lines = [Item(price=D("12.50"), quantity=2)]
    assert amounts.of_event(event, items=lines).amounts[Part.REVENUE].value == D("25.00")  # type: ignore[union-attr]


def test_every_adapter_declares_what_its_amount_fields_mean_in_its_own_tables():
    for adapter in dialects.adapters():
        declared = next((vars(k)["amounts"] for k in type(adapter).__mro__ if "amounts" in vars(k)), None)
        assert isinstance(declared, amounts.Meaning), adapter.name
        assert amounts.meaning_of(adapter.name) is declared
        wires = {f.wire for t in adapter.tables() for f in t.fields}
        for field, wire in declared.wire.items():
            assert field in amounts.AMOUNT_FIELDS, (adapter.name, field)
            assert wire.split(".")[-1] in wires, (adapter.name, wire)
        assert declared.part("value", "purchase") in (Part.SUBTOTAL, Part.TOTAL)
        assert declared.part("value", "add_to_cart") is Part.SUBTOTAL


# -- every pair of dialects ------------------------------------------------------------------

ORDER = {"subtotal": "16.00", "discount": "0", "revenue": "16.00", "tax": "3.20", "shipping": "3.33"}
EVENTS = ("purchase", "refund", "begin_checkout", "add_to_cart")
OPTIONS = {"form": "call", "checkout_step": 1}  # the short forms: no server context to invent
NAMES = dialects.names()


def truth(name: str) -> Event:
    """One order (8.00 + 2 x 4.00, tax 3.20, shipping 3.33, 22.53 paid) as a canonical event:
    GA4's meaning, which an unknown dialect is read in."""
    order = name in amounts.ORDER_EVENTS
    items = [
        Item(item_id="A", item_name="Tee", price=D("8.00"), quantity=1),
        Item(item_id="B", item_name="Cap", price=D("4.00"), quantity=2),
    ]
    commerce = Commerce(
        currency="EUR",
        value=D("16.00"),
        tax=D("3.20") if order else None,
        shipping=D("3.33") if order else None,
        items=items,
        transaction_id="T1" if name != "add_to_cart" else None,
        status="in_progress" if name == "purchase" else None,
        type="online" if name in ("purchase", "refund") else None,
        payment_method="card" if name == "purchase" else None,
    )
    at = datetime(2026, 11, 2, tzinfo=UTC)
    return Event(name=name, dialect="canonical", id="e1", timestamp=at, anonymous_id="a1", commerce=commerce)


def decoded(dialect: str, payload: Any, *, rendered: bool = False) -> Event:
    """The one event of ``payload``; a payload rendered from another dialect may lack what that
    dialect had no place for (an MP body's client_id), but nothing about its amounts."""
    result = trackway.decode(dialect, payload, default_currency="EUR")
    errors = [i for i in result.issues if i.is_error]
    if rendered:
        wires = {w.split(".")[-1] for w in amounts.meaning_of(dialect).wire.values()} | {"currency"}
        errors = [i for i in errors if i.path.split(".")[-1] in wires]
    assert not errors, errors
    [event] = result.events
    return event


@pytest.fixture(scope="module")
def sources() -> dict[tuple[str, str], Any]:
    """Each event as each dialect sends it."""
    return {(n, d): trackway.encode(d, truth(n), **OPTIONS) for n in EVENTS for d in NAMES}


def test_each_dialect_states_the_order_by_its_own_definition(sources):
    for (name, dialect), payload in sources.items():
        found = amounts.of_event(decoded(dialect, payload))
        if found is None:
            continue  # Convead has no refund or checkout: a custom event
        for part, field in found.stated.items():
            paid = "22.53" if name in amounts.ORDER_EVENTS else "16"  # a cart has no tax or shipping
            want = paid if part is Part.TOTAL else ORDER[part.value]
            assert found.amounts[part].value == D(want), (name, dialect, field)


@pytest.mark.parametrize("name", EVENTS)
@pytest.mark.parametrize("source", NAMES)
def test_converting_renders_each_amount_by_the_targets_definition(sources, name, source):
    src = decoded(source, sources[(name, source)])
    src_parts = amounts.of_event(src)
    for target in NAMES:
        out = trackway.convert(sources[(name, source)], source, target, default_currency="EUR", **OPTIONS)
        assert out.valid
        [payload] = out.payloads
        got = decoded(target, payload, rendered=True)
        where = (name, source, target)
        derived = [i.path for i in out.issues if i.code == "VALUE_DERIVED"]
        lost = {i.path for i in out.issues if i.code == "NOT_CARRIED"}
        if src.commerce is None or got.commerce is None:
            assert not derived, where
            continue
        assert src_parts is not None
        got_parts = amounts.of_event(got)
        assert got_parts is not None
        src_meaning, got_meaning = amounts.meaning_of(source), amounts.meaning_of(target)
        for part, field in got_parts.stated.items():
            # each amount the target states means what the target says it means
            assert got_parts.amounts[part].value == src_parts.amounts[part].value, (where, field)
            # derived, with a warning, exactly when the source states it with another meaning, or not at all
            sent = getattr(src.commerce, field)
            changed = sent is None or src_meaning.part(field, name) is not got_meaning.part(field, name)
            wire = got_meaning.wire.get(field, field)
            assert any(p.endswith(f".{wire}") for p in derived) == changed, (where, field, derived)
        for part, field in src_parts.stated.items():
            # nothing the source states is lost without a word
            kept = got_parts.value(part) == src_parts.amounts[part].value
            assert kept or f"commerce.{field}" in lost, (where, field)
        if source == target:
            assert not derived, where


def test_the_commanders_act_documents_purchase_gives_ga4_its_value():
    example = next(e for e in examples("commanders-act") if e.name == "purchase").value
    assert (example[2]["revenue"], example[2]["value"]) == (D("16.00"), D("22.53"))
    out = trackway.convert(example, "commanders-act", "gtm-ga4")
    assert out.valid
    assert out.payloads[0]["ecommerce"]["value"] == D("16.00")
    [warning] = [i for i in out.issues if i.code == "VALUE_DERIVED"]
    assert warning.path == "$.ecommerce.value"
    assert "22.53" in warning.message and "16.00" in warning.message and not warning.is_error


@pytest.mark.parametrize("target", NAMES)
def test_the_commanders_act_documents_purchase_keeps_its_revenue_in_every_dialect(target):
    example = next(e for e in examples("commanders-act") if e.name == "purchase").value
    out = trackway.convert(example, "commanders-act", target, default_currency="EUR", form="call")
    assert out.valid
    found = amounts.of_event(decoded(target, out.payloads[0], rendered=True))
    assert found is not None
    assert found.value(Part.REVENUE) == D("16.00")
    assert found.value(Part.TOTAL) in (D("22.53"), None)


AMOUNT = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-(10**6), max_value=10**6),
    st.sampled_from([D("NaN"), D("sNaN"), D("Infinity"), D("1E+999999999"), D("-1E+999999"), D("1E-999999")]),
    st.none(),
)


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(EVENTS),
    source=st.sampled_from(NAMES),
    values=st.fixed_dictionaries(dict.fromkeys(amounts.AMOUNT_FIELDS, AMOUNT)),
    prices=st.lists(st.tuples(AMOUNT, st.one_of(st.none(), st.integers(-3, 3), st.just(2**70))), max_size=3),
)
def test_any_amounts_render_in_every_dialect_without_raising(name, source, values, prices):
    items = [Item(item_id=f"i{n}", price=p, quantity=q) for n, (p, q) in enumerate(prices)]
    event = Event(name=name, dialect=source, commerce=Commerce(currency="EUR", items=items, **values))
    found = amounts.of_event(event)
    assert found is not None
    assert all(a.value.is_finite() for a in found.amounts.values())
    for target in NAMES:
        _, issues = trackway.encode_with_issues(target, event)
        for issue in issues:
            if issue.code == "VALUE_DERIVED":
                assert issue.path.startswith("$") and not issue.is_error


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from([*EVENTS, "purchase", "refund", "view_item"]),
    source=st.sampled_from(NAMES),
    values=st.fixed_dictionaries(dict.fromkeys(amounts.AMOUNT_FIELDS, AMOUNT)),
    prices=st.lists(st.tuples(AMOUNT, st.one_of(st.none(), st.integers(-3, 3), st.just(2**70))), max_size=3),
    lines=st.one_of(st.none(), st.lists(st.tuples(AMOUNT, st.integers(0, 3)), max_size=2)),
)
def test_the_values_only_path_finds_what_parts_finds(name, source, values, prices, lines):
    """amounts.values (the loader's path) and amounts.parts agree on every part's value
    and on whether any is stated, for any amounts, items, order lines and dialect."""
    items = [Item(item_id=f"i{n}", price=p, quantity=q) for n, (p, q) in enumerate(prices)]
    commerce = Commerce(currency="EUR", items=items, **values)
    given_items = (
        None
        if lines is None
        else [Item(item_id=f"l{n}", price=p, quantity=q) for n, (p, q) in enumerate(lines)]
    )
    meaning = amounts.meaning_of(source)
    found = amounts.parts(commerce, meaning, name, given_items)
    got, stated = amounts.values(commerce, meaning, name, given_items)
    assert got == {p: v for p in Part if (v := found.value(p)) is not None}
    assert stated == bool(found.stated)
    assert amounts.values_of(Event(name=name, dialect=source, commerce=commerce), given_items) == (
        got,
        stated,
    )


# (dialect, event name, commerce, each part amounts.values finds as str(): its digits and
# exponent, which a JSON number sent for it keeps)
DIGITS = [
    (
        "ga4-mp",
        "purchase",
        c(value="59.97", tax="4.9"),
        {"subtotal": "59.97", "tax": "4.9", "revenue": "59.97", "total": "64.87"},
    ),
    (
        "ga4-mp",
        "purchase",
        c(value="6E+1", shipping="0"),
        {"subtotal": "6E+1", "shipping": "0", "revenue": "60", "total": "60"},
    ),
    ("ga4-mp", "refund", c(value="-0.00"), {"subtotal": "-0.00", "revenue": "0.00", "total": "0.00"}),
    (
        "ga4-mp",
        "purchase",
        c(value="12345678901234567890.12", tax="1E-7", discount="1E-7"),
        {
            "subtotal": "12345678901234567890.12",
            "tax": "1E-7",
            "discount": "1E-7",
            "revenue": "12345678901234567890.1199999",
            "total": "12345678901234567890.1200000",
        },
    ),
    (
        "ga4-mp",
        "purchase",
        c(value="5", tax="0.00"),
        {"subtotal": "5", "tax": "0.00", "revenue": "5", "total": "5"},
    ),
    (
        "ga4-mp",
        "begin_checkout",
        c(items=[Item(price=D("1E-7"), quantity=3)], discount="1E-7"),
        {"discount": "1E-7", "subtotal": "3E-7", "revenue": "2E-7", "total": "2E-7"},
    ),
    (  # the total is out of Decimal's range: left out
        "ga4-mp",
        "purchase",
        c(value="9E+999999", tax="9E+999999"),
        {"subtotal": "9E+999999", "tax": "9E+999999", "revenue": "9." + "0" * 99 + "E+999999"},
    ),
    (
        "ga4-mp",
        "add_to_cart",
        c(value="30.00", tax="1"),
        {"subtotal": "30.00", "tax": "1", "revenue": "30.00", "total": "31.00"},
    ),
    (
        "commanders-act",
        "purchase",
        c(value="22.53", revenue="16.00", tax="3.20", shipping="3.33", items=TWO),
        {
            "total": "22.53",
            "revenue": "16.00",
            "tax": "3.20",
            "shipping": "3.33",
            "subtotal": "16.00",
            "discount": "0.00",
        },
    ),
    (
        "commanders-act",
        "refund",
        c(value="20.33", tax="3.20"),
        {"total": "20.33", "tax": "3.20", "revenue": "17.13", "subtotal": "17.13"},
    ),
    (
        "commanders-act",
        "purchase",
        c(revenue="99", items=TWO),
        {"revenue": "99", "subtotal": "16.00", "total": "99"},
    ),
    (
        "gtag-ua",
        "purchase",
        c(value="40.90", tax="6.00", shipping="4.90"),
        {"total": "40.90", "tax": "6.00", "shipping": "4.90", "revenue": "30.00", "subtotal": "30.00"},
    ),
]


@pytest.mark.parametrize(("dialect", "name", "commerce", "want"), DIGITS)
def test_the_values_only_path_keeps_the_digits_of_its_sums(dialect, name, commerce, want):
    """Each sum starts from 0 and adds in order in a context of 100 digits: encoders send
    what it gives digit for digit (Segment's revenue and total)."""
    got, _ = amounts.values(commerce, amounts.meaning_of(dialect), name)
    assert {p.value: str(v) for p, v in got.items()} == want


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from([*EVENTS, "purchase", "refund", "view_item"]),
    source=st.sampled_from(NAMES),
    target=st.sampled_from(NAMES),
    values=st.fixed_dictionaries(dict.fromkeys(amounts.AMOUNT_FIELDS, AMOUNT)),
    prices=st.lists(st.tuples(AMOUNT, st.one_of(st.none(), st.integers(-3, 3), st.just(2**70))), max_size=3),
    carried=st.sets(st.sampled_from(amounts.AMOUNT_FIELDS)),
)
def test_rendering_for_errors_only_gives_the_amounts_a_full_rendering_gives(
    name, source, target, values, prices, carried
):
    """amounts.render for issues that drop warnings (an encoder's check) takes the
    values-only path: the same amounts as with every warning's text made, and no error."""
    items = [Item(item_id=f"i{n}", price=p, quantity=q) for n, (p, q) in enumerate(prices)]
    event = Event(name=name, dialect=source, commerce=Commerce(currency="EUR", items=items, **values))
    meaning = amounts.meaning_of(target)
    full, quiet = Issues(), ErrorsOnly()
    kw: dict[str, Any] = {"dialect": target, "carried": carried, "base": "$"}
    assert amounts.render(event, meaning, quiet, **kw) == amounts.render(event, meaning, full, **kw)
    assert quiet.items == [] and not full.has_error()
