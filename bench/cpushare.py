"""Where the machine's CPU went during a run, by Trackway's part (bench/sustained.py).

Trackway names its threads (trackway/osname.py): the workers (``tw-worker``), their
fdatasync helpers (``tw-fsync``), the store process's loader thread (``tw-loader``)
and the forwarding process (``tw-forward``); the store process's other threads (its
admin API, DuckDB's) keep the name ``trackway``. Their CPU time is read from
``/proc/PID/task/TID/stat`` before and after the run; the load generator's (wrk, a
child of this process) from ``getrusage(RUSAGE_CHILDREN)``; the machine's busy time
from ``/proc/stat``. What is left is everything else (this process, the kernel's
threads, other programs). A thread that ends during the run takes its CPU time along,
so short-lived ones are counted as the rest.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass, field

from trackway.osname import FORWARD, FSYNC, LOADER, WORKER

PARTS = {  # thread name -> part
    WORKER: "workers",
    FSYNC: "fsync helpers",
    LOADER: "loader",
    FORWARD: "forwarding",
    "trackway": "store, other threads",  # the store process's unnamed threads keep its name
}
_TICK = os.sysconf("SC_CLK_TCK")


def by_part() -> dict[str, float]:
    """CPU seconds used so far by the threads of each part, on the whole machine."""
    out = dict.fromkeys(PARTS.values(), 0.0)
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/stat", "rb") as f:
                    raw = f.read()
            except OSError:
                continue
            part = PARTS.get(raw[raw.find(b"(") + 1 : raw.rfind(b")")].decode(errors="replace"))
            if part is not None:
                fields = raw[raw.rfind(b")") + 2 :].split()
                out[part] += (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime
    return out


def busy() -> float:
    """CPU seconds the machine's CPUs were not idle, since boot (all of them together)."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle, iowait
    return (sum(values[:8]) - idle) / _TICK  # guest time is already in user


def children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Shares:
    """A run's CPU by part: call :meth:`stop` when it ends."""

    parts: dict[str, float] = field(default_factory=by_part)
    machine: float = field(default_factory=busy)
    load: float = field(default_factory=children)
    cores: dict[str, float] = field(default_factory=dict)

    def stop(self, seconds: float) -> dict[str, float]:
        """Cores used on average by each part over the run of ``seconds`` (wrk, and the rest)."""
        now = by_part()
        cores = {part: (now[part] - self.parts[part]) / seconds for part in now}
        cores["wrk"] = (children() - self.load) / seconds
        cores["rest"] = max(0.0, (busy() - self.machine) / seconds - sum(cores.values()))
        self.cores = cores
        return cores


def text(cores: dict[str, float], events_per_second: float) -> str:
    """One line: each part's cores, and its CPU microseconds an event."""
    total = sum(cores.values())
    parts = ", ".join(
        f"{part} {c:.2f} ({c / events_per_second * 1e6:,.0f} us/event)"
        for part, c in cores.items()
        if c >= 0.005
    )
    return f"cpu: {total:.2f} of {os.cpu_count()} cores busy: {parts}"
