"""The log: framing, group commit, torn tails, damage, commit marks, failed commits,
finished files, the writer lock."""

from __future__ import annotations

import asyncio
import errno
import os

import pytest

from trackway.errors import CommitFailed, LogLocked, Overloaded
from trackway.ingest import log
from trackway.ingest import writer as writer_module
from trackway.ingest.log import Position
from trackway.ingest.writer import LogWriter

START = Position(0, 0)


def records(directory, start=START, limit=1_000_000, damaged=None):
    return [(p, r) for p, r in log.read(directory, start, limit, damaged)]


def payloads(directory, start=START):
    return [r for _, r in records(directory, start) if r]


async def _write(directory, items, **kw):
    writer = LogWriter(
        directory, segment_bytes=kw.get("segment_bytes", 1 << 20), max_pending=kw.get("max_pending", 1000)
    )
    try:
        await asyncio.gather(*(writer.append(p) for p in items))
    finally:
        writer.close()
    return writer


def test_appended_records_read_back_in_order(tmp_path):
    items = [f"record {n}".encode() * (n + 1) for n in range(50)]
    asyncio.run(_write(tmp_path, items))
    assert payloads(tmp_path) == items


def test_concurrent_appends_share_writes(tmp_path):
    writer = asyncio.run(_write(tmp_path, [b"x" * 100] * 500))
    assert writer.stats.records == 500
    assert writer.stats.batches < 500  # group commit: several requests per fdatasync


def test_reading_resumes_from_a_position(tmp_path):
    asyncio.run(_write(tmp_path, [b"a", b"b", b"c"]))
    seen = records(tmp_path)
    assert [r for _, r in records(tmp_path, seen[0][0])] == [b"b", b"c"]
    assert records(tmp_path, seen[-1][0]) == []


def test_each_writer_starts_a_new_file_and_old_files_are_finished(tmp_path):
    asyncio.run(_write(tmp_path, [b"one"]))
    asyncio.run(_write(tmp_path, [b"two"]))
    assert log.segments(tmp_path) == [1, 2]
    seen = records(tmp_path)
    assert [r for _, r in seen] == [b"one", b"", b"two"]  # b"": the marker leaving file 1
    last = seen[-1][0]
    assert last.seq == 2
    assert log.finished_segments(tmp_path, last) == [tmp_path / log.segment_name(1)]


def test_files_roll_at_the_segment_size(tmp_path):
    async def one_at_a_time():
        writer = LogWriter(tmp_path, segment_bytes=2500, max_pending=1)
        try:
            for _ in range(10):
                await writer.append(b"x" * 1000)
        finally:
            writer.close()

    asyncio.run(one_at_a_time())
    assert len(log.segments(tmp_path)) >= 3
    assert payloads(tmp_path) == [b"x" * 1000] * 10


@pytest.mark.parametrize(
    "tail", [b"\x10\x00", log.frame(b"torn record")[:-3], log.frame(b"bad crc")[:-1] + b"!"]
)
def test_a_torn_tail_in_a_finished_file_is_skipped(tmp_path, tail):
    asyncio.run(_write(tmp_path, [b"kept"]))
    with open(tmp_path / log.segment_name(1), "ab") as f:
        f.write(tail)
    asyncio.run(_write(tmp_path, [b"after"]))
    reports = []
    assert [r for _, r in records(tmp_path, damaged=lambda *a: reports.append(a)) if r] == [b"kept", b"after"]
    assert reports == []  # a torn tail is what a crash leaves: not damage
    assert not (tmp_path / f"{1:012d}{log.DAMAGED}").exists()


def test_a_writer_seals_the_files_it_leaves_with_their_committed_end(tmp_path):
    asyncio.run(_write(tmp_path, [b"one", b"two"]))
    first = tmp_path / log.segment_name(1)
    assert log.sealed_end(first) == first.stat().st_size == 2 * (8 + 3)
    asyncio.run(_write(tmp_path, [b"three"]))
    assert log.sealed_end(tmp_path / log.segment_name(2)) == 8 + 5
    log.delete(first)
    assert not first.exists() and log.sealed_end(first) is None
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("0")) == [
        f"{2:012d}{log.SEALED}",
        log.segment_name(2),
    ]


@pytest.mark.parametrize("cut", [1, 7, 300, "one record", "all"])
def test_a_sealed_files_lost_tail_is_reported_and_its_file_kept(tmp_path, cut):
    """A finished file cut short after it was sealed (a full disk during a copy, a
    restore): the records before the cut are read, the missing bytes are reported as
    damage (the loader raises the alarm log_damaged), and the file is never deleted."""
    items = [b"record %04d " % n + b"x" * (n % 50) for n in range(100)]
    asyncio.run(_write(tmp_path, items))
    asyncio.run(_write(tmp_path, [b"next file"]))
    path = tmp_path / log.segment_name(1)
    ends = [0] + [p.offset for p, r in records(tmp_path) if r and p.seq == 1]
    size = path.stat().st_size
    keep = ends[-2] if cut == "one record" else 0 if cut == "all" else size - int(cut)
    os.truncate(path, keep)
    reports = []
    read = records(tmp_path, damaged=lambda *a: reports.append(a))
    whole = [n for n in range(len(items)) if ends[n + 1] <= keep]
    assert [r for _, r in read if r] == [items[n] for n in whole] + [b"next file"]
    last = ends[len(whole)]
    assert reports == [(path, last, size - last)]
    assert (tmp_path / f"{1:012d}{log.DAMAGED}").read_text() == f"{last} {size - last}\n"
    assert log.finished_segments(tmp_path, read[-1][0]) == []  # never deleted


def _killed_writer(directory, items):
    """What a writer killed while writing ``items``' file leaves: the records (committed:
    acknowledged), its commit mark, and no seal."""
    asyncio.run(_write(directory, items))
    path = directory / log.segment_name(log.segments(directory)[-1])
    log.unseal(path)
    return path


@pytest.mark.parametrize(
    "tail", [b"\x10\x00", log.frame(b"torn record")[:-3], log.frame(b"bad crc")[:-1] + b"!", bytes(4096)]
)
def test_a_killed_writers_torn_tail_past_its_mark_is_what_a_crash_left_and_not_reported(tmp_path, tail):
    path = _killed_writer(tmp_path, [b"kept", b"also kept"])
    committed = path.stat().st_size
    with open(path, "ab") as f:
        f.write(tail)  # a write under way when the writer was killed: never acknowledged
    asyncio.run(_write(tmp_path, [b"after"]))  # the next writer seals the file at the mark
    assert log.sealed_end(path) == committed
    reports = []
    read = [r for _, r in records(tmp_path, damaged=lambda *a: reports.append(a)) if r]
    assert read == [b"kept", b"also kept", b"after"]
    assert reports == []


@pytest.mark.parametrize("cut", [1, 2, "one record", "all"])
def test_a_killed_writers_file_that_lost_committed_bytes_is_reported(tmp_path, cut):
    """A file left by a killed writer, cut short before or after the next writer started
    (a restore, a full disk during a copy): its writer's mark says what was committed,
    so the loss is reported as for a file its writer sealed (it used to pass for a torn
    tail: the events were lost with no alarm)."""
    path = _killed_writer(tmp_path, [b"first", b"second"])
    size = path.stat().st_size
    keep = len(log.frame(b"first")) if cut == "one record" else 0 if cut == "all" else size - int(cut)
    os.truncate(path, keep)
    asyncio.run(_write(tmp_path, [b"after"]))
    assert log.sealed_end(path) == size
    reports = []
    read = [r for _, r in records(tmp_path, damaged=lambda *a: reports.append(a)) if r]
    whole = len(log.frame(b"first")) if keep >= len(log.frame(b"first")) else 0
    assert read == [b"first"] * (whole > 0) + [b"after"]
    assert reports == [(path, whole, size - whole)]


def test_the_next_writer_keeps_a_seal_and_seals_no_file_that_is_gone(tmp_path):
    asyncio.run(_write(tmp_path, [b"sealed by its writer"]))
    first = tmp_path / log.segment_name(1)
    first.with_suffix(log.SEALED).write_bytes(b"3\n")  # whatever the seal says stays
    asyncio.run(_write(tmp_path, [b"second"]))
    assert log.sealed_end(first) == 3
    third = _killed_writer(tmp_path, [b"third" * 100])
    log.delete(third)  # loaded and deleted before the next writer started
    asyncio.run(_write(tmp_path, [b"4"]))  # whose file takes the free number 3
    assert third.exists() and log.sealed_end(third) == third.stat().st_size == len(log.frame(b"4"))


def test_a_partial_frame_in_the_newest_file_is_waited_for(tmp_path):
    asyncio.run(_write(tmp_path, [b"kept"]))
    (tmp_path / log.COMMITTED).unlink()  # a log without a commit mark: read up to a whole frame
    path = tmp_path / log.segment_name(1)
    frame = log.frame(b"in progress")
    with open(path, "ab") as f:
        f.write(frame[:5])
    seen = records(tmp_path)
    assert [r for _, r in seen] == [b"kept"]
    with open(path, "ab") as f:
        f.write(frame[5:])
    assert [r for _, r in records(tmp_path, seen[-1][0])] == [b"in progress"]


@pytest.mark.parametrize(
    ("max_pending", "payload", "error", "match"),
    [
        (0, b"x", Overloaded, None),  # the queue is bounded
        (10, b"", ValueError, "empty"),  # a zero length marks the end of the data
    ],
)
def test_append_refuses(tmp_path, max_pending, payload, error, match):
    async def run():
        writer = LogWriter(tmp_path, segment_bytes=1 << 20, max_pending=max_pending)
        try:
            with pytest.raises(error, match=match):
                writer.append(payload)
        finally:
            writer.close()

    asyncio.run(run())


def test_one_writer_per_directory(tmp_path):
    async def run():
        first = LogWriter(tmp_path, segment_bytes=1 << 20, max_pending=10)
        try:
            with pytest.raises(LogLocked, match="another process"):
                LogWriter(tmp_path, segment_bytes=1 << 20, max_pending=10)
        finally:
            first.close()

    asyncio.run(run())


@pytest.mark.parametrize("failures", [1, 3, 200])
@pytest.mark.parametrize("how", ["enospc", "short"])
def test_failed_writes_fail_their_requests_and_reuse_the_file(tmp_path, monkeypatch, failures, how):
    """A full disk: every commit fails (503), no commit opens a file of its own, and the
    writer goes on in the same file once the disk has room again."""
    real = os.pwrite
    calls = []

    def failing(fd, data, offset):
        calls.append(offset)
        if len(calls) > failures:
            return real(fd, data, offset)
        if how == "enospc":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, data[: len(data) // 2], offset)  # a disk filling up mid-write

    async def run():
        writer = LogWriter(tmp_path, segment_bytes=1 << 20, max_pending=10)
        try:
            await writer.append(b"before")
            calls.clear()
            monkeypatch.setattr(os, "pwrite", failing)
            for n in range(failures):
                with pytest.raises(OSError, match="No space left" if how == "enospc" else "disk full"):
                    await writer.append(b"lost %d" % n)
                assert writer.stats.failing, "the writer should say it is failing"
            await writer.append(b"saved")
            assert writer.stats.failing == ""
            return writer.stats.errors
        finally:
            writer.close()

    errors = asyncio.run(run())
    assert errors == failures
    assert payloads(tmp_path) == [b"before", b"saved"]
    assert log.segments(tmp_path) == [1]


class HeldSyncer:
    """A sync helper that answers when the test says so."""

    pid = None

    def __init__(self, writer):
        self.writer = writer
        self.asked = 0

    def sync(self, fd, file):
        self.asked += 1

    def answer(self, error):
        self.writer._synced(error)

    def close(self):
        pass


@pytest.mark.parametrize("cut", ["ftruncate", "zeros", "abandon"])
def test_a_failed_commits_records_are_never_read(tmp_path, monkeypatch, cut):
    """A commit whose fdatasync fails is answered 503: its records must never load (a
    client's retry would store them twice), not even if the loader looks while the
    commit is in flight, and whether the file is cut back, zeroed or abandoned."""

    async def run():
        writer = LogWriter(tmp_path, segment_bytes=1 << 20, max_pending=10)
        held = writer._syncer = HeldSyncer(writer)
        try:
            first = writer.append(b"acknowledged")
            await asyncio.sleep(0)
            held.answer(None)
            await first
            failed = writer.append(b"failed")
            await asyncio.sleep(0)
            assert held.asked == 2
            in_flight = payloads(tmp_path)  # written into the page cache, not yet durable
            if cut != "ftruncate":
                monkeypatch.setattr(os, "ftruncate", _raise)
            if cut == "abandon":
                monkeypatch.setattr(writer_module, "_write_all", _raise)
            held.answer(OSError(errno.EIO, "Input/output error"))
            with pytest.raises(CommitFailed):
                await failed
            after_failure = payloads(tmp_path)
            monkeypatch.undo()
            later = writer.append(b"later")
            await asyncio.sleep(0)
            held.answer(None)
            await later
            return in_flight, after_failure
        finally:
            writer.close()

    in_flight, after_failure = asyncio.run(run())
    assert in_flight == [b"acknowledged"]
    assert after_failure == [b"acknowledged"]
    assert payloads(tmp_path) == [b"acknowledged", b"later"]
    asyncio.run(_write(tmp_path, [b"next start"]))  # every earlier file is finished now
    assert payloads(tmp_path) == [b"acknowledged", b"later", b"next start"]
    assert len(log.segments(tmp_path)) == (3 if cut == "abandon" else 2)


def _raise(*args, **kw):
    raise OSError(errno.EIO, "Input/output error")


def test_records_past_the_commit_mark_are_read_once_the_file_is_finished(tmp_path):
    asyncio.run(_write(tmp_path, [b"kept"]))
    with open(tmp_path / log.segment_name(1), "ab") as f:  # written, never acknowledged (a crash)
        f.write(log.frame(b"unacknowledged"))
    assert payloads(tmp_path) == [b"kept"]
    asyncio.run(_write(tmp_path, [b"after"]))  # the next writer: file 1 is finished
    assert payloads(tmp_path) == [b"kept", b"unacknowledged", b"after"]


def _flip(path, offset, mask=0x10):
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([byte ^ mask]))


@pytest.mark.parametrize(
    ("where", "mask"),
    [
        ("payload", 0x10),  # the CRC does not match
        ("crc", 0x01),
        ("length", 0x40),  # an impossible length (past MAX_RECORD)
        ("length", 0x02),  # a wrong length that fits in the file
        ("zero", 0xFF),  # the length's low byte cleared: looks like the end of the data
    ],
)
@pytest.mark.parametrize("finished", [True, False])
def test_a_damaged_frame_is_skipped_reported_and_its_file_kept(tmp_path, where, mask, finished):
    """One bad byte 25% into a file: every record after it is still read, the damage is
    reported once per read with its place and size, and the file is never deleted."""
    items = [b"record %04d " % n + b"x" * (n % 50) for n in range(400)]
    asyncio.run(_write(tmp_path, items))
    path = tmp_path / log.segment_name(1)
    ends = [0] + [p.offset for p, r in records(tmp_path) if r]
    hit = len(items) // 4
    start = ends[hit]
    offset = {"payload": start + 12, "crc": start + 5, "length": start + 3, "zero": start}[where]
    if where == "zero":
        with open(path, "r+b") as f:
            f.seek(start)
            f.write(bytes([0]))
    else:
        _flip(path, offset, mask)
    if finished:
        asyncio.run(_write(tmp_path, [b"next file"]))
    reports = []
    read = records(tmp_path, damaged=lambda *a: reports.append(a))
    expected = items[:hit] + items[hit + 1 :] + ([b"next file"] if finished else [])
    assert [r for _, r in read if r] == expected
    assert reports == [(path, start, ends[hit + 1] - start)]
    assert (tmp_path / f"{1:012d}{log.DAMAGED}").read_text() == f"{start} {ends[hit + 1] - start}\n"
    assert log.finished_segments(tmp_path, read[-1][0]) == []  # never deleted
    records(tmp_path, damaged=lambda *a: reports.append(a))  # read again: noted once
    assert (tmp_path / f"{1:012d}{log.DAMAGED}").read_text().count("\n") == 1


@pytest.mark.parametrize("chunk", [9, 64, 1000])
def test_records_across_chunk_boundaries_read_back(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(log, "CHUNK", chunk)
    items = [bytes([n % 251 + 1]) * n for n in (1, 7, 8, 9, 63, 64, 65, 500, 2000, 3)]
    asyncio.run(_write(tmp_path, items))
    seen = records(tmp_path)
    assert [r for _, r in seen] == items
    middle = seen[4][0]
    assert [r for _, r in records(tmp_path, middle)] == items[5:]


def test_the_file_being_written_is_ahead_of_its_data_and_read_up_to_it(tmp_path):
    async def run():
        writer = LogWriter(tmp_path, segment_bytes=1 << 30, max_pending=10)
        path = tmp_path / log.segment_name(1)
        try:
            await writer.append(b"first")
            assert path.stat().st_size >= log.EXTEND  # zeros written ahead of the data
            seen = records(tmp_path)
            assert [r for _, r in seen] == [b"first"]
            await writer.append(b"second")
            assert [r for _, r in records(tmp_path, seen[-1][0])] == [b"second"]
            big = b"y" * (log.EXTEND * 2 + 5)  # a record larger than a whole extension
            await writer.append(big)
            assert payloads(tmp_path) == [b"first", b"second", big]
        finally:
            writer.close()
        frames = len(log.frame(b"first")) + len(log.frame(b"second")) + len(log.frame(big))
        assert path.stat().st_size == frames  # a file left behind is cut back to its data

    asyncio.run(run())


def test_a_crashed_writers_zeros_end_its_file(tmp_path):
    asyncio.run(_write(tmp_path, [b"kept"]))
    with open(tmp_path / log.segment_name(1), "ab") as f:
        f.write(bytes(log.EXTEND))  # as a writer killed before cutting its file back leaves it
    asyncio.run(_write(tmp_path, [b"after"]))
    assert payloads(tmp_path) == [b"kept", b"after"]


@pytest.mark.parametrize(
    ("content", "start", "expected"),
    [
        (b"", 0, 0),
        (b"\0" * 100, 0, 0),
        (b"abc" + b"\0" * 100_000, 0, 3),
        (b"abc" + b"\0" * 100_000, 2, 3),
        (b"abc", 5, 5),
        (b"x" * 70_000 + b"\0" * 10, 0, 70_000),
        (b"rec\0\0" + b"\0" * 10, 0, 3),  # a record ending in zeros: short of its end, past its start
    ],
)
def test_data_end_ignores_the_zeros_ahead_of_the_data(tmp_path, content, start, expected):
    path = tmp_path / "f.log"
    path.write_bytes(content)
    assert log.data_end(path, start) == expected


@pytest.mark.parametrize("busy", [False, True], ids=["between commits", "during a commit"])
def test_roll_starts_a_new_segment_at_once_or_after_the_commit_under_way(tmp_path, busy):
    """A forget asks workers to roll (run/log-rotate) so the segment holding raw requests
    is finished and can be scrubbed; a commit under way finishes in the old file first."""

    async def run():
        writer = LogWriter(tmp_path, segment_bytes=1 << 20, max_pending=100)
        try:
            writer.roll()  # an empty segment is never rolled
            await writer.append(b"first")
            if busy:
                pending = writer.append(b"second")  # scheduled, not yet written
                writer.roll()
                await pending
            else:
                writer.roll()
            await writer.append(b"third")
        finally:
            writer.close()

    asyncio.run(run())
    assert log.segments(tmp_path) == [1, 2]
    first = [r for p, r in records(tmp_path) if r and p.seq == 1]
    assert first == ([b"first", b"second"] if busy else [b"first"])
    assert payloads(tmp_path)[-1] == b"third"


def test_a_rotation_request_is_seen_once_per_segment(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    assert not log.rotation_requested(run, 0.0)  # no request yet
    (run / log.ROTATE).write_text("now")
    stamp = (run / log.ROTATE).stat().st_mtime
    assert log.rotation_requested(run, stamp - 1)  # asked after the segment was opened
    assert not log.rotation_requested(run, stamp + 1)  # the segment opened after the request


@pytest.mark.parametrize("seal", [b"", b"12", b"abc\n", b"-5\n", b"1" * 40 + b"\n", b"\xff\xfe\n"])
def test_a_seal_that_cannot_be_read_is_no_seal(tmp_path, seal):
    """A torn or overwritten seal: the file is read as a crash left it, no false loss."""
    asyncio.run(_write(tmp_path, [b"kept"]))
    asyncio.run(_write(tmp_path, [b"after"]))
    path = tmp_path / log.segment_name(1)
    path.with_suffix(log.SEALED).write_bytes(seal)
    assert log.sealed_end(path) is None
    reports = []
    assert [r for _, r in records(tmp_path, damaged=lambda *a: reports.append(a)) if r] == [b"kept", b"after"]
    assert reports == []


@pytest.mark.parametrize(
    ("note", "places"),
    [
        (b"120 40\n", [(120, 40)]),
        (b"120 40\nnot a place\n-5 3\n7 x\n 8 9\n900 8", [(120, 40), (900, 8)]),
        (b"", []),
        (b"\xff\xfe\x00 garbage", None),  # not text: no alarm from it
        (b"1" * 5000 + b" 2\n", []),  # int() refused it: the loader's thread died
        (b"1" * 20 + b" 2\n", [(int("1" * 20), 2)]),
        (b"\n" * 10_000, []),
    ],
)
def test_a_damaged_note_of_any_content_gives_its_valid_places_or_none(tmp_path, note, places):
    slot = tmp_path / "w1"
    slot.mkdir()
    path = slot / log.segment_name(1)
    path.write_bytes(b"")
    path.with_suffix(log.DAMAGED).write_bytes(note)
    found = log.damage_notes(tmp_path)
    if not places:
        assert found == {}
    else:
        assert list(found) == ["log_damaged:w1/000000000001.log"]
        assert f"{sum(n for _, n in places)} bytes" in found["log_damaged:w1/000000000001.log"]


@pytest.mark.parametrize("mark", [b"", b"\x00" * 3, b"garbage" * 10, bytes(range(40))])
def test_a_mark_that_does_not_read_seals_nothing_at_the_next_start(tmp_path, mark):
    path = _killed_writer(tmp_path, [b"kept"])
    (tmp_path / log.COMMITTED).write_bytes(mark)
    asyncio.run(_write(tmp_path, [b"after"]))
    assert log.sealed_end(path) is None  # read as a crash left it
    assert payloads(tmp_path) == [b"kept", b"after"]
