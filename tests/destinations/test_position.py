"""trackway.destinations.position: a destination's committed position, stored atomically."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from trackway import vendors
from trackway.destinations import position
from trackway.destinations.position import (
    PositionError,
    PositionStore,
    all_passed,
    default_path,
    passed,
)
from trackway.ingest import log, records
from trackway.ingest.log import Position


def test_default_path_under_the_run_folder(tmp_path: Path) -> None:
    assert default_path(tmp_path, "ga4-shop") == tmp_path / "run" / "destinations" / "ga4-shop.position"


@pytest.mark.parametrize("name", ["", "a/b", ".hidden"])
def test_default_path_refuses_bad_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(PositionError, match="expected a non-empty name"):
        default_path(tmp_path, name)


def test_missing_file_is_a_destination_that_never_committed(tmp_path: Path) -> None:
    assert PositionStore(tmp_path / "none.position", "d").load() == {}


def test_round_trip_and_overwrite(tmp_path: Path) -> None:
    store = PositionStore(default_path(tmp_path, "d"), "d")
    store.save({"w1": Position(3, 120), "w2": Position(1, 0)})
    assert store.load() == {"w1": Position(3, 120), "w2": Position(1, 0)}
    store.save({"w1": Position(4, 8)})
    assert PositionStore(store.path, "d").load() == {"w1": Position(4, 8)}
    assert [p.name for p in store.path.parent.iterdir()] == ["d.position"]  # no temporary file left


def _valid(tmp_path: Path) -> PositionStore:
    store = PositionStore(tmp_path / "d.position", "d")
    store.save({"w1": Position(3, 120)})
    return store


def _edit(text: str, key: str, value: object) -> str:
    data = json.loads(text)
    data[key] = value
    return json.dumps(data)


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (lambda t: t[: len(t) // 2], "expected JSON"),  # torn
        (lambda t: "", "expected JSON"),  # empty
        (lambda t: "\x00\x00\x00\x00", "expected JSON"),  # zeros
        (lambda t: "[1, 2]", "expected an object with version 1"),
        (lambda t: _edit(t, "version", 2), "expected an object with version 1"),
        (lambda t: _edit(t, "destination", "other"), "got that of 'other'"),
        (lambda t: _edit(t, "positions", {"w1": [3]}), "expected positions as"),
        (lambda t: _edit(t, "positions", {"w1": [3, -1]}), "expected positions as"),
        (lambda t: _edit(t, "positions", {"w1": [3, 121]}), "CRC32 does not match"),
        (lambda t: _edit(t, "crc32", None), "CRC32 does not match"),
    ],
)
def test_damaged_file_is_a_clear_error_never_a_restart(tmp_path: Path, damage, says: str) -> None:  # type: ignore[no-untyped-def]
    store = _valid(tmp_path)
    store.path.write_text(damage(store.path.read_text()))
    with pytest.raises(PositionError) as err:
        store.load()
    message = str(err.value)
    assert says in message
    assert str(store.path) in message and "'d'" in message
    assert "Restore the file" in message


def test_unreadable_file_is_an_error(tmp_path: Path) -> None:
    store = PositionStore(tmp_path / "d.position", "d")
    store.path.mkdir()  # a directory where the file should be
    with pytest.raises(PositionError, match="cannot be read"):
        store.load()


@pytest.mark.parametrize(
    ("positions", "segment", "expected"),
    [
        ({"w1": Position(3, 0)}, "w1/000000000002.log", True),
        ({"w1": Position(3, 0)}, "w1/000000000003.log", False),  # the file it reads
        ({"w1": Position(3, 500)}, "w1/000000000004.log", False),
        ({"w1": Position(9, 0)}, "w2/000000000001.log", False),  # another slot, never read
        ({}, "w1/000000000001.log", False),
    ],
)
def test_passed(tmp_path: Path, positions: dict[str, Position], segment: str, expected: bool) -> None:
    assert passed(positions, tmp_path / "log" / segment) is expected


def test_passed_refuses_what_is_not_a_log_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="expected a log file named"):
        passed({}, tmp_path / "w1" / "000000000001.damaged")


def test_all_passed_needs_every_consumer(tmp_path: Path) -> None:
    segment = tmp_path / "w1" / "000000000002.log"
    loader = {"w1": Position(5, 0)}
    fast, slow = {"w1": Position(3, 10)}, {"w1": Position(2, 10)}
    assert all_passed([loader, fast], segment)
    assert not all_passed([loader, fast, slow], segment)


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
    assert position.events_in(record) == events


def test_the_lag_counts_the_events_of_raw_records(tmp_path: Path) -> None:
    body = b'{"client_id":"1.2","events":[' + b",".join([b'{"name":"e"}'] * 20) + b"]}"
    path = tmp_path / "w1" / log.segment_name(1)
    path.parent.mkdir()
    path.write_bytes(b"".join(log.frame(records.dumps(_raw("ga4-mp", body))) for _ in range(150)))
    lag = position.behind(tmp_path, {})
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
    assert position.events_in(_raw("acme-wire", body)) == events


def test_the_lists_counted_are_the_vendors_declarations() -> None:
    assert vendors.raw_event_lists() == {"ga4-mp": "events", "commanders-act": "batch"}
    assert vendors.get("ga4").raw_event_lists == {"ga4-mp": "events"}
