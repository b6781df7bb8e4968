"""Read-your-writes: an /api/* call sees every event acknowledged before it began.

The in-process harness runs no loader thread: the test plays the loader, so what a
query sees is decided by the wait and not by a race with a loader that happens to be
quick."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import httpx
import pytest

from trackway.ingest import backlog, freshness
from trackway.ingest.log import Position
from trackway.server import metrics
from trackway.server.admin import STALE_HEADER, Admin, make_admin_app
from trackway.store.duck import DuckStore

PURCHASE = {
    "client_id": "1.2",
    "events": [
        {
            "name": "purchase",
            "params": {
                "transaction_id": "T-RYW",
                "currency": "EUR",
                "value": 3,
                "items": [{"item_id": "SKU-1", "price": 3, "quantity": 1}],
            },
        }
    ],
}
CONVEAD = {
    "visitor_uid": "",
    "guest_uid": "g-ryw",
    "data": json.dumps({"type": "link", "properties": {}, "url": "https://shop.example/"}),
}


def _auth(h) -> dict[str, str]:
    return {"Authorization": f"Bearer {h.keys('default')['admin_token']}"}


async def _acknowledge(h) -> None:
    assert (await h.client.post(h.mp(), json=PURCHASE)).status_code == 204
    k = h.keys()
    r = await h.client.post("/watch/event", data={**CONVEAD, "app_key": k["convead_app_key"]})
    assert r.status_code == 200, r.text


def _loader_after(h, seconds: float) -> threading.Thread:
    """The loader, starting ``seconds`` from now (as a busy one would)."""

    def run() -> None:
        time.sleep(seconds)
        h.loader.catch_up()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


READS = [
    ("events", "GET", "/api/events", {}),
    ("export", "GET", "/api/export", {"params": {"table": "events"}}),
    ("identity", "GET", "/api/identity", {"params": {"id": "g-ryw"}}),
    ("revenue report", "GET", "/api/reports/revenue", {}),
]


def _found(name: str, body) -> bool:
    text = json.dumps(body)
    return {
        "sql": "purchase",
        "events": "T-RYW",
        "export": "T-RYW",
        "identity": "g-ryw",
        "revenue report": "EUR",
    }[name] in text


@pytest.mark.anyio
@pytest.mark.parametrize(("name", "method", "path", "kw"), READS, ids=[r[0] for r in READS])
async def test_a_read_sent_right_after_the_acknowledgement_finds_the_events(h, name, method, path, kw):
    await _acknowledge(h)
    loader = _loader_after(h, 0.3)
    r = await h.client.request(method, path, headers=_auth(h), **kw)
    loader.join()
    assert r.status_code == 200, r.text
    assert STALE_HEADER.decode() not in r.headers
    assert _found(name, r.json()), f"{name}: expected the acknowledged events, got {r.text[:300]}"


def _admin(h) -> httpx.AsyncClient:
    """The store process's own API (what `trackway sql` calls over run/admin.sock)."""
    app = make_admin_app(Admin(h.store, lambda: h.cfg, loader=h.loader))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://store")


COUNT = {"query": "SELECT count(*) AS n FROM events"}


@pytest.mark.anyio
async def test_sql_on_the_admin_socket_waits_for_what_was_acknowledged(h):
    await _acknowledge(h)
    loader = _loader_after(h, 0.3)
    async with _admin(h) as admin:
        r = await admin.post("/api/sql", json=COUNT)
    loader.join()
    assert r.status_code == 200, r.text
    assert r.json()["rows"] == [[2]]


@pytest.mark.anyio
async def test_wait_0_answers_at_once_from_the_store_as_it_is(h):
    await _acknowledge(h)
    async with _admin(h) as admin:
        r = await admin.post("/api/sql", params={"wait": "0"}, json=COUNT)
        assert r.status_code == 200
        assert r.json()["rows"] == [[0]]
        await h.load()
        r = await admin.post("/api/sql", params={"wait": "0"}, json=COUNT)
        assert r.json()["rows"] == [[2]]


@pytest.mark.anyio
async def test_a_wait_past_the_bound_answers_with_a_stale_header(tmp_path):
    from tests.support.inproc import harness

    h = await harness(tmp_path, server={"read_wait_seconds": 1})
    try:
        await _acknowledge(h)
        started = time.monotonic()
        r = await h.client.get("/api/events", headers=_auth(h))
        waited = time.monotonic() - started
        assert r.status_code == 200
        assert r.json()["events"] == []
        stale = r.headers[STALE_HEADER.decode()]
        assert "read_wait_seconds" in stale and "may be missing" in stale
        assert waited >= 0.9
    finally:
        await h.client.aclose()
        h.writer.close()
        h.store.close()


@pytest.mark.anyio
async def test_health_never_waits_for_the_loader(tmp_path):
    from tests.support.inproc import harness

    h = await harness(tmp_path, server={"read_wait_seconds": 30})
    try:
        await _acknowledge(h)
        r = await asyncio.wait_for(h.client.get("/health"), 10)
        assert r.status_code == 200
        assert r.json()["store"] == "writable"  # the store process answered, without waiting
    finally:
        await h.client.aclose()
        h.writer.close()
        h.store.close()


@pytest.mark.anyio
async def test_the_targets_are_the_commit_marks_and_the_loader_passes_them(h):
    assert freshness.acknowledged(h.root / "log") == {} or h.loader.passed(
        freshness.acknowledged(h.root / "log")
    )
    await _acknowledge(h)
    target = freshness.acknowledged(h.root / "log")
    assert set(target) == {"w1"} and target["w1"] > Position(0, 0)
    assert not h.loader.passed(target)
    await h.load()
    assert h.loader.passed(target)


@pytest.mark.anyio
async def test_metrics_give_the_age_of_the_oldest_event_not_loaded(h):
    assert h.loader.oldest_unloaded() is None
    before = time.time()
    await _acknowledge(h)
    oldest = h.loader.oldest_unloaded()
    assert oldest is not None and before - 1 <= oldest <= time.time()
    behind = h.loader.unloaded()  # what the server's metrics write, in one walk of the log
    assert (behind.bytes, behind.oldest) == (h.loader.lag_bytes(), oldest) and behind.bytes > 0
    text = metrics.render([metrics.loader_snapshot({}, 0, 1, oldest_unloaded=oldest, now=oldest + 4.5)])
    assert "trackway_log_oldest_unloaded_seconds 4.5" in text
    await h.load()
    assert h.loader.oldest_unloaded() is None
    assert h.loader.unloaded() == backlog.Lag()
    text = metrics.render([metrics.loader_snapshot({}, 0, 0, oldest_unloaded=None)])
    assert "trackway_log_oldest_unloaded_seconds 0" in text


def test_metrics_give_the_stores_memory_against_its_limit(tmp_path):
    store = DuckStore(tmp_path / "m.duckdb", memory_limit="256MB")
    try:
        store.cursor().execute("CREATE TABLE filler AS SELECT 'x' || i AS k FROM range(300000) t(i)")
        store.cursor().execute("CREATE INDEX filler_k ON filler (k)")
        found = store.memory()
        wal = (tmp_path / "m.duckdb.wal").stat().st_size
    finally:
        store.close()
    assert found is not None
    assert found.limit == 256_000_000  # as configured: DuckDB says it as 244.1 MiB (60 kB off)
    assert 0 < found.indexes <= found.used <= found.limit
    # the table is in the write-ahead log, below the checkpoint threshold: as large as the file says
    assert found.wal == wal > 1_000_000
    assert store.memory() is None  # closed: nothing to say, and no error
    text = metrics.render([metrics.loader_snapshot({}, 0, 0, memory=found)])
    assert f'trackway_store_memory_bytes{{part="all"}} {found.used}' in text
    assert f'trackway_store_memory_bytes{{part="indexes"}} {found.indexes}' in text
    assert f"trackway_store_memory_limit_bytes {found.limit}" in text
    assert f"trackway_store_wal_bytes {found.wal}" in text


def test_the_cli_reads_its_writes_through_a_running_server(tmp_path):
    """`trackway sql` sent the moment an event is acknowledged finds it, through the admin
    socket; --no-wait is accepted and answers from the store as it is. (That the wait, not a
    quick loader, makes the event visible is shown in-process above, where the test plays
    the loader.)"""
    from tests.support.server import cli, loads, serving

    with serving(tmp_path / "data") as server:
        k = server.keys()
        url = f"/mp/collect?measurement_id={k['ga4_measurement_id']}&api_secret={k['ga4_api_secret']}"
        for n in range(3):
            body = {
                **PURCHASE,
                "events": [{**PURCHASE["events"][0], "params": {**PURCHASE["events"][0]["params"]}}],
            }
            body["events"][0]["params"]["transaction_id"] = f"T-CLI-{n}"
            assert server.post(url, json=body).status_code == 204
            out = cli("sql", "--format", "json", "SELECT count(*) AS n FROM events", data=server.data)
            assert loads(out.stdout) == [{"n": n + 1}], out.stderr
        quick = cli(
            "sql", "--no-wait", "--format", "json", "SELECT count(*) AS n FROM events", data=server.data
        )
        assert loads(quick.stdout) == [{"n": 3}]


# ?wait= as clients may send it: only the documented "no" values skip the wait; anything
# else (odd, huge, a lone surrogate) waits as by default and is answered within the bound.
WAITS = [
    ("0", True),
    ("FALSE", True),
    ("no", True),
    ("1", False),
    ("", False),
    ("9" * 5000, False),
    ("%ED%A0%80", False),  # a lone surrogate, as UTF-8 bytes no decoder accepts
    ("0" * 3, False),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("wait", "skips"), WAITS, ids=[repr(w[0])[:12] for w in WAITS])
async def test_odd_wait_values_are_answered_within_the_bound(tmp_path, wait, skips):
    from tests.support.inproc import harness

    h = await harness(tmp_path, server={"read_wait_seconds": 1})
    try:
        await _acknowledge(h)
        started = time.monotonic()
        r = await asyncio.wait_for(h.client.get(f"/api/events?wait={wait}", headers=_auth(h)), 10)
        assert r.status_code == 200, r.text
        assert (STALE_HEADER.decode() in r.headers) is not skips  # waited the bound, then said so
        assert time.monotonic() - started < 5
    finally:
        await h.client.aclose()
        h.writer.close()
        h.store.close()
