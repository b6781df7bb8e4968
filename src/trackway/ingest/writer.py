"""The log's writer: the group commit every acknowledgement waits for.

The on-disk format (frames, files, the commit mark) and the reader are in
:mod:`trackway.ingest.log`; this module writes it. :class:`LogWriter` is the group
commit: requests queue payloads from the event loop; one commit at a time writes
everything queued with one ``pwrite`` over the zeros laid ahead of the data and has a
helper process ``fdatasync`` it (ingest/syncer.py), then publishes the commit mark and
wakes every request it covered. The queue is bounded (:class:`Overloaded`).

A failed commit (:class:`CommitFailed`, answered 503) cuts the file back to its
committed data and the writer goes on in the same file; if the cut fails too, the
writer abandons the file, publishing its committed end in the mark for good, and
opens a new one, at most once per step of :data:`OPEN_RETRY_SECONDS`: a failing disk
costs no file per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import mmap
import os
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from trackway.errors import CommitFailed, LogClosed, LogLocked, Overloaded
from trackway.ingest import log
from trackway.ingest.syncer import Syncer

_ZEROS = bytes(log.EXTEND)

OPEN_RETRY_SECONDS = (0.1, 0.5, 1.0, 2.0, 5.0)  # backoff between attempts to open a new file


def _write_all(fd: int, data: bytes, offset: int) -> None:
    """``pwrite`` that treats a short write (a full disk can give one) as the error it is."""
    written = os.pwrite(fd, data, offset)
    if written != len(data):
        raise OSError(errno.ENOSPC, f"wrote {written} of {len(data)} bytes (is the disk full?)")


def fsync_dir(directory: Path) -> None:
    """fsync ``directory``, so that a file created or renamed in it is on disk (a file's
    path works too: its data is then on disk)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class CommitStats:
    """What the writer did, for /metrics."""

    batches: int = 0
    records: int = 0
    bytes: int = 0
    seconds: float = 0.0  # total time from a commit's pwrite to the helper's answer
    last_batch: int = 0
    errors: int = 0  # commits that failed (their requests were answered 503)
    failing: str = ""  # the last commit's error while commits fail, "" once one succeeds


class LogWriter:
    """Group commit into ``directory``. Use :meth:`append` from one asyncio loop.

    Requests queue frames on the event loop. At most one commit is in flight: it takes
    everything queued, writes it with one ``pwrite`` on the loop (into the page cache)
    and asks the sync helper (ingest/syncer.py) for the ``fdatasync``; when the helper
    answers, the loop completes the requests that commit covered and starts the next
    with whatever queued meanwhile.
    """

    def __init__(self, directory: Path, *, segment_bytes: int, max_pending: int) -> None:
        self.directory = directory
        self.segment_bytes = segment_bytes
        self.max_pending = max_pending
        directory.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise LogLocked(f"{directory} is being written by another process") from None
        self._pending: list[tuple[bytes, asyncio.Future[None]]] = []
        self._closed = False
        self._scheduled = False  # a commit is about to start (call_soon)
        self._inflight: tuple[list[tuple[bytes, asyncio.Future[None]]], int, float] | None = None
        self._syncer = Syncer(self._synced)
        self.stats = CommitStats()
        self.on_commit: Callable[[int, float], None] | None = None  # (records, seconds)
        self._fd = -1
        self._file: object = None  # a token per open file (descriptor numbers are reused)
        self._size = 0  # where the data ends (the next record's offset)
        self._allocated = 0  # where the file ends: zeros from _size to here
        self._seq = 0
        self._committed = 0  # where the committed (durable, acknowledged) data ends
        self._abandoned = (0, 0)  # (seq, committed end) of a file left after a failed cut-back
        self._open_failures = 0
        self._retry_open_at = 0.0  # no new file before this (monotonic), after a failed open
        self._roll_asked = False  # start a new segment at the next chance (roll())
        self.opened_at = 0.0  # wall time the current segment was opened
        self._map = self._open_mark()
        self._open_next()

    @property
    def pending(self) -> int:
        return len(self._pending)

    @property
    def helper_pid(self) -> int | None:
        """The sync helper's process id (None before the first commit)."""
        return self._syncer.pid

    def _open_mark(self) -> mmap.mmap:
        """The commit mark, mapped: publishing a commit is a store into the page cache.
        Its bytes are written (and synced) once, so a store into the map never needs a
        block the disk may not have."""
        old = log.read_mark(self.directory)
        if old is not None and old.abandoned_seq:
            self._abandoned = (old.abandoned_seq, old.abandoned_end)
        if old is not None:
            self._seal_left(old)
        size = log.MARK.size + 4
        fd = os.open(self.directory / log.COMMITTED, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < size:
                _write_all(fd, bytes(size), 0)
                os.fsync(fd)
            return mmap.mmap(fd, size)
        finally:
            os.close(fd)

    def _seal_left(self, old: log.Mark) -> None:
        """Seal the file the writer before this one was writing when it stopped, if it
        could not seal it itself (it was killed): the mark it left says where that file's
        committed data ends. Bytes past it were never acknowledged (a torn write is no
        loss), but a file that later loses committed bytes is then reported, as a file
        closed in order is (log.read's check of the seal)."""
        path = self.directory / log.segment_name(old.seq)
        if old.seq <= 0 or log.sealed_end(path) is not None or not path.exists():
            return
        end = old.abandoned_end if old.seq == old.abandoned_seq else old.end
        log.seal(path, end)

    def _publish(self) -> None:
        """Tell readers where the committed data ends (before any request hears of it)."""
        body = log.MARK.pack(self._seq, self._committed, *self._abandoned)
        self._map[: len(body) + 4] = body + zlib.crc32(body).to_bytes(4, "little")

    def _open_next(self) -> None:
        self._leave()
        existing = log.segments(self.directory)
        seq = existing[-1] + 1 if existing else 1
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        path = self.directory / log.segment_name(seq)
        log.unseal(path)  # a seal left by a file of this number deleted before its seal was
        fd = os.open(path, flags, 0o600)
        try:
            fsync_dir(self.directory)  # the new file's name is durable before anything in it is acknowledged
        except OSError:
            os.close(fd)
            with contextlib.suppress(OSError):
                path.unlink()
            raise
        self._fd = fd
        self._file = object()
        self._roll_asked = False
        self.opened_at = time.time()
        self._seq = seq
        self._size = 0
        self._allocated = 0
        self._committed = 0
        self._publish()

    def _reopen(self) -> None:
        """A new file after an abandoned one: at most one attempt per backoff step, so a
        failing disk costs no file per request (the requests in between fail at once)."""
        now = time.monotonic()
        if now < self._retry_open_at:
            raise OSError(errno.EIO, "the log has no file to write to (opening a new one failed); retrying")
        try:
            self._open_next()
        except OSError:
            step = OPEN_RETRY_SECONDS[min(self._open_failures, len(OPEN_RETRY_SECONDS) - 1)]
            self._open_failures += 1
            self._retry_open_at = now + step
            raise
        self._open_failures = 0

    def _cut_back(self, size: int) -> None:
        """After a failed commit of ``size`` bytes: leave no byte of it for a reader to
        find, and go on in the same file. The reader never read it (it stops at the
        commit mark), so the next commit can write where this one did."""
        if self._fd < 0:
            return
        end = self._committed
        try:
            os.ftruncate(self._fd, end)
            self._size = self._allocated = end
            return
        except OSError:
            pass
        try:  # zeros end the data just as well
            _write_all(self._fd, bytes(max(size, self._size - end)), end)
            self._size = end
            return
        except OSError:
            pass
        # Neither: abandon the file. The mark keeps its committed end for good, so no
        # reader ever reads the failed records; the next commit starts a new file.
        self._abandoned = (self._seq, end)
        self._size = end
        self._publish()
        with contextlib.suppress(OSError):
            os.close(self._fd)
        self._fd = -1

    def _leave(self) -> None:
        """Close the current file, cut back to its data (a finished file's size is its
        data's; if the cut is lost in a crash, the reader stops at the zeros all the same),
        and seal it with its committed end (log.seal: a tail it loses later is reported)."""
        if self._fd < 0:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, self._size)
        os.close(self._fd)
        self._fd = -1
        log.seal(self.directory / log.segment_name(self._seq), self._committed)

    def append(self, payload: bytes) -> asyncio.Future[None]:
        """Queue ``payload``; the future completes once it is on disk. Raises Overloaded or LogClosed."""
        if self._closed:
            raise LogClosed
        if len(self._pending) >= self.max_pending:
            raise Overloaded
        if len(payload) > log.MAX_RECORD:
            raise ValueError(f"a log record of {len(payload)} bytes is over the {log.MAX_RECORD} limit")
        if not payload:
            raise ValueError("a log record cannot be empty (a zero length marks the end of the data)")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._pending.append((log.frame(payload), future))
        if self._inflight is None and not self._scheduled:
            self._scheduled = True  # after this loop iteration's other requests have queued too
            loop.call_soon(self._commit)
        return future

    def _commit(self) -> None:
        """Write everything queued and ask for its fdatasync (on the loop)."""
        self._scheduled = False
        if self._inflight is not None or not self._pending or self._closed:
            return
        batch, self._pending = self._pending, []
        data = b"".join(f for f, _ in batch)
        start = time.perf_counter()
        try:
            if self._fd < 0:
                self._reopen()
            self._put(data)
            self._syncer.sync(self._fd, self._file)
        except OSError as exc:
            self._finish(batch, len(data), start, exc)
            return
        self._inflight = (batch, len(data), start)

    def _synced(self, error: OSError | None) -> None:
        """The helper's answer for the commit in flight (on the loop)."""
        if self._inflight is None:
            return  # the helper exited between commits: the next one starts another
        batch, size, start = self._inflight
        self._inflight = None
        self._finish(batch, size, start, error)
        if self._pending and not self._scheduled:
            self._commit()

    def _finish(
        self, batch: list[tuple[bytes, asyncio.Future[None]]], size: int, start: float, error: OSError | None
    ) -> None:
        if error is not None:
            self._cut_back(size)  # its requests get 503: none of its records may ever load
        else:
            self._committed = self._size
            self._publish()
            if self._size >= self.segment_bytes or self._roll_asked:
                with contextlib.suppress(OSError):  # if it fails, the next commit tries again
                    self._reopen()
        self._account(len(batch), size, time.perf_counter() - start, error)
        for _, f in batch:
            if f.done():  # the request went away meanwhile; its record is written all the same
                continue
            if error is None:
                f.set_result(None)
            else:
                f.set_exception(CommitFailed(f"the log write failed: {error}"))

    def roll(self) -> None:
        """Start a new segment before this one is full: a forget asks for it, so that the
        segment holding the person's raw requests is finished and can be scrubbed
        (store/logscrub.py). Between commits it rolls at once; while a commit is under
        way, right after that commit completes. An empty segment is not rolled."""
        if self._closed or self._fd < 0 or self._size == 0:
            return
        if self._inflight is not None or self._scheduled or self._pending:
            self._roll_asked = True
            return
        with contextlib.suppress(OSError):  # if it fails, the next commit opens one
            self._reopen()

    def _put(self, data: bytes) -> None:
        """Write ``data`` after the data, over the zeros laid ahead (more first if needed)."""
        end = self._size + len(data)
        if end > self._allocated:  # grow the file with zeros first, then write over them
            grow = end - self._allocated + log.EXTEND
            _write_all(self._fd, _ZEROS * (grow // log.EXTEND) + _ZEROS[: grow % log.EXTEND], self._allocated)
            self._allocated += grow
        _write_all(self._fd, data, self._size)
        self._size = end

    def _account(self, records: int, size: int, seconds: float, error: OSError | None) -> None:
        self.stats.batches += 1
        self.stats.records += records
        self.stats.bytes += size
        self.stats.seconds += seconds
        self.stats.last_batch = records
        if error is not None:
            self.stats.errors += 1
            self.stats.failing = str(error) or type(error).__name__
        elif self.stats.failing:
            self.stats.failing = ""
        if self.on_commit is not None:
            self.on_commit(records, seconds)

    def close(self) -> None:
        """Stop, making durable what is written or still queued (after a graceful stop
        nothing is: every request waited for its commit), and release the directory."""
        self._closed = True
        self._syncer.close()
        if self._fd >= 0 and (self._pending or self._inflight is not None):
            with contextlib.suppress(OSError):
                if self._pending:
                    self._put(b"".join(f for f, _ in self._pending))
                os.fdatasync(self._fd)
                self._committed = self._size
                self._publish()
        self._pending = []
        self._inflight = None
        self._leave()
        self._map.close()
        os.close(self._lock_fd)
