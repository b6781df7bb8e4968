"""The literal ISO 4217 table is the iso4217 package's data (regenerate it after an upgrade)."""

from __future__ import annotations

from pathlib import Path

import iso4217

from trackway.rules import codes, currency_table
from trackway.rules.currency_table import MINOR_UNITS, SOURCE, generate


def test_table_is_the_iso4217_package_data() -> None:
    expected = {c.code: c.exponent if c.exponent is not None else -1 for c in iso4217.Currency}
    assert expected == MINOR_UNITS, (
        "src/trackway/rules/currency_table.py differs from the installed iso4217 "
        f"{iso4217.__version__}; regenerate it (its docstring says how)"
    )
    assert f"iso4217 {iso4217.__version__}" == SOURCE


def test_generate_writes_this_module_again() -> None:
    assert generate() == Path(currency_table.__file__).read_text()


def test_minor_units_as_the_rules_read_them() -> None:
    assert (codes.minor_unit("EUR"), codes.minor_unit("JPY"), codes.minor_unit("BHD")) == (2, 0, 3)
    assert codes.minor_unit("XAU") is None  # gold: no minor unit
    assert codes.is_currency("USD") and not codes.is_currency("EUX")
