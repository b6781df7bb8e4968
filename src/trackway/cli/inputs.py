"""Reading payloads from files and stdin: JSON, JSON arrays, JSON Lines, JavaScript, or a
page script's tracking calls (the reading itself is :func:`trackway.inspect.read_text`,
shared with the dashboard's validator)."""

from __future__ import annotations

import sys
from pathlib import Path

from trackway.errors import ParseError
from trackway.inspect import MARKDOWN_NOTE, SCRIPT_NOTE, Payload, read_text, split_payloads

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
        if not text.strip():  # an empty export checked in CI must not pass as "0 payloads, valid"
            raise ParseError(
                "expected at least one payload, got an empty text: "
                "check the file, or the command that wrote it",
                source=label,
            )
        found, notes = read_text(text, label)
        # a page script or a Markdown text: say so, and what it skipped
        if found and notes and notes[0].startswith((SCRIPT_NOTE, MARKDOWN_NOTE)):
            own = {n for p in found for n in p.notes}
            found[0] = found[0]._replace(notes=(*(n for n in notes if n not in own), *found[0].notes))
        payloads.extend(found)
    return payloads
