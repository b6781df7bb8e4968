"""Forwarding end to end: a Trackway server forwards to a second one, a faithful GA4
Measurement Protocol, Commanders Act server API and Convead receiver (its endpoints are
wire-compatible), and what arrives there must pass that vendor's rules with no error.

Server A receives the vendors' own examples in every dialect on its endpoints and has
three destinations, one per type, all pointing at server B. Every event A stored ends
delivered (and then stored by B, never failed there) or dead-lettered with the reason
the encoder refused it: counted on both sides.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.server.test_e2e import collect_examples, commanders_bodies, convead_fields
from tests.support.server import Server, cli, loads, wait_for
from tests.support.specs import examples
from trackway.model import encode_json

TYPES = {"ga4": "ga4-mp", "commanders-act": "commanders-act", "convead": "convead"}


@pytest.fixture
def servers(tmp_path):
    b = Server(tmp_path / "b")
    a = Server(tmp_path / "a")
    try:
        b.start()
        yield a, b
    finally:
        a.close()
        b.close()


def _declare(a: Server, b: Server, in_flight: int = 1) -> None:
    kb = b.keys()
    options = {
        "ga4": [f"measurement_id={kb['ga4_measurement_id']}", f"api_secret={kb['ga4_api_secret']}"],
        "commanders-act": [f"site={kb['commanders_act_site']}", f"token={kb['commanders_act_token']}"],
        "convead": [f"app_key={kb['convead_app_key']}"],
    }
    for kind, opts in options.items():
        args = [a for o in [*opts, f"base_url={b.url}"] for a in ("-o", o)]
        name = kind.replace("-", "")
        cli(
            "destination",
            "add",
            "default",
            name,
            "--type",
            kind,
            "--in-flight",
            str(in_flight),
            *args,
            data=a.data,
        )


def _send(a: Server) -> None:
    ka = a.keys()
    for n, body in enumerate(commanders_bodies("fw")):
        r = a.post(
            "/events", params=a.ca_params(ka), content=body, headers={"content-type": "application/json"}
        )
        assert r.status_code == 200, (n, r.text)
    for n, call in enumerate(e.value for e in examples("convead")):
        r = a.post("/watch/event", data=convead_fields(ka["convead_app_key"], call, n))
        assert r.status_code == 200, r.text
    payloads = [p for _, p in collect_examples()]
    envelope = {
        "key": ka["collect_key"],
        "anonymous_id": "guest-1",
        "events": payloads,
    }  # the tracker's guest id
    r = a.post("/collect", content=encode_json(envelope))
    assert r.status_code in (200, 207), r.text
    mp = {
        "client_id": "555.1",
        "user_id": "u-1",
        "events": [
            {
                "name": "page_view",
                "params": {"page_location": "https://shop.example/", "engagement_time_msec": 1},
            },
            {
                "name": "purchase",
                "params": {
                    "currency": "EUR",
                    "value": 30.0,
                    "transaction_id": "T-1",
                    "items": [{"item_id": "SKU_1", "item_name": "Mug", "price": 15.0, "quantity": 2}],
                },
            },
        ],
    }
    assert a.post("/mp/collect", params=a.mp_params(ka), content=encode_json(mp)).status_code == 204


def _status(a: Server) -> dict[str, dict[str, Any]]:
    out = loads(cli("destination", "status", "--format", "json", data=a.data).stdout)
    return {row["destination"]: row for row in out["destinations"]}


def _count(server: Server, sql: str) -> list[tuple[Any, ...]]:
    rows = loads(cli("sql", sql, "--format", "json", data=server.data).stdout)
    return [tuple(r.values()) for r in rows]


@pytest.mark.parametrize("in_flight", [1, 4])
def test_a_second_trackway_receives_every_type_valid(servers, in_flight):
    """Every event once, valid at B: one request at a time, and four in flight (Convead's
    one event a request, ordered per browser; GA4's per client)."""
    a, b = servers
    _declare(a, b, in_flight)
    listed = loads(cli("destination", "list", "--format", "json", data=a.data).stdout)
    assert [d["in_flight"] for d in listed] == [in_flight] * 3
    a.start()
    _send(a)
    stored = len(a.events(limit=10_000))
    assert stored >= 20

    def settled() -> dict[str, dict[str, Any]] | None:
        rows = _status(a)
        done = all(
            r["lag_events"] == 0
            and r["delivered"] + r["dead_lettered"] + sum(r["skipped"].values()) >= stored
            for r in rows.values()
        )
        return rows if done and len(rows) == 3 else None

    rows = wait_for(settled, 60, "every destination to pass every event")
    arrived = Counter(dict(_count(b, "select dialect, count(*) from events group by 1")))
    failed_at_b = _count(b, "select dialect, count(*) from failed_events group by 1")
    assert failed_at_b == [], f"B found errors in what A forwarded: {failed_at_b}"
    for kind, dialect in TYPES.items():
        row = rows[f"default.{kind.replace('-', '')}"]
        assert row["state"] == "running", row
        assert row["delivered"] > 0, row
        assert row["delivered"] + row["dead_lettered"] == stored, row
        assert arrived[dialect] == row["delivered"], (kind, arrived, row)
    letters = loads(
        cli("destination", "dead-letters", "commandersact", "--format", "json", data=a.data).stdout
    )
    assert letters and all(letter["reason"].startswith("refused:") for letter in letters)
