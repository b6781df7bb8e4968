"""What a log record stores, decoded once for every destination of a forwarding process.

Each destination is a consumer of the log with its own committed position, and each
turns every raw record into the events the loader stores
(:func:`trackway.ingest.pipeline.outcome`: decode, ids, privacy). That is most of a
forwarder's CPU (bench/forward.py: half to two thirds of a delivery on raw records), so
three destinations decoded every record three times. Destinations that keep up read the
same records within moments of each other; :class:`SharedOutcomes` keeps the last
outcomes made, so the first courier to read a record decodes it and the others take its
result.

- Keyed by the record's place (log folder, worker slot, where it ends), and valid only
  for the same property settings object (a configuration reloaded since is decoded
  anew, as the loader would).
- Bounded by events (:data:`MAX_EVENTS`), oldest out first: a destination far behind the
  others finds nothing and decodes its records itself, as before. Sharing changes what
  is computed, never what is delivered: ``outcome`` is pure.
- The events are shared between destinations, so nothing downstream may change them:
  selection copies what it strips (``strip_identifiers``) and encoders render without
  writing to their input (``tests/destinations/test_shared.py`` holds every type to it).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from trackway.ingest.log import Position
from trackway.ingest.records import Outcome

# Events kept at most (about 2 KB of objects each): six batches of records of 25 events.
MAX_EVENTS = 20_000

Key = tuple[str, str, int, int]  # (log folder, slot, file, byte)


class SharedOutcomes:
    """The last outcomes made by the couriers of one process (thread-safe)."""

    def __init__(self, max_events: int = MAX_EVENTS) -> None:
        self.max_events = max_events
        self._lock = threading.Lock()
        self._kept: OrderedDict[Key, tuple[object, Outcome]] = OrderedDict()
        self._events = 0
        self.hits = 0
        self.misses = 0

    def get(
        self, root: Path, slot: str, end: Position, settings: object, make: Callable[[], Outcome]
    ) -> Outcome:
        """The outcome of the record of ``slot`` under ``root`` ending at ``end``, decoded
        under property ``settings``: kept, or made by ``make`` and kept."""
        key = (str(root), slot, end.seq, end.offset)
        with self._lock:
            found = self._kept.get(key)
            if found is not None and found[0] is settings:
                self.hits += 1
                return found[1]
            self.misses += 1
        made = make()  # outside the lock: couriers decode side by side
        size = max(1, len(made.events) + len(made.failed))
        with self._lock:
            old = self._kept.pop(key, None)
            if old is not None:
                self._events -= max(1, len(old[1].events) + len(old[1].failed))
            self._kept[key] = (settings, made)
            self._events += size
            while self._events > self.max_events and len(self._kept) > 1:
                _, (_, dropped) = self._kept.popitem(last=False)
                self._events -= max(1, len(dropped.events) + len(dropped.failed))
        return made

    def __len__(self) -> int:
        return len(self._kept)
