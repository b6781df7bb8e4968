"""Type rules for JSON values: strings, identifiers, amounts, integers, booleans."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Final

from trackway.issues import Issues, Path, describe, render_path


class _Invalid:
    __slots__ = ()

    def __repr__(self) -> str:
        return "INVALID"

    def __bool__(self) -> bool:
        return False


INVALID: Final[Any] = _Invalid()


def to_decimal(value: Any) -> Decimal | None:
    """A Decimal from a JSON number or numeric string, or None."""
    t = type(value)
    if t is Decimal:
        return value if value.is_finite() else None
    if t is int:
        return Decimal(value)
    if t is float:
        return Decimal(repr(value))
    if t is str:
        try:
            d = Decimal(value.strip())
        except InvalidOperation:
            return None
        return d if d.is_finite() and value.strip() else None
    return None


def amount(value: Any, path: Path, issues: Issues) -> Any:
    """A monetary amount: a JSON number, or a numeric string with a warning."""
    t = type(value)
    if t is Decimal:
        if value.is_finite():
            return value
    elif t is int:
        return Decimal(value)
    elif t is float:
        return Decimal(repr(value))
    elif t is str:
        d = to_decimal(value)
        if d is not None:
            issues.warning(
                path,
                "NUMBER_AS_STRING",
                f"expected a number, got {describe(value)}; read as {d}. Send it as a JSON number: {d}",
            )
            return d
    hint = ""
    if t is str and to_decimal(value.replace(",", ".")) is not None:
        hint = "; use a dot as the decimal separator"
    issues.error(path, "TYPE_INVALID", f"expected an amount such as 16.00, got {describe(value)}{hint}")
    return INVALID


def integer(value: Any, path: Path, issues: Issues) -> Any:
    """A whole number (quantity, index, step)."""
    t = type(value)
    if t is int:
        return value
    if t is Decimal or t is float or t is str:
        d = to_decimal(value)
        if d is not None and d == d.to_integral_value():
            if t is str:
                issues.warning(
                    path,
                    "NUMBER_AS_STRING",
                    f"expected a whole number, got {describe(value)}; read as {int(d)}. "
                    f"Send it as a JSON number: {int(d)}",
                )
            return int(d)
    issues.error(path, "TYPE_INVALID", f"expected a whole number such as 1, got {describe(value)}")
    return INVALID


def string(value: Any, path: Path, issues: Issues) -> Any:
    """A string. Numbers are not accepted silently: they are an error."""
    if type(value) is str:
        return value
    issues.error(path, "TYPE_INVALID", f"expected a string, got {describe(value)}; quote the value")
    return INVALID


def ident(value: Any, path: Path, issues: Issues) -> Any:
    """An identifier: a string, or a whole number (kept as its decimal string)."""
    t = type(value)
    if t is str:
        return value
    if t is int:
        return str(value)
    if (
        t is Decimal
        and value.is_finite()
        and value == value.to_integral_value()
        and value.as_tuple().exponent == 0
    ):
        return str(value)
    issues.error(path, "TYPE_INVALID", f"expected an identifier (a string), got {describe(value)}")
    return INVALID


def boolean(value: Any, path: Path, issues: Issues) -> Any:
    if type(value) is bool:
        return value
    issues.error(path, "TYPE_INVALID", f"expected true or false, got {describe(value)}")
    return INVALID


def obj(value: Any, path: Path, issues: Issues) -> Any:
    if type(value) is dict:
        return value
    issues.error(path, "TYPE_INVALID", f"expected an object {{...}}, got {describe(value)}")
    return INVALID


def array(value: Any, path: Path, issues: Issues) -> Any:
    if type(value) is list:
        return value
    issues.error(path, "TYPE_INVALID", f"expected an array [...], got {describe(value)}")
    return INVALID


def anything(value: Any, path: Path, issues: Issues) -> Any:
    return value


def enum(allowed: tuple[str, ...], what: str) -> Any:
    """A rule accepting exactly one of ``allowed`` (case matters)."""
    allowed_set = frozenset(allowed)
    lowered = {a.lower(): a for a in allowed}

    def rule(value: Any, path: Path, issues: Issues) -> Any:
        if type(value) is str and value in allowed_set:
            return value
        hint = ""
        if type(value) is str and value.strip().lower() in lowered:
            hint = f" (did you mean {lowered[value.strip().lower()]!r}? case matters)"
        issues.error(
            path,
            "ENUM_INVALID",
            f"expected a {what}, one of {', '.join(allowed)}; got {describe(value)}{hint}",
        )
        return INVALID

    rule.__doc__ = f"one of: {', '.join(allowed)}"
    return rule


def sent(value: Any) -> bool:
    """Whether a parameter was really given: not null, not ``""``, not ``[]``.

    An empty items array carries no item, so it does not satisfy "items required"."""
    return value is not None and value != "" and value != []


def path_join(base: str, key: str | int) -> str:
    """``$.a`` + ``b`` -> ``$.a.b``; ``$.a`` + 0 -> ``$.a[0]``; odd keys are bracketed."""
    return render_path((base, key))
