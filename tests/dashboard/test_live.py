"""The live page and an event's detail in headless Chromium (issue 17): an event sent during
the test appears, pause holds rows, filters hide rows; a row's link opens the payload
with its issues marked, the canonical event and the other dialects' renders."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote

import pytest

from tests.dashboard.ui import (
    READY,
    broken,
    collect,
    open_route,
    probe,
    rows,
    shot,
    signed_in,
    unique,
    wait_event,
    wait_failed,
)
from tests.support.server import Server

# -- live ------------------------------------------------------------------------------


def test_live_shows_an_event_sent_now_pauses_and_filters(browser: Any, server: Server) -> None:
    with signed_in(browser, server) as w:
        page = open_route(w, server, "live")
        page.wait_for_function("() => document.querySelector('.status-line').textContent.startsWith('Live')")
        assert rows(page).count() > 10  # the demo's latest
        first = unique("live_probe")
        collect(server, "shop", [probe(first)])
        row = rows(page).filter(has_text=first)
        row.wait_for(timeout=10_000)
        assert "valid" in row.inner_text() and "/collect" in row.inner_text()
        shot(page, "live")

        page.get_by_role("button", name="Pause").click()
        held = unique("live_held")
        collect(server, "shop", [probe(held)])
        page.wait_for_function(
            "() => /paused: 1 waiting/.test(document.querySelector('.status-line').textContent)"
        )
        assert rows(page).filter(has_text=held).count() == 0
        page.get_by_role("button", name="Resume").click()
        rows(page).filter(has_text=held).wait_for()

        before = rows(page).count()
        page.fill("input[data-filter=q]", first)
        page.wait_for_function(f"() => document.querySelectorAll('main tbody tr').length < {before}")
        assert [first in t for t in rows(page).all_inner_texts()] == [True]
        page.fill("input[data-filter=q]", "")
        page.select_option("select[data-filter=status]", "failed")
        page.wait_for_function(f"() => document.querySelectorAll('main tbody tr').length < {before}")
        texts = rows(page).all_inner_texts()
        assert texts and all("failed" in t for t in texts), texts


@pytest.mark.parametrize(
    ("field", "hiding"),
    [
        ("select[data-filter=status]", "failed"),
        ("input[data-filter=q]", "nothing_has_this"),
        ("input[data-filter=name]", "other_name"),
    ],
)
def test_an_event_a_filter_hid_shows_once_the_filter_is_cleared(
    browser: Any, server: Server, field: str, hiding: str
) -> None:
    """The stream is filtered by the server: what came while a filter hid it never reached
    the page, and clearing the filter did not bring it back until a reload."""
    with signed_in(browser, server) as w:
        page = open_route(w, server, "live")
        page.wait_for_function("() => document.querySelector('.status-line').textContent.startsWith('Live')")
        if field.startswith("select"):
            page.select_option(field, hiding)
        else:
            page.fill(field, hiding)
        only_failed = (
            "() => [...document.querySelectorAll('main tbody .badge')].every(b => b.textContent === 'failed')"
        )
        page.wait_for_function(
            only_failed if hiding == "failed" else "() => !document.querySelector('main tbody')"
        )
        page.wait_for_timeout(1000)  # the stream with the filter is open
        name = unique("hidden")
        collect(server, "shop", [probe(name)])
        wait_event(server, "shop", lambda e: e["name"] == name)
        page.wait_for_timeout(1500)  # what the stream would have sent, it has
        assert rows(page).filter(has_text=name).count() == 0
        if field.startswith("select"):
            page.select_option(field, "")
        else:
            page.fill(field, "")
        rows(page).filter(has_text=name).wait_for(timeout=10_000)
        assert "valid" in rows(page).filter(has_text=name).inner_text()


def commanders_purchase(tag: str) -> bytes:
    """A server-side Commanders Act purchase without type, status and payment method (its
    errors), whose first issue is a warning (the item's affiliation)."""
    body = {
        "event_name": "purchase",
        "context": {"event_id": tag, "event_timestamp": int(time.time() * 1000)},
        "id": tag,
        "currency": "EUR",
        "value": 10,
        "revenue": 10,  # an order: type, status and payment method are required
        "items": [{"id": "sku-1", "quantity": 1, "product": {"name": "Tee", "price": 10}}],
        "user": {"id": f"user-{tag}"},
    }
    return json.dumps(body).encode()


@pytest.mark.parametrize("how", ["loaded", "streamed"])
def test_a_failed_row_says_its_first_error(browser: Any, server: Server, how: str) -> None:
    tag = unique("first_error")
    keys = server.keys("shop")
    with signed_in(browser, server) as w:
        page = open_route(w, server, "live")
        r = server.post(
            "/events",
            params=server.ca_params(keys),
            content=commanders_purchase(tag),
            headers={"content-type": "application/json"},
        )
        assert r.status_code == 200, r.text  # as Commanders Act answers; the loader finds the errors
        failed = wait_failed(server, "shop", lambda f: tag in str(f["payload"]))
        issues = failed["issues"]
        assert issues[0]["severity"] == "warning" and any(i["severity"] == "error" for i in issues)
        first = next(i for i in issues if i["severity"] == "error")
        if how == "loaded":
            page.reload()
            page.locator(READY["live"]).wait_for()
        row = rows(page).filter(has=page.locator(f'a[href^="#/event/shop/{quote(failed["id"], safe="")}"]'))
        row.wait_for()
        assert f"{first['path']}: {first['message']}" in row.inner_text()


@pytest.mark.parametrize("how", ["streamed", "loaded"])
def test_a_valid_row_names_its_endpoint(browser: Any, server: Server, how: str) -> None:
    name = unique("endpoint")
    with signed_in(browser, server) as w:
        page = open_route(w, server, "live")
        collect(server, "shop", [probe(name)])
        rows(page).filter(has_text=name).wait_for()
        if how == "loaded":
            page.reload()
            page.locator(READY["live"]).wait_for()
        cells = rows(page).filter(has_text=name).locator("td").all_inner_texts()
        assert cells[5] == "/collect", cells  # received, status, property, event, dialect, endpoint


# -- event detail ----------------------------------------------------------------------


def test_a_valid_event_from_its_live_row(browser: Any, server: Server) -> None:
    name = unique("detail_probe")
    collect(server, "shop", [probe(name)], user_id=f"user-{name}")
    event = wait_event(server, "shop", lambda e: e["name"] == name)
    with signed_in(browser, server) as w:
        page = open_route(w, server, "live")
        page.get_by_role("link", name=name).click()
        page.locator(READY["event"]).wait_for()
        assert page.url.split("?")[0].endswith(f"#/event/shop/{event['id']}")  # ?at= a hint
        assert page.locator("h1").inner_text() == f"Event: {name}"
        assert page.locator("pre[aria-label='canonical event']").inner_text().count(name) >= 1
        renders = page.locator("details[data-dialect]")
        assert renders.count() >= 3 and "gtag-ga4" not in page.locator("details[data-dialect]").evaluate_all(
            "ds => ds.map(d => d.dataset.dialect)"
        )
        page.get_by_role("link", name=f"user-{name}").wait_for()
        # its issues are the render's (user_id and context have no place in gtag): nothing
        # in the payload is marked
        assert page.locator("ul.issues li").first.inner_text().startswith("warning")
        assert page.locator("pre[aria-label=payload] mark").count() == 0
        shot(page, "event")
        page.get_by_role("link", name=f"user-{name}").click()  # the person's timeline
        page.locator("section.person").first.wait_for()
        assert page.locator("section.person").get_by_role("link", name=name).count() == 1


def test_a_failed_payload_marks_its_issue_in_the_payload(browser: Any, server: Server) -> None:
    name = unique("failed_probe")
    collect(server, "shop", [broken(name)])
    failed = wait_failed(server, "shop", lambda f: name in str(f["payload"]))
    with signed_in(browser, server) as w:
        page = open_route(w, server, "live")
        href = f"#/event/shop/{quote(failed['id'], safe='')}"
        row = rows(page).filter(has=page.locator(f'a[href^="{href}"]'))
        row.wait_for()
        assert "failed" in row.inner_text() and "$[2].value" in row.inner_text()
        row.get_by_role("link", name="purchase").click()
        page.locator(READY["event"]).wait_for()
        assert page.url.split("?")[0].endswith(href)
        assert page.locator("h1").inner_text() == "Failed payload: purchase"
        issues = page.locator("main .grid > section").first.locator("ul.issues li")
        assert (
            issues.count() == 1
            and "TYPE_INVALID" in issues.inner_text()
            and "$[2].value" in issues.inner_text()
        )
        mark = page.locator("pre[aria-label=payload] mark")
        assert mark.count() == 1
        assert mark.get_attribute("title") == "$[2].value" and mark.inner_text() == '"lots"'
        assert "purchase" in page.locator("pre[aria-label='canonical event']").inner_text()
        assert page.locator("details[data-dialect]").count() >= 1
        shot(page, "event-failed")
