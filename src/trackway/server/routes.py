"""Every endpoint of a worker, by path and method: Trackway's own, and the vendors'
(``trackway.vendors``: each package declares its endpoints)."""

from __future__ import annotations

from trackway import vendors
from trackway.server import collect, dashboard, demo_page, gate, ops, script
from trackway.server.app import ASGIApp, Collector, Handler, make_app

OWN: dict[str, dict[str, Handler]] = {
    "/collect": {"POST": collect.batch, "OPTIONS": collect.preflight},
    "/health": {"GET": ops.health},
    "/metrics": {"GET": ops.metrics_text},
    "/openapi.json": {"GET": ops.openapi},
    "/t.js": {"GET": script.serve},
    "/demo/shop": {"GET": demo_page.shop},
    **dashboard.routes(),
}


def routes() -> dict[str, dict[str, Handler]]:
    """The routing table: the vendors' endpoints, then Trackway's own (which no vendor
    may take: a clash is a programming error, reported at start)."""
    table: dict[str, dict[str, Handler]] = {}
    for vendor, endpoint in vendors.endpoints():
        if endpoint.path in OWN or endpoint.path in table or endpoint.path.startswith("/api/"):
            raise ValueError(
                f"expected each endpoint path to be served once, got {endpoint.path!r} again from vendor "
                f"{vendor.name!r}; give it another path"
            )
        table[endpoint.path] = {m: endpoint.handler(m) for m in endpoint.handlers}
    return table | OWN


def build_app(collector: Collector) -> ASGIApp:
    return make_app(collector, routes(), gate.api)
