"""Forwarding's isolation and secrets, on a real server.

One destination stalls every request for 60 s, another answers 400 and echoes the
credentials it was sent, a third is healthy: the healthy one still gets every event
within seconds, acknowledgements keep coming, and no secret appears in the server's
log, `destination status`, `/metrics`, the dead letters or any file under run/.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.destinations.receivers import Receiver, Reply, Stall, WebhookReceiver, receiver
from tests.support.server import Server, cli, loads, wait_for
from trackway.model import encode_json

SECRET = "whsec_isolation_secret_1"
WRITE_KEY = "segment-write-key-isolation-2"
API_SECRET = "ga4-api-secret-isolation-3"


class Echo(Receiver):
    """Answers 400 with the request's URL and headers in the body (a careless vendor)."""

    def handle(self, request):  # type: ignore[no-untyped-def]
        echoed = f"bad request {request.path}?{request.query} {dict(request.headers)}".encode()
        return Reply(400, echoed)


def test_a_stalled_destination_slows_nothing_else_and_no_secret_leaks(tmp_path: Path) -> None:
    stalled = receiver(Receiver, default=Stall(60))
    echo = receiver(Echo)
    healthy = receiver(WebhookReceiver, SECRET, time.time)
    with stalled as slow, echo as careless, healthy as hook:
        server = Server(tmp_path / "a")
        add = ["destination", "add", "default"]
        cli(*add, "slow", "--type", "segment", "-o", f"write_key={WRITE_KEY}", "-o", f"base_url={slow.url}",
            data=server.data)  # fmt: skip
        cli(*add, "careless", "--type", "ga4", "-o", "measurement_id=G-ISO1", "-o",
            f"api_secret={API_SECRET}", "-o", f"base_url={careless.url}", data=server.data)  # fmt: skip
        cli(*add, "hook", "--type", "webhook", "-o", f"url={hook.url}/in", "-o", f"secret={SECRET}",
            data=server.data)  # fmt: skip
        try:
            server.start()
            key = server.keys()["collect_key"]
            acked: list[str] = []
            with httpx.Client(timeout=10) as http:
                for n in range(40):
                    body = {"key": key, "anonymous_id": f"g{n}", "events": [{"event": "page_view", "n": n}]}
                    r = http.post(server.url + "/collect", content=encode_json(body))
                    assert r.status_code == 200, r.text
                    acked += r.json()["results"][0]["events"]
                    time.sleep(0.05)
            wait_for(
                lambda: set(hook.events()) >= set(acked), 15, "the healthy destination to get everything"
            )
            assert len(slow.requests) >= 1  # the stalled one is stuck in its first request
            listed = cli("destination", "status", "--format", "json", data=server.data)
            rows = {r["destination"]: r for r in loads(listed.stdout)["destinations"]}
            assert rows["default.hook"]["delivered"] == len(acked) and rows["default.hook"]["lag_events"] == 0
            assert rows["default.slow"]["delivered"] == 0
            careless_row = wait_for(
                lambda: (r := _row(server, "default.careless"))["dead_lettered"] and r, 15, "dl"
            )
            letters = loads(
                cli("destination", "dead-letters", "careless", "--format", "json", data=server.data).stdout
            )
            assert letters and letters[0]["status"] == 400 and "bad request" in letters[0]["response"]
            assert careless_row["state"] == "running", careless_row["last_error"]
            metrics = server.api("/metrics").text  # the admin token's view: destinations named
            assert (
                'trackway_destination_events_total{destination="default.hook",outcome="delivered"}' in metrics
            )
            public = httpx.get(server.url + "/metrics").text  # no token: no property named, summed
            assert "default." not in public
            assert 'trackway_destination_events_total{outcome="delivered"}' in public
        finally:
            server.close()
    texts = [server.log_file.read_text(errors="replace"), metrics, public, str(rows), str(letters)]
    texts += [p.read_text(errors="replace") for p in (server.data / "run").rglob("*") if p.is_file() and
              p.suffix in (".json", ".jsonl", ".position")]  # fmt: skip
    for secret in (SECRET, WRITE_KEY, API_SECRET):
        assert not [t[:200] for t in texts if secret in t], secret


def _row(server: Server, did: str) -> dict[str, object]:
    out = loads(cli("destination", "status", did, "--format", "json", data=server.data).stdout)
    row: dict[str, object] = out["destinations"][0]
    return row
