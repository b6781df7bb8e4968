"""The worker's Collector: keys remembered by the bytes they came in, and forgotten in time."""

from __future__ import annotations

import os

import pytest

from trackway import config as configuration
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
