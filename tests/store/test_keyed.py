"""Rows by key through a join or a table's index (store/keyed.py): the same rows."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from trackway.store import keyed, persons, schema
from trackway.store.duck import DuckStore
from trackway.store.state_tables import DDL


def _tables(con) -> None:
    """The store's tables, without its indexes."""
    con.execute(schema.DDL)
    con.execute(DDL)
    con.execute(persons.DDL)


ODD = ["a\x00b", "x" * 100_000, "a'b", 'q"q', "x); DROP TABLE identities; --", "é", "\\", " ", "?", "$1"]


@pytest.fixture
def cur():
    con = duckdb.connect()
    _tables(con)
    assert keyed.create(con) == []
    rows = [
        (p, k, i, f"person-{p}-{i}")
        for p in ("shop", "donations")
        for k in ("anonymous", "user")
        for i in ODD
    ]
    rows += [("shop", "anonymous", f"n{n}", f"person-{n % 7}") for n in range(5000)]
    con.executemany("INSERT INTO identities (property, kind, id, person_id) VALUES (?, ?, ?, ?)", rows)
    con.executemany(
        "INSERT INTO carts (property, cart_id, person_id, status) VALUES (?, ?, ?, ?)",
        [("shop", f"c{n}", f"person-{n % 7}", "open" if n % 2 else "closed") for n in range(40)],
    )
    yield con
    con.close()


IDENT = ("property", "kind", "id")
CASES = [
    ("no keys", "identities", IDENT, set(), ""),
    (
        "the same id in other properties and kinds is left out",
        "identities",
        IDENT,
        {("shop", "user", "a'b")},
        "",
    ),
    ("ids SQL would read as syntax", "identities", IDENT, {("donations", "anonymous", v) for v in ODD}, ""),
    ("keys not stored", "identities", IDENT, {("shop", "user", "nobody"), ("x", "anonymous", "n1")}, ""),
    (
        "more keys than one IN list takes",
        "identities",
        IDENT,
        {("shop", "anonymous", f"n{n}") for n in range(0, 10000, 2)},
        "",
    ),
    ("by a column that is not the key", "identities", ("property", "person_id"), {("shop", "person-3")}, ""),
    (
        "with a condition",
        "carts",
        ("property", "person_id"),
        {("shop", "person-1"), ("shop", "person-2")},
        "status = 'open'",
    ),
]


def _sorted(rows):
    return sorted(rows, key=repr)


@pytest.mark.parametrize(("case", "table", "names", "keys", "condition"), CASES, ids=[c[0] for c in CASES])
def test_a_join_and_the_index_give_the_same_rows(cur, case, table, names, keys, condition, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(keyed, "FEW", 0)  # a few keys are otherwise looked up whatever the table's size
        joined = keyed.select(cur, table, names, keys, table_rows=0, condition=condition)
    indexed = keyed.select(cur, table, names, keys, table_rows=10**12, condition=condition)
    assert _sorted(indexed) == _sorted(joined)
    expected = cur.execute(f"SELECT * FROM {table}" + (f" WHERE {condition}" if condition else "")).fetchall()
    columns = [d[0] for d in cur.description]
    want = [dict(zip(columns, r, strict=True)) for r in expected]
    assert _sorted(joined) == _sorted(r for r in want if tuple(r[n] for n in names) in keys)
    assert cur.execute("SELECT count(*) FROM identities").fetchone()[0] == 5000 + 2 * 2 * len(ODD)


def test_only_an_indexed_column_is_read_by_its_index(cur):
    with pytest.raises(
        ValueError,
        match=r"expected a key with one of the indexed columns .* got carts\(.property., .status.\)",
    ):
        keyed.select(cur, "carts", ("property", "status"), {("shop", "open")}, table_rows=10**12)


@pytest.mark.parametrize(
    ("rows", "keys", "index"),
    [(0, 1, False), (999, 1, False), (1000, 1, True), (10**6, 1000, True), (10**6, 1001, False)],
)
def test_a_table_is_read_by_its_index_from_a_thousand_rows_a_key(rows, keys, index):
    assert keyed.by_index(rows, keys) is index


@pytest.mark.parametrize(
    ("rows", "keys", "index"),
    [
        (0, 1, True),
        (0, keyed.FEW, True),
        (0, keyed.FEW + 1, False),
        (10**6, 1000, True),
        (10**6, 1001, False),
    ],
)
def test_a_few_keys_are_looked_up_in_a_table_of_any_size(rows, keys, index):
    assert keyed.looked_up(rows, keys) is index


def test_sizes_are_read_again_once_a_second(cur):
    now = [100.0]
    sizes = keyed.Sizes(clock=lambda: now[0])
    assert sizes(cur)["carts"] == 40
    cur.execute("INSERT INTO carts (property, cart_id, person_id, status) VALUES ('shop', 'c', 'p', 'open')")
    now[0] += 0.5
    assert sizes(cur)["carts"] == 40  # the last read, half a second old
    now[0] += 0.5
    assert sizes(cur)["carts"] == 41


def test_the_index_is_used(cur):
    plan = cur.execute("EXPLAIN ANALYZE SELECT * FROM identities WHERE id IN (?, ?)", ["n1", "n2"]).fetchall()
    assert "Type: Index Scan" in plan[0][1]


def test_a_store_made_before_the_indexes_has_them_once_opened(tmp_path):
    path = tmp_path / "t.duckdb"
    DuckStore(path).close()
    con = duckdb.connect(str(path))
    for table, column in keyed.INDEXES:
        con.execute(f"DROP INDEX {table}_by_{column}")
    con.close()
    store = DuckStore(path)
    try:
        found = set(store.cursor().execute("SELECT index_name FROM duckdb_indexes()").fetchall())
    finally:
        store.close()
    assert {(f"{t}_by_{c}",) for t, c in keyed.INDEXES} <= found


def test_sizes_counts_the_rows_of_each_table(cur):
    assert keyed.sizes(cur)["identities"] == 5000 + 2 * 2 * len(ODD)
    assert keyed.sizes(cur)["carts"] == 40


def test_an_index_that_does_not_fit_in_memory_is_left_out_and_the_answers_stay(caplog, tmp_path):
    con = duckdb.connect(str(tmp_path / "old.duckdb"))  # a store written before the indexes
    _tables(con)
    con.execute(
        "INSERT INTO identities (property, kind, id, person_id) "
        "SELECT 'shop', 'anonymous', 'id-' || i, 'p-' || i FROM range(300000) t(i)"
    )
    con.close()
    con = duckdb.connect(str(tmp_path / "old.duckdb"), config={"memory_limit": "4MB"})
    missing = keyed.create(con)
    assert "identities_by_id" in missing
    assert "could not make the index identities_by_id on identities(id)" in caplog.text
    assert "raise store_memory_limit" in caplog.text
    con.execute("SET memory_limit = '1GB'")
    keys = {("shop", "anonymous", "id-7"), ("shop", "anonymous", "id-299999"), ("shop", "user", "id-7")}
    found = keyed.select(con, "identities", IDENT, keys, table_rows=10**12)
    assert sorted(r["id"] for r in found) == ["id-299999", "id-7"]
    con.close()


@pytest.mark.parametrize("large", [False, True], ids=["joined", "by rowid"])
def test_update_sets_the_columns_of_the_stored_keys_only(large):
    con = duckdb.connect()
    _tables(con)
    assert keyed.create(con) == []
    con.execute(
        "INSERT INTO persons VALUES "
        "('shop', 'p1', 1, NULL), ('shop', 'p2', 2, NULL), ('donations', 'p1', 3, NULL)"
    )
    data = pa.table(
        {
            "property": ["shop", "shop", "elsewhere"],
            "person_id": ["p1", "nobody", "p2"],
            "merged_into": pa.array([2, 9, 9], pa.int64()),
        }
    )
    keyed.update(con, "persons", ("property", "person_id"), data, table_rows=10**12 if large else 0)
    assert con.execute("SELECT * FROM persons ORDER BY ALL").fetchall() == [
        ("donations", "p1", 3, None),
        ("shop", "p1", 1, 2),
        ("shop", "p2", 2, None),
    ]
    con.close()
