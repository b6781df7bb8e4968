"""What each vendor's amounts mean, and rendering them by another vendor's definition.

Vendors define their order amounts differently: GA4's ``value`` is the items' price x
quantity without tax or shipping, Universal Analytics' ``revenue`` and Commanders Act's
``value`` include tax and shipping, Commanders Act's ``revenue`` excludes them after
discount, Convead's ``revenue`` is the full order cost. The canonical event keeps each
amount as its source states it (``Commerce.value`` is UA's revenue in an event that came in
a UA dialect); each dialect declares what its amount fields mean (a :class:`Meaning`, the
adapter's ``amounts``), and this module reads an event's amounts as **parts**, each with
one meaning whatever the dialect:

- ``subtotal``: the items' price x quantity (unit prices after their unit discounts);
- ``discount``: an order discount beyond the item prices;
- ``revenue``: subtotal - discount: what was sold, tax and shipping excluded;
- ``tax`` and ``shipping``;
- ``total``: revenue + tax + shipping: what the buyer pays.

Each part says where it came from: stated by the source (which field), the items' price x
quantity, derived from other parts (which), or assumed 0 (a discount, tax or shipping the
event does not state). Only order events (purchase, refund, checkout) carry order amounts:
on the others (a cart change, a product view) every vendor's value is the items' worth.

:func:`render` gives an event's amount fields a target dialect's meaning: a field the
source states with the target's meaning is copied; one it states with another meaning, or
one the target requires and the event lacks, is derived from the parts with a VALUE_DERIVED
warning (when the parts cannot give it, it is left out: the target's own check says it
would reject the payload); a part the source states and the rendered fields cannot give
back is a NOT_CARRIED warning. Computed when an event is rendered or applied to an order,
never on the decode path. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Context, Decimal
from enum import StrEnum
from typing import Any, NamedTuple, cast

import msgspec

from trackway import vendors
from trackway.issues import Issues, article
from trackway.model import Commerce, Event


class Part(StrEnum):
    SUBTOTAL = "subtotal"
    DISCOUNT = "discount"
    REVENUE = "revenue"
    TAX = "tax"
    SHIPPING = "shipping"
    TOTAL = "total"


# see values()
_SUBTOTAL, _DISCOUNT, _REVENUE = Part.SUBTOTAL, Part.DISCOUNT, Part.REVENUE
_TAX, _SHIPPING, _TOTAL = Part.TAX, Part.SHIPPING, Part.TOTAL

WHAT = {
    Part.SUBTOTAL: "the items' price x quantity (tax and shipping excluded)",
    Part.DISCOUNT: "the order discount",
    Part.REVENUE: "the revenue (after discount, tax and shipping excluded)",
    Part.TAX: "the tax",
    Part.SHIPPING: "the shipping cost",
    Part.TOTAL: "the total paid (tax and shipping included)",
}

AMOUNT_FIELDS = ("value", "revenue", "tax", "shipping", "discount")  # Commerce fields holding amounts
# Events whose amounts are an order's: elsewhere every vendor's value is the items' worth.
ORDER_EVENTS = frozenset(
    {"purchase", "refund", "begin_checkout", "checkout_progress", "add_payment_info", "add_shipping_info"}
)
CANONICAL_PARTS: Mapping[str, Part] = {
    "value": Part.SUBTOTAL,
    "revenue": Part.REVENUE,
    "tax": Part.TAX,
    "shipping": Part.SHIPPING,
    "discount": Part.DISCOUNT,
}
# The parts of a vendor whose order value is the total paid (UA, Commanders Act, Convead).
TOTAL_VALUE: Mapping[str, Part] = {**CANONICAL_PARTS, "value": Part.TOTAL}


class Meaning(NamedTuple):
    """What a dialect's amount fields mean.

    ``parts``: the part each canonical amount field holds on an order event (others hold
    the canonical parts); ``wire``: the dialect's name of each field, for messages and
    paths; ``required``: event name -> the canonical amount fields the vendor requires.
    """

    vendor: str
    parts: Mapping[str, Part] = CANONICAL_PARTS
    wire: Mapping[str, str] = {}
    required: Mapping[str, frozenset[str]] = {}

    def part(self, field: str, name: str) -> Part:
        return self.table(name)[field]

    def table(self, name: str) -> Mapping[str, Part]:
        """The part each canonical amount field holds on a ``name`` event."""
        return self.parts if name in ORDER_EVENTS else CANONICAL_PARTS

    def label(self, field: str) -> str:
        return f"{self.vendor}'s {self.wire.get(field, field)}"


# GA4's meaning, which is the canonical one: an event of an unknown dialect is read so.
CANONICAL = Meaning("the canonical event")

STATED, ITEMS, DERIVED, ASSUMED = "stated", "items", "derived", "assumed"
# Sums of amounts, exactly; nothing raises (a sum out of Decimal's range is Infinity, and a
# part that is not finite is dropped: nothing is derived from it).
_CTX = Context(prec=100, traps=[])
_NONE: frozenset[str] = frozenset()
_ZERO = Decimal(0)
_add, _sub, _finite = _CTX.add, _CTX.subtract, Decimal.is_finite  # see values()


class Amount(NamedTuple):
    """One part: its value, how it was found, and what it is (for messages)."""

    value: Decimal
    how: str  # STATED, ITEMS, DERIVED, ASSUMED
    label: str = ""  # STATED: the field ("Commanders Act's value"); ITEMS, ASSUMED: what it is
    terms: tuple[tuple[int, Part, Amount], ...] = ()  # DERIVED: the signed parts it sums
    assumed: frozenset[Part] = frozenset()  # parts taken as 0 on the way

    @property
    def source(self) -> str:
        """Where it came from: the field, or the formula ("revenue 16.00 + tax 3.20 + ...")."""
        if self.how != DERIVED:
            return self.label
        return "".join(
            ("" if not n else " + " if sign > 0 else " - ") + a.term(part)
            for n, (sign, part, a) in enumerate(self.terms)
        )

    def term(self, part: Part) -> str:
        return f"{self.label if self.how == STATED else part.value} {self.value}"


class Parts:
    """An event's parts (every part found, each with its provenance), the source field of
    each stated part, and how stated amounts disagree."""

    __slots__ = ("amounts", "conflicts", "stated")

    def __init__(self) -> None:
        self.amounts: dict[Part, Amount] = {}
        self.stated: dict[Part, str] = {}  # part -> the canonical field that states it
        self.conflicts: list[str] = []

    def value(self, part: Part) -> Decimal | None:
        """The part's value when it is stated or derived (not merely assumed 0)."""
        a = self.amounts.get(part)
        return a.value if a is not None and a.how != ASSUMED else None


def items_total(items: Iterable[Any] | None) -> Decimal | None:
    """Sum of price x quantity (a missing quantity is 1), or None when an item has no price.
    A line of quantity 0 or less adds nothing (QUANTITY_NOT_POSITIVE: it is no sale, and a
    -2 is not a refund of two)."""
    total = None
    for item in items or ():
        price = item.price
        if price is None or not price.is_finite():
            return None
        quantity = item.quantity if item.quantity is not None else 1
        line = _CTX.multiply(price, quantity) if quantity > 0 else _ZERO
        total = line if total is None else _CTX.add(total, line)
    return total if total is None or total.is_finite() else None


def _combine(*terms: tuple[int, Part, Amount]) -> Amount:
    """The signed sum of ``terms`` as a derived amount that names them (text made when read)."""
    assumed: frozenset[Part] = frozenset()
    for _, _, a in terms:
        if a.assumed:
            assumed |= a.assumed
    return Amount(_sum(*((sign, a.value) for sign, _, a in terms)), DERIVED, "", terms, assumed)


def _sum(*terms: tuple[int, Decimal]) -> Decimal:
    """The signed sum of ``terms``, from 0, in order (so that a term beyond the context's
    range gives the same Infinity in :func:`parts` and :func:`values`)."""
    value = _ZERO
    for sign, v in terms:
        value = _CTX.add(value, v) if sign > 0 else _CTX.subtract(value, v)
    return value


def parts(commerce: Commerce, meaning: Meaning, name: str, items: Iterable[Any] | None = None) -> Parts:
    """The parts of ``commerce`` stated in ``meaning`` on a ``name`` event.

    ``items`` (anything with ``price`` and ``quantity``) replaces the commerce's own for the
    subtotal (an order update with no items keeps the order's lines). Preferences: a stated
    part; the subtotal from the items; the revenue as total - tax - shipping when all three
    are stated, else subtotal - discount, else total - tax - shipping; the subtotal and the
    total from the revenue. A discount, tax or shipping the event does not state is taken as
    0 (recorded in ``assumed``), a discount as subtotal - revenue when both are known.

    The total paid wins over the items' prices: when the items' price x quantity (less a
    stated discount) exceeds the stated total, the items are not what was sold. The revenue
    is then total - tax - shipping (what is not stated taken as 0, in its ``assumed``), the
    subtotal revenue + discount, and a disagreement in ``conflicts`` says what the items add
    up to, the total, and the gap (an implied discount, or inconsistent prices). Convead's
    own example, revenue 99.99 with items of 2030.45, has a revenue of 99.99, not 2030.45.
    (Items within the total but above total - tax - shipping keep the subtotal: prices that
    include tax, as 2Checkout's gtag example sends them, are no discount.)
    """
    out = Parts()
    a = out.amounts
    for field in AMOUNT_FIELDS:
        v = getattr(commerce, field)
        if v is None or not v.is_finite():
            continue
        part = meaning.part(field, name)
        if part not in a:
            a[part] = Amount(v, STATED, meaning.label(field))
            out.stated[part] = field
    stated = dict(a)
    if Part.SUBTOTAL not in a:
        worth = items_total(commerce.items if items is None else items)
        if worth is not None:
            a[Part.SUBTOTAL] = Amount(worth, ITEMS, "the items' price x quantity")
    sub, rev = a.get(Part.SUBTOTAL), stated.get(Part.REVENUE)
    if Part.DISCOUNT not in a and sub is not None and rev is not None and sub.value >= rev.value:
        a[Part.DISCOUNT] = _combine((1, Part.SUBTOTAL, sub), (-1, Part.REVENUE, rev))
    for part in (Part.DISCOUNT, Part.TAX, Part.SHIPPING):
        if part not in a:
            a[part] = Amount(_ZERO, ASSUMED, f"no {part.value} stated", (), frozenset({part}))
    disc, tax, ship = a[Part.DISCOUNT], a[Part.TAX], a[Part.SHIPPING]
    total = stated.get(Part.TOTAL)
    if Part.REVENUE not in a:
        from_total = None
        if total is not None:
            from_total = _combine((1, Part.TOTAL, total), (-1, Part.TAX, tax), (-1, Part.SHIPPING, ship))
        if (
            total is not None
            and from_total is not None
            and sub is not None
            and sub.how == ITEMS
            and _CTX.subtract(sub.value, disc.value) > total.value
        ):
            # The items cost more than the whole order paid: not what was sold (an implied
            # discount, or inconsistent prices). The total says it.
            out.conflicts.append(_items_over_total(sub, disc, total, from_total))
            a[Part.REVENUE] = from_total
            a[Part.SUBTOTAL] = _combine((1, Part.REVENUE, from_total), (1, Part.DISCOUNT, disc))
        elif from_total is not None and not from_total.assumed:
            a[Part.REVENUE] = from_total
        elif sub is not None:
            a[Part.REVENUE] = _combine((1, Part.SUBTOTAL, sub), (-1, Part.DISCOUNT, disc))
        elif from_total is not None:
            a[Part.REVENUE] = from_total
    rev = a.get(Part.REVENUE)
    if rev is not None:
        if Part.SUBTOTAL not in a:
            a[Part.SUBTOTAL] = _combine((1, Part.REVENUE, rev), (1, Part.DISCOUNT, disc))
        if Part.TOTAL not in a:
            a[Part.TOTAL] = _combine((1, Part.REVENUE, rev), (1, Part.TAX, tax), (1, Part.SHIPPING, ship))
        for part in [p for p, x in a.items() if not x.value.is_finite()]:
            del a[part]  # out of Decimal's range
        if len(a) == len(Part):
            _check(out)
    return out


def values(
    commerce: Commerce, meaning: Meaning, name: str, items: Iterable[Any] | None = None
) -> tuple[dict[Part, Decimal], bool]:
    """What :func:`parts` finds, values only: each part stated or derived (not merely
    assumed 0) with its value, and whether any part is stated. The same rules in the same
    order, without the provenance and texts that messages need: applying a purchase to its
    order needs only the values, and :func:`parts` cost the loader about 10 us an event.
    Their agreement is tested on generated amounts (tests/test_amounts.py)."""
    # The members as module globals: an enum member read from its class (Part.TOTAL) cost
    # 73 ns, 1.2 of this function's 3.5 us on a purchase (the loader and the encoders call it).
    # The sums as _sum makes them (from 0, in order: the same digits) without its tuples
    # and loop, and the out-of-range parts looked for only when there is one: 5.1 -> 3.1 us
    # on a purchase stating value and tax (Segment's encoder calls this on every order).
    a: dict[Part, Decimal] = {}
    table = meaning.table(name)
    for field in AMOUNT_FIELDS:
        v = getattr(commerce, field)
        if v is not None and v.is_finite():
            a.setdefault(table[field], v)
    stated = bool(a)
    total, stated_rev = a.get(_TOTAL), a.get(_REVENUE)
    worth = None
    if _SUBTOTAL not in a:
        worth = items_total(commerce.items if items is None else items)
        if worth is not None:
            a[_SUBTOTAL] = worth
    sub = a.get(_SUBTOTAL)
    if _DISCOUNT not in a and sub is not None and stated_rev is not None and sub >= stated_rev:
        a[_DISCOUNT] = _sub(_add(_ZERO, sub), stated_rev)
    disc, tax, ship = a.get(_DISCOUNT), a.get(_TAX), a.get(_SHIPPING)
    if _REVENUE not in a:
        from_total = None
        if total is not None:
            from_total = _sub(_sub(_add(_ZERO, total), tax or _ZERO), ship or _ZERO)
        if (
            total is not None
            and from_total is not None
            and worth is not None
            and _sub(_add(_ZERO, worth), disc or _ZERO) > total
        ):
            a[_REVENUE] = from_total  # the items cost more than the order's total: see parts()
            a[_SUBTOTAL] = _add(_add(_ZERO, from_total), disc or _ZERO)
        elif from_total is not None and tax is not None and ship is not None:
            a[_REVENUE] = from_total
        elif sub is not None:
            a[_REVENUE] = _sub(_add(_ZERO, sub), disc or _ZERO)
        elif from_total is not None:
            a[_REVENUE] = from_total
    rev = a.get(_REVENUE)
    if rev is not None:
        if _SUBTOTAL not in a:
            a[_SUBTOTAL] = _add(_add(_ZERO, rev), disc or _ZERO)
        if _TOTAL not in a:
            a[_TOTAL] = _add(_add(_add(_ZERO, rev), tax or _ZERO), ship or _ZERO)
        if not all(map(_finite, a.values())):  # rare: a sum out of Decimal's range
            for part in [p for p, v in a.items() if not v.is_finite()]:
                del a[part]
    return a, stated


def _items_over_total(sub: Amount, disc: Amount, total: Amount, from_total: Amount) -> str:
    """What an event whose items' prices exceed what its total leaves for them says."""
    items = f"the items' prices add up to {sub.value}"
    if disc.how != ASSUMED:
        items += f", {_CTX.subtract(sub.value, disc.value)} after {disc.term(Part.DISCOUNT)}"
    gap = _CTX.subtract(_CTX.subtract(sub.value, disc.value), from_total.value)
    further = " further" if disc.how != ASSUMED else ""
    return (
        f"{items} while the order's total is {total.value} ({from_total.source} = {from_total.value} "
        f"for the items): an implied{further} discount of {gap} the event does not state, or "
        f"inconsistent prices; the revenue is {from_total.value}, from the total, not the items' prices"
    )


def _check(out: Parts) -> None:
    """Record where the amounts disagree (subtotal - discount = revenue, revenue + tax +
    shipping = total); derived parts agree by construction, so only stated ones can."""
    a = out.amounts
    sub, disc, rev = a[Part.SUBTOTAL], a[Part.DISCOUNT], a[Part.REVENUE]
    tax, ship, total = a[Part.TAX], a[Part.SHIPPING], a[Part.TOTAL]
    if _CTX.subtract(sub.value, disc.value) != rev.value:
        net = _combine((1, Part.SUBTOTAL, sub), (-1, Part.DISCOUNT, disc))
        out.conflicts.append(f"{net.source} = {net.value}, not {rev.term(Part.REVENUE)}")
    if _CTX.add(_CTX.add(rev.value, tax.value), ship.value) != total.value:
        paid = _combine((1, Part.REVENUE, rev), (1, Part.TAX, tax), (1, Part.SHIPPING, ship))
        out.conflicts.append(f"{paid.source} = {paid.value}, not {total.term(Part.TOTAL)}")


_BY_DIALECT: dict[str, Meaning] = {}  # the registry's declarations, looked up once each
vendors.on_reset(_BY_DIALECT.clear)  # a vendor added or removed: declarations read again


def meaning_of(dialect: str) -> Meaning:
    """The declared meaning of ``dialect``'s amounts (the canonical one for an unknown dialect)."""
    meaning = _BY_DIALECT.get(dialect)
    if meaning is not None:
        return meaning
    from trackway import dialects  # the registry's adapters import this module
    from trackway.errors import UnknownDialectError

    try:
        adapter = dialects.registered(dialect)
    except UnknownDialectError:
        return CANONICAL
    meaning = getattr(adapter, "amounts", CANONICAL)
    _BY_DIALECT[dialect] = meaning
    return meaning


def of_event(event: Event, items: Iterable[Any] | None = None) -> Parts | None:
    """The parts of ``event`` as its dialect states them (None: no commerce)."""
    if event.commerce is None:
        return None
    return parts(event.commerce, meaning_of(event.dialect), event.name, items)


def values_of(event: Event, items: Iterable[Any] | None = None) -> tuple[dict[Part, Decimal], bool]:
    """:func:`values` of ``event`` as its dialect states them (:func:`of_event`'s values;
    no commerce: none, nothing stated)."""
    if event.commerce is None:
        return {}, False
    return values(event.commerce, meaning_of(event.dialect), event.name, items)


def render(
    event: Event,
    target: Meaning,
    issues: Issues,
    *,
    dialect: str,
    carried: Iterable[str],
    base: str,
    where: str | None = None,
    items_carried: bool = True,
) -> Commerce | None:
    """``event.commerce`` with its amount fields in ``target``'s meaning, for rendering.

    ``dialect``: the target's name (an event of that dialect is rendered as it is);
    ``carried``: the canonical amount fields the target renders for this event, the others
    are None in the result (what they held is reported here, not by the encoder); ``base``:
    the JSON path the target's amount fields are written under; ``where``: how messages
    name the target (its vendor by default); ``items_carried``: whether the rendered
    payload carries every item (their price x quantity gives the subtotal back).
    """
    c = event.commerce
    if c is None:
        return None
    rendered = _render(c, event, target, issues, dialect, carried, base, where, items_carried)
    if rendered is None:
        return c  # the target's own meaning, nothing left out or to fill: as it is
    return msgspec.structs.replace(c, **{f: rendered.get(f) for f in AMOUNT_FIELDS})


def rendered_values(
    event: Event, target: Meaning, issues: Issues, *, dialect: str, carried: frozenset[str]
) -> dict[str, Decimal] | None:
    """The amount fields :func:`render` gives ``event`` (those it leaves None absent), for
    an encoder that writes them itself (without the copy of the commerce); None: no commerce."""
    c = event.commerce
    if c is None:
        return None
    rendered = _render(c, event, target, issues, dialect, carried, "$", None, True)
    if rendered is None:
        return {f: v for f in AMOUNT_FIELDS if (v := getattr(c, f)) is not None}
    return rendered


def _render(
    c: Commerce,
    event: Event,
    target: Meaning,
    issues: Issues,
    dialect: str,
    carried: Iterable[str],
    base: str,
    where: str | None,
    items_carried: bool,
) -> dict[str, Decimal] | None:
    """:func:`render`'s amount fields; None: the commerce's own, as they are."""
    own = event.dialect == dialect
    source = target if own else meaning_of(event.dialect)
    name = event.name
    keep = carried if type(carried) is frozenset else frozenset(carried)
    needed = _NONE if own else target.required.get(name, _NONE)
    same = source is target or name not in ORDER_EVENTS or source.parts == target.parts
    if same and all(
        f in keep if getattr(c, f) is not None else f not in keep or f not in needed for f in AMOUNT_FIELDS
    ):
        return None
    wanted, sent_as = target.table(name), source.table(name)  # field -> part, once each
    where = where or target.vendor
    # ``issues`` that drop warnings (an encoder checking what it sends) need the values only:
    # :func:`values` finds them without the provenance and texts (its agreement with
    # :func:`parts` is tested), and every message below is a warning.
    found = parts(c, source, name) if issues.keeps_warnings else None
    if found is None:
        found_values, _ = values(c, source, name)
    else:
        found_values = {p: a.value for p, a in found.amounts.items() if a.how != ASSUMED}
    rendered: dict[str, Decimal] = {}
    copied: set[str] = set()
    for field in AMOUNT_FIELDS:
        if field not in keep:
            continue
        v = getattr(c, field)
        want = wanted[field]
        if v is not None and sent_as[field] is want:
            rendered[field] = v
            copied.add(field)
            continue
        if v is None and field not in needed:
            continue
        value = found_values.get(want)
        if value is None:
            continue  # nothing to derive it from: the target's own check reports a required one
        rendered[field] = value
        if found is not None:
            issues.warning(
                f"{base}.{target.wire.get(field, field)}",
                "VALUE_DERIVED",
                _derived(field, v, want, found.amounts[want], source, target, name, found),
            )
    if found is not None:
        _report_lost(c, found, rendered, copied, target, name, where, items_carried, issues)
    return rendered


def _derived(
    field: str,
    sent: Decimal | None,
    want: Part,
    a: Amount,
    source: Meaning,
    target: Meaning,
    name: str,
    found: Parts,
) -> str:
    head = f"{target.label(field)} is {WHAT[want]}; "
    if sent is None:
        head += f"{target.vendor} requires it on {article(name + ' event')} and the event has none, so"
    else:
        was = WHAT[source.part(field, name)]
        head += f"the event's {field} {sent} is {source.label(field)}, {was}, so"
    text = f"{head} it is rendered as {a.value} = {a.source if a.how != STATED else a.term(want)}"
    if a.assumed:
        names = " and ".join(p.value for p in sorted(a.assumed))
        text += f", with {names} taken as 0 (the event states none)"
    if found.conflicts:
        text += f"; the event's amounts disagree: {'; '.join(found.conflicts)}"
    return text + f". Check it, or send the amount as {target.vendor} defines it"


def _report_lost(
    c: Commerce,
    found: Parts,
    rendered: dict[str, Decimal],
    copied: set[str],
    target: Meaning,
    name: str,
    where: str,
    items_carried: bool,
    issues: Issues,
) -> None:
    """NOT_CARRIED for each stated part the rendered fields (and items) do not give back."""
    if all(field in copied for field in found.stated.values()):
        return
    fields = cast(dict[str, Any], rendered)  # amount fields only
    back = parts(Commerce(**fields), target, name, items=c.items if items_carried else ())
    for part, field in found.stated.items():
        if field in copied:
            continue
        sent = found.amounts[part].value
        got = back.amounts.get(part)
        if (
            got is not None
            and got.how != ASSUMED
            and not (got.assumed & found.stated.keys())
            and got.value == sent
        ):
            continue
        issues.warning(
            f"commerce.{field}",
            "NOT_CARRIED",
            f"{where} has no field for {WHAT[part]} ({sent}, the event's {field}) on "
            f"{article(name + ' event')}, and what it renders does not give it back; it is left out",
        )
