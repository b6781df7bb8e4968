"""Generated data sets sent through the in-process collector with a controlled clock.

The collector stamps each request with ``trackway.ingest.records.now_micros()``; it is
patched to the time of the request's last action, so every event's timestamp is its
truth time: the events of a ``/collect`` or Convead request (one action each with
``client_time``) take the receive time, and the Commanders Act and MP events carried
in one request (a back-office session's order updates and refund, days apart) carry
their own times, believable because none is ahead of the clock.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.reports.reference import Reference
from tests.support.asgi import http_scope
from tests.support.inproc import harness
from trackway.demo import Dataset, Request, estimate_sessions, generate
from trackway.ingest import records
from trackway.server.routes import build_app
from trackway.store.duck import DuckStore

END = datetime(2026, 10, 31, tzinfo=UTC)  # a Saturday: the last week and month are partial
PROPERTIES = {"shop": "EUR", "donations": "EUR"}


@dataclass
class Loaded:
    dataset: Dataset
    requests: list[Request]
    store: DuckStore
    reference: Reference
    statuses: Counter[int]


def micros(when: datetime) -> int:
    return (when - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


CLOCK: ContextVar[int] = ContextVar("CLOCK")
IN_FLIGHT = 256


async def _post(app: Any, r: Request) -> int:
    """``r`` through the collector's ASGI app (what httpx's ASGI transport does, without its cost)."""
    body = r.body or b""
    headers = [(k.lower().encode(), v.encode()) for k, v in r.headers.items()]
    headers.append((b"content-length", str(len(body)).encode()))
    scope = http_scope("POST", r.path, headers, query=urlencode(r.query).encode(), server=("t", 80))
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def _send(root: Path, dataset: Dataset) -> tuple[list[Request], DuckStore, Counter[int]]:
    """Send every request, in order, a few hundred in flight so that the log commits them
    in groups. Each request runs to its log append without suspending (the handlers read
    the body and append it synchronously), so tasks started in order append in order;
    the fixture checks the stored order afterwards."""
    h = await harness(root, properties=PROPERTIES)
    statuses: Counter[int] = Counter()
    app = build_app(h.collector)
    try:
        requests = dataset.requests({p: h.keys(p) for p in PROPERTIES}, client_time=True)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(records, "now_micros", CLOCK.get)
            pending: set[asyncio.Task[int]] = set()
            for r in requests:
                if len(pending) >= IN_FLIGHT:
                    done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                    statuses.update(t.result() for t in done)
                CLOCK.set(micros(max(a.at for a in r.actions)))
                pending.add(asyncio.create_task(_post(app, r)))
            if pending:
                done, _ = await asyncio.wait(pending)
                statuses.update(t.result() for t in done)
        await h.load()
    finally:
        await h.client.aclose()
        h.writer.close()
    assert isinstance(h.store, DuckStore)
    return requests, h.store, statuses


def load(root: Path, dataset: Dataset) -> Loaded:
    requests, store, statuses = asyncio.run(_send(root, dataset))
    payload_of: dict[int, Any] = {}
    received: dict[int, datetime] = {}
    order: list[int] = []
    for n, r in enumerate(requests):
        at = max(a.at for a in r.actions)
        for a in r.actions:  # a request is one payload (one action a /collect request here)
            payload_of[a.seq], received[a.seq] = n, at
            order.append(a.seq)
    reference = Reference(dataset.truth, store_order=order, payload_of=payload_of, received=received)
    return Loaded(dataset, requests, store, reference, statuses)


@pytest.fixture(scope="session")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """At least 100,000 stored events over 30 days."""
    dataset = generate(seed=2611, sessions=estimate_sessions(105_000), end=END, client_time=True)
    loaded = load(tmp_path_factory.mktemp("big"), dataset)
    yield loaded
    loaded.store.close()


@pytest.fixture(scope="session")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """Only the forced edge-case visits (every scenario once), so each can be looked at alone."""
    dataset = generate(seed=7, sessions=1, end=END, client_time=True)
    loaded = load(tmp_path_factory.mktemp("small"), dataset)
    yield loaded
    loaded.store.close()
