"""The names Trackway's processes and threads show the operating system.

``top -H``, ``htop``, ``ps -L -o tid,comm`` and ``/proc/PID/task/TID/comm`` show each
thread's name; without one, the store process's threads all read ``trackway`` and the
workers, the forwarding process and the fsync helpers ``python``. Named, an operator
sees which part uses the CPU (and bench/sustained.py counts each part's share).

Linux keeps at most 15 bytes of a name (``prctl(PR_SET_NAME)``, for the calling thread;
a process's main thread names the process). Elsewhere, or where it fails, nothing
changes: a name is never worth an error.
"""

from __future__ import annotations

import contextlib
import ctypes
import sys

PR_SET_NAME = 15  # linux/prctl.h

LOADER = "tw-loader"  # the loader's thread, in the store process
WORKER = "tw-worker"  # each worker process (its main thread)
FORWARD = "tw-forward"  # the forwarding process
FSYNC = "tw-fsync"  # each worker's fdatasync helper (ingest/syncer.py names it itself)
NAMES = (LOADER, WORKER, FORWARD, FSYNC)


def name_thread(name: str) -> None:
    """Give the calling OS thread ``name`` (cut to 15 bytes), on Linux."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_NAME, name.encode()[:15], 0, 0, 0)
