"""The ``convead`` and ``insend`` destinations: canonical events for Convead's tracker API
(InSend runs the same API under its own name). No I/O.

One event a request: ``POST {base_url}/watch/event``, form-encoded with the fields
``app_key``, ``visitor_uid``, ``guest_uid`` and ``data`` (the event as a JSON string),
rendered by the convead (or insend) dialect's ``post`` form (a uid the event lacks as
''). An event Convead's rules reject (no uid at all, a purchase without order_id or
revenue, ...) is refused with the rules' messages. Convead has no
idempotency key: a retried request may count its event twice. The base URL defaults
to Convead's tracker, which InSend's documentation names too. A request's ordering key
(for ``in_flight`` above 1) is its ``guest_uid``, else its ``visitor_uid``: one
browser's events reach Convead in order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from trackway.api import decode
from trackway.destinations import form as form_
from trackway.destinations import options as options_
from trackway.destinations.base import Encoded, ErrorsOnly, Outgoing, Refusal
from trackway.issues import Issue
from trackway.model import Event
from trackway.vendors.convead.write import encode_event

BASE_URL = "https://tracker.convead.io"
PATH = "/watch/event"
HEADERS: Mapping[str, str] = {"content-type": "application/x-www-form-urlencoded"}
POST = "post"  # the dialect's form of a /watch/event body
ENDPOINT_DIALECT = "convead"  # /watch/event reads every body as convead (InSend's too)
NO_CURRENCY = "XXX"  # ISO 4217: no currency


def fields(event: Event, app_key: str) -> dict[str, str]:
    """The form fields of one event: ``app_key`` first, then the post form (the same for
    convead and insend), a uid the event lacks as '' (Convead wants all four fields).
    Rendered with the dialect's writer, not its ``encode``, which would check the
    rendering once more only to throw the result away: :func:`errors` checks it."""
    rendered = encode_event(event, POST, ErrorsOnly())
    return {"app_key": app_key, "visitor_uid": "", "guest_uid": "", **rendered}


def errors(form: dict[str, str], event: Event) -> list[Issue]:
    """What Convead's rules reject in an event's fields. The currency is the receiver's
    (Convead has no field for it; Trackway fills the property's default_currency): the
    event's own, if it has one, else a placeholder that leaves the check out."""
    currency = event.commerce.currency if event.commerce is not None else None
    decoded = decode(ENDPOINT_DIALECT, form, default_currency=currency or NO_CURRENCY)
    return [i for i in decoded.issues if i.is_error]


def rejected(found: list[Issue]) -> str:
    said = "; ".join(f"{i.path}: {i.message}" for i in found)
    return f"Convead would answer 400 and drop this event, so it is not sent: {said}"


def settings(kind: str, options: Mapping[str, Any]) -> tuple[str, str]:
    """(app_key, base_url) of ``options``, or a ConfigError saying which option is wrong
    and how to set it."""
    options_.known(kind, options, ConveadDestination.options)
    app_key = options_.text(
        kind,
        options,
        "app_key",
        "the account's app_key (the one in the site's tracker snippet, ConveadSettings.app_key)",
    )
    return app_key, options_.url(kind, options, "base_url", BASE_URL).rstrip("/")


class ConveadDestination:
    """The ``convead`` or ``insend`` destination type (trackway.destinations.base.Encoder);
    both render the same post form (the dialects differ only in their JavaScript name)."""

    options: Sequence[str] = ("app_key", "base_url")
    secrets = frozenset({"app_key"})

    def __init__(self, type: str) -> None:
        self.type = type

    def encode(self, events: Sequence[Event], options: Mapping[str, Any], now: datetime) -> Encoded:
        app_key, base = settings(self.type, options)
        url = base + PATH
        out = Encoded()
        for event in events:
            form = fields(event, app_key)
            found = errors(form, event)
            if found:
                out.refused.append(Refusal(event.id, rejected(found)))
                continue
            key = form["guest_uid"] or form["visitor_uid"] or None  # the browser, else the visitor
            body = form_.body(form)
            out.requests.append(Outgoing("POST", url, HEADERS, body, (event.id,), order_key=key))
        return out


ENCODER = ConveadDestination("convead")
INSEND = ConveadDestination("insend")
