"""trackway.server.restarts: an exited process starts again at once after a long run,
after a doubling pause (capped) while it keeps exiting soon after its start."""

from __future__ import annotations

import pytest

from trackway.server import restarts
from trackway.server.restarts import Restarts


def test_quick_exits_double_the_pause_up_to_the_cap_and_a_long_run_resets_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(restarts.time, "monotonic", lambda: clock[0])
    r = Restarts()
    pauses = []
    for _ in range(8):
        r.started("w")
        clock[0] += 1.0  # exits one second after its start
        assert not r.due("w", "worker", 1)  # never at once after a quick exit
        start = clock[0]
        while not r.due("w", "worker", 1):
            clock[0] += 0.25
        pauses.append(clock[0] - start)
    assert pauses == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    r.started("w")
    clock[0] += restarts.QUICK_SECONDS + 1  # a long run
    assert r.due("w", "worker", 0)  # at once
    r.started("other")
    clock[0] += 1.0
    assert not r.due("other", "other", 1)  # keys are independent
