"""The keyboard, a phone's screen and dark mode (issue 17): Tab reaches the skip link and
the pages, no page scrolls sideways at 390 px, charts stay readable, the colours follow
prefers-color-scheme."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dashboard.ui import (
    READY,
    open_route,
    shot,
    sign_in,
    signed_in,
    watch,
)
from tests.support.server import Server

# -- keyboard, small screens, dark ----------------------------------------------------


def test_tab_reaches_the_skip_link_then_the_pages(browser: Any, server: Server) -> None:
    with signed_in(browser, server) as w:
        page = open_route(w, server, "live")
        reached = []
        for _ in range(10):
            page.keyboard.press("Tab")
            reached.append(page.evaluate("document.activeElement.textContent.trim()"))
        assert reached[0] == "Skip to the page", reached
        nav = reached.index("Live")
        pages = ["Live", "Failed", "Validator", "Reports", "People", "Destinations", "Setup"]
        assert reached[nav : nav + len(pages)] == pages, reached
        for _ in range(len(reached) - 1 - (nav + len(pages) - 1)):
            page.keyboard.press("Shift+Tab")
        assert page.evaluate("document.activeElement.textContent") == "Setup"
        page.keyboard.press("Enter")
        page.locator(READY["setup"]).first.wait_for()
        assert page.evaluate("document.activeElement.id") == "main"  # a new page: focus on it
        shot(page, "keyboard")
        page.keyboard.press("Shift+Tab")
        for _ in range(20):
            if page.evaluate("document.activeElement.className") == "skip":
                break
            page.keyboard.press("Shift+Tab")
        assert (
            page.evaluate("getComputedStyle(document.activeElement).left") != "-999px"
        )  # it shows when focused
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("desktop", {"viewport": {"width": 1280, "height": 800}}),
        ("phone", {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}),
        ("dark", {"viewport": {"width": 1280, "height": 800}, "color_scheme": "dark"}),
        ("phone-dark", {"viewport": {"width": 390, "height": 844}, "color_scheme": "dark"}),
    ],
)
def test_screens(browser: Any, server: Server, name: str, options: dict[str, Any]) -> None:
    context = browser.new_context(**options)
    try:
        sign_in(context, server)
        w = watch(context.new_page())
        for route in ("live", "reports/revenue", "failed"):
            page = open_route(w, server, route)
            if route.startswith("reports"):
                page.wait_for_selector("section[data-section]")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= options["viewport"]["width"], f"{route} scrolls sideways: {width} px"
            if route.startswith("reports"):  # chart labels no smaller than 9 px on screen
                sizes = page.locator(".chart text").evaluate_all(
                    "ts => ts.map(t => t.getBoundingClientRect().height)"
                )
                assert sizes and min(sizes) >= 9, min(sizes)
            shot(page, f"{name}-{route.replace('/', '-')}")
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        dark = "dark" in name
        assert background == ("rgb(20, 24, 22)" if dark else "rgb(247, 247, 244)"), background
        w.clean()
    finally:
        context.close()


@pytest.mark.parametrize("width", [320, 375, 640])
def test_a_phones_header_leaves_the_screen_to_the_page(browser: Any, server: Server, width: int) -> None:
    """At 375 px the sticky header wrapped to four lines and kept 270 of 812 px while
    scrolling: it is now two lines that scroll away, every page still one tap away."""
    options = {"viewport": {"width": width, "height": 812}, "is_mobile": True, "has_touch": True}
    context = browser.new_context(**options)
    try:
        sign_in(context, server)
        w = watch(context.new_page())
        page = open_route(w, server, "live")
        header = page.locator("header.top")
        height = header.evaluate("e => e.getBoundingClientRect().height")
        assert height <= 100, f"the header is {height} px high at {width} px"
        page.mouse.wheel(0, 800)
        page.wait_for_function("() => scrollY > 300")
        shown = header.evaluate("e => Math.max(0, e.getBoundingClientRect().bottom)")
        assert shown <= 0.1 * 812, f"{shown} px of the header stay on screen after scrolling"
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.evaluate("scrollTo(0, 0)")
        shot(page, f"phone-header-{width}")
        links = page.locator("#nav a")
        assert links.count() == 7
        links.last.scroll_into_view_if_needed()
        links.last.click()  # Setup: reachable in the line that scrolls sideways
        page.locator(READY["setup"]).first.wait_for()
        w.clean()
    finally:
        context.close()
