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

    python bench/loader.py                        # 40,000 events a log, 3 rounds
    python bench/loader.py --against 5534e51      # this tree against that commit
    python bench/loader.py --quick                # smoke (CI): 2,000 events, 1 round
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

ROOT = HERE.parent
SLOT = "w1"


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
        store = DuckStore(work / "trackway.duckdb") if mode == "load" else None  # tables made: not timed
        gc.collect()
        cpu, wall = time.process_time(), time.perf_counter()
        stored = 0
        if store is None:  # read only
            for _, payload in log.read(work / "log" / SLOT, Position(0, 0), 1 << 40):
                if payload:
                    records.loads(payload)
                    stored += 1
        else:
            try:
                Loader(work / "log", store, lambda: cfg).catch_up()
                stored = store.cursor().execute("SELECT count(*) FROM events").fetchone()[0]
            finally:
                store.close()
        spent = {"cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall}
        print(json.dumps({**spent, "stored": stored}))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(src: Path, mode: str, logdir: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(src)}
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--events", type=int, default=40_000, help="events in each log")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--against", metavar="REV", help="also load with the loader of this commit")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "LOG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    events, rounds = (2_000, 1) if args.quick else (args.events, args.rounds)
    trees = {"this tree": ROOT / "src"}
    other = worktree(args.against) if args.against else None
    if other is not None:
        trees[args.against] = other / "src"
    work = Path(tempfile.mkdtemp(prefix="trackway-loader-logs-"))
    try:
        print(f"{events:,} MP purchases (3 items) a log, {rounds} round(s), {os.cpu_count()} cores")
        head = f"{'events/record':>13} {'loader':>10} {'us/event':>9} {'read only':>10} {'ratio':>6}"
        print(f"{head} {'wall ev/s':>10}")
        for per in (1, 25):
            logdir = work / f"log-{per}"
            write_log(logdir, events, per)
            got: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
            floor: list[float] = []
            for _ in range(rounds):
                floor.append(run(ROOT / "src", "read", logdir)["cpu"])
                for name, src in trees.items():
                    r = run(src, "load", logdir)
                    if r["stored"] != events:
                        raise SystemExit(f"{name}: {r['stored']} events stored of {events}")
                    got[name].append(r)
            base = statistics.median(floor) / events * 1e6
            cpus = {}
            for name, runs in got.items():
                cpu = cpus[name] = statistics.median(r["cpu"] for r in runs) / events * 1e6
                wall = statistics.median(events / r["wall"] for r in runs)
                print(f"{per:>13} {name:>10} {cpu:>9.1f} {base:>10.1f} {cpu / base:>6.1f} {wall:>10,.0f}")
            if args.against:
                ratio = cpus["this tree"] / cpus[args.against]
                print(f"{'':>13} this tree / {args.against}: {ratio:.2f}x the CPU")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if other is not None:
            subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=ROOT, check=False)


if __name__ == "__main__":
    main()
