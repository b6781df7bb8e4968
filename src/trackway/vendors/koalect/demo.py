"""How ``trackway demo`` sends a session written in Koalect (trackway.demo.render):
through ``/collect``, as dataLayer objects that carry the event's client id. A donation
(``purchase``) or a procedure's execution also carries the procedure in its
``ecommerce``: ``category``, ``is_subscription``, ``target_id``, ``target_type`` and
``fee``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from trackway.demo.events import canonical
from trackway.demo.render import Request, collect
from trackway.demo.truth import Action, Session
from trackway.model import Event

DIALECT = "koalect"
CARRIES = frozenset({"id"})


def event(a: Action) -> Event:
    out = canonical(a, DIALECT, CARRIES)
    proc = a.procedure
    if out.commerce is not None and a.kind in ("purchase", "execution") and proc is not None:
        out.extras["ecommerce"] = {
            "category": proc.category,
            "is_subscription": bool(a.params.get("is_subscription", False)),
            "target_id": proc.target_id,
            "target_type": proc.target_type,
            "fee": a.params.get("fee", Decimal("0.00")),
        }
    return out


def requests(session: Session, key: Mapping[str, str], *, client_time: bool) -> list[Request]:
    return collect(session, key, client_time=client_time, event=event)
