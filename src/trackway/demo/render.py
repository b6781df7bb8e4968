"""Sessions as wire requests: the vendors' renderers, and what they share.

The demo's scenario (:mod:`trackway.demo.shop`, :mod:`trackway.demo.donations`) picks
the dialect and form each session is written in. How the session travels is its
vendor's knowledge: the vendor whose :attr:`~trackway.vendors.Vendor.dialects` hold
the session's dialect names its renderer in :attr:`~trackway.vendors.Vendor.demo`
(``"module:function"``, a :class:`Renderer`, in ``trackway/vendors/<vendor>/demo.py``).
The dialects the demo sends (:func:`dialects`) are those of the vendors that declare a
renderer; a session in any other is a :class:`~trackway.errors.UsageError`.

What every renderer may use is here: :class:`Request`, :func:`segments`,
:func:`request`, and :func:`collect`, which sends a session through ``/collect``:
the envelope names the dialect and carries the person's ``anonymous_id`` and
``user_id`` (a batch holds consecutive actions of one session with the same ids, at
most :data:`COLLECT_BATCH`). A wire form with no field for the action's time gets the
collector's receive time, unless ``client_time`` is set: then each ``/collect``
request carries one payload and the envelope's ``context.client_timestamp`` (ISO 8601,
the collector copies it into the event's ``context``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any, Protocol

import msgspec

import trackway
from trackway import dialects as registry
from trackway import vendors
from trackway.demo.events import iso
from trackway.demo.truth import Action, Session
from trackway.errors import UsageError
from trackway.model import Event

Keys = Mapping[str, Mapping[str, str]]  # property -> `trackway property add NAME --format json`
COLLECT_BATCH = 20
JSON = {"content-type": "application/json"}
FORM = {"content-type": "application/x-www-form-urlencoded"}
encode_json = msgspec.json.Encoder(decimal_format="number").encode
_read = msgspec.json.Decoder()


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request: POST ``path`` with ``query``, ``headers`` and ``body``.

    ``form`` repeats a form body's fields as a dict. ``dialect`` is the dialect the
    endpoint decodes with; ``actions`` are the truth actions it carries, in the order of
    the events it decodes to.
    """

    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes | None
    form: dict[str, str] | None
    property: str
    dialect: str
    actions: tuple[Action, ...]

    def units(self) -> list[tuple[str, Any, tuple[Action, ...]]]:
        """What the endpoint decodes: (dialect, payload, its actions) per unit, in order."""
        if self.path == "/collect":
            assert self.body is not None
            envelope = _read.decode(self.body)
            return [
                (envelope["dialect"], p, (a,)) for p, a in zip(envelope["events"], self.actions, strict=True)
            ]
        if self.form is not None:
            return [(self.dialect, dict(self.form), self.actions)]
        return [(self.dialect, self.body, self.actions)]

    def envelope(self) -> dict[str, Any]:
        """The /collect envelope ({} elsewhere)."""
        return _read.decode(self.body) if self.path == "/collect" and self.body else {}


class Renderer(Protocol):
    """A vendor's renderer: the requests that send ``session`` (written in one of the
    vendor's dialects), with ``key``, its property's keys (``trackway property add NAME
    --format json``)."""

    def __call__(self, session: Session, key: Mapping[str, str], *, client_time: bool) -> list[Request]: ...


def segments(actions: Sequence[Action], size: int) -> Iterator[list[Action]]:
    """Consecutive actions with the same ids, ``size`` at most."""
    for _, group in groupby(actions, key=lambda a: (a.anonymous_id, a.user_id)):
        run = list(group)
        for n in range(0, len(run), size):
            yield run[n : n + size]


def request(
    path: str,
    query: dict[str, str],
    headers: dict[str, str],
    body: bytes,
    form: dict[str, str] | None,
    session: Session,
    dialect: str,
    actions: Sequence[Action],
) -> Request:
    return Request(path, query, dict(headers), body, form, session.property, dialect, tuple(actions))


def collect(
    session: Session, key: Mapping[str, str], *, client_time: bool, event: Callable[[Action], Event]
) -> list[Request]:
    """``session`` through ``/collect``; ``event`` makes an action's canonical event in
    the vendor's terms (:func:`trackway.demo.events.canonical` and what the vendor adds)."""
    dialect, out = session.dialect, []
    for seg in segments(session.actions, 1 if client_time else COLLECT_BATCH):
        payloads = [trackway.encode(dialect, event(a), form=session.form) for a in seg]
        envelope: dict[str, Any] = {"key": key["collect_key"]}
        if seg[0].anonymous_id:
            envelope["anonymous_id"] = seg[0].anonymous_id
        if seg[0].user_id:
            envelope["user_id"] = seg[0].user_id
        if client_time:
            envelope["context"] = {"client_timestamp": iso(seg[0].at)}
        envelope["dialect"] = dialect
        envelope["events"] = payloads
        out.append(request("/collect", {}, JSON, encode_json(envelope), None, session, dialect, seg))
    return out


_renderers: dict[str, Renderer] | None = None


def _load() -> dict[str, Renderer]:
    """Dialect name -> its vendor's renderer, for the vendors that declare one."""
    global _renderers
    if _renderers is None:
        _renderers = {
            adapter.name: vendors.resolve(vendor.demo)
            for vendor in vendors.vendors()
            if vendor.demo
            for adapter in vendor.dialects
        }
    return _renderers


def _forget() -> None:
    global _renderers
    _renderers = None


vendors.on_reset(_forget)


def dialects() -> list[str]:
    """The dialects the demo sends: those of every vendor that declares a renderer, in
    the registry's order."""
    found = _load()
    return [name for name in registry.names() if name in found]


def session_requests(session: Session, keys: Keys, *, client_time: bool = False) -> list[Request]:
    """The requests that send ``session``'s actions, as its dialect's vendor renders them."""
    render = _load().get(session.dialect)
    if render is None:
        raise UsageError(
            f"expected session {session.id} in a dialect the demo sends ({', '.join(dialects())}), "
            f"got {session.dialect!r}, whose vendor declares no demo renderer; "
            'add demo="module:function" to its Vendor declaration (trackway.demo.render.Renderer)'
        )
    return render(session, keys[session.property], client_time=client_time)
