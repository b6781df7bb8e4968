"""trackway.destinations.http.Sender against a real loopback receiver that misbehaves."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from tests.destinations.receivers import (
    Behaviour,
    Normal,
    Raw,
    Receiver,
    Reply,
    Reset,
    Stall,
    Trickle,
    closed_port,
)
from trackway.destinations import retry
from trackway.destinations.base import Outgoing
from trackway.destinations.http import USER_AGENT, DeadlineExceeded, Sender

TIMEOUT_S = 1.0
SLACK_S = 0.8  # how late after timeout_s a cut may come on a busy machine


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.fixture
def sender() -> Iterator[Sender]:
    s = Sender(connect_s=1.0, timeout_s=TIMEOUT_S, max_body=64)
    yield s
    s.close()


def _post(url: str, body: bytes = b'{"events":[]}', **headers: str) -> Outgoing:
    return Outgoing("POST", url, {"Content-Type": "application/json", **headers}, body, ("e1",))


def _timed(sender: Sender, request: Outgoing) -> tuple[float, object]:
    start = time.monotonic()
    answer = sender(request)
    return time.monotonic() - start, answer


def test_200_keeps_status_body_and_lower_case_headers(receiver: Receiver, sender: Sender) -> None:
    receiver.script(Reply(200, b'{"ok":1}', {"X-Request-ID": "r-42", "Retry-After": "3"}))
    answer = sender(_post(receiver.url + "/in?token=abc", b"hello", **{"X-Extra": "1"}))
    assert (answer.status, answer.body, answer.error) == (200, '{"ok":1}', None)
    assert answer.headers["x-request-id"] == "r-42" and answer.headers["retry-after"] == "3"
    assert all(name == name.lower() for name in answer.headers)
    [got] = receiver.requests
    assert (got.method, got.path, got.params, got.body) == ("POST", "/in", {"token": "abc"}, b"hello")
    assert got.headers["x-extra"] == "1" and got.headers["user-agent"] == USER_AGENT
    assert got.headers["content-length"] == "5"


_ANSWER = Reply(200, b"x" * 40)
_HEAD = len(_ANSWER.wire(close=True)) - len(_ANSWER.body)

# (what the receiver does, the error expected, the shortest and longest time it may take)
FAULTS: list[tuple[str, Behaviour, type[BaseException] | tuple[type[BaseException], ...], float, float]] = [
    ("status line at 1 byte/s", Trickle(_ANSWER), DeadlineExceeded, TIMEOUT_S, TIMEOUT_S + SLACK_S),
    # each byte well within a read timeout: only a deadline on the whole exchange cuts it
    ("status line at 5 bytes/s", Trickle(_ANSWER, rate=5), DeadlineExceeded, TIMEOUT_S, TIMEOUT_S + SLACK_S),
    ("body at 1 byte/s", Trickle(_ANSWER, start=_HEAD), DeadlineExceeded, TIMEOUT_S, TIMEOUT_S + SLACK_S),
    ("body at 20 bytes/s", Trickle(_ANSWER, rate=20, start=_HEAD), DeadlineExceeded, TIMEOUT_S, 2.5),
    (
        "stall of 10 s",
        Stall(10.0),
        (DeadlineExceeded, httpx.TimeoutException),
        TIMEOUT_S,
        TIMEOUT_S + SLACK_S,
    ),
    ("connection reset", Reset(), httpx.TransportError, 0.0, SLACK_S),
    ("not HTTP", Raw(b"SSH-2.0-OpenSSH\r\n\r\n"), httpx.TransportError, 0.0, SLACK_S),
    ("closed before answering", Raw(b""), httpx.TransportError, 0.0, SLACK_S),
    (
        "a truncated body",
        Raw(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"),
        httpx.TransportError,
        0.0,
        SLACK_S,
    ),
]


@pytest.mark.parametrize(
    ("behaviour", "error", "least", "most"), [f[1:] for f in FAULTS], ids=[f[0] for f in FAULTS]
)
def test_a_fault_is_an_error_answer_within_the_timeout(
    receiver: Receiver,
    sender: Sender,
    behaviour: Behaviour,
    error: type[BaseException],
    least: float,
    most: float,
) -> None:
    receiver.script(behaviour)
    took, answer = _timed(sender, _post(receiver.url + "/in"))
    assert answer.status is None and isinstance(answer.error, error), answer
    assert least - 0.05 <= took <= most, f"took {took:.2f} s"
    took, after = _timed(sender, _post(receiver.url + "/in"))  # the sender goes on: a new connection
    assert (after.status, after.error) == (200, None)
    assert took < SLACK_S
    assert len(receiver.requests) == 2


def test_a_slow_answer_within_the_timeout_is_kept(receiver: Receiver, sender: Sender) -> None:
    slow = Reply(201, b"abcd")
    assert len(slow.wire(close=True)) < 100
    receiver.script(Trickle(slow, rate=200), Stall(0.3, Reply(202, b"late")))  # each done in < 0.5 s
    answers = [sender(_post(receiver.url)) for _ in range(2)]
    assert [(a.status, a.body, a.error) for a in answers] == [(201, "abcd", None), (202, "late", None)]


def test_a_refused_connection_is_an_error_answer(sender: Sender) -> None:
    took, answer = _timed(sender, _post(closed_port() + "/in"))
    assert answer.status is None and isinstance(answer.error, httpx.ConnectError)
    assert took < SLACK_S


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_not_followed(receiver: Receiver, sender: Sender, status: int) -> None:
    receiver.script(Reply(status, b"moved", {"Location": receiver.url + "/elsewhere"}))
    answer = sender(_post(receiver.url + "/in"))
    assert (answer.status, answer.body, answer.headers["location"]) == (
        status,
        "moved",
        receiver.url + "/elsewhere",
    )
    assert [r.path for r in receiver.requests] == ["/in"]


@pytest.mark.parametrize(("size", "kept"), [(0, 0), (63, 63), (64, 64), (65, 64), (200_000, 64)])
def test_the_body_is_cut_at_max_body(receiver: Receiver, sender: Sender, size: int, kept: int) -> None:
    receiver.script(Reply(400, b"y" * size))
    answer = sender(_post(receiver.url))
    assert (answer.status, answer.body) == (400, "y" * kept)


@pytest.mark.parametrize(("size", "kept"), [(10, 10), (65, 64)])
def test_an_injected_transport_is_used_and_its_body_cut(size: int, kept: int) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, headers={"X-Seen": request.url.path}, content=b"m" * size)

    sender = Sender(transport=httpx.MockTransport(handler), max_body=64)
    try:
        answer = sender(_post("http://hook.example/in"))
    finally:
        sender.close()
    assert (answer.status, answer.body, answer.headers["x-seen"]) == (201, "m" * kept, "/in")


def test_an_answer_that_is_not_utf8_is_kept_readable(receiver: Receiver, sender: Sender) -> None:
    receiver.script(Reply(500, b"\xff\xfeoops"))
    answer = sender(_post(receiver.url))
    assert (answer.status, answer.body) == (500, "\ufffd\ufffdoops")


def test_connections_are_reused_between_requests(receiver: Receiver, sender: Sender) -> None:
    receiver.script(Normal(), Normal(), Normal())
    answers = [sender(_post(receiver.url)) for _ in range(3)]
    assert [a.status for a in answers] == [200, 200, 200]
    assert len(receiver.requests) == 3
    assert receiver.connections == 1  # one connection served all three


def test_a_broken_send_never_raises(sender: Sender) -> None:
    for request in (
        _post("not a url"),
        _post("ftp://127.0.0.1/x"),
        _post("http://[::1"),
        Outgoing("POST", "http://127.0.0.1:1/x", {"Bad\nHeader": "v"}, b"", ()),
    ):
        answer = sender(request)
        assert answer.status is None and answer.error is not None


def test_a_proxy_from_the_environment_is_used_and_bounded(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", receiver.url)
    receiver.script(Trickle(Reply(200, b"via proxy"), rate=5))
    sender = Sender(connect_s=1.0, timeout_s=TIMEOUT_S)
    try:
        took, answer = _timed(sender, _post("http://hook.example/in"))
    finally:
        sender.close()
    assert isinstance(answer.error, DeadlineExceeded) and took <= TIMEOUT_S + SLACK_S
    [got] = receiver.requests
    assert got.path == "http://hook.example/in"  # the absolute form a proxy receives


HOSTILE_ANSWERS = {
    "a 200 KB header": b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 200_000 + b"\r\nContent-Length: 0\r\n\r\n",
    "10,000 headers": b"HTTP/1.1 200 OK\r\n" + b"X-H: 1\r\n" * 10_000 + b"Content-Length: 0\r\n\r\n",
    "a surrogate's bytes in a header": (
        b"HTTP/1.1 503 No\r\nRetry-After: \xed\xa0\x80\xff\r\nContent-Length: 0\r\n\r\n"
    ),
    "Retry-After 1e999": b"HTTP/1.1 429 Slow\r\nRetry-After: 1e999\r\nContent-Length: 0\r\n\r\n",
    "a Content-Length of 10^30": b"HTTP/1.1 200 OK\r\nContent-Length: " + b"1" + b"0" * 30 + b"\r\n\r\nabc",
    "a status of 99999": b"HTTP/1.1 99999 Odd\r\nContent-Length: 0\r\n\r\n",
}


@pytest.mark.parametrize("raw", HOSTILE_ANSWERS.values(), ids=HOSTILE_ANSWERS.keys())
def test_a_hostile_answer_is_an_answer_in_bounded_time_and_a_bounded_verdict(
    receiver: Receiver, sender: Sender, raw: bytes
) -> None:
    receiver.script(Raw(raw))
    took, answer = _timed(sender, _post(receiver.url + "/in"))
    assert took <= TIMEOUT_S + SLACK_S
    assert isinstance(answer, retry.Answer) and len(answer.body) <= 64
    now = datetime.now(UTC)
    verdict = retry.decide(answer, attempt=1, oldest=now, now=now, policy=retry.Policy(), random=lambda: 0.5)
    assert verdict.kind in (retry.DELIVERED, retry.RETRY, retry.DEAD)
    if verdict.kind == retry.RETRY:
        assert 0 <= verdict.delay_s <= retry.Policy().retry_after_cap_s
