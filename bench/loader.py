"""Benchmark: the loader alone, log to queryable store, in CPU time an event (issue 13).

A log of GA4 Measurement Protocol purchases with 3 items (bench/common.py's ``mp_body``,
each record its own transaction id, as /mp/collect writes them: raw) is loaded into a new
DuckDB store by :class:`trackway.ingest.loader.Loader` with the derived state on (the
configuration ``trackway property add`` gives), until the log is empty. Each load runs in
a fresh process; its figure is the CPU time of the process (decode, state, Arrow, DuckDB,
whose threads count too) per event. Two logs: one event a record and 25.

The baseline, measured in the same run and the same way: reading the same log and
turning each record back into its msgpack fields (``log.read`` + ``records.loads``),
the floor any loader pays. With ``--against REV`` the loader of another commit (a git
worktree of it) loads the same logs in alternating rounds, so that both are measured on
the machine as it is in that minute.

A third figure, ``floor``, is the least any loader on this stack (Python, msgspec,
pyarrow, DuckDB) pays for the same log, run the same way: each body decoded by msgspec
into typed structs holding only the fields the log has (no validation, no defaults, no
canonical event, no privacy, identity or state), their values put in Arrow columns and
the batches of 20,000 events inserted into the store's ``events`` table (the loader's
INSERT) and committed. What the loader does beyond it is what the issues require
(rules, privacy, identity, orders). Events a second on one core at that cost are the
ceiling of a one-process loader, however it is written.

    python bench/loader.py                        # 40,000 events a log, 3 rounds
    python bench/loader.py --against 5534e51      # this tree against that commit
    python bench/loader.py --quick                # smoke (CI): 2,000 events, 1 round
    python bench/loader.py --threshold 16MB       # also this tree with the store checkpointing at 16MB

With ``--threshold SIZE`` (repeatable) this tree loads the same logs again, in the same
rounds, into a store that checkpoints at SIZE of write-ahead log instead of the
``store_checkpoint_threshold`` default (DuckDB's own is 16MB).

Last, a batch's fixed cost: a log of 2,000 one-event records loaded in batches of 5, 50
and 250 records (what a quiet server gathers in its 0.25 s pause), CPU a batch.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/http.py would shadow the standard library's http package: this folder goes last.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from decimal import Decimal  # noqa: E402
from typing import Any  # noqa: E402

import msgspec  # noqa: E402

ROOT = HERE.parent
SLOT = "w1"
# The fixed cost a batch: a log of this many one-event records, loaded in batches of these sizes.
SMALL_EVENTS = 2_000
SMALL_BATCHES = (5, 50, 250)
THRESHOLD_ENV = "TRACKWAY_BENCH_CHECKPOINT_THRESHOLD"
# A loader measured: the source tree it imports, and the checkpoint threshold its store opens with.
Contender = tuple[Path, str | None]


def write_log(directory: Path, events: int, per_record: int) -> None:
    """``events`` MP purchases in records of ``per_record``, each record's own transaction id."""
    from common import mp_body
    from trackway.ingest import log, records

    path = directory / SLOT / log.segment_name(1)
    path.parent.mkdir(parents=True)
    meta = {"ip": "203.0.113.9", "user_agent": "Mozilla/5.0 (bench)"}
    frames = []
    for k in range(events // per_record):
        body = mp_body(per_record, transaction_id=f"T_{k}").encode()
        record = records.Record(
            records.RAW, records.uuid7(), "/mp/collect", "default", records.now_micros(), "ga4-mp", meta, body
        )
        frames.append(log.frame(records.dumps(record)))
    path.write_bytes(b"".join(frames))


# The floor's types: only the fields the log's bodies have, nothing checked.
class _Item(msgspec.Struct):
    item_id: str | None = None
    item_name: str | None = None
    price: Decimal | None = None
    quantity: int | None = None


class _Params(msgspec.Struct):
    transaction_id: str | None = None
    currency: str | None = None
    value: Decimal | None = None
    tax: Decimal | None = None
    items: list[_Item] = []


class _Ev(msgspec.Struct):
    name: str
    params: _Params = msgspec.field(default_factory=_Params)


class _Body(msgspec.Struct):
    client_id: str | None = None
    user_id: str | None = None
    events: list[_Ev] = []


def least_loader(work: Path, store: Any) -> int:
    """The floor (see the module docstring): events stored."""
    from datetime import UTC, datetime

    import pyarrow as pa

    from trackway.ingest import log, records
    from trackway.ingest.log import Position
    from trackway.store import columns, rows

    decode = msgspec.json.Decoder(_Body).decode
    con = store.cursor()
    seq = 0

    def insert(batch: list[tuple[records.Record, _Body]]) -> int:
        nonlocal seq
        cols: dict[str, list[Any]] = {k: [] for k in ("id", "name", "timestamp", "anonymous_id", "user_id")}
        cols |= {k: [] for k in ("currency", "value", "tax", "transaction_id")}
        offsets, flat = [0], []
        for rec, body in batch:
            when = datetime.fromtimestamp(rec.received_at / 1e6, UTC)
            for n, ev in enumerate(body.events):
                p = ev.params
                cols["id"].append(f"{rec.request_id}-{n}")
                cols["name"].append(ev.name)
                cols["timestamp"].append(when)
                cols["anonymous_id"].append(body.client_id)
                cols["user_id"].append(body.user_id)
                cols["currency"].append(p.currency)
                cols["value"].append(p.value)
                cols["tax"].append(p.tax)
                cols["transaction_id"].append(p.transaction_id)
                flat.extend(p.items)
                offsets.append(len(flat))
        n = len(cols["id"])
        item_cols = {
            "item_id": [i.item_id for i in flat],
            "item_name": [i.item_name for i in flat],
            "price": [i.price for i in flat],
            "quantity": [i.quantity for i in flat],
        }
        children = [
            pa.array(item_cols[f.name], f.type) if f.name in item_cols else pa.nulls(len(flat), f.type)
            for f in rows.ITEM_TYPE
        ]
        items = pa.ListArray.from_arrays(
            pa.array(offsets, pa.int32()), pa.StructArray.from_arrays(children, fields=list(rows.ITEM_TYPE))
        )
        fixed = {"property": "default", "dialect": "ga4-mp", "endpoint": "/mp/collect"}
        arrays = []
        for f in rows.SCHEMA:
            if f.name == "items":
                arrays.append(items)
            elif f.name == "seq":
                arrays.append(pa.array(range(seq + 1, seq + n + 1), f.type))
            elif f.name == "received_at":
                arrays.append(pa.array(cols["timestamp"], f.type))
            elif f.name == "has_commerce":
                arrays.append(pa.array([True] * n, f.type))
            elif f.name in fixed:
                arrays.append(pa.array([fixed[f.name]] * n, f.type))
            elif f.name in cols:
                arrays.append(pa.array(cols[f.name], f.type))
            else:
                arrays.append(pa.nulls(n, f.type))
        built = pa.Table.from_arrays(arrays, schema=rows.SCHEMA)
        built = built.append_column("person_key", pa.nulls(n, pa.int64()))  # read by the SQL
        con.execute("BEGIN")
        con.execute(columns.insert_sql("built"))
        con.execute("COMMIT")
        seq += n
        return n

    stored = 0
    pending: list[tuple[records.Record, _Body]] = []
    count = 0
    for _, payload in log.read(work / "log" / SLOT, Position(0, 0), 1 << 40):
        if payload:
            rec = records.loads(payload)
            body = decode(rec.body)
            pending.append((rec, body))
            count += len(body.events)
            if count >= 20_000:
                stored += insert(pending)
                pending, count = [], 0
    if pending:
        stored += insert(pending)
    return stored


def child(mode: str, logdir: Path) -> None:
    """In a fresh process: load (or only read) a copy of ``logdir``; print JSON."""
    import gc

    from trackway.config import ensure
    from trackway.ingest import log, records
    from trackway.ingest.loader import Loader
    from trackway.ingest.log import Position
    from trackway.store.duck import DuckStore

    work = Path(tempfile.mkdtemp(prefix="trackway-loader-"))
    try:
        shutil.copytree(logdir, work / "log")
        cfg, _ = ensure(work / "trackway.toml")
        chosen = os.environ.get(THRESHOLD_ENV)  # --threshold: this tree's store at another one
        kw = {"checkpoint_threshold": chosen} if chosen else {}
        # the tables are made here, not timed
        store = DuckStore(work / "trackway.duckdb", **kw) if mode != "read" else None
        gc.collect()
        cpu, wall = time.process_time(), time.perf_counter()
        stored = 0
        if store is None:  # read only
            for _, payload in log.read(work / "log" / SLOT, Position(0, 0), 1 << 40):
                if payload:
                    records.loads(payload)
                    stored += 1
        elif mode == "floor":
            try:
                least_loader(work, store)
                stored = store.cursor().execute("SELECT count(*) FROM events").fetchone()[0]
            finally:
                store.close()
        else:
            batch = int(mode.removeprefix("batch=")) if mode.startswith("batch=") else 20_000
            try:
                Loader(work / "log", store, lambda: cfg, batch=batch).catch_up()
                stored = store.cursor().execute("SELECT count(*) FROM events").fetchone()[0]
            finally:
                store.close()
        spent = {"cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall}
        print(json.dumps({**spent, "stored": stored}))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(src: Path, mode: str, logdir: Path, threshold: str | None = None) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    env.pop(THRESHOLD_ENV, None)
    if threshold:
        env[THRESHOLD_ENV] = threshold
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(logdir)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def worktree(rev: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix="trackway-against-")) / "tree"
    subprocess.run(["git", "worktree", "add", "--detach", "-q", str(path), rev], cwd=ROOT, check=True)
    return path


def in_turn(trees: dict[str, Contender], round_: int) -> list[tuple[str, Contender]]:
    """The trees in the order of round ``round_``: each goes first in every other round
    (the first load after another kind ran 2-10% slower on this machine)."""
    items = list(trees.items())
    return items if round_ % 2 == 0 else items[::-1]


def small(work: Path, trees: dict[str, Contender], events: int, rounds: int) -> None:
    """A batch's fixed cost: the one-event log loaded in batches of a few records, as a
    quiet server gathers them (0.25 s of its requests), CPU a batch."""
    logdir = work / "log-small"
    write_log(logdir, events, 1)
    print(f"{events:,} one-event records loaded in batches of N records (a quiet server's), CPU a batch:")
    print(f"{'records/batch':>13} " + " ".join(f"{name:>12}" for name in trees))
    for size in SMALL_BATCHES:
        got: dict[str, list[float]] = {name: [] for name in trees}
        for n in range(rounds):
            for name, (src, threshold) in in_turn(trees, n):
                r = run(src, f"batch={size}", logdir, threshold)
                if r["stored"] != events:
                    raise SystemExit(f"{name}: {r['stored']} events stored of {events}")
                got[name].append(r["cpu"])
        ms = {name: statistics.median(cpus) / -(-events // size) * 1e3 for name, cpus in got.items()}
        line = f"{size:>13} " + " ".join(f"{ms[name]:>9.1f} ms" for name in trees)
        for name in list(trees)[1:]:
            line += f"   this tree / {name}: {ms['this tree'] / ms[name]:.2f}x"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--events", type=int, default=40_000, help="events in each log")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--against", metavar="REV", help="also load with the loader of this commit")
    parser.add_argument(
        "--threshold",
        action="append",
        default=[],
        metavar="SIZE",
        help="also this tree with the store checkpointing at SIZE of log (e.g. 16MB)",
    )
    parser.add_argument("--child", nargs=2, metavar=("MODE", "LOG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    events, rounds = (2_000, 1) if args.quick else (args.events, args.rounds)
    trees: dict[str, Contender] = {"this tree": (ROOT / "src", None)}
    other = worktree(args.against) if args.against else None
    if other is not None:
        trees[args.against] = (other / "src", None)
    for size in args.threshold:
        trees[f"at {size}"] = (ROOT / "src", size)
    work = Path(tempfile.mkdtemp(prefix="trackway-loader-logs-"))
    try:
        print(f"{events:,} MP purchases (3 items) a log, {rounds} round(s), {os.cpu_count()} cores")
        head = f"{'events/record':>13} {'loader':>10} {'us/event':>9} {'read only':>10} {'ratio':>6}"
        print(f"{head} {'wall ev/s':>10}")
        for per in (1, 25):
            logdir = work / f"log-{per}"
            write_log(logdir, events, per)
            got: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
            reads: list[float] = []
            least: list[dict[str, float]] = []
            for n in range(rounds):
                reads.append(run(ROOT / "src", "read", logdir)["cpu"])
                least.append(run(ROOT / "src", "floor", logdir))
                if least[-1]["stored"] != events:
                    raise SystemExit(f"floor: {least[-1]['stored']} events stored of {events}")
                for name, (src, threshold) in in_turn(trees, n):
                    r = run(src, "load", logdir, threshold)
                    if r["stored"] != events:
                        raise SystemExit(f"{name}: {r['stored']} events stored of {events}")
                    got[name].append(r)
            base = statistics.median(reads) / events * 1e6
            cpus = {}
            for name, runs in {**got, "floor": least}.items():
                cpu = cpus[name] = statistics.median(r["cpu"] for r in runs) / events * 1e6
                wall = statistics.median(events / r["wall"] for r in runs)
                print(f"{per:>13} {name:>10} {cpu:>9.1f} {base:>10.1f} {cpu / base:>6.1f} {wall:>10,.0f}")
            print(
                f"{'':>13} this tree / floor: {cpus['this tree'] / cpus['floor']:.2f}x; one core loads "
                f"{1e6 / cpus['floor']:,.0f} events/s at the floor's cost, "
                f"{1e6 / cpus['this tree']:,.0f} at the loader's"
            )
            for name in list(trees)[1:]:
                print(f"{'':>13} this tree / {name}: {cpus['this tree'] / cpus[name]:.2f}x the CPU")
        small(work, trees, 500 if args.quick else SMALL_EVENTS, rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if other is not None:
            subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=ROOT, check=False)


if __name__ == "__main__":
    main()
