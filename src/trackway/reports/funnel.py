"""The funnel: people reaching ordered steps within a window (docs/reports.md)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import duckdb

from trackway.reports.params import DEFAULT_STEPS, ReportParams, Sections, fetch, period, ratio, where

# An event's place in the store's order, as one sortable number: its time in
# microseconds, then its seq (below 2**40), so that "after" is a single comparison.
_POS = """(epoch_us("timestamp")::HUGEINT << 40) + seq"""


def _step_sql(k: int, code: int) -> str:
    """Each person's step k: the first event named like step k (its name's ``code``) after
    step k-1 (by time, then store order), no later than step 1's time plus the window."""
    return f"""
    s{k} AS MATERIALIZED (
        SELECT e.property, e.person_id, min(e.pos) AS pos, any_value(p.p1) AS p1
        FROM e JOIN s{k - 1} p USING (property, person_id)
        WHERE e.code = {code} AND e.pos > p.pos AND (e.pos >> 40) <= (p.p1 >> 40) + ?
        GROUP BY ALL
    )"""


def funnel(cur: duckdb.DuckDBPyConnection, params: ReportParams) -> Sections:
    steps = params.steps or DEFAULT_STEPS
    cond, values = where(params, '"timestamp"')
    ctes = [
        f"""e AS MATERIALIZED (
        SELECT property, person_id, list_position(?, name) AS code, {_POS} AS pos FROM event_persons
        WHERE person_id IS NOT NULL AND list_contains(?, name){cond}
    )""",
        """s1 AS MATERIALIZED (
        SELECT property, person_id, min(pos) AS pos, min(pos) AS p1 FROM e WHERE code = 1 GROUP BY ALL
    )""",
    ]
    window = params.window // timedelta(microseconds=1)
    # an event's code: the first step with its name (a name may come twice: an integer
    # compares faster than the name, which cost the funnel 30% at 10M events)
    args: list[Any] = [list(steps), list(steps), *values]
    for k in range(2, len(steps) + 1):
        ctes.append(_step_sql(k, steps.index(steps[k - 1]) + 1))
        args.append(window)
    t1 = "make_timestamp((p1 >> 40)::BIGINT)"  # UTC, as the session is
    counts = " UNION ALL ".join(
        f"SELECT property, {period(params, t1)} AS period, {k} AS step, count(*) AS people "
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
