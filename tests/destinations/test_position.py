"""trackway.destinations.position: a destination's committed position, stored atomically."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trackway.destinations.position import (
    PositionError,
    PositionStore,
    all_passed,
    default_path,
    passed,
)
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
