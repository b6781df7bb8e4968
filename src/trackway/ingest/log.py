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

The writer (the group commit) is :mod:`trackway.ingest.writer`; this module holds the
format both sides share, and the reader.

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

A writer that leaves a file (it rolls, or it stops) seals it: ``<seq>.end`` holds where
its committed data ends, written and synced before the next file is opened. A crash
leaves no seal, and the end of such a file is read as above. A sealed file whose records
end before its seal has lost its tail since (cut by a full copy, a restore, a hand): the
reader reports the missing bytes as damage, so that the loss is not mistaken for a torn
tail and passed over in silence.
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
import zlib
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

logger = logging.getLogger("trackway.log")

_FRAME = struct.Struct("<II")
MAX_RECORD = 64 * 1024 * 1024
SUFFIX = ".log"
EXTEND = 1024 * 1024  # bytes of zeros written ahead of the data at a time
COMMITTED = ".committed"  # the commit mark of a slot directory (see Mark)
DAMAGED = ".damaged"  # <seq>.damaged: the damage found in that file; such a file is never deleted
SEALED = ".end"  # <seq>.end: where a finished file's committed data ends (see seal())
MARK = struct.Struct("<QQQQ")  # seq, end, abandoned seq, abandoned end
Damaged = Callable[[Path, int, int], None]  # (file, offset of the bad frame, bytes skipped)


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


def slots(root: Path) -> list[str]:
    """The slot directories under the log root (``w1``, ``w2``, ...), in order."""
    try:
        return sorted(n for n in os.listdir(root) if (root / n).is_dir())
    except FileNotFoundError:
        return []


def segments(directory: Path) -> list[int]:
    """Sequence numbers of the files in a slot directory, in order."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    return sorted(int(n[: -len(SUFFIX)]) for n in names if n.endswith(SUFFIX) and n[: -len(SUFFIX)].isdigit())


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
    size = MARK.size + 4
    try:
        with open(directory / COMMITTED, "rb") as f:
            for _ in range(1000):  # a read racing the writer's update fails the CRC: read again
                raw = os.pread(f.fileno(), size, 0)
                if len(raw) < size:
                    return None
                if zlib.crc32(raw[: MARK.size]) == int.from_bytes(raw[MARK.size :], "little"):
                    return Mark(*MARK.unpack_from(raw))
    except FileNotFoundError:
        return None
    return None


@dataclass(frozen=True, order=True)
class Position:
    """Where the reader of one slot is: the file and the byte after the last record read.
    Positions order as (file, byte)."""

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
    line = _damage_line(offset, skipped)
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


def _damage_line(offset: int, skipped: int) -> str:
    """One place of a ``.damaged`` note: ``offset skipped``, a line each."""
    return f"{offset} {skipped}\n"


def _damage_places(text: str) -> list[tuple[int, int]]:
    """The places (offset, bytes skipped) a ``.damaged`` note lists (lines that are not
    :func:`_damage_line`'s are left out, numbers of more than 20 digits too: no file is
    that large, and int() refuses over 4,300)."""
    places = []
    for line in text.splitlines():
        offset, _, skipped = line.partition(" ")
        if offset.isdigit() and skipped.isdigit() and len(offset) <= 20 and len(skipped) <= 20:
            places.append((int(offset), int(skipped)))
    return places


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
            last = offset
            for end, payload in _records(f, offset, stop, scan, damaged):
                count += 1
                last = end
                yield Position(seq, end), payload
                if count >= limit:
                    return
        if not finished:
            return
        # A finished file: whatever is left after the last good frame is a torn tail,
        # unless its seal says its data went further (a tail lost since it was sealed).
        # The empty payload is a marker that moves the position to the next file.
        _check_seal(path, last, damaged)
        yield Position(seqs[i + 1], 0), b""


def seal(path: Path, end: int) -> None:
    """Record that the finished log file ``path`` holds committed data up to ``end``
    (``<seq>.end``, synced). Best effort: without a seal, the file is read as a crash
    left it."""
    try:
        fd = os.open(path.with_suffix(SEALED), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, f"{end}\n".encode())
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        logger.warning("cannot seal %s (%s); a tail it loses later will pass for a torn one", path, exc)


def sealed_end(path: Path) -> int | None:
    """Where the data of the finished file ``path`` ended when its writer left it (None:
    not sealed, or a seal that cannot be read)."""
    try:
        text = path.with_suffix(SEALED).read_bytes()
    except OSError:
        return None
    return int(text) if text.endswith(b"\n") and text[:-1].isdigit() and len(text) < 24 else None


def unseal(path: Path) -> None:
    """Remove the seal of ``path`` (deleted, or about to be rewritten with another size)."""
    with contextlib.suppress(FileNotFoundError):
        path.with_suffix(SEALED).unlink()


def delete(path: Path) -> None:
    """Delete the log file ``path`` and its seal."""
    path.unlink()
    unseal(path)


def _check_seal(path: Path, last: int, damaged: Damaged | None) -> None:
    """Report the bytes a sealed file lost after ``last``, where its records end."""
    end = sealed_end(path)
    if end is not None and last < end:
        _report(path, last, end - last, damaged)


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
        alarms.raise_(damage_key(slot, path), damage_message(path, [(offset, skipped)]))

    return damaged


def damage_key(slot: str, path: Path) -> str:
    return f"log_damaged:{slot}/{path.name}"


def damage_message(path: Path, places: list[tuple[int, int]]) -> str:
    """What the alarm of a damaged log file says: where, how much, and what to do."""
    skipped = sum(n for _, n in places)
    first = places[0][0]
    where = f"at offset {first}" if len(places) == 1 else f"in {len(places)} places from offset {first}"
    return (
        f"the log file {path} is damaged: {skipped} bytes {where} did not hold an intact record, "
        "or were lost after it was sealed (the records in them are lost; every other record was "
        f"loaded). The file is kept, with the damage listed in {path.with_suffix(DAMAGED).name}; "
        f"check the disk (dmesg, smartctl), then delete {path.name} and its {DAMAGED} and {SEALED} "
        "files once you no longer need them"
    )


def damage_notes(root: Path) -> dict[str, str]:
    """The alarm (key: message) of every damaged log file still kept under ``root``
    (its ``<seq>.damaged`` note), so that the alarm outlives the reader that found it."""
    found: dict[str, str] = {}
    for slot in slots(root):
        try:
            names = sorted(n for n in os.listdir(root / slot) if n.endswith(DAMAGED))
        except OSError:
            continue
        for name in names:
            note = root / slot / name
            try:
                places = _damage_places(note.read_text())
            except (OSError, UnicodeDecodeError):
                continue
            if places:
                path = note.with_suffix(SUFFIX)
                found[damage_key(slot, path)] = damage_message(path, places)
    return found
