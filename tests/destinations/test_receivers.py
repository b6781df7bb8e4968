"""The loopback receivers the forwarding tests rely on: they must check what a real one checks."""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from tests.destinations.receivers import (
    Receiver,
    RefuseEvent,
    Reply,
    SegmentReceiver,
    Stall,
    WebhookReceiver,
    receiver,
)
from trackway.destinations import webhook

KEY = "wk_receiver_test"
SECRET = "whsec_receiver_test"
T = 1_796_439_600


def _basic(user: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _batch(*calls: dict[str, object]) -> bytes:
    return json.dumps({"batch": list(calls)}).encode()


def _track(mid: str, **extra: object) -> dict[str, object]:
    return {"type": "track", "event": "Order Completed", "messageId": mid, "anonymousId": "a", **extra}


@pytest.fixture
def segment() -> Iterator[SegmentReceiver]:
    with receiver(SegmentReceiver, KEY) as r:
        yield r


SEGMENT_CASES = [
    ("accepted", "/v1/batch", _basic(KEY), _batch(_track("m1")), 200),
    ("no auth", "/v1/batch", "", _batch(_track("m1")), 401),
    ("wrong key", "/v1/batch", _basic("other"), _batch(_track("m1")), 401),
    ("a password", "/v1/batch", _basic(KEY, "pw"), _batch(_track("m1")), 401),
    ("not base64", "/v1/batch", "Basic %%%", _batch(_track("m1")), 401),
    ("bearer", "/v1/batch", f"Bearer {KEY}", _batch(_track("m1")), 401),
    ("another path", "/v1/track", _basic(KEY), _batch(_track("m1")), 404),
    (
        "over 500 KB",
        "/v1/batch",
        _basic(KEY),
        _batch(*[_track(f"m{i}", p="x" * 1000) for i in range(520)]),
        413,
    ),
    ("a call over 32 KB", "/v1/batch", _basic(KEY), _batch(_track("m1", p="x" * 33_000)), 400),
    ("no messageId", "/v1/batch", _basic(KEY), _batch({"type": "track", "event": "x"}), 400),
    ("no type", "/v1/batch", _basic(KEY), _batch({"messageId": "m1", "event": "x"}), 400),
    ("not JSON", "/v1/batch", _basic(KEY), b"{nope", 400),
    ("batch not an array", "/v1/batch", _basic(KEY), b'{"batch": 7}', 400),
]


@pytest.mark.parametrize(
    ("path", "auth", "body", "status"), [c[1:] for c in SEGMENT_CASES], ids=[c[0] for c in SEGMENT_CASES]
)
def test_segment_receiver_checks(
    segment: SegmentReceiver, path: str, auth: str, body: bytes, status: int
) -> None:
    headers = {"Authorization": auth} if auth else {}
    answer = httpx.post(segment.url + path, content=body, headers=headers)
    assert answer.status_code == status, answer.text
    assert segment.events() == (["m1"] if status == 200 else [])


def test_segment_receiver_dedupes_by_message_id(segment: SegmentReceiver) -> None:
    auth = {"Authorization": _basic(KEY)}
    for body in (
        _batch(_track("m1"), _track("m2")),
        _batch(_track("m2"), _track("m3")),
        _batch(_track("m1")),
    ):
        assert httpx.post(segment.url + "/v1/batch", content=body, headers=auth).status_code == 200
    assert segment.events() == ["m1", "m2", "m3"] and segment.duplicates == 2
    assert len(segment.requests) == 3


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    with receiver(WebhookReceiver, SECRET, lambda: float(T)) as r:
        yield r


def _hook_body(*ids: str) -> bytes:
    return json.dumps({"events": [{"id": i, "name": "purchase"} for i in ids]}).encode()


def _signed(body: bytes, secret: str = SECRET, t: int = T, key: str | None = "k1") -> dict[str, str]:
    headers = {webhook.SIGNATURE_HEADER: webhook.sign(body, secret, t)}
    if key is not None:
        headers[webhook.IDEMPOTENCY_HEADER] = key
    return headers


BODY = _hook_body("e1", "e2")
WEBHOOK_CASES = [
    ("accepted", BODY, _signed(BODY), 200),
    ("another secret", BODY, _signed(BODY, "other-secret"), 401),
    ("signed another body", BODY, _signed(_hook_body("e1")), 401),
    ("too old", BODY, _signed(BODY, t=T - 301), 401),
    ("no signature", BODY, {webhook.IDEMPOTENCY_HEADER: "k1"}, 401),
    ("no idempotency key", BODY, _signed(BODY, key=None), 400),
    ("signed, not JSON", b"{nope", _signed(b"{nope"), 400),
    ("an event without id", b'{"events": [{}]}', _signed(b'{"events": [{}]}'), 400),
]


@pytest.mark.parametrize(
    ("body", "headers", "status"), [c[1:] for c in WEBHOOK_CASES], ids=[c[0] for c in WEBHOOK_CASES]
)
def test_webhook_receiver_checks(
    hook: WebhookReceiver, body: bytes, headers: dict[str, str], status: int
) -> None:
    answer = httpx.post(hook.url + "/hook", content=body, headers=headers)
    assert answer.status_code == status, answer.text
    assert hook.events() == (["e1", "e2"] if status == 200 else [])


def test_webhook_receiver_dedupes_by_idempotency_key(hook: WebhookReceiver) -> None:
    for body, key in ((BODY, "k1"), (BODY, "k1"), (_hook_body("e3"), "k2")):
        assert httpx.post(hook.url, content=body, headers=_signed(body, key=key)).status_code == 200
    assert hook.events() == ["e1", "e2", "e3"] and hook.duplicates == 1


def test_refuse_event_answers_400_only_for_that_event(hook: WebhookReceiver) -> None:
    hook.default = RefuseEvent("e2")
    refused = httpx.post(hook.url + "/hook?token=t0k", content=BODY, headers=_signed(BODY))
    other = _hook_body("e3")
    kept = httpx.post(hook.url + "/hook", content=other, headers=_signed(other, key="k2"))
    assert (refused.status_code, kept.status_code) == (400, 200)
    assert refused.json() == {"error": "event e2 is invalid", "request": "/hook?token=t0k"}
    assert hook.events() == ["e3"]


def test_down_refuses_connections_and_up_listens_on_the_same_port() -> None:
    with Receiver() as r:
        port = r.port
        r.down()
        with pytest.raises(httpx.ConnectError):
            httpx.get(r.url)
        r.up()
        assert r.port == port and httpx.get(r.url).status_code == 200


def test_stop_ends_stalled_connections_and_leaves_no_thread() -> None:
    before = set(threading.enumerate())
    r = Receiver().start()
    r.script(Stall(60.0, Reply(200)))
    outcome: list[BaseException | int] = []

    def get() -> None:
        try:
            outcome.append(httpx.get(r.url, timeout=10).status_code)
        except httpx.HTTPError as exc:
            outcome.append(exc)

    client = threading.Thread(target=get, name="test-client")
    client.start()
    for _ in range(100):
        if r.requests:
            break
        threading.Event().wait(0.02)
    assert len(r.requests) == 1  # the request is in, its answer stalled
    r.stop()  # does not wait the 60 s
    client.join(5)
    assert not client.is_alive()
    [got] = outcome
    assert isinstance(got, httpx.RemoteProtocolError)  # closed without an answer
    assert set(threading.enumerate()) <= before


def test_a_request_that_is_not_http_is_dropped_and_the_receiver_goes_on() -> None:
    with Receiver() as r:
        with socket.create_connection(("127.0.0.1", r.port)) as s:
            s.sendall(b"HELLO\r\n\r\n")
            assert s.recv(100) == b""  # closed without an answer
        assert httpx.get(r.url).status_code == 200
        assert [q.path for q in r.requests] == ["/"]


def test_an_answer_that_raises_is_a_500_and_fails_the_receiver_at_stop() -> None:
    class Broken(Receiver):
        def handle(self, request: object) -> Reply:
            raise KeyError("bug")

    r = Broken().start()
    answer = httpx.get(r.url)
    assert answer.status_code == 500 and "KeyError" in answer.text
    with pytest.raises(AssertionError, match="failed to answer"):
        r.stop()
