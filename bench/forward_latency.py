"""Benchmark: delivery to a distant receiver, one request at a time against several in flight.

On loopback a request's round trip costs little, so bench/forward.py measures the
forwarder's CPU. A vendor's endpoint is tens of milliseconds away, and a destination
that sends one request at a time is bounded by that: Convead and InSend take one event a
request, so at 30 ms they deliver at most about 33 events a second whatever the CPU.
This run makes the distance: bench/noop_app.py answers each request ``--round-trip-ms``
after its body arrived (requests wait side by side, as at a real endpoint), in its own
process on 127.0.0.1.

A log of ``--events`` GA4 MP events (bench/forward.py's purchases and page views), one a
record, from ``--visitors`` clients in turn, is delivered per type by a
:class:`trackway.destinations.consumer.Forwarder` with a real
:class:`trackway.destinations.http.Sender` at each ``--in-flight`` value, until its
committed position is the log's end. Per type and value: events/s, requests, and the
ratio to ``in_flight = 1`` of the same run. The round trip bounds one at a time at
``events a request / round trip``; that bound is printed beside it.

    python bench/forward_latency.py                     # 30 ms, in_flight 1, 4, 16
    python bench/forward_latency.py --round-trip-ms 80 --in-flight 1,8,32
    python bench/forward_latency.py --quick             # smoke (CI)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# bench/http.py would shadow the standard library's http package: this folder goes last.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

import time  # noqa: E402

from common import noop_server  # noqa: E402
from forward import CONSENT, SLOT, mp_events, options  # noqa: E402
from trackway.destinations import types  # noqa: E402
from trackway.destinations.consumer import Forwarder  # noqa: E402
from trackway.destinations.http import Sender  # noqa: E402
from trackway.destinations.position import PositionStore, default_path  # noqa: E402
from trackway.destinations.select import Selection  # noqa: E402
from trackway.ingest import log, records  # noqa: E402
from trackway.ingest.log import Position  # noqa: E402


def write_log(root: Path, events: int, visitors: int) -> Position:
    """``events`` MP events, one a record, client ``v<k % visitors>`` for event k."""
    path = root / SLOT / log.segment_name(1)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = []
    for k, event in enumerate(mp_events(0, events, commanders=False)):
        body = {"client_id": f"555.{k % visitors}", "consent": CONSENT, "events": [event]}
        record = records.Record(
            records.RAW, records.uuid7(), "/mp/collect", "default", records.now_micros(), "ga4-mp",
            {"ip": "203.0.113.9"}, json.dumps(body).encode(),
        )  # fmt: skip
        frames.append(log.frame(records.dumps(record)))
    path.write_bytes(b"".join(frames))
    return Position(1, path.stat().st_size)


def deliver(kind: str, root: Path, end: Position, base: str, in_flight: int, work: Path) -> dict[str, Any]:
    """A forwarder of type ``kind`` with ``in_flight`` run until its position is ``end``."""
    sender = Sender()
    sent = [0]

    def send(request: Any) -> Any:
        sent[0] += 1
        return sender(request)

    name = f"{kind}-{in_flight}"
    fwd = Forwarder(
        root, name, Selection(), types.encoder(kind), options(kind, base), send,
        PositionStore(default_path(work, name), name), lambda: None, in_flight=in_flight,
    )  # fmt: skip
    delivered = 0
    try:
        start = time.perf_counter()
        while fwd.committed().get(SLOT) != end:
            counts = fwd.run_once(datetime.now(UTC))
            if counts.retry_at is not None or counts.dead_lettered or counts.refused:
                said = counts.last_error or counts
                raise SystemExit(f"{kind}: not delivered ({said}); is the receiver up?")
            delivered += counts.delivered
        elapsed = time.perf_counter() - start
    finally:
        fwd.close()
        sender.close()
    return {"delivered": delivered, "requests": sent[0], "elapsed": elapsed, "rate": delivered / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--events", type=int, default=600, help="events in the log")
    parser.add_argument("--visitors", type=int, default=200, help="clients the events come from, in turn")
    parser.add_argument("--round-trip-ms", type=float, default=30.0, help="the receiver's delay a request")
    parser.add_argument("--in-flight", default="1,4,16", help="comma-separated in_flight values")
    parser.add_argument("--types", default="convead,ga4", help="comma-separated destination types")
    args = parser.parse_args()
    events, delay = (60, 10.0) if args.quick else (args.events, args.round_trip_ms)
    flights = [int(v) for v in args.in_flight.split(",") if v]
    kinds = [k for k in args.types.split(",") if k]
    print(f"{events:,} MP events from {args.visitors} clients, one a record; round trip {delay:g} ms")
    head = ("type", "in_flight", "events/s", "requests", "ev/req", "bound at 1", "vs 1")
    widths = (9, 9, 8, 6, 10, 6)
    print(f"{head[0]:14} " + " ".join(f"{h:>{w}}" for h, w in zip(head[1:], widths, strict=True)))
    results: dict[str, dict[int, dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="trackway-fwdlat-") as tmp, noop_server(1, delay) as base:
        root = Path(tmp) / "log"
        end = write_log(root, events, args.visitors)
        for kind in kinds:
            for n in flights:
                got = results.setdefault(kind, {})[n] = deliver(kind, root, end, base, n, Path(tmp))
                per = got["delivered"] / max(got["requests"], 1)
                base_rate = results[kind].get(1, {}).get("rate")
                ratio = f"{got['rate'] / base_rate:.2f}x" if base_rate else ""
                bound = f"{per * 1000 / delay:,.0f}" if delay > 0 else "-"  # no delay: no bound
                print(
                    f"{kind:14} {n:>9} {got['rate']:>9,.0f} {got['requests']:>8,} {per:>6.1f} "
                    f"{bound:>10} {ratio:>6}"
                )
                if got["delivered"] != events:
                    raise SystemExit(f"{kind} at in_flight {n}: delivered {got['delivered']} of {events}")


if __name__ == "__main__":
    main()
