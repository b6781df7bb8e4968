"""``POST /collect``: Trackway's own batch endpoint for browsers and servers.

Body (``application/json``, or ``text/plain`` as ``navigator.sendBeacon`` sends it)::

    {"key": "...", "anonymous_id": "...", "user_id": "...", "context": {...},
     "dialect": "auto", "events": [payload, ...]}

Each payload is any dialect's form (a gtag array, a GTM or Koalect object, a cact or
convead call array, a Commanders Act or MP body), read with ``dialect`` (``auto`` by
default: detected per payload) or wrapped as ``{"dialect": NAME, "payload": ...}``.
The envelope's ids and context fill what the events do not carry. The answer is 200
with a result per payload; each rejected payload is stored in ``failed_events``.
CORS: browsers may call it from the origins listed in the property's
``cors_origins``.
"""

from __future__ import annotations

from typing import Any

import msgspec

import trackway
from trackway.errors import ParseError, UnknownDialectError
from trackway.ingest import pipeline, records
from trackway.ingest.records import DECODED
from trackway.issues import Issue, Severity
from trackway.privacy import consent
from trackway.server.app import Collector
from trackway.server.http import HttpError, Request, Send, decimal, parse_json, respond

_TYPES = frozenset({"application/json", "text/plain", ""})
_decode = msgspec.json.Decoder(float_hook=decimal).decode
_encode = msgspec.json.Encoder(decimal_format="number")
_ENVELOPE = ("anonymous_id", "user_id", "context", "consent", "dialect")
CONSENT_COMMAND = "gtag-consent"  # the "dialect" a result names for a gtag consent command


def allowed_origin(origins: list[str], origin: str | None) -> bool:
    return origin is not None and ("*" in origins or origin in origins)


def _cors(origin: str) -> list[tuple[bytes, bytes]]:
    return [(b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin")]


async def preflight(c: Collector, request: Request, send: Send) -> int:
    """The browser asks before a JSON POST; the key is in the body it has not sent yet,
    so any property listing the origin allows it (the POST checks its own property)."""
    origin = request.header(b"origin")
    if not any(allowed_origin(p["cors_origins"], origin) for p in c.config.properties.values()):
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


def _unit(item: Any, default: str) -> tuple[str, Any]:
    if isinstance(item, dict) and set(item) == {"dialect", "payload"} and isinstance(item["dialect"], str):
        return item["dialect"], item["payload"]
    return default, item


async def batch(c: Collector, request: Request, send: Send) -> int:
    kind = request.media_type()
    if kind not in _TYPES:
        raise HttpError(415, f"expected Content-Type application/json or text/plain, got {kind!r}")
    body = await request.read(c.server["collect_max_body"])
    envelope = parse_json(_decode, body)
    if not isinstance(envelope, dict):
        raise HttpError(400, 'expected a JSON object {"key", "events": [...]}, got another JSON value')
    key = envelope.get("key") or request.query.get("key") or ""
    prop = c.lookup(lambda cfg: cfg.keyring.find("collect", key) if isinstance(key, str) else None)
    if prop is None:
        raise HttpError(
            401,
            'expected the property\'s collect key as "key", got ' + ("none" if not key else "an unknown key"),
        )
    origin = request.header(b"origin")
    headers: list[tuple[bytes, bytes]] = []
    if origin is not None:
        if not allowed_origin(prop["cors_origins"], origin):
            raise HttpError(
                403, f"the origin {origin} is not in this property's cors_origins; add it to trackway.toml"
            )
        headers = _cors(origin)
    payloads = envelope.get("events")
    if not isinstance(payloads, list):
        raise HttpError(400, 'expected "events" as an array of payloads, got ' + type(payloads).__name__)
    limit = c.server["collect_max_events"]
    if len(payloads) > limit:
        raise HttpError(
            400,
            f"expected at most {limit} payloads per batch, got {len(payloads)}; send several batches",
            code="EXCEEDED_MAX_ENTITIES",
        )
    c.metrics.observe(
        "trackway_request_events", len(payloads), (1, 2, 5, 10, 25, 50, 100, 250, 500), endpoint="/collect"
    )
    default = envelope.get("dialect", "auto")
    # The envelope goes into the log as JSON text: exact decimals and integers of any size.
    kept = {k: envelope[k] for k in _ENVELOPE if k in envelope}
    meta = {records.ENVELOPE: _encode.encode(kept).decode()} if kept else {}
    record = c.record(DECODED, "/collect", prop.name, request, meta=meta)
    out = records.Outcome()
    results = []
    ordinal = 0
    batch_consent: dict[str, str] = {}  # Google consent mode state from gtag consent commands so far
    for n, item in enumerate(payloads):
        dialect, payload = _unit(item, default if isinstance(default, str) else "auto")
        if consent.is_command(payload):
            decoded = trackway.Decoded(
                dialect=CONSENT_COMMAND, events=[], issues=consent.issues_of_command(payload)
            )
            batch_consent = consent.apply_command(batch_consent, payload)
            results.append(_result(n, decoded, []))
            if not decoded.valid:  # a command that could not be applied is kept, as any bad payload
                ordinal = pipeline.split(decoded, _encode.encode(payload), out, record, ordinal, prop)
            continue
        try:
            decoded = trackway.decode(
                dialect, payload, default_currency=prop.default_currency, property=prop.name
            )
        except UnknownDialectError as exc:
            decoded = trackway.Decoded(
                dialect=dialect, events=[], issues=[Issue("$", "DIALECT_UNKNOWN", Severity.ERROR, str(exc))]
            )
        except ParseError as exc:  # a payload sent as text (JSON or JavaScript) that does not parse
            message = f"expected a payload, got text that does not parse: {exc}"
            decoded = trackway.Decoded(
                dialect=dialect if dialect != "auto" else "unknown",
                events=[],
                issues=[Issue("$", "PAYLOAD_INVALID", Severity.ERROR, message)],
            )
        for event in decoded.events:  # the batch's consent commands apply to the payloads after them
            event.consent = consent.merge_signals(event.consent, batch_consent, None)
        pipeline.apply_envelope(decoded.events, envelope)
        before = len(out.events)
        ordinal = pipeline.split(decoded, _encode.encode(payload), out, record, ordinal, prop)
        results.append(_result(n, decoded, [e.id for e in out.events[before:]]))
    record.events = [records.event_json(e) for e in out.events]
    record.client_ids = out.client_ids
    record.failed = out.failed
    await c.commit(record)
    accepted = sum(r["accepted"] for r in results)
    answer = {"accepted": accepted, "rejected": len(results) - accepted, "results": results}
    await respond(send, 200, _encode.encode(answer), headers=headers)
    return 200
