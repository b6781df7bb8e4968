"""An answer of rows is bounded by their size, not only their number (store/base.py
MAX_ROWS_BYTES): 10,000 failed payloads of 512 KiB would be 5 GB in one answer. Export
and replay walk a table of any size a page at a time by their cursor."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.inproc import harness
from trackway import replay as replay_
from trackway.ingest import records
from trackway.ingest.log import Position
from trackway.store import duck
from trackway.store.base import Query, truncated
from trackway.store.duck import DuckStore

PAYLOAD = 64 << 10  # each failed payload's bytes
COUNT = 40
BOUND = 512 << 10  # the bound the tests set: about 8 payloads


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DuckStore]:
    monkeypatch.setattr(duck, "MAX_ROWS_BYTES", BOUND)
    s = DuckStore(tmp_path / "trackway.duckdb")
    _load_failed(s)
    yield s
    s.close()


def _load_failed(store: DuckStore) -> None:
    """COUNT failed payloads of PAYLOAD bytes each, a second apart."""
    start = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    loaded = []
    for n in range(COUNT):
        record = records.Record(
            kind=records.DECODED,
            request_id=f"r{n:03d}",
            endpoint="/collect",
            property="p",
            received_at=records.micros(start + timedelta(seconds=n)),
        )
        body = b'{"event": "purchase", "pad": "' + b"x" * PAYLOAD + b'"}'
        issue = b'[{"code": "VALUE_REQUIRED", "severity": "error", "path": "$.value", "message": "m"}]'
        failed = records.FailedPayload(body, "gtm-ga4", [-1], issue, names=["purchase"])
        loaded.append((record, records.Outcome(failed=[failed])))
    store.load(loaded, {"w1": Position(1, 1)})


def test_an_answer_stops_at_the_bound_and_says_it_was_truncated(store: DuckStore) -> None:
    found = store.failed(Query(property="p", limit=COUNT))
    assert 1 <= len(found) < COUNT and truncated(found), len(found)
    assert sum(len(f.payload) for f in found) <= BOUND
    newest = [f"r{n:03d}" for n in range(COUNT - 1, -1, -1)]
    assert [f.request_id for f in found] == newest[: len(found)]
    few = store.failed(Query(property="p", limit=3))
    assert len(few) == 3 and not truncated(few)


def test_the_export_cursor_reads_every_row_once_past_the_bound(store: DuckStore) -> None:
    seen: list[str] = []
    after = None
    while True:
        page = store.page("failed_events", Query(property="p", limit=COUNT), after)
        if not page:
            break
        seen += [r["request_id"] for r in page]
        after = (datetime.fromisoformat(page[-1]["received_at"]), page[-1]["id"])
    assert seen == [f"r{n:03d}" for n in range(COUNT)]


def test_replay_reads_the_failed_payloads_a_page_at_a_time(
    store: DuckStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(replay_, "REPLAY_PAGE", 7)
    answers: list[int] = []
    failed = store.failed

    def spy(query: Query, after: Any = None) -> Any:
        found = failed(query, after)
        answers.append(len(found))
        return found

    monkeypatch.setattr(store, "failed", spy)
    shown: list[tuple[int, int]] = []
    every = Query(property="p", limit=1 << 62)
    report = replay_.replay(store, None, every, lambda n, t: shown.append((n, t)))
    assert report.examined == COUNT and report.still_failing == COUNT, (report, answers)  # each once
    assert max(answers) <= 7 and sum(answers) == COUNT, answers
    assert shown[-1] == (COUNT, COUNT)


@pytest.mark.anyio
async def test_the_api_says_when_rows_were_cut_short(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(duck, "MAX_ROWS_BYTES", BOUND)
    s = DuckStore(tmp_path / "trackway.duckdb")
    _load_failed(s)
    h = await harness(tmp_path / "h", store=s, server={"admin_token": "twa_server_bounded_rows"})
    auth = {"Authorization": "Bearer twa_server_bounded_rows"}
    try:
        for path, key in (("/api/failed_events", "failed_events"), ("/api/export", "rows")):
            params = {"limit": str(COUNT), "property": "p"}
            if path == "/api/export":
                params["table"] = "failed_events"
            r = await h.client.get(path, params=params, headers=auth)
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["truncated"] is True and 1 <= len(body[key]) < COUNT, (path, len(body[key]))
        r = await h.client.get("/api/failed_events", params={"limit": "2", "property": "p"}, headers=auth)
        assert r.json()["truncated"] is False and len(r.json()["failed_events"]) == 2
    finally:
        await h.client.aclose()
        h.writer.close()
        s.close()
