"""What a record stores, worked out once for all of a process's destinations.

Every destination reads the same log and turns each record into the events the loader
stores (:func:`trackway.ingest.pipeline.outcome`: decode, rules, ids, privacy). Before,
each did it again: with three destinations the forwarding process decoded every record
three times. :class:`Outcomes` keeps each outcome until every destination has taken it,
so the first to read a record works it out and the others take it. Destinations that
keep up read the same records within a gathering pause (``runner.GATHER_S``) of each
other; one that lags beyond what is kept (``KEEP_BYTES``: a stalled receiver) works its
records out itself, as before. With one destination nothing is kept.

An outcome is reused only for the same record (its slot, where it ends, its request id)
read under the same property settings (the same object: a changed configuration is a
new one), so it is what the destination would have made itself. Its events are shared:
destinations never change an event (selection and the identifier policy copy what they
change, encoders read), which tests hold every encoder to.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from trackway.ingest.log import Position
from trackway.ingest.records import Outcome, Record

# The payload bytes whose outcomes are kept at most: a decoded record takes 5-8 times its
# bytes (measured on MP records of 1 and 25 events), so 90-120 MB at this bound. An
# outcome every reader of its property has taken is dropped at once, and a courier
# waiting for a retry is no reader meanwhile (runner.Courier), so what is kept is the
# spread between the readers going on; this bounds it when one falls far behind (in a
# catch-up, the slowest; measured in bench/forward_shared.py: at 8 MB the catch-up of
# 20,000 one-event records reused 37-42 % of the reads, at 16 MB 57-67 %).
KEEP_BYTES = 16 << 20

Key = tuple[str, int, int, str]  # slot, the record's end (file, byte), request id


@dataclass(slots=True)
class Kept:
    """An outcome kept for the readers that have not taken it yet."""

    settings: object  # the property settings it was worked out under
    outcome: Outcome
    size: int  # the record's bytes in the log
    prop: str  # the record's property
    taken: int = 1  # readers that took it


class Outcomes:
    """The latest records' outcomes, shared by a process's forwarders (thread-safe).
    Each reader counts itself in (:meth:`join`, with the one property it reads, or None
    for all) before its first read and out (:meth:`leave`) after its last: in the
    forwarding process, each courier thread. A record is wanted by the readers of all
    properties and those of its own."""

    def __init__(self, keep_bytes: int = KEEP_BYTES) -> None:
        self.keep_bytes = keep_bytes
        self._lock = threading.Lock()
        self._kept: OrderedDict[Key, Kept] = OrderedDict()
        self._bytes = 0
        self._readers: dict[str | None, int] = {}  # property (None: all) -> readers
        self.hits = 0
        self.misses = 0

    def join(self, prop: str | None = None) -> None:
        with self._lock:
            self._readers[prop] = self._readers.get(prop, 0) + 1

    def leave(self, prop: str | None = None) -> None:
        """Count a reader out; what every reader left has taken is dropped."""
        with self._lock:
            left = self._readers.get(prop, 0) - 1
            if left > 0:
                self._readers[prop] = left
            else:
                self._readers.pop(prop, None)
            for key, kept in list(self._kept.items()):
                if kept.taken >= self.readers(kept.prop):
                    self._drop(key)

    def readers(self, prop: str | None = None) -> int:
        """How many read records of property ``prop`` (None: how many read every property)."""
        everything = self._readers.get(None, 0)
        return everything if prop is None else everything + self._readers.get(prop, 0)

    @property
    def kept_bytes(self) -> int:
        return self._bytes

    def _drop(self, key: Key) -> None:
        self._bytes -= self._kept.pop(key).size

    def get(
        self,
        slot: str,
        end: Position,
        record: Record,
        size: int,
        prop: object,
        work: Callable[[], Outcome],
    ) -> Outcome:
        """The outcome of ``record`` (``size`` bytes in the log, ending at ``end`` in
        ``slot``) under ``prop``: a kept one, or ``work()``'s, then kept while other
        readers may want it. Worked out under the lock: the work holds the interpreter
        anyway, and a second reader at the same record waits for the first's outcome
        instead of making its own."""
        key = (slot, end.seq, end.offset, record.request_id)
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None and kept.settings is prop:
                self.hits += 1
                kept.taken += 1
                if kept.taken >= self.readers(record.property):  # every reader has it: nobody asks again
                    self._drop(key)
                return kept.outcome
            self.misses += 1
            out = work()
            if kept is not None:  # worked out under other settings (a changed configuration)
                self._drop(key)
            if self.readers(record.property) > 1:
                self._kept[key] = Kept(prop, out, size, record.property)
                self._bytes += size
                while self._bytes > self.keep_bytes and self._kept:
                    self._drop(next(iter(self._kept)))
            return out
