"""trackway.destinations.inflight: which requests may be in flight together."""

from __future__ import annotations

import pytest

from trackway.destinations.base import Outgoing
from trackway.destinations.inflight import SCAN_PER_SLOT, dispatchable


def _requests(keys: str) -> list[Outgoing]:
    """One request a character: its key ('.' for no key)."""
    return [
        Outgoing("POST", "http://r", {}, b"", (str(n),), order_key=None if k == "." else k)
        for n, k in enumerate(keys)
    ]


@pytest.mark.parametrize(
    ("keys", "start", "done", "pending", "limit", "expected"),
    [
        ("abc", 0, set(), set(), 3, [0, 1, 2]),
        ("abcd", 0, set(), set(), 2, [0, 1]),  # the window's size
        ("aabc", 0, set(), set(), 3, [0, 2, 3]),  # a key waits for its earlier request
        ("abc", 0, set(), {0}, 2, [1]),  # what is in flight counts
        ("aab", 0, set(), {0}, 3, [2]),  # a key in flight holds its later requests
        ("abc", 0, set(), {0, 1}, 2, []),  # the window is full
        ("abcd", 0, {1}, set(), 2, [0, 2]),  # finished ones are skipped
        ("abcd", 2, set(), set(), 4, [2, 3]),  # from the first unfinished one
        ("a", 1, set(), set(), 4, []),  # nothing left
        (".ab", 0, set(), set(), 4, [0]),  # a request without a key goes alone
        ("a.b", 0, set(), set(), 4, [0]),  # ... and nothing after it goes before it is finished
        ("a.b", 1, set(), set(), 4, [1]),  # ... once every earlier one is finished
        ("a.b", 0, set(), {0}, 4, []),  # ... not beside one in flight
        (".ab", 0, set(), {0}, 4, []),  # nothing beside it in flight
        ("a.b", 0, {1}, {0}, 4, [2]),  # a finished barrier holds nothing
        ("abab", 1, set(), {1}, 4, [2]),  # a finished request does not hold its key
    ],
)
def test_dispatchable(
    keys: str, start: int, done: set[int], pending: set[int], limit: int, expected: list[int]
) -> None:
    assert dispatchable(_requests(keys), start, done, pending, limit) == expected


def test_a_long_run_of_one_key_is_scanned_only_so_far() -> None:
    """Another key past ``SCAN_PER_SLOT`` requests a slot waits for the run to shrink."""
    limit = 2
    keys = "a" * (limit * SCAN_PER_SLOT) + "b"
    assert dispatchable(_requests(keys), 0, set(), {0}, limit) == []
    assert dispatchable(_requests(keys), 1, set(), {1}, limit) == [len(keys) - 1]
