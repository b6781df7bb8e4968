"""trackway.store.duck: what opening a store says when the file cannot be used, and the
settings it opens with."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from trackway.errors import StoreError
from trackway.ingest import records
from trackway.ingest.log import Position
from trackway.model import Event
from trackway.settings import CHECKPOINT_THRESHOLD, memory_bytes
from trackway.store.duck import DuckStore

# (what the file holds) -> the advice; a damaged file was told to fix its permissions
DAMAGED = [b"garbage" * 1000, b"\0" * 8192, b"DUCK" + b"\xff" * 4096]


@pytest.mark.parametrize("content", DAMAGED, ids=["text", "zeros", "bad header"])
def test_a_damaged_store_file_is_said_to_be_damaged_with_what_to_do(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "trackway.duckdb"
    path.write_bytes(content)
    with pytest.raises(StoreError, match="cannot open the store") as info:
        DuckStore(path)
    said = str(info.value)
    assert "The file is damaged" in said and "restore it from a backup" in said, said
    assert "permissions" not in said, said


def _checkpoint_threshold(store: DuckStore) -> int | None:
    [(shown,)] = store.cursor().execute("SELECT current_setting('checkpoint_threshold')").fetchall()
    return memory_bytes(str(shown))  # DuckDB shows it in MiB or GiB, cut to a tenth


@pytest.mark.parametrize(
    ("chosen", "expected"),
    [(None, CHECKPOINT_THRESHOLD), ("32MB", "32MB"), ("2 GiB", "2GiB"), ("1.5GiB", "1.5GiB")],
)
def test_the_store_checkpoints_at_its_threshold_or_the_chosen_one(
    tmp_path: Path, chosen: str | None, expected: str
) -> None:
    kw = {} if chosen is None else {"checkpoint_threshold": chosen}
    store = DuckStore(tmp_path / "trackway.duckdb", **kw)
    try:
        want = memory_bytes(expected)
        assert want is not None
        assert _checkpoint_threshold(store) == pytest.approx(want, rel=0.05)
    finally:
        store.close()


def _wal(tmp_path: Path) -> int:
    wal = tmp_path / "trackway.duckdb.wal"
    return wal.stat().st_size if wal.exists() else 0


def _load_events(store: DuckStore, count: int) -> None:
    when = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    events = [
        Event(
            name="page_view",
            dialect="gtm-ga4",
            id=f"e{n}",
            property="p",
            received_at=when,
            timestamp=when,
            properties={"page_title": f"{n:08d}" * 40},
        )
        for n in range(count)
    ]
    record = records.Record(
        kind=records.DECODED,
        request_id="r1",
        endpoint="/collect",
        property="p",
        received_at=records.micros(when),
    )
    store.load([(record, records.Outcome(events=events, client_ids=[True] * count))], {"w1": Position(1, 1)})


def test_the_write_ahead_log_is_written_into_the_file_only_past_the_threshold(tmp_path: Path) -> None:
    low = DuckStore(tmp_path / "low" / "trackway.duckdb", checkpoint_threshold="1MB")
    high = DuckStore(tmp_path / "high" / "trackway.duckdb", checkpoint_threshold="64MB")
    try:
        for store in (low, high):
            _load_events(store, 5_000)  # a few MB of log
        assert _wal(tmp_path / "high") > 1_000_000  # still in the log: below its threshold
        assert _wal(tmp_path / "low") < 1_000_000  # past it: checkpointed, the log emptied
        assert high.sql("SELECT count(*) FROM events")[1] == low.sql("SELECT count(*) FROM events")[1]
    finally:
        low.close()
        high.close()
