"""`trackway export`, `sql` and `replay`, with the server running (they go through
run/admin.sock) and after it stopped (they open DuckDB, after loading what the log
still holds). Each test runs in both states: all "running" first, then "stopped".
"""

from __future__ import annotations

import copy
import csv
import io
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

import trackway
from tests.support.server import Server, cli, loads, log_record, serving
from tests.support.specs import examples
from trackway.model import encode_json, from_json, to_json
from trackway.timeparse import parse_time

EXAMPLES = Path(trackway.__file__).parent / "examples"


def koalect_transaction_without_currency() -> dict[str, Any]:
    [value] = [copy.deepcopy(e.value) for e in examples("koalect") if e.name == "transaction"]
    del value["ecommerce"]["currency"]
    for item in value["ecommerce"]["items"]:
        item.pop("currency", None)
    return value  # VALUE_REQUIRED: a value and no currency, in a property with no default_currency


@dataclass
class Seed:
    server: Server
    cut: datetime  # events before it are phase A, after it phase B
    before: set[str] = field(default_factory=set)  # ids of phase A events
    after: set[str] = field(default_factory=set)
    events: list[dict[str, Any]] = field(default_factory=list)  # the store when it stopped
    failed: list[dict[str, Any]] = field(default_factory=list)
    state: str = "running"

    def current(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        if self.state == "running":
            return self.server.events(), self.server.failed()
        return self.events, self.failed


def collect(server: Server, keys: dict[str, str], payloads: list[Any], dialect: str = "auto") -> list[str]:
    body = encode_json({"key": keys["collect_key"], "dialect": dialect, "events": payloads})
    r = server.post("/collect", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text
    return [i for result in r.json()["results"] for i in result["events"]]


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    """Phase A, a cut time, phase B; failed payloads; a Koalect transaction without a
    currency in each of two properties with no default currency (one per state)."""
    with serving(tmp_path_factory.mktemp("cli") / "data") as server:
        keys = server.keys()
        for state in ("running", "stopped"):
            nocur = server.add_property(f"nocur-{state}")
            collect(server, nocur, [koalect_transaction_without_currency()], "koalect")
        before = collect(server, keys, [e.value for e in examples("gtag-ga4")])
        broken = loads((EXAMPLES / "broken.json").read_text())
        collect(server, keys, broken)
        time.sleep(0.05)  # margins around the cut: received_at comes from the same clock
        cut = datetime.now(UTC)
        time.sleep(0.05)
        after = collect(server, keys, [e.value for e in examples("gtm-ua")])
        server.wait_events(len(before) + len(after))
        server.wait_failed(len(broken) + 2)
        yield Seed(server, cut, set(before), set(after))


@pytest.fixture(scope="module", params=["running", "stopped"])
def state(request, seed):
    if request.param == "stopped":
        seed.events, seed.failed = seed.server.events(), seed.server.failed()
        assert seed.server.stop() == 0
        # A record still in the log (as after a crash): the commands load it first.
        late = seed.server.data / "log" / "w9"
        late.mkdir()
        (late / "000000000001.log").write_bytes(log_record("default", "late"))
        exported = export_rows(seed.server, "events", "jsonl")
        [event] = [e for e in exported if e.get("properties", {}).get("marker") == "late"]
        seed.events.insert(0, event)
    seed.state = request.param
    return request.param


def export_rows(server: Server, table: str, fmt: str, *args: str, out=None) -> list[dict[str, Any]]:
    extra = ["-o", str(out)] if out else []
    done = cli("export", "--table", table, "--format", fmt, *args, *extra, data=server.data)
    text = out.read_text() if out and fmt != "parquet" else done.stdout
    if fmt == "jsonl":
        return [loads(line) for line in text.splitlines() if line]
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(text)))
    return pq.read_table(out).to_pylist()


def test_export_jsonl_is_the_canonical_form(seed, state, tmp_path):
    events, failed = seed.current()
    out = tmp_path / "events.jsonl"
    rows = export_rows(seed.server, "events", "jsonl", out=out)
    for line in out.read_text().splitlines():
        assert to_json(from_json(line)).decode() == line  # the canonical JSON, byte for byte
    assert sorted(rows, key=lambda e: e["id"]) == sorted(events, key=lambda e: e["id"])
    stdout = cli("export", "--table", "events", data=seed.server.data).stdout
    assert stdout == out.read_text()
    failed_rows = export_rows(seed.server, "failed_events", "jsonl")
    assert sorted(failed_rows, key=lambda f: f["id"]) == sorted(failed, key=lambda f: f["id"])
    assert all(f["issues"] for f in failed_rows)


def test_export_since_and_until(seed, state):
    events, _ = seed.current()
    cut = seed.cut.isoformat()
    since = {e["id"] for e in export_rows(seed.server, "events", "jsonl", "--since", cut)}
    until = {e["id"] for e in export_rows(seed.server, "events", "jsonl", "--until", cut)}
    assert since == {e["id"] for e in events if parse_time(e["received_at"]) >= seed.cut}
    assert until == {e["id"] for e in events if parse_time(e["received_at"]) < seed.cut}
    assert seed.after <= since and not seed.before & since
    assert seed.before <= until and not seed.after & until
    window = export_rows(seed.server, "events", "jsonl", "--since", "1d", "--until", cut)
    assert {e["id"] for e in window} == until
    refused = cli("export", "--since", "99999999999d", data=seed.server.data, check=False)
    assert refused.returncode == 2 and "expected a time" in refused.stderr


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_csv_and_parquet_flatten_objects_to_json(seed, state, fmt, tmp_path):
    events, failed = seed.current()
    rows = export_rows(seed.server, "events", fmt, out=tmp_path / f"events.{fmt}")
    by_id = {e["id"]: e for e in events}
    assert {r["id"] for r in rows} == set(by_id)
    for r in rows:
        event = by_id[r["id"]]
        assert r["name"] == event["name"]
        if "commerce" in event:
            assert loads(r["commerce"]) == event["commerce"]  # exact decimals in the JSON text
    rows = export_rows(seed.server, "failed_events", fmt, out=tmp_path / f"failed.{fmt}")
    assert {r["id"] for r in rows} == {f["id"] for f in failed}
    assert all(loads(r["issues"]) for r in rows)


def sql(seed: Seed, query: str, check: bool = True):
    return cli("sql", query, "--format", "json", data=seed.server.data, check=check)


def test_sql_reads_and_refuses_to_write(seed, state):
    events, _ = seed.current()
    assert loads(sql(seed, "SELECT count(*) AS n FROM events").stdout) == [{"n": len(events)}]
    rows = loads(sql(seed, "SELECT id, value FROM events WHERE value IS NOT NULL").stdout)
    values = {e["id"]: e["commerce"]["value"] for e in events if "value" in e.get("commerce", {})}
    assert {r["id"]: r["value"] for r in rows} == values  # DECIMAL(38, 9), exactly
    for statement in ("DELETE FROM events", "DROP TABLE events", "SELECT 1; DELETE FROM events"):
        refused = sql(seed, statement, check=False)
        assert refused.returncode == 1, refused.stdout
        assert "expected" in refused.stderr and "SQL" in refused.stderr, refused.stderr
    assert loads(sql(seed, "SELECT count(*) AS n FROM events").stdout) == [{"n": len(events)}]


def test_sql_stops_at_its_limit_and_says_so(seed, state):
    # a result cut at the limit used to leave DuckDB's result open: the ROLLBACK after it
    # failed, and every query of 10,000 rows or more answered "the store failed"
    rows = loads(sql(seed, "SELECT range AS n FROM range(20000)").stdout)
    assert [r["n"] for r in rows] == list(range(10_000))
    table = cli("sql", "SELECT range AS n FROM range(5)", "--limit", "3", data=seed.server.data)
    assert "3 rows (stopped at --limit 3: there may be more)" in table.stderr, table.stderr
    whole = cli("sql", "SELECT range AS n FROM range(3)", "--limit", "5", data=seed.server.data)
    assert "3 rows" in whole.stderr and "stopped" not in whole.stderr, whole.stderr
    assert loads(sql(seed, "SELECT 1 AS one").stdout) == [{"one": 1}]


def set_default_currency(seed: Seed, prop: str, currency: str) -> None:
    config = seed.server.data / "trackway.toml"
    header = f"[properties.{prop}]\n"
    text = config.read_text()
    assert header in text
    config.write_text(text.replace(header, f'{header}default_currency = "{currency}"\n'))


def property_rows(seed: Seed, table: str, prop: str) -> list[dict[str, Any]]:
    if seed.state == "running":
        token = seed.server.keys(prop)["admin_token"]
        return seed.server.events(token) if table == "events" else seed.server.failed(token)
    return [r for r in export_rows(seed.server, table, "jsonl") if r["property"] == prop]


def test_replay_moves_fixed_payloads_into_events(seed, state):
    prop = f"nocur-{state}"
    [row] = property_rows(seed, "failed_events", prop)
    assert [i["code"] for i in row["issues"] if i["severity"] == "error"] == ["VALUE_REQUIRED"]
    assert row["replayed_at"] is None
    assert property_rows(seed, "events", prop) == []

    nothing = cli("replay", "--code", "VALUE_REQUIRED", "--property", prop, data=seed.server.data)
    assert "0 now pass" in nothing.stdout  # no default currency yet: it still fails
    set_default_currency(seed, prop, "EUR")
    args = (
        ["--code", "VALUE_REQUIRED"] if state == "running" else ["--since", "1d", "--code", "VALUE_REQUIRED"]
    )
    done = cli("replay", *args, data=seed.server.data)
    assert "1 events moved into events" in done.stdout, done.stdout
    assert ("through it" in done.stderr) == (state == "running")

    [event] = property_rows(seed, "events", prop)
    assert event["name"] == "purchase"
    assert event["commerce"]["currency"] == "EUR"
    assert event["commerce"]["currency_filled"] is True
    assert event["commerce"]["value"] == 16
    assert event["received_at"] == row["received_at"]  # the time it was received, not replayed
    [row] = property_rows(seed, "failed_events", prop)
    assert row["replayed_at"] is not None
    assert row["replayed"] == 1
    assert row["indices"] == []

    again = cli("replay", "--code", "VALUE_REQUIRED", "--property", prop, data=seed.server.data)
    assert "examined 0 failed payloads" in again.stdout
    assert len(property_rows(seed, "events", prop)) == 1
