"""A destination's status, as its forwarder last wrote it: totals that survive restarts,
the lag, the last error. One small JSON file per destination
(``run/destinations/<id>.status.json``), replaced atomically; ``trackway destination
status``, ``/metrics`` and ``/health`` read it. No secret is ever written in it (the
forwarder scrubs every error it keeps)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import msgspec

from trackway.destinations.inflight import MAX_IN_FLIGHT
from trackway.ingest.backlog import Lag
from trackway.server import metrics

SUFFIX = ".status.json"
RUNNING = "running"  # delivering, or caught up
RETRYING = "retrying"  # a request waits for its retry
DEFERRED = "deferred"  # waiting while Trackway's workers fill the CPUs (forward_defer_seconds)
PAUSED = "paused"
FAILING = "failing"  # the forwarder itself cannot go on (an unreadable position, ...)
STOPPED = "stopped"  # no server runs on the data directory (said by `destination status`)


class Status(msgspec.Struct, omit_defaults=True):
    destination: str
    type: str = ""
    state: str = RUNNING
    delivered: int = 0
    retried: int = 0  # requests answered with a retryable error (or none), tried again
    failed: int = 0  # requests that failed: retried, or dead-lettered with the answer
    dead_lettered: int = 0  # includes events the encoder refused
    skipped: dict[str, int] = {}  # reason -> events (consent, name, dialect, ...)
    lag_events: int = 0
    lag_capped: bool = False  # lag_events is a lower bound
    lag_bytes: int = 0
    lag_seconds: float = 0.0
    last_error: str = ""
    last_delivered_at: str = ""
    retry_at: str = ""
    updated_at: str = ""
    requests: int = 0  # requests answered (or failed), any outcome
    request_seconds: float = 0.0  # their round trips added up
    round_trip_ms: float = 0.0  # the mean round trip of the last status period (~1 s) that sent any
    sending_share: float = 0.0  # the share of the last period its in_flight slots had a request out

    def take_lag(self, lag: Lag, now: float) -> None:
        """The lag measured at ``now`` (unix seconds)."""
        self.lag_bytes, self.lag_events, self.lag_capped = lag.bytes, lag.events, lag.capped
        self.lag_seconds = 0.0 if lag.oldest is None else round(max(0.0, now - lag.oldest), 3)

    def add(self, delivered: int, retried: int, dead: int, skipped: dict[str, int]) -> None:
        self.delivered += delivered
        self.retried += retried
        self.dead_lettered += dead
        for reason, n in skipped.items():
            self.skipped[reason] = self.skipped.get(reason, 0) + n


HINT_LAG_S = 10.0  # a destination this far behind...
BOUND_SHARE = 0.8  # ...whose slots had a request outstanding this share of the time


def round_trip_hint(s: Status, in_flight: int) -> str:
    """What to do about a destination that falls behind because it waits for its answers
    ("" when it does not): it is neither slow in Trackway (encoding, reading) nor
    throttled, it sends one window of requests after another and waits."""
    if s.state != RUNNING or s.lag_seconds < HINT_LAG_S or s.sending_share < BOUND_SHARE or not s.requests:
        return ""
    per_request = s.delivered / s.requests if s.delivered else 1.0
    rate = in_flight * per_request / max(s.round_trip_ms / 1000, 1e-3)
    said = (
        f"behind by {s.lag_seconds:,.0f} s and waiting for its answers: {s.round_trip_ms:,.0f} ms a request, "
        f"{in_flight} at a time, so at most about {rate:,.0f} events/s"
    )
    if in_flight < MAX_IN_FLIGHT:
        return (
            f"{said}. Raise in_flight (now {in_flight}, at most {MAX_IN_FLIGHT}) to have more requests out "
            "at once: "
            "`in_flight = 8` in its table, or `trackway destination add ... --in-flight 8`"
        )
    return f"{said}, with in_flight at its most: the vendor answers too slowly for this traffic"


_enc = msgspec.json.Encoder()
_dec = msgspec.json.Decoder(Status)


def path_of(folder: Path, destination: str) -> Path:
    return folder / f"{destination}{SUFFIX}"


def load(path: Path, destination: str) -> Status:
    """The status in ``path`` (a fresh one when missing or unreadable)."""
    with contextlib.suppress(OSError, msgspec.DecodeError):
        found = _dec.decode(path.read_bytes())
        if found.destination == destination:
            return found
    return Status(destination)


def save(path: Path, status: Status) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(_enc.encode(status))
    os.replace(tmp, path)


def snapshot(statuses: list[Status]) -> metrics.Snapshot:
    """The forwarding metrics of every destination."""
    m = metrics.Metrics()
    for s in statuses:
        d = s.destination
        m.inc("trackway_destination_events_total", s.delivered, destination=d, outcome="delivered")
        m.inc("trackway_destination_events_total", s.dead_lettered, destination=d, outcome="dead_lettered")
        for reason, n in s.skipped.items():
            m.inc("trackway_destination_events_total", n, destination=d, outcome=f"skipped_{reason}")
        m.inc("trackway_destination_retries_total", s.retried, destination=d)
        m.inc("trackway_destination_failed_requests_total", s.failed, destination=d)
        m.inc("trackway_destination_requests_total", s.requests, destination=d)
        m.inc("trackway_destination_request_seconds_total", s.request_seconds, destination=d)
        m.set("trackway_destination_lag_events", s.lag_events, destination=d)
        m.set("trackway_destination_lag_seconds", s.lag_seconds, destination=d)
        m.set(
            "trackway_destination_up", 0 if s.state in (FAILING, PAUSED) else 1, destination=d, state=s.state
        )
    return m.snapshot()
