"""The Destinations page in headless Chromium: a destination with dead letters does not
look healthy, a retry's outcome is told in words and stays, and a list cut at 50 says so.

The module's server has a paused webhook destination ``shop.hook`` (its forwarder does
not run, so the test writes its dead letters) whose receiver refuses one event."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.conftest import _copy
from tests.dashboard.ui import open_route, shot, signed_in
from tests.destinations.receivers import Receiver, RefuseEvent
from tests.support.server import Server
from trackway import config as configuration
from trackway.destinations import runner
from trackway.destinations.consumer import DeadLetter
from trackway.destinations.deadletters import DeadLetters
from trackway.model import Event, to_json

HOOK = "shop.hook"
LETTERS = 60  # more than the 50 the page lists
REFUSED = "e-refused"  # the event of the last letter: the receiver answers 400 for it
LATEST = "HTTP 503: the receiver was down for maintenance"


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver(default=RefuseEvent(REFUSED)) as r:
        yield r


@pytest.fixture(scope="module")
def server(demo_data: Path, tmp_path_factory: pytest.TempPathFactory, receiver: Receiver) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("dashboard-destinations") / "data"
    _copy(demo_data, data)
    config = data / "trackway.toml"
    hook = {"type": "webhook", "url": f"{receiver.url}/in", "secret": "whsec_for_the_dashboard_test"}
    configuration.add_destination(config, "shop", "hook", hook)
    configuration.pause_destination(config, "shop", "hook", True)
    book = DeadLetters(runner.Files(data, HOOK).dead)
    at = datetime.now(UTC)
    for n in range(LETTERS):
        id = REFUSED if n == LETTERS - 1 else f"e-{n}"
        event = Event(name="purchase", dialect="ga4-mp", id=id, property="shop", received_at=at)
        reason = LATEST if n == LETTERS - 1 else "HTTP 500"
        book.append(DeadLetter(HOOK, (id,), reason, at, 500, "", f"{receiver.url}/in", {}, (to_json(event),)))
    s = Server(data, workers=1)
    s.start()
    yield s
    s.close()


def section(page: Any) -> Any:
    return page.locator(f"section[data-destination='{HOOK}']")


def test_dead_letters_are_not_healthy_and_a_cut_list_says_so(browser: Any, server: Server) -> None:
    with signed_in(browser, server) as w:
        page = open_route(w, server, "destinations")
        hook = section(page)
        badges = hook.locator("h2 .badge").all_inner_texts()
        assert "ok" not in badges and f"{LETTERS} dead letters" in badges, badges
        assert hook.locator("h2 .badge.ok").count() == 0
        warning = hook.locator(".warn-box").first.inner_text()
        assert f"{LETTERS} dead letters" in warning and LATEST in warning, warning
        assert hook.locator("tbody tr").count() == 50
        assert f"Showing the oldest 50 of {LETTERS}" in hook.inner_text()
        shot(page, "destinations-dead-letters")
        # a destination without dead letters still looks healthy
        others = page.locator("section[data-destination]:not([data-destination='shop.hook'])")
        for n in range(others.count()):
            count = int(others.nth(n).locator("h3").inner_text().split("(")[1].rstrip(")"))
            assert (others.nth(n).locator("h2 .badge.ok").count() == 1) == (count == 0)


def outcome_after(page: Any, click: Any) -> str:
    """What the page says after ``click``, once the page has reloaded the destinations and
    2.5 s later (the JSON it showed went away after 1.5 s)."""
    click()
    section(page).locator(".retry-outcome").wait_for(timeout=30_000)
    page.wait_for_timeout(2500)
    text: str = section(page).locator(".retry-outcome").inner_text()
    assert '"retried"' not in text and '"delivered"' not in text, text  # words, not the answer's JSON
    return text


def test_a_retry_says_what_happened_and_it_stays(browser: Any, server: Server) -> None:
    with signed_in(browser, server) as w:
        page = open_route(w, server, "destinations")
        first = section(page).locator("tbody tr").first
        assert first.locator("td").first.inner_text().startswith("1 ")
        said = outcome_after(page, lambda: first.get_by_role("button", name="Retry").click())
        assert said == "Retried 1 dead letter: 1 delivered.", said
        assert section(page).locator("h3").first.inner_text() == f"Dead letters ({LETTERS - 1})"
        shot(page, "destinations-retried-one")

        said = outcome_after(page, lambda: section(page).get_by_role("button", name="Retry all").click())
        lines = said.splitlines()
        head = f"Retried {LETTERS - 1} dead letters: {LETTERS - 2} delivered, 1 failed (still listed)."
        assert lines[0] == head, said
        assert lines[1].startswith(f"Letter {LETTERS} (failed): ") and "400" in lines[1], said
        assert section(page).locator("h3").first.inner_text() == "Dead letters (1)"
        assert section(page).locator(".retry-outcome").get_attribute("role") == "status"
        shot(page, "destinations-retried-all")
