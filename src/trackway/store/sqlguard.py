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
  ``memory_limit`` even if a statement got through.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import duckdb
import msgspec

from trackway.errors import StoreError

# Settings the store changes after it locked the configuration: threads for reports
# (DuckStore.parallel), the time zone of each new cursor, the SQL cursor's replacement scans.
ALLOWED_CONFIGS = ("threads", "TimeZone", "python_enable_replacements")

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


def check(cur: duckdb.DuckDBPyConnection, query: str) -> None:
    """Raise :class:`StoreError` unless ``query`` is one read-only SELECT on the database."""
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


def _statements(cur: duckdb.DuckDBPyConnection, query: str) -> list[Any]:
    try:
        return list(cur.extract_statements(query))
    except duckdb.Error as exc:
        raise StoreError(f"cannot parse the SQL: {exc}") from None


def _check_tree(cur: duckdb.DuckDBPyConnection, query: str) -> None:
    [(serialized,)] = cur.execute("SELECT json_serialize_sql(?)", [query]).fetchall()
    tree = msgspec.json.decode(serialized)
    if tree.get("error"):
        raise StoreError(f"expected a SELECT the parser can read, got: {tree.get('error_message')}; {_HOW}")
    known = {
        str(name).lower()
        for (name,) in cur.execute(
            "SELECT table_name FROM duckdb_tables() UNION ALL SELECT view_name FROM duckdb_views()"
        ).fetchall()
    }
    known |= {str(name).lower() for name in _cte_names(tree)}
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
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from _nodes(v)
    elif isinstance(value, list):
        for v in value:
            yield from _nodes(v)


def _cte_names(tree: Any) -> Iterator[str]:
    for node in _nodes(tree):
        cte = node.get("cte_map")
        if isinstance(cte, dict):
            for entry in cte.get("map", []):
                if isinstance(entry, dict) and "key" in entry:
                    yield entry["key"]
