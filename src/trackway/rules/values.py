"""Type rules for JSON values: strings, identifiers, amounts, integers, booleans."""

from __future__ import annotations

from decimal import Context, Decimal, InvalidOperation
from typing import Any, Final

from trackway.issues import Issues, Path, article, describe, render_path, show


class _Invalid:
    __slots__ = ()

    def __repr__(self) -> str:
        return "INVALID"

    def __bool__(self) -> bool:
        return False


INVALID: Final[Any] = _Invalid()


# -- bounds -------------------------------------------------------------------------
# Every number a payload carries is checked for SIZE before anything converts it:
# ``int(Decimal("1e1000000"))``, ``quantize`` or formatting such a number costs seconds
# or raises, while ``Decimal.adjusted()`` and ``int.bit_length()`` cost nothing.

#: Numbers Trackway reads at all. Any IEEE double (what browsers send: at most 17
#: significant digits, 1.8e308 to 5e-324) is within these; beyond them a payload is
#: rejected as a whole (``trackway.rules.screen``).
NUMBER_MAX_DIGITS: Final = 100
NUMBER_MAX_EXPONENT: Final = 400  # |adjusted exponent|: 1e400 and 1e-400 are the extremes
#: Nesting of arrays and objects: far above any vendor payload (GA4 MP: 4 levels).
MAX_DEPTH: Final = 64

#: Amounts are stored as DECIMAL(38, 9) (``trackway.store.rows``) and computed with
#: Python's default Decimal context (28 significant digits: report sums, Commanders Act's
#: price + discount). 19 digits before the point and 9 after make 28: every amount kept
#: is exact in both. From 10^19 an amount is an error (no shop sells for ten quintillion);
#: more than 9 decimals are rounded (half-even) with a warning, not rejected: 1e-9 is far
#: below any currency's minor unit (4 decimals at most), and computed prices such as
#: 10/3 = 3.3333333333333335 are real traffic that must not lose the order.
AMOUNT_SCALE: Final = 9
AMOUNT_INTEGER_DIGITS: Final = 19
AMOUNT_LIMIT: Final = Decimal(10) ** AMOUNT_INTEGER_DIGITS  # exclusive
#: Whole numbers (quantity, index, step, timestamps) are stored as BIGINT.
INTEGER_MIN: Final = -(2**63)
INTEGER_MAX: Final = 2**63 - 1

NOT_FINITE: Final = "a number that is not finite (NaN or infinity)"
_NUMBER_INT_LIMIT: Final = 10**NUMBER_MAX_DIGITS
_AMOUNT_INT_LIMIT: Final = 10**AMOUNT_INTEGER_DIGITS
_NANO: Final = Decimal(1).scaleb(-AMOUNT_SCALE)
_WIDE: Final = Context(prec=NUMBER_MAX_DIGITS + NUMBER_MAX_EXPONENT + AMOUNT_SCALE + 2)


def number_problem(value: Any) -> str | None:
    """Why a JSON number is beyond what Trackway reads (None: it is readable).

    Checks sizes only (digits and exponent), never converts: cheap on any value."""
    t = type(value)
    if t is int:
        if -_NUMBER_INT_LIMIT < value < _NUMBER_INT_LIMIT:
            return None
        return f"an integer of more than {NUMBER_MAX_DIGITS} digits"
    if t is Decimal:
        if not value.is_finite():
            return NOT_FINITE
        adjusted = value.adjusted()
        if not -NUMBER_MAX_EXPONENT <= adjusted <= NUMBER_MAX_EXPONENT:
            return f"a number of magnitude 10^{adjusted}"
        if len(value.as_tuple().digits) > NUMBER_MAX_DIGITS:
            return f"a number of more than {NUMBER_MAX_DIGITS} significant digits"
        return None
    if t is float:
        return None if value - value == 0 else NOT_FINITE
    return None


def to_decimal(value: Any) -> Decimal | None:
    """A Decimal from a JSON number or numeric string, or None.

    None also for a number beyond :func:`number_problem`'s limits: callers that need
    to say why use :func:`read_number`."""
    d = read_number(value)
    return d if type(d) is Decimal else None


def read_number(value: Any) -> Decimal | str | None:
    """A Decimal from a JSON number or numeric string; a string saying why for a number
    too large to read (see :func:`number_problem`); None when it is not a number."""
    t = type(value)
    if t is Decimal:
        d = value
    elif t is int:
        problem = number_problem(value)
        return problem if problem else Decimal(value)
    elif t is float:
        if value - value != 0:
            return NOT_FINITE
        d = Decimal(repr(value))
    elif t is str:
        try:  # linear in the length, whatever the exponent: "1e1000000" costs nothing here
            d = Decimal(value.strip())
        except InvalidOperation:
            return None
        if not d.is_finite():
            return None  # "NaN", "Infinity": not a number in JSON, a string
    else:
        return None
    return number_problem(d) or d


def amount(value: Any, path: Path, issues: Issues) -> Any:
    """A monetary amount: a JSON number, or a numeric string with a warning.

    Within the bounds above: an error from 10^19, rounded to 9 decimals with a warning."""
    t = type(value)
    if t is Decimal:  # the common case, checked inline: finite, < 10^19, at most 9 decimals
        if (
            value.is_finite()
            and value.adjusted() < AMOUNT_INTEGER_DIGITS
            and value.quantize(_NANO) == value  # at most 9 decimals; under 10^19 it fits 28 digits
        ):
            return value
    elif t is int and -_AMOUNT_INT_LIMIT < value < _AMOUNT_INT_LIMIT:
        return Decimal(value)
    d = read_number(value)
    if isinstance(d, str):
        return _too_large(value, d, path, issues)
    if d is None:
        hint = ""
        if t is str and to_decimal(value.replace(",", ".")) is not None:
            hint = "; use a dot as the decimal separator"
        issues.error(path, "TYPE_INVALID", f"expected an amount such as 16.00, got {describe(value)}{hint}")
        return INVALID
    if t is str:
        issues.warning(
            path,
            "NUMBER_AS_STRING",
            f"expected a number, got {describe(value)}; read as {d}. Send it as a JSON number: {d}",
        )
    return bounded_amount(d, path, issues)


def bounded_amount(d: Decimal, path: Path, issues: Issues) -> Any:
    """``d`` (finite, readable) within DECIMAL(38, 9): INVALID with an error beyond
    10^19, rounded to 9 decimals with a warning."""
    if d.is_zero():
        exponent = d.as_tuple().exponent  # an int: d is finite
        return d if isinstance(exponent, int) and exponent >= -AMOUNT_SCALE else Decimal(0).quantize(_NANO)
    if d.adjusted() >= AMOUNT_INTEGER_DIGITS:
        issues.error(
            path,
            "VALUE_OUT_OF_BOUNDS",
            f"expected an amount below 10^{AMOUNT_INTEGER_DIGITS} (at most {AMOUNT_INTEGER_DIGITS} digits "
            f"before the point), got {describe(d)}; send the amount in the currency's main unit",
        )
        return INVALID
    exponent = d.as_tuple().exponent
    if type(exponent) is int and exponent < -AMOUNT_SCALE:
        rounded = d.quantize(_NANO, context=_WIDE)
        if rounded != d:
            issues.warning(
                path,
                "AMOUNT_ROUNDED",
                f"expected an amount with at most {AMOUNT_SCALE} decimals, got {describe(d)}; "
                f"stored as {rounded:f}. Round it before sending",
            )
            return rounded
    return d


def _too_large(value: Any, why: str, path: Path, issues: Issues) -> Any:
    issues.error(path, *unreadable_number(value, why))
    return INVALID


def unreadable_number(value: Any, why: str) -> tuple[str, str]:
    """The code and message for a number beyond what Trackway reads (``why`` from
    :func:`number_problem`)."""
    if why is NOT_FINITE:
        return "VALUE_INVALID", f"expected a finite number, got {describe(value)}; send a number such as 16.5"
    return (
        "VALUE_OUT_OF_BOUNDS",
        f"expected a number Trackway can read, got {describe(value)}, {why}; "
        f"send at most {NUMBER_MAX_DIGITS} significant digits and a magnitude between "
        f"10^-{NUMBER_MAX_EXPONENT} and 10^{NUMBER_MAX_EXPONENT}",
    )


def integer(value: Any, path: Path, issues: Issues) -> Any:
    """A whole number (quantity, index, step), within BIGINT (64 bits, signed)."""
    t = type(value)
    if t is int:
        if INTEGER_MIN <= value <= INTEGER_MAX:
            return value
        return _integer_out_of_bounds(value, path, issues)
    if t is Decimal or t is float or t is str:
        d = read_number(value)
        if isinstance(d, str):
            return _too_large(value, d, path, issues)
        if d is not None:
            n: int | None
            if d.is_zero():
                n = 0
            elif d.adjusted() > 19:  # checked before any conversion: int(1e400) is 400 digits
                return _integer_out_of_bounds(value, path, issues)
            elif d.adjusted() < 0 or d != d.to_integral_value():
                n = None
            else:
                n = int(d)
            if n is not None:
                if not INTEGER_MIN <= n <= INTEGER_MAX:
                    return _integer_out_of_bounds(value, path, issues)
                if t is str:
                    issues.warning(
                        path,
                        "NUMBER_AS_STRING",
                        f"expected a whole number, got {describe(value)}; read as {n}. "
                        f"Send it as a JSON number: {n}",
                    )
                return n
    issues.error(path, "TYPE_INVALID", f"expected a whole number such as 1, got {describe(value)}")
    return INVALID


def quantity(value: Any, path: Path, issues: Issues) -> Any:
    """An item's quantity: a whole number (:func:`integer`); 0 or less is kept with a
    QUANTITY_NOT_POSITIVE warning (the carts ignore such an item, state/carts.py)."""
    n = integer(value, path, issues)
    if type(n) is int and n <= 0:
        issues.warning(
            path,
            "QUANTITY_NOT_POSITIVE",
            f"expected a quantity of 1 or more, got {describe(value)}; the event is kept but the item "
            "changes no cart (a removal of -2 is not an addition of 2). Send the number of units "
            "added, removed or bought, or leave the item out",
        )
    return n


def _integer_out_of_bounds(value: Any, path: Path, issues: Issues) -> Any:
    issues.error(
        path,
        "VALUE_OUT_OF_BOUNDS",
        f"expected a whole number between {INTEGER_MIN} and {INTEGER_MAX} (64 bits), got {describe(value)}; "
        "send a smaller number",
    )
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
    if t is int or t is Decimal:
        why = number_problem(value)
        if why is not None:
            return _too_large(value, why, path, issues)
        if t is int:
            return str(value)
        if value.as_tuple().exponent == 0:
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


def strings(value: Any, path: Path, issues: Issues) -> Any:
    """An array of strings (Commanders Act's ``Array[string]``), such as ``['blue', 'white']``."""
    if type(value) is not list:
        hint = f"; send [{show(value)}]" if type(value) is str else ""
        issues.error(path, "TYPE_INVALID", f"expected an array of strings [...], got {describe(value)}{hint}")
        return INVALID
    ok = True
    for n, v in enumerate(value):
        if type(v) is not str:
            issues.error((path, n), "TYPE_INVALID", f"expected a string, got {describe(v)}; quote the value")
            ok = False
    return value if ok else INVALID


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
            f"expected {article(what)}, one of {', '.join(allowed)}; got {describe(value)}{hint}",
        )
        return INVALID

    rule.__doc__ = f"one of: {', '.join(allowed)}"
    return rule


def sent(value: Any) -> bool:
    """Whether a parameter was really given: not null, not ``""``, not ``[]``.

    An empty items array carries no item, so it does not satisfy "items required". The
    emptiness is asked of strings and lists only: comparing an amount with ``""`` and ``[]``
    went through Decimal's slow comparison (for the values a payload holds, the same answer)."""
    return value is not None and not (not value and isinstance(value, str | list))


def path_join(base: str, key: str | int) -> str:
    """``$.a`` + ``b`` -> ``$.a.b``; ``$.a`` + 0 -> ``$.a[0]``; odd keys are bracketed."""
    return render_path((base, key))
