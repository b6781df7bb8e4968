"""The cyclic garbage collector paused for one batch: the loader's and the forwarders'.

A batch holds tens of thousands of live containers (events' dicts and lists) while it is
built. Collections triggered meanwhile scan them all again and again, and find nothing:
what a batch makes has no cycles and is freed by reference counting when the batch ends.
Measured: a quarter of the loader's CPU time (119 -> 80-89 us an event, one-event MP
records); 5-10 % of a Segment destination's events/s (bench/forward.py, decoded records
of 25). The collector resumes after the batch, so anything cyclic a batch leaves behind
(an exception's traceback, say) is collected then.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic collector for the ``with`` block (unless it already is)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
