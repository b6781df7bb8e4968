"""Identity, consent, privacy and commerce state, through the HTTP endpoints (issue 4)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from trackway.privacy.pii import md5_hex, sha256_hex
from trackway.store.base import Query

pytestmark = pytest.mark.anyio


def gtm(name, **ecommerce):
    return {"event": name, "ecommerce": ecommerce} if ecommerce else {"event": name}


async def collect(h, events, anon=None, user=None, prop="default", **envelope):
    body = {"key": h.keys(prop)["collect_key"], "events": events, **envelope}
    if anon:
        body["anonymous_id"] = anon
    if user:
        body["user_id"] = user
    r = await h.client.post("/collect", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def person_events(h, person_id):
    cur = h.store.cursor()
    return cur.execute(
        "SELECT name FROM event_persons WHERE person_id = ? ORDER BY seq", [person_id]
    ).fetchall()


def set_property(h, prop, text):
    path = h.cfg.path
    path.write_text(path.read_text().replace(f"[properties.{prop}]\n", f"[properties.{prop}]\n{text}\n"))
    h.collector._next_check = 0


TEE = {"item_id": "tee", "item_name": "Tee", "price": 10, "quantity": 2}


async def test_a_guest_browses_logs_in_and_buys_one_person_every_event(h):
    await collect(
        h,
        [gtm("view_item_list", items=[TEE]), gtm("add_to_cart", currency="EUR", value=20, items=[TEE])],
        anon="g1",
    )
    await collect(h, [{"event": "login"}], anon="g1", user="alice")
    await collect(
        h,
        [gtm("purchase", transaction_id="T1", currency="EUR", value=20, items=[TEE])],
        anon="g1",
        user="alice",
    )
    await h.load()
    [person] = h.store.identity("alice")
    assert {i["id"] for i in person["ids"]} == {"g1", "alice"}
    assert person["events"] == {"view_item_list": 1, "add_to_cart": 1, "login": 1, "purchase": 1}
    assert [n for (n,) in person_events(h, person["person_id"])] == [
        "view_item_list",
        "add_to_cart",
        "login",
        "purchase",
    ]
    [link] = person["links"]
    assert (link["anonymous_id"], link["user_id"]) == ("g1", "alice")
    [order] = h.store.state_rows("orders")
    assert (order["person_id"], order["value"]) == (person["person_id"], Decimal("20"))
    [cart] = h.store.state_rows("carts")
    assert (cart["status"], cart["transaction_id"]) == ("converted", "T1")


async def test_two_users_on_one_device_stay_two_people_with_a_conflict(h):
    ca = h.ca()
    for user in ("alice", "bob"):
        body = {
            "event_name": "login",
            "user": {
                "id": user,
                "consistent_anonymous_id": "shared-device",
                "email": f"{user}@example.com",
                "consent_categories": [1],
            },
            "context": {"event_id": f"login-{user}", "event_timestamp": 1_763_900_000_000},
        }
        assert (await h.client.post(ca, json=body)).status_code == 200
    await h.load()
    alice, bob = h.store.identity("alice")[0], h.store.identity("bob")[0]
    assert alice["person_id"] != bob["person_id"]
    assert [(c["user_id"], c["other_user_id"]) for c in alice["conflicts"]] == [("alice", "bob")]
    assert {i["id"] for i in bob["ids"]} == {"bob"}


async def test_a_partial_refund_lowers_net_revenue_by_exactly_the_refunded_items(h):
    cap = {"item_id": "cap", "item_name": "Cap", "price": 7.5, "quantity": 1}
    await collect(
        h, [gtm("purchase", transaction_id="T2", currency="EUR", value=27.5, items=[TEE, cap])], anon="g2"
    )
    await collect(
        h,
        [gtm("refund", transaction_id="T2", currency="EUR", items=[{"item_id": "tee", "quantity": 1}])],
        anon="g2",
    )
    await h.load()
    [row] = h.store.revenue("default")
    assert (row["gross"], row["refunds"], row["net"]) == (Decimal("27.5"), Decimal("10"), Decimal("17.5"))


async def test_a_pending_order_is_out_of_default_revenue_and_in_on_request(h):
    base = {
        "type": "online",
        "payment_method": "card",
        "revenue": 10,
        "value": 12,
        "currency": "EUR",
        "user": {"id": "u5", "consistent_anonymous_id": "g5", "consent_categories": [1]},
    }
    item = {"id": "SKU", "quantity": 1, "product": {"id": "p", "name": "Tee", "price": 10}}
    for n, status in enumerate(["pending", "in_progress", "canceled"]):
        body = {
            "event_name": "purchase",
            "id": f"O{n}",
            "status": status,
            "items": [item],
            **base,
            "context": {"event_id": f"p{n}", "event_timestamp": 1_763_900_000_000},
        }
        assert (await h.client.post(h.ca(), json=body)).status_code == 200
    await h.load()
    # gross is each order's revenue (10), not Commanders Act's value (12, tax and shipping included)
    assert [(r["orders"], r["gross"]) for r in h.store.revenue("default")] == [(1, Decimal("10"))]
    assert [
        (r["orders"], r["gross"]) for r in h.store.revenue("default", include=("pending", "canceled"))
    ] == [(3, Decimal("30"))]
    # an order updated to canceled after its purchase leaves the default sum
    body = {
        "event_name": "purchase",
        "id": "O1",
        "status": "canceled",
        "items": [item],
        **base,
        "context": {"event_id": "p1-update", "event_timestamp": 1_763_900_100_000},
    }
    assert (await h.client.post(h.ca(), json=body)).status_code == 200
    await h.load()
    assert h.store.revenue("default") == []
    history = [r for r in h.store.state_rows("order_history") if r["transaction_id"] == "O1"]
    assert [r["status"] for r in history] == ["in_progress", "canceled"]


async def test_a_cart_built_from_deltas_equals_the_update_cart_that_follows(h):
    deltas = [
        ["event", "add_to_cart", {"product_id": "1", "qnt": 2, "price": 12.5, "product_name": "Mug"}],
        ["event", "add_to_cart", {"product_id": "2", "qnt": 1, "price": 30}],
        ["event", "remove_from_cart", {"product_id": "1", "qnt": 1}],
    ]
    await collect(h, deltas, anon="g6", dialect="convead")
    await h.load()
    [built] = h.store.state_rows("carts")
    snapshot = [
        "event",
        "update_cart",
        {"items": [{"product_id": "1", "qnt": 1, "price": 12.5}, {"product_id": "2", "qnt": 1, "price": 30}]},
    ]
    await collect(h, [snapshot], anon="g6", dialect="convead")
    await h.load()
    [sent] = h.store.state_rows("carts")

    def lines(c):
        return {k: (v["quantity"], Decimal(str(v["price"]))) for k, v in json.loads(c["lines"]).items()}

    assert lines(built) == lines(sent) == {"1": (1, Decimal("12.5")), "2": (1, Decimal("30"))}
    assert built["value"] == sent["value"] == Decimal("42.5")


async def test_an_event_without_analytics_consent_is_stored_with_no_identifier(h):
    set_property(
        h,
        "default",
        'consent_required = ["analytics"]\nconsent_categories = { "1" = "analytics", "3" = "marketing" }',
    )
    await collect(
        h,
        [
            ["consent", "default", {"analytics_storage": "denied", "ad_storage": "denied"}],
            {"event": "page_view", "page_type": "home"},
            ["consent", "update", {"analytics_storage": "granted"}],
            {"event": "search", "search_term": "tee"},
        ],
        anon="g7",
        user="carol",
    )
    ca = {
        "event_name": "search",
        "search_term": "x",
        "user": {
            "id": "dave",
            "consistent_anonymous_id": "g8",
            "email": "dave@example.com",
            "consent_categories": [3],
        },
        "context": {"event_id": "c-1", "event_timestamp": 1_763_900_000_000},
    }
    assert (await h.client.post(h.ca(), json=ca)).status_code == 200
    events = {e.name + ("-ca" if e.dialect == "commanders-act" else ""): e for e in await h.events("default")}
    cookieless = events["page_view"]
    assert (cookieless.anonymous_id, cookieless.user_id, cookieless.user) == (None, None, None)
    assert cookieless.consent["cookieless"] is True and cookieless.consent["purposes"]["analytics"] is False
    assert cookieless.context["ip"] == "203.0.113.0"  # truncated
    consented = events["search"]
    assert (consented.anonymous_id, consented.user_id) == ("g7", "carol")
    no_analytics = events["search-ca"]  # category 3 is marketing only
    assert (no_analytics.user_id, no_analytics.user) == (None, None)
    assert h.store.identity("dave") == []


async def test_server_side_hashes_and_the_hash_policy(h):
    set_property(h, "default", 'identifiers = "hash"')
    ca = {
        "event_name": "sign_up",
        "method": "email",
        "user": {
            "id": "erin",
            "consistent_anonymous_id": "g9",
            "email": "Erin@Example.com",
            "phone": "+33612345678",
            "consent_categories": [1],
        },
        "context": {"event_id": "s-1", "event_timestamp": 1_763_900_000_000},
    }
    assert (await h.client.post(h.ca(), json=ca)).status_code == 200
    [event] = await h.events("default")
    assert event.user == {
        "email_md5": md5_hex("erin@example.com"),
        "email_sha256": sha256_hex("erin@example.com"),
        "phone_md5": "60dd761f55cb17f0532c9fb1679e8ddd",
        "phone_sha256": "42d573cfc315801d4cd8eddd5416b416a0bf298b9b9e12d6b07442c91db42bd8",
    }


async def test_after_forget_no_table_and_no_export_holds_the_persons_identifiers(h):
    email, phone = "frank@example.com", "+33698765432"
    user = {
        "id": "frank-42",
        "consistent_anonymous_id": "dev-frank",
        "email": email,
        "phone": phone,
        "firstname": "Frank",
        "consent_categories": [1],
    }
    for n, name in enumerate(["login", "search"]):
        body = {
            "event_name": name,
            "search_term": f"gift for {email}",
            "user": user,
            "context": {"event_id": f"f{n}", "event_timestamp": 1_763_900_000_000 + n},
        }
        assert (await h.client.post(h.ca(), json=body)).status_code == 200
    await collect(h, [gtm("add_to_cart", currency="EUR", value=20, items=[TEE])], anon="dev-frank")
    await collect(
        h,
        [gtm("purchase", transaction_id="TF", currency="EUR", value=20, items=[TEE])],
        anon="dev-frank",
        user="frank-42",
    )
    bad = {
        "event_name": "sign_up",
        "user": {**user, "email": "frank@example.com", "phone": "not a phone"},
        "context": {"event_id": "bad", "event_timestamp": 1},
    }
    assert (await h.client.post(h.ca(), json=bad)).status_code == 200  # invalid: stored in failed_events
    await collect(h, [{"event": "page_view"}], anon="someone-else")
    await h.load()
    assert h.store.failed(query=Query())
    counts = {
        t: h.store.cursor().execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
        for t in ("events", "orders", "carts")
    }
    report = h.store.forget("frank-42", None)
    assert report["people"] == 1 and report["events"] == 4 and report["failed_events"] == 1
    secrets_ = {"frank-42", "dev-frank", email, phone, "Frank"}  # the test client's IP is everyone's here
    secrets_ |= {md5_hex(email), sha256_hex(email), md5_hex(phone), sha256_hex(phone)}
    cur = h.store.cursor()
    for (table,) in cur.execute("SELECT table_name FROM information_schema.tables").fetchall():
        rows_ = cur.sql(f"SELECT * FROM {table}").to_arrow_table().to_pylist()
        text = json.dumps(
            rows_, default=lambda v: v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
        )
        assert not [s for s in secrets_ if s in text], table
    assert {
        t: cur.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in ("events", "orders", "carts")
    } == counts
    assert h.store.identity("someone-else")  # other people are untouched
    exported = [h.store.page(t, Query(limit=1000), None) for t in ("events", "failed_events")]
    assert not [s for s in secrets_ if s in json.dumps(exported, default=str)]
    [forgotten] = {
        e.anonymous_id
        for e in await h.events("default")
        if e.anonymous_id and e.anonymous_id.startswith("forgotten-")
    }
    assert (
        len(person_events(h, h.store.identity(forgotten)[0]["person_id"])) == 4
    )  # still one person, counted
