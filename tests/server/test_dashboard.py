"""The dashboard over HTTP: its page and files, sign-in, sessions on /api/*, CSRF, scope
(server/dashboard.py, server/gate.py). The browser's view is tests/dashboard."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.support.inproc import Harness, harness
from trackway import dashboard
from trackway.cli.dashboard_cmd import signin_link
from trackway.reports import render
from trackway.server import app
from trackway.server.sessions import COOKIE, Sessions

pytestmark = pytest.mark.anyio
INSTANCE = "twa_instance_token_dashboard"


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    got = await harness(tmp_path, server={"admin_token": INSTANCE, "signin_attempts_per_minute": 5})
    yield got
    await got.client.aclose()
    got.writer.close()


def admin(h: Harness, prop: str) -> str:
    return str(h.collector.config.properties[prop]["admin_token"])


async def sign_in(h: Harness, token: str) -> str:
    """Sign in; returns the CSRF token (the client keeps the cookie)."""
    r = await h.client.post("/signin", json={"token": token})
    assert r.status_code == 200, r.text
    return str(r.json()["csrf"])


@pytest.mark.parametrize("path", ["/", *(f"/dashboard/{n}" for n in dashboard.names())])
async def test_every_file_is_served_with_a_csp_without_inline_scripts(h: Harness, path: str) -> None:
    r = await h.client.get(path)
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    script = next(p for p in csp.split(";") if p.strip().startswith("script-src"))
    assert "'self'" in script and "unsafe" not in script
    assert "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    again = await h.client.get(path, headers={"if-none-match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


async def test_the_page_loads_only_its_own_scripts(h: Harness) -> None:
    page = (await h.client.get("/")).text
    assert '<script type="module" src="/dashboard/app.js"></script>' in page
    assert "<script>" not in page and "style=" not in page and " on" + "click=" not in page


@pytest.mark.parametrize(
    ("who", "scope", "properties"),
    [("instance", "*", ["default", "other"]), ("default", "default", ["default"])],
)
async def test_sign_in_with_a_token_sets_a_strict_http_only_cookie(
    h: Harness, who: str, scope: str, properties: list[str]
) -> None:
    token = INSTANCE if who == "instance" else admin(h, who)
    r = await h.client.post("/signin", json={"token": token})
    assert r.status_code == 200 and r.json()["scope"] == scope
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Secure" not in cookie  # plain HTTP here; over TLS it is Secure (below)
    me = (await h.client.get("/api/session")).json()
    assert me["scope"] == scope and me["properties"] == properties and me["csrf"] == r.json()["csrf"]


async def test_the_cookie_is_secure_behind_a_tls_proxy(h: Harness) -> None:
    r = await h.client.post("/signin", json={"token": INSTANCE}, headers={"x-forwarded-proto": "https"})
    assert "; Secure" in r.headers["set-cookie"]


@pytest.mark.parametrize(
    ("body", "headers", "status", "says"),
    [
        ({"token": "twa_wrong"}, {}, 401, "unknown one"),
        ({"token": ""}, {}, 400, "expected a JSON body"),
        ({"nothing": 1}, {}, 400, "expected a JSON body"),
        ([1, 2], {}, 400, "expected a JSON body"),
        ({"token": INSTANCE}, {"origin": "https://evil.example"}, 403, "from https://evil.example"),
    ],
    ids=["wrong", "empty", "no-token", "not-an-object", "cross-site"],
)
async def test_a_bad_sign_in_is_refused_with_a_reason(
    h: Harness, body: object, headers: dict[str, str], status: int, says: str
) -> None:
    r = await h.client.post("/signin", json=body, headers=headers)
    assert r.status_code == status and says in r.json()["error"]
    assert "set-cookie" not in r.headers


async def test_sign_in_attempts_are_rate_limited(h: Harness) -> None:
    codes = [(await h.client.post("/signin", json={"token": f"twa_guess_{n}"})).status_code for n in range(7)]
    assert codes == [401] * 5 + [429] * 2
    r = await h.client.post("/signin", json={"token": INSTANCE})  # even the right token, for now
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


async def test_a_one_time_link_signs_in_once_and_leaves_the_address_bar(h: Harness) -> None:
    code = Sessions(h.root).new_link("*")
    r = await h.client.get("/signin", params={"code": code})
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert "HttpOnly" in r.headers["set-cookie"]
    assert (await h.client.get("/api/session")).json()["scope"] == "*"
    h.client.cookies.clear()
    again = await h.client.get("/signin", params={"code": code})  # a browser: the sign-in form says why
    assert again.status_code == 303 and "set-cookie" not in again.headers
    where = urlsplit(again.headers["location"])
    assert where.path == "/" and where.fragment.startswith("/signin?")
    told = parse_qs(where.fragment.split("?", 1)[1])
    assert "used already" in told["error"][0] and told["status"] == ["401"]


@pytest.mark.parametrize(("how", "signed_in"), [("trackway dashboard", True), ("no token added", False)])
async def test_a_link_made_with_a_new_admin_token_works_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str, signed_in: bool
) -> None:
    """`trackway dashboard` on a server without an admin token adds one, then prints the
    link: opened at once, before the worker's once-a-second re-read, it signed nobody in
    (and was spent). Without any token, the link says how to get one."""
    monkeypatch.setattr(app, "CONFIG_CHECK_SECONDS", 3600.0)  # the worker will not look by itself
    h = await harness(tmp_path)
    try:
        assert h.collector.config.server["admin_token"] == ""
        if how == "trackway dashboard":
            code = parse_qs(urlsplit(signin_link(h.root, None, "http://t")[0]).query)["code"][0]
        else:
            code = Sessions(h.root).new_link("*")
        r = await h.client.get("/signin", params={"code": code})
        assert r.status_code == 303
        if signed_in:
            assert r.headers["location"] == "/", r.headers["location"]
            assert (await h.client.get("/api/session")).json()["scope"] == "*"
        else:
            told = parse_qs(urlsplit(r.headers["location"]).fragment.split("?", 1)[1])
            assert "set the server's admin_token" in told["error"][0] and told["status"] == ["401"]
    finally:
        await h.client.aclose()
        h.writer.close()


async def test_api_without_a_sign_in_says_how_to_get_one(h: Harness) -> None:
    r = await h.client.get("/api/events")
    assert r.status_code == 401 and "dashboard sign-in" in r.json()["error"]
    h.client.cookies.set(COOKIE, "forged.1.2.3")
    r = await h.client.get("/api/events")
    assert r.status_code == 401


async def test_a_session_reads_the_api_and_its_actions_need_the_csrf_token(h: Harness) -> None:
    csrf = await sign_in(h, INSTANCE)
    assert (await h.client.get("/api/events")).status_code == 200
    without = await h.client.post("/api/replay", json={})
    assert without.status_code == 403 and "X-CSRF-Token" in without.json()["error"]
    wrong = await h.client.post("/api/replay", json={}, headers={"x-csrf-token": "0" * 40})
    assert wrong.status_code == 403
    ok = await h.client.post("/api/replay", json={}, headers={"x-csrf-token": csrf})
    assert ok.status_code == 200 and "examined" in ok.json()


async def test_a_token_caller_needs_no_csrf_token(h: Harness) -> None:
    r = await h.client.post("/api/replay", json={}, headers={"authorization": f"Bearer {INSTANCE}"})
    assert r.status_code == 200


@pytest.mark.parametrize(
    ("who", "named", "status", "examined"),
    [
        ("default", None, 200, 1),
        ("default", "default", 200, 1),
        ("default", "other", 403, None),  # it replayed its own then, silently
        ("server", "other", 200, 0),
        ("server", None, 200, 1),
    ],
)
async def test_a_replay_names_a_property_its_token_may_act_on(
    h: Harness, who: str, named: str | None, status: int, examined: int | None
) -> None:
    bad = {"client_id": "c1", "events": [{"name": "bad name!", "params": {"value": "x"}}]}
    assert (await h.client.post(h.mp(), json=bad)).status_code in (200, 204)
    await h.load()
    token = INSTANCE if who == "server" else admin(h, who)
    body = {"property": named} if named is not None else {}
    r = await h.client.post("/api/replay", json=body, headers={"authorization": f"Bearer {token}"})
    assert r.status_code == status, r.text
    if examined is None:
        assert r.json()["error"] == "this admin token acts on the property 'default' only, not 'other'"
    else:
        assert r.json()["examined"] == examined


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/sql"),
        ("POST", "/api/rebuild"),
        ("DELETE", "/api/events"),
        ("GET", "/api/sql"),  # a 404 from the store ("no admin endpoint"); the docs say 405
        ("GET", "/api/rebuild"),
    ],
)
async def test_what_rewrites_or_reads_the_whole_store_stays_with_the_cli(
    h: Harness, method: str, path: str
) -> None:
    csrf = await sign_in(h, INSTANCE)
    r = await h.client.request(method, path, json={"query": "SELECT 1"}, headers={"x-csrf-token": csrf})
    assert r.status_code == 405 and "allow" in r.headers


async def test_a_property_session_sees_its_property_only(h: Harness) -> None:
    await sign_in(h, admin(h, "default"))
    assert (await h.client.get("/api/events", params={"property": "other"})).status_code == 403
    assert (await h.client.get("/api/reports/revenue", params={"property": "other"})).status_code == 403
    assert (
        await h.client.get("/api/person", params={"property": "other", "person_id": "p"})
    ).status_code == 403


async def test_sign_out_ends_the_cookie(h: Harness) -> None:
    csrf = await sign_in(h, INSTANCE)
    refused = await h.client.post("/signout")
    assert refused.status_code == 403
    copy = h.client.cookies[COOKIE]
    r = await h.client.post("/signout", headers={"x-csrf-token": csrf})
    assert r.status_code == 204 and "Max-Age=0" in r.headers["set-cookie"]
    assert (await h.client.get("/api/session")).status_code == 401
    h.client.cookies.set(COOKIE, copy)  # a copy kept elsewhere (another tab, a stolen cookie)
    assert (await h.client.get("/api/session")).status_code == 401
    assert (await h.client.get("/api/events")).status_code == 401


async def test_report_csv_is_the_cli_s_csv(h: Harness) -> None:
    bad = {"client_id": "c1", "events": [{"name": "bad name!", "params": {"value": "x"}}]}
    assert (await h.client.post(h.mp(), json=bad)).status_code in (200, 204)
    await h.load()
    await sign_in(h, INSTANCE)
    r = await h.client.get("/api/reports/quality", params={"format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    sections = (await h.client.get("/api/reports/quality")).json()["sections"]
    assert sections["issues"] and r.text == render.to_csv("quality", sections)
    bad = await h.client.get("/api/reports/quality", params={"format": "xml"})
    assert bad.status_code == 400 and "json or csv" in bad.json()["error"]


async def test_one_section_of_a_report_is_the_whole_reports_section(h: Harness) -> None:
    bad = {"client_id": "c1", "events": [{"name": "bad name!", "params": {"value": "x"}}]}
    assert (await h.client.post(h.mp(), json=bad)).status_code in (200, 204)
    await h.load()
    await sign_in(h, INSTANCE)
    whole = (await h.client.get("/api/reports/quality")).json()["sections"]
    for name in ("paths", "issues"):  # paths runs alone, issues is picked from the whole report
        one = (await h.client.get("/api/reports/quality", params={"section": name})).json()["sections"]
        assert one == {name: whole[name]} and whole[name]
    assert (await h.client.get("/api/reports/quality", params={"wait": "0"})).status_code == 200
    r = await h.client.get("/api/reports/quality", params={"section": "nope"})
    assert r.status_code == 400 and "expected one of events, issues, paths" in r.json()["error"]


async def test_the_live_stream_needs_a_sign_in_too(h: Harness) -> None:
    r = await h.client.get("/api/live")
    assert r.status_code == 401
    assert isinstance(h.client, httpx.AsyncClient)
