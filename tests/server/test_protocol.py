"""Requests that would cost a worker unbounded resources, against a real server.

Heads over the limits are answered 431/414 and closed without being buffered; slow
clients (a partial head, a stalled body, a connection that sends nothing) are closed
after the timeouts; 5,000 of them do not keep others from being answered; past
``max_connections`` the connections waiting longest are closed first."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import resource
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from uvicorn.server import ServerState

from tests.support.asgi import http_scope
from tests.support.server import Server, wait_for
from trackway import settings
from trackway.server import protocol
from trackway.server.protocol import GuardedProtocol, Limits, worker_config

HEADER_TIMEOUT = 6  # long enough to make the normal requests while the slow ones are held
SLOW = 5_000


def _fds(needed: int) -> int:
    """Raise this process's descriptor limit; how many slow connections it allows (at most ``needed``)."""
    soft = protocol.raise_fd_limit()
    return max(0, min(needed, soft - 200))


@contextlib.contextmanager
def guarded_server(root: Path, workers: int = 2, **server: int) -> Iterator[Server]:
    """A ``trackway serve`` with ``server`` settings added to its [server] table."""
    srv = Server(root / "data", workers=workers)
    config = srv.data / "trackway.toml"
    extra = "".join(f"{k} = {v}\n" for k, v in server.items())
    config.write_text(config.read_text().replace("[server]\n", "[server]\n" + extra, 1))
    try:
        srv.start()
        yield srv
    finally:
        srv.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    _fds(SLOW)  # the server inherits the raised soft limit; its workers raise theirs too
    with guarded_server(
        tmp_path_factory.mktemp("guarded"),
        header_timeout_seconds=HEADER_TIMEOUT,
        body_timeout_seconds=2,
        keep_alive_seconds=2,
    ) as srv:
        yield srv


def address(srv: Server) -> tuple[str, int]:
    host, port = srv.url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def exchange(srv: Server, head: bytes, *, chunk: bytes = b"", total: int = 0, timeout: float = 30) -> bytes:
    """Send ``head``, then ``chunk`` repeatedly up to ``total`` bytes unless the server answers
    (or closes) first, then ``\\r\\n\\r\\n``; what the server answers until it closes."""
    with socket.create_connection(address(srv), timeout=timeout) as s:
        try:
            s.sendall(head)
            sent = 0
            while sent < total and not select.select([s], [], [], 0)[0]:
                s.sendall(chunk)
                sent += len(chunk)
            s.sendall(b"\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed on us after its answer, which is still to read
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            while data := s.recv(65536):
                answer += data
        return answer


def status_and_body(answer: bytes) -> tuple[int, Any]:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 "), f"expected an HTTP answer, got {answer[:200]!r}"
    return int(head.split()[1]), json.loads(body) if body else None


KB = 1024
GET = b"GET /openapi.json HTTP/1.1\r\nHost: t\r\n"
BIG_HEAD = f"expected a request line and headers of at most {16 * KB} bytes"
# (name, head, chunk sent repeatedly, total bytes of chunks, status, what "error" holds)
HEADS: list[tuple[str, bytes, bytes, int, int, str]] = [
    ("1 MB header in chunks", GET + b"X-Big: ", b"a" * 16 * KB, 1024 * KB, 431, BIG_HEAD),
    ("200 MB header", GET + b"X-Big: ", b"a" * 64 * KB, 200 * 1024 * KB, 431, BIG_HEAD),
    ("100 kB header at once", GET + b"X-Big: " + b"a" * 100 * KB, b"", 0, 431, BIG_HEAD),
    ("many small headers", GET + b"".join(b"X-%d: 1\r\n" % n for n in range(2000)), b"", 0, 431, BIG_HEAD),
    (
        "101 headers",
        GET + b"".join(b"X-%d: 1\r\n" % n for n in range(100)),
        b"",
        0,
        431,
        "at most 100 header fields",
    ),
    (
        "9 kB URL",
        b"GET /openapi.json?q=" + b"a" * 9 * KB + b" HTTP/1.1\r\nHost: t\r\n",
        b"",
        0,
        414,
        "URL of at most",
    ),
]


@pytest.mark.parametrize(
    ("head", "chunk", "total", "status", "error"), [c[1:] for c in HEADS], ids=[c[0] for c in HEADS]
)
def test_a_head_over_the_limits_is_refused_and_closed(server, head, chunk, total, status, error):
    got, body = status_and_body(exchange(server, head, chunk=chunk, total=total))
    assert got == status, f"expected {status}, got {got}: {body}"
    assert error in body["error"], f"expected the reason to say {error!r}, got {body}"
    assert server.http.get(f"{server.url}/openapi.json").status_code == 200, "the worker stopped serving"


@pytest.mark.parametrize(
    "head",
    [
        GET + b"X-Big: " + b"a" * 15 * KB,
        GET + b"".join(b"X-%d: 1\r\n" % n for n in range(98)),
        b"GET /openapi.json?q=" + b"a" * 7 * KB + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n",
    ],
    ids=["15 kB header", "100 headers", "7 kB URL"],
)
def test_a_head_within_the_limits_is_served(server, head):
    got, body = status_and_body(exchange(server, head + b"Connection: close\r\n"))
    assert got == 200, f"expected 200 for a head within the limits, got {got}: {body}"


def closed_by_server(s: socket.socket) -> bool:
    """True when the server closed ``s`` (EOF or reset); False while it is open and silent."""
    try:
        return s.recv(4096) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def open_slow(srv: Server, n: int, head: bytes, timeout: float = 60) -> list[socket.socket]:
    """``n`` non-blocking connections, each having sent ``head`` (a partial request)."""
    socks: list[socket.socket] = []
    pending: dict[int, socket.socket] = {}
    poller = select.epoll()
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            socks.append(s)
            code = s.connect_ex(address(srv))
            assert code in (0, errno.EINPROGRESS), f"expected to connect, got {errno.errorcode.get(code)}"
            pending[s.fileno()] = s
            poller.register(s, select.EPOLLOUT)
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            for fd, _ in poller.poll(1.0):
                s = pending.pop(fd)
                poller.unregister(fd)
                s.send(head)
        assert not pending, f"expected {n} connections within {timeout} s, {len(pending)} never connected"
    except BaseException:
        for s in socks:
            s.close()
        raise
    finally:
        poller.close()
    return socks


def wait_closed(socks: list[socket.socket], timeout: float, what: str) -> None:
    left = list(socks)

    def all_closed() -> bool:
        left[:] = [s for s in left if not closed_by_server(s)]
        return not left

    try:
        wait_for(all_closed, timeout, what)
    except AssertionError:
        raise AssertionError(f"{len(left)} of {len(socks)} still open: expected {what}") from None


def mp_url(srv: Server) -> str:
    keys = srv.keys()
    query = f"measurement_id={keys['ga4_measurement_id']}&api_secret={keys['ga4_api_secret']}"
    return f"{srv.url}/mp/collect?{query}"


def test_5000_slow_clients_do_not_stop_others_and_are_closed_after_the_timeout(server):
    n = _fds(SLOW)
    if n < 1000:
        pytest.skip(f"the descriptor limit allows {n} connections; this test needs 1,000 or more")
    url = mp_url(server)
    body = {"client_id": "slow.1", "events": [{"name": "page_view"}]}
    slow = open_slow(server, n, b"POST /mp/collect HTTP/1.1\r\nHost: t\r\nX-Partial: ")
    try:
        with httpx.Client(timeout=30) as client:
            statuses = [
                client.post(url, json=body, headers={"connection": "close"}).status_code for _ in range(10)
            ]
        assert statuses == [204] * 10, (
            f"expected normal requests answered while {n} clients are slow, got {statuses}"
        )
        wait_closed(slow, HEADER_TIMEOUT + 60, f"the {n} slow clients closed after {HEADER_TIMEOUT} s")
    finally:
        for s in slow:
            s.close()


SLOWS = [
    ("nothing sent", b""),
    ("half a head", b"POST /mp/collect HTTP/1.1\r\nHost: t\r\n"),
    ("half a head after a request", b"GET /openapi.json HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost"),
    (
        "a stalled body",
        b'POST /mp/collect?{query} HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n{{"client',
    ),
]


@pytest.mark.parametrize("head", [c[1] for c in SLOWS], ids=[c[0] for c in SLOWS])
def test_a_slow_client_is_closed_and_nothing_is_stored(server, head):
    query = mp_url(server).partition("?")[2]
    before = closed_by_sweeper(server)
    [s] = open_slow(server, 1, head.replace(b"{query}", query.encode()).replace(b"{{", b"{"))
    try:
        wait_closed([s], HEADER_TIMEOUT + 30, "a slow client closed after the timeout")
    finally:
        s.close()
    if b"\r\n\r\nGET" not in head:  # after a served request, uvicorn's keep-alive timer may close it first
        # Counted in /metrics (workers publish their snapshot once a second).
        wait_for(lambda: closed_by_sweeper(server) > before, 30, "the closure counted in /metrics")


def closed_by_sweeper(srv: Server) -> float:
    """trackway_connections_closed_total for the timeouts, over every worker."""
    text = srv.http.get(f"{srv.url}/metrics").text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("trackway_connections_closed_total{") and "_timeout" in line
    )


def test_past_max_connections_the_longest_waiting_are_closed_first(tmp_path):
    if _fds(400) < 400:
        pytest.skip("the descriptor limit allows fewer than 400 connections")
    with guarded_server(tmp_path, workers=1, max_connections=100, header_timeout_seconds=600) as srv:
        first = open_slow(srv, 60, b"GET / HTTP/1.1\r\n")
        later = open_slow(srv, 60, b"GET / HTTP/1.1\r\n")
        try:
            assert srv.http.get(f"{srv.url}/openapi.json").status_code == 200, (
                "expected a normal request served"
            )
            wait_closed(first[:15], 30, "the connections waiting longest closed first")
            still = sum(not closed_by_server(s) for s in later)
            assert still == len(later), (
                f"expected the newest connections kept, {len(later) - still} were closed"
            )
        finally:
            for s in first + later:
                s.close()


def test_worker_config_applies_the_settings():
    server = {s.name: s.default for s in settings.SERVER} | {"max_connections": 50, "keep_alive_seconds": 3}
    config = worker_config(lambda *a: None, server)
    assert issubclass(config.http, GuardedProtocol), f"expected the guarded protocol, got {config.http}"
    assert config.http.limits == Limits(16 * 1024, 8 * 1024, 100, 10.0, 10.0, 50)
    assert (config.timeout_keep_alive, config.limit_concurrency, config.ws) == (3, 51, "none")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert soft == hard or hard == resource.RLIM_INFINITY, (
        f"expected the soft limit raised to {hard}, got {soft}"
    )


# -- the protocol in process, on a fake transport ------------------------------------------------


class FakeTransport:
    def __init__(self) -> None:
        self.written = b""
        self.closed = False
        self.eof = False

    def write(self, data: bytes) -> None:
        self.written += data

    def write_eof(self) -> None:
        self.eof = True

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5000), "sockname": ("127.0.0.1", 8080)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def ok_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})


def connect(server: dict[str, Any] | None = None) -> tuple[GuardedProtocol, FakeTransport, ServerState]:
    base = {s.name: s.default for s in settings.SERVER}
    config = worker_config(ok_app, base | (server or {}))
    config.load()
    state = ServerState()
    proto = config.http_protocol_class(config=config, server_state=state, app_state={})
    transport = FakeTransport()
    proto.connection_made(transport)  # type: ignore[arg-type]
    return proto, transport, state


async def settle(state: ServerState) -> None:
    for _ in range(100):
        if not state.tasks:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"expected the requests answered, {len(state.tasks)} still running")


# (name, what the client sends, settings, the answer's status line, whether the connection is closed)
INPROC: list[tuple[str, list[bytes], dict[str, int], bytes, bool]] = [
    ("served", [b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"], {}, b"HTTP/1.1 200 ", False),
    (
        "head over 1 kB in pieces",
        [GET + b"X: " + b"a" * 600] * 2,
        {"max_header_bytes": 1024},
        b"HTTP/1.1 431 ",
        True,
    ),
    (
        "head over 1 kB at once",
        [GET + b"X: " + b"a" * 2000 + b"\r\n\r\n"],
        {"max_header_bytes": 1024},
        b"HTTP/1.1 431 ",
        True,
    ),
    ("3 headers of 2", [GET + b"A: 1\r\nB: 2\r\n\r\n"], {"max_headers": 2}, b"HTTP/1.1 431 ", True),
    (
        "URL over 100 bytes",
        [b"GET /" + b"a" * 200 + b" HTTP/1.1\r\n\r\n"],
        {"max_url_bytes": 100},
        b"HTTP/1.1 414 ",
        True,
    ),
    (
        "upgrade served as HTTP",
        [GET + b"Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n"],
        {},
        b"HTTP/1.1 200 ",
        False,
    ),
    ("not HTTP", [b"\x16\x03\x01 hello\r\n\r\n"], {}, b"HTTP/1.1 400 ", True),
]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("chunks", "server", "status", "closed"), [c[1:] for c in INPROC], ids=[c[0] for c in INPROC]
)
async def test_the_protocol_answers(chunks, server, status, closed):
    proto, transport, state = connect(server)
    for chunk in chunks:
        proto.data_received(chunk)
    await settle(state)
    assert transport.written.startswith(status), f"expected {status!r}, got {transport.written[:300]!r}"
    assert (transport.closed or transport.eof) == closed, f"expected closed={closed}, got {vars(transport)}"
    if status[9:12] != b"200":
        body = json.loads(transport.written.partition(b"\r\n\r\n")[2])
        assert body["error"].startswith("expected"), f"expected a JSON reason, got {body}"
    if status[9:12] in (b"431", b"414"):
        proto.data_received(b"a" * protocol.LINGER_BYTES)  # what still comes is dropped, then closed
        proto.data_received(b"a")
        assert transport.closed, "expected the connection closed after LINGER_BYTES more"
    proto.connection_lost(None)


@pytest.mark.anyio
async def test_at_the_concurrency_limit_a_request_is_a_json_503_with_retry_after():
    proto, transport, state = connect({"max_connections": 2})
    state.tasks.update(asyncio.ensure_future(asyncio.sleep(0)) for _ in range(3))
    proto.data_received(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    head, _, body = transport.written.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503 ") and b"retry-after: 1" in head, f"expected a 503, got {head!r}"
    assert "at its limit of 2 connections" in json.loads(body)["error"]
    await asyncio.gather(*state.tasks)
    proto.connection_lost(None)


@pytest.mark.anyio
async def test_the_sweeper_closes_a_slow_head_and_a_stalled_body_not_a_request_in_progress():
    slow, slow_t, state = connect()
    stalled, stalled_t, _ = connect()
    stalled.data_received(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n12345")
    busy, busy_t, _ = connect()
    sweeper = type(slow).sweeper
    assert sweeper is not None, "expected a sweeper made at the first connection"
    later = asyncio.get_running_loop().time() + 11  # past both default timeouts (10 s)
    sweeper.loop = type("Clock", (), {"time": lambda self: later, "call_later": sweeper.loop.call_later})()
    sweeper.connections = {slow, stalled, busy}
    busy._in_head = False  # answered by the app: neither waits on its client
    sweeper.sweep()
    sweeper._handle.cancel()
    assert (slow_t.closed, stalled_t.closed, busy_t.closed) == (True, True, False), (
        f"expected the slow head and the stalled body closed, got {sweeper.closed}"
    )
    assert sweeper.closed == {"header_timeout": 1, "body_timeout": 1, "evicted": 0}
    await settle(state)
    for proto in (slow, stalled, busy):
        proto.connection_lost(None)


@pytest.mark.parametrize(
    ("trusted", "seen"),
    [("127.0.0.1", "6.6.6.6"), ("", "127.0.0.1"), ("10.0.0.0/8, 192.168.1.1", "127.0.0.1"), ("*", "6.6.6.6")],
)
@pytest.mark.anyio
async def test_x_forwarded_for_is_believed_from_the_trusted_proxies_only(trusted: str, seen: str) -> None:
    # uvicorn believed X-Forwarded-For from 127.0.0.1 without a word in the settings or docs:
    # any local client could name any address (context.ip, the sign-in rate limit)
    clients: list[Any] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        clients.append(scope.get("client"))

    base = {s.name: s.default for s in settings.SERVER}
    config = worker_config(app, base | {"trusted_proxies": trusted})
    config.load()
    scope = http_scope("GET", "/", [(b"x-forwarded-for", b"6.6.6.6")], client=("127.0.0.1", 5000))
    await config.loaded_app(scope, None, None)
    assert clients[0][0] == seen


def test_trusted_proxies_that_are_no_addresses_are_refused() -> None:
    assert settings.proxies_problem("127.0.0.1, 10.0.0.0/8, ::1, *") is None
    assert settings.proxies_problem("") is None
    said = settings.proxies_problem("127.0.0.1, localhost")
    assert said is not None and "got 'localhost'" in said and "expected IP addresses or networks" in said
