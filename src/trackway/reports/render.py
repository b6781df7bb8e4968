"""Reports as people and programs read them: rich tables, JSON, CSV.

JSON is ``{"report": NAME, "sections": {SECTION: [row, ...]}}`` with decimals as exact
JSON numbers (the API answers the same document); CSV is one table with a ``section``
column first and the union of the sections' columns.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import msgspec
from rich.table import Table

from trackway.reports.params import Sections

_encode = msgspec.json.Encoder(decimal_format="number").encode
_decode = msgspec.json.Decoder(float_hook=Decimal).decode
_RIGHT = (int, Decimal)


def document(name: str, sections: Sections) -> dict[str, Any]:
    return {"report": name, "sections": sections}


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


def to_csv(sections: Sections) -> str:
    columns: dict[str, None] = {"section": None}
    for rows in sections.values():
        for row in rows:
            columns.update(dict.fromkeys(row))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for section, rows in sections.items():
        for row in rows:
            writer.writerow([section, *(_text(row.get(c)) for c in list(columns)[1:])])
    return out.getvalue()


def tables(name: str, sections: Sections, *, limit: int | None = None) -> list[Table]:
    """One table per section; a `period` column only when the report was grouped by one;
    with ``limit``, the first rows and a caption saying how many more there are."""
    out = []
    for section, rows in sections.items():
        title = f"{name}: {section}" if len(sections) > 1 else name
        if not rows:
            out.append(Table(title=f"{title} (no rows)"))
            continue
        columns = [c for c in rows[0] if c != "period" or any(r.get("period") for r in rows)]
        more = len(rows) - limit if limit is not None and len(rows) > limit else 0
        table = Table(title=title, caption=f"... and {more} more rows" if more else None)
        for c in columns:
            right = any(isinstance(r.get(c), _RIGHT) and not isinstance(r.get(c), bool) for r in rows)
            table.add_column(c.replace("_", " "), justify="right" if right else "left")
        for r in rows[: len(rows) - more]:
            table.add_row(*(_text(r.get(c)) for c in columns))
        out.append(table)
    return out
