"""The dashboard in headless Chromium against a real ``trackway serve`` on loopback.

The demo's traffic is made once per run (``trackway demo --no-serve``, about 12 s) and
each test module serves its own copy of that data dir (a module's events, sign-ins and
forgets stay its own). The copy gets the server's admin token and a generous sign-in
rate limit (the tests sign in a few dozen times a minute from one address), plus a
property ``plain`` without a default currency (what the replay test fixes).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import ADMIN_TOKEN, Server, cli
from tests.tracker.browser import chromium

SESSIONS = 40
PLAIN = "plain"  # a property with no default_currency


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("dashboard-demo") / "demo"
    cli(
        "demo",
        "--no-serve",
        "--sessions",
        str(SESSIONS),
        "--seed",
        "7",
        "--port",
        "0",
        data=data,
        timeout=180,
    )
    return data


def _copy(demo: Path, to: Path) -> None:
    shutil.copytree(demo, to, ignore=shutil.ignore_patterns("*.sock", "*.pid", "receiver", "server.json"))
    config = to / "trackway.toml"
    text = config.read_text()
    server = f'[server]\nadmin_token = "{ADMIN_TOKEN}"\nsignin_attempts_per_minute = 1000\n'
    assert "[server]\n" in text, text
    config.write_text(text.replace("[server]\n", server, 1))


@pytest.fixture(scope="module")
def server(demo_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("dashboard") / "data"
    _copy(demo_data, data)
    s = Server(data, workers=1)
    s.add_property(PLAIN)
    s.start()
    yield s
    s.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b
