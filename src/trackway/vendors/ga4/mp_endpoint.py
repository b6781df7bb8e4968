"""``POST /mp/collect`` and ``POST /debug/mp/collect``: the GA4 Measurement Protocol.

As Google does, ``/mp/collect`` answers 204 whenever it received the request from a
known key, whether the events are valid or not (a malformed body included): the body
is committed as received and the loader decodes it, storing invalid events in
``failed_events``. ``/debug/mp/collect`` validates and answers
``{"validationMessages": [...]}``, and stores nothing; like Google's, it does not
check the keys.
"""

from __future__ import annotations

from datetime import UTC, datetime

import trackway
from trackway.config import Config, Property
from trackway.errors import ParseError
from trackway.ingest.records import RAW
from trackway.issues import Issue, Severity
from trackway.server.app import Collector
from trackway.server.http import HttpError, Request, Send, parse_query, respond, respond_json
from trackway.vendors.ga4.mp import validation_messages

MAX_BODY = 130_000  # "post body must be smaller than 130 kB"
ENDPOINT = "/mp/collect"
_TYPES = frozenset({"application/json", "text/plain", ""})


def _check_type(request: Request) -> None:
    kind = request.media_type()
    if kind not in _TYPES:
        raise HttpError(415, f"expected Content-Type application/json, got {kind!r}; send the body as JSON")


def _property(cfg: Config, query_string: bytes) -> Property | None:
    q = parse_query(query_string)
    return cfg.keyring.find(
        "ga4", (q.get("measurement_id") or q.get("firebase_app_id") or "", q.get("api_secret", ""))
    )


async def collect(c: Collector, request: Request, send: Send) -> int:
    # The busiest endpoint: each line here costs measurably (docs/performance.md).
    prop = c.lookup_raw("ga4", request.scope.get("query_string", b""), _property)
    if prop is None:
        q = request.query
        given = q.get("measurement_id") or q.get("firebase_app_id") or q.get("api_secret")
        raise HttpError(
            401,
            "expected the measurement_id and api_secret of a property in the query string, got "
            + ("an unknown pair" if given else "none")
            + "; `trackway property list` shows them",
        )
    _check_type(request)
    body = await request.read(MAX_BODY)
    await c.commit(c.record(RAW, ENDPOINT, prop.name, request, dialect="ga4-mp", body=body))
    await respond(send, 204, content_type=None)
    return 204


async def debug(c: Collector, request: Request, send: Send) -> int:
    _check_type(request)
    body = await request.read(MAX_BODY)
    try:
        decoded = trackway.decode("ga4-mp", body, received_at=datetime.now(UTC))
        issues = decoded.issues
    except ParseError as exc:
        issues = [
            Issue(
                "$",
                "VALUE_INVALID",
                Severity.ERROR,
                f"expected a JSON body, got text that does not parse: {exc}",
            )
        ]
    await respond_json(send, 200, {"validationMessages": validation_messages(issues)})
    return 200
