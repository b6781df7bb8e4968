"""``trackway tour``: validate and convert the bundled examples (``make run``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import click
from click.testing import CliRunner

from trackway.cli.output import stdout

STEPS = [
    ("Validate payloads of four vendors, dialect detected per payload", ["validate"], ["shop.js"]),
    ("The same as JSON, for programs", ["validate", "--format", "json"], ["mp-purchase.json"]),
    ("Bad input: every issue, with its path, code and fix", ["validate"], ["broken.json"]),
    (
        "Convert a GTM GA4 purchase to a Commanders Act server-side body",
        ["convert", "--from", "auto", "--to", "commanders-act"],
        ["gtm-ga4-purchase.json"],
    ),
    (
        "Convert it to GTM Universal Analytics with 2Checkout's rules",
        ["convert", "--to", "gtm-ua", "--preset", "2checkout"],
        ["gtm-ga4-purchase.json"],
    ),
]


def examples_dir() -> Path:
    return Path(str(resources.files("trackway") / "examples"))


@click.command()
def tour() -> None:
    """Show validate and convert on the bundled examples."""
    from trackway.cli.main import cli

    folder = examples_dir()
    runner = CliRunner()
    for title, args, files in STEPS:
        paths = [str(folder / f) for f in files]
        shown = " ".join(args + [f"examples/{f}" for f in files])
        stdout.rule(f"[bold]{title}")
        stdout.print(f"[cyan]$ trackway {shown}[/cyan]")
        result = runner.invoke(cli, [*args, *paths], catch_exceptions=False)
        stdout.out(result.stdout, end="", highlight=False)
        if result.stderr:
            stdout.out(result.stderr, end="", highlight=False)
        stdout.print(f"[dim](exit status {result.exit_code})[/dim]")
    stdout.rule()
    stdout.print(f"The examples are in {folder}. Try: trackway validate --help, trackway dialects")
