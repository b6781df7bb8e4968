"""What reaches the collector from a page, whatever happens on the way: calls made before
the tracker loads, a GTM-style push override, navigation away mid-batch, offline then
online, a collector answering 503, an answer lost after the events were stored. Each
test counts every call: nothing lost, nothing stored twice."""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

from tests.support.server import Server
from tests.tracker.browser import Api, Pages, page_html, shot

_n = itertools.count()
READY = "window.trackway && window.trackway.installed"


def push(n: int, tag: str, start: int = 0) -> str:
    """JavaScript pushing ``n`` numbered GTM GA4 search events tagged ``tag``."""
    return (
        f"for (var i = {start}; i < {start + n}; i++) "
        f"dataLayer.push({{event: 'search', search_term: '{tag}-' + i}});"
    )


def terms(events: list[dict[str, Any]]) -> Counter[str]:
    return Counter(str(e.get("properties", {}).get("search_term")) for e in events if e["name"] == "search")


def each_once(api: Api, path: str, want: Counter[str], page: Any = None, timeout: float = 30) -> None:
    """Wait until the page's search terms are stored, then check each was stored once."""
    events = api.wait_events(path, lambda got: terms(got) == want, timeout=timeout, browser_page=page)
    assert terms(events) == want


def new_page(pages: Pages, server: Server, body: str, head: str = "", name: str = "") -> tuple[str, str]:
    path = f"/delivery/{name or 'p'}-{next(_n)}"
    key = server.keys()["collect_key"]
    return path, pages.add(path, page_html(server.url, key, body, head=head))


def opened(pages: Pages, server: Server, context: Any, name: str, route: Any = None) -> tuple[str, str, Any]:
    """A new empty test page, open with the tracker installed (``route``: a handler of its
    requests to /collect, set first)."""
    path, url = new_page(pages, server, "", name=name)
    page = context.new_page()
    if route is not None:
        page.route(f"{server.url}/collect*", route)
    page.goto(url)
    page.wait_for_function(READY)
    return path, url, page


def test_calls_before_load_and_a_gtm_style_override_each_arrive_once(
    server: Server, api: Api, pages: Pages, context: Any
) -> None:
    head = (
        "<script>window.dataLayer = [];"
        + push(3, "early")
        # a tag manager's own push override, installed before the tracker: it must keep seeing every entry
        + "window.__seen = []; (function (dl) { var prev = dl.push;"
        " dl.push = function () {"
        " for (var i = 0; i < arguments.length; i++) window.__seen.push(arguments[i]);"
        " return prev.apply(dl, arguments); }; })(window.dataLayer);" + "</script>"
    )
    body = "<script>" + push(4, "late", 3) + "</script>"
    path, url = new_page(pages, server, body, head, "override")
    page = context.new_page()
    page.goto(url)
    page.wait_for_function(READY)  # installed
    page.evaluate(push(3, "after", 7))
    page.wait_for_timeout(1500)
    seen = page.evaluate("window.__seen.map(function (e) { return e.search_term; })")
    assert seen == [f"late-{i}" for i in range(3, 7)] + [f"after-{i}" for i in range(7, 10)]
    assert page.evaluate("window.dataLayer.length") >= 10  # the page's array keeps every entry
    page.goto("about:blank")
    want = Counter([f"early-{i}" for i in range(3)] + [f"late-{i}" for i in range(3, 7)])
    want.update(f"after-{i}" for i in range(7, 10))
    events = api.wait_events(path, lambda got: terms(got) == want)
    assert terms(events) == want


def test_navigation_away_mid_batch_the_beacon_arrives(
    server: Server, api: Api, pages: Pages, context: Any
) -> None:
    path, _, page = opened(pages, server, context, "beacon")
    page.evaluate(push(20, "leaving"))  # then leave at once, well before the batch's timer
    page.goto("about:blank")
    each_once(
        api, path, Counter(f"leaving-{i}" for i in range(20))
    )  # sent as the page went (a beacon): its 1 s timer never fired


def test_offline_then_online_nothing_lost(server: Server, api: Api, pages: Pages, context: Any) -> None:
    path, _, page = opened(pages, server, context, "offline")
    context.set_offline(True)
    page.evaluate(push(5, "offline"))
    page.wait_for_timeout(2500)  # its flush failed or waited: the calls are kept
    assert api.events(path) == []
    stored = page.evaluate("Object.keys(localStorage).filter((k) => k.startsWith('trackway_q'))")
    assert stored, "the queue is kept in localStorage while offline"
    context.set_offline(False)
    each_once(api, path, Counter(f"offline-{i}" for i in range(5)))


def test_offline_then_closed_the_next_page_sends_what_was_kept(
    server: Server, api: Api, pages: Pages, context: Any
) -> None:
    path, url, page = opened(pages, server, context, "kept")
    context.set_offline(True)
    page.evaluate(push(4, "kept"))
    page.wait_for_timeout(1500)
    page.goto("about:blank")  # the beacon cannot leave either
    context.set_offline(False)
    page.goto(url)  # a later visit to the site: the kept calls go with it
    each_once(api, path, Counter(f"kept-{i}" for i in range(4)))


def test_a_collector_answering_503_then_200_gets_each_call_once(
    server: Server, api: Api, pages: Pages, context: Any
) -> None:
    attempts: list[int] = []

    def flaky(route: Any) -> None:
        attempts.append(1)
        if len(attempts) <= 2:
            cors = {
                "Access-Control-Allow-Origin": pages.origin,
                "Access-Control-Allow-Credentials": "true",
                "Access-Control-Expose-Headers": "Retry-After",
            }
            route.fulfill(status=503, body='{"error": "busy"}', headers={"Retry-After": "1", **cors})
        else:
            route.continue_()

    path, _, page = opened(pages, server, context, "retry", flaky)
    page.evaluate(push(6, "retry"))
    each_once(api, path, Counter(f"retry-{i}" for i in range(6)), page, timeout=45)
    assert len(attempts) >= 3
    shot(page, "delivery_retry")


def test_an_answer_lost_after_the_store_the_retry_is_deduplicated(
    server: Server, api: Api, pages: Pages, context: Any
) -> None:
    lost: list[int] = []

    def lose_first_answer(route: Any) -> None:
        if not lost:
            lost.append(route.fetch().status)  # the collector stores the batch...
            route.abort("connectionreset")  # ...and the page never hears of it
        else:
            lost.append(0)
            route.continue_()

    path, _, page = opened(pages, server, context, "lost", lose_first_answer)
    page.evaluate(push(5, "lost"))
    want = Counter(f"lost-{i}" for i in range(5))
    events = api.wait_events(path, lambda got: terms(got) == want and len(lost) > 1, browser_page=page)
    assert lost[0] == 200 and len(lost) >= 2  # stored, the answer lost, sent again
    assert terms(events) == want  # each once: the retry carried the same call ids
