"""Forwarding under faults: a Forwarder with a real Sender against loopback receivers.

Each scenario writes a log of 300 events, runs a :class:`Forwarder` (40 records a
batch) by calling ``run_once(now)`` with a fake clock that jumps to ``retry_at`` (so
backoff and ``Retry-After`` take no real time), against a Segment-compatible or a
webhook receiver that misbehaves as scripted. In every scenario each event ends either
delivered exactly once at the receiver (after its deduplication) or in a dead letter
with a reason, never both; those delivered arrive in log order; no secret appears in a
dead letter nor in an error.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.destinations.receivers import (
    Behaviour,
    Normal,
    RefuseEvent,
    Reply,
    Request,
    Reset,
    SegmentReceiver,
    Stall,
    Trickle,
    WebhookReceiver,
)
from trackway.destinations import types, webhook
from trackway.destinations.base import Outgoing
from trackway.destinations.consumer import Counts, DeadLetter, Forwarder
from trackway.destinations.http import Sender
from trackway.destinations.position import PositionStore, default_path
from trackway.destinations.retry import Answer, Policy
from trackway.destinations.select import Selection
from trackway.ingest import log, records
from trackway.ingest.log import Position
from trackway.model import Event, to_json

NOW = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)
RECEIVED = NOW - timedelta(minutes=5)
TOKEN = "tok-Loopback-Url-Secret-77"
HOOK_SECRET = "whsec_loopback_faults_0042"
WRITE_KEY = "wk_Loopback_Segment_Key_9"
SECRETS = (TOKEN, HOOK_SECRET, WRITE_KEY, base64.b64encode(f"{WRITE_KEY}:".encode()).decode())
ONE_LOG = (("w1", 100),)  # (worker slot, records), 3 events a record: 300 events
TWO_LOGS = (("w1", 60), ("w2", 40))  # how the two are merged into batches is the forwarder's choice
PER_RECORD = 3
BATCH = 40  # records a run_once reads
TIMEOUT_S = 0.5
KINDS = ("webhook", "segment")


class Clock:
    """The tests' time: the forwarder's ``now`` and the webhook receiver's clock."""

    def __init__(self) -> None:
        self.now = NOW

    def unix(self) -> float:
        return self.now.timestamp()


def _record(ids: list[str]) -> bytes:
    events = [
        to_json(
            Event(
                name="purchase",
                dialect="ga4-mp",
                id=i,
                property="shop",
                anonymous_id=f"anon-{i}",
                timestamp=RECEIVED,
                received_at=RECEIVED,
                consent={"purposes": {"analytics": True}},
            )
        )
        for i in ids
    ]
    record = records.Record(
        kind=records.DECODED,
        request_id=ids[0],
        endpoint="/collect",
        property="shop",
        received_at=records.micros(RECEIVED),
        events=events,
        client_ids=[True] * len(events),
    )
    return log.frame(records.dumps(record))


def _write_log(root: Path, slots: tuple[tuple[str, int], ...]) -> list[str]:
    """3 events a record in each slot's log; returns their ids, slot by slot, in log order."""
    written: list[str] = []
    for slot, count in slots:
        frames = []
        for r in range(count):
            ids = [f"{slot}-r{r:03d}-e{k}" for k in range(PER_RECORD)]
            frames.append(_record(ids))
            written += ids
        path = root / slot / log.segment_name(1)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"".join(frames))
    return written


def _ends(root: Path) -> dict[str, Position]:
    return {p.parent.name: Position(1, p.stat().st_size) for p in root.glob(f"*/{log.segment_name(1)}")}


@dataclass
class Run:
    """What a forwarder did over all its ``run_once`` calls."""

    delivered: int = 0
    retried: int = 0
    dead_lettered: int = 0
    refused: int = 0
    calls: int = 0
    waits: list[tuple[datetime, datetime, str]] = field(default_factory=list)  # (now, retry_at, error)

    def add(self, counts: Counts) -> None:
        self.delivered += counts.delivered
        self.retried += counts.retried
        self.dead_lettered += counts.dead_lettered
        self.refused += counts.refused


def drive(
    fwd: Forwarder, clock: Clock, *, before: Callable[[int], None] | None = None, steps: int = 400
) -> Run:
    """Call ``run_once`` until there is nothing left, jumping the clock to each ``retry_at``."""
    run = Run()
    for step in range(steps):
        if before is not None:
            before(step)
        counts = fwd.run_once(clock.now)
        run.calls += 1
        run.add(counts)
        if counts.retry_at is not None:
            assert counts.retry_at >= clock.now
            run.waits.append((clock.now, counts.retry_at, counts.last_error))
            clock.now = counts.retry_at
        elif not (counts.records or counts.delivered or counts.dead_lettered or counts.refused):
            return run
    raise AssertionError(f"the forwarder was not done after {steps} calls: {run}")


class Setup:
    """A receiver of ``kind``, a forwarder to it over a real Sender, the log written."""

    def __init__(
        self,
        kind: str,
        tmp_path: Path,
        clock: Clock,
        *script: Behaviour,
        slots: tuple[tuple[str, int], ...] = ONE_LOG,
        **kw: Any,
    ) -> None:
        self.kind = kind
        self.tmp_path = tmp_path
        self.clock = clock
        self.letters: list[DeadLetter] = []
        self.receiver: SegmentReceiver | WebhookReceiver
        if kind == "segment":
            self.receiver = SegmentReceiver(WRITE_KEY, *script, default=kw.pop("default", None))
        else:
            self.receiver = WebhookReceiver(HOOK_SECRET, clock.unix, *script, default=kw.pop("default", None))
        self.options_kw = kw.pop("options", {})
        self.forwarder_kw = kw
        self.sender = Sender(connect_s=TIMEOUT_S, timeout_s=TIMEOUT_S)
        self.slots = [slot for slot, _ in slots]
        self.written = _write_log(tmp_path / "log", slots)

    def options(self) -> dict[str, Any]:
        if self.kind == "segment":
            return {"write_key": WRITE_KEY, "base_url": self.receiver.url, **self.options_kw}
        url = f"{self.receiver.url}/hook?token={TOKEN}"
        return {"url": url, "secret": HOOK_SECRET, "max_events": 50, **self.options_kw}

    def forwarder(self, send: Callable[[Outgoing], Answer] | None = None) -> Forwarder:
        name = f"{self.kind}-faults"
        return Forwarder(
            self.tmp_path / "log",
            name,
            Selection(),
            types.encoder(self.kind),
            self.options(),
            send or self.sender,
            PositionStore(default_path(self.tmp_path, name), name),
            lambda: None,
            dead_letters=self.letters,
            random=lambda: 0.5,
            batch=BATCH,
            **self.forwarder_kw,
        )

    def check(self, run: Run, earlier: int = 0) -> tuple[list[str], list[str]]:
        """Every event delivered once (in log order) or dead-lettered, never both, no secret
        kept (``earlier``: events delivered by a forwarder before ``run``'s); returns
        (delivered, dead-lettered) ids."""
        delivered = self.receiver.events()
        dead = [e for letter in self.letters for e in letter.events]
        assert len(delivered) == len(set(delivered)), "an event kept twice by the receiver"
        assert len(dead) == len(set(dead)), "an event in two dead letters"
        assert not set(delivered) & set(dead), "an event both delivered and dead-lettered"
        assert len(delivered) + len(dead) == len(self.written) == 300
        assert set(delivered) | set(dead) == set(self.written)
        for slot in self.slots:  # each worker's log in its order (one log: the whole order)
            mine = [e for e in delivered if e.startswith(f"{slot}-")]
            assert mine == [e for e in self.written if e.startswith(f"{slot}-") and e not in set(dead)], (
                f"{slot}: not in log order"
            )
        assert (earlier + run.delivered, run.dead_lettered + run.refused) == (len(delivered), len(dead))
        assert all(letter.reason and letter.destination == f"{self.kind}-faults" for letter in self.letters)
        kept = [repr(letter) for letter in self.letters] + [error for _, _, error in run.waits]
        for secret in SECRETS:
            assert not any(secret in text for text in kept), f"a secret ({secret[:6]}...) was kept"
        return delivered, dead

    def requests(self) -> list[Request]:
        return list(self.receiver.requests)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def made(kind: str, tmp_path: Path, clock: Clock) -> Iterator[Callable[..., Setup]]:
    setups: list[Setup] = []

    def make(*script: Behaviour, **kw: Any) -> Setup:
        setup = Setup(kind, tmp_path, clock, *script, **kw)
        setup.receiver.start()
        setups.append(setup)
        return setup

    yield make
    for setup in setups:
        setup.sender.close()
        setup.receiver.stop()


def _requests_of(kind: str) -> int:
    """Requests of the whole log: webhook 50 events a request, Segment one a forwarder batch."""
    return 3 + 3 + 2 if kind == "webhook" else 3


# (id, the receiver's script, retries expected, requests the Sender sent again at once (a
# kept connection reset under a request), what the receiver's dedupe removes: webhook
# requests and Segment calls, the error expected)
RETRIED: list[tuple[str, tuple[Behaviour, ...], int, int, tuple[int, int], str]] = [
    (
        "500s then 200",
        (Reply(500, b"down"), Reply(503, b"busy"), Reply(500, b"down")),
        3,
        0,
        (0, 0),
        "HTTP 500: down",
    ),
    ("a 30 s stall", (Stall(30.0),), 1, 0, (0, 0), "DeadlineExceeded"),
    (
        "a 30 s stall after keeping the batch",
        (Stall(30.0, process=True),),
        1,
        0,
        (1, 120),
        "DeadlineExceeded",
    ),
    (
        "connection resets",
        (Reset(), Reset(process=True), Reset()),
        3,
        0,
        (1, 120),
        "Connection reset by peer",
    ),
    ("1 byte/s answers", (Trickle(), Trickle(process=True)), 2, 0, (1, 120), "DeadlineExceeded"),
    ("a 500 after keeping the batch", (Reply(500, process=True),), 1, 0, (1, 120), "HTTP 500"),
    ("faults mid-stream", (Normal(), Reply(500), Normal(), Reset(process=True)), 1, 1, (1, 60), "HTTP 500"),
]


@pytest.mark.parametrize("in_flight", [1, 4])
@pytest.mark.parametrize(
    ("script", "retries", "at_once", "twice", "error"), [r[1:] for r in RETRIED], ids=[r[0] for r in RETRIED]
)
def test_retried_faults_end_delivered_exactly_once(
    made: Callable[..., Setup],
    kind: str,
    script: tuple[Behaviour, ...],
    retries: int,
    at_once: int,
    twice: tuple[int, int],
    error: str,
    in_flight: int,
) -> None:
    """Also with in_flight = 4: requests are then sent from the forwarder's threads, each
    exchange with its own deadline; these types' batches have no ordering key, so they
    still go one at a time and in order, through the same faults."""
    setup = made(*script, in_flight=in_flight)
    forwarder = setup.forwarder()
    try:
        run = drive(forwarder, setup.clock)
    finally:
        forwarder.close()
    delivered, dead = setup.check(run)
    assert (len(delivered), dead) == (300, [])
    assert run.retried == len(run.waits) == retries
    assert error in run.waits[0][2], run.waits[0][2]
    assert setup.receiver.duplicates == twice[KINDS.index(kind)]
    assert len(setup.requests()) == _requests_of(kind) + retries + at_once
    assert setup.forwarder().store.load() == _ends(setup.tmp_path / "log")


def test_retry_after_is_honoured(made: Callable[..., Setup], kind: str) -> None:
    setup = made(
        Reply(429, b"slow down", {"Retry-After": "7"}),
        Reply(429, b"slow down", {"Retry-After": "120"}),
        Reply(503, b"", {"Retry-After": "Sat, 05 Dec 2026 03:04:00 GMT"}),  # an HTTP date
    )
    run = drive(setup.forwarder(), setup.clock)
    delivered, dead = setup.check(run)
    assert (len(delivered), dead) == (300, [])
    assert [(at - now).total_seconds() for now, at, _ in run.waits] == [7.0, 120.0, 240.0 - 127.0]
    assert all("HTTP 429" in error for _, _, error in run.waits[:2])
    arrived = [r.at for r in setup.requests()]
    assert arrived[3] - arrived[0] < 5.0  # the waits took no real time


def test_a_400_for_one_event_dead_letters_its_request_only(made: Callable[..., Setup], kind: str) -> None:
    bad = "w1-r045-e1"  # in the second batch (records 40-79)
    setup = made(default=RefuseEvent(bad))
    run = drive(setup.forwarder(), setup.clock)
    delivered, dead = setup.check(run)
    [letter] = setup.letters
    assert bad in letter.events and letter.status == 400
    assert f"event {bad} is invalid" in letter.response and "HTTP 400" in letter.reason
    expected = 50 if kind == "webhook" else 120  # its request: 50 events, or Segment's whole batch
    assert len(dead) == expected and len(delivered) == 300 - expected
    assert run.retried == 0
    assert letter.url.startswith(setup.receiver.url) and "[redacted]" not in letter.url.split("?")[0]


# The webhook's Trackway-Signature is made when the batch is encoded (when it is read),
# and the forwarder re-sends that same request: a retry more than the receiver's
# tolerance (300 s) after the batch was read is refused (401, "replayed") and dead-lettered.


@pytest.mark.parametrize("down_for", [9, 12], ids=["4 minutes", "9 minutes"])
def test_a_receiver_down_for_many_attempts_then_back(
    made: Callable[..., Setup], kind: str, down_for: int, request: pytest.FixtureRequest
) -> None:
    setup = made()

    def outage(step: int) -> None:
        if step == 0:
            setup.receiver.down()
        elif step == down_for:
            setup.receiver.up()

    run = drive(setup.forwarder(), setup.clock, before=outage)
    delivered, dead = setup.check(run)
    assert (len(delivered), dead) == (300, [])
    assert run.retried == down_for
    assert all("ConnectionRefusedError" in error for _, _, error in run.waits)
    delays = [(at - now).total_seconds() for now, at, _ in run.waits]
    assert delays == [min(300.0, 2.0**n) / 2 for n in range(down_for)]  # backoff: half of each ceiling
    assert len(setup.requests()) == _requests_of(kind)  # nothing arrived while it was down


def test_past_the_maximum_age_everything_is_dead_lettered_with_the_last_error(
    made: Callable[..., Setup], kind: str
) -> None:
    setup = made(default=Reply(503, b"overloaded"), policy=Policy(max_age_s=600))
    run = drive(setup.forwarder(), setup.clock)
    delivered, dead = setup.check(run)
    assert (delivered, len(dead)) == ([], 300)
    assert all("gave up after" in letter.reason for letter in setup.letters)
    assert all("last error: HTTP 503: overloaded" in letter.reason for letter in setup.letters)
    assert all(letter.status == 503 and letter.response == "overloaded" for letter in setup.letters)
    assert setup.clock.now - RECEIVED > timedelta(seconds=600)
    assert setup.forwarder().store.load() == _ends(setup.tmp_path / "log")


def test_refused_credentials_are_dead_lettered_without_the_secret(
    made: Callable[..., Setup], kind: str
) -> None:
    """The receiver refuses the credentials (401) and echoes what it got: a write key it
    does not know, a webhook signature made with another secret."""
    setup = made()
    if kind == "segment":
        assert isinstance(setup.receiver, SegmentReceiver)
        setup.receiver.write_key = "another-key"
    else:
        assert isinstance(setup.receiver, WebhookReceiver)
        setup.receiver.secret = "another-secret"
    run = drive(setup.forwarder(), setup.clock)
    delivered, dead = setup.check(run)  # the secrets are in no dead letter
    assert (delivered, len(dead)) == ([], 300)
    assert {letter.status for letter in setup.letters} == {401}
    if kind == "segment":
        assert {r.headers["authorization"] for r in setup.requests()} == {"Basic " + SECRETS[3]}
        assert all("invalid write key '[redacted]'" in letter.response for letter in setup.letters)
        assert all(letter.headers["Authorization"] == "[redacted]" for letter in setup.letters)
    else:
        assert all("signature does not match" in letter.response for letter in setup.letters)
        assert all(letter.url.endswith("/hook?token=[redacted]") for letter in setup.letters)


class Killed(SystemExit):
    """The process dies between a send and the commit."""


def test_a_crash_between_send_and_commit_resends_only_the_batch_in_flight(
    made: Callable[..., Setup], kind: str
) -> None:
    setup = made()
    crash_at = 5 if kind == "webhook" else 2  # the second batch's second request, or its only one
    sent = 0

    def send(request: Outgoing) -> Answer:
        nonlocal sent
        sent += 1
        answer = setup.sender(request)  # it reaches the receiver...
        if sent == crash_at:
            raise Killed("killed after the request was sent")  # ...and the process dies
        return answer

    first = setup.forwarder(send)
    assert first.run_once(setup.clock.now).delivered == 120  # the first batch, committed
    committed = first.store.load()
    before = len(setup.requests())
    with pytest.raises(Killed):
        first.run_once(setup.clock.now)
    in_flight = {e for r in setup.requests()[before:] for e in r.event_ids()}
    del first

    restarted = setup.forwarder()  # a new process: a new Forwarder on the same position file
    assert restarted.committed() == committed
    run = drive(restarted, setup.clock)
    delivered, dead = setup.check(run, earlier=120)
    assert (len(delivered), dead) == (300, [])
    arrived = [e for r in setup.requests() for e in r.event_ids()]
    resent = {e for e in arrived if arrived.count(e) > 1}
    assert resent and resent <= in_flight  # at most the batch in flight, sent again
    assert setup.receiver.duplicates == (2 if kind == "webhook" else 120)  # ...and removed by the dedupe
    assert restarted.store.load() == _ends(setup.tmp_path / "log")


def test_a_retried_webhook_request_keeps_its_key_and_is_signed(tmp_path: Path, clock: Clock) -> None:
    setup = Setup("webhook", tmp_path, clock, Reply(503, b"busy", {"Retry-After": "30"}))
    with setup.receiver:
        try:
            run = drive(setup.forwarder(), clock)
        finally:
            setup.sender.close()
    delivered, dead = setup.check(run)
    assert (len(delivered), dead) == (300, [])
    first, second = setup.requests()[:2]
    assert first.body == second.body
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
    for got, at in ((first, NOW), (second, NOW + timedelta(seconds=30))):
        webhook.verify(got.body, got.headers["trackway-signature"], HOOK_SECRET, now=at)
    with pytest.raises(webhook.SignatureError, match="replayed"):
        webhook.verify(
            first.body, first.headers["trackway-signature"], HOOK_SECRET, now=NOW + timedelta(hours=1)
        )


def test_two_worker_logs_each_keep_their_order_through_faults(made: Callable[..., Setup], kind: str) -> None:
    setup = made(Reply(500), Normal(), Reset(process=True), Trickle(process=True), slots=TWO_LOGS)
    run = drive(setup.forwarder(), setup.clock)
    delivered, dead = setup.check(run)
    assert (len(delivered), dead) == (300, [])
    # The reset on the kept connection is sent again at once by the Sender (on a new
    # connection, where it meets the trickle): the forwarder retries the 500 and the trickle.
    assert run.retried == 2 and setup.receiver.duplicates > 0
    assert setup.forwarder().store.load() == _ends(setup.tmp_path / "log")
