"""Reading the workers' logs for a forwarder's batch, in the order events were received.

Each worker appends to its own log (a slot), each in the order it received; a batch
takes a share of every slot and :func:`merged` cuts them at a common watermark, so that
a batch never holds a record received after one that a later batch will hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from trackway.ingest import log, records
from trackway.ingest.log import Position


@dataclass
class Place:
    """Where a record read ends in its slot, and the last request carrying one of its
    events (-1: none; the forwarder sets it)."""

    slot: str
    end: Position
    last: int = -1


Row = tuple[Place, "records.Record | None", bytes]  # a record read: where it ends, decoded, raw


def merged(
    root: Path,
    slots: list[str],
    positions: Mapping[str, Position],
    share: int,
    share_bytes: int,
) -> tuple[list[list[Row]], bool]:
    """Up to ``share`` records of each worker's log after ``positions`` (fewer once their
    payloads reach ``share_bytes``), cut at a watermark so that a batch never holds a
    record received after one a later batch will hold: a log read to its share may have
    more, so the other logs keep only what was received up to that log's last record read
    (each log is in the order it was received). Also whether every log was read to its
    end (no log filled its share)."""
    out: list[list[Row]] = []
    watermark: int | None = None
    for slot in slots:
        rows: list[Row] = []
        last = 0
        size = 0
        for end, payload in log.read(root / slot, positions.get(slot, Position(0, 0)), share):
            rec = None
            if payload:
                try:
                    rec = records.loads(payload)
                    last = rec.received_at
                except Exception:
                    rec = None
            rows.append((Place(slot, end), rec, payload))
            size += len(payload)
            if size >= share_bytes:
                break
        if len(rows) >= share or size >= share_bytes:
            watermark = last if watermark is None else min(watermark, last)
        out.append(rows)
    if watermark is None:
        return out, True
    cut = []
    for rows in out:
        kept = 0
        for i, (_place, rec, _payload) in enumerate(rows):
            if rec is not None and rec.received_at > watermark:
                break
            kept = i + 1
        cut.append(rows[:kept])
    return cut, False
