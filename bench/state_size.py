"""Benchmark: the loader's cost a batch against the size of the stored state (issue 13).

Each batch the loader prefetches the state its events touch (``store/state_tables.py``:
the identities of their ids, the people's carts and procedures, the orders of their
transaction ids). Joined against the batch's keys, DuckDB scans the whole table, so a
batch's fixed cost grew with what the store holds, not with the batch; large tables are
now read through one-column indexes (``store/keyed.py``). The other benches load into new
stores and do not see it.

The same log (bench/loader.py's MP purchases, 25 events a record, each record its own
transaction id) is loaded in batches of ``--batch`` records into a new store whose
``identities``, ``orders`` and ``carts`` tables were first filled with N rows each of
other people (not timed; no stored event refers to them). Reported for each N: the
loader's wall time a batch and its CPU time an event (DuckDB's threads count), and both
as ratios to N = 0, measured in the same run. Every N runs in its own process.

    python bench/state_size.py                 # N = 0, 1,000,000, 4,000,000
    python bench/state_size.py --quick         # smoke (CI): N = 0 and 20,000
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
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from loader import SLOT, write_log  # noqa: E402

PER_RECORD = 25


def fill(store: object, rows: int) -> None:
    """``rows`` identities, orders, carts and client ids of other people in ``store``'s tables
    (their times set, as the loader sets them: a log of more than 25,000 events reaches
    the orders' transaction ids, ``T_1000`` on, and updates those orders), their
    keys in the same ranges as the log's (``T_...`` transaction ids, ``N.N`` client ids,
    ``u-N`` user ids, ``p_`` and hexadecimal digits for person ids as events' ids make
    them): DuckDB skips a row group whose min and max exclude every key sought, which keys
    of another shape would make it do for all of them."""
    cur = store.cursor()  # type: ignore[attr-defined]
    person = "'p_' || md5(i::VARCHAR)"
    cur.execute(
        "INSERT INTO identities (property, kind, id, person_id, first_seen, last_seen) "
        "SELECT 'default', CASE WHEN i % 2 = 0 THEN 'anonymous' ELSE 'user' END, "
        "CASE WHEN i % 2 = 0 THEN (i % 997) || '.' || i ELSE 'u-' || i END, "
        f"{person}, now(), now() FROM range(?) t(i)",
        [rows],
    )
    cur.execute(
        'INSERT INTO orders (property, transaction_id, person_id, currency, "value", lines, created_at, '
        "updated_at, purchased, events) "
        f"SELECT 'default', 'T_' || (i + 1000), {person}, 'EUR', 10, '[]', now(), now(), true, 1 "
        "FROM range(?) t(i)",
        [rows],
    )
    cur.execute(
        "INSERT INTO carts (property, cart_id, person_id, status, opened_at, updated_at, events) "
        f"SELECT 'default', 'c-' || i, {person}, 'open', now(), now(), 1 FROM range(?) t(i)",
        [rows],
    )
    # Events' ids are UUIDs (hexadecimal digits): random ones interleave with them.
    cur.execute("INSERT INTO client_ids SELECT 'default', uuid()::VARCHAR FROM range(?) t(i)", [rows])
    cur.execute("CHECKPOINT")


def client_supplied(logdir: Path) -> None:
    """Rewrite the log's records as decoded ones whose every event id the client supplied:
    the loader then records each in ``client_ids`` (a tracker's call ids, Commanders
    Act's ``context.event_id``), the table that grows with every such event."""
    from common import as_decoded
    from trackway.ingest import log, records
    from trackway.ingest.log import Position

    (segment,) = (logdir / SLOT).iterdir()
    frames = []
    for _, payload in log.read(segment.parent, Position(0, 0), 1 << 40):
        if payload:
            record = as_decoded(records.loads(payload), client_supplied=True)
            frames.append(log.frame(records.dumps(record)))
    segment.write_bytes(b"".join(frames))


def child(logdir: Path, rows: int, batch: int) -> None:
    """In a fresh process: fill a new store with ``rows`` rows a table, then load a copy
    of ``logdir`` in batches of ``batch`` records; print JSON."""
    from trackway.config import ensure
    from trackway.ingest.loader import Loader
    from trackway.store.duck import DuckStore

    work = Path(tempfile.mkdtemp(prefix="trackway-state-size-"))
    try:
        shutil.copytree(logdir, work / "log")
        cfg, _ = ensure(work / "trackway.toml")
        # Filled in one statement a table, whose new rows' index entries DuckDB builds in
        # memory; then loaded with the store's default limit, as a server runs.
        filling = DuckStore(work / "trackway.duckdb", memory_limit="8GB")
        try:
            fill(filling, rows)
        finally:
            filling.close()
        store = DuckStore(work / "trackway.duckdb")
        try:
            loader = Loader(work / "log", store, lambda: cfg, batch=batch)
            cpu, wall = time.process_time(), time.perf_counter()
            loader.catch_up()
            spent = {"cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall}
            stored = store.cursor().execute("SELECT count(*) FROM events").fetchone()[0]
            print(json.dumps({**spent, "stored": stored, "batches": loader.stats.batches}))
        finally:
            store.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(logdir: Path, rows: int, batch: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(logdir), str(rows), str(batch)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--events", type=int, default=20_000, help="events in the log")
    parser.add_argument("--batch", type=int, default=40, help="records a batch (25 events each)")
    parser.add_argument("--rows", default="0,1000000,4000000", help="comma-separated state sizes")
    parser.add_argument(
        "--client-ids",
        action="store_true",
        help="every event's id client-supplied (as a tracker's or Commanders Act's), and "
        "client_ids filled too",
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), int(args.child[1]), int(args.child[2]))
        return
    events = 2_000 if args.quick else args.events
    sizes = [0, 20_000] if args.quick else [int(n) for n in args.rows.split(",")]
    work = Path(tempfile.mkdtemp(prefix="trackway-state-size-log-"))
    try:
        write_log(work / "log", events, PER_RECORD)
        if args.client_ids:
            client_supplied(work / "log")
        print(
            f"{events:,} MP purchases in records of {PER_RECORD}, batches of {args.batch} records, "
            f"{'ids client-supplied, ' if args.client_ids else ''}{os.cpu_count()} cores"
        )
        print(f"{'rows a table':>12} {'batches':>8} {'ms a batch':>11} {'CPU us/event':>13} {'vs none':>8}")
        base: dict[str, float] | None = None
        for rows in sizes:
            r = run(work / "log", rows, args.batch)
            if r["stored"] != events:
                raise SystemExit(f"{rows:,} rows: {r['stored']} events stored of {events}")
            per_batch = r["wall"] / r["batches"] * 1000
            cpu = r["cpu"] / events * 1e6
            if base is None:
                base = {"batch": per_batch, "cpu": cpu}
            print(
                f"{rows:>12,} {r['batches']:>8,.0f} {per_batch:>11.1f} {cpu:>13.1f} "
                f"{per_batch / base['batch']:>7.2f}x"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
