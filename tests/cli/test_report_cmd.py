"""`trackway report NAME` on an empty store: every format keeps each section's columns,
as docs/reports.md lists them."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from click.testing import CliRunner

from tests.reports.test_edges import History
from trackway import config
from trackway.cli import common
from trackway.cli.main import cli
from trackway.ingest.freshness import STALE_HEADER
from trackway.reports import NAMES, render
from trackway.store.duck import DuckStore

DOCS = Path(__file__).resolve().parents[2] / "docs" / "reports.md"


def documented() -> dict[str, dict[str, list[str]]]:
    """Each report's sections and their columns as docs/reports.md writes them
    ("Section `steps`: `period, property, ...`" under "## funnel")."""
    out = {}
    for part in re.split(r"\n(?=## )", DOCS.read_text()):
        if heading := re.match(r"## (\w+)", part):
            found = re.findall(r"[Ss]ection\s+`(\w+)`:\s+`([^`]+)`", part)
            out[heading[1]] = {s: [c.strip() for c in cols.split(",")] for s, cols in found}
    return out


DOCUMENTED = documented()


@pytest.fixture
def empty(tmp_path: Path) -> Path:
    DuckStore(tmp_path / "trackway.duckdb").close()
    return tmp_path


def run(data: Path, name: str, fmt: str) -> str:
    result = CliRunner().invoke(cli, ["report", name, "--format", fmt, "--data", str(data)])
    assert result.exit_code == 0, result.output
    return result.output


def test_every_report_is_documented() -> None:
    assert set(DOCUMENTED) == set(NAMES) and all(DOCUMENTED.values()), DOCUMENTED


@pytest.mark.parametrize("name", NAMES)
def test_an_empty_csv_has_the_header_row(empty: Path, name: str) -> None:
    # it was "section" alone: the columns came from the rows
    union = list(dict.fromkeys(c for cols in DOCUMENTED[name].values() for c in cols))
    assert list(csv.reader(io.StringIO(run(empty, name, "csv")))) == [["section", *union]]


@pytest.mark.parametrize("name", NAMES)
def test_an_empty_table_has_its_headings_and_says_no_rows(empty: Path, name: str) -> None:
    out = run(empty, name, "table")  # it printed blank lines
    headings = " ".join(line for line in out.splitlines() if "┃" in line).split()
    for section, cols in DOCUMENTED[name].items():
        title = f"{name}: {section}" if len(DOCUMENTED[name]) > 1 else name
        assert f"{title} (no rows)" in out, out
        for c in cols:
            if c != "period":  # shown only when the rows have one
                assert set(c.split("_")) <= set(headings), (c, out)


@pytest.mark.parametrize("name", NAMES)
def test_an_empty_json_report_lists_each_sections_columns(empty: Path, name: str) -> None:
    doc = json.loads(run(empty, name, "json"))
    assert doc["sections"] == {s: [] for s in DOCUMENTED[name]}
    assert doc["columns"] == DOCUMENTED[name]


@pytest.mark.parametrize("prop", ["shpo", "ünïcödé ☃"])
def test_a_property_neither_configured_nor_stored_is_an_error_listing_those_configured(
    empty: Path, prop: str
) -> None:
    config.add_property(empty / "trackway.toml", "shop", "EUR")
    result = CliRunner().invoke(cli, ["report", "revenue", "--property", prop, "--data", str(empty)])
    assert result.exit_code == 1, result.output  # it printed an empty report
    assert f"unknown property {prop!r}: expected one of shop" in result.output, result.output


def test_a_property_removed_from_the_configuration_is_reported_from_its_data(empty: Path) -> None:
    config.add_property(empty / "trackway.toml", "shop", "EUR")
    store = DuckStore(empty / "trackway.duckdb")
    History(store, prop="gone").event("page_view", datetime(2026, 11, 2, tzinfo=UTC), "visitor")
    store.close()
    args = ["report", "quality", "--property", "gone", "--format", "json", "--data", str(empty)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    events = json.loads(result.output)["sections"]["events"]
    assert [(r["property"], r["accepted"]) for r in events] == [("gone", 1)]


@pytest.mark.parametrize(("flags", "wait"), [([], None), (["--no-wait"], "0")])
def test_through_a_running_server_no_wait_is_sent_and_a_stale_answer_warned_of(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flags: list[str], wait: str | None
) -> None:
    # the report asked the server directly: --no-wait was not sent (it waited for the
    # loader anyway) and the server's Trackway-Stale warning was not printed
    asked: list[httpx.Request] = []

    def server(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        body = render.to_json("revenue", {"revenue": []})
        return httpx.Response(200, content=body, headers={STALE_HEADER: "waited 10 s for the loader"})

    monkeypatch.setattr(common, "running", lambda data: SimpleNamespace(socket=str(tmp_path / "admin.sock")))
    monkeypatch.setattr(common.httpx, "HTTPTransport", lambda **kw: httpx.MockTransport(server))
    args = ["report", "revenue", "--format", "csv", "--property", "shop", *flags, "--data", str(tmp_path)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    [request] = asked
    assert (request.url.path, request.url.params.get("property")) == ("/api/reports/revenue", "shop")
    assert request.url.params.get("wait") == wait
    assert "warning: waited 10 s for the loader" in result.stderr
    assert result.stdout.startswith("section,period,property,currency,orders")
