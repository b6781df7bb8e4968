"""Reading payloads from files and stdin: JSON, JSON arrays, JSON Lines, JavaScript
(the reading itself is :func:`trackway.inspect.split_payloads`, shared with the dashboard)."""

from __future__ import annotations

import sys
from pathlib import Path

from trackway.errors import ParseError
from trackway.inspect import Payload, split_payloads

__all__ = ["Payload", "read_sources", "split_payloads"]


def read_sources(files: tuple[str, ...]) -> list[Payload]:
    """Payloads of every file (``-`` or none: stdin). Raises ParseError or OSError."""
    payloads: list[Payload] = []
    if not files:
        files = ("-",)
    for name in files:
        if name == "-":
            text = sys.stdin.read()
            label = "<stdin>"
        else:
            try:
                text = Path(name).read_text(encoding="utf-8")
            except UnicodeDecodeError as exc:
                raise ParseError(
                    f"expected UTF-8 text, got an invalid byte at offset {exc.start}", source=name
                ) from None
            label = name
        payloads.extend(split_payloads(text, label))
    return payloads
