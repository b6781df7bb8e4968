"""``trackway dialects``: the dialects, their events and the canonical names they map to."""

from __future__ import annotations

import click

import trackway
from trackway.cli.output import print_json, stdout


@click.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def dialects(fmt: str) -> None:
    """List each dialect with its events and the canonical names they map to."""
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
    from rich.table import Table

    table = Table(title="Trackway dialects", show_lines=True)
    table.add_column("dialect", style="bold")
    table.add_column("what it is")
    table.add_column("events (wire → canonical)")
    for name, title, events in rows:
        table.add_row(name, title, ", ".join(w if w == c else f"{w} → {c}" for w, c in events))
    stdout.print(table)
