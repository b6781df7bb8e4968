"""Benchmark: what forwarding costs ingestion (issue 15).

bench/http.py's one-event load (wrk, GA4 MP purchases, one a request, each answered
once its log record is fdatasync'd) against ``trackway serve`` in three set-ups, paired
in rounds because this VM's speed drifts between minutes (each round starts with the next
set-up, so that none is always first):

- ``none``: no destination (the baseline of the round);
- ``three``: three active destinations (webhook, segment, ga4) delivering to a
  do-nothing receiver on loopback (bench/noop_app.py under uvicorn, its own process);
- ``stalled``: one destination whose receiver accepts connections and never answers
  (each request waits for the sender's 30 s deadline).

Reported per round: acknowledged requests/s of each set-up and its ratio to ``none``;
for ``three``, the share of the acknowledged events the destinations had delivered when
the load ended (the forwarding process runs at ``forward_nice``: under a saturating load
acknowledgements come first) and how long after it they had delivered everything. Targets: three
destinations >= 85 % of none; one stalled >= 95 %.

    python bench/forward_ingest.py            # 3 rounds of 10 s runs
    python bench/forward_ingest.py --quick    # smoke (CI): one round of 2 s runs
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

from common import run_trackway  # noqa: E402
from forward import receiver  # noqa: E402

TARGETS = {"three": 0.85, "stalled": 0.95}


def webhook(name: str, base: str) -> str:
    return f"""
[properties.default.destinations.{name}]
type = "webhook"
url = "{base}/hook"
secret = "bench-webhook-secret"
"""


def three(base: str) -> str:
    return (
        webhook("hook", base)
        + f"""
[properties.default.destinations.segment]
type = "segment"
write_key = "bench-write-key"
base_url = "{base}"

[properties.default.destinations.ga4]
type = "ga4"
measurement_id = "G-BENCH1"
api_secret = "bench-api-secret"
base_url = "{base}"
"""
    )


def stalled(base: str) -> str:
    return webhook("stuck", base)


@contextlib.contextmanager
def black_hole() -> Iterator[str]:
    """A port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1024)
        yield f"http://127.0.0.1:{s.getsockname()[1]}"


def delivered(data: Path) -> int:
    """Events the destinations have delivered, from their status files."""
    total = 0
    for path in (data / "run" / "destinations").glob("*.status.json"):
        total += int(json.loads(path.read_text()).get("delivered", 0))
    return total


def run(kind: str, seconds: int, connections: int, workers: int, base: str) -> dict[str, Any]:
    tables = {"none": "", "three": three(base), "stalled": stalled(base)}[kind]

    def after(srv: Any, acked: int) -> dict[str, Any]:
        """What the active destinations had delivered when the load ended, and how long
        they took to deliver every acknowledged event once it ended (at most 120 s)."""
        if kind != "three":
            return {}
        at_end = delivered(srv.data)
        start = time.monotonic()
        while delivered(srv.data) < 3 * acked and time.monotonic() - start < 120:
            time.sleep(0.25)
        done = delivered(srv.data)
        return {
            "delivered_at_end": at_end,
            "forward_catch_up_s": time.monotonic() - start,
            "delivered": done,
            "acked": acked,
        }

    return run_trackway(workers, seconds, connections, 1, catch_up=False, tables=tables, after=after)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--duration", type=int, default=10, help="seconds per run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    seconds, rounds = (2, 1) if args.quick else (args.duration, args.rounds)
    ratios: dict[str, list[float]] = {"three": [], "stalled": []}
    with receiver() as noop, black_hole() as hole:
        for n in range(1, rounds + 1):
            got = {}
            setups = [("none", noop), ("three", noop), ("stalled", hole)]
            k = (n - 1) % len(setups)  # each round starts with the next set-up: no place favoured
            for kind, base in setups[k:] + setups[:k]:
                got[kind] = run(kind, seconds, args.connections, args.workers, base)
            line = [f"round {n}: none {got['none']['rps']:,.0f} req/s"]
            for kind in ("three", "stalled"):
                ratio = got[kind]["rps"] / got["none"]["rps"]
                ratios[kind].append(ratio)
                line.append(f"{kind} {got[kind]['rps']:,.0f} req/s ({ratio:.0%})")
            t = got["three"]
            wanted = max(3 * t["acked"], 1)
            line.append(
                f"the three had delivered {t['delivered_at_end'] / wanted:.0%} of {t['acked']:,} events x 3 "
                f"when the load ended, {t['delivered'] / wanted:.0%} {t['forward_catch_up_s']:.1f} s later"
            )
            print("; ".join(line), flush=True)
    for kind, values in ratios.items():
        median = statistics.median(values)
        verdict = "met" if median >= TARGETS[kind] else "NOT met"
        print(f"{kind}: median ratio {median:.0%} of no destination (target {TARGETS[kind]:.0%}: {verdict})")


if __name__ == "__main__":
    main()
