"""Findings of the fuzzers, appended to a Markdown file to route the fixes.

One entry per distinct problem (endpoint, what broke, the traceback's last line), so a
fuzzer that hits the same bug a thousand times writes it once. The file is
``$TRACKWAY_FUZZ_FINDINGS`` or /tmp/fuzz-findings.md.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from tests.fuzz.harness import Outcome

TAIL = 8  # lines of each traceback kept
_seen: set[tuple[str, ...]] = set()
KINDS = ("requests", "acknowledged", "5xx", "stalls", "loader exceptions", "slow")
TRIED: Counter[tuple[str, str, str]] = Counter()  # (fuzzer, endpoint, kind) -> requests


def tally(fuzzer: str, endpoint: str, out: Outcome) -> None:
    """Count ``out`` in :data:`TRIED`."""
    for kind, hit in zip(
        KINDS,
        (
            True,
            out.acknowledged,
            out.status is not None and out.status >= 500,
            bool(out.lag_bytes),
            out.loader_error is not None,
            out.slow,
        ),
        strict=True,
    ):
        TRIED[fuzzer, endpoint, kind] += hit


def summary() -> list[str]:
    """One line per fuzzer and endpoint: the requests tried and how they went."""
    keys = sorted({(f, e) for f, e, _ in TRIED})
    return [f"{f} {e}: " + ", ".join(f"{k} {TRIED[f, e, k]}" for k in KINDS) for f, e in keys]


def path() -> Path:
    return Path(os.environ.get("TRACKWAY_FUZZ_FINDINGS", "/tmp/fuzz-findings.md"))


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def signature(out: Outcome) -> tuple[str, ...]:
    what = [p.split(" (")[0] for p in out.problems()] + (["slow"] if out.slow else [])
    return (out.req.path, *what, *(_last_line(t) for t in out.tracebacks()))


def note(out: Outcome, source: str) -> bool:
    """Append ``out`` to the findings file if it broke an invariant or was slow and is
    new; returns whether it was written."""
    problems = out.problems()
    if out.slow:
        problems.append(f"slow: {out.cpu_seconds:.1f} s of CPU for one request")
    if not problems:
        return False
    key = signature(out)
    target = path()
    if key in _seen:
        return False
    _seen.add(key)
    marker = f"<!-- {hashlib.sha1(repr(key).encode()).hexdigest()[:10]} -->"
    if target.exists() and marker in target.read_text(errors="replace"):
        return False
    lines = [
        f"## {out.req.path}: {'; '.join(problems)} {marker}",
        "",
        f"- found by: {source}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- status: {out.status}; acknowledged: {out.acknowledged}; stored events {out.events}, "
        f"failed {out.failed}, quarantined {out.quarantined}; CPU {out.cpu_seconds:.2f} s",
        f"- input: `{out.req.short(400)}`",
    ]
    for text in out.tracebacks():
        tail = text.strip().splitlines()[-TAIL:]
        lines += ["", "```", *tail, "```"]
    with target.open("a") as f:
        f.write("\n".join(lines) + "\n\n")
    return True
