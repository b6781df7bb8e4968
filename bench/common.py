"""What the HTTP benchmarks share: the MP purchase they send, wrk (at full force or at
a constant rate), the do-nothing endpoint, and a ``trackway serve`` on a temp data dir.

Used by bench/http.py (acknowledgements against the stack's limit), bench/freshness.py
(acknowledgement-to-queryable delay) and bench/sustained.py (the highest constant rate
whose events are all queryable within 2 s). Each of them puts this folder last on
sys.path before importing it, so that bench/http.py cannot shadow the standard
library's http package (httpx imports http.client).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

from trackway.server.supervisor import running

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ITEM = {"item_id": "SKU_{n}", "item_name": "Stan and Friends Tee", "price": 19.99, "quantity": 1}


def mp_body(events: int, transaction_id: str = "T_1") -> str:
    """A purchase with 3 items, from a signed-in user who consented (identity, orders and
    consent all have work to do); ``events`` copies of it in one request."""
    items = [{**ITEM, "item_id": f"SKU_{n}"} for n in range(3)]
    event = {
        "name": "purchase",
        "params": {
            "transaction_id": transaction_id,
            "currency": "EUR",
            "value": 59.97,
            "tax": 4.9,
            "items": items,
        },
    }
    consent = {"ad_user_data": "GRANTED", "ad_personalization": "GRANTED"}
    return json.dumps(
        {"client_id": "123.456", "user_id": "u-42", "consent": consent, "events": [event] * events}
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.peak = 0
        self.series: list[tuple[float, int]] = []  # (seconds since start, RSS of all server processes)
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            total = 0
            try:
                for p in [self.root, *self.root.children(recursive=True)]:
                    total += p.memory_info().rss
            except psutil.Error:
                pass
            self.peak = max(self.peak, total)
            self.series.append((time.monotonic(), total))
            self.stop.wait(0.5)


# A constant offered rate: each wrk thread hands out send times ``period`` ms apart, in
# order, to whichever of its connections asks next (wrk calls delay() before each
# request). A connection still waiting for its answer takes the next free slot when it
# gets it, so slots missed during a stall are sent at once afterwards (no coordinated
# omission, as in wrk2); what was achieved is wrk's Requests/sec, which is what counts.
# wrk rounds a delay down to whole milliseconds, so sends may run up to 1 ms early.
RATE_LUA = """
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } tw_timespec;
int clock_gettime(int clk, tw_timespec *tp);
]]
local ts = ffi.new("tw_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end
local period = %(period)r
local slot = nil
function delay()
  local now = now_ms()
  if slot == nil then slot = now end
  slot = slot + period
  if slot <= now then return 0 end
  return slot - now
end
"""


def wrk(
    url: str, body: str, seconds: int, connections: int, *, rate: float | None = None, threads: int = 2
) -> dict[str, Any]:
    """wrk POSTing ``body`` for ``seconds``: at full force, or at ``rate`` requests/s."""
    exe = shutil.which("wrk")
    if exe is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk (make test installs it)")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(
            f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
        )
        if rate is not None:
            f.write(RATE_LUA % {"period": threads * 1000.0 / rate})
        script = f.name
    try:
        out = subprocess.run(
            [exe, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script, url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(script)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": rps,
        "p99_ms": float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan"),
        "requests": total,
        "non2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1) if errors else "",
    }


@contextlib.contextmanager
def noop_server(workers: int = 1, delay_ms: float = 0.0) -> Iterator[str]:
    """bench/noop_app.py (a do-nothing ASGI endpoint) under uvicorn, httptools and uvloop
    with ``workers`` workers, in its own process group; yields its base URL. ``delay_ms``:
    each answer that long after its request (a distant receiver)."""
    port = free_port()
    app_dir = Path(tempfile.mkdtemp(prefix="trackway-noop-"))  # not bench/: its http.py shadows the stdlib
    shutil.copy(ROOT / "bench" / "noop_app.py", app_dir)
    proc = subprocess.Popen(
        [str(BIN / "uvicorn"), "noop_app:app", "--app-dir", str(app_dir), "--port", str(port),
         "--workers", str(workers), "--http", "httptools", "--loop", "uvloop", "--no-access-log",
         "--log-level", "warning"],
        start_new_session=True,
        env={**os.environ, "NOOP_DELAY_MS": str(delay_ms)},
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        wait_up(base + "/")
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()
        shutil.rmtree(app_dir, ignore_errors=True)


def run_noop(workers: int, seconds: int, connections: int, events: int = 1) -> dict[str, Any]:
    with noop_server(workers) as base:
        return wrk(f"{base}/mp/collect", mp_body(events), seconds, connections)


ENRICHED = """consent_required = ["analytics"]
consent_categories = { "1" = "analytics", "3" = "marketing" }
identifiers = "hash"
truncate_ip = true
"""


def configure(
    data: Path, enriched: bool, *, defaults: bool = False, server: str = "", tables: str = ""
) -> None:
    """The data dir's configuration: a property, and either every enrichment on (the
    derived state, consent, hashed identifiers, truncated IPs) or none of them; with
    ``defaults``, the configuration `trackway property add` writes (what a user gets:
    the derived state on). ``server``: more lines for its [server] table; ``tables``:
    more tables at the end (destinations)."""
    subprocess.run(
        [str(BIN / "trackway"), "property", "add", "default", "--data", str(data)],
        check=True,
        capture_output=True,
    )
    path = data / "trackway.toml"
    text = path.read_text()
    if enriched:
        text = text.replace("[properties.default]\n", "[properties.default]\n" + ENRICHED)
    elif not defaults:
        server = "derive_state = false\n" + server
    if server:
        text = f"[server]\n{server}\n" + text
    path.write_text(text + ("\n" + tables if tables else ""))


def trackway_sql(data: Path, query: str) -> list[dict[str, Any]]:
    """``trackway sql --format json`` on the server running on ``data``."""
    out = subprocess.run(
        [str(BIN / "trackway"), "sql", "--data", str(data), "--format", "json", query],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


@dataclass
class Server:
    """A running ``trackway serve``: its data dir, URL, MP endpoint and store API."""

    data: Path
    pid: int
    url: str
    target: str  # /mp/collect with the property's measurement id and API secret
    admin: httpx.Client  # the store process's API on run/admin.sock, as `trackway sql` calls it

    def sql(self, query: str, *, wait: bool = False) -> list[dict[str, Any]]:
        """Rows of ``POST /api/sql``; ``wait=False`` (``?wait=0``) skips the wait for the
        loader to pass what was acknowledged before the query (read-your-writes), so the
        answer shows what is queryable now."""
        params = {} if wait else {"wait": "0"}
        response = self.admin.post("/api/sql", params=params, json={"query": query})
        body = response.json()
        if response.status_code != 200:
            raise RuntimeError(f"/api/sql answered {response.status_code}: {body.get('error')}")
        return [dict(zip(body["columns"], row, strict=True)) for row in body["rows"]]

    def count(self) -> int:
        return int(self.sql("SELECT count(*) AS n FROM events")[0]["n"])

    def metric(self, name: str) -> float | None:
        """The value of an unlabelled series of ``/metrics``, or None where there is none."""
        try:
            text = httpx.get(self.url + "/metrics", timeout=5).text
        except httpx.HTTPError:
            return None
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == name:
                return float(value)
        return None


@contextlib.contextmanager
def serve(
    workers: int, *, enriched: bool = False, defaults: bool = False, server: str = "", tables: str = ""
) -> Iterator[Server]:
    """``trackway serve`` on a fresh temp data dir, stopped and removed afterwards
    (configured as :func:`configure` says)."""
    data = Path(tempfile.mkdtemp(prefix="trackway-bench-"))
    configure(data, enriched, defaults=defaults, server=server, tables=tables)
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "trackway"), "serve", "--data", str(data), "--port", str(port), "--workers", str(workers)],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    admin = None
    try:
        url = f"http://127.0.0.1:{port}"
        wait_up(url + "/health")
        if tables:  # destinations: the load starts once they run (the forwarding start is not measured)
            deadline = time.monotonic() + 60
            while not list((data / "run" / "destinations").glob("*.status.json")):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no destination started within 60 s; see {data}")
                time.sleep(0.1)
        keys = tomllib.loads((data / "trackway.toml").read_text())["properties"]["default"]
        mid, secret = keys["ga4_measurement_id"], keys["ga4_api_secret"]
        state = running(data)
        if state is None:
            raise RuntimeError(f"trackway serve answers on {url} but names no admin socket in {data}/run")
        admin = httpx.Client(
            transport=httpx.HTTPTransport(uds=state.socket), base_url="http://store", timeout=30
        )
        target = f"{url}/mp/collect?measurement_id={mid}&api_secret={secret}"
        yield Server(data=data, pid=proc.pid, url=url, target=target, admin=admin)
    finally:
        if admin is not None:
            admin.close()
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()
        shutil.rmtree(data, ignore_errors=True)


def run_trackway(
    workers: int,
    seconds: int,
    connections: int,
    events: int,
    *,
    catch_up: bool = True,
    enriched: bool = False,
    server: str = "",
    tables: str = "",
    after: Callable[[Server, int], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Trackway at full force for ``seconds``; with ``catch_up``, then how long the store
    took to hold every acknowledged event (counted with ``trackway sql``). ``server``:
    lines for the [server] table; ``tables``: more tables (destinations); ``after(server,
    acknowledged events)``: what else to measure once the load ended, the server still
    running (added to the result)."""
    with serve(workers, enriched=enriched, server=server, tables=tables) as srv:
        sampler = RssSampler(srv.pid)
        sampler.start()
        result = wrk(srv.target, mp_body(events), seconds, connections)
        sampler.stop.set()
        acked = (result["requests"] - result["non2xx"]) * events
        result["rss_series"] = sampler.series
        if after is not None:
            result.update(after(srv, acked))
        start = time.monotonic()
        stored = 0
        while catch_up and time.monotonic() - start < 600:
            stored = trackway_sql(srv.data, "SELECT count(*) AS n FROM events")[0]["n"]
            if stored >= acked:  # more: requests wrk cut off at the end were stored but not counted
                break
            time.sleep(0.5)
        result.update(
            events_per_request=events,
            peak_rss_mb=sampler.peak / 2**20,
            acked=acked,
            stored=stored,
            catch_up_s=time.monotonic() - start,
        )
        return result


def as_decoded(record: Any, *, client_supplied: bool = False) -> Any:
    """``record`` (a raw one) as an endpoint that decodes in the worker writes it: its
    canonical events, the body dropped. ``client_supplied``: every event's id marked as
    the client's (the loader then records each in ``client_ids``)."""
    import msgspec

    from trackway.ingest import pipeline, records

    out = pipeline.outcome(record, None)
    return msgspec.structs.replace(
        record,
        kind=records.DECODED,
        dialect="",
        body=b"",
        events=[records.event_json(e) for e in out.events],
        client_ids=[True] * len(out.events) if client_supplied else out.client_ids,
    )
