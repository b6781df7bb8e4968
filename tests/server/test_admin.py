"""The store process's read API (server/admin.py) through a worker, as `trackway export`,
the dashboard and scripts call it: the parameters each endpoint takes, and what a
misspelt one gets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.reports.test_edges import History
from tests.support.inproc import Harness, harness
from trackway.cli import store_cmds
from trackway.server.admin import EXPORT_PARAMS, REPORT_PARAMS
from trackway.server.openapi import document
from trackway.store.base import Query

pytestmark = pytest.mark.anyio
SERVER = "twa_server_token_admin_tests"
AUTH = {"Authorization": f"Bearer {SERVER}"}


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    got = await harness(tmp_path, server={"admin_token": SERVER})
    yield got
    await got.client.aclose()
    got.writer.close()
    got.store.close()


class Recorder:
    """An AdminClient that keeps the parameters `trackway export` sends: one page of a
    row, then none (so that the next page's cursor is sent too)."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def call(self, method: str, path: str, **kw: Any) -> Any:
        assert (method, path) == ("GET", "/api/export")
        self.sent.append(dict(kw["params"]))
        row = {"received_at": "2026-11-02T09:00:00+00:00", "id": "e1"}
        return {"rows": [row] if len(self.sent) == 1 else [], "total": 1 if len(self.sent) == 1 else None}


def cli_export_params() -> list[dict[str, str]]:
    """What `trackway export --since --until` sends for each table, page after page, with
    `--no-wait`'s wait=0 (AdminClient.call adds it)."""
    sent = []
    for table in EXPORT_PARAMS:
        recorder = Recorder()
        query = Query(since=datetime(2026, 11, 1, tzinfo=UTC), until=datetime(2026, 12, 1, tzinfo=UTC))
        list(store_cmds._pages(recorder, None, table, query))  # type: ignore[arg-type]
        sent += [{k: str(v) for k, v in {**p, "wait": "0"}.items()} for p in recorder.sent]
    return sent


def documented(path: str) -> set[str]:
    return {p["name"] for p in document()["paths"][path]["get"]["parameters"]}


GOOD_EXPORTS = [
    *cli_export_params(),
    {},
    {"table": "events", "property": "default", "name": "page_view,purchase", "limit": "3"},
    {"table": "failed_events", "property": "default", "code": "VALUE_REQUIRED", "since": "7d"},
]


def test_the_cli_sends_the_cursor_and_its_time_range() -> None:
    keys = {k for params in cli_export_params() for k in params}
    assert keys == {"table", "limit", "since", "until", "after_time", "after_id", "wait"}


@pytest.mark.parametrize("table", EXPORT_PARAMS)
def test_export_takes_every_parameter_its_document_names_for_the_table(table: str) -> None:
    other = {"name", "code"} - {"name" if table == "events" else "code"}
    assert documented("/api/export") - other <= set(EXPORT_PARAMS[table])


@pytest.mark.parametrize("params", GOOD_EXPORTS)
async def test_export_answers_what_the_cli_and_scripts_send(h: Harness, params: dict[str, str]) -> None:
    r = await h.client.get("/api/export", params=params, headers=AUTH)
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"rows", "total", "truncated"}


@pytest.mark.parametrize(
    ("params", "named", "hint"),
    [
        ({"sinec": "24h"}, "'sinec'", "did you mean 'since'?"),
        ({"limt": "5"}, "'limt'", "did you mean 'limit'?"),
        ({"table": "events", "code": "VALUE_REQUIRED"}, "'code'", "table=events"),
        ({"table": "failed_events", "name": "purchase"}, "'name'", "table=failed_events"),
        ({"format": "csv"}, "'format'", "check its spelling"),
    ],
)
async def test_export_refuses_an_unknown_parameter_naming_it_and_the_known_ones(
    h: Harness, params: dict[str, str], named: str, hint: str
) -> None:
    r = await h.client.get("/api/export", params=params, headers=AUTH)  # it was ignored: a 200
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert named in error and hint in error, error
    table = params.get("table", "events")
    assert f"expected one of {', '.join(EXPORT_PARAMS[table])}" in error, error


async def test_export_refuses_half_a_cursor(h: Harness) -> None:
    r = await h.client.get("/api/export", params={"after_id": "e1"}, headers=AUTH)
    assert r.status_code == 400 and "after_time" in r.json()["error"], r.text


@pytest.mark.parametrize(
    ("params", "hint"),
    [({"sinec": "24h"}, "did you mean 'since'?"), ({"sections": "revenue"}, "did you mean 'section'?")],
)
async def test_a_report_refuses_an_unknown_parameter_listing_format_and_section_too(
    h: Harness, params: dict[str, str], hint: str
) -> None:
    r = await h.client.get("/api/reports/revenue", params=params, headers=AUTH)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert f"expected one of {', '.join(REPORT_PARAMS)}" in error and hint in error, error


# An unknown property, given with the server's token: it was answered with nothing, as
# if it had no events. A property removed from trackway.toml keeps its data, and is answered.
READS = [
    ("/api/reports/revenue", {}),
    ("/api/reports/quality", {"section": "paths"}),
    ("/api/export", {}),
    ("/api/export", {"table": "failed_events"}),
    ("/api/events", {}),
    ("/api/failed_events", {}),
    ("/api/identity", {"id": "visitor"}),
]


@pytest.mark.parametrize(("path", "params"), READS)
@pytest.mark.parametrize("prop", ["shpo", "ünïcödé ☃", "Default"])
async def test_a_property_neither_configured_nor_stored_is_a_404_listing_those_configured(
    h: Harness, path: str, params: dict[str, str], prop: str
) -> None:
    r = await h.client.get(path, params={**params, "property": prop}, headers=AUTH)
    assert r.status_code == 404, r.text
    error = r.json()["error"]
    assert f"unknown property {prop!r}" in error and "expected one of default, other" in error, error


def store_gone(h: Harness, kind: str) -> None:
    """Data of a property trackway.toml no longer has: an event, or a failed payload only."""
    gone, at = History(h.store, prop="gone"), datetime(2026, 11, 2, tzinfo=UTC)
    if kind == "event":
        gone.event("page_view", at, "visitor")
    else:
        gone.failed(at, [0], ["page_view"], [{"code": "X", "severity": "error", "path": "$", "message": "m"}])


@pytest.mark.parametrize("kind", ["event", "failed"])
@pytest.mark.parametrize(("path", "params"), READS)
async def test_a_property_removed_from_the_configuration_is_answered_from_its_data(
    h: Harness, path: str, params: dict[str, str], kind: str
) -> None:
    store_gone(h, kind)
    r = await h.client.get(path, params={**params, "property": "gone"}, headers=AUTH)
    assert r.status_code == 200, r.text
    configured = await h.client.get(path, params={**params, "property": "other"}, headers=AUTH)  # no data
    assert configured.status_code == 200, configured.text


async def test_the_removed_propertys_events_come_back(h: Harness) -> None:
    store_gone(h, "event")
    events = (await h.client.get("/api/events", params={"property": "gone"}, headers=AUTH)).json()
    assert [e["property"] for e in events["events"]] == ["gone"]
    quality = await h.client.get("/api/reports/quality", params={"property": "gone"}, headers=AUTH)
    assert [(r["property"], r["accepted"]) for r in quality.json()["sections"]["events"]] == [("gone", 1)]


@pytest.mark.parametrize("path", ["/api/events", "/api/failed_events", "/api/export"])
@pytest.mark.parametrize(("since", "until"), [("7d", "7d"), ("1d", "2d"), ("2026-11-02", "2026-11-01")])
async def test_a_range_that_selects_nothing_is_a_400(h: Harness, path: str, since: str, until: str) -> None:
    # answered with nothing: ages read the clock twice, and nothing compared the two
    r = await h.client.get(path, params={"since": since, "until": until}, headers=AUTH)
    assert r.status_code == 400, r.text
    assert r.json()["error"].startswith("expected since before until, got "), r.text


# (body, status, what the answer says): a forget that found nobody looked like a success
FORGETS = [
    ({"user": "nobody-at-all"}, 404, "no stored person, row or loaded log record holds this user id"),
    ({"email": "nobody@example.com"}, 404, "holds this email: nothing was erased"),
    ({"user": "u-forget-me", "property": "shpo"}, 404, "unknown property 'shpo'"),
    ({"user": "u-forget-me"}, 200, '"people":1'),
]


@pytest.mark.parametrize(("body", "status", "says"), FORGETS)
async def test_forget_says_when_it_found_nobody(
    h: Harness, body: dict[str, str], status: int, says: str
) -> None:
    sent = await h.client.post(
        h.mp(), json={"client_id": "1.2", "user_id": "u-forget-me", "events": [{"name": "x"}]}
    )
    assert sent.status_code == 204, sent.text
    r = await h.client.post("/api/forget", json=body, headers=AUTH)
    assert r.status_code == status, r.text
    assert says in r.text.replace(" ", "") if says.startswith('"') else says in r.text, r.text


async def test_subject_export_refuses_an_unknown_property(h: Harness) -> None:
    r = await h.client.get("/api/subject", params={"user": "u", "property": "shpo"}, headers=AUTH)
    assert r.status_code == 404 and "unknown property 'shpo'" in r.json()["error"], r.text
