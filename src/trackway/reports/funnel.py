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
    step k-1 (by time, then store order), no later than step 1's time plus the window.

    Most people's first such event (``m<code>``, from ``m``) already comes after their
    step k-1, and then it is the answer; only the others (``f<k>``, a few percent) are
    searched among their events. A join of every event against every person for every
    step cost three times as much at 10M events."""
    found = f"CASE WHEN s.m{code} > s.pos THEN s.m{code} ELSE f.pos END"
    return f"""
    f{k} AS MATERIALIZED (
        SELECT e.person, min(e.pos) AS pos
        FROM e JOIN s{k - 1} x USING (person)
        WHERE x.m{code} <= x.pos AND e.code = {code} AND e.pos > x.pos
        GROUP BY e.person
    ),
    s{k} AS MATERIALIZED (
        SELECT s.* REPLACE ({found} AS pos)
        FROM s{k - 1} s LEFT JOIN f{k} f USING (person)
        WHERE ({found} >> 40) <= (s.p1 >> 40) + ?
    )"""


def funnel(cur: duckdb.DuckDBPyConnection, params: ReportParams) -> Sections:
    steps = params.steps or DEFAULT_STEPS
    cond, values = where(params, '"timestamp"')
    # an event's code: the first step with its name (a name may come twice: an integer
    # compares faster than the name, which cost the funnel 30% at 10M events)
    codes = [steps.index(name) + 1 for name in steps]
    firsts = ", ".join(f"min(pos) FILTER (code = {c}) AS m{c}" for c in sorted(set(codes)))
    ctes = [
        f"""e AS MATERIALIZED (
        SELECT list_position(?, property) AS property, person, list_position(?, name) AS code, {_POS} AS pos
        FROM event_person_keys
        WHERE person IS NOT NULL AND list_contains(?, name){cond}
    )""",
        f"""m AS MATERIALIZED (
        SELECT person, any_value(property) AS property, {firsts} FROM e GROUP BY person
    )""",
        """s1 AS MATERIALIZED (
        SELECT m1 AS p1, m1 AS pos, * FROM m WHERE m1 IS NOT NULL
    )""",
    ]
    window = params.window // timedelta(microseconds=1)
    # properties are carried through the steps as numbers (the strings cost 20% at 10M events)
    props = [params.property] if params.property is not None else _properties(cur)
    args: list[Any] = [props, list(steps), list(steps), *values]
    for k in range(2, len(steps) + 1):
        ctes.append(_step_sql(k, codes[k - 1]))
        args.append(window)
    t1 = "make_timestamp((p1 >> 40)::BIGINT)"  # UTC, as the session is
    counts = " UNION ALL ".join(
        f"SELECT property, {period(params, t1)} AS period, {k} AS step, count(*) AS people "
        f"FROM s{k} GROUP BY ALL"
        for k in range(1, len(steps) + 1)
    )
    found = fetch(cur, f"WITH {', '.join(ctes)} {counts}", args)
    people = {(props[r["property"] - 1], r["period"], r["step"]): r["people"] for r in found}
    groups = sorted(
        {(props[r["property"] - 1], r["period"]) for r in found}, key=lambda g: (g[1] or "", g[0])
    )
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


def _properties(cur: duckdb.DuckDBPyConnection) -> list[str]:
    return [p for (p,) in cur.execute("SELECT DISTINCT property FROM events ORDER BY property").fetchall()]
