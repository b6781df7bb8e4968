"""trackway.destinations.consumer with ``in_flight`` above 1: requests outstanding together,
order kept per ordering key, every event delivered once or dead-lettered, positions
committed only past what is finished."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trackway.destinations.base import Encoded, Outgoing
from trackway.destinations.consumer import DeadLetter, Forwarder
from trackway.destinations.position import PositionStore, default_path
from trackway.destinations.retry import Answer
from trackway.destinations.select import Selection
from trackway.ingest import log, records
from trackway.ingest.log import Position
from trackway.model import Event, to_json

NOW = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
RECEIVED = NOW - timedelta(minutes=5)


class OnePerEvent:
    """An encoder sending each event alone, keyed by its anonymous id ('' : no key)."""

    type = "test"
    options: Sequence[str] = ()
    secrets = frozenset[str]()

    def encode(self, events: Sequence[Event], options: Mapping[str, Any], now: datetime) -> Encoded:
        out = Encoded()
        for e in events:
            key = e.anonymous_id or None
            out.requests.append(
                Outgoing("POST", "http://r/in", {}, (e.id or "").encode(), (e.id or "",), order_key=key)
            )
        return out


class Receiver:
    """A thread-safe fake ``send``: answers from ``script`` (event id -> answers, in
    turn; then 200) after a random short delay, and records what was in flight."""

    def __init__(self, script: dict[str, list[Answer | Exception]] | None = None, seed: int = 7) -> None:
        self.script = {k: list(v) for k, v in (script or {}).items()}
        self.lock = threading.Lock()
        self.random = random.Random(seed)
        self.got: list[str] = []  # event ids, in the order they arrived
        self.active: dict[str | None, int] = {}  # key -> requests of it in flight
        self.most = 0  # requests in flight at once, at most
        self.overlaps: list[str] = []  # what broke the ordering rules

    def __call__(self, request: Outgoing) -> Answer:
        key, eid = request.order_key, request.events[0]
        with self.lock:
            in_flight = sum(self.active.values())
            if self.active.get(key):
                self.overlaps.append(f"{eid}: key {key} already in flight")
            if key is None and in_flight:
                self.overlaps.append(f"{eid}: no key, beside {in_flight} in flight")
            if self.active.get(None):
                self.overlaps.append(f"{eid}: beside a request without a key")
            self.active[key] = self.active.get(key, 0) + 1
            self.most = max(self.most, in_flight + 1)
            self.got.append(eid)
            steps = self.script.get(eid)
            step = steps.pop(0) if steps else Answer(200)
            delay = self.random.uniform(0.0005, 0.004)
        time.sleep(delay)
        with self.lock:
            self.active[key] -= 1
        if isinstance(step, Exception):
            raise step
        return step


def _write_log(tmp_path: Path, keys: list[str]) -> list[str]:
    """One record an event, event i keyed keys[i] ('' : none); returns the ids."""
    ids, frames = [], []
    for n, key in enumerate(keys):
        eid = f"e{n:03d}"
        event = Event(
            name="page_view", dialect="ga4-mp", id=eid, property="shop", anonymous_id=key or None,
            timestamp=RECEIVED, received_at=RECEIVED,
        )  # fmt: skip
        record = records.Record(
            kind=records.DECODED, request_id=eid, endpoint="/collect", property="shop",
            received_at=records.micros(RECEIVED), events=[to_json(event)], client_ids=[True],
        )  # fmt: skip
        frames.append(log.frame(records.dumps(record)))
        ids.append(eid)
    path = tmp_path / "log" / "w1" / log.segment_name(1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(frames))
    return ids


def _forwarder(
    tmp_path: Path, send: Callable[[Outgoing], Answer], in_flight: int, letters: list[DeadLetter]
) -> Forwarder:
    return Forwarder(
        tmp_path / "log", "hook", Selection(), OnePerEvent(), {}, send,
        PositionStore(default_path(tmp_path, "hook"), "hook"), lambda: None,
        dead_letters=letters, random=lambda: 0.5, in_flight=in_flight,
    )  # fmt: skip


def _run(forwarder: Forwarder, rounds: int = 20) -> list[Any]:
    """run_once until nothing is left, at each retry's time; returns the counts."""
    now, out = NOW, []
    try:
        for _ in range(rounds):
            counts = forwarder.run_once(now)
            out.append(counts)
            if counts.retry_at is not None:
                now = counts.retry_at
            elif not counts.records and not counts.delivered and not counts.dead_lettered:
                break
    finally:
        forwarder.close()
    return out


def _end(tmp_path: Path) -> Position:
    return Position(1, (tmp_path / "log" / "w1" / log.segment_name(1)).stat().st_size)


def _per_key(ids: list[str], keys: list[str], got: list[str]) -> dict[str, list[str]]:
    key_of = dict(zip(ids, keys, strict=True))
    out: dict[str, list[str]] = {}
    for eid in got:
        out.setdefault(key_of[eid], []).append(eid)
    return out


KEYS = {
    "every event its own visitor": [f"v{n}" for n in range(40)],
    "three visitors interleaved": [f"v{n % 3}" for n in range(40)],
    "one visitor": ["v"] * 12,
    "runs of one visitor": [f"v{n // 5}" for n in range(40)],
    "requests without a key among them": [("" if n % 7 == 3 else f"v{n % 4}") for n in range(40)],
}


@pytest.mark.parametrize("in_flight", [2, 4, 8])
@pytest.mark.parametrize("name", list(KEYS))
def test_every_event_once_in_order_per_key_within_the_window(
    tmp_path: Path, name: str, in_flight: int
) -> None:
    keys = KEYS[name]
    ids = _write_log(tmp_path, keys)
    receiver, letters = Receiver(seed=in_flight), []
    counts = _run(_forwarder(tmp_path, receiver, in_flight, letters))
    assert sorted(receiver.got) == ids  # each once
    assert receiver.overlaps == []
    assert receiver.most <= in_flight
    for key, got in _per_key(ids, keys, receiver.got).items():
        if key:
            assert got == sorted(got), f"visitor {key}'s events out of order"
    assert sum(c.delivered for c in counts) == len(ids)
    assert letters == []
    assert PositionStore(default_path(tmp_path, "hook"), "hook").load() == {"w1": _end(tmp_path)}


def test_distinct_visitors_fill_the_window(tmp_path: Path) -> None:
    ids = _write_log(tmp_path, [f"v{n}" for n in range(64)])
    receiver = Receiver()
    _run(_forwarder(tmp_path, receiver, 8, []))
    assert sorted(receiver.got) == ids
    assert receiver.most == 8


def test_one_at_a_time_stays_in_order_overall(tmp_path: Path) -> None:
    ids = _write_log(tmp_path, [f"v{n % 3}" for n in range(20)])
    receiver = Receiver()
    _run(_forwarder(tmp_path, receiver, 1, []))
    assert receiver.got == ids
    assert receiver.most == 1


def test_a_retry_resends_only_what_was_not_answered(tmp_path: Path) -> None:
    """e002 is answered 503 (Retry-After 30): what else was in flight is answered and
    kept; the position stops before e002; at the retry's time e002 and the rest go,
    nothing delivered is sent again."""
    ids = _write_log(tmp_path, [f"v{n}" for n in range(12)])
    receiver, letters = Receiver({"e002": [Answer(503, {"retry-after": "30"}, "busy")]}), []
    forwarder = _forwarder(tmp_path, receiver, 4, letters)
    first = forwarder.run_once(NOW)
    assert first.retry_at == NOW + timedelta(seconds=30)
    assert "503" in first.last_error
    assert first.delivered == len(receiver.got) - 1  # everything else sent was delivered
    assert receiver.got.count("e002") == 1
    stored = PositionStore(default_path(tmp_path, "hook"), "hook")
    forwarder.flush()
    assert stored.load()["w1"] < _end(tmp_path)  # e002 and what follows it are not passed
    assert forwarder.run_once(NOW + timedelta(seconds=10)).delivered == 0  # not yet
    _run(forwarder)
    assert sorted(receiver.got) == sorted([*ids, "e002"])  # e002 twice, everything else once
    assert stored.load() == {"w1": _end(tmp_path)}
    assert letters == []


def test_a_crash_during_a_retry_resends_from_the_first_unfinished_request(tmp_path: Path) -> None:
    ids = _write_log(tmp_path, [f"v{n}" for n in range(12)])
    receiver = Receiver({"e002": [Answer(503)]})
    crashed = _forwarder(tmp_path, receiver, 4, [])
    crashed.run_once(NOW)
    crashed.flush()
    crashed.close()
    before = list(receiver.got)
    again = Receiver()
    _run(_forwarder(tmp_path, again, 4, []))  # a new process, from the committed position
    assert sorted(again.got) == ids[2:]  # duplicates: only what was in flight past e002
    assert set(before) | set(again.got) == set(ids)


def test_a_refused_request_is_dead_lettered_and_the_rest_delivered(tmp_path: Path) -> None:
    ids = _write_log(tmp_path, [f"v{n % 5}" for n in range(15)])
    receiver, letters = Receiver({"e006": [Answer(400, {}, "bad event")]}), []
    counts = _run(_forwarder(tmp_path, receiver, 4, letters))
    assert sorted(receiver.got) == ids
    assert [d.events for d in letters] == [("e006",)]
    assert letters[0].status == 400 and letters[0].response == "bad event"
    assert sum(c.delivered for c in counts) == len(ids) - 1
    assert PositionStore(default_path(tmp_path, "hook"), "hook").load() == {"w1": _end(tmp_path)}


def test_a_send_that_raises_is_an_error_to_retry(tmp_path: Path) -> None:
    ids = _write_log(tmp_path, [f"v{n}" for n in range(6)])
    receiver = Receiver({"e001": [RuntimeError("a bug in send")]})
    counts = _run(_forwarder(tmp_path, receiver, 3, []))
    assert "a bug in send" in counts[0].last_error
    assert sorted(receiver.got) == sorted([*ids, "e001"])


@pytest.mark.parametrize("bad", [0, -1, 65, 2.0, "4", True])
def test_in_flight_out_of_range_is_refused(tmp_path: Path, bad: Any) -> None:
    with pytest.raises(ValueError, match="in_flight: expected 1 to 64"):
        _forwarder(tmp_path, Receiver(), bad, [])


# --- a hostile destination, drawn ----------------------------------------------------

FAULTS = {
    "503": Answer(503, {}, "busy"),
    "429": Answer(429, {"retry-after": "7"}, "slow down"),
    "reset": Answer(error=ConnectionResetError("reset by peer")),
    "raise": RuntimeError("send broke"),
}
ENDINGS = {"200": Answer(200), "400": Answer(400, {}, "refused"), "204": Answer(204)}


@st.composite
def _scenarios(draw: st.DrawFn) -> tuple[list[str], dict[str, list[Answer | Exception]], int]:
    n = draw(st.integers(1, 24))
    keys = draw(st.lists(st.sampled_from(["", "a", "b", "c", "d", "e"]), min_size=n, max_size=n))
    script = {}
    for i in range(n):
        faults = draw(st.lists(st.sampled_from(sorted(FAULTS)), max_size=2))
        ending = draw(st.sampled_from(sorted(ENDINGS)))
        script[f"e{i:03d}"] = [FAULTS[f] for f in faults] + [ENDINGS[ending]]
    return keys, script, draw(st.integers(1, 6))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scenario=_scenarios())
def test_any_answers_end_each_event_delivered_once_or_dead_lettered(
    tmp_path_factory: pytest.TempPathFactory, scenario: tuple[list[str], dict[str, list[Any]], int]
) -> None:
    """Whatever a destination answers, in whatever order its answers come: every event is
    delivered or dead-lettered, once; a key's requests never overlap and go in order;
    nothing finished is sent again; the position ends at the log's end."""
    keys, script, in_flight = scenario
    tmp_path = tmp_path_factory.mktemp("drawn")
    ids = _write_log(tmp_path, keys)
    wanted = {eid: list(answers) for eid, answers in script.items()}
    receiver, letters = Receiver(script, seed=len(ids)), []
    counts = _run(_forwarder(tmp_path, receiver, in_flight, letters), rounds=200)
    dead = {e for letter in letters for e in letter.events}
    assert dead == {e for e, answers in wanted.items() if answers[-1].status == 400}
    assert sum(c.delivered for c in counts) == len(ids) - len(dead)
    assert sum(c.dead_lettered for c in counts) == len(dead)
    assert receiver.overlaps == []
    assert receiver.most <= in_flight
    for eid, answers in wanted.items():  # each try answered once: a finished request is not sent again
        assert receiver.got.count(eid) == len(answers), eid
    for key, got in _per_key(ids, keys, receiver.got).items():
        if key:
            assert got == sorted(got), f"key {key}: {got}"
    assert PositionStore(default_path(tmp_path, "hook"), "hook").load() == {"w1": _end(tmp_path)}
