"""Sending given events to a destination now, outside its log position: ``trackway
destination replay`` (events from the store), ``retry`` (dead letters) and ``test`` (a
sample event). The forwarder's own rules apply (selection, identifiers, the encoder's
limits and refusals); each request is tried up to ``attempts`` times while its answer is
retryable, waiting as :mod:`~trackway.destinations.retry` says (``Retry-After`` honoured,
at most ``max_wait_s``). ``send`` and ``sleep`` are injected: no I/O of its own."""

from __future__ import annotations

import random as _random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from trackway.destinations import retry, types
from trackway.destinations.base import Failed, Outgoing
from trackway.destinations.configured import Destination
from trackway.destinations.retry import Answer, Scrubber
from trackway.destinations.select import select, strip_identifiers
from trackway.model import Commerce, Event, Item
from trackway.privacy.consent import PURPOSES

ATTEMPTS = 3
MAX_WAIT_S = 30.0


@dataclass
class Outcome:
    """One request: the events it carried, ``delivered`` or not, and the answer in words
    (secrets scrubbed) with its status and body excerpt."""

    events: tuple[str, ...]
    delivered: bool
    status: int | None
    detail: str
    body: str = ""


@dataclass
class Report:
    sent: list[Outcome] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (event id, reason)
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> events

    @property
    def delivered(self) -> set[str]:
        return {e for o in self.sent if o.delivered for e in o.events}

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.sent if not o.delivered]


def resend(
    destination: Destination,
    events: Sequence[Event],
    send: Callable[[Outgoing], Answer],
    *,
    now: datetime | None = None,
    sleep: Callable[[float], None] | None = None,
    attempts: int = ATTEMPTS,
    max_wait_s: float = MAX_WAIT_S,
    debug: bool = False,
    failed: Sequence[Failed] = (),
) -> Report:
    """Send ``events`` (those of another property are skipped) to ``destination``, and
    ``failed`` payloads (kept in a dead letter) when it takes them. ``debug``: to the
    vendor's validation endpoint where it has one (GA4). A ConfigError if the destination's
    ``env:`` options are not set in this process."""
    destination.require()
    now = now or datetime.now(UTC)
    report = Report()
    mine = [e for e in events if e.property in (None, destination.property)]
    if len(mine) < len(events):
        report.skipped["property"] = len(events) - len(mine)
    chosen, skipped = select(mine, destination.selection)
    for s in skipped:
        report.skipped[s.reason] = report.skipped.get(s.reason, 0) + 1
    chosen = [strip_identifiers(e, destination.selection.identifiers) for e in chosen]
    encoder = types.encoder(destination.type)
    failed = [f for f in failed if f.property == destination.property] if destination.selection.failed else []
    if debug and destination.type == "ga4":
        encoded = encoder.encode(chosen, destination.options, now, debug=True)  # type: ignore[call-arg]
    elif failed:
        encoded = encoder.encode(chosen, destination.options, now, failed=failed)  # type: ignore[call-arg]
    else:
        encoded = encoder.encode(chosen, destination.options, now)
    scrub = Scrubber(destination.secrets())
    report.refused = [(r.event, scrub(r.reason)) for r in encoded.refused]
    for request in encoded.requests:
        scrub.add(retry.secrets_of(request.url, request.headers))
        for attempt in range(1, attempts + 1):
            answer = send(request)
            kind = retry.classify(answer)
            if kind != retry.RETRY or attempt == attempts:
                break
            delay = retry.retry_after(answer.headers, datetime.now(UTC), max_wait_s)
            if delay is None:
                delay = min(retry.backoff(attempt, destination.policy, _random.random), max_wait_s)
            if sleep is not None:
                sleep(delay)
        report.sent.append(
            Outcome(
                request.events,
                kind == retry.DELIVERED,
                answer.status,
                scrub(answer.describe()),
                scrub(answer.body[: retry.EXCERPT]),
            )
        )
    return report


def sample(prop: str, now: datetime) -> Event:
    """The event ``trackway destination test`` sends: a purchase of two test items, with
    what every type needs (an anonymous id, consent granted, Commanders Act's type,
    status and payment method). Its id starts with ``trackway-test-``."""
    stamp = now.strftime("%Y%m%dT%H%M%S")
    return Event(
        name="purchase",
        dialect="ga4-mp",
        id=f"trackway-test-{stamp}-{_random.randrange(1 << 32):08x}",
        property=prop,
        timestamp=now,
        received_at=now,
        anonymous_id="trackway-test.1",
        consent={"purposes": dict.fromkeys(PURPOSES, True)},
        commerce=Commerce(
            currency="EUR",
            value=Decimal("30.00"),
            revenue=Decimal("30.00"),
            tax=Decimal("6.00"),
            shipping=Decimal("4.90"),
            transaction_id=f"trackway-test-{stamp}",
            payment_method="card",
            status="in_progress",
            type="online",
            items=[
                Item(
                    item_id="TRACKWAY-TEST",
                    item_name="Trackway test item",
                    price=Decimal("15.00"),
                    quantity=2,
                )
            ],
        ),
    )
