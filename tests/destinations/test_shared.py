"""trackway.destinations.shared: a record's outcome worked out once for all destinations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.destinations.test_consumer import NOW, Receiver, _end, _forwarder, _write
from trackway.destinations import consumer
from trackway.destinations.select import Selection
from trackway.destinations.shared import Outcomes
from trackway.ingest import log, records
from trackway.ingest.log import Position
from trackway.ingest.records import Outcome

MP_BODY = {
    "client_id": "555.1",
    "events": [{"name": "purchase", "params": {"transaction_id": "T1", "currency": "EUR", "value": 9.5}}],
}


def _record(request_id: str, body: dict[str, Any] = MP_BODY) -> records.Record:
    return records.Record(
        records.RAW,
        request_id,
        "/mp/collect",
        "shop",
        records.micros(NOW),
        "ga4-mp",
        {},
        json.dumps(body).encode(),
    )


class Work:
    """A stand-in for pipeline.outcome: counts its calls, each answer a new object."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> Outcome:
        self.calls += 1
        return Outcome()


def _get(
    shared: Outcomes,
    work: Work,
    request_id: str = "r1",
    prop: object = None,
    offset: int = 100,
    size: int = 10,
) -> Outcome:
    return shared.get("w1", Position(1, offset), _record(request_id), size, prop, work)


def _readers(n: int, keep_bytes: int = 1 << 20) -> Outcomes:
    shared = Outcomes(keep_bytes)
    for _ in range(n):
        shared.join()
    return shared


def test_the_second_reader_takes_the_first_ones_outcome() -> None:
    shared, work = _readers(2), Work()
    first = _get(shared, work)
    assert _get(shared, work) is first
    assert (work.calls, shared.hits, shared.misses) == (1, 1, 1)


def test_an_outcome_every_reader_has_taken_is_dropped() -> None:
    shared, work = _readers(3), Work()
    _get(shared, work)
    _get(shared, work)
    assert shared.kept_bytes == 10
    _get(shared, work)  # the third and last reader
    assert shared.kept_bytes == 0
    _get(shared, work)  # a reader reading it again (after a restart) works it out again
    assert work.calls == 2


def test_with_one_reader_nothing_is_kept() -> None:
    shared, work = _readers(1), Work()
    _get(shared, work)
    _get(shared, work)
    assert (work.calls, shared.kept_bytes) == (2, 0)


@pytest.mark.parametrize(
    ("second", "why"),
    [
        ({"request_id": "r2"}, "another record at the same place (a log written again)"),
        ({"offset": 200}, "another place"),
        ({"prop": object()}, "other property settings (the configuration changed)"),
    ],
)
def test_only_the_same_record_under_the_same_settings_is_reused(second: dict[str, Any], why: str) -> None:
    shared, work = _readers(2), Work()
    first = _get(shared, work)
    assert _get(shared, work, **second) is not first, why
    assert work.calls == 2


def test_the_oldest_are_dropped_beyond_the_byte_bound() -> None:
    shared, work = _readers(2, keep_bytes=25), Work()
    for offset in (100, 200, 300):
        _get(shared, work, offset=offset)
    assert shared.kept_bytes == 20  # 100 dropped
    _get(shared, work, offset=300)
    _get(shared, work, offset=100)
    assert work.calls == 4


def test_a_reader_that_leaves_is_no_longer_waited_for() -> None:
    shared, work = _readers(3), Work()
    _get(shared, work)
    shared.leave()
    assert shared.readers() == 2
    _get(shared, work)  # the second of two readers now: dropped
    assert shared.kept_bytes == 0


@pytest.mark.parametrize(
    ("joined", "kept"),
    [
        (["shop", "blog"], False),  # the blog's destination never reads the shop's records
        (["shop", "shop"], True),
        (["shop", None], True),  # a reader of every property
        ([None, "blog"], False),
    ],
)
def test_only_the_readers_of_a_records_property_are_waited_for(joined: list[str | None], kept: bool) -> None:
    shared, work = Outcomes(), Work()
    for prop in joined:
        shared.join(prop)
    _get(shared, work)  # a record of "shop"
    assert (shared.kept_bytes > 0) is kept
    assert shared.readers("shop") == sum(p in ("shop", None) for p in joined)


def test_what_every_reader_left_has_taken_is_dropped_as_one_leaves() -> None:
    shared, work = _readers(2), Work()
    _get(shared, work)
    assert shared.kept_bytes == 10
    shared.leave()  # the other one waits for a retry: nobody else will ask
    assert shared.kept_bytes == 0


def test_a_failing_work_keeps_nothing() -> None:
    shared = _readers(2)

    def fails() -> Outcome:
        raise ValueError("unreadable")

    with pytest.raises(ValueError, match="unreadable"):
        shared.get("w1", Position(1, 1), _record("r1"), 10, None, fails)
    assert shared.kept_bytes == 0


ITEMS = [{"item_id": "SKU_1", "price": 9.5, "quantity": 2}]


def _mp_frames(n: int) -> list[bytes]:
    out = []
    for k in range(n):
        body = {
            "client_id": f"555.{k % 3}",
            "user_id": f"u{k}",
            "events": [
                {
                    "name": "purchase",
                    "params": {"transaction_id": f"T{k}", "currency": "EUR", "items": ITEMS},
                },
                {
                    "name": "page_view",
                    "params": {"page_location": f"https://shop.example/?e=jane{k}@example.org"},
                },
            ],
        }
        out.append(log.frame(records.dumps(_record(records.uuid7(), body))))
    return out


def _bodies(receiver: Receiver) -> list[bytes]:
    return [r.body for r in receiver.got]


@pytest.mark.parametrize("identifiers", ["keep", "hash", "drop"])
def test_destinations_sharing_outcomes_send_what_they_would_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, identifiers: str
) -> None:
    """Two destinations sharing their records' outcomes send exactly what each sends
    without, and the records are worked out once between them."""
    _write(tmp_path / "log", _mp_frames(30))
    calls = {"n": 0}
    outcome = consumer.pipeline.outcome

    def counted(*args: Any, **kw: Any) -> Outcome:
        calls["n"] += 1
        return outcome(*args, **kw)

    monkeypatch.setattr(consumer.pipeline, "outcome", counted)
    selection = Selection(identifiers=identifiers)

    def run(shared: Outcomes | None, tag: str) -> tuple[list[bytes], list[bytes]]:
        a, b = Receiver(), Receiver()
        fa = _forwarder(tmp_path / tag, a, "a", selection, outcomes=shared)
        fb = _forwarder(tmp_path / tag, b, "b", selection, outcomes=shared)
        fa.root = fb.root = tmp_path / "log"
        for fwd in (fa, fb):
            fwd.run_once(NOW)
            assert fwd.committed() == {"w1": _end(tmp_path)}
            fwd.close()
        return _bodies(a), _bodies(b)

    alone = run(None, "alone")
    assert calls["n"] == 60
    calls["n"] = 0
    shared = _readers(2)
    together = run(shared, "together")
    assert calls["n"] == 30
    assert (shared.hits, shared.kept_bytes) == (30, 0)
    assert together == alone
    assert together[0]  # the check has teeth: something was sent


def test_what_is_sent_is_not_changed_by_another_destination(tmp_path: Path) -> None:
    """Events are shared: one destination hashing identifiers leaves the other's plain."""
    _write(tmp_path / "log", _mp_frames(4))
    shared = _readers(2)
    plain, hashed = Receiver(), Receiver()
    fh = _forwarder(tmp_path, hashed, "h", Selection(identifiers="hash"), outcomes=shared)
    fp = _forwarder(tmp_path, plain, "p", outcomes=shared)
    fh.run_once(NOW)
    fp.run_once(NOW)
    assert shared.hits == 4
    assert b"jane1@example.org" in b"".join(_bodies(plain))
    assert b"jane1@example.org" not in b"".join(_bodies(hashed))
    assert sum(len(json.loads(b)["events"]) for b in _bodies(plain)) == 8  # purchases and page views


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("join"), st.sampled_from([None, "shop", "blog"])),
        st.tuples(st.just("leave"), st.sampled_from([None, "shop", "blog"])),
        st.tuples(
            st.just("get"),
            st.integers(0, 5),  # which record
            st.sampled_from(["shop", "blog"]),  # its property
            st.integers(0, 1),  # which settings
            st.integers(1, 40),  # its bytes
        ),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(OPS)
@example([("join", None), ("join", None), ("get", 0, "shop", 0, 1), ("get", 0, "blog", 0, 1)])
def test_any_sequence_keeps_the_bounds_and_answers_each_records_own(
    ops: list[tuple[Any, ...]],
) -> None:
    """Whatever the readers do: the bytes kept are those of the outcomes kept, within the
    bound, and a record read under given settings gets an outcome worked out for that
    record under those settings."""
    shared = Outcomes(keep_bytes=64)
    settings_ = [object(), object()]
    made: dict[int, tuple[int, str, int]] = {}  # id(outcome) -> (record, property, settings)
    joined: list[str | None] = []
    for op in ops:
        if op[0] == "join":
            shared.join(op[1])
            joined.append(op[1])
        elif op[0] == "leave":
            if op[1] in joined:
                joined.remove(op[1])
                shared.leave(op[1])
        else:
            _, n, prop, which, size = op
            # one record per (n, property): a place in the log holds one record, of one property
            record = records.Record(records.RAW, f"{prop}{n}", "/mp/collect", prop, 0, "ga4-mp")

            def work(n: int = n, prop: str = prop, which: int = which) -> Outcome:
                out = Outcome()
                made[id(out)] = (n, prop, which)
                return out

            place = Position(1, 2 * n + (prop == "blog"))
            out = shared.get("w1", place, record, size, settings_[which], work)
            assert made[id(out)] == (n, prop, which)
        kept = list(shared._kept.values())
        assert shared.kept_bytes == sum(k.size for k in kept) <= 64
        assert all(k.taken < shared.readers(k.prop) for k in kept)  # nothing kept that all have taken
    assert shared.readers("shop") == sum(p in (None, "shop") for p in joined)
