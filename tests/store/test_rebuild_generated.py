"""`trackway rebuild` equals ingestion on a generated data set of more than 100,000 events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.inproc import harness, send
from trackway.demo import estimate_sessions, generate
from trackway.store.base import Query
from trackway.store.state_tables import TABLES

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def test_rebuild_equals_ingest_on_a_generated_data_set(tmp_path):
    h = await harness(tmp_path, properties={"shop": "EUR", "donations": "EUR"})
    try:
        end = datetime.now(UTC) - timedelta(minutes=5)
        data = generate(seed=11, sessions=estimate_sessions(104_000), end=end)
        requests = data.requests({p: h.keys(p) for p in ("shop", "donations")})
        statuses = await send(h, requests)
        assert set(statuses) <= {200, 204, 400}  # 400: Convead's answer for an invalid event
        await h.load()
        stored = h.store.count("events", Query())
        assert stored >= 100_000
        ingested = {t: h.store.state_rows(t) for t in TABLES}
        assert len(ingested["identity_links"]) > 100 and ingested["identity_conflicts"]
        assert len(ingested["orders"]) > 1000 and len(ingested["procedures"]) > 100
        assert h.store.rebuild() == stored
        for table in TABLES:
            assert h.store.state_rows(table) == ingested[table], table
    finally:
        await h.client.aclose()
        h.writer.close()
        h.store.close()
