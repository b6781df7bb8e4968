"""Whatever an event holds is shown as text on every page (issue 17): item names, event
and property names, JSON keys (so issue paths) and ids of `<img src=x onerror=alert(1)>`
and `</script><script>alert(2)</script>`, sent valid and invalid through every endpoint,
then every page opened with a dialog failing the test (as would a page error or a CSP
violation logged to the console). Every HTML answer carries a Content-Security-Policy
whose script-src has no 'unsafe-inline'."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
import pytest

import trackway
from tests.dashboard.ui import READY, Watched, open_route, shot, sign_in, signed_in, unique, watch
from tests.support.server import ADMIN_TOKEN, Server, wait_for
from trackway import dialects, vendors
from trackway.dialects.base import EncodeOptions
from trackway.issues import Issues
from trackway.model import encode_json

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "</script><script>alert(2)</script>"
HOSTILE = (IMG, SCRIPT)
DEBUG_MP = "/debug/mp/collect"  # validates and answers; stores nothing


def purchase(tag: str) -> list[Any]:
    """A valid gtag purchase with hostile item names, property keys and a value."""
    items = [
        {"item_id": IMG, "item_name": IMG, "price": 10, "quantity": 1},
        {"item_id": SCRIPT, "item_name": SCRIPT, "price": 10, "quantity": 1},
    ]
    params = {"transaction_id": tag, "value": 20, "currency": "EUR", "items": items}
    return ["event", "purchase", {**params, IMG: "key one", SCRIPT: "key two", "note": SCRIPT}]


def canonical(tag: str, keys: bool = True) -> trackway.Event:
    event = trackway.decode("gtag-ga4", purchase(tag)).events[0]
    event.id = tag
    event.timestamp = datetime.now(UTC).replace(microsecond=0)
    event.user_id = IMG
    event.anonymous_id = "555.123"
    if not keys:
        event.properties = {"note": SCRIPT}
    return event


def commanders(tag: str, valid: bool) -> bytes:
    body: dict[str, Any] = json.loads(
        encode_json(trackway.encode("commanders-act", canonical(tag), form="server"))
    )
    if valid:  # what the server form requires of a purchase
        body |= {"type": "online", "status": "delivered", "payment_method": "card"}
    return json.dumps(body).encode()


def mp(tag: str, valid: bool) -> bytes:
    """A Measurement Protocol body; invalid: its parameters' names are the hostile texts."""
    [body] = dialects.get("ga4-mp").encode_many([canonical(tag, keys=not valid)], EncodeOptions(), Issues())
    return encode_json(body)


def convead(app_key: str, tag: str, valid: bool) -> dict[str, str]:
    item = {"product_id": SCRIPT, "qnt": 1, "price": 20, "product_name": IMG}
    data = {
        "type": "purchase" if valid else SCRIPT,
        "properties": {"order_id": tag, "revenue": 20, "items": [item]},
    }
    data["visitor_info"] = {"first_name": SCRIPT, "last_name": IMG}
    return {"app_key": app_key, "visitor_uid": IMG, "guest_uid": f"guest-{tag}", "data": json.dumps(data)}


@dataclass
class Sent:
    endpoint: str
    valid: bool
    tag: str
    status: int


def send_all(server: Server, prop: str) -> list[Sent]:
    """Hostile payloads through every endpoint the vendors declare (and /collect), one
    valid and one invalid each."""
    keys = server.keys(prop)
    post = server.post
    ca = server.ca_params(keys)
    json_type = {"content-type": "application/json"}
    sends: dict[str, Callable[[str, bool], httpx.Response]] = {
        "/collect": lambda tag, valid: post(
            "/collect",
            json={
                "key": keys["collect_key"],
                "user_id": IMG,
                "events": [purchase(tag)]
                if valid
                else [
                    ["event", IMG, {"value": "lots", SCRIPT: 1, "transaction_id": tag}],
                    {"dialect": SCRIPT, "payload": {"event": IMG, "transaction_id": tag}},
                ],
            },
        ),
        "/mp/collect": lambda tag, valid: post(
            "/mp/collect", params=server.mp_params(keys), content=mp(tag, valid)
        ),
        DEBUG_MP: lambda tag, valid: post(DEBUG_MP, params=server.mp_params(keys), content=mp(tag, valid)),
        "/events": lambda tag, valid: post(
            "/events", params=ca, content=commanders(tag, valid), headers=json_type
        ),
        "/events/batch": lambda tag, valid: post(
            "/events/batch",
            params={"tc_s": ca["tc_s"]},
            content=b'{"batch": [' + commanders(tag, valid) + b"]}",
            headers={"authorization": f"Bearer {ca['token']}", **json_type},
        ),
        "/watch/event": lambda tag, valid: post(
            "/watch/event", data=convead(keys["convead_app_key"], tag, valid)
        ),
    }
    declared = {"/collect", *(e.path for _, e in vendors.endpoints())}
    assert set(sends) == declared, f"an endpoint without hostile payloads: {declared ^ set(sends)}"
    out = []
    for endpoint, send in sends.items():
        for valid in (True, False):
            tag = unique(f"xss_{'ok' if valid else 'bad'}")
            r = send(tag, valid)
            assert r.status_code < 500, r.text
            assert "text/html" not in r.headers.get("content-type", ""), r.headers
            out.append(Sent(endpoint, valid, tag, r.status_code))
    return out


@dataclass
class Stored:
    sent: list[Sent]
    events: list[dict[str, Any]]
    failed: list[dict[str, Any]]


@pytest.fixture(scope="module")
def stored(server: Server) -> Stored:
    sent = send_all(server, "shop")
    stores = [s for s in sent if s.endpoint != DEBUG_MP]

    def landed() -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
        events = [
            e for e in server.events(property="shop", limit=500) if any(s.tag in str(e) for s in stores)
        ]
        failed = [
            f for f in server.failed(property="shop", limit=500) if any(s.tag in str(f) for s in stores)
        ]
        where_events = {s.endpoint for s in stores if s.valid and any(s.tag in str(e) for e in events)}
        where_failed = {s.endpoint for s in stores if not s.valid and any(s.tag in str(f) for f in failed)}
        ends = {s.endpoint for s in stores}
        return (events, failed) if where_events == ends and where_failed == ends else None

    events, failed = wait_for(landed, 30, "a valid and a failed hostile payload of every endpoint")
    return Stored(sent, events, failed)


@pytest.fixture
def w(browser: Any, server: Server) -> Iterator[Watched]:
    with signed_in(browser, server) as watched:
        yield watched


def literal(page: Any, *texts: str) -> None:
    """``texts`` are in the page as text: in what it shows, and escaped in its markup;
    no element came from them."""
    shown = page.locator("main").inner_text()
    markup = page.content()
    for text in texts:
        assert text in shown, f"{text!r} is not shown on {page.url}"
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        assert escaped in markup
    assert page.locator("img[src=x]").count() == 0
    assert page.locator("script").count() == 1  # the page's own module


def test_every_endpoint_took_the_hostile_payloads(stored: Stored) -> None:
    by = {(s.endpoint, s.valid): s.status for s in stored.sent}
    assert by[("/collect", True)] == 200 and by[("/watch/event", False)] == 400, by
    texts = json.dumps([stored.events, stored.failed], ensure_ascii=False)
    assert IMG in texts and SCRIPT in texts
    paths = [i["path"] for f in stored.failed for i in f["issues"]]
    assert any(IMG in p for p in paths) and any(SCRIPT in p for p in paths), paths  # keys in paths


def test_live(w: Watched, server: Server, stored: Stored) -> None:
    p = open_route(w, server, "live")
    literal(p, IMG, SCRIPT)
    shot(p, "xss-live")


def test_each_hostile_event_and_failed_payload(w: Watched, server: Server, stored: Stored) -> None:
    found = [("event", e) for e in stored.events] + [("failed", f) for f in stored.failed]
    assert len(found) >= 10
    shots: set[str] = set()
    for kind, record in found:
        p = open_route(w, server, f"event/shop/{quote(record['id'], safe='')}")
        heading = p.locator("h1").inner_text()
        assert heading.startswith("Failed payload" if kind == "failed" else "Event"), heading
        held = [t for t in HOSTILE if t in json.dumps(record, ensure_ascii=False)]
        assert held, record["id"]
        literal(p, *held)  # each hostile text the record holds is on its page, as text
        if kind not in shots:
            shot(p, f"xss-{kind}")
            shots.add(kind)


def test_failed(w: Watched, server: Server, stored: Stored) -> None:
    p = open_route(w, server, "failed")
    literal(p, IMG, SCRIPT)
    shot(p, "xss-failed")


def test_validator(w: Watched, server: Server) -> None:
    p = open_route(w, server, "validate")
    p.fill("#snippet", f"gtag('event', {json.dumps(IMG)}, {{{json.dumps(SCRIPT)}: 'x', value: 'lots'}});")
    p.get_by_role("button", name="Validate").click()
    p.locator("section.call").wait_for()
    literal(p, IMG, SCRIPT)


@pytest.mark.parametrize(
    "name", ["funnel", "revenue", "orders", "products", "carts", "procedures", "quality"]
)
def test_reports(w: Watched, server: Server, stored: Stored, name: str) -> None:
    p = open_route(w, server, f"reports/{name}")
    if name == "products":
        literal(p, IMG, SCRIPT)  # the item ids
    elif name == "quality":
        literal(p, IMG)  # a path and an event name
    else:
        literal(p)


def test_people(w: Watched, server: Server, stored: Stored) -> None:
    p = open_route(w, server, f"people/{quote(IMG, safe='')}")
    p.locator("section.person").first.wait_for()
    literal(p, IMG)
    shot(p, "xss-people")


@pytest.mark.parametrize(
    "route", ["setup", "destinations", quote(IMG, safe=""), f"event/shop/{quote(SCRIPT, safe='')}"]
)
def test_other_pages(browser: Any, server: Server, stored: Stored, route: str) -> None:
    """Setup and destinations; a hostile page name and event id in the address (their
    error says so as text)."""
    with signed_in(browser, server, ignore=("404",)) as w:
        w.page.goto(f"{server.url}/#/{route}")
        name = route.split("/")[0]
        if "%3C" not in route:
            w.page.locator(READY[name]).first.wait_for()
        else:
            w.page.locator("main .error-box").wait_for()
            literal(w.page, IMG if IMG in w.page.locator("main").inner_text() else SCRIPT)


def test_every_html_answer_has_a_strict_csp(browser: Any, server: Server) -> None:
    context = browser.new_context()
    answers: list[Any] = []
    context.on("response", lambda r: answers.append(r))
    try:
        sign_in(context, server)
        w = watch(context.new_page())
        w.page.goto(f"{server.url}/#/live")
        w.page.locator(READY["live"]).wait_for()
        w.page.reload()
        w.page.locator(READY["live"]).wait_for()
        w.clean()
    finally:
        context.close()
    direct = [
        server.http.get(server.url + path) for path in ("/", "/?x=1", "/index.html", "/dashboard/app.js")
    ]
    html = [
        (r.url, r.headers.get("content-security-policy"))
        for r in answers
        if "text/html" in (r.headers.get("content-type") or "")
    ]
    html += [
        (str(r.url), r.headers.get("content-security-policy"))
        for r in direct
        if "text/html" in r.headers.get("content-type", "")
    ]
    assert len(html) >= 3, html
    for url, csp in html:
        assert csp, f"{url}: no Content-Security-Policy"
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())
        script = directives.get("script-src", directives.get("default-src", ""))
        assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script, f"{url}: {csp}"
        assert "frame-ancestors 'none'" in csp


def test_the_token_is_not_in_the_page(w: Watched, server: Server) -> None:
    """A hostile script that ran could read the page, never the session: the cookie is
    HttpOnly and the token is not in the document or its storage."""
    p = open_route(w, server, "live")
    assert "tw_session" not in p.evaluate("document.cookie")
    storage = p.evaluate("JSON.stringify({...sessionStorage, ...localStorage})")
    assert ADMIN_TOKEN not in storage and ADMIN_TOKEN not in p.content()


def test_the_checks_catch_a_page_that_parses_markup(browser: Any, server: Server, stored: Stored) -> None:
    """The same checks on a dashboard whose text helper parses markup (dom.js changed in
    flight): they fail, so they can."""

    def unsafe(route: Any) -> None:
        answer = route.fetch()
        body = answer.text()
        safe = "node.append(child instanceof Node ? child : document.createTextNode(String(child)));"
        assert safe in body
        body = body.replace(
            safe,
            "if (child instanceof Node) node.append(child);"
            ' else node.insertAdjacentHTML("beforeend", String(child));',
        )
        route.fulfill(response=answer, body=body)

    context = browser.new_context()
    try:
        sign_in(context, server)
        context.route("**/dashboard/dom.js", unsafe)
        w = watch(context.new_page())
        p = w.page
        p.goto(f"{server.url}/#/failed")
        p.locator("main img[src=x]").first.wait_for(state="attached")
        with pytest.raises(AssertionError):
            literal(p, IMG, SCRIPT)
        assert any("inline event handler" in e for e in w.errors), w.errors  # the CSP refused it
    finally:
        context.close()


def test_the_live_stream_of_hostile_payloads(browser: Any, server: Server) -> None:
    """The same payloads arriving while the live page is open (server-sent events), on a
    property of their own that had no event before."""
    keys = server.add_property("hostile")
    wait_for(
        lambda: server.api("/api/session", keys["admin_token"]).status_code == 200, 15, "the new property"
    )
    with signed_in(browser, server, keys["admin_token"]) as w:
        p = open_route(w, server, "live")
        p.get_by_text("No events match yet.").wait_for()
        sent = send_all(server, "hostile")
        stored = sum(1 for s in sent if s.endpoint != DEBUG_MP)
        p.wait_for_function(
            f"() => document.querySelectorAll('main tbody tr').length >= {stored}", timeout=15_000
        )
        assert "received since opened" in p.locator(".status-line").inner_text()
        literal(p, IMG, SCRIPT)
        shot(p, "xss-live-stream")
