"""What the destinations of one forwarding process share: the records they decoded last.

Each destination reads the log on its own (:mod:`trackway.destinations.consumer`), and
turns every record into the events it stores with :func:`trackway.ingest.pipeline.outcome`.
For a raw record (a Measurement Protocol or Commanders Act body, which the workers log
as received) that is the whole decode: 12 us an event, a third to a half of what
delivering it costs. Destinations that keep up read the same records within moments of
each other, so :class:`Outcomes` keeps the outcomes of the records decoded last and
hands them to the next reader instead of decoding again.

It is a cache, not a queue: nobody waits for it. A destination far behind the others (a
stalled one, a replay) misses it and decodes for itself, as without it. It holds at most
``max_events`` events (the oldest records go first), and an outcome only serves readers
with the same property settings object (the configuration, reloaded when its file
changes, makes new ones). Sharing the events is safe because nothing that reads them
changes them: ``select``, ``strip_identifiers`` (which copies what it changes) and every
encoder (tests/destinations/test_types.py holds each type to that on every documented
example). No I/O; safe to call from the couriers' threads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from trackway.ingest import pipeline
from trackway.ingest.records import Outcome, Record
from trackway.privacy.prepare import LastSignals

MAX_EVENTS = 10_000  # about 25 MB of decoded purchases; a batch of every destination is 1,000 records


class Outcomes:
    """The outcomes of the records decoded last, by record (its ``request_id``)."""

    def __init__(self, max_events: int = MAX_EVENTS) -> None:
        self.max_events = max_events
        self.hits = self.misses = 0
        self._lock = threading.Lock()
        self._kept: OrderedDict[str, tuple[Any, Outcome, int]] = OrderedDict()
        self._events = 0

    def outcome(self, record: Record, prop: Any, last: LastSignals | None = None) -> Outcome:
        """:func:`trackway.ingest.pipeline.outcome` of ``record`` under ``prop``, decoded
        once for every reader that asks while it is kept. Raises what the decode raises
        (nothing is kept then)."""
        key = record.request_id
        with self._lock:
            found = self._kept.get(key)
            if found is not None and found[0] is prop:
                self._kept.move_to_end(key)
                self.hits += 1
                return found[1]
            self.misses += 1
        out = pipeline.outcome(record, prop, last)
        size = len(out.events) + len(out.failed)
        with self._lock:
            old = self._kept.pop(key, None)
            if old is not None:
                self._events -= old[2]
            if size <= self.max_events:
                self._kept[key] = (prop, out, size)
                self._events += size
            while self._events > self.max_events:
                _, (_, _, n) = self._kept.popitem(last=False)
                self._events -= n
        return out

    def __len__(self) -> int:
        return len(self._kept)

    @property
    def events(self) -> int:
        """The events (and failed payloads) kept now."""
        return self._events
