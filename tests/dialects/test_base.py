"""What the adapters' base class does for every dialect: the screen, ``settle``, the
issues' event index, and a single-event dialect's ``decode`` from its ``decode_event``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dialects import corpus
from trackway import dialects
from trackway.dialects.base import Adapter, DecodeContext, SingleEventAdapter
from trackway.issues import Issues, Severity
from trackway.model import Event, encode_json
from trackway.rules.screen import MAX_DEPTH


class Probe(SingleEventAdapter):
    """Reads ``{"name": ..., "warn": path, "error": path}``: an event named ``name`` (none
    without it), a warning and an error where asked, each at the event index it is given."""

    name = "probe"
    title = "probe"

    def __init__(self) -> None:
        self.seen: list[int] = []  # issues.event as decode_event / decode_plain_event found it

    def decode_event(self, payload: Any, ctx: DecodeContext, issues: Issues) -> Event | None:
        self.seen.append(issues.event)
        if "warn" in payload:
            issues.warning(payload["warn"], "VALUE_INVALID", "expected something else, got a probe")
        if "error" in payload:
            issues.error(payload["error"], "VALUE_INVALID", "expected something else, got a probe")
        if "name" not in payload:
            return None
        return Event(name=payload["name"], dialect=self.name)

    def decode_plain_event(self, data: bytes | str, ctx: DecodeContext, issues: Issues) -> Event | None:
        self.seen.append(issues.event)
        if data == b"warn":
            issues.warning("$.x", "VALUE_INVALID", "expected something else, got a probe")
            issues.error("$.x", "VALUE_INVALID", "expected something else, got a probe")
        return None if data == b"not plain" else Event(name="plain", dialect=self.name)


class Renamed(Probe):
    """Inherits Probe's decode."""

    name = "renamed"


class Upper(Probe):
    """Overrides decode_event only: gets a decode of its own."""

    name = "upper"

    def decode_event(self, payload: Any, ctx: DecodeContext, issues: Issues) -> Event | None:
        event = super().decode_event(payload, ctx, issues)
        if event is not None:
            event.name = event.name.upper()
        return event


class Own(Probe):
    """Writes decode itself: decode_event is not used for it."""

    name = "own"

    def decode(self, payload: Any, ctx: DecodeContext, issues: Issues) -> list[Event]:
        issues.event = 3
        return [Event(name="own", dialect=self.name)]


def _decode(adapter: Adapter, payload: Any) -> tuple[list[Event], list[tuple[str, str, int]], int]:
    issues = Issues()
    events = adapter.decode(payload, DecodeContext(), issues)
    return events, [(i.path, i.severity.value, i.event) for i in issues.items], issues.event


@pytest.mark.parametrize(
    ("payload", "names", "issues"),
    [
        ({"name": "a"}, ["a"], []),
        ({}, [], []),  # no event: no issue either
        ({"name": "a", "warn": "$.w"}, ["a"], [("$.w", "warning", 0)]),
        ({"error": "$"}, [], [("$", "error", 0)]),  # an error, no event: still at event 0
        # settled: the warning beside the error goes, the one elsewhere stays
        ({"name": "a", "warn": "$.w", "error": "$.w"}, ["a"], [("$.w", "error", 0)]),
    ],
    ids=["event", "no event", "warning", "error without event", "settled"],
)
def test_a_single_event_decode_is_one_event_with_its_issues_at_index_0(payload, names, issues):
    adapter = Probe()
    events, found, after = _decode(adapter, payload)
    assert [e.name for e in events] == names
    assert found == issues
    assert adapter.seen == [0], "decode_event runs once, with issues.event at 0"
    assert after == -1, "the base sets issues.event back to -1"


def test_the_screen_runs_before_decode_event():
    deep: Any = {"name": "a"}
    for _ in range(MAX_DEPTH + 1):
        deep = {"x": deep}
    adapter = Probe()
    issues = Issues()
    events = adapter.decode(deep, DecodeContext(), issues)
    assert events == [] and adapter.seen == [], "an unreadable payload never reaches the dialect"
    assert [(i.code, i.severity, i.event) for i in issues.items] == [("PAYLOAD_TOO_DEEP", Severity.ERROR, -1)]
    assert issues.event == -1


@pytest.mark.parametrize(
    ("data", "expected", "issues"),
    [
        (b"plain", ["plain"], []),
        (b"not plain", None, []),
        (b"warn", ["plain"], [("$.x", "error", 0)]),  # settled too
    ],
)
def test_a_single_event_decode_plain_is_one_event_or_none(data, expected, issues):
    adapter = Probe()
    found = Issues()
    events = adapter.decode_plain(data, DecodeContext(), found)
    assert (None if events is None else [e.name for e in events]) == expected
    assert [(i.path, i.severity.value, i.event) for i in found.items] == issues
    assert (adapter.seen, found.event) == ([0], -1)


@pytest.mark.parametrize(
    ("cls", "names"),
    [(Renamed, ["a"]), (Upper, ["A"]), (Own, ["own"])],
    ids=["inherited", "decode_event overridden", "decode written"],
)
def test_subclasses_decode_with_their_own_decode_event(cls, names):
    events, _, after = _decode(cls(), {"name": "a"})
    assert [e.name for e in events] == names
    assert after == -1  # even after a decode that left it at 3


def test_a_dialect_without_a_fast_path_gives_none():
    class Slow(SingleEventAdapter):
        name = "slow"
        title = "slow"

        def decode_event(self, payload: Any, ctx: DecodeContext, issues: Issues) -> Event | None:
            return Event(name="slow", dialect=self.name)

    assert Slow().decode_plain(b"{}", DecodeContext(), Issues()) is None
    assert [e.name for e in Slow().decode({}, DecodeContext(), Issues())] == ["slow"]


@pytest.mark.parametrize("name", dialects.names())
def test_every_dialect_leaves_issues_at_the_payload_after_decoding(name):
    """Whatever a decode does to ``issues.event`` on the way (one event or many, an error
    midway, the fast path giving up), it is -1 after ``decode`` and ``decode_plain``."""
    adapter = dialects.get(name)
    payloads = [p for dialect, p in corpus.bases() if dialect == name]
    payloads += [m for p in payloads[:3] for m in corpus.mutations(p)]
    assert payloads, f"expected base payloads of {name} in the test corpus"
    errors = 0
    for payload in payloads:
        issues = Issues()
        adapter.decode(payload, DecodeContext(), issues)
        assert issues.event == -1, f"{name} left issues.event at {issues.event} after {payload!r}"
        errors += any(i.severity is Severity.ERROR for i in issues.items)
        try:
            data = encode_json(payload)
        except Exception:  # a hostile value JSON cannot carry (1e999): decode covered it
            continue
        plain = Issues()
        adapter.decode_plain(data, DecodeContext(), plain)
        assert plain.event == -1, f"{name}'s fast path left issues.event at {plain.event}"
    assert errors, f"expected some of {name}'s mutated payloads to have errors"
