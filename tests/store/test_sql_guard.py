"""`trackway sql` is read-only and reaches nothing outside the database (issue 12):
each attack is refused before it runs, with a message saying what is allowed, and the
store keeps loading afterwards with its own settings."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import pytest

from trackway.errors import StoreError
from trackway.ingest import records
from trackway.ingest.log import Position
from trackway.model import Event
from trackway.server.admin import Admin, make_admin_app
from trackway.store import sqlguard
from trackway.store.duck import DuckStore

SECRET = "collect-key-do-not-read"

# (attack, a fragment of the refusal)
ATTACKS = [
    ("EXPLAIN ANALYZE SET memory_limit = '1MB'", "EXPLAIN ANALYZE"),
    ("EXPLAIN ANALYZE COPY events TO '{out}'", "EXPLAIN ANALYZE"),
    ("EXPLAIN ANALYZE SELECT * FROM read_text('{key}')", "EXPLAIN ANALYZE"),
    ("SET memory_limit = '1MB'", "of type SET"),
    ("RESET memory_limit", "statement"),
    ("PRAGMA memory_limit = '1MB'", "of type SET"),
    ("COPY events TO '{out}'", "of type COPY"),
    ("COPY (SELECT 1) TO '{out}'", "of type COPY"),
    ("EXPORT DATABASE '{dir}'", "statement"),
    ("ATTACH '{dir}/other.duckdb' AS other", "of type ATTACH"),
    ("INSTALL httpfs", "statement"),
    ("LOAD httpfs", "statement"),
    ("CALL checkpoint()", "of type CALL"),
    ("CHECKPOINT", "statement"),
    ("DELETE FROM events", "of type DELETE"),
    ("CREATE TABLE x AS SELECT 1", "of type CREATE"),
    ("SELECT 1; SET memory_limit = '1MB'", "expected one SQL statement"),
    ("SELECT * FROM read_text('{key}')", "read_text()"),
    ("SELECT content FROM read_blob('{key}')", "read_blob()"),
    ("SELECT * FROM read_csv('{key}')", "read_csv()"),
    ("SELECT * FROM read_json_auto('{key}')", "read_json_auto()"),
    ("SELECT * FROM read_parquet('{key}')", "read_parquet()"),
    ("SELECT * FROM glob('{dir}/*')", "glob()"),
    ("SELECT * FROM '{key}'", "reads no file"),
    ("SELECT (SELECT content FROM read_text('{key}')) AS c", "read_text()"),
    ("WITH k AS (SELECT * FROM read_text('{key}')) SELECT * FROM k", "read_text()"),
    ("SELECT * FROM events WHERE id IN (SELECT content FROM read_text('{key}'))", "read_text()"),
    ("SELECT * FROM query('SELECT 1')", "query()"),
    ("SELECT * FROM checkpoint()", "checkpoint()"),
    ("SELECT * FROM duckdb_settings()", "duckdb_settings()"),
    ("SELECT getenv('HOME')", "getenv()"),
    ("SELECT * FROM sqlguard", "reads no file"),
    ("SELEC nonsense", "cannot parse"),
    # a statement of type SELECT that changes data: it ran, printed the deleted rows, rolled back
    ("WITH x AS (DELETE FROM events RETURNING *) SELECT * FROM x", "got a DELETE inside it"),
    ("WITH x AS (UPDATE orders SET revenue = 0 RETURNING *) SELECT * FROM x", "got a UPDATE inside it"),
    ("WITH x AS (INSERT INTO events (id) VALUES ('x') RETURNING *) SELECT 1", "got a INSERT inside it"),
    # a WITH name counted as a table outside its scope: named like a file, it read the file
    (
        'SELECT * FROM (WITH "{csv}" AS (SELECT 1 a) SELECT * FROM "{csv}") t, \'{csv}\'',
        "expected WITH names of letters, digits and _",
    ),
    ("WITH \"secret.csv\" AS (SELECT 1 a) SELECT * FROM 'secret.csv'", "expected WITH names"),
]


def deep(n: int, open_: str, close: str, inner: str = "1") -> str:
    return "SELECT " + open_ * n + inner + close * n


def nested(n: int) -> object:
    value: object = 1
    for _ in range(n):
        value = [value]
    return value


# Queries nested past what `trackway sql` reads: DuckDB's advice was to SET
# max_expression_depth, which `trackway sql` refuses; from 450 levels the check itself
# failed (a RecursionError: a traceback, or a 500 from /api/sql).
TOO_DEEP = [
    ("SELECT " + " + ".join(["1"] * 20_000), sqlguard.TOO_DEEP),
    ("SELECT " + " + ".join(["1"] * 1_001), sqlguard.TOO_DEEP),
    ("SELECT " + " + ".join(["1"] * 450), sqlguard.TOO_DEEP),
    ("EXPLAIN SELECT " + " || ".join(["'a'"] * 5_000), sqlguard.TOO_DEEP),
    (deep(600, "abs(", ")"), sqlguard.TOO_DEEP),
    (deep(400, "CASE WHEN true THEN ", " END"), sqlguard.TOO_DEEP),
    (deep(300, "(SELECT ", ")"), sqlguard.TOO_DEEP),
    (deep(1_000, "NOT ", "", "true"), sqlguard.TOO_DEEP),
    # a result Arrow cannot carry (it was a 500 from /api/sql)
    (deep(100, "[", "]"), sqlguard.TOO_DEEP_VALUES),
    (deep(100, "{'a': ", "}"), sqlguard.TOO_DEEP_VALUES),
]


@pytest.mark.parametrize(("query", "refusal"), TOO_DEEP, ids=[q[:30] for q, _ in TOO_DEEP])
def test_a_query_nested_too_deeply_says_the_limit_and_how_to_flatten_it(store, query, refusal):
    with pytest.raises(StoreError) as raised:
        store.sql(query)
    message = str(raised.value)
    assert message.startswith(refusal), message
    assert "SET max_expression_depth" not in message
    assert store.sql("SELECT 1 AS one") == (["one"], [(1,)])  # the store answers after


@pytest.mark.parametrize(
    ("query", "value"),
    [
        ("SELECT " + " + ".join(["1"] * 150), 150),
        (deep(150, "abs(", ")"), 1),
        (deep(150, "CASE WHEN true THEN ", " END"), 1),
        ("SELECT " + " OR ".join(["false"] * 20_000), False),  # flat in DuckDB's tree
        ("SELECT 1 IN (" + ", ".join(["1"] * 20_000) + ")", True),
        (deep(60, "[", "]"), nested(60)),
    ],
    ids=["plus 150", "abs 150", "case 150", "or 20000", "in 20000", "lists 60"],
)
def test_a_query_nested_below_the_limit_runs(store, query, value):
    assert store.sql(query)[1] == [(value,)]


@pytest.fixture
def files(tmp_path):
    key = tmp_path / "trackway.toml"
    key.write_text(f'collect_key = "{SECRET}"\n')
    csv = tmp_path / "secret.csv"  # DuckDB reads a table name like this one as the file
    csv.write_text(f"a,b\n1,{SECRET}\n")
    return {"key": str(key), "out": str(tmp_path / "out.csv"), "dir": str(tmp_path), "csv": str(csv)}


@pytest.fixture
def store(tmp_path):
    s = DuckStore(tmp_path / "data" / "trackway.duckdb", memory_limit="512MB")
    yield s
    s.close()


def _limit(store: DuckStore) -> str:
    [(value,)] = store.cursor().execute("SELECT current_setting('memory_limit')").fetchall()
    return str(value)


@pytest.mark.parametrize(("attack", "refusal"), ATTACKS, ids=[a for a, _ in ATTACKS])
def test_sql_refuses_what_writes_or_reads_outside_the_database(store, files, tmp_path, attack, refusal):
    limit = _limit(store)
    with pytest.raises(StoreError) as raised:
        store.sql(attack.format(**files))
    message = str(raised.value)
    assert refusal in message, message
    assert SECRET not in message
    assert "expected" in message or "cannot parse" in message, message
    assert not (tmp_path / "out.csv").exists()
    assert _limit(store) == limit
    assert not list(tmp_path.glob("other.duckdb*"))


@pytest.mark.parametrize(
    ("query", "rows"),
    [
        ("SELECT 1 + 1 AS two", [(2,)]),
        ("SELECT count(*) FROM events", [(0,)]),
        ("WITH c AS (SELECT 2 AS x) SELECT x FROM c", [(2,)]),
        (
            "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) "
            "SELECT sum(n) FROM r",
            [(6,)],
        ),
        ("SELECT 1 UNION SELECT 2 EXCEPT SELECT 2", [(1,)]),
        ("SELECT count(*) FROM range(3)", [(3,)]),
        ("SELECT count(*) FROM events e JOIN failed_events f ON e.id = f.id", [(0,)]),
        ("SELECT count(*) > 0 FROM information_schema.tables", [(True,)]),
    ],
)
def test_sql_runs_selects_on_the_store(store, query, rows):
    assert store.sql(query)[1] == rows


@pytest.mark.parametrize(
    ("rows", "limit"),
    [(0, 10), (9, 10), (10, 10), (11, 10), (100_000, 10), (100_000, 10_000), (20_000, 10_000), (1, 1)],
)
def test_sql_returns_at_most_limit_rows_and_the_store_answers_after(store, rows, limit):
    # a query cut at `limit` left DuckDB's result open, and its ROLLBACK failed: any
    # `trackway sql` of 10,000 rows or more answered "the store failed on this request"
    columns, got = store.sql(f"SELECT range AS n FROM range({rows})", limit)
    assert columns == ["n"]
    assert [n for (n,) in got] == list(range(min(rows, limit)))
    assert store.sql("SELECT 1 AS one") == (["one"], [(1,)])


def test_explain_of_a_select_is_allowed(store):
    columns, rows = store.sql("EXPLAIN SELECT count(*) FROM events")
    assert columns and rows


def test_the_configuration_is_locked_for_everyone_but_the_store(store):
    with pytest.raises(Exception, match="locked"):
        store.cursor().execute("SET memory_limit = '1MB'")
    with store.parallel(2):  # the store's own setting still changes
        [(threads,)] = store.cursor().execute("SELECT current_setting('threads')").fetchall()
        assert threads == 2


def test_the_loader_keeps_working_after_the_attacks(store, files):
    for attack, _ in ATTACKS:
        with pytest.raises(StoreError):
            store.sql(attack.format(**files))
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    record = records.Record(
        kind=records.DECODED,
        request_id=str(records.uuid7()),
        endpoint="/collect",
        property="p",
        received_at=records.micros(now),
    )
    event = Event(name="after", dialect="gtm-ga4", id="e1", property="p", received_at=now, timestamp=now)
    result = store.load(
        [(record, records.Outcome(events=[event], client_ids=[False]))], {"w1": Position(1, 9)}
    )
    assert result.stored == 1
    assert store.sql("SELECT count(*) FROM events")[1] == [(1,)]
    assert _limit(store) == "488.2 MiB"


@pytest.mark.anyio
@pytest.mark.parametrize(("attack", "refusal"), ATTACKS[:8], ids=[a for a, _ in ATTACKS[:8]])
async def test_the_admin_api_answers_400_with_the_reason(store, files, attack, refusal):
    app = make_admin_app(Admin(store, lambda: None))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://store") as client:
        r = await client.post("/api/sql", json={"query": attack.format(**files)})
    assert r.status_code == 400, r.text
    assert refusal in r.json()["error"]


@pytest.mark.anyio
async def test_the_admin_api_answers_a_query_nested_too_deeply_400_with_the_limit(store):
    app = make_admin_app(Admin(store, lambda: None))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://store") as client:
        r = await client.post("/api/sql", json={"query": TOO_DEEP[0][0]})
    assert r.status_code == 400, r.text
    assert r.json()["error"] == sqlguard.TOO_DEEP


@pytest.fixture
def anyio_backend():
    return "asyncio"


RUNAWAY = "SELECT count(*) FROM range(100000000000000) t(x) WHERE x % 7 = 3"


def test_a_query_running_past_its_timeout_is_stopped_and_says_so(store):
    # it ran on at 100% of a core after its client gave up, and held `trackway stop`
    with pytest.raises(StoreError, match=r"expected a query that ends within 0\.5 s \(sql_timeout_seconds\)"):
        store.sql(RUNAWAY, timeout=0.5)
    assert store.sql("SELECT 1 AS x") == (["x"], [(1,)])  # the store answers after


def test_a_server_stopping_stops_the_queries_running(store):
    import threading

    errors: list[BaseException] = []

    def run() -> None:
        try:
            store.sql(RUNAWAY, timeout=3600)
        except StoreError as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 10
    while not store._queries and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # past the guard's own statements: the query itself runs
    store.interrupt_queries()
    thread.join(30)
    assert not thread.is_alive() and len(errors) == 1 and "the server stopping" in str(errors[0])


def test_a_result_larger_than_the_bound_is_refused_before_it_becomes_python_objects(store, monkeypatch):
    # `SELECT range(5000000)`: one row, whose Python list took the store process to 916 MB
    from trackway.store import duck

    monkeypatch.setattr(duck, "MAX_SQL_BYTES", 1 << 20)
    with pytest.raises(StoreError, match=r"expected a result of at most 1 MiB, got more by row 1: select"):
        store.sql("SELECT range(200000) AS x")
    assert store.sql("SELECT range(3) AS x") == (["x"], [([0, 1, 2],)])
