"""When to start a process of the server again after it exited (a worker, the forwarding
process): at once after a long run; after a pause that doubles (1 s, 2 s, ... up to
``MAX_SECONDS``) while it keeps exiting within ``QUICK_SECONDS`` of its start, so that a
process that cannot start is never restarted in a tight loop."""

from __future__ import annotations

import logging
import time
from collections.abc import Hashable

logger = logging.getLogger("trackway.serve")

QUICK_SECONDS = 10.0  # a process that exits sooner than this after its start is restarted later
MAX_SECONDS = 30.0


class Restarts:
    """Start times and quick exits of processes, by key (a worker's slot, a name)."""

    def __init__(self) -> None:
        self._started: dict[Hashable, float] = {}  # key -> when it was started (monotonic)
        self._quick_exits: dict[Hashable, int] = {}  # key -> exits in a row soon after a start
        self._at: dict[Hashable, float] = {}  # key -> when to start it again

    def started(self, key: Hashable) -> None:
        self._started[key] = time.monotonic()

    def due(self, key: Hashable, what: str, exitcode: int | None) -> bool:
        """Whether the exited process ``key`` (``what``, for the log) may be started again
        now; the first call after an exit logs it and sets the pause."""
        now = time.monotonic()
        when = self._at.get(key)
        if when is None:
            quick = now - self._started.get(key, 0.0) < QUICK_SECONDS
            n = self._quick_exits[key] = self._quick_exits.get(key, 0) + 1 if quick else 0
            delay = min(MAX_SECONDS, 0.5 * 2**n) if quick else 0.0
            logger.error("%s exited with %s; starting it again in %.1f s", what, exitcode, delay)
            when = self._at[key] = now + delay
        if now < when:
            return False
        del self._at[key]
        return True
