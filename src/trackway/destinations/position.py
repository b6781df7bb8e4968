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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from trackway import vendors
from trackway.errors import TrackwayError
from trackway.ingest import log, records
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


@dataclass(frozen=True)
class Lag:
    """What a consumer has not passed: ``bytes`` of log, ``events`` counted in at most the
    first ``cap`` records (``capped``: there are more; see :func:`events_in`), and when the
    oldest of them was received (unix seconds; None: nothing is behind)."""

    bytes: int = 0
    events: int = 0
    capped: bool = False
    oldest: float | None = None


def behind(root: Path, positions: Mapping[str, Position], cap: int = 20_000) -> Lag:
    """The :class:`Lag` of a consumer at ``positions``."""
    size = count = read = 0
    capped = False
    oldest: float | None = None
    for slot in log.slots(root):
        pos = positions.get(slot, Position(0, 0))
        for seq in log.segments(root / slot):
            if seq < pos.seq:
                continue
            path = root / slot / log.segment_name(seq)
            try:
                size += max(0, log.data_end(path) - (pos.offset if seq == pos.seq else 0))
            except OSError:
                continue
        first = True
        for _end, payload in log.read(root / slot, pos, max(cap - read, 1)):
            read += 1
            if not payload:
                continue
            try:
                record = records.loads(payload)
            except Exception:  # an unreadable record (the loader quarantines it)
                continue
            count += events_in(record)
            if first:
                first = False
                at = record.received_at / 1e6
                oldest = at if oldest is None else min(oldest, at)
            if read >= cap:
                capped = True
                break
    return Lag(size, count, capped, oldest)


# A decoder per dialect that lists a raw body's events (the vendors' raw_event_lists): it
# reads the list's items as raw bytes, the events themselves are not decoded.
_LISTS: dict[str, msgspec.json.Decoder[Any] | None] = {}
vendors.on_reset(_LISTS.clear)  # a vendor added or removed: declarations read again


def _list_decoder(dialect: str) -> msgspec.json.Decoder[Any] | None:
    if dialect not in _LISTS:
        key = vendors.raw_event_lists().get(dialect)
        _LISTS[dialect] = (
            None
            if key is None
            else msgspec.json.Decoder(
                msgspec.defstruct("EventList", [("items", list[msgspec.Raw], [])], rename={"items": key})
            )
        )
    return _LISTS[dialect]


def events_in(record: records.Record) -> int:
    """The events of a record, for a lag: a decoded record's (its failed payloads one each);
    a raw record's by the length of the list its dialect's vendor declares its events in
    (``Vendor.raw_event_lists``: an MP body's ``events``, a Commanders Act ``batch``; it
    counted one, so a paused destination 150 bodies of 20 events behind said 150 events),
    one for any other body or one that does not read. At least one."""
    if record.kind == records.DECODED:
        return max(1, len(record.events) + len(record.failed))
    decoder = _list_decoder(record.dialect)
    if decoder is None:
        return 1
    try:
        return max(1, len(decoder.decode(record.body).items))
    except (msgspec.DecodeError, RecursionError):
        return 1
