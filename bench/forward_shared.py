"""Benchmark: several destinations of one forwarding process, each record decoded once or by each.

The forwarding process runs one courier thread per destination, each a consumer of the
log with its own position. Without sharing, each decodes every raw record itself
(``pipeline.outcome``); with :class:`trackway.destinations.shared.SharedOutcomes` (what
the process uses) the first to read a record decodes it for the others.

One run: a log of ``--events`` GA4 MP events in raw records of ``--per-record`` (as
/mp/collect writes them; bench/forward.py's purchases and page views) is delivered to
``--types`` destinations at once, each a
:class:`trackway.destinations.consumer.Forwarder` with its own real
:class:`trackway.destinations.http.Sender`, in its own thread, to a do-nothing receiver
on loopback (bench/noop_app.py, its own process), until every committed position is the
log's end. Rounds alternate shared and not shared, each with new positions; per round the
wall time until the last destination is done, as events/s of the log (each destination
delivered all of them), the process's CPU time per event, and the share of records the
shared outcomes answered. Reported: medians and the ratio shared / not shared.

    python bench/forward_shared.py                  # 20,000 events, records of 1, 3 rounds each
    python bench/forward_shared.py --per-record 25 --events 50000
    python bench/forward_shared.py --quick          # smoke (CI)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# bench/http.py would shadow the standard library's http package: this folder goes last.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

from forward import SLOT, options, receiver, write_log  # noqa: E402
from trackway.destinations import types  # noqa: E402
from trackway.destinations.consumer import Forwarder  # noqa: E402
from trackway.destinations.http import Sender  # noqa: E402
from trackway.destinations.position import PositionStore, default_path  # noqa: E402
from trackway.destinations.runner import COMMIT_S, tune_gc  # noqa: E402
from trackway.destinations.select import Selection  # noqa: E402
from trackway.destinations.shared import SharedOutcomes  # noqa: E402
from trackway.ingest import records  # noqa: E402
from trackway.ingest.log import Position  # noqa: E402


def one_round(
    kinds: list[str], root: Path, end: Position, base: str, work: Path, shared: bool
) -> dict[str, Any]:
    """Every destination of ``kinds`` delivers the whole log, side by side."""
    outcomes = SharedOutcomes() if shared else None
    errors: list[str] = []
    senders = [Sender() for _ in kinds]
    forwarders = []
    for kind, sender in zip(kinds, senders, strict=True):
        store = PositionStore(default_path(work, kind), kind)
        forwarder = Forwarder(
            root,
            kind,
            Selection(),
            types.encoder(kind),
            options(kind, base),
            sender,
            store,
            lambda: None,
            commit_every_s=COMMIT_S,
            shared=outcomes,
        )
        forwarders.append(forwarder)

    def run(fwd: Forwarder) -> None:
        try:
            while fwd.committed().get(SLOT) != end:
                counts = fwd.run_once(datetime.now(UTC))
                if counts.retry_at is not None or counts.dead_lettered or counts.refused:
                    errors.append(f"{fwd.name}: {counts.last_error or counts}")
                    return
            fwd.flush()
        except Exception as exc:  # said below, not lost in a thread
            errors.append(f"{fwd.name}: {exc!r}")

    threads = [threading.Thread(target=run, args=(f,)) for f in forwarders]
    cpu, start = time.process_time(), time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    for sender in senders:
        sender.close()
    if errors:
        raise SystemExit("; ".join(errors))
    looked = (outcomes.hits + outcomes.misses) if outcomes else 0
    return {"elapsed": elapsed, "cpu": cpu, "hits": outcomes.hits / looked if outcomes and looked else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--events", type=int, default=20_000, help="events in the log")
    parser.add_argument("--per-record", type=int, default=1, help="events a log record (MP allows 25)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each (alternating)")
    parser.add_argument("--types", default="webhook,segment,ga4", help="comma-separated destination types")
    args = parser.parse_args()
    tune_gc()  # as trackway.destinations.runner.forward_main does
    events, rounds = (1_000, 1) if args.quick else (args.events, args.rounds)
    kinds = [k for k in args.types.split(",") if k]
    print(f"{events:,} MP events in raw records of {args.per_record}, to {', '.join(kinds)} at once")
    got: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
    with tempfile.TemporaryDirectory(prefix="trackway-fwdshared-") as tmp, receiver() as base:
        root = Path(tmp) / "log"
        end = write_log(root, events, args.per_record, commanders=False, kind=records.RAW)
        for n in range(rounds * 2):
            shared = n % 2 == 1
            work = Path(tmp) / f"round{n}"
            r = one_round(kinds, root, end, base, work, shared)
            got[shared].append(r)
            which = "shared    " if shared else "not shared"
            print(
                f"round {n // 2 + 1} {which}: {events / r['elapsed']:>8,.0f} events/s, "
                f"CPU {r['cpu'] / events * 1e6:6.1f} us an event, {r['hits']:.0%} of records shared"
            )
    rate = {k: statistics.median(events / r["elapsed"] for r in v) for k, v in got.items()}
    cpu = {k: statistics.median(r["cpu"] / events * 1e6 for r in v) for k, v in got.items()}
    print(
        f"medians: not shared {rate[False]:,.0f} events/s, {cpu[False]:.1f} us; shared {rate[True]:,.0f} "
        f"events/s, {cpu[True]:.1f} us; shared / not shared: {rate[True] / rate[False]:.2f}x the rate, "
        f"{cpu[True] / cpu[False]:.2f}x the CPU"
    )


if __name__ == "__main__":
    main()
