"""The live stream (server/live.py): what the loader's batches become, who sees what,
the bounds that keep watchers from costing the loader, and the stream end to end
through a real server's worker."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.server import ADMIN_TOKEN, Server
from trackway.ingest.records import FailedPayload, Outcome, Record, micros
from trackway.model import Commerce, Event
from trackway.server import live
from trackway.server.http import Request

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def record(prop: str, n_events: int = 1, failed: int = 0, **event: Any) -> tuple[Record, Outcome]:
    rec = Record("raw", f"req-{prop}", "/collect", prop, micros(AT), "gtm-ga4")
    out = Outcome()
    for n in range(n_events):
        fields: dict[str, Any] = {"name": "purchase", "dialect": "gtm-ga4", "id": f"{prop}-e{n}", **event}
        out.events.append(Event(**fields))
    for n in range(failed):
        issues = [{"path": "$.ecommerce.value", "code": "TYPE_INVALID", "severity": "error", "message": "x"}]
        out.failed.append(
            FailedPayload(b"{}", "gtm-ga4", [0], msgspec.json.encode(issues), names=[f"bad{n}"])
        )
    return rec, out


def test_a_batch_becomes_one_summary_per_event_and_failed_payload() -> None:
    commerce = Commerce(currency="EUR", revenue=Decimal("16.00"), items=[])
    failed, event = live.newest_first([record("shop", 1, 1, anonymous_id="a1", commerce=commerce)])
    assert event["status"] == "valid" and event["id"] == "shop-e0" and event["amount"] == "16.00 EUR"
    assert event["received_at"] == AT.isoformat() and event["anonymous_id"] == "a1"
    assert failed["status"] == "failed" and failed["id"] == "req-shop/0" and failed["name"] == "bad0"
    assert failed["codes"] == ["TYPE_INVALID"] and failed["problem"] == "$.ecommerce.value: x"
    order = [e["id"] for e in live.newest_first([record("a", 2), record("b", 1, 1)])]
    assert order == ["req-b/0", "b-e0", "a-e1", "a-e0"]


BASE = {
    "property": "shop",
    "status": "valid",
    "name": "purchase",
    "dialect": "gtm-ga4",
    "endpoint": "/collect",
    "anonymous_id": "a1",
    "user_id": "u1",
    "text": "purchase gtm-ga4 /collect a1 u1 t-shirt",
}


@pytest.mark.parametrize(
    ("prop", "filters", "wanted"),
    [
        (None, {}, True),
        ("shop", {}, True),
        ("other", {}, False),
        (None, {"dialect": "gtm-ga4"}, True),
        (None, {"dialect": "convead"}, False),
        (None, {"name": "refund"}, False),
        (None, {"endpoint": "/watch/event"}, False),
        (None, {"status": "failed"}, False),
        (None, {"status": "valid"}, True),
        (None, {"status": "anything"}, True),
        (None, {"person": "u1"}, True),
        (None, {"person": "a1"}, True),
        (None, {"person": "u2"}, False),
        (None, {"q": "T-SHIRT"}, True),
        (None, {"q": "hoodie"}, False),
    ],
)
def test_a_watcher_sees_what_its_filter_names(
    prop: str | None, filters: dict[str, str], wanted: bool
) -> None:
    loop = asyncio.new_event_loop()
    try:
        assert live.Watch(prop, filters, loop).wants(BASE) is wanted
    finally:
        loop.close()


async def _drain(w: live.Watch) -> list[dict[str, Any]]:
    await asyncio.sleep(0)  # the hub hands batches over with call_soon_threadsafe
    got = []
    while not w.queue.empty():
        got.append(msgspec.json.decode(w.queue.get_nowait()))
    return got


@given(
    filters=st.dictionaries(
        st.sampled_from([*live.FILTERS, "property", "other"]), st.text(max_size=50), max_size=8
    ),
    text=st.text(max_size=200),
)
@settings(max_examples=200, deadline=None)
def test_any_filter_a_client_sends_is_a_plain_yes_or_no(filters: dict[str, str], text: str) -> None:
    loop = asyncio.new_event_loop()
    try:
        w = live.Watch(None, filters, loop)
        assert isinstance(w.wants({**BASE, "text": text, "name": text}), bool)
    finally:
        loop.close()


@pytest.mark.anyio
async def test_a_watcher_gets_at_most_a_bounded_slice_of_each_batch() -> None:
    hub = live.Hub()
    w = hub.watch(None, {})
    hub.publish([record("shop", live.PER_BATCH + 70)])
    (batch,) = await _drain(w)
    assert len(batch["events"]) == live.PER_BATCH and batch["skipped"] == 70
    assert batch["events"][-1]["id"] == f"shop-e{live.PER_BATCH + 69}"  # the newest are kept


@pytest.mark.anyio
async def test_a_rare_filter_looks_at_a_bounded_share_of_a_big_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    made = 0
    real = live._searchable

    def counted(entry: dict[str, Any]) -> dict[str, Any]:
        nonlocal made
        made += 1
        return real(entry)

    monkeypatch.setattr(live, "_searchable", counted)
    hub = live.Hub()
    rare, every = hub.watch(None, {"name": "refund"}), hub.watch(None, {})
    hub.publish([record("shop", live.LOOK_AT * 5)])
    assert made == live.LOOK_AT  # not the 10,000 events of the batch
    assert await _drain(rare) == []
    (batch,) = await _drain(every)
    assert batch["skipped"] == live.LOOK_AT * 5 - live.PER_BATCH


@pytest.mark.anyio
async def test_a_watcher_that_does_not_read_loses_batches_not_memory() -> None:
    hub = live.Hub()
    w = hub.watch("shop", {})
    for _ in range(live.QUEUE + 5):
        hub.publish([record("shop")])
    await asyncio.sleep(0)
    assert w.queue.qsize() == live.QUEUE and w.dropped == 5


def test_nobody_watching_costs_the_loader_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_: Any) -> Any:
        raise AssertionError("summaries made with no watcher")

    monkeypatch.setattr(live, "newest_first", boom)

    def batches() -> Iterator[tuple[Record, Outcome]]:
        raise AssertionError("the batch was read with no watcher")
        yield  # pragma: no cover

    live.Hub().publish(batches())


@pytest.mark.anyio
async def test_a_failing_watcher_never_stops_the_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    hub = live.Hub()
    hub.watch(None, {})
    monkeypatch.setattr(live, "newest_first", lambda *_: 1 / 0)
    hub.publish([record("shop")])  # does not raise


@pytest.mark.anyio
async def test_watchers_are_capped() -> None:
    hub = live.Hub()
    for _ in range(live.MAX_WATCHERS):
        hub.watch(None, {})
    with pytest.raises(live.HttpError) as err:
        hub.watch(None, {})
    assert err.value.status == 503


def fake_request(query: bytes, leave: asyncio.Event) -> Request:
    async def receive() -> dict[str, Any]:
        await leave.wait()
        return {"type": "http.disconnect"}

    return Request(
        {"type": "http", "method": "GET", "path": "/api/live", "query_string": query, "headers": []}, receive
    )


@pytest.mark.anyio
async def test_a_property_scope_streams_its_property_only() -> None:
    hub, leave = live.Hub(), asyncio.Event()
    with pytest.raises(live.HttpError) as err:
        await live.stream(hub, fake_request(b"property=other", leave), "shop", _ignore)
    assert err.value.status == 403
    sent: list[bytes] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message.get("body", b""))

    task = asyncio.ensure_future(live.stream(hub, fake_request(b"", leave), "shop", send))
    while not hub.watchers:
        await asyncio.sleep(0.01)
    hub.publish([record("other"), record("shop")])
    while not any(b.startswith(b"data: ") for b in sent):
        await asyncio.sleep(0.01)
    leave.set()
    await asyncio.wait_for(task, 5)
    data = [msgspec.json.decode(b[6:]) for b in sent if b.startswith(b"data: ")]
    assert [e["property"] for d in data for e in d["events"]] == ["shop"]
    assert not hub.watchers  # the watcher left with the client


async def _ignore(message: dict[str, Any]) -> None:
    return None


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = Server(tmp_path_factory.mktemp("live") / "data", workers=1)
    s.start()
    yield s
    s.close()


def test_an_event_acknowledged_reaches_a_watcher_through_the_worker(server: Server) -> None:
    got: list[dict[str, Any]] = []
    opened = threading.Event()

    def watch() -> None:
        headers = {"authorization": f"Bearer {ADMIN_TOKEN}"}
        with (
            contextlib.suppress(httpx.HTTPError),
            httpx.stream("GET", f"{server.url}/api/live", headers=headers, timeout=20) as r,
        ):
            assert r.headers["content-type"].startswith("text/event-stream")
            opened.set()
            for line in r.iter_lines():
                if line.startswith("data: "):
                    got.extend(msgspec.json.decode(line[6:])["events"])
                    return

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    assert opened.wait(20)
    time.sleep(0.3)  # the store's hub has the watcher
    k = server.keys()
    sent = time.monotonic()
    r = httpx.post(
        f"{server.url}/watch/event",
        data={
            "app_key": k["convead_app_key"],
            "visitor_uid": "",
            "guest_uid": "g-live",
            "data": msgspec.json.encode({"type": "view_product", "properties": {"product_id": "1"}}).decode(),
        },
    )
    assert r.status_code == 200, r.text
    thread.join(15)
    assert [e["dialect"] for e in got] == ["convead"] and got[0]["anonymous_id"] == "g-live"
    assert time.monotonic() - sent < 10


@pytest.mark.anyio
async def test_a_relay_ends_its_stream_when_the_worker_stops() -> None:
    from types import SimpleNamespace

    from trackway.server import gate

    stop = asyncio.Event()
    sent: list[dict[str, Any]] = []

    async def endless(request: Request, send: Any, scope: str) -> int:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await asyncio.sleep(3600)
        return 200

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    c = SimpleNamespace(stream=endless, streams=0, stopping=stop.is_set)
    relay = gate.relay(c, fake_request(b"", asyncio.Event()), send, "*", lambda: True)  # type: ignore[arg-type]
    task = asyncio.ensure_future(relay)
    await asyncio.sleep(0.2)
    assert not task.done() and c.streams == 1
    stop.set()
    assert await asyncio.wait_for(task, 5) == 200
    assert sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False} and c.streams == 0


@pytest.mark.anyio
async def test_a_relay_ends_the_stream_cleanly_when_the_store_goes_away() -> None:
    from trackway.server import gate

    async def body() -> Any:
        yield b"data: {}\n\n"
        raise httpx.ReadError("the store process stopped")

    client = httpx.AsyncClient(
        transport=httpx.MockTransport(lambda request: httpx.Response(200, content=body())),
        base_url="http://store",
    )
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    status = await gate.client_stream(client)(fake_request(b"", asyncio.Event()), send, "*")
    assert status == 200
    assert [m.get("body") for m in sent[1:]] == [b"data: {}\n\n", b""]
    assert sent[-1]["more_body"] is False
    await client.aclose()


def _session_request(cookie: str, leave: asyncio.Event) -> Request:
    request = fake_request(b"", leave)
    request.scope["headers"] = [(b"cookie", f"tw_session={cookie}".encode())]
    return request


def _end(how: str, c: Any, cookie: str) -> None:
    """End the session of ``cookie`` as ``how`` says."""
    from trackway import config as configuration

    if how == "signed out":
        c.sessions.revoke(cookie)
    elif how == "token changed":
        path, old = c.config.path, c.config.server["admin_token"]
        path.write_text(path.read_text().replace(old, "twa_a_new_one_after_the_old"))
        c.config = configuration.load(path)
    # "expired": the session was made to last a second


@pytest.mark.anyio
@pytest.mark.parametrize("how", ["signed out", "expired", "token changed"])
async def test_a_relay_ends_when_its_session_ends(tmp_path: Any, how: str) -> None:
    """A stream opened with a session stops within a second or two of the session's end
    (it was checked only when the stream opened: a signed-out tab kept receiving)."""
    from types import SimpleNamespace

    from trackway import config as configuration
    from trackway.server import gate
    from trackway.server.sessions import Sessions

    path = tmp_path / "trackway.toml"
    configuration.add_property(path, "shop", "EUR")
    configuration.set_server(path, "admin_token", "twa_instance_token_for_relays")
    cfg = configuration.load(path)
    sessions = Sessions(tmp_path)
    cookie = sessions.issue(cfg.server["admin_token"], 1 if how == "expired" else 60)
    sent: list[dict[str, Any]] = []

    async def endless(request: Request, send: Any, scope: str) -> int:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        while True:
            await send({"type": "http.response.body", "body": b": keep-alive\n\n", "more_body": True})
            await asyncio.sleep(0.05)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    c = SimpleNamespace(stream=endless, streams=0, stopping=lambda: False, sessions=sessions, config=cfg)
    request = _session_request(cookie, asyncio.Event())
    assert gate.authorize(c, request) == ("*", cookie)  # type: ignore[arg-type]
    task = asyncio.ensure_future(
        gate.relay(c, request, send, "*", lambda: gate.still_allowed(c, request, "*", cookie))  # type: ignore[arg-type]
    )
    await asyncio.sleep(0.3)
    assert not task.done() and c.streams == 1
    _end(how, c, cookie)
    ended = time.monotonic()
    assert await asyncio.wait_for(task, 5) == 200
    assert time.monotonic() - ended < 3  # an expired session: within a second of its expiry
    assert sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False} and c.streams == 0
    with pytest.raises(live.HttpError) as refused:  # and its reconnection is refused, saying why
        gate.authorize(c, request)  # type: ignore[arg-type]
    words = {"signed out": "was signed out", "expired": "has expired", "token changed": "changed or removed"}
    assert refused.value.status == 401 and words[how] in str(refused.value)


def test_signing_out_ends_a_live_stream_of_that_session(server: Server) -> None:
    """Through a real worker: a stream of a session stops once the session signs out
    (a tab left open on the live page kept receiving events after sign-out)."""
    client = httpx.Client(base_url=server.url, timeout=20)
    r = client.post("/signin", json={"token": ADMIN_TOKEN})
    assert r.status_code == 200, r.text
    csrf = r.json()["csrf"]
    opened, closed = threading.Event(), threading.Event()

    def watch() -> None:
        with contextlib.suppress(httpx.HTTPError), client.stream("GET", "/api/live") as stream:
            assert stream.status_code == 200
            opened.set()
            for _ in stream.iter_raw():
                pass
        closed.set()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    assert opened.wait(20)
    time.sleep(0.5)
    assert not closed.is_set()
    cookie = {"cookie": f"tw_session={client.cookies['tw_session']}"}
    other = httpx.Client(base_url=server.url, timeout=20)  # another tab of the same browser
    assert other.post("/signout", headers={"x-csrf-token": csrf, **cookie}).status_code == 204
    signed_out = time.monotonic()
    assert closed.wait(10), "the stream went on after its session signed out"
    assert time.monotonic() - signed_out < 3
    again = other.get("/api/live", headers=cookie)
    assert again.status_code == 401 and "signed out" in again.json()["error"]
    thread.join(5)
    client.close()
    other.close()
