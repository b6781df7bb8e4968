"""``trackway validate``: check payloads against their vendor's rules."""

from __future__ import annotations

from typing import Any

import click
from rich.markup import escape

import trackway
from trackway.cli.inputs import Payload
from trackway.cli.output import issue_line, print_json, stdout
from trackway.errors import ParseError
from trackway.model import to_builtins


def validate_payloads(
    payloads: list[Payload], dialect: str, default_currency: str | None
) -> list[dict[str, Any]]:
    """One result per payload: ``{index, dialect, valid, events, issues}``."""
    results = []
    for index, payload in enumerate(payloads):
        try:
            decoded = trackway.decode(dialect, payload.value, default_currency=default_currency)
        except ParseError as exc:  # a string payload that is itself unreadable text
            results.append(
                {
                    "index": index,
                    "dialect": dialect,
                    "valid": False,
                    "events": [],
                    "issues": [
                        {"path": "$", "code": "PAYLOAD_INVALID", "severity": "error", "message": str(exc)}
                    ],
                    "_source": payload.source,
                    "_detection": None,
                    "_notes": payload.notes,
                }
            )
            continue
        results.append(
            {
                "index": index,
                "dialect": decoded.dialect,
                "valid": decoded.valid,
                "events": [to_builtins(e) for e in decoded.events],
                "issues": [i.to_json() for i in decoded.issues],
                "_source": payload.source,
                "_detection": decoded.detection,
                "_notes": payload.notes,
            }
        )
    return results


def print_text(results: list[dict[str, Any]]) -> None:
    errors = warnings = 0
    for r in results:
        mark = "[green]✓ valid[/green]" if r["valid"] else "[red]✗ invalid[/red]"
        names = ", ".join(e["name"] for e in r["events"]) or "no event"
        stdout.print(
            f"{escape(r['_source'])} #{r['index']}  [bold]{r['dialect']}[/bold]  {mark}  {escape(names)}"
        )
        if r["_detection"]:
            stdout.print(f"  [dim]{escape(r['_detection'])}[/dim]")
        for note in r["_notes"]:
            stdout.print(f"  [dim]read: {escape(note)}[/dim]")
        for i in r["issues"]:
            errors += i["severity"] == "error"
            warnings += i["severity"] == "warning"
            stdout.print(
                issue_line(
                    trackway.Issue(i["path"], i["code"], trackway.Severity(i["severity"]), i["message"])
                )
            )
    bad = sum(not r["valid"] for r in results)
    colour = "red" if bad else "green"
    stdout.print(
        f"[{colour}]{len(results)} payload{'s' * (len(results) != 1)}: {len(results) - bad} valid, "
        f"{bad} with errors[/{colour}]; {errors} error{'s' * (errors != 1)}, "
        f"{warnings} warning{'s' * (warnings != 1)}"
    )


def emit(results: list[dict[str, Any]], fmt: str) -> int:
    if fmt == "json":
        print_json([{k: v for k, v in r.items() if not k.startswith("_")} for r in results])
    else:
        print_text(results)
    return 0 if all(r["valid"] for r in results) else 1


def check_dialect(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if value != "auto" and value not in trackway.dialect_names():
        raise click.BadParameter(
            f"expected one of {', '.join(trackway.dialect_names())} or auto, got {value!r}", ctx, param
        )
    return value
