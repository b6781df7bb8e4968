"""Client ids and failed payloads go in by a plain insert, and by INSERT OR IGNORE only
when a batch meets one already stored (store/claims.py), with the same outcome either way."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import duckdb
import pytest

from tests.support.logrecords import decoded_record
from trackway.ingest import records
from trackway.model import Commerce, Event
from trackway.store import claims
from trackway.store.duck import DuckStore

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


def _load(store: DuckStore, ids: list[str], calls: list[str]) -> tuple[int, int, int]:
    events = [_purchase(eid) for eid in ids]
    out = records.Outcome(events=events, client_ids=[True] * len(events), failed=[_failed(c) for c in calls])
    result = store.load([(decoded_record(NOW), out)], {})
    return result.stored, result.failed, result.duplicates


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

    def spy(write):
        return written(lambda cur, ignore: seen.append(ignore) or write(cur, ignore))

    try:
        assert _load(store, ["c1", "c2"], ["k1", "k2"]) == (2, 2, 0)
        monkeypatch.setattr(store, "_written", spy)
        assert _load(store, ids, calls) == answer
        assert seen == runs
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
