"""A property's admin token signs in to its own property only (issue 17): no property
select, the other property's API answers 403 (named) or 404 (an id of it), and no page
shows the other property's events; the server's token sees both."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from tests.dashboard.ui import READY, collect, open_route, shot, signed_in, unique, wait_event, watch
from tests.support.server import ADMIN_TOKEN, Server
from trackway.cli.dashboard_cmd import signin_link

PAIRS = [("shop", "donations"), ("donations", "shop")]
REPORTS = ["funnel", "revenue", "orders", "products", "carts", "procedures", "quality"]


def token(server: Server, prop: str) -> str:
    return server.keys(prop)["admin_token"]


def other_event(server: Server, other: str) -> dict[str, Any]:
    return server.events(property=other, limit=1)[0]


@pytest.mark.parametrize(("mine", "other"), PAIRS)
def test_the_api_answers_for_its_own_property_only(
    browser: Any, server: Server, mine: str, other: str
) -> None:
    theirs = other_event(server, other)
    failed = server.failed(property=other, limit=1)[0]
    with signed_in(browser, server, token(server, mine)) as w:
        api = w.page.request
        session = api.get(f"{server.url}/api/session").json()
        assert session["scope"] == mine and session["properties"] == [mine]
        cases = [
            (f"/api/events?property={other}", 403),
            (f"/api/failed_events?property={other}", 403),
            (f"/api/reports/revenue?property={other}", 403),
            (f"/api/live?property={other}", 403),
            (f"/api/destinations?property={other}", 403),
            (f"/api/event?id={quote(theirs['id'])}", 404),
            (f"/api/event?id={quote(failed['id'])}", 404),
            (f"/api/event?id={quote(theirs['id'])}&property={other}", 403),
            (f"/api/events?property={mine}", 200),
        ]
        for path, status in cases:
            answer = api.get(server.url + path)
            assert answer.status == status, (path, answer.status, answer.text()[:300])
        shown = api.get(f"{server.url}/api/events").json()["events"]
        assert shown and {e["property"] for e in shown} == {mine}
        setup = api.get(f"{server.url}/api/setup").json()["properties"]
        assert [p["name"] for p in setup] == [mine]
        waiting = len(server.failed(property=mine, replayed="false"))
        assert waiting != len(server.failed(property=other, replayed="false"))
        replay = api.post(
            f"{server.url}/api/replay",
            data={"property": other},
            headers={"x-csrf-token": session["csrf"]},
        )
        assert replay.status == 403, replay.text()  # another property's replay is refused, not its own done
        assert replay.json()["error"] == f"this admin token acts on the property '{mine}' only, not '{other}'"
        replay = api.post(f"{server.url}/api/replay", data={}, headers={"x-csrf-token": session["csrf"]})
        assert replay.status == 200, replay.text()  # its own
        assert replay.json()["examined"] == waiting


@pytest.mark.parametrize(("mine", "other"), PAIRS)
def test_the_pages_show_its_own_property_only(browser: Any, server: Server, mine: str, other: str) -> None:
    ours, theirs = unique(f"scope_{mine}"), unique(f"scope_{other}")
    with signed_in(browser, server, token(server, mine)) as w:
        page = open_route(w, server, "live")
        assert page.locator("#property").count() == 0
        assert page.locator("#who").inner_text().startswith(f"Property {mine}")
        assert "Property" not in page.locator("main thead").inner_text()  # one property: no column
        collect(server, other, [["event", theirs, {}]])
        collect(server, mine, [["event", ours, {}]])
        page.get_by_role("link", name=ours).wait_for()
        wait_event(server, other, lambda e: e["name"] == theirs)
        page.wait_for_timeout(1500)  # the other's event was stored before ours: it would be there
        assert page.get_by_text(theirs).count() == 0
        page.reload()
        page.locator(READY["live"]).wait_for()
        page.get_by_role("link", name=ours).wait_for()
        assert page.get_by_text(theirs).count() == 0
        shot(page, f"scope-{mine}-live")

        for name in REPORTS:
            page = open_route(w, server, f"reports/{name}")
            cells = page.locator("main table").all_inner_texts()
            assert all(other not in text for text in cells), (name, other)
        page = open_route(w, server, "setup")
        assert page.locator("section[data-property]").evaluate_all("s => s.map(x => x.dataset.property)") == [
            mine
        ]
        page = open_route(w, server, "destinations")
        refs = page.locator("section[data-destination]").evaluate_all(
            "s => s.map(x => x.dataset.destination)"
        )
        assert all(r.startswith(f"{mine}.") for r in refs), refs


@pytest.mark.parametrize(("mine", "other"), PAIRS)
def test_another_propertys_event_and_person_are_not_found(
    browser: Any, server: Server, mine: str, other: str
) -> None:
    theirs = other_event(server, other)
    person = next(e for e in server.events(property=other, limit=2000) if e.get("user_id"))["user_id"]
    mine_too = server.api("/api/identity", id=person, property=mine).json()["people"]
    with signed_in(browser, server, token(server, mine), ignore=("403", "404")) as w:
        page = w.page
        for route, expected in [
            (f"event/{mine}/{quote(theirs['id'], safe='')}", "expected the id of a stored event"),
            (f"event/{other}/{quote(theirs['id'], safe='')}", f"reads the property '{mine}' only"),
        ]:
            page.goto(f"{server.url}/#/{route}")
            box = page.locator("main .error-box")
            box.wait_for()
            assert expected in box.inner_text(), box.inner_text()
        if not mine_too:  # an id only the other property has
            page = open_route(w, server, f"people/{quote(person, safe='')}")
            page.get_by_text(f"No person has the id {person}.").wait_for()


def test_a_one_time_link_for_a_property(browser: Any, server: Server) -> None:
    link, _ = signin_link(server.data, None, server.url, "shop")
    context = browser.new_context()
    try:
        w = watch(context.new_page())
        w.page.goto(link)
        w.page.locator(READY["live"]).wait_for()
        assert w.page.locator("#property").count() == 0
        assert w.page.locator("#who").inner_text().startswith("Property shop")
        w.clean()
    finally:
        context.close()


def test_the_servers_token_sees_every_property(browser: Any, server: Server) -> None:
    with signed_in(browser, server, ADMIN_TOKEN) as w:
        page = open_route(w, server, "live")
        options = page.locator("#property option").evaluate_all("o => o.map(x => x.value)")
        assert options[0] == "" and {"shop", "donations"} <= set(options)
        properties = set(page.locator("main tbody tr td:nth-child(3)").all_inner_texts())
        assert {"shop", "donations"} <= properties, properties
        page.select_option("#property", "donations")
        page.locator(READY["live"]).wait_for()
        assert "Property" not in page.locator("main thead").inner_text()
        page.reload()  # the choice is kept in the tab
        page.locator(READY["live"]).wait_for()
        assert page.locator("#property").input_value() == "donations"
