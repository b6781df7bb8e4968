"""Headless Chromium (Debian's, driven by Playwright for Python; no browser download)
against a real ``trackway serve`` and test pages served on loopback."""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from tests.support.server import ADMIN_TOKEN, Server

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "build" / "screenshots"


class Pages:
    """Test pages on their own origin (another port of 127.0.0.1: the same site as the
    collector, so its first-party cookie applies, as for collect.shop.example)."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path.split("?")[0])
                data = (body if body is not None else "not found").encode()
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.http.server_address[1]}"
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()

    def add(self, path: str, html: str) -> str:
        self.pages[path] = html
        return self.origin + path

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


def page_html(collector: str, key: str, body: str, head: str = "", tracker: bool = True) -> str:
    """A page: ``head`` (the site's own code that runs before the tracker loads), the
    tracker's tag, then ``body`` (scripts run after it is parsed)."""
    tag = f'<script async src="{collector}/t.js" data-key="{key}"></script>' if tracker else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test page</title>'
        "<script>window.__errors = []; window.onerror = function (m) { window.__errors.push(String(m)); };"
        "window.addEventListener('unhandledrejection', function (e) {"
        " window.__errors.push('rejection: ' + e.reason); });"
        f"</script>{head}{tag}</head><body><h1>Test page</h1>{body}</body></html>"
    )


def configure(server: Server, origin: str, demo: bool = True) -> None:
    """Let the page origin post to the default property; serve the demo page with it."""
    path = server.data / "trackway.toml"
    text = path.read_text()
    text = text.replace("[properties.default]\n", f'[properties.default]\ncors_origins = ["{origin}"]\n', 1)
    if demo:
        text = text.replace("[server]\n", '[server]\ndemo_shop = "default"\n', 1)
    path.write_text(text)


class Api:
    """What the collector stored, through its admin API (read-your-writes)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.http = httpx.Client(timeout=60, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})

    def _get(self, table: str) -> list[dict[str, Any]]:
        r = self.http.get(f"{self.server.url}/api/{table}", params={"property": "default", "limit": 10000})
        r.raise_for_status()
        rows: list[dict[str, Any]] = r.json()[table if table == "events" else "failed_events"]
        return rows

    def events(self, page: str) -> list[dict[str, Any]]:
        """The stored events sent from pages whose path starts with ``page``."""
        return [e for e in self._get("events") if _path(e.get("context")).startswith(page)]

    def failed(self, page: str) -> list[dict[str, Any]]:
        return [f for f in self._get("failed_events") if page in str(f.get("meta") or "")]

    def wait_events(
        self,
        page: str,
        until: Callable[[list[dict[str, Any]]], bool],
        timeout: float = 30,
        browser_page: Any = None,
    ) -> list[dict[str, Any]]:
        """The events of ``page`` once ``until`` holds for them (or when ``timeout`` has
        passed). ``browser_page``: a page still open, whose Playwright events (route
        handlers, console) must keep being served while this waits."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.events(page)
            if until(found) or time.monotonic() > deadline:
                return found
            if browser_page is not None:
                browser_page.wait_for_timeout(250)
            else:
                time.sleep(0.25)

    def close(self) -> None:
        self.http.close()


def _path(context: Any) -> str:
    page = context.get("page") if isinstance(context, dict) else None
    return str(page.get("path", "")) if isinstance(page, dict) else ""


def shot(page: Any, name: str) -> Path:
    """A screenshot of ``page`` in build/screenshots (look at them)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
