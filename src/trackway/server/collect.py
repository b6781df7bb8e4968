"""``POST /collect``: Trackway's own batch endpoint for browsers and servers.

Body (``application/json``, or ``text/plain`` as ``navigator.sendBeacon`` sends it)::

    {"key": "...", "anonymous_id": "...", "user_id": "...", "context": {...},
     "consent": {...}, "ids": {...}, "dialect": "auto", "events": [payload, ...]}

Each payload is any dialect's form (a gtag array, a GTM or Koalect object, a cact or
convead call array, a Commanders Act or MP body), read with ``dialect`` (``auto`` by
default: detected per payload) or wrapped as ``{"payload": ..., "dialect": NAME,
"id": CALL_ID}`` (each key but ``payload`` optional; the browser tracker sends every
call so, with an id the server deduplicates by: server/guest.py). The envelope's ids
and context fill what the events do not carry; its ``ids`` (the vendors' own ids of the
device) are kept in each event's ``context["ids"]`` and link the device's person in the
identity graph. With ``"cookie": true`` (the tracker's) the collector keeps the guest id
in its ``tw_id`` cookie (server/guest.py). The answer is 200 with a result per payload
(and that guest id); each rejected payload is stored in ``failed_events``. CORS:
browsers may call it, with credentials, from the origins listed in the property's
``cors_origins``.
"""

from __future__ import annotations

from typing import Any

import msgspec

import trackway
from trackway import vendors
from trackway.config import Property
from trackway.errors import ParseError, UnknownDialectError
from trackway.ingest import pipeline, records
from trackway.ingest.records import DECODED
from trackway.issues import Issue, Severity, describe, describe_key
from trackway.privacy import consent
from trackway.server import guest
from trackway.server.app import Collector
from trackway.server.http import HttpError, Request, Send, decimal, parse_json, respond

_TYPES = frozenset({"application/json", "text/plain", ""})
_decode = msgspec.json.Decoder(float_hook=decimal).decode
_encode = msgspec.json.Encoder(decimal_format="number")
_ENVELOPE = ("anonymous_id", "user_id", "context", "consent", "ids", "dialect", "cookie")
# The envelope's context and consent, copied into each of its events, times the events: a
# 250 kB context sent with 200 payloads made 50 MB of log from a 255 kB request.
MAX_SHARED = 8 << 20
_UNIT = frozenset({"payload", "dialect", "id"})


def allowed_origin(origins: list[str], origin: str | None) -> bool:
    return origin is not None and ("*" in origins or origin in origins)


def _cors(origin: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-allow-credentials", b"true"),  # the tracker's guest id cookie
        (b"access-control-expose-headers", b"Retry-After"),  # the tracker waits as a 503 asks
        (b"vary", b"Origin"),
    ]


def _listed(c: Collector, origin: str | None) -> bool:
    """Whether any property lists ``origin`` in its cors_origins."""
    return any(allowed_origin(p["cors_origins"], origin) for p in c.config.properties.values())


async def preflight(c: Collector, request: Request, send: Send) -> int:
    """The browser asks before a JSON POST; the key is in the body it has not sent yet,
    so any property listing the origin allows it (the POST checks its own property)."""
    origin = request.header(b"origin")
    if not _listed(c, origin):
        await respond(send, 403, content_type=None)
        return 403
    assert origin is not None
    headers = [
        *_cors(origin),
        (b"access-control-allow-methods", b"POST, OPTIONS"),
        (b"access-control-allow-headers", b"Content-Type, Content-Encoding"),
        (b"access-control-max-age", b"86400"),
    ]
    await respond(send, 204, content_type=None, headers=headers)
    return 204


def _result(n: int, decoded: trackway.Decoded, ids: list[str]) -> dict[str, Any]:
    return {
        "index": n,
        "dialect": decoded.dialect,
        # a payload is accepted when every event of it is stored; a consent command when it applies;
        # a non-event (a gtag config command, GTM's {ecommerce: null}) when it is valid: it gives no event
        "accepted": decoded.valid,
        "events": ids,
        "issues": [i.to_json() for i in decoded.issues],
    }


def _command(payload: Any) -> vendors.ConsentCommand | None:
    """The consent command ``payload`` is (gtag's ``['consent', ...]``), or None."""
    for command in vendors.consent_commands():
        if command.matches(payload):
            return command
    return None


def _unit(item: Any, default: str) -> tuple[str, Any, str | None]:
    """A payload's dialect, the payload, and its call id (None: the server makes the
    events' ids). A wrapper is a dict of ``payload`` and optionally ``dialect`` and
    ``id``; anything else is a payload."""
    if isinstance(item, dict) and "payload" in item and item.keys() <= _UNIT:
        dialect = item.get("dialect", default)
        if isinstance(dialect, str):
            return dialect, item["payload"], guest.valid_id(item.get("id"))
    return default, item, None


async def batch(c: Collector, request: Request, send: Send) -> int:
    """``POST /collect`` (:func:`_batch`). An error answer carries the CORS headers too,
    for any origin: without them a browser could not read it, and the tracker would take
    a 400, a 401 or the 403 of an origin no property lists (a site's first install) for a
    network error and send the batch again and again. An error tells a page nothing the
    request did not (no cookie is read or set); a success is readable by a listed origin only."""
    try:
        return await _batch(c, request, send)
    except HttpError as exc:
        origin = request.header(b"origin")
        if origin is not None and not _same_origin(request, origin):
            exc.headers = [*exc.headers, *_cors(origin)]  # a new list: RETRY is shared
        raise


async def _batch(c: Collector, request: Request, send: Send) -> int:
    """Read the envelope, find its property, check the origin and the limits, then read
    the payloads in order, store the batch as one record and answer per payload."""
    envelope = await _envelope(c, request)
    prop = _property(c, request, envelope)
    headers = _cors_headers(prop, request)
    payloads = _payloads(c, envelope)
    default = envelope.get("dialect", "auto")
    if not isinstance(default, str):  # it was read as "auto", silently
        raise HttpError(
            400,
            f'expected "dialect" as a dialect\'s name or "auto", got {describe(default)}; '
            "leave it out to detect each payload's",
        )
    for field in ("consent", "context", "ids"):
        value = envelope.get(field)
        if value is not None and not isinstance(value, dict):  # a consent of "denied" was no signal
            raise HttpError(
                400,
                f'expected "{field}" as an object, got {describe(value)}; send '
                + (
                    '{"analytics_storage": "denied", ...} (docs/tracker.md)'
                    if field == "consent"
                    else "an object"
                ),
            )
    kept = _guest(request, prop, envelope)
    reading = _Reading(
        prop, envelope, c.record(DECODED, "/collect", prop.name, request, meta=_meta(envelope))
    )
    for n, item in enumerate(payloads):
        dialect, payload, call = _unit(item, default)
        command = _command(payload)
        if command is not None:
            reading.consent_command(n, command, payload)
        else:
            reading.payload(n, dialect, payload, call)
    await c.commit(reading.record_of_batch())
    answer = reading.answer()
    if envelope.get("cookie") is True:  # the browser tracker: the collector keeps its guest id
        if not guest.allowed(prop, envelope.get("consent"), reading.consent):
            if guest.cookie_id(request) is not None:
                headers.append(guest.set_cookie(request, None))  # consent denied or withdrawn: it goes
        elif kept is not None:
            answer["anonymous_id"] = kept
            headers.append(guest.set_cookie(request, kept))
    await respond(send, 200, _encode.encode(answer), headers=headers)
    return 200


def _guest(request: Request, prop: Property, envelope: dict[str, Any]) -> str | None:
    """For an envelope with ``"cookie": true`` (the browser tracker's), the guest id its
    events get: the envelope's ``anonymous_id`` when it names one, else the ``tw_id``
    cookie's, else a new one; None when the envelope's consent allows none, or when the
    envelope does not ask for the cookie (its ids are then its own business)."""
    if envelope.get("cookie") is not True or not guest.allowed(prop, envelope.get("consent"), {}):
        return None
    sent = envelope.get("anonymous_id")
    if isinstance(sent, str) and sent:
        return guest.valid_id(sent)
    kept = guest.cookie_id(request) or guest.new_id()
    envelope["anonymous_id"] = kept
    return kept


async def _envelope(c: Collector, request: Request) -> dict[str, Any]:
    """The request body's JSON object (415 for another type, 400 for another value)."""
    kind = request.media_type()
    if kind not in _TYPES:
        raise HttpError(415, f"expected Content-Type application/json or text/plain, got {kind!r}")
    body = await request.read(c.server["collect_max_body"])
    envelope = parse_json(_decode, body)
    if not isinstance(envelope, dict):
        raise HttpError(400, 'expected a JSON object {"key", "events": [...]}, got another JSON value')
    return envelope


def _property(c: Collector, request: Request, envelope: dict[str, Any]) -> Property:
    """The property whose collect key the envelope (or else the query) names; 401 otherwise."""
    key = envelope.get("key") or request.query.get("key") or ""
    prop = c.lookup(lambda cfg: cfg.keyring.find("collect", key) if isinstance(key, str) else None)
    if prop is None:
        raise HttpError(
            401,
            'expected the property\'s collect key as "key", got ' + ("none" if not key else "an unknown key"),
        )
    return prop


def _cors_headers(prop: Property, request: Request) -> list[tuple[bytes, bytes]]:
    """The CORS headers of the answer to a browser's request; 403 for an origin the
    property does not list; none for a request without an origin."""
    origin = request.header(b"origin")
    if origin is None or _same_origin(request, origin):  # a page the collector serves (/demo/shop)
        return []
    if not allowed_origin(prop["cors_origins"], origin):
        raise HttpError(
            403, f"the origin {origin} is not in this property's cors_origins; add it to trackway.toml"
        )
    return _cors(origin)


def _same_origin(request: Request, origin: str) -> bool:
    """Whether ``origin`` is the collector's own (browsers send Origin on a same-origin POST too)."""
    host = request.header(b"host")
    return host is not None and origin.partition("://")[2] == host


def _payloads(c: Collector, envelope: dict[str, Any]) -> list[Any]:
    """The envelope's payloads, within ``collect_max_events`` (400 otherwise), counted."""
    payloads = envelope.get("events")
    if not isinstance(payloads, list):
        raise HttpError(
            400,
            'expected "events" as an array of payloads, got '
            + describe_key(envelope, "events")
            + ': send {"key": ..., "events": [payload, ...]}',
        )
    limit = c.server["collect_max_events"]
    if len(payloads) > limit:
        raise HttpError(
            400,
            f"expected at most {limit} payloads per batch, got {len(payloads)}; send several batches",
            code="EXCEEDED_MAX_ENTITIES",
        )
    shared = sum(
        len(_encode.encode(envelope[k])) for k in ("context", "consent") if isinstance(envelope.get(k), dict)
    )
    if shared * len(payloads) > MAX_SHARED:
        raise HttpError(
            400,
            f"expected the envelope's context and consent ({shared:,} bytes) times its "
            f"{len(payloads)} payloads to come to at most {MAX_SHARED >> 20} MiB, since every event "
            f"keeps a copy of them; got {shared * len(payloads):,} bytes: send fewer payloads a batch, "
            "or a smaller context",
            code="EXCEEDED_MAX_ENTITIES",
        )
    c.metrics.observe(
        "trackway_request_events", len(payloads), (1, 2, 5, 10, 25, 50, 100, 250, 500), endpoint="/collect"
    )
    return payloads


def _meta(envelope: dict[str, Any]) -> dict[str, str]:
    """The record's meta: the envelope's fields, as JSON text (exact decimals, integers of any size)."""
    kept = {k: envelope[k] for k in _ENVELOPE if k in envelope}
    return {records.ENVELOPE: _encode.encode(kept).decode()} if kept else {}


def _read(dialect: str, payload: Any, prop: Property) -> trackway.Decoded:
    """The payload decoded; an unknown dialect or text that does not parse is its error."""
    try:
        return trackway.decode(dialect, payload, default_currency=prop.default_currency, property=prop.name)
    except UnknownDialectError as exc:
        return trackway.Decoded(
            dialect=dialect, events=[], issues=[Issue("$", "DIALECT_UNKNOWN", Severity.ERROR, str(exc))]
        )
    except ParseError as exc:  # a payload sent as text (JSON or JavaScript) that does not parse
        message = f"expected a payload, got text that does not parse: {exc}"
        return trackway.Decoded(
            dialect=dialect if dialect != "auto" else "unknown",
            events=[],
            issues=[Issue("$", "PAYLOAD_INVALID", Severity.ERROR, message)],
        )


class _Reading:
    """One batch's payloads read in order: the events and failures of its record, the
    consent its gtag consent commands set so far, and a result per payload."""

    __slots__ = ("consent", "envelope", "ordinal", "out", "prop", "record", "results")

    def __init__(self, prop: Property, envelope: dict[str, Any], record: records.Record) -> None:
        self.prop = prop
        self.envelope = envelope
        self.record = record
        self.out = records.Outcome()
        self.results: list[dict[str, Any]] = []
        self.ordinal = 0
        self.consent: dict[str, str] = {}  # the consent state the batch's commands set so far

    def consent_command(self, n: int, command: vendors.ConsentCommand, payload: Any) -> None:
        """A consent command (gtag's) sets the consent of the payloads after it."""
        decoded = trackway.Decoded(dialect=command.name, events=[], issues=command.issues(payload))
        self.consent = command.apply(self.consent, payload)
        self.results.append(_result(n, decoded, []))
        if not decoded.valid:  # a command that could not be applied is kept, as any bad payload
            self._split(decoded, payload, None)

    def payload(self, n: int, dialect: str, payload: Any, call: str | None = None) -> None:
        decoded = _read(dialect, payload, self.prop)
        if call is not None:
            guest.call_ids(decoded.events, call)
        for event in decoded.events:  # the batch's consent commands apply to the payloads after them
            event.consent = consent.merge_signals(event.consent, self.consent, None)
        pipeline.apply_envelope(decoded.events, self.envelope)
        before = len(self.out.events)
        self._split(decoded, payload, call)
        self.results.append(_result(n, decoded, [e.id for e in self.out.events[before:]]))

    def _split(self, decoded: trackway.Decoded, payload: Any, call: str | None) -> None:
        self.ordinal = pipeline.split(
            decoded, _encode.encode(payload), self.out, self.record, self.ordinal, self.prop, call
        )

    def record_of_batch(self) -> records.Record:
        """The record, with the batch's events, client ids and failures."""
        self.record.events = [records.event_json(e) for e in self.out.events]
        self.record.client_ids = self.out.client_ids
        self.record.failed = self.out.failed
        return self.record

    def answer(self) -> dict[str, Any]:
        accepted = sum(r["accepted"] for r in self.results)
        return {"accepted": accepted, "rejected": len(self.results) - accepted, "results": self.results}
