"""How ``trackway demo`` sends a session written in Convead or InSend (trackway.demo.render).

- The ``call`` form (``["event", ...]`` calls) goes through ``/collect``; a call
  carries nothing of the envelope.
- The ``post`` form goes to ``/watch/event``, one event a request: form bodies with the
  property's ``app_key``, ``visitor_uid``, ``guest_uid`` and ``data``, decoded as
  ``convead`` whichever of the two sites sent them. With ``client_time``, ``data``
  carries the action's ``client_timestamp`` (kept in the event's ``extras["data"]``).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from urllib.parse import urlencode

import trackway
from trackway.demo.events import canonical, iso
from trackway.demo.render import FORM, Request, collect, request
from trackway.demo.truth import Session

ENDPOINT_DIALECT = "convead"  # /watch/event decodes every body as convead
CARRIES: dict[str | None, frozenset[str]] = {"post": frozenset({"ids"})}


def requests(session: Session, key: Mapping[str, str], *, client_time: bool) -> list[Request]:
    dialect, carries = session.dialect, CARRIES.get(session.form, frozenset())
    if session.form != "post":
        render = partial(canonical, dialect=dialect, carries=carries)
        return collect(session, key, client_time=client_time, event=render)
    out: list[Request] = []
    for a in session.actions:
        event = canonical(a, dialect, carries)
        if client_time:
            event.extras["data"] = {"client_timestamp": iso(a.at)}
        fields = {"app_key": key["convead_app_key"], **trackway.encode(dialect, event, form="post")}
        body = urlencode(fields).encode()
        out.append(request("/watch/event", {}, FORM, body, fields, session, ENDPOINT_DIALECT, [a]))
    return out
