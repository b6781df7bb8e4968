"""Benchmark: HTTP ingestion with durable acknowledgement, against the stack's limit.

One run on this machine, load generator (wrk) on the same machine:

- the limit: a do-nothing raw ASGI endpoint (bench/noop_app.py) under the same
  server stack (uvicorn, httptools, uvloop) with the same number of workers;
- Trackway ``serve`` ingesting GA4 Measurement Protocol purchases (3 items), one
  event per request and 25 per request (the MP maximum), each answered only once
  its log record is fdatasync'd.

Reported: requests/s and events/s, the ratio to the limit, p99 latency, the peak
RSS of all server processes, and afterwards how long the store took to load
everything acknowledged (and that it holds exactly that many events).

    python bench/http.py                    # 5 paired rounds of 10 s, then the other runs
    python bench/http.py --memory --duration 600   # the 10-minute memory run
    python bench/http.py --quick            # smoke (CI): one round, 2 s per run

The one-event figures are medians over the rounds: of the paired ratios (each Trackway
run follows its own do-nothing run, because this VM's speed drifts by up to 2x between
minutes), of the events/s and of the p99s. The target is judged on those medians.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named http.py, as the issue asks: keep its folder off sys.path so it
# does not shadow the standard library's http package (httpx imports http.client).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402
import psutil  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ITEM = {"item_id": "SKU_{n}", "item_name": "Stan and Friends Tee", "price": 19.99, "quantity": 1}


def mp_body(events: int) -> str:
    """A purchase with 3 items, from a signed-in user who consented (identity, orders and
    consent all have work to do)."""
    items = [{**ITEM, "item_id": f"SKU_{n}"} for n in range(3)]
    event = {
        "name": "purchase",
        "params": {"transaction_id": "T_1", "currency": "EUR", "value": 59.97, "tax": 4.9, "items": items},
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


def wrk(url: str, body: str, seconds: int, connections: int) -> dict[str, float]:
    exe = shutil.which("wrk")
    if exe is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk (make test installs it)")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(
            f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
        )
        script = f.name
    try:
        out = subprocess.run(
            [exe, "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script, url],
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


def run_noop(workers: int, seconds: int, connections: int) -> dict[str, float]:
    port = free_port()
    app_dir = Path(tempfile.mkdtemp(prefix="trackway-noop-"))  # not bench/: its http.py shadows the stdlib
    shutil.copy(ROOT / "bench" / "noop_app.py", app_dir)
    proc = subprocess.Popen(
        [
            str(BIN / "uvicorn"),
            "noop_app:app",
            "--app-dir",
            str(app_dir),
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--http",
            "httptools",
            "--loop",
            "uvloop",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        start_new_session=True,
    )
    try:
        wait_up(f"http://127.0.0.1:{port}/")
        return wrk(f"http://127.0.0.1:{port}/mp/collect", mp_body(1), seconds, connections)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()
        shutil.rmtree(app_dir, ignore_errors=True)


ENRICHED = """consent_required = ["analytics"]
consent_categories = { "1" = "analytics", "3" = "marketing" }
identifiers = "hash"
truncate_ip = true
"""


def configure(data: Path, enriched: bool) -> None:
    """The data dir's configuration: a property, and either every enrichment on (the
    derived state, consent, hashed identifiers, truncated IPs) or none of them."""
    subprocess.run(
        [str(BIN / "trackway"), "property", "add", "default", "--data", str(data)],
        check=True,
        capture_output=True,
    )
    path = data / "trackway.toml"
    text = path.read_text()
    if enriched:
        text = text.replace("[properties.default]\n", "[properties.default]\n" + ENRICHED)
    else:
        text = "[server]\nderive_state = false\n\n" + text
    path.write_text(text)


def run_trackway(
    workers: int,
    seconds: int,
    connections: int,
    events: int,
    *,
    catch_up: bool = True,
    enriched: bool = False,
) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix="trackway-bench-"))
    configure(data, enriched)
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "trackway"), "serve", "--data", str(data), "--port", str(port), "--workers", str(workers)],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_up(url + "/health")
        keys = json.loads(
            subprocess.run(
                [str(BIN / "trackway"), "property", "list", "--data", str(data), "--format", "json"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )[0]
        mid, secret = keys["ga4_measurement_id"], keys["ga4_api_secret"]
        target = f"{url}/mp/collect?measurement_id={mid}&api_secret={secret}"
        sampler = RssSampler(proc.pid)
        sampler.start()
        result = wrk(target, mp_body(events), seconds, connections)
        sampler.stop.set()
        acked = (result["requests"] - result["non2xx"]) * events
        result["rss_series"] = sampler.series
        start = time.monotonic()
        stored = 0
        while catch_up and time.monotonic() - start < 600:
            out = subprocess.run(
                [
                    str(BIN / "trackway"),
                    "sql",
                    "--data",
                    str(data),
                    "--format",
                    "json",
                    "SELECT count(*) AS n FROM events",
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            stored = json.loads(out)[0]["n"]
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
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()
        shutil.rmtree(data, ignore_errors=True)


def memory_run(workers: int, seconds: int, connections: int) -> None:
    """Memory under a long load: RSS of all server processes sampled every 0.5 s."""
    r = run_trackway(workers, seconds, connections, 1, catch_up=False)
    series = r["rss_series"]
    t0 = series[0][0]
    print(f"{seconds} s of one MP purchase a request: {r['rps']:,.0f} req/s, p99 {r['p99_ms']:.1f} ms")
    step = max(1, len(series) // 10)
    for t, rss in series[::step]:
        print(f"  t={t - t0:6.0f} s  RSS {rss / 2**20:7.1f} MB")
    tenth = max(1, len(series) // 10)
    first = max(rss for _, rss in series[:tenth]) / 2**20
    last = max(rss for _, rss in series[-tenth:]) / 2**20
    print(
        f"peak {r['peak_rss_mb']:.0f} MB; max of the first tenth {first:.0f} MB, "
        f"of the last tenth {last:.0f} MB"
    )


def paired(w: int, seconds: int, c: int, rounds: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``rounds`` pairs of (do-nothing endpoint, Trackway with one event a request), one
    right after the other, so that each ratio compares runs that saw the same machine."""
    limits, runs = [], []
    for n in range(rounds):
        limit = run_noop(w, seconds, c)
        r = run_trackway(w, seconds, c, 1)
        if r["stored"] < r["acked"]:
            raise SystemExit("the store holds fewer events than were acknowledged")
        r["ratio"] = r["rps"] / limit["rps"]
        limits.append(limit)
        runs.append(r)
        print(
            f"round {n + 1}: do-nothing {limit['rps']:>9,.0f} req/s (p99 {limit['p99_ms']:5.2f} ms)   "
            f"trackway {r['rps']:>9,.0f} req/s (p99 {r['p99_ms']:5.2f} ms)   {r['ratio']:4.0%} of it; "
            f"stored {r['stored']:,.0f} of {r['acked']:,.0f} acknowledged, "
            f"{r['catch_up_s']:.1f} s after the load"
        )
    return limits, runs


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--duration", type=int, default=10, help="seconds per run")
    parser.add_argument("--rounds", type=int, default=5, help="pairs of do-nothing and one-event runs")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--memory",
        action="store_true",
        help="one long run (--duration, e.g. 600) of one event a request, printing RSS over time",
    )
    args = parser.parse_args()
    if args.memory:
        memory_run(args.workers, args.duration, args.connections)
        return
    seconds = 2 if args.quick else args.duration
    rounds = 1 if args.quick else args.rounds
    w, c = args.workers, args.connections
    print(f"{w} workers, wrk -t2 -c{c}, {seconds} s per run, {os.cpu_count()} cores\n")
    limits, runs = paired(w, seconds, c, rounds)
    ratio = median([r["ratio"] for r in runs])
    rate = median([r["rps"] for r in runs])
    p99 = median([r["p99_ms"] for r in runs])
    print(
        f"\none event a request, medians of {len(runs)} rounds: {ratio:.0%} of the do-nothing endpoint, "
        f"{rate:,.0f} events/s (best {max(r['rps'] for r in runs):,.0f}; do-nothing: median "
        f"{median([x['rps'] for x in limits]):,.0f} req/s), p99 {p99:.2f} ms"
    )
    met = rate >= 15_000 and ratio >= 0.5 and p99 <= 25
    want = ">= 15,000 events/s, >= 50% of the limit, p99 <= 25 ms"
    print(f"{'':44} target {want}: {'met' if met else 'NOT met'}")
    ok = met
    r = run_trackway(w, seconds, c, 25)
    eps = r["rps"] * 25
    print(
        f"{'trackway /mp/collect, 25 events/request':44} {r['rps']:>10,.0f} req/s "
        f"{eps:>10,.0f} events/s  p99 {r['p99_ms']:6.2f} ms  peak RSS {r['peak_rss_mb']:.0f} MB"
    )
    print(
        f"{'':44} acknowledged {r['acked']:,.0f}, stored {r['stored']:,.0f} "
        f"({r['catch_up_s']:.1f} s after the load to load the backlog); non-2xx {r['non2xx']:.0f}"
    )
    if r["stored"] < r["acked"]:
        raise SystemExit("the store holds fewer events than were acknowledged")
    met = eps >= 100_000
    ok = ok and met
    print(f"{'':44} target >= 100,000 events/s: {'met' if met else 'NOT met'}")
    plain = run_trackway(w, seconds, c, 1)
    r = run_trackway(w, seconds, c, 1, enriched=True)
    share = r["rps"] / plain["rps"]
    print(
        f"{'with every enrichment (state, consent, hashing)':44} {r['rps']:>10,.0f} req/s  "
        f"{share:5.0%} of the run without just before ({plain['rps']:,.0f})  p99 {r['p99_ms']:6.2f} ms"
    )
    print(
        f"{'':44} acknowledged {r['acked']:,.0f}, stored {r['stored']:,.0f}; loading the backlog took "
        f"{r['catch_up_s']:.1f} s (without: {plain['catch_up_s']:.1f} s for {plain['acked']:,.0f})"
    )
    if r["stored"] < r["acked"] or plain["stored"] < plain["acked"]:
        raise SystemExit("the store holds fewer events than were acknowledged")
    met = share >= 0.8
    ok = ok and met
    print(f"{'':44} target >= 80% of the run without enrichments: {'met' if met else 'NOT met'}")
    if args.quick:
        return
    print("\nall targets met" if ok else "\nsome targets NOT met")


if __name__ == "__main__":
    main()
