"""The loader's pacer: it defers to other work while the CPUs are busy, within a bound."""

from __future__ import annotations

import os

import pytest

from trackway.ingest import pacing
from trackway.ingest.pacing import Pacer


class Clocks:
    """Fake clocks for a Pacer: advance them with :meth:`tick`."""

    def __init__(self) -> None:
        self.wall = 1_000.0
        self.mono = 0.0
        self.busy: float | None = 0.0
        self.own = 0.0

    def tick(self, seconds: float, *, others: float, own: float = 0.0) -> None:
        """``seconds`` pass; other work uses ``others`` CPU seconds, the loader ``own``."""
        self.wall += seconds
        self.mono += seconds
        if self.busy is not None:
            self.busy += others + own
        self.own += own

    def pacer(self, defer_seconds: float, cpus: int = 2) -> Pacer:
        return Pacer(
            defer_seconds,
            cpus=cpus,
            now=lambda: self.wall,
            busy=lambda: self.busy,
            own=lambda: self.own,
            monotonic=lambda: self.mono,
        )


# (case, defer_seconds, cpus, others over 1 s, the loader's own over 1 s, backlog age, waits)
CASES = [
    ("busy CPUs, a young backlog", 60, 2, 1.8, 0.0, 5, True),
    ("busy CPUs counted without the loader's own time", 60, 2, 1.0, 0.9, 5, False),
    ("half a CPU free is enough to load", 60, 2, 1.5, 0.0, 5, False),
    ("idle CPUs", 60, 2, 0.1, 0.0, 5, False),
    ("busy CPUs, a backlog at the bound", 60, 2, 1.9, 0.0, 60, False),
    ("busy CPUs, deferring off", 0, 2, 1.9, 0.0, 5, False),
    ("one CPU, busy", 60, 1, 0.9, 0.0, 5, True),
    ("eight CPUs, seven and a half busy", 60, 8, 7.6, 0.0, 5, True),
    ("eight CPUs, seven busy", 60, 8, 7.0, 0.0, 5, False),
]


@pytest.mark.parametrize(
    ("case", "defer", "cpus", "others", "own", "age", "waits"), CASES, ids=[c[0] for c in CASES]
)
def test_waits_only_while_other_work_fills_the_cpus_and_the_backlog_is_young(
    case, defer, cpus, others, own, age, waits
):
    c = Clocks()
    p = c.pacer(defer, cpus)
    assert p.should_wait(c.wall) is False  # the first look has nothing to compare with
    c.tick(1.0, others=others, own=own)
    assert p.should_wait(c.wall - age) is waits, case


def test_a_span_shorter_than_the_window_keeps_the_last_decision():
    c = Clocks()
    p = c.pacer(60)
    p.should_wait(c.wall)
    c.tick(1.0, others=2.0)
    assert p.should_wait(c.wall) is True
    c.tick(pacing.WINDOW / 4, others=0.0)  # idle, but too short a span to tell
    assert p.should_wait(c.wall) is True
    c.tick(1.0, others=0.0)
    assert p.should_wait(c.wall) is False


def test_without_cpu_figures_the_loader_never_waits():
    c = Clocks()
    c.busy = None
    p = c.pacer(60)
    for _ in range(3):
        c.tick(1.0, others=2.0)
        assert p.should_wait(c.wall) is False


@pytest.mark.parametrize(
    ("text", "expected_ticks"),
    [
        ("cpu  100 20 30 1000 50 5 7 3 0 0\ncpu0 1 2 3 4\n", 100 + 20 + 30 + 5 + 7 + 3),
        ("cpu  100 20 30 1000\n", 150),
    ],
)
def test_busy_seconds_counts_everything_but_idle_and_iowait(tmp_path, text, expected_ticks):
    stat = tmp_path / "stat"
    stat.write_text(text)
    assert pacing.busy_seconds(str(stat)) == pytest.approx(expected_ticks / os.sysconf("SC_CLK_TCK"))


@pytest.mark.parametrize("text", ["", "intr 1 2 3\n", "cpu 1 2\n"])
def test_busy_seconds_of_an_unreadable_file_is_unknown(tmp_path, text):
    stat = tmp_path / "stat"
    stat.write_text(text)
    assert pacing.busy_seconds(str(stat)) is None
    assert pacing.busy_seconds(str(tmp_path / "missing")) is None


def test_busy_seconds_reads_this_machine():
    first = pacing.busy_seconds()
    assert first is not None and first > 0
