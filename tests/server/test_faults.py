"""Faults of the disk and the configuration, in one process (tests/support/inproc.py):
what a client is told, what /health and /metrics say, and what is stored.

- A full disk: every commit fails; each request is answered 503 (nothing acknowledged is
  lost), no file is opened per failure, /health says the log is failing, /metrics counts
  the failed commits, and the writer goes on in the same file once there is room.
- A commit that fails after its write (the sync helper killed): the 503'd request is never
  stored, so the client's retry stores it once.
- A bad trackway.toml: the worker keeps the last good configuration, tries the bad file
  once (not at every request with an unknown key), and /health says degraded.
"""

from __future__ import annotations

import errno
import os
import signal
import time

import anyio
import pytest

from tests.support.server import process_state
from trackway import config as configuration
from trackway.ingest import log

pytestmark = pytest.mark.anyio


def _body(h, marker: str) -> dict:
    event = [
        "event",
        "add_to_cart",
        {"currency": "EUR", "value": 1, "items": [{"item_id": "a"}], "marker": marker},
    ]
    return {"key": h.keys()["collect_key"], "events": [event]}


def _markers(events) -> list[str]:
    return sorted(str(e.properties.get("marker")) for e in events if e.properties.get("marker"))


@pytest.mark.parametrize("failed_requests", [1, 40])
async def test_a_full_disk_answers_503_reports_it_and_recovers_in_the_same_file(
    h, monkeypatch, failed_requests
):
    assert (await h.client.post("/collect", json=_body(h, "before"))).status_code == 200
    real = os.pwrite

    def full(fd, data, offset):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "pwrite", full)
    statuses = [
        (await h.client.post("/collect", json=_body(h, f"refused-{n}"))).status_code
        for n in range(failed_requests)
    ]
    health = await h.client.get("/health")
    metrics = (await h.client.get("/metrics")).text
    monkeypatch.setattr(os, "pwrite", real)

    assert statuses == [503] * failed_requests
    assert health.status_code == 503, health.text
    assert health.json()["status"] == "unavailable" and health.json()["log"] == "failing"
    assert "No space left" in health.json()["log_error"]
    assert f'trackway_commit_failures_total{{worker="worker"}} {failed_requests}' in metrics
    assert log.segments(h.writer.directory) == [1], "a failed commit must not open a file of its own"

    # room again, and no event yet: a readiness probe must see it (503 kept it out for good);
    # the disk is tried at most once a second
    deadline = time.monotonic() + 10
    health = await h.client.get("/health")
    while health.status_code != 200 and time.monotonic() < deadline:
        await anyio.sleep(0.2)
        health = await h.client.get("/health")
    assert health.status_code == 200 and health.json()["log"] == "writable", health.text
    assert not [p.name for p in h.writer.directory.iterdir() if p.name.startswith(".health")]
    assert (await h.client.post("/collect", json=_body(h, "after"))).status_code == 200
    health = await h.client.get("/health")
    assert health.status_code == 200 and health.json()["log"] == "writable", health.text
    assert _markers(await h.events()) == ["after", "before"]  # acked: 2, stored: 2, refused: none stored


def _gone(pid: int) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        state = process_state(pid)
        if state is None or state[0] == "Z":
            return True
        time.sleep(0.02)
    return False


async def test_a_request_answered_503_is_not_stored_and_its_retry_is_stored_once(h):
    assert (await h.client.post("/collect", json=_body(h, "first"))).status_code == 200
    helper = h.writer.helper_pid
    assert helper is not None
    os.kill(helper, signal.SIGKILL)
    assert _gone(helper), "the sync helper should have exited"

    refused = await h.client.post("/collect", json=_body(h, "retried"))
    assert refused.status_code == 503, refused.text
    assert (await h.client.post("/collect", json=_body(h, "retried"))).status_code == 200  # the retry
    assert _markers(await h.events()) == ["first", "retried"]  # not "retried" twice


async def test_a_bad_configuration_file_keeps_the_last_good_one_and_is_tried_once(h, monkeypatch):
    key = h.keys()["collect_key"]
    path = h.cfg.path
    good = path.read_text()
    path.write_text(good + "\n[properties.x]\ncollect_key = '" + key + "'\n")  # a key used twice
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 1_000_000_000))
    loads = []
    real = configuration.load
    monkeypatch.setattr(configuration, "load", lambda p: loads.append(p) or real(p))

    unknown = {"key": "tw_unknown", "events": _body(h, "x")["events"]}
    statuses = [(await h.client.post("/collect", json=unknown)).status_code for _ in range(20)]
    health = await h.client.get("/health")
    known = await h.client.post("/collect", json=_body(h, "still-served"))

    assert statuses == [401] * 20
    assert len(loads) == 1, f"the bad file should be read once, was read {len(loads)} times"
    assert health.status_code == 200 and health.json()["status"] == "degraded", health.text
    [alarm] = health.json()["alarms"]
    assert alarm["key"] == "config_invalid" and "last good configuration" in alarm["message"]
    assert key not in health.text  # the duplicated key is never quoted
    assert known.status_code == 200

    path.write_text(good)
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 2_000_000_000))
    assert (await h.client.post("/collect", json=unknown)).status_code == 401  # re-reads the new file
    health = await h.client.get("/health")
    assert health.status_code == 200 and health.json()["status"] == "ok", health.text
    assert "alarms" not in health.json()


async def test_a_flipped_byte_in_the_log_loses_one_record_and_is_reported(h):
    """One flipped byte 25% into an unloaded log file: the records after it are loaded,
    the damage is an alarm (on the store's /health), and the file is kept with a note."""
    sent = [f"m{n:03d}" for n in range(200)]
    for marker in sent:
        assert (await h.client.post("/collect", json=_body(h, marker))).status_code == 200
    directory = h.writer.directory
    path = directory / log.segment_name(log.segments(directory)[-1])
    ends = [0] + [p.offset for p, r in log.read(directory, log.Position(0, 0), 10_000) if r]
    hit = len(sent) // 4
    with open(path, "r+b") as f:  # a byte in the middle of record `hit`'s payload
        f.seek((ends[hit] + ends[hit + 1]) // 2)
        byte = f.read(1)[0]
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte ^ 0x20]))

    stored = _markers(await h.events())

    assert stored == sent[:hit] + sent[hit + 1 :]  # acked 200, stored 199, lost 1 (the damaged one)
    # The store process's /health lists the loader's alarms (the in-process harness's admin
    # API has alarms of its own, so they are read from the loader here).
    [alarm] = [a for a in h.loader.alarms.active() if a.key.startswith("log_damaged:")]
    assert alarm.key == f"log_damaged:{directory.name}/{path.name}"
    assert f"{ends[hit + 1] - ends[hit]} bytes at offset {ends[hit]}" in alarm.message
    assert path.with_suffix(log.DAMAGED).exists()
