"""Ingestion in batches and `rebuild` give the same derived tables."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pyarrow as pa
import pytest

from tests.support.logrecords import decoded_record
from trackway.ingest import records
from trackway.model import Commerce, Event, Item
from trackway.state import refunds
from trackway.state.memory import Dirty
from trackway.state.model import Identity
from trackway.store import keyed
from trackway.store.claims import Claimed
from trackway.store.duck import DuckStore
from trackway.store.state_tables import KEYS, TABLES, _table

T0 = datetime(2026, 11, 1, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # a record received at 0


def _untidy(rnd: random.Random, value: str | None) -> str | None:
    """``value``, now and then with white space around it (the same id to the state)."""
    if value is None or rnd.random() > 0.05:
        return value
    return rnd.choice([" ", "\t", "\u00a0"]) + value + rnd.choice(["", " ", "\n"])


def workload(seed: int, n: int) -> list[Event]:
    """Random traffic that exercises every rule: guests logging in on shared devices,
    carts, orders with status updates and refunds, Koalect procedures; ids now and then
    with spaces around them, events now and then arriving late (an older time), items now
    and then with a quantity of 0 or less."""
    rnd = random.Random(seed)
    anons = [f"a{i}" for i in range(40)] + ["null", "0", ""]
    users = [f"u{i}" for i in range(15)]
    items = [f"sku{i}" for i in range(8)]
    txids = [f"T{i}" for i in range(30)]
    out = []
    for k in range(n):
        at = T0 + timedelta(seconds=k * 7)
        if rnd.random() < 0.05:
            at -= timedelta(hours=rnd.randint(1, 72))  # arrives late
        anon = _untidy(rnd, rnd.choice(anons)) if rnd.random() < 0.9 else None
        user = _untidy(rnd, rnd.choice(users)) if rnd.random() < 0.3 else None
        name = rnd.choice(
            [
                "add_to_cart",
                "add_to_cart",
                "remove_from_cart",
                "update_cart",
                "purchase",
                "refund",
                "login",
                "view_step",
                "begin_checkout",
                "execution",
            ]
        )
        lines = [
            Item(
                item_id=rnd.choice(items),
                price=Decimal(rnd.randint(1, 5000)) / 100,
                quantity=rnd.randint(1, 3) if rnd.random() < 0.95 else rnd.randint(-2, 0),
            )
            for _ in range(rnd.randint(0, 3))
        ]
        commerce = None
        props = {}
        if name in ("add_to_cart", "remove_from_cart", "update_cart"):
            commerce = Commerce(currency=rnd.choice(["EUR", "USD"]), items=lines)
        elif name in ("purchase", "refund"):
            commerce = Commerce(
                transaction_id=_untidy(rnd, rnd.choice(txids)),
                currency="EUR" if name == "purchase" or rnd.random() < 0.9 else rnd.choice([None, "USD"]),
                value=Decimal(rnd.randint(100, 90000)) / 100 if rnd.random() < 0.8 else None,
                status=rnd.choice([None, "pending", "in_progress", "shipped", "canceled"]),
                items=lines if rnd.random() < 0.6 else None,
            )
        if name in ("view_step", "begin_checkout", "execution", "purchase") and rnd.random() < 0.5:
            props = {"procedure_id": rnd.choice(["P1", "P2"]), "procedure_category": "donation"}
            if name == "view_step":
                props |= {
                    "step_index": rnd.randint(1, 3),
                    "step_name": rnd.choice(["personal_infos", "custom", "success"]),
                }
        out.append(
            Event(
                name=name,
                dialect="koalect" if props else "gtm-ga4",
                id=f"e{k:06d}",
                property=rnd.choice(["shop", "shop", "donations"]),
                timestamp=at,
                received_at=at,
                anonymous_id=anon,
                user_id=user,
                commerce=commerce,
                properties=props,
            )
        )
    return out


def load_in_batches(store: DuckStore, events: list[Event], seed: int) -> None:
    rnd = random.Random(seed)
    i = 0
    while i < len(events):
        size = rnd.randint(1, 200)
        chunk = events[i : i + size]
        record = decoded_record(EPOCH, "shop")
        store.load([(record, records.Outcome(events=chunk, client_ids=[False] * len(chunk)))], {})
        i += size


def _without_indexes(cur) -> None:
    """As a store written before store/keyed.py's indexes (DuckDB drops no column of an
    indexed table)."""
    keyed.drop(cur)


def snapshot(store: DuckStore) -> dict[str, list[dict]]:
    return {t: store.state_rows(t) for t in TABLES}


@pytest.mark.parametrize("lookup", ["join", "index"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rebuild_gives_the_tables_ingestion_gave(seed, lookup, monkeypatch):
    # The loader reads a small table by joining the batch's keys, a large one through its
    # indexes (store/keyed.py): either way the same tables.
    monkeypatch.setattr(keyed, "ROWS_PER_KEY", 0 if lookup == "index" else 10**12)
    store = DuckStore(":memory:")
    try:
        load_in_batches(store, workload(seed, 3000), seed)
        ingested = snapshot(store)
        assert all(ingested[t] for t in ("identities", "carts", "orders", "order_history", "procedures"))
        assert ingested["identity_links"] and ingested["identity_conflicts"]
        assert store.rebuild() == 3000
        indexes = {r[0] for r in store.cursor().execute("SELECT index_name FROM duckdb_indexes()").fetchall()}
        assert {f"{t}_by_{c}" for t, c in keyed.INDEXES} <= indexes  # dropped for the rebuild, made again
        rebuilt = snapshot(store)
        for table in TABLES:
            assert rebuilt[table] == ingested[table], table
    finally:
        store.close()


def test_rows_presumed_new_are_inserted_plainly_and_a_stored_one_makes_the_batch_run_again(monkeypatch):
    # flush inserts the changed rows the batch's look-ups did not find with a plain INSERT.
    # Here every look-up "misses" (the loaded keys are forgotten), so each batch that
    # changes a stored row meets its key, is rolled back and runs again writing every row
    # as before: the same tables as ingestion with the look-ups' answers, nothing twice.
    from trackway.store import state_tables

    events = workload(4, 1500)
    store = DuckStore(":memory:")
    try:
        load_in_batches(store, events, 4)
        expected = snapshot(store)
    finally:
        store.close()
    prefetch, flush = state_tables.prefetch, state_tables.flush
    calls: list[tuple[bool, bool]] = []  # (plain, raised)

    def forgetful(*args, **kwargs):
        state = prefetch(*args, **kwargs)
        state.loaded = Dirty()
        return state

    def counted(*args, plain=False, **kwargs):
        try:
            flush(*args, plain=plain, **kwargs)
        except Claimed:
            calls.append((plain, True))
            raise
        calls.append((plain, False))

    monkeypatch.setattr(state_tables, "prefetch", forgetful)
    monkeypatch.setattr(state_tables, "flush", counted)
    store = DuckStore(":memory:")
    try:
        load_in_batches(store, events, 4)
        assert snapshot(store) == expected
        [(stored,)] = store.cursor().execute("SELECT count(*) FROM events").fetchall()
    finally:
        store.close()
    assert stored == len(events)
    assert (True, True) in calls and (False, False) in calls  # a stored row met, then the retry
    assert (True, False) in calls  # batches that changed only new rows: no retry


def test_the_memory_store_keeps_the_same_state_as_a_rebuild():
    from trackway.store.memory import MemoryStore

    store = MemoryStore()
    events = workload(7, 1500)
    record = decoded_record(EPOCH, "shop")
    store.load([(record, records.Outcome(events=events, client_ids=[False] * len(events)))], {})
    before = store.state
    store.rebuild()
    after = store.state
    assert before.identities == after.identities
    assert (
        before.orders == after.orders
        and before.carts == after.carts
        and before.procedures == after.procedures
    )


def test_a_store_from_before_the_orders_parts_derives_them_when_opened(tmp_path):
    path = tmp_path / "old.duckdb"
    store = DuckStore(path)
    load_in_batches(store, workload(9, 600), 9)
    ua = Event(
        name="purchase",
        dialect="gtm-ua",
        id="ua1",
        property="shop",
        timestamp=T0,
        received_at=T0,
        anonymous_id="ua-buyer",
        commerce=Commerce(
            transaction_id="UA1",
            currency="EUR",
            value=Decimal("22.53"),
            tax=Decimal("3.20"),
            shipping=Decimal("3.33"),
        ),
    )
    load_in_batches(store, [ua], 9)
    expected = snapshot(store)["orders"]
    assert next(r for r in expected if r["transaction_id"] == "UA1")["revenue"] == Decimal("16.00")
    cur = store.cursor()
    _without_indexes(cur)
    for column in ("subtotal", "discount", "total"):  # as a store written before them
        cur.execute(f"ALTER TABLE orders DROP COLUMN {column}")
    cur.execute("UPDATE orders SET revenue = NULL")  # which then held what Commanders Act stated
    store.close()
    store = DuckStore(path)
    try:
        assert snapshot(store)["orders"] == expected
        assert {r["currency"]: r["gross"] for r in store.revenue("shop")}["EUR"] > 0
    finally:
        store.close()


def test_a_store_from_before_the_refund_columns_rederives_its_refunds_when_opened(tmp_path):
    path = tmp_path / "old.duckdb"
    store = DuckStore(path)
    load_in_batches(store, workload(11, 600), 11)
    expected = snapshot(store)
    assert any(r["note"] for r in expected["order_history"])
    cur = store.cursor()
    for table, column in (
        ("orders", "refunded_items"),
        ("orders", "pending_refunds"),
        ("order_history", "note"),
    ):
        _without_indexes(cur)
        cur.execute(f"ALTER TABLE {table} DROP COLUMN {column}")  # as a store written before them
    cur.execute("UPDATE orders SET refunded = 0")  # refunds as the old rules booked them: rederived
    store.close()
    store = DuckStore(path)
    try:
        assert snapshot(store) == expected
    finally:
        store.close()


def _order_events() -> list[Event]:
    """A refund of order P, then (in another batch) its purchase."""
    items = [
        Item(item_id="A", price=Decimal(50), quantity=2),
        Item(item_id="B", price=Decimal(30), quantity=1),
    ]
    made = []
    for n, (name, commerce) in enumerate(
        [
            ("refund", Commerce(transaction_id="P", currency="EUR", items=[Item(item_id="A", quantity=3)])),
            ("purchase", Commerce(transaction_id="P ", currency="EUR", value=Decimal(130), items=items)),
            ("refund", Commerce(transaction_id="P", currency="EUR")),
        ]
    ):
        at = T0 + timedelta(minutes=n)
        made.append(
            Event(
                name=name,
                dialect="gtm-ga4",
                id=f"p{n}",
                property="shop",
                timestamp=at,
                received_at=at,
                anonymous_id="buyer",
                commerce=commerce,
            )
        )
    return made


def test_a_refund_stored_before_its_purchase_is_valued_in_its_stored_row_when_the_purchase_comes():
    store = DuckStore(":memory:")
    try:
        first, *rest = _order_events()
        load_in_batches(store, [first], 1)
        [row] = store.state_rows("order_history")
        assert (row["refund"], row["note"]) == (None, refunds.WAITING)
        for event in rest:  # one batch each: the refund's row is updated in the table
            load_in_batches(store, [event], 1)
        ingested = snapshot(store)
        assert [(r["name"], r["refund"]) for r in ingested["order_history"]] == [
            ("refund", Decimal(100)),  # 3 x A asked, 2 bought
            ("purchase", None),
            ("refund", Decimal(30)),
        ]
        assert (
            "expected at most 2 x 'A' back (bought less refunded before), got 3"
            in ingested["order_history"][0]["note"]
        )
        [order] = ingested["orders"]
        assert (order["transaction_id"], order["refunded"], order["pending_refunds"]) == (
            "P",
            Decimal(130),
            "[]",
        )
        store.rebuild()
        assert snapshot(store) == ingested
    finally:
        store.close()


AMOUNTS = [
    # (amount, stored): exact when it fits DECIMAL(38, 9), rounded to 9 places, NULL beyond 10^29
    (Decimal("59.97"), Decimal("59.97")),
    (Decimal("-0.000000001"), Decimal("-0.000000001")),
    (Decimal("1.0000000005"), Decimal("1.000000000")),
    (Decimal("1.0000000015"), Decimal("1.000000002")),
    (Decimal("99999999999999999999999999999.5"), Decimal("99999999999999999999999999999.5")),
    (Decimal("123456789012345678901.5000000004"), Decimal("123456789012345678901.500000000")),
    (Decimal("1E+29"), None),
    (Decimal("NaN"), None),
    (Decimal("Infinity"), None),
    (None, None),
]


@pytest.mark.parametrize(("amount", "stored"), AMOUNTS)
def test_an_orders_amounts_are_stored_exactly_or_rounded_to_the_columns_scale(tmp_path, amount, stored):
    from trackway.state.model import Order
    from trackway.store import state_tables

    store = DuckStore(tmp_path / "t.duckdb")
    try:
        order = Order(
            property="p",
            transaction_id="T1",
            value=amount,
            revenue=Decimal("1"),
            created_at=T0,
            updated_at=T0,
        )
        with store._transaction() as cur:
            keyed.insert(cur, "orders", state_tables._table(Order, [order]), verb="INSERT OR REPLACE")
        (row,) = store.state_rows("orders")
        assert row["value"] == stored
        assert row["revenue"] == Decimal("1")
        assert (row["property"], row["transaction_id"], row["created_at"]) == ("p", "T1", T0)
    finally:
        store.close()


def test_an_orders_amount_does_not_depend_on_the_other_rows_of_its_batch(tmp_path):
    """A value Arrow takes as it is and one it refuses (NaN) in one batch: the first is
    stored all the same, as it is alone."""
    from trackway.state.model import Order
    from trackway.store import state_tables

    big = Decimal("123456789012345678901.5")
    orders = [
        Order(property="p", transaction_id=t, value=v, created_at=T0, updated_at=T0)
        for t, v in (("T1", big), ("T2", Decimal("NaN")))
    ]
    store = DuckStore(tmp_path / "t.duckdb")
    try:
        with store._transaction() as cur:
            keyed.insert(cur, "orders", state_tables._table(Order, orders), verb="INSERT OR REPLACE")
        got = {r["transaction_id"]: r["value"] for r in store.state_rows("orders")}
        assert got == {"T1": big, "T2": None}
    finally:
        store.close()


def _identities(rows: list[tuple[str, str, str, str]]):
    return _table(
        Identity,
        [
            Identity(property=p, kind=k, id=i, person_id=who, first_seen=T0, last_seen=T0)
            for p, k, i, who in rows
        ],
    )


@pytest.mark.parametrize("lookup", ["join", "index"])
def test_a_batchs_rows_replace_the_stored_ones_by_either_path(lookup, monkeypatch):
    # Small tables take INSERT OR REPLACE; large ones an INSERT of the new keys and an
    # UPDATE by rowid of the stored ones, their person_id (indexed) only where it changed.
    store = DuckStore(":memory:")
    try:
        cur = store.cursor()
        stored = [("shop", "anonymous", f"a{n}", f"p{n}") for n in range(6)] + [
            ("donations", "anonymous", "a1", "q1")
        ]
        keyed.upsert(cur, "identities", KEYS["identities"], _identities(stored), table_rows=0)
        batch = [
            ("shop", "anonymous", "a1", "p1"),  # stored, the same person
            ("shop", "anonymous", "a2", "p9"),  # stored, another person
            ("shop", "user", "a1", "p1"),  # the same id of another kind: new
            ("shop", "anonymous", "new", "p1"),  # new
        ]
        later = datetime(2026, 12, 1, tzinfo=UTC)
        data = _identities(batch)
        data = data.set_column(
            data.column_names.index("last_seen"),
            "last_seen",
            pa.array([later] * len(batch), pa.timestamp("us", tz="UTC")),
        )
        keyed.upsert(
            cur, "identities", KEYS["identities"], data, table_rows=10**12 if lookup == "index" else 0
        )
        rows = {
            (r["property"], r["kind"], r["id"]): (r["person_id"], r["last_seen"])
            for r in store.state_rows("identities")
        }
    finally:
        store.close()
    assert len(rows) == 9
    assert rows[("shop", "anonymous", "a1")] == ("p1", later)
    assert rows[("shop", "anonymous", "a2")] == ("p9", later)
    assert rows[("shop", "user", "a1")] == ("p1", later)
    assert rows[("shop", "anonymous", "new")] == ("p1", later)
    assert rows[("shop", "anonymous", "a3")] == ("p3", T0)
    assert rows[("donations", "anonymous", "a1")] == ("q1", T0)


@pytest.mark.parametrize("lookup", ["join", "index"])
def test_ids_with_lone_surrogates_or_nul_are_stored_by_either_path(lookup, monkeypatch):
    # DuckStore.load replaces lone surrogates with U+FFFD when an insert cannot encode them;
    # the look-ups through the indexes must raise the same error for it to do so.
    monkeypatch.setattr(keyed, "ROWS_PER_KEY", 0 if lookup == "index" else 10**12)
    odd = [("\ud800x", "u\udfff", "T\ud800"), ("a\x00b", "x" * 100_000, "T\x00")]
    events = [
        Event(
            name="purchase",
            dialect="gtm-ga4",
            id=f"e{n}",
            property="shop",
            timestamp=T0,
            received_at=T0,
            anonymous_id=anon,
            user_id=user,
            commerce=Commerce(transaction_id=txid, currency="EUR"),
        )
        for n, (anon, user, txid) in enumerate(odd)
    ]
    store = DuckStore(":memory:")
    try:
        for _ in range(2):  # the second time, every key is stored
            record = decoded_record(EPOCH, "shop")
            store.load([(record, records.Outcome(events=events, client_ids=[False, False]))], {})
        ids = sorted(r["id"] for r in store.state_rows("identities"))
        orders = sorted(r["transaction_id"] for r in store.state_rows("orders"))
        [(stored,)] = store.cursor().execute("SELECT count(*) FROM events").fetchall()
    finally:
        store.close()
    assert stored == 4
    assert ids == sorted(["\ufffdx", "u\ufffd", "a\x00b", "x" * 100_000])
    assert orders == sorted(["T\ufffd", "T\x00"])
