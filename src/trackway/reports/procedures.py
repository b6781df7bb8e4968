"""Koalect procedures: the step funnel to success, transactions and revenue (docs/reports.md)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import duckdb

from trackway.reports.params import ReportParams, Sections, fetch, period, tidy, where

Group = tuple[Any, ...]  # (period, property, slug, category)

_STEPS = '[{"index": "BIGINT", "name": "VARCHAR"}]'
_ENDS = ("success", "checkout", "transaction", "execution")
# The report's sections and their columns, in order (docs/reports.md): an empty result keeps them.
COLUMNS: dict[str, tuple[str, ...]] = {
    "funnel": ("period", "property", "slug", "category", "stage", "name", "people"),
    "revenue": ("period", "property", "slug", "category", "currency", "transactions", "revenue"),
}


def _rows(params: ReportParams) -> tuple[str, list[Any]]:
    """The procedures reported on: with a person, first event in the range."""
    cond, values = where(params, "first_at")
    return (
        f"""rows AS (
        SELECT {period(params, "first_at")} AS period, property, slug, category, procedure_id, person_id,
               from_json(steps, '{_STEPS}') AS steps, success_at, checkout_at, transaction_id, "value",
               currency, executed_at
        FROM procedures WHERE person_id <> ''{cond}
    )""",
        values,
    )


def _key(r: dict[str, Any]) -> Group:
    return (r["period"], r["property"], r["slug"], r["category"])


def _order(g: Group) -> tuple[str, ...]:
    return tuple(x or "" for x in g)


def _step_names(found: list[dict[str, Any]]) -> dict[tuple[Group, int], str]:
    """Per group and step index, the name the most rows gave it (alphabetical on a tie)."""
    votes: dict[tuple[Group, int], list[tuple[int, str]]] = defaultdict(list)
    for r in found:
        votes[(_key(r), r["idx"])].append((-r["rows"], r["name"]))
    return {k: min(v)[1] for k, v in votes.items()}


def _funnel(cur: duckdb.DuckDBPyConnection, rows: str, values: list[Any]) -> list[dict[str, Any]]:
    ends = fetch(
        cur,
        f"""WITH {rows}
        SELECT period, property, slug, category, count(*) AS started,
               count(success_at) AS success, count(checkout_at) AS checkout,
               count(transaction_id) AS "transaction", count(executed_at) AS execution
        FROM rows GROUP BY ALL""",
        values,
    )
    highest = fetch(
        cur,
        f"""WITH {rows}
        SELECT period, property, slug, category, top, count(*) AS rows FROM (
            SELECT *, list_max(list_transform(steps, lambda s: s."index")) AS top FROM rows
        ) WHERE top >= 1 GROUP BY ALL""",
        values,
    )
    named = fetch(
        cur,
        f"""WITH {rows}
        SELECT period, property, slug, category, s."index" AS idx, s.name,
               count(DISTINCT (procedure_id, person_id)) AS rows
        FROM (SELECT *, unnest(steps) AS s FROM rows)
        WHERE s."index" >= 1 AND s.name IS NOT NULL GROUP BY ALL""",
        values,
    )
    reached: dict[Group, dict[int, int]] = defaultdict(dict)
    for r in highest:
        reached[_key(r)][r["top"]] = r["rows"]
    names = _step_names(named)
    out = []
    for r in sorted(ends, key=lambda r: _order(_key(r))):
        g = _key(r)
        head = dict(zip(("period", "property", "slug", "category"), g, strict=True))
        out.append({**head, "stage": "started", "name": None, "people": r["started"]})
        tops = reached.get(g, {})
        for n in range(1, max(tops, default=0) + 1):
            people = sum(count for top, count in tops.items() if top >= n)
            out.append({**head, "stage": f"step {n}", "name": names.get((g, n)), "people": people})
        out += [{**head, "stage": stage, "name": None, "people": r[stage]} for stage in _ENDS]
    return out


def procedures(cur: duckdb.DuckDBPyConnection, params: ReportParams) -> Sections:
    rows, values = _rows(params)
    revenue = fetch(
        cur,
        f"""WITH {rows}
        SELECT r.period, r.property, r.slug, r.category, r.currency, count(*) AS transactions,
               sum(r."value") AS revenue
        FROM rows r LEFT JOIN orders o USING (property, transaction_id)
        WHERE r.transaction_id IS NOT NULL AND NOT list_contains(?, coalesce(o.status, ''))
        GROUP BY ALL
        ORDER BY period NULLS FIRST, property, slug NULLS FIRST, category NULLS FIRST,
                 currency NULLS FIRST""",
        [*values, params.excluded],
    )
    return {
        "funnel": _funnel(cur, rows, values),
        "revenue": [{**r, "revenue": tidy(r["revenue"])} for r in revenue],
    }
