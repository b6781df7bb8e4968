"""Sessions as wire requests, in every dialect and through every endpoint.

How each dialect travels (``Request.path``):

- ``/collect``: gtag-ga4 and gtag-ua (``["event", ...]`` arrays), gtm-ga4, gtm-ua,
  adobe-dtm and koalect (dataLayer objects), commanders-act ``["trigger", ...]`` calls
  and convead/insend ``["event", ...]`` calls. The envelope names the dialect and
  carries the person's ``anonymous_id`` and ``user_id`` (a batch holds consecutive
  actions of one session with the same ids, at most :data:`COLLECT_BATCH`);
  Commanders Act calls also carry them in ``user``.
- ``/mp/collect``: ga4-mp bodies of up to 25 events, ``client_id``/``user_id`` and each
  event's ``timestamp_micros``.
- ``/events`` and ``/events/batch``: Commanders Act server bodies (``user.id``,
  ``user.consistent_anonymous_id``, ``context.event_id``, ``context.event_timestamp``);
  a session goes one event a request or in batches, the site in ``tc_s`` and the token
  in the query or as ``Authorization: Bearer``.
- ``/watch/event``: Convead and InSend form bodies (``app_key``, ``visitor_uid``,
  ``guest_uid``, ``data``), one event a request.

Times: Commanders Act server bodies and MP events carry the action's time. The other
forms have no field for it: the collector's receive time applies, unless
``client_time`` is set, in which case each ``/collect`` request carries one payload
and the envelope's ``context.client_timestamp`` (ISO 8601, the collector copies it
into the event's ``context``), and each Convead body's ``data.client_timestamp``
(kept in the event's ``extras["data"]``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import groupby
from typing import Any
from urllib.parse import urlencode

import msgspec

import trackway
from trackway import dialects
from trackway.demo.events import canonical, iso
from trackway.demo.sessions import CONVEAD
from trackway.demo.truth import Action, Session
from trackway.dialects.base import EncodeOptions
from trackway.issues import Issues

Keys = Mapping[str, Mapping[str, str]]  # property -> `trackway property add NAME --format json`
COLLECT_BATCH = 20
CA_BATCH = 50
JSON = {"content-type": "application/json"}
FORM = {"content-type": "application/x-www-form-urlencoded"}
_json = msgspec.json.Encoder(decimal_format="number")
_read = msgspec.json.Decoder()


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request: POST ``path`` with ``query``, ``headers`` and ``body``.

    ``form`` repeats a form body's fields as a dict (``/watch/event``). ``dialect`` is
    the dialect the endpoint decodes with; ``actions`` are the truth actions it carries,
    in the order of the events it decodes to.
    """

    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes | None
    form: dict[str, str] | None
    property: str
    dialect: str
    actions: tuple[Action, ...]

    def units(self) -> list[tuple[str, Any, tuple[Action, ...]]]:
        """What the endpoint decodes: (dialect, payload, its actions) per unit, in order."""
        if self.path == "/collect":
            assert self.body is not None
            envelope = _read.decode(self.body)
            return [
                (envelope["dialect"], p, (a,)) for p, a in zip(envelope["events"], self.actions, strict=True)
            ]
        if self.form is not None:
            return [(self.dialect, dict(self.form), self.actions)]
        return [(self.dialect, self.body, self.actions)]

    def envelope(self) -> dict[str, Any]:
        """The /collect envelope ({} elsewhere)."""
        return _read.decode(self.body) if self.path == "/collect" and self.body else {}


def _segments(actions: list[Action], size: int) -> Iterator[list[Action]]:
    """Consecutive actions with the same ids, ``size`` at most."""
    for _, group in groupby(actions, key=lambda a: (a.anonymous_id, a.user_id)):
        run = list(group)
        for n in range(0, len(run), size):
            yield run[n : n + size]


def session_requests(session: Session, keys: Keys, *, client_time: bool = False) -> list[Request]:
    """The requests that send ``session``'s actions."""
    k = keys[session.property]
    dialect, form, actions = session.dialect, session.form, session.actions
    out: list[Request] = []
    if dialect == "ga4-mp":
        adapter = dialects.get("ga4-mp")
        query = {"measurement_id": k["ga4_measurement_id"], "api_secret": k["ga4_api_secret"]}
        for seg in _segments(actions, 25):
            bodies = adapter.encode_many([canonical(a, dialect) for a in seg], EncodeOptions(), Issues())
            at = 0
            for body in bodies:
                n = len(body["events"])
                out.append(
                    _req(
                        "/mp/collect",
                        query,
                        JSON,
                        _json.encode(body),
                        None,
                        session,
                        "ga4-mp",
                        seg[at : at + n],
                    )
                )
                at += n
    elif dialect == "commanders-act" and form == "server":
        batched = int(session.id[1:]) % 2 == 0
        for seg in _segments(actions, CA_BATCH if batched else 1):
            bodies = [trackway.encode(dialect, canonical(a, dialect), form="server") for a in seg]
            if batched:
                query = {"tc_s": k["commanders_act_site"]}
                headers = {**JSON, "authorization": f"Bearer {k['commanders_act_token']}"}
                body = _json.encode({"batch": bodies})
                out.append(_req("/events/batch", query, headers, body, None, session, dialect, seg))
            else:
                query = {"tc_s": k["commanders_act_site"], "token": k["commanders_act_token"]}
                out.append(_req("/events", query, JSON, _json.encode(bodies[0]), None, session, dialect, seg))
    elif dialect in CONVEAD and form == "post":
        for a in actions:
            event = canonical(a, dialect)
            if client_time:
                event.extras["data"] = {"client_timestamp": iso(a.at)}
            rendered = trackway.encode(dialect, event, form="post")
            fields = {"app_key": k["convead_app_key"], **rendered}
            body = urlencode(fields).encode()
            out.append(_req("/watch/event", {}, FORM, body, fields, session, "convead", [a]))
    else:
        for seg in _segments(actions, 1 if client_time else COLLECT_BATCH):
            payloads = [trackway.encode(dialect, canonical(a, dialect), form=form) for a in seg]
            envelope: dict[str, Any] = {"key": k["collect_key"]}
            if seg[0].anonymous_id:
                envelope["anonymous_id"] = seg[0].anonymous_id
            if seg[0].user_id:
                envelope["user_id"] = seg[0].user_id
            if client_time:
                envelope["context"] = {"client_timestamp": iso(seg[0].at)}
            envelope["dialect"] = dialect
            envelope["events"] = payloads
            out.append(_req("/collect", {}, JSON, _json.encode(envelope), None, session, dialect, seg))
    return out


def _req(
    path: str,
    query: dict[str, str],
    headers: dict[str, str],
    body: bytes,
    form: dict[str, str] | None,
    session: Session,
    dialect: str,
    actions: list[Action],
) -> Request:
    return Request(path, query, dict(headers), body, form, session.property, dialect, tuple(actions))
