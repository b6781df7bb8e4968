"""The loader's pacer: it defers while Trackway's workers fill the CPUs, within a bound,
and never because other programs are busy."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from trackway.ingest import pacing
from trackway.ingest.pacing import Pacer


class Clocks:
    """Fake clocks and worker CPU figures for a Pacer: advance them with :meth:`tick`."""

    def __init__(self) -> None:
        self.wall = 1_000.0
        self.mono = 0.0
        self.workers: dict[int, float] = {101: 0.0, 102: 0.0}

    def tick(self, seconds: float, *, workers: float) -> None:
        """``seconds`` pass; the workers use ``workers`` CPU seconds between them."""
        self.wall += seconds
        self.mono += seconds
        for pid in self.workers:
            self.workers[pid] += workers / len(self.workers)

    def pacer(self, defer_seconds: float, cpus: int = 2) -> Pacer:
        return Pacer(
            defer_seconds,
            cpus=cpus,
            usage=lambda: dict(self.workers),
            now=lambda: self.wall,
            monotonic=lambda: self.mono,
        )


# (case, defer_seconds, cpus, workers' CPU over 1 s, backlog age, waits)
CASES = [
    ("workers fill the CPUs, a young backlog", 1, 2, 1.8, 0.5, True),
    ("workers on half the CPUs", 1, 2, 1.0, 0.5, True),
    ("workers under half the CPUs: load", 1, 2, 0.9, 0.5, False),
    ("idle workers", 1, 2, 0.1, 0.5, False),
    ("workers fill the CPUs, a backlog at the bound", 1, 2, 1.9, 1, False),
    ("deferring off", 0, 2, 1.9, 0.5, False),
    ("one CPU, workers busy", 1, 1, 0.9, 0.5, True),
    ("eight CPUs, four busy with workers", 5, 8, 4.0, 2, True),
    ("eight CPUs, three and a half busy with workers", 5, 8, 3.5, 2, False),
]


@pytest.mark.parametrize(
    ("case", "defer", "cpus", "workers", "age", "waits"), CASES, ids=[c[0] for c in CASES]
)
def test_waits_only_while_the_workers_fill_the_cpus_and_the_backlog_is_young(
    case, defer, cpus, workers, age, waits
):
    c = Clocks()
    p = c.pacer(defer, cpus)
    assert p.should_wait(c.wall) is False  # the first look has nothing to compare with
    c.tick(1.0, workers=workers)
    assert p.should_wait(c.wall - age) is waits, case


def test_a_reader_waiting_for_the_loader_stops_the_deferring():
    c = Clocks()
    p = c.pacer(60)
    p.should_wait(c.wall)
    c.tick(1.0, workers=2.0)
    assert p.should_wait(c.wall) is True
    p.wanted += 1
    assert p.should_wait(c.wall) is False
    p.wanted -= 1
    assert p.should_wait(c.wall) is True


def test_a_span_shorter_than_the_window_keeps_the_last_decision():
    c = Clocks()
    p = c.pacer(60)
    p.should_wait(c.wall)
    c.tick(1.0, workers=2.0)
    assert p.should_wait(c.wall) is True
    c.tick(pacing.WINDOW / 4, workers=0.0)  # idle, but too short a span to tell
    assert p.should_wait(c.wall) is True
    c.tick(1.0, workers=0.0)
    assert p.should_wait(c.wall) is False


def test_a_restarted_worker_counts_from_its_first_look():
    c = Clocks()
    p = c.pacer(60)
    p.should_wait(c.wall)
    del c.workers[101]
    c.workers[201] = 500.0  # a new pid with a large counter: not 500 s used in this window
    c.tick(1.0, workers=0.2)
    assert p.should_wait(c.wall) is False


def test_without_worker_figures_the_loader_never_waits():
    p = Pacer(60, cpus=2, usage=dict)
    for _ in range(3):
        assert p.should_wait(time.time()) is False


@pytest.mark.parametrize(
    ("text", "expected_ticks"),
    [
        ("123 (python) S 1 2 3 4 5 6 7 8 9 10 40 2 0 0 20 0 1 0\n", 42),
        ("123 (a (strange) name) R 1 2 3 4 5 6 7 8 9 10 7 3 0 0 20 0 1 0\n", 10),
    ],
)
def test_process_cpu_seconds_reads_utime_and_stime(tmp_path, text, expected_ticks):
    (tmp_path / "123").mkdir()
    (tmp_path / "123" / "stat").write_text(text)
    assert pacing.process_cpu_seconds(123, str(tmp_path)) == pytest.approx(
        expected_ticks / os.sysconf("SC_CLK_TCK")
    )


@pytest.mark.parametrize("text", ["", "123 (x) S 1 2\n", "123 (x) S 1 2 3 4 5 6 7 8 9 10 a b 0\n"])
def test_process_cpu_seconds_of_an_unreadable_file_is_unknown(tmp_path, text):
    (tmp_path / "123").mkdir()
    (tmp_path / "123" / "stat").write_text(text)
    assert pacing.process_cpu_seconds(123, str(tmp_path)) is None
    assert pacing.process_cpu_seconds(999, str(tmp_path)) is None


def test_cpu_of_counts_a_busy_process_and_not_others():
    """A real process burning CPU shows in its own figure; the pacer reads only the pids given."""
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        usage = pacing.cpu_of(lambda: [burner.pid, 2**22 + 7])  # the second pid does not exist
        first = usage()
        time.sleep(0.5)
        second = usage()
    finally:
        burner.kill()
        burner.wait()
    assert set(first) == {burner.pid}
    assert second[burner.pid] - first[burner.pid] > 0.1
