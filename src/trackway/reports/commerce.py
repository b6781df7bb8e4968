"""Revenue, orders, products and carts (docs/reports.md), from the derived tables."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import duckdb

from trackway.reports.params import ReportParams, Sections, fetch, period, ratio, tidy, where

# The orders counted in revenue and products: purchased, current status not excluded,
# with the time of their first purchase event. An order's gross is its revenue (after
# discount, tax and shipping excluded), derived alike from every dialect's amounts
# (trackway.amounts; docs/reports.md).
_COUNTED = """
counted AS (
    SELECT o.property, o.transaction_id, o.currency, coalesce(o.revenue, 0) AS gross, o.lines, f.first_at
    FROM orders o JOIN (
        SELECT property, transaction_id, min("at") AS first_at FROM order_history
        WHERE name = 'purchase' GROUP BY property, transaction_id
    ) f USING (property, transaction_id)
    WHERE o.purchased AND NOT list_contains(?, coalesce(o.status, '')){cond}
)"""
# Each report's sections and their columns, in order (docs/reports.md): an empty result keeps them.
REVENUE_COLUMNS: dict[str, tuple[str, ...]] = {
    "revenue": ("period", "property", "currency", "orders", "gross", "refunds", "net", "average_order")
}
ORDERS_COLUMNS: dict[str, tuple[str, ...]] = {
    "statuses": ("period", "property", "status", "orders"),
    "changes": ("period", "property", "status", "orders"),
}
PRODUCTS_COLUMNS: dict[str, tuple[str, ...]] = {
    "products": (
        "period",
        "property",
        "item",
        "currency",
        "views",
        "adds",
        "removes",
        "purchases",
        "revenue",
    )
}
CARTS_COLUMNS: dict[str, tuple[str, ...]] = {
    "carts": ("period", "property", "state", "carts"),
    "value_at_risk": ("period", "property", "currency", "carts", "value", "other_currency_lines"),
}
_LINE = (
    '[{"item_id": "VARCHAR", "item_name": "VARCHAR", "quantity": "BIGINT", "price": "DECIMAL(38, 9)", '
    '"currency": "VARCHAR"}]'
)


def _counted(params: ReportParams) -> tuple[str, list[Any]]:
    cond, values = where(params, None, prop="o.property")
    return _COUNTED.format(cond=cond), [params.excluded, *values]


def revenue(cur: duckdb.DuckDBPyConnection, params: ReportParams) -> Sections:
    counted, values = _counted(params)
    sold_cond, sold_values = where(params, "first_at")
    back_cond, back_values = where(params, 'h."at"', prop="c.property")
    query = f"""
    WITH {counted},
    sold AS (
        SELECT property, currency, {period(params, "first_at")} AS period, count(*) AS orders,
               sum(gross) AS gross
        FROM counted WHERE TRUE{sold_cond} GROUP BY ALL
    ),
    back AS (
        SELECT c.property, c.currency, {period(params, 'h."at"')} AS period, sum(h.refund) AS refunds
        FROM counted c JOIN order_history h USING (property, transaction_id)
        WHERE h.name = 'refund'{back_cond} GROUP BY ALL
    )
    SELECT period, property, currency, sum(orders)::BIGINT AS orders, sum(gross) AS gross,
           sum(refunds) AS refunds
    FROM (
        SELECT period, property, currency, orders, gross, 0 AS refunds FROM sold
        UNION ALL BY NAME
        SELECT period, property, currency, 0 AS orders, 0 AS gross, refunds FROM back
    ) GROUP BY ALL  -- (not a join: a NULL period or currency would match nothing)
    ORDER BY period NULLS FIRST, property, currency NULLS FIRST
    """
    rows = []
    for r in fetch(cur, query, [*values, *sold_values, *back_values]):
        gross, refunds = tidy(r["gross"]) or Decimal(0), tidy(r["refunds"]) or Decimal(0)
        rows.append(
            {
                **r,
                "gross": gross,
                "refunds": refunds,
                "net": gross - refunds,
                "average_order": ratio(gross, r["orders"]),
            }
        )
    return {"revenue": rows}


def orders(cur: duckdb.DuckDBPyConnection, params: ReportParams) -> Sections:
    cond, values = where(params, "f.first_at", prop="o.property")
    statuses = fetch(
        cur,
        f"""
        SELECT {period(params, "f.first_at")} AS period, o.property, coalesce(o.status, 'unknown') AS status,
               count(*) AS orders
        FROM orders o JOIN (
            SELECT property, transaction_id, min("at") AS first_at FROM order_history
            WHERE name = 'purchase' GROUP BY ALL
        ) f USING (property, transaction_id)
        WHERE o.purchased{cond} GROUP BY ALL ORDER BY period NULLS FIRST, property, status
        """,
        values,
    )
    cond, values = where(params, '"at"')
    changes = fetch(
        cur,
        f"""
        SELECT {period(params, '"at"')} AS period, property, status, count(*) AS orders FROM (
            SELECT *, lag(status) OVER (PARTITION BY property, transaction_id ORDER BY seq) AS before
            FROM order_history WHERE status IS NOT NULL
        ) WHERE (before IS NULL OR before <> status){cond}
        GROUP BY ALL ORDER BY period NULLS FIRST, property, status
        """,
        values,
    )
    return {"statuses": statuses, "changes": changes}


def products(cur: duckdb.DuckDBPyConnection, params: ReportParams) -> Sections:
    cond, values = where(params, '"timestamp"')
    seen = fetch(
        cur,
        f"""
        -- Reading the items is most of the cost: the narrow item_lines (each item's key
        -- and quantity, store/columns.py), and one scan groups the events by their first
        -- line (most have one) and the short list of the others; only the few groups
        -- are unnested. A view counts once per item however often the event names it; a
        -- quantity of 0 or less counts 0, as it changes no cart (state/carts.py).
        WITH g AS (
            SELECT {period(params, '"timestamp"')} AS period, property, name,
                   item_lines[1].item AS item,
                   CASE WHEN name = 'view_item' THEN 1
                        ELSE greatest(coalesce(item_lines[1].q, 1), 0) END AS q,
                   CASE WHEN len(item_lines) < 2 THEN NULL
                        WHEN name = 'view_item' THEN list_transform(
                            list_filter(
                                list_distinct(list_transform(item_lines[2:], lambda x: x.item)),
                                lambda i: i IS DISTINCT FROM item_lines[1].item),
                            lambda i: {{'item': i, 'q': 1}})
                        ELSE list_transform(
                            item_lines[2:], lambda x: {{'item': x.item, 'q': greatest(coalesce(x.q, 1), 0)}})
                   END AS rest,
                   count(*) AS n
            FROM events
            WHERE name IN ('view_item', 'add_to_cart', 'remove_from_cart') AND len(item_lines) > 0{cond}
            GROUP BY ALL
        ), lines AS (
            SELECT period, property, name, item, q * n AS q, n FROM g WHERE item IS NOT NULL
            UNION ALL
            SELECT period, property, name, r.item, r.q * n AS q, n
            FROM (SELECT *, unnest(rest) AS r FROM g WHERE rest IS NOT NULL) WHERE r.item IS NOT NULL
        )
        SELECT period, property, item,
               coalesce(sum(n) FILTER (WHERE name = 'view_item'), 0)::BIGINT AS views,
               coalesce(sum(q) FILTER (WHERE name = 'add_to_cart'), 0)::BIGINT AS adds,
               coalesce(sum(q) FILTER (WHERE name = 'remove_from_cart'), 0)::BIGINT AS removes
        FROM lines GROUP BY ALL
        """,
        values,
    )
    counted, values = _counted(params)
    sold_cond, sold_values = where(params, "first_at")
    sold = fetch(
        cur,
        f"""
        WITH {counted}
        SELECT {period(params, "first_at")} AS period, property, coalesce(l.item_id, l.item_name) AS item,
               coalesce(l.currency, currency) AS currency,  -- a line's own, when not the order's
               sum(coalesce(l.quantity, 1))::BIGINT AS purchases,
               sum(l.price * coalesce(l.quantity, 1)) AS revenue
        FROM (SELECT *, unnest(from_json(lines, '{_LINE}')) AS l FROM counted WHERE TRUE{sold_cond})
        GROUP BY ALL
        """,
        [*values, *sold_values],
    )
    rows = [
        {**r, "currency": None, "purchases": 0, "revenue": None}
        for r in seen
        if r["views"] or r["adds"] or r["removes"]
    ]
    rows += [{**r, "views": 0, "adds": 0, "removes": 0, "revenue": tidy(r["revenue"])} for r in sold]
    key = {"period": "", "property": "", "item": "", "currency": ""}
    rows.sort(key=lambda r: tuple((r[k] or "") for k in key))
    return {"products": [_product(r) for r in _merge(rows)]}


def _merge(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (period, property, item, currency)."""
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in rows:
        k = (r["period"], r["property"], r["item"], r["currency"])
        if k in out:
            for f in ("views", "adds", "removes", "purchases"):
                out[k][f] += r[f]
        else:
            out[k] = dict(r)
    return list(out.values())


def _product(r: dict[str, Any]) -> dict[str, Any]:
    return {k: r[k] for k in PRODUCTS_COLUMNS["products"]}


def carts(cur: duckdb.DuckDBPyConnection, params: ReportParams) -> Sections:
    end = params.until or params.now or datetime.now(UTC)
    cutoff = end - params.abandon_after
    cond, values = where(params, "opened_at")
    state = "CASE WHEN status = 'open' AND updated_at < ? THEN 'abandoned' ELSE status END"
    by_state = fetch(
        cur,
        f"""
        SELECT {period(params, "opened_at")} AS period, property, {state} AS state, count(*) AS carts
        FROM carts WHERE TRUE{cond} GROUP BY ALL ORDER BY period NULLS FIRST, property, state
        """,
        [cutoff, *values],
    )
    at_risk = fetch(
        cur,
        f"""
        SELECT {period(params, "opened_at")} AS period, property, currency, count(*) AS carts,
               sum("value") AS value, coalesce(sum(other_currency_lines), 0)::BIGINT AS other_currency_lines
        FROM carts WHERE status = 'open' AND updated_at < ?{cond}
        GROUP BY ALL ORDER BY period NULLS FIRST, property, currency NULLS FIRST
        """,
        [cutoff, *values],
    )
    return {"carts": by_state, "value_at_risk": [{**r, "value": tidy(r["value"])} for r in at_risk]}
