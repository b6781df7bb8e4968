"""Every field of every table of the Commanders Act events reference, checked with its
documented type and its "Required" column: generated from the document's own tables
(:func:`tests.support.specs.commanders_act_tables`), so a field the schema forgets fails.

Each row is probed in the server form (where the SDK adds nothing): a value of the wrong
type is an error at the field's path, the example value (read as its documented type) is
none, and a missing "Yes" field is an error while a missing "No"/"Yes*"/"No*" one is not.

Readings that differ from a literal transcription, each documented in
``trackway.vendors.commanders_act.adapter`` and docs/spec-examples.md:

- identifiers (``id``, ``item_id``) typed ``string`` take a whole number as its decimal
  string (Trackway's rule for identifiers), so a number there is no error;
- ``user.consent_categories`` ("Yes") missing is a warning: the document's own user
  examples leave it out, and the categories gate sharing, not the event;
- ``number`` is an amount for money fields and a whole number for ``quantity`` and
  ``list_position`` (a BIGINT column).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

import trackway
from tests.support.specs import Row, Table, commanders_act_enums, commanders_act_tables
from trackway.literal import read_literal
from trackway.vendors.commanders_act import schema as s

TABLES = commanders_act_tables()
CONTEXT = {"event_id": "e-1", "event_timestamp": 1_700_000_000_000}
IDENTIFIERS = {"id", "item_id"}
SCHEMAS = ("Item", "Product", "User")
# Fields whose "Yes" is read as a warning (see the module docstring).
REQUIRED_READ_AS_WARNING = {("User", "consent_categories")}
# Format rules beyond the JSON type, from the rows' descriptions: a value of the right type
# that the rule still rejects.
FORMATS = {
    "currency": "EURO",
    "email": "john.doe.example.com",
    "phone": "0612345678",
    "gender": "male",
    "birthdate": "01/01/1970",
    "country": "United States",
    "payment_method": "visa",
    "status": "done",
    "email_md5": "8eb1b52",
    "email_sha256": "836f82d",
}


def kind(row: Row) -> str:
    return re.sub(r"\s+", "", row.type)


def required(row: Row) -> str:
    return row.required.replace(" ", "")


def good(row: Row) -> Any:
    """The row's example as a value of its documented type."""
    k = kind(row)
    if row.name in ("email_md5", "email_sha256"):  # "8eb1b52... (size 32)": a hash of that size
        size = int(re.search(r"size (\d+)", row.example).group(1))
        return ("8eb1b522f60d11fa897de1dc6351b7e8" * 2)[:size]
    if k == "number":
        return Decimal(row.example)
    if k.startswith("Object<User>"):
        return read_literal(row.example.replace("<br>", "\n"))
    if k == "Object<Product>":
        return base_product()
    if k == "Array<Item>":
        return [base_item()]
    if k.startswith("Array"):
        return read_literal(row.example)  # "[blue, white]": bare words are read as strings
    return row.example or "x"


def wrong(row: Row) -> list[Any]:
    """Values of the wrong type for the row (and of the wrong format, where it has one)."""
    k = kind(row)
    if k == "number":
        out: list[Any] = ["sixteen", ["1"], True]
    elif k.startswith("Object"):
        out = ["x", [1]]
    elif k == "Array<Item>":
        out = ["x", {"id": "a"}]
    elif k == "Array[string]":
        out = ["red", [1]]
    elif k == "Array":
        out = ["1,3", {"1": True}]
    else:  # a string
        out = [["x"], {"a": 1}, True]
        if row.name not in IDENTIFIERS:
            out.append(12345)
    if row.name in FORMATS:
        out.append(FORMATS[row.name])
    return out


def table(section: str) -> Table:
    return next(t for t in TABLES if t.section == section and not t.added)


def yes_rows(section: str) -> list[Row]:
    return [r for r in table(section).rows if required(r) == "Yes"]


def base_product() -> dict[str, Any]:
    return {r.name: good(r) for r in yes_rows("Product")}


def base_item() -> dict[str, Any]:
    return {r.name: good(r) for r in yes_rows("Item")}


def full_user() -> dict[str, Any]:
    """Every User row's example, and the id the HTTP API asks for."""
    return {"consistent_anonymous_id": "a-1", **{r.name: good(r) for r in table("User").rows}}


def base_body(event: str) -> dict[str, Any]:
    """A valid server body of ``event``: its "Yes" parameters with their examples."""
    body: dict[str, Any] = {"event_name": event, "context": CONTEXT, "user": full_user()}
    for t in TABLES:
        if t.section == event:
            for r in t.rows:
                if required(r) == "Yes" and r.name != "user":
                    body[r.name] = good(r)
    return body


LOCATIONS = {  # where a common schema's fields go in a purchase body
    "Item": ("$.items[0]", lambda body: body["items"][0]),
    "Product": ("$.items[0].product", lambda body: body["items"][0]["product"]),
    "User": ("$.user", lambda body: body["user"]),
}


def place(section: str, row: Row, value: Any) -> tuple[dict[str, Any], str]:
    """A valid body with ``row``'s field set to ``value`` (MISSING: removed), and its path."""
    if section in LOCATIONS:
        body = base_body("purchase")
        path, where = LOCATIONS[section]
        target = where(body)
    else:
        body = target = base_body(section)
        path = "$"
    if value is MISSING:
        target.pop(row.name, None)
    else:
        target[row.name] = value
    return body, f"{path}.{row.name}"


MISSING: Any = object()
ROWS = [(t.section, r) for t in TABLES for r in t.rows]


def ids(case: tuple[str, Row]) -> str:
    return f"{case[0]}.{case[1].name}"


def errors_at(body: dict[str, Any], path: str) -> list[str]:
    decoded = trackway.decode("commanders-act", body)
    return [
        i.code for i in decoded.issues if i.is_error and (i.path == path or i.path.startswith(path + "["))
    ]


def test_the_document_has_the_tables_we_read():
    sections = {t.section for t in TABLES}
    assert (len(TABLES), len(ROWS)) == (24, 118)
    assert sum(t.added for t in TABLES) == 3  # page_view's, purchase's and refund's "Automatically added"
    assert sections == set(s.EVENTS) | set(SCHEMAS)  # every documented event has its table


@pytest.mark.parametrize("event", sorted({t.section for t in TABLES} - set(SCHEMAS)))
def test_a_body_with_every_required_parameter_is_valid(event):
    decoded = trackway.decode("commanders-act", base_body(event))
    assert decoded.valid, [(i.path, i.code, i.message) for i in decoded.issues if i.is_error]


@pytest.mark.parametrize("case", ROWS, ids=ids)
def test_the_documented_example_value_is_accepted(case):
    section, row = case
    body, path = place(section, row, good(row))
    assert errors_at(body, path) == []


@pytest.mark.parametrize("case", ROWS, ids=ids)
def test_a_value_of_the_wrong_type_is_an_error_at_its_path(case):
    section, row = case
    missed = []
    for value in wrong(row):
        body, path = place(section, row, value)
        if not errors_at(body, path):
            missed.append(value)
    assert not missed, f"{section}.{row.name} ({row.type}) accepts {missed!r}"


@pytest.mark.parametrize("case", ROWS, ids=ids)
def test_the_required_column_is_the_rule(case):
    section, row = case
    body, path = place(section, row, MISSING)
    found = errors_at(body, path)
    if required(row) == "Yes" and (section, row.name) not in REQUIRED_READ_AS_WARNING:
        assert found, f"{section}.{row.name} is required ('Yes') but its absence is no error"
    else:
        assert found == [], f"{section}.{row.name} is {row.required!r} but its absence is an error"


def test_what_reads_a_yes_as_a_warning_warns():
    body, path = place("User", next(r for r in table("User").rows if r.name == "consent_categories"), MISSING)
    decoded = trackway.decode("commanders-act", body)
    assert decoded.valid
    found = [(i.code, i.is_error) for i in decoded.issues if i.path == path]
    assert found == [("RECOMMENDED_MISSING", False)]


def test_the_enumerations_are_the_documents():
    enums = commanders_act_enums()
    assert enums == {"payment_method": list(s.PAYMENT_METHODS), "status": list(s.STATUSES)}


def test_a_field_the_schema_forgot_would_fail():
    """The probe finds a field no rule checks: an unknown product key accepts any type."""
    row = Row("fabric", "string", "No", "cotton", "cotton")
    body, path = place("Product", row, 12345)
    assert errors_at(body, path) == []  # so test_a_value_of_the_wrong_type... would fail for it
