"""Compaction: the database file rewritten with only what it holds now.

``trackway forget`` erases values, and DuckDB leaves what it deleted or overwrote in the
file's free blocks until they are reused. A compaction copies the database into a new
file (``COPY FROM DATABASE``), fsyncs it and renames it over the old one, so that no
erased value stays on disk. :class:`~trackway.store.duck.DuckStore` holds the write lock
while it runs, closes its connection between :func:`write_copy` and :func:`swap`, and
reopens the new file; a compaction a crash interrupted leaves :func:`files` behind, and
the next open finishes it.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from trackway.ingest.writer import fsync_dir
from trackway.store import files as files_


def files(path: Path) -> tuple[Path, Path]:
    """The copy a compaction of ``path`` writes, and that copy's write-ahead log."""
    fresh = path.with_name(path.name + ".compact")
    return fresh, fresh.with_name(fresh.name + ".wal")


def write_copy(cur: duckdb.DuckDBPyConnection, path: Path) -> Path:
    """Copy the database ``cur`` has open (file ``path``) into :func:`files`' copy,
    private and fsynced; returns the copy."""
    fresh, fresh_wal = files(path)
    fresh.unlink(missing_ok=True)
    fresh_wal.unlink(missing_ok=True)  # left by an interrupted one: ATTACH would replay it
    cur.execute("CHECKPOINT")
    [(name,)] = cur.execute("SELECT current_database()").fetchall()
    quoted = '"' + str(name).replace('"', '""') + '"'
    cur.execute("ATTACH ? AS trackway_compact", [str(fresh)])
    try:
        cur.execute(f"COPY FROM DATABASE {quoted} TO trackway_compact")
    finally:
        cur.execute("DETACH trackway_compact")
    files_.private_files(fresh)
    fsync_dir(fresh)  # a file: opened and fsynced as a directory is
    return fresh


def swap(fresh: Path, path: Path) -> None:
    """Rename the copy ``fresh`` over ``path`` (whose connection is closed), drop the old
    file's write-ahead log and make the rename durable."""
    os.replace(fresh, path)
    path.with_name(path.name + ".wal").unlink(missing_ok=True)
    fsync_dir(path.parent)
