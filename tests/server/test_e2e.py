"""End to end over real HTTP: a `trackway serve` on 127.0.0.1 and an httpx client.

Every vendor example of ../shared/specs goes through the endpoint that takes its
dialect; the events the API then shows must equal what ``trackway.decode`` gives for
what was sent, less only what the collector fills in (its ids, the property, the
times it knows, the client's IP and user agent). Money compares as exact decimals.
Payloads that fail validation must be in /api/failed_events with their issues.
"""

from __future__ import annotations

import json
import urllib.parse
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from itertools import count
from pathlib import Path
from typing import Any

import msgspec
import pytest

import trackway
from tests.support.server import loads, serving
from tests.support.specs import examples
from trackway import dialects
from trackway.dialects.base import EncodeOptions
from trackway.ingest.pipeline import apply_envelope
from trackway.ingest.records import CREDENTIALS
from trackway.issues import Issues
from trackway.model import encode_json, to_builtins
from trackway.privacy.prepare import PrivacySettings, prepare
from trackway.vendors.convead.endpoint import REDACTED

EXAMPLES = Path(trackway.__file__).parent / "examples"
COLLECT_DIALECTS = [
    "gtag-ua", "gtag-ga4", "gtm-ua", "gtm-ga4", "adobe-dtm", "custom",
    "koalect", "commanders-act", "convead", "insend",
]  # fmt: skip
NAMED = {"custom": "gtm-ua"}  # the cartUpdated custom event is a GTM dataLayer object
CURRENCY = "EUR"
_names = count()
_parse = msgspec.json.Decoder(float_hook=Decimal)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("e2e") / "data") as s:
        yield s


@pytest.fixture
def prop(server):
    """A fresh property (added while the server runs), so each test sees its own events only."""
    return server.add_property(f"e2e-{next(_names)}", CURRENCY)


def canon(value: Any) -> Any:
    """Exact decimals in one spelling (16.00 == 16), for comparing and hashing."""
    if isinstance(value, dict):
        return {k: canon(v) for k, v in value.items()}
    if isinstance(value, list):
        return [canon(v) for v in value]
    if isinstance(value, float):
        raise AssertionError(f"a float reached the comparison: {value!r}")
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        d = Decimal(value)
        return ["dec", str(d.quantize(1) if d == d.to_integral_value() else d.normalize())]
    return value


def key(value: Any) -> str:
    return json.dumps(canon(value), sort_keys=True)


class Expected:
    """What the store must hold after the requests: events, and failed payloads."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.failed: list[tuple[str, str, list[dict[str, Any]]]] = []  # (payload, dialect, issues)

    def add(self, decoded: trackway.Decoded, payload: Any) -> None:
        failing = [n for n in range(len(decoded.events)) if any(i.is_error for i in decoded.event_issues(n))]
        for n, event in enumerate(decoded.events):
            if n in failing:
                continue
            prepare(event, PrivacySettings())  # what the collector does to every event it stores
            stored = loads(encode_json(to_builtins(event)))
            extras = stored.pop("extras", {})
            for credential in CREDENTIALS:  # wire metadata the collector never stores (an app_key)
                extras.pop(credential, None)
            if extras:
                stored["extras"] = extras
            self.events.append(stored)
        if failing or not decoded.events:
            issues = [{**i.to_json(), "event": i.event} for i in decoded.issues]
            self.failed.append((key(payload), decoded.dialect, issues))


def stored_form(event: dict[str, Any], client_ids: set[str]) -> dict[str, Any]:
    """A stored event less what the collector filled in."""
    event = dict(event)
    del event["property"]
    received = event.pop("received_at")
    if event["id"] not in client_ids:
        del event["id"]  # the collector's UUIDv7
    context = dict(event.pop("context", None) or {})
    context.pop("ip", None)
    context.pop("user_agent", None)
    if "client_timestamp" in context:  # a client time outside the believable window
        event["timestamp"] = context.pop("client_timestamp")
    elif event.get("timestamp") == received:
        del event["timestamp"]  # the payload had none: the collector gave received_at
    if context:
        event["context"] = context
    return event


def payload_key(text: str) -> str:
    try:
        return key(_parse.decode(text))
    except msgspec.DecodeError:
        return key(text)


def check(server, keys: dict[str, str], expected: Expected) -> None:
    """The property's events and failed payloads are exactly the expected ones."""
    token = keys["admin_token"]
    failed = server.wait_failed(len(expected.failed), token=token)
    events = server.wait_events(len(expected.events), token=token)
    assert {e["property"] for e in events} <= {keys["property"]}
    ids = {e["id"] for e in expected.events if "id" in e}
    got = Counter(key(stored_form(e, ids)) for e in events)
    want = Counter(key(e) for e in expected.events)
    assert got - want == Counter() and want - got == Counter(), (
        f"stored but not expected: {list((got - want).elements())}\n"
        f"expected but not stored: {list((want - got).elements())}"
    )
    rows = Counter((payload_key(f["payload"]), f["dialect"], key(f["issues"])) for f in failed)
    wanted = Counter((p, d, key(i)) for p, d, i in expected.failed)
    assert rows == wanted, f"failed_events: {failed}\nexpected: {expected.failed}"
    for f in failed:
        assert f["property"] == keys["property"]
        assert any(i["severity"] == "error" for i in f["issues"]), f


def collect_examples() -> list[tuple[str, Any]]:
    return [(d, e.value) for d in COLLECT_DIALECTS for e in examples(d)]


def test_collect_with_the_dialect_named(server, prop):
    expected = Expected()
    for dialect in COLLECT_DIALECTS:
        name = NAMED.get(dialect, dialect)
        payloads = [e.value for e in examples(dialect)]
        body = encode_json({"key": prop["collect_key"], "dialect": name, "events": payloads})
        r = server.post("/collect", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 200, r.text
        answer = r.json()
        for payload, result in zip(payloads, answer["results"], strict=True):
            decoded = trackway.decode(name, _parse.decode(encode_json(payload)), default_currency=CURRENCY)
            expected.add(decoded, payload)
            assert result["dialect"] == name
            assert result["accepted"] == (decoded.valid and bool(decoded.events)), result
    assert len(expected.events) == len(collect_examples())
    check(server, prop, expected)


def test_collect_auto_detected_one_request_each(server, prop):
    expected = Expected()
    for _, payload in collect_examples():
        body = encode_json({"key": prop["collect_key"], "events": [payload]})
        r = server.post("/collect", content=body, headers={"content-type": "text/plain"})
        assert r.status_code == 200, r.text
        [result] = r.json()["results"]
        decoded = trackway.decode("auto", _parse.decode(encode_json(payload)), default_currency=CURRENCY)
        assert result["dialect"] == decoded.dialect
        assert [i["code"] for i in result["issues"]] == [i.code for i in decoded.issues]
        expected.add(decoded, payload)
    check(server, prop, expected)


def test_collect_units_with_an_envelope_and_invalid_payloads(server, prop):
    """{"dialect", "payload"} units in one batch, an envelope that fills ids and context,
    and the broken examples: the invalid payloads are answered and stored as failed."""
    broken = loads((EXAMPLES / "broken.json").read_text())
    units = [{"dialect": NAMED.get(d, d), "payload": p} for d, p in collect_examples()]
    units += [{"dialect": "auto", "payload": p} for p in broken]
    units.append({"dialect": "no-such-dialect", "payload": {"event": "x"}})
    envelope = {"anonymous_id": "anon-e2e", "user_id": "user-e2e", "context": {"locale": "fr-FR"}}
    body = encode_json({"key": prop["collect_key"], **envelope, "events": units})
    r = server.post("/collect", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text
    answer = r.json()
    expected = Expected()
    for unit, result in zip(units, answer["results"], strict=True):
        payload = _parse.decode(encode_json(unit["payload"]))
        if unit["dialect"] == "no-such-dialect":
            assert result["issues"][0]["code"] == "DIALECT_UNKNOWN"
            issues = [{**result["issues"][0], "event": -1}]
            expected.failed.append((key(unit["payload"]), "no-such-dialect", issues))
            continue
        decoded = trackway.decode(unit["dialect"], payload, default_currency=CURRENCY)
        apply_envelope(decoded.events, envelope)
        expected.add(decoded, unit["payload"])
    assert answer["rejected"] == len(broken) + 1
    assert len(expected.failed) == len(broken) + 1
    check(server, prop, expected)


def commanders_bodies(tag: str) -> list[bytes]:
    """Every Commanders Act example as a server-side body, with an event id and a time."""
    bodies = []
    for n, example in enumerate(examples("commanders-act")):
        event = trackway.decode("commanders-act", example.value).events[0]
        event.id = f"{tag}-{n}"
        event.timestamp = datetime.now(UTC).replace(microsecond=0)
        if event.user_id is None and not event.user:
            event.user_id = f"user-{n}"  # the server form requires a user
        bodies.append(encode_json(trackway.encode("commanders-act", event, form="server")))
    return bodies


def test_commanders_act_server_side_events_and_batch(server, prop):
    expected = Expected()
    ca = server.ca_params(prop)
    for body in commanders_bodies("one"):
        r = server.post("/events", params=ca, content=body, headers={"content-type": "application/json"})
        assert r.status_code == 200, r.text
        assert r.json() == {"status": "ok", "events": 1}
        expected.add(trackway.decode("commanders-act", body, default_currency=CURRENCY), _parse.decode(body))
    batch = b'{"batch": [' + b",".join(commanders_bodies("batch")) + b"]}"
    r = server.post(
        "/events/batch",
        params={"tc_s": ca["tc_s"]},
        content=batch,
        headers={"authorization": f"Bearer {ca['token']}", "content-type": "application/json"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["events"] == len(examples("commanders-act"))
    expected.add(trackway.decode("commanders-act", batch, default_currency=CURRENCY), _parse.decode(batch))
    assert expected.failed, "the purchase and refund examples lack server-side required fields"
    check(server, prop, expected)


def convead_fields(app_key: str, call: list[Any], n: int) -> dict[str, str]:
    data = {"type": call[1], "properties": call[2] if len(call) > 2 else {}}
    if len(call) > 3:
        data["visitor_info"] = call[3]
    uid = f"visitor-{n}" if n % 2 else ""  # '' is "unknown" for one of the two uids
    body = encode_json(data).decode()
    return {"app_key": app_key, "visitor_uid": uid, "guest_uid": f"guest-{n}", "data": body}


INVALID_CONVEAD = [
    ["event", "purchase", {"items": []}],  # no order_id, no revenue
    ["event", "no_such_type", {}],
]


@pytest.mark.parametrize("where", ["form", "query"])
def test_convead_and_insend_watch_event(server, prop, where):
    expected = Expected()
    calls = [e.value for d in ("convead", "insend") for e in examples(d)] + INVALID_CONVEAD
    for n, call in enumerate(calls):
        fields = convead_fields(prop["convead_app_key"], call, n)
        if where == "form":
            r = server.post("/watch/event", data=fields)
        else:
            r = server.post("/watch/event?" + urllib.parse.urlencode(fields))
        decoded = trackway.decode("convead", dict(fields), default_currency=CURRENCY)
        expected.add(decoded, {**fields, "app_key": REDACTED})  # a failed payload never keeps the credential
        errors = [i.to_json() for i in decoded.issues if i.is_error]
        if errors or not decoded.events:
            assert r.status_code == 400, r.text
            assert r.json()["issues"] == errors
        else:
            assert r.status_code == 200, r.text
    assert len(expected.failed) == len(INVALID_CONVEAD)
    check(server, prop, expected)


def mp_bodies() -> list[bytes]:
    events = []
    for example in examples("gtag-ga4"):
        event = trackway.decode("gtag-ga4", example.value).events[0]
        event.anonymous_id = "555.1234567890"  # the client_id: one body for all of them
        events.append(event)
    rendered = dialects.get("ga4-mp").encode_many(events, EncodeOptions(), Issues())
    bodies = [encode_json(b) for b in rendered]
    bodies.append((EXAMPLES / "mp-purchase.json").read_bytes())
    bodies.append(b'{"client_id": "1.2", "events": [{"name": "bad-name!", "params": {}}]}')
    bodies.append(b'{"client_id": "1.2", "events": [{"name": "ok_event"}, {"name": "_reserved"}]}')
    bodies.append(b"{not json")
    return bodies


def test_ga4_measurement_protocol(server, prop):
    expected = Expected()
    for body in mp_bodies():
        r = server.post("/mp/collect", params=server.mp_params(prop), content=body)
        assert r.status_code == 204, r.text
        assert r.content == b""
        try:
            decoded = trackway.decode("ga4-mp", body, default_currency=CURRENCY)
        except trackway.ParseError:
            continue  # checked below: unreadable bodies fail as a whole
        expected.add(decoded, _parse.decode(body))
    assert sum(len(e.get("commerce", {}).get("items", [])) > 0 for e in expected.events) >= 1
    failed = server.wait_failed(len(expected.failed) + 1, token=prop["admin_token"])
    unreadable = [f for f in failed if f["payload"] == "{not json"]
    assert [i["code"] for i in unreadable[0]["issues"]] == ["PAYLOAD_INVALID"]
    expected.failed.append((key("{not json"), "ga4-mp", unreadable[0]["issues"]))
    check(server, prop, expected)


def test_a_property_added_while_running_is_isolated(server):
    """New keys work without a restart; a property's keys write only into it, and its
    admin token reads only it."""
    n = next(_names)
    a, b = server.add_property(f"tenant-a-{n}"), server.add_property(f"tenant-b-{n}")
    headers = {"content-type": "application/json"}
    mixed = [  # one property's site or stream with the other's secret: nothing is written
        server.post(
            "/events", params={**server.ca_params(a), "token": b["commanders_act_token"]}, content=b"{}"
        ),
        server.post("/mp/collect", params={**server.mp_params(a), "api_secret": b["ga4_api_secret"]}),
    ]
    assert [r.status_code for r in mixed] == [401, 401]
    cart = ["event", "add_to_cart", {"currency": "EUR", "value": 1, "items": [{"item_id": "a"}]}]
    assert server.post("/collect", json={"key": a["collect_key"], "events": [cart]}).status_code == 200
    body = commanders_bodies(f"tenant-{n}")[1]
    assert (
        server.post("/events", params=server.ca_params(a), content=body, headers=headers).status_code == 200
    )
    mp = (EXAMPLES / "mp-purchase.json").read_bytes()
    assert server.post("/mp/collect", params=server.mp_params(a), content=mp).status_code == 204
    call = examples("convead")[0].value
    fields = convead_fields(a["convead_app_key"], call, 1)
    assert server.post("/watch/event", data=fields).status_code == 200
    assert server.post("/collect", json={"key": b["collect_key"], "events": [cart]}).status_code == 200

    mine = server.wait_events(4, token=a["admin_token"])
    assert len(mine) == 4 and {e["property"] for e in mine} == {a["property"]}
    assert {e["dialect"] for e in mine} == {"gtag-ga4", "commanders-act", "ga4-mp", "convead"}
    theirs = server.wait_events(1, token=b["admin_token"])
    assert len(theirs) == 1 and theirs[0]["property"] == b["property"]
    for path in ("/api/events", "/api/failed_events", "/api/export"):
        r = server.api(path, a["admin_token"], property=b["property"])
        assert r.status_code == 403, r.text
        assert server.api(path, b["admin_token"], property=b["property"]).status_code == 200
    assert server.events(property=b["property"]) == theirs  # the server token, asking for B
    assert server.events(a["admin_token"], property=a["property"]) == mine
