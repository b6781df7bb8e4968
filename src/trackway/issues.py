"""Validation issues: what was expected, what came, where, and how to fix it.

Codes extend the GA4 Measurement Protocol validation codes. Every Trackway code
maps to the GA4 code the ``/debug/mp/collect`` endpoint answers with. The table
in ``docs/issue-codes.md`` is generated from :data:`CODES`.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
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
    Code(
        "AMOUNT_ROUNDED",
        "VALUE_INVALID",
        "An amount has more than 9 decimals, the most Trackway stores; it is rounded half-even to 9.",
    ),
    Code(
        "QUANTITY_NOT_POSITIVE",
        "VALUE_INVALID",
        "An item's quantity is 0 or less; the event is kept, and the item changes no cart (a removal "
        "of -2 is not an addition of 2) and counts as no unit added or removed.",
    ),
    Code(
        "TEXT_REPLACED",
        "VALUE_INVALID",
        "A string or key holds a lone UTF-16 surrogate (half an emoji, often a cut string); "
        "each is replaced by U+FFFD.",
    ),
    Code("RECOMMENDED_MISSING", "VALUE_REQUIRED", "A recommended parameter is missing."),
    Code("UNKNOWN_EVENT", "NAME_INVALID", "An event the dialect does not document; kept as a custom event."),
    Code(
        "VALUE_FILLED",
        "VALUE_INVALID",
        "A value was filled in or renamed by Trackway (default currency, typo).",
    ),
    Code(
        "VALUE_DERIVED",
        "VALUE_INVALID",
        "An amount was rendered by the target vendor's definition, derived from the event's other "
        "amounts (its value from the items' price x quantity, a total from revenue, tax and shipping).",
    ),
    Code(
        "VALUE_NORMALISED",
        "VALUE_INVALID",
        "A value whose meaning is clear came in an untidy form (spaces around an email or phone, "
        "an upper-case domain or hash, a phone written with spaces); it is read normalised and kept.",
    ),
    Code("NOT_CARRIED", "VALUE_INVALID", "The target dialect has no place for a field; it is left out."),
    Code("PAYLOAD_INVALID", "VALUE_INVALID", "The payload does not have the dialect's shape at all."),
    Code(
        "PAYLOAD_TOO_DEEP",
        "VALUE_OUT_OF_BOUNDS",
        "Arrays and objects nested more than 64 levels deep; the payload is not decoded.",
    ),
    Code(
        "ISSUES_UNLISTED",
        "VALUE_INVALID",
        "A payload had more issues than the 1,000 listed; the rest are counted in this one (the events "
        "they make invalid still are). Fix the ones listed and check the payload again.",
    ),
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


class _Missing:
    """What :data:`MISSING` is: a key that was not sent at all (``null`` was sent as None)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


#: A key that is absent: ``describe(obj.get(key, MISSING))`` says "none", not "null".
MISSING: Any = _Missing()


def describe(value: Any, limit: int = 60) -> str:
    """A short, readable rendering of a value for messages: ``'EURO' (a string)``.

    ``null`` for None (JSON's null needs no type beside it) and ``none`` for
    :data:`MISSING` (nothing sent). Safe on any value: non-finite and huge numbers, lone
    surrogates, deep nesting. It renders at most ``limit`` characters and never converts
    a number to another type (``str(10**5000)`` raises, formatting ``Decimal("1e1000000")``
    in full costs seconds)."""
    if value is None:
        return "null"
    if value is MISSING:
        return "none"
    return f"{show(value, limit)} ({json_type(value)})"


def describe_key(obj: Any, key: Any) -> str:
    """:func:`describe` of ``obj[key]``, or "none" when the object has no such key."""
    if type(obj) is dict:
        return describe(obj.get(key, MISSING))
    if type(obj) is list and type(key) is int:
        return describe(obj[key] if -len(obj) <= key < len(obj) else MISSING)
    return "none"


# Words read with a vowel sound though spelled with a consonant, and the reverse.
_AN_WORDS = ("hour", "honest", "heir")
_A_WORDS = ("one", "once", "eu", "ewe", "use", "user", "usual", "uni", "uti", "ura", "uri", "uk")
_VOWEL_LETTERS = frozenset("aefhilmnorsx")  # letters whose names start with a vowel sound (an MD5)


@lru_cache(maxsize=4096)  # messages name the same few events and fields again and again
def article(phrase: str) -> str:
    """``phrase`` with "a" or "an" before it, by how its first word sounds:
    "an add_to_cart event", "a user property", "a UA product", "an MD5 hash", "an sha256 hash"."""
    word = phrase.split(" ", 1)[0].split("_", 1)[0]
    low = word.lower()
    if not low or not low[0].isalpha():
        return f"a {phrase}"
    spelled = (word.isupper() and len(word) > 1) or (any(c.isdigit() for c in word) and len(word) <= 8)
    if spelled:  # an acronym or a code (UA, MD5, sha256): read letter by letter
        vowel = low[0] in _VOWEL_LETTERS
    elif low.startswith(_AN_WORDS):
        vowel = True
    elif low.startswith(_A_WORDS) and not low.startswith(("unin", "unim")):
        vowel = False
    else:
        vowel = low[0] in "aeiou"
    return f"{'an' if vowel else 'a'} {phrase}"


def show(value: Any, limit: int = 60) -> str:
    """:func:`describe` without the type: what messages use in place of ``repr``, which
    raises or recurses without end on hostile values."""
    out: list[str] = []
    if type(value) is str:
        out.append(repr(printable(value[: limit + 1])))
    else:
        _render(value, out, limit + 1)
    text = "".join(out)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def _render(value: Any, out: list[str], budget: int) -> int:
    """Appends a JSON-like rendering of ``value`` to ``out``; stops once ``budget``
    characters are written (so nesting costs at most ``budget`` levels)."""
    if budget <= 0:
        return 0
    t = type(value)
    if t is str:
        text = json.dumps(printable(value[:budget]), ensure_ascii=False)
    elif value is None:
        text = "null"
    elif t is bool:
        text = "true" if value else "false"
    elif t is int:
        text = str(value) if -(10**60) < value < 10**60 else f"<an integer of {_int_digits(value)} digits>"
    elif t is Decimal:
        text = _decimal_text(value)
    elif t is float:
        text = repr(value)
    elif t is dict or t is list or t is tuple:
        is_dict = t is dict
        out.append("{" if is_dict else "[")
        used = 1
        items = value.items() if is_dict else enumerate(value)
        for n, (k, v) in enumerate(items):
            if used >= budget:
                break
            if n:
                out.append(",")
                used += 1
            if is_dict:
                key = json.dumps(printable(str(k)[:budget]), ensure_ascii=False) + ":"
                out.append(key)
                used += len(key)
            used += _render(v, out, budget - used)
        out.append("}" if is_dict else "]")
        return used + 1
    else:
        text = type(value).__name__
    text = text[:budget]
    out.append(text)
    return len(text)


_SURROGATE = re.compile("[\ud800-\udfff]")


def has_surrogate(text: str) -> bool:
    """Whether ``text`` holds a lone UTF-16 surrogate (``"\\udc00"`` in JSON): no UTF-8
    output (the store, a JSON answer, a log) can take it."""
    return not text.isascii() and _SURROGATE.search(text) is not None


def printable(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD, as browsers' TextEncoder does."""
    return _SURROGATE.sub("\ufffd", text) if has_surrogate(text) else text


def _int_digits(value: int) -> str:
    return f"about {int(abs(value).bit_length() * 0.30103) + 1:,}"


def _decimal_text(value: Decimal) -> str:
    if not value.is_finite() or (-30 < value.adjusted() < 30 and len(value.as_tuple().digits) <= 40):
        return str(value)  # str() of a Decimal is scientific for large exponents: cheap
    sign, digits, _ = value.as_tuple()
    head = "".join(map(str, digits[:6]))
    mantissa = head[0] + ("." + head[1:] if len(head) > 1 else "")
    return f"{'-' if sign else ''}{mantissa}{'…' if len(digits) > 6 else ''}E{value.adjusted():+d}"


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float | Decimal):
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
    if isinstance(path, str):
        return path
    parent, key = path
    base = render_path(parent)
    if isinstance(key, int):
        return f"{base}[{key}]"
    if key.isidentifier():
        return f"{base}.{key}"
    return f"{base}[{key!r}]"


# Issues of one decode listed at most; past this they are counted (:attr:`Issues.unlisted`).
# A 400 kB payload of 100,000 empty items made 400,000 issues: a 66 MB answer, as much stored
# in its failed_events row, and a store process of 1.1 GB.
MAX_LISTED = 1000


class Issues:
    """Collects issues during one decode; ``event`` is the index issues are attached to.

    Past :data:`MAX_LISTED` issues, an issue is counted instead of kept (``unlisted``), and
    the event of an unlisted error is remembered (``unlisted_errors``), so that which
    events are invalid never depends on the cap."""

    __slots__ = ("event", "items", "unlisted", "unlisted_errors")
    # Whether warnings are kept: code that only makes a warning's text may skip that work
    # when they are not (trackway.destinations.base.ErrorsOnly).
    keeps_warnings = True

    def __init__(self) -> None:
        self.items: list[Issue] = []
        self.event = -1
        self.unlisted = 0
        self.unlisted_errors: set[int] = set()

    def error(self, path: Path, code: str, message: str) -> None:
        if len(self.items) < MAX_LISTED:
            self.items.append(Issue(render_path(path), code, Severity.ERROR, message, self.event))
        else:
            self.unlisted += 1
            self.unlisted_errors.add(self.event)

    def warning(self, path: Path, code: str, message: str) -> None:
        if len(self.items) < MAX_LISTED:
            self.items.append(Issue(render_path(path), code, Severity.WARNING, message, self.event))
        else:
            self.unlisted += 1

    def add(self, issue: Issue) -> None:
        if len(self.items) < MAX_LISTED:
            self.items.append(issue)
        else:
            self.unlisted += 1
            if issue.is_error:
                self.unlisted_errors.add(issue.event)

    def summary(self) -> Issue | None:
        """The one issue that counts the unlisted ones (None: every issue is listed)."""
        if not self.unlisted:
            return None
        listed = {i.event for i in self.items if i.severity is Severity.ERROR}
        errors = len(self.unlisted_errors - listed)
        return Issue(
            "$",
            "ISSUES_UNLISTED",
            Severity.WARNING,
            f"expected at most {MAX_LISTED} issues listed for a payload, got {MAX_LISTED + self.unlisted}; "
            f"the other {self.unlisted} are not listed"
            + (f" (errors among them make {errors} more event(s) invalid)" if errors else "")
            + ". Fix the ones listed and check the payload again",
        )

    def has_error(self, event: int | None = None) -> bool:
        if event is None:
            return bool(self.unlisted_errors) or any(i.severity is Severity.ERROR for i in self.items)
        if event in self.unlisted_errors or -1 in self.unlisted_errors:
            return True
        return any(i.severity is Severity.ERROR and i.event in (event, -1) for i in self.items)

    def __len__(self) -> int:
        return len(self.items)

    def error_at(self, path: Path) -> bool:
        """Whether an error is already reported at ``path`` for the current event."""
        where = render_path(path)
        return any(
            i.severity is Severity.ERROR and i.path == where and i.event == self.event for i in self.items
        )


def settle(items: list[Issue]) -> list[Issue]:
    """``items`` without the warnings on a path that also has an error (for the same event):
    the error says what is wrong with that value, a warning beside it only contradicts it
    ("recommended 'value' missing" next to "'' is not an amount")."""
    error = Severity.ERROR
    for i in items:
        if i.severity is error:
            break
    else:  # no error: the common case, one pass and no allocation
        return items
    errors = {(i.event, i.path) for i in items if i.severity is error}
    return [i for i in items if i.severity is error or (i.event, i.path) not in errors]
