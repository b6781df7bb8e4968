"""``trackway validate``: check payloads against their vendor's rules.

The checking is :func:`trackway.inspect.validate_payloads` (the dashboard's validator
runs it too); this module reads the files and prints. Plain lines
(:mod:`trackway.cli.style`), no rich: this command is the one people run in loops and
hooks, and its start is measured (bench/cli.py, docs/performance.md).
"""

from __future__ import annotations

import sys
from typing import Any

import click

import trackway
from trackway.cli.dialect_params import check_dialect
from trackway.cli.inputs import read_sources
from trackway.cli.output import print_json
from trackway.cli.style import issue_line, out, unreadable
from trackway.errors import ParseError
from trackway.inspect import validate_payloads


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def print_text(results: list[dict[str, Any]]) -> None:
    errors = warnings = 0
    for r in results:
        mark = out.style("✓ valid", "green") if r["valid"] else out.style("✗ invalid", "red")
        names = ", ".join(e["name"] for e in r["events"]) or "no event"
        out.line(f"{r['_source']} #{r['index']}  {out.style(r['dialect'], 'bold')}  {mark}  {names}")
        if r["_detection"]:
            out.line("  " + out.style(r["_detection"], "dim"))
        for note in r["_notes"]:
            out.line("  " + out.style(f"read: {note}", "dim"))
        for i in r["issues"]:
            errors += i["severity"] == "error"
            warnings += i["severity"] == "warning"
            issue = trackway.Issue(i["path"], i["code"], trackway.Severity(i["severity"]), i["message"])
            out.line(issue_line(out, issue))
    bad = sum(not r["valid"] for r in results)
    summary = f"{_plural(len(results), 'payload')}: {len(results) - bad} valid, {bad} with errors"
    out.line(
        f"{out.style(summary, 'red' if bad else 'green')}; {_plural(errors, 'error')}, "
        f"{_plural(warnings, 'warning')}"
    )


def emit(results: list[dict[str, Any]], fmt: str) -> int:
    if fmt == "json":
        print_json([{k: v for k, v in r.items() if not k.startswith("_")} for r in results])
    else:
        print_text(results)
    return 0 if all(r["valid"] for r in results) else 1


@click.command()
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
        unreadable(exc)
        sys.exit(2)
    sys.exit(emit(validate_payloads(payloads, dialect, default_currency), fmt))
