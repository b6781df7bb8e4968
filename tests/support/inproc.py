"""The collector in one process, for endpoint tests: the worker app, a real log in a
temporary directory, the loader, a store (DuckDB in memory by default) and the admin
API, wired as `trackway serve` wires them but called through httpx's ASGI transport."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from trackway import config as configuration
from trackway.config import Config
from trackway.ingest.loader import Loader
from trackway.ingest.writer import LogWriter
from trackway.server.admin import Admin, make_admin_app
from trackway.server.app import Collector
from trackway.server.ops import client_forward
from trackway.server.routes import build_app
from trackway.store.base import Query, Store
from trackway.store.duck import DuckStore


@dataclass
class Harness:
    root: Path
    cfg: Config
    writer: LogWriter
    store: Store
    loader: Loader
    collector: Collector
    client: httpx.AsyncClient

    def keys(self, prop: str = "default") -> dict[str, str]:
        return self.collector.config.properties[prop].keys()

    async def load(self) -> None:
        await asyncio.to_thread(self.loader.catch_up)

    async def events(self, prop: str | None = None, **kw: Any) -> list[Any]:
        await self.load()
        return self.store.events(Query(property=prop, limit=10_000, **kw))

    async def failed(self, prop: str | None = None) -> list[Any]:
        await self.load()
        return self.store.failed(Query(property=prop, limit=10_000))

    def mp(self, prop: str = "default") -> str:
        k = self.keys(prop)
        return f"/mp/collect?measurement_id={k['ga4_measurement_id']}&api_secret={k['ga4_api_secret']}"

    def ca(self, prop: str = "default", path: str = "/events") -> str:
        k = self.keys(prop)
        return f"{path}?tc_s={k['commanders_act_site']}&token={k['commanders_act_token']}"


async def harness(
    root: Path,
    *,
    store: Store | None = None,
    max_pending: int = 10_000,
    server: dict[str, Any] | None = None,
    properties: dict[str, str] | None = None,
) -> Harness:
    """``properties``: name -> default currency ("" for none); default and other by default."""
    path = root / "trackway.toml"
    for name, currency in (properties or {"default": "EUR", "other": ""}).items():
        configuration.add_property(path, name, currency)
    if server:
        text = path.read_text()
        table = "\n".join(f"{k} = {v!r}" if isinstance(v, str) else f"{k} = {v}" for k, v in server.items())
        path.write_text(f"[server]\n{table}\n\n{text}")
    cfg = configuration.load(path)
    writer = LogWriter(root / "log" / "w1", segment_bytes=1 << 20, max_pending=max_pending)
    store = store or DuckStore(":memory:")
    holder = {"cfg": cfg}

    def current() -> Config:
        if holder["cfg"].changed():
            holder["cfg"] = configuration.load(path)
        return holder["cfg"]

    loader = Loader(root / "log", store, current)
    admin = make_admin_app(Admin(store, current, loader.lag_bytes, loader=loader))
    forward = client_forward(httpx.AsyncClient(transport=httpx.ASGITransport(admin), base_url="http://store"))
    collector = Collector(cfg, writer, forward=forward, run_dir=root / "run")
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(build_app(collector), client=("203.0.113.9", 5000)), base_url="http://t"
    )
    return Harness(root, cfg, writer, store, loader, collector, client)


async def send(h: Harness, requests: list[Any]) -> list[int]:
    """Send generated requests (trackway.demo.render.Request) through the app; their statuses."""
    statuses = []
    for r in requests:
        response = await h.client.post(r.path, params=r.query, headers=r.headers, content=r.body)
        statuses.append(response.status_code)
    return statuses
