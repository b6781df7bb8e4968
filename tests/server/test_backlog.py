"""max_backlog_seconds: past it, new events are refused 503 (nothing written) until the
loader catches up; off (0, the default), the log absorbs any backlog."""

from __future__ import annotations

import time

import pytest

from tests.support.inproc import harness
from trackway.server import metrics
from trackway.server.app import SHED_DELAY, backlog_past

PURCHASE = {"client_id": "1.2", "events": [{"name": "page_view"}]}


def _store_gauge(directory, age: float | None) -> None:
    m = metrics.Metrics()
    if age is not None:
        m.set("trackway_log_oldest_unloaded_seconds", age)
    metrics.write(directory, "store", m.snapshot())


@pytest.mark.parametrize(
    ("bound", "age", "expected"),
    [
        (0, 500.0, 0.0),  # off
        (5, 4.9, 0.0),
        (5, 5.0, 0.0),
        (5, 12.5, 12.5),
        (5, None, 0.0),  # no gauge yet
    ],
)
def test_backlog_past_reads_the_store_gauge(tmp_path, bound, age, expected):
    _store_gauge(tmp_path, age)
    assert backlog_past(tmp_path, bound) == expected


def test_without_a_store_snapshot_nothing_is_refused(tmp_path):
    assert backlog_past(tmp_path / "none", 5) == 0.0


@pytest.mark.anyio
async def test_events_are_refused_while_the_store_is_too_far_behind_and_taken_after(tmp_path):
    h = await harness(tmp_path, server={"max_backlog_seconds": 5})
    try:
        directory = tmp_path / "metrics"
        _store_gauge(directory, 30.0)
        h.collector.backlog = backlog_past(directory, h.collector.server["max_backlog_seconds"])
        started = time.monotonic()
        r = await h.client.post(h.mp(), json=PURCHASE)
        assert time.monotonic() - started >= SHED_DELAY * 0.9  # a flood is slowed, not answered at once
        assert r.status_code == 503 and r.headers["retry-after"] == "1"
        assert "30 s behind" in r.json()["error"] and "max_backlog_seconds" in r.json()["error"]
        assert await h.events() == [] and await h.failed() == []  # (events() loads the whole log first)
        _store_gauge(directory, 0.0)
        h.collector.backlog = backlog_past(directory, h.collector.server["max_backlog_seconds"])
        assert (await h.client.post(h.mp(), json=PURCHASE)).status_code == 204
        assert [e.name for e in await h.events()] == ["page_view"]
        text = metrics.render([h.collector.snapshot()])
        assert "trackway_backlog_refused_total 1" in text
    finally:
        await h.client.aclose()
        h.writer.close()
        h.store.close()


def test_a_worker_restarted_in_its_slot_counts_on_from_its_predecessor(tmp_path):
    """The sums /metrics gives never go down when a worker is restarted: they did (500 to
    218), and Prometheus took the drop for a reset to 0 and all that was left for an increase."""
    before = metrics.Metrics()
    for _ in range(500):
        before.inc_request("/collect", 200)
    before.observe("trackway_request_events", 3, metrics.SIZE_BUCKETS, endpoint="/collect")
    before.set("trackway_queue_depth", 7, worker="w1")
    metrics.write(tmp_path, "w1", before.snapshot())

    after = metrics.Metrics()
    previous = metrics.read(tmp_path / "w1.json")
    assert previous is not None
    after.carry(previous)
    for _ in range(2):
        after.inc_request("/collect", 200)
    after.observe("trackway_request_events", 5, metrics.SIZE_BUCKETS, endpoint="/collect")
    text = metrics.render([after.snapshot()])
    assert 'trackway_requests_total{endpoint="/collect",status="200"} 502' in text
    assert 'trackway_request_events_count{endpoint="/collect"} 2' in text
    assert "trackway_queue_depth{" not in text  # a gauge is the process's own, never carried
    metrics.write(tmp_path, "w1", after.snapshot())  # a second restart carries both
    again = metrics.Metrics()
    again.carry(metrics.read(tmp_path / "w1.json") or metrics.Snapshot())
    assert 'status="200"} 502' in metrics.render([again.snapshot()])
