"""A destination's committed position in the log: per slot, the record it has passed.

Stored as a small JSON file (by default ``<data dir>/run/destinations/<name>.position``)
holding the destination's name, each slot's ``[file seq, byte offset]`` and a CRC32 of
those positions. It is written atomically (a temporary file, fsync, rename, then an
fsync of the directory), so a crash leaves the old file or the new one. A file that
cannot be read back (torn, garbage, a CRC that does not match, another destination's)
raises :class:`PositionError`: a destination never silently starts again from the
log's beginning (re-sending everything) nor skips anything. A missing file is a
destination that never committed: it starts at the log's beginning.

:func:`passed` and :func:`all_passed` answer retention's question: has every consumer
left a segment (a log file is passed once the position points into a later file).
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path

from trackway.errors import TrackwayError
from trackway.ingest import log
from trackway.ingest.log import Position

VERSION = 1
FOLDER = "destinations"  # under the data dir's run folder
SUFFIX = ".position"


class PositionError(TrackwayError):
    """A position file that cannot be trusted (the message says where and what to do)."""


def default_path(data_dir: Path, name: str) -> Path:
    """Where destination ``name`` keeps its position under ``data_dir``."""
    if not name or "/" in name or name.startswith("."):
        raise PositionError(
            f"destination name {name!r}: expected a non-empty name without '/' nor a leading dot "
            "(it names the position file)"
        )
    return data_dir / "run" / FOLDER / f"{name}{SUFFIX}"


def _crc(positions: Mapping[str, list[int]]) -> int:
    return zlib.crc32(json.dumps(positions, sort_keys=True, separators=(",", ":")).encode())


class PositionStore:
    """The committed positions of destination ``name``, in the file ``path``."""

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.name = name

    def load(self) -> dict[str, Position]:
        """Each slot's committed position ({}: never committed, the file is missing)."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise self._error(f"it cannot be read ({exc})") from exc
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise self._error(f"expected JSON, got {len(raw)} bytes that are not ({exc})") from exc
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise self._error(f"expected an object with version {VERSION}, got {str(data)[:80]!r}")
        if data.get("destination") != self.name:
            raise self._error(
                f"expected the position of destination {self.name!r}, got that of {data.get('destination')!r}"
            )
        slots = data.get("positions")
        if not isinstance(slots, dict) or not all(
            isinstance(k, str)
            and isinstance(v, list)
            and len(v) == 2
            and all(type(n) is int and n >= 0 for n in v)
            for k, v in slots.items()
        ):
            raise self._error(f"expected positions as {{slot: [seq, offset]}}, got {str(slots)[:80]!r}")
        if data.get("crc32") != _crc(slots):
            raise self._error("its CRC32 does not match its positions (the file was changed or damaged)")
        return {slot: Position(seq, offset) for slot, (seq, offset) in slots.items()}

    def save(self, positions: Mapping[str, Position]) -> None:
        """Commit ``positions`` (every slot's): durable when this returns."""
        slots = {slot: [p.seq, p.offset] for slot, p in sorted(positions.items())}
        text = json.dumps(
            {"version": VERSION, "destination": self.name, "positions": slots, "crc32": _crc(slots)},
            separators=(",", ":"),
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with open(tmp, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _error(self, what: str) -> PositionError:
        return PositionError(
            f"{self.path}: the committed position of destination {self.name!r} is unreadable: {what}. "
            "Forwarding to it stops rather than re-sending or skipping events. Restore the file, or "
            "write the position to start from (delete the file only to re-send every event in the log)"
        )


def passed(positions: Mapping[str, Position], segment: Path) -> bool:
    """Whether ``positions`` have passed the log file ``segment`` (``<root>/<slot>/<seq>.log``):
    the slot's position points into a later file."""
    name = segment.name
    if not name.endswith(log.SUFFIX) or not name[: -len(log.SUFFIX)].isdigit():
        raise ValueError(f"{segment}: expected a log file named <digits>{log.SUFFIX}")
    pos = positions.get(segment.parent.name)
    return pos is not None and pos.seq > int(name[: -len(log.SUFFIX)])


def all_passed(consumers: Iterable[Mapping[str, Position]], segment: Path) -> bool:
    """Whether every consumer's positions (the loader's, each destination's) passed ``segment``."""
    return all(passed(positions, segment) for positions in consumers)


def ends(root: Path) -> dict[str, Position]:
    """Each slot's position at the end of what the log holds now (where a destination
    added now starts: it receives what is acknowledged from then on)."""
    out = {}
    for slot in log.slots(root):
        seqs = log.segments(root / slot)
        if not seqs:
            continue
        end = Position(seqs[-1], 0)
        for found, _payload in log.read(root / slot, end, 1 << 62):
            end = found
        out[slot] = end
    return out
