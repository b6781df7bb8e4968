"""Each wire endpoint in process: answers, what is stored, and bad input of every kind."""

from __future__ import annotations

import asyncio
import errno
import gzip
import json
import os
from decimal import Decimal

import pytest

import trackway
import trackway.ingest.pipeline
from trackway.server import app

pytestmark = pytest.mark.anyio

PURCHASE = {
    "client_id": "555.1",
    "events": [
        {
            "name": "purchase",
            "params": {
                "transaction_id": "T1",
                "currency": "EUR",
                "value": 30.03,
                "items": [{"item_id": "SKU_1", "price": 10.01, "quantity": 3}],
            },
        }
    ],
}
CART = {"event": "add_to_cart", "ecommerce": {"currency": "EUR", "value": 1, "items": [{"item_id": "a"}]}}


def ca_event(event_id="e-1", name="search", **params):
    user = {"id": "u1", "consistent_anonymous_id": "a1", "email": "a@b.fr", "consent_categories": [1]}
    return {
        "event_name": name,
        "search_term": "t-shirt",
        "user": user,
        "context": {"event_id": event_id, "event_timestamp": 1_700_000_000_000},
        **params,
    }


async def test_mp_collect_answers_204_and_the_stored_event_is_the_decoded_one(h):
    r = await h.client.post(h.mp(), json=PURCHASE)
    assert (r.status_code, r.content) == (204, b"")
    [stored] = await h.events()
    [decoded] = trackway.decode("ga4-mp", PURCHASE).events
    assert stored.commerce == decoded.commerce
    assert (stored.property, stored.anonymous_id, stored.dialect) == ("default", "555.1", "ga4-mp")
    assert stored.commerce.value == Decimal("30.03")
    assert stored.context["ip"] == "203.0.113.9"


async def test_mp_answers_204_for_invalid_events_which_go_to_failed_events(h):
    body = {"client_id": "1", "events": [{"name": "purchase", "params": {}}] * 26}
    assert (await h.client.post(h.mp(), json=body)).status_code == 204
    assert (await h.client.post(h.mp(), content=b"{not json")).status_code == 204
    assert await h.events() == []
    failed = await h.failed()
    assert len(failed) == 2
    codes = {i["code"] for f in failed for i in f.issues}
    assert "EXCEEDED_MAX_ENTITIES" in codes
    assert any(f.payload == b"{not json" for f in failed)


async def test_debug_mp_answers_validation_messages_and_stores_nothing(h):
    r = await h.client.post("/debug/mp/collect", json={"client_id": "1", "events": [{"name": "_bad"}]})
    assert r.status_code == 200
    [message] = r.json()["validationMessages"]
    assert message["validationCode"] == "NAME_INVALID"
    assert set(message) == {"fieldPath", "description", "validationCode"}
    r = await h.client.post("/debug/mp/collect", json=PURCHASE)
    assert r.json() == {"validationMessages": []}
    assert await h.events() == [] and await h.failed() == []


async def test_commanders_act_event_and_batch_with_token_or_bearer(h):
    r = await h.client.post(h.ca(), json=ca_event("e-1"))
    assert r.status_code == 200
    k = h.keys()
    r = await h.client.post(
        f"/events/batch?tc_s={k['commanders_act_site']}",
        json={"batch": [ca_event("e-2"), ca_event("e-3")]},
        headers={"Authorization": f"Bearer {k['commanders_act_token']}"},
    )
    assert (r.status_code, r.json()["events"]) == (200, 2)
    stored = await h.events()
    assert sorted(e.id for e in stored) == ["e-1", "e-2", "e-3"]
    assert {e.user_id for e in stored} == {"u1"}


async def test_commanders_act_answers_400_for_bad_json_and_oversize_bodies(h):
    r = await h.client.post(h.ca(), content=b'{"event_name": "search",')
    assert r.status_code == 400
    assert "JSON" in r.json()["error"]
    big = ca_event("e-big", search_term="x" * 33_000)
    assert (await h.client.post(h.ca(), json=big)).status_code == 400
    r = await h.client.post(h.ca(path="/events/batch"), json={"batch": [ca_event("ok"), big]})
    assert r.status_code == 400 and "batch[1]" in r.json()["error"]
    r = await h.client.post(
        h.ca(path="/events/batch"), json={"batch": [ca_event(f"b{n}", pad="y" * 20_000) for n in range(26)]}
    )
    assert r.status_code == 400
    r = await h.client.post(h.ca(path="/events/batch"), json=[ca_event()])
    assert r.status_code == 400
    assert await h.events() == []


async def test_convead_form_and_query_string(h):
    key = h.keys()["convead_app_key"]
    data = json.dumps({"type": "view_product", "properties": {"product_id": "1", "price": 9.5}})
    r = await h.client.post(
        "/watch/event", data={"app_key": key, "visitor_uid": "", "guest_uid": "g1", "data": data}
    )
    assert r.status_code == 200
    r = await h.client.post(
        "/watch/event", params={"app_key": key, "visitor_uid": "v1", "guest_uid": "g1", "data": data}
    )
    assert r.status_code == 200
    stored = sorted(await h.events(), key=lambda e: e.user_id or "")
    assert [(e.name, e.anonymous_id, e.user_id) for e in stored] == [
        ("view_item", "g1", None),
        ("view_item", "g1", "v1"),
    ]
    assert stored[0].commerce.items[0].price == Decimal("9.5")


async def test_convead_invalid_event_is_400_with_issues_and_is_kept(h):
    key = h.keys()["convead_app_key"]
    data = json.dumps({"type": "add_to_cart", "properties": {"qnt": 1.5}})
    r = await h.client.post(
        "/watch/event", data={"app_key": key, "visitor_uid": "", "guest_uid": "g1", "data": data}
    )
    assert r.status_code == 400
    paths = {i["path"] for i in r.json()["issues"]}
    assert any("product_id" in p for p in paths) and any("qnt" in p for p in paths)
    [failed] = await h.failed()
    assert failed.endpoint == "/watch/event" and b"add_to_cart" in failed.payload


async def test_collect_answers_per_payload_and_fills_the_envelope(h):
    body = {
        "key": h.keys()["collect_key"],
        "anonymous_id": "anon-1",
        "context": {"page": {"url": "https://shop.example/"}},
        "events": [
            CART,
            ["trigger", "search", {"search_term": "x"}],
            {"dialect": "gtm-ga4", "payload": {"event": "purchase", "ecommerce": {}}},
        ],
    }
    r = await h.client.post("/collect", content=json.dumps(body), headers={"Content-Type": "text/plain"})
    assert r.status_code == 200
    answer = r.json()
    assert (answer["accepted"], answer["rejected"]) == (2, 1)
    assert [x["dialect"] for x in answer["results"]] == ["gtm-ga4", "commanders-act", "gtm-ga4"]
    assert "$.ecommerce.transaction_id" in [i["path"] for i in answer["results"][2]["issues"]]
    stored = {e.id: e for e in await h.events()}
    assert set(stored) == {i for x in answer["results"] for i in x["events"]}
    assert {e.anonymous_id for e in stored.values()} == {"anon-1"}
    assert all(e.context["page"]["url"] == "https://shop.example/" for e in stored.values())
    [failed] = await h.failed()
    assert trackway.ingest.pipeline.envelope_of(failed.meta)["anonymous_id"] == "anon-1"


async def test_unknown_keys_are_401_and_store_nothing(h):
    assert (
        await h.client.post("/mp/collect?measurement_id=G-X&api_secret=s", json=PURCHASE)
    ).status_code == 401
    assert (await h.client.post("/events?tc_s=1&token=x", json=ca_event())).status_code == 401
    assert (await h.client.post("/events", json=ca_event())).status_code == 401
    assert (await h.client.post("/watch/event", data={"app_key": "nope", "data": "{}"})).status_code == 401
    assert (await h.client.post("/collect", json={"key": "nope", "events": [CART]})).status_code == 401
    assert await h.events() == [] and await h.failed() == []


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/mp/collect", "POST"),
        ("PUT", "/events", "POST"),
        ("GET", "/watch/event", "POST"),
        ("DELETE", "/collect", "OPTIONS, POST"),
        ("POST", "/health", "GET"),
        ("POST", "/metrics", "GET"),
    ],
)
async def test_wrong_method_is_405_with_allow(h, method, path, allow):
    r = await h.client.request(method, path)
    assert r.status_code == 405
    assert r.headers["allow"] == allow


async def test_unknown_path_is_404(h):
    assert (await h.client.get("/nope")).status_code == 404


@pytest.mark.parametrize("path", ["mp", "ca", "/watch/event", "/collect"])
async def test_unsupported_content_type_is_415(h, path):
    url = {"mp": h.mp(), "ca": h.ca()}.get(path, path)
    r = await h.client.post(url, content=b"<xml/>", headers={"Content-Type": "application/xml"})
    assert r.status_code == 415


async def test_body_limits_are_413(h):
    big = {"key": h.keys()["collect_key"], "events": [{"event": "x", "pad": "y" * 600_000}]}
    assert (await h.client.post("/collect", json=big)).status_code == 413
    assert (await h.client.post(h.mp(), content=b"{" + b" " * 140_000 + b"}")).status_code == 413
    r = await h.client.post(
        "/watch/event", data={"app_key": h.keys()["convead_app_key"], "data": "x" * 70_000}
    )
    assert r.status_code == 413


async def test_too_many_payloads_in_a_collect_batch_is_400(h):
    body = {"key": h.keys()["collect_key"], "events": [CART] * 501}
    r = await h.client.post("/collect", json=body)
    assert r.status_code == 400
    assert r.json()["code"] == "EXCEEDED_MAX_ENTITIES"


@pytest.mark.parametrize(
    ("events", "came"),
    [(None, "got none"), ({"event": "x"}, "(an object)"), ("x", "'x' (a string)"), (5, "5 (a number)")],
)
async def test_a_collect_envelope_without_an_array_of_events_says_what_came_in_json_terms(h, events, came):
    body: dict = {"key": h.keys()["collect_key"]}
    if events is not None:
        body["events"] = events
    r = await h.client.post("/collect", json=body)
    assert r.status_code == 400
    error = r.json()["error"]
    assert error.startswith('expected "events" as an array of payloads, got ') and came in error, error
    assert "NoneType" not in error and "dict" not in error and '"events": [payload, ...]' in error


async def test_a_collect_envelope_whose_context_every_event_copies_is_bounded(h):
    # 250 kB of context with 200 payloads (a 255 kB request) made 50 MB of log
    key = h.keys()["collect_key"]
    big = {"key": key, "context": {"page": {"title": "t" * 250_000}}, "events": [CART] * 200}
    r = await h.client.post("/collect", json=big)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "EXCEEDED_MAX_ENTITIES"
    assert "times its 200 payloads to come to at most 8 MiB" in r.json()["error"]
    assert await h.events() == []
    usual = {"key": key, "context": {"page": {"title": "t" * 1_000, "url": "https://x/" + "p" * 2_000}}}
    r = await h.client.post("/collect", json=usual | {"events": [CART] * 500})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"", "expected a JSON body, got an empty one"),
        (b'{"key": "k", "events": [{"x": "\\ud800"}]}', "a lone surrogate escape, \\ud800 at byte 31"),
    ],
)
async def test_a_body_the_parser_calls_truncated_is_named_for_what_it_is(h, body, said):
    # msgspec says "Input data was truncated" of an empty body and of a lone surrogate escape
    r = await h.client.post("/collect", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert said in r.json()["error"] and "truncated" not in r.json()["error"], r.text


async def test_malformed_json_is_400_with_the_parser_position(h):
    r = await h.client.post("/collect", content=b'{"key": "x", "events": [1,,2]}')
    assert r.status_code == 400
    assert "byte 26" in r.json()["error"] or "position" in r.json()["error"]


async def test_gzip_bodies_are_inflated_within_the_limit(h):
    r = await h.client.post(
        h.mp(), content=gzip.compress(json.dumps(PURCHASE).encode()), headers={"Content-Encoding": "gzip"}
    )
    assert r.status_code == 204
    assert len(await h.events()) == 1
    bomb = gzip.compress(b"{" + b" " * 10_000_000 + b"}")
    assert len(bomb) < 20_000
    r = await h.client.post(h.mp(), content=bomb, headers={"Content-Encoding": "gzip"})
    assert r.status_code == 413
    r = await h.client.post(h.mp(), content=b"not gzip", headers={"Content-Encoding": "gzip"})
    assert r.status_code == 400
    r = await h.client.post(h.mp(), content=b"{}", headers={"Content-Encoding": "br"})
    assert r.status_code == 415


def _members(*parts: bytes) -> bytes:
    return b"".join(gzip.compress(part) for part in parts)


@pytest.mark.parametrize(
    ("cut", "after", "status", "said"),
    [
        # a stream of two members (cat a.gz b.gz): the first alone was read, "Input data was truncated"
        (40, b"", 200, '"accepted":1'),
        (None, b"\0" * 8, 200, '"accepted":1'),  # zeros after the stream
        (None, b"trailing", 400, "got8morebytesafterit"),  # they were ignored
    ],
    ids=["two members", "zeros after", "bytes after"],
)
async def test_a_gzip_stream_is_read_whole(h, cut, after, status, said):
    text = json.dumps({"key": h.keys()["collect_key"], "events": [CART]}).encode()
    body = _members(text[:cut], text[cut:]) if cut else gzip.compress(text)
    r = await h.client.post("/collect", content=body + after, headers={"Content-Encoding": "gzip"})
    assert r.status_code == status, r.text
    assert said in r.text.replace(" ", "")


async def test_gzip_members_count_against_the_limit_together(h):
    body = _members(b"{" + b" " * 300_000, b" " * 300_000 + b"}")
    r = await h.client.post(h.mp(), content=body, headers={"Content-Encoding": "gzip"})
    assert r.status_code == 413 and "once inflated, got more" in r.text


async def test_overload_is_503_with_retry_after_and_stores_nothing(h):
    h.writer.max_pending = 0
    r = await h.client.post(h.mp(), json=PURCHASE)
    assert r.status_code == 503
    assert r.headers["retry-after"] == "1"
    h.writer.max_pending = 10
    assert await h.events() == []
    assert "trackway_overloaded_total 1" in (await h.client.get("/metrics")).text


async def test_a_client_that_disconnects_mid_body_costs_nothing(h):
    app = h.client._transport.app  # the worker's ASGI app
    sent = []
    messages = [
        {"type": "http.request", "body": b'{"client_id": "1", "ev', "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive():
        return messages.pop(0)

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/mp/collect",
        "query_string": h.mp().split("?", 1)[1].encode(),
        "headers": [(b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1),
    }
    await app(scope, receive, send)
    assert sent == []  # no answer to a client that is gone
    assert await h.events() == [] and await h.failed() == []
    assert 'status="499"' in (await h.client.get("/metrics")).text


async def test_one_property_keys_never_write_into_another(h):
    assert (await h.client.post(h.mp("other"), json=PURCHASE)).status_code == 204
    assert (await h.client.post(h.mp("default"), json=PURCHASE)).status_code == 204
    assert [e.property for e in await h.events("other")] == ["other"]
    assert [e.property for e in await h.events("default")] == ["default"]


async def test_a_property_admin_token_reads_only_its_property(h):
    await h.client.post(h.mp("other"), json=PURCHASE)
    await h.client.post(h.mp("default"), json=PURCHASE)
    await h.load()
    auth = {"Authorization": f"Bearer {h.keys('default')['admin_token']}"}
    r = await h.client.get("/api/events", headers=auth)
    assert [e["property"] for e in r.json()["events"]] == ["default"]
    assert (await h.client.get("/api/events?property=other", headers=auth)).status_code == 403
    assert (await h.client.get("/api/events")).status_code == 401
    assert (await h.client.get("/api/events", headers={"Authorization": "Bearer nope"})).status_code == 401
    other_token = h.keys("other")["admin_token"]
    other = await h.client.get("/api/failed_events", headers={"Authorization": f"Bearer {other_token}"})
    assert other.status_code == 200, f"expected another property's token to read it, got {other.text}"
    in_url = await h.client.get("/api/failed_events", params={"token": other_token})
    assert in_url.status_code == 401, (
        f"expected a token in the URL refused (it ends up in logs), got {in_url}"
    )
    assert "Authorization: Bearer" in in_url.json()["error"]


async def test_client_ids_are_idempotent_per_property(h):
    for _ in range(2):
        assert (await h.client.post(h.ca(), json=ca_event("same"))).status_code == 200
    r = await h.client.post(h.ca(path="/events/batch"), json={"batch": [ca_event("twin"), ca_event("twin")]})
    assert r.status_code == 200
    gtm = {**CART, "event_id": "dl-1"}
    for _ in range(2):
        await h.client.post("/collect", json={"key": h.keys()["collect_key"], "events": [gtm]})
    await h.client.post(h.ca("other"), json=ca_event("same"))  # another property: its own id space
    assert sorted(e.id for e in await h.events("default")) == ["dl-1", "same", "twin"]
    assert [e.id for e in await h.events("other")] == ["same"]
    assert h.loader.stats.duplicates == 3


async def test_a_property_added_while_running_is_live_at_once(h):
    new = trackway.config.add_property(h.cfg.path, "added")
    r = await h.client.post("/collect", json={"key": new["collect_key"], "events": [CART]})
    assert r.status_code == 200
    assert [e.property for e in await h.events("added")] == ["added"]


async def test_cors_preflight_and_post(h):
    path = h.cfg.path
    path.write_text(
        path.read_text().replace(
            "[properties.default]\n", '[properties.default]\ncors_origins = ["https://shop.example"]\n'
        )
    )
    ok = {"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"}
    h.collector._next_check = 0  # the worker re-reads a changed file within a second
    r = await h.client.options("/collect", headers=ok)
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "https://shop.example"
    assert (await h.client.options("/collect", headers={"Origin": "https://evil.example"})).status_code == 403
    body = {"key": h.keys()["collect_key"], "events": [CART]}
    r = await h.client.post("/collect", json=body, headers={"Origin": "https://shop.example"})
    assert (r.status_code, r.headers["access-control-allow-origin"]) == (200, "https://shop.example")
    assert (
        await h.client.post("/collect", json=body, headers={"Origin": "https://evil.example"})
    ).status_code == 403
    other = {"key": h.keys("other")["collect_key"], "events": [CART]}
    assert (
        await h.client.post("/collect", json=other, headers={"Origin": "https://shop.example"})
    ).status_code == 403


async def test_health_and_metrics(h):
    r = await h.client.get("/health")
    assert r.status_code == 200 and r.json() == {"status": "ok", "log": "writable", "store": "writable"}
    await h.client.post(h.mp(), json=PURCHASE)
    text = (await h.client.get("/metrics")).text
    assert 'trackway_requests_total{endpoint="/mp/collect",status="204"} 1' in text
    assert "trackway_commit_seconds_count 1" in text
    assert "# TYPE trackway_queue_depth gauge" in text


async def test_a_replayed_unit_gets_the_id_it_would_have_had(h):
    from trackway.ingest import records
    from trackway.replay import replay
    from trackway.store.base import Query

    koalect = {
        "event": "transaction",
        "ecommerce": {"transaction_id": "K1", "value": 16, "items": [{"item_id": "gift"}]},
    }
    body = {
        "key": h.keys("other")["collect_key"],
        "events": [CART, CART, koalect],
    }  # other: no default currency
    answer = (await h.client.post("/collect", json=body)).json()
    assert [r["accepted"] for r in answer["results"]] == [True, True, False]
    [failed] = await h.failed("other")
    assert (failed.ordinal, failed.indices, failed.names) == (2, [0], ["purchase"])
    path = h.cfg.path
    path.write_text(
        path.read_text().replace("[properties.other]\n", '[properties.other]\ndefault_currency = "EUR"\n')
    )
    report = replay(h.store, trackway.config.load(path), Query(property="other", limit=100))
    assert (report.fixed, report.events) == (1, 1)
    replayed = [e for e in h.store.events(Query(property="other")) if e.name == "purchase"]
    assert [e.id for e in replayed] == [records.event_id(failed.request_id, 2)]


async def test_a_key_changed_while_running_stops_working_within_a_second(h):
    old_mp, old_ca = h.mp(), h.ca()
    assert (await h.client.post(old_mp, json=PURCHASE)).status_code == 204  # now remembered
    assert (await h.client.post(old_ca, json=ca_event("r-1"))).status_code == 200
    path = h.cfg.path
    keys = h.keys()
    text = path.read_text()
    for name in ("ga4_api_secret", "commanders_act_token"):
        text = text.replace(keys[name], keys[name] + "x")
    path.write_text(text)
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    await asyncio.sleep(app.CONFIG_CHECK_SECONDS)
    assert (await h.client.post(old_mp, json=PURCHASE)).status_code == 401
    assert (await h.client.post(old_ca, json=ca_event("r-2"))).status_code == 401
    assert (await h.client.post(h.mp(), json=PURCHASE)).status_code == 204  # the new keys work
    assert (await h.client.post(h.ca(), json=ca_event("r-3"))).status_code == 200
    assert len(await h.events()) == 4


async def test_a_failed_disk_write_is_503_with_retry_after(h, monkeypatch):
    def full(*_):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "pwrite", full)
    r = await h.client.post(h.mp(), json=PURCHASE)
    assert (r.status_code, r.headers["retry-after"]) == (503, "1")
    assert "could not be written to disk" in r.json()["error"]
    monkeypatch.undo()
    assert (await h.client.post(h.mp(), json=PURCHASE)).status_code == 204
    assert len(await h.events()) == 1


async def test_non_events_in_a_batch_are_accepted_and_neither_stored_nor_failed(h):
    """GTM's {ecommerce: null} and gtag.js config/set/js commands carry no event (issue 13)."""
    non_events = [{"ecommerce": None}, ["config", "G-XXXXXXX"], ["set", {"currency": "EUR"}], ["js", "2024"]]
    body = {"key": h.keys()["collect_key"], "events": [*non_events, CART, {"ecommerce": {"currency": "EUR"}}]}
    answer = (await h.client.post("/collect", json=body)).json()
    assert [(r["accepted"], r["events"] == []) for r in answer["results"]] == [
        *[(True, True)] * len(non_events),
        (True, False),
        (False, True),  # an object with no event that sets a value names no event: still an error
    ]
    assert [e.name for e in await h.events()] == ["add_to_cart"]
    assert [f.ordinal for f in await h.failed()] == [len(non_events) + 1]


@pytest.mark.parametrize("dialect", [5, None, ["gtm-ga4"], {"name": "gtm-ga4"}])
async def test_collect_refuses_an_envelope_dialect_that_is_not_a_name(h, dialect):
    # it was read as "auto", silently
    body = {"key": h.keys()["collect_key"], "dialect": dialect, "events": [CART]}
    r = await h.client.post("/collect", content=json.dumps(body), headers={"Content-Type": "text/plain"})
    assert r.status_code == 400
    assert 'expected "dialect" as a dialect\'s name or "auto"' in r.json()["error"]
