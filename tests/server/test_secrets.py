"""Secrets stay out of URLs, logs and later starts' output; /metrics names properties
only to admin tokens; what the data dir holds is its owner's only (issue 12)."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.support.inproc import harness
from trackway.cli.main import cli as trackway_main
from trackway.server import metrics

TRACKWAY = str(Path(sys.executable).parent / "trackway")


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def _harness(tmp_path, metrics_public: bool | None = None):
    h = await harness(tmp_path)
    if metrics_public is not None:
        path = h.cfg.path
        path.write_text(f"[server]\nmetrics_public = {str(metrics_public).lower()}\n\n{path.read_text()}")
        h.collector._next_check = 0  # the collector re-reads the file at its next request
    return h


# (how the token is sent, the status, a fragment of the answer)
TOKEN_WAYS = [
    ("header", 200, "events"),
    ("query", 401, "Authorization: Bearer"),
    ("header and query", 401, "got it in the URL"),
    ("none", 401, "expected an admin token"),
    ("unknown header", 401, "unknown"),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("way", "status", "fragment"), TOKEN_WAYS, ids=[w for w, _, _ in TOKEN_WAYS])
async def test_admin_tokens_are_taken_from_the_header_only(tmp_path, way, status, fragment):
    h = await _harness(tmp_path)
    try:
        token = h.keys()["admin_token"]
        headers = {"Authorization": f"Bearer {token}"} if "header" in way else {}
        if way == "unknown header":
            headers = {"Authorization": "Bearer nope"}
        params = {"token": token} if "query" in way else {}
        r = await h.client.get("/api/events", headers=headers, params=params)
        assert r.status_code == status, r.text
        assert fragment in r.text
        assert token not in r.text
    finally:
        await h.client.aclose()
        h.writer.close()
        h.store.close()


# (metrics_public, who asks, status, property labels seen)
METRICS = [
    (True, "nobody", 200, set()),
    (True, "default", 200, {"default"}),
    (True, "other", 200, {"other"}),
    (False, "nobody", 401, None),
    (False, "default", 200, {"default"}),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("public", "who", "status", "seen"), METRICS)
async def test_metrics_name_a_property_only_to_its_admin_token(tmp_path, public, who, status, seen):
    h = await _harness(tmp_path, metrics_public=public)
    try:
        store = metrics.Metrics()  # what the store process publishes: events by property
        for prop in ("default", "other"):
            store.inc("trackway_events_total", 1, endpoint="/collect", property=prop, outcome="accepted")
        metrics.write(tmp_path / "run" / "metrics", "store", store.snapshot())
        forwarder = metrics.Metrics()  # the forwarding process's: a destination's name is PROPERTY.NAME
        for prop in ("default", "other"):
            forwarder.inc("trackway_destination_events_total", 3, destination=f"{prop}.hook", outcome="sent")
        metrics.write(tmp_path / "run" / "metrics", "forwarder", forwarder.snapshot())
        await h.client.post(h.mp(), json={"client_id": "1.2", "events": [{"name": "x"}]})  # a request counted
        headers = {"Authorization": f"Bearer {h.keys(who)['admin_token']}"} if who != "nobody" else {}
        r = await h.client.get("/metrics", headers=headers)
        assert r.status_code == status, r.text
        if seen is None:
            assert "metrics_public" in r.text and "default" not in r.text
            return
        labels = {part.split('"')[1] for part in r.text.split("property=")[1:] if part.startswith('"')}
        assert labels == seen, r.text
        parts = r.text.split("destination=")[1:]
        destinations = {part.split('"')[1] for part in parts if part.startswith('"')}
        assert destinations == {f"{p}.hook" for p in seen}, r.text
        if not seen:  # public: the two properties' series summed, no name
            assert 'trackway_events_total{endpoint="/collect",outcome="accepted"} 2' in r.text, r.text
            assert 'trackway_destination_events_total{outcome="sent"} 6' in r.text, r.text
        # a property's token sees no series of every property's traffic (the requests by endpoint)
        assert ("trackway_requests_total{" in r.text) == (who == "nobody"), r.text
    finally:
        await h.client.aclose()
        h.writer.close()
        h.store.close()


def test_property_list_hides_keys_unless_asked(tmp_path):
    runner = CliRunner()
    added = runner.invoke(
        trackway_main, ["property", "add", "shop", "--format", "json", "--data", str(tmp_path)]
    )
    assert added.exit_code == 0, added.output
    keys = json.loads(added.output)
    secrets = [v for k, v in keys.items() if k != "property"]
    hidden = runner.invoke(
        trackway_main, ["property", "list", "--data", str(tmp_path)], env={"COLUMNS": "300"}
    )
    shown = runner.invoke(
        trackway_main, ["property", "list", "--show-keys", "--data", str(tmp_path)], env={"COLUMNS": "300"}
    )
    assert hidden.exit_code == shown.exit_code == 0
    assert not [s for s in secrets if s in hidden.output], hidden.output
    assert "--show-keys" in hidden.output
    assert all(s in shown.output for s in secrets), shown.output


def _start(data: Path) -> tuple[subprocess.Popen[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKWAY_")}
    env["COLUMNS"] = "400"
    proc = subprocess.Popen(
        [TRACKWAY, "serve", "--data", str(data), "--port", "0", "--workers", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )
    lines = []
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if line.startswith("Stop with") or not line:
            break
    return proc, "".join(lines)


def _stop(proc: subprocess.Popen[str]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)
    assert proc.stdout is not None
    proc.stdout.close()


def test_keys_are_printed_on_the_first_start_only_and_the_data_dir_is_private(tmp_path):
    data = tmp_path / "data"
    proc, first = _start(data)
    _stop(proc)
    keys = json.loads(
        subprocess.run(
            [TRACKWAY, "property", "list", "--format", "json", "--data", str(data)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )[0]
    assert keys["collect_key"] in first and keys["admin_token"] in first
    proc, second = _start(data)
    try:
        assert "listening on" in second, second
        leaked = [n for n, v in keys.items() if n != "property" and v in second]
        assert leaked == [], second
        assert "--show-keys" in second
        for path in [data, *data.rglob("*")]:
            if path.is_socket():
                continue
            mode = stat.S_IMODE(path.stat().st_mode)
            assert mode == (0o700 if path.is_dir() else 0o600), f"{path}: {oct(mode)}"
    finally:
        _stop(proc)


@pytest.mark.parametrize(
    "args",
    [
        ["export", "--format", "jsonl"],
        ["export", "--format", "csv"],
        ["export", "--format", "parquet"],
        ["subject-export", "--user", "u-1"],
    ],
    ids=lambda a: " ".join(a[:3]),
)
def test_files_written_with_personal_data_are_the_owners_only(tmp_path, args):
    from trackway.store.duck import DuckStore

    data = tmp_path / "data"
    DuckStore(data / "trackway.duckdb").close()
    out = tmp_path / "out"
    out.write_text("")
    os.chmod(out, 0o644)  # an existing file is made private too
    done = CliRunner().invoke(trackway_main, [*args, "-o", str(out), "--data", str(data)])
    assert done.exit_code == 0, done.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert stat.S_IMODE((data / "trackway.duckdb").stat().st_mode) == 0o600
