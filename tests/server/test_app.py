"""The worker's Collector: keys remembered by the bytes they came in, and forgotten in time."""

from __future__ import annotations

import os

import pytest

from trackway import config as configuration
from trackway.errors import HttpError
from trackway.ingest.writer import LogWriter
from trackway.server import app, http
from trackway.server.app import Collector


async def _no_forward(*_: object) -> int:
    return 200


@pytest.fixture
def collector(tmp_path, monkeypatch):
    monkeypatch.setattr(app, "CONFIG_CHECK_SECONDS", 0.0)  # look at the file on every request
    path = tmp_path / "trackway.toml"
    configuration.add_property(path, "default")
    writer = LogWriter(tmp_path / "log", segment_bytes=1 << 20, max_pending=10)
    yield Collector(configuration.load(path), writer, forward=_no_forward)
    writer.close()


def _touch(path):
    """A later modification time than the last, whatever the clock's granularity."""
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_a_known_key_is_found_once_and_then_remembered_per_kind(collector):
    calls = []

    def find(cfg, raw):
        calls.append(raw)
        return cfg.properties.get(raw.decode())

    for _ in range(3):
        assert collector.lookup_raw("a", b"default", find).name == "default"
    assert calls == [b"default"]
    assert collector.lookup_raw("b", b"default", find).name == "default"  # another kind: its own memory
    assert calls == [b"default"] * 2
    for _ in range(2):
        assert collector.lookup_raw("a", b"nope", find) is None  # unknown keys are not remembered
    assert calls == [b"default"] * 2 + [b"nope"] * 2


def test_a_changed_configuration_forgets_what_was_remembered(collector):
    calls = []

    def find(cfg, raw):
        calls.append(raw)
        return cfg.properties.get(raw.decode())

    assert collector.lookup_raw("a", b"default", find) is not None
    path = collector.config.path
    path.write_text(path.read_text().replace("[properties.default]", "[properties.renamed]"))
    _touch(path)
    assert collector.lookup_raw("a", b"default", find) is None  # gone from the file: gone here
    assert collector.lookup_raw("a", b"renamed", find).name == "renamed"


def test_the_memory_of_keys_is_bounded(collector):
    def find(cfg, raw):
        return cfg.properties["default"]

    for n in range(http.MEMO * 2 + 3):
        assert collector.lookup_raw("a", str(n).encode(), find) is not None
    assert len(collector._known["a"]) <= http.MEMO
    assert collector.lookup_raw("a", b"k" * 2000, find) is not None
    assert b"k" * 2000 not in collector._known["a"]


async def _answer(_collector, _request, send) -> int:
    await http.respond_json(send, 200, {"ok": True})
    return 200


async def _refuse(_collector, _request, _send) -> int:
    raise HttpError(400, "expected something else")


CLOSED = RuntimeError(
    "unable to perform operation on <TCPTransport closed=True reading=False>; the handler is closed"
)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("handler", "raised", "status"),
    [
        (_answer, CLOSED, "499"),  # uvloop's, under uvicorn's send, on a pipelining client that closed
        (_answer, ConnectionResetError(), "499"),
        (_refuse, CLOSED, "400"),  # the error answer finds nobody: still the request's status
        (_answer, RuntimeError("Unexpected ASGI message 'http.response.start'"), "500"),  # a bug: logged
    ],
)
async def test_a_connection_closed_under_the_answer_is_the_clients_going_not_a_500(
    collector, caplog, handler, raised, status
):
    app_ = app.make_app(collector, {"/x": {"GET": handler}}, _answer)

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_message: dict) -> None:
        raise raised

    scope = {"type": "http", "method": "GET", "path": "/x", "query_string": b"", "headers": []}
    await app_(scope, receive, send)
    counted = {
        dict(labels)["status"]
        for (name, labels) in collector.metrics.counters
        if name == "trackway_requests_total"
    }
    assert counted == {status}
    logged = [r for r in caplog.records if r.exc_info]
    assert bool(logged) == (status == "500"), [r.getMessage() for r in logged]
