"""A destination's dead letters, on disk: what was not delivered, why, and what to resend.

One JSON line per dead letter in ``run/destinations/<id>.dead.jsonl``, appended (one
``write`` under an exclusive ``flock``) and fsynced before the forwarder commits its
position past the events: a dead letter is never lost in a crash, at worst written twice
(the same events, once more; retried, the receiver's idempotency key takes care of it).

A line holds a number (``n``, in the order written), the events' ids, the reason, the
destination's answer (status, an excerpt of the body), the request's URL and headers
(redacted), and the events' canonical JSON as they were selected for the destination
(so that ``trackway destination retry`` sends them again without the store).
Retrying appends a ``{"resolved": n, "items": k, ...}`` line: the dead letter is delivered
(``k`` events) and no longer listed. The forwarder's status file (which only the
forwarding process writes) counts what it delivered; ``destination status`` adds the
``items`` of these lines (:meth:`DeadLetters.tally`), so a letter delivered on retry
leaves the dead letters and joins the delivered in one write. Nothing in a line is a
destination's secret (the forwarder scrubs them).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from trackway.destinations.base import Failed
from trackway.destinations.consumer import DeadLetter
from trackway.model import Event, from_json
from trackway.store.deadscrub import SUFFIX, locked

__all__ = ["SUFFIX", "DeadLetters", "Stored", "summary"]


class Line(msgspec.Struct, omit_defaults=True):
    n: int = 0
    events: list[str] = []
    reason: str = ""
    at: str = ""
    status: int | None = None
    response: str = ""
    url: str = ""
    headers: dict[str, str] = {}
    payloads: list[msgspec.Raw] = []
    resolved: int | None = None  # a line saying dead letter `resolved` was delivered on retry
    items: int = 0  # ... with this many events (older resolved lines: 0, not counted)


@dataclass(frozen=True)
class Stored:
    """A dead letter as kept: its number, and what :class:`DeadLetter` says."""

    n: int
    events: tuple[str, ...]
    reason: str
    at: datetime
    status: int | None
    response: str
    url: str
    payloads: tuple[bytes, ...]

    def decoded(self) -> tuple[list[Event], list[Failed]]:
        """Its events, and its failed payloads (a destination with ``failed = true``)."""
        events: list[Event] = []
        failed: list[Failed] = []
        for payload in self.payloads:
            if payload.startswith(b'{"failed":true'):
                failed.append(Failed.from_json(payload))
            else:
                events.append(from_json(payload))
        return events, failed


_enc = msgspec.json.Encoder()
_dec = msgspec.json.Decoder(Line)


class DeadLetters:
    """The dead letters of one destination, in ``path``. ``append`` is what the
    :class:`~trackway.destinations.consumer.Forwarder` calls."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._next: int | None = None

    def _locked(self) -> contextlib.AbstractContextManager[int]:
        """The file under its flock, as ``trackway forget`` takes it to rewrite the file
        (trackway.store.deadscrub)."""
        return locked(self.path)

    def _write(self, fd: int, line: Line) -> None:
        data = _enc.encode(line) + b"\n"
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":  # a line torn by a crash: end it first
            data = b"\n" + data
        os.write(fd, data)
        os.fsync(fd)

    def append(self, letter: DeadLetter) -> None:
        with self._locked() as fd:
            if self._next is None:  # one writer per destination (its forwarder): read once
                self._next = self._last_n() + 1
            n, self._next = self._next, self._next + 1
            self._write(
                fd,
                Line(
                    n=n,
                    events=list(letter.events),
                    reason=letter.reason,
                    at=letter.at.astimezone(UTC).isoformat(),
                    status=letter.status,
                    response=letter.response,
                    url=letter.url,
                    headers=dict(letter.headers),
                    payloads=[msgspec.Raw(p) for p in letter.payloads],
                ),
            )

    def resolve(self, n: int, items: int) -> None:
        """Mark dead letter ``n`` delivered, its ``items`` events with it (it is no longer
        listed; :meth:`tally` counts them delivered)."""
        with self._locked() as fd:
            self._write(fd, Line(resolved=n, items=items, at=datetime.now(UTC).isoformat()))

    def _lines(self) -> list[Line]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        out = []
        for text in raw.splitlines():
            with contextlib.suppress(msgspec.DecodeError):  # a line torn by a crash mid-write
                out.append(_dec.decode(text))
        return out

    def _last_n(self) -> int:
        return max((line.n for line in self._lines()), default=0)

    def pending(self) -> list[Stored]:
        """Dead letters not delivered since, oldest first."""
        return _pending(self._lines())

    def count(self) -> int:
        return len(self.pending())

    def tally(self) -> tuple[int, int]:
        """(dead letters pending, events delivered by retrying them), from one read."""
        lines = self._lines()
        return len(_pending(lines)), sum(line.items for line in lines if line.resolved is not None)


def _pending(lines: list[Line]) -> list[Stored]:
    resolved = {line.resolved for line in lines if line.resolved is not None}
    return [_stored(line) for line in lines if line.n and line.n not in resolved]


def _stored(line: Line) -> Stored:
    return Stored(
        line.n,
        tuple(line.events),
        line.reason,
        _time(line.at),
        line.status,
        line.response,
        line.url,
        tuple(bytes(p) for p in line.payloads),
    )


def _time(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return datetime.fromtimestamp(0, UTC)


def summary(letter: Stored) -> dict[str, Any]:
    """A dead letter as ``destination dead-letters --json`` shows it (without payloads)."""
    return {
        "n": letter.n,
        "events": list(letter.events),
        "reason": letter.reason,
        "at": letter.at.isoformat(),
        "status": letter.status,
        "response": letter.response,
        "url": letter.url,
    }
