"""Quality: accepted and rejected events, and the issues that rejected them (docs/reports.md)."""

from __future__ import annotations

from typing import Any

import duckdb
import msgspec

from trackway.reports.params import ReportParams, Sections, fetch, period, where

UNREADABLE = "(unreadable)"  # a payload that gave no event
UNNAMED = "(unnamed)"  # a failed event that carried no name
# The report's sections and their columns, in order (docs/reports.md): an empty result keeps them.
COLUMNS: dict[str, tuple[str, ...]] = {
    "events": ("period", "property", "dialect", "event", "accepted", "rejected"),
    "issues": ("property", "code", "payloads", "example"),
    "paths": ("property", "code", "path", "payloads", "sample", "example"),
}
_KEY = COLUMNS["events"][:4]  # a row of events: its key, then its counts

_issues = msgspec.json.Decoder(list[dict[str, Any]])


def _events(cur: duckdb.DuckDBPyConnection, params: ReportParams) -> list[dict[str, Any]]:
    cond, values = where(params, "received_at")
    when = period(params, "received_at")
    accepted = fetch(
        cur,
        f"""SELECT {when} AS period, property, dialect, name AS event, count(*) AS n FROM events
        WHERE TRUE{cond} GROUP BY ALL""",
        values,
    )
    rejected = fetch(
        cur,
        f"""SELECT period, property, dialect, event, count(*) AS n FROM (
            SELECT {when} AS period, property, dialect, unnest(names) AS event
            FROM failed_events WHERE TRUE{cond}
            UNION ALL
            SELECT {when} AS period, property, dialect,
                   unnest(list_resize([?], len(indices) - len(names), ?)) AS event
            FROM failed_events WHERE indices <> [-1] AND len(indices) > len(names){cond}
            UNION ALL
            SELECT {when} AS period, property, dialect, ? AS event
            FROM failed_events WHERE indices = [-1]{cond}
        ) GROUP BY ALL""",
        [*values, UNNAMED, UNNAMED, *values, UNREADABLE, *values],
    )
    table: dict[tuple[Any, ...], dict[str, Any]] = {}
    for found, column in ((accepted, "accepted"), (rejected, "rejected")):
        for r in found:
            key = (r["period"], r["property"], r["dialect"], r["event"])
            row = table.setdefault(key, {**dict(zip(_KEY, key, strict=True)), "accepted": 0, "rejected": 0})
            row[column] += r["n"]
    return [table[k] for k in sorted(table, key=lambda k: tuple(x or "" for x in k))]


def _issues_section(cur: duckdb.DuckDBPyConnection, params: ReportParams) -> list[dict[str, Any]]:
    cond, values = where(params, "received_at")
    found = fetch(
        cur,
        f"""SELECT property, code, count(*) AS payloads,
               arg_min(issues, (received_at, id)) AS issues
        FROM (SELECT *, unnest(codes) AS code FROM failed_events WHERE TRUE{cond})
        GROUP BY ALL ORDER BY property, payloads DESC, code""",
        values,
    )
    rows = []
    for r in found:
        first = next(
            (
                i
                for i in _issues.decode(r["issues"])
                if i.get("code") == r["code"] and i.get("severity") == "error"
            ),
            {},
        )
        example = f"{first.get('path') or '$'}: {first.get('message', '')}"
        rows.append(
            {"property": r["property"], "code": r["code"], "payloads": r["payloads"], "example": example}
        )
    return rows


_ISSUE_SHAPE = '[{"code": "VARCHAR", "severity": "VARCHAR", "path": "VARCHAR", "message": "VARCHAR"}]'


def paths_section(cur: duckdb.DuckDBPyConnection, params: ReportParams) -> list[dict[str, Any]]:
    """Each error code by the path it was found at: how many failed payloads, and the
    earliest one (its id, for the dashboard's link, and its message)."""
    cond, values = where(params, "received_at")
    return fetch(
        cur,
        f"""SELECT property, code, path, count(DISTINCT id) AS payloads,
               arg_min(id, (received_at, id)) AS sample, arg_min(message, (received_at, id)) AS example
        FROM (SELECT property, id, received_at, i.code AS code, coalesce(i.path, '$') AS path,
                     i.message AS message
              FROM (SELECT property, id, received_at, unnest(from_json(issues, '{_ISSUE_SHAPE}')) AS i
                    FROM failed_events WHERE TRUE{cond})
              WHERE i.severity = 'error')
        GROUP BY ALL ORDER BY property, payloads DESC, code, path""",
        values,
    )


def quality(cur: duckdb.DuckDBPyConnection, params: ReportParams) -> Sections:
    return {
        "events": _events(cur, params),
        "issues": _issues_section(cur, params),
        "paths": paths_section(cur, params),
    }
