"""The append-only log: the collector's commit point.

Each worker slot writes its own directory ``log/w<slot>/`` of numbered files. A
record is framed as ``length (u32 LE) | crc32 (u32 LE) | payload``. A writer holds
an exclusive lock on its directory and always starts a new file, so a record torn
by a crash is at the end of a file nobody appends to again: the reader stops at the
first bad frame of a finished file and moves on, and waits at a bad frame of the
file still being written.

:class:`LogWriter` is the group commit: requests queue payloads from the event
loop, one thread writes everything queued with one ``write`` and one
``fdatasync``, then wakes every request it covered. The queue is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

_FRAME = struct.Struct("<II")
MAX_RECORD = 64 * 1024 * 1024
SUFFIX = ".log"


class Overloaded(Exception):
    """More records are waiting for the disk than the writer may hold."""


class LogClosed(Exception):
    """The writer is shut down."""


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


def _fsync_dir(directory: Path) -> None:
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
    seconds: float = 0.0  # total time in write + fdatasync
    last_batch: int = 0
    errors: int = 0


class LogWriter:
    """Group commit into ``directory``. Use :meth:`append` from one asyncio loop."""

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
        self._cond = threading.Condition()
        self._closed = False
        self.stats = CommitStats()
        self.on_commit: Callable[[int, float], None] | None = None  # (records, seconds)
        self._fd = -1
        self._size = 0
        self._open_next()
        self._thread = threading.Thread(target=self._run, name=f"log-writer-{directory.name}", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def _open_next(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
        existing = segments(self.directory)
        seq = existing[-1] + 1 if existing else 1
        self._fd = os.open(
            self.directory / segment_name(seq), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600
        )
        _fsync_dir(self.directory)  # the new file's name is durable before anything in it is acknowledged
        self._size = 0

    def append(self, payload: bytes) -> asyncio.Future[None]:
        """Queue ``payload``; the future completes once it is on disk. Raises Overloaded or LogClosed."""
        if self._closed:
            raise LogClosed
        if len(self._pending) >= self.max_pending:
            raise Overloaded
        if len(payload) > MAX_RECORD:
            raise ValueError(f"a log record of {len(payload)} bytes is over the {MAX_RECORD} limit")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        with self._cond:
            self._pending.append((frame(payload), future))
            if len(self._pending) == 1:
                self._cond.notify()
        return future

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                batch, self._pending = self._pending, []
                if not batch and self._closed:
                    return
            error: BaseException | None = None
            start = time.perf_counter()
            data = b"".join(f for f, _ in batch)
            try:
                os.write(self._fd, data)
                os.fdatasync(self._fd)
                self._size += len(data)
            except OSError as exc:
                error = exc
            elapsed = time.perf_counter() - start
            self.stats.batches += 1
            self.stats.records += len(batch)
            self.stats.bytes += len(data)
            self.stats.seconds += elapsed
            self.stats.last_batch = len(batch)
            if error is not None:
                self.stats.errors += 1
            if self.on_commit is not None:
                self.on_commit(len(batch), elapsed)
            _wake([f for _, f in batch], error)
            if error is not None or self._size >= self.segment_bytes:
                with contextlib.suppress(OSError):  # a failed write may have left part of a frame:
                    self._open_next()  # never append after it

    def close(self) -> None:
        """Write what is queued, then stop."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        os.close(self._lock_fd)


def _wake(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    if not futures:
        return
    loop = futures[0].get_loop()

    def resolve() -> None:
        for f in futures:
            if f.done():
                continue
            if error is None:
                f.set_result(None)
            else:
                f.set_exception(OSError(f"the log write failed: {error}"))

    with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
        loop.call_soon_threadsafe(resolve)


@dataclass(frozen=True)
class Position:
    """Where the reader of one slot is: the file and the byte after the last record read."""

    seq: int
    offset: int


def read(directory: Path, start: Position, limit: int) -> Iterator[tuple[Position, bytes]]:
    """Records of a slot after ``start``, each with the position just past it.

    Stops at the end of the newest file, or at an incomplete frame in it (a write in
    progress). A bad frame in a finished file ends that file (a torn tail); leaving a
    finished file yields ``(position in the next file, b"")``, which callers skip but
    whose position they record.
    """
    seqs = [s for s in segments(directory) if s >= start.seq]
    count = 0
    for i, seq in enumerate(seqs):
        finished = i < len(seqs) - 1
        offset = start.offset if seq == start.seq else 0
        path = directory / segment_name(seq)
        try:
            with open(path, "rb") as f:
                f.seek(offset)
                data = f.read()
        except FileNotFoundError:
            continue
        pos = 0
        while pos + _FRAME.size <= len(data):
            length, crc = _FRAME.unpack_from(data, pos)
            end = pos + _FRAME.size + length
            if length > MAX_RECORD or end > len(data):
                break
            payload = data[pos + _FRAME.size : end]
            if zlib.crc32(payload) != crc:
                break
            pos = end
            count += 1
            yield Position(seq, offset + pos), payload
            if count >= limit:
                return
        if not finished:
            return
        # A finished file: whatever is left after the last good frame is a torn tail.
        # The empty payload is a marker that moves the position to the next file.
        yield Position(seqs[i + 1], 0), b""


def finished_segments(directory: Path, loaded: Position) -> list[Path]:
    """Files whose every record is loaded (older than the file ``loaded`` points into)."""
    return [directory / segment_name(s) for s in segments(directory) if s < loaded.seq]
