"""Printing results: JSON for programs, rich tables and coloured text for people.

``stdout`` and ``stderr`` are rich consoles made on first use: importing rich costs
about 21 ms, which the commands that print no table (``validate``, ``convert``, see
:mod:`trackway.cli.style`) do not pay.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click
import msgspec

from trackway.model import encode_json

if TYPE_CHECKING:
    from rich.console import Console


class LazyConsole:
    """A rich ``Console(**options)``, created the first time it is used; every attribute
    is the console's (``stdout.print(table)``); ``.console`` is the console itself."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.console, name)


stdout = LazyConsole(highlight=False, soft_wrap=True)
stderr = LazyConsole(stderr=True, highlight=False, soft_wrap=True)


def print_json(value: Any) -> None:
    data = msgspec.json.format(encode_json(value), indent=2)
    sys.stdout.write(data.decode() + "\n")
    sys.stdout.flush()


def open_output(path: Path, newline: str | None = None) -> IO[str]:
    """``-o FILE`` opened for writing, private (0600: what is written is personal data), or
    a usage error saying why it cannot be (a missing directory ended in a traceback)."""
    from trackway.store import files

    try:
        return files.open_private(path, "w", newline=newline)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise click.BadParameter(
            f"expected a file that can be written, got {str(path)!r}: {reason}; create its directory "
            "first, or write elsewhere",
            param_hint="-o/--output",
        ) from None
