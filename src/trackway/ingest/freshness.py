"""Read-your-writes: what a query must wait for, and how far behind the store is.

A query (a report, an export, ``identity show``, any ``/api/*`` call) must see every
event acknowledged before it began. Acknowledged means committed to a worker's log,
and each slot's commit mark (``log/w<slot>/.committed``, :mod:`trackway.ingest.log`)
says how far that is, before any of the commit's requests is answered. So a query
takes every slot's mark when it begins (:func:`acknowledged`) and waits, bounded,
until the loader has committed the store's positions past them
(:meth:`~trackway.ingest.loader.Loader.passed`, polled by the store process's API,
``Admin.fresh``). Reading the marks costs one small read per slot, whatever the backlog.
"""

from __future__ import annotations

from pathlib import Path

from trackway.ingest import log
from trackway.ingest.log import Position

# The answer's header when a read could not wait long enough (set by the store process's
# API, passed on by the workers, printed by the command line).
STALE_HEADER = "trackway-stale"


def acknowledged(root: Path) -> dict[str, Position]:
    """Per slot, the position just past everything its writer has acknowledged so far:
    its commit mark; for a slot no writer marked (a log copied in, or written by a tool),
    the end of the data in its newest file."""
    out: dict[str, Position] = {}
    for slot in log.slots(root):
        directory = root / slot
        mark = log.read_mark(directory)
        seqs = log.segments(directory)
        if mark is not None:
            # Nothing committed in the newest file yet: wait for the older files only
            # (none left: nothing to wait for in this slot).
            if mark.end or any(s < mark.seq for s in seqs):
                out[slot] = Position(mark.seq, mark.end)
            continue
        if not seqs:
            continue
        try:
            out[slot] = Position(seqs[-1], log.data_end(directory / log.segment_name(seqs[-1])))
        except FileNotFoundError:
            continue
    return out
