"""Forwarding survives its own crashes and a receiver's absence: nothing lost.

A real ``trackway serve`` forwards to a webhook receiver on loopback (it verifies each
signature and keeps the events of each new Idempotency-Key). Under load:

- the forwarding process is SIGKILLed several times mid-batch; the server starts it
  again and it goes on from its committed position. Every event the server stored
  reaches the receiver; the only duplicates are events of batches in flight at a kill
  (each event carries its id, by which a receiver deduplicates what a new batch
  boundary gives a new key);
- the receiver is down for the whole load, then comes back: everything arrives, in order.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from tests.destinations.receivers import WebhookReceiver, receiver
from tests.support.server import Server, cli, loads, wait_for
from trackway.destinations.consumer import Forwarder
from trackway.destinations.runner import PID_FILE
from trackway.model import encode_json

SECRET = "whsec_crash_test_secret"
PER_REQUEST = 5
MAX_REQUESTS = 1_800  # 9,000 events: what /api/events lists in one page
# Between requests: the load lasts at least 18 s, so deliveries go on between the kills. At
# full speed it could end (and all of it be delivered) before the second kill, which then
# waited 60 s for a delivery that could not come (seen: delivered 9,000, 1 kill in 4 runs).
PACE_S = 0.01


def _declare(server: Server, url: str) -> None:
    cli("destination", "add", "default", "hook", "--type", "webhook", "-o", f"url={url}/in", "-o",
        f"secret={SECRET}", "--identifiers", "keep", data=server.data)  # fmt: skip


class Load(threading.Thread):
    """Posts /collect requests of PER_REQUEST events until stopped (or MAX_REQUESTS); keeps the
    acknowledged ids."""

    def __init__(self, server: Server) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.key = server.keys()["collect_key"]
        self.halt = threading.Event()
        self.acked: list[str] = []

    def run(self) -> None:
        with httpx.Client(timeout=30) as http:
            n = 0
            while not self.halt.is_set() and n < MAX_REQUESTS:
                events = [{"event": "page_view", "page_location": f"https://shop.example/{n}/{i}"} for i in
                          range(PER_REQUEST)]  # fmt: skip
                body = encode_json(
                    {"key": self.key, "anonymous_id": f"g{n}", "dialect": "gtm-ga4", "events": events}
                )
                n += 1
                self.halt.wait(PACE_S)
                try:
                    r = http.post(self.server.url + "/collect", content=body)
                except httpx.TransportError:
                    continue
                if r.status_code == 200:
                    self.acked += [e for result in r.json()["results"] for e in result["events"]]


def _forwarder_pid(data: Path) -> int | None:
    try:
        pid = int((data / "run" / PID_FILE).read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def _status(server: Server) -> dict[str, Any]:
    rows: dict[str, Any] = loads(cli("destination", "status", "--format", "json", data=server.data).stdout)
    return rows["destinations"][0]


@contextlib.contextmanager
def _loaded(tmp_path: Path, down: bool = False) -> Iterator[tuple[WebhookReceiver, Server, Load]]:
    """A webhook receiver (``down``: not listening), a server forwarding to it, its load started."""
    with receiver(WebhookReceiver, SECRET, time.time) as hook:
        if down:
            hook.down()
        server = Server(tmp_path / "a")
        _declare(server, hook.url)
        try:
            server.start()
            load = Load(server)
            load.start()
            yield hook, server, load
        finally:
            server.close()


def test_sigkill_of_the_forwarding_process_loses_nothing(tmp_path: Path) -> None:
    with _loaded(tmp_path) as (hook, server, load):
        kills = 0
        for _ in range(3):
            before = len(hook.events())
            wait_for(lambda before=before: len(hook.events()) > before, 60, "deliveries between kills")
            pid = wait_for(lambda: _forwarder_pid(server.data), 60, "a forwarding process")
            os.kill(pid, signal.SIGKILL)
            kills += 1
            wait_for(lambda pid=pid: _forwarder_pid(server.data) not in (None, pid), 60, "a new one")
        load.halt.set()
        load.join(30)
        stored = {e["id"] for e in server.events(limit=10_000)}
        assert set(load.acked) <= stored and len(load.acked) > 100
        wait_for(lambda: set(hook.events()) >= stored, 60, "every stored event at the receiver")
        received = hook.events()
        assert set(received) == stored
        duplicates = len(received) - len(set(received))
        in_flight = kills * Forwarder.__init__.__kwdefaults__["batch"] * PER_REQUEST
        assert duplicates <= in_flight, (duplicates, kills)
        status = _status(server)
        # Totals are saved after each batch: a kill forgets at most the batch in flight.
        assert len(stored) - in_flight <= status["delivered"] <= len(received), status
        assert status["dead_letters"] == 0


def test_a_receiver_down_for_the_whole_load_gets_everything_once_back(tmp_path: Path) -> None:
    with _loaded(tmp_path, down=True) as (hook, server, load):
        time.sleep(3)
        load.halt.set()
        load.join(30)
        status = wait_for(lambda: (s := _status(server))["state"] == "retrying" and s, 30, "retrying")
        assert "no answer" in status["last_error"] and status["lag_events"] > 0
        hook.up()
        stored = {e["id"] for e in server.events(limit=10_000)}
        wait_for(lambda: set(hook.events()) >= stored, 120, "every stored event at the receiver")
        received = hook.events()
        assert len(received) == len(set(received)) == len(stored)  # once each
        times = [datetime.fromisoformat(e["received_at"]) for e in hook.kept]
        assert times == sorted(times)  # in the order received, across both workers' logs
