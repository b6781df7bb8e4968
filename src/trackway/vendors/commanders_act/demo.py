"""How ``trackway demo`` sends a session written in Commanders Act (trackway.demo.render).

- The ``call`` form (``cact('trigger', ...)`` calls) goes through ``/collect``; a call
  carries the person's ids in its ``user``.
- The ``server`` form goes to the server-side API: bodies with ``user.id``,
  ``user.consistent_anonymous_id``, ``context.event_id`` and ``context.event_timestamp``,
  the site in ``tc_s``. A session goes one event a request to ``/events`` (the token in
  the query) or, every other session, in batches to ``/events/batch`` (the token as
  ``Authorization: Bearer``).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

import trackway
from trackway.demo.events import canonical
from trackway.demo.render import JSON, Request, collect, encode_json, request, segments
from trackway.demo.truth import Session

DIALECT = "commanders-act"
BATCH = 50  # events in one /events/batch body
CARRIES: dict[str | None, frozenset[str]] = {
    "server": frozenset({"id", "timestamp", "ids"}),
    "call": frozenset({"ids"}),
}


def requests(session: Session, key: Mapping[str, str], *, client_time: bool) -> list[Request]:
    carries = CARRIES.get(session.form, frozenset())
    if session.form != "server":
        event = partial(canonical, dialect=DIALECT, carries=carries)
        return collect(session, key, client_time=client_time, event=event)
    batched = int(session.id[1:]) % 2 == 0  # every other session (its id is s<number>)
    out: list[Request] = []
    for seg in segments(session.actions, BATCH if batched else 1):
        bodies = [trackway.encode(DIALECT, canonical(a, DIALECT, carries), form="server") for a in seg]
        if batched:
            query = {"tc_s": key["commanders_act_site"]}
            headers = {**JSON, "authorization": f"Bearer {key['commanders_act_token']}"}
            out.append(
                request(
                    "/events/batch",
                    query,
                    headers,
                    encode_json({"batch": bodies}),
                    None,
                    session,
                    DIALECT,
                    seg,
                )
            )
        else:
            query = {"tc_s": key["commanders_act_site"], "token": key["commanders_act_token"]}
            out.append(request("/events", query, JSON, encode_json(bodies[0]), None, session, DIALECT, seg))
    return out
