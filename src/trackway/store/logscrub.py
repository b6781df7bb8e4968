"""The log's part of ``trackway forget``: raw requests hold identifiers too.

A worker's log segment holds the requests as received until it is loaded and deleted,
or for good with ``keep_log``. After the store forgot a person:

- every *finished and loaded* segment (older than the one the store's position points
  into, not damaged) is rewritten with each identifier replaced by ``[forgotten]``
  inside every string and byte string of its records (a record is msgpack: the raw
  body, the decoded events, the metadata), into a new 0600 file renamed over the old
  one: no copy stays in the file (the old blocks are the file system's to reuse);
- the segments a worker is still writing cannot be rewritten under it: the forget asks
  the workers to start a new segment (:func:`request_rotation`, ``run/log-rotate``);
  the old one is then finished, loaded and deleted as usual (kept with ``keep_log``:
  run the same forget again once it rolled, which scrubs it; the report names the
  segments still being written);
- a segment a destination has not read yet is left as it is, and named as waiting too:
  rewriting moves its records, so the destination's committed byte position would land
  inside one, and the reader would skip what follows as damage (acknowledged events
  never sent). It is deleted once every consumer has read it, or scrubbed by the same
  forget run again then.

The worker side of the rotation (:func:`trackway.ingest.log.rotation_requested`, checked
once a second, and :meth:`~trackway.ingest.writer.LogWriter.roll`) is in ``ingest/``.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from trackway.ingest import log
from trackway.ingest.log import Position
from trackway.ingest.writer import fsync_dir
from trackway.store import files
from trackway.store.identifiers import scrub

ROTATE = log.ROTATE


def request_rotation(run_dir: Path) -> float:
    """Ask every worker to start a new log segment; returns the time of the request."""
    files.private_dir(run_dir)
    path = run_dir / ROTATE
    now = time.time()
    with files.open_private(path) as f:
        f.write(f"{now}\n")
    os.utime(path, (now, now))
    return now


def roll_workers(root: Path, run_dir: Path, timeout: float = 5.0) -> list[str]:
    """Ask the running workers for new segments and wait, at most ``timeout`` seconds,
    until each has left the segment it was writing (a worker looks once a second), so
    that a forget finds every raw request finished, loadable and scrubbable. A slot is
    a running worker's when ``run/<slot>.pid`` exists (server/supervisor.py). Returns
    the slots that did not roll in time (their segment is reported as waiting)."""
    writing: dict[str, int] = {}
    for pid_file in run_dir.glob("w*.pid"):
        slot = pid_file.stem
        seqs = log.segments(root / slot)
        if seqs:
            writing[slot] = seqs[-1]
    if not writing:
        return []
    request_rotation(run_dir)
    deadline = time.monotonic() + timeout
    while True:
        writing = {
            slot: seq
            for slot, seq in writing.items()
            if log.segments(root / slot)[-1:] == [seq] and _holds_data(root / slot / log.segment_name(seq))
        }
        if not writing or time.monotonic() >= deadline:
            return sorted(writing)
        time.sleep(0.1)


def _holds_data(path: Path) -> bool:
    try:
        return log.data_end(path) > 0
    except OSError:
        return False


def scrub_log(
    root: Path,
    loaded: dict[str, Position],
    pattern: re.Pattern[str] | None,
    held: Callable[[Path], bool] | None = None,
) -> dict[str, Any]:
    """Rewrite the loaded, finished segments under ``root`` (``log/``) without the
    identifiers ``pattern`` matches (identifiers.scrub). Returns the segments rewritten, the
    records changed, and the segments still being written, not loaded yet, or ``held``
    (a destination has not read them: a rewrite moves its records, and the destination's
    byte position would land inside one and skip what follows; the loader's retention)."""
    report: dict[str, Any] = {"segments": 0, "records": 0, "waiting": []}
    if pattern is None or not root.is_dir():
        return report
    for slot_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        position = loaded.get(slot_dir.name)
        done = set()
        kept: list[str] = []
        if position is not None:
            for path in log.finished_segments(slot_dir, position):
                if kept or (held is not None and held(path)):  # the later ones are not passed either
                    kept.append(f"{slot_dir.name}/{path.name}")
                    continue
                changed = _rewrite(slot_dir, path, pattern)
                if changed is not None:
                    done.add(path.name)
                    report["segments"] += 1 if changed else 0
                    report["records"] += changed
        report["waiting"] += kept + [
            f"{slot_dir.name}/{log.segment_name(s)}"
            for s in log.segments(slot_dir)
            if log.segment_name(s) not in done
            and (position is None or s >= position.seq)
            and _holds_data(slot_dir / log.segment_name(s))  # a new, empty segment holds nothing
        ]
    return report


def _rewrite(slot_dir: Path, path: Path, pattern: re.Pattern[str]) -> int | None:
    """Scrub one segment; the records changed (0: the file is left as it is), or None
    when the file went meanwhile (the loader deletes loaded segments)."""
    seq = int(path.name[: -len(log.SUFFIX)])
    frames: list[bytes] = []
    changed = 0
    try:
        for pos, payload in log.read(slot_dir, Position(seq, 0), 1 << 62):
            if pos.seq != seq:
                break
            if not payload:
                continue
            new = _scrub_record(payload, pattern)
            changed += new != payload
            frames.append(log.frame(new))
    except FileNotFoundError:
        return None
    if not changed:
        return 0
    fresh = path.with_name(path.name + ".scrub")
    try:
        data = b"".join(frames)
        fresh_size = len(data)
        files.write_synced(fresh, data)
        if not path.exists():
            fresh.unlink()
            return None
        sealed = log.sealed_end(path) is not None
        log.unseal(path)  # its size changes: a crash before the new seal leaves it unsealed, not wrong
        os.replace(fresh, path)
        fsync_dir(slot_dir)
        if sealed:
            log.seal(path, fresh_size)
    finally:
        with contextlib.suppress(FileNotFoundError):
            fresh.unlink()
    return changed


def _scrub_record(payload: bytes, pattern: re.Pattern[str]) -> bytes:
    """The record with the identifiers scrubbed out of every string and byte string,
    nested ones included (a raw body is bytes holding JSON)."""
    try:
        value = msgspec.msgpack.decode(payload)
    except msgspec.DecodeError:
        return payload
    cleaned = scrub(value, pattern)
    return payload if cleaned == value else msgspec.msgpack.encode(cleaned)
