"""DuckStore's writes are all-or-nothing: whatever a transaction raised midway (an error,
or a BaseException such as KeyboardInterrupt), nothing of it stays, the seqs it took
are given again, and the store goes on working."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from trackway.ingest import records
from trackway.ingest.log import Position
from trackway.model import Event
from trackway.store import arrow, duck
from trackway.store.base import Query
from trackway.store.duck import DuckStore

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class Boom(Exception):
    pass


def _event(eid: str, user: str = "u1") -> Event:
    return Event(
        name="purchase", dialect="gtm-ga4", id=eid, property="p", received_at=NOW, timestamp=NOW, user_id=user
    )


def _record(request_id: str) -> records.Record:
    return records.Record(
        kind=records.DECODED,
        request_id=request_id,
        endpoint="/collect",
        property="p",
        received_at=records.micros(NOW),
    )


def _load(store: DuckStore, eid: str, slot_offset: int) -> None:
    out = records.Outcome(events=[_event(eid)], client_ids=[True])
    store.load([(_record(f"r-{eid}"), out)], {"w1": Position(1, slot_offset)})


def _failed_payload(store: DuckStore) -> None:
    failed = records.FailedPayload(b'{"event":"purchase"}', "gtm-ga4", [0], b"[]", 0, ["purchase"])
    store.load([(_record("r-failed"), records.Outcome(failed=[failed]))], {})


def _snapshot(store: DuckStore) -> dict[str, object]:
    """Everything a transaction could have changed."""
    tables = ("events", "client_ids", "failed_events", "log_positions", "quarantine", "orders")
    found: dict[str, object] = {t: store.sql(f"SELECT * FROM {t} ORDER BY ALL")[1] for t in tables}
    found["person_keys"] = store.sql("SELECT seq, person_key FROM events ORDER BY seq")[1]
    return found


def _fail_load(store: DuckStore, monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    monkeypatch.setattr(arrow, "table", _raiser(error))  # after the client ids, seqs and state
    _load(store, "new", 99)


def _fail_replace(store: DuckStore, monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    [row] = store.failed(Query())
    monkeypatch.setattr(arrow, "table", _raiser(error))
    store.replace_failed(msgspec.structs.replace(row, indices=[], replayed=1), [_event("replayed")], [True])


def _fail_rebuild(store: DuckStore, monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    def write_then_fail(cur, state):  # type: ignore[no-untyped-def]
        cur.execute("DELETE FROM orders")
        cur.execute("UPDATE events SET person_key = NULL")
        raise error

    monkeypatch.setattr(duck.state_tables, "write_all", write_then_fail)
    store.rebuild()


def _fail_forget(store: DuckStore, monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    def forget_then_fail(cur, *args):  # type: ignore[no-untyped-def]
        cur.execute("DELETE FROM events")
        cur.execute("DELETE FROM client_ids")
        raise error

    monkeypatch.setattr(duck.forget, "forget", forget_then_fail)
    store.forget("u1", None)


def _raiser(error: BaseException):  # type: ignore[no-untyped-def]
    def fail(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise error

    return fail


OPERATIONS = [_fail_load, _fail_replace, _fail_rebuild, _fail_forget]
ERRORS = [Boom("midway"), KeyboardInterrupt()]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda f: f.__name__.removeprefix("_fail_"))
def test_a_transaction_that_raises_leaves_nothing(operation, error, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    store = DuckStore(":memory:")
    try:
        _load(store, "e1", 10)
        _load(store, "e2", 20)
        _failed_payload(store)
        before = _snapshot(store)
        with monkeypatch.context() as patch, pytest.raises(type(error)) as raised:
            operation(store, patch, error)
        assert raised.value is error  # the transaction's own error, not the rollback's
        assert _snapshot(store) == before
        # the store goes on: the next load takes the next seq (the failed one's are given
        # again) and the client id the failed load had inserted is new again
        _load(store, "new", 30)
        assert store.sql("SELECT id, seq FROM events ORDER BY seq")[1] == [("e1", 1), ("e2", 2), ("new", 3)]
        assert store.positions() == {"w1": Position(1, 30)}
    finally:
        store.close()


def test_a_transaction_that_completes_commits() -> None:
    store = DuckStore(":memory:")
    try:
        _load(store, "e1", 10)
        _failed_payload(store)
        [row] = store.failed(Query())
        replayed = msgspec.structs.replace(row, indices=[], replayed=1)
        assert store.replace_failed(replayed, [_event("replayed")], [True]) == 1
        assert store.rebuild() == 2
        assert store.failed(Query()) == [replayed]
        assert store.sql("SELECT id, seq FROM events ORDER BY seq")[1] == [("e1", 1), ("replayed", 2)]
    finally:
        store.close()
