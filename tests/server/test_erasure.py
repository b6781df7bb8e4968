"""`trackway forget` erases a person's identifiers wherever they were sent (issue 12):
dataLayer ``user_data``, ``page_location`` (plain and percent-encoded), GA4 MP
``user_data`` hashes, failed payloads, other people's events; no copy stays in the
DuckDB file; ``subject-export`` finds what ``forget`` changes."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from tests.support.inproc import harness
from trackway.destinations.consumer import DeadLetter
from trackway.destinations.deadletters import SUFFIX, DeadLetters
from trackway.ingest import log
from trackway.ingest.loader import Loader
from trackway.model import Commerce, Event, from_json, to_json
from trackway.privacy.pii import md5_hex, sha256_hex
from trackway.store.duck import DuckStore
from trackway.store.identifiers import FORGOTTEN

pytestmark = pytest.mark.anyio

EMAIL, PHONE, NAME = "Jane.Doe+shop@Example.com", "+33612345678", "Janine"
NORMAL = EMAIL.lower()


def forms() -> dict[str, str]:
    """What must not be found anywhere after the forget (case-insensitive)."""
    return {
        "email": EMAIL,
        "email quote": quote(EMAIL, safe=""),
        "email quote_plus": quote_plus(EMAIL),
        "email md5": md5_hex(NORMAL),
        "email sha256": sha256_hex(NORMAL),
        "phone": PHONE,
        "phone quote_plus": quote_plus(PHONE),
        "phone sha256": sha256_hex(PHONE),
        "user id": "u-777",
        "anonymous id": "dev-777",
    }


@pytest.fixture
async def hf(tmp_path):
    """A harness whose store is a file (the erasure rewrites it)."""
    hs = await harness(tmp_path, store=DuckStore(tmp_path / "trackway.duckdb"))
    yield hs
    await hs.client.aclose()
    hs.writer.close()
    hs.store.close()


async def seed(h) -> None:
    url = f"https://shop.example/thanks?email={EMAIL}&e={quote(EMAIL, safe='')}&p={quote_plus(PHONE)}"
    body = {
        "key": h.keys()["collect_key"],
        "anonymous_id": "dev-777",
        "user_id": "u-777",
        "events": [
            {
                "event": "page_view",
                "page_location": url,
                "user_data": {"email": EMAIL, "phone_number": PHONE, "first_name": NAME},
            }
        ],
    }
    assert (await h.client.post("/collect", json=body)).status_code == 200
    mp = {
        "client_id": "dev-777",
        "user_id": "u-777",
        "user_data": {
            "sha256_email_address": [sha256_hex(NORMAL)],
            "sha256_phone_number": [sha256_hex(PHONE)],
        },
        "events": [{"name": "login", "params": {}}],
    }
    assert (await h.client.post(h.mp(), json=mp)).status_code == 204
    other = {  # someone else's page naming the person (a referral form)
        "key": h.keys()["collect_key"],
        "anonymous_id": "someone-else",
        "events": [
            {"event": "page_view", "page_location": f"https://shop.example/refer?to={quote_plus(EMAIL)}"}
        ],
    }
    assert (await h.client.post("/collect", json=other)).status_code == 200
    bad = {  # invalid (a value without a currency): stored in failed_events
        "event_name": "purchase",
        "user": {"id": "u-777", "email": EMAIL.upper(), "phone": PHONE},
        "value": "not a number",
        "context": {"event_id": "bad", "event_timestamp": 1},
    }
    assert (await h.client.post(h.ca(), json=bad)).status_code == 200
    await h.load()


def found_in_tables(h) -> dict[str, list[str]]:
    cur = h.store.cursor()
    out: dict[str, list[str]] = {}
    tables = [t for (t,) in cur.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
    for table in tables:
        rows = cur.sql(f'SELECT * FROM "{table}"').to_arrow_table().to_pylist()
        text = json.dumps(
            rows, default=lambda v: v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
        ).lower()
        hits = [name for name, form in forms().items() if form.lower() in text]
        if hits:
            out[table] = hits
    return out


@pytest.mark.parametrize(("user", "email"), [("u-777", None), (None, EMAIL), (None, NORMAL.upper())])
async def test_forget_erases_every_form_of_the_identifiers_in_every_table(hf, user, email):
    await seed(hf)
    before = found_in_tables(hf)
    assert {"events", "failed_events", "identities"} <= set(before), before  # the test can fail
    report = hf.store.forget(user, email)
    assert report["people"] == 1, report
    assert found_in_tables(hf) == {}
    cur = hf.store.cursor()
    [(named,)] = cur.execute(
        "SELECT count(*) FROM events WHERE properties::VARCHAR ILIKE '%janine%'"
    ).fetchall()
    assert named == 0  # the person's other traits are gone from their events
    [(others,)] = cur.execute(
        "SELECT count(*) FROM events WHERE anonymous_id = 'someone-else' AND properties::VARCHAR LIKE ?",
        [f"%{FORGOTTEN}%"],
    ).fetchall()
    assert others == 1  # someone else's event keeps its person, without the email
    assert hf.store.identity("someone-else")


def raw_hits(path) -> dict[str, int]:
    """How many times each identifier appears in the raw bytes of the file (and its WAL)."""
    data = b"".join(p.read_bytes() for p in (path, path.with_name(path.name + ".wal")) if p.exists())
    return {
        n: data.lower().count(f.lower().encode())
        for n, f in forms().items()
        if data.lower().count(f.lower().encode())
    }


async def test_no_copy_of_an_erased_value_stays_in_the_database_file(hf, tmp_path):
    await seed(hf)
    path = tmp_path / "trackway.duckdb"
    hf.store.checkpoint()
    before = raw_hits(path)
    assert before, "the identifiers should be in the file before the forget"
    report = hf.store.forget("u-777", None)
    assert report["compacted"] is True
    assert raw_hits(path) == {}
    assert hf.store.sql("SELECT count(*) FROM events")[1] == [(3,)]  # the events stay
    hf.store.close()
    again = DuckStore(path)
    try:
        assert raw_hits(path) == {}
        assert again.sql("SELECT count(*) FROM events")[1] == [(3,)]
    finally:
        again.close()
    hf.store = DuckStore(path)  # for the fixture's close


async def test_the_store_keeps_loading_after_the_file_is_rewritten(hf):
    await seed(hf)
    hf.store.forget("u-777", None)
    body = {"key": hf.keys()["collect_key"], "anonymous_id": "later", "events": [{"event": "page_view"}]}
    assert (await hf.client.post("/collect", json=body)).status_code == 200
    await hf.load()
    assert hf.store.sql("SELECT count(*) FROM events WHERE anonymous_id = 'later'")[1] == [(1,)]


async def test_subject_export_finds_every_row_forget_changes(hf):
    await seed(hf)
    cur = hf.store.cursor()

    def snapshot() -> dict[tuple[str, str], str]:
        cur = hf.store.cursor()  # the forget reopens the file: a cursor from before is closed
        rows = cur.sql("SELECT seq::VARCHAR AS k, t::VARCHAR AS v FROM events t").fetchall()
        failed = cur.sql("SELECT id AS k, t::VARCHAR AS v FROM failed_events t").fetchall()
        return {("events", k): v for k, v in rows} | {("failed_events", k): v for k, v in failed}

    found = hf.store.subject(None, EMAIL)
    listed = {("events", str(e["seq"])) for e in found["elsewhere"].get("events", [])}
    listed |= {("failed_events", f["id"]) for f in found["elsewhere"].get("failed_events", [])}
    for person in found["people"]:
        listed |= {("failed_events", f["id"]) for f in person["failed_events"]}
    person_ids = {e["id"] for p in found["people"] for e in p["events"]}
    seq_of = dict(cur.execute("SELECT id, seq::VARCHAR FROM events").fetchall())
    listed |= {("events", seq_of[i]) for i in person_ids}
    before = snapshot()
    hf.store.forget(None, EMAIL)
    after = snapshot()
    changed = {k for k in before if before[k] != after.get(k)}
    assert changed, "the forget changed nothing"
    assert changed <= listed, changed - listed


async def test_data_files_and_dirs_are_private(hf, tmp_path):
    await seed(hf)
    hf.store.forget("u-777", None)
    path = tmp_path / "trackway.duckdb"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path).st_mode) == 0o700


def _record(**event: Any) -> bytes:
    """A framed log record of one /collect event, as a worker writes it."""
    from trackway.ingest import log, pipeline, records
    from trackway.model import Event, to_json

    e = Event(name="page_view", dialect="gtag-ga4", **event)
    record = records.Record(
        kind=records.DECODED,
        request_id=str(records.uuid7()),
        endpoint="/collect",
        property="default",
        received_at=records.micros(datetime.now(UTC)),
    )
    record.client_ids = pipeline.finalize([e], record, 0)
    record.events = [to_json(e)]
    return log.frame(records.dumps(record))


async def test_loaded_log_segments_kept_by_keep_log_are_scrubbed_and_workers_asked_to_rotate(hf, tmp_path):
    await seed(hf)
    slot = tmp_path / "log" / "w7"
    slot.mkdir()
    mine = _record(
        user_id="u-777", properties={"page_location": f"https://shop.example/?e={quote_plus(EMAIL)}"}
    )
    theirs = _record(anonymous_id="someone-else", properties={"marker": "kept"})
    (slot / "000000000001.log").write_bytes(mine + theirs)
    # The segment its worker writes now (an empty one holds nothing to wait for).
    (slot / "000000000002.log").write_bytes(_record(anonymous_id="later", properties={"marker": "later"}))
    log.seal(slot / "000000000001.log", len(mine + theirs))  # as its writer left it
    Loader(tmp_path / "log", hf.store, lambda: hf.cfg, keep_log=True).catch_up()
    segment = (slot / "000000000001.log").read_bytes()
    assert quote_plus(EMAIL).encode() in segment  # the test can fail
    report = hf.store.forget("u-777", None)
    assert report["log"]["records"] == 1 and report["log"]["segments"] == 1, report["log"]
    assert "w7/000000000002.log" in report["log"]["waiting"]
    segment = (slot / "000000000001.log").read_bytes()
    assert [n for n, f in forms().items() if f.lower().encode() in segment.lower()] == []
    assert b"kept" in segment and b"someone-else" in segment  # someone else's record is intact
    reports: list[object] = []
    assert [p for _, p in log.read(slot, log.Position(1, 0), 10, lambda *a: reports.append(a)) if p]
    # Still a readable log, sealed at its new size: its new end is not taken for a lost tail.
    assert log.sealed_end(slot / "000000000001.log") == len(segment) != len(mine + theirs)
    assert reports == []
    assert stat.S_IMODE(os.stat(slot / "000000000001.log").st_mode) == 0o600
    assert (tmp_path / "run" / "log-rotate").exists()


async def test_forget_by_email_finds_a_guest_whose_datalayer_user_data_holds_it(hf):
    body = {
        "key": hf.keys()["collect_key"],
        "anonymous_id": "guest-5",
        "events": [{"event": "page_view", "user_data": {"email": EMAIL, "first_name": NAME}}],
    }
    assert (await hf.client.post("/collect", json=body)).status_code == 200
    await hf.load()
    report = hf.store.forget(None, NORMAL)
    assert report["people"] == 1 and report["events"] == 1, report
    [(anonymous, properties)] = (
        hf.store.cursor().execute("SELECT anonymous_id, properties FROM events").fetchall()
    )
    assert anonymous.startswith("forgotten-") and EMAIL not in properties and NAME not in properties


async def test_an_ip_shared_with_the_person_marks_no_one_elses_failed_payload(hf):
    # the IP counted as the person's identifier: behind one proxy (or in the demo) every failed
    # payload was exported as theirs, and forget erased everyone's IP
    await seed(hf)
    carol = {
        "event_name": "purchase",
        "user": {"id": "u-888", "email": "carol@example.com"},
        "value": "not a number",
        "context": {"event_id": "carol", "event_timestamp": 1},
    }
    assert (await hf.client.post(hf.ca(), json=carol)).status_code == 200
    await hf.load()

    def carols() -> str:
        rows = hf.store.cursor().execute("SELECT payload, meta FROM failed_events").fetchall()
        [meta] = [m for p, m in rows if b"u-888" in bytes(p)]
        return meta

    before = carols()
    ips = {e["context"].get("ip") for p in hf.store.subject("u-777", None)["people"] for e in p["events"]}
    shared = [ip for ip in ips if ip and ip in before]
    assert shared, (ips, before)  # the test can fail: Carol's payload has the person's IP
    exported = hf.store.subject("u-777", None)
    assert not [f for p in exported["people"] for f in p["failed_events"] if "u-888" in f["payload"]]
    hf.store.forget("u-777", None)
    assert carols() == before


async def test_forget_scrubs_the_destinations_dead_letters_and_subject_export_lists_them(hf, tmp_path):
    # a dead letter keeps whole events for `destination retry`: forget left them there
    await seed(hf)
    rows = hf.store.cursor().execute("SELECT id FROM events WHERE user_id = 'u-777'").fetchall()
    theirs = Event(
        name="purchase",
        dialect="commanders-act",
        id=rows[0][0],
        user_id="u-777",
        anonymous_id="dev-777",
        user={"email": EMAIL, "phone": PHONE},
        commerce=Commerce(currency="EUR", value=Decimal("12345678901234.567")),
    )
    someone = Event(name="search", dialect="gtm-ga4", id="other-1", anonymous_id="someone-else")
    letters = DeadLetters(tmp_path / "run" / "destinations" / f"shop.hook{SUFFIX}")
    for event in (theirs, someone):
        letters.append(
            DeadLetter(
                "shop.hook", (event.id,), "HTTP 400", datetime.now(UTC), 400, payloads=(to_json(event),)
            )
        )
    listed = hf.store.subject("u-777", None)["dead_letters"]
    assert [d["events"] for d in listed] == [[theirs.id]] and listed[0]["destination"] == "shop.hook"
    report = hf.store.forget("u-777", None)
    assert report["dead_letters"] == 1
    text = letters.path.read_text().lower()
    assert not [n for n, form in forms().items() if form.lower() in text]
    [mine, other] = letters.pending()
    assert from_json(other.payloads[0]) == someone  # another's letter as it was
    kept = from_json(mine.payloads[0])
    assert kept.commerce.value == Decimal("12345678901234.567") and kept.user_id != "u-777"
    letters.append(
        DeadLetter("shop.hook", ("later",), "HTTP 400", datetime.now(UTC))
    )  # the file still takes them
    assert [s.events for s in letters.pending()][-1] == ("later",)


@pytest.mark.parametrize(("kind", "elsewhere"), [("anonymous", False), ("user", True)])
async def test_an_id_only_the_identity_table_holds_is_exported_and_erased_alike(
    hf, tmp_path, kind, elsewhere
):
    # forget scrubbed the dead letters with the person's identity-table ids, subject-export
    # searched them with their events' anonymous ids only: a letter holding such an id was
    # erased without having been exported. And forget read the person's user ids once their
    # identities were gone: one only the identity table held stayed in others' rows that
    # subject-export listed.
    await seed(hf)
    ghost = f"{kind}-ghost-1"
    referral = {
        "key": hf.keys()["collect_key"],
        "anonymous_id": "someone-else",
        "events": [{"event": "page_view", "page_location": f"https://shop.example/refer?by={ghost}"}],
    }
    assert (await hf.client.post("/collect", json=referral)).status_code == 200
    await hf.load()
    cur = hf.store.cursor()
    [(prop, person)] = cur.execute("SELECT property, person_id FROM identities WHERE id = 'u-777'").fetchall()
    cur.execute("INSERT INTO identities VALUES (?, ?, ?, ?, now(), now())", [prop, kind, ghost, person])
    event = Event(name="page_view", dialect="gtm-ga4", id="ghost-event", **{f"{kind}_id": ghost})
    letters = DeadLetters(tmp_path / "run" / "destinations" / f"shop.hook{SUFFIX}")
    at = datetime.now(UTC)
    letters.append(DeadLetter("shop.hook", (event.id,), "HTTP 400", at, 400, payloads=(to_json(event),)))

    def referrals() -> list[str]:
        found = hf.store.cursor().execute(
            "SELECT properties::VARCHAR FROM events WHERE properties::VARCHAR LIKE '%/refer?by=%'"
        )
        return [text for (text,) in found.fetchall()]

    exported = hf.store.subject("u-777", None)
    assert [d["events"] for d in exported["dead_letters"]] == [["ghost-event"]]
    shown = [e for e in exported["elsewhere"].get("events", []) if ghost in str(e["properties"])]
    assert bool(shown) is elsewhere
    report = hf.store.forget("u-777", None)
    assert report["dead_letters"] == 1 and ghost not in letters.path.read_text()
    assert [ghost in text for text in referrals()] == [not elsewhere]


async def test_forget_leaves_a_segment_a_destination_has_not_read_as_it_is(hf, tmp_path):
    # The scrub rewrote every segment the loader had passed: a destination behind it then read
    # from a byte offset inside a moved record, skipped the records after it ("skipped N damaged
    # bytes") and never sent acknowledged events. Such a segment waits, as one being written does.
    await seed(hf)
    slot = tmp_path / "log" / "w7"
    slot.mkdir()
    mine = _record(user_id="u-777", properties={"marker": "mine"})
    first = mine + _record(anonymous_id="someone-else", properties={"marker": "kept"})
    (slot / "000000000001.log").write_bytes(first)
    (slot / "000000000002.log").write_bytes(mine)
    (slot / "000000000003.log").write_bytes(b"")  # the one its worker writes now
    Loader(tmp_path / "log", hf.store, lambda: hf.cfg, keep_log=True).catch_up()
    second = (slot / "000000000002.log").read_bytes()
    report = hf.store.forget("u-777", None, None, lambda path: path.name != "000000000001.log")
    assert report["log"]["segments"] == 1 and "w7/000000000002.log" in report["log"]["waiting"], report["log"]
    assert (slot / "000000000002.log").read_bytes() == second  # byte for byte: offsets still hold
    assert b"u-777" not in (slot / "000000000001.log").read_bytes()
