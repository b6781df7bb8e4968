"""``GET /demo/shop``: a small shop page whose own tracking code (a GTM GA4 dataLayer,
gtag consent mode, ``cact()`` and ``convead()`` calls) reaches this collector through
the browser tracker, ``/t.js``. Served only while the server's ``demo_shop`` setting
names a property (``trackway demo`` sets it): a 404 otherwise, as for any unknown path."""

from __future__ import annotations

import html
from importlib import resources

from trackway.errors import HttpError
from trackway.server.app import Collector
from trackway.server.http import Request, Send, respond

PAGE = "shop.html"
_TYPE = b"text/html; charset=utf-8"


async def shop(c: Collector, request: Request, send: Send) -> int:
    name = c.server["demo_shop"]
    prop = c.config.properties.get(name) if name else None
    if prop is None:
        raise HttpError(404, f"no endpoint at {request.path}; see /openapi.json for the endpoints")
    text = resources.files("trackway.tracker").joinpath(PAGE).read_text(encoding="utf-8")
    page = text.replace("{{KEY}}", html.escape(prop["collect_key"]))
    page = page.replace("{{PROPERTY}}", html.escape(name))
    await respond(send, 200, page.encode(), _TYPE, [(b"cache-control", b"no-store")])
    return 200
