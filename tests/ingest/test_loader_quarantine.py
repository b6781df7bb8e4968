"""No record stops the loader: one that raises goes, raw and whole, to the quarantine;
what is the store's fault (a full disk, a deleted file) loses nothing and is reported."""

from __future__ import annotations

import errno
import os
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.support.server import log_record
from trackway.ingest import log, pipeline, records
from trackway.ingest.alarms import Alarms
from trackway.ingest.loader import Loader
from trackway.ingest.log import Position
from trackway.ingest.sink import LoadResult
from trackway.model import from_json
from trackway.store.base import Query, Store
from trackway.store.duck import FILE_NAME, DuckStore
from trackway.store.memory import MemoryStore

BAD = "explodes"  # a record whose event has properties.marker == BAD is "bad"


def _marker(record: records.Record) -> str:
    return from_json(record.events[0]).properties.get("marker", "") if record.events else ""


def write_log(root: Path, frames: list[bytes], slot: str = "w1", seq: int = 1) -> Path:
    path = root / "log" / slot / log.segment_name(seq)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as f:
        f.write(b"".join(frames))
    return path


def stored_markers(store: Store) -> list[tuple[str, str]]:
    return sorted((e.property, e.properties["marker"]) for e in store.events(Query(limit=10_000)))


class RefusingStore(MemoryStore):
    """A store whose load raises for any batch holding an event marked BAD, as a store
    bug (or an input no one foresaw) would."""

    def __init__(self, exc: Exception | None = None) -> None:
        super().__init__()
        self.exc = exc or UnicodeEncodeError("utf-8", "\udc00", 0, 1, "surrogates not allowed")
        self.loads = 0

    def load(self, batch, positions, quarantine=(), resolved=()) -> LoadResult:  # type: ignore[no-untyped-def]
        self.loads += 1
        if any(e.properties.get("marker") == BAD for _, out in batch for e in out.events):
            raise self.exc
        return super().load(batch, positions, quarantine, resolved)


def _raising_outcome(monkeypatch: pytest.MonkeyPatch, exc: Exception) -> None:
    real = pipeline.outcome

    def outcome(record: records.Record, prop: Any, last: Any = None) -> records.Outcome:
        if _marker(record) == BAD:
            raise exc
        return real(record, prop, last)

    monkeypatch.setattr(pipeline, "outcome", outcome)


FAULTS = [
    # (where the record raises, the exception)
    ("outcome", RecursionError("maximum recursion depth exceeded")),
    ("outcome", ValueError("Exceeds the limit (4300 digits) for integer string conversion")),
    ("outcome", UnicodeEncodeError("utf-8", "\udc00", 0, 1, "surrogates not allowed")),
    ("store", UnicodeEncodeError("utf-8", "\udc00", 0, 1, "surrogates not allowed")),
    ("store", KeyError("a future bug")),
]


@pytest.mark.parametrize(("where", "exc"), FAULTS, ids=[f"{w}-{type(e).__name__}" for w, e in FAULTS])
def test_a_bad_record_is_quarantined_and_every_other_loads_in_the_same_pass(
    tmp_path, monkeypatch, where, exc
):
    frames = [
        log_record("x", "x1"),
        log_record("y", "y1"),
        log_record("x", BAD),
        log_record("y", "y2"),
        log_record("x", "x2"),
    ]
    path = write_log(tmp_path, frames)
    store: Store
    if where == "outcome":
        _raising_outcome(monkeypatch, exc)
        store = MemoryStore()
    else:
        store = RefusingStore(exc)
    loader = Loader(tmp_path / "log", store, lambda: None)
    assert loader.run_once() == 5  # one pass: nothing waits for a retry
    assert stored_markers(store) == [("x", "x1"), ("x", "x2"), ("y", "y1"), ("y", "y2")]
    [row] = store.quarantined()
    assert (row.property, row.slot, row.error_type) == ("x", "w1", type(exc).__name__)
    assert str(exc)[:40] in row.error_message and type(exc).__name__ in row.traceback
    # raw and whole: the payload of the frame that starts at the row's position
    data = path.read_bytes()
    length = int.from_bytes(data[row.offset : row.offset + 4], "little")
    assert row.record == data[row.offset + 8 : row.offset + 8 + length]
    assert _marker(records.loads(row.record)) == BAD
    assert store.positions() == {"w1": Position(1, len(data))}
    assert loader.run_once() == 0  # nothing is retried forever
    assert [a.key for a in loader.alarms.active()] == ["quarantine"]
    assert "trackway quarantine retry" in loader.alarms.active()[0].message


def test_the_store_is_asked_again_in_halves_not_once_per_record(tmp_path):
    frames = [log_record("x" if n % 2 else "y", BAD if n == 37 else f"m{n}") for n in range(64)]
    write_log(tmp_path, frames)
    store = RefusingStore()
    loader = Loader(tmp_path / "log", store, lambda: None)
    assert loader.run_once() == 64
    assert len(stored_markers(store)) == 63 and store.quarantine_count() == 1
    assert store.loads <= 2 * 7 + 3  # log2(64) levels of two halves, the batch, the quarantine, the end


def test_an_unreadable_record_is_quarantined_not_dropped(tmp_path):
    junk = b"\x93not a record"
    write_log(tmp_path, [log_record("x", "x1"), log.frame(junk), log_record("x", "x2")])
    store = MemoryStore()
    Loader(tmp_path / "log", store, lambda: None).catch_up()
    assert stored_markers(store) == [("x", "x1"), ("x", "x2")]
    [row] = store.quarantined()
    assert (row.record, row.property, row.received_at) == (junk, "", None)


@pytest.mark.parametrize("store_kind", ["duckdb", "memory"])
def test_retry_after_the_fix_loads_the_record_and_empties_the_quarantine(tmp_path, monkeypatch, store_kind):
    write_log(tmp_path, [log_record("x", "x1"), log_record("x", BAD), log_record("y", BAD)])
    _raising_outcome(monkeypatch, RuntimeError("a decoder bug"))
    store = DuckStore(tmp_path / FILE_NAME) if store_kind == "duckdb" else MemoryStore()
    loader = Loader(tmp_path / "log", store, lambda: None)
    loader.catch_up()
    assert [(r.id, r.property) for r in store.quarantined()] == [(1, "x"), (2, "y")]

    report = loader.retry([1, 99])  # still broken: the row stays, with the new attempt
    assert (report.loaded, report.not_found, len(report.still_failing)) == (0, [99], 1)
    [again] = store.quarantined(ids=[1])
    assert (again.attempts, again.error_type) == (2, "RuntimeError")

    monkeypatch.undo()  # "the upgrade"
    report = loader.retry(None, prop="x")  # one property only
    assert (report.examined, report.loaded, report.events) == (1, 1, 1)
    assert [r.property for r in store.quarantined()] == ["y"]
    assert loader.alarms.active()[0].message.startswith("1 log record could not be loaded")
    report = loader.retry()
    assert (report.loaded, store.quarantine_count()) == (1, 0)
    assert sorted(m for _, m in stored_markers(store)) == [BAD, BAD, "x1"]
    assert loader.alarms.active() == []
    assert loader.retry([1]).not_found == [1]  # loaded once: a second retry finds nothing
    store.close()


class FullDisk(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.full = True

    def load(self, batch, positions, quarantine=(), resolved=()) -> LoadResult:  # type: ignore[no-untyped-def]
        if self.full:
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().load(batch, positions, quarantine, resolved)


def test_a_full_disk_quarantines_nothing_loses_nothing_and_is_reported_until_it_passes(tmp_path):
    write_log(tmp_path, [log_record("x", "x1"), log_record("y", "y1")])
    store = FullDisk()
    loader = Loader(tmp_path / "log", store, lambda: None)
    with pytest.raises(OSError, match="No space left"):
        loader.run_once()
    assert store.positions() == {} and store.quarantine_count() == 0
    [alarm] = loader.alarms.active()
    assert alarm.key == "store_write_failed" and "No space left on device" in alarm.message
    assert "free disk space" in alarm.message
    store.full = False
    assert loader.run_once() == 2
    assert stored_markers(store) == [("x", "x1"), ("y", "y1")]
    assert loader.alarms.active() == []


def test_a_failed_duckdb_commit_reports_its_own_error_not_the_rollback(tmp_path):
    write_log(tmp_path, [log_record("x", "x1")])
    store = DuckStore(tmp_path / FILE_NAME)
    store.checkpoint()
    wal = tmp_path / (FILE_NAME + ".wal")
    wal.mkdir()  # the commit cannot write its WAL, as on a full disk
    loader = Loader(tmp_path / "log", store, lambda: None)
    with pytest.raises(Exception, match="Failed to commit") as raised:
        loader.run_once()
    assert "no transaction is active" not in str(raised.value)
    assert store.fault(raised.value)
    assert store.quarantine_count() == 0 and store.positions() == {}
    assert "Failed to commit" in loader.alarms.active()[0].message
    wal.rmdir()
    assert loader.run_once() == 1 and stored_markers(store) == [("x", "x1")]
    assert loader.alarms.active() == []
    store.close()


def test_a_deleted_store_file_stops_loading_and_keeps_the_log(tmp_path):
    first = write_log(tmp_path, [log_record("x", "x1")], seq=1)
    write_log(tmp_path, [log_record("x", "x2")], seq=2)
    path = tmp_path / FILE_NAME
    store = DuckStore(path)
    loader = Loader(tmp_path / "log", store, lambda: None)
    assert loader.catch_up() == 2
    assert not first.exists()  # loaded and finished: deleted, as before
    write_log(tmp_path, [log_record("y", "y1")], seq=3)  # file 2 is finished now
    path.unlink()
    assert loader.run_once() == 0
    [alarm] = loader.alarms.active()
    assert alarm.key == "store_missing" and alarm.stops_loading
    assert "was deleted" in alarm.message and "restart the server" in alarm.message
    assert sorted(p.name for p in (tmp_path / "log" / "w1").iterdir()) == [
        log.segment_name(2),
        log.segment_name(3),
    ]
    store.close()
    # the restart: a new file at the path; the log still has what the lost file held after file 1
    again = DuckStore(path)
    assert Loader(tmp_path / "log", again, lambda: None).catch_up() == 2
    assert stored_markers(again) == [("x", "x2"), ("y", "y1")]
    again.close()


def test_a_store_replaced_by_another_file_is_noticed_too(tmp_path):
    path = tmp_path / FILE_NAME
    store = DuckStore(path)
    assert store.missing() is None
    os.rename(path, tmp_path / "moved.duckdb")
    path.write_bytes(b"")
    assert "was replaced by another file" in (store.missing() or "")
    store.close()


def test_an_alarm_that_stops_loading_holds_the_loader_until_cleared(tmp_path):
    write_log(tmp_path, [log_record("x", "x1")])
    store = MemoryStore()
    alarms = Alarms()
    alarms.raise_("log_damaged", "held for the test", stops_loading=True)
    loader = Loader(tmp_path / "log", store, lambda: None, alarms=alarms)
    assert loader.run_once() == 0 and store.events(Query()) == [] and store.positions() == {}
    alarms.clear("log_damaged")
    assert loader.run_once() == 1


def test_quarantine_rows_hold_what_json_can_show(tmp_path):
    write_log(tmp_path, [log_record("x", BAD)])
    store = RefusingStore(ValueError("bad \udc00 text"))
    Loader(tmp_path / "log", store, lambda: None).catch_up()
    [row] = store.quarantined()
    shown = msgspec.json.decode(msgspec.json.encode(row.to_json()))
    assert shown["error_message"] == "bad \ufffd text" and shown["record_bytes"] == len(row.record)
    assert shown["received_at"] is not None and datetime.fromisoformat(shown["received_at"]) <= datetime.now(
        UTC
    )


@pytest.mark.parametrize("amount", ["0E+30", "1." + "0" * 40, "1234567890123456789.123456789" + "0" * 13])
def test_an_amount_the_column_holds_in_an_odd_form_is_stored_not_quarantined(tmp_path, amount):
    """Valid MP purchases whose amounts DECIMAL(38, 9) holds but Arrow refused as written
    (a batch that failed, then the record quarantined) are stored, with their amounts."""
    body = (
        '{"client_id":"1.2","events":[{"name":"purchase","params":{"transaction_id":"T1","currency":"EUR",'
        f'"value":{amount},"items":[{{"item_id":"a","price":{amount},"quantity":1}}]}}}}]}}'
    )
    record = records.Record(
        records.RAW, records.uuid7(), "/mp/collect", "p", records.now_micros(), "ga4-mp", {}, body.encode()
    )
    write_log(tmp_path, [log.frame(records.dumps(record))])
    store = DuckStore(tmp_path / FILE_NAME)
    try:
        loader = Loader(tmp_path / "log", store, lambda: None)
        loader.catch_up()
        assert loader.stats.quarantined == 0
        (event,) = store.events(Query(limit=10))
        assert event.commerce is not None and event.commerce.items
        assert event.commerce.value == Decimal(amount) and event.commerce.items[0].price == Decimal(amount)
    finally:
        store.close()


def test_a_backlog_in_one_slot_does_not_starve_the_others(tmp_path, monkeypatch):
    """Batches smaller than either slot's backlog take turns: the second batch reads the
    second slot, not more of the first."""
    from trackway.ingest import loader as loader_module

    monkeypatch.setattr(loader_module, "MAX_BATCH_EVENTS", 3)
    for slot in ("w1", "w2"):
        write_log(tmp_path, [log_record("p", f"{slot}-{n}") for n in range(6)], slot=slot)
    store = MemoryStore()
    loader = Loader(tmp_path / "log", store, lambda: None)
    firsts = []
    for _ in range(4):
        assert loader.run_once() == 3
        firsts.append({m[1].split("-")[0] for m in stored_markers(store)})
    assert firsts[:2] == [{"w1"}, {"w1", "w2"}]
    assert loader.run_once() == 0
    assert len(stored_markers(store)) == 12


def test_a_damaged_files_alarm_outlives_a_restart_until_its_note_is_deleted(tmp_path: Path) -> None:
    """The alarm was raised only by the reader that met the damage: after a restart (or
    when a destination's reader met it) /health said ok while the file and its note stayed."""
    slot = tmp_path / "log" / "w1"
    slot.mkdir(parents=True)
    path = slot / log.segment_name(3)
    path.write_bytes(b"")
    path.with_suffix(log.DAMAGED).write_text("120 40\n900 8\n")
    loader = Loader(tmp_path / "log", MemoryStore(), lambda: None)  # a loader that never read it
    loader.recall_damage()
    [alarm] = loader.alarms.active()
    assert alarm.key == "log_damaged:w1/000000000003.log"
    assert "48 bytes in 2 places from offset 120" in alarm.message and str(path) in alarm.message
    loader.recall_damage()  # nothing new
    assert [a.key for a in loader.alarms.active()] == [alarm.key]
    path.with_suffix(log.DAMAGED).unlink()  # the operator is done with it
    loader.recall_damage()
    assert loader.alarms.active() == []


@pytest.mark.parametrize("busy", ["loading", "deferred"])
def test_a_damage_a_destination_meets_is_an_alarm_while_the_loader_never_idles(tmp_path, monkeypatch, busy):
    """The notes were looked for only between loads: under a load that never paused
    ("loading"), or while the pacer deferred the loader because acknowledgements filled
    the CPUs ("deferred"), a damaged file a destination's reader met stayed off /health."""
    import threading

    from trackway.ingest import loader as loader_module
    from trackway.ingest.pacing import Pacer

    monkeypatch.setattr(loader_module, "RECALL_S", 0.05)
    monkeypatch.setattr(loader_module, "WAIT", 0.01)
    slot = tmp_path / "log" / "w1"
    slot.mkdir(parents=True)
    busy_now = threading.Event()  # set once the loader is past its start (which looks too)

    def loads(*_: object) -> int:
        busy_now.set()
        return 1

    def defers(_through: float) -> bool:
        busy_now.set()
        return True  # the workers never ease

    pacer = Pacer(60)
    if busy == "deferred":
        monkeypatch.setattr(pacer, "should_wait", defers)
    loader = Loader(tmp_path / "log", MemoryStore(), lambda: None, pacer=pacer)
    monkeypatch.setattr(loader, "run_once", loads if busy == "loading" else lambda *_: pytest.fail("loaded"))
    stop = threading.Event()
    thread = threading.Thread(target=loader.run, args=(stop,), kwargs={"idle": 0.01})
    thread.start()
    try:
        assert busy_now.wait(5)
        assert loader.alarms.active() == []
        path = slot / log.segment_name(2)
        path.write_bytes(b"")
        path.with_suffix(log.DAMAGED).write_text("64 16\n")  # as a destination's reader notes it
        for _ in range(200):
            if loader.alarms.active():
                break
            stop.wait(0.01)
        assert [a.key for a in loader.alarms.active()] == ["log_damaged:w1/000000000002.log"]
    finally:
        stop.set()
        thread.join()
    assert (loader.stats.deferred_seconds > 0) == (busy == "deferred")


@pytest.mark.parametrize("error", [RuntimeError("a bug"), ValueError("a bad note"), MemoryError()])
def test_an_error_looking_for_damage_notes_never_ends_the_loader(tmp_path, monkeypatch, caplog, error):
    """recall_damage let every error but OSError out of the loader's thread, which ended it:
    nothing was loaded after. Now loading goes on, and the error is logged once."""
    import threading

    from trackway.ingest import loader as loader_module

    monkeypatch.setattr(loader_module, "RECALL_S", 0.01)

    def notes(_root: Path) -> dict[str, str]:
        raise error

    monkeypatch.setattr(log, "damage_notes", notes)
    store = MemoryStore()
    loader = Loader(tmp_path / "log", store, lambda: None)
    stop = threading.Event()
    thread = threading.Thread(target=loader.run, args=(stop,), kwargs={"idle": 0.01})
    thread.start()
    try:
        for n in range(3):  # written while it runs: each is loaded after some failed looks
            stop.wait(0.05)
            write_log(tmp_path, [log_record("p", f"m{n}")], seq=n + 1)
            for _ in range(300):
                if len(stored_markers(store)) > n:
                    break
                stop.wait(0.01)
        assert thread.is_alive()
        assert stored_markers(store) == [("p", "m0"), ("p", "m1"), ("p", "m2")]
    finally:
        stop.set()
        thread.join()
    logged = [r for r in caplog.records if r.exc_info and "notes could not be read" in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info is not None and logged[0].exc_info[1] is error


class DamagedFile(MemoryStore):
    """A store whose file cannot be read (a cut DuckDB file raises at every query) until fixed."""

    def __init__(self) -> None:
        super().__init__()
        self.broken = 2

    def positions(self) -> dict[str, Position]:
        if self.broken:
            self.broken -= 1
            raise OSError(errno.EIO, "the database file is damaged")
        return super().positions()


def test_a_failing_load_is_an_alarm_and_one_traceback_not_one_a_second(tmp_path, caplog):
    import threading

    write_log(tmp_path, [log_record("x", "x1")])
    store = DamagedFile()
    loader = Loader(tmp_path / "log", store, lambda: None)
    stop = threading.Event()
    seen: list[list[str]] = []

    def watch() -> None:  # the alarms while it fails, then once it loads
        while not stop.is_set():
            seen.append([a.key for a in loader.alarms.active()])
            if stored_markers(store):
                stop.set()
            stop.wait(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    loader.run(stop, idle=0.01)
    watcher.join()
    assert stored_markers(store) == [("x", "x1")]  # nothing lost once the file is fixed
    assert ["loader_failed"] in seen
    assert loader.alarms.active() == []  # cleared once a load goes through
    tracebacks = [r for r in caplog.records if r.exc_info and "loader failed" in r.getMessage()]
    assert len(tracebacks) == 1  # two failures, the same error: logged once
    assert "the database file is damaged" in str(tracebacks[0].exc_info[1])


class CountedPositions(MemoryStore):
    """A store that counts the loader's reads of its positions, and fails loads on demand."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self.fail_next = False

    def positions(self) -> dict[str, Position]:
        self.reads += 1
        return super().positions()

    def load(self, batch, positions, quarantine=(), resolved=()):  # type: ignore[no-untyped-def]
        if self.fail_next:
            self.fail_next = False
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().load(batch, positions, quarantine, resolved)


def test_the_loader_reads_the_stores_positions_once_and_again_after_a_failed_load(tmp_path):
    """An idle look queried the store's positions each time (0.36 of its 0.53 ms): the
    loader is their one writer, so it keeps what it committed, and reads them again only
    after a load that failed (halves of that batch may have committed)."""
    store = CountedPositions()
    loader = Loader(tmp_path / "log", store, lambda: None)
    write_log(tmp_path, [log_record("p", "a1")])
    assert loader.run_once() == 1
    for _ in range(5):
        assert loader.run_once() == 0  # idle looks
    assert store.reads == 1
    write_log(tmp_path, [log_record("p", "a2")])
    store.fail_next = True
    with pytest.raises(OSError, match="No space left"):
        loader.run_once()
    assert loader.run_once() == 1  # the same record again, from positions read anew
    assert store.reads == 2
    assert stored_markers(store) == [("p", "a1"), ("p", "a2")]
    assert loader.committed() == store.positions()
