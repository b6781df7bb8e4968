"""``trackway report NAME``: the reports of docs/reports.md as tables, JSON or CSV."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from trackway import reports
from trackway.cli.common import property_name, store_options
from trackway.cli.output import stdout
from trackway.cli.report_data import fetch_report
from trackway.reports import render


def show(name: str, sections: reports.Sections, fmt: str) -> None:
    if fmt == "json":
        sys.stdout.write(render.to_json(name, sections).decode() + "\n")
    elif fmt == "csv":
        sys.stdout.write(render.to_csv(name, sections))
    else:
        for table in render.tables(name, sections):
            stdout.print(table)


@click.command()
@click.argument("name", type=click.Choice(reports.NAMES))
@click.option("--property", "prop", callback=property_name, help="Only this property.")
@click.option("--since", help="From this time (inclusive): ISO 8601 or an age such as 7d.")
@click.option("--until", help="Up to this time (exclusive): ISO 8601 or an age.")
@click.option("--by", type=click.Choice(["day", "week", "month"]), help="One row per period (UTC).")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True
)
@click.option(
    "--steps",
    help="funnel: event names in order, comma-separated [default: each property's funnel_steps].",
)
@click.option("--window", help="funnel: longest time from step 1 to the last step.", show_default="30d")
@click.option("--include", help="Count orders whose status is pending or canceled too (comma-separated).")
@click.option(
    "--abandon-after", help="carts: an open cart untouched this long is abandoned.", show_default="24h"
)
@store_options
def report(
    name: str,
    prop: str | None,
    since: str | None,
    until: str | None,
    by: str | None,
    fmt: str,
    steps: str | None,
    window: str | None,
    include: str | None,
    abandon_after: str | None,
    data: Path,
    config_file: Path | None,
) -> None:
    """Print report NAME: funnel, revenue, orders, products, carts, procedures or quality.

    Every report is defined in docs/reports.md; money is never summed across currencies.
    """
    values = {
        "property": prop,
        "since": since,
        "until": until,
        "by": by,
        "steps": steps,
        "window": window,
        "include": include,
        "abandon_after": abandon_after,
    }
    show(name, fetch_report(name, values, data, config_file), fmt)
