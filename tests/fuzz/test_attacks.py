"""The attacks of issue 12 on the request path, and those the fuzzers found, each
through the whole path (tests/fuzz/harness.py): no 5xx, nothing escapes the app, the
loader loads it (lag 0 after), reports and export run, and an acknowledged request that
writes is found stored (events, failed_events or a quarantine). Their CPU time is
written to /tmp/fuzz-findings.md when over a second, never asserted."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator

import pytest

from tests.fuzz import findings
from tests.fuzz.harness import ADMIN_TOKEN, Pipeline, Req

DEEP = 1_000
NEST = "[" * DEEP + "]" * DEEP
DIGITS = "1" * 5_000
JSON = ((b"content-type", b"application/json"),)
WRITERS = ("/mp/collect", "/events", "/events/batch", "/watch/event", "/collect")  # a 2xx there is stored


def mp(params: str, user: str = '"u-1"') -> str:
    return f'{{"client_id":"1.2","user_id":{user},"events":[{{"name":"purchase","params":{params}}}]}}'


def purchase(quantity: str = "1", value: str = "10") -> str:
    item = f'{{"item_id":"SKU_1","price":10,"quantity":{quantity}}}'
    return f'{{"transaction_id":"T1","currency":"EUR","value":{value},"items":[{item}]}}'


def ca(timestamp: str = "1700000000000", extra: str = "") -> str:
    user = '{"id":"u1","email":"a@b.fr","consent_categories":[1]}'
    context = f'{{"event_id":"e-1","event_timestamp":{timestamp}}}'
    return f'{{"event_name":"search","search_term":"t"{extra},"user":{user},"context":{context}}}'


def collect(key: str, payload: str) -> str:
    return f'{{"key":"{key}","anonymous_id":"a1","events":[{payload}]}}'


Attack = Callable[[dict[str, str]], Req]


def _mp(body: str, path: str = "/mp/collect", headers: tuple[tuple[bytes, bytes], ...] = JSON) -> Attack:
    def build(k: dict[str, str]) -> Req:
        query = f"measurement_id={k['ga4_measurement_id']}&api_secret={k['ga4_api_secret']}"
        raw = body.encode("utf-8", "surrogatepass")
        return Req("POST", path, query.encode(), headers, gzip.compress(raw) if headers != JSON else raw)

    return build


def _ca(body: str, path: str = "/events") -> Attack:
    def build(k: dict[str, str]) -> Req:
        query = f"tc_s={k['commanders_act_site']}&token={k['commanders_act_token']}"
        return Req("POST", path, query.encode(), JSON, body.encode())

    return build


def _collect(payload: str) -> Attack:
    return lambda k: Req("POST", "/collect", b"", JSON, collect(k["collect_key"], payload).encode())


def _collect_as(dialect: str, payload: str) -> Attack:
    def build(k: dict[str, str]) -> Req:
        body = f'{{"key":"{k["collect_key"]}","dialect":"{dialect}","events":[{payload}]}}'
        return Req("POST", "/collect", b"", JSON, body.encode())

    return build


EMPTY_15K = ",".join(["{}"] * 15_000)
EMPTY_100K = ",".join(["{}"] * 100_000)


def _tracker(body: str, cookie: bytes = b"") -> Attack:
    """A /collect envelope as the browser tracker sends it: text/plain, maybe a cookie."""

    def build(k: dict[str, str]) -> Req:
        headers = [(b"content-type", b"text/plain;charset=UTF-8")]
        if cookie:
            headers.append((b"cookie", cookie))
        raw = body.replace("KEY", k["collect_key"]).encode("utf-8", "surrogatepass")
        return Req("POST", "/collect", b"", tuple(headers), raw)

    return build


CALL = '{"event":"search","search_term":"t"}'


def _convead(data: str, guest: str = "g1") -> Attack:
    def build(k: dict[str, str]) -> Req:
        body = f"app_key={k['convead_app_key']}&guest_uid={guest}&data={data}"
        return Req(
            "POST",
            "/watch/event",
            b"",
            ((b"content-type", b"application/x-www-form-urlencoded"),),
            body.encode(),
        )

    return build


def _api(path: str, query: str) -> Attack:
    return lambda k: Req("GET", path, query.encode(), ((b"authorization", f"Bearer {ADMIN_TOKEN}".encode()),))


def _dash(
    method: str, path: str, headers: tuple[tuple[bytes, bytes], ...], body: str = "", query: str = ""
) -> Attack:
    """A request of the dashboard's (sign-in, a session's API call)."""
    raw = body.encode("utf-8", "surrogatepass")
    return lambda k: Req(method, path, query.encode("utf-8", "surrogatepass"), headers, raw)


def _validate(text: str) -> Attack:
    body = '{"text":' + text + ',"dialect":"auto"}'
    return _dash("POST", "/api/validate", ((b"authorization", f"Bearer {ADMIN_TOKEN}".encode()), *JSON), body)


SESSION = (b"cookie", b"tw_session=" + b"a." * 50_000)
GZIP = ((b"content-type", b"application/json"), (b"content-encoding", b"gzip"))
ATTACKS: dict[str, Attack] = {
    "mp lone surrogate user_id": _mp(mp(purchase(), user='"\\udc00"')),
    "mp 1,000-level nesting": _mp(mp(f'{{"deep":{NEST}}}')),
    'mp "quantity":"1e9999"': _mp(mp(purchase(quantity='"1e9999"'))),
    "mp 5,000-digit integer": _mp(mp(purchase(value=DIGITS))),
    "mp 5,000-digit quantity": _mp(mp(purchase(quantity=DIGITS))),
    "mp quantity 1e1000000": _mp(mp(purchase(quantity="1e1000000"))),
    "mp NaN and Infinity literals": _mp(mp(purchase(quantity="NaN", value="Infinity"))),
    "mp lone surrogate, gzip": _mp(mp(purchase(), user='"\\udc00"'), headers=GZIP),
    "debug mp quantity 1e1000000": _mp(mp(purchase(quantity="1e1000000")), path="/debug/mp/collect"),
    "debug mp 1,000-level nesting": _mp(mp(f'{{"deep":{NEST}}}'), path="/debug/mp/collect"),
    "debug mp 5,000-digit integer": _mp(mp(purchase(value=DIGITS)), path="/debug/mp/collect"),
    'ca context.event_timestamp "1e9999"': _ca(ca(timestamp='"1e9999"')),
    "ca 1,000-level nesting": _ca(ca(extra=f',"deep":{NEST}')),
    "ca lone surrogate": _ca(ca(extra=',"search_term2":"\\udc00"').replace('"u1"', '"\\udc00"')),
    "ca 5,000-digit value": _ca(ca(extra=f',"value":{DIGITS}')),
    "ca batch 1,000-level nesting": _ca('{"batch":[' + ca(extra=',"deep":' + NEST) + "]}", "/events/batch"),
    'ca batch "1e9999" timestamp': _ca('{"batch":[' + ca(timestamp='"1e9999"') + "]}", "/events/batch"),
    "collect 1,000-level nesting": _collect(NEST),
    "collect nested gtm payload": _collect(f'{{"event":"purchase","ecommerce":{{"items":{NEST}}}}}'),
    "collect quantity 1e1000000": _collect(
        f'{{"event":"purchase","ecommerce":{purchase(quantity="1e1000000")}}}'
    ),
    "collect 5,000-digit value": _collect(f'{{"event":"purchase","ecommerce":{purchase(value=DIGITS)}}}'),
    "collect lone surrogate": _collect('{"event":"search","search_term":"\\udc00"}'),
    "tracker call id lone surrogate": _tracker(
        f'{{"key":"KEY","events":[{{"id":"\\udc00","payload":{CALL}}}]}}'
    ),
    "tracker call id of 100,000 characters": _tracker(
        f'{{"key":"KEY","events":[{{"id":"{"a" * 100_000}","payload":{CALL}}}]}}'
    ),
    "tracker call id nested": _tracker(f'{{"key":"KEY","events":[{{"id":{NEST},"payload":{CALL}}}]}}'),
    "tracker ids: 10,000 entries": _tracker(
        '{"key":"KEY","ids":{' + ",".join(f'"k{n}":"v{n}"' for n in range(10_000)) + f'}},"events":[{CALL}]}}'
    ),
    "tracker ids nested and surrogates": _tracker(
        f'{{"key":"KEY","ids":{{"a":{NEST},"\\udc00":"\\udc00","b":"{"x" * 10_000}"}},"events":[{CALL}]}}'
    ),
    "tracker consent nested": _tracker(
        f'{{"key":"KEY","consent":{{"categories":{NEST}}},"events":[{CALL}]}}'
    ),
    "tracker cookie of 100 KB": _tracker(f'{{"key":"KEY","events":[{CALL}]}}', b"tw_id=" + b"a" * 100_000),
    "tracker cookie bytes": _tracker(f'{{"key":"KEY","events":[{CALL}]}}', b"tw_id=\xff\xfe; tw_id==;;=;"),
    "t.js 100 KB If-None-Match": lambda k: Req(
        "GET", "/t.js", b"", ((b"if-none-match", b'"x",' * 25_000), (b"accept-encoding", b"gzip;q=\xff"))
    ),
    "convead lone surrogate guest": _convead(
        '{"type":"view_product","properties":{"product_id":"1"}}', "%ED%B0%80"
    ),
    "convead 1,000-level nesting": _convead(
        '{"type":"view_product","properties":' + "%5B" * DEEP + "%5D" * DEEP + "}"
    ),
    "convead qnt 1e9999": _convead('{"type":"add_to_cart","properties":{"product_id":"1","qnt":"1e9999"}}'),
    # events x issues, and issues without a bound (a sweep of stop 30): 32,000 empty MP events
    # stalled the loader for 105 s; 100,000 empty items in /collect made a 62 MB answer
    "mp 43,000 empty events": _mp('{"client_id":"1.2","events":[' + ",".join(["{}"] * 43_000) + "]}"),
    "ca batch of 8,000 events": _ca(
        '{"batch":[' + ",".join(['{"event_name":"x"}'] * 8_000) + "]}", "/events/batch"
    ),
    "collect 15,000 empty mp events": _collect_as(
        "ga4-mp", '{"client_id":"1.2","events":[' + EMPTY_15K + "]}"
    ),
    "collect ca purchase of 100,000 empty items": _collect_as(
        "commanders-act", '{"event_name":"purchase","items":[' + EMPTY_100K + "]}"
    ),
    "collect gtm purchase of 100,000 empty items": _collect(
        '{"event":"purchase","ecommerce":{"items":[' + EMPTY_100K + "]}}"
    ),
    # msgspec's RecursionError on the admin API's JSON bodies was a 500 (the sweep of stop 30)
    **{
        f"{path} 5,000 brackets": _dash(
            "POST", path, ((b"authorization", f"Bearer {ADMIN_TOKEN}".encode()), *JSON), "[" * 5_000
        )
        for path in (
            "/api/replay",
            "/api/forget",
            "/api/validate",
            "/api/quarantine/retry",
            "/api/destinations/retry",
        )
    },
    "funnel with 600 steps": _api("/api/reports/funnel", "steps=" + ",".join(f"s{n}" for n in range(600))),
    "signin 1 MB token": _dash("POST", "/signin", JSON, '{"token":"' + "t" * (1 << 20) + '"}'),
    "signin token nested": _dash("POST", "/signin", JSON, '{"token":' + NEST + "}"),
    "signin lone surrogate token": _dash("POST", "/signin", JSON, '{"token":"\\udc00"}'),
    "signin code of 100,000 characters": _dash("GET", "/signin", (), query="code=" + "c" * 100_000),
    "signin code with a path": _dash("GET", "/signin", (), query="code=../../dashboard.key"),
    "signin origin bytes": _dash("POST", "/signin", ((b"origin", b"\xff\xfe://"), *JSON), '{"token":"x"}'),
    "session cookie of 100 KB": _dash("GET", "/api/events", (SESSION,)),
    "session cookie forged, no csrf": _dash(
        "POST", "/api/replay", ((b"cookie", b"tw_session=a.1.b.c"),), "{}"
    ),
    "signout with a forged cookie": _dash("POST", "/signout", ((b"cookie", b"tw_session=\xff.\xfe.."),)),
    "validate 1,000-level nesting": _validate('"dataLayer.push(' + NEST + ')"'),
    "validate 256 KiB and one byte": _validate('"' + "x" * (256 * 1024 + 1) + '"'),
    "validate 5,000 calls": _validate('"' + "gtag('event','x');" * 5_000 + '"'),
    "validate unterminated script": _validate('"<script>dataLayer.push({a: [1, 2"'),
    "validate JSON 100,000 levels": _validate('"' + "[" * 100_000 + "]" * 100_000 + '"'),
    "validate JSON lines 2,000 levels": _validate('"' + ("[" * 2_000 + "]" * 2_000 + "\\n") * 2 + '"'),
    "event id lone surrogate": _api("/api/event", "id=%ED%B0%80&property=default"),
    "event id of 100,000 characters": _api("/api/event", "id=" + "9" * 100_000),
    "setup base with markup": _api("/api/setup", "base=http://x/%22%3E%3Cscript%3Ealert(1)%3C/script%3E"),
    "person unknown": _api("/api/person", "property=default&person_id=%00"),
    "report format bytes": _api("/api/reports/revenue", "format=%FF"),
    # the JavaScript reader tried an unclosed comment or string again from every later "/*"
    # or quote, each time to the end (the sweep of stop 41): 60 kB of "/* " cost 8 s of CPU
    "mp body of 43,000 unclosed comments": _mp("/* " * 43_000),
    "debug mp body of 43,000 unclosed comments": _mp("/* " * 43_000, "/debug/mp/collect"),
    "collect payload of 40,000 unclosed strings": _collect(json.dumps("'\"\\'" * 40_000)),
    "validate 60,000 escaped backticks": _validate(json.dumps("'\\`'" * 60_000)),
}


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    p = Pipeline(tmp_path_factory.mktemp("attacks"))
    yield p
    p.shutdown()


@pytest.mark.parametrize("name", list(ATTACKS))
def test_the_attack_breaks_nothing(pipeline: Pipeline, name: str) -> None:
    out = pipeline.send(ATTACKS[name](pipeline.keys()))
    findings.tally("attacks", out.req.path, out)
    findings.note(out, f"attack test: {name}")
    tails = "\n".join("\n".join(t.strip().splitlines()[-4:]) for t in out.tracebacks())
    assert not out.problems(), f"{name}: {'; '.join(out.problems())} (status {out.status})\n{tails}"
    if out.acknowledged and out.req.path in WRITERS:
        kept = out.events + out.failed + out.quarantined
        assert kept >= 1, f"{name}: acknowledged {out.status} but nothing stored"
    # an answer is bounded, whatever came: issues are listed up to trackway.issues.MAX_LISTED
    assert out.answered_bytes <= ANSWER_BOUND, f"{name}: answered {out.answered_bytes} bytes"


ANSWER_BOUND = 1 << 20
