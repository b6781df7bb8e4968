"""`trackway demo` end to end (a real server, real HTTP), then the same reports three
ways: `trackway report` on the stopped store, `trackway report` through the running
server's socket, and `GET /api/reports/NAME` with a property's admin token."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import cli, loads, serving
from trackway.demo import render
from trackway.demo.catalog import KOALECT_FUNNEL_STEPS
from trackway.reports import NAMES
from trackway.reports.params import DEFAULT_STEPS

UNTIL = "2100-01-01"  # fixed: carts are abandoned relative to the end of the range


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    data = tmp_path_factory.mktemp("demo") / "d"
    done = cli(
        "demo", "--sessions", "200", "--seed", "3", "--port", "0", "--no-serve", data=data, timeout=300
    )
    return data, done.stdout


def report(data: Path, name: str, *args: str) -> dict[str, Any]:
    doc: dict[str, Any] = loads(
        cli("report", name, "--format", "json", "--until", UNTIL, *args, data=data).stdout
    )
    return doc


def test_the_demo_sends_every_dialect_it_declares_and_prints_every_report(demo: tuple[Path, str]) -> None:
    data, out = demo
    mark = json.loads((data / "demo.json").read_text())
    assert mark["finished"] and mark["seed"] == 3 and mark["events"] > 0
    assert f"Sent {mark['events']:,} events in {mark['requests']:,} requests" in out
    assert "Stopped the server" in out and not (data / "run" / "server.json").exists()
    for title in ("funnel", "revenue", "orders: statuses", "products", "carts: carts", "procedures: funnel"):
        assert title in out
    assert "quality: issues" in out
    quality = report(data, "quality")["sections"]
    dialects = {r["dialect"] for r in quality["events"] if r["accepted"]}
    assert dialects == set(render.dialects())  # those of the vendors that declare a demo renderer
    assert sum(r["accepted"] for r in quality["events"]) > 0 and quality["issues"]


def test_the_first_screen_is_believable(demo: tuple[Path, str]) -> None:
    """Issue 13: the donations site's funnel is its procedure's (not the shop's, which stops
    at step 1), the edge cases do not dominate the totals, and orders have a status."""
    data, out = demo
    funnel = report(data, "funnel")["sections"]["steps"]
    gifts = [r for r in funnel if r["property"] == "donations"]
    assert [r["name"] for r in gifts] == list(KOALECT_FUNNEL_STEPS)
    assert all(r["people"] > 0 for r in gifts), gifts
    assert [r["name"] for r in funnel if r["property"] == "shop"] == list(DEFAULT_STEPS)
    assert "view_step" in out  # the first screen shows the donations funnel
    revenue = report(data, "revenue")["sections"]["revenue"]
    eur = next(r for r in revenue if (r["property"], r["currency"]) == ("shop", "EUR"))
    assert 0 < eur["refunds"] < eur["gross"] / 4, eur  # 10% here; a 120,000 EUR refund made it 98% (seed 1)
    statuses = report(data, "orders")["sections"]["statuses"]
    unknown = sum(r["orders"] for r in statuses if r["status"] == "unknown")
    assert unknown <= sum(r["orders"] for r in statuses) // 10, statuses


def test_reports_are_the_same_from_the_store_the_socket_and_the_api(demo: tuple[Path, str]) -> None:
    data, _ = demo
    stopped = {name: report(data, name, "--by", "week") for name in NAMES}
    shop_only = {name: report(data, name, "--by", "week", "--property", "shop") for name in NAMES}
    assert all(doc["report"] == name for name, doc in stopped.items())
    assert stopped["revenue"]["sections"]["revenue"] and shop_only["carts"]["sections"]["carts"]
    with serving(data) as server:
        token = server.keys("shop")["admin_token"]
        for name in NAMES:
            assert report(data, name, "--by", "week") == stopped[name], name
            response = server.api(f"/api/reports/{name}", token, by="week", until=UNTIL)
            assert response.status_code == 200, response.text
            assert loads(response.content) == shop_only[name], name
        other = server.api("/api/reports/revenue", token, property="donations")
        assert other.status_code == 403 and "shop" in other.json()["error"]
        bad = server.api("/api/reports/revenue", token, by="year")
        assert bad.status_code == 400 and "day, week or month" in bad.json()["error"]
        unknown = server.api("/api/reports/revenue", token, currency="EUR")
        assert unknown.status_code == 400 and "currency" in unknown.json()["error"]
        again = cli("demo", "--no-serve", "--port", "0", data=data, timeout=120)
        assert "revenue" in again.stdout and "Sent" not in again.stdout
        assert server.healthy()  # not ours to stop
        assert not (data / "receiver" / "run" / "server.json").exists()  # but the receiver it started was


def test_csv_has_a_section_column_and_every_row(demo: tuple[Path, str]) -> None:
    data, _ = demo
    doc = report(data, "carts")
    text = cli("report", "carts", "--format", "csv", "--until", UNTIL, data=data).stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["section"] for r in rows] == [s for s, found in doc["sections"].items() for _ in found]
    assert set(rows[0]) >= {"section", "period", "property", "state", "carts", "currency", "value"}


def test_usage_errors_say_what_was_expected(demo: tuple[Path, str]) -> None:
    data, _ = demo
    for args, expected in (
        (("report", "carts", "--abandon-after", "soon"), "expected a duration"),
        (("report", "revenue", "--include", "shipped"), "expected --include to name pending or canceled"),
        (("report", "funnel", "--since", "2026-11-02", "--until", "2026-11-01"), "expected --since before"),
        (("report", "funnel", "--steps", ","), "expected at least one funnel step"),
    ):
        done = cli(*args, data=data, check=False)
        assert done.returncode == 1 and expected in done.stderr, done.stderr
    fresh = cli("demo", "--no-serve", data=data / "run", check=False)
    assert fresh.returncode == 1 and "not a demo" in fresh.stderr


def test_the_demo_forwards_to_a_second_trackway_that_finds_nothing_invalid(demo: tuple[Path, str]) -> None:
    """Issue 15: the shop forwards to a second instance (GA4, Commanders Act, Convead) and
    the demo prints what arrived; with --no-serve both servers are stopped."""
    data, out = demo
    assert "Forwarded to a second Trackway" in out
    assert not (data / "receiver" / "run" / "server.json").exists()
    delivered = {}
    for name in ("ga4", "commanders_act", "convead"):
        status = json.loads((data / "run" / "destinations" / f"shop.{name}.status.json").read_text())
        delivered[name] = status["delivered"]
    assert all(n > 0 for n in delivered.values()), delivered
    rows = loads(cli("sql", "select dialect, count(*) as n from events group by 1", "--format", "json",
                     data=data / "receiver").stdout)  # fmt: skip
    stored = {r["dialect"]: r["n"] for r in rows}
    assert stored == {"ga4-mp": delivered["ga4"], "commanders-act": delivered["commanders_act"],
                      "convead": delivered["convead"]}  # fmt: skip
    assert "it found 0 invalid" in out
    failed = loads(cli("sql", "select count(*) as n from failed_events", "--format", "json",
                       data=data / "receiver").stdout)  # fmt: skip
    assert failed == [{"n": 0}]
