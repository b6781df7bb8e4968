"""Koalect visits: donation procedures, project creations and invitations, project events.

A procedure is a list of steps ending in ``success`` (:data:`trackway.demo.catalog.PROCEDURES`):
each step is a ``view_step`` with ``step_index`` (from 1) and ``step_name``. A paid
procedure chooses its products at the first step (``view_item_list``,
``add_to_cart``, sometimes a ``remove_from_cart``), then sends ``add_payment_info`` and
``checkout`` before its last step, ``transaction`` when paid, the ``success`` step and
``execution``. A free one goes through its steps to ``success`` and ``execution``
(a creation adds ``project_created``, an invitation ``project_member_joined``).
A visit may stop at any step before ``success`` (tag ``abandoned:CATEGORY:STEP``), or
after ``checkout`` with no transaction (``abandoned:CATEGORY:checkout``). A paid
donation is confirmed by the charity's CRM through Commanders Act's server API
(:func:`confirm`): Koalect's transaction carries no status.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from trackway.demo import catalog as c
from trackway.demo.sessions import Visit, World
from trackway.demo.shop import back_office, send_status
from trackway.demo.truth import Action, Line, Procedure

_WEIGHTS = (30, 25, 15, 20, 10)  # per procedure of catalog.PROCEDURES
TERMS = ("water", "marathon", "winter appeal", "team", "school")
SHARE_METHODS = ("facebook", "twitter", "email", "whatsapp")


def scenarios() -> list[tuple[Procedure, str | None]]:
    """Forced visits: every procedure abandoned at each of its steps, after its checkout, and completed."""
    out: list[tuple[Procedure, str | None]] = []
    for proc in c.PROCEDURES:
        out.extend((proc, step) for step in proc.steps[:-1])
        if proc.paid:
            out.append((proc, "checkout"))
        out.append((proc, None))
    return out


def visit(
    world: World, prop: str, start: datetime, forced: tuple[Procedure, str | None] | None = None
) -> None:
    """One Koalect visit; ``forced`` is (procedure, step to stop at or None for a completed one)."""
    rng = world.rng
    person, device = world.pick_person(prop, start, 0.3)
    session = world.session(prop, person, "koalect", None, start)
    unlinked = person.user_id is not None and (person.id, device) not in world.linked
    logged = person.user_id is not None and rng.random() < 0.5
    v = Visit(world, session, person, device, logged_in=logged)
    names = [n for n, _ in c.DONATION_CURRENCIES]
    v.currency = rng.choices(names, weights=[w for _, w in c.DONATION_CURRENCIES])[0]
    if forced is None:
        proc = rng.choices(c.PROCEDURES, weights=_WEIGHTS)[0]
        stops = [s for s in proc.steps[:-1] if rng.random() < 0.2] + (
            ["checkout"] if proc.paid and rng.random() < 0.07 else []
        )
        stop = stops[0] if stops else None
    else:
        proc, stop = forced
    _procedure(world, v, proc, stop, unlinked=unlinked and not logged)
    world.busy[person.id] = v.t


def _procedure(world: World, v: Visit, proc: Procedure, stop: str | None, *, unlinked: bool) -> None:
    rng = world.rng
    if rng.random() < 0.12:
        v.emit("search", search_term=rng.choice(TERMS))
    if rng.random() < 0.08:
        v.emit(
            "view_update",
            params={
                "update_id": f"upd-{rng.randrange(1, 40):03d}",
                "target_type": "Project",
                "target_id": "e5f6a7b8-project-water",
            },
        )
    if not proc.paid and v.user is None:  # creating or joining a project needs an account
        v.login("login" if v.person.user_id else "sign_up", "email")
    cart: list[Line] = []
    for n, step in enumerate(proc.steps[:-1], 1):
        tags = (f"abandoned:{proc.category}:{step}",) if step == stop else ()
        v.emit("view_step", procedure=proc, step_index=n, step_name=step, tags=tags)
        if unlinked and v.user is None:
            v.login(method=rng.choice(("email", "google", "facebook")))
        if proc.paid and n == 1:
            shown = [Line(pid, name, c.DONATION_AMOUNTS[2], 1) for pid, name in c.DONATION_PRODUCTS]
            v.emit("view_item_list", procedure=proc, items=shown, list_name=proc.name)
            pid, name = c.DONATION_PRODUCTS[0 if rng.random() < 0.8 else 1]
            cart.append(Line(pid, name, rng.choice(c.DONATION_AMOUNTS), 1))
            v.emit("add_to_cart", procedure=proc, items=[cart[0]])
            if rng.random() < 0.25:
                shirt = Line(*c.DONATION_PRODUCTS[2], Decimal(15), 1)
                v.emit("add_to_cart", procedure=proc, items=[shirt])
                if rng.random() < 0.4:
                    v.emit("remove_from_cart", procedure=proc, items=[shirt])
                else:
                    cart.append(shirt)
        if step == "personal_infos" and v.user is None and rng.random() < 0.25:
            v.login("login" if v.person.user_id else "sign_up", "email")
        if step == stop:
            return
    total = sum((ln.total for ln in cart), Decimal(0))
    tx = None
    if proc.paid:
        payment = rng.choice(c.KOALECT_PAYMENT)
        v.emit("add_payment_info", procedure=proc, items=cart, payment_method=payment)
        tags = (f"abandoned:{proc.category}:checkout",) if stop == "checkout" else ()
        v.emit("begin_checkout", procedure=proc, items=cart, tags=tags)
        if stop == "checkout":
            return
        tx = world.ident("KTX", "order", 7)
        fee = (total * Decimal("0.025")).quantize(Decimal("0.01"))
        monthly = cart[0].item_id == "DON-MONTHLY"
        order = v.emit(
            "purchase",
            procedure=proc,
            items=cart,
            transaction_id=tx,
            payment_method=payment,
            params={"fee": fee, "is_subscription": monthly},
        )
        confirm(world, v, order, monthly=monthly)
    v.emit("view_step", procedure=proc, step_index=len(proc.steps), step_name="success")
    execution = {"execution_id": world.ident("exe", "misc", 7)}
    if proc.paid:
        v.emit("execution", procedure=proc, items=cart, transaction_id=tx, params=execution)
    else:
        v.emit("execution", procedure=proc, params=execution)
    project: dict[str, str] = {}
    if proc.category == "create-project":
        pid = world.ident("prj", "misc")
        project = {
            "project_id": pid,
            "project_slug": f"team-{pid[3:]}",
            "project_name": f"Team {pid[3:]}",
            "campaign_id": proc.target_id,
        }
        v.emit("project_created", params={**project, "project_status": "published"})
    elif proc.category == "project-invite":
        v.emit(
            "project_member_joined",
            params={
                "invite_id": world.ident("inv", "misc"),
                "target_id": proc.target_id,
                "target_type": "Project",
            },
        )
    if rng.random() < 0.15:
        v.emit(
            "share",
            method=rng.choice(SHARE_METHODS),
            params={"target_id": proc.target_id, "target_type": proc.target_type},
        )
    if project and rng.random() < 0.1:  # deleted by its creator, later
        later = v.t + world.hours(1, 48)
        if later < world.end - timedelta(hours=1):
            v.t = later
            v.emit("project_deleted", params={**project, "project_status": "deleted"})


def confirm(world: World, v: Visit, order: Action, *, monthly: bool) -> None:
    """The charity's CRM confirms a paid donation server-side (Koalect's transaction has no
    status): minutes later, ``delivered`` (a monthly gift ``in_progress``); a few are
    charged back (``canceled``) days later."""
    last = world.end - timedelta(minutes=10)
    office = back_office(world, v, order, c.BACK_OFFICE)
    office.t = order.at + world.hours(0.02, 0.5)
    if office.t >= last:
        return  # given in the last minutes: not confirmed yet
    send_status(office, order, c.STATUS_MONTHLY if monthly else c.STATUS_DONATED)
    if world.rng.random() < 0.03:
        office.t += world.hours(24, 120)
        if office.t < last:
            send_status(office, order, "canceled")
    world.keep(office.s)
