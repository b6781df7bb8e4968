"""trackway.ingest.backlog: what a consumer of the log (the loader, a destination) has not passed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from trackway import vendors
from trackway.ingest import backlog, log, records
from trackway.ingest.backlog import behind
from trackway.ingest.log import Position


def _raw(dialect: str, body: bytes) -> records.Record:
    return records.Record(
        records.RAW, records.uuid7(), "/x", "default", records.now_micros(), dialect, {}, body
    )


@pytest.mark.parametrize(
    ("record", "events"),
    [
        (_raw("ga4-mp", b'{"client_id":"1.2","events":[{"name":"a"},{"name":"b"},{"name":"c"}]}'), 3),
        (_raw("commanders-act", b'{"batch":[{"event_name":"a"},{"event_name":"b"}]}'), 2),
        (_raw("commanders-act", b'{"event_name":"search"}'), 1),  # /events: one
        (_raw("ga4-mp", b'{"client_id":"1.2","events":[]}'), 1),  # stored failed: one
        (_raw("ga4-mp", b"not json"), 1),
        (_raw("ga4-mp", b'{"events":{"a":1}}'), 1),
        (_raw("ga4-mp", b"[" * 5_000), 1),
        (_raw("convead", b"app_key=k&data=%7B%7D"), 1),
        (records.Record(records.DECODED, "r", "/collect", "default", 0, events=[b"{}", b"{}"]), 2),
    ],
)
def test_a_records_events_are_counted_from_its_body(record: records.Record, events: int) -> None:
    # a raw record counted one: a paused destination 150 MP bodies of 20 events behind said 150
    assert backlog.events_in(record) == events


def test_the_lag_counts_the_events_of_raw_records(tmp_path: Path) -> None:
    body = b'{"client_id":"1.2","events":[' + b",".join([b'{"name":"e"}'] * 20) + b"]}"
    path = tmp_path / "w1" / log.segment_name(1)
    path.parent.mkdir()
    path.write_bytes(b"".join(log.frame(records.dumps(_raw("ga4-mp", body))) for _ in range(150)))
    lag = behind(tmp_path, {})
    assert (lag.events, lag.capped) == (3_000, False)


@pytest.fixture
def acme() -> Iterator[vendors.Vendor]:
    """A throw-away vendor whose raw ``acme-wire`` bodies list their events in ``hits``."""
    vendor = vendors.register(
        vendors.Vendor(name="acme", title="Acme", doc="", raw_event_lists={"acme-wire": "hits"})
    )
    vendors.reset()
    yield vendor
    vendors.unregister("acme")
    vendors.reset()


@pytest.mark.parametrize(
    ("body", "events"),
    [
        (b'{"hits":[{"n":1},{"n":2},{"n":3}]}', 3),
        (b'{"hits":[]}', 1),
        (b'{"events":[{"n":1},{"n":2}]}', 1),  # another vendor's key: not this dialect's list
        (b'{"hits":"three"}', 1),
    ],
)
def test_a_raw_body_is_counted_by_the_list_its_vendor_declares(
    acme: vendors.Vendor, body: bytes, events: int
) -> None:
    # the lists were a table in this module naming ga4-mp and commanders-act: a vendor
    # whose raw bodies hold several events had its lag counted one a body
    assert backlog.events_in(_raw("acme-wire", body)) == events


def test_the_lists_counted_are_the_vendors_declarations() -> None:
    assert vendors.raw_event_lists() == {"ga4-mp": "events", "commanders-act": "batch"}
    assert vendors.get("ga4").raw_event_lists == {"ga4-mp": "events"}


def _log(root: Path, slot: str, received: list[int], events: int = 2, seq: int = 1) -> list[Position]:
    """One file of MP records of ``events`` events received at ``received`` (micros) in a
    slot; each record's end."""
    body = b'{"client_id":"1.2","events":[' + b",".join([b'{"name":"e"}'] * events) + b"]}"
    path = root / slot / log.segment_name(seq)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = [
        log.frame(
            records.dumps(
                records.Record(records.RAW, records.uuid7(), "/mp/collect", "default", at, "ga4-mp", {}, body)
            )
        )
        for at in received
    ]
    path.write_bytes(b"".join(frames))
    ends, offset = [], 0
    for frame in frames:
        offset += len(frame)
        ends.append(Position(seq, offset))
    return ends


@pytest.mark.parametrize(
    ("cap", "events", "capped"),
    [
        (0, 0, False),  # bytes and the oldest only
        (1, 2, True),
        (2, 4, True),
        (3, 6, True),
        (4, 8, False),  # every record counted: nothing more
        (20_000, 8, False),
    ],
)
def test_the_events_counted_stop_at_the_cap(tmp_path: Path, cap: int, events: int, capped: bool) -> None:
    ends = _log(tmp_path, "w1", [5_000_000, 6_000_000])
    _log(tmp_path, "w2", [3_000_000, 9_000_000])
    lag = behind(tmp_path, {}, cap)
    assert (lag.events, lag.capped) == (events, capped)
    assert lag.bytes == 2 * ends[-1].offset
    assert lag.oldest == 3.0  # the other slot's first record, however few are counted


def test_a_consumer_at_a_position_has_only_what_follows_behind(tmp_path: Path) -> None:
    ends = _log(tmp_path, "w1", [1_000_000, 2_000_000, 3_000_000])
    assert behind(tmp_path, {"w1": ends[0]}) == backlog.Lag(ends[2].offset - ends[0].offset, 4, False, 2.0)
    assert behind(tmp_path, {"w1": ends[2]}) == backlog.Lag()


def test_the_oldest_is_found_past_a_finished_file_and_an_unreadable_record(tmp_path: Path) -> None:
    first = _log(tmp_path, "w1", [1_000_000])
    later = tmp_path / "w1" / log.segment_name(2)
    good = _log(tmp_path, "w9", [7_000_000])
    later.write_bytes(log.frame(b"\xc1 not msgpack") + (tmp_path / "w9" / log.segment_name(1)).read_bytes())
    (tmp_path / "w9" / log.segment_name(1)).unlink()
    (tmp_path / "w9").rmdir()
    lag = behind(tmp_path, {"w1": first[0]}, 0)
    assert lag.oldest == 7.0
    assert lag.bytes == len(log.frame(b"\xc1 not msgpack")) + good[0].offset


def test_a_file_deleted_meanwhile_counts_no_bytes(tmp_path: Path) -> None:
    _log(tmp_path, "w1", [1_000_000])
    assert backlog.unread_bytes(tmp_path / "w1", Position(1, 0)) > 0
    assert backlog.unread_bytes(tmp_path / "w2", Position(1, 0)) == 0
