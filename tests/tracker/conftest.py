from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.server import Server
from tests.tracker.browser import Api, Pages, chromium, configure


@pytest.fixture(scope="module")
def pages() -> Iterator[Pages]:
    p = Pages()
    yield p
    p.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, pages: Pages) -> Iterator[Server]:
    s = Server(tmp_path_factory.mktemp("tracker") / "data", workers=1)
    configure(s, pages.origin)
    s.start()
    yield s
    s.close()


@pytest.fixture(scope="module")
def api(server: Server) -> Iterator[Api]:
    a = Api(server)
    yield a
    a.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    yield ctx
    ctx.close()
