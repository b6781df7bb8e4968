"""trackway.destinations.status: the hint for a destination bound by its round trip."""

from __future__ import annotations

import pytest

from trackway.destinations import status
from trackway.destinations.status import Status, round_trip_hint

BEHIND = {
    "lag_seconds": 60.0,
    "sending_share": 0.97,
    "round_trip_ms": 30.0,
    "requests": 1000,
    "delivered": 1000,
}

# (what the status says, in_flight, what the hint holds; "" for none)
CASES = {
    "one at a time, 30 ms": (BEHIND, 1, "at most about 33 events/s. Raise in_flight (now 1, at most 64)"),
    "four, 25 events a request": ({**BEHIND, "delivered": 25_000}, 4, "at most about 3,333 events/s"),
    "in_flight at its most": (BEHIND, 64, "with in_flight at its most: the vendor answers too slowly"),
    "caught up": ({**BEHIND, "lag_seconds": 0.4}, 1, ""),
    "behind but not waiting (slow in Trackway)": ({**BEHIND, "sending_share": 0.3}, 1, ""),
    "retrying": ({**BEHIND, "state": status.RETRYING}, 1, ""),
    "deferred": ({**BEHIND, "state": status.DEFERRED}, 1, ""),
    "nothing sent yet": ({**BEHIND, "requests": 0, "delivered": 0}, 1, ""),
    "answers in no time": ({**BEHIND, "round_trip_ms": 0.0}, 1, "at most about 1,000 events/s"),
}


@pytest.mark.parametrize(("fields", "in_flight", "expected"), CASES.values(), ids=CASES.keys())
def test_the_round_trip_hint(fields: dict[str, object], in_flight: int, expected: str) -> None:
    hint = round_trip_hint(Status("shop.convead", **fields), in_flight)  # type: ignore[arg-type]
    if expected:
        assert expected in hint
        assert "behind by 60 s" in hint
    else:
        assert hint == ""
