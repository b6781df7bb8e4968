"""The loader: every worker's log into the store, exactly once.

It reads each slot's log from the position the store has committed, turns each
record into its outcome (decoding raw records with the property's settings as they
are now), and hands a batch to :meth:`Store.load` with the positions just past it:
the events and the positions commit together. Log files wholly loaded are deleted
unless ``keep_log`` is set.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from trackway.config import Config, Property
from trackway.ingest import log, records
from trackway.ingest.log import Position
from trackway.ingest.pacing import Pacer
from trackway.store.base import LoadResult, Store

logger = logging.getLogger("trackway.loader")

WAIT = 0.1  # seconds between looks while the pacer defers
CHECK_EVERY = 250  # records between looks while a batch is read


def slots(root: Path) -> list[str]:
    try:
        return sorted(n for n in os.listdir(root) if (root / n).is_dir())
    except FileNotFoundError:
        return []


@dataclass
class LoaderStats:
    records: int = 0
    stored: int = 0
    duplicates: int = 0
    failed: int = 0
    batches: int = 0
    seconds: float = 0.0
    by_key: dict[tuple[str, str, str, str], int] = field(default_factory=dict)
    undecodable: int = 0
    deferred_seconds: float = 0.0  # time the loader waited for busy CPUs (ingest/pacing.py)

    def add(self, result: LoadResult, records: int, seconds: float) -> None:
        self.records += records
        self.stored += result.stored
        self.duplicates += result.duplicates
        self.failed += result.failed
        self.batches += 1
        self.seconds += seconds
        for key, n in result.by_key.items():
            self.by_key[key] = self.by_key.get(key, 0) + n


class Loader:
    def __init__(
        self,
        root: Path,
        store: Store,
        config: Callable[[], Config | None],
        *,
        batch: int = 20_000,
        keep_log: bool = False,
        pacer: Pacer | None = None,
    ) -> None:
        self.root = root
        self.store = store
        self.config = config
        self.batch = batch
        self.keep_log = keep_log
        self.stats = LoaderStats()
        self.pacer = pacer or Pacer(0)
        # Every record received before this wall time is loaded (0: not known yet).
        self.loaded_through = 0.0
        self._lock = threading.Lock()  # one load at a time (the server's thread, a CLI catch-up)

    def _properties(self) -> dict[str, Property]:
        """The properties as configured now (read once a batch: checking the file for
        changes is a stat call, 5% of the loader's time when it was made per record)."""
        cfg = self.config()
        return cfg.properties if cfg is not None else {}

    def run_once(self, yield_: Callable[[], bool] | None = None) -> int:
        """Load up to ``batch`` records; returns how many were read. ``yield_``, asked
        every ``CHECK_EVERY`` records, ends the batch early (what was read is loaded)."""
        with self._lock:
            start = time.perf_counter()
            started_at = time.time()
            positions = self.store.positions()
            batch: list[tuple[records.Record, records.Outcome]] = []
            moved: dict[str, Position] = {}
            properties = self._properties()
            early = False
            for slot in slots(self.root):
                pos = positions.get(slot, Position(0, 0))
                for new_pos, payload in log.read(self.root / slot, pos, self.batch - len(batch)):
                    moved[slot] = new_pos
                    if not payload:
                        continue  # the end of a finished file
                    try:
                        record = records.loads(payload)
                    except Exception:  # a frame with a good CRC but no record: never stop the loader
                        self.stats.undecodable += 1
                        logger.error("skipped an unreadable log record in %s at %s", slot, new_pos)
                        continue
                    batch.append((record, records.outcome(record, properties.get(record.property))))
                    if yield_ is not None and len(batch) % CHECK_EVERY == 0 and yield_():
                        early = True
                        break
                if early or len(batch) >= self.batch:
                    break
            if not moved:
                self.loaded_through = started_at
                return 0
            result = self.store.load(batch, moved)
            if batch:
                self.loaded_through = max(self.loaded_through, max(r.received_at for r, _ in batch) / 1e6)
            self.stats.add(result, len(batch), time.perf_counter() - start)
            if not self.keep_log:
                for slot, pos in moved.items():
                    for path in log.finished_segments(self.root / slot, pos):
                        with contextlib.suppress(FileNotFoundError):
                            path.unlink()
            return len(batch) or 1

    def catch_up(self) -> int:
        """Load until the log is empty; returns the records loaded."""
        total = 0
        while True:
            n = self.run_once()
            if n == 0:
                return total
            total += n

    def lag_bytes(self) -> int:
        """Bytes of log not yet loaded."""
        positions = self.store.positions()
        total = 0
        for slot in slots(self.root):
            pos = positions.get(slot, Position(0, 0))
            for seq in log.segments(self.root / slot):
                if seq < pos.seq:
                    continue
                start = pos.offset if seq == pos.seq else 0
                try:
                    end = log.data_end(self.root / slot / log.segment_name(seq), start)
                except FileNotFoundError:
                    continue
                total += max(0, end - start)
        return total

    def run(self, stop: threading.Event, idle: float = 0.02, nice: int = 0) -> None:
        """Load until ``stop`` is set (the batch under way completes). What is left stays
        in the log, which is durable: the next start, or a CLI command on a stopped
        server, loads it; a stop never waits for a backlog. ``nice`` lowers this thread's
        CPU priority (Linux schedules threads separately); the pacer makes it wait while
        the CPUs are busy with acknowledgements (ingest/pacing.py)."""
        if nice > 0:
            with contextlib.suppress(OSError, AttributeError):
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
        while not stop.is_set():
            if self.pacer.should_wait(self.loaded_through):
                waited = time.perf_counter()
                stop.wait(WAIT)
                self.stats.deferred_seconds += time.perf_counter() - waited
                continue
            try:
                n = self.run_once(lambda: self.pacer.should_wait(self.loaded_through))
            except Exception:
                logger.exception("the loader failed; retrying in 1 s")
                stop.wait(1.0)
                continue
            if n == 0:
                stop.wait(idle)
