"""The sync helper: answers, failures, its lifetime, and the file it holds."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.server import process_state
from trackway.ingest import log
from trackway.ingest.syncer import Syncer
from trackway.ingest.writer import LogWriter


def _gone_within(pid: int, seconds: float) -> bool:
    """Whether process ``pid`` exits (gone or a zombie) within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        state = process_state(pid)
        if state is None or state[0] == "Z":
            return True
        time.sleep(0.05)
    return False


def _open_files(pid: int) -> set[str]:
    found = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            found.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except FileNotFoundError:
            continue
    return found


async def _ask(syncer_fd: int, file: object) -> tuple[OSError | None, int | None]:
    """One sync request through a fresh Syncer: (its answer, the helper's pid)."""
    answer: asyncio.Future[OSError | None] = asyncio.get_running_loop().create_future()
    syncer = Syncer(answer.set_result)
    try:
        syncer.sync(syncer_fd, file)
        return await asyncio.wait_for(answer, 10), syncer.pid
    finally:
        syncer.close()


@pytest.mark.parametrize(
    ("kind", "errno"),
    [
        ("file", None),  # data made durable: answered without an error
        ("pipe", 22),  # fdatasync on a pipe: EINVAL, passed back as an OSError
    ],
)
def test_the_helper_answers_each_sync_with_its_outcome(tmp_path, kind, errno):
    if kind == "file":
        fd = os.open(tmp_path / "f", os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, b"data")
        other = -1
    else:
        fd, other = os.pipe()
    try:
        error, pid = asyncio.run(_ask(fd, object()))
    finally:
        os.close(fd)
        if other >= 0:
            os.close(other)
    assert (error.errno if error is not None else None) == errno
    assert pid is not None and _gone_within(pid, 5)  # close() stops the helper


@pytest.mark.parametrize("wait_for_exit", [True, False])
def test_a_helper_killed_mid_commit_fails_that_commit_and_the_next_gets_a_new_helper(tmp_path, wait_for_exit):
    async def run() -> tuple[list[object], list[int | None], list[bytes]]:
        writer = LogWriter(tmp_path, segment_bytes=1 << 20, max_pending=10)
        pids = []
        outcomes: list[object] = []
        try:
            await writer.append(b"first")
            pids.append(writer.helper_pid)
            os.kill(writer.helper_pid, signal.SIGKILL)
            if wait_for_exit:  # the helper is gone before the commit: it must fail
                assert _gone_within(writer.helper_pid, 10)
            try:
                await asyncio.wait_for(writer.append(b"second"), 10)
                outcomes.append("ok")
            except OSError as exc:  # HelperGone is an OSError
                outcomes.append(exc)
            seen = [r for _, r in log.read(tmp_path, log.Position(0, 0), 100) if r]
            await writer.append(b"third")
            outcomes.append("ok")
            pids.append(writer.helper_pid)
        finally:
            writer.close()
        return outcomes, pids, seen

    outcomes, pids, seen = asyncio.run(run())
    # Without the wait, the kill races the second commit. A failed commit (503) leaves
    # nothing to load: a client's retry would store it twice.
    assert outcomes[-1] == "ok"
    kept = [r for _, r in log.read(tmp_path, log.Position(0, 0), 100) if r]
    if outcomes[0] != "ok":
        assert "sync helper" in str(outcomes[0])
        assert seen == [b"first"]
        assert kept == [b"first", b"third"]
    else:
        assert not wait_for_exit
        assert kept == [b"first", b"second", b"third"]
    assert log.segments(tmp_path) == [1]  # the failure cut the file back and reused it
    assert pids[0] != pids[1] and pids[1] is not None


def test_the_helper_ignores_sigterm_and_exits_when_the_writer_closes(tmp_path):
    async def run() -> int | None:
        writer = LogWriter(tmp_path, segment_bytes=1 << 20, max_pending=10)
        try:
            await writer.append(b"one")
            pid = writer.helper_pid
            assert pid is not None
            os.kill(pid, signal.SIGTERM)  # as a signal to the whole process group would
            await asyncio.sleep(0.2)
            await writer.append(b"two")  # still served by the same helper
            assert writer.helper_pid == pid
        finally:
            writer.close()
        return pid

    pid = asyncio.run(run())
    assert pid is not None and _gone_within(pid, 5)


WORKER = """
import asyncio, os, signal, sys
from pathlib import Path
from trackway.ingest.writer import LogWriter

async def main():
    writer = LogWriter(Path(sys.argv[1]), segment_bytes=1 << 20, max_pending=10)
    await writer.append(b"acknowledged")
    print(writer.helper_pid, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)

asyncio.run(main())
"""


def test_the_helper_exits_when_its_worker_is_killed(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", WORKER, str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == -signal.SIGKILL
    pid = int(proc.stdout.strip())
    assert _gone_within(pid, 5)
    assert [r for _, r in log.read(tmp_path, log.Position(0, 0), 10) if r] == [b"acknowledged"]


def test_after_a_new_file_the_helper_syncs_the_new_file(tmp_path):
    async def run() -> list[set[str]]:
        writer = LogWriter(tmp_path, segment_bytes=1000, max_pending=10)
        held = []
        try:
            for n in range(4):
                await writer.append(bytes([65 + n]) * 1000)
                assert writer.helper_pid is not None
                held.append({Path(p).name for p in _open_files(writer.helper_pid) if p.endswith(log.SUFFIX)})
        finally:
            writer.close()
        return held

    held = asyncio.run(run())
    # Each record fills a 1000-byte file past its size, so every commit is in a new
    # file, and the helper holds that file's descriptor (and no other log file).
    assert held == [{log.segment_name(n)} for n in range(1, 5)]


def test_a_writer_used_from_a_second_event_loop_still_commits(tmp_path):
    writer = LogWriter(tmp_path, segment_bytes=1 << 20, max_pending=10)

    async def commit(payload: bytes) -> None:
        await asyncio.wait_for(writer.append(payload), 10)

    try:
        for payload in (b"first loop", b"second loop"):  # asyncio.run: a new loop each time
            asyncio.run(commit(payload))
    finally:
        writer.close()
    assert [r for _, r in log.read(tmp_path, log.Position(0, 0), 10) if r] == [b"first loop", b"second loop"]
