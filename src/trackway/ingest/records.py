"""The log's records: what a worker writes for a request, and what the loader reads.

Two kinds of record (see docs/architecture.md):

- ``raw``: the body as received, decoded later by the loader (GA4 MP, Commanders
  Act: their answers do not depend on validation);
- ``decoded``: the worker decoded the request to answer it (Convead, /collect), and
  the record carries the canonical events and failed payloads it answered with.

This module is the format only (msgpack, the ids and times records carry, and the
:class:`Outcome` a record gives, which the store takes): it depends on nothing in
Trackway but the model, so the store can read records without the decoders. Turning a
record into its outcome (decoding, then the property's privacy policy) is
:mod:`trackway.ingest.pipeline`.
"""

from __future__ import annotations

import functools
import itertools
import os
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from trackway.model import Event, to_json

RAW = "raw"
DECODED = "decoded"

# Record.meta key of a /collect envelope (JSON text): its ids and context fill the events.
ENVELOPE = "envelope"

# Wire metadata an adapter keeps for exact round trips that is a credential: never stored.
CREDENTIALS = ("$app_key",)


class FailedPayload(msgspec.Struct, array_like=True):
    """A unit that failed: ``payload`` as received, ``indices`` the events of it that
    failed (``[-1]``: the unit gave no event at all), ``issues`` as JSON."""

    payload: bytes
    dialect: str
    indices: list[int]
    issues: bytes
    ordinal: int = 0  # the request-wide position of the unit's first event (ids derive from it)
    names: list[str] = []  # the names of the events that failed, where the payload named them
    call: str = ""  # the client's call id (the browser tracker's): the payload is stored once by it


class Record(msgspec.Struct, array_like=True):
    kind: str
    request_id: str
    endpoint: str
    property: str
    received_at: int  # microseconds since the epoch, UTC
    dialect: str = ""  # raw: the dialect to decode with
    meta: dict[str, Any] = {}  # ip, user_agent, /collect envelope, Commanders Act site
    body: bytes = b""  # raw: the body as received (inflated)
    events: list[bytes] = []  # decoded: canonical JSON of each event to store
    client_ids: list[bool] = []  # decoded: whether each event's id came from the client
    failed: list[FailedPayload] = []  # decoded: the payloads that failed


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Record)


def dumps(record: Record) -> bytes:
    return _encoder.encode(record)


def loads(data: bytes) -> Record:
    return _decoder.decode(data)


class _Uuid7:
    """Time-ordered UUIDs (RFC 9562 version 7) as strings, fast.

    The 48-bit millisecond time leads. ``rand_a`` is random per process, and
    ``rand_b`` is a random per-process start plus a counter shifted past the low 16
    bits (RFC 9562's "monotonic random" method): ids of one process never repeat, and
    the low 16 bits stay free for :func:`event_id`, which XORs an event's position
    into them, so the ids of two requests' events never meet. ``os.urandom`` measured
    36 us a call on this machine; it runs once per process (again in a forked child).
    The time's part is formatted once a millisecond. Measured: 0.75 us a call, against
    2 us when it drew 74 random bits and formatted them each time.
    """

    def __init__(self) -> None:
        self._seed()
        os.register_at_fork(after_in_child=self._seed)

    def _seed(self) -> None:
        r = int.from_bytes(os.urandom(10), "big")
        self._rand_a = r >> 68 & 0xFFF
        self._base = r & _MASK62
        self._count = itertools.count()
        self._prefix = (-1, "")

    def __call__(self) -> str:
        ms = time.time_ns() // 1_000_000
        at, prefix = self._prefix
        if ms != at:  # the time's part is formatted once a millisecond
            prefix = f"{ms >> 16 & 0xFFFFFFFF:08x}-{ms & 0xFFFF:04x}-7{self._rand_a:03x}-"
            self._prefix = (ms, prefix)
        rand_b = (self._base + (next(self._count) << 16)) & _MASK62
        return prefix + (_VARIANT | rand_b).to_bytes(8, "big").hex("-", 6)


_MASK62 = (1 << 62) - 1
_VARIANT = 0b10 << 62
uuid7 = _Uuid7()


def now_micros() -> int:
    return time.time_ns() // 1000


MAX_EVENTS_PER_REQUEST = 1 << 16


def event_id(request_id: str, ordinal: int) -> str:
    """The id of the ``ordinal``-th event of a request: the request's UUID with the
    ordinal in its low bits (random bits, so the result is still a valid UUIDv7)."""
    if ordinal == 0:
        return request_id
    if ordinal < MAX_EVENTS_PER_REQUEST:
        low = _low_digits(request_id)
        if low is not None:  # only the last four hex digits change: 0.4 us instead of 1.0
            return f"{request_id[:32]}{low ^ ordinal:04x}"
    h = f"{int(request_id.replace('-', ''), 16) ^ ordinal:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@functools.lru_cache(maxsize=64)
def _low_digits(request_id: str) -> int | None:
    """The value of a canonical (lower-case, dashed) UUID's last four hex digits; None
    for any other form. Cached: a record's events share their request id."""
    return int(request_id[32:], 16) if _CANONICAL.fullmatch(request_id) else None


_CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def micros(when: datetime) -> int:
    return int(when.timestamp() * 1_000_000)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def from_micros(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


@dataclass
class Outcome:
    """What a record stores: the accepted events (with whether each id came from the
    client) and the payloads that failed."""

    events: list[Event] = field(default_factory=list)
    client_ids: list[bool] = field(default_factory=list)
    failed: list[FailedPayload] = field(default_factory=list)


def event_json(event: Event) -> bytes:
    return to_json(event)


def loads_issues(data: bytes) -> list[dict[str, Any]]:
    issues: list[dict[str, Any]] = msgspec.json.decode(data)
    return issues
