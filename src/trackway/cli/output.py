"""Printing results: JSON for programs, rich tables and coloured text for people.

``stdout`` and ``stderr`` are rich consoles made on first use: importing rich costs
about 21 ms, which the commands that print no table (``validate``, ``convert``, see
:mod:`trackway.cli.style`) do not pay.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

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
