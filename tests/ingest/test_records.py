"""Request ids: valid UUIDv7s, time-ordered, and never shared by two requests' events."""

from __future__ import annotations

import time
import uuid

from trackway.ingest import records
from trackway.ingest.records import event_id, uuid7


def test_request_ids_are_uuid7_with_the_time_in_front():
    before = time.time_ns() // 1_000_000
    ids = [uuid7() for _ in range(1000)]
    after = time.time_ns() // 1_000_000
    for value in ids:
        u = uuid.UUID(value)
        assert (u.version, u.variant) == (7, uuid.RFC_4122)
        assert str(u) == value
        assert before <= u.int >> 80 <= after
    assert len(set(ids)) == len(ids)


ORDINALS = [0, 1, 2, 3, 255, 256, 997, records.MAX_EVENTS_PER_REQUEST - 1]


def test_the_events_of_different_requests_never_share_an_id():
    requests = [uuid7() for _ in range(300)]
    ids = [event_id(r, n) for r in requests for n in ORDINALS]
    assert len(set(ids)) == len(ids)
    for value in ids:
        assert uuid.UUID(value).version == 7


def test_a_new_generator_starts_somewhere_else():
    first, second = records._Uuid7(), records._Uuid7()
    a, b = first(), second()
    assert a[19:] != b[19:]  # the random parts differ (a clash here is a 2**-62 chance)
