"""Entry point of the ``trackway`` command."""

from __future__ import annotations

import sys

import click

import trackway
from trackway.cli import convert_cmd, demo_cmd, report_cmd, server_cmds, state_cmds, store_cmds, tour
from trackway.cli.inputs import read_sources
from trackway.cli.output import print_json, stderr, stdout
from trackway.cli.quarantine_cmd import quarantine
from trackway.cli.validate import check_dialect, emit, validate_payloads
from trackway.errors import ParseError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(trackway.__version__, prog_name="trackway")
def cli() -> None:
    """Trackway: every vendor's tracking events in, one canonical event out."""


@cli.command()
@click.option(
    "--dialect",
    "-d",
    default="auto",
    show_default=True,
    callback=check_dialect,
    help="Dialect of the payloads, or auto to detect it per payload.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people (colour, one line per issue), json for programs.",
)
@click.option("--default-currency", metavar="CODE", help="Currency for dialects that carry none (Convead).")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, allow_dash=True))
def validate(dialect: str, fmt: str, default_currency: str | None, files: tuple[str, ...]) -> None:
    """Check payloads in FILES (or stdin) against their vendor's rules.

    Reads one JSON value, a JSON array of payloads, JSON Lines, or JavaScript
    object literals as pasted from docs or a browser console. Exit status: 0 when
    no payload has an error, 1 when any has, 2 for a usage error or unreadable input.
    """
    try:
        payloads = read_sources(files)
    except (ParseError, OSError) as exc:
        stderr.print(f"[red]error:[/red] cannot read input: {exc}")
        sys.exit(2)
    sys.exit(emit(validate_payloads(payloads, dialect, default_currency), fmt))


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def dialects(fmt: str) -> None:
    """List each dialect with its events and the canonical names they map to."""
    from rich.table import Table

    rows = [
        (a.name, a.title, [(e.wire, e.canonical) for e in a.events]) for a in trackway.dialects.adapters()
    ]
    if fmt == "json":
        print_json(
            [
                {"name": n, "title": t, "events": [{"wire": w, "canonical": c} for w, c in ev]}
                for n, t, ev in rows
            ]
        )
        return
    table = Table(title="Trackway dialects", show_lines=True)
    table.add_column("dialect", style="bold")
    table.add_column("what it is")
    table.add_column("events (wire → canonical)")
    for name, title, events in rows:
        table.add_row(name, title, ", ".join(w if w == c else f"{w} → {c}" for w, c in events))
    stdout.print(table)


cli.add_command(convert_cmd.convert)
cli.add_command(tour.tour)
cli.add_command(server_cmds.serve)
cli.add_command(server_cmds.property)
cli.add_command(server_cmds.stop)
cli.add_command(store_cmds.replay)
cli.add_command(store_cmds.export)
cli.add_command(store_cmds.sql)
cli.add_command(state_cmds.identity)
cli.add_command(state_cmds.rebuild)
cli.add_command(state_cmds.forget)
cli.add_command(state_cmds.subject_export)
cli.add_command(report_cmd.report)
cli.add_command(demo_cmd.demo)
cli.add_command(quarantine)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
