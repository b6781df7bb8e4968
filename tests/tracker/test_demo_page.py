"""The demo shop page (/demo/shop): its own tracking code reaches the collector through
/t.js, in three dialects, with consent mode deciding the guest id."""

from __future__ import annotations

from typing import Any

from tests.support.server import Server
from tests.tracker.browser import Api, shot


def test_the_demo_shop_sends_its_datalayer_cact_and_convead_calls(
    server: Server, api: Api, context: Any
) -> None:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server.url}/demo/shop")
    page.click("#add-tee")  # consent mode's default: analytics denied
    page.click("#grant")
    page.click("#add-mug")
    page.click("#buy")
    page.wait_for_function("document.getElementById('log').textContent.includes('collector:')")
    shot(page, "demo_shop")  # its log shows the collector's verdicts (trackway:answer events)
    page.goto("about:blank")  # pagehide: what is queued goes by beacon

    def done(events: list[dict[str, Any]]) -> bool:
        return any(e["name"] == "purchase" and e["dialect"] == "convead" for e in events)

    events = api.wait_events("/demo/shop", done)
    by = {(e["name"], e["dialect"]) for e in events}
    assert {("add_to_cart", d) for d in ("gtm-ga4", "commanders-act", "convead")} <= by, by
    assert {("purchase", "gtm-ga4"), ("purchase", "convead"), ("view_item", "gtm-ga4")} <= by, by
    tee = [e for e in events if e["name"] == "add_to_cart" and "tee" in str(e)]
    mug = [e for e in events if e["name"] == "add_to_cart" and "mug" in str(e)]
    assert tee and all(e.get("anonymous_id") is None for e in tee)  # before consent: no guest id
    assert mug and len({e.get("anonymous_id") for e in mug}) == 1 and mug[0].get("anonymous_id")
    cookies = {c["name"]: c for c in context.cookies()}
    assert cookies["tw_id"]["httpOnly"] and cookies["tw_id"]["value"] == mug[0]["anonymous_id"]
    assert errors == []
