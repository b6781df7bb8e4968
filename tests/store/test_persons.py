"""events.person_key and persons: the stored person of each event (store/persons.py)."""

from __future__ import annotations

import pytest

from tests.store.test_state_tables import load_in_batches, workload
from trackway.store import keyed
from trackway.store.duck import DuckStore


def resolved(store: DuckStore) -> list[tuple[int, str, str | None, int | None]]:
    """(seq, property, person by the identities view, person by the stored key) per event."""
    return (
        store.cursor()
        .execute(
            "SELECT seq, p.property, p.person_id, k.person "
            "FROM event_persons p JOIN event_person_keys k USING (seq) ORDER BY seq"
        )
        .fetchall()
    )


def keys(store: DuckStore) -> tuple[list[tuple], list[tuple]]:
    cur = store.cursor()
    events = cur.execute("SELECT seq, person_key FROM events ORDER BY seq").fetchall()
    persons = cur.execute("SELECT * FROM persons ORDER BY ALL").fetchall()
    return events, persons


def assert_same_people(store: DuckStore) -> None:
    """The stored keys split the events into the same people as the identities do."""
    by_id: dict[tuple[str, str], int] = {}
    by_key: dict[int, tuple[str, str]] = {}
    found = resolved(store)
    assert found
    for seq, prop, person, key in found:
        assert (person is None) == (key is None), seq
        if person is None:
            continue
        assert by_id.setdefault((prop, person), key) == key, (seq, prop, person)
        assert by_key.setdefault(key, (prop, person)) == (prop, person), (seq, key)


@pytest.mark.parametrize("lookup", ["join", "index"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_stored_keys_give_the_people_the_identity_rules_give(seed, lookup, monkeypatch):
    monkeypatch.setattr(keyed, "ROWS_PER_KEY", 0 if lookup == "index" else 10**12)  # store/keyed.py
    store = DuckStore(":memory:")
    try:
        load_in_batches(store, workload(seed, 3000), seed)
        [(merged,)] = (
            store.cursor().execute("SELECT count(*) FROM persons WHERE merged_into IS NOT NULL").fetchall()
        )
        assert merged > 0  # guests who logged in as known users: their keys resolve through the merge
        assert_same_people(store)
    finally:
        store.close()


@pytest.mark.parametrize("lookup", ["join", "index"])
def test_rebuild_gives_the_keys_ingestion_gave(lookup, monkeypatch):
    monkeypatch.setattr(keyed, "ROWS_PER_KEY", 0 if lookup == "index" else 10**12)
    store = DuckStore(":memory:")
    try:
        load_in_batches(store, workload(4, 2000), 4)
        ingested = keys(store)
        store.cursor().execute("UPDATE events SET person_key = NULL")
        store.cursor().execute("DELETE FROM persons")
        assert store.rebuild() == 2000
        assert keys(store) == ingested
    finally:
        store.close()


def test_without_derived_state_a_rebuild_fills_the_keys():
    store = DuckStore(":memory:", derive_state=False)
    try:
        load_in_batches(store, workload(5, 1500), 5)
        assert store.cursor().execute("SELECT count(person_key) FROM events").fetchall() == [(0,)]
        store.rebuild()
        assert_same_people(store)
    finally:
        store.close()


def test_forgetting_someone_keeps_their_events_one_person():
    store = DuckStore(":memory:")
    try:
        load_in_batches(store, workload(6, 2000), 6)
        before = keys(store)
        report = store.forget("u3", None)
        assert report["people"] >= 1 and report["events"] > 0
        assert keys(store) == before
        assert_same_people(store)
    finally:
        store.close()
