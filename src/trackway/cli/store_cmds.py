"""``trackway replay``, ``export`` and ``sql``: work on the store, with or without a server.

When ``trackway serve`` runs on the data dir it holds the DuckDB file, so these
commands send their work to it over ``run/admin.sock``; otherwise they open the
store themselves after loading what the log still holds.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import click
import msgspec
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from trackway.cli.common import AdminClient, fail, property_name, store_access, store_options
from trackway.cli.output import open_output, stderr, stdout
from trackway.errors import TrackwayError
from trackway.replay import replay as replay_store
from trackway.store.base import Query, Store
from trackway.timeparse import parse_time

PAGE = 5_000
_json = msgspec.json.Encoder(decimal_format="number")


def _time(value: str | None, option: str = "--since", now: datetime | None = None) -> datetime | None:
    try:
        return parse_time(value, now=now) if value else None
    except TrackwayError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


def _window(since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    """``--since`` and ``--until`` as times (ages from one now), each error naming its
    option; an end not after the start is refused (it selected nothing, silently)."""
    now = datetime.now(UTC)
    start, end = _time(since, "--since", now), _time(until, "--until", now)
    if start is not None and end is not None and end <= start:
        raise click.BadParameter(
            f"expected a time after --since ({start:%Y-%m-%d %H:%M:%S} UTC), got {until!r} "
            f"({end:%Y-%m-%d %H:%M:%S} UTC); an age such as 2h is counted back from now",
            param_hint="--until",
        )
    return start, end


def _progress() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=stderr.console,
        transient=False,
    )


@click.command()
@click.option("--since", help="Only payloads received since (ISO 8601 or an age: 24h, 7d).")
@click.option("--code", help="Only payloads with this issue code (VALUE_REQUIRED, CURRENCY_INVALID, ...).")
@click.option("--property", "prop", callback=property_name, help="Only this property.")
@store_options
def replay(
    since: str | None, code: str | None, prop: str | None, data: Path, config_file: Path | None
) -> None:
    """Re-validate failed payloads after a configuration or rules fix.

    Events that now pass move into `events` (with the ids they would have had); the
    failed record stays, with its current issues and replayed_at once nothing fails.
    """
    since_t = _time(since)
    with store_access(data, config_file) as (client, store, cfg):
        if client is not None:
            body = {"since": since, "code": code, "property": prop}
            stderr.print("The server is running: replaying through it.")
            report = client.call("POST", "/api/replay", json={k: v for k, v in body.items() if v})
        else:
            assert store is not None
            query = Query(property=prop, names=(code,) if code else (), since=since_t, limit=1 << 62)
            with _progress() as bar:
                task = bar.add_task("replaying", total=None)
                report = replay_store(
                    store, cfg, query, lambda n, total: bar.update(task, completed=n, total=total)
                ).to_json()
    stdout.print(
        f"examined {report['examined']} failed payloads: {report['fixed']} now pass, "
        f"{report['events']} events moved into events, {report['still_failing']} still fail"
    )
    for c, n in sorted(report["codes"].items(), key=lambda kv: -kv[1]):
        stdout.print(f"  {c}: {n}")


def _pages(
    client: AdminClient | None, store: Store | None, table: str, query: Query
) -> Iterator[tuple[list[dict[str, Any]], int | None]]:
    after: tuple[datetime, str] | None = None
    while True:
        if client is not None:
            params: dict[str, Any] = {"table": table, "limit": PAGE}
            if query.since:
                params["since"] = query.since.isoformat()
            if query.until:
                params["until"] = query.until.isoformat()
            if after is not None:
                params["after_time"], params["after_id"] = after[0].isoformat(), after[1]
            body = client.call("GET", "/api/export", params=params)
            rows, total = body["rows"], body["total"]
        else:
            assert store is not None
            total = store.count(table, query) if after is None else None
            rows = store.page(table, Query(**{**query.__dict__, "limit": PAGE}), after)
        if not rows:
            if total is not None:
                yield [], total
            return
        yield rows, total
        last = rows[-1]
        after = (parse_time(last["received_at"]), last["id"])


def _cell(v: Any) -> str:
    return json.dumps(v, default=str) if isinstance(v, dict | list) else ("" if v is None else str(v))


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (_json.encode(v).decode() if isinstance(v, dict | list) else v) for k, v in row.items()}


class _Writer:
    def __init__(self, fmt: str, out: IO[str] | None, path: Path | None) -> None:
        self.fmt, self.out, self.path = fmt, out, path
        self.csv: Any = None
        self.columns: list[str] | None = None
        self.parquet: Any = None

    def write(self, rows: list[dict[str, Any]]) -> None:
        if self.fmt == "jsonl":
            assert self.out is not None
            for r in rows:
                self.out.write(_json.encode(r).decode() + "\n")
            return
        flat = [_flat(r) for r in rows]
        if self.columns is None:
            self.columns = sorted({k for r in flat for k in r})
        if self.fmt == "csv":
            assert self.out is not None
            if self.csv is None:
                self.csv = csv.DictWriter(self.out, self.columns, extrasaction="ignore")
                self.csv.writeheader()
            self.csv.writerows(flat)
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist(
            [{c: _str(r.get(c)) for c in self.columns} for r in flat],
            schema=pa.schema([(c, pa.string()) for c in self.columns]),
        )
        if self.parquet is None:
            assert self.path is not None
            self.parquet = pq.ParquetWriter(self.path, table.schema)
        self.parquet.write_table(table)

    def close(self) -> None:
        if self.parquet is not None:
            self.parquet.close()


def _str(v: Any) -> str | None:
    return None if v is None else str(v)


@click.command()
@click.option("--table", type=click.Choice(["events", "failed_events"]), default="events", show_default=True)
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv", "parquet"]), default="jsonl", show_default=True
)
@click.option("--since", help="From this time (ISO 8601 or an age: 24h, 7d).")
@click.option("--until", help="Up to this time, excluded.")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: stdout)."
)
@store_options
def export(
    table: str,
    fmt: str,
    since: str | None,
    until: str | None,
    output: Path | None,
    data: Path,
    config_file: Path | None,
) -> None:
    """Write a table in the canonical JSON form (jsonl), or flattened (csv, parquet:
    objects as JSON text), oldest first."""
    if fmt == "parquet" and output is None:
        raise click.UsageError("parquet needs a file: add -o FILE")
    start, end = _window(since, until)
    query = Query(since=start, until=end, limit=PAGE)
    out: IO[str] | None = None
    if output is not None:  # personal data: a file only its owner reads (0600)
        out = open_output(output, newline="")
        if fmt == "parquet":  # pyarrow writes the file made here, keeping its mode
            out.close()
            out = None
    elif fmt != "parquet":
        out = sys.stdout
    writer = _Writer(fmt, out, output)
    written = 0
    try:
        with store_access(data, config_file) as (client, store, _), _progress() as bar:
            task = bar.add_task(f"exporting {table}", total=None)
            for rows, total in _pages(client, store, table, query):
                if total is not None:
                    bar.update(task, total=total)
                writer.write(rows)
                written += len(rows)
                bar.update(task, completed=written)
    finally:
        writer.close()
        if out is not None and out is not sys.stdout:
            out.close()
    stderr.print(f"wrote {written} rows of {table}" + (f" to {output}" if output else ""))


@click.command()
@click.argument("query")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True
)
@click.option("--limit", type=int, default=10_000, show_default=True, help="Most rows to print.")
@store_options
def sql(query: str, fmt: str, limit: int, data: Path, config_file: Path | None) -> None:
    """Run read-only SQL (SELECT, EXPLAIN) on the store: tables events, failed_events."""
    if not query.strip():  # it answered with the API's words, 'expected {"query": ...}'
        raise click.BadParameter("expected a SELECT, got an empty query", param_hint="QUERY")
    with store_access(data, config_file) as (client, store, _):
        if client is not None:
            body = client.call("POST", "/api/sql", json={"query": query, "limit": limit})
            columns, rows = body["columns"], body["rows"]
        else:
            assert store is not None
            try:
                columns, tuples = store.sql(query, limit)
            except TrackwayError as exc:
                raise fail(exc) from None
            rows = [list(r) for r in tuples]
    if fmt == "json":
        click.echo(_json.encode([dict(zip(columns, r, strict=True)) for r in rows]).decode())
    elif fmt == "csv":
        w = csv.writer(sys.stdout)
        w.writerow(columns)
        w.writerows(rows)
    else:
        t = Table(show_lines=False)
        for c in columns:
            t.add_column(c)
        for r in rows:
            t.add_row(  # stored text is no markup: "[forgotten]" printed as an empty cell
                *[escape(_cell(v)) for v in r]
            )
        stdout.print(t)
        cut = f" (stopped at --limit {limit}: there may be more)" if len(rows) >= limit else ""
        stderr.print(f"{len(rows)} rows{cut}")
