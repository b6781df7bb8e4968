"""trackway.destinations.batching: events packed under a count and a byte limit."""

from __future__ import annotations

import pytest

from trackway.destinations.batching import body, pack

# (part sizes, max_events, max_bytes, overhead) -> (batches as lists of ids, refused ids)
CASES = [
    ([], 5, 100, 10, [], []),
    ([10, 10, 10], 5, 100, 10, [["e0", "e1", "e2"]], []),
    ([10, 10, 10], 2, 100, 10, [["e0", "e1"], ["e2"]], []),
    ([10, 10, 10], 1, 100, 10, [["e0"], ["e1"], ["e2"]], []),
    # 10 + 40 + 1 + 40 = 91 fits; a third (+41 = 132) does not
    ([40, 40, 40], 9, 100, 10, [["e0", "e1"], ["e2"]], []),
    ([40, 40], 9, 91, 10, [["e0", "e1"]], []),  # exactly the limit
    ([40, 40], 9, 90, 10, [["e0"], ["e1"]], []),  # one byte short
    ([91, 5, 90], 9, 100, 10, [["e1"], ["e2"]], ["e0"]),  # alone over the limit: refused
    ([5, 95, 5], 9, 100, 5, [["e0"], ["e1"], ["e2"]], []),
]


@pytest.mark.parametrize(("sizes", "max_events", "max_bytes", "overhead", "batches", "refused"), CASES)
def test_pack(
    sizes: list[int],
    max_events: int,
    max_bytes: int,
    overhead: int,
    batches: list[list[str]],
    refused: list[str],
) -> None:
    parts = [(f"e{n}", b"x" * size) for n, size in enumerate(sizes)]
    got, no = pack(
        parts, max_events=max_events, max_bytes=max_bytes, overhead=overhead, what="the test's limit"
    )
    assert [[event for event, _ in batch] for batch in got] == batches
    assert [r.event for r in no] == refused
    for batch in got:
        assert len(body(b"p" * (overhead - 1), batch, b"s")) <= max_bytes


def test_refusal_says_sizes_and_limit() -> None:
    _, [refusal] = pack(
        [("big", b"x" * 2000)], max_events=5, max_bytes=1000, overhead=13, what="the test's limit"
    )
    assert refusal.event == "big"
    assert "2,000 bytes as sent, over the test's limit (1,000 bytes a request with 13 bytes of envelope)" in (
        refusal.reason
    )


def test_body() -> None:
    assert body(b"[", [("a", b"1"), ("b", b"2")], b"]") == b"[1,2]"
