"""trackway.destinations.consumer: the log delivered to a destination, at least once, in order."""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from trackway.destinations import types
from trackway.destinations.base import Encoded, Failed, Outgoing
from trackway.destinations.consumer import FAILED, PROPERTY, DeadLetter, Forwarder
from trackway.destinations.position import PositionError, PositionStore, default_path
from trackway.destinations.retry import HIDDEN, Answer, Policy
from trackway.destinations.select import Selection
from trackway.destinations.webhook import ENCODER
from trackway.ingest import log, records
from trackway.ingest.log import Position
from trackway.model import Event, to_json

NOW = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)
TOKEN = "tok-Very-Secret-123"
HMAC_SECRET = "whsec_consumer_test"
OPTIONS = {"url": f"https://hook.example/in?token={TOKEN}", "secret": HMAC_SECRET, "max_events": 2}


def _record(
    ids: list[str],
    prop: str = "shop",
    granted: bool = True,
    failed: int = 0,
    name: str = "purchase",
    received: datetime = NOW - timedelta(minutes=5),
) -> bytes:
    events = [
        to_json(
            Event(
                name=name,
                dialect="ga4-mp",
                id=i,
                property=prop,
                anonymous_id="a1",
                timestamp=received,
                received_at=received,
                consent={"purposes": {"analytics": granted}},
            )
        )
        for i in ids
    ]
    record = records.Record(
        kind=records.DECODED,
        request_id=ids[0] if ids else "r",
        endpoint="/collect",
        property=prop,
        received_at=records.micros(received),
        events=events,
        client_ids=[True] * len(events),
        failed=[records.FailedPayload(b"{}", "ga4-mp", [-1], b"[]") for _ in range(failed)],
    )
    return log.frame(records.dumps(record))


def _write(root: Path, frames: list[bytes], slot: str = "w1", seq: int = 1) -> None:
    path = root / slot / log.segment_name(seq)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as f:
        f.write(b"".join(frames))


class Receiver:
    """A fake ``send``: answers from a script (then 200), and records what it got."""

    def __init__(self, *script: Answer | Callable[[Outgoing], Answer]) -> None:
        self.script = list(script)
        self.got: list[Outgoing] = []

    def __call__(self, request: Outgoing) -> Answer:
        self.got.append(request)
        if not self.script:
            return Answer(200)
        step = self.script.pop(0)
        return step(request) if callable(step) else step

    def events(self) -> list[str]:
        return [e["id"] for r in self.got for e in json.loads(r.body)["events"]]


def _forwarder(
    tmp_path: Path,
    send: Callable[[Outgoing], Answer],
    name: str = "hook",
    selection: Selection | None = None,
    letters: list[DeadLetter] | None = None,
    options: dict[str, Any] | None = None,
    **kw: Any,
) -> Forwarder:
    return Forwarder(
        tmp_path / "log",
        name,
        selection or Selection(),
        ENCODER,
        options or OPTIONS,
        send,
        PositionStore(default_path(tmp_path, name), name),
        lambda: None,
        dead_letters=letters if letters is not None else [],
        random=lambda: 0.5,
        **kw,
    )


def _end(tmp_path: Path, slot: str = "w1", seq: int = 1) -> Position:
    return Position(seq, (tmp_path / "log" / slot / log.segment_name(seq)).stat().st_size)


def test_all_delivered_in_order_and_committed(tmp_path: Path) -> None:
    _write(tmp_path / "log", [_record(["e1", "e2"]), _record(["e3"]), _record(["e4", "e5"])])
    _write(tmp_path / "log", [_record(["f1"])], slot="w2")
    receiver = Receiver()
    fwd = _forwarder(tmp_path, receiver)
    counts = fwd.run_once(NOW)
    assert (counts.delivered, counts.retried, counts.dead_lettered, counts.records) == (6, 0, 0, 4)
    assert counts.retry_at is None
    assert receiver.events() == ["e1", "e2", "e3", "e4", "e5", "f1"]
    assert [len(r.events) for r in receiver.got] == [2, 2, 2]  # batched across records
    committed = {"w1": _end(tmp_path), "w2": _end(tmp_path, "w2")}
    assert fwd.store.load() == committed
    again = fwd.run_once(NOW)
    assert (again.delivered, again.records) == (0, 0)
    assert len(receiver.got) == 3


def test_500_then_200_is_retried_and_delivered_once(tmp_path: Path) -> None:
    _write(tmp_path / "log", [_record(["e1", "e2"]), _record(["e3"])])
    receiver = Receiver(Answer(500, body="down"))
    fwd = _forwarder(tmp_path, receiver, policy=Policy(base_s=2.0))
    first = fwd.run_once(NOW)
    assert (first.delivered, first.retried) == (0, 1)
    assert first.retry_at == NOW + timedelta(seconds=1.0)  # 0.5 of the 2 s ceiling
    assert "HTTP 500: down" in first.last_error
    assert len(receiver.got) == 1  # stopped at the request to retry: order kept
    assert fwd.store.load() == {}  # nothing committed past it
    early = fwd.run_once(NOW + timedelta(seconds=0.5))
    assert (early.delivered, early.retry_at, len(receiver.got)) == (0, first.retry_at, 1)
    done = fwd.run_once(NOW + timedelta(seconds=1))
    assert (done.delivered, done.retried, done.retry_at) == (3, 0, None)
    assert receiver.events() == ["e1", "e2", "e1", "e2", "e3"]  # the failed request sent again, then on
    assert fwd.store.load() == {"w1": _end(tmp_path)}


def test_429_with_retry_after(tmp_path: Path) -> None:
    _write(tmp_path / "log", [_record(["e1"])])
    receiver = Receiver(Answer(429, {"Retry-After": "30"}))
    fwd = _forwarder(tmp_path, receiver)
    counts = fwd.run_once(NOW)
    assert counts.retry_at == NOW + timedelta(seconds=30)
    assert "HTTP 429" in counts.last_error
    assert fwd.run_once(NOW + timedelta(seconds=29)).delivered == 0
    assert fwd.run_once(NOW + timedelta(seconds=30)).delivered == 1


def test_400_dead_lettered_at_once_with_the_response_and_no_secret(tmp_path: Path) -> None:
    _write(tmp_path / "log", [_record(["e1", "e2"]), _record(["e3"])])
    echo = f'{{"error":"bad event","url":"{OPTIONS["url"]}","secret":"{HMAC_SECRET}"}}'
    receiver = Receiver(Answer(400, body=echo))
    letters: list[DeadLetter] = []
    fwd = _forwarder(tmp_path, receiver, letters=letters)
    counts = fwd.run_once(NOW)
    assert (counts.delivered, counts.dead_lettered, counts.retried) == (1, 2, 0)
    assert receiver.events() == ["e1", "e2", "e3"]  # sent once each: no retry of a 400
    [letter] = letters
    assert letter.events == ("e1", "e2") and letter.status == 400 and letter.destination == "hook"
    assert "bad event" in letter.response and "HTTP 400" in letter.reason
    assert letter.url == f"https://hook.example/in?token={HIDDEN}"
    assert counts.last_error == letter.reason  # the status's last error (it was empty)
    kept = repr(letter) + counts.last_error
    assert TOKEN not in kept and HMAC_SECRET not in kept
    assert fwd.store.load() == {"w1": _end(tmp_path)}  # dead-lettered: passed


def test_no_secret_in_a_retry_error(tmp_path: Path) -> None:
    _write(tmp_path / "log", [_record(["e1"])])
    receiver = Receiver(Answer(error=ConnectionResetError(f"reset while sending to {OPTIONS['url']}")))
    counts = _forwarder(tmp_path, receiver).run_once(NOW)
    assert "ConnectionResetError" in counts.last_error
    assert TOKEN not in counts.last_error and HIDDEN in counts.last_error


def test_give_up_after_the_maximum_age(tmp_path: Path) -> None:
    _write(tmp_path / "log", [_record(["e1"]), _record(["e2"])])
    receiver = Receiver(Answer(503, body="overloaded"), Answer(503, body="overloaded"))
    letters: list[DeadLetter] = []
    fwd = _forwarder(tmp_path, receiver, letters=letters, policy=Policy(max_age_s=600))
    assert fwd.run_once(NOW).retried == 1  # events received 5 min ago: retried
    later = fwd.run_once(NOW + timedelta(minutes=6))  # 11 min: over the 10 min
    assert (later.dead_lettered, later.delivered) == (2, 0)
    assert "last error: HTTP 503: overloaded" in letters[0].reason
    assert fwd.store.load() == {"w1": _end(tmp_path)}


def test_crash_after_send_before_commit_resends_that_batch_only(tmp_path: Path) -> None:
    _write(tmp_path / "log", [_record(["e1"]), _record(["e2"]), _record(["e3"]), _record(["e4"])])
    receiver = Receiver()
    fwd = _forwarder(tmp_path, receiver, batch=2)
    assert fwd.run_once(NOW).delivered == 2  # e1, e2 committed

    def crash(positions: Any) -> None:
        raise SystemExit("killed")

    fwd.store.save = crash  # type: ignore[method-assign]
    with pytest.raises(SystemExit):
        fwd.run_once(NOW)  # e3, e4 sent; the process dies before the commit
    assert receiver.events() == ["e1", "e2", "e3", "e4"]
    restarted = _forwarder(tmp_path, receiver, batch=2)
    assert restarted.run_once(NOW).delivered == 2
    assert receiver.events() == ["e1", "e2", "e3", "e4", "e3", "e4"]  # the batch in flight only
    assert restarted.run_once(NOW).records == 0
    sent = [r.idempotency_key for r in receiver.got]
    assert sent[1] == sent[2]  # the re-sent batch carries the same key: the receiver deduplicates


def test_a_crash_mid_batch_resends_only_what_the_last_save_had_not_passed(tmp_path: Path) -> None:
    # one event a request (Convead, GA4 a client at a time): the position was saved only once the
    # whole batch was done, so a kill on its last request sent all of it again
    _write(tmp_path / "log", [_record([f"e{n}"]) for n in range(1, 5)])

    def killed(request: Outgoing) -> Answer:
        raise SystemExit("killed")

    receiver = Receiver(Answer(200), Answer(200), Answer(200), killed)
    fwd = _forwarder(tmp_path, receiver, options=OPTIONS | {"max_events": 1}, batch=10, commit_every_s=1e-9)
    with pytest.raises(SystemExit):
        fwd.run_once(NOW)
    assert receiver.events() == ["e1", "e2", "e3", "e4"]
    again = Receiver()
    restarted = _forwarder(tmp_path, again, options=OPTIONS | {"max_events": 1}, batch=10)
    assert restarted.run_once(NOW).delivered == 1
    assert again.events() == ["e4"]  # the request in flight only


def test_skipped_events_are_counted_and_passed(tmp_path: Path) -> None:
    _write(
        tmp_path / "log",
        [
            _record(["e1"]),
            _record(["e2"], granted=False),
            _record(["o1"], prop="other"),
            _record(["e3"], failed=1),
        ],
    )
    receiver = Receiver()
    fwd = _forwarder(tmp_path, receiver, selection=Selection(consent="analytics"), property="shop")
    counts = fwd.run_once(NOW)
    assert counts.delivered == 2
    assert counts.skipped == {"consent": 1, PROPERTY: 1, FAILED: 1}
    assert receiver.events() == ["e1", "e3"]
    assert fwd.store.load() == {"w1": _end(tmp_path)}


def test_failed_payloads_go_to_a_destination_that_asks_for_them(tmp_path: Path) -> None:
    _write(tmp_path / "log", [_record(["e1"], failed=1), _record(["e2"])])
    receiver = Receiver()
    letters: list[DeadLetter] = []
    fwd = _forwarder(tmp_path, receiver, selection=Selection(failed=True), letters=letters)
    counts = fwd.run_once(NOW)
    assert counts.skipped == {} and counts.delivered == 3
    sent = [e for r in receiver.got for e in json.loads(r.body)["events"]]
    failed = [e for e in sent if e.get("failed")]
    assert [e["id"] for e in sent] == ["e1", "e2", "e1/0"]  # a batch's events, then its failed payloads
    assert failed[0]["dialect"] == "ga4-mp" and failed[0]["payload"] == "{}" and failed[0]["issues"] == []
    assert fwd.store.load() == {"w1": _end(tmp_path)}


PII_PAYLOAD = (
    b'{"client_id": "bad.1", "user_id": "dave@example.com", "events": [{"name": "purchase", '
    b'"params": {"value": "abc", "email": "dave@example.com", "phone": "+33612345678"}}]}'
)
PII_ISSUES = b'[{"code": "TYPE_INVALID", "message": "expected a number, got \'dave@example.com\'"}]'


@pytest.mark.parametrize("policy", ["hash", "drop"])
def test_a_failed_payload_leaves_with_the_destinations_identifiers_policy(
    tmp_path: Path, policy: str
) -> None:
    # failed payloads went to the webhook as received, raw emails and phones included, whatever
    # the destination's identifiers said
    frame = records.Record(
        kind=records.DECODED,
        request_id="r1",
        endpoint="/mp/collect",
        property="shop",
        received_at=records.micros(NOW - timedelta(minutes=5)),
        failed=[records.FailedPayload(PII_PAYLOAD, "ga4-mp", [0], PII_ISSUES)],
    )
    _write(tmp_path / "log", [log.frame(records.dumps(frame))])
    receiver = Receiver()
    fwd = _forwarder(tmp_path, receiver, selection=Selection(failed=True, identifiers=policy))
    assert fwd.run_once(NOW).delivered == 1
    [failed] = [e for r in receiver.got for e in json.loads(r.body)["events"]]
    sent = json.dumps(failed)
    assert "dave@example.com" not in sent and "33612345678" not in sent, sent
    assert json.loads(failed["payload"])["client_id"] == "bad.1"  # the rest as received
    assert failed["issues"][0]["code"] == "TYPE_INVALID"


def test_a_dead_lettered_failed_payload_can_be_read_back(tmp_path: Path) -> None:
    _write(tmp_path / "log", [_record(["e1"], failed=1)])
    letters: list[DeadLetter] = []
    fwd = _forwarder(
        tmp_path, Receiver(Answer(400, {}, "no")), selection=Selection(failed=True), letters=letters
    )
    fwd.run_once(NOW)
    [letter] = letters
    assert letter.events == ("e1", "e1/0")
    back = Failed.from_json(letter.payloads[1])
    assert (back.id, back.dialect, back.payload, back.property) == ("e1/0", "ga4-mp", "{}", "shop")


@pytest.mark.parametrize("limit", ["records", "bytes"])
def test_workers_logs_are_merged_in_the_order_received_across_batches(tmp_path: Path, limit: str) -> None:
    """w1 received at 0, 2, 4, ... s and w2 at 1, 3, 5, ...: with 2 records a worker a
    batch (by their number, or by their bytes), a batch may not take w1's record at 2 s
    when w2's at 1 s is in it, nor leave w2's at 3 s for a later batch when w1's at 4 s
    is in this one."""
    base = NOW - timedelta(minutes=5)
    for slot, first in (("w1", 0), ("w2", 1)):
        times = [base + timedelta(seconds=first + 2 * k) for k in range(5)]
        _write(
            tmp_path / "log", [_record([f"{slot}-{k}"], received=t) for k, t in enumerate(times)], slot=slot
        )
    _write(tmp_path / "log", [_record(["w3-0"], received=base + timedelta(seconds=30))], slot="w3")
    receiver = Receiver()
    if limit == "records":
        fwd = _forwarder(tmp_path, receiver, batch=6)  # 2 records a worker log
    else:
        size = len(_record(["w1-0"])) - 8  # a record's payload (its frame has an 8-byte header)
        fwd = _forwarder(tmp_path, receiver, batch_bytes=3 * (2 * size - 1))  # 2 records a worker log
    reads = [fwd.run_once(NOW).records for _ in range(20)]
    order = receiver.events()
    assert order == [f"w{1 + n % 2}-{n // 2}" for n in range(10)] + ["w3-0"]
    assert max(reads) <= 6


@pytest.mark.parametrize(
    ("records", "batch", "drained"),
    [
        ({"w1": 3, "w2": 1}, 1000, [True, False]),  # everything in one batch, then nothing
        ({"w1": 3, "w2": 1}, 4, [False, True, False]),  # w1 fills its share of 2 first
        ({"w1": 1}, 1, [False, False]),  # a share of one, filled: it cannot tell it was the last
    ],
)
def test_a_run_says_whether_it_read_every_log_to_its_end(tmp_path, records, batch, drained) -> None:
    """The courier gathers after a run that took everything (runner.GATHER_S), and reads a
    backlog back to back: a run that filled a log's share has not drained."""
    for slot, n in records.items():
        _write(tmp_path / "log", [_record([f"{slot}-{k}"]) for k in range(n)], slot=slot)
    fwd = _forwarder(tmp_path, Receiver(), batch=batch)
    said = []
    for _ in drained:
        fwd.run_once(NOW)
        said.append(fwd.drained)
    assert said == drained


def test_two_destinations_keep_separate_positions(tmp_path: Path) -> None:
    _write(tmp_path / "log", [_record(["e1"]), _record(["e2"])])
    up, down = Receiver(), Receiver(*[Answer(500)] * 10)
    fast = _forwarder(tmp_path, up, name="up")
    slow = _forwarder(tmp_path, down, name="down")
    assert slow.run_once(NOW).retried == 1
    assert fast.run_once(NOW).delivered == 2
    assert fast.store.load() == {"w1": _end(tmp_path)}
    assert slow.store.load() == {}
    assert up.events() == ["e1", "e2"]


def test_reads_past_the_end_of_a_finished_file(tmp_path: Path) -> None:
    _write(tmp_path / "log", [_record(["e1"])], seq=1)
    _write(tmp_path / "log", [_record(["e2"])], seq=2)
    receiver = Receiver()
    fwd = _forwarder(tmp_path, receiver)
    assert fwd.run_once(NOW).delivered == 2
    assert fwd.store.load() == {"w1": _end(tmp_path, seq=2)}


def test_a_refused_event_is_dead_lettered_and_passed(tmp_path: Path) -> None:
    _write(tmp_path / "log", [_record(["e1"]), _record(["e2"])])
    letters: list[DeadLetter] = []
    receiver = Receiver()
    fwd = _forwarder(tmp_path, receiver, letters=letters, options={**OPTIONS, "max_bytes": 100})  # none fits
    counts = fwd.run_once(NOW)
    assert (counts.refused, counts.delivered) == (2, 0)
    assert [letter.events for letter in letters] == [("e1",), ("e2",)]
    assert all("refused:" in letter.reason and "max_bytes" in letter.reason for letter in letters)
    assert counts.last_error == letters[-1].reason  # the status's last error (it was empty)
    assert fwd.store.load() == {"w1": _end(tmp_path)}


def test_a_damaged_position_file_stops_forwarding(tmp_path: Path) -> None:
    _write(tmp_path / "log", [_record(["e1"])])
    path = default_path(tmp_path, "hook")
    path.parent.mkdir(parents=True)
    path.write_text('{"version":1,"desti')
    receiver = Receiver()
    with pytest.raises(PositionError, match="unreadable"):
        _forwarder(tmp_path, receiver).run_once(NOW)
    assert receiver.got == []


@pytest.fixture(autouse=True)
def _no_leftovers(tmp_path: Path) -> Iterator[None]:
    yield
    leftovers = list((tmp_path / "run").rglob(".*.tmp")) if (tmp_path / "run").exists() else []
    assert leftovers == []


class SplittingEncoder:
    """An encoder that sends each event in two requests (as Segment's identify, then
    track), and silently leaves out an event whose id starts with "lost" (a bug)."""

    type = "split"
    options: tuple[str, ...] = ("url",)
    secrets: frozenset[str] = frozenset()

    def encode(self, events: Any, options: Any, now: datetime) -> Encoded:
        out = Encoded()
        for event in events:
            if event.id.startswith("lost"):
                continue
            for part in ("identify", "track"):
                body = json.dumps({"events": [{"id": event.id, "part": part}]}).encode()
                out.requests.append(Outgoing("POST", options["url"], {}, body, (event.id,)))
        return out


def test_an_event_in_two_requests_is_passed_only_when_both_are_done(tmp_path: Path) -> None:
    _write(tmp_path / "log", [_record(["e1"]), _record(["e2"])])
    receiver = Receiver(Answer(200), Answer(500))  # e1's identify delivered, its track to retry
    fwd = _forwarder(tmp_path, receiver)
    fwd.encoder = SplittingEncoder()
    first = fwd.run_once(NOW)
    assert (first.delivered, first.retried) == (0, 1)  # e1 counts once its last request is delivered
    assert fwd.store.load() == {}  # e1's record is not passed: its track is not delivered
    done = fwd.run_once(first.retry_at or NOW)
    assert done.delivered == 2  # e1 and e2, each counted once
    assert len(receiver.got) == 5
    assert fwd.store.load() == {"w1": _end(tmp_path)}


def test_an_event_the_encoder_loses_is_dead_lettered(tmp_path: Path) -> None:
    _write(tmp_path / "log", [_record(["lost1"]), _record(["e2"])])
    letters: list[DeadLetter] = []
    fwd = _forwarder(tmp_path, Receiver(), letters=letters)
    fwd.encoder = SplittingEncoder()
    counts = fwd.run_once(NOW)
    assert (counts.delivered, counts.dead_lettered) == (1, 1)
    assert [(letter.events, "neither sent nor refused" in letter.reason) for letter in letters] == [
        (("lost1",), True)
    ]
    assert fwd.store.load() == {"w1": _end(tmp_path)}


GA4_SECRET = "Ga4-Api-Secret-xyz"


def test_ga4_api_secret_never_kept(tmp_path: Path) -> None:
    """GA4 puts api_secret in the URL: it appears in no dead letter and no error."""
    _write(tmp_path / "log", [_record(["e1"], name="page_view"), _record(["e2"], name="page_view")])
    receiver = Receiver(
        lambda r: Answer(error=TimeoutError(f"timed out reading {r.url}")),
        lambda r: Answer(403, body=f"api_secret {GA4_SECRET} is not valid for {r.url}"),
    )
    letters: list[DeadLetter] = []
    name = "ga4"
    fwd = Forwarder(
        tmp_path / "log",
        name,
        Selection(),
        types.encoder("ga4"),
        {"measurement_id": "G-ABC123", "api_secret": GA4_SECRET},
        receiver,
        PositionStore(default_path(tmp_path, name), name),
        lambda: None,
        dead_letters=letters,
        random=lambda: 0.5,
    )
    first = fwd.run_once(NOW)
    assert "TimeoutError" in first.last_error and GA4_SECRET not in first.last_error
    second = fwd.run_once(first.retry_at or NOW)
    assert second.dead_lettered == 2  # GA4 sends both in one request
    assert GA4_SECRET in receiver.got[0].url  # it was sent...
    [letter] = letters
    assert letter.status == 403 and "is not valid" in letter.response
    assert (
        letter.url
        == f"https://www.google-analytics.com/mp/collect?measurement_id={HIDDEN}&api_secret={HIDDEN}"
    )
    assert GA4_SECRET not in repr(letter)  # ...and kept nowhere


def test_a_batch_is_read_encoded_and_sent_with_the_collector_paused(tmp_path: Path) -> None:
    _write(tmp_path / "log", [_record(["e1", "e2"])])
    seen: list[bool] = []

    def send(request: Outgoing) -> Answer:
        seen.append(gc.isenabled())
        return Answer(200)

    was = gc.isenabled()
    gc.enable()
    try:
        counts = _forwarder(tmp_path, send).run_once(NOW)
        assert gc.isenabled()  # resumed once the batch is done
    finally:
        if not was:
            gc.disable()
    assert counts.delivered == 2
    assert seen == [False]


def test_a_record_over_the_byte_bound_still_goes_one_a_batch(tmp_path: Path) -> None:
    _write(tmp_path / "log", [_record([f"e{n}", f"e{n}b"]) for n in range(3)])
    receiver = Receiver()
    fwd = _forwarder(tmp_path, receiver, batch_bytes=1)  # every record is over it
    reads = [fwd.run_once(NOW).records for _ in range(5)]
    assert reads == [1, 1, 1, 0, 0]
    assert receiver.events() == ["e0", "e0b", "e1", "e1b", "e2", "e2b"]
    assert fwd.store.load() == {"w1": _end(tmp_path)}


@pytest.mark.parametrize("in_flight", [1, 3])
def test_each_request_and_its_round_trip_are_counted(tmp_path: Path, in_flight: int) -> None:
    _write(tmp_path / "log", [_record([f"e{n}"]) for n in range(4)])
    receiver = Receiver(Answer(503))

    def slow(request: Outgoing) -> Answer:
        time.sleep(0.02)
        return receiver(request)

    fwd = _forwarder(tmp_path, slow, options={**OPTIONS, "max_events": 1}, in_flight=in_flight)
    try:
        first = fwd.run_once(NOW)  # 503: stops at the first request
        assert first.retry_at is not None
        rest = fwd.run_once(first.retry_at)
    finally:
        fwd.close()
    assert (first.requests, rest.requests) == (1, 4)  # every try counts
    for counts in (first, rest):
        assert 0.02 * counts.requests * 0.9 <= counts.request_seconds <= 5.0
    assert rest.delivered == 4
