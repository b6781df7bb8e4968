"""Reading payloads from files and stdin: JSON, JSON arrays, JSON Lines, JavaScript."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import msgspec

from trackway.errors import ParseError
from trackway.literal import read_literals

_json = msgspec.json.Decoder(float_hook=Decimal)


class Payload(NamedTuple):
    source: str  # file name or "<stdin>"
    value: Any
    notes: tuple[str, ...]  # what the JavaScript reader assumed


def _is_call_array(value: Any) -> bool:
    """A gtag / cact / convead call array is one payload; other arrays hold payloads."""
    return isinstance(value, list) and bool(value) and isinstance(value[0], str)


def _spread(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if isinstance(value, list) and not _is_call_array(value):
            out.extend(value)
        else:
            out.append(value)
    return out


def split_payloads(text: str, source: str = "<input>") -> list[Payload]:
    """The payloads of one text, in order.

    One JSON value (an array of payloads is spread, a call array such as
    ``["event", "purchase", {...}]`` is one payload), JSON Lines, or JavaScript
    object literals and calls as pasted from docs or a console.
    """
    stripped = text.strip()
    if not stripped:
        return []
    try:
        return [Payload(source, v, ()) for v in _spread([_json.decode(stripped)])]
    except msgspec.DecodeError:
        pass
    lines = [line for line in stripped.splitlines() if line.strip()]
    if len(lines) > 1:
        try:
            values = [_json.decode(line) for line in lines]
        except msgspec.DecodeError:
            pass
        else:
            return [Payload(source, v, ()) for v in values]
    values, notes = read_literals(text, source)
    return [Payload(source, v, tuple(notes)) for v in _spread(values)]


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
