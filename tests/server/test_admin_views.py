"""The dashboard's endpoints of the store process's admin API (issue 17): an event's or
a failed payload's detail, the validator, the setup page and the destinations, each
scoped by token (another property's id: 404; naming another property: 403)."""

from __future__ import annotations

import shlex
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import msgspec
import pytest

from tests.server.test_quarantine_api import call
from tests.support.inproc import Harness, harness
from trackway import config as configuration
from trackway import dialects
from trackway.destinations import overview, runner
from trackway.destinations.consumer import DeadLetter
from trackway.destinations.deadletters import DeadLetters
from trackway.destinations.retry import Answer
from trackway.inspect import MAX_TEXT
from trackway.model import Event, to_json
from trackway.server.admin import Admin, make_admin_app
from trackway.store.duck import DuckStore
from trackway.store.memory import MemoryStore

pytestmark = pytest.mark.anyio

ITEM = {"item_id": "tee", "item_name": "Tee", "price": 10, "quantity": 2}
PURCHASE = {
    "name": "purchase",
    "params": {"transaction_id": "T1", "currency": "EUR", "value": 20, "items": [ITEM]},
}
NO_TRANSACTION = {"name": "purchase", "params": {"currency": "EUR", "value": 20, "items": [ITEM]}}


@pytest.fixture(params=["duck", "memory"])
async def hs(request, tmp_path):
    h = await harness(tmp_path, store=DuckStore(":memory:") if request.param == "duck" else MemoryStore())
    yield h
    await h.client.aclose()
    h.writer.close()
    h.store.close()


def admin_app(h: Harness) -> Any:
    return make_admin_app(Admin(h.store, lambda: h.cfg))


async def mp(h: Harness, body: dict[str, Any], prop: str = "default") -> None:
    r = await h.client.post(h.mp(prop), json=body)
    assert r.status_code in (200, 204), r.text


async def stored(h: Harness) -> tuple[str, str, str]:
    """A valid purchase (default), a failed one (default), a valid one (other): their ids."""
    await mp(h, {"client_id": "c-1", "user_id": "alice", "events": [PURCHASE]})
    await mp(h, {"client_id": "c-2", "events": [NO_TRANSACTION]})
    await mp(h, {"client_id": "c-3", "events": [PURCHASE]}, prop="other")
    [good] = await h.events("default")
    [bad] = await h.failed("default")
    [other] = await h.events("other")
    return good.id, bad.id, other.id


# -- GET /api/event ---------------------------------------------------------------


async def test_a_valid_event_is_rendered_back_decoded_again_and_in_every_other_dialect(hs):
    good, _, _ = await stored(hs)
    r = await call(admin_app(hs), "GET", "/api/event", params={"id": good})
    assert r.status_code == 200, r.text
    view = r.json()
    assert (view["kind"], view["id"], view["property"], view["dialect"], view["endpoint"]) == (
        "event",
        good,
        "default",
        "ga4-mp",
        "/mp/collect",
    )
    assert view["payload_source"] == "rendered" and view["received_at"].endswith("+00:00")
    assert view["payload"]["events"][0]["params"]["transaction_id"] == "T1"
    assert view["event"]["commerce"]["transaction_id"] == "T1"
    assert not any(i["severity"] == "error" for i in view["issues"])
    assert set(view["renders"]) == set(dialects.names()) - {"ga4-mp"}
    for render in view["renders"].values():
        assert ("payload" in render and isinstance(render["issues"], list)) or "error" in render
    assert view["renders"]["gtm-ga4"]["payload"]["ecommerce"]["transaction_id"] == "T1"
    person = view["person"]
    assert (person["anonymous_id"], person["user_id"]) == ("c-1", "alice")
    if isinstance(hs.store, DuckStore):  # the memory store has no identity tables
        assert person["people"] and "alice" in msgspec.json.encode(person["people"]).decode()


async def test_a_failed_payload_is_shown_as_received_with_its_issues_and_the_event_it_would_be(hs):
    _, bad, _ = await stored(hs)
    r = await call(admin_app(hs), "GET", "/api/event", params={"id": bad})
    assert r.status_code == 200, r.text
    view = r.json()
    assert (view["kind"], view["payload_source"], view["property"]) == ("failed", "received", "default")
    assert (view["indices"], view["names"]) == ([0], ["purchase"])
    assert view["payload"]["events"] == [{**NO_TRANSACTION, "params": {**NO_TRANSACTION["params"]}}]
    codes = {i["code"] for i in view["issues"]}
    assert any(i["severity"] == "error" and "transaction" in i["path"] for i in view["issues"]), codes
    assert view["event"]["name"] == "purchase" and view["event"]["anonymous_id"] == "c-2"
    assert "gtag-ga4" in view["renders"] and view["person"]["anonymous_id"] == "c-2"


async def test_a_failed_payload_that_is_not_json_is_its_text_and_no_event(hs):
    r = await hs.client.post(hs.mp(), content=b"this is not json {")
    assert r.status_code < 500
    failed = await hs.failed("default")
    assert len(failed) == 1  # stored as received, as a failed payload
    view = (await call(admin_app(hs), "GET", "/api/event", params={"id": failed[0].id})).json()
    assert view["payload"] == "this is not json {" and view["event"] is None and view["renders"] == {}


EVENT_CASES = [
    # (scope, query (ID: the default property's valid event), status, words of the answer)
    ("*", {}, 400, "expected ?id="),
    ("*", {"id": "x" * 301}, 400, "at most 300"),
    ("*", {"id": "no-such-id"}, 404, "neither"),
    ("*", {"id": "0190b1a0-0000-7000-8000-000000000000"}, 404, "neither"),
    ("other", {"id": "ID"}, 404, "neither"),  # another property's: as if it did not exist
    ("other", {"id": "BAD"}, 404, "neither"),
    ("default", {"id": "ID", "property": "other"}, 403, "'default' only, not 'other'"),
    ("*", {"id": "ID", "property": "other"}, 404, "of the property 'other'"),
    ("default", {"id": "ID"}, 200, '"kind":"event"'),
    ("default", {"id": "BAD"}, 200, '"kind":"failed"'),
    ("*", {"id": "ID", "property": "default"}, 200, '"kind":"event"'),
]


@pytest.mark.parametrize(("scope", "query", "status", "words"), EVENT_CASES)
async def test_event_lookups_answer_by_scope(h, scope, query, status, words):
    good, bad, _ = await stored(h)
    query = {k: {"ID": good, "BAD": bad}.get(v, v) for k, v in query.items()}
    r = await call(admin_app(h), "GET", "/api/event", scope=scope, params=query)
    assert r.status_code == status, r.text
    assert words in r.text


async def test_a_property_token_reads_an_event_through_the_worker_and_not_another_propertys(h):
    good, _, other = await stored(h)
    auth = {"Authorization": f"Bearer {h.keys('default')['admin_token']}"}
    r = await h.client.get("/api/event", params={"id": good}, headers=auth)
    assert (r.status_code, r.json()["id"]) == (200, good)
    r = await h.client.get("/api/event", params={"id": other}, headers=auth)
    assert r.status_code == 404 and other in r.json()["error"]


# -- POST /api/validate -----------------------------------------------------------

SCRIPT = """<script>
window.dataLayer = window.dataLayer || [];
function gtag(){dataLayer.push(arguments);}
gtag('js', new Date());
gtag('event', 'purchase', {transaction_id: 'T1', value: 20, currency: 'EUR',
  items: [{item_id: 'tee', price: 10, quantity: 2}]});
dataLayer.push({event: 'add_to_cart',
  ecommerce: {currency: 'EUR', value: 10, items: [{item_id: 'tee', price: 10, quantity: 1}]}});
cact('trigger', 'purchase', {id: 'T2', amount: 5, currency: 'EUR'});
</script>"""

VALIDATE_GOOD = [
    # (body, [(dialect, valid, event names)], a note that must be there)
    (
        {"text": msgspec.json.encode({"client_id": "c", "events": [PURCHASE]}).decode()},
        [("ga4-mp", True, ["purchase"])],
        None,
    ),
    ({"text": "gtag('event', 'purchase', {value: 1})"}, [("gtag-ga4", False, ["purchase"])], None),
    (
        {"text": '{"event": "page_view"}\n{"event": "purchase"}', "dialect": "gtm-ga4"},
        [("gtm-ga4", True, ["page_view"]), ("gtm-ga4", False, ["purchase"])],
        None,
    ),
    (
        {"text": SCRIPT},
        [
            ("gtag-ga4", True, ["purchase"]),
            ("gtm-ga4", True, ["add_to_cart"]),
            ("commanders-act", None, ["purchase"]),
        ],
        "read as a page script",
    ),
    ({"text": "   "}, [], None),
]


@pytest.mark.parametrize(("body", "expected", "note"), VALIDATE_GOOD)
async def test_the_validator_checks_each_call_of_a_pasted_text(body, expected, note):
    r = await call(
        make_admin_app(Admin(MemoryStore(), lambda: None)), "POST", "/api/validate", "shop", json=body
    )
    assert r.status_code == 200, r.text
    answer = r.json()
    got = [(c["dialect"], c["valid"], [e["name"] for e in c["events"]]) for c in answer["calls"]]
    assert len(got) == len(expected), got
    assert [
        (d, v if want is not None else None, n) for (d, v, n), (_, want, _) in zip(got, expected, strict=True)
    ] == expected
    for c in answer["calls"]:
        assert c["valid"] == (not any(i["severity"] == "error" for i in c["issues"]))
        assert isinstance(c["source"], str) and c["source"]
        if c["events"]:
            assert c["dialect"] not in c["renders"] and len(c["renders"]) == len(dialects.names()) - 1
    if note:
        assert any(note in n for n in answer["notes"]), answer["notes"]


async def test_the_validator_gives_the_clis_issues_for_the_same_text(tmp_path):
    from click.testing import CliRunner

    from trackway.cli.validate import validate

    text = '{"event": "purchase", "ecommerce": {"value": 3}}'
    (tmp_path / "p.json").write_text(text)
    cli = CliRunner().invoke(validate, ["--format", "json", str(tmp_path / "p.json")])
    r = await call(
        make_admin_app(Admin(MemoryStore(), lambda: None)), "POST", "/api/validate", json={"text": text}
    )
    assert [c["issues"] for c in r.json()["calls"]] == [x["issues"] for x in msgspec.json.decode(cli.stdout)]


VALIDATE_BAD = [
    (b"not json", 400, "expected a JSON body, got one the parser rejects"),
    (b"[1]", 400, "expected a JSON object"),
    (b"{}", 400, "got no text"),
    (b'{"text": 5}', 400, 'expected {"text": "..."}'),
    (b'{"text": "{}", "dialect": 3}', 400, "expected dialect as a string"),
    (b'{"text": "{}", "dialect": "klingon"}', 400, "expected dialect auto or one of"),
    (msgspec.json.encode({"text": "x" * (MAX_TEXT + 1)}), 400, "at most 256 KiB"),
    (b'{"text": "{event: \'a\', oops b: 1}"}', 400, "<input>:1:14: expected a key"),
    (b'{"text": "<div>hello</div>"}', 400, "1:1: expected a value"),
]


@pytest.mark.parametrize(("body", "status", "words"), VALIDATE_BAD)
async def test_the_validator_refuses_what_it_cannot_read_saying_why(body, status, words):
    r = await call(make_admin_app(Admin(MemoryStore(), lambda: None)), "POST", "/api/validate", content=body)
    assert r.status_code == status, r.text
    assert words in r.json()["error"]


# -- GET /api/setup ---------------------------------------------------------------


async def test_setup_gives_a_property_its_keys_tag_and_a_working_curl_per_endpoint(hs):
    app = admin_app(hs)
    r = await call(app, "GET", "/api/setup", "default", params={"base": "http://shop.test:8080"})
    assert r.status_code == 200, r.text
    [prop] = r.json()["properties"]
    keys = hs.keys("default")
    assert prop["name"] == "default" and prop["currency"] == "EUR"
    names = {k["name"]: k for k in prop["keys"]}
    assert "admin_token" not in names and keys["admin_token"] not in r.text
    # the collect key is public (it is in every page's tag): shown, not hidden
    assert names["collect_key"] == {"name": "collect_key", "value": keys["collect_key"], "secret": False}
    assert names["ga4_measurement_id"]["secret"] is False and names["ga4_api_secret"]["secret"] is True
    assert prop["snippet"] == (
        f'<script async src="http://shop.test:8080/t.js" data-key="{keys["collect_key"]}"></script>'
    )
    paths = {e["path"]: e for e in prop["endpoints"]}
    assert {"/collect", "/mp/collect", "/events", "/events/batch", "/watch/event"} <= set(paths)
    assert all(e["received"] is None for e in paths.values())  # nothing sent yet
    for path, e in paths.items():
        assert e["curl"], path
        args = shlex.split(e["curl"])
        url = urlsplit(args[args.index("POST") + 1])
        assert url.netloc == "shop.test:8080" and url.path == path
        headers = dict(a.split(": ", 1) for a in args[args.index("-H") + 1 :: 2] if ": " in a)
        body = args[args.index("--data-binary") + 1].encode()
        r = await hs.client.post(path + ("?" + url.query if url.query else ""), headers=headers, content=body)
        assert r.status_code in (200, 204), (path, r.text)
    await hs.load()
    paths = {
        e["path"]: e
        for e in (await call(app, "GET", "/api/setup", "default")).json()["properties"][0]["endpoints"]
    }
    for path in ("/collect", "/mp/collect", "/events", "/events/batch", "/watch/event"):
        received = paths[path]["received"]
        assert received is not None and received["events"] >= 1 and received["failed"] == 0, (path, received)
        assert datetime.fromisoformat(received["last"]) <= datetime.now(UTC)


SETUP_CASES = [
    ("*", {}, 200, ["default", "other"]),
    ("other", {}, 200, ["other"]),
    ("default", {"base": "https://t.example.com/collector"}, 200, ["default"]),
    ("*", {"property": "other"}, 200, ["other"]),
    ("*", {"property": "default", "base": "http://127.0.0.1:9"}, 200, ["default"]),
    ("*", {"property": ""}, 200, ["default", "other"]),
    ("other", {"property": "other"}, 200, ["other"]),
    ("*", {"property": "nope"}, 404, "expected property as one of default, other, got 'nope'"),
    ("other", {"property": "default"}, 403, "reads the property 'other' only, not 'default'"),
    ("*", {"base": "javascript:alert(1)"}, 400, None),
    ("*", {"base": 'http://x" onload="alert(1)'}, 400, None),
    ("*", {"base": "http://x/ y"}, 400, None),
]


@pytest.mark.parametrize(("scope", "query", "status", "names"), SETUP_CASES)
async def test_setup_shows_the_properties_a_token_sees_or_names_and_refuses_a_bad_base(
    h, scope, query, status, names
):
    r = await call(admin_app(h), "GET", "/api/setup", scope, params=query)
    assert r.status_code == status, r.text
    if isinstance(names, list):
        assert [p["name"] for p in r.json()["properties"]] == names
    elif isinstance(names, str):
        assert names in r.json()["error"]
    else:
        assert "expected base as the collector's URL" in r.json()["error"]


async def test_setup_counts_failed_payloads_per_endpoint(h):
    await stored(h)
    [prop] = (await call(admin_app(h), "GET", "/api/setup", "default")).json()["properties"]
    received = {e["path"]: e["received"] for e in prop["endpoints"]}["/mp/collect"]
    assert (received["events"], received["failed"]) == (1, 1)


# -- destinations -----------------------------------------------------------------

SECRET = "whsec_Very-Secret-42"


def with_destination(h: Harness, letters: int = 2) -> str:
    configuration.add_destination(
        h.cfg.path, "default", "hook", {"type": "webhook", "url": "https://hook.example/in", "secret": SECRET}
    )
    h.cfg = configuration.load(h.cfg.path)
    book = DeadLetters(runner.Files(h.root, "default.hook").dead)
    at = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)
    for n in range(letters):
        event = Event(name="purchase", dialect="ga4-mp", id=f"e{n}", property="default", received_at=at)
        book.append(
            DeadLetter(
                "default.hook",
                (f"e{n}",),
                "HTTP 400",
                at,
                400,
                "bad request",
                "https://hook.example/in",
                {},
                (to_json(event),),
            )
        )
    return "default.hook"


async def test_destinations_show_status_and_dead_letters_without_secrets(h):
    with_destination(h)
    r = await call(admin_app(h), "GET", "/api/destinations", "default")
    assert r.status_code == 200, r.text
    [row] = r.json()["destinations"]
    assert (row["destination"], row["type"], row["dead_letter_count"]) == ("default.hook", "webhook", 2)
    assert (row["property"], row["name"], row["paused"]) == ("default", "hook", False)
    assert [d["events"] for d in row["dead_letters"]] == [["e0"], ["e1"]]
    assert row["latest_dead_letter"] == row["dead_letters"][-1]  # why it refuses now
    assert SECRET not in r.text and "log_retained_bytes" not in r.json()  # the server's figure
    r = await call(admin_app(h), "GET", "/api/destinations", "*")
    assert [d["destination"] for d in r.json()["destinations"]] == ["default.hook"]
    assert r.json()["log_retained_bytes"] == 0 and SECRET not in r.text
    r = await call(admin_app(h), "GET", "/api/destinations", "other")
    assert r.json() == {"destinations": []}
    r = await call(admin_app(h), "GET", "/api/destinations", "other", params={"property": "default"})
    assert r.status_code == 403


@pytest.mark.parametrize(("letters", "shown", "latest"), [(0, 0, None), (1, 1, 1), (60, 50, 60)])
async def test_destinations_name_their_latest_dead_letter_beside_the_oldest_listed(h, letters, shown, latest):
    with_destination(h, letters)
    [row] = (await call(admin_app(h), "GET", "/api/destinations", "default")).json()["destinations"]
    assert (row["dead_letter_count"], len(row["dead_letters"])) == (letters, shown)
    assert (row["latest_dead_letter"] or {}).get("n") == latest
    if latest is not None:
        assert row["latest_dead_letter"]["reason"] == "HTTP 400" and SECRET not in str(row)


RETRIES = [
    # (what to retry, the receiver's answer, letters retried, delivered, letters left)
    ({"letter": 1}, 200, 1, 1, [2]),
    ({"letter": 1}, 400, 1, 0, [1, 2]),
    ({"all": True}, 200, 2, 2, []),
    ({"all": True}, 500, 2, 0, [1, 2]),
]


@pytest.mark.parametrize(("scope", "name"), [("default", "default.hook"), ("default", "hook"), ("*", "hook")])
@pytest.mark.parametrize(("which", "answer", "retried", "delivered", "left"), RETRIES)
async def test_retrying_dead_letters_sends_them_and_reports_the_outcome(
    h, monkeypatch, scope, name, which, answer, retried, delivered, left
):
    ref = with_destination(h)
    sent: list[Any] = []

    class Script:
        def __call__(self, request: Any) -> Answer:
            sent.append(request)
            return Answer(answer, body="no" if answer >= 400 else "")

        def close(self) -> None:
            pass

    monkeypatch.setattr(overview, "Sender", Script)
    monkeypatch.setattr(time, "sleep", lambda s: None)  # a 5xx is retried after a pause
    r = await call(
        admin_app(h), "POST", "/api/destinations/retry", scope, json={"destination": name, **which}
    )
    assert r.status_code == 200, r.text
    report = r.json()
    failed = retried - delivered
    assert (report["retried"], report["delivered"], report["failed"]) == (retried, delivered, failed)
    assert len(report["errors"]) == failed and len(sent) >= retried
    assert all(e["outcome"] == "failed" and str(answer) in e["error"] for e in report["errors"])
    pending = DeadLetters(runner.Files(h.root, ref).dead).pending()
    assert [p.n for p in pending] == left


RETRY_BAD = [
    ("*", {"letter": 1}, 400, 'expected {"destination"'),
    ("*", {"destination": "default.hook"}, 400, 'expected "letter": N or "all": true'),
    ("*", {"destination": "default.hook", "letter": 1, "all": True}, 400, 'expected "letter": N'),
    ("*", {"destination": "default.hook", "letter": "1"}, 400, "expected letter as a dead letter's number"),
    ("*", {"destination": "default.hook", "letter": True}, 400, "expected letter as a dead letter's number"),
    ("*", {"destination": "default.nope", "all": True}, 404, "one of default.hook"),
    ("*", {"destination": "default.hook", "letter": 9}, 404, "among 1-2, got 9;"),
    ("other", {"destination": "default.hook", "all": True}, 403, "'other' only, not 'default'"),
    ("other", {"destination": "hook", "all": True}, 404, "one of (none)"),
    ("*", {"destination": "nope", "all": True}, 404, "one of default.hook"),
]


@pytest.mark.parametrize(("scope", "body", "status", "words"), RETRY_BAD)
async def test_a_retry_that_cannot_be_done_says_why(h, scope, body, status, words):
    with_destination(h)
    r = await call(admin_app(h), "POST", "/api/destinations/retry", scope, json=body)
    assert r.status_code == status, r.text
    assert words in r.json()["error"]
    assert len(DeadLetters(runner.Files(h.root, "default.hook").dead).pending()) == 2


SPANS = [
    ([], ""),
    ([7], "7"),
    ([1, 2, 3, 5], "1-3, 5"),
    (list(range(1, 3255)), "1-3254"),
    (list(range(1, 40, 2)), "1, 3, 5, 7, 9, 11, 13, 15 and 12 more"),
]


@pytest.mark.parametrize(("numbers", "text"), SPANS)
def test_dead_letter_numbers_are_said_as_runs_and_bounded(numbers, text):
    # a 404 for a letter not pending listed every pending one: 18 kB for 3,254 letters
    assert overview.spans(numbers) == text


async def test_an_event_with_the_clients_own_id_is_found_by_it_in_its_property_only(hs):
    body = {
        "event_name": "search",
        "search_term": "tee",
        "context": {"event_id": "client-42", "event_timestamp": 1796467754299},
        "user": {"consistent_anonymous_id": "v-1"},
    }
    r = await hs.client.post(hs.ca("default"), json=body)
    assert r.status_code in (200, 204), r.text
    assert [e.id for e in await hs.events("default")] == ["client-42"]
    app = admin_app(hs)
    r = await call(app, "GET", "/api/event", "default", params={"id": "client-42"})
    assert (r.status_code, r.json()["endpoint"], r.json()["event"]["anonymous_id"]) == (200, "/events", "v-1")
    r = await call(app, "GET", "/api/event", "other", params={"id": "client-42"})
    assert r.status_code == 404
    r = await call(app, "GET", "/api/event", "*", params={"id": "client-42"})
    assert (r.status_code, r.json()["property"]) == (200, "default")


@pytest.mark.parametrize(
    ("shift", "status"),
    [(0, 200), (3600 * 24, 200), (None, 200), ("yesterday", 400)],
    ids=["right time", "a wrong time", "no time", "not a time"],
)
async def test_the_received_time_is_a_hint_that_never_changes_the_answer(hs, shift, status):
    body = {
        "event_name": "search",
        "search_term": "t",
        "context": {"event_id": "client-7", "event_timestamp": 1796467754299},
        "user": {"consistent_anonymous_id": "v-7"},
    }
    assert (await hs.client.post(hs.ca("default"), json=body)).status_code in (200, 204)
    [event] = await hs.events("default")
    params = {"id": "client-7", "property": "default"}
    if isinstance(shift, int):
        params["at"] = datetime.fromtimestamp(event.received_at.timestamp() - shift, UTC).isoformat()
    elif shift is not None:
        params["at"] = shift
    r = await call(admin_app(hs), "GET", "/api/event", "*", params=params)
    assert r.status_code == status
    if status == 200:
        assert r.json()["id"] == "client-7" and r.json()["received_at"] == event.received_at.isoformat()
    else:
        assert "ISO 8601" in r.json()["error"]


async def test_setup_gives_no_curl_for_an_endpoint_whose_key_the_property_lacks(h):
    path = h.cfg.path
    measurement_id = h.keys("default")["ga4_measurement_id"]
    path.write_text(path.read_text().replace(f'"{measurement_id}"', '""'))
    h.cfg = configuration.load(path)
    [prop] = (await call(admin_app(h), "GET", "/api/setup", "default")).json()["properties"]
    paths = {e["path"]: e for e in prop["endpoints"]}
    for gone in ("/mp/collect", "/debug/mp/collect"):
        assert paths[gone]["curl"] is None
        assert (
            "ga4_measurement_id is empty" in paths[gone]["note"]
            and "[properties.default]" in paths[gone]["note"]
        )
    assert paths["/collect"]["curl"] and "note" not in paths["/collect"]
