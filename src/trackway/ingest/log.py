"""The append-only log: the collector's commit point.

Each worker slot writes its own directory ``log/w<slot>/`` of numbered files. A
record is framed as ``length (u32 LE) | crc32 (u32 LE) | payload``, the payload never
empty. A writer holds an exclusive lock on its directory and always starts a new
file, so a record torn by a crash is at the end of a file nobody appends to again:
the reader stops at the first bad frame of a finished file and moves on, and waits
at a bad frame of the file still being written.

Files are extended ahead of the data with written zeros, ``EXTEND`` bytes at a time,
and the records overwrite them. An ``fdatasync`` that must also make a new file size
durable costs ext4 a journal commit; one that only flushes data into blocks that
already exist does not. Measured on this machine (ext4 on a virtio disk, idle, 10 kB
writes): 0.20-0.21 ms median and 90-101 us of CPU a write and fdatasync into zeros,
against 0.30-0.36 ms and 131-159 us appending. A zero length is where the data ends
(the zeros not yet written over); a finished file is cut back to its data when the
writer leaves it.

:class:`LogWriter` is the group commit: requests queue payloads from the event
loop; one commit at a time writes everything queued with one ``pwrite`` and has a
helper process ``fdatasync`` it (ingest/syncer.py), then wakes every request it
covered. The queue is bounded.

What was committed is published in ``.committed`` (the file being written and where
its committed data ends, shared through the page cache, never fsync'd): the reader
never reads the file being written past that point, so a record whose commit fails
(answered 503) is never loaded, even if the loader looked while it was in flight. A
failed commit cuts the file back to its committed data and the writer goes on in the
same file; if the cut fails too, the writer abandons the file, publishing its
committed end in ``.committed`` for good, and starts a new one.

A bad frame (a CRC that does not match, an impossible length) followed by an intact
frame is damage, not a torn tail: the reader scans forward for the next intact frame
(a length that fits and a CRC that matches), goes on from there, reports the bytes it
skipped through ``damaged`` and leaves a ``<seq>.damaged`` note beside the file, which
keeps it from ever being deleted. A bad frame with no intact frame after it is the torn
tail of a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import logging
import mmap
import os
import struct
import time
import zlib
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from trackway.ingest.syncer import Syncer

logger = logging.getLogger("trackway.log")

_FRAME = struct.Struct("<II")
MAX_RECORD = 64 * 1024 * 1024
SUFFIX = ".log"
EXTEND = 1024 * 1024  # bytes of zeros written ahead of the data at a time
_ZEROS = bytes(EXTEND)
COMMITTED = ".committed"  # the commit mark of a slot directory (see Mark)
DAMAGED = ".damaged"  # <seq>.damaged: the damage found in that file; such a file is never deleted
_MARK = struct.Struct("<QQQQ")  # seq, end, abandoned seq, abandoned end
OPEN_RETRY_SECONDS = (0.1, 0.5, 1.0, 2.0, 5.0)  # backoff between attempts to open a new file
Damaged = Callable[[Path, int, int], None]  # (file, offset of the bad frame, bytes skipped)


class Overloaded(Exception):
    """More records are waiting for the disk than the writer may hold."""


class LogClosed(Exception):
    """The writer is shut down."""


class CommitFailed(OSError):
    """The write or the ``fdatasync`` of a commit failed: its records are not durable."""


ROTATE = "log-rotate"  # run/log-rotate: touched when a forget wants every worker on a new segment


def rotation_requested(run_dir: Path, since: float) -> bool:
    """Whether a new segment was asked for (``run/log-rotate`` touched) after ``since``,
    the wall time the current segment was opened. One stat: for a worker's once-a-second
    housekeeping, never per request."""
    try:
        return (run_dir / ROTATE).stat().st_mtime > since
    except OSError:
        return False


def frame(payload: bytes) -> bytes:
    return _FRAME.pack(len(payload), zlib.crc32(payload)) + payload


def segment_name(seq: int) -> str:
    return f"{seq:012d}{SUFFIX}"


def segments(directory: Path) -> list[int]:
    """Sequence numbers of the files in a slot directory, in order."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    return sorted(int(n[: -len(SUFFIX)]) for n in names if n.endswith(SUFFIX) and n[: -len(SUFFIX)].isdigit())


def _write_all(fd: int, data: bytes, offset: int) -> None:
    """``pwrite`` that treats a short write (a full disk can give one) as the error it is."""
    written = os.pwrite(fd, data, offset)
    if written != len(data):
        raise OSError(errno.ENOSPC, f"wrote {written} of {len(data)} bytes (is the disk full?)")


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Mark:
    """What a slot's writer has committed: the file it writes (``seq``) holds committed
    data up to ``end``; file ``abandoned_seq`` (0: none), left after a failed commit the
    writer could not cut back, holds committed data up to ``abandoned_end`` only."""

    seq: int
    end: int
    abandoned_seq: int = 0
    abandoned_end: int = 0

    def limit(self, seq: int, newest: bool) -> int | None:
        """Where the reader must stop in file ``seq`` (None: at its data's end)."""
        if seq == self.abandoned_seq:
            return self.abandoned_end
        if newest and seq == self.seq:
            return self.end
        return None


def read_mark(directory: Path) -> Mark | None:
    """The slot's commit mark (None: no writer ever marked this directory)."""
    size = _MARK.size + 4
    try:
        with open(directory / COMMITTED, "rb") as f:
            for _ in range(1000):  # a read racing the writer's update fails the CRC: read again
                raw = os.pread(f.fileno(), size, 0)
                if len(raw) < size:
                    return None
                if zlib.crc32(raw[: _MARK.size]) == int.from_bytes(raw[_MARK.size :], "little"):
                    return Mark(*_MARK.unpack_from(raw))
    except FileNotFoundError:
        return None
    return None


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
            raise RuntimeError(f"{directory} is being written by another process") from None
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
        old = read_mark(self.directory)
        if old is not None and old.abandoned_seq:
            self._abandoned = (old.abandoned_seq, old.abandoned_end)
        size = _MARK.size + 4
        fd = os.open(self.directory / COMMITTED, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < size:
                _write_all(fd, bytes(size), 0)
                os.fsync(fd)
            return mmap.mmap(fd, size)
        finally:
            os.close(fd)

    def _publish(self) -> None:
        """Tell readers where the committed data ends (before any request hears of it)."""
        body = _MARK.pack(self._seq, self._committed, *self._abandoned)
        self._map[: len(body) + 4] = body + zlib.crc32(body).to_bytes(4, "little")

    def _open_next(self) -> None:
        self._leave()
        existing = segments(self.directory)
        seq = existing[-1] + 1 if existing else 1
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        path = self.directory / segment_name(seq)
        fd = os.open(path, flags, 0o600)
        try:
            _fsync_dir(self.directory)  # the new file's name is durable before anything in it is acknowledged
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
        data's; if the cut is lost in a crash, the reader stops at the zeros all the same)."""
        if self._fd < 0:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, self._size)
        os.close(self._fd)
        self._fd = -1

    def append(self, payload: bytes) -> asyncio.Future[None]:
        """Queue ``payload``; the future completes once it is on disk. Raises Overloaded or LogClosed."""
        if self._closed:
            raise LogClosed
        if len(self._pending) >= self.max_pending:
            raise Overloaded
        if len(payload) > MAX_RECORD:
            raise ValueError(f"a log record of {len(payload)} bytes is over the {MAX_RECORD} limit")
        if not payload:
            raise ValueError("a log record cannot be empty (a zero length marks the end of the data)")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._pending.append((frame(payload), future))
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
            grow = end - self._allocated + EXTEND
            _write_all(self._fd, _ZEROS * (grow // EXTEND) + _ZEROS[: grow % EXTEND], self._allocated)
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


@dataclass(frozen=True)
class Position:
    """Where the reader of one slot is: the file and the byte after the last record read."""

    seq: int
    offset: int


CHUNK = 4 * 1024 * 1024  # the reader holds a chunk at a time, not a whole file


def _frames(f: BinaryIO, offset: int, stop: int | None) -> Generator[tuple[int, bytes], None, int | None]:
    """(file offset just past the record, payload) for each good frame from ``offset``
    up to ``stop`` (None: the file's end). Returns the offset of the first bad frame
    (incomplete, a zero or impossible length, a CRC that does not match), or None when
    the frames end cleanly (at ``stop``, or at the file's end)."""
    f.seek(offset)
    buf = f.read(CHUNK)
    pos = 0
    while True:
        here = offset + pos
        if stop is not None and here >= stop:
            return None
        if len(buf) - pos < _FRAME.size:
            more = f.read(CHUNK)
            if not more:
                return None if pos == len(buf) else here
            buf, offset, pos = buf[pos:] + more, here, 0
            continue
        length, crc = _FRAME.unpack_from(buf, pos)
        if length == 0 or length > MAX_RECORD:  # 0: the zeros past the data
            return here
        if stop is not None and here + _FRAME.size + length > stop:
            return here
        end = pos + _FRAME.size + length
        if end > len(buf):
            more = f.read(max(CHUNK, end - len(buf)))
            if not more:
                return here
            buf, offset, pos = buf[pos:] + more, here, 0
            continue
        payload = buf[pos + _FRAME.size : end]
        if zlib.crc32(payload) != crc:
            return here
        pos = end
        yield offset + pos, payload


def _next_frame(f: BinaryIO, path: Path, bad: int, stop: int | None) -> int | None:
    """The offset of the first intact frame (a length that fits, a CRC that matches)
    after the bad frame at ``bad``; None when there is none (a torn tail). With a
    ``stop`` (a commit mark: a frame boundary), the search ends there and goes on there."""
    size = stop if stop is not None else f.seek(0, os.SEEK_END)
    last = stop if stop is not None else data_end(path, bad)  # no frame starts in the zeros
    pos = bad + 1
    while pos < last:
        f.seek(pos)
        buf = f.read(min(CHUNK, size - pos))
        for i in range(max(0, min(len(buf) - _FRAME.size, last - pos))):
            length, crc = _FRAME.unpack_from(buf, i)
            at = pos + i
            if length == 0 or length > MAX_RECORD or at + _FRAME.size + length > size:
                continue
            if i + _FRAME.size + length <= len(buf):
                payload = buf[i + _FRAME.size : i + _FRAME.size + length]
            else:
                f.seek(at + _FRAME.size)
                payload = f.read(length)
            if zlib.crc32(payload) == crc:
                return at
        pos += max(1, len(buf) - _FRAME.size)
    return stop


def _report(path: Path, offset: int, skipped: int, damaged: Damaged | None) -> None:
    """Note the damage beside the file (which keeps it from deletion) and report it."""
    note = path.with_suffix(DAMAGED)
    line = f"{offset} {skipped}\n"
    try:
        known = note.read_text() if note.exists() else ""
        if line not in known.splitlines(keepends=True):
            with open(note, "a") as out:
                out.write(line)
                out.flush()
                os.fsync(out.fileno())
    except OSError as exc:
        logger.error("cannot write %s (%s); the damaged file %s may be deleted once loaded", note, exc, path)
    if damaged is not None:
        damaged(path, offset, skipped)
    else:
        logger.error("%s: skipped %d damaged bytes at offset %d", path, skipped, offset)


def _records(
    f: BinaryIO,
    offset: int,
    stop: int | None = None,
    scan: Path | None = None,
    damaged: Damaged | None = None,
) -> Iterator[tuple[int, bytes]]:
    """The good frames from ``offset``. At a bad frame: without ``scan``, stop (a write
    in progress); with ``scan`` (the file's path), go on at the next intact frame and
    report the bytes skipped, or stop if there is none (a torn tail)."""
    while True:
        bad = yield from _frames(f, offset, stop)
        if bad is None or scan is None:
            return
        found = _next_frame(f, scan, bad, stop)
        if found is None:
            return
        _report(scan, bad, found - bad, damaged)
        offset = found


def read(
    directory: Path, start: Position, limit: int, damaged: Damaged | None = None
) -> Iterator[tuple[Position, bytes]]:
    """Records of a slot after ``start``, each with the position just past it.

    Stops at the end of the newest file, at its commit mark (``.committed``: what its
    writer has committed), or at an incomplete frame in it (a write in progress). A bad
    frame in a finished file, or before the mark, followed by an intact frame is damage:
    the reader goes on at the intact frame and calls ``damaged(file, offset, bytes
    skipped)``. A bad frame with nothing intact after it ends a finished file (a torn
    tail). Leaving a finished file yields ``(position in the next file, b"")``, which
    callers skip but whose position they record.
    """
    seqs = [s for s in segments(directory) if s >= start.seq]
    mark = read_mark(directory) if seqs else None
    count = 0
    for i, seq in enumerate(seqs):
        finished = i < len(seqs) - 1
        offset = start.offset if seq == start.seq else 0
        stop = mark.limit(seq, not finished) if mark is not None else None
        path = directory / segment_name(seq)
        try:
            f = open(path, "rb")  # noqa: SIM115 - closed below, the generator may stop early
        except FileNotFoundError:
            continue
        with f:
            scan = path if finished or stop is not None else None
            for end, payload in _records(f, offset, stop, scan, damaged):
                count += 1
                yield Position(seq, end), payload
                if count >= limit:
                    return
        if not finished:
            return
        # A finished file: whatever is left after the last good frame is a torn tail.
        # The empty payload is a marker that moves the position to the next file.
        yield Position(seqs[i + 1], 0), b""


def data_end(path: Path, start: int = 0) -> int:
    """Where the data of a log file ends: its size less the zeros written ahead of the
    data (at most ``start`` back). A record's last bytes may be zeros too, so this can
    fall a few bytes short of a record's end, never short of its start: ``data_end >
    start`` says whether there is a record after ``start``."""
    step = 64 * 1024
    with open(path, "rb") as f:
        end = f.seek(0, os.SEEK_END)
        while end > start:
            begin = max(start, end - step)
            f.seek(begin)
            kept = f.read(end - begin).rstrip(b"\0")
            if kept:
                return begin + len(kept)
            end = begin
    return start


def finished_segments(directory: Path, loaded: Position) -> list[Path]:
    """Files whose every record is loaded (older than the file ``loaded`` points into),
    less damaged ones (a ``<seq>.damaged`` note beside them), which are kept."""
    return [
        path
        for path in (directory / segment_name(s) for s in segments(directory) if s < loaded.seq)
        if not path.with_suffix(DAMAGED).exists()
    ]


class _Raises(Protocol):
    def raise_(self, key: str, message: str) -> None: ...


def alarm(alarms: _Raises, slot: str) -> Damaged:
    """A ``damaged`` callback for :func:`read` that raises alarm ``log_damaged:<slot>/<file>``
    (ingest/alarms.py: ``/health`` shows it)."""

    def damaged(path: Path, offset: int, skipped: int) -> None:
        alarms.raise_(
            f"log_damaged:{slot}/{path.name}",
            f"the log file {path} is damaged: {skipped} bytes at offset {offset} did not hold an intact "
            f"record (the records in them are lost; every later record was loaded). The file is kept, "
            f"with the damage listed in {path.with_suffix(DAMAGED).name}; check the disk (dmesg, "
            f"smartctl), then delete both files once you no longer need them",
        )

    return damaged
