"""ISO codes: currencies (ISO 4217, with minor units), countries (ISO 3166-1)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from trackway.issues import Issues, Path, describe
from trackway.rules.values import INVALID


@cache
def _currencies() -> dict[str, int]:
    """Active ISO 4217 codes and their minor unit (decimals; -1: none), from the iso4217
    data as :mod:`trackway.rules.currency_table` holds it (parsing it costs 20-55 ms)."""
    from trackway.rules.currency_table import MINOR_UNITS

    return dict(MINOR_UNITS)


_QUANTA = [Decimal(1).scaleb(-n) for n in range(8)]


@cache
def _countries() -> frozenset[str]:
    import pycountry  # imported when first needed: it costs 25-50 ms at import

    codes: set[str] = set()
    for c in pycountry.countries:
        codes.add(c.alpha_2)
        codes.add(c.alpha_3)
    return frozenset(codes)


def minor_unit(code: str) -> int | None:
    """Decimals of a currency's minor unit (USD 2, JPY 0, BHD 3); None if unknown or not applicable."""
    unit = _currencies().get(code)
    return None if unit is None or unit < 0 else unit


def is_currency(code: str) -> bool:
    return code in _currencies()


def currency_codes() -> frozenset[str]:
    return frozenset(_currencies())


def currency(value: Any, path: Path, issues: Issues) -> Any:
    if type(value) is str and value in _currencies():
        return value
    hint = "send a 3-letter ISO 4217 code in capitals such as EUR or USD"
    if type(value) is str and value.strip().upper() in _currencies():
        hint = f"did you mean {value.strip().upper()!r}? codes are upper-case"
    issues.error(
        path, "CURRENCY_INVALID", f"expected an ISO 4217 currency code, got {describe(value)}; {hint}"
    )
    return INVALID


def country(value: Any, path: Path, issues: Issues) -> Any:
    if type(value) is str and value in _countries():
        return value
    hint = "send an ISO 3166-1 alpha-2 or alpha-3 code such as FR or USA"
    if type(value) is str and value.strip().upper() in _countries():
        hint = f"did you mean {value.strip().upper()!r}? codes are upper-case"
    issues.error(
        path, "FORMAT_INVALID", f"expected an ISO 3166-1 country code, got {describe(value)}; {hint}"
    )
    return INVALID


@cache
def quanta() -> dict[str, Decimal]:
    """Each currency's smallest amount (EUR 0.01, JPY 1); currencies without a minor unit are absent."""
    return {code: _QUANTA[unit] for code, unit in _currencies().items() if 0 <= unit < len(_QUANTA)}


def quantum(code: str | None) -> Decimal | None:
    """The smallest amount of ``code`` (0.01 for EUR, 1 for JPY), None if unknown."""
    return quanta().get(code) if code is not None else None


def fits(amount: Decimal, smallest: Decimal) -> bool:
    """Whether ``amount`` is a whole number of ``smallest`` units (the hot-path check)."""
    try:
        return amount.quantize(smallest) == amount
    except InvalidOperation:  # more digits than the context holds: count the decimals instead
        return _decimals(amount) <= -smallest.as_tuple().exponent  # type: ignore[operator]


def check_precision(amount: Decimal, code: str | None, path: Path, issues: Issues) -> None:
    """Warn when ``amount`` has more decimals than ``code``'s minor unit (JPY 100.5)."""
    if code is None:
        return
    unit = _currencies().get(code, -1)
    if unit < 0:
        return
    try:
        if amount.quantize(_QUANTA[unit]) == amount:
            return
    except InvalidOperation:  # more digits than the context holds: count the decimals instead
        if _decimals(amount) <= unit:
            return
    issues.warning(
        path,
        "AMOUNT_PRECISION",
        f"expected at most {unit} decimal{'s' if unit != 1 else ''} for {code}, got {amount}; "
        f"round the amount to {code}'s minor unit",
    )


def _decimals(amount: Decimal) -> int:
    """Significant decimals of ``amount`` (trailing zeros do not count)."""
    _, digits, exponent = amount.as_tuple()
    if not isinstance(exponent, int):
        return 0
    i = len(digits)
    while exponent < 0 and i > 0 and digits[i - 1] == 0:
        exponent += 1
        i -= 1
    return max(0, -exponent)
