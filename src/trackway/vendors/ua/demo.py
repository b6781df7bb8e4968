"""How ``trackway demo`` sends a session written in a UA dialect (trackway.demo.render):
through ``/collect``, gtag-ua as ``["event", ...]`` arrays (which carry nothing of the
envelope), gtm-ua and adobe-dtm as dataLayer objects (which carry the event's client id).
An adobe-dtm product also carries its ``externalRef``, the shop's external reference.
"""

from __future__ import annotations

from collections.abc import Mapping

from trackway.demo.events import canonical
from trackway.demo.render import Request, collect
from trackway.demo.truth import Action, Session
from trackway.model import Event

CARRIES: dict[str, frozenset[str]] = {
    "gtag-ua": frozenset(),
    "gtm-ua": frozenset({"id"}),
    "adobe-dtm": frozenset({"id"}),
}


def requests(session: Session, key: Mapping[str, str], *, client_time: bool) -> list[Request]:
    dialect = session.dialect

    def event(a: Action) -> Event:
        out = canonical(a, dialect, CARRIES[dialect])
        if dialect == "adobe-dtm" and out.commerce is not None:
            for item in out.commerce.items or ():
                if item.item_id:
                    item.extras = {"externalRef": f"EXT-{item.item_id[4:]}"}  # SKU-1234: EXT-1234
        return out

    return collect(session, key, client_time=client_time, event=event)
