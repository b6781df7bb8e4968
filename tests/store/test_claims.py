"""Client ids and failed payloads go in by a plain insert, and by INSERT OR IGNORE only
when a batch meets one already stored (store/claims.py), with the same outcome either way."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.logrecords import decoded_record
from trackway.ingest import records
from trackway.model import Commerce, Event
from trackway.store import claims, state_tables
from trackway.store.base import Query
from trackway.store.duck import DuckStore
from trackway.store.memory import MemoryStore

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
STORED = [("p", "a"), ("p", "b"), ("q", "a")]


@pytest.fixture
def cur():
    con = duckdb.connect()
    con.execute("CREATE TABLE client_ids (property VARCHAR, id VARCHAR, PRIMARY KEY (property, id))")
    con.executemany("INSERT INTO client_ids VALUES (?, ?)", STORED)
    yield con
    con.close()


@pytest.mark.parametrize(
    ("keys", "ignore", "answer"),
    [
        ([], False, set()),
        ([], True, set()),
        ([("p", "c"), ("q", "b")], False, {("p", "c"), ("q", "b")}),
        ([("p", "c"), ("q", "b")], True, {("p", "c"), ("q", "b")}),
        ([("r", "a")], False, {("r", "a")}),  # the same id in another property is new
        ([("p", "c"), ("p", "a")], False, claims.Claimed),
        ([("q", "a")], False, claims.Claimed),
        ([("p", "c"), ("p", "a")], True, {("p", "c")}),
        ([("p", "a"), ("q", "a")], True, set()),
    ],
)
def test_client_ids_answers_the_new_ids_or_asks_for_the_ignoring_run(cur, keys, ignore, answer):
    cur.execute("BEGIN")
    if answer is claims.Claimed:
        with pytest.raises(claims.Claimed):
            claims.client_ids(cur, keys, ignore=ignore)
        with pytest.raises(duckdb.TransactionException):  # DuckDB aborted the transaction
            cur.execute("SELECT 1").fetchall()
        cur.execute("ROLLBACK")
        expected = set(STORED)
    else:
        assert claims.client_ids(cur, keys, ignore=ignore) == answer
        cur.execute("COMMIT")
        expected = set(STORED) | set(keys)
    assert set(cur.execute("SELECT property, id FROM client_ids").fetchall()) == expected


def _purchase(eid: str) -> Event:
    return Event(
        name="purchase",
        dialect="gtm-ga4",
        id=eid,
        property="p",
        anonymous_id="guest-1",
        received_at=NOW,
        timestamp=NOW,
        commerce=Commerce(currency="EUR", value=Decimal("10.00"), transaction_id=f"T-{eid}"),
    )


def _failed(call: str) -> records.FailedPayload:
    issue = b'[{"code":"missing","severity":"error","path":"$.event","message":"m"}]'
    return records.FailedPayload(b"{}", "gtm-ga4", [-1], issue, call=call)


def _load(store: DuckStore, ids: list[str], calls: list[str]) -> tuple[int, int, int, int]:
    events = [_purchase(eid) for eid in ids]
    out = records.Outcome(events=events, client_ids=[True] * len(events), failed=[_failed(c) for c in calls])
    result = store.load([(decoded_record(NOW), out)], {})
    return result.stored, result.failed, result.duplicates, result.reruns


# The first batch stores events c1, c2 and the failed calls k1, k2; then a second batch.
@pytest.mark.parametrize(
    ("ids", "calls", "answer", "runs"),
    [
        (["c3", "c4"], ["k3"], (2, 1, 0), [False]),  # all new: one run, plain inserts
        (["c3", "c1", "c4"], [], (2, 0, 1), [False, True]),  # one event stored: run again, ignoring
        (["c1", "c2"], [], (0, 0, 2), [False, True]),
        (["c3"], ["k3", "k1"], (1, 1, 1), [False, True]),  # one failed payload stored
        (["c1"], ["k2"], (0, 0, 2), [False, True]),
    ],
)
def test_a_batch_meeting_a_stored_id_is_stored_once_with_its_state(monkeypatch, ids, calls, answer, runs):
    store = DuckStore(":memory:")
    seen: list[bool] = []
    written = store._written
    prefetched: list[int] = []
    prefetch = state_tables.prefetch

    def spy(write):
        return written(lambda cur, ignore: seen.append(ignore) or write(cur, ignore))

    def counted(cur, events, sizes):
        prefetched.append(len(events))
        return prefetch(cur, events, sizes)

    try:
        assert _load(store, ["c1", "c2"], ["k1", "k2"]) == (2, 2, 0, 0)
        monkeypatch.setattr(store, "_written", spy)
        monkeypatch.setattr(state_tables, "prefetch", counted)
        assert _load(store, ids, calls) == (*answer, len(runs) - 1)  # a second run is counted
        assert seen == runs
        assert len(prefetched) == (1 if answer[0] else 0)  # a refused run stopped before the state
        cur = store.cursor()
        events = {"c1", "c2", *ids}
        seqs = [s for (s,) in cur.execute("SELECT seq FROM events ORDER BY seq").fetchall()]
        assert seqs == list(range(1, len(events) + 1))  # the aborted run's seqs were given again
        assert {i for (i,) in cur.execute("SELECT id FROM events").fetchall()} == events
        orders = cur.execute("SELECT transaction_id, events FROM orders ORDER BY 1").fetchall()
        assert orders == [(f"T-{i}", 1) for i in sorted(events)]  # each applied once
        assert {i for (i,) in cur.execute("SELECT id FROM client_ids").fetchall()} == events
        failed = {i for (i,) in cur.execute("SELECT id FROM failed_events").fetchall()}
        assert failed == {f"p/call/{c}" for c in {"k1", "k2", *calls}}
    finally:
        store.close()


IDS = st.sampled_from(["a", "b", "c"])
PROPS = st.sampled_from(["p", "q"])
RECORDS = st.lists(  # (property, [(event id, the client's?)], [failed payloads' call ids])
    st.tuples(PROPS, st.lists(st.tuples(IDS, st.booleans()), max_size=4), st.lists(IDS, max_size=2)),
    min_size=1,
    max_size=3,
)


def _batch(records_: list[tuple[str, list[tuple[str, bool]], list[str]]]) -> list[tuple[Any, Any]]:
    batch = []
    for prop, events, calls in records_:
        made = [
            Event(name="page_view", dialect="gtm-ga4", id=eid, property=prop, received_at=NOW, timestamp=NOW)
            for eid, _ in events
        ]
        out = records.Outcome(
            events=made, client_ids=[client for _, client in events], failed=[_failed(c) for c in calls]
        )
        batch.append((decoded_record(NOW, prop), out))
    return batch


@settings(max_examples=60, deadline=None)
@given(st.lists(RECORDS, min_size=1, max_size=4))
def test_duckdb_claims_as_the_memory_store_keeps(batches):
    duck, memory = DuckStore(":memory:"), MemoryStore()
    try:
        for records_ in batches:
            batch = _batch(records_)
            a, b = duck.load(batch, {}), memory.load(batch, {})
            assert (a.stored, a.failed) == (b.stored, b.failed)
        assert sorted((e.property, e.id) for e in duck.events(Query(limit=1000))) == sorted(
            (e.property, e.id) for e in memory.events(Query(limit=1000))
        )
        assert sorted(f.id for f in duck.failed(Query(limit=1000))) == sorted(
            f.id for f in memory.failed(Query(limit=1000))
        )
        seqs = [s for (s,) in duck.cursor().execute("SELECT seq FROM events ORDER BY seq").fetchall()]
        assert seqs == list(range(1, len(seqs) + 1))
    finally:
        duck.close()
        memory.close()


@pytest.mark.parametrize("eid", ["bad\udc00id", "nul\x00id", "x" * 100_000, "ünï\u2028cødé"])
def test_odd_client_ids_are_claimed_once(eid):
    """Event ids a client may send (Commanders Act's ``context.event_id`` is any string): a
    lone surrogate (stored as U+FFFD, as every string is), a NUL, 100,000 characters, other
    Unicode; sent twice, stored once. (A failed payload's call id is 1-64 characters of
    ``A-Za-z0-9._:-``: server/guest.valid_id keeps any other out of the log.)"""
    store = DuckStore(":memory:")
    try:
        assert _load(store, [eid], ["k1"]) == (1, 1, 0, 0)
        assert _load(store, [eid], ["k1"]) == (0, 0, 2, 1)
        stored = [i for (i,) in store.cursor().execute("SELECT id FROM client_ids").fetchall()]
        assert stored == [eid.replace("\udc00", "\ufffd")]
    finally:
        store.close()
