"""The loader: every worker's log into the store, exactly once.

It reads each slot's log from the position the store has committed, turns each
record into its outcome (decoding raw records with the property's settings as they
are now), and hands a batch to the store's ``load`` (ingest/sink.py) with the positions just past it:
the events and the positions commit together. Log files wholly loaded are deleted
unless ``keep_log`` is set.

No record can stop it. A record whose outcome raises, or that the store refuses (the
batch's load raises and the record is found by loading the batch in halves, each
half committed with its own positions), goes raw and whole to the ``quarantine``
table, in the transaction that moves the position past it; everything else loads.
What is the store's fault rather than a record's (a full disk, a database that broke)
quarantines nothing: the batch stays in the log, an alarm says why, and the loader
tries again. A store file deleted or replaced while open stops loading and the
deletion of log files (an alarm says so); ``/health`` reports every alarm.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trackway.config import Config, Property
from trackway.gcpause import paused_gc
from trackway.ingest import backlog, log, pipeline, records
from trackway.ingest.alarms import Alarms
from trackway.ingest.log import Position, slots
from trackway.ingest.pacing import Pacer
from trackway.ingest.quarantine import QuarantineRow, new_row, summary
from trackway.ingest.retry import RetryReport, retry_quarantined
from trackway.ingest.sink import LoaderStats, LoadResult, Sink
from trackway.osname import LOADER, name_thread
from trackway.privacy.prepare import LastSignals

logger = logging.getLogger("trackway.loader")

WAIT = 0.1  # seconds between looks while the pacer defers
CHECK_EVERY = 250  # records between looks while a batch is read
# Events in one batch at most, whatever its records hold: 5,000 records of 25 events each
# made batches of 125,000 events and the store process's peak RSS 1.2 GB under bench/http.py.
MAX_BATCH_EVENTS = 20_000
FRAME_HEADER = 8  # bytes before a record's payload in the log: length, crc32 (ingest/log.py)
HELD = 1.0  # seconds between looks while an alarm holds loading back
PRUNE_IDLE_S = 5.0  # while idle, log files passed by every consumer are deleted this often
RECALL_S = 5.0  # the damaged log files' notes are looked for this often (loading or not)
# After a batch that reached the end of the log, the next starts this long after it began.
# Loading back to back, each look found the few records that came during the last batch,
# and paid a whole batch's fixed cost for them (a transaction, the state's flush): at 500
# one-event requests a second the loader used 98% of a core. Gathering, batches of what
# came meanwhile; a reader waiting for the loader (read-your-writes) cuts the pause short.
GATHER_S = 0.25
# While the log holds nothing new, the loader looks again this often: an event that comes
# meanwhile waits at most as long as a gathered one. A look costs about 0.7 ms of CPU:
# every 20 ms it was 3.6-4.1% of a core on an idle server, every 0.25 s 0.8%. A reader
# cuts the wait short.
IDLE_S = 0.25


@dataclass
class _Item:
    """A record read from the log: where, its bytes, and its outcome or why it has none."""

    slot: str
    end: Position  # just past the record
    raw: bytes
    record: records.Record | None = None
    outcome: records.Outcome | None = None
    bad: QuarantineRow | None = None  # reading or decoding it raised

    def quarantine(self, exc: BaseException) -> QuarantineRow:
        r = self.record
        return new_row(
            exc,
            self.raw,
            self.slot,
            self.end.seq,
            self.end.offset - len(self.raw) - FRAME_HEADER,
            prop=r.property if r is not None else "",
            received_at=r.received_at if r is not None else None,
            request_id=r.request_id if r is not None else None,
            endpoint=r.endpoint if r is not None else None,
        )


def _positions(items: Sequence[_Item]) -> dict[str, Position]:
    """Per slot, the position just past the last of ``items`` (they are in log order)."""
    return {i.slot: i.end for i in items}


def loader_options(server: Mapping[str, Any]) -> dict[str, Any]:
    """:class:`Loader`'s options from the server settings ``server`` (its batch and whether it
    keeps the log files it loaded): the server's loader and the catch-up of the commands run
    without it load alike (such a command deleted the files ``keep_log`` keeps)."""
    return {"batch": server["loader_batch"], "keep_log": server["keep_log"]}


class Loader:
    def __init__(
        self,
        root: Path,
        store: Sink,
        config: Callable[[], Config | None],
        *,
        batch: int = 20_000,
        keep_log: bool = False,
        pacer: Pacer | None = None,
        alarms: Alarms | None = None,
        retain: Callable[[Path], bool] | None = None,
    ) -> None:
        self.root = root
        # Whether a log file the store has passed must still be kept for another consumer
        # (a destination that has not passed it: see trackway.destinations.runner).
        self.retain = retain or (lambda _path: False)
        self._pruned = 0.0
        self._recalled = 0.0  # when recall_damage last ran (monotonic)
        self._recall_error = ""  # what it last raised, logged once (see _recall)
        self._wake = threading.Event()  # set by hurry(): a reader waits, pause no more
        self.drained = False  # the last batch reached the end of the log (see GATHER_S)
        self.store = store
        self.config = config
        self.batch = batch
        self.keep_log = keep_log
        self.stats = LoaderStats()
        self.pacer = pacer or Pacer(0)
        self.alarms = alarms if alarms is not None else Alarms()
        self.quarantined = -1  # rows in the quarantine table (-1: not counted yet)
        # Every record received before this wall time is loaded (0: not known yet).
        self.loaded_through = 0.0
        self._lock = threading.Lock()  # one load at a time (the server's thread, a CLI catch-up)
        self._committed: dict[str, Position] | None = None  # the store's positions, as last committed
        self._turn = -1  # the slot (by index) the last batch started at
        self._failure: str | None = None  # what the last failed load raised (see failed())
        # Told of every batch stored, as (record, outcome) pairs: the dashboard's live stream
        # (server/live.py). It must return quickly and never raise.
        self.on_loaded: Callable[[Iterable[tuple[records.Record, records.Outcome]]], None] | None = None

    def _properties(self) -> dict[str, Property]:
        """The properties as configured now (read once a batch: checking the file for
        changes is a stat call, 5% of the loader's time when it was made per record)."""
        cfg = self.config()
        return cfg.properties if cfg is not None else {}

    def run_once(self, yield_: Callable[[], bool] | None = None) -> int:
        """Load up to ``batch`` records; returns how many were read. ``yield_``, asked
        every ``CHECK_EVERY`` records, ends the batch early (what was read is loaded).
        Returns 0 without loading while an alarm holds loading back (the store file
        deleted, ...)."""
        with self._lock, paused_gc():
            # The batch is built and freed inside _batch, so that it is gone when the
            # collector resumes: alive then, the collection that resumption triggers scanned
            # all of it (one gen0 and one gen1 pass a batch, 3.9 us an event).
            return self._batch(yield_)

    def _batch(self, yield_: Callable[[], bool] | None) -> int:
        """One batch, under the lock with the collector paused (see :meth:`run_once`)."""
        if self.quarantined < 0:
            self._count_quarantine()
        if self._held():
            return 0
        start = time.perf_counter()
        started_at = time.time()
        # the store's positions as this loader last committed them (read from the store once:
        # the loader is their one writer while it runs); an idle look was a query, 0.36 of
        # its 0.53 ms
        positions = self.committed()
        items: list[_Item] = []
        moved: dict[str, Position] = {}
        properties = self._properties()
        last = LastSignals()  # consent signals equal to the last ones are read once a batch
        early = False
        events = 0
        order = slots(self.root)
        if order:  # each batch starts at the next slot: a backlog in one never starves the others
            self._turn = (self._turn + 1) % len(order)
            order = order[self._turn :] + order[: self._turn]
        for slot in order:
            pos = positions.get(slot, Position(0, 0))
            for new_pos, payload in log.read(
                self.root / slot, pos, self.batch - len(items), log.alarm(self.alarms, slot)
            ):
                moved[slot] = new_pos
                if not payload:
                    continue  # the end of a finished file
                item = self._item(slot, new_pos, payload, properties, last)
                items.append(item)
                if item.outcome is not None:  # failed payloads count as one each
                    events += len(item.outcome.events) + len(item.outcome.failed)
                if events >= MAX_BATCH_EVENTS or (
                    yield_ is not None and len(items) % CHECK_EVERY == 0 and yield_()
                ):
                    early = True
                    break
            if early or len(items) >= self.batch:
                break
        self.drained = not early and len(items) < self.batch
        if not moved:
            self.loaded_through = started_at
            self._publish(positions)
            return 0
        quarantined = self.stats.quarantined
        try:
            result = self._commit(items, moved)
        except Exception as exc:
            self._committed = None  # halves of the batch may have committed: read them again
            self._write_failed(exc, len(items))
            raise
        self.alarms.clear("store_write_failed")
        if self.stats.quarantined != quarantined:
            self._count_quarantine()
        loaded = [i.record.received_at for i in items if i.record is not None]
        if loaded:
            self.loaded_through = max(self.loaded_through, max(loaded) / 1e6)
        self.stats.add(result, len(items), time.perf_counter() - start)
        if self.on_loaded is not None:
            self.on_loaded(
                (i.record, i.outcome) for i in items if i.record is not None and i.outcome is not None
            )
        self._publish({**positions, **moved})
        self.prune(moved)
        return len(items) or 1

    def prune(self, positions: dict[str, Position] | None = None) -> int:
        """Delete the log files the store has passed (``positions``: these slots'; None:
        every slot's committed) and no other consumer keeps (``retain``). Returns how many."""
        if self.keep_log or self._held():  # a store deleted meanwhile: keep the log
            return 0
        self._pruned = time.monotonic()
        deleted = 0
        for slot, pos in (self.committed() if positions is None else positions).items():
            for path in log.finished_segments(self.root / slot, pos):
                if self.retain(path):
                    break  # later files are not passed either
                with contextlib.suppress(FileNotFoundError):
                    log.delete(path)
                    deleted += 1
        return deleted

    def _item(
        self,
        slot: str,
        end: Position,
        payload: bytes,
        properties: dict[str, Property],
        last: LastSignals | None = None,
    ) -> _Item:
        """A log record with its outcome; a record that cannot be read or decoded gets a
        quarantine row instead (whatever it raised: no record stops the loader)."""
        item = _Item(slot, end, payload)
        try:
            item.record = records.loads(payload)
        except Exception as exc:  # a frame with a good CRC but no record
            self.stats.undecodable += 1
            logger.error("an unreadable log record in %s at %s goes to the quarantine: %s", slot, end, exc)
            item.bad = item.quarantine(exc)
            return item
        try:
            prop = properties.get(item.record.property)
            item.outcome = pipeline.outcome(item.record, prop, last)
            item.record = pipeline.stored_record(item.record, item.outcome, prop)
        except Exception as exc:
            logger.error(
                "a log record of property %r in %s at %s raised %s while decoded; it goes to the quarantine",
                item.record.property,
                slot,
                end,
                type(exc).__name__,
            )
            item.bad = item.quarantine(exc)
        return item

    def _commit(self, items: list[_Item], moved: dict[str, Position]) -> LoadResult:
        """Store ``items`` and move the positions to ``moved``: in one transaction when the
        store takes them all; else in halves, each committed with its own positions,
        down to the records it refuses, which go to the quarantine (in log order, so a
        crash in between neither loses nor repeats a record)."""
        try:
            return self._load(items, moved)
        except Exception as exc:
            if self.store.fault(exc) or not items:
                raise
            logger.warning(
                "a batch of %d records failed to load (%s); loading it in parts to find the records "
                "that fail, which go to the quarantine",
                len(items),
                summary(exc),
            )
            result = LoadResult()
            self._parts(items, exc, result)
        result.merge(self.store.load([], moved))  # past the ends of finished files
        return result

    def _load(self, items: Sequence[_Item], positions: dict[str, Position]) -> LoadResult:
        good = [(i.record, i.outcome) for i in items if i.bad is None]
        bad = [i.bad for i in items if i.bad is not None]
        result = self.store.load(good, positions, bad)  # type: ignore[arg-type]
        self.stats.quarantined += len(bad)
        return result

    def _parts(self, items: list[_Item], exc: Exception, result: LoadResult) -> None:
        """``items`` failed to load with ``exc``: a lone record goes to the quarantine,
        more are loaded in halves (recursively), in log order."""
        if len(items) == 1:
            item = items[0]
            if item.bad is not None:
                raise exc  # the store refuses even the quarantine row: nothing better to do
            item.bad = item.quarantine(exc)
            logger.error(
                "a log record of property %r in %s at %s cannot be stored (%s: %s): to the quarantine",
                item.bad.property,
                item.slot,
                item.end,
                item.bad.error_type,
                item.bad.error_message,
            )
            result.merge(self._load(items, _positions(items)))
            return
        mid = len(items) // 2
        for part in (items[:mid], items[mid:]):
            try:
                loaded = self._load(part, _positions(part))
            except Exception as again:
                if self.store.fault(again):
                    raise
                self._parts(part, again, result)
            else:
                result.merge(loaded)

    def _publish(self, positions: dict[str, Position]) -> None:
        """The store's positions are now ``positions`` (read by waiting queries, without a
        query of their own: server/admin.py)."""
        self._committed = positions

    def committed(self) -> dict[str, Position]:
        """Per slot, the position the store has committed (what the loader has passed)."""
        found = self._committed
        if found is None:
            found = self._committed = self.store.positions()
        return found

    def passed(self, target: dict[str, Position]) -> bool:
        """Whether the store has committed every slot's log up to ``target`` (see
        :func:`trackway.ingest.freshness.acknowledged`)."""
        done = self.committed()
        return all(done.get(slot, Position(0, 0)) >= pos for slot, pos in target.items())

    def unloaded(self) -> backlog.Lag:
        """What the store has not loaded yet, in one walk of the log: its bytes, and when
        the oldest record of it was received (``oldest``; one record read per slot)."""
        return backlog.behind(self.root, self.committed(), cap=0)

    def oldest_unloaded(self) -> float | None:
        """When the oldest acknowledged record not yet loaded was received (wall seconds),
        or None when everything acknowledged is loaded."""
        return self.unloaded().oldest

    def failed(self, exc: BaseException) -> None:
        """A load that raised: an alarm saying so (unless the store's write failure already
        does), and its traceback in the log the first time only: the loader tries again every
        second, and a damaged store file printed the same traceback every second."""
        said = summary(exc)
        if said != self._failure:
            self._failure = said
            logger.error("the loader failed; it tries again every second", exc_info=exc)
        if any(a.key == "store_write_failed" for a in self.alarms.active()):
            return
        self.alarms.raise_(
            "loader_failed",
            f"the loader cannot load the log into the store: {said}. Nothing is lost: the log keeps "
            "every acknowledged record, and the loader tries again every second (the traceback is in "
            "the server's log). If the error names the store file as damaged, stop the server and "
            "restore the file from a backup, or move it aside for an empty store",
        )

    def recall_damage(self) -> None:
        """Raise ``log_damaged`` for every damaged log file still kept (its ``.damaged``
        note), whoever read it and whenever: the alarm stays on ``/health`` across a
        restart until the operator deletes the file; clear those whose note is gone."""
        with contextlib.suppress(OSError):
            found = log.damage_notes(self.root)
            for key, message in found.items():
                self.alarms.raise_(key, message)
            for alarm in self.alarms.active():
                if alarm.key.startswith("log_damaged:") and alarm.key not in found:
                    self.alarms.clear(alarm.key)

    def _recall(self) -> None:
        """:meth:`recall_damage` from the loader's thread (a damage a destination's reader
        met, or a damaged file deleted), which no error of it may end: an error other than
        the disk's is logged once, with its traceback, and the next look comes as usual."""
        self._recalled = time.monotonic()
        try:
            self.recall_damage()
        except Exception as exc:
            said = summary(exc)
            if said != self._recall_error:
                self._recall_error = said
                logger.error("the damaged log files' notes could not be read; loading goes on", exc_info=exc)

    def _held(self) -> bool:
        """Whether loading must wait: the store file is gone, or another alarm stops it."""
        problem = self.store.missing()
        if problem is not None:
            self.alarms.raise_("store_missing", problem, stops_loading=True)
        else:
            self.alarms.clear("store_missing")
        return self.alarms.stops_loading()

    def _write_failed(self, exc: BaseException, n: int) -> None:
        self.alarms.raise_(
            "store_write_failed",
            f"the loader could not write {n} log records to the store: {summary(exc)}. Nothing is "
            "lost: they stay in the log and the loader tries again every second. Fix the cause (free "
            "disk space in the data dir, check its permissions); if the error says the database was "
            "invalidated, restart the server",
        )

    def _count_quarantine(self) -> None:
        n = self.quarantined = self.store.quarantine_count()
        if not n:
            self.alarms.clear("quarantine")
            return
        self.alarms.raise_(
            "quarantine",
            f"{n} log record{'s' if n != 1 else ''} could not be loaded and wait{'s' if n == 1 else ''} in "
            "the quarantine (decoding or storing raised; every other record was loaded). List them with "
            "`trackway quarantine list`; once an upgrade or a configuration change fixes the cause, load "
            "them with `trackway quarantine retry --all`",
        )

    def retry(self, ids: Sequence[int] | None = None, prop: str | None = None) -> RetryReport:
        """``trackway quarantine retry``: see :func:`retry_quarantined`."""
        with self._lock:
            try:
                return retry_quarantined(self.store, self._properties(), ids, prop, self.stats)
            finally:
                self._count_quarantine()

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
        positions = self.committed()
        return sum(
            backlog.unread_bytes(self.root / s, positions.get(s, Position(0, 0))) for s in slots(self.root)
        )

    def run(self, stop: threading.Event, idle: float = IDLE_S, nice: int = 0) -> None:
        """Load until ``stop`` is set (the batch under way completes). What is left stays
        in the log, which is durable: the next start, or a CLI command on a stopped
        server, loads it; a stop never waits for a backlog. ``nice`` lowers this thread's
        CPU priority (Linux schedules threads separately); the pacer makes it wait while
        the CPUs are busy with acknowledgements (ingest/pacing.py)."""
        name_thread(LOADER)
        if nice > 0:
            with contextlib.suppress(OSError, AttributeError):
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
        self._recall()
        while not stop.is_set():
            if time.monotonic() - self._recalled > RECALL_S:  # loading, idle or deferred alike
                self._recall()
            if self.pacer.should_wait(self.loaded_through):
                waited = time.perf_counter()
                stop.wait(WAIT)
                self.stats.deferred_seconds += time.perf_counter() - waited
                continue
            began = time.monotonic()
            try:
                n = self.run_once(lambda: self.pacer.should_wait(self.loaded_through))
            except Exception as exc:
                self.stats.errors += 1
                self.failed(exc)
                stop.wait(1.0)
                continue
            if self._failure is not None:
                self._failure = None
                self.alarms.clear("loader_failed")
            if n == 0:
                if time.monotonic() - self._pruned > PRUNE_IDLE_S:  # a destination may have moved on
                    with contextlib.suppress(Exception):
                        self.prune()
                if self.alarms.stops_loading():
                    stop.wait(HELD)
                else:
                    self._pause(idle)
            elif self.drained:
                self._pause(began + GATHER_S - time.monotonic())

    def hurry(self) -> None:
        """A reader waits for the loader to pass what was acknowledged before it began: end
        the pause between batches now (``pacer.wanted`` keeps it from starting another)."""
        self._wake.set()

    def _pause(self, seconds: float) -> None:
        """Wait ``seconds`` (none while a reader waits, or after :meth:`hurry`)."""
        if seconds > 0 and not self.pacer.wanted:
            self._wake.wait(seconds)
        self._wake.clear()
