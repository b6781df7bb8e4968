"""One working request per endpoint, for the dashboard's setup page: a page view (or,
where a page view needs more, a search) sent as each vendor's demo renderer sends it
(:mod:`trackway.demo.render`), with a property's keys, and written as a curl command.
Pure: no I/O.

Every (dialect, form) the demo knows is rendered; the first request to each path whose
payloads decode without an error is kept. An endpoint the demo does not send to (GA4's
``/debug/mp/collect``) takes the request of the endpoint whose path ends its own
(``/mp/collect``): the same body.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import urlencode

import trackway
from trackway.demo import render
from trackway.demo.render import Request
from trackway.demo.truth import Action, Session
from trackway.errors import TrackwayError

FORMS = (None, "call", "server", "post")  # the forms the vendors' renderers tell apart
KINDS = ("page_view", "search")  # a page view, or a search where a page view needs more (page_type)


def _session(kind: str, dialect: str, form: str | None, prop: str, at: datetime, n: int) -> Session:
    action = Action(
        kind=kind,
        name=kind,
        dialect=dialect,
        at=at,
        property=prop,
        person="setup",
        session=f"s{n}",
        anonymous_id="setup-visitor-1",
        user_id=None,
        form=form,
        event_id=f"setup-{dialect}-{n}",
        search_term="setup" if kind == "search" else None,
    )
    return Session(
        id=f"s{n}", property=prop, person="setup", dialect=dialect, form=form, start=at, actions=[action]
    )


def sample_requests(keys: Mapping[str, str], prop: str, at: datetime) -> dict[str, Request]:
    """A request per path the demo sends to, with ``keys`` (the property's, as
    ``Property.keys()`` gives them), its event made at ``at``."""
    found: dict[str, Request] = {}
    for kind in KINDS:
        for dialect in render.dialects():
            for form in FORMS:
                for n in (1, 2):  # renderers alternate endpoints by session (Commanders Act's batch)
                    session = _session(kind, dialect, form, prop, at, n)
                    try:
                        requests = render.session_requests(session, {prop: keys})
                    except (TrackwayError, ValueError, KeyError, TypeError):
                        continue  # a form this dialect does not have
                    for r in requests:
                        if r.path not in found and _valid(r):
                            found[r.path] = r
    return found


def _valid(request: Request) -> bool:
    """Whether every payload of ``request`` decodes without an error."""
    try:
        return all(trackway.decode(d, payload).valid for d, payload, _ in request.units())
    except (TrackwayError, ValueError):
        return False


def for_path(samples: Mapping[str, Request], path: str) -> Request | None:
    """The sample of ``path``, or of the longest path that ends it."""
    if path in samples:
        return samples[path]
    ends = [p for p in samples if path.endswith(p)]
    return samples[max(ends, key=len)] if ends else None


def curl(base: str, path: str, request: Request) -> str:
    """``request`` sent to ``base`` + ``path`` as a curl command (POSIX shell quoting)."""
    url = base.rstrip("/") + path + ("?" + urlencode(request.query) if request.query else "")
    parts = ["curl", "-sS", "-X", "POST", url]
    for name, value in request.headers.items():
        parts += ["-H", f"{name}: {value}"]
    if request.body is not None:
        parts += ["--data-binary", request.body.decode()]
    return " ".join(shlex.quote(p) for p in parts)
