"""A destination's state as ``trackway destination status`` and the dashboard show it,
and retrying its dead letters (``trackway destination retry``, ``POST
/api/destinations/retry``): one implementation for both.

Both read the files under ``run/destinations/`` (:mod:`trackway.destinations.runner`)
and, for a retry, send from the calling process (the CLI's, or the store process's
for the dashboard) as the CLI always has: the forwarding process is not involved, and
a letter delivered is marked resolved, with its number of events, in the destination's
dead-letter file, which the forwarder appends to under the same lock. The status's
``delivered`` is the forwarder's count plus those (the status file keeps one writer).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from trackway.destinations import deadletters, position, resend, runner, status
from trackway.destinations.base import Outgoing
from trackway.destinations.configured import Destination
from trackway.destinations.http import Sender
from trackway.destinations.retry import Answer
from trackway.errors import TrackwayError
from trackway.ingest import backlog

DEAD_LETTERS_SHOWN = 50  # dead letters the dashboard lists per destination


def status_row(data: Path, d: Destination, *, serving: bool = True) -> dict[str, Any]:
    """``destination status --format json``'s row of ``d``: state, delivered, dead
    letters, lag, last error (no option of it: secrets never appear). Not ``serving`` (no
    server runs on ``data``): a destination neither paused nor failing is ``stopped``,
    whatever state its forwarder last wrote (it said "running", or "retrying" with a next
    try long past)."""
    files = runner.Files(data, d.id)
    s = status.load(files.status, d.id)
    try:
        positions = position.PositionStore(files.position, d.id).load()
    except position.PositionError as exc:
        s.state, s.last_error = status.FAILING, str(exc)
        positions = None
    if positions is not None and files.position.exists():
        s.take_lag(backlog.behind(data / "log", positions), time.time())
    if d.paused:
        s.state = status.PAUSED
    row = msgspec.to_builtins(s)
    row = {f: row.get(f, getattr(status.Status(d.id), f)) for f in status.Status.__struct_fields__}
    # the status file is the forwarder's; what a retry delivered is in the dead letters' file
    row["dead_letters"], retried = deadletters.DeadLetters(files.dead).tally()
    row["delivered"] += retried
    row["type"] = d.type
    row["in_flight"] = d.in_flight
    row["hint"] = status.round_trip_hint(s, d.in_flight)
    if not serving and row["state"] not in (status.PAUSED, status.FAILING):
        row["state"], row["retry_at"] = status.STOPPED, ""
    return row


def overview(data: Path, d: Destination, shown: int = DEAD_LETTERS_SHOWN) -> dict[str, Any]:
    """:func:`status_row` with the first ``shown`` pending dead letters (without their
    payloads), how many there are and the latest (why the destination refuses now),
    the secrets of ``d`` scrubbed from every text."""
    row = status_row(data, d)
    pending = deadletters.DeadLetters(runner.Files(data, d.id).dead).pending()
    row |= {
        "property": d.property,
        "name": d.name,
        "paused": d.paused,
        "dead_letters": [deadletters.summary(p) for p in pending[:shown]],
        "dead_letter_count": len(pending),
        "latest_dead_letter": deadletters.summary(pending[-1]) if pending else None,
    }
    return scrub(row, d.secrets())


def scrub(value: Any, secrets: list[str]) -> Any:
    """``value`` with every secret in its strings replaced (they should hold none:
    URLs and headers are redacted when kept; this is the second lock)."""
    secrets = [s for s in secrets if len(s) >= 4]
    if not secrets:
        return value
    if isinstance(value, str):
        for s in secrets:
            value = value.replace(s, "[redacted]")
        return value
    if isinstance(value, dict):
        return {k: scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, secrets) for v in value]
    return value


@dataclass
class LetterOutcome:
    n: int
    outcome: str  # "delivered", "failed" (sent, not taken) or "unreadable" (left as it is)
    detail: str = ""
    items: int = 0


@dataclass
class RetryReport:
    letters: list[LetterOutcome] = field(default_factory=list)

    @property
    def delivered(self) -> int:
        return sum(o.outcome == "delivered" for o in self.letters)

    @property
    def failed(self) -> int:
        return len(self.letters) - self.delivered

    def to_json(self) -> dict[str, Any]:
        return {
            "retried": len(self.letters),
            "delivered": self.delivered,
            "failed": self.failed,
            "errors": [
                {"letter": o.n, "outcome": o.outcome, "error": o.detail}
                for o in self.letters
                if o.outcome != "delivered"
            ],
        }


def spans(numbers: list[int], most: int = 8) -> str:
    """Sorted ``numbers`` as runs ("1-40, 42, 45-3254"), at most ``most`` of them and a
    count of the rest: a 404 listed each of 3,254 pending letters (18 kB)."""
    runs: list[tuple[int, int]] = []
    for n in numbers:
        if runs and n == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], n)
        else:
            runs.append((n, n))
    shown = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs[:most])
    rest = sum(b - a + 1 for a, b in runs[most:])
    return f"{shown} and {rest:,} more" if rest else shown


class UnknownLetters(TrackwayError):
    """Dead letters asked for that are not pending."""


def retry(
    data: Path,
    d: Destination,
    numbers: list[int] | None,
    *,
    sender: Callable[[Outgoing], Answer] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> RetryReport:
    """Send dead letters ``numbers`` (None: every pending one; each once) of ``d`` again;
    those delivered leave the list. Raises :class:`UnknownLetters` naming the numbers not
    pending (nothing is sent then)."""
    sleep = sleep or time.sleep  # looked up now: a test replaces it
    book = deadletters.DeadLetters(runner.Files(data, d.id).dead)
    pending = {p.n: p for p in book.pending()}
    missing = [n for n in numbers or [] if n not in pending]
    if missing:
        raise UnknownLetters(
            f"expected dead letters of {d.id} among {spans(sorted(pending)) or 'none'}, got "
            f"{spans(sorted(set(missing)))}; `trackway destination dead-letters` lists them"
        )
    # a number given twice is sent once (twice, it was delivered and counted twice)
    chosen = list(pending.values()) if numbers is None else [pending[n] for n in dict.fromkeys(numbers)]
    report = RetryReport()
    own = Sender() if sender is None else None
    send = sender or own
    assert send is not None
    try:
        for letter in chosen:
            try:
                events, payloads = letter.decoded()
            except (TrackwayError, msgspec.DecodeError, ValueError, KeyError, TypeError) as exc:
                why = f"its events cannot be read ({exc}); left as it is"
                report.letters.append(LetterOutcome(letter.n, "unreadable", why))
                continue
            sent = resend.resend(d, events, send, sleep=sleep, failed=payloads)
            ids = {e.id for e in events} | {f.id for f in payloads}
            if ids and set(sent.delivered) >= ids:
                book.resolve(letter.n, len(ids))
                report.letters.append(LetterOutcome(letter.n, "delivered", "", len(ids)))
            else:
                why = "; ".join([o.detail for o in sent.failed] + [r for _, r in sent.refused]) or "not sent"
                report.letters.append(LetterOutcome(letter.n, "failed", scrub(why, d.secrets()), len(ids)))
    finally:
        if own is not None:
            own.close()
    return report
