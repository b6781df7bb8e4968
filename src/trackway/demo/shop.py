"""Shop visits: lists, products, carts, checkouts, orders, their updates and refunds.

Each visit is written in one dialect (see :data:`DIALECTS` for the mix). What a
dialect cannot say is not done in it: Convead has no lists, searches, checkout steps
or refunds (its carts get full ``update_cart`` updates and its orders ``state``
updates), and UA's payment step is a ``set_checkout_option``. Commanders Act and Convead
resend an order with a new status; the orders of the other dialects get theirs from the
shop's back office, through Commanders Act's server API (:func:`followups`), so that
almost every order has a known status.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from trackway.demo import catalog as c
from trackway.demo.sessions import CONVEAD, Visit, World
from trackway.demo.truth import Action, Line

# (dialect, form, weight) of shop visits.
DIALECTS = (
    ("gtm-ga4", None, 22),
    ("gtag-ga4", None, 12),
    ("ga4-mp", None, 10),
    ("gtm-ua", None, 8),
    ("adobe-dtm", None, 5),
    ("gtag-ua", None, 5),
    ("commanders-act", "server", 12),
    ("commanders-act", "call", 6),
    ("convead", "post", 8),
    ("convead", "call", 3),
    ("insend", "post", 4),
    ("insend", "call", 5),
)
STATUS_DIALECTS = frozenset({"commanders-act", "convead", "insend"})  # resend orders with a new status
DAY = timedelta(days=1)

# Forced scenarios: each visit of one of these shows its edge case, whatever the dice say.
SCENARIOS = (
    ("guest_login", "gtm-ga4", None),
    ("guest_login", "convead", "post"),
    ("out_of_order", "gtag-ga4", None),
    ("refund_full", "ga4-mp", None),
    ("refund_partial", "gtm-ua", None),
    ("refund_partial", "commanders-act", "server"),
    ("order_canceled", "commanders-act", "server"),
    ("order_canceled", "insend", "post"),
    ("pending_order", "commanders-act", "call"),
    ("cart_cleared", "convead", "call"),
    ("cart_update", "insend", "call"),
    ("jpy_purchase", "adobe-dtm", None),
    ("big_refund", "commanders-act", "server"),
)


def pick_dialect(world: World) -> tuple[str, str | None]:
    dialect, form, _ = world.rng.choices(DIALECTS, weights=[d[2] for d in DIALECTS])[0]
    return dialect, form


def pick_currency(world: World) -> str:
    names = list(c.CURRENCIES)
    return world.rng.choices(names, weights=[c.CURRENCIES[n][0] for n in names])[0]


def line(product: c.Product, currency: str, quantity: int = 1) -> Line:
    return Line(product.item_id, product.item_name, product.price(currency), quantity)


def visit(
    world: World,
    prop: str,
    start: datetime,
    scenario: str | None = None,
    dialect: tuple[str, str | None] | None = None,
) -> None:
    """One shop visit; ``scenario`` forces an edge case (see :data:`SCENARIOS`)."""
    if scenario == "shared_device":
        shared_device(world, prop, start)
        return
    if scenario is not None:  # a new person, so the scenario's dialect is theirs
        person = world.new_person(prop, registered=scenario in _REGISTERED, at=start)
        device = person.anonymous_ids[0]
    else:
        person, device = world.pick_person(prop, start, 0.45)
    habit = world.habits.get(person.id)
    if habit is None:  # a person keeps their shop's dialect and currency from visit to visit
        name, form = dialect or pick_dialect(world)
        currency = _FORCED_CURRENCY.get(scenario or "") or pick_currency(world)
        habit = world.habits[person.id] = (name, form, c.CONVEAD_CURRENCY if name in CONVEAD else currency)
    session = world.session(prop, person, habit[0], habit[1], start)
    unlinked = person.user_id is not None and (person.id, device) not in world.linked
    logged = person.user_id is not None and scenario != "guest_login" and world.rng.random() < 0.5
    v = Visit(world, session, person, device, logged_in=logged)
    v.currency, v.currency_sent = habit[2], habit[0] not in CONVEAD
    _shop(world, v, scenario, world.carts.setdefault(person.id, {}), unlinked=unlinked, logged=logged)
    world.busy[person.id] = v.t


_REGISTERED = frozenset({"guest_login", "big_refund", "order_canceled", "refund_partial", "refund_full"})
_FORCED_CURRENCY = {"jpy_purchase": "JPY", "big_refund": "EUR"}


def shared_device(world: World, prop: str, start: datetime) -> None:
    """Two users on one device: the second one's events all carry their own user id (a conflict)."""
    first = world.new_person(prop, registered=True, at=start, returning=False)
    device = first.anonymous_ids[0]
    for n, dialect in enumerate(("convead", "commanders-act")):
        person = first if n == 0 else world.new_person(prop, registered=True, at=start, returning=False)
        if n:
            person.anonymous_ids = [device]
        form = "post" if dialect == "convead" else "server"
        session = world.session(prop, person, dialect, form, start + timedelta(hours=3 * n))
        v = Visit(world, session, person, device, logged_in=True)
        v.currency, v.currency_sent = ("EUR", dialect == "commanders-act")
        tags = ("shared_device",)
        for product in world.rng.sample(c.PRODUCTS, 2):
            v.emit("view_item", items=[line(product, "EUR")], tags=tags)
        v.emit("add_to_cart", items=[line(product, "EUR")], tags=tags)


def _shop(
    world: World, v: Visit, scenario: str | None, cart: dict[str, Line], *, unlinked: bool, logged: bool
) -> None:
    """The visit itself; ``cart`` is the person's, kept from their last visit until a purchase."""
    rng = world.rng
    session, person = v.s, v.person
    convead = session.dialect in CONVEAD
    cur = v.currency or "EUR"
    buy = scenario is not None and scenario not in ("cart_cleared", "cart_update", "guest_login")

    def add(product: c.Product, quantity: int, tags: tuple[str, ...] = ()) -> None:
        ln = line(product, cur, quantity)
        v.emit("add_to_cart", items=[ln], tags=tags)
        old = cart.get(product.item_id)
        qty = quantity if old is None else old.quantity + quantity
        cart[product.item_id] = Line(ln.item_id, ln.item_name, ln.price, qty)

    shown = rng.sample(c.PRODUCTS, rng.randint(4, 8))
    if not convead:
        name = rng.choice(c.LISTS[:3] + c.LISTS[4:])
        v.emit("view_item_list", items=[line(p, cur) for p in shown], list_name=name)
        if rng.random() < 0.2:
            v.emit("search", search_term=rng.choice(c.SEARCH_TERMS))
            shown = rng.sample(c.PRODUCTS, rng.randint(3, 6))
            v.emit("view_item_list", items=[line(p, cur) for p in shown], list_name="Search results")
    if scenario == "out_of_order" or (scenario is None and rng.random() < 0.03):
        first = shown[0]  # added from the list, its page seen afterwards: the funnel out of order
        add(first, 1, tags=("out_of_order",))
        v.emit("view_item", items=[line(first, cur)], tags=("out_of_order",))
    if unlinked and not logged and rng.random() < 0.5:
        v.login()
    for product in shown:
        if rng.random() > 0.5:  # an edge-case visit browses as anyone does (its order no larger)
            continue
        v.emit("view_item", items=[line(product, cur)])
        if rng.random() < 0.3 and scenario != "big_refund":
            add(product, 1 if cur == "JPY" or rng.random() < 0.8 else 2)
    if scenario == "big_refund":  # a company's buyer: the bulk order and nothing else
        add(c.BULK, world.bulk_quantity)
    if buy and not cart:
        add(shown[-1], 1)
    if scenario == "refund_partial" and len(cart) < 2:
        add(next(p for p in c.PRODUCTS if p.item_id not in cart), 2)
    if cart and (scenario in ("cart_cleared", "cart_update") or (not buy and rng.random() < 0.12)):
        oldest = next(iter(cart.values()))
        gone = oldest.quantity if scenario == "cart_cleared" or rng.random() < 0.7 else 1
        v.emit("remove_from_cart", items=[Line(oldest.item_id, oldest.item_name, oldest.price, gone)])
        if gone == oldest.quantity:
            del cart[oldest.item_id]
        else:
            cart[oldest.item_id] = Line(
                oldest.item_id, oldest.item_name, oldest.price, oldest.quantity - gone
            )
    if convead and (scenario in ("cart_cleared", "cart_update") or rng.random() < 0.4):
        if scenario == "cart_cleared":
            for ln in list(cart.values()):
                v.emit("remove_from_cart", items=[ln])
            cart.clear()
        tag = ("cart_cleared",) if not cart else ("cart_update",)
        v.emit("update_cart", items=list(cart.values()), tags=tag)
    checkout = bool(cart) and (buy or rng.random() < 0.5)
    if person.user_id is None and (scenario == "guest_login" or (checkout and rng.random() < 0.2)):
        v.login("sign_up", "email")
    elif v.user is None and person.user_id is not None and (unlinked or (checkout and rng.random() < 0.6)):
        v.login(method=rng.choice(c.LOGIN_METHODS))
    if not checkout:
        return
    items = list(cart.values())
    payment = rng.choice(c.CA_PAYMENT if session.dialect == "commanders-act" else c.GA4_PAYMENT)
    if scenario == "pending_order":
        payment = "by_bank_transfer_in_advance"
    if not convead:
        v.emit("begin_checkout", items=items)
        if not buy and rng.random() > 0.85:
            return
        v.emit("add_payment_info", items=items, payment_method=payment)
    if not buy and rng.random() > 0.8:
        return
    status = None
    if session.dialect in STATUS_DIALECTS:
        status = c.STATUS_PENDING if payment == "by_bank_transfer_in_advance" else c.STATUS_NEW
    order = v.emit(
        "purchase",
        items=items,
        transaction_id=world.ident("ORD", "order", 7),
        payment_method=payment,
        status=status,
        tags=("jpy_purchase",) if cur == "JPY" else ("pending_order",) if status == c.STATUS_PENDING else (),
    )
    cart.clear()
    followups(world, v, order, scenario)


def followups(world: World, v: Visit, order: Action, scenario: str | None) -> None:
    """What comes later for ``order``, each in a back-office session: its status updates
    (resent in its own dialect where that carries a status, else through the back office's
    Commanders Act server API, the first one minutes after the purchase), then a refund in
    its own dialect."""
    rng = world.rng
    s = v.s
    own = s.dialect in STATUS_DIALECTS
    last = world.end - timedelta(minutes=10)  # nothing is sent after the data set's end
    office = back_office(world, v, order, (s.dialect, s.form) if own else c.BACK_OFFICE)
    status, office.t = order.status, order.at + world.hours(2, 30)
    if not own:  # the back office confirms the order
        bank = order.payment_method == "Bank Transfer" or scenario == "pending_order"
        status, office.t = c.STATUS_PENDING if bank else c.STATUS_NEW, order.at + world.hours(0.02, 0.5)
        if office.t < last:
            send_status(office, order, status)
        else:
            status = None  # placed in the last minutes: not confirmed yet
    while status is not None:
        choices = c.STATUS_NEXT.get(status)
        if not choices or scenario == "pending_order" or (scenario is None and rng.random() < 0.3):
            break  # the order stays as it is
        status = "canceled" if scenario == "order_canceled" else choices[0]
        if scenario is None and rng.random() < 0.08 and "canceled" in choices:
            status = "canceled"
        office.t += world.hours(6, 60)
        if office.t >= last:
            break
        send_status(office, order, status)
    if office.s.actions:
        world.keep(office.s)
    refund = scenario in ("refund_full", "refund_partial", "big_refund") or (
        scenario is None and s.dialect not in CONVEAD and rng.random() < 0.06
    )
    if not refund or status == "canceled":
        return
    partial = scenario == "refund_partial" or (scenario is None and rng.random() < 0.6)
    b = back_office(world, v, order, (s.dialect, s.form))
    if scenario == "big_refund":  # near the end: it outweighs that day's sales
        b.t = max(office.t, world.end - DAY * 1.5)
    else:
        b.t = office.t + world.hours(24, 240)
    if b.t >= world.end - timedelta(hours=2):
        return
    b.s.start = b.t
    back = [Line(ln.item_id, ln.item_name, ln.price, rng.randint(1, ln.quantity)) for ln in order.items]
    back = back[: rng.randint(1, max(1, len(back) - 1))] if partial else []
    value = sum((ln.total for ln in back), Decimal(0)) if partial else order.value
    tag = "big_refund" if scenario == "big_refund" else "refund_partial" if partial else "refund_full"
    b.emit(
        "refund",
        transaction_id=order.transaction_id,
        value=value,
        refund_items=back if partial else None,
        items=back,
        tags=(tag,),
    )
    world.keep(b.s)


def send_status(office: Visit, order: Action, status: str) -> None:
    """The order sent again with its new ``status`` (its items, value and transaction id)."""
    if not office.s.actions:
        office.s.start = office.t
    office.emit(
        "order_update",
        items=order.items,
        transaction_id=order.transaction_id,
        status=status,
        payment_method=office_payment(office, order),
        tags=("order_canceled",) if status == "canceled" else (),
    )


def back_office(world: World, v: Visit, order: Action, dialect: tuple[str, str | None]) -> Visit:
    """A back-office session about ``order`` in ``dialect`` (the caller sets its clock and
    keeps it once it has actions), carrying the ids the order was placed with."""
    session = world.session(v.s.property, v.person, dialect[0], dialect[1], order.at, keep=False)
    session.backoffice = True
    b = Visit(world, session, v.person, v.device, logged_in=order.user_id is not None)
    b.user, b.currency = order.user_id, order.currency
    b.currency_sent = order.currency_sent or dialect[0] not in CONVEAD
    return b


def office_payment(office: Visit, order: Action) -> str | None:
    """The order's payment method as the back office's dialect names it."""
    if office.s.dialect == "commanders-act" and order.payment_method not in c.CA_PAYMENT:
        return c.BACK_OFFICE_PAYMENT.get(order.payment_method or "", "other")
    return order.payment_method
