"""The ``ga4`` destination: canonical events as GA4 Measurement Protocol requests. No I/O.

Each request is ``POST {base_url}/mp/collect?measurement_id=..&api_secret=..`` with a
JSON body rendered by the ga4-mp encoder (:func:`trackway.vendors.ga4.mp_write.group`):
consecutive events with the same request-level fields (``client_id``, ``user_id``,
``user_properties``, consent, context) share a body, so events of different client
ids never share one. The Measurement Protocol's limits hold for every request: at
most 25 events and a body smaller than 130 kB (events are packed in order, as many
as fit; an event too large alone is refused). Each event carries ``timestamp_micros``, its
time (or, without one, when Trackway received it); an event older than 72 hours at
``now`` is refused, never clamped to 72 hours as GA4 would. Consent: ``ad_user_data``
and ``ad_personalization`` from Google's own signals and the purposes the visitor or site
stated, a denial winning; a purpose only assumed is never sent as GRANTED, and an event
with no signal sends none (:func:`~trackway.vendors.ga4.consent.for_measurement_protocol`).
An event GA4's rules
reject (no client id, a reserved or invalid name, too many parameters, ...) is refused
with the rules' messages: GA4 answers 2xx and drops it, so every body sent validates.

GA4 has no idempotency key: a retried request may count its events twice. A request's
ordering key (for ``in_flight`` above 1) is its client id (or app instance id): one
client's events reach GA4 in order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import msgspec

from trackway.destinations import batching
from trackway.destinations import options as options_
from trackway.destinations.base import Encoded, ErrorsOnly, Outgoing, Refusal
from trackway.dialects.base import DecodeContext
from trackway.issues import Issue
from trackway.model import Event, encode_json
from trackway.vendors.ga4 import mp_rules as r
from trackway.vendors.ga4.consent import for_measurement_protocol
from trackway.vendors.ga4.mp import MAX_BODY
from trackway.vendors.ga4.mp_fast import decode_plain_mp
from trackway.vendors.ga4.mp_read import decode_body
from trackway.vendors.ga4.mp_write import DIALECT, group, personal

BASE_URL = "https://www.google-analytics.com"
PATH = "/mp/collect"
DEBUG_PATH = "/debug/mp/collect"  # Google's validation endpoint (``destination test``)
HEADERS: Mapping[str, str] = {"content-type": "application/json"}
_SUFFIX = b"]}"  # what closes a body after its events
# trackway.model.encode_json without its fallback, and what sends it there: see written().
_encode = msgspec.json.Encoder(decimal_format="number").encode
_UNWRITABLE = (ValueError, UnicodeEncodeError, OverflowError, RecursionError)
_ELEMENT = re.compile(r"^\$\.events\[\d+\]")


HINTS = {
    "measurement_id": "the web stream's measurement id (G-...), under Admin > Data streams",
    "api_secret": "a secret made under the stream's Measurement Protocol API secrets",
}


def settings(options: Mapping[str, Any]) -> tuple[str, str, str]:
    """(measurement_id, api_secret, base_url) of ``options``, or a ConfigError saying
    which option is wrong and how to set it."""
    options_.known("ga4", options, Ga4Destination.options)
    values = [options_.text("ga4", options, name, hint) for name, hint in HINTS.items()]
    return values[0], values[1], options_.url("ga4", options, "base_url", BASE_URL).rstrip("/")


def url(options: Mapping[str, Any], *, debug: bool = False) -> str:
    """The request URL, with the measurement id and the API secret in the query."""
    measurement_id, api_secret, base = settings(options)
    query = urlencode({"measurement_id": measurement_id, "api_secret": api_secret})
    return f"{base}{DEBUG_PATH if debug else PATH}?{query}"


def prepare(event: Event, seen: dict[int, tuple[Any, Any]] | None = None) -> Event:
    """``event`` as the destination sends it: its time set (when it happened, else when
    received), Google's consent fields as they may leave (``for_measurement_protocol``), and no
    trait that identifies a person (:func:`~trackway.vendors.ga4.mp_write.personal`).
    ``seen``: the consent objects converted so far in a run (by id, each kept beside its
    result so that its id is not reused): events whose consent is one object (the loader's
    privacy step shares the consent it derives between a request's events) are converted
    once.

    GA4's policy forbids personal data in user properties, and its rules refuse a hash
    there (longer than 36 characters): an MP body's own ``email`` user property, kept as
    sent by the ga4-mp dialect, or its sha256 under ``identifiers = "hash"``, made GA4
    refuse the whole event. Such traits are left out of what is sent."""
    changes: dict[str, Any] = {}
    user = event.user
    if user and any(personal(name) for name in user):
        changes["user"] = {k: v for k, v in user.items() if not personal(k)} or None
    if event.timestamp is None and event.received_at is not None:
        changes["timestamp"] = event.received_at
    if event.extras.get("$timestamp") == "params":  # GA4 reads no time from the params
        changes["extras"] = {**event.extras, "$timestamp": "event"}
    consent = _converted(event.consent, seen) if seen is not None else for_measurement_protocol(event.consent)
    if consent is not event.consent:
        changes["consent"] = consent
    return msgspec.structs.replace(event, **changes) if changes else event


def _converted(consent: dict[str, Any] | None, seen: dict[int, tuple[Any, Any]]) -> dict[str, Any] | None:
    """``for_measurement_protocol(consent)``, once per consent object in ``seen``."""
    if not consent:
        return consent
    hit = seen.get(id(consent))  # held in ``seen``, a consent's id is not reused meanwhile
    if hit is not None:
        converted: dict[str, Any] | None = hit[1]
        return converted
    converted = for_measurement_protocol(consent)
    seen[id(consent)] = (consent, converted)
    return converted


def too_old(event: Event, now: datetime) -> str | None:
    """Why GA4 cannot take ``event`` at ``now`` (older than 72 hours), or None."""
    ts = event.timestamp
    if ts is None:
        return None
    ts = ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)
    now = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    age = now - ts
    if age <= r.MAX_AGE:
        return None
    return (
        f"expected an event within the 72 hours GA4 accepts, got one of {ts:%Y-%m-%d %H:%M:%S} UTC, "
        f"{age.total_seconds() / 3600:.1f} h before {now:%Y-%m-%d %H:%M:%S} UTC; GA4 would record it "
        "72 hours ago, so it is not sent (forward events sooner, or send old ones to another destination)"
    )


def envelope(request: dict[str, Any]) -> tuple[bytes, bytes]:
    """The bytes of a body of ``request``'s fields before and after its events."""
    empty = encode_json({**request, "events": []})
    return empty[: -len(_SUFFIX)], _SUFFIX


def written(rendered: dict[str, Any], request: dict[str, Any]) -> tuple[bytes, list[bytes], bytes | None]:
    """A rendered body's parts as sent (``request``: its fields without the events): the
    bytes before its events (:func:`envelope`'s), each event's, and what ``encode_json``
    gives for the whole body, made of the others rather than written a second time for the
    rules' check (on bench/forward.py's events, encode-only 32,000 -> 35,000 events/s of
    CPU time, 1.08x). The whole body's is None where it could differ from them: where
    ``encode_json`` writes a part in its fallback's form (a value msgspec cannot write; the
    form can depend on the part's depth), or the body's events took the place of a request
    extra named ``events``."""
    events = rendered["events"]
    try:
        prefix = _encode({**request, "events": []})[: -len(_SUFFIX)]
        parts = [_encode(element) for element in events]
    except _UNWRITABLE:
        return envelope(request)[0], [encode_json(element) for element in events], None
    if next(reversed(rendered)) != "events":
        return prefix, parts, None
    return prefix, parts, prefix + b",".join(parts) + _SUFFIX


def fitting(overhead: int, parts: list[tuple[str, bytes]], refused: list[Refusal]) -> list[tuple[str, bytes]]:
    """``parts`` (event id, its element's bytes) that fit a body with ``overhead`` bytes
    of request fields alone; the others go to ``refused``."""
    out = []
    for event_id, part in parts:
        if overhead + len(part) < MAX_BODY:
            out.append((event_id, part))
            continue
        reason = (
            f"expected a Measurement Protocol body under {MAX_BODY} bytes, got {overhead + len(part)} "
            "for this event alone; GA4 would reject it. Send fewer or shorter parameters and items"
        )
        refused.append(Refusal(event_id, reason))
    return out


def checked(
    rendered: dict[str, Any], members: list[int], now: datetime, data: bytes | None = None
) -> dict[int, list[Issue]]:
    """What GA4's rules reject in a rendered body (``data``: its JSON, when the caller has
    it): the errors of each event that has some (an error of the request's fields is every
    event's)."""
    found = ErrorsOnly()
    ctx = DecodeContext(received_at=now)
    # The typed fast path on the body's JSON gives exactly the general path's issues for a
    # body it takes (tests/vendors/ga4/test_ga4_mp_fast.py), in a fraction of the time;
    # a body it steps aside from is checked by the general path, as before.
    if decode_plain_mp(encode_json(rendered) if data is None else data, DIALECT, ctx, found) is None:
        decode_body(rendered, DIALECT, ctx, found)
    errors: dict[int, list[Issue]] = {}
    for issue in found.items:
        if issue.is_error:
            at = [members[issue.event]] if 0 <= issue.event < len(members) else members
            for n in at:
                errors.setdefault(n, []).append(issue)
    return errors


def rejected(errors: list[Issue]) -> str:
    """The reason of a refusal for what GA4's rules reject, paths as in a body of the event
    alone (``$.events[0]...``: the body it was checked in is never sent)."""
    said = "; ".join(f"{_ELEMENT.sub('$.events[0]', i.path)}: {i.message}" for i in errors)
    return (
        f"GA4 would drop this event (the Measurement Protocol's rules reject it), so it is not sent: {said}"
    )


def _order_key(request: Mapping[str, Any]) -> str | None:
    """A request's ordering key (for ``in_flight`` above 1): the client it is from."""
    if request.get("client_id"):
        return f"client_id:{request['client_id']}"
    if request.get("app_instance_id"):
        return f"app_instance_id:{request['app_instance_id']}"
    return None


class Ga4Destination:
    """The ``ga4`` destination type (trackway.destinations.base.Encoder)."""

    type = "ga4"
    options: Sequence[str] = ("measurement_id", "api_secret", "base_url")
    secrets = frozenset({"api_secret"})

    def encode(
        self, events: Sequence[Event], options: Mapping[str, Any], now: datetime, *, debug: bool = False
    ) -> Encoded:
        """``events`` as MP requests (``debug``: to the validation endpoint)."""
        target = url(options, debug=debug)
        out = Encoded()
        sendable: list[Event] = []
        seen: dict[int, tuple[Any, Any]] = {}  # consent objects converted (see prepare)
        for event in events:
            event = prepare(event, seen)
            why = too_old(event, now)
            if why is None:
                sendable.append(event)
            else:
                out.refused.append(Refusal(event.id, why))
        # same request fields: the fields, the bytes before the events, the events' parts
        runs: list[tuple[dict[str, Any], bytes, list[tuple[str, bytes]]]] = []
        for rendered, members in group(sendable, ErrorsOnly()):
            request = {k: v for k, v in rendered.items() if k != "events"}
            prefix, elements, data = written(rendered, request)
            bad = checked(rendered, members, now, data)
            for n, errors in bad.items():
                out.refused.append(Refusal(sendable[n].id, rejected(errors)))
            ok = [(sendable[n].id, part) for n, part in zip(members, elements, strict=True) if n not in bad]
            parts = fitting(len(prefix) + len(_SUFFIX), ok, out.refused)
            if runs and runs[-1][0] == request:
                runs[-1][2].extend(parts)  # cut by group() at 25 events, or by refused events between
            elif parts:
                runs.append((request, prefix, parts))
        for request, prefix, parts in runs:
            key = _order_key(request)
            batches, _ = batching.pack(  # each part fits alone: nothing refused here
                parts,
                max_events=r.MAX_EVENTS,
                max_bytes=MAX_BODY - 1,  # "smaller than 130 kB"
                overhead=len(prefix) + len(_SUFFIX),
                what="GA4's body limit",
            )
            for batch in batches:
                body = batching.body(prefix, batch, _SUFFIX)
                ids = tuple(i for i, _ in batch)
                out.requests.append(Outgoing("POST", target, HEADERS, body, ids, order_key=key))
        return out


ENCODER = Ga4Destination()
