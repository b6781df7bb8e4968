"""The DuckDB store's own tables: ``events`` (typed canonical columns, see rows.py),
``failed_events`` (the payload as received, its issues, replay state), ``client_ids``
(client-supplied event ids per property, for idempotency) and ``log_positions`` (how far
each worker's log is loaded). The derived tables' DDL is beside their code
(state_tables.py, persons.py, quarantine.py); the added report columns in columns.py.
"""

from __future__ import annotations

from trackway.store import columns, rows

AMOUNT = "DECIMAL(38, 9)"
ITEM = (
    "STRUCT("
    + ", ".join(f'"{k}" VARCHAR' for k in rows.ITEM_STRINGS)
    + ", "
    + ", ".join(f'"{k}" {AMOUNT}' for k in rows.ITEM_AMOUNTS)
    + ", "
    + ", ".join(f'"{k}" BIGINT' for k in rows.ITEM_INTS)
    + ', "categories" VARCHAR[], "extras" JSON)'
)

DDL = f"""
CREATE TABLE IF NOT EXISTS events (
    seq BIGINT NOT NULL,
    id VARCHAR NOT NULL,
    property VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    dialect VARCHAR,
    endpoint VARCHAR,
    "timestamp" TIMESTAMPTZ,
    received_at TIMESTAMPTZ,
    anonymous_id VARCHAR,
    user_id VARCHAR,
    has_commerce BOOLEAN,
    currency VARCHAR,
    currency_filled BOOLEAN,
    {", ".join(f'"{k}" {AMOUNT}' for k in rows.AMOUNTS)},
    {", ".join(f'"{k}" VARCHAR' for k in rows.STRINGS)},
    items {ITEM}[],
    {", ".join(f'"{k}" JSON' for k in rows.JSON_OBJECTS)},
    {columns.DDL}
);
CREATE TABLE IF NOT EXISTS failed_events (
    id VARCHAR PRIMARY KEY,
    property VARCHAR NOT NULL,
    endpoint VARCHAR,
    dialect VARCHAR,
    received_at TIMESTAMPTZ,
    request_id VARCHAR,
    payload BLOB,
    indices INTEGER[],
    ordinal INTEGER,
    names VARCHAR[],
    issues JSON,
    codes VARCHAR[],
    meta JSON,
    replayed_at TIMESTAMPTZ,
    replayed INTEGER DEFAULT 0
);
CREATE TABLE IF NOT EXISTS client_ids (property VARCHAR, id VARCHAR, PRIMARY KEY (property, id));
CREATE TABLE IF NOT EXISTS log_positions (slot VARCHAR PRIMARY KEY, seq BIGINT, "offset" BIGINT);
"""

FAILED_NAMES = (
    "id",
    "property",
    "endpoint",
    "dialect",
    "received_at",
    "request_id",
    "payload",
    "indices",
    "ordinal",
    "names",
    "issues",
    "meta",
    "replayed_at",
    "replayed",
)
FAILED_COLUMNS = ", ".join(FAILED_NAMES)
