"""``POST /watch/event``: the Convead and InSend tracker API.

The fields ``app_key``, ``visitor_uid``, ``guest_uid`` and ``data`` come form-encoded
in the body or in the query string (the body wins). 200 on success; 400 with a JSON
body listing the issues when the event is invalid (it is stored in
``failed_events`` all the same); 401 for an unknown ``app_key``.
"""

from __future__ import annotations

import msgspec

import trackway
from trackway.server.app import Collector
from trackway.server.http import HttpError, Request, Send, form, respond_json

MAX_BODY = 64 * 1024
REDACTED = "[redacted]"  # what a stored failed payload holds in place of the app_key
_FORM = "application/x-www-form-urlencoded"
_encode = msgspec.json.Encoder()


async def event(c: Collector, request: Request, send: Send) -> int:
    kind = request.media_type()
    if kind not in (_FORM, "", "text/plain"):
        raise HttpError(415, f"expected Content-Type {_FORM}, got {kind!r}; send the fields form-encoded")
    body = await request.read(c.server["convead_max_body"])
    fields = form(body, request.query) if body else dict(request.query)
    app_key = fields.get("app_key", "")
    prop = c.lookup(lambda cfg: cfg.keyring.find("convead", app_key))
    if prop is None:
        got = "none" if not app_key else "an unknown one"
        raise HttpError(
            401, f"expected the app_key of a property, got {got}; `trackway property list` shows them"
        )
    decoded = trackway.decode("convead", dict(fields), default_currency=prop.default_currency)
    stored = {**fields, "app_key": REDACTED} if "app_key" in fields else fields  # a credential: never stored
    await c.commit_decoded(request, prop, decoded, _encode.encode(stored))
    errors = [i.to_json() for i in decoded.issues if i.is_error]
    if errors or not decoded.events:
        await respond_json(
            send, 400, {"error": "the event is invalid; it was stored in failed_events", "issues": errors}
        )
        return 400
    await respond_json(send, 200, {"status": "ok"})
    return 200
