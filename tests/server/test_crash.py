"""Crash tests: a 2xx means the event is on disk, and it is stored exactly once.

Client threads send events without pause; the server (supervisor and workers) is
SIGKILLed in the middle and started again on the same data dir. Every marker that
got a 2xx must be stored exactly once, and no marker more than once (an
unacknowledged request may or may not have reached the log). A torn frame at the
end of a worker's log file is ignored after a restart.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.server import Server, cli, loads, log_record, serving, wait_for
from trackway.ingest import log

THREADS = 8
LOAD_SECONDS = 1.5
MIN_ACKED = 100


@pytest.fixture
def server(tmp_path):
    with serving(tmp_path / "data") as s:
        yield s


def _gtag(marker: str) -> list[Any]:
    items = [{"item_id": "SKU_1", "price": 9.5, "quantity": 1}]
    return ["event", "add_to_cart", {"currency": "EUR", "value": 9.5, "items": items, "crash_marker": marker}]


def _commanders(marker: str) -> dict[str, Any]:
    context = {"event_id": marker, "event_timestamp": int(time.time() * 1000)}
    return {"event_name": "search", "search_term": "tee", "context": context, "user": {"id": "u1"}}


def _mp(markers: list[str]) -> dict[str, Any]:
    events = [{"name": "crash_test", "params": {"crash_marker": m}} for m in markers]
    return {"client_id": "555.1", "events": events}


class Load:
    """Client threads sending /collect, /events and /mp/collect requests with unique markers."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.keys = server.keys()
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.sent: set[str] = set()
        self.acked: set[str] = set()
        self.commanders: dict[str, dict[str, Any]] = {}  # marker -> body, to send again
        self.threads = [threading.Thread(target=self.run, args=(t,)) for t in range(THREADS)]

    def request(self, http: httpx.Client, kind: int, tag: str) -> tuple[list[str], httpx.Request]:
        url, keys = self.server.url, self.keys
        if kind == 0:  # /collect: one to three gtag payloads, no client id
            markers = [f"{tag}.{j}" for j in range(1 + len(tag) % 3)]
            body = {"key": keys["collect_key"], "events": [_gtag(m) for m in markers]}
            return markers, http.build_request("POST", f"{url}/collect", json=body)
        if kind == 1:  # /events: the marker is the client's event id
            marker = f"ca-{tag}"
            body = _commanders(marker)
            with self.lock:
                self.commanders[marker] = body
            params = Server.ca_params(keys)
            return [marker], http.build_request("POST", f"{url}/events", params=params, json=body)
        markers = [f"{tag}.{j}" for j in range(1 + len(tag) % 2)]  # /mp/collect: one or two events
        params = Server.mp_params(keys)
        return markers, http.build_request("POST", f"{url}/mp/collect", params=params, json=_mp(markers))

    def run(self, t: int) -> None:
        with httpx.Client(timeout=30) as http:
            n = 0
            while not self.stop.is_set():
                n += 1
                markers, request = self.request(http, (t + n) % 3, f"t{t}-{n}")
                with self.lock:
                    self.sent.update(markers)
                try:
                    ok = http.send(request).is_success
                except httpx.HTTPError:
                    ok = False  # the server died under this request: not acknowledged
                    time.sleep(0.01)
                if ok:
                    with self.lock:
                        self.acked.update(markers)

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)


def stored_markers(events: list[dict[str, Any]]) -> Counter[str]:
    found: Counter[str] = Counter()
    for e in events:
        props = e.get("properties", {})
        marker = props.get("crash_marker", props.get("marker"))
        if marker is None and e["id"].startswith("ca-"):
            marker = e["id"]
        if marker is not None:
            found[marker] += 1
    return found


def exported(server: Server) -> list[dict[str, Any]]:
    """Every stored event, through `trackway export` (the admin socket, or DuckDB when stopped)."""
    out = cli("export", "--table", "events", "--format", "jsonl", data=server.data).stdout
    return [loads(line) for line in out.splitlines() if line]


def all_events(server: Server) -> list[dict[str, Any]]:
    """Every stored event, through /api/export pages (the server runs)."""
    rows: list[dict[str, Any]] = []
    params: dict[str, Any] = {"table": "events", "limit": 10_000}
    while True:
        r = server.api("/api/export", **params)
        assert r.status_code == 200, r.text
        page = loads(r.content)["rows"]
        if not page:
            return rows
        rows += page
        params.update(after_time=page[-1]["received_at"], after_id=page[-1]["id"])


def test_sigkill_mid_load_loses_and_repeats_no_acknowledged_event(server):
    with Load(server) as load:
        start = time.monotonic()
        wait_for(lambda: len(load.acked) >= MIN_ACKED, 60, f"{MIN_ACKED} acknowledged events")
        time.sleep(max(0.0, LOAD_SECONDS - (time.monotonic() - start)))
        server.kill()  # mid-load: the threads are still sending
    acked, sent = set(load.acked), set(load.sent)
    assert len(acked) >= MIN_ACKED
    assert sent - acked, "the kill should interrupt some requests"

    server.start()
    wait_for(lambda: acked <= set(stored_markers(all_events(server))), 60, "the acknowledged events")
    # Send the Commanders Act events again, acknowledged or not: their ids make it idempotent.
    params = Server.ca_params(load.keys)
    with httpx.Client(timeout=30) as http:
        for body in load.commanders.values():
            r = http.post(f"{server.url}/events", params=params, json=body)
            assert r.status_code == 200, r.text
    assert server.stop() == 0  # a clean stop; export loads what the log still holds

    found = stored_markers(exported(server))  # the server is stopped: DuckDB directly
    assert set(found) <= sent
    assert {m: n for m, n in found.items() if n > 1} == {}
    assert acked - set(found) == set()
    assert set(load.commanders) <= set(found)  # every one of them sent again, stored once
    assert len(found) >= len(acked)


def test_a_torn_frame_at_the_end_of_a_log_file_is_ignored(server):
    keys = server.keys()
    before = [f"before-{n}" for n in range(10)]
    for m in before:
        body = {"key": keys["collect_key"], "events": [_gtag(m)]}
        assert server.post("/collect", json=body).status_code == 200
    server.wait_events(len(before))
    server.kill()

    # w1's last file ends in a torn frame (a record the crash interrupted, never
    # acknowledged); w2's in a whole one (acknowledged just before the crash).
    # A killed writer leaves the zeros it laid ahead of its data: write where it would have.
    torn, whole = _newest(server.data, "w1"), _newest(server.data, "w2")
    frame = log_record(keys["property"], "torn")
    _write_at_data_end(torn, frame[: len(frame) - 7])
    _write_at_data_end(whole, log_record(keys["property"], "whole"))
    size = torn.stat().st_size

    server.start()
    after = [f"after-{n}" for n in range(10)]
    for m in after:
        body = {"key": keys["collect_key"], "events": [_gtag(m)]}
        assert server.post("/collect", json=body).status_code == 200
    expected = Counter([*before, "whole", *after])
    found = stored_markers(server.wait_events(len(before) + len(after) + 1))
    assert found == expected
    # The restarted worker wrote to a new file: the torn one was never appended to.
    assert not torn.exists() or torn.stat().st_size == size
    assert server.stop() == 0
    assert stored_markers(exported(server)) == expected


def _write_at_data_end(path: Path, data: bytes) -> None:
    """Write ``data`` just past the last whole record of the log file ``path``."""
    seq = int(path.name.removesuffix(log.SUFFIX))
    end = 0
    for position, payload in log.read(path.parent, log.Position(seq, 0), 1_000_000):
        if payload and position.seq == seq:
            end = position.offset
    with open(path, "r+b") as f:
        f.seek(end)
        f.write(data)


def _newest(data: Path, slot: str) -> Path:
    directory = data / "log" / slot
    return directory / log.segment_name(log.segments(directory)[-1])
