"""The browser tracker, ``t.js``: its readable source ships in this package, and the
collector serves it minified (rjsmin) and gzipped, built once per process.

No build step: the file a site loads is made from ``t.js`` the first time a worker
serves it. Its ETag is a hash of the minified text, so a new release is a new tag
(docs/tracker.md has the cache rules).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
from dataclasses import dataclass
from importlib import resources

import rjsmin

SOURCE = "t.js"
# Chromium's explicit compile hint (V8, Chrome 136+): compile every function of the file
# eagerly, on the thread that streams the script in, instead of lazily on the page's main
# thread at each function's first call. It must stay the file's first line, so it is added
# after minifying (rjsmin drops line comments). Measured by bench/tracker.py: about half of
# the tracker's main-thread time on a first page view was that lazy compiling. Browsers
# that do not know it read a comment.
COMPILE_HINT = "//# allFunctionsCalledOnLoad\n"


@dataclass(frozen=True)
class Script:
    """The served tracker: minified text, its gzip form and its ETag."""

    plain: bytes
    gzipped: bytes
    etag: bytes


def source() -> str:
    """The readable source of the tracker."""
    return resources.files(__name__).joinpath(SOURCE).read_text(encoding="utf-8")


@functools.cache
def script() -> Script:
    """The tracker as served (built once per process)."""
    plain = (COMPILE_HINT + rjsmin.jsmin(source(), keep_bang_comments=True)).encode()
    digest = hashlib.sha256(plain).hexdigest()[:20]
    # mtime=0: the same source gives the same bytes, whichever worker built them
    return Script(plain, gzip.compress(plain, compresslevel=9, mtime=0), f'"{digest}"'.encode())
