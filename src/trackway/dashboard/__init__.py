"""The dashboard's page, scripts and styles: plain files in ``static/`` that ship in the
package and are served as they are (no build step, no CDN). server/dashboard.py serves
them; each is read once per process, gzipped, and tagged by a hash of its bytes."""

from __future__ import annotations

import functools
import gzip
import hashlib
from dataclasses import dataclass
from importlib import resources

TYPES = {
    ".html": b"text/html; charset=utf-8",
    ".js": b"text/javascript; charset=utf-8",
    ".css": b"text/css; charset=utf-8",
    ".svg": b"image/svg+xml",
    ".txt": b"text/plain; charset=utf-8",
}


@dataclass(frozen=True)
class Asset:
    plain: bytes
    gzipped: bytes
    etag: bytes
    content_type: bytes


def names() -> list[str]:
    """The files the dashboard serves (``static/``'s, but the page itself)."""
    folder = resources.files(__name__).joinpath("static")
    return sorted(
        f.name for f in folder.iterdir() if f.is_file() and f.name != "index.html" and _type(f.name)
    )


def _type(name: str) -> bytes | None:
    return next((t for ext, t in TYPES.items() if name.endswith(ext)), None)


@functools.cache
def asset(name: str) -> Asset:
    data = resources.files(__name__).joinpath("static", name).read_bytes()
    digest = hashlib.sha256(data).hexdigest()[:20]
    kind = _type(name)
    assert kind is not None, name
    return Asset(data, gzip.compress(data, compresslevel=9, mtime=0), f'"{digest}"'.encode(), kind)
