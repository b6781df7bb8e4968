"""The tracker in a real page: consent decides the guest id and its cookie; nothing a page
pushes, however odd, reaches window.onerror; debug mode shows the server's verdicts."""

from __future__ import annotations

import itertools
from typing import Any

from tests.support.server import Server
from tests.tracker.browser import Api, Pages, page_html, shot

_n = itertools.count()
READY = "window.trackway && window.trackway.installed"
CONSENT_DEFAULT = """<script>window.dataLayer = window.dataLayer || [];
function gtag() { dataLayer.push(arguments); }
gtag('consent', 'default', {analytics_storage: 'denied', ad_storage: 'denied'});</script>"""


def load(pages: Pages, server: Server, context: Any, head: str = "", name: str = "p", query: str = "") -> Any:
    path = f"/safety/{name}-{next(_n)}"
    url = pages.add(path, page_html(server.url, server.keys()["collect_key"], "", head=head))
    page = context.new_page()
    page.goto(url + query)
    page.wait_for_function(READY)
    return path, page


def search(page: Any, term: str) -> None:
    page.evaluate(f"dataLayer.push({{event: 'search', search_term: '{term}'}})")


def by_term(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(e.get("properties", {}).get("search_term")): e for e in events if e["name"] == "search"}


def test_consent_denied_sets_no_cookie_and_keeps_no_id_granted_later_does(
    server: Server, api: Api, pages: Pages, context: Any
) -> None:
    path, page = load(pages, server, context, CONSENT_DEFAULT, "consent")
    search(page, "denied")
    events = api.wait_events(path, lambda got: "denied" in by_term(got), browser_page=page)
    assert by_term(events)["denied"].get("anonymous_id") is None
    assert [c for c in context.cookies() if c["name"] == "tw_id"] == []
    assert page.evaluate("localStorage.getItem('trackway_id')") is None
    page.evaluate("gtag('consent', 'update', {analytics_storage: 'granted', ad_storage: 'granted'})")
    search(page, "granted")
    events = api.wait_events(path, lambda got: "granted" in by_term(got), browser_page=page)
    guest = by_term(events)["granted"].get("anonymous_id")
    assert guest
    [cookie] = [c for c in context.cookies() if c["name"] == "tw_id"]
    assert cookie["httpOnly"] and cookie["value"] == guest and cookie["sameSite"] == "Lax"
    assert page.evaluate("localStorage.getItem('trackway_id')") == guest  # the server's id, adopted
    page.evaluate("gtag('consent', 'update', {analytics_storage: 'denied'})")
    search(page, "withdrawn")
    events = api.wait_events(path, lambda got: "withdrawn" in by_term(got), browser_page=page)
    assert by_term(events)["withdrawn"].get("anonymous_id") is None
    page.wait_for_timeout(200)
    assert [c for c in context.cookies() if c["name"] == "tw_id"] == []  # expired by the server
    assert page.evaluate("localStorage.getItem('trackway_id')") is None


HOSTILE = [
    "var a = {event: 'cyclic'}; a.self = a; a.list = [a]; dataLayer.push(a);",
    "dataLayer.push({event: 'node', el: document.body, list: document.querySelectorAll('*')});",
    "dataLayer.push({event: 'fn', f: function () {}, s: Symbol('x'), b: BigInt(7), n: NaN, i: -Infinity});",
    "dataLayer.push({event: 'huge', items: new Array(1000000).fill({item_id: 'x'})});",
    "dataLayer.push(Object.defineProperty({event: 'getter'}, 'boom',"
    " {enumerable: true, get() { throw 1; }}));",
    "dataLayer.push(new Proxy({}, {ownKeys() { throw new Error('trap'); },"
    " get() { throw new Error('trap'); }}));",
    "var deep = {}; var d = deep; for (var k = 0; k < 10000; k++) { d.x = {}; d = d.x; }"
    " dataLayer.push(deep);",
    "dataLayer.push('a string', 42, null, undefined);",
    "dataLayer.push();",
    "gtag('js', new Date()); gtag('event', 'page_view', window);",
    "var c = {}; c.c = c; cact('trigger', 'search', c);",
    "convead('event', 'custom', function () {}, document);",
    "insend(Symbol('odd'));",
    "dataLayer.push({event: 'long', s: 'x'.repeat(5000000)});",
]


def test_nothing_pushed_reaches_the_pages_onerror_and_the_tracker_keeps_working(
    server: Server, api: Api, pages: Pages, context: Any
) -> None:
    head = CONSENT_DEFAULT + (
        "<script>window.cact = function () {}; window.convead = function () {};"
        " window.insend = function () {};</script>"
    )
    path, page = load(pages, server, context, head, "hostile")
    sizes: list[int] = []
    context.on(
        "request", lambda r: sizes.append(len(r.post_data_buffer or b"")) if "/collect" in r.url else None
    )
    for code in HOSTILE:
        page.evaluate(f"() => {{ {code} }}")
    search(page, "still-working")
    events = api.wait_events(path, lambda got: "still-working" in by_term(got), browser_page=page)
    assert "still-working" in by_term(events)
    assert page.evaluate("window.__errors") == []
    assert page.evaluate("dataLayer.length") >= len(HOSTILE) + 2  # the page's array got every entry
    assert sizes and max(sizes) < 600_000  # bounded copies (1e6 items and 5 MB strings were cut)
    names = {e["name"] for e in events}
    assert {"cyclic", "node", "fn", "huge", "getter", "long"} <= names, names  # kept, their odd parts cut
    shot(page, "hostile_pushes")


def test_debug_mode_logs_each_call_and_the_servers_verdict(
    server: Server, api: Api, pages: Pages, context: Any
) -> None:
    logged: list[str] = []
    page = context.new_page()
    page.on("console", lambda m: logged.append(m.text))
    path = f"/safety/debug-{next(_n)}"
    url = pages.add(path, page_html(server.url, server.keys()["collect_key"], ""))
    page.goto(url + "?trackway_debug=1")
    page.wait_for_function(READY)
    page.evaluate("dataLayer.push({event: 'purchase', ecommerce: {currency: 'EUR', value: 5}})")
    page.wait_for_timeout(2500)
    text = "\n".join(logged)
    assert "purchase" in text  # the call
    assert "$.ecommerce.transaction_id" in text and "error" in text  # the verdict, with the path
