"""The funnel: people reaching ordered steps within a window, each property with its
steps (its ``funnel_steps`` setting unless ``--steps``; docs/reports.md)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import duckdb

from trackway.reports.params import DEFAULT_STEPS, ReportParams, Sections, fetch, period, ratio, where

# An event's place in the store's order, as one sortable number: its time in
# microseconds, then its seq (below 2**40), so that "after" is a single comparison.
_POS = """(epoch_us("timestamp")::HUGEINT << 40) + seq"""
# The report's section and its columns, in order (docs/reports.md): an empty result keeps them.
COLUMNS: dict[str, tuple[str, ...]] = {
    "steps": ("period", "property", "step", "name", "people", "from_previous", "from_first")
}


def _levels_sql(codes: list[int], window: int) -> list[str]:
    """CTEs giving each person (from ``m``: their first event of every step's name) the
    number of steps they reached, ``levels(person, property, p1, level)``.

    Each person's step k is their first event named like step k (code ``codes[k-1]``)
    after their step k-1 (by time, then store order), no later than step 1's time plus
    the window. For almost everyone the first events of the steps come in order, and
    then they are the steps: one pass over ``m`` decides (``t.v``: the level reached,
    or minus the step at which the first event came too early). Only those others are
    searched among their events, step by step (``r<k>``: who of them reached step k).
    """
    n = len(codes)
    within = "(({x}) >> 40) <= (m{c1} >> 40) + {w}"
    cases = []
    for k in range(2, n + 1):
        cur, prev = f"m{codes[k - 1]}", f"m{codes[k - 2]}"
        cases += [
            f"WHEN {cur} IS NULL THEN {k - 1}",
            f"WHEN {cur} <= {prev} THEN -{k}",
            f"WHEN NOT {within.format(x=cur, c1=codes[0], w=window)} THEN {k - 1}",
        ]
    level = f"CASE {' '.join(cases)} ELSE {n} END" if cases else str(n)
    # where a searched person's step k-1 is: their first event of it (the steps before were in order)
    before = " ".join(f"WHEN -{k} THEN m{codes[k - 2]}" for k in range(2, n + 1))
    pos = f"CASE v {before} END" if before else "NULL::HUGEINT"
    ctes = [
        f"""t AS MATERIALIZED (
        SELECT person, property, p1, v, {pos} AS pos
        FROM (SELECT *, m{codes[0]} AS p1, {level} AS v FROM m WHERE m{codes[0]} IS NOT NULL)
    )"""
    ]
    reached = ["SELECT person, -v - 1 AS level FROM t WHERE v < 0"]
    for k in range(2, n + 1):
        carried = f" UNION ALL SELECT person, p1, pos FROM r{k - 1}" if k > 2 else ""
        ctes.append(
            f"""r{k} AS MATERIALIZED (
        SELECT a.person, any_value(a.p1) AS p1, min(e.pos) AS pos
        FROM (SELECT person, p1, pos FROM t WHERE v = -{k}{carried}) a JOIN e USING (person)
        WHERE e.code = {codes[k - 1]} AND e.pos > a.pos AND (e.pos >> 40) <= (a.p1 >> 40) + {window}
        GROUP BY a.person
    )"""
        )
        reached.append(f"SELECT person, {k} AS level FROM r{k}")
    ctes.append(
        f"""levels AS (
        SELECT person, property, p1, v AS level FROM t WHERE v > 0
        UNION ALL
        SELECT person, any_value(t.property), any_value(t.p1), max(s.level)
        FROM ({" UNION ALL ".join(reached)}) s JOIN t USING (person) GROUP BY person
    )"""
    )
    return ctes


def funnel(cur: duckdb.DuckDBPyConnection, params: ReportParams) -> Sections:
    """Each property's funnel with its steps (:meth:`ReportParams.steps_for`): one query
    per set of steps, properties with the same steps together (most often: all)."""
    props = [params.property] if params.property is not None else _properties(cur)
    shops = [p for p in props if not params.steps and params.steps_for(p) == DEFAULT_STEPS]
    sent = _sent(cur, shops, DEFAULT_STEPS) if shops else {}
    groups: dict[tuple[str, ...], list[str]] = {}
    for prop in props:
        steps = params.steps_for(prop)
        if prop in sent:  # the shop's steps, less those this property never sends
            steps = tuple(s for s in steps if s in sent[prop]) or steps
        groups.setdefault(steps, []).append(prop)
    rows: list[dict[str, Any]] = []
    for steps, members in groups.items():
        rows += _funnel_rows(cur, params, steps, members, only=len(groups) > 1)
    rows.sort(key=lambda r: (r["period"] or "", r["property"]))  # stable: the steps stay in order
    return {"steps": rows}


def _sent(cur: duckdb.DuckDBPyConnection, props: list[str], names: tuple[str, ...]) -> dict[str, set[str]]:
    """Which of ``names`` each of ``props`` has ever sent (at any time: the funnel keeps its
    shape from one period to the next). A shop in Universal Analytics' dialects has no
    add_payment_info (its checkout steps are all begin_checkout), and many GA4 shops send
    none: the default steps are the shop's less those, so that the purchases after them show."""
    found: dict[str, set[str]] = {p: set() for p in props}
    rows = cur.execute(
        "SELECT DISTINCT property, name FROM events "
        "WHERE list_contains(?, property) AND list_contains(?, name)",
        [props, list(names)],
    ).fetchall()
    for prop, name in rows:
        found[prop].add(name)
    return found


def _funnel_rows(
    cur: duckdb.DuckDBPyConnection,
    params: ReportParams,
    steps: tuple[str, ...],
    props: list[str],
    *,
    only: bool,
) -> list[dict[str, Any]]:
    """The rows of the funnel of ``steps`` for ``props`` (``only``: leave the other
    properties' events out; without it every event is one of ``props``)."""
    cond, values = where(params, '"timestamp"')
    if only:
        cond, values = " AND list_contains(?, property)" + cond, [props, *values]
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
        *_levels_sql(codes, params.window // timedelta(microseconds=1)),
    ]
    # properties are carried through the steps as numbers (the strings cost 20% at 10M events)
    t1 = "make_timestamp((p1 >> 40)::BIGINT)"  # UTC, as the session is
    found = fetch(
        cur,
        f"WITH {', '.join(ctes)} SELECT property, {period(params, t1)} AS period, level, count(*) AS people "
        "FROM levels GROUP BY ALL",
        [props, list(steps), list(steps), *values],
    )
    people: dict[tuple[str, Any, int], int] = {}
    for r in found:  # a person at level L reached steps 1..L
        for k in range(1, r["level"] + 1):
            key = (props[r["property"] - 1], r["period"], k)
            people[key] = people.get(key, 0) + r["people"]
    rows = []
    for prop, when in {(p, when) for p, when, _ in people}:
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
    return rows


def _properties(cur: duckdb.DuckDBPyConnection) -> list[str]:
    return [p for (p,) in cur.execute("SELECT DISTINCT property FROM events ORDER BY property").fetchall()]
