"""The funnel: people reaching ordered steps within a window (docs/reports.md)."""

from __future__ import annotations

from typing import Any

import duckdb

from trackway.reports.params import DEFAULT_STEPS, ReportParams, fetch, period, ratio, where


def _step_sql(k: int) -> str:
    """Each person's step k: the first event named like step k after step k-1 (by time,
    then store order), no later than step 1's time plus the window."""
    return f"""
    s{k} AS (
        SELECT property, person_id, ts, seq, t1 FROM (
            SELECT e.property, e.person_id, e.ts, e.seq, p.t1,
                   row_number() OVER (PARTITION BY e.property, e.person_id ORDER BY e.ts, e.seq) AS rn
            FROM e JOIN s{k - 1} p USING (property, person_id)
            WHERE e.name = ? AND (e.ts > p.ts OR (e.ts = p.ts AND e.seq > p.seq)) AND e.ts <= p.t1 + ?
        ) WHERE rn = 1
    )"""


def funnel(cur: duckdb.DuckDBPyConnection, params: ReportParams) -> dict[str, list[dict[str, Any]]]:
    steps = params.steps or DEFAULT_STEPS
    cond, values = where(params, '"timestamp"')
    ctes = [
        f"""e AS (
        SELECT property, person_id, name, "timestamp" AS ts, seq FROM event_persons
        WHERE person_id IS NOT NULL AND list_contains(?, name){cond}
    )""",
        """s1 AS (
        SELECT property, person_id, ts, seq, ts AS t1 FROM (
            SELECT *, row_number() OVER (PARTITION BY property, person_id ORDER BY ts, seq) AS rn
            FROM e WHERE name = ?
        ) WHERE rn = 1
    )""",
    ]
    args: list[Any] = [list(steps), *values, steps[0]]
    for k in range(2, len(steps) + 1):
        ctes.append(_step_sql(k))
        args += [steps[k - 1], params.window]
    counts = " UNION ALL ".join(
        f"SELECT property, {period(params, 't1')} AS period, {k} AS step, count(*) AS people "
        f"FROM s{k} GROUP BY ALL"
        for k in range(1, len(steps) + 1)
    )
    found = fetch(cur, f"WITH {', '.join(ctes)} {counts}", args)
    people = {(r["property"], r["period"], r["step"]): r["people"] for r in found}
    groups = sorted({(r["property"], r["period"]) for r in found}, key=lambda g: (g[1] or "", g[0]))
    rows = []
    for prop, when in groups:
        first = people.get((prop, when, 1), 0)
        before = first
        for k, name in enumerate(steps, start=1):
            n = people.get((prop, when, k), 0)
            rows.append(
                {
                    "period": when,
                    "property": prop,
                    "step": k,
                    "name": name,
                    "people": n,
                    "from_previous": ratio(n, before) if k > 1 else None,
                    "from_first": ratio(n, first) if k > 1 else None,
                }
            )
            before = n
    return {"steps": rows}
