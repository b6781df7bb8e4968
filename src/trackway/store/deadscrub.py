"""The destinations' dead letters in ``trackway forget`` and ``subject-export``.

A dead letter (``run/destinations/<id>.dead.jsonl``, trackway.destinations.deadletters)
keeps the canonical events a destination did not take, so that ``destination retry``
sends them again without the store: identifiers included. After the store forgot a
person, each file holding one of their identifiers is rewritten with them replaced by
``[forgotten]`` (identifiers.scrub, on each line's text), into a new 0600 file renamed over
the old one; ``subject-export`` lists the dead letters that hold one.

The forwarding process appends to these files meanwhile: both sides take the file's
``flock`` through :func:`locked`, which opens the file again when it was renamed over
while it waited, so an append never goes to the old file.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from trackway.ingest.writer import fsync_dir
from trackway.store import files
from trackway.store.identifiers import scrub

SUFFIX = ".dead.jsonl"
# Amounts stay as written: numbers read as Decimals and written back as the same digits.
_exact = msgspec.json.Decoder(float_hook=Decimal)
_write = msgspec.json.Encoder(decimal_format="number")


@contextlib.contextmanager
def locked(path: Path) -> Iterator[int]:
    """An fd of ``path`` (created 0600 if missing, appending), under its exclusive flock."""
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, files.FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                break
        except FileNotFoundError:
            pass  # renamed over, then gone: open it again
        os.close(fd)
    try:
        yield fd
    finally:
        os.close(fd)


def _files(run: Path) -> list[Path]:
    folder = run / "destinations"
    return sorted(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []


def scrub_dead_letters(run: Path, pattern: re.Pattern[str] | None) -> int:
    """Rewrite every dead-letter file under ``run`` without what ``pattern`` matches;
    returns the lines changed."""
    changed = 0
    if pattern is None:
        return changed
    for path in _files(run):
        with locked(path):
            lines = path.read_bytes().split(b"\n")
            new = [_scrubbed(line, pattern) for line in lines]
            n = sum(a != b for a, b in zip(lines, new, strict=True))
            if not n:
                continue
            fresh = path.with_name(path.name + ".scrub")
            files.write_synced(fresh, b"\n".join(new))
            os.replace(fresh, path)  # under the old file's lock: appenders open the new one
            fsync_dir(path.parent)
            changed += n
    return changed


def _scrubbed(line: bytes, pattern: re.Pattern[str]) -> bytes:
    """A line with the identifiers scrubbed out of its strings (a torn line, as text)."""
    try:
        value = _exact.decode(line)
    except msgspec.DecodeError:
        text = line.decode("utf-8", errors="surrogateescape")
        return scrub(text, pattern).encode("utf-8", errors="surrogateescape")
    cleaned = scrub(value, pattern)  # the events it keeps (payloads) are objects in it: scrubbed too
    return line if cleaned == value else _write.encode(cleaned)


def dead_letters_of(run: Path, pattern: re.Pattern[str] | None) -> list[dict[str, Any]]:
    """The dead letters (destination, its line) holding what ``pattern`` matches."""
    found: list[dict[str, Any]] = []
    if pattern is None:
        return found
    for path in _files(run):
        for line in path.read_bytes().split(b"\n"):
            if line and pattern.search(line.decode("utf-8", errors="replace")):
                with contextlib.suppress(msgspec.DecodeError):
                    found.append({"destination": path.name[: -len(SUFFIX)], **_exact.decode(line)})
    return found
