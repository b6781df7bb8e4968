"""The validator, failed payloads and replay, reports, people, setup and destinations in
headless Chromium, on a server filled by the demo (issue 17)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from tests.dashboard.conftest import PLAIN
from tests.dashboard.ui import (
    READY,
    collect,
    open_route,
    probe,
    shot,
    signed_in,
    unique,
    wait_event,
    wait_failed,
)
from tests.support.server import Server, wait_for

REPORTS = ["funnel", "revenue", "orders", "products", "carts", "procedures", "quality"]
CHARTED = {"funnel", "revenue", "orders", "products", "carts", "procedures"}  # quality: only when rejected


# -- validator -------------------------------------------------------------------------

SNIPPETS = [
    (
        "dataLayer.push({ecommerce: null});\n"
        'dataLayer.push({event: "purchase", ecommerce: {transaction_id: "T1",'
        ' value: 10, items: [{item_id: "a", price: 10, quantity: 1}]}});',
        "gtm-ga4",
        "$.ecommerce.currency",
        "VALUE_REQUIRED",
    ),
    (
        'gtag("event", "purchase", {transaction_id: "T2", value: "lots", currency: "EUR"});',
        "gtag-ga4",
        "$[2].value",
        "TYPE_INVALID",
    ),
]


@pytest.mark.parametrize(("snippet", "dialect", "path", "code"), SNIPPETS)
def test_the_validator(
    browser: Any, server: Server, snippet: str, dialect: str, path: str, code: str
) -> None:
    with signed_in(browser, server) as w:
        page = open_route(w, server, "validate")
        page.fill("#snippet", snippet)
        page.get_by_role("button", name="Validate").click()
        call = page.locator("section.call[data-valid=false]")
        call.wait_for()
        assert call.count() == 1
        assert dialect in call.locator("h2").inner_text() and "invalid" in call.locator("h2").inner_text()
        issue = call.locator(":scope > ul.issues li").filter(has_text=code)
        assert path in issue.inner_text()
        assert call.locator("details[data-dialect]").count() >= 1
        shot(page, f"validate-{dialect}")


# -- failed and replay -----------------------------------------------------------------


def test_replay_after_setting_a_default_currency(browser: Any, server: Server) -> None:
    """A Koalect payload with a value and no currency fails on a property without a
    default currency; once trackway.toml gives it one, replay stores it."""
    name = unique("replay")
    item = {"item_id": "gift", "item_name": "Gift", "price": 5.5, "quantity": 2}
    procedure = {
        "procedure_id": name,
        "procedure_slug": name,
        "procedure_category": "donation",
        "procedure_target_type": "Client",
        "procedure_target_id": name,
    }
    donation = {"event": "add_payment_info", "ecommerce": {"value": 11, "items": [item]}, **procedure}
    collect(server, PLAIN, [{"dialect": "koalect", "payload": donation}])
    failed = wait_failed(server, PLAIN, lambda f: name in str(f["payload"]))
    assert [i["code"] for i in failed["issues"] if i["severity"] == "error"] == ["VALUE_REQUIRED"]
    config = server.data / "trackway.toml"
    text = config.read_text()
    config.write_text(
        text.replace(f"[properties.{PLAIN}]\n", f'[properties.{PLAIN}]\ndefault_currency = "EUR"\n', 1)
    )

    def reloaded() -> bool:
        setup = server.api("/api/setup").json()["properties"]
        return any(p["name"] == PLAIN and p.get("currency") == "EUR" for p in setup)

    wait_for(reloaded, 15, "the server to read the new default currency")
    with signed_in(browser, server) as w:
        page = open_route(w, server, "failed")
        page.select_option("#property", PLAIN)
        page.locator("main h2", has_text="By code and path").wait_for()
        assert page.locator("main section").first.get_by_text("VALUE_REQUIRED").count() >= 1
        page.fill("input[name=code]", "VALUE_REQUIRED")
        page.get_by_role("button", name="Replay").click()
        outcome = page.locator("form .ok-box[role=status]")
        outcome.wait_for()
        assert re.fullmatch(
            r"Examined 1 failed payloads: 1 now pass \(1 events stored\), 0 still fail\.",
            outcome.inner_text(),
        )
        page.get_by_text("None waiting for a replay.").wait_for()
        shot(page, "failed-replayed")
    stored = wait_event(server, PLAIN, lambda e: name in str(e))
    assert stored["commerce"]["currency"] == "EUR"


def test_failed_groups_open_their_sample(browser: Any, server: Server) -> None:
    with signed_in(browser, server) as w:
        page = open_route(w, server, "failed")
        groups = page.locator("main section").first.locator("tbody tr")
        assert groups.count() >= 2  # the demo's invalid share
        shot(page, "failed")
        failed = {f["id"]: f for f in server.failed(replayed="false", limit=100)}
        latest = page.locator("main section").nth(1).locator("tbody tr")
        assert latest.count() >= 2
        for row in latest.all():
            href = row.get_by_role("link").get_attribute("href") or ""
            id = unquote(href.split("?")[0].rsplit("/", 1)[-1])
            errors = [i["code"] for i in failed[id]["issues"] if i["severity"] == "error"]
            shown = row.locator("td code").first.inner_text()
            assert shown == (errors[0] if errors else failed[id]["issues"][0]["code"]), (id, shown, errors)
        for n in (0, groups.count() - 1):
            row = groups.nth(n)
            code = row.locator("td code").first.inner_text()
            row.get_by_role("link", name="open").click()
            page.locator(READY["event"]).wait_for()
            assert page.locator("main .error-box").count() == 0
            assert code in page.locator("main .grid > section").first.locator("ul.issues").inner_text()
            page.go_back()
            page.locator("main h2", has_text="By code and path").wait_for()


# -- reports ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", REPORTS)
def test_each_report_renders_tables_and_a_csv(browser: Any, server: Server, name: str) -> None:
    with signed_in(browser, server) as w:
        page = open_route(w, server, f"reports/{name}")
        page.wait_for_selector("section[data-section]")
        sections = page.locator("section[data-section]")
        assert sections.count() >= 1
        assert page.locator("section[data-section] table tbody tr").count() >= 1
        if name in CHARTED:
            svg = page.locator(".chart svg[role=img]").first
            assert svg.get_attribute("aria-label")
            assert svg.locator("rect.bar, polyline.line").count() >= 1
        if name == "revenue":  # by day: nets of refund days are below zero, drawn above the period labels
            ys = page.locator("polyline.line").evaluate_all(
                "ls => ls.flatMap(l => l.getAttribute('points').split(' ').map(p => Number(p.split(',')[1])))"
            )
            height = float(page.locator(".chart svg").first.get_attribute("viewBox").split()[3])
            assert ys and all(10 <= y <= height - 28 for y in ys), (min(ys), max(ys))
        shot(page, f"report-{name}")
        link = page.get_by_role("link", name="Download CSV")
        href = link.get_attribute("href")
        assert href is not None and "format=csv" in href
        answer = page.request.get(server.url + href)
        assert answer.status == 200 and answer.headers["content-type"].startswith("text/csv")
        assert answer.text().splitlines()[0].startswith("section,")
        with page.expect_download() as got:
            link.click()
        assert got.value.suggested_filename == f"{name}.csv"


ON_SCREEN = """(t, label) => {  // where the cells of column ``label`` of table t end
    const n = [...t.querySelectorAll("thead th")].findIndex((th) => th.textContent === label);
    const cells = [...t.querySelectorAll(`tbody td:nth-child(${n + 1})`)];
    return cells.map((td) => td.getBoundingClientRect().right);
}"""


@pytest.mark.parametrize(
    ("route", "table", "column", "length"),
    [
        ("reports/products?since=1d", "section[data-section=products] table", "purchases", 3000),
        (
            "people/{visitor}",
            "section.person table:has(th[scope=col]:text-is('transaction id'))",
            "value",
            5000,
        ),
    ],
)
def test_one_long_value_leaves_a_tables_numbers_on_screen(
    browser: Any, server: Server, route: str, table: str, column: str, length: int
) -> None:
    """A 3,000-character item id or a 5,000-character transaction id (one word) made the
    table 24,626 px wide, its numbers far off screen: the cell is cut, its title whole."""
    visitor = unique("long_visitor")
    long_id = (visitor + "L" * length)[:length]
    item = {"item_id": long_id, "item_name": "x", "price": 4, "quantity": 1}
    purchase = {"transaction_id": long_id, "value": 4, "currency": "EUR", "items": [item]}
    collect(server, "shop", [["event", "purchase", purchase]], anonymous_id=visitor)
    wait_event(server, "shop", lambda e: e.get("anonymous_id") == visitor)
    with signed_in(browser, server) as w:
        w.page.goto(f"{server.url}/")
        w.page.select_option("#property", "shop")
        page = open_route(w, server, route.format(visitor=visitor))
        page.locator(table).wait_for()
        width = page.evaluate("innerWidth")
        right = page.locator(table).evaluate(ON_SCREEN, column)
        assert right and max(right) <= width, (column, max(right or [0]), width)
        cut = page.locator(f"{table} td.long .clip[title='{long_id}']")
        assert cut.count() == 1, f"no cut cell holds the {length}-character id"
        assert cut.evaluate("c => c.getBoundingClientRect().height") < 100  # a few lines
        shot(page, f"long-value-{route.split('/')[0]}")


def test_report_ranges_go_into_the_address(browser: Any, server: Server) -> None:
    with signed_in(browser, server) as w:
        page = open_route(w, server, "reports/revenue")
        page.wait_for_selector("section[data-section]")
        page.fill("input[name=since]", "7d")
        page.select_option("select[name=by]", "week")
        page.get_by_role("button", name="Show").click()
        page.wait_for_url(re.compile(r"#/reports/revenue\?since=7d&until=&by=week$"))
        page.wait_for_selector("section[data-section]")
        assert "by=week" in (page.get_by_role("link", name="JSON API").get_attribute("href") or "")


@pytest.mark.parametrize("since", ["notatime", "2026-13-45", "-5d"])
def test_a_bad_range_says_why_in_place_of_loading(browser: Any, server: Server, since: str) -> None:
    with signed_in(browser, server, ignore=("400",)) as w:
        page = w.page
        page.goto(f"{server.url}/#/reports/revenue?since={since}")
        box = page.locator("main .error-box")
        box.wait_for()
        assert f"got '{since}'" in box.inner_text(), box.inner_text()
        page.wait_for_timeout(300)
        assert "Loading" not in page.locator("main").inner_text()
        assert page.locator("main [role=status]").count() == 0


@pytest.mark.parametrize(
    ("query", "kept"),
    [("since=7d&until=&by=week", "?since=7d&until=&by=week"), ("since=30d", "?since=30d"), ("", "")],
)
def test_another_report_keeps_the_range(browser: Any, server: Server, query: str, kept: str) -> None:
    with signed_in(browser, server) as w:
        page = open_route(w, server, f"reports/revenue{'?' if query else ''}{query}")
        page.wait_for_selector("section[data-section]")
        page.get_by_role("link", name="funnel", exact=True).click()
        page.wait_for_url(f"{server.url}/#/reports/funnel{kept}")
        page.wait_for_selector("section[data-section]")
        wanted = dict(p.split("=") for p in query.split("&") if p)
        assert page.input_value("input[name=since]") == wanted.get("since", "")
        assert page.input_value("select[name=by]") == wanted.get("by", "")
        json_link = page.get_by_role("link", name="JSON API").get_attribute("href") or ""
        assert all(f"{k}={v}" in json_link for k, v in wanted.items() if v), json_link


# -- people ----------------------------------------------------------------------------


def test_people_look_up_a_demo_id(browser: Any, server: Server) -> None:
    person = next(e for e in server.events(property="shop", limit=2000) if e.get("user_id"))
    with signed_in(browser, server) as w:
        page = open_route(w, server, "people")
        page.fill("input[name=id]", person["user_id"])
        page.get_by_role("button", name="Look up").click()
        section = page.locator("section.person")
        section.first.wait_for()
        assert person["user_id"] in section.first.locator("table").first.inner_text()
        assert section.first.get_by_role("heading", name=re.compile(r"^Timeline")).count() == 1
        assert section.first.locator("table").last.locator("tbody tr").count() >= 1
        shot(page, "people")
        with page.expect_download() as got:
            section.first.get_by_role("button", name="Subject export (JSON)").click()
        export = json.loads(Path(got.value.path()).read_text())
        assert got.value.suggested_filename == f"subject-shop-{person['user_id']}.json"
        assert person["user_id"] in json.dumps(export)
        page.get_by_role("button", name="Forget…").click()
        dialog = page.locator("dialog[open]")
        dialog.wait_for()
        assert person["user_id"] in dialog.inner_text()
        dialog.get_by_role("button", name="Cancel").click()
        dialog.wait_for(state="detached")
    found = server.api("/api/identity", id=person["user_id"], property="shop").json()["people"]
    assert found, "cancelled: nobody is forgotten"


def test_forget_a_throwaway_person(browser: Any, server: Server) -> None:
    user = unique("throwaway")
    collect(server, "shop", [probe(unique("seen"))], user_id=user, anonymous_id=f"anon-{user}")
    wait_for(lambda: server.api("/api/identity", id=user, property="shop").json()["people"], 30, "the person")
    with signed_in(browser, server) as w:
        page = open_route(w, server, f"people/{user}")
        page.get_by_role("button", name="Forget…").click()
        dialog = page.locator("dialog[open]")
        dialog.locator("input[name=confirm]").fill("not the id")
        dialog.get_by_role("button", name="Forget this person").click()
        assert dialog.is_visible()  # a wrong id does not confirm
        dialog.locator("input[name=confirm]").fill(user)
        dialog.get_by_role("button", name="Forget this person").click()
        done = page.locator("section.person .ok-box[role=status]")
        done.wait_for(timeout=30_000)
        said = done.inner_text()
        assert said.startswith(
            "Forgot 1 person: 1 event anonymised; 2 ids, 1 link and 0 conflicts removed"
        ), said
        assert "{" not in said and '"people"' not in said  # words, not the answer's JSON
        # the forgotten person's ids, timeline and orders leave the page, and the address
        assert user not in page.locator("main").inner_text()
        assert page.locator("section.person table").count() == 0
        assert page.input_value("input[name=id]") == "" and page.url.endswith("#/people")
        shot(page, "people-forgotten")
    assert server.api("/api/identity", id=user, property="shop").json()["people"] == []


# -- setup and destinations ------------------------------------------------------------


def test_setup(browser: Any, server: Server) -> None:
    keys = server.keys("shop")
    with signed_in(browser, server) as w:
        page = open_route(w, server, "setup")
        shop = page.locator("section[data-property=shop]")
        shop.wait_for()
        assert page.locator("section[data-property]").count() == 3
        assert keys["collect_key"] in shop.inner_text()
        assert keys["ga4_api_secret"] not in shop.inner_text()  # a secret is hidden until shown
        assert f'src="{server.url}/t.js"' in shop.locator("pre").first.inner_text()
        paths = shop.locator("details[data-endpoint]").evaluate_all("ds => ds.map(d => d.dataset.endpoint)")
        assert {"/collect", "/mp/collect", "/events", "/watch/event"} <= set(paths)
        assert "received" in shop.locator("details[data-endpoint='/collect'] summary").inner_text()
        shot(page, "setup")
        for chosen in ("shop", "donations", ""):  # the property menu's choice; "": all of them
            page.select_option("#property", chosen)
            page.locator(READY["setup"]).first.wait_for()
            sections = page.locator("section[data-property]")
            shown = sections.evaluate_all("ss => ss.map(s => s.dataset.property)")
            assert shown == ([chosen] if chosen else ["donations", PLAIN, "shop"]), (chosen, shown)
        page.select_option("#property", "shop")
        page.locator(READY["setup"]).first.wait_for()
        shot(page, "setup-shop")


def test_destinations(browser: Any, server: Server) -> None:
    with signed_in(browser, server) as w:
        page = open_route(w, server, "destinations")
        found = page.locator("section[data-destination]")
        found.first.wait_for()
        names = found.evaluate_all("ss => ss.map(s => s.dataset.destination)")
        assert sorted(names) == ["shop.commanders_act", "shop.convead", "shop.ga4"]
        assert page.get_by_role("heading", name=re.compile(r"^Dead letters \(\d+\)")).count() == 3
        shot(page, "destinations")
