"""Helpers of the dashboard's browser tests: a signed-in page that fails on any dialog,
page error or CSP violation, sending events, and screenshots."""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.server import ADMIN_TOKEN, Server, wait_for
from tests.tracker.browser import shot as _shot

TIMEOUT_MS = 10_000  # what a page has to show what it waits for
_n = itertools.count(1)


def unique(prefix: str) -> str:
    """A name no other test uses (event names: letters, digits, underscores)."""
    return f"{prefix}_{int(time.time() * 1000) % 10**8}_{next(_n)}"


@dataclass
class Watched:
    """A page and what went wrong on it: dialogs (an alert from injected markup), page
    errors, console errors (a CSP violation is one)."""

    page: Any
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def clean(self) -> None:
        assert not self.dialogs, f"a dialog opened: {self.dialogs}"
        assert not self.errors, f"errors on the page: {self.errors}"


def watch(page: Any, ignore: tuple[str, ...] = ()) -> Watched:
    w = Watched(page)

    def on_dialog(dialog: Any) -> None:
        w.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def on_console(msg: Any) -> None:
        if msg.type == "error" and not any(i in msg.text for i in ignore):
            w.errors.append(msg.text)

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda exc: w.errors.append(f"pageerror: {exc}"))
    page.on("console", on_console)
    page.set_default_timeout(TIMEOUT_MS)
    return w


def sign_in(context: Any, server: Server, token: str = ADMIN_TOKEN) -> None:
    """Sign ``context`` in as the token form does (its cookie lands in the context)."""
    r = context.request.post(f"{server.url}/signin", data={"token": token})
    assert r.status == 200, r.text()


@contextlib.contextmanager
def signed_in(
    browser: Any,
    server: Server,
    token: str = ADMIN_TOKEN,
    ignore: tuple[str, ...] = (),
    **context_options: Any,
) -> Iterator[Watched]:
    """A page of a new context signed in with ``token``; at the end, no dialog opened and
    no error was logged (``ignore``: console texts expected by the test)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, **context_options)
    try:
        sign_in(context, server, token)
        w = watch(context.new_page(), ignore)
        yield w
        w.clean()
    finally:
        context.close()


# What each page shows once it has drawn from the API (the first part of its route).
READY = {
    "live": "main .status-line:text-matches('^Live')",
    "event": "main h2:text('In the other dialects')",
    "failed": "main h2:text('Latest failed payloads')",
    "validate": "#snippet",
    "reports": "main section[data-section]",
    "people": "main form",
    "destinations": "main section[data-destination], main p.muted",
    "setup": "main section[data-property]",
}


def open_route(w: Watched, server: Server, route: str) -> Any:
    """Go to ``#/route`` and wait until the page has drawn what it shows; no error box."""
    page = w.page
    page.goto(f"{server.url}/#/{route}")
    page.locator(READY[route.split("/")[0]]).first.wait_for()
    if route.startswith("people/"):
        page.locator("main section.person, main p[role=status]").first.wait_for()
    alerts = page.locator("main .error-box").all_inner_texts()
    assert not alerts, f"#/{route} shows an error: {alerts}"
    return page


def shot(page: Any, name: str) -> Path:
    return _shot(page, f"dashboard-{name}")


def collect(server: Server, prop: str, units: list[Any], **envelope: Any) -> dict[str, Any]:
    """POST ``units`` to /collect with ``prop``'s collect key; the answer."""
    key = server.keys(prop)["collect_key"]
    r = server.post("/collect", json={"key": key, **envelope, "events": units})
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def wait_event(server: Server, prop: str, match: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    found: dict[str, Any] = wait_for(
        lambda: next((e for e in server.events(property=prop, limit=200) if match(e)), None),
        30,
        "the event to be stored",
    )
    return found


def wait_failed(server: Server, prop: str, match: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    found: dict[str, Any] = wait_for(
        lambda: next((f for f in server.failed(property=prop, limit=200) if match(f)), None),
        30,
        "the failed payload to be stored",
    )
    return found


def probe(name: str, **params: Any) -> list[Any]:
    """A valid gtag call of a custom event."""
    return ["event", name, {"marker": name, **params}]


def broken(name: str) -> list[Any]:
    """A gtag purchase whose value is no amount: failed, its issue at $[2].value."""
    item = {"item_id": "sku-1", "item_name": f"Tee {name}", "price": 10, "quantity": 1}
    return [
        "event",
        "purchase",
        {"transaction_id": name, "value": "lots", "currency": "EUR", "items": [item]},
    ]


def rows(page: Any) -> Any:
    """The rows of the page's tables."""
    return page.locator("main table tbody tr")
