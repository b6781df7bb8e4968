"""Reports rendered as JSON, CSV and rich tables."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from rich.console import Console

from trackway.reports import COLUMNS, NAMES, render

SECTIONS: render.Sections = {
    "statuses": [
        {"period": None, "property": "shop", "status": "paid", "orders": 3},
        {"period": None, "property": "shop", "status": "unknown", "orders": 1},
    ],
    "changes": [
        {"period": None, "property": "shop", "status": "paid", "orders": 4, "share": Decimal("0.1235")}
    ],
}


def _text(table: object) -> str:
    console = Console(width=160, record=True, file=io.StringIO())
    console.print(table)
    return console.export_text()


def test_json_round_trip_is_exact() -> None:
    money = {"revenue": [{"currency": "EUR", "gross": Decimal("1234567890.123456789"), "orders": 7}]}
    body = render.to_json("revenue", money)
    assert b'"gross":1234567890.123456789' in body
    name, back = render.from_json(body)
    assert name == "revenue"
    assert back == money
    assert isinstance(back["revenue"][0]["orders"], int)
    assert isinstance(back["revenue"][0]["gross"], Decimal)


def test_csv_has_a_section_column_and_the_union_of_columns() -> None:
    rows = list(csv.reader(io.StringIO(render.to_csv("orders", SECTIONS))))
    assert rows[0] == ["section", "period", "property", "status", "orders", "share"]
    assert rows[1] == ["statuses", "", "shop", "paid", "3", ""]
    assert rows[3] == ["changes", "", "shop", "paid", "4", "0.1235"]
    assert len(rows) == 4


def test_csv_writes_decimals_without_exponents() -> None:
    out = render.to_csv("some", {"s": [{"value": Decimal("1E+3"), "tiny": Decimal("1E-7")}]})
    assert out.splitlines()[1] == "s,1000,0.0000001"


def test_tables_hide_an_empty_period_and_title_each_section() -> None:
    tables = render.tables("orders", SECTIONS)
    assert [t.title for t in tables] == ["orders: statuses", "orders: changes"]
    assert [c.header for c in tables[0].columns] == ["property", "status", "orders"]
    assert [c.justify for c in tables[0].columns] == ["left", "left", "right"]


def test_tables_keep_the_period_when_grouped() -> None:
    grouped = {"money": [{"period": "2026-11-02", "currency": "EUR", "net": Decimal("5")}]}
    (table,) = render.tables("money", grouped)
    assert table.title == "money"
    assert [c.header for c in table.columns] == ["period", "currency", "net"]


def test_tables_truncate_with_a_caption() -> None:
    rows = [{"item": f"SKU-{n}", "views": n} for n in range(12)]
    (table,) = render.tables("products", {"products": rows}, limit=5)
    assert table.row_count == 5
    assert table.caption == "... and 7 more rows"
    text = _text(table)
    assert "SKU-4" in text and "SKU-5" not in text


def test_an_empty_section_says_so() -> None:
    (table,) = render.tables("carts", {"carts": []})
    assert table.title == "carts (no rows)"


@pytest.mark.parametrize("name", NAMES)
def test_an_empty_report_keeps_its_declared_columns(name: str) -> None:
    empty: render.Sections = {s: [] for s in COLUMNS[name]}
    declared = {s: list(cols) for s, cols in COLUMNS[name].items()}
    assert render.document(name, empty)["columns"] == declared
    header = next(csv.reader(io.StringIO(render.to_csv(name, empty))))
    assert header == ["section", *dict.fromkeys(c for cols in declared.values() for c in cols)]
    for table, cols in zip(render.tables(name, empty), declared.values(), strict=True):
        assert [c.header for c in table.columns] == [c.replace("_", " ") for c in cols if c != "period"]


def test_columns_a_report_does_not_declare_follow_the_rows() -> None:
    sections = {"s": [{"a": 1}, {"a": 2, "b": 3}], "t": []}
    assert render.columns("unknown", sections) == {"s": ["a", "b"], "t": []}


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\n=1"),
        ("a\rb", "a\nb"),  # a lone CR was left unquoted: readers split the row there
        ("a\r\nb", "a\nb"),
        ("SKU-1", "SKU-1"),  # only the first character counts
        ("", ""),
        (Decimal("-7.03"), "-7.03"),  # numbers stay numbers, negative ones too
        (-3, "-3"),
        (None, ""),
    ],
)
def test_csv_text_is_safe_in_a_spreadsheet_and_stays_on_its_row(value: object, cell: str) -> None:
    # an item or event name is whatever the tracking payload sent: it ran in Excel
    text = render.to_csv("products", {"products": [{"item": value}]})
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) == 2 and rows[1][rows[0].index("item")] == cell
