"""How ``trackway demo`` sends a session written in a GA4 dialect (trackway.demo.render).

- gtag-ga4 (``["event", ...]`` arrays) and gtm-ga4 (dataLayer objects) go through
  ``/collect``; a dataLayer object carries the event's client id, a gtag array nothing
  of the envelope.
- ga4-mp goes to ``/mp/collect`` with the property's ``measurement_id`` and
  ``api_secret`` in the query: bodies of up to 25 events (the Measurement Protocol's
  limit) with the ``client_id``/``user_id`` of consecutive actions of one person and
  each event's ``timestamp_micros``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

from trackway import dialects
from trackway.demo.events import canonical
from trackway.demo.render import JSON, Request, collect, encode_json, request, segments
from trackway.demo.truth import Session
from trackway.dialects.base import EncodeOptions
from trackway.issues import Issues

MP = "ga4-mp"
MP_EVENTS = 25  # events in one Measurement Protocol body, at most
CARRIES: dict[str, frozenset[str]] = {
    "gtag-ga4": frozenset(),
    "gtm-ga4": frozenset({"id"}),
    MP: frozenset({"timestamp", "ids"}),
}


def requests(session: Session, key: Mapping[str, str], *, client_time: bool) -> list[Request]:
    dialect = session.dialect
    if dialect != MP:
        return collect(
            session,
            key,
            client_time=client_time,
            event=partial(canonical, dialect=dialect, carries=CARRIES[dialect]),
        )
    adapter = dialects.get(MP)
    query = {"measurement_id": key["ga4_measurement_id"], "api_secret": key["ga4_api_secret"]}
    out: list[Request] = []
    for seg in segments(session.actions, MP_EVENTS):
        events = [canonical(a, MP, CARRIES[MP]) for a in seg]
        at = 0
        for body in adapter.encode_many(events, EncodeOptions(), Issues()):
            n = len(body["events"])
            out.append(
                request("/mp/collect", query, JSON, encode_json(body), None, session, MP, seg[at : at + n])
            )
            at += n
    return out
