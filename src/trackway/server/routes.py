"""Every endpoint of a worker, by path and method."""

from __future__ import annotations

from trackway.server import collect, commanders, convead, mp, ops
from trackway.server.app import ASGIApp, Collector, Handler, make_app

ROUTES: dict[str, dict[str, Handler]] = {
    "/mp/collect": {"POST": mp.collect},
    "/debug/mp/collect": {"POST": mp.debug},
    "/events": {"POST": commanders.event},
    "/events/batch": {"POST": commanders.batch},
    "/watch/event": {"POST": convead.event},
    "/collect": {"POST": collect.batch, "OPTIONS": collect.preflight},
    "/health": {"GET": ops.health},
    "/metrics": {"GET": ops.metrics_text},
    "/openapi.json": {"GET": ops.openapi},
}


def build_app(collector: Collector) -> ASGIApp:
    return make_app(collector, ROUTES, ops.api)
