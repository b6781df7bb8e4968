"""The browser tracker's server side of POST /collect: call ids deduplicated, the tw_id
cookie by consent, the vendors' ids linked in the identity graph."""

from __future__ import annotations

import json

import pytest

from tests.server.test_people import set_property
from trackway.server import guest

TEE = {"item_id": "tee", "item_name": "Tee", "price": 10, "quantity": 1}
CART = {"event": "add_to_cart", "ecommerce": {"currency": "EUR", "value": 10, "items": [TEE]}}
BAD = {"event": "purchase", "ecommerce": {"currency": "EUR"}}  # no transaction_id, no items: rejected
pytestmark = pytest.mark.anyio


async def post(h, events, cookie=None, prop="default", tracker=True, status=200, **envelope):
    """POST /collect as the browser tracker does (``"cookie": true``), with a tw_id cookie."""
    body = {"key": h.keys(prop)["collect_key"], "events": events, **envelope}
    if tracker:
        body["cookie"] = True
    headers = {"Content-Type": "text/plain;charset=UTF-8"}
    if cookie:
        headers["Cookie"] = f"other=1; {guest.COOKIE}={cookie}"
    r = await h.client.post("/collect", content=json.dumps(body), headers=headers)
    assert r.status_code == status, r.text
    return r


async def test_a_batch_sent_twice_stores_each_call_once(h):
    calls = [
        {"id": "c-1", "payload": CART},
        {"id": "c-2", "payload": ["trigger", "search", {"search_term": "tee"}], "dialect": "commanders-act"},
        {"id": "c-3", "payload": ["event", "view_item", {"items": [TEE]}]},
    ]
    first = (await post(h, calls, anonymous_id="g1")).json()
    again = (await post(h, calls, anonymous_id="g1")).json()
    assert first["results"] == again["results"]  # the same ids: the store keeps the first
    assert [r["events"] for r in first["results"]] == [["c-1"], ["c-2"], ["c-3"]]
    stored = await h.events()
    assert sorted(e.id for e in stored) == ["c-1", "c-2", "c-3"]
    assert {e.dialect for e in stored} == {"gtm-ga4", "commanders-act", "gtag-ga4"}


async def test_a_failed_call_sent_twice_is_one_failed_row(h):
    calls = [{"id": "bad-1", "payload": BAD}, {"id": "ok-1", "payload": CART}, {"payload": BAD}]
    await post(h, calls)
    await post(h, calls)
    failed = await h.failed()
    # the call with an id once; the payload without one each time it came (nothing tells them apart)
    assert sorted(f.id for f in failed if "/call/" in f.id) == ["default/call/bad-1"]
    assert len(failed) == 3
    assert [e.id for e in await h.events()] == ["ok-1"]


@pytest.mark.parametrize(
    ("unit", "expected_id_is_call"),
    [
        ({"id": "ok_1.2:3-4", "payload": CART}, True),
        ({"id": "x" * 65, "payload": CART}, False),  # too long: the server makes the id
        ({"id": "a b", "payload": CART}, False),
        ({"id": 7, "payload": CART}, False),
        ({"payload": CART}, False),
    ],
)
async def test_call_ids_are_used_only_when_well_formed(h, unit, expected_id_is_call):
    answer = (await post(h, [unit])).json()
    [event_id] = answer["results"][0]["events"]
    assert (event_id == unit.get("id")) is expected_id_is_call


async def test_a_wrapper_with_other_keys_is_a_payload_not_a_call(h):
    odd = {"payload": CART, "id": "c-1", "extra": 1}
    answer = (await post(h, [odd])).json()
    assert answer["results"][0]["accepted"] is False  # read as a payload of no known dialect
    [failed] = await h.failed()
    assert json.loads(failed.payload) == odd


@pytest.mark.parametrize(
    ("setting", "consent", "cookie_set", "stored_id"),
    [
        ("", None, True, "g-1"),
        ("", {"analytics_storage": "granted"}, True, "g-1"),
        # no cookie; the property's policy keeps identifiers (the tracker itself sends none then)
        ("", {"analytics_storage": "denied"}, False, "g-1"),
        ("", {"koalect_consent": "functional"}, False, "g-1"),  # Koalect's cookie without analytics
        ("", {"koalect_consent": "functional analytics"}, True, "g-1"),
        ('consent_required = ["marketing"]', {"ad_storage": "denied"}, False, None),  # stored cookieless
        ('consent_required = ["analytics"]\nconsent_default = "denied"', None, False, None),
        # a signal that cannot be read denies: each was assumed granted, with a 400-day cookie
        ('consent_required = ["analytics"]', {"analytics_storage": "no"}, False, None),
        ('consent_required = ["analytics"]', {"analytics_storage": False}, False, None),
        ('consent_required = ["analytics"]', {"Analytics_Storage": "denied"}, False, None),
        ('consent_required = ["analytics"]', {"koalect_consent": ["functional"]}, False, None),
        (
            'consent_required = ["analytics"]\nconsent_default = "denied"',
            {"analytics_storage": "granted"},
            True,
            "g-1",
        ),
    ],
)
async def test_the_guest_cookie_follows_consent(h, setting, consent, cookie_set, stored_id):
    if setting:
        set_property(h, "default", setting)
    envelope = {"anonymous_id": "g-1"} | ({"consent": consent} if consent else {})
    r = await post(h, [{"id": "c1", "payload": CART}], **envelope)
    cookie = r.headers.get("set-cookie", "")
    assert cookie.startswith(f"{guest.COOKIE}=g-1;") is cookie_set, cookie
    assert ("anonymous_id" in r.json()) is cookie_set
    if cookie_set:
        assert all(a in cookie for a in ("HttpOnly", "SameSite=Lax", "Max-Age=34560000", "Path=/"))
        assert "Secure" not in cookie  # plain http here; see the https test
    [event] = await h.events()
    assert event.anonymous_id == stored_id


@pytest.mark.parametrize(
    ("cookie", "sent", "kept"),
    [
        ("from-cookie", "from-storage", "from-storage"),  # the tracker's copy names it: the cookie follows
        (
            "from-cookie",
            None,
            "from-cookie",
        ),  # storage wiped (tracking prevention): the cookie brings it back
        (None, None, None),  # neither: a new one
        ("bad value;", None, None),  # a cookie that is not an id: a new one
    ],
)
async def test_the_guest_id_is_the_trackers_else_the_cookies_else_a_new_one(h, cookie, sent, kept):
    envelope = {"anonymous_id": sent} if sent else {}
    r = await post(h, [{"id": "c1", "payload": CART}], cookie=cookie, **envelope)
    given = r.json()["anonymous_id"]
    if kept is None:
        assert guest.valid_id(given) and given not in ("from-cookie", "bad value")
    else:
        assert given == kept
    assert r.headers["set-cookie"].startswith(f"{guest.COOKIE}={given};")  # (re)set: 400 more days
    [event] = await h.events()
    assert event.anonymous_id == given


async def test_a_server_side_sender_gets_no_cookie_and_keeps_its_own_ids(h):
    """Without ``"cookie": true`` the collector neither reads nor sets tw_id (an HTTP client
    that keeps cookies must not have its ids replaced)."""
    r = await post(h, [CART], cookie="from-cookie", tracker=False, anonymous_id="server-side")
    assert "set-cookie" not in r.headers and "anonymous_id" not in r.json()
    r = await post(h, [CART], cookie="from-cookie", tracker=False, user_id="alice")
    assert "set-cookie" not in r.headers
    assert sorted((e.anonymous_id or "", e.user_id or "") for e in await h.events()) == [
        ("", "alice"),
        ("server-side", ""),
    ]


async def test_consent_withdrawn_expires_the_cookie_and_its_id_is_not_used(h):
    r = await post(h, [{"id": "c1", "payload": CART}], cookie="old", consent={"analytics_storage": "denied"})
    assert r.headers["set-cookie"].startswith(f"{guest.COOKIE}=;") and "Max-Age=0" in r.headers["set-cookie"]
    assert "anonymous_id" not in r.json()
    [event] = await h.events()
    assert event.anonymous_id is None


async def test_a_consent_command_in_the_batch_decides_the_cookie_at_its_end(h):
    calls = [
        {"id": "c1", "payload": CART},
        {"id": "c2", "payload": ["consent", "update", {"analytics_storage": "denied"}]},
    ]
    r = await post(h, calls, anonymous_id="g-2")
    assert "set-cookie" not in r.headers and "anonymous_id" not in r.json()


async def test_the_cookie_is_secure_behind_tls(h):
    body = {"key": h.keys()["collect_key"], "anonymous_id": "g-3", "cookie": True, "events": [CART]}
    r = await h.client.post("/collect", json=body, headers={"X-Forwarded-Proto": "https"})
    assert r.headers["set-cookie"].endswith("; Secure")


async def test_an_id_the_cookie_cannot_hold_is_the_events_but_sets_no_cookie(h):
    r = await post(h, [CART], cookie="ok-cookie", anonymous_id="x" * 300)
    assert "anonymous_id" not in r.json() and "set-cookie" not in r.headers
    [event] = await h.events()
    assert event.anonymous_id == "x" * 300  # the envelope's, as it was sent


async def test_vendor_ids_link_the_device_to_the_vendors_own_channel(h):
    """The tracker on a page sends Convead's guest uid in ``ids``; a server-side Convead
    event with that guest_uid is then the same person as the tracker's guest."""
    ids = {"convead_guest_uid": "cv-guest-9", "ga_client_id": "123.456", "junk": 5}
    await post(h, [{"id": "c1", "payload": CART}], anonymous_id="tw-guest", ids=ids)
    data = json.dumps({"type": "view_product", "properties": {"product_id": "tee", "price": 10}})
    form = {
        "app_key": h.keys()["convead_app_key"],
        "visitor_uid": "",
        "guest_uid": "cv-guest-9",
        "data": data,
    }
    assert (await h.client.post("/watch/event", data=form)).status_code == 200
    events = await h.events()
    assert {e.context["ids"].get("convead_guest_uid") for e in events if e.dialect == "gtm-ga4"} == {
        "cv-guest-9"
    }
    cur = h.store.cursor()
    persons = cur.execute(
        "SELECT kind, id, person_id FROM identities WHERE property = 'default' ORDER BY id"
    ).fetchall()
    assert {p for _, _, p in persons} == {persons[0][2]}, persons  # one person for all three ids
    assert {i for _, i, _ in persons} == {"tw-guest", "cv-guest-9", "123.456"}
    per_event = cur.execute("SELECT DISTINCT person_id FROM event_persons").fetchall()
    assert len(per_event) == 1


async def test_vendor_ids_are_dropped_from_a_cookieless_event(h):
    set_property(h, "default", 'consent_required = ["analytics"]')
    ids = {"convead_guest_uid": "cv-1"}
    await post(h, [CART], anonymous_id="g", ids=ids, consent={"analytics_storage": "denied"})
    [event] = await h.events()
    assert event.anonymous_id is None and "ids" not in (event.context or {})


@pytest.mark.parametrize("field", ["consent", "context", "ids"])
@pytest.mark.parametrize("value", ["denied", ["analytics_storage", "denied"], 0, True])
async def test_an_envelope_field_that_is_not_an_object_is_a_400(h, field, value):
    # "consent": "denied" was read as no signal: the events stored with consent assumed granted
    r = await post(h, [{"id": "c1", "payload": CART}], status=400, **{field: value})
    assert f'expected "{field}" as an object' in r.json()["error"], r.text
    assert await h.events() == []


@pytest.mark.parametrize(
    ("body", "listed", "unlisted"),
    [
        ('{"key": "nope", "events": []}', 401, 401),
        ('{"key": "KEY", "events": 5}', 400, 403),  # an unlisted origin is refused first
        ("[1, 2", 400, 400),
    ],
)
async def test_an_error_answer_is_readable_by_any_origin(h, body, listed, unlisted):
    """A browser reads an error only with the CORS headers: without them the tracker would
    take a 401, or the 403 of an origin no property lists, for a network error and send the
    batch again and again."""
    set_property(h, "default", 'cors_origins = ["https://shop.example"]')
    text = body.replace("KEY", h.keys()["collect_key"])
    for origin, status in (("https://shop.example", listed), ("https://evil.example", unlisted)):
        r = await h.client.post(
            "/collect", content=text, headers={"Content-Type": "text/plain", "Origin": origin}
        )
        assert r.status_code == status
        assert r.headers.get("access-control-allow-origin") == origin
        assert r.headers["access-control-allow-credentials"] == "true"
        assert r.headers["access-control-expose-headers"] == "Retry-After"


@pytest.mark.parametrize("truncate", [True, False])
async def test_a_failed_payload_keeps_the_ip_as_the_propertys_events_do(h, truncate):
    # with truncate_ip, a valid event kept 127.0.0.0 and a failed payload the whole address
    if truncate:
        set_property(h, "default", "truncate_ip = true")
    bad = {"client_id": "c.1", "events": [{"name": "purchase", "params": {"value": "abc"}}]}
    r = await h.client.post(h.mp(), json=bad)
    assert r.status_code == 204, r.text
    [row] = await h.failed()
    assert row.meta["ip"] == ("203.0.113.0" if truncate else "203.0.113.9"), row.meta  # the harness client
