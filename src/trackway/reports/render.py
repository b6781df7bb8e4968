"""Reports as people and programs read them: rich tables, JSON, CSV.

JSON is ``{"report": NAME, "sections": {SECTION: [row, ...]}, "columns": {SECTION:
[column, ...]}}`` with decimals as exact JSON numbers (the API answers the same
document); CSV is one table with a ``section`` column first and the union of the
sections' columns, its text cells safe to open in a spreadsheet (:func:`_cell`). The
columns are the report's declared ones (reports.COLUMNS), so a section with no rows
keeps them: a CSV header, a table's headings, a JSON list.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import msgspec
from rich.table import Table

from trackway.reports import COLUMNS
from trackway.reports.params import Sections

_encode = msgspec.json.Encoder(decimal_format="number").encode
_decode = msgspec.json.Decoder(float_hook=Decimal).decode
_RIGHT = (int, Decimal)


def columns(name: str, sections: Sections) -> dict[str, list[str]]:
    """Each section's columns: those report ``name`` declares, then any other its rows have."""
    declared = COLUMNS.get(name, {})
    out = {}
    for section, rows in sections.items():
        found = dict.fromkeys(declared.get(section, ()))
        for row in rows:
            found.update(dict.fromkeys(row))
        out[section] = list(found)
    return out


def document(name: str, sections: Sections) -> dict[str, Any]:
    return {"report": name, "sections": sections, "columns": columns(name, sections)}


def to_json(name: str, sections: Sections) -> bytes:
    return _encode(document(name, sections))


def from_json(body: bytes) -> tuple[str, Sections]:
    """A report document back, with its numbers as exact decimals and whole numbers as ints."""
    doc = _decode(body)
    return doc["report"], doc["sections"]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


# What a spreadsheet reads as a formula at the start of a cell (OWASP's CSV injection).
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    """A CSV cell. Text is whatever a tracking payload sent (an item's or an event's
    name): text a spreadsheet would run as a formula (``=HYPERLINK(...)``) starts with
    ``'``, which spreadsheets show as text, and a carriage return is written as a line
    feed (the writer quotes that; a lone CR it left unquoted, and readers split the row
    there). Numbers, negative ones too, stay as they are."""
    if not isinstance(value, str):
        return _text(value)
    if value.startswith(_FORMULA):
        value = "'" + value
    return value.replace("\r\n", "\n").replace("\r", "\n")


def to_csv(name: str, sections: Sections) -> str:
    union: dict[str, None] = {}
    for found in columns(name, sections).values():
        union.update(dict.fromkeys(found))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", *union])
    for section, rows in sections.items():
        for row in rows:
            writer.writerow([section, *(_cell(row.get(c)) for c in union)])
    return out.getvalue()


def tables(name: str, sections: Sections, *, limit: int | None = None) -> list[Table]:
    """One table per section; a `period` column only when the report was grouped by one;
    with ``limit``, the first rows and a caption saying how many more there are."""
    out = []
    for section, found in columns(name, sections).items():
        rows = sections[section]
        title = f"{name}: {section}" if len(sections) > 1 else name
        shown = [c for c in found if c != "period" or any(r.get("period") for r in rows)]
        more = len(rows) - limit if limit is not None and len(rows) > limit else 0
        table = Table(
            title=title if rows else f"{title} (no rows)",
            caption=f"... and {more} more rows" if more else None,
        )
        for c in shown:
            right = any(isinstance(r.get(c), _RIGHT) and not isinstance(r.get(c), bool) for r in rows)
            table.add_column(c.replace("_", " "), justify="right" if right else "left")
        for r in rows[: len(rows) - more]:
            table.add_row(*(_text(r.get(c)) for c in shown))
        out.append(table)
    return out
