"""Benchmark: the highest constant rate Trackway sustains end to end (issue 13).

A step offers a constant rate R (events/s) for ``--duration`` seconds to a fresh
``trackway serve --workers 2``: wrk sends GA4 Measurement Protocol purchases on a
schedule (bench/common.py, RATE_LUA: each wrk thread hands out send times at a fixed
period), while bench/freshness.py's probes measure acknowledgement-to-queryable
delays. The step passes when

- wrk achieved at least 95% of R, and every request and probe was acknowledged (2xx);
- every acknowledged probe was queryable within 2 s;
- 2 s after the load stopped, the store held every acknowledged event (counted with
  ``POST /api/sql?wait=0``).

R is searched from ``--start-1`` / ``--start-25``: doubled while steps pass (up to the
saturated acknowledgement rate), halved while they fail, then bisected until the
lowest failing rate is within ``--precision`` (10%) of the highest passing one; the
figure is the achieved rate of the highest passing step. Under each step, where the
machine's CPU went (bench/cpushare.py: the workers, their fsync helpers, the loader,
the store's other threads, wrk, the rest), in cores and CPU microseconds an event.
Each phase (one event a request, 25 events a request) first measures, in the same run, the do-nothing endpoint
(bench/noop_app.py) and Trackway's saturated acknowledgement rate, as bench/http.py
does, and reports R as a ratio to both. Targets on this machine: one event a request
>= 15,000 events/s sustained; 25 events a request >= 60,000 events/s.

    python bench/sustained.py                  # 60 s steps, up to 8 a phase (up to ~20 minutes)
    python bench/sustained.py --duration 20    # shorter steps
    python bench/sustained.py --quick          # smoke (CI): one 2 s step a phase at a low rate
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/http.py would shadow the standard library's http package: this folder goes last.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402

from common import mp_body, run_noop, run_trackway, serve, wrk  # noqa: E402
from cpushare import Shares, text  # noqa: E402
from freshness import Prober, broken, seconds_text, summary  # noqa: E402

LIMIT_S = 2.0  # every acknowledged event queryable within this
ACHIEVED = 0.95  # of the offered rate, for a step to count
TARGETS = {1: 15_000, 25: 60_000}


def step(args: argparse.Namespace, events: int, rate: float) -> dict[str, Any]:
    """One constant-rate run of ``rate`` events/s on a fresh server, judged."""
    with serve(args.workers, defaults=True) as srv:
        prober = Prober(srv, f"r{rate:.0f}", args.interval_ms / 1000, args.poll_ms / 1000)
        prober.start()
        shares, began = Shares(), time.monotonic()
        load = wrk(srv.target, mp_body(events), args.duration, args.connections, rate=rate / events)
        ended = time.monotonic()
        cores = shares.stop(ended - began)
        probes_acked = prober.stop_sending()
        acked = (load["requests"] - load["non2xx"]) * events + probes_acked
        stored = -1
        while True:  # more than acked: requests wrk cut off at the end were stored but not counted
            with contextlib.suppress(RuntimeError, httpx.HTTPError):
                stored = srv.count()
            if stored >= acked or time.monotonic() - ended >= LIMIT_S:
                break
            time.sleep(0.1)
        probes = prober.finish(LIMIT_S + 0.5)
    result = summary(prober, probes, LIMIT_S)
    achieved = load["rps"] * events
    result.update(
        offered=rate,
        achieved=achieved,
        p99_ms=load["p99_ms"],
        non2xx=load["non2xx"],
        socket_errors=load["socket_errors"],
        acked_events=acked,
        stored=stored,
        cpu_cores=cores,
    )
    reasons = []
    if achieved < ACHIEVED * rate:
        reasons.append(f"achieved {achieved / rate:.0%} of the rate")
    if load["non2xx"] or result["refused"]:
        reasons.append(f"{load['non2xx'] + result['refused']} requests not acknowledged")
    if result["acked"] == 0:
        reasons.append("no probe acknowledged")
    if result["late"]:
        reasons.append(f"{result['late']} of {result['acked']} probes later than {LIMIT_S:g} s")
    if stored < acked:
        reasons.append(f"stored {max(stored, 0):,} of {acked:,} events {LIMIT_S:g} s after the load")
    result["passed"] = not reasons
    result["why"] = "; ".join(reasons)
    print(
        f"  offered {rate:>9,.0f} events/s: achieved {achieved:>9,.0f} (p99 {load['p99_ms']:6.1f} ms), "
        f"probes p50/p99/max {seconds_text(result['p50_s'])}/{seconds_text(result['p99_s'])}/"
        f"{seconds_text(result['max_s'])} ms of {result['acked']}: "
        + ("pass" if result["passed"] else f"FAIL ({result['why']})"),
        flush=True,
    )
    print(f"    {text(cores, max(achieved, 1.0))}", flush=True)
    return result


def search(
    args: argparse.Namespace, events: int, start: float, ceiling: float
) -> tuple[dict[str, Any] | None, float | None, list[dict[str, Any]], bool]:
    """(the highest passing step or None, the lowest offered rate that failed or None,
    every step, whether the search ended before ``--max-steps``): double while passing
    (at most to ``ceiling``, the saturated acknowledgement rate), halve while failing,
    then bisect."""
    steps: list[dict[str, Any]] = []
    best: dict[str, Any] | None = None
    lo: float | None = None  # the highest offered rate that passed
    hi: float | None = None  # the lowest that failed
    rate = min(start, ceiling)
    floor = 50.0 * events  # below this, give up: the step found nothing sustainable
    for _ in range(args.max_steps):
        s = step(args, events, rate)
        steps.append(s)
        if s["passed"]:
            lo = rate if lo is None else max(lo, rate)
            if best is None or s["offered"] >= best["offered"]:
                best = s
        else:
            hi = rate if hi is None else min(hi, rate)
        if lo is not None and hi is not None:
            if hi <= lo * (1 + args.precision):
                return best, hi, steps, True
            rate = (lo + hi) / 2
        elif lo is not None:
            if lo >= ceiling / (1 + args.precision):  # passed at about the rate it acknowledges at all
                return best, hi, steps, True
            rate = min(lo * 2, ceiling)
        else:
            assert hi is not None
            rate = hi / 2
            if rate < floor:
                return best, hi, steps, True
    return best, hi, steps, False


def phase(args: argparse.Namespace, events: int, start: float) -> dict[str, Any]:
    w, c, secs = args.workers, args.connections, args.ack_seconds
    noop = run_noop(w, secs, c, events)
    ack = run_trackway(w, secs, c, events, catch_up=False)
    noop_eps, ack_eps = noop["rps"] * events, ack["rps"] * events
    print(
        f"{events} event(s)/request: do-nothing endpoint {noop_eps:,.0f} events/s; Trackway acknowledges "
        f"{ack_eps:,.0f} events/s at full force (p99 {ack['p99_ms']:.1f} ms); searching from {start:,.0f}",
        flush=True,
    )
    best, failed, steps, converged = search(args, events, start, ack_eps)
    rate = best["achieved"] if best else 0.0
    return {
        "failed_at_eps": failed,  # the lowest offered rate that failed (None: none did)
        "converged": converged,  # False: --max-steps ran out before the search's own end
        "events_per_request": events,
        "do_nothing_eps": noop_eps,
        "ack_eps": ack_eps,
        "sustained_eps": rate,
        "of_ack": rate / ack_eps if ack_eps else math.nan,
        "of_do_nothing": rate / noop_eps if noop_eps else math.nan,
        "target_eps": TARGETS[events],
        "met": rate >= TARGETS[events],
        "steps": [
            {k: v for k, v in s.items() if isinstance(v, int | float | str | bool | dict) or v is None}
            for s in steps
        ],
    }


def plain(value: Any) -> Any:
    """JSON without NaN or Infinity (null instead)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: one 2 s step a phase at a low rate")
    parser.add_argument("--duration", type=int, default=60, help="seconds of constant rate a step")
    parser.add_argument("--ack-seconds", type=int, default=10, help="seconds of the full-force runs")
    parser.add_argument("--start-1", type=float, default=15_000, help="first rate, one event a request")
    parser.add_argument("--start-25", type=float, default=60_000, help="first rate, 25 events a request")
    parser.add_argument("--max-steps", type=int, default=8, help="most steps a phase")
    parser.add_argument("--precision", type=float, default=0.1, help="stop when failing/passing <= 1 + this")
    parser.add_argument("--interval-ms", type=float, default=200, help="one probe every this many ms")
    parser.add_argument(
        "--poll-ms", type=float, default=50, help="one query for the probes every this many ms"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    starts = {1: args.start_1, 25: args.start_25}
    if args.quick:
        args.duration, args.ack_seconds, args.max_steps = 2, 1, 1
        starts = {1: 500.0, 25: 2_500.0}
    print(
        f"{args.workers} workers, {os.cpu_count()} cores, wrk -t2 -c{args.connections}; steps of "
        f"{args.duration} s; a probe every {args.interval_ms:.0f} ms, polled every {args.poll_ms:.0f} ms\n",
        flush=True,
    )
    results = [phase(args, events, starts[events]) for events in (1, 25)]
    print(
        f"\n{'events/request':>14} {'do-nothing':>11} {'acknowledged':>12} {'sustained':>10} "
        f"{'failed at':>10} {'of ack':>6} {'of do-nothing':>13}  target"
    )
    for r in results:
        met = "not judged (--quick)" if args.quick else "PASS" if r["met"] else "FAIL"
        failed = "-" if r["failed_at_eps"] is None else f"{r['failed_at_eps']:,.0f}"
        failed += "" if r["converged"] or args.quick else "*"
        print(
            f"{r['events_per_request']:>14} {r['do_nothing_eps']:>11,.0f} {r['ack_eps']:>12,.0f} "
            f"{r['sustained_eps']:>10,.0f} {failed:>10} {r['of_ack']:>6.0%} {r['of_do_nothing']:>13.0%}  "
            f">= {r['target_eps']:,} events/s: {met}"
        )
    print(
        "(events/s; sustained: the achieved rate of the highest step whose every acknowledged event was "
        "queryable within 2 s; failed at: the lowest offered rate that did not"
        + (
            ""
            if args.quick or all(r["converged"] for r in results)
            else f"; *: cut by --max-steps, not within {args.precision:.0%}"
        )
        + ")"
    )
    print(json.dumps(plain({"bench": "sustained", "duration_s": args.duration, "phases": results})))
    problems = [
        f"{r['events_per_request']} event(s)/request at {s['offered']:,.0f} events/s: {why}"
        for r in results
        for s in r["steps"]
        if (why := broken(s))
    ]
    if problems:
        raise SystemExit(
            "the probes did not work in some steps, so their verdicts mean nothing: " + "; ".join(problems)
        )


if __name__ == "__main__":
    main()
