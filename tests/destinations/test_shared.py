"""trackway.destinations.shared: each record decoded once for every destination of a process,
and the events it shares left as they are by every destination type."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import trackway
from tests.support.specs import all_examples
from trackway.destinations import types
from trackway.destinations.base import Outgoing
from trackway.destinations.consumer import Forwarder
from trackway.destinations.position import PositionStore, default_path
from trackway.destinations.retry import Answer
from trackway.destinations.select import Selection
from trackway.destinations.shared import SharedOutcomes
from trackway.ingest import log, records
from trackway.ingest.log import Position
from trackway.ingest.records import Outcome
from trackway.model import Event, to_json

NOW = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
ROOT = Path("/data/log")


def _outcome(n: int) -> Outcome:
    return Outcome(events=[Event(name="page_view", dialect="ga4-mp", id=f"e{i}") for i in range(n)])


def test_made_once_for_the_same_record_and_settings() -> None:
    shared, settings, made = SharedOutcomes(), object(), []

    def make() -> Outcome:
        made.append(1)
        return _outcome(2)

    first = shared.get(ROOT, "w1", Position(1, 100), settings, make)
    assert shared.get(ROOT, "w1", Position(1, 100), settings, make) is first
    assert (len(made), shared.hits, shared.misses) == (1, 1, 1)


@pytest.mark.parametrize(
    ("where", "why"),
    [
        ((ROOT, "w2", Position(1, 100)), "another worker's log"),
        ((ROOT, "w1", Position(2, 100)), "another file"),
        ((ROOT, "w1", Position(1, 101)), "another record"),
        ((Path("/other/log"), "w1", Position(1, 100)), "another data folder"),
    ],
)
def test_another_record_is_made_anew(where: tuple[Path, str, Position], why: str) -> None:
    shared, settings = SharedOutcomes(), object()
    first = shared.get(ROOT, "w1", Position(1, 100), settings, lambda: _outcome(1))
    assert shared.get(*where, settings, lambda: _outcome(1)) is not first, why


def test_settings_reloaded_since_are_decoded_anew() -> None:
    """A configuration read again (a property's privacy changed) must not reuse outcomes."""
    shared = SharedOutcomes()
    old = shared.get(ROOT, "w1", Position(1, 100), object(), lambda: _outcome(1))
    new_settings = object()
    new = shared.get(ROOT, "w1", Position(1, 100), new_settings, lambda: _outcome(1))
    assert new is not old
    assert shared.get(ROOT, "w1", Position(1, 100), new_settings, lambda: _outcome(1)) is new


def test_bounded_by_events_oldest_out_first() -> None:
    shared, settings = SharedOutcomes(max_events=10), object()
    kept = [shared.get(ROOT, "w1", Position(1, n), settings, lambda: _outcome(4)) for n in range(4)]
    assert len(shared) == 2  # 8 events; a third record would make 12
    assert shared.get(ROOT, "w1", Position(1, 3), settings, lambda: _outcome(4)) is kept[3]
    assert shared.get(ROOT, "w1", Position(1, 0), settings, lambda: _outcome(4)) is not kept[0]


def test_one_record_larger_than_the_bound_is_still_kept_alone() -> None:
    shared, settings = SharedOutcomes(max_events=3), object()
    big = shared.get(ROOT, "w1", Position(1, 0), settings, lambda: _outcome(25))
    assert shared.get(ROOT, "w1", Position(1, 0), settings, lambda: _outcome(25)) is big
    assert len(shared) == 1


def test_couriers_side_by_side() -> None:
    """Eight threads asking for the same 200 records: every answer is an outcome of the
    record asked for, and the bound holds."""
    shared, settings = SharedOutcomes(max_events=50), object()
    wrong: list[str] = []

    def courier() -> None:
        for n in range(200):
            out = shared.get(ROOT, "w1", Position(1, n), settings, lambda n=n: Outcome(events=[_named(n)]))
            if out.events[0].id != f"r{n}":
                wrong.append(f"record {n} answered with {out.events[0].id}")

    threads = [threading.Thread(target=courier) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []
    assert len(shared) <= 50


def _named(n: int) -> Event:
    return Event(name="page_view", dialect="ga4-mp", id=f"r{n}")


# --- destinations sharing one log ----------------------------------------------------

OPTIONS: dict[str, dict[str, Any]] = {
    "webhook": {"url": "https://hook.example/in", "secret": "whsec_shared"},
    "segment": {"write_key": "wk_shared"},
    "ga4": {"measurement_id": "G-SHARED1", "api_secret": "s3cret"},
    "commanders-act": {"site": "1234", "token": "tok_shared", "batch": True},
    "convead": {"app_key": "app_shared"},
    "insend": {"app_key": "app_shared"},
}


def _raw_log(root: Path, n: int) -> Position:
    frames = []
    for k in range(n):
        params: dict[str, Any] = {"page_location": f"https://shop.example/{k}", "engagement_time_msec": 1}
        if k % 3 == 0:
            item = {"item_id": "SKU", "item_name": "Mug", "price": 10.0, "quantity": 2}
            params = {"currency": "EUR", "value": 20.0, "transaction_id": f"T{k}", "items": [item]}
        body = {
            "client_id": f"555.{k % 4}",
            "events": [{"name": "purchase" if k % 3 == 0 else "page_view", "params": params}],
        }
        record = records.Record(
            records.RAW, f"req-{k}", "/mp/collect", "shop", records.micros(NOW - timedelta(minutes=5)),
            "ga4-mp", {}, json.dumps(body).encode(),
        )  # fmt: skip
        frames.append(log.frame(records.dumps(record)))
    path = root / "w1" / log.segment_name(1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(frames))
    return Position(1, path.stat().st_size)


def _deliver(
    tmp_path: Path, kinds: list[str], shared: SharedOutcomes | None, end: Position
) -> dict[str, list[bytes]]:
    got: dict[str, list[bytes]] = {}
    for kind in kinds:  # in turn: the second finds what the first decoded
        bodies = got[kind] = []

        def send(request: Outgoing, bodies: list[bytes] = bodies) -> Answer:
            bodies.append(request.body)
            return Answer(200)

        name = f"{kind}-{'own' if shared is None else 'shared'}"
        store = PositionStore(default_path(tmp_path, name), name)
        selection = Selection(identifiers="keep")
        fwd = Forwarder(
            tmp_path / "log", name, selection, types.encoder(kind), OPTIONS[kind], send, store,
            lambda: None, random=lambda: 0.5, shared=shared,
        )  # fmt: skip
        for _ in range(50):
            if fwd.committed().get("w1") == end:
                break
            fwd.run_once(NOW)
        assert fwd.committed().get("w1") == end
    return got


def test_destinations_sharing_outcomes_send_what_they_send_alone(tmp_path: Path) -> None:
    """Sharing changes what is computed, never what is sent (the webhook's signature
    carries the time of sending, so it is compared without it)."""
    end = _raw_log(tmp_path / "log", 60)
    kinds = ["segment", "ga4", "convead", "commanders-act"]
    alone = _deliver(tmp_path, kinds, None, end)
    shared = SharedOutcomes()
    together = _deliver(tmp_path, kinds, shared, end)
    assert together == alone
    assert shared.misses == 60 and shared.hits == 60 * (len(kinds) - 1)


# --- nothing downstream changes a shared event --------------------------------------


def _canonical() -> list[Event]:
    """The events of every example of the vendor documents, as the loader keeps them."""
    out: list[Event] = []
    for example in all_examples():
        if example.dialect == "custom":  # 2Checkout's own objects: no dialect reads them
            continue
        decoded = trackway.decode(example.dialect, example.value, default_currency="EUR", received_at=NOW)
        for n, event in enumerate(decoded.events):
            event.id = event.id or f"{example.dialect}-{len(out)}-{n}"
            event.property, event.received_at = "shop", NOW
            event.timestamp = event.timestamp or NOW
            event.anonymous_id = event.anonymous_id or "555.1"  # as the tracker's envelope gives it
            out.append(event)
    return out


@pytest.mark.parametrize("kind", sorted(OPTIONS))
def test_no_destination_type_changes_the_events_it_encodes(kind: str) -> None:
    events = _canonical()
    assert len(events) > 50
    before = [to_json(e) for e in events]
    encoded = types.encoder(kind).encode(events, OPTIONS[kind], NOW)
    assert encoded.requests  # the check has teeth: events were rendered
    assert [to_json(e) for e in events] == before
