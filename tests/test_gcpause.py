from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from trackway.gcpause import paused_gc


@pytest.fixture
def collector() -> Iterator[None]:
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


@pytest.mark.usefixtures("collector")
def test_paused_inside_and_resumed_after() -> None:
    gc.enable()
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled()


@pytest.mark.usefixtures("collector")
def test_resumed_after_an_exception() -> None:
    gc.enable()
    with pytest.raises(ValueError, match="boom"), paused_gc():
        raise ValueError("boom")
    assert gc.isenabled()


@pytest.mark.usefixtures("collector")
def test_a_collector_paused_by_the_caller_stays_paused() -> None:
    gc.disable()
    with paused_gc():
        assert not gc.isenabled()
    assert not gc.isenabled()
