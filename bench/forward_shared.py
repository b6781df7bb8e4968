"""Benchmark: several destinations in one forwarding process, records decoded once or each.

The forwarding process runs one courier thread per destination, each reading the same
log. With :class:`trackway.destinations.shared.Outcomes` a record's outcome (decode,
rules, ids, privacy) is worked out by the first destination that reads it and taken by
the others; without it, every destination works out every record. This runs three
forwarders (webhook, segment, ga4), each in its own thread as the couriers are, over the
same log of GA4 Measurement Protocol records (bench/forward.py's ``write_log``: raw, as
/mp/collect writes them) to a loopback no-op receiver. Two phases, in each of which shared
and not shared alternate, each round on a fresh log and positions:

- ``steady``: the log grows at ``--rate`` events/s for ``--seconds`` (another thread
  appends the records' frames every 10 ms, as a worker would), and the three deliver as
  the couriers do, pausing ``runner.GATHER_S`` after a batch that reached the log's end;
- ``catch-up``: the whole log is there at the start (as after a pause, or deferring under
  load), and each delivers it as fast as it can.

Reported, per phase and mode: the three courier threads' CPU time (``time.thread_time``,
the sending included: one request at a time is sent from the courier's own thread) an
event delivered to all three, the wall time until the last one committed the log's end,
and the share of records whose outcome was reused; the ratio is shared / each, from the
medians.

    python bench/forward_shared.py                     # 2,000 events/s for 10 s, one a record
    python bench/forward_shared.py --per-record 25
    python bench/forward_shared.py --quick             # smoke (CI)
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

from forward import SLOT, options, receiver, write_log  # noqa: E402
from trackway.destinations import types  # noqa: E402
from trackway.destinations.consumer import Forwarder  # noqa: E402
from trackway.destinations.http import Sender  # noqa: E402
from trackway.destinations.position import PositionStore, default_path  # noqa: E402
from trackway.destinations.runner import COMMIT_S, GATHER_S, IDLE_S, tune_gc  # noqa: E402
from trackway.destinations.select import Selection  # noqa: E402
from trackway.destinations.shared import Outcomes  # noqa: E402
from trackway.ingest import log  # noqa: E402
from trackway.ingest.log import Position  # noqa: E402

KINDS = ("webhook", "segment", "ga4")
TICK_S = 0.01  # the steady phase appends records this often


def frames(root: Path) -> list[bytes]:
    """The log ``root``'s records as they lie in its file, one frame each."""
    data = (root / SLOT / log.segment_name(1)).read_bytes()
    out, at = [], 0
    for end, _payload in log.read(root / SLOT, Position(0, 0), 1 << 30):
        out.append(data[at : end.offset])
        at = end.offset
    return out


def feed(root: Path, chunks: list[bytes], stop: threading.Event) -> None:
    """Append ``chunks`` to the log under ``root``, one every TICK_S."""
    path = root / SLOT / log.segment_name(1)
    path.parent.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    with path.open("ab") as f:
        for n, chunk in enumerate(chunks):
            if stop.is_set():
                return
            f.write(chunk)
            f.flush()
            pause = began + (n + 1) * TICK_S - time.perf_counter()
            if pause > 0:
                time.sleep(pause)


def run(root: Path, end: Position, base: str, work: Path, shared: bool, gather: bool) -> dict[str, float]:
    """All of KINDS delivering the log under ``root`` up to ``end`` at once, each in its
    own thread (``gather``: pausing after a batch that reached the log's end, as couriers do)."""
    outcomes = None
    if shared:
        outcomes = Outcomes()
        for _ in KINDS:
            outcomes.join()  # as each courier does when it is made
    errors: list[str] = []
    cpu: list[float] = []

    def courier(kind: str) -> None:
        sender = Sender()
        began = time.thread_time()
        try:
            fwd = Forwarder(
                root,
                kind,
                Selection(),
                types.encoder(kind),
                options(kind, base),
                sender,
                PositionStore(default_path(work, kind), kind),
                lambda: None,
                commit_every_s=COMMIT_S,
                outcomes=outcomes,
            )
            while fwd.committed().get(SLOT) != end:
                started = time.monotonic()
                counts = fwd.run_once(datetime.now(UTC))
                if counts.retry_at is not None or counts.refused or counts.dead_lettered:
                    errors.append(f"{kind}: {counts.last_error or 'refused or dead-lettered'}")
                    return
                if counts.records == 0:
                    time.sleep(IDLE_S)
                elif gather and fwd.drained:
                    time.sleep(max(0.0, started + GATHER_S - time.monotonic()))
            fwd.flush()
        finally:
            sender.close()
            cpu.append(time.thread_time() - began)

    threads = [threading.Thread(target=courier, args=(k,)) for k in KINDS]
    wall = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - wall
    if errors:
        raise SystemExit("; ".join(errors))
    hit = outcomes.hits / max(1, outcomes.hits + outcomes.misses) if outcomes is not None else 0.0
    return {"cpu": sum(cpu), "wall": wall, "hit": hit}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--rate", type=int, default=2_000, help="events/s the log grows by (steady)")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long it grows (steady)")
    parser.add_argument("--per-record", type=int, default=1, help="events a log record (MP allows 25)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    tune_gc()  # as the forwarding process
    seconds = 1.0 if args.quick else args.seconds
    rounds = 1 if args.quick else args.rounds
    events = int(args.rate * seconds) // args.per_record * args.per_record
    print(
        f"{events:,} MP events in raw records of {args.per_record}, delivered to {', '.join(KINDS)} "
        f"in one process, {rounds} round(s) a mode"
    )
    print(f"{'phase':9} {'records decoded':16} {'CPU us/event':>12} {'wall s':>7} {'reused':>7}")
    with tempfile.TemporaryDirectory(prefix="trackway-forward-shared-") as tmp:
        work = Path(tmp)
        end = write_log(work / "source", events, args.per_record, commanders=False, kind="raw")
        chunks = frames(work / "source")
        ticks = max(1, int(seconds / TICK_S))
        per_tick = -(-len(chunks) // ticks)
        ticked = [b"".join(chunks[i : i + per_tick]) for i in range(0, len(chunks), per_tick)]
        with receiver() as base:
            for phase in ("steady", "catch-up"):
                found: dict[bool, list[dict[str, float]]] = {False: [], True: []}
                for n in range(rounds):
                    for shared in (False, True) if n % 2 == 0 else (True, False):
                        here = work / f"{phase}-{n}-{shared}"
                        stop = threading.Event()
                        if phase == "steady":
                            feeder = threading.Thread(target=feed, args=(here / "log", ticked, stop))
                            feeder.start()
                        else:
                            (here / "log" / SLOT).mkdir(parents=True)
                            shutil.copy(work / "source" / SLOT / log.segment_name(1), here / "log" / SLOT)
                        try:
                            r = run(here / "log", end, base, here, shared, gather=phase == "steady")
                        finally:
                            stop.set()
                            if phase == "steady":
                                feeder.join()
                        found[shared].append(r)
                med = {}
                for shared, label in ((False, "by each"), (True, "once (shared)")):
                    cpu = statistics.median(r["cpu"] for r in found[shared]) / events * 1e6
                    wall = statistics.median(r["wall"] for r in found[shared])
                    hit = statistics.median(r["hit"] for r in found[shared])
                    med[shared] = (cpu, wall)
                    print(f"{phase:9} {label:16} {cpu:>12.1f} {wall:>7.2f} {hit:>7.0%}")
                print(
                    f"{phase:9} shared / each: CPU {med[True][0] / med[False][0]:.2f}x, "
                    f"wall {med[True][1] / med[False][1]:.2f}x"
                )


if __name__ == "__main__":
    main()
