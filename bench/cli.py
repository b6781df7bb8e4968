"""Benchmark: how long the command line takes to check or convert one payload.

Wall time of a whole process, start to exit, as a shell runs it: ``trackway validate``
and ``trackway convert --to gtm-ua`` of the bundled GTM GA4 purchase (one payload,
auto-detected), against ``python -c pass`` of the same interpreter. The three run in
alternating rounds so they see the same noise; each figure is the median of the
rounds, in milliseconds and as a ratio to ``python -c pass``.

Two conditions, as Python may run the code:

- ``cached``: bytecode cached, as after ``pip install`` (which compiles it) or any
  earlier run; a private ``PYTHONPYCACHEPREFIX``, warmed once.
- ``source``: no bytecode cache, every module compiled from source at each start, as
  with ``PYTHONDONTWRITEBYTECODE=1`` on a checkout (the project's machine sets it).

Targets (issue 13): validate and convert <= 150 ms and <= 3x ``python -c pass``.

Three floor rows show what the ratio target leaves once the libraries every command
needs are imported, before any of Trackway's own code: ``import click`` (the command
line; typer imports it too), ``import msgspec`` (every payload's JSON) and both.

    python bench/cli.py                  # full run: 40 rounds in each condition
    python bench/cli.py --quick          # smoke run (CI): 3 rounds, cached only
    python bench/cli.py --src /tmp/old   # another tree's src/ (PYTHONPATH), to compare
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAYLOAD = ROOT / "src" / "trackway" / "examples" / "gtm-ga4-purchase.json"
TARGET_MS = 150.0
TARGET_RATIO = 3.0


def commands(payload: Path) -> dict[str, list[str]]:
    python = sys.executable
    trackway = str(Path(python).with_name("trackway"))
    return {
        "python -c pass": [python, "-c", "pass"],
        "import click": [python, "-c", "import click"],
        "import msgspec": [python, "-c", "import msgspec"],
        "import click, msgspec": [python, "-c", "import click, msgspec"],
        "trackway validate": [trackway, "validate", str(payload)],
        "trackway convert": [trackway, "convert", "--to", "gtm-ua", str(payload)],
        "trackway --help": [trackway, "--help"],
    }


def environment(condition: str, cache: Path, src: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("PYTHONPYCACHEPREFIX", None)
    if condition == "cached":
        env["PYTHONPYCACHEPREFIX"] = str(cache)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    if src is not None:
        env["PYTHONPATH"] = str(src)
    return env


def run(argv: list[str], env: dict[str, str]) -> float:
    """Seconds from start to exit; the command must succeed."""
    started = time.perf_counter()
    proc = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.decode()[-2000:]}")
    return seconds


def measure(cmds: dict[str, list[str]], env: dict[str, str], rounds: int) -> dict[str, list[float]]:
    """Every command once per round, in turn (a warm-up round first, not counted)."""
    for argv in cmds.values():
        run(argv, env)
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(rounds):
        for name, argv in cmds.items():
            times[name].append(run(argv, env) * 1000)
    return times


def report(condition: str, times: dict[str, list[float]]) -> bool:
    base = statistics.median(times["python -c pass"])
    print(f"\n{condition}: median of {len(times['python -c pass'])} rounds")
    print(f"  {'command':24} {'median ms':>10} {'min ms':>8} {'x pass':>7}")
    met = True
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:24} {median:10.1f} {min(values):8.1f} {median / base:7.2f}")
        if name in ("trackway validate", "trackway convert"):
            met &= median <= TARGET_MS and median / base <= TARGET_RATIO
    for name in ("trackway validate", "trackway convert"):
        median = statistics.median(times[name])
        ms, ratio = median <= TARGET_MS, median / base <= TARGET_RATIO
        print(
            f"  {name}: <= {TARGET_MS:.0f} ms {'met' if ms else 'NOT met'}, "
            f"<= {TARGET_RATIO:.0f}x python -c pass {'met' if ratio else 'NOT met'}"
        )
    return met


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="3 rounds, cached bytecode only (CI smoke)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per condition (default 40)")
    parser.add_argument(
        "--condition",
        choices=("cached", "source", "both"),
        default=None,
        help="default: both (quick: cached)",
    )
    parser.add_argument("--src", type=Path, default=None, help="run the trackway package of this src/")
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.quick else 40)
    condition = args.condition or ("cached" if args.quick else "both")
    conditions = ("cached", "source") if condition == "both" else (condition,)
    cmds = commands(PAYLOAD)
    load = os.getloadavg()[0]
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {load:.2f}; payload {PAYLOAD.name}")
    if args.src is not None:
        print(f"trackway from {args.src}")
    met = True
    with tempfile.TemporaryDirectory(prefix="trackway-bench-pyc-") as cache:
        for c in conditions:
            met &= report(c, measure(cmds, environment(c, Path(cache), args.src), rounds))
    if args.quick:
        print("\n(a smoke run proves nothing about the targets: too few rounds)")
    else:
        print(f"\ntargets in every condition: {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
