"""When the loader waits: acknowledgements first while the CPUs are busy, within a bound.

Acknowledging a request is the part a client waits for; loading it into the store is
not. On a machine whose CPUs the workers (and whatever else runs there) keep busy, a
loader that takes its share slows every acknowledgement, and it cannot keep up anyway:
it decodes more slowly than the workers commit. So the loader defers: before each batch
it looks at how much CPU everything else used since it last looked, and while that left
less than half a CPU free it waits instead of loading, as long as the oldest record it
has not loaded is younger than ``loader_defer_seconds``. Past that age it loads whatever
the CPUs are doing (still at ``loader_nice``), so under sustained load the store stays
about that far behind instead of falling behind without bound. When the load stops, the
loader has the machine and catches up.

This is cooperative on purpose. Linux's ``SCHED_IDLE`` would do the first half in the
kernel, but an unprivileged thread cannot leave it again, and a loader thread starved
while it holds the GIL stalls the store process's admin API (``/health``, queries) with
it. A loader that waits holds nothing.

What "everything else" used is read from ``/proc/stat`` minus this thread's own CPU
time; where there is no ``/proc/stat`` the loader never defers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

FREE_CPU = 0.5  # defer while other work leaves less than this much of one CPU free
WINDOW = 0.2  # seconds: the shortest span a decision is based on


def busy_seconds(path: str = "/proc/stat") -> float | None:
    """CPU seconds all CPUs spent on anything but idling since boot (None: unknown)."""
    try:
        with open(path, "rb") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if len(fields) < 5 or fields[0] != b"cpu":
        return None
    # user nice system idle iowait irq softirq steal ...: idle and iowait are free time
    ticks = [int(x) for x in fields[1:9]]
    busy = sum(ticks) - ticks[3] - (ticks[4] if len(ticks) > 4 else 0)
    return busy / os.sysconf("SC_CLK_TCK")


class Pacer:
    """Decides, before each batch, whether the loader should wait.

    ``defer_seconds`` 0 turns deferring off. The clocks are parameters so that tests
    can drive them: ``now`` (wall seconds), ``busy`` (:func:`busy_seconds`), ``own``
    (the loader thread's CPU seconds), ``monotonic`` (for the sampling window).
    """

    def __init__(
        self,
        defer_seconds: float,
        *,
        cpus: int | None = None,
        now: Callable[[], float] = time.time,
        busy: Callable[[], float | None] = busy_seconds,
        own: Callable[[], float] = time.thread_time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.defer_seconds = defer_seconds
        self.cpus = cpus or os.cpu_count() or 1
        self._now = now
        self._busy = busy
        self._own = own
        self._monotonic = monotonic
        self._last: tuple[float, float, float] | None = None  # (monotonic, busy, own)
        self._crowded = False

    def crowded(self) -> bool:
        """Whether, over the last window, other work left less than ``FREE_CPU`` of a CPU."""
        t, busy, own = self._monotonic(), self._busy(), self._own()
        if busy is None:
            return False
        if self._last is None:
            self._last = (t, busy, own)
            return False
        t0, busy0, own0 = self._last
        span = t - t0
        if span < WINDOW:
            return self._crowded  # too short to tell: keep the last decision
        others = (busy - busy0) - (own - own0)
        self._last = (t, busy, own)
        self._crowded = self.cpus * span - others < FREE_CPU * span
        return self._crowded

    def should_wait(self, loaded_through: float) -> bool:
        """Whether to wait now; ``loaded_through`` is the wall time before which every
        record is loaded (the receipt time of the newest record loaded, or when the
        loader last found nothing to load)."""
        if self.defer_seconds <= 0:
            return False
        if self._now() - loaded_through >= self.defer_seconds:
            return False  # the backlog is as old as it may get: load it
        return self.crowded()
