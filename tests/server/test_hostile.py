"""Hostile bodies on every endpoint in process: each gets a 4xx with a JSON reason (or the
endpoint's own answer), never a 5xx, and nothing is stored; an unexpected error is a
JSON 500 with a request id, logged once, and the worker goes on."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest

from trackway.server import collect, http
from trackway.server.http import MAX_EXPONENT, MAX_JSON_DEPTH, MAX_NUMBER_CHARS

pytestmark = pytest.mark.anyio

JSON = {"content-type": "application/json"}
FORM = {"content-type": "application/x-www-form-urlencoded"}
DIGITS = "1" + "0" * 5000  # a 5,000-digit integer


def nested(depth: int, inner: str = "1") -> str:
    return '{"a":' * depth + inner + "}" * depth


def collect_body(h: Any, events: str) -> str:
    return '{"key":"' + h.keys()["collect_key"] + '","events":' + events + "}"


# (name, path of the harness, body of the harness, headers, status, what the answer's "error" holds)
Case = tuple[str, Callable[[Any], str], Callable[[Any], str], dict[str, str], int, str]
DEPTH = f"expected JSON nested at most {MAX_JSON_DEPTH} levels deep, got more"
CASES: list[Case] = [
    # nesting past the limit, and past msgspec's (the interpreter's recursion limit)
    ("ca event nested", lambda h: h.ca(), lambda h: nested(MAX_JSON_DEPTH + 1), JSON, 400, DEPTH),
    ("ca event nested 3000", lambda h: h.ca(), lambda h: nested(3000), JSON, 400, DEPTH),
    (
        "ca batch nested",
        lambda h: h.ca(path="/events/batch"),
        lambda h: '{"batch":[' + nested(3000) + "]}",
        JSON,
        400,
        DEPTH,
    ),
    (
        "ca batch arrays",
        lambda h: h.ca(path="/events/batch"),
        lambda h: "[" * 3000 + "]" * 3000,
        JSON,
        400,
        DEPTH,
    ),
    (
        "collect nested",
        lambda h: "/collect",
        lambda h: collect_body(h, "[" + nested(MAX_JSON_DEPTH) + "]"),
        JSON,
        400,
        DEPTH,
    ),
    (
        "collect nested 3000",
        lambda h: "/collect",
        lambda h: collect_body(h, "[" * 3000 + "]" * 3000),
        JSON,
        400,
        DEPTH,
    ),
    # huge numbers: refused before any conversion
    (
        "ca integer",
        lambda h: h.ca(),
        lambda h: '{"event_name":"x","n":' + DIGITS + "}",
        JSON,
        400,
        "out of range",
    ),
    (
        "collect integer",
        lambda h: "/collect",
        lambda h: collect_body(h, '[{"event":"purchase","ecommerce":{"value":' + DIGITS + "}}]"),
        JSON,
        400,
        "out of range",
    ),
    (
        "collect exponent",
        lambda h: "/collect",
        lambda h: collect_body(h, '[{"event":"purchase","ecommerce":{"value":1e1000000}}]'),
        JSON,
        400,
        f"expected a number between 1e-{MAX_EXPONENT} and 1e{MAX_EXPONENT}, got 1e1000000",
    ),
    (
        "collect long fraction",
        lambda h: "/collect",
        lambda h: collect_body(h, '[{"event":"purchase","ecommerce":{"value":1.' + "5" * 5000 + "}}]"),
        JSON,
        400,
        f"expected a number of at most {MAX_NUMBER_CHARS} characters, got 5002",
    ),
    (
        "ca exponent",
        lambda h: h.ca(),
        lambda h: '{"event_name":"x","n":1e1000000}',
        JSON,
        400,
        f"expected a number between 1e-{MAX_EXPONENT} and 1e{MAX_EXPONENT}, got 1e1000000",
    ),
]


@pytest.mark.parametrize(
    ("path", "body", "headers", "status", "error"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
async def test_hostile_json_is_4xx_with_a_reason_and_stores_nothing(h, path, body, headers, status, error):
    r = await h.client.post(path(h), content=body(h), headers=headers)
    assert r.status_code == status, f"expected {status} for {path(h)}, got {r.status_code}: {r.text[:300]}"
    assert r.headers["content-type"] == "application/json", f"expected a JSON answer, got {r.headers}"
    assert error in r.json()["error"], f"expected the reason to say {error!r}, got {r.json()}"
    assert await h.events() == [] and await h.failed() == [], "a refused request stored something"


# Bodies the endpoints answer as they always do (their own answer or a 4xx), never 5xx.
SURVIVED: list[tuple[str, Callable[[Any], str], Callable[[Any], str], dict[str, str]]] = [
    ("debug nested", lambda h: "/debug/mp/collect", lambda h: "[" * 3000 + "]" * 3000, JSON),
    (
        "debug exponent",
        lambda h: "/debug/mp/collect",
        lambda h: '{"client_id":"1","events":[{"name":"x","params":{"quantity":1e1000000}}]}',
        JSON,
    ),
    (
        "debug integer",
        lambda h: "/debug/mp/collect",
        lambda h: '{"client_id":"1","events":[{"name":"x","params":{"quantity":' + DIGITS + "}}]}",
        JSON,
    ),
    (
        "convead nested",
        lambda h: f"/watch/event?app_key={h.keys()['convead_app_key']}",
        lambda h: "data=" + nested(3000),
        FORM,
    ),
    (
        "convead bad form",
        lambda h: f"/watch/event?app_key={h.keys()['convead_app_key']}",
        lambda h: "data=%ff%fe",
        FORM,
    ),
    (
        "collect odd envelope",
        lambda h: "/collect",
        lambda h: collect_body(h, "[1, null, [], {}]")[:-1] + ',"context":5}',
        JSON,
    ),
    (
        "collect odd units",
        lambda h: "/collect",
        lambda h: collect_body(h, '[{"dialect":5,"payload":[]},["consent",5]]'),
        JSON,
    ),
    ("ca odd fields", lambda h: h.ca(), lambda h: '{"event_name":[],"context":5,"user":"x"}', JSON),
    (
        "ca batch odd",
        lambda h: h.ca(path="/events/batch"),
        lambda h: '{"batch":[1,null,{"event_name":{}}]}',
        JSON,
    ),
]


@pytest.mark.parametrize(("path", "body", "headers"), [c[1:] for c in SURVIVED], ids=[c[0] for c in SURVIVED])
async def test_odd_bodies_never_get_a_5xx(h, path, body, headers):
    r = await h.client.post(path(h), content=body(h), headers=headers)
    assert r.status_code < 500, f"expected no 5xx for {path(h)}, got {r.status_code}: {r.text[:300]}"
    if r.status_code >= 400:
        assert "error" in r.json(), f"expected a JSON reason, got {r.text[:300]}"


async def test_a_content_length_of_5000_digits_is_413(h):
    # httptools refuses it on the wire; the app must too when another server passes it on
    async def body() -> Any:
        yield b"{}"

    r = await h.client.post("/collect", content=body(), headers={**JSON, "content-length": DIGITS})
    assert r.status_code == 413, (
        f"expected 413 for a 5,000-digit Content-Length, got {r.status_code}: {r.text}"
    )
    assert "expected a body of at most" in r.json()["error"]


async def test_an_unexpected_error_is_a_json_500_with_a_request_id_logged_once(h, monkeypatch, caplog):
    def broken(*args: Any, **kw: Any) -> Any:
        raise KeyError("a bug")

    monkeypatch.setattr(collect, "_unit", broken)
    with caplog.at_level(logging.ERROR, logger="trackway.server"):
        r = await h.client.post("/collect", content=collect_body(h, "[{}]"), headers=JSON)
    assert r.status_code == 500, f"expected 500 for a bug, got {r.status_code}: {r.text}"
    answer = r.json()
    assert answer["request_id"] in answer["error"], f"expected the id in the message, got {answer}"
    logged = [rec for rec in caplog.records if rec.name == "trackway.server"]
    assert len(logged) == 1, f"expected the error logged once, got {[rec.getMessage() for rec in logged]}"
    assert answer["request_id"] in logged[0].getMessage() and logged[0].exc_info is not None
    monkeypatch.undo()
    r = await h.client.post(h.mp(), json={"client_id": "1", "events": [{"name": "page_view"}]})
    assert r.status_code == 204, f"expected the worker to go on serving, got {r.status_code}"


DEPTHS = [
    (1, 0),
    ([], 1),
    ({"a": [1, {"b": []}]}, 4),
    ([[[[]]]], 4),
    (json.loads("[" * 200 + "]" * 200), 101),  # counting stops past the limit
]


@pytest.mark.parametrize(("value", "depth"), DEPTHS)
def test_json_depth_counts_nesting_up_to_the_stop(value, depth):
    assert http.json_depth(value, MAX_JSON_DEPTH + 1) == depth


@pytest.mark.parametrize("path", ["/events", "/events/batch", "/collect"])
async def test_an_amount_no_float_holds_is_stored_failed_at_every_endpoint_that_reads_json(h, path):
    # 1e999: /collect and /mp/collect stored it (VALUE_OUT_OF_BOUNDS); Commanders Act's refused the body
    event = '{"event_name":"purchase","value":1e999,"currency":"EUR"}'
    if path == "/collect":
        url, body = "/collect", collect_body(h, '[{"event":"purchase","ecommerce":{"value":1e999}}]')
    else:
        url, body = h.ca(path=path), event if path == "/events" else '{"batch":[' + event + "]}"
    r = await h.client.post(url, content=body, headers=JSON)
    assert r.status_code == 200, r.text
    failed = await h.failed()
    assert len(failed) == 1 and "VALUE_OUT_OF_BOUNDS" in json.dumps(failed[0].issues, default=str), failed
