"""Opening the DuckDB file: the connection, its settings, the schema, then the lock.

:func:`connect` is what :class:`~trackway.store.duck.DuckStore` does when it opens the
file and again after a compaction (store/compaction.py) reopens it: the errors a user
can meet opening it say what to do, the schema of an older store is brought up to date
(the columns it lacked are answered), and the configuration is locked so that nothing
running on the database (``trackway sql`` included) changes it afterwards.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from trackway.errors import StoreError
from trackway.store import columns, files, keyed, persons, schema, sqlguard, state_tables
from trackway.store.quarantine import DDL as QUARANTINE_DDL


def connect(
    path: Path | None, threads: int, memory_limit: str, checkpoint_threshold: str
) -> tuple[duckdb.DuckDBPyConnection, set[str]]:
    """Connect to ``path`` (None: in memory), set up the schema, then lock the
    configuration and make the files private (0600, the directory 0700). Returns the
    connection and the columns an older store lacked."""
    where = str(path) if path is not None else ":memory:"
    if path is not None:
        files.private_dir(path.parent)
    try:
        con = duckdb.connect(where)
    except duckdb.IOException as exc:
        raise StoreError(f"cannot open the store {where}: {exc}. {_fix(str(exc))}") from None
    con.execute("SET TimeZone = 'UTC'")
    # One thread: DuckDB then runs on the calling thread (the loader's, at low CPU
    # priority) instead of a pool of its own at normal priority, which took CPU from
    # the workers acknowledging requests. Loads are small appends; reports set more.
    con.execute(f"SET threads = {threads}")
    con.execute("SET memory_limit = ?", [memory_limit])
    # A checkpoint costs far more than writing the log it empties: the settings' default, well
    # above DuckDB's 16MB, makes the loader's checkpoints fewer (docs/performance.md, "Checkpoints").
    con.execute("SET checkpoint_threshold = ?", [checkpoint_threshold])
    absent = columns.missing(con)
    con.execute(schema.DDL)
    columns.fill(con, absent)
    con.execute(state_tables.DDL)
    if state_tables.upgrade(con):
        absent.add("orders.parts")
    con.execute(persons.DDL)
    keyed.create(con)
    con.execute(state_tables.VIEW)
    con.execute(persons.VIEW)
    con.execute(QUARANTINE_DDL)
    # Nothing changes the settings from here on but what the store itself changes
    # (sqlguard.ALLOWED_CONFIGS): `trackway sql` cannot, even through a statement
    # the guard missed, and neither can anything else running on this database.
    con.execute("SET allowed_configs = ?", [list(sqlguard.ALLOWED_CONFIGS)])
    con.execute("SET lock_configuration = true")
    if path is not None:
        files.private_files(path, path.with_name(path.name + ".wal"))
    return con, absent


def _fix(text: str) -> str:
    """What to do about DuckDB's error ``text`` when opening the file."""
    if "lock" in text.lower():
        return (
            "If `trackway serve` is running on this data dir, the command talks to it instead; "
            "otherwise stop the process that holds the file"
        )
    if "not a valid DuckDB database" in text:  # it said to fix permissions
        return (
            "The file is damaged (or is not a store): restore it from a backup, or move it aside "
            "and start again with an empty store, into which what log/ still holds is loaded "
            "(segments already loaded were deleted unless keep_log is on: those events are gone)"
        )
    # a read-only file system, no permission: nothing holds the file
    return (
        "expected a data dir this user may write (it holds the store and the log): fix its "
        "mount or permissions, or use another --data"
    )
