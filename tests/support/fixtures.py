"""Fixtures of the in-process harness, for the conftest of each folder that uses them."""

from __future__ import annotations

import pytest

from tests.support.inproc import harness


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
async def h(tmp_path):
    hs = await harness(tmp_path)
    yield hs
    await hs.client.aclose()
    hs.writer.close()
    hs.store.close()
