"""Packing encoded events into requests under a count and a byte limit. Pure: no I/O.

Batched destination types (webhook, Segment) write each event as JSON bytes, then join
them into bodies of the form ``prefix + part + b"," + part + ... + suffix``. :func:`pack`
decides which events share a body: in order, as many as fit, never more than
``max_events`` nor a body longer than ``max_bytes``. An event whose part alone cannot fit
is refused (retrying cannot make it smaller).
"""

from __future__ import annotations

from collections.abc import Iterable

from trackway.destinations.base import Refusal

SEPARATOR = b","


def pack(
    parts: Iterable[tuple[str, bytes]], *, max_events: int, max_bytes: int, overhead: int, what: str
) -> tuple[list[list[tuple[str, bytes]]], list[Refusal]]:
    """``parts`` (event id, its bytes), in order, grouped into batches.

    ``overhead``: the bytes of a body's prefix and suffix; ``what``: how a refusal names
    the limit ("the webhook's max_bytes"). Each batch is non-empty, holds at most
    ``max_events`` parts, and ``overhead`` + its parts + the separators between them is
    at most ``max_bytes``."""
    batches: list[list[tuple[str, bytes]]] = []
    refused: list[Refusal] = []
    batch: list[tuple[str, bytes]] = []
    size = overhead
    for event, part in parts:
        alone = overhead + len(part)
        if alone > max_bytes:
            refused.append(
                Refusal(
                    event,
                    f"the event is {len(part):,} bytes as sent, over {what} ({max_bytes:,} bytes a request "
                    f"with {overhead} bytes of envelope): it cannot be sent; shorten its properties, or "
                    "raise the limit if the receiver accepts more",
                )
            )
            continue
        grown = size + len(part) + (len(SEPARATOR) if batch else 0)
        if batch and (len(batch) >= max_events or grown > max_bytes):
            batches.append(batch)
            batch, grown = [], alone
        batch.append((event, part))
        size = grown
    if batch:
        batches.append(batch)
    return batches, refused


def body(prefix: bytes, batch: list[tuple[str, bytes]], suffix: bytes) -> bytes:
    """The request body of ``batch``: ``prefix``, the parts joined by commas, ``suffix``."""
    return prefix + SEPARATOR.join(part for _, part in batch) + suffix
