"""trackway.destinations.shared: a record decoded once for the destinations that keep up."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from trackway import config as configuration
from trackway.config import Property
from trackway.destinations import types
from trackway.destinations.consumer import Forwarder
from trackway.destinations.position import PositionStore, default_path
from trackway.destinations.retry import Answer
from trackway.destinations.select import Selection
from trackway.destinations.shared import Outcomes
from trackway.ingest import log, pipeline, records

RECEIVED = 1_765_000_000_000_000
NOW = datetime.fromtimestamp(RECEIVED / 1e6 + 60, UTC)


def rid(n: int) -> str:
    """Record ``n``'s request id (hex, as records.uuid7 makes them: event ids derive from it)."""
    return f"{(n + 1) << 64:032x}"


def _mp(n: int, events: int = 2, bad: bool = False) -> records.Record:
    """A raw MP record of ``events`` purchases (``bad``: one without its currency, which fails)."""
    params: dict[str, Any] = {
        "transaction_id": f"T{n}",
        "currency": "EUR",
        "value": 10,
        "items": [{"item_id": "a"}],
    }
    body = {
        "client_id": f"c{n}",
        "events": [{"name": "purchase", "params": params}] * events
        + ([{"name": "purchase", "params": {"value": 1}}] if bad else []),
    }
    return records.Record(
        records.RAW,
        rid(n),
        "/mp/collect",
        "shop",
        RECEIVED + n,
        "ga4-mp",
        {"ip": "203.0.113.9"},
        json.dumps(body).encode(),
    )


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The records pipeline.outcome decodes, by request id."""
    seen: list[str] = []
    real = pipeline.outcome

    def counted(record: records.Record, *args: Any) -> records.Outcome:
        seen.append(record.request_id)
        return real(record, *args)

    monkeypatch.setattr(pipeline, "outcome", counted)
    return seen


def test_a_record_is_decoded_once_for_every_reader_with_the_same_settings(decodes: list[str]) -> None:
    kept, prop = Outcomes(), Property("shop", {"default_currency": ""})
    first = kept.outcome(_mp(1), prop)
    assert kept.outcome(_mp(1), prop) is first
    assert [e.commerce.transaction_id for e in first.events] == ["T1", "T1"]
    assert decodes == [rid(1)]
    assert (kept.hits, kept.misses, kept.events) == (1, 1, 2)


def test_other_settings_decode_again_and_take_the_place(decodes: list[str]) -> None:
    """A reloaded configuration makes new settings objects: what was decoded under the
    old ones is not served under the new."""
    kept, old, new = (
        Outcomes(),
        Property("shop", {"default_currency": ""}),
        Property("shop", {"default_currency": ""}),
    )
    kept.outcome(_mp(1), old)
    kept.outcome(_mp(1), new)
    assert kept.outcome(_mp(1), new) is kept.outcome(_mp(1), new)
    assert decodes == [rid(1), rid(1)]
    assert (len(kept), kept.events) == (1, 2)


@pytest.mark.parametrize(
    ("bound", "sizes", "left"), [(5, [2, 2, 2], 2), (4, [2, 2], 2), (3, [4, 1], 1), (0, [1], 0)]
)
def test_at_most_max_events_are_kept_the_oldest_records_go_first(
    decodes: list[str], bound: int, sizes: list[int], left: int
) -> None:
    kept, prop = Outcomes(max_events=bound), Property("shop", {"default_currency": ""})
    for n, size in enumerate(sizes):
        kept.outcome(_mp(n, events=size), prop)
        assert kept.events <= bound
    assert len(kept) == left
    if left:
        decodes.clear()
        kept.outcome(_mp(len(sizes) - 1, events=sizes[-1]), prop)  # the newest is still there
        assert decodes == []


def test_failed_payloads_count_and_are_shared_too(decodes: list[str]) -> None:
    kept, prop = Outcomes(), Property("shop", {"default_currency": ""})
    out = kept.outcome(_mp(1, events=1, bad=True), prop)
    assert (len(out.events), len(out.failed), kept.events) == (1, 1, 2)
    assert kept.outcome(_mp(1, events=1, bad=True), prop).failed is out.failed


def test_a_decode_that_raises_keeps_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: Any) -> records.Outcome:
        raise RuntimeError("a defect")

    monkeypatch.setattr(pipeline, "outcome", broken)
    kept = Outcomes()
    with pytest.raises(RuntimeError):
        kept.outcome(_mp(1), None)
    assert (len(kept), kept.events) == (0, 0)


def test_readers_in_threads_get_the_outcome_of_their_record(decodes: list[str]) -> None:
    kept, prop = Outcomes(max_events=40), Property("shop", {"default_currency": ""})
    wrong: list[str] = []

    def read() -> None:
        for n in range(60):
            out = kept.outcome(_mp(n % 30), prop)
            if {e.commerce.transaction_id for e in out.events} != {f"T{n % 30}"}:
                wrong.append(rid(n % 30))

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []
    assert kept.events <= 40 and kept.events == 2 * len(kept)


def _forwarders(tmp_path: Path, outcomes: Outcomes | None, sent: dict[str, list[bytes]]) -> list[Forwarder]:
    path = tmp_path / "trackway.toml"
    if not path.exists():
        configuration.add_property(path, "shop", "EUR")
    cfg = configuration.load(path)
    out = []
    for name, kind, options in (
        ("hook", "webhook", {"url": "https://hook.example/in", "secret": "s" * 32}),
        ("seg", "segment", {"write_key": "wk"}),
    ):
        got = sent.setdefault(name, [])

        def send(request: Any, got: list[bytes] = got) -> Answer:
            got.append(request.body)
            return Answer(200)

        out.append(
            Forwarder(
                tmp_path / "log",
                name,
                Selection(),
                types.encoder(kind),
                options,
                send,
                PositionStore(default_path(tmp_path / name, name), name),
                lambda: cfg,
                outcomes=outcomes,
            )
        )
    return out


def _strip_times(bodies: list[bytes]) -> list[Any]:
    """Request bodies less the send time each type stamps on them."""
    text = [json.loads(b) for b in bodies]
    for body in text:
        if isinstance(body, dict):
            body.pop("sentAt", None)
            body.pop("sent_at", None)
    return text


def test_two_destinations_sharing_outcomes_send_what_they_send_alone(
    tmp_path: Path, decodes: list[str]
) -> None:
    frames = [log.frame(records.dumps(_mp(n, events=1 + n % 3, bad=n == 4))) for n in range(12)]
    for where in ("alone", "sharing"):
        segment = tmp_path / where / "log" / "w1" / log.segment_name(1)
        segment.parent.mkdir(parents=True)
        segment.write_bytes(b"".join(frames))
    alone: dict[str, list[bytes]] = {}
    for fwd in _forwarders(tmp_path / "alone", None, alone):
        counts = fwd.run_once(NOW)
        assert (counts.delivered, counts.skipped) == (24, {"failed": 1}), counts
    assert len(decodes) == 24  # every record, once a destination
    decodes.clear()
    together: dict[str, list[bytes]] = {}
    kept = Outcomes()
    for fwd in _forwarders(tmp_path / "sharing", kept, together):
        counts = fwd.run_once(NOW)
        assert (counts.delivered, counts.skipped) == (24, {"failed": 1}), counts
    assert sorted(decodes) == sorted(rid(n) for n in range(12))  # every record, once in all
    assert (kept.hits, kept.misses) == (12, 12)
    assert {k: _strip_times(v) for k, v in together.items()} == {k: _strip_times(v) for k, v in alone.items()}
