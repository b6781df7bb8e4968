"""Printing results: JSON for programs, coloured text for people."""

from __future__ import annotations

import sys
from typing import Any

import msgspec
from rich.console import Console
from rich.markup import escape

from trackway.issues import Issue, Severity
from trackway.model import encode_json

stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(value: Any) -> None:
    data = msgspec.json.format(encode_json(value), indent=2)
    sys.stdout.write(data.decode() + "\n")
    sys.stdout.flush()


def issue_line(issue: Issue, prefix: str = "  ") -> str:
    colour = "red" if issue.severity is Severity.ERROR else "yellow"
    return (
        f"{prefix}[{colour}]{issue.severity.value:7}[/{colour}] [bold]{escape(issue.path)}[/bold] "
        f"[dim]{issue.code}[/dim] {escape(issue.message)}"
    )
