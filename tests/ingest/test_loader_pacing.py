"""The loader with a pacer: a batch ends early when the pacer says so, and a loader that
defers still loads a backlog once it reaches the bound."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from trackway.ingest.loader import CHECK_EVERY
from trackway.ingest.pacing import Pacer

PURCHASE = {
    "client_id": "1.2",
    "events": [{"name": "purchase", "params": {"transaction_id": "T1", "currency": "EUR", "value": 1}}],
}


async def _post(h, n: int) -> None:
    for _ in range(n):
        r = await h.client.post(h.mp(), json=PURCHASE)
        assert r.status_code == 204


def _loaded(h) -> int:
    """Requests loaded (each stores an event or a failed payload)."""
    query = "SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM failed_events)"
    return h.store.sql(query)[1][0][0]


@pytest.mark.anyio
async def test_a_batch_ends_early_when_the_pacer_asks_and_nothing_is_lost(h):
    await _post(h, CHECK_EVERY * 2 + 10)
    asked = []

    def yield_() -> bool:
        asked.append(True)
        return True

    assert await asyncio.to_thread(h.loader.run_once, yield_) == CHECK_EVERY
    assert _loaded(h) == CHECK_EVERY
    assert await asyncio.to_thread(h.loader.run_once, lambda: False) == CHECK_EVERY + 10
    assert _loaded(h) == CHECK_EVERY * 2 + 10
    assert asked == [True]
    assert await asyncio.to_thread(h.loader.run_once) == 0


class AlwaysBusy(Pacer):
    """A pacer on a machine whose CPUs other work always fills."""

    def crowded(self) -> bool:
        return True


@pytest.mark.anyio
async def test_a_deferring_loader_loads_the_backlog_once_it_is_as_old_as_the_bound(h):
    bound = 1.0
    h.loader.pacer = AlwaysBusy(bound)
    h.loader.loaded_through = time.time()  # everything before now is loaded: a young backlog follows
    await _post(h, 3)
    sent = time.time()
    stop = threading.Event()
    thread = threading.Thread(target=h.loader.run, args=(stop,), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while _loaded(h) < 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        loaded = time.time()
    finally:
        stop.set()
        thread.join()
    assert _loaded(h) == 3
    assert loaded - sent >= bound * 0.9  # it waited for the bound, not for the CPUs (always busy)
    assert h.loader.stats.deferred_seconds > 0


@pytest.mark.anyio
async def test_the_lag_counts_records_not_loaded_and_not_the_zeros_ahead_of_them(h):
    assert h.loader.lag_bytes() == 0
    await _post(h, 3)
    lag = h.loader.lag_bytes()
    assert 0 < lag < 10_000  # three records, not the file's zeros
    await h.load()
    assert h.loader.lag_bytes() == 0
    await _post(h, 1)
    assert 0 < h.loader.lag_bytes() < lag


@pytest.mark.anyio
async def test_a_batch_ends_at_its_events_bound_whatever_its_records_hold(h, monkeypatch):
    from trackway.ingest import loader

    monkeypatch.setattr(loader, "MAX_BATCH_EVENTS", 7)
    item = {"item_id": "SKU", "price": 1, "quantity": 1}
    event = {
        "name": "purchase",
        "params": {"transaction_id": "T9", "currency": "EUR", "value": 1, "items": [item]},
    }
    three = {**PURCHASE, "events": [event] * 3}
    for _ in range(5):
        assert (await h.client.post(h.mp(), json=three)).status_code == 204
    # 3 events a record: a batch ends with the record that reaches 7 events, the third
    assert await asyncio.to_thread(h.loader.run_once) == 3
    assert await asyncio.to_thread(h.loader.run_once) == 2
    assert await asyncio.to_thread(h.loader.run_once) == 0
    assert _loaded(h) == 15


def _loads_in_a_thread(tmp_path, monkeypatch, gather: float):  # type: ignore[no-untyped-def]
    """A running loader on a memory store, and the monotonic times its batches began."""
    from tests.ingest.test_loader_quarantine import write_log
    from tests.support.server import log_record
    from trackway.ingest import loader as loader_module
    from trackway.ingest.loader import Loader
    from trackway.store.memory import MemoryStore

    monkeypatch.setattr(loader_module, "GATHER_S", gather)
    loader = Loader(tmp_path / "log", MemoryStore(), lambda: None)
    starts: list[tuple[float, int]] = []
    once = loader.run_once

    def timed(*args):  # type: ignore[no-untyped-def]
        began = time.monotonic()
        n = once(*args)
        if n:
            starts.append((began, n))
        return n

    monkeypatch.setattr(loader, "run_once", timed)
    stop = threading.Event()
    thread = threading.Thread(target=loader.run, args=(stop,), kwargs={"idle": 0.005})
    thread.start()
    return loader, starts, stop, thread, lambda n: write_log(tmp_path, [log_record("p", f"m{n}")])


def _until(condition, seconds: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.002)


def test_after_a_batch_that_reached_the_end_the_next_starts_gather_s_after_it(tmp_path, monkeypatch):
    """Loading back to back, every look found the one or two records that came during the
    last batch and paid a batch's fixed cost for them (98% of a core at 500 events/s)."""
    loader, starts, stop, thread, write = _loads_in_a_thread(tmp_path, monkeypatch, 1.0)
    try:
        write(0)
        _until(lambda: starts)
        for n in range(1, 6):  # five records during the pause: one batch after it
            write(n)
        _until(lambda: sum(k for _, k in starts) >= 6)
    finally:
        stop.set()
        loader.hurry()
        thread.join()
    assert [k for _, k in starts] == [1, 5]
    assert starts[1][0] - starts[0][0] >= 1.0


def test_a_reader_waiting_for_the_loader_ends_its_pause(tmp_path, monkeypatch):
    loader, starts, stop, thread, write = _loads_in_a_thread(tmp_path, monkeypatch, 30.0)
    try:
        write(0)
        _until(lambda: starts)
        write(1)
        time.sleep(0.1)
        assert len(starts) == 1  # pausing
        loader.pacer.wanted += 1  # as the admin API does for a read that must see it
        loader.hurry()
        _until(lambda: len(starts) >= 2)
        loader.pacer.wanted -= 1
    finally:
        stop.set()
        loader.hurry()
        thread.join(timeout=5)
    assert not thread.is_alive()
    assert [k for _, k in starts] == [1, 1]
    assert starts[1][0] - starts[0][0] < 5
