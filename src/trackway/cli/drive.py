"""Send generated requests to a running collector over HTTP, as shops would.

Requests go out in time order with a bounded number in flight; the requests of one
person wait for that person's previous request (a guest's cart before their login, a
purchase before its refund). ``503`` and ``429`` answers are retried after the
``Retry-After`` they carry, so an overloaded server loses nothing.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import httpx

from trackway.demo import Request

RETRY = (429, 503)
MAX_TRIES = 20


@dataclass
class Sent:
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    retries: int = 0
    failures: list[str] = field(default_factory=list)  # transport errors, after the last try


async def _send(client: httpx.AsyncClient, r: Request, sent: Sent) -> None:
    for attempt in range(MAX_TRIES):
        try:
            response = await client.post(r.path, params=r.query, headers=r.headers, content=r.body)
        except httpx.HTTPError as exc:
            if attempt == MAX_TRIES - 1:
                sent.failures.append(f"{r.path}: {exc!r}")
                return
            await asyncio.sleep(0.1 * (attempt + 1))
            continue
        if response.status_code in RETRY and attempt < MAX_TRIES - 1:
            sent.retries += 1
            await asyncio.sleep(min(float(response.headers.get("retry-after", "1") or 1), 5.0))
            continue
        sent.statuses[response.status_code] += 1
        return


async def drive(
    url: str,
    requests: Sequence[Request],
    *,
    concurrency: int = 16,
    progress: Callable[[int], None] | None = None,
) -> Sent:
    """POST every request to ``url``; ``progress`` is told how many are done after each."""
    sent = Sent()
    slots = asyncio.Semaphore(concurrency)
    last: dict[tuple[str, str], asyncio.Task[None]] = {}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30.0) as client:

        async def one(r: Request, before: asyncio.Task[None] | None) -> None:
            try:
                if before is not None:
                    await asyncio.wait([before])  # its outcome is its own
                await _send(client, r, sent)
            finally:
                slots.release()
                sent.requests += 1
                if progress is not None:
                    progress(sent.requests)

        for r in requests:
            await slots.acquire()
            key = (r.property, r.actions[0].person if r.actions else "")
            last[key] = asyncio.create_task(one(r, last.get(key)))
        await asyncio.gather(*last.values())
    return sent
