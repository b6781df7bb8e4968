"""``trackway quarantine list`` and ``retry``: the log records the loader could not load.

Like ``replay``, these go through the running server's admin API when there is one,
and open the store themselves otherwise (after loading what the log holds).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from trackway.cli.common import property_name, store_access, store_options
from trackway.cli.output import print_json, stderr, stdout
from trackway.ingest.retry import retry_quarantined


@click.group()
def quarantine() -> None:
    """Log records the loader could not load (decoding or storing raised).

    Such a record never stops loading: it is kept raw and whole with its error, and
    `/health` says "degraded" while any waits. After an upgrade or a configuration
    fix, `trackway quarantine retry --all` loads them.
    """


@quarantine.command("list")
@click.option("--property", "prop", callback=property_name, help="Only this property's records.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@store_options
def list_(prop: str | None, limit: int, fmt: str, data: Path, config_file: Path | None) -> None:
    """List quarantined records, oldest first."""
    with store_access(data, config_file) as (client, store, _):
        if client is not None:
            params: dict[str, Any] = {"limit": limit, **({"property": prop} if prop else {})}
            body = client.call("GET", "/api/quarantine", params=params)
            rows, total = body["quarantine"], body["total"]
        else:
            assert store is not None
            rows = [r.to_json() for r in store.quarantined(prop, None, limit)]
            total = store.quarantine_count(prop)
    if fmt == "json":
        print_json(rows)
        return
    if not rows:
        stdout.print("The quarantine is empty: every log record was loaded.")
        return
    table = Table(title=f"Quarantined log records ({total})")
    for column in ("id", "property", "slot/position", "exception", "when", "attempts"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(
            str(r["id"]),
            escape(r["property"] or "(unreadable)"),
            f"{r['slot']} file {r['seq']} byte {r['offset']}",
            escape(f"{r['error_type']}: {_cut(r['error_message'])}"),
            str(r["quarantined_at"]),
            str(r["attempts"]),
        )
    stdout.print(table)
    if total > len(rows):
        stderr.print(f"{len(rows)} of {total} shown; add --limit {min(total, 10_000)} to see more")
    stderr.print("Load them again, once the cause is fixed: `trackway quarantine retry --all` (or IDs)")


@quarantine.command()
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "every", is_flag=True, help="Retry every quarantined record.")
@click.option("--property", "prop", callback=property_name, help="Only this property's records.")
@store_options
def retry(ids: tuple[int, ...], every: bool, prop: str | None, data: Path, config_file: Path | None) -> None:
    """Decode and store quarantined records again (IDs, or --all).

    A record that loads now leaves the quarantine; one that fails again stays, with
    the new error. Exit status 1 when any record still fails or an ID is unknown.
    """
    if every == bool(ids):  # said "not both" when neither was given too
        got = "both" if every else "neither"
        raise click.UsageError(
            f"expected record IDs or --all, got {got}; `trackway quarantine list` shows the IDs"
        )
    wanted = None if every else list(ids)
    with store_access(data, config_file) as (client, store, cfg):
        if client is not None:
            stderr.print("The server is running: retrying through it.")
            body: dict[str, Any] = {"all": True} if every else {"ids": wanted}
            if prop:
                body["property"] = prop
            report = client.call("POST", "/api/quarantine/retry", json=body)
        else:
            assert store is not None
            properties = cfg.properties if cfg is not None else {}
            report = retry_quarantined(store, properties, wanted, prop).to_json()
    stdout.print(
        f"retried {report['examined']} quarantined records: {report['loaded']} loaded "
        f"({report['events']} events, {report['failed_payloads']} failed payloads stored), "
        f"{len(report['still_failing'])} still fail"
    )
    for failing in report["still_failing"]:
        stdout.print(f"  {failing['id']}: {escape(_cut(failing['error']))}")
    if report["not_found"]:
        stdout.print(
            f"not in the quarantine: {', '.join(map(str, report['not_found']))} "
            "(`trackway quarantine list` shows the IDs there)"
        )
    if report["still_failing"] or report["not_found"]:
        sys.exit(1)


def _cut(text: str, n: int = 160) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."
