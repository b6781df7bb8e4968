"""trackway.destinations.runner: couriers in one process, and the log kept for destinations."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.destinations.receivers import Stall, WebhookReceiver, receiver
from trackway import config as configuration
from trackway.destinations import runner, status
from trackway.destinations.position import PositionStore
from trackway.destinations.shared import Outcomes
from trackway.ingest import log, records
from trackway.ingest.loader import Loader
from trackway.ingest.log import Position
from trackway.ingest.pacing import Pacer
from trackway.model import Event, to_json

SECRET = "whsec_runner_test_secret"


class Stopped:
    """A store that has loaded every slot up to ``at`` (Loader.prune asks no more)."""

    def __init__(self, at: dict[str, Position]) -> None:
        self.at = at

    def positions(self) -> dict[str, Position]:
        return self.at

    def missing(self) -> str | None:
        return None


def _segments(root: Path, slot: str, n: int) -> list[Path]:
    paths = []
    for seq in range(1, n + 1):
        path = root / slot / log.segment_name(seq)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * 100)
        paths.append(path)
    return paths


def _config(data: Path, **tables: dict[str, Any]) -> configuration.Config:
    path = data / "trackway.toml"
    configuration.add_property(path, "shop")
    for name, table in tables.items():
        configuration.add_destination(path, "shop", name, table)
    return configuration.load(path)


def test_the_loader_deletes_only_what_every_destination_has_passed(tmp_path: Path) -> None:
    cfg = _config(
        tmp_path, hook={"type": "webhook", "url": "http://127.0.0.1:9/", "secret": SECRET, "paused": True}
    )
    root = tmp_path / "log"
    files = _segments(root, "w1", 4)
    PositionStore(runner.Files(tmp_path, "shop.hook").position, "shop.hook").save({"w1": Position(2, 10)})
    loader = Loader(
        root, Stopped({"w1": Position(4, 0)}), lambda: cfg, retain=runner.retention(tmp_path, lambda: cfg)
    )
    assert loader.prune() == 1  # file 1 only: the paused destination is in file 2
    assert [p.exists() for p in files] == [False, True, True, True]
    assert runner.retained_bytes(root, {"w1": Position(4, 0)}, cfg) == 200  # files 2 and 3
    PositionStore(runner.Files(tmp_path, "shop.hook").position, "shop.hook").save({"w1": Position(4, 0)})
    assert loader.prune() == 2
    assert [p.exists() for p in files] == [False, False, False, True]  # the loader's own file stays


def test_a_destination_without_a_position_holds_nothing_and_an_unreadable_one_holds_all(
    tmp_path: Path,
) -> None:
    cfg = _config(tmp_path, hook={"type": "webhook", "url": "http://127.0.0.1:9/", "secret": SECRET})
    root = tmp_path / "log"
    files = _segments(root, "w1", 3)
    retain = runner.retention(tmp_path, lambda: cfg)
    assert not retain(files[0])  # never started: it will start at the end of the log
    runner.Files(tmp_path, "shop.hook").position.parent.mkdir(parents=True, exist_ok=True)
    runner.Files(tmp_path, "shop.hook").position.write_text("torn")
    assert retain(files[0])  # nothing is deleted that it might still need


def test_forwarding_runs_a_courier_per_active_destination_and_follows_the_file(tmp_path: Path) -> None:
    with receiver(WebhookReceiver, SECRET, time.time) as hook:
        table = {"type": "webhook", "url": f"{hook.url}/in", "secret": SECRET}
        path = tmp_path / "trackway.toml"
        configuration.add_property(path, "shop")
        configuration.add_destination(path, "shop", "hook", table)
        holder = {"cfg": configuration.load(path)}
        forwarding = runner.Forwarding(tmp_path, lambda: holder["cfg"])
        runner.start_at_end(tmp_path, "shop.hook")  # as `destination add` does: from now on
        _write(tmp_path / "log", ["e1", "e2"])
        forwarding.sync()
        try:
            wait = time.monotonic() + 10
            while hook.events() != ["e1", "e2"] and time.monotonic() < wait:
                time.sleep(0.05)
            assert hook.events() == ["e1", "e2"]
            holder["cfg"] = (
                configuration.load(path)
                if configuration.pause_destination(path, "shop", "hook", True)
                else None
            )
            forwarding.sync()
            assert forwarding.couriers == {}
            saved = status.load(runner.Files(tmp_path, "shop.hook").status, "shop.hook")
            assert saved.state == status.PAUSED and saved.delivered == 2
            rendered = forwarding.metrics()
            assert any(n == "trackway_destination_events_total" and v == 2 for n, _, v in rendered.counters)
            assert SECRET not in runner.Files(tmp_path, "shop.hook").status.read_text()
        finally:
            for courier in forwarding.couriers.values():
                courier.halt.set()
                courier.join(5)


def test_the_couriers_of_a_process_read_each_record_once_between_them(tmp_path: Path) -> None:
    with receiver(WebhookReceiver, SECRET, time.time) as hook:
        path = tmp_path / "trackway.toml"
        configuration.add_property(path, "shop")
        for name in ("one", "two"):
            table = {"type": "webhook", "url": f"{hook.url}/{name}", "secret": SECRET}
            configuration.add_destination(path, "shop", name, table)
            runner.start_at_end(tmp_path, f"shop.{name}")
        cfg = configuration.load(path)
        forwarding = runner.Forwarding(tmp_path, lambda: cfg)
        _write(tmp_path / "log", ["e1", "e2"])
        forwarding.sync()
        try:
            wait = time.monotonic() + 10
            while hook.duplicates < 1 and time.monotonic() < wait:
                time.sleep(0.05)
            # both sent the batch: the receiver kept one, and knew the other by its key
            assert (hook.events(), hook.duplicates) == (["e1", "e2"], 1)
            shared = forwarding.outcomes
            assert {c.outcomes for c in forwarding.couriers.values()} == {shared}
            assert (shared.misses, shared.hits, shared.kept_bytes) == (1, 1, 0)
        finally:
            for courier in forwarding.couriers.values():
                courier.halt.set()
                courier.join(5)
        assert forwarding.outcomes.readers("shop") == 0  # each left as it stopped


def _write(root: Path, ids: list[str]) -> None:
    events = [
        to_json(Event(name="page_view", dialect="gtm-ga4", id=i, property="shop", anonymous_id="a"))
        for i in ids
    ]
    record = records.Record(
        kind=records.DECODED, request_id=ids[0], endpoint="/collect", property="shop",
        received_at=int(time.time() * 1e6), events=events,
        client_ids=[True] * len(events),
    )  # fmt: skip
    path = root / "w1" / log.segment_name(1)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as f:
        f.write(log.frame(records.dumps(record)))


class _Busy:
    """Workers' CPU seconds as /proc would give them: two workers each using a whole CPU."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def __call__(self) -> dict[int, float]:
        used = time.monotonic() - self.start
        return {101: used, 102: used}


def test_a_courier_waits_while_the_workers_fill_the_cpus_until_its_bound(tmp_path: Path) -> None:
    with receiver(WebhookReceiver, SECRET, time.time) as hook:
        cfg = _config(tmp_path, hook={"type": "webhook", "url": f"{hook.url}/in", "secret": SECRET})
        runner.start_at_end(tmp_path, "shop.hook")
        _write(tmp_path / "log", ["e1", "e2"])
        bound = 2
        pacer = Pacer(bound, cpus=2, usage=_Busy())
        pacer.crowded()  # its first look only starts the window it measures
        time.sleep(0.25)
        courier = runner.Courier(tmp_path, cfg.destinations()["shop.hook"], lambda: cfg, pacer=pacer)
        started = time.time()
        courier.start()
        try:
            time.sleep(0.6)
            assert hook.events() == []  # crowded: nothing sent yet
            saved = status.load(runner.Files(tmp_path, "shop.hook").status, "shop.hook")
            assert saved.state == status.DEFERRED
            wait = time.monotonic() + 15
            while hook.events() != ["e1", "e2"] and time.monotonic() < wait:
                time.sleep(0.05)
            delivered_after = time.time() - started
        finally:
            courier.halt.set()
            courier.join(5)
        assert hook.events() == ["e1", "e2"]
        assert delivered_after >= bound - 0.1  # not before the bound, however crowded
        assert courier.status.state == status.RUNNING


def test_a_courier_does_not_wait_for_idle_workers_or_with_no_bound(tmp_path: Path) -> None:
    for bound, usage in ((30, dict), (0, _Busy())):
        data = tmp_path / str(bound)
        with receiver(WebhookReceiver, SECRET, time.time) as hook:
            cfg = _config(data, hook={"type": "webhook", "url": f"{hook.url}/in", "secret": SECRET})
            runner.start_at_end(data, "shop.hook")
            _write(data / "log", ["e1"])
            pacer = Pacer(bound, cpus=2, usage=usage)
            courier = runner.Courier(data, cfg.destinations()["shop.hook"], lambda c=cfg: c, pacer=pacer)
            courier.start()
            try:
                wait = time.monotonic() + 10
                while hook.events() != ["e1"] and time.monotonic() < wait:
                    time.sleep(0.02)
            finally:
                courier.halt.set()
                courier.join(5)
            assert hook.events() == ["e1"], bound


def test_a_courier_keeps_its_requests_round_trips_in_its_status(tmp_path: Path) -> None:
    slow = Stall(0.06, process=True)  # each answer 60 ms after the request
    with receiver(WebhookReceiver, SECRET, time.time, default=slow) as hook:
        table = {"type": "webhook", "url": f"{hook.url}/in", "secret": SECRET, "max_events": 1}
        cfg = _config(tmp_path, hook=table)
        runner.start_at_end(tmp_path, "shop.hook")
        _write(tmp_path / "log", ["e1", "e2", "e3"])
        courier = runner.Courier(tmp_path, cfg.destinations()["shop.hook"], lambda: cfg)
        courier.start()
        try:
            wait = time.monotonic() + 15
            saved = status.Status("shop.hook")
            while time.monotonic() < wait:
                saved = status.load(runner.Files(tmp_path, "shop.hook").status, "shop.hook")
                if saved.delivered == 3 and saved.round_trip_ms:
                    break
                time.sleep(0.05)
        finally:
            courier.halt.set()
            courier.join(5)
    assert saved.delivered == 3 and saved.requests == 3
    assert 60 <= saved.round_trip_ms <= 3000
    assert saved.request_seconds >= 3 * 0.06
    assert 0 < saved.sending_share <= 1


def test_a_courier_that_gave_up_on_a_request_is_running_again_not_retrying(tmp_path: Path) -> None:
    # dead-lettered past max_age_s, it said "retrying" with its next try in the past until
    # something else was delivered
    table = {"type": "webhook", "url": "http://127.0.0.1:9/in", "secret": SECRET, "max_age_s": 1}
    cfg = _config(tmp_path, hook=table)
    runner.start_at_end(tmp_path, "shop.hook")
    _write(tmp_path / "log", ["e1"])
    courier = runner.Courier(tmp_path, cfg.destinations()["shop.hook"], lambda: cfg)
    courier.start()
    seen = set()
    try:
        wait = time.monotonic() + 30
        saved = status.Status("shop.hook")
        while time.monotonic() < wait:
            saved = status.load(runner.Files(tmp_path, "shop.hook").status, "shop.hook")
            seen.add(saved.state)
            if saved.dead_lettered == 1 and saved.state != status.RETRYING:
                break
            time.sleep(0.05)
    finally:
        courier.halt.set()
        courier.join(5)
    assert status.RETRYING in seen  # it did retry first
    assert (saved.dead_lettered, saved.state, saved.retry_at) == (1, status.RUNNING, "")
    assert saved.last_error.startswith("gave up after"), saved.last_error  # not the last retry's


def test_a_courier_waiting_for_a_retry_is_no_reader_of_the_shared_outcomes(tmp_path: Path) -> None:
    """While its receiver is down, the others' records are not kept for it."""
    table = {"type": "webhook", "url": "http://127.0.0.1:9/in", "secret": SECRET, "max_age_s": 1}
    cfg = _config(tmp_path, hook=table)
    runner.start_at_end(tmp_path, "shop.hook")
    _write(tmp_path / "log", ["e1"])
    shared = Outcomes()
    courier = runner.Courier(tmp_path, cfg.destinations()["shop.hook"], lambda: cfg, outcomes=shared)
    assert shared.readers("shop") == 1  # counted in when made, before it reads
    courier.start()
    readers = []
    try:
        wait = time.monotonic() + 30
        while time.monotonic() < wait:
            saved = status.load(runner.Files(tmp_path, "shop.hook").status, "shop.hook")
            readers.append((saved.state, shared.readers("shop")))
            if saved.dead_lettered == 1 and saved.state == status.RUNNING and shared.readers("shop"):
                break
            time.sleep(0.02)
    finally:
        courier.halt.set()
        courier.join(5)
    assert (status.RETRYING, 0) in readers
    assert readers[-1] == (status.RUNNING, 1)  # given up on: reading again
    assert shared.readers("shop") == 0  # stopped


def test_a_courier_gathers_what_comes_after_a_batch_into_the_next(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Reading back to back, a courier sent what came during its last request: 6-7 events a
    request at 500 events/s on loopback. After a batch that took everything, it reads the
    next GATHER_S after that batch began, so what came meanwhile goes in one request."""
    monkeypatch.setattr(runner, "GATHER_S", 1.0)
    with receiver(WebhookReceiver, SECRET, time.time) as hook:
        cfg = _config(tmp_path, hook={"type": "webhook", "url": f"{hook.url}/in", "secret": SECRET})
        runner.start_at_end(tmp_path, "shop.hook")
        courier = runner.Courier(tmp_path, cfg.destinations()["shop.hook"], lambda: cfg)
        courier.start()
        try:
            _write(tmp_path / "log", ["e0"])
            wait = time.monotonic() + 10
            while hook.events() != ["e0"] and time.monotonic() < wait:
                time.sleep(0.005)
            for n in range(1, 6):  # five records, one at a time, during the pause
                _write(tmp_path / "log", [f"e{n}"])
                time.sleep(0.02)
            while len(hook.events()) < 6 and time.monotonic() < wait:
                time.sleep(0.01)
        finally:
            courier.halt.set()
            courier.join(5)
    assert hook.events() == [f"e{n}" for n in range(6)]
    assert len(hook.requests) == 2


def test_a_courier_retrying_measures_its_lag(tmp_path: Path) -> None:
    # while the receiver was down, the status (and trackway_destination_lag_*) kept the lag
    # of before the outage: 0, when a lag alert needs it most
    table = {"type": "webhook", "url": "http://127.0.0.1:9/in", "secret": SECRET}
    cfg = _config(tmp_path, hook=table)
    runner.start_at_end(tmp_path, "shop.hook")
    _write(tmp_path / "log", ["e1", "e2"])
    courier = runner.Courier(tmp_path, cfg.destinations()["shop.hook"], lambda: cfg)
    courier.start()
    try:
        wait = time.monotonic() + runner.LAG_S + 10
        saved = status.Status("shop.hook")
        while time.monotonic() < wait:
            saved = status.load(runner.Files(tmp_path, "shop.hook").status, "shop.hook")
            if saved.state == status.RETRYING and saved.lag_events:
                break
            time.sleep(0.1)
    finally:
        courier.halt.set()
        courier.join(5)
    assert (saved.state, saved.lag_events) == (status.RETRYING, 2)


def test_a_restarted_courier_keeps_the_time_its_retry_was_told_to_wait(tmp_path: Path) -> None:
    # a 429's Retry-After: 3600 was asked again at once after every restart (or a crash)
    from datetime import UTC, datetime, timedelta

    from trackway.destinations.retry import Answer

    table = {"type": "webhook", "url": "http://127.0.0.1:9/in", "secret": SECRET}
    cfg = _config(tmp_path, hook=table)
    runner.start_at_end(tmp_path, "shop.hook")
    _write(tmp_path / "log", ["e1"])
    until = datetime.now(UTC) + timedelta(seconds=1.5)
    files = runner.Files(tmp_path, "shop.hook")
    status.save(files.status, status.Status("shop.hook", state=status.RETRYING, retry_at=until.isoformat()))
    sent: list[datetime] = []

    def send(request: Any) -> Answer:
        sent.append(datetime.now(UTC))
        return Answer(200)

    courier = runner.Courier(tmp_path, cfg.destinations()["shop.hook"], lambda: cfg, send=send)
    courier.start()
    try:
        wait = time.monotonic() + 30
        while not sent and time.monotonic() < wait:
            time.sleep(0.05)
    finally:
        courier.halt.set()
        courier.join(5)
    assert sent and sent[0] >= until, (sent, until)


def test_a_last_error_is_kept_short_in_the_status() -> None:
    # GA4's refusal listed every issue: `destination status` printed 42 kB for one destination
    long = "issue; " * 6000
    shown = runner._shown(long)
    assert shown.startswith(long[: runner.LAST_ERROR_CHARS]) and len(shown) < runner.LAST_ERROR_CHARS + 60
    assert f"({len(long) - runner.LAST_ERROR_CHARS:,} more characters)" in shown
    assert runner._shown("refused: 400") == "refused: 400"


def test_a_retry_time_the_status_file_garbles_is_not_waited_for(tmp_path: Path) -> None:
    # a hand-edited or foreign status file: the courier starts sending, it does not stop on it
    from trackway.destinations.retry import Answer

    table = {"type": "webhook", "url": "http://127.0.0.1:9/in", "secret": SECRET}
    cfg = _config(tmp_path, hook=table)
    runner.start_at_end(tmp_path, "shop.hook")
    _write(tmp_path / "log", ["e1"])
    files = runner.Files(tmp_path, "shop.hook")
    odd = ['"not a time"', '"2026-12-07T10:00:00"', r'"\ud800"', '"' + "9" * 400 + '"', "1e999", "[[[[]]]]"]
    for garbled in odd:
        files.status.write_text(
            '{"destination": "shop.hook", "state": "retrying", "retry_at": ' + garbled + "}"
        )
        d = cfg.destinations()["shop.hook"]
        courier = runner.Courier(tmp_path, d, lambda: cfg, send=lambda r: Answer(200))
        started = time.monotonic()
        courier._retry_time_kept()
        assert time.monotonic() - started < 1.0, garbled
