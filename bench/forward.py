"""Benchmark: delivering the log to destinations, per type, to a loopback no-op receiver.

One run on this machine: a log of N GA4 Measurement Protocol events (purchases with 3
items and page views, alternating, ``--per-record`` events a record) is delivered by a
:class:`trackway.destinations.consumer.Forwarder` with a real
:class:`trackway.destinations.http.Sender` to a do-nothing ASGI endpoint
(bench/noop_app.py under uvicorn, httptools, uvloop, one worker, in its own process, so
it does not share the forwarder's GIL) on 127.0.0.1, until the forwarder's committed
position is the log's end. The records are raw, as /mp/collect writes them (the
forwarder decodes each, as the loader does), or with ``--records decoded`` the
canonical events, as endpoints that decode in the worker write them. Per type
(webhook, segment, commanders-act batch, ga4, convead) it reports events/s and, from
the same run:

- ``http``: the raw request rate of the same Sender to the same receiver with a fixed
  small body (the transport's ceiling, requests/s), measured just before the type; the
  ratio is delivery / (that rate x the type's events a request);
- ``encode``: encode-only events/s (the type's encoder on the decoded events in
  batches of 1,000, no read, no send), measured just before the type; the ratio is
  delivery / encode-only;
- reading alone: ``log.read`` + ``pipeline.outcome`` of every record, events/s (what
  every type pays before selecting);
- where the delivery's time went, in shares of it: read+outcome (log read, record
  decode, the loader's outcome, the forwarder's bookkeeping of records), select
  (selection and identifier stripping), encode, send, commit (the position's fsync'd
  write), other (the rest: run_once, counting, the timers).

Every event is one client's (one ``client_id``), as the GA4 target ("25 a request")
presumes: GA4 packs only consecutive events of the same client id into one body. The
events are what a GA4 client sends (the purchases with ``payment_type``); Commanders
Act's rules refuse such a purchase without ``type`` and ``status`` and a page view
without ``page_type``, so its type gets a log of the same events with those parameters
(the target is about delivering, not refusing).

Targets (issue 15): batched types (webhook, segment, commanders-act) >= 50,000
events/s; ga4 >= 20,000 events/s.

    python bench/forward.py              # 20,000 events a type, one a record
    python bench/forward.py --per-record 25 --records decoded
    python bench/forward.py --quick      # smoke (CI): 1,000 events a type
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# bench/http.py would shadow the standard library's http package: this folder goes last.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

from common import as_decoded, noop_server  # noqa: E402
from trackway.destinations import consumer, types  # noqa: E402
from trackway.destinations.base import Encoded, Encoder, Outgoing  # noqa: E402
from trackway.destinations.consumer import Forwarder  # noqa: E402
from trackway.destinations.http import Sender  # noqa: E402
from trackway.destinations.position import PositionStore, default_path  # noqa: E402
from trackway.destinations.retry import Answer  # noqa: E402
from trackway.destinations.runner import COMMIT_S, tune_gc  # noqa: E402
from trackway.destinations.select import Selection  # noqa: E402
from trackway.ingest import log, pipeline, records  # noqa: E402
from trackway.ingest.log import Position  # noqa: E402
from trackway.model import Event  # noqa: E402

SLOT = "w1"
TARGETS = {"webhook": 50_000, "segment": 50_000, "commanders-act": 50_000, "ga4": 20_000}
CONSENT = {"ad_user_data": "GRANTED", "ad_personalization": "GRANTED"}


def options(kind: str, base: str) -> dict[str, Any]:
    """Each type's options, pointing at the receiver (``base``: http://127.0.0.1:port)."""
    return {
        "webhook": {"url": f"{base}/hook", "secret": "whsec_bench"},
        "segment": {"write_key": "wk_bench", "base_url": base},
        "commanders-act": {"site": "1234", "token": "tok_bench", "base_url": base, "batch": True},
        "ga4": {"measurement_id": "G-BENCH1", "api_secret": "sec_bench", "base_url": base},
        "convead": {"app_key": "app_bench", "base_url": base},
    }[kind]


def mp_events(first: int, n: int, commanders: bool) -> list[dict[str, Any]]:
    """MP events ``first`` to ``first + n - 1`` of the log: even ones purchases, odd ones
    page views (values differ between events, so nothing can be cached by value);
    ``commanders``: with the parameters Commanders Act's rules require (purchase ``type``
    and ``status``, ``page_type``)."""
    out: list[dict[str, Any]] = []
    for k in range(first, first + n):
        if k % 2 == 0:
            items = [
                {"item_id": f"SKU_{i}", "item_name": "Stan and Friends Tee", "price": 19.99, "quantity": 1}
                for i in range(3)
            ]
            params: dict[str, Any] = {
                "transaction_id": f"T_{time.perf_counter_ns()}_{k}",
                "currency": "EUR",
                "value": 59.97,
                "tax": 4.9,
                "items": items,
                "payment_type": "card",
            }
            if commanders:
                params.update(type="online", status="in_progress")
            out.append({"name": "purchase", "params": params})
        else:
            params = {
                "page_location": f"https://shop.example/p/{time.perf_counter_ns()}",
                "page_title": "Stan and Friends Tee",
                "engagement_time_msec": 120,
            }
            if commanders:
                params["page_type"] = "product"
            out.append({"name": "page_view", "params": params})
    return out


def write_log(root: Path, events: int, per_record: int, *, commanders: bool, kind: str) -> Position:
    """A log of ``events`` events in MP records of ``per_record`` events (see
    :func:`mp_events`); its end. ``kind``: ``raw`` records as /mp/collect writes them
    (the forwarder decodes each), or ``decoded`` ones as an endpoint that decodes in the
    worker writes them (the canonical events; the forwarder only parses them)."""
    path = root / SLOT / log.segment_name(1)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = []
    left = events
    while left > 0:
        n = min(per_record, left)
        body = {"client_id": "555.1733370000", "user_id": "u-42", "consent": CONSENT}
        body["events"] = mp_events(events - left, n, commanders)
        meta = {"ip": "203.0.113.9", "user_agent": "Mozilla/5.0 (bench)"}
        record = records.Record(
            records.RAW,
            records.uuid7(),
            "/mp/collect",
            "default",
            records.now_micros(),
            "ga4-mp",
            meta,
            json.dumps(body).encode(),
        )
        if kind == records.DECODED:
            record = as_decoded(record)
        frames.append(log.frame(records.dumps(record)))
        left -= n
    path.write_bytes(b"".join(frames))
    return Position(1, path.stat().st_size)


def decoded(root: Path) -> list[Event]:
    """Every event of the log, as the forwarder reads it."""
    out: list[Event] = []
    for _, payload in log.read(root / SLOT, Position(0, 0), 1 << 30):
        if payload:
            out.extend(pipeline.outcome(records.loads(payload), None).events)
    return out


def receiver() -> contextlib.AbstractContextManager[str]:
    """bench/noop_app.py (answers 204 to anything) under uvicorn in its own process."""
    return noop_server(1)


def http_rate(sender: Sender, base: str, seconds: float) -> float:
    """Requests/s of ``sender`` POSTing a fixed 64-byte JSON body to the receiver."""
    request = Outgoing(
        "POST", f"{base}/baseline", {"content-type": "application/json"}, b"{" + b" " * 62 + b"}", ()
    )
    for _ in range(20):  # connect, warm up
        sender(request)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(50):
            answer = sender(request)
            if answer.status is None or answer.status >= 300:
                raise SystemExit(f"the no-op receiver answered {answer}")
        n += 50
    return n / (time.perf_counter() - start)


def encode_rate(encoder: Encoder, events: list[Event], opts: Mapping[str, Any], seconds: float) -> float:
    """Encode-only events/s: ``encoder`` on ``events`` in the forwarder's batches of 1,000."""
    now = datetime.now(UTC)
    chunks = [events[i : i + 1000] for i in range(0, len(events), 1000)]
    n, start = 0, time.perf_counter()
    while n == 0 or time.perf_counter() - start < seconds:
        for chunk in chunks:
            encoder.encode(chunk, opts, now)
            n += len(chunk)
            if time.perf_counter() - start >= seconds:
                break
    return n / (time.perf_counter() - start)


def read_rate(root: Path, seconds: float) -> float:
    """Events/s of reading the log and turning each record into its events (what every
    type pays before selecting)."""
    n, start = 0, time.perf_counter()
    while n == 0 or time.perf_counter() - start < seconds:
        n += len(decoded(root))
    return n / (time.perf_counter() - start)


class Clock:
    """Seconds spent in each part of delivery (the parts named in the module docstring)."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}

    def timed(self, part: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.spent[part] = self.spent.get(part, 0.0) + time.perf_counter() - start

        return wrapper


class TimedEncoder:
    """An encoder whose ``encode`` (and ``refresh``, where it has one: the webhook signs
    each try) time goes to ``clock``; otherwise the type's own."""

    def __init__(self, encoder: Encoder, clock: Clock) -> None:
        self.type, self.options, self.secrets = encoder.type, encoder.options, encoder.secrets
        self._encode = clock.timed("encode", encoder.encode)
        refresh = getattr(encoder, "refresh", None)
        if refresh is not None:
            self.refresh = clock.timed("refresh", refresh)  # called at each send, outside _read

    def encode(self, events: Any, options: Mapping[str, Any], now: datetime, **kw: Any) -> Encoded:
        result: Encoded = self._encode(events, options, now, **kw)
        return result


def deliver(kind: str, root: Path, end: Position, base: str, sender: Sender, work: Path) -> dict[str, Any]:
    """Run a forwarder of type ``kind`` until its committed position is ``end``."""
    clock = Clock()
    opts = options(kind, base)
    answers: dict[int | None, int] = {}
    timed_send = clock.timed("send", sender)

    def send(request: Outgoing) -> Answer:
        answer: Answer = timed_send(request)
        answers[answer.status] = answers.get(answer.status, 0) + 1
        return answer

    fwd = Forwarder(
        root,
        kind,
        Selection(),
        TimedEncoder(types.encoder(kind), clock),
        opts,
        send,
        PositionStore(default_path(work, kind), kind),
        lambda: None,
        commit_every_s=COMMIT_S,  # as the forwarding process (runner.py) saves its position
    )
    read = clock.timed("read", fwd._read)
    fwd._read = read  # type: ignore[method-assign]
    fwd._commit = clock.timed("commit", fwd._commit)  # type: ignore[method-assign]
    select, strip = consumer.select, consumer.strip_identifiers
    consumer.select = clock.timed("select", select)  # type: ignore[assignment]
    consumer.strip_identifiers = clock.timed("select", strip)  # type: ignore[assignment]
    delivered = refused = dead = requests = 0
    try:
        start = time.perf_counter()
        while fwd.committed().get(SLOT) != end:
            counts = fwd.run_once(datetime.now(UTC))
            if counts.retry_at is not None:
                raise SystemExit(f"{kind}: a request to retry ({counts.last_error}); is the receiver up?")
            delivered += counts.delivered
            refused += counts.refused
            dead += counts.dead_lettered
        clock.timed("commit", fwd.flush)()  # the last position saved, as the courier does once idle
        elapsed = time.perf_counter() - start
    finally:
        consumer.select, consumer.strip_identifiers = select, strip
    requests = sum(answers.values())
    if refused or dead:
        reasons = {d.reason[:200] for d in fwd.dead_letters}
        raise SystemExit(f"{kind}: {refused} refused, {dead} dead-lettered: {sorted(reasons)[:3]}")
    spent = clock.spent
    parts = {
        "read+outcome": spent.get("read", 0.0) - spent.get("select", 0.0) - spent.get("encode", 0.0),
        "select": spent.get("select", 0.0),
        "encode": spent.get("encode", 0.0) + spent.get("refresh", 0.0),
        "send": spent.get("send", 0.0),
        "commit": spent.get("commit", 0.0),
    }
    parts["other"] = elapsed - sum(parts.values())
    return {
        "delivered": delivered,
        "elapsed": elapsed,
        "rate": delivered / elapsed,
        "requests": requests,
        "answers": answers,
        "parts": {k: v / elapsed for k, v in parts.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--events", type=int, default=20_000, help="events in the log (each type)")
    parser.add_argument("--per-record", type=int, default=1, help="events a log record (MP allows 25)")
    parser.add_argument(
        "--records",
        choices=(records.RAW, records.DECODED),
        default=records.RAW,
        help="raw MP records (as /mp/collect writes them) or decoded ones (canonical events)",
    )
    parser.add_argument(
        "--types", default="webhook,segment,commanders-act,ga4,convead", help="comma-separated types"
    )
    parser.add_argument(
        "--default-gc",
        action="store_true",
        help="Python's collector as it is (not tuned as the forwarding process)",
    )
    args = parser.parse_args()
    if not args.default_gc:
        tune_gc()  # as trackway.destinations.runner.forward_main does
    events = 1_000 if args.quick else args.events
    seconds = 0.2 if args.quick else 1.0
    kinds = [k for k in args.types.split(",") if k]
    work = Path(tempfile.mkdtemp(prefix="trackway-forward-"))
    try:
        logs = {}  # False: plain GA4 MP events; True: with Commanders Act's required parameters
        for commanders in (False, True):
            root = work / ("log-ca" if commanders else "log")
            end = write_log(root, events, args.per_record, commanders=commanders, kind=args.records)
            stored = decoded(root)
            if len(stored) != events:
                raise SystemExit(f"the log holds {len(stored)} events, expected {events}")
            logs[commanders] = (root, end, stored)
        read = read_rate(logs[False][0], seconds)
        read_ca = read_rate(logs[True][0], seconds)
        print(
            f"{events:,} MP events a type in {args.records} records of {args.per_record}, "
            f"{os.cpu_count()} cores\nreading the log and turning records into events alone "
            f"(log.read + pipeline.outcome): {read:,.0f} events/s "
            f"({read_ca:,.0f} with Commanders Act's parameters)\n"
        )
        head = (
            f"{'type':15} {'events/s':>9} {'req':>6} {'ev/req':>6} {'http req/s':>10} {'vs http':>7} "
            f"{'encode ev/s':>11} {'vs encode':>9}  time: read+outcome select encode send commit other"
        )
        print(head)
        ok = True
        with receiver() as base:
            for kind in kinds:
                root, end, stored = logs[kind == "commanders-act"]
                sender = Sender()
                try:
                    http = http_rate(sender, base, seconds)
                    encode = encode_rate(types.encoder(kind), stored, options(kind, base), seconds)
                    r = deliver(kind, root, end, base, sender, work / kind)
                finally:
                    sender.close()
                if r["delivered"] != events:
                    raise SystemExit(f"{kind}: {r['delivered']} delivered, expected {events}")
                p = r["parts"]
                per = events / r["requests"]
                share = "   ".join(
                    f"{p[k]:4.0%}" for k in ("read+outcome", "select", "encode", "send", "commit", "other")
                )
                print(
                    f"{kind:15} {r['rate']:>9,.0f} {r['requests']:>6,} {per:>6.1f} {http:>10,.0f} "
                    f"{r['rate'] / (http * per):>7.2f} {encode:>11,.0f} {r['rate'] / encode:>9.2f}  {share}"
                )
                target = TARGETS.get(kind)
                if target is not None:
                    met = r["rate"] >= target
                    ok = ok and met
                    print(f"{'':15} target >= {target:,} events/s: {'met' if met else 'NOT met'}")
        if not args.quick:
            print("\nall targets met" if ok else "\nsome targets NOT met")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
