"""The log: framing, group commit, torn tails, finished files, the writer lock."""

from __future__ import annotations

import asyncio
import os

import pytest

from trackway.ingest import log
from trackway.ingest.log import LogWriter, Overloaded, Position

START = Position(0, 0)


def records(directory, start=START, limit=1_000_000):
    return [(p, r) for p, r in log.read(directory, start, limit)]


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
    assert payloads(tmp_path) == [b"kept", b"after"]


def test_a_partial_frame_in_the_newest_file_is_waited_for(tmp_path):
    asyncio.run(_write(tmp_path, [b"kept"]))
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
            with pytest.raises(RuntimeError, match="another process"):
                LogWriter(tmp_path, segment_bytes=1 << 20, max_pending=10)
        finally:
            first.close()

    asyncio.run(run())


def test_a_write_error_fails_the_waiting_requests_and_rolls_the_file(tmp_path):
    async def run():
        writer = LogWriter(tmp_path, segment_bytes=1 << 20, max_pending=10)
        real = os.pwrite
        calls = []

        def failing(fd, data, offset):
            calls.append(fd)
            if len(calls) == 1:
                raise OSError(28, "No space left on device")
            if len(calls) == 2:  # then a short write, as a disk filling up mid-write gives
                return real(fd, data[: len(data) // 2], offset)
            return real(fd, data, offset)

        os.pwrite = failing
        try:
            with pytest.raises(OSError, match="No space left"):
                await writer.append(b"lost")
            with pytest.raises(OSError, match="disk full"):
                await writer.append(b"half")
            await writer.append(b"saved")
        finally:
            os.pwrite = real
            writer.close()

    asyncio.run(run())
    assert payloads(tmp_path) == [b"saved"]
    assert len(log.segments(tmp_path)) == 3  # each failure leaves its file


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
