"""Round trips: ``encode(decode(x)) == x`` up to documented normalisation.

Normalisation (docs/round-trips.md): key order does not matter; numbers compare
by value (``16.00 == 16``); a number sent as a string compares equal to the number
(Trackway reads ``"177.89"`` as 177.89 with a warning and writes a number back),
and an identifier sent as a number to its string (``4591180 == "4591180"``).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import trackway
from trackway import dialects
from trackway.dialects.base import EncodeOptions
from trackway.issues import Issues


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value)).normalize() + 0
    if isinstance(value, str):
        text = value.strip()
        if not text or text != value:
            return None
        try:
            d = Decimal(text)
        except InvalidOperation:
            return None
        return d.normalize() + 0 if d.is_finite() else None
    return None


def normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [normalise(v) for v in value]
    n = _number(value)
    if n is not None:
        return ("number", str(n))
    return value


def roundtrip(dialect: str, payload: Any, options: EncodeOptions | None = None) -> tuple[list[Any], Any]:
    """Decode ``payload`` (no error allowed) and encode its events back in the same dialect."""
    decoded = trackway.decode(dialect, payload)
    errors = [i for i in decoded.issues if i.is_error]
    assert not errors, f"{dialect} payload did not decode cleanly: {errors}"
    issues = Issues()
    out = dialects.get(dialect).encode_many(decoded.events, options or EncodeOptions(), issues)
    return out, decoded


def assert_roundtrip(dialect: str, payload: Any) -> None:
    out, _ = roundtrip(dialect, payload)
    assert normalise(out) == normalise([payload]), f"round trip changed the payload:\n{out}\n!=\n{[payload]}"
