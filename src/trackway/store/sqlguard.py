"""What ``trackway sql`` may run: one plain SELECT (or ``EXPLAIN`` of one) that reads
the store's own tables and nothing outside the database.

The store process holds the only read-write DuckDB connection (DuckDB locks the file
for one process), so the query runs on a cursor of that connection, in a transaction
that is rolled back. What keeps it read-only:

- the statement: exactly one, of type SELECT, or ``EXPLAIN`` (never ``EXPLAIN
  ANALYZE``, which runs its statement) of one SELECT; SET, PRAGMA, COPY, ATTACH,
  INSTALL, LOAD, CALL, EXPORT and every write are refused before anything runs;
- what it reads: the query is parsed (``json_serialize_sql``) and every table it names
  must be a table or view of the database (or one of its own CTEs): a file path
  (``FROM '/etc/passwd'``) is refused; table functions are allowed from a short list
  (no ``read_text``, ``read_csv``, ``glob``, ``query``, ``checkpoint``, ...), and a few
  scalar functions that read the environment or change state (``getenv``,
  ``nextval``, ...) are refused;
- the cursor has Python replacement scans off (no reading the process's variables);
- the database's configuration is locked when the store opens (:data:`ALLOWED_CONFIGS`
  are the settings the store itself changes later), so nothing can change
  ``memory_limit`` even if a statement got through;
- the query is nested at most :data:`MAX_DEPTH` expressions deep (DuckDB's
  ``max_expression_depth`` on the query's cursor): the check reads the parse tree in
  Python, whose recursion limit a tree 450 levels deep passed (a traceback, or a 500 from
  ``/api/sql``); DuckDB's own limit (1000) answered with advice to ``SET
  max_expression_depth``, a statement `trackway sql` refuses.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import duckdb
import msgspec
import pyarrow as pa

from trackway.errors import StoreError

# Settings the store changes after it locked the configuration: threads for reports
# (DuckStore.parallel), the time zone of each new cursor, the SQL cursor's replacement scans.
ALLOWED_CONFIGS = ("threads", "TimeZone", "python_enable_replacements", "max_expression_depth")
# How deeply a query may nest (a + b + ..., f(f(...)), CASE in CASE, a subquery in a
# subquery): each level is up to 4 levels of json_serialize_sql's JSON, which msgspec
# decodes within Python's recursion limit (1000 frames, some taken by the caller).
MAX_DEPTH = 200

TABLE_FUNCTIONS = frozenset(
    {
        "range",
        "generate_series",
        "unnest",
        "json_each",
        "json_tree",
        "duckdb_tables",
        "duckdb_views",
        "duckdb_columns",
        "duckdb_constraints",
        "duckdb_indexes",
        "duckdb_types",
        "duckdb_functions",
        "duckdb_keywords",
        "pragma_table_info",
    }
)
REFUSED_FUNCTIONS = frozenset({"getenv", "nextval", "currval", "setseed", "current_setting"})
_EXPLAIN = re.compile(r"\s*explain\s+(?!analy[sz]e\b)(?P<rest>.*)", re.IGNORECASE | re.DOTALL)
# What a query that only reads is made of (json_serialize_sql's node types); a data-changing
# WITH clause (WITH x AS (DELETE ... RETURNING *) SELECT ...) parses as DELETE_QUERY_NODE.
QUERY_NODES = frozenset({"SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE", "CTE_NODE"})
_HOW = "`trackway sql` runs one SELECT on the store's tables (events, failed_events, ...)"
TOO_DEEP = (
    f"expected a query nested fewer than {MAX_DEPTH} expressions deep (`trackway sql` sets DuckDB's "
    f"max_expression_depth to {MAX_DEPTH} and does not raise it), got one nested deeper (a long chain "
    "such as a + b + c ..., or functions, CASEs or subqueries within each other); flatten it: many "
    "terms added as list_sum([a, b, c, ...]), values compared as x IN (1, 2, ...), nested CASEs as one "
    "CASE with several WHENs, or parts moved into a WITH clause"
)
TOO_DEEP_VALUES = (
    "expected a result whose values nest at most about 60 levels (lists or structs within each "
    "other: Arrow, which carries the result, reads no deeper), got a deeper column; return it as "
    "text with to_json(...), or unnest it"
)


def check(cur: duckdb.DuckDBPyConnection, query: str) -> None:
    """Raise :class:`StoreError` unless ``query`` is one read-only SELECT on the database
    nested at most :data:`MAX_DEPTH` deep (a limit set on ``cur`` for the query too)."""
    cur.execute(f"SET SESSION max_expression_depth = {MAX_DEPTH}")
    statements = _statements(cur, query)
    if len(statements) != 1:
        raise StoreError(f"expected one SQL statement, got {len(statements)}; run them one at a time")
    [st] = statements
    kind = st.type.name
    text = st.query
    if kind == "EXPLAIN":
        match = _EXPLAIN.match(text)
        inner = _statements(cur, match["rest"]) if match else []
        if len(inner) != 1 or inner[0].type.name != "SELECT":
            raise StoreError(
                "expected read-only SQL (SELECT, or EXPLAIN of one SELECT), got EXPLAIN ANALYZE or EXPLAIN "
                f"of another statement; EXPLAIN ANALYZE runs its statement. {_HOW}"
            )
        text = match["rest"] if match else text
    elif kind != "SELECT":
        raise StoreError(
            f"expected read-only SQL (SELECT or EXPLAIN), got a statement of type {kind}; {_HOW} and never "
            "changes the store or its settings"
        )
    _check_tree(cur, text)


def failed(exc: Exception, what: str = "the query failed") -> StoreError:
    """The error to answer for DuckDB's (or Arrow's) ``exc``: :data:`TOO_DEEP` for a query
    nested past the limit (the parser, or the binder, says so with advice `trackway sql`
    refuses), :data:`TOO_DEEP_VALUES` for a result Arrow cannot carry (it was a 500)."""
    if isinstance(exc, pa.ArrowException):
        return StoreError(f"{TOO_DEEP_VALUES} ({exc})")
    return StoreError(TOO_DEEP if "max_expression_depth" in str(exc) else f"{what}: {exc}")


def _statements(cur: duckdb.DuckDBPyConnection, query: str) -> list[Any]:
    try:
        return list(cur.extract_statements(query))
    except duckdb.Error as exc:
        raise failed(exc, "cannot parse the SQL") from None


_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _check_tree(cur: duckdb.DuckDBPyConnection, query: str) -> None:
    [(serialized,)] = cur.execute("SELECT json_serialize_sql(?)", [query]).fetchall()
    try:
        tree = msgspec.json.decode(serialized)
    except RecursionError:  # a construct deeper in JSON than MAX_DEPTH allows for
        raise StoreError(TOO_DEEP) from None
    if tree.get("error"):
        raise StoreError(f"expected a SELECT the parser can read, got: {tree.get('error_message')}; {_HOW}")
    known = {
        str(name).lower()
        for (name,) in cur.execute(
            "SELECT table_name FROM duckdb_tables() UNION ALL SELECT view_name FROM duckdb_views()"
        ).fetchall()
    }
    names = [str(name) for name in _cte_names(tree)]
    for name in names:
        # A WITH name counts as known everywhere in the query, not only where it is in scope,
        # so one named like a file ("/tmp/x.csv", in a subquery) let the outer query read that
        # file: DuckDB reads a table name that looks like a file as the file.
        if not _PLAIN_NAME.fullmatch(name):
            raise StoreError(
                f"expected WITH names of letters, digits and _, got {name!r}: a name like a file's "
                f"could read that file. Rename it, such as WITH recent AS (...); {_HOW}"
            )
    known |= {name.lower() for name in names}
    for node in _nodes(tree):
        kind = node.get("type")
        if isinstance(kind, str) and kind.endswith("_NODE") and kind not in QUERY_NODES:
            # a DELETE, UPDATE or INSERT inside a WITH: the statement is still a SELECT
            what = kind.removesuffix("_NODE").removesuffix("_QUERY")
            raise StoreError(
                f"expected a query that only reads, got a {what} inside it (a WITH clause that changes "
                f"data); {_HOW}"
            )
        if kind == "BASE_TABLE":
            name = str(node.get("table_name", ""))
            if name.lower() not in known:
                raise StoreError(
                    f"expected a table or view of the store, got {name!r}: `trackway sql` reads no file "
                    f"and nothing outside the database. {_HOW}"
                )
        elif kind == "TABLE_FUNCTION":
            name = str(node.get("function", {}).get("function_name", "")).lower()
            if name not in TABLE_FUNCTIONS:
                raise StoreError(
                    f"expected a table or one of the table functions {', '.join(sorted(TABLE_FUNCTIONS))}, "
                    f"got {name}(): `trackway sql` reads no file and runs nothing outside the query"
                )
        elif node.get("class") == "FUNCTION":
            name = str(node.get("function_name", "")).lower()
            if name in REFUSED_FUNCTIONS or name.startswith(("read_", "parquet_")):
                raise StoreError(
                    f"expected functions of the data, got {name}(), which reads the environment or "
                    f"changes state; {_HOW}"
                )


def _nodes(value: Any) -> Iterator[dict[str, Any]]:
    """Every object in ``value``, without recursion (a deep tree is no RecursionError)."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            yield v
            stack.extend(reversed(list(v.values())))
        elif isinstance(v, list):
            stack.extend(reversed(v))


def _cte_names(tree: Any) -> Iterator[str]:
    for node in _nodes(tree):
        cte = node.get("cte_map")
        if isinstance(cte, dict):
            for entry in cte.get("map", []):
                if isinstance(entry, dict) and "key" in entry:
                    yield entry["key"]
