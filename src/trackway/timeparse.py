"""Times given by people: ISO 8601 (``2026-11-23``, ``2026-11-23T10:00:00Z``) or an age
(``90s``, ``15m``, ``24h``, ``7d``, ``2w``: that long before now). Always UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from trackway.errors import UsageError

_AGE = re.compile(r"(\d+)\s*([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_time(text: str, *, now: datetime | None = None) -> datetime:
    text = text.strip()
    match = _AGE.fullmatch(text)
    try:
        if match:
            delta = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
            return (now or datetime.now(UTC)) - delta
        when = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return when.astimezone(UTC)
    except ValueError:
        raise UsageError(
            "expected a time such as 2026-11-23, 2026-11-23T10:00:00Z or an age such as 24h or 7d, "
            f"got {text!r}"
        ) from None
    except OverflowError:  # 99999999999d, or a date that leaves datetime's range in UTC
        raise UsageError(f"expected a time between the years 1 and 9999, got {text!r}") from None


def parse_duration(text: str) -> timedelta:
    """A length of time: ``90s``, ``15m``, ``24h``, ``7d``, ``2w``."""
    match = _AGE.fullmatch(text.strip())
    if not match:
        raise UsageError(f"expected a duration such as 30m, 24h or 7d, got {text!r}")
    try:
        return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    except OverflowError:
        raise UsageError(f"expected a duration under 999999999 days, got {text!r}") from None
