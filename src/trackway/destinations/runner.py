"""Forwarding as it runs: one thread per destination, in a process of its own.

The server starts :func:`forward_main` in a child process (the workers acknowledge and
the loader stores in others, so no destination, however slow, takes their CPU time or
their GIL). It reads ``trackway.toml`` again when the file changes and keeps one
:class:`Courier` thread per destination that is not paused; a destination whose
declaration changed is stopped and started again with the new one.

A courier owns its destination's :class:`~trackway.destinations.consumer.Forwarder`,
its HTTP client (:class:`~trackway.destinations.http.Sender`: a pool of its own), its
dead letters on disk and its status file, so a destination that stalls or fails stalls
nothing but itself. A destination without a committed position (just added) starts at
the end of the log: it receives what is acknowledged from then on (``trackway
destination replay`` sends older events from the store).

Files, all under ``<data>/run/destinations/`` and named by the destination's id
(``<property>.<name>``): ``.position`` (the committed position), ``.dead.jsonl`` (the dead
letters), ``.status.json`` (totals, lag, last error).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from trackway import config as configuration
from trackway.config import Config
from trackway.destinations import position as position_
from trackway.destinations import status as status_
from trackway.destinations import types
from trackway.destinations.configured import Destination
from trackway.destinations.consumer import Counts, DeadLetter, Forwarder
from trackway.destinations.deadletters import SUFFIX as DEAD_SUFFIX
from trackway.destinations.deadletters import DeadLetters
from trackway.destinations.http import Sender
from trackway.destinations.position import PositionStore
from trackway.destinations.shared import Outcomes
from trackway.errors import ConfigError
from trackway.ingest import backlog, log
from trackway.ingest.log import Position
from trackway.ingest.pacing import Pacer, cpu_of
from trackway.osname import FORWARD, name_thread
from trackway.server import metrics

logger = logging.getLogger("trackway.forwarding")

# A courier with nothing to send looks again this often. Every 0.05 s, an idle forwarding
# process with three destinations used 4.0% of a core; every 0.25 s, 1.6%. An event that
# comes while its courier is idle waits at most this long, as one gathered (GATHER_S).
IDLE_S = 0.25
# After a batch that took everything the logs held, the next is read this long after it
# began. Reading back to back, a courier sent what came during its last request: at 500
# one-event requests a second, three destinations on loopback sent 424-511 requests
# each for 3,002 events (6-7 events a request), and the forwarding process used a third
# of a core. A backlog is read back to back; an event waits at most this much longer.
GATHER_S = 0.25
STATUS_S = 1.0  # status files and metrics are written this often
COMMIT_S = 0.5  # a courier saves its position (two fsyncs) at most this often while busy
LAG_S = 5.0  # a courier measures its lag (a read of the log behind it) this often
LAG_RECORDS = 5_000  # records decoded at most to count the events of the lag
ERROR_PAUSE_S = 5.0  # a courier that failed starts again after this
LAST_ERROR_CHARS = 1000  # of a last error in the status (one listed every issue: 42 kB)
MAX_RETRY_WAIT_S = 3600.0  # the longest wait for a retry a restart keeps (Retry-After's own bound)
DEFER_S = 0.1  # a deferring courier looks again this often
PID_FILE = "forward.pid"
DEFAULT_NICE = 15  # the forward_nice setting's default, while the file cannot be read


@dataclass(frozen=True)
class Files:
    """Where destination ``id`` keeps its files under ``data``."""

    data: Path
    id: str

    @property
    def folder(self) -> Path:
        return self.data / "run" / position_.FOLDER

    @property
    def position(self) -> Path:
        return position_.default_path(self.data, self.id)

    @property
    def dead(self) -> Path:
        return self.folder / f"{self.id}{DEAD_SUFFIX}"

    @property
    def status(self) -> Path:
        return status_.path_of(self.folder, self.id)

    def remove(self) -> None:
        for path in (self.position, self.dead, self.status):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def start_at_end(data: Path, destination_id: str) -> None:
    """Commit the end of the log as the position of a destination that has none."""
    store = PositionStore(Files(data, destination_id).position, destination_id)
    if not store.path.exists():
        store.save(position_.ends(data / "log"))


class _Counting:
    """The dead letters sink, counting the requests dead-lettered with an answer."""

    def __init__(self, sink: DeadLetters) -> None:
        self.sink = sink
        self.requests = 0

    def append(self, letter: DeadLetter) -> None:
        self.sink.append(letter)
        if letter.status is not None or letter.url:
            self.requests += 1


class Courier(threading.Thread):
    """Delivers the log to one destination until ``halt`` is set."""

    def __init__(
        self,
        data: Path,
        destination: Destination,
        config: Callable[[], Config | None],
        send: Callable[..., object] | None = None,
        pacer: Pacer | None = None,
        outcomes: Outcomes | None = None,
    ) -> None:
        super().__init__(name=f"courier-{destination.id}", daemon=True)
        # Whether to wait before a batch while the workers fill the CPUs (None: never), and
        # since when everything acknowledged was delivered (what bounds the wait).
        self.pacer = pacer
        self.caught_up_at = time.time()
        self.data = data
        self.destination = destination
        self.config = config
        self.files = Files(data, destination.id)
        self.halt = threading.Event()
        self.status = status_.load(self.files.status, destination.id)
        self.status.type = destination.type
        self.pending = status_.Status(destination.id)  # counts since the last commit
        self._saved = threading.Event()  # the forwarder saved its position since _settle
        self._send = send
        self._written = 0.0
        self._measured = 0.0
        # When the status period began, and the requests and their seconds then.
        self._period = (time.monotonic(), self.status.requests, self.status.request_seconds)
        self.outcomes = outcomes  # records' outcomes shared with the other couriers
        self._reading = False
        self._count_in(True)  # counted in now, before any courier reads

    def run(self) -> None:
        try:
            self._run()
        finally:
            self._count_in(False)

    def _count_in(self, reading: bool) -> None:
        """Count this courier in or out of the readers the shared outcomes keep records
        for: out while it waits for a retry (a receiver down), so that the others' records
        are not kept for it meanwhile (it decodes its own when it goes on)."""
        if self.outcomes is not None and reading != self._reading:
            if reading:
                self.outcomes.join(self.destination.property)
            else:
                self.outcomes.leave(self.destination.property)
            self._reading = reading

    def _run(self) -> None:
        self._retry_time_kept()
        while not self.halt.is_set():
            try:
                self._deliver()
            except Exception as exc:  # an unreadable position, a bug: say so, try again later
                message = str(exc)
                for secret in self.destination.secrets():
                    message = message.replace(secret, "<secret>")
                logger.error(
                    "destination %s: %s; trying again in %.0f s", self.destination.id, message, ERROR_PAUSE_S
                )
                self.status.state, self.status.last_error = status_.FAILING, message[:500]
                self._write(force=True)
                self.halt.wait(ERROR_PAUSE_S)

    def _retry_time_kept(self) -> None:
        """A courier that was waiting for a retry when it stopped (a restart, a crash) waits
        for the rest of it: a vendor's 429 with ``Retry-After: 3600`` was asked again at once
        after every restart. The batch read again is the one that waited (its position was
        not passed). At most an hour (the longest wait a retry asks), against a clock set back."""
        s = self.status
        if s.state != status_.RETRYING or not s.retry_at:
            return
        try:
            until = datetime.fromisoformat(s.retry_at)
        except ValueError:
            return
        if until.tzinfo is None:
            return
        until = min(until, datetime.now(UTC) + timedelta(seconds=MAX_RETRY_WAIT_S))
        while not self.halt.is_set():
            left = (until - datetime.now(UTC)).total_seconds()
            if left <= 0:
                return
            self.halt.wait(min(left, STATUS_S))

    def _deliver(self) -> None:
        d = self.destination
        start_at_end(self.data, d.id)
        sender = Sender() if self._send is None else None
        send = sender if sender is not None else self._send
        dead = _Counting(DeadLetters(self.files.dead))
        forwarder = Forwarder(
            self.data / "log",
            d.id,
            d.selection,
            types.encoder(d.type),
            d.options,
            send,  # type: ignore[arg-type]
            PositionStore(self.files.position, d.id),
            self.config,
            property=d.property,
            dead_letters=dead,  # type: ignore[arg-type]
            policy=d.policy,
            commit_every_s=COMMIT_S,
            on_commit=self._saved.set,
            in_flight=d.in_flight,
            outcomes=self.outcomes,
        )
        try:
            while not self.halt.is_set():
                if self.pacer is not None and self.pacer.should_wait(self.caught_up_at):
                    self.status.state = status_.DEFERRED
                    self._write(forwarder)  # its lag too: it grows while the courier waits
                    self.halt.wait(DEFER_S)
                    continue
                began = time.monotonic()
                counts = forwarder.run_once(datetime.now(UTC))
                self._account(counts, dead)
                self._settle()
                self._count_in(counts.retry_at is None)
                if counts.retry_at is not None:
                    self._write(forwarder)  # the lag read 0 through an outage, when an alert needs it
                    wait = (counts.retry_at - datetime.now(UTC)).total_seconds()
                    self.halt.wait(min(max(wait, 0.0), STATUS_S))
                elif counts == Counts():
                    self.caught_up_at = time.time()
                    forwarder.flush()  # caught up: what was passed is made durable now
                    self._settle()
                    self._write(forwarder)
                    self.halt.wait(IDLE_S)
                else:
                    self._write(forwarder)
                    if forwarder.drained:
                        self.halt.wait(max(0.0, began + GATHER_S - time.monotonic()))
        finally:
            with contextlib.suppress(Exception):
                forwarder.close()  # the requests in flight are answered first
                forwarder.flush()
                self._settle()
            if sender is not None:
                sender.close()

    def _account(self, counts: Counts, dead: _Counting) -> None:
        """Add a run's counts to those waiting for the next commit (:meth:`_settle`)
        and take its state. Totals saved are those of the committed position: a crash
        forgets the counts of what it will send again, so nothing is counted twice."""
        p, s = self.pending, self.status
        p.add(counts.delivered, 0, counts.dead_lettered + counts.refused, counts.skipped)
        s.retried += counts.retried  # tries, not events: counted as they happen
        s.failed += counts.retried + dead.requests
        s.requests += counts.requests
        s.request_seconds += counts.request_seconds
        dead.requests = 0
        if counts.delivered:
            s.last_delivered_at = datetime.now(UTC).isoformat()
        if counts.retry_at is not None:
            s.state, s.retry_at, s.last_error = (
                status_.RETRYING,
                counts.retry_at.isoformat(),
                _shown(counts.last_error),
            )
        elif counts.delivered or counts.records or s.state in (status_.DEFERRED, status_.RETRYING):
            # no retry waits: a request given up on (dead-lettered past max_age_s) left it
            # "retrying", its next try long past, until something else was delivered
            s.state, s.retry_at = status_.RUNNING, ""
            if counts.last_error:  # what was given up on, and why
                s.last_error = _shown(counts.last_error)

    def _settle(self) -> None:
        """After the forwarder saved its position (``_saved``): the counts of what it
        passed are final, added to the totals and written."""
        if not self._saved.is_set():
            return
        self._saved.clear()
        p, s = self.pending, self.status
        s.add(p.delivered, 0, p.dead_lettered, p.skipped)
        self.pending = status_.Status(self.destination.id)
        self._write(counted=True)

    def _take_period(self, now: float) -> None:
        """The round trips of the period since the last one, into the status."""
        s = self.status
        start, requests_then, seconds_then = self._period
        self._period = (now, s.requests, s.request_seconds)
        requests, seconds = s.requests - requests_then, s.request_seconds - seconds_then
        span = now - start
        if span <= 0:
            return
        s.sending_share = round(min(1.0, seconds / (span * self.destination.in_flight)), 3)
        if requests:
            s.round_trip_ms = round(seconds / requests * 1000, 1)

    def _write(
        self, forwarder: Forwarder | None = None, *, force: bool = False, counted: bool = False
    ) -> None:
        """Save the status: at once after a batch counted (``counted``) or when ``force``d,
        else at most every STATUS_S; the lag (a read of the log) at most every STATUS_S."""
        now = time.monotonic()
        due = now - self._written >= STATUS_S
        if not (force or counted or due):
            return
        if due:
            self._written = now
            self._take_period(now)
        if forwarder is not None and now - self._measured >= LAG_S:
            self._measured = now
            lag = backlog.behind(self.data / "log", forwarder.committed(), LAG_RECORDS)
            self.status.take_lag(lag, time.time())
        self.status.updated_at = datetime.now(UTC).isoformat()
        with contextlib.suppress(OSError):
            status_.save(self.files.status, self.status)


class Forwarding:
    """Keeps one courier per active destination of the configuration, as it changes."""

    def __init__(
        self,
        data: Path,
        config: Callable[[], Config | None],
        workers: Callable[[], list[int]] | None = None,
    ) -> None:
        self.data = data
        self.config = config
        self.workers = workers  # the workers' pids, for each courier's pacer (None: no pacing)
        self.couriers: dict[str, Courier] = {}
        self.outcomes = Outcomes()  # each record decoded once for all the couriers

    def _pacer(self, cfg: Config) -> Pacer | None:
        if self.workers is None:
            return None
        return Pacer(int(cfg.server["forward_defer_seconds"]), usage=cpu_of(self.workers))

    def sync(self) -> None:
        cfg = self.config()
        wanted = cfg.destinations() if cfg is not None else {}
        for did, courier in list(self.couriers.items()):
            if wanted.get(did) != courier.destination or not courier.is_alive():
                courier.halt.set()
                del self.couriers[did]
        added = []
        try:
            for did, d in wanted.items():
                if d.paused:
                    s = status_.load(Files(self.data, did).status, did)
                    if s.state != status_.PAUSED:
                        s.state, s.type = status_.PAUSED, d.type
                        with contextlib.suppress(OSError):
                            status_.save(Files(self.data, did).status, s)
                    continue
                if did not in self.couriers:
                    pacer = self._pacer(cfg) if cfg is not None else None
                    courier = Courier(self.data, d, self.config, pacer=pacer, outcomes=self.outcomes)
                    self.couriers[did] = courier
                    added.append(courier)
        finally:
            # all counted in before the first reads; each made is started (it counts itself
            # out as its thread ends), even when the loop stopped at an error
            for courier in added:
                courier.start()

    def metrics(self) -> metrics.Snapshot:
        cfg = self.config()
        ids = cfg.destinations() if cfg is not None else {}
        statuses = [status_.load(Files(self.data, did).status, did) for did in ids]
        return status_.snapshot(statuses)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.sync()
                metrics.write(self.data / "run" / "metrics", "forwarding", self.metrics())
            except Exception:
                logger.exception("forwarding: could not apply the configuration; trying again")
            stop.wait(STATUS_S)
        for courier in self.couriers.values():
            courier.halt.set()
        for courier in self.couriers.values():
            courier.join(timeout=5)


def retention(data: Path, config: Callable[[], Config | None]) -> Callable[[Path], bool]:
    """For the loader: whether a log file it has passed must be kept for a destination
    (every configured one, paused or not, counts)."""

    def retain(segment: Path) -> bool:
        cfg = config()
        if cfg is None:
            return False
        for did in cfg.destinations():
            store = PositionStore(Files(data, did).position, did)
            try:
                positions = store.load()
            except position_.PositionError:
                return True  # a position that cannot be read: keep everything
            if store.path.exists() and not position_.passed(positions, segment):
                return True
        return False

    return retain


def tune_gc() -> None:
    """The forwarding process's garbage collector: what is loaded at its start is frozen
    (never scanned again), and collections are rarer (a batch makes thousands of
    short-lived objects without cycles). bench/forward.py measured +30-60 % events/s."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def forward_main(config_path: str, data: str, parent: int = 0) -> None:
    """The forwarding process (started by the server)."""
    from trackway.server.supervisor import _die_with, _quiet_signals, live_workers

    name_thread(FORWARD)
    _die_with(parent)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    root = Path(data)
    (root / "run").mkdir(parents=True, exist_ok=True)
    (root / "run" / PID_FILE).write_text(str(os.getpid()))
    holder: dict[str, Config] = {}

    def config() -> Config | None:
        cfg = holder.get("cfg")
        if cfg is None or cfg.changed():
            try:
                holder["cfg"] = configuration.load(Path(config_path))
            except ConfigError as exc:
                if cfg is None:
                    logger.error("forwarding: %s", exc)
                return cfg
        return holder["cfg"]

    tune_gc()
    first = config()
    nice = int(first.server["forward_nice"]) if first is not None else DEFAULT_NICE
    with contextlib.suppress(OSError):  # after the workers and the loader under load
        os.nice(max(0, nice - os.nice(0)))
    stop = threading.Event()
    _quiet_signals()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    Forwarding(root, config, workers=lambda: live_workers(root)).run(stop)


def retained_bytes(root: Path, loaded: Mapping[str, Position], cfg: Config | None) -> int:
    """Bytes of log files the store has passed (``loaded``) that are still on disk while
    destinations are declared: the disk retention for destinations costs."""
    if cfg is None or not cfg.destinations() or cfg.server.get("keep_log"):
        return 0
    total = 0
    for slot, pos in loaded.items():
        for path in log.finished_segments(root / slot, pos):
            with contextlib.suppress(OSError):
                total += path.stat().st_size
    return total


def _shown(error: str) -> str:
    """A last error as the status keeps it: its first LAST_ERROR_CHARS characters and how
    many more there were (a dead letter keeps the whole reason)."""
    if len(error) <= LAST_ERROR_CHARS:
        return error
    rest = len(error) - LAST_ERROR_CHARS
    return f"{error[:LAST_ERROR_CHARS]}... ({rest:,} more characters)"
