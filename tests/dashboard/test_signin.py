"""Sign-in in headless Chromium (issue 17): a one-time link works once, the token form says
why a token is refused, sign-out, the session cookie's attributes, CSRF on a session's POSTs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dashboard.ui import (
    collect,
    open_route,
    probe,
    rows,
    shot,
    signed_in,
    unique,
    wait_event,
    watch,
)
from tests.support.server import ADMIN_TOKEN, Server
from trackway.cli.dashboard_cmd import signin_link

# -- sign-in ---------------------------------------------------------------------------


def test_a_one_time_link_signs_in_once(browser: Any, server: Server) -> None:
    link, _ = signin_link(server.data, None, server.url)
    context = browser.new_context()
    try:
        w = watch(context.new_page())
        w.page.goto(link)
        w.page.wait_for_selector("#nav a[data-page=live]")
        assert w.page.url == f"{server.url}/#/live" or w.page.url.startswith(f"{server.url}/")
        assert "code=" not in w.page.url  # sent on to / : the code leaves the address bar
        [cookie] = [c for c in context.cookies() if c["name"] == "tw_session"]
        assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict", cookie
        assert cookie["secure"] is False  # plain HTTP on loopback; Secure over TLS
        w.clean()
    finally:
        context.close()
    other = browser.new_context()
    try:
        page = other.new_page()
        page.goto(link)  # refused: the sign-in form, saying why (not a page of JSON)
        page.locator("form.signin").wait_for()
        assert "The sign-in link did not work" in page.inner_text("form.signin")
        assert "used already" in page.inner_text("form.signin")
        assert page.url == f"{server.url}/"  # the reason leaves the address bar too
        assert not [c for c in other.cookies() if c["name"] == "tw_session"]
    finally:
        other.close()


@pytest.mark.parametrize(
    ("token", "shown"),
    [
        ("not-a-token", "got an unknown one"),
        (ADMIN_TOKEN, None),
    ],
)
def test_the_token_form(browser: Any, server: Server, token: str, shown: str | None) -> None:
    context = browser.new_context()
    try:
        w = watch(context.new_page(), ignore=("401",))  # the refused sign-in's request is logged
        w.page.goto(f"{server.url}/")
        w.page.wait_for_selector("form.signin")
        assert w.page.evaluate("document.activeElement.id") == "token"
        shot(w.page, "signin")
        w.page.fill("#token", token)
        w.page.click("form.signin button[type=submit]")
        if shown is not None:
            w.page.get_by_role("alert").wait_for()
            assert shown in w.page.get_by_role("alert").inner_text()
            assert not [c for c in context.cookies() if c["name"] == "tw_session"]
            shot(w.page, "signin-refused")
        else:
            w.page.wait_for_selector("#nav a[data-page=live]")
            assert [c["name"] for c in context.cookies()] == ["tw_session"]
        w.clean()
    finally:
        context.close()


def test_sign_out(browser: Any, server: Server) -> None:
    with signed_in(browser, server, ignore=("401",)) as w:  # /api/session after signing out
        open_route(w, server, "live")
        w.page.get_by_role("button", name="Sign out").click()
        w.page.wait_for_selector("form.signin")
        assert not [c for c in w.page.context.cookies() if c["name"] == "tw_session"]
        assert w.page.request.get(f"{server.url}/api/session").status == 401


def test_signing_out_in_one_tab_ends_the_live_page_of_another(browser: Any, server: Server) -> None:
    """The other tab's live stream stops with the session, and the tab goes back to the
    sign-in form saying why (it kept receiving events, or said "Reconnecting" forever)."""
    with signed_in(browser, server, ignore=("401",)) as w:
        other = watch(w.page.context.new_page(), ignore=("401",))
        live = open_route(other, server, "live")
        live.wait_for_function("() => document.querySelector('.status-line').textContent.startsWith('Live')")
        before = unique("before_signout")
        collect(server, "shop", [probe(before)])
        rows(live).filter(has_text=before).wait_for()
        open_route(w, server, "live")
        w.page.get_by_role("button", name="Sign out").click()
        w.page.wait_for_selector("form.signin")
        after = unique("after_signout")
        collect(server, "shop", [probe(after)])
        wait_event(server, "shop", lambda e: e["name"] == after)
        form = live.locator("form.signin")
        form.wait_for(timeout=10_000)
        assert "Your sign-in has ended" in form.inner_text()
        assert "signed out" in form.inner_text(), form.inner_text()
        assert live.get_by_text(after).count() == 0
        shot(live, "signed-out-elsewhere")
        other.clean()


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 403), ({"x-csrf-token": "forged"}, 403), (None, 200)],
)
def test_a_sessions_post_needs_its_csrf_token(
    browser: Any, server: Server, headers: dict[str, str] | None, status: int
) -> None:
    with signed_in(browser, server) as w:
        api = w.page.request
        csrf = api.get(f"{server.url}/api/session").json()["csrf"]
        sent = {"x-csrf-token": csrf} if headers is None else headers
        answer = api.post(f"{server.url}/api/validate", data={"text": '["event", "x", {}]'}, headers=sent)
        assert answer.status == status, answer.text()
        if status == 403:
            assert "X-CSRF-Token" in answer.json()["error"]
