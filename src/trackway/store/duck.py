"""The DuckDB store: one file under the data dir, owned by one process.

Its tables are declared in schema.py (the derived tables' beside their code). DuckDB
connections are not shared between threads: each thread takes its own cursor
(:meth:`cursor`), which sees committed data only.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import msgspec
import pyarrow as pa

from trackway.errors import StoreError
from trackway.ingest.log import Position
from trackway.ingest.quarantine import QuarantineRow
from trackway.ingest.records import Outcome, Record
from trackway.ingest.sink import LoadResult
from trackway.model import Event
from trackway.settings import CHECKPOINT_THRESHOLD, SQL_TIMEOUT_S, STORE_MEMORY_LIMIT, memory_bytes
from trackway.state.engine import apply
from trackway.state.memory import MemoryState
from trackway.store import (
    batches,
    claims,
    compaction,
    deadscrub,
    forget,
    identifiers,
    keyed,
    logscrub,
    lookups,
    opening,
    person_view,
    persons,
    rows,
    schema,
    sqlguard,
    state_tables,
    subject,
)
from trackway.store.base import (
    MAX_ROWS_BYTES,
    FailedRow,
    Query,
    Received,
    Rows,
    Store,
    StoreMemory,
    check_table,
    json_form,
)
from trackway.store.quarantine import sanitize

logger = logging.getLogger("trackway.store")

FILE_NAME = "trackway.duckdb"

_json = msgspec.json.Encoder(decimal_format="number")
_T = TypeVar("_T")


_SQL_BATCH = 8192  # rows a `sql()` batch reads at most (DuckDB's default: 131,072)
_ROWS_BATCH = 64  # rows an answer's batch reads (its bound, MAX_ROWS_BYTES, is checked by batch)
MAX_SQL_BYTES = 64 << 20  # a `sql()` result's Arrow size: its Python objects take several times it


def configured(server: Mapping[str, Any]) -> dict[str, Any]:
    """:class:`DuckStore`'s options from the server settings ``server`` (its memory limit,
    checkpoint threshold and whether the loader derives the state): what the server and the
    commands run without it open the store with."""
    return {
        "memory_limit": server["store_memory_limit"],
        "checkpoint_threshold": server["store_checkpoint_threshold"],
        "derive_state": server["derive_state"],
    }


class DuckStore(Store):
    def __init__(
        self,
        path: Path | str,
        *,
        threads: int = 1,
        memory_limit: str = STORE_MEMORY_LIMIT,
        checkpoint_threshold: str = CHECKPOINT_THRESHOLD,
        derive_state: bool = True,
    ) -> None:
        self.path = Path(path) if path != ":memory:" else None
        self.derive_state = derive_state  # off: the derived tables wait for `trackway rebuild`
        self._sizes = keyed.Sizes()  # the state tables' row counts, read at most once a second
        self._memory_limit = memory_limit
        self._checkpoint_threshold = checkpoint_threshold
        self._generation = 0  # bumped when compact() reopens the file: cursors are made anew
        self._queries: set[duckdb.DuckDBPyConnection] = set()  # sql()'s cursors while they run
        absent = self._open(threads)
        [(top,)] = self._con.execute("SELECT coalesce(max(seq), 0) FROM events").fetchall()
        self._seq = int(top)  # the last seq given; the write lock guards it
        self._local = threading.local()
        self._write = threading.Lock()
        self._threads = threads
        self._parallel = threading.Lock()
        self._readers = 0
        if ("person_key" in absent or "orders.parts" in absent) and self._seq and derive_state:
            self.rebuild()  # a store from before events.person_key or the orders' parts: derive once
        if self.path is not None and any(p.exists() for p in self._compaction_files()):
            # A compaction (forget's) a crash or a kill interrupted: the file may still hold
            # erased values in its free blocks, and the forget that asked for it finds nothing
            # to do when run again. Finish it now.
            self._compact()

    def _compaction_files(self) -> tuple[Path, Path]:
        """The copy a compaction writes, and that copy's write-ahead log (a file store's)."""
        return compaction.files(self.path if self.path is not None else Path(FILE_NAME))

    def _open(self, threads: int) -> set[str]:
        """Connect and set up the schema (store/opening.py). Returns the columns an older
        store lacked."""
        self._con, absent = opening.connect(
            self.path, threads, self._memory_limit, self._checkpoint_threshold
        )
        # The file this connection has open: when the path names another file (or none)
        # later, the store was deleted or replaced under us (see missing()).
        self._identity = _file_identity(self.path) if self.path is not None else None
        return absent

    @contextmanager
    def parallel(self, threads: int = 0) -> Iterator[None]:
        """DuckDB on ``threads`` threads (0: one per CPU) while a heavy read runs (a report);
        back to the store's own number when the last such read ends. The setting is the
        database's: a load running meanwhile may use the threads too."""
        threads = threads or os.cpu_count() or 1
        with self._parallel:
            self._readers += 1
            if self._readers == 1 and threads != self._threads:
                self.cursor().execute(f"SET threads = {int(threads)}")
        try:
            yield
        finally:
            with self._parallel:
                self._readers -= 1
                if self._readers == 0 and threads != self._threads:
                    self.cursor().execute(f"SET threads = {self._threads}")

    def cursor(self) -> duckdb.DuckDBPyConnection:
        cur = getattr(self._local, "cur", None)
        if cur is None or getattr(self._local, "generation", 0) != self._generation:
            cur = self._con.cursor()
            cur.execute("SET TimeZone = 'UTC'")
            self._local.cur = cur
            self._local.generation = self._generation
        return cur

    @contextmanager
    def _transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """This thread's cursor in a transaction: BEGIN, COMMIT when the block ends, and
        on any exception (a failed COMMIT too) ROLLBACK and ``_seq`` as it was (the seqs
        the failed transaction took are given again), then the exception goes on. The
        caller holds the write lock, which guards ``_seq``."""
        cur = self.cursor()
        cur.execute("BEGIN")
        seq = self._seq
        try:
            yield cur
            cur.execute("COMMIT")
        except BaseException:
            self._seq = seq
            _rollback(cur)
            raise

    def positions(self) -> dict[str, Position]:
        rows_ = self.cursor().execute('SELECT slot, seq, "offset" FROM log_positions').fetchall()
        return {slot: Position(seq, offset) for slot, seq, offset in rows_}

    def load(
        self,
        batch: list[tuple[Record, Outcome]],
        positions: dict[str, Position],
        quarantine: Sequence[QuarantineRow] = (),
        resolved: Sequence[int] = (),
    ) -> LoadResult:
        try:
            return self._load(batch, positions, quarantine, resolved)
        except UnicodeEncodeError:
            # A lone surrogate ("\udc00" in a JSON string) is text UTF-8 cannot encode:
            # store U+FFFD in its place rather than fail the batch. Rare, so looked for
            # only when an insert fails, not in every event. A failed payload's event
            # names and call id are text too.
            changed = sum(sanitize(e)[1] for _, out in batch for e in out.events)
            changed += sum(sanitize(f)[1] for _, out in batch for f in out.failed)
            if not changed:
                raise
            logger.warning(
                "replaced %d strings' lone surrogates with U+FFFD: UTF-8 cannot store them", changed
            )
            return self._load(batch, positions, quarantine, resolved)

    def _load(
        self,
        records: list[tuple[Record, Outcome]],
        positions: dict[str, Position],
        quarantined: Sequence[QuarantineRow],
        resolved: Sequence[int],
    ) -> LoadResult:
        batch = batches.prepare(records)

        def write(cur: duckdb.DuckDBPyConnection, ignore: bool) -> LoadResult:
            first = self._seq + 1
            result = batches.write(
                cur,
                batch,
                positions,
                quarantined,
                resolved,
                ignore=ignore,
                first=first,
                derive_state=self.derive_state,
                sizes=self._sizes,
            )
            self._seq += result.stored  # given again if the transaction fails (_transaction)
            result.reruns = int(ignore)  # ignore: the second run (_written)
            return result

        return self._written(write)

    def _written(self, write: Callable[[duckdb.DuckDBPyConnection, bool], _T]) -> _T:
        """``write(cur, ignore)`` in a write transaction, with ``ignore`` False: its events'
        client ids and failed payloads inserted plainly (store/claims.py), and so are the
        derived state's rows its look-ups did not find (state_tables.flush). When one is
        already stored, DuckDB has aborted the transaction: it is rolled back and ``write``
        runs again in a new one, with ``ignore`` True."""
        with self._write:
            try:
                with self._transaction() as cur:
                    return write(cur, False)
            except claims.Claimed:
                with self._transaction() as cur:
                    return write(cur, True)

    def _where(
        self, query: Query, table: str, after: tuple[datetime, str] | None = None
    ) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if query.property is not None:
            clauses.append("property = ?")
            params.append(query.property)
        if query.names:
            if table == "events":
                clauses.append("list_contains(?, name)")
            else:
                clauses.append("list_has_any(?, codes)")
            params.append(list(query.names))
        if query.since is not None:
            clauses.append("received_at >= ?")
            params.append(query.since)
        if query.until is not None:
            clauses.append("received_at < ?")
            params.append(query.until)
        if table == "failed_events" and query.replayed is not None:
            clauses.append("replayed_at IS NOT NULL" if query.replayed else "replayed_at IS NULL")
        if after is not None:  # the (received_at, id) cursor of a walk, oldest first
            clauses.append("(received_at > ? OR (received_at = ? AND id > ?))")
            params += [after[0], after[0], after[1]]
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def _rows(self, query: str, params: list[Any]) -> Rows[dict[str, Any]]:
        """Rows as dicts, through Arrow (typed, and no pytz needed for TIMESTAMPTZ), read in
        batches until they come to :data:`MAX_ROWS_BYTES` (then ``truncated``; at least one
        row, and of the batch that passes it the share of its rows that fits)."""
        reader = self.cursor().sql(query, params=params).to_arrow_reader(batch_size=_ROWS_BATCH)
        found: Rows[dict[str, Any]] = Rows()
        size = 0
        for batch in reader:
            if size + batch.nbytes > MAX_ROWS_BYTES:  # the share of its rows that fits, at least one row
                fits = (MAX_ROWS_BYTES - size) * batch.num_rows // max(1, batch.nbytes)
                found.extend(batch.slice(0, max(fits, 0 if found else 1)).to_pylist())
                found.truncated = True
                break
            size += batch.nbytes
            found.extend(batch.to_pylist())
        return found

    def events(self, query: Query) -> list[Event]:
        return [e for e, _ in self.events_at(query)]

    def events_at(self, query: Query) -> Rows[tuple[Event, str]]:
        where, params = self._where(query, "events")
        found = self._rows(
            f"SELECT * FROM events{where} ORDER BY received_at DESC, id DESC LIMIT {int(query.limit)}", params
        )
        return _like(found, [(rows.row_to_event(r), r.get("endpoint") or "") for r in found])

    def failed(self, query: Query, after: tuple[datetime, str] | None = None) -> Rows[FailedRow]:
        where, params = self._where(query, "failed_events", after)
        order = "received_at DESC, id DESC" if after is None else "received_at, id"
        found = self._rows(
            f"SELECT {schema.FAILED_COLUMNS} FROM failed_events{where} ORDER BY {order} "
            f"LIMIT {int(query.limit)}",
            params,
        )
        return _like(found, [failed_row(r) for r in found])

    def page(self, table: str, query: Query, after: tuple[datetime, str] | None) -> Rows[dict[str, Any]]:
        check_table(table)
        where, params = self._where(query, table, after)
        columns = "*" if table == "events" else schema.FAILED_COLUMNS
        found = self._rows(
            f"SELECT {columns} FROM {table}{where} ORDER BY received_at, id LIMIT {int(query.limit)}", params
        )
        if table == "events":
            return _like(found, [json_form(table, rows.row_to_event(r)) for r in found])
        return _like(found, [json_form(table, failed_row(r)) for r in found])

    def count(self, table: str, query: Query) -> int:
        check_table(table)
        where, params = self._where(query, table)
        [(n,)] = self.cursor().execute(f"SELECT count(*) FROM {table}{where}", params).fetchall()
        return int(n)

    def quarantined(
        self, prop: str | None = None, ids: Sequence[int] | None = None, limit: int = 1 << 62
    ) -> list[QuarantineRow]:
        clauses: list[str] = []
        params: list[Any] = []
        if prop is not None:
            clauses.append("property = ?")
            params.append(prop)
        if ids is not None:
            clauses.append("list_contains(?, id)")
            params.append(list(ids))
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        found = self._rows(f"SELECT * FROM quarantine{where} ORDER BY id LIMIT {int(limit)}", params)
        return [QuarantineRow(**r) for r in found]

    def quarantine_count(self, prop: str | None = None) -> int:
        where, params = (" WHERE property = ?", [prop]) if prop is not None else ("", [])
        [(n,)] = self.cursor().execute(f"SELECT count(*) FROM quarantine{where}", params).fetchall()
        return int(n)

    def update_quarantined(self, row: QuarantineRow) -> None:
        with self._write:
            self.cursor().execute(
                "UPDATE quarantine SET error_type = ?, error_message = ?, traceback = ?, loader_version = ?, "
                "attempts = ?, last_attempt_at = ? WHERE id = ?",
                [
                    row.error_type,
                    row.error_message,
                    row.traceback,
                    row.loader_version,
                    row.attempts,
                    row.last_attempt_at,
                    row.id,
                ],
            )

    def fault(self, exc: BaseException) -> bool:
        return super().fault(exc) or isinstance(exc, _STORE_FAULTS)

    def missing(self) -> str | None:
        """Whether the store's path still names the file this process has open (one stat:
        cheap enough for every batch). Deleted or replaced, what is loaded goes into a
        file nobody will open again."""
        with self._write:  # a forget's rewrite replaces the file and its identity under this lock
            if self.path is None or self._identity is None:
                return None
            now = _file_identity(self.path)
            if now == self._identity:
                return None
        what = "was deleted" if now is None else "was replaced by another file"
        return (
            f"the store {self.path} {what} while the server had it open: loading stopped (what it "
            "loaded would go into a file nobody opens again) and no log file is deleted any more. "
            "Nothing acknowledged is lost: the log keeps every event not loaded. Fix: restart the "
            "server (`trackway stop`, then `trackway serve`); it opens the file at that path, or "
            "creates it, and loads the log into it"
        )

    def memory(self) -> StoreMemory | None:
        """DuckDB's buffer pool: what it holds, of which indexes (they must stay under the
        limit with the rest: store/keyed.py), and its limit; and the write-ahead log's size.
        None when the database cannot say (being closed or replaced)."""
        try:
            cur = self.cursor()
            [(used, indexes)] = cur.execute(
                "SELECT coalesce(sum(memory_usage_bytes), 0), "
                "coalesce(sum(memory_usage_bytes) FILTER (WHERE tag = 'ART_INDEX'), 0) FROM duckdb_memory()"
            ).fetchall()
            [(limit,)] = cur.execute("SELECT current_setting('memory_limit')").fetchall()
        except duckdb.Error:
            return None
        wal = 0
        if self.path is not None:
            with contextlib.suppress(OSError):  # none: everything is checkpointed
                wal = self.path.with_name(self.path.name + ".wal").stat().st_size
        # the limit as configured when it is a size (DuckDB prints 1GB as "953.6 MiB": 78 kB off),
        # else as DuckDB took it (a share of RAM)
        given = memory_bytes(self._memory_limit)
        return StoreMemory(int(used), int(indexes), given or memory_bytes(str(limit)) or 0, wal)

    def replace_failed(self, row: FailedRow, events: list[Event], client_ids: list[bool]) -> int:
        def write(cur: duckdb.DuckDBPyConnection, ignore: bool) -> int:
            candidates = [(row, e, c) for e, c in zip(events, client_ids, strict=True)]
            first = self._seq + 1
            stored, _ = batches.insert_events(
                cur, candidates, ignore=ignore, first=first, derive_state=self.derive_state, sizes=self._sizes
            )
            self._seq += len(stored)
            cur.execute(
                "UPDATE failed_events SET indices = ?, names = ?, issues = ?, codes = ?, "
                "replayed_at = ?, replayed = ? WHERE id = ?",
                [
                    row.indices,
                    row.names,
                    _json.encode(row.issues).decode(),
                    sorted({i["code"] for i in row.issues if i.get("severity") == "error"}),
                    row.replayed_at,
                    row.replayed,
                    row.id,
                ],
            )
            return len(stored)

        return self._written(write)

    def sql(
        self, query: str, limit: int = 10_000, timeout: float = SQL_TIMEOUT_S
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run one read-only SELECT (or EXPLAIN of one) on the store's tables: anything
        else, a file or a table function outside store/sqlguard.py's list, is refused
        with a StoreError; the query runs on its own cursor, without Python replacement
        scans, in a transaction that is rolled back."""
        cur = self._con.cursor()
        # Stopped after `timeout` s, or when the server stops: a runaway query ran on after
        # its client gave up, at 100% of a core, and held `trackway stop` past its 60 s.
        timer = threading.Timer(timeout, cur.interrupt)
        timer.daemon = True
        self._queries.add(cur)
        try:
            cur.execute("SET TimeZone = 'UTC'")
            cur.execute("SET SESSION python_enable_replacements = false")
            sqlguard.check(cur, query)
            cur.execute("BEGIN")
            reader = None
            timer.start()
            try:
                # batches of at most `limit` rows: no more is read into Python than is kept
                reader = cur.sql(query).to_arrow_reader(batch_size=max(1, min(limit, _SQL_BATCH)))
                columns = list(reader.schema.names)
                data: list[tuple[Any, ...]] = []
                size = 0
                for batch in reader:
                    size += batch.nbytes
                    if size > MAX_SQL_BYTES:  # `SELECT range(5000000)`: one row, 0.9 GB as Python objects
                        raise StoreError(
                            f"expected a result of at most {MAX_SQL_BYTES >> 20} MiB, got more by row "
                            f"{len(data) + batch.num_rows:,}: select fewer columns or rows (a LIMIT), "
                            "or write the table out with `trackway export`"
                        )
                    data.extend(tuple(r.values()) for r in batch.to_pylist())
                    if len(data) >= limit:
                        del data[limit:]
                        break
            except duckdb.InterruptException:
                raise StoreError(
                    f"expected a query that ends within {timeout:g} s (sql_timeout_seconds), got one "
                    "still running then, or the server stopping: it was stopped. Narrow it (a WHERE on "
                    "received_at, fewer joins) or raise sql_timeout_seconds"
                ) from None
            except (duckdb.Error, pa.ArrowException) as exc:
                raise sqlguard.failed(exc) from None
            finally:
                timer.cancel()
                if reader is not None:
                    reader.close()  # a result left open (a query cut at `limit`) refuses the ROLLBACK
                cur.execute("ROLLBACK")
        finally:
            self._queries.discard(cur)
            cur.close()
        return columns, data

    def interrupt_queries(self) -> None:
        """Stop the SQL queries running (the server is stopping: they would hold it)."""
        for cur in list(self._queries):
            with contextlib.suppress(duckdb.Error):
                cur.interrupt()

    def writable(self) -> bool:
        try:
            self.cursor().execute("SELECT count(*) FROM log_positions").fetchall()
        except duckdb.Error:
            return False
        if self.path is None:
            return True
        probe = self.path.parent / ".writable"
        try:
            probe.write_bytes(b"")
            probe.unlink()
        except OSError:
            return False
        return True

    def rebuild(self, progress: Callable[[int, int], None] | None = None, chunk: int = 50_000) -> int:
        """Recompute the derived tables from ``events`` in store order; the same tables as
        ingestion gave. Returns the events read."""
        with self._write:
            [(total,)] = self.cursor().execute("SELECT count(*) FROM events").fetchall()
            with self._transaction() as cur:
                keyed.drop(cur)  # every row is written again: indexed after, one index at a time
                state = MemoryState()
                keys = persons.Rebuild()
                last, done = -1, 0
                while True:
                    found = self._rows(
                        f"SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT {chunk}", [last]
                    )
                    if not found:
                        break
                    chunk_keys = []
                    for row in found:
                        person = apply(state, rows.row_to_event(row), row["seq"])
                        chunk_keys.append(keys.key(row["property"], person, row["seq"]))
                    keys.update_events(cur, [r["seq"] for r in found], chunk_keys)
                    last = found[-1]["seq"]
                    done += len(found)
                    if progress is not None:
                        progress(done, total)
                keys.write(cur, state.merges)
                state_tables.write_all(cur, state)
            keyed.create(self.cursor())
        return done

    def forget(
        self,
        user: str | None,
        email: str | None,
        prop: str | None = None,
        held: Callable[[Path], bool] | None = None,
    ) -> dict[str, Any]:
        """Erase one person's identifiers from every table (store/forget.py), rewrite the
        file, and scrub the loaded log segments beside it (store/logscrub.py: the data
        dir's ``log/``, whose workers are asked to start new segments) but those ``held``
        for a destination; returns what changed."""
        needles: set[str] = set()
        with self._write, self.parallel():  # it scans every table: every CPU
            with self._transaction() as cur:
                report = forget.forget(cur, user, email, prop, needles)
            # DuckDB leaves deleted and updated values in the file's free blocks, and
            # rows deleted from a row group in the group: rewrite the file.
            report["compacted"] = self._compact()
        if self.path is not None and (self.path.parent / "log").is_dir():
            logscrub.request_rotation(self.path.parent / "run")
            report["log"] = logscrub.scrub_log(
                self.path.parent / "log", self.positions(), identifiers.compile_needles(needles), held
            )
        if self.path is not None:  # the destinations' dead letters keep whole events
            pattern = identifiers.compile_needles(needles)
            report["dead_letters"] = deadscrub.scrub_dead_letters(self.path.parent / "run", pattern)
        return report

    def compact(self) -> bool:
        """Rewrite the database file with only what it holds now (see :meth:`_compact`)."""
        with self._write:
            return self._compact()

    def _compact(self) -> bool:
        """Copy the database into a new file (``COPY FROM DATABASE``), fsync it, and
        rename it over the old one, then reopen: no deleted or overwritten value stays
        in a free block. The caller holds the write lock (loads wait); a read running
        meanwhile on another thread fails (its connection closes) and can be retried.
        False for an in-memory store."""
        if self.path is None:
            return False
        fresh = compaction.write_copy(self.cursor(), self.path)
        self._con.close()  # closes every thread's cursor too
        self._generation += 1
        compaction.swap(fresh, self.path)
        self._open(self._threads)
        return True

    def subject(self, user: str | None, email: str | None, prop: str | None = None) -> dict[str, Any]:
        needles: set[str] = set()
        with self.parallel():  # it scans every table
            found = subject.subject(self.cursor(), user, email, prop, needles)
        if self.path is not None:
            run = self.path.parent / "run"
            found["dead_letters"] = deadscrub.dead_letters_of(run, identifiers.compile_needles(needles))
        return found

    def identity(self, value: str, prop: str | None = None) -> list[dict[str, Any]]:
        return state_tables.identity(self.cursor(), value, prop)

    def person(self, prop: str, person_id: str) -> dict[str, Any] | None:
        return person_view.person(self.cursor(), prop, person_id)

    def people(self, value: str, prop: str | None = None) -> list[dict[str, Any]]:
        return person_view.people(self.cursor(), value, prop)

    def find_event(
        self, id: str, prop: str | None = None, at: datetime | None = None
    ) -> tuple[Event, str] | None:
        return lookups.find_event(self.cursor(), id, prop, at)

    def find_failed(self, id: str, prop: str | None = None) -> FailedRow | None:
        found = lookups.find_failed(self.cursor(), id, prop)
        return failed_row(found) if found is not None else None

    def received(self, prop: str) -> dict[str, Received]:
        cache = getattr(self, "_received", None)
        if cache is None or cache.generation != self._generation:  # none yet, or the file rewritten
            cache = self._received = lookups.ReceivedCache(self._generation)
        return cache.received(self.cursor(), prop)

    def revenue(self, prop: str, include: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        return state_tables.revenue(self.cursor(), prop, include=include)

    def state_rows(self, table: str) -> list[dict[str, Any]]:
        if table not in state_tables.TABLES:
            raise StoreError(
                f"unknown derived table {table!r}: expected one of {', '.join(state_tables.TABLES)}"
            )
        return state_tables.state_rows(self.cursor(), table)

    def checkpoint(self) -> None:
        with self._write:
            self.cursor().execute("CHECKPOINT")

    def close(self) -> None:
        self._con.close()


# DuckDB errors that say the database cannot write (disk, memory, a broken or busy
# database), whatever the records: a batch that gets one is tried again, none is quarantined.
_STORE_FAULTS = (
    duckdb.IOException,
    duckdb.OutOfMemoryException,
    duckdb.FatalException,
    duckdb.InternalException,
    duckdb.TransactionException,
    duckdb.InterruptException,
    duckdb.ConnectionException,
    duckdb.PermissionException,
)


def _file_identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def _rollback(cur: duckdb.DuckDBPyConnection) -> None:
    """Roll back after an error without hiding it: when the error ended the transaction
    already (a COMMIT that failed on a full disk does), ROLLBACK raises "cannot rollback -
    no transaction is active", which used to replace the real error."""
    try:
        cur.execute("ROLLBACK")
    except duckdb.Error as exc:
        logger.debug("rollback after an error: %s", exc)


def failed_row(values: dict[str, Any]) -> FailedRow:
    values["issues"] = msgspec.json.decode(values["issues"])
    values["meta"] = msgspec.json.decode(values["meta"]) if values["meta"] else {}
    values["replayed"] = values["replayed"] or 0
    return FailedRow(**values)


def _like(found: Rows[Any], out: list[_T]) -> Rows[_T]:
    """``out``, made from ``found``, as rows truncated as it was."""
    result: Rows[_T] = Rows(out)
    result.truncated = found.truncated
    return result
