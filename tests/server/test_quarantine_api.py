"""The quarantine through the store process's admin API (scoped by token), `/health`
degraded while it holds records, `/metrics`, and `trackway quarantine` with and
without a running server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.server import cli, loads, log_record, serving, wait_for
from trackway.ingest import log, records
from trackway.ingest.loader import Loader
from trackway.server import metrics
from trackway.server.admin import SCOPE_HEADER, Admin, make_admin_app
from trackway.store.duck import FILE_NAME, DuckStore
from trackway.store.memory import MemoryStore

JUNK = log.frame(b"\xc1 not a record")  # a good CRC around bytes that are no record


def write_log(root: Path, frames: list[bytes], slot: str = "w1") -> None:
    path = root / slot / log.segment_name(1)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as f:
        f.write(b"".join(frames))


def quarantine_record(store: Any, prop: str, marker: str, exc: Exception) -> None:
    """A valid record in the quarantine, as if an older loader had failed on it."""
    from trackway.ingest.quarantine import new_row

    payload = log_record(prop, marker)[8:]
    row = new_row(exc, payload, "w1", 1, 0, prop=prop, received_at=records.loads(payload).received_at)
    store.load([], {}, [row])


class Unwritable(MemoryStore):
    def writable(self) -> bool:
        return False


async def call(app, method: str, path: str, scope: str = "*", **kw: Any) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://store") as client:
        return await client.request(method, path, headers={SCOPE_HEADER.decode(): scope}, **kw)


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.anyio
async def test_health_is_ok_then_degraded_with_the_alarm_then_ok_after_a_retry(tmp_path):
    store = MemoryStore()
    loader = Loader(tmp_path / "log", store, lambda: None)
    app = make_admin_app(Admin(store, lambda: None, loader.lag_bytes))
    r = await call(app, "GET", "/health")
    assert (r.status_code, r.json()) == (
        200,
        {"status": "ok", "store": "writable", "log_lag_bytes": 0, "alarms": []},
    )
    quarantine_record(store, "x", "m1", RuntimeError("an old bug"))
    loader.run_once()
    r = await call(app, "GET", "/health")
    body = r.json()
    assert (r.status_code, body["status"], [a["key"] for a in body["alarms"]]) == (
        200,
        "degraded",
        ["quarantine"],
    )
    assert "trackway quarantine list" in body["alarms"][0]["message"] and body["alarms"][0]["since"] > 0
    r = await call(app, "POST", "/api/quarantine/retry", json={"all": True})
    assert (r.status_code, r.json()["loaded"]) == (200, 1)
    assert (await call(app, "GET", "/health")).json()["status"] == "ok"


@pytest.mark.anyio
async def test_health_is_503_unavailable_in_the_same_shape_when_the_store_cannot_be_written(tmp_path):
    app = make_admin_app(Admin(Unwritable(), lambda: None, lambda: 7))
    r = await call(app, "GET", "/health")
    body = r.json()
    assert r.status_code == 503
    assert {k: body[k] for k in ("status", "store", "log_lag_bytes", "alarms")} == {
        "status": "unavailable",
        "store": "not writable",
        "log_lag_bytes": 7,
        "alarms": [],
    }
    assert "disk and permissions" in body["error"]


@pytest.mark.anyio
async def test_a_property_token_sees_and_retries_its_own_quarantined_records_only(tmp_path):
    store = MemoryStore()
    for prop in ("x", "y", "x"):
        quarantine_record(store, prop, f"m-{prop}", RuntimeError("an old bug"))
    app = make_admin_app(Admin(store, lambda: None))
    r = await call(app, "GET", "/api/quarantine", scope="x")
    assert [(q["id"], q["property"]) for q in r.json()["quarantine"]] == [(1, "x"), (3, "x")]
    assert r.json()["total"] == 2 and r.json()["quarantine"][0]["record_bytes"] > 0
    assert (await call(app, "GET", "/api/quarantine?property=y", scope="x")).status_code == 403
    r = await call(app, "POST", "/api/quarantine/retry", scope="x", json={"ids": [2, 3]})
    assert (r.json()["loaded"], r.json()["not_found"]) == (1, [2])  # 2 is y's: not seen
    r = await call(app, "POST", "/api/quarantine/retry", json={"all": True, "property": "y"})
    assert r.json()["loaded"] == 1
    assert [(q.id, q.property) for q in store.quarantined()] == [(1, "x")]


BAD_BODIES = [
    ({}, 'expected {"ids": [ID, ...]} or {"all": true}'),
    ({"ids": [1], "all": True}, 'expected {"ids": [ID, ...]} or {"all": true}'),
    ({"ids": ["1"]}, "expected ids as a list of whole numbers"),
    ({"all": True, "property": 3}, "expected property as a name"),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("body", "error"), BAD_BODIES)
async def test_a_retry_request_the_api_cannot_read_is_400_with_what_it_expected(body, error):
    app = make_admin_app(Admin(MemoryStore(), lambda: None))
    r = await call(app, "POST", "/api/quarantine/retry", json=body)
    assert r.status_code == 400 and r.json()["error"].startswith(error)


def test_the_metrics_count_quarantined_records_errors_and_alarms():
    text = metrics.render(
        [
            metrics.loader_snapshot(
                {}, 0, 0, quarantined=3, record_errors=4, batch_errors=2, reruns=5, alarms=1
            )
        ]
    )
    for line in (
        "trackway_quarantined_records 3",
        "trackway_loader_reruns_total 5",
        'trackway_loader_errors_total{kind="record"} 4',
        'trackway_loader_errors_total{kind="batch"} 2',
        "trackway_alarms 1",
    ):
        assert line in text.splitlines()


def test_the_cli_lists_and_retries_on_the_store_when_no_server_runs(tmp_path):
    data = tmp_path / "data"
    write_log(data / "log", [log_record("default", "m1"), JUNK])
    store = DuckStore(data / FILE_NAME)
    quarantine_record(store, "default", "old", RuntimeError("an old bug"))
    store.close()
    listed = cli("quarantine", "list", "--data", str(data), data=data).stdout  # loads the log first
    assert "RuntimeError: an old bug" in listed and "DecodeError" in listed and "w1 file 1 byte" in listed
    rows = loads(cli("quarantine", "list", "--format", "json", data=data).stdout)
    assert [(r["id"], r["property"]) for r in rows] == [(1, "default"), (2, "")]
    done = cli("quarantine", "retry", "1", data=data)
    assert "1 loaded (1 events" in done.stdout
    failed = cli("quarantine", "retry", "--all", data=data, check=False)
    assert (
        failed.returncode == 1 and "0 loaded" in failed.stdout and "2: msgspec.DecodeError" in failed.stdout
    )
    usage = cli("quarantine", "retry", data=data, check=False)
    assert usage.returncode == 2 and "expected record IDs or --all" in usage.stderr


def test_a_running_server_quarantines_reports_and_retries_through_its_admin_api(tmp_path):
    data = tmp_path / "data"
    with serving(data, workers=1) as server:
        write_log(
            data / "log", [log_record("default", "before"), JUNK, log_record("default", "after")], slot="w9"
        )
        server.wait_events(2)
        rows = wait_for(
            lambda: loads(cli("quarantine", "list", "--format", "json", data=data).stdout),
            what="a quarantined record",
        )
        assert [(r["slot"], r["error_type"]) for r in rows] == [("w9", "msgspec.DecodeError")]
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(data / "run" / "admin.sock"))) as admin:
            health = admin.get("http://store/health").json()
        assert health["status"] == "degraded" and [a["key"] for a in health["alarms"]] == ["quarantine"]

        def counted() -> bool:
            text = server.http.get(f"{server.url}/metrics").text
            return "trackway_quarantined_records 1" in text.splitlines()

        wait_for(counted, what="trackway_quarantined_records 1 in /metrics")
        done = cli("quarantine", "retry", "--all", data=data, check=False)
        assert done.returncode == 1 and "retrying through it" in done.stderr and "1 still fail" in done.stdout
