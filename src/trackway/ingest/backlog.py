"""What a consumer of the log has not passed yet: its backlog.

The log's consumers (the loader, with the store's positions, and each destination, with
its own) ask the same question with their positions: how many bytes of log are behind
them, how many events those hold, and when the oldest of them was received. The loader's
answer is ``/metrics``' ``trackway_log_lag_bytes`` and
``trackway_log_oldest_unloaded_seconds`` and ``/health``'s ``log_lag_bytes``; a
destination's is its lag in ``trackway destination status``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from trackway import vendors
from trackway.ingest import log, records
from trackway.ingest.log import Position

EVENTS_CAP = 20_000  # records whose events a lag counts at most (a lag of more is capped)


@dataclass(frozen=True)
class Lag:
    """What a consumer has not passed: ``bytes`` of log, ``events`` counted in at most the
    first ``cap`` records of :func:`behind` (``capped``: there are more; see
    :func:`events_in`), and when the oldest of them was received (unix seconds; None:
    nothing is behind)."""

    bytes: int = 0
    events: int = 0
    capped: bool = False
    oldest: float | None = None


def behind(root: Path, positions: Mapping[str, Position], cap: int = EVENTS_CAP) -> Lag:
    """The :class:`Lag` of a consumer at ``positions`` in the log at ``root``. ``cap``:
    the records whose events are counted, at most (0: none, for a caller that wants the
    bytes and the oldest: then each slot's first readable record is all that is read)."""
    size = count = counted = 0
    capped = False
    oldest: float | None = None
    for slot in log.slots(root):
        pos = positions.get(slot, Position(0, 0))
        size += unread_bytes(root / slot, pos)
        first = True
        # one frame more than is counted: a finished file's end comes first, or an unreadable record
        for _end, payload in log.read(root / slot, pos, max(cap - counted, 0) + 2):
            if not payload:
                continue
            try:
                record = records.loads(payload)
            except Exception:  # an unreadable record (the loader quarantines it)
                continue
            if first:
                first = False
                at = record.received_at / 1e6
                oldest = at if oldest is None else min(oldest, at)
            if counted >= cap:
                capped = cap > 0
                break
            counted += 1
            count += events_in(record)
    return Lag(size, count, capped, oldest)


def unread_bytes(directory: Path, pos: Position) -> int:
    """Bytes of one slot's log after ``pos`` (a file gone meanwhile counts none)."""
    total = 0
    for seq in log.segments(directory):
        if seq < pos.seq:
            continue
        start = pos.offset if seq == pos.seq else 0
        try:
            end = log.data_end(directory / log.segment_name(seq), start)
        except OSError:
            continue
        total += max(0, end - start)
    return total


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
