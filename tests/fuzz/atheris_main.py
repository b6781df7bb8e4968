"""Coverage-guided fuzzing of every endpoint, through the whole path, with atheris.

    python -m tests.fuzz.atheris_main --runs 200000 [--keep-going] [libFuzzer flags]

Each input drives the choices of tests/fuzz/wire.py (which endpoint, which valid
request to start from, what to break in it) through a ``FuzzedDataProvider``; a
quarter of the inputs send the provider's text as the body instead. The request goes
through tests/fuzz/harness.py (app, log, loader, store, reports, export); a broken
invariant is a crash (libFuzzer stops and saves the input) unless ``--keep-going``,
which counts it and goes on. Findings go to /tmp/fuzz-findings.md either way; the
trackway package is instrumented so coverage guides the inputs.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import atheris

with atheris.instrument_imports(include=["trackway"]):
    from tests.fuzz import findings, hostile, wire
    from tests.fuzz.harness import ADMIN_TOKEN, Pipeline

FRESH_EVERY = 2_000  # requests per store: a new one after that (reports stay cheap)
REPORT_EVERY = 1_000


class Provided:
    """hostile.Chooser over a FuzzedDataProvider."""

    def __init__(self, fdp: Any) -> None:
        self.fdp = fdp

    def index(self, n: int) -> int:
        return int(self.fdp.ConsumeIntInRange(0, n - 1)) if n > 1 else 0

    def text(self) -> str:
        return str(self.fdp.ConsumeUnicode(self.index(25)))


class Finding(Exception):
    """An input broke an invariant of the whole path."""


class Fuzz:
    def __init__(self, root: Path, runs: int, keep_going: bool, cleanup: Path | None) -> None:
        self.cleanup = cleanup  # removed after the last run (libFuzzer then exits the process)
        self.pipeline = Pipeline(root, reports="stored")
        self.keys = self.pipeline.keys()
        self.pools = wire.seeds(self.keys)
        self.runs = runs
        self.keep_going = keep_going
        self.done = 0

    def one_input(self, data: bytes) -> None:
        fdp = atheris.FuzzedDataProvider(data)
        c = Provided(fdp)
        endpoint = wire.ENDPOINTS[c.index(len(wire.ENDPOINTS))]
        pool = self.pools[endpoint]
        if c.index(4) == 3:
            pool = [hostile.Raw(fdp.ConsumeUnicode(c.index(4_000)))]
        out = self.pipeline.send(wire.build(c, endpoint, pool, self.keys, ADMIN_TOKEN))
        findings.tally("atheris", endpoint, out)
        findings.note(out, "atheris")
        self.done += 1
        if self.done % FRESH_EVERY == 0:
            self.pipeline.reset()
        if self.done % REPORT_EVERY == 0 or self.done == self.runs:
            print("\n".join(["fuzz: requests tried", *findings.summary()]), flush=True)
        if self.done == self.runs and self.cleanup is not None:
            self.pipeline.shutdown()
            shutil.rmtree(self.cleanup, ignore_errors=True)
        problems = out.problems()
        if problems and not self.keep_going:
            tail = "\n".join(t.strip().splitlines()[-1] for t in out.tracebacks())
            raise Finding(f"{'; '.join(problems)} on {out.req.short(300)}\n{tail}")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10_000, help="inputs to try (libFuzzer -runs)")
    parser.add_argument(
        "--keep-going", action="store_true", help="count broken invariants instead of stopping"
    )
    parser.add_argument(
        "--workdir", type=Path, help="where the stores and logs go (default: a new temporary dir)"
    )
    args, rest = parser.parse_known_args(argv[1:])
    root = args.workdir or Path(tempfile.mkdtemp(prefix="trackway-atheris-"))
    artifacts = root / "artifacts"
    artifacts.mkdir()
    if not any(a.startswith("-artifact_prefix=") for a in rest):
        rest.append(f"-artifact_prefix={artifacts}/")
    fuzz = Fuzz(root / "work", args.runs, args.keep_going, cleanup=None if args.workdir else root)
    print(
        f"fuzzing every endpoint: {args.runs} runs, work in {root}, findings in {findings.path()}", flush=True
    )
    atheris.Setup([argv[0], f"-runs={args.runs}", *rest], fuzz.one_input)
    atheris.Fuzz()  # exits the process when done


if __name__ == "__main__":
    main(sys.argv)
