"""Reports over the store: funnel, revenue, orders, products, carts, procedures, quality.

Each report is SQL over the events and the derived tables (see docs/reports.md for
their definitions); :func:`run` returns its sections, each a list of rows (dicts) with
exact decimals. The CLI (``trackway report``) and the API (``/api/reports/NAME``)
render them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from trackway.errors import UsageError
from trackway.reports import commerce, funnel, procedures, quality
from trackway.reports.params import ReportParams, Sections, parse
from trackway.store.duck import DuckStore

REPORTS: dict[str, Callable[[Any, ReportParams], Sections]] = {
    "funnel": funnel.funnel,
    "revenue": commerce.revenue,
    "orders": commerce.orders,
    "products": commerce.products,
    "carts": commerce.carts,
    "procedures": procedures.procedures,
    "quality": quality.quality,
}
NAMES = tuple(REPORTS)


def run(store: object, name: str, params: ReportParams, *, threads: int = 0) -> Sections:
    """The sections of report ``name``, DuckDB on ``threads`` threads (0: one per CPU)."""
    if not isinstance(store, DuckStore):
        raise UsageError(f"reports read the DuckDB store, not {type(store).__name__}")
    report = REPORTS.get(name)
    if report is None:
        raise UsageError(f"unknown report {name!r}: expected one of {', '.join(NAMES)}")
    with store.parallel(threads):
        return report(store.cursor(), params)


__all__ = ["NAMES", "REPORTS", "ReportParams", "Sections", "parse", "run"]
