"""Which amounts DECIMAL(38, 9) holds exactly: the rest keep their exact text beside a
NULL (``$exact``). From 10^19 up, Python's default 28-digit context made ``quantize``
raise, so amounts the column holds were stored NULL (issue 12)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from trackway.store import rows

CASES = [
    ("19.99", True),
    ("0.000000001", True),
    ("0.0000000001", False),  # a tenth decimal: not exact at scale 9
    ("1" + "0" * 19, True),  # 10^19: was False (quantize raised)
    ("1e28", True),
    ("99999999999999999999999999999.999999999", True),  # the column's largest
    ("1e29", False),
    ("-1e28", True),
    ("Infinity", False),
    ("NaN", False),
]


@pytest.mark.parametrize(("text", "held"), CASES)
def test_decimal_38_9_holds_what_fits_exactly(text, held):
    assert rows.holds(Decimal(text)) is held
