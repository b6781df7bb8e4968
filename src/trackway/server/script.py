"""``GET /t.js``: the browser tracker (trackway/tracker), minified and gzipped when the
browser accepts it, cached by browsers and CDNs for ``tracker_cache_seconds`` and
revalidated by its ETag (a 304 without a body when it has not changed)."""

from __future__ import annotations

from typing import Protocol

from trackway import tracker
from trackway.server.app import Collector
from trackway.server.http import Request, Send, respond

_TYPE = b"text/javascript; charset=utf-8"


def accepts_gzip(request: Request) -> bool:
    accepted = request.header(b"accept-encoding") or ""
    for part in accepted.split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


async def serve(c: Collector, request: Request, send: Send) -> int:
    built = tracker.script()
    seconds = c.server["tracker_cache_seconds"]
    headers = [
        (b"etag", built.etag),
        (b"cache-control", f"public, max-age={seconds}, stale-while-revalidate={seconds}".encode()),
        (b"vary", b"Accept-Encoding"),
        (b"x-content-type-options", b"nosniff"),
        (b"cross-origin-resource-policy", b"cross-origin"),  # sites on other origins load it
    ]
    return await respond_static(request, send, built, _TYPE, headers)


class Built(Protocol):
    """A file served as built once per process: its bytes, gzipped, and its ETag."""

    @property
    def plain(self) -> bytes: ...

    @property
    def gzipped(self) -> bytes: ...

    @property
    def etag(self) -> bytes: ...


async def respond_static(
    request: Request, send: Send, built: Built, content_type: bytes, headers: list[tuple[bytes, bytes]]
) -> int:
    """``built``, gzipped when the browser takes it, or a 304 when its ETag is one the
    browser names (``headers``: the answer's others, the ETag among them)."""
    tags = request.header(b"if-none-match") or ""
    if built.etag.decode() in {t.strip().removeprefix("W/") for t in tags.split(",")} or tags.strip() == "*":
        await respond(send, 304, content_type=None, headers=headers)
        return 304
    if accepts_gzip(request):
        headers.append((b"content-encoding", b"gzip"))
        await respond(send, 200, built.gzipped, content_type, headers)
    else:
        await respond(send, 200, built.plain, content_type, headers)
    return 200
