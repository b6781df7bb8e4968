"""trackway.destinations.http.Sender against a real loopback receiver that misbehaves."""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    tls_pair,
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
    ("stall of 10 s", Stall(10.0), DeadlineExceeded, TIMEOUT_S, TIMEOUT_S + SLACK_S),
    ("connection reset", Reset(), ConnectionResetError, 0.0, SLACK_S),
    ("not HTTP", Raw(b"SSH-2.0-OpenSSH\r\n\r\n"), http.client.BadStatusLine, 0.0, SLACK_S),
    ("closed before answering", Raw(b""), http.client.RemoteDisconnected, 0.0, SLACK_S),
    (
        "a truncated body",
        Raw(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"),
        http.client.IncompleteRead,
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
    assert answer.status is None and isinstance(answer.error, ConnectionRefusedError)
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


class _AnswerThenClose:
    """Answer (keep-alive, as far as the client can tell), then close the connection:
    a server's idle timeout."""

    def serve(self, receiver: Receiver, request: object, conn: object) -> bool:
        conn.send(Reply(200, b"first").wire())  # type: ignore[attr-defined]
        return False


def test_a_kept_connection_the_server_closed_is_reopened_not_an_error(
    receiver: Receiver, sender: Sender
) -> None:
    receiver.script(_AnswerThenClose(), Normal())
    first = sender(_post(receiver.url))
    deadline = time.monotonic() + 5
    while receiver._connections and time.monotonic() < deadline:  # the server's close reached us
        time.sleep(0.01)
    second = sender(_post(receiver.url))
    assert [(a.status, a.error) for a in (first, second)] == [(200, None), (200, None)]
    assert receiver.connections == 2 and len(receiver.requests) == 2


def test_each_sending_thread_keeps_its_own_connection_and_close_ends_them(receiver: Receiver) -> None:
    sender = Sender(connect_s=1.0, timeout_s=5.0)
    together = threading.Barrier(3)
    answers: list[int | None] = []

    def send_twice() -> None:
        together.wait()
        answers.extend(sender(_post(receiver.url)).status for _ in range(2))

    threads = [threading.Thread(target=send_twice) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [200] * 6 and receiver.connections == 3
    sender.close()
    deadline = time.monotonic() + 5
    while receiver._connections and time.monotonic() < deadline:  # closed by the sender
        time.sleep(0.01)
    assert not receiver._connections


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    return tls_pair(Path(tmp_path_factory.mktemp("tls")))


def test_https_is_verified_kept_alive_and_bounded(tls: tuple[ssl.SSLContext, ssl.SSLContext]) -> None:
    server, client = tls
    with Receiver(tls=server) as r:
        sender = Sender(connect_s=1.0, timeout_s=TIMEOUT_S, ssl_context=client)
        try:
            r.script(Reply(201, b"secure"), Normal(), Trickle(Reply(200, b"late"), rate=5))
            answers = [sender(_post(r.url + "/in")) for _ in range(2)]
            took, trickled = _timed(sender, _post(r.url + "/in"))
        finally:
            sender.close()
        assert r.url.startswith("https://")
        assert [(a.status, a.error) for a in answers] == [(201, None), (200, None)]
        assert r.connections == 1  # kept alive across the three
        assert isinstance(trickled.error, DeadlineExceeded) and took <= TIMEOUT_S + SLACK_S


def test_https_to_an_unknown_authority_is_refused(tls: tuple[ssl.SSLContext, ssl.SSLContext]) -> None:
    server, _ = tls
    with Receiver(tls=server) as r:
        sender = Sender(connect_s=1.0, timeout_s=TIMEOUT_S)  # the system's authorities
        try:
            answer = sender(_post(r.url + "/in"))
        finally:
            sender.close()
        assert answer.status is None and isinstance(answer.error, ssl.SSLCertVerificationError)
        assert r.requests == []


def test_proxy_credentials_and_an_https_tunnel(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    proxy = receiver.url.replace("http://", "http://ops:s%40fe@")
    monkeypatch.setenv("http_proxy", proxy)
    monkeypatch.setenv("https_proxy", proxy)
    receiver.script(Normal(), Reply(407, b"who are you"))
    sender = Sender(connect_s=1.0, timeout_s=TIMEOUT_S)
    try:
        plain = sender(_post("http://hook.example/in?k=1"))
        tunnelled = sender(_post("https://vendor.example:8443/collect"))
    finally:
        sender.close()
    assert plain.status == 200
    assert tunnelled.status is None and "407" in str(tunnelled.error)
    via, connect = receiver.requests
    assert (via.method, via.path, via.params) == ("POST", "http://hook.example/in", {"k": "1"})
    assert (connect.method, connect.path) == ("CONNECT", "vendor.example:8443")
    for request in (via, connect):
        assert request.headers["proxy-authorization"] == "Basic b3BzOnNAZmU="  # ops:s@fe


@pytest.mark.parametrize("url", ["http://127.0.0.1:0/x", "https://", "mailto:a@b.c", "http://h:99999/"])
def test_a_url_that_cannot_be_sent_is_an_error_answer(sender: Sender, url: str) -> None:
    answer = sender(_post(url))
    assert answer.status is None and answer.error is not None


_HEADS = st.sampled_from(
    [
        b"",
        b"HTTP/1.1 200 OK\r\n",
        b"HTTP/1.1 503 x\r\nRetry-After: 2\r\n",
        b"HTTP/1.0 204 \r\n",
        b"HTTP/1.1 1",
    ]
)
_LINES = st.lists(
    st.sampled_from([b"Content-Length: 3", b"Content-Length: -1", b"Transfer-Encoding: chunked", b"X: \xff"])
    | st.binary(max_size=40),
    max_size=6,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(head=_HEADS, lines=_LINES, rest=st.binary(max_size=300))
def test_any_answer_is_an_answer_or_an_error_never_a_raise(
    receiver: Receiver, sender: Sender, head: bytes, lines: list[bytes], rest: bytes
) -> None:
    receiver.script(Raw(head + b"\r\n".join(lines) + b"\r\n\r\n" + rest))
    took, answer = _timed(sender, _post(receiver.url + "/in"))
    assert took <= TIMEOUT_S + SLACK_S
    assert (answer.status is None) == (answer.error is not None)
    assert len(answer.body) <= 64
    after = sender(_post(receiver.url + "/in"))  # the sender goes on
    assert after.status == 200


def test_a_tls_handshake_that_never_ends_is_cut(sender: Sender) -> None:
    """A server that takes the connection and never answers the TLS hello."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"https://127.0.0.1:{silent.getsockname()[1]}/in"
        took, answer = _timed(sender, _post(url))
    assert answer.status is None and isinstance(answer.error, TimeoutError)
    assert took <= TIMEOUT_S + SLACK_S


def test_a_kept_connection_that_breaks_under_a_request_is_tried_once_more_on_a_new_one(
    receiver: Receiver, sender: Sender
) -> None:
    """The server takes the second request on the kept connection and resets it (its idle
    timeout as the request went out): sent again at once on a new connection. A new
    connection that breaks is an error, not tried again."""
    receiver.script(Normal(), Reset(), Normal(), Reset())
    answers = [sender(_post(receiver.url + "/in")) for _ in range(2)]
    assert [(a.status, a.error) for a in answers] == [(200, None), (200, None)]
    assert len(receiver.requests) == 3 and receiver.connections == 2
    sender.close()  # the next request opens a new connection, which the server resets
    failed = sender(_post(receiver.url + "/in"))
    assert failed.status is None and isinstance(failed.error, ConnectionResetError)
    assert len(receiver.requests) == 4


def test_a_connection_reopened_after_close_is_closed_by_the_next_close(receiver: Receiver) -> None:
    sender = Sender(connect_s=1.0, timeout_s=5.0)
    assert sender(_post(receiver.url)).status == 200
    sender.close()
    assert sender(_post(receiver.url)).status == 200  # the thread's connection opens again
    sender.close()
    deadline = time.monotonic() + 5
    while receiver._connections and time.monotonic() < deadline:  # closed by the sender
        time.sleep(0.01)
    assert receiver.connections == 2 and not receiver._connections
