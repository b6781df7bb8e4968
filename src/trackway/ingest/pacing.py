"""When the loader waits: acknowledgements first while Trackway's workers fill the CPUs,
within a bound of seconds.

Acknowledging a request is the part a client waits for; loading it into the store is
not. While the workers' own CPU time shows that acknowledgements are keeping the
machine's CPUs busy, a loader that takes its share slows every acknowledgement. So
before each batch the loader looks at how much CPU the workers used since it last
looked, and while they used half the machine's CPUs or more it waits instead of
loading, as long as the oldest record it has not loaded is younger than
``loader_defer_seconds`` (5 by default). Past that age it loads whatever the workers
are doing (at ``loader_nice``); when the load drops, the loader catches up.

Only the workers count. Other programs on the machine (a shop's database and web
server) never make the loader wait: waiting would not give their CPU to
acknowledgements, it would only leave the store stale. And a query waiting for the
loader to pass what was acknowledged before it (read-your-writes) makes it load at
once, whatever the workers do (:attr:`Pacer.wanted`).

This is cooperative on purpose. Linux's ``SCHED_IDLE`` would do the first half in the
kernel, but an unprivileged thread cannot leave it again, and a loader thread starved
while it holds the GIL stalls the store process's admin API (``/health``, queries) with
it. A loader that waits holds nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable

BUSY_SHARE = 0.5  # defer while the workers use at least this share of the machine's CPUs
WINDOW = 0.2  # seconds: the shortest span a decision is based on
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu_seconds(pid: int, proc: str = "/proc") -> float | None:
    """CPU seconds (user and system) process ``pid`` has used (None: unknown or gone)."""
    try:
        with open(f"{proc}/{pid}/stat", "rb") as f:
            text = f.read()
    except OSError:
        return None
    # pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ")"
    fields = text[text.rfind(b")") + 2 :].split()
    if len(fields) < 13:
        return None
    try:
        return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime
    except ValueError:
        return None


def cpu_of(pids: Callable[[], Iterable[int]], proc: str = "/proc") -> Callable[[], dict[int, float]]:
    """A usage callable for :class:`Pacer`: the CPU seconds of each process ``pids()`` names."""

    def usage() -> dict[int, float]:
        out = {}
        for pid in pids():
            seconds = process_cpu_seconds(pid, proc)
            if seconds is not None:
                out[pid] = seconds
        return out

    return usage


class Pacer:
    """Decides, before each batch, whether the loader should wait.

    ``defer_seconds`` 0 turns deferring off. ``usage`` gives the CPU seconds each worker
    process has used (pid -> seconds); a worker that restarts under a new pid counts from
    its first look. The clocks are parameters so that tests can drive them: ``now`` (wall
    seconds), ``monotonic`` (for the sampling window).
    """

    def __init__(
        self,
        defer_seconds: float,
        *,
        cpus: int | None = None,
        usage: Callable[[], dict[int, float]] = dict,
        now: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.defer_seconds = defer_seconds
        self.cpus = cpus or os.cpu_count() or 1
        self._usage = usage
        self._now = now
        self._monotonic = monotonic
        self._last: tuple[float, dict[int, float]] | None = None  # (monotonic, usage)
        self._crowded = False
        self.wanted = 0  # readers waiting for the loader (read-your-writes): never defer then

    def crowded(self) -> bool:
        """Whether, over the last window, the workers used at least ``BUSY_SHARE`` of the CPUs."""
        t = self._monotonic()
        if self._last is None:
            self._last = (t, self._usage())
            return False
        t0, before = self._last
        span = t - t0
        if span < WINDOW:
            return self._crowded  # too short to tell: keep the last decision
        now = self._usage()
        used = sum(max(0.0, s - before.get(pid, s)) for pid, s in now.items())
        self._last = (t, now)
        self._crowded = used >= BUSY_SHARE * self.cpus * span
        return self._crowded

    def should_wait(self, loaded_through: float) -> bool:
        """Whether to wait now; ``loaded_through`` is the wall time before which every
        record is loaded (the receipt time of the newest record loaded, or when the
        loader last found nothing to load)."""
        if self.defer_seconds <= 0 or self.wanted:
            return False
        if self._now() - loaded_through >= self.defer_seconds:
            return False  # the backlog is as old as it may get: load it
        return self.crowded()
