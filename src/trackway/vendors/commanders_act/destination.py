"""The ``commanders-act`` destination: canonical events for Commanders Act's server-side
HTTP tracking API (v2). No I/O.

Events are rendered in the commanders-act dialect's ``server`` form (event properties
at the root, ``user``, ``context``), with ``context.event_id`` the event's id: Commanders
Act's idempotency key, so a retried request is deduplicated by the receiver. An event
without an id is refused. With ``batch`` (the default) events go in order in
``POST {base_url}/events/batch`` bodies ``{"batch": [...]}`` of at most 500 KB;
without, one event a request to ``POST {base_url}/events``. Either way an event over
32 KB is refused (Commanders Act answers 400 for the whole request), and so is an event
its rules reject (a purchase without ``type``, ``status`` or ``payment_method``, a
server-side event without ``user``, ...): the API answers 200 all the same and says
nothing of it, so the refusal, with the rules' messages, is the only word of it. The site id goes
in the query as ``tc_s``; the source key as ``Authorization: Bearer`` (which the API
accepts in place of ``token=``), so that it stays out of URLs, which are often logged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from trackway.destinations import batching
from trackway.destinations import options as options_
from trackway.destinations.base import Encoded, ErrorsOnly, Outgoing, Refusal
from trackway.errors import ConfigError
from trackway.issues import Issue
from trackway.model import Event, encode_json
from trackway.vendors.commanders_act import plain
from trackway.vendors.commanders_act.adapter import decode_server
from trackway.vendors.commanders_act.fast_check import no_error
from trackway.vendors.commanders_act.write import write_event

TYPE = "commanders-act"
BASE_URL = "https://collect.commander1.com"
# Commanders Act's limits are "32 KB" an event and "500 KB" a batch: what is sent stays
# within both readings (the receiver, vendors/commanders_act/endpoint.py, takes the larger)
EVENT_MAX = 32_000  # bytes of one event, alone or in a batch
BATCH_MAX = 500_000  # bytes of a /events/batch body
_OPEN, _CLOSE = b'{"batch":[', b"]}"


HINTS = {
    "site": "the site id (tc_s) of the Commanders Act account",
    "token": "the source key of the HTTP tracking API source, in its settings",
}


def settings(options: Mapping[str, Any]) -> tuple[str, str, str, bool]:
    """(site, token, base_url, batch) of ``options``, or a ConfigError saying which
    option is wrong and how to set it."""
    options_.known(TYPE, options, CommandersActDestination.options)
    values = [options_.text(TYPE, options, name, hint) for name, hint in HINTS.items()]
    base = options_.url(TYPE, options, "base_url", BASE_URL).rstrip("/")
    batch = options.get("batch", True)
    if type(batch) is not bool:
        raise ConfigError(
            f"{TYPE} destination option batch: expected true or false, got {batch!r}; write batch = true "
            "(requests to /events/batch) or batch = false (one event a request to /events)"
        )
    return values[0], values[1], base, batch


def render(event: Event) -> tuple[bytes, list[Issue]]:
    """One event in the server form, as compact JSON, ``context.event_id`` its id; and
    the errors Commanders Act's rules find in it (the server-side API drops such events)."""
    fast = plain.render(event)  # most events: written and checked straight from the event
    if fast is not None:
        return fast, []
    return render_checked(event)


def render_checked(event: Event) -> tuple[bytes, list[Issue]]:
    """:func:`render` by the general path: the dialect's writer, then its reader's check."""
    payload = write_event(event, "server", ErrorsOnly())  # the adapter's encode would check it twice
    context = payload.setdefault("context", {})
    context["event_id"] = event.id
    if no_error(payload):  # a plain body the fast check clears (a third of the decode's time)
        return encode_json(payload), []
    found = ErrorsOnly()
    decode_server(payload, "$", found)
    return encode_json(payload), found.items


def rejected(errors: list[Issue]) -> str:
    """The reason of a refusal for what Commanders Act's rules reject."""
    said = "; ".join(f"{i.path}: {i.message}" for i in errors)
    return f"Commanders Act's rules reject this event (its API answers 200 all the same), not sent: {said}"


class CommandersActDestination:
    """The ``commanders-act`` destination type (trackway.destinations.base.Encoder)."""

    type = TYPE
    options: Sequence[str] = ("site", "token", "base_url", "batch")
    secrets = frozenset({"token"})

    def encode(self, events: Sequence[Event], options: Mapping[str, Any], now: datetime) -> Encoded:
        site, token, base, batched = settings(options)
        query = urlencode({"tc_s": site})
        headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}
        out = Encoded()
        rendered: list[tuple[str, bytes]] = []
        for event in events:
            if not event.id:
                out.refused.append(
                    Refusal(
                        event.id,
                        "expected an event id for context.event_id (Commanders Act requires it and "
                        "deduplicates retries by it), got none; events from Trackway's store always have one",
                    )
                )
                continue
            body, errors = render(event)
            if errors:
                out.refused.append(Refusal(event.id, rejected(errors)))
                continue
            if len(body) > EVENT_MAX:
                reason = (
                    f"expected an event of at most {EVENT_MAX} bytes (Commanders Act's limit), "
                    f"got {len(body)}; it is not sent. Send fewer or shorter properties and items"
                )
                out.refused.append(Refusal(event.id, reason))
                continue
            rendered.append((event.id, body))
        if not batched:
            url = f"{base}/events?{query}"
            for event_id, body in rendered:
                out.requests.append(Outgoing("POST", url, headers, body, (event_id,), event_id))
            return out
        url = f"{base}/events/batch?{query}"
        batches, _ = batching.pack(  # an event of at most EVENT_MAX bytes always fits: nothing refused here
            rendered,
            max_events=len(rendered) or 1,
            max_bytes=BATCH_MAX,
            overhead=len(_OPEN) + len(_CLOSE),
            what="Commanders Act's batch limit",
        )
        for batch in batches:
            ids = tuple(event_id for event_id, _ in batch)
            out.requests.append(Outgoing("POST", url, headers, batching.body(_OPEN, batch, _CLOSE), ids))
        return out


ENCODER = CommandersActDestination()
