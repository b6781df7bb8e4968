"""trackway.store.forget under ``identifiers = "hash"``: the store holds only hashes of the
person's email (a hashed user id, Google's hashed user_data, a hashed email in a URL), and
``forget``/``subject-export`` by that email or user id still find and erase everything."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

import trackway
from trackway.ingest import records
from trackway.model import Event
from trackway.privacy.elsewhere import google_email
from trackway.privacy.pii import sha256_hex
from trackway.privacy.prepare import PrivacySettings, prepare
from trackway.store.duck import DuckStore

AT = datetime(2026, 11, 2, 9, tzinfo=UTC)
EMAIL = "John.Doe@GMail.com"  # Google hashes a gmail address without its local part's dots
HASHES = {sha256_hex("john.doe@gmail.com"), sha256_hex(google_email(EMAIL) or "")}


@pytest.fixture
def store() -> Iterator[DuckStore]:
    s = DuckStore(":memory:")
    yield s
    s.close()


def decoded(dialect: str, payload: Any) -> list[Event]:
    result = trackway.decode(dialect, payload, default_currency="EUR")
    assert result.valid, [i for i in result.issues if i.is_error]
    return result.events


# Where the person's email came, each event alone (a person found through any one of them).
SEEDS: dict[str, tuple[str, Any]] = {
    "user id": ("ga4-mp", {"client_id": "d.1", "user_id": EMAIL, "events": [{"name": "login"}]}),
    "MP user_data": (
        "ga4-mp",
        {"client_id": "d.1", "user_data": {"email_address": EMAIL}, "events": [{"name": "login"}]},
    ),
    "dataLayer user_data": ("gtm-ga4", {"event": "login", "user_data": {"email": EMAIL}}),
}


def load(store: DuckStore, events: list[Event], anonymous_id: str = "d.1") -> None:
    for n, event in enumerate(events):
        event.property, event.id = "p", f"{anonymous_id}-{n}"
        event.timestamp = event.received_at = AT
        event.anonymous_id = event.anonymous_id or anonymous_id
        prepare(event, PrivacySettings(identifiers="hash"))
    record = records.Record(
        kind=records.DECODED, request_id=records.uuid7(), endpoint="/collect", property="p", received_at=0
    )
    store.load([(record, records.Outcome(events=events, client_ids=[False] * len(events)))], {})


def everything(store: DuckStore) -> str:
    cur = store.cursor()
    tables = [t for (t,) in cur.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
    rows = [cur.sql(f'SELECT * FROM "{t}"').to_arrow_table().to_pylist() for t in tables]
    return json.dumps(rows, default=str).lower()


# (seed, user id given, email given): by user id only where one was sent
ASKED = [
    (seed, user, email)
    for seed in SEEDS
    for user, email in [(EMAIL, None), (None, EMAIL), (None, "john.doe@gmail.com")]
    if user is None or seed == "user id"
]


@pytest.mark.parametrize(("seed", "user", "email"), ASKED)
def test_a_person_stored_hashed_is_found_and_forgotten_by_their_email_or_user_id(store, seed, user, email):
    dialect, payload = SEEDS[seed]
    load(store, decoded(dialect, payload))
    text = everything(store)
    assert EMAIL.lower() not in text and any(h in text for h in HASHES)  # stored hashed only
    found = store.subject(user, email)
    assert len(found["people"]) == 1 and found["people"][0]["events"], found
    report = store.forget(user, email)
    assert report["people"] == 1 and report["events"] == 1, report
    text = everything(store)
    assert not [h for h in HASHES if h in text]


def test_an_email_in_someone_elses_url_is_scrubbed_hashed_too(store):
    """A page naming the person (stored with the hash of the address) names nobody, and the
    hash goes when the person is forgotten."""
    load(store, decoded(*SEEDS["user id"]))
    url = "https://shop.example/refer?to=John.Doe%40GMail.com"
    load(store, decoded("gtm-ga4", {"event": "page_view", "page_location": url}), anonymous_id="other")
    assert sha256_hex("john.doe@gmail.com") in everything(store)
    report = store.forget(None, EMAIL)
    assert report["people"] == 1
    assert sha256_hex("john.doe@gmail.com") not in everything(store)
    [(location,)] = (
        store.cursor()
        .execute("SELECT properties->>'page_location' FROM events WHERE anonymous_id = 'other'")
        .fetchall()
    )
    assert location == "https://shop.example/refer?to=[forgotten]"


@pytest.mark.parametrize("typed", [" bob ", "bob", "bob\t", "\u00a0bob"])
@pytest.mark.parametrize("sent", ["bob", " bob "])
def test_a_user_id_is_found_whatever_spaces_surround_it_as_the_state_keys_it(store, typed, sent):
    # The identity graph keys " bob " as bob (state/keys.py); a typed " bob " found nobody.
    load(store, decoded("ga4-mp", {"client_id": "d.1", "user_id": sent, "events": [{"name": "login"}]}))
    assert [p["ids"] for p in store.identity(typed)] != []
    assert len(store.subject(typed, None)["people"]) == 1
    report = store.forget(typed, None)
    assert report["people"] == 1 and report["events"] == 1
    assert store.identity("bob") == []


@pytest.mark.parametrize("left", [(".compact",), (".compact", ".compact.wal"), (".compact.wal",)])
def test_a_compaction_a_kill_interrupted_is_finished_when_the_store_opens_again(tmp_path, left):
    # Killed between the copy and the rename, it left its files: the store kept erased values
    # in free blocks, and the forget run again found nothing to do, so never compacted.
    path = tmp_path / "trackway.duckdb"
    store = DuckStore(path)
    load(store, decoded("ga4-mp", {"client_id": "d.1", "user_id": "bob", "events": [{"name": "login"}]}))
    store.close()
    inode = path.stat().st_ino
    for suffix in left:
        path.with_name(path.name + suffix).write_bytes(b"half a copy")
    store = DuckStore(path)
    try:
        assert [p.name for p in tmp_path.iterdir() if ".compact" in p.name] == []
        assert path.stat().st_ino != inode  # rewritten: a new file renamed over the old
        assert store.cursor().execute("SELECT user_id FROM events").fetchall() == [("bob",)]
    finally:
        store.close()


def load_in(store: DuckStore, prop: str, dialect: str, payload: Any, anonymous_id: str) -> None:
    """``payload``'s events in ``prop`` with identifiers kept as they came (the default)."""
    events = decoded(dialect, payload)
    for n, event in enumerate(events):
        event.property, event.id = prop, f"{prop}-{anonymous_id}-{n}"
        event.timestamp = event.received_at = AT
        event.anonymous_id = event.anonymous_id or anonymous_id
        prepare(event, PrivacySettings())
    record = records.Record(
        kind=records.DECODED, request_id=records.uuid7(), endpoint="/collect", property=prop, received_at=0
    )
    store.load([(record, records.Outcome(events=events, client_ids=[False] * len(events)))], {})


def _column(store: DuckStore, sql: str) -> list[Any]:
    return [v for (v,) in store.cursor().execute(sql).fetchall()]


ITEMS = [{"item_id": "S1", "item_name": "Tee", "price": 5, "quantity": 1}]


def test_a_propertys_forget_and_export_see_and_change_only_that_propertys_rows(store):
    # A property's token named a value another property holds: it read that property's
    # events under "elsewhere", and rewrote its currencies.
    purchase = {
        "client_id": "v.1",
        "user_id": "victor",
        "user_data": {"email_address": "victor@example.com"},
        "events": [
            {
                "name": "purchase",
                "params": {"transaction_id": "T1", "currency": "EUR", "value": 5, "items": ITEMS},
            }
        ],
    }
    load_in(store, "shop", "ga4-mp", purchase, "v.1")
    before = everything(store)
    for user, email in [("EUR", None), (None, "victor@example.com"), ("victor", None)]:
        assert store.subject(user, email, "other") == {"people": [], "elsewhere": {}}
        report = store.forget(user, email, "other")
        assert report["people"] == 0 and report["elsewhere"] == {}, report
    assert everything(store) == before
    assert store.subject(None, "victor@example.com", "shop")["people"]  # its own property's token finds it


@pytest.mark.parametrize(
    ("users", "forgets"),
    [
        (["Bob@X.com", "bob@x.com ", "BOB@X.COM"], [(None, "bob@x.com")]),  # three people an address names
        ([None, None], [("lonely.1", None), ("lonely.2", None)]),  # guest ids given as user ids: nobody found
    ],
)
def test_a_forget_never_merges_people_whose_ids_it_erases(store, users, forgets):
    # Every erased id became the same "[forgotten]": after it the three were one person.
    for n, user in enumerate(users):
        body: dict[str, Any] = {"client_id": f"lonely.{n + 1}", "events": [{"name": "login"}]}
        if user is not None:
            body["user_id"] = user
        load_in(store, "p", "ga4-mp", body, f"lonely.{n + 1}")
    people = len(users)
    assert len(set(_column(store, "SELECT person_id FROM event_persons"))) == people
    for user, email in forgets:
        store.forget(user, email, "p")
    store.rebuild()
    assert len(set(_column(store, "SELECT person_id FROM event_persons"))) == people
    left = _column(store, "SELECT coalesce(user_id, '') || ' ' || anonymous_id FROM events")
    assert "bob" not in " ".join(left).lower() and not {"lonely.1", "lonely.2"} & set(left), left
