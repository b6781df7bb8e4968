"""Validation issues: what was expected, what came, where, and how to fix it.

Codes extend the GA4 Measurement Protocol validation codes. Every Trackway code
maps to the GA4 code the ``/debug/mp/collect`` endpoint answers with. The table
in ``docs/issue-codes.md`` is generated from :data:`CODES`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import msgspec


class Severity(StrEnum):
    ERROR = "error"  # the event is rejected (stored in failed_events)
    WARNING = "warning"  # the event is kept


class Code(msgspec.Struct, frozen=True):
    name: str
    ga4: str
    summary: str


_CODE_LIST = [
    # GA4 Measurement Protocol codes, used with their GA4 meaning.
    Code("VALUE_REQUIRED", "VALUE_REQUIRED", "A required parameter is missing."),
    Code("VALUE_INVALID", "VALUE_INVALID", "A value is not allowed here."),
    Code(
        "NAME_INVALID", "NAME_INVALID", "A name breaks the naming rules (characters, length, first letter)."
    ),
    Code("NAME_RESERVED", "NAME_RESERVED", "A name or prefix is reserved by the vendor."),
    Code("VALUE_OUT_OF_BOUNDS", "VALUE_OUT_OF_BOUNDS", "A value is too long, too large or too old."),
    Code(
        "EXCEEDED_MAX_ENTITIES", "EXCEEDED_MAX_ENTITIES", "Too many events, parameters, items or properties."
    ),
    Code("NAME_DUPLICATED", "NAME_DUPLICATED", "The same name is given twice."),
    # Trackway's own codes.
    Code(
        "TYPE_INVALID", "VALUE_INVALID", "A value has the wrong JSON type (a list where a string goes, ...)."
    ),
    Code("CURRENCY_INVALID", "VALUE_INVALID", "Not an active ISO 4217 currency code."),
    Code("ENUM_INVALID", "VALUE_INVALID", "Not one of the vendor's enumerated values (case matters)."),
    Code(
        "FORMAT_INVALID", "VALUE_INVALID", "A string in the wrong format: email, E.164 phone, date, country."
    ),
    Code(
        "HASH_INVALID", "VALUE_INVALID", "A hashed identifier that is not lower-case hex of the right length."
    ),
    Code("NUMBER_AS_STRING", "VALUE_INVALID", "A number sent as a string; read as a decimal."),
    Code("AMOUNT_PRECISION", "VALUE_INVALID", "An amount has more decimals than its currency's minor unit."),
    Code("RECOMMENDED_MISSING", "VALUE_REQUIRED", "A recommended parameter is missing."),
    Code("UNKNOWN_EVENT", "NAME_INVALID", "An event the dialect does not document; kept as a custom event."),
    Code(
        "VALUE_FILLED",
        "VALUE_INVALID",
        "A value was filled in or renamed by Trackway (default currency, typo).",
    ),
    Code("NOT_CARRIED", "VALUE_INVALID", "The target dialect has no place for a field; it is left out."),
    Code("PAYLOAD_INVALID", "VALUE_INVALID", "The payload does not have the dialect's shape at all."),
    Code("DIALECT_UNKNOWN", "VALUE_INVALID", "Auto-detection found no dialect that reads this payload."),
    Code(
        "DIALECT_AMBIGUOUS",
        "VALUE_INVALID",
        "Auto-detection found more than one dialect that reads this payload.",
    ),
]

CODES: dict[str, Code] = {c.name: c for c in _CODE_LIST}


class Issue(msgspec.Struct, frozen=True, omit_defaults=True):
    """One finding about a payload.

    ``path`` is a JSON path into the payload as sent (``$.ecommerce.items[1].price``),
    ``event`` the index of the decoded event the issue belongs to (-1: the whole payload).
    """

    path: str
    code: str
    severity: Severity
    message: str
    event: int = -1

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "code": self.code, "severity": str(self.severity), "message": self.message}


_describe_encoder = msgspec.json.Encoder(enc_hook=str, decimal_format="number")


def describe(value: Any, limit: int = 60) -> str:
    """A short, readable rendering of a value for messages: ``'EURO' (a string)``."""
    kind = json_type(value)
    text = repr(value) if isinstance(value, str) else _describe_encoder.encode(value).decode()
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"{text} ({kind})"


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float) or type(value).__name__ == "Decimal":
        return "a number"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    return type(value).__name__


# A path is a finished JSON path, or (base path, key) joined only when an issue is
# recorded: building strings for every field on the hot path costs more than checking it.
Path = str | tuple[Any, str | int]


def render_path(path: Path) -> str:
    if type(path) is str:
        return path
    base, key = path
    base = render_path(base)
    if type(key) is int:
        return f"{base}[{key}]"
    if key.isidentifier():
        return f"{base}.{key}"
    return f"{base}[{key!r}]"


class Issues:
    """Collects issues during one decode; ``event`` is the index issues are attached to."""

    __slots__ = ("event", "items")

    def __init__(self) -> None:
        self.items: list[Issue] = []
        self.event = -1

    def error(self, path: Path, code: str, message: str) -> None:
        self.items.append(Issue(render_path(path), code, Severity.ERROR, message, self.event))

    def warning(self, path: Path, code: str, message: str) -> None:
        self.items.append(Issue(render_path(path), code, Severity.WARNING, message, self.event))

    def add(self, issue: Issue) -> None:
        self.items.append(issue)

    def has_error(self, event: int | None = None) -> bool:
        if event is None:
            return any(i.severity is Severity.ERROR for i in self.items)
        return any(i.severity is Severity.ERROR and i.event in (event, -1) for i in self.items)

    def __len__(self) -> int:
        return len(self.items)
