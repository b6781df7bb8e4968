"""Request ids: valid UUIDv7s, time-ordered, and never shared by two requests' events."""

from __future__ import annotations

import time
import uuid

from hypothesis import example, given
from hypothesis import strategies as st

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


def _full_formula(request_id: str, ordinal: int) -> str:
    """event_id's general form: the whole UUID as a number, the ordinal XORed in."""
    if ordinal == 0:
        return request_id
    h = f"{int(request_id.replace('-', ''), 16) ^ ordinal:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@given(
    value=st.uuids(),
    form=st.sampled_from(["canonical", "upper", "hex"]),
    ordinal=st.integers(min_value=0, max_value=records.MAX_EVENTS_PER_REQUEST + 5),
)
@example(value=uuid.UUID(int=0xFFFF), form="canonical", ordinal=records.MAX_EVENTS_PER_REQUEST - 1)
@example(value=uuid.UUID(int=0xFFFF), form="canonical", ordinal=records.MAX_EVENTS_PER_REQUEST)
def test_the_short_way_to_an_event_id_gives_the_full_formula(value, form, ordinal):
    text = {"canonical": str(value), "upper": str(value).upper(), "hex": value.hex}[form]
    assert event_id(text, ordinal) == _full_formula(text, ordinal)
