"""The People page's person (store/person_view.py): their events found by the stored
person keys are exactly those the identities give, and so are their event counts."""

from __future__ import annotations

import pytest

from tests.store.test_state_tables import load_in_batches, workload
from trackway.store import person_view, state_tables
from trackway.store.duck import DuckStore


@pytest.fixture(scope="module")
def store() -> DuckStore:
    s = DuckStore(":memory:")
    load_in_batches(s, workload(7, 2500), 7)
    return s


def people(store: DuckStore) -> list[tuple[str, str]]:
    return (
        store.cursor().execute("SELECT DISTINCT property, person_id FROM identities ORDER BY ALL").fetchall()
    )


def by_view(store: DuckStore, prop: str, person: str) -> list[int]:
    rows = store.cursor().execute(
        "SELECT seq FROM event_persons WHERE property = ? AND person_id = ? ORDER BY seq DESC", [prop, person]
    )
    return [r[0] for r in rows.fetchall()]


def test_every_persons_events_by_key_are_those_of_the_identities(store: DuckStore) -> None:
    found = people(store)
    assert len(found) >= 20
    merged = 0
    for prop, person in found:
        keys = state_tables.person_keys(store.cursor(), prop, person)
        merged += len(keys) > 1
        got = [r["seq"] for r in person_view.events_of(store.cursor(), prop, person, 10_000)]
        assert got == by_view(store, prop, person), (prop, person)
    assert merged  # guests merged into known users: their events are found through the merge


def test_the_timeline_is_the_latest_events_and_the_counts_add_up(store: DuckStore) -> None:
    prop, person = max(people(store), key=lambda p: len(by_view(store, *p)))
    view = store.person(prop, person)
    assert view is not None
    want = by_view(store, prop, person)
    assert len(view["events"]) == min(len(want), person_view.TIMELINE)
    assert view["identity"]["person_id"] == person
    assert sum(view["identity"]["events"].values()) == len(want)


def test_an_unknown_person_is_none(store: DuckStore) -> None:
    assert store.person("shop", "nobody") is None


def test_any_id_of_a_person_finds_them_once(store: DuckStore) -> None:
    prop, person = people(store)[0]
    ids = [
        r[0]
        for r in store.cursor()
        .execute("SELECT id FROM identities WHERE property = ? AND person_id = ?", [prop, person])
        .fetchall()
    ]
    assert ids
    for value in ids:
        found = store.people(value, prop)
        assert [p["person_id"] for p in found] == [person]
        assert found[0] == store.person(prop, person)
    assert store.people("no-such-id") == []
