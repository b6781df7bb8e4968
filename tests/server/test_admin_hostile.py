"""The admin API answers bad bodies 400 with what it expected, a bug a JSON 500 with an
error id (logged once), and a worker whose store process does not answer a 503 with
Retry-After: never a traceback, never a dead store (issue 12)."""

from __future__ import annotations

import logging

import httpx
import pytest

from tests.server.test_quarantine_api import call
from trackway.server.admin import Admin, make_admin_app
from trackway.server.ops import client_forward
from trackway.store.memory import MemoryStore

pytestmark = pytest.mark.anyio

BAD = [
    ("/api/replay", {"code": 5}, "expected code as a string, got 5"),
    ("/api/replay", {"code": True}, "expected code as a string, got true"),
    ("/api/replay", {"property": [1]}, "expected property as a string"),
    ("/api/replay", {"since": 7}, "expected since as a string"),
    ("/api/forget", {"user": 12}, "expected user as a string"),
    ("/api/forget", {"email": {"a": 1}}, "expected email as a string"),
    ("/api/forget", {"user": "u", "property": 3}, "expected property as a string"),
    ("/api/sql", {"query": "SELECT 1", "limit": "5"}, "expected limit as a whole number"),
]


@pytest.mark.parametrize(("path", "body", "error"), BAD)
async def test_a_body_of_the_wrong_types_is_400_with_what_was_expected(path, body, error):
    app = make_admin_app(Admin(MemoryStore(), lambda: None))
    r = await call(app, "POST", path, json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"].startswith(error), r.json()


class Broken(MemoryStore):
    def events_at(self, query):  # what /api/events reads (its events, with their endpoints)
        raise KeyError("a bug in the store")


async def test_a_bug_is_a_json_500_with_an_error_id_logged_once_and_the_store_serves_on(caplog):
    app = make_admin_app(Admin(Broken(), lambda: None))
    with caplog.at_level(logging.ERROR, logger="trackway.admin"):
        r = await call(app, "GET", "/api/events")
    assert r.status_code == 500
    ref = r.json()["error"].split("error id ")[1].split(")")[0]
    assert [rec for rec in caplog.records if ref in rec.getMessage()] != []
    assert len(caplog.records) == 1
    assert (await call(app, "GET", "/api/failed_events")).status_code == 200


async def test_a_worker_whose_store_does_not_answer_says_503_with_retry_after(h, tmp_path):
    gone = httpx.AsyncClient(
        transport=httpx.AsyncHTTPTransport(uds=str(tmp_path / "no-such.sock")), base_url="http://store"
    )
    h.collector.forward = client_forward(gone)
    auth = {"Authorization": f"Bearer {h.keys('default')['admin_token']}"}
    r = await h.client.get("/api/events", headers=auth)
    await gone.aclose()
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"] == "5"
    assert "store process" in r.json()["error"]


@pytest.mark.anyio
async def test_an_unknown_report_is_a_404_that_names_the_reports(tmp_path):
    from trackway import reports
    from trackway.server.admin import Admin, make_admin_app
    from trackway.store.duck import DuckStore

    store = DuckStore(tmp_path / "trackway.duckdb")
    try:
        app = make_admin_app(Admin(store, lambda: None))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://store") as client:
            r = await client.get("/api/reports/revnue")
        assert r.status_code == 404
        assert all(name in r.json()["error"] for name in reports.NAMES), r.text
    finally:
        store.close()


@pytest.mark.parametrize("path", ["/api/events%0d%0aX:y", "/api/live%0a", "/api/events%00", "/api/events%7f"])
async def test_a_path_with_a_control_character_is_a_400_not_a_500(h, path):
    # the store's client refused the URL (httpx.InvalidURL): a 500, and a log line split in two
    auth = {"Authorization": f"Bearer {h.keys('default')['admin_token']}"}
    r = await h.client.get(path, headers=auth)
    assert r.status_code == 400, r.text
    assert "expected a path of printable characters" in r.json()["error"]


@pytest.mark.parametrize("at", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"])
async def test_an_event_looked_for_at_the_ends_of_time_is_not_found_not_a_500(h, at):
    # find_event's window around `at` overflowed the datetime range: "the store failed"
    auth = {"Authorization": f"Bearer {h.keys('default')['admin_token']}"}
    r = await h.client.get("/api/event", params={"id": "x", "at": at, "property": "default"}, headers=auth)
    assert r.status_code == 404, r.text
