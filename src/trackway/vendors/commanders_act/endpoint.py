"""``POST /events`` and ``POST /events/batch``: the Commanders Act HTTP tracking API.

Authentication as Commanders Act's: the site id in ``tc_s`` and the source key as
the ``token`` query parameter or ``Authorization: Bearer``. The answers are the
vendor's: 200, and 400 for a body that is not JSON or is over the limits (32 KB per
event, 500 KB per batch). Invalid events are answered 200 too and land in
``failed_events``: the body is committed as received and the loader decodes it.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from trackway.config import Config, Property
from trackway.ingest.records import RAW
from trackway.server.app import Collector
from trackway.server.http import HttpError, Request, Send, decimal, parse_json, parse_query, respond_json

EVENT_MAX = 32 * 1024
BATCH_MAX = 500 * 1024
_TYPES = frozenset({"application/json", "text/plain", ""})
_encode = msgspec.json.Encoder()
# Numbers read as /collect reads them (server.http.decimal): 1e999, which no float holds, was
# refused whole here (400, nothing stored) while /collect and /mp/collect store it and the
# loader reports VALUE_OUT_OF_BOUNDS; past the number limits both refuse it.
_decode = msgspec.json.Decoder(float_hook=decimal).decode


def _credentials(query: Mapping[str, str], authorization: str) -> tuple[str, str]:
    """(site id, source key): the key from ``token=``, else from ``Authorization: Bearer``."""
    token = query.get("token", "")
    if not token and authorization[:7].lower() == "bearer ":
        token = authorization[7:].strip()
    return query.get("tc_s", ""), token


def _property(cfg: Config, raw: bytes) -> Property | None:
    query_string, _, authorization = raw.partition(b"\n")
    return cfg.keyring.find(
        "commanders_act", _credentials(parse_query(query_string), authorization.decode("latin-1"))
    )


def _auth(c: Collector, request: Request) -> Property:
    authorization = request.headers.get(b"authorization", b"")
    raw = request.scope.get("query_string", b"") + b"\n" + authorization  # HTTP allows no newline in either
    prop = c.lookup_raw("commanders-act", raw, _property)
    if prop is None:
        site, token = _credentials(request.query, authorization.decode("latin-1"))
        got = (
            "no site id (tc_s)"
            if not site
            else "no source key"
            if not token
            else "an unknown site id and key"
        )
        raise HttpError(
            401,
            f"expected the site id as tc_s and the source key as token= or Authorization: Bearer, got {got}; "
            "`trackway property list` shows them",
        )
    return prop


async def _receive(c: Collector, request: Request, send: Send, *, batch: bool) -> int:
    prop = _auth(c, request)
    kind = request.media_type()
    if kind not in _TYPES:
        raise HttpError(415, f"expected Content-Type application/json, got {kind!r}; send the body as JSON")
    limit = BATCH_MAX if batch else EVENT_MAX
    body = await request.read(limit, over=400, what="batch" if batch else "event body")
    value = parse_json(_decode, body)
    count = 1
    if batch:
        events = value.get("batch") if isinstance(value, dict) else None
        if not isinstance(events, list):
            raise HttpError(
                400, 'expected a batch body {"batch": [event, ...]}, got another shape; wrap the events'
            )
        for n, event in enumerate(events):
            size = len(_encode.encode(event))
            if size > EVENT_MAX:
                raise HttpError(
                    400, f"expected events of at most {EVENT_MAX} bytes, got {size} at batch[{n}]; split it"
                )
        count = len(events)
    c.metrics.observe(
        "trackway_request_events", count, (1, 2, 5, 10, 25, 50, 100, 250, 500), endpoint=request.path
    )
    meta = {"site": request.query.get("tc_s", "")}
    await c.commit(
        c.record(RAW, request.path, prop.name, request, dialect="commanders-act", body=body, meta=meta)
    )
    await respond_json(send, 200, {"status": "ok", "events": count})
    return 200


async def event(c: Collector, request: Request, send: Send) -> int:
    return await _receive(c, request, send, batch=False)


async def batch(c: Collector, request: Request, send: Send) -> int:
    return await _receive(c, request, send, batch=True)
