"""The examples of ``../shared/specs``, extracted per dialect.

The vendor documents are the specification; every example they give must decode
in its dialect with no error and re-encode to the same payload. This module finds
them in the documents as they are (Markdown fences, HTML tables, a text export).

The documents sit beside the checkout (``../shared/specs``), or where
``TRACKWAY_SPECS`` points. Their absence is an error, never a skip.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from trackway.literal import read_literals

ROOT = Path(__file__).resolve().parents[2]


def specs_dir() -> Path:
    env = os.environ.get("TRACKWAY_SPECS")
    path = Path(env) if env else ROOT.parent / "shared" / "specs"
    if not path.is_dir():
        raise FileNotFoundError(
            f"the vendor specs are not at {path}; set TRACKWAY_SPECS or put shared/ beside the repo"
        )
    return path


@dataclass
class Example:
    dialect: str
    name: str  # the event as the document titles it
    text: str  # the example as written in the document
    value: Any  # the payload read from it
    notes: list[str] = field(default_factory=list)  # what the reader assumed (missing commas, ...)
    read: str = ""  # the text read (the example, with Koalect's [Product] filled in)

    def __post_init__(self) -> None:
        self.read = self.read or self.text

    @property
    def id(self) -> str:
        return f"{self.dialect}:{self.name}"


_FENCE = re.compile(r"```(?:json|javascript)?\n(.*?)(?:```|\Z)", re.DOTALL)  # the last fence is never closed
_ROW_EVENT = re.compile(r"\| \*\*(\w+)\*\* \|")


def _read(text: str) -> tuple[Any, list[str]]:
    values, notes = read_literals(text)
    assert len(values) == 1, f"expected one value in the example, found {len(values)}: {text[:80]}"
    return values[0], notes


def _twocheckout_sections() -> dict[str, str]:
    doc = (specs_dir() / "2checkout-analytics-datalayer.md").read_text()
    marks = [
        ("gtag-ga4", "### Google Analytics 4"),
        ("gtm-ua", "### Google Tag Manager with Universal Analytics"),
        ("gtm-ga4", "### Google Tag Manager with GA4"),
        ("adobe-dtm", "### Adobe's Dynamic Tag Manager"),
        ("custom", "## Custom events (cartUpdated)"),
    ]
    out: dict[str, str] = {}
    start, name = 0, "gtag-ua"  # the first table lost its heading: gtag.js with a UA property
    for next_name, mark in marks:
        pos = doc.index(mark)
        out[name] = doc[start:pos]
        start, name = pos, next_name
    out[name] = doc[start:]
    return out


def _twocheckout(dialect: str) -> list[Example]:
    section = _twocheckout_sections()[dialect]
    out = []
    rows = re.split(r"(?m)^\| \*\*", section)[1:] if dialect != "custom" else [section]
    for row in rows:
        name = row.split("**", 1)[0] if dialect != "custom" else "cartUpdated"
        fence = _FENCE.search(row)
        assert fence, f"no example in the {dialect} row {name}"
        value, notes = _read(fence.group(1))
        out.append(Example(dialect, name, fence.group(1), value, notes))
    return out


def _commanders_act() -> list[Example]:
    doc = (specs_dir() / "commanders-act-events.md").read_text()
    out = []
    for fence in _FENCE.finditer(doc):
        text = fence.group(1)
        if "cact(" not in text:
            continue
        value, notes = _read(text)
        out.append(Example("commanders-act", value[1], text, value, notes))
    return out


def commanders_act_hashed_user() -> dict[str, Any]:
    """The document's example of a user with hashed identifiers."""
    doc = (specs_dir() / "commanders-act-events.md").read_text()
    block = doc.split("Example :", 1)[1].split("```", 2)[1]
    value, _ = _read(block)
    return value


@dataclass
class Row:
    """One row of a table of the Commanders Act events reference, its cells as text."""

    name: str
    type: str  # "string", "number", "string (ISO 4217)", "Object<User>", "Array[string]", ...
    required: str  # "Yes", "Yes*", "No", "No*"
    example: str  # the "Example value" cell as text ('' when empty)
    example_html: str  # the cell as written (the user example is code split over lines)


@dataclass
class Table:
    """A table of the Commanders Act document: where it is and its rows."""

    section: str  # the event ("purchase") or the common schema ("Item", "Product", "User")
    added: bool  # an "Automatically added by cact API" table
    rows: list[Row]


_CELL = re.compile(r"<t([dh])[^>]*>(.*?)</t\1>", re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def _text(html: str) -> str:
    import html as html_lib

    return (
        " ".join(html_lib.unescape(_TAG.sub(" ", html)).replace("*", "* ").split()).replace("* ", "*").strip()
    )


def _html_rows(table: str) -> list[list[str]]:
    body = table.split("<tbody>", 1)[1]
    return [[c[1] for c in _CELL.findall(tr)] for tr in re.findall(r"<tr>(.*?)</tr>", body, re.DOTALL)]


def _markdown_rows(block: str) -> list[list[str]]:
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in block.strip().splitlines()]
    return rows[2:]  # the header and the --- line


@cache
def commanders_act_tables() -> tuple[Table, ...]:
    """Every parameter table of the Commanders Act document (HTML and Markdown), in order;
    the enumeration tables are :func:`commanders_act_enums`."""
    doc = (specs_dir() / "commanders-act-events.md").read_text()
    out: list[Table] = []
    section = ""
    lines = doc.splitlines()
    for n, line in enumerate(lines):
        heading = re.match(r"#{2,3} ([^<]+)", line)
        if heading:
            section = heading.group(1).replace("\\", "").strip()
            continue
        if section.startswith("- ENUMERATED"):
            break
        added = any("Automatically added" in lines[k] for k in range(max(0, n - 3), n))
        cells: list[list[str]] = []
        if line.startswith("<table>"):
            cells = _html_rows(line)
        elif line.startswith("| Name") and "Required" in line:
            end = n
            while end < len(lines) and lines[end].startswith("|"):
                end += 1
            cells = _markdown_rows("\n".join(lines[n:end]))
        if cells:
            rows = [
                Row(_text(c[0]).strip("`"), _text(c[1]).strip("`"), _text(c[2]), _text(c[3]), c[3])
                for c in cells
            ]
            out.append(Table(section, added, rows))
    return tuple(out)


def commanders_act_enums() -> dict[str, list[str]]:
    """The enumerated values of the document: property -> values, in the document's order."""
    doc = (specs_dir() / "commanders-act-events.md").read_text()
    part = doc.split("## - ENUMERATED VALUE -", 1)[1]
    out: dict[str, list[str]] = {}
    for prop, value in re.findall(r"^\| ([a-z\\_]+) +\| ([a-z\\_]+) +\|$", part, re.MULTILINE):
        out.setdefault(prop.replace("\\", ""), []).append(value.replace("\\", ""))
    for prop, value in re.findall(r"<tr><td>([a-z_]+)</td><td>([a-z_]+)</td></tr>", part):
        out.setdefault(prop, []).append(value)
    return out


def _convead(dialect: str) -> list[Example]:
    name = "convead-event-api.txt" if dialect == "convead" else "insend-event-api.txt"
    doc = (specs_dir() / name).read_text()
    call = "convead(" if dialect == "convead" else "insend("
    out = []
    for line in doc.splitlines():
        if call in line:
            text = line[line.index(call) :]
            value, notes = _read(text)
            out.append(Example(dialect, value[1], text, value, notes))
    return out


def _koalect_blocks() -> list[tuple[str, str]]:
    """(title, text) of each ``{...}`` block of the Koalect document, by its heading."""
    doc = (specs_dir() / "koalect-datalayer.txt").read_text()
    blocks = []
    title = ""
    depth = 0
    start = 0
    for n, ch in enumerate(doc):
        if depth == 0 and ch == "#" and (n == 0 or doc[n - 1] == "\n"):
            title = doc[n + 1 : doc.index("\n", n)].strip()
        if ch == "{":
            if depth == 0:
                start = n
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
            if depth == 0:
                blocks.append((title, doc[start : n + 1]))
    return blocks


def koalect_product() -> tuple[str, dict[str, Any]]:
    for title, text in _koalect_blocks():
        if title == "Product":
            value, _ = _read(text)
            return text, value
    raise AssertionError("no Product block in the Koalect document")


def koalect_cookie() -> tuple[str, dict[str, Any], list[str]]:
    """The document's ``koalect_consent`` cookie block: its text, value and the reader's notes."""
    for title, text in _koalect_blocks():
        if title == "Cookies":
            value, notes = _read(text)
            return text, value, notes
    raise AssertionError("no Cookies block in the Koalect document")


def raw_counts() -> dict[str, int]:
    """How many examples each document holds, counted on its raw text (not by the
    extractors above): the fences of 2Checkout's tables and its custom event, the
    ``cact(`` calls and the ``Example :`` block of Commanders Act, the lines with a
    ``convead(`` or ``insend(`` call, the ``{`` blocks at the start of a Koalect line."""
    read = {name: (specs_dir() / name).read_text() for name in _DOCUMENTS}
    fences = read["2checkout-analytics-datalayer.md"].count("```")
    return {
        "2checkout-analytics-datalayer.md": (fences + 1) // 2,  # the last fence is never closed
        "commanders-act-events.md": read["commanders-act-events.md"].count("cact(")
        + read["commanders-act-events.md"].count("Example :"),
        "convead-event-api.txt": sum(
            "convead(" in line for line in read["convead-event-api.txt"].splitlines()
        ),
        "insend-event-api.txt": sum("insend(" in line for line in read["insend-event-api.txt"].splitlines()),
        "koalect-datalayer.txt": sum(
            line.rstrip() == "{" for line in read["koalect-datalayer.txt"].splitlines()
        ),
    }


_DOCUMENTS = (
    "2checkout-analytics-datalayer.md",
    "commanders-act-events.md",
    "convead-event-api.txt",
    "insend-event-api.txt",
    "koalect-datalayer.txt",
)
# The document each dialect's examples come from.
DOCUMENT = {
    "gtag-ua": "2checkout-analytics-datalayer.md",
    "gtag-ga4": "2checkout-analytics-datalayer.md",
    "gtm-ua": "2checkout-analytics-datalayer.md",
    "gtm-ga4": "2checkout-analytics-datalayer.md",
    "adobe-dtm": "2checkout-analytics-datalayer.md",
    "custom": "2checkout-analytics-datalayer.md",
    "commanders-act": "commanders-act-events.md",
    "convead": "convead-event-api.txt",
    "insend": "insend-event-api.txt",
    "koalect": "koalect-datalayer.txt",
}


def _koalect() -> list[Example]:
    """Koalect's event examples; ``[Product]`` stands for the document's Product object."""
    product_text, _ = koalect_product()
    out = []
    for _title, text in _koalect_blocks():
        if "event:" not in text:
            continue  # the Product object and the consent cookie are not events
        filled = text.replace("[Product]", f"[{product_text}]")
        value, notes = _read(filled)
        if filled != text:
            notes.append("[Product] is the document's Product object")
        out.append(Example("koalect", value["event"], text, value, notes, filled))
    return out


@cache
def examples(dialect: str) -> tuple[Example, ...]:
    if dialect in ("gtag-ua", "gtag-ga4", "gtm-ua", "gtm-ga4", "adobe-dtm", "custom"):
        return tuple(_twocheckout(dialect))
    if dialect == "commanders-act":
        return tuple(_commanders_act())
    if dialect in ("convead", "insend"):
        return tuple(_convead(dialect))
    if dialect == "koalect":
        return tuple(_koalect())
    if dialect == "ga4-mp":
        return ()  # the specs give no Measurement Protocol body; see tests/vendors/ga4/test_ga4_mp.py
    raise KeyError(dialect)


def all_examples() -> list[Example]:
    out: list[Example] = []
    for d in (
        "gtag-ua",
        "gtag-ga4",
        "gtm-ua",
        "gtm-ga4",
        "adobe-dtm",
        "custom",
        "koalect",
        "commanders-act",
        "convead",
        "insend",
    ):
        out.extend(examples(d))
    return out
