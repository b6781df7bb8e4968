"""Conditions an operator must hear about: what makes ``/health`` say ``degraded``.

The store process keeps one :class:`Alarms`. The loader, the log reader and the
store's own checks raise an alarm under a stable key (``quarantine``,
``log_damaged:w1/00000003.log``, ``store_missing``, ``disk_full``...) with a message
that says what happened and how to fix it, and clear it when the condition is gone.
``/health`` lists the active alarms; ``/metrics`` counts them.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

logger = logging.getLogger("trackway.alarms")


@dataclass(frozen=True)
class Alarm:
    key: str
    message: str
    since: float  # wall time (seconds since the epoch) it was first raised
    stops_loading: bool = False  # the loader holds back until it clears


class Alarms:
    """A thread-safe set of active alarms. Raising one that is already active keeps
    its first time and logs nothing new, so a condition seen every second is reported
    once, not once a second."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: dict[str, Alarm] = {}

    def raise_(self, key: str, message: str, *, stops_loading: bool = False) -> None:
        with self._lock:
            old = self._active.get(key)
            if old is not None and old.message == message and old.stops_loading == stops_loading:
                return
            self._active[key] = Alarm(key, message, old.since if old else time.time(), stops_loading)
        if old is None:
            logger.error("%s", message)

    def clear(self, key: str) -> None:
        with self._lock:
            gone = self._active.pop(key, None)
        if gone is not None:
            logger.warning("cleared: %s", gone.message)

    def clear_prefix(self, prefix: str) -> None:
        with self._lock:
            keys = [k for k in self._active if k.startswith(prefix)]
        for key in keys:
            self.clear(key)

    def active(self) -> list[Alarm]:
        with self._lock:
            return sorted(self._active.values(), key=lambda a: a.since)

    def stops_loading(self) -> bool:
        with self._lock:
            return any(a.stops_loading for a in self._active.values())

    def __bool__(self) -> bool:
        with self._lock:
            return bool(self._active)
