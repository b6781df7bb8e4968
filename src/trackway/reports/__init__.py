"""Reports over the store: funnel, revenue, orders, products, carts, procedures, quality.

Each report is SQL over the events and the derived tables (see docs/reports.md for
their definitions); :func:`run` returns its sections, each a list of rows (dicts) with
exact decimals. Each module declares its sections' columns beside its queries
(:data:`COLUMNS`), so that a section with no rows still has them. The CLI (``trackway
report``) and the API (``/api/reports/NAME``) render them (render.py).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import localcontext
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
EXACT_DIGITS = 80  # a report's decimal arithmetic: twice what DECIMAL(38, 9) holds, more than enough
# Each report's sections, in order, and each section's columns, in order.
COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "funnel": funnel.COLUMNS,
    "revenue": commerce.REVENUE_COLUMNS,
    "orders": commerce.ORDERS_COLUMNS,
    "products": commerce.PRODUCTS_COLUMNS,
    "carts": commerce.CARTS_COLUMNS,
    "procedures": procedures.COLUMNS,
    "quality": quality.COLUMNS,
}
# Sections that run on their own (the dashboard's failed page shows quality's paths only:
# the whole report also counts every event, seconds at 10 million).
ALONE: dict[tuple[str, str], Callable[[Any, ReportParams], list[dict[str, Any]]]] = {
    ("quality", "paths"): quality.paths_section,
}


def run(
    store: object, name: str, params: ReportParams, *, threads: int = 0, section: str | None = None
) -> Sections:
    """The sections of report ``name`` (or its one ``section``), DuckDB on ``threads``
    threads (0: one per CPU)."""
    if not isinstance(store, DuckStore):
        raise UsageError(f"reports read the DuckDB store, not {type(store).__name__}")
    report = REPORTS.get(name)
    if report is None:
        raise UsageError(f"unknown report {name!r}: expected one of {', '.join(NAMES)}")
    alone = ALONE.get((name, section)) if section is not None else None
    # Sums of DECIMAL(38, 9) amounts have up to 38 digits: Python's default context keeps
    # 28 and rounded a gross of 10000000000000003674.600456789 to ...3674.60045679.
    with store.parallel(threads), localcontext(prec=EXACT_DIGITS):
        if alone is not None:
            return {str(section): alone(store.cursor(), params)}
        sections = report(store.cursor(), params)
    if section is None:
        return sections
    if section not in sections:
        raise UsageError(f"unknown section {section!r} of {name}: expected one of {', '.join(sections)}")
    return {section: sections[section]}


__all__ = ["COLUMNS", "NAMES", "REPORTS", "ReportParams", "Sections", "parse", "run"]
