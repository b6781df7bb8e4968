"""Every report over 100,000+ generated events equals the plain-Python reference.

The data set goes through the collector's endpoints (tests/reports/conftest.py); the
reference (tests/reports/reference.py) reads only the generator's truth. A mismatch
prints the rows only one side has.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from tests.reports.conftest import END, Loaded
from tests.reports.reference import Params, sort_rows
from trackway import reports
from trackway.reports import ReportParams

CASES: dict[str, dict[str, Any]] = {
    "whole range": {"now": END},
    "by day": {"by": "day", "now": END},
    "one property, by week, a window of two weeks": {
        "property": "shop",
        "by": "week",
        "since": END - timedelta(days=16, hours=5),
        "until": END - timedelta(days=2),
    },
    "by month, pending and canceled included, other steps": {
        "by": "month",
        "include": ("pending", "canceled"),
        "steps": ("view_item", "add_to_cart", "purchase"),
        "window": timedelta(hours=2),
        "abandon_after": timedelta(hours=3),
        "now": END,
    },
    "donations only": {"property": "donations", "since": END - timedelta(days=10), "now": END},
}


def _project(rows: list[dict[str, Any]], columns: list[str]) -> list[dict[str, Any]]:
    return sort_rows({c: r[c] for c in columns} for r in rows)


def _diff(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> str:
    def key(row: dict[str, Any]) -> str:
        return repr(sorted(row.items()))

    a, b = Counter(map(key, got)), Counter(map(key, want))
    only_got, only_want = list((a - b).elements())[:8], list((b - a).elements())[:8]
    return (
        "only in the report:\n  "
        + "\n  ".join(only_got)
        + "\nonly in the reference:\n  "
        + "\n  ".join(only_want)
    )


def test_the_data_set_is_big_enough_and_was_all_acknowledged(big: Loaded) -> None:
    stored = big.store.cursor().execute("SELECT count(*) FROM events").fetchall()[0]
    assert stored is not None
    assert stored[0] == len(big.reference.events) >= 100_000
    assert set(big.statuses) <= {200, 204, 400}, big.statuses  # 400: Convead's answer to an invalid event
    failed = big.store.cursor().execute("SELECT count(*) FROM failed_events").fetchall()[0]
    assert failed is not None and failed[0] > 0  # the quality report has something to count


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("name", reports.NAMES)
def test_report_equals_reference(big: Loaded, name: str, case: str) -> None:
    kw = CASES[case]
    got = reports.run(big.store, name, ReportParams(**kw))
    want = big.reference.report(name, Params(**kw))
    assert set(got) == set(want)
    shop_procedures = name == "procedures" and kw.get("property") == "shop"  # Koalect is the donations site's
    assert any(want.values()) != shop_procedures, f"{name} for {case!r}: the case tests nothing"
    for section, rows in want.items():
        assert rows or case != "whole range", f"{name}/{section} is empty: the data set lacks it"
        columns = list(rows[0]) if rows else list(got[section][0]) if got[section] else []
        if name == "quality" and section == "issues":
            assert all(r["example"] and ": " in r["example"] for r in got[section])
        if name == "quality" and section == "paths":  # one row per path a code was found at
            _covers(got[section], rows)
            continue
        g, w = _project(got[section], columns), _project(rows, columns)
        assert g == w, f"{name}/{section} ({case}):\n{_diff(g, w)}"


def _covers(paths: list[dict[str, Any]], codes: list[dict[str, Any]]) -> None:
    """Each code's paths hold at least its payloads (a payload may have it at two paths),
    and no path is of a code the reference does not know."""
    summed: Counter[tuple[str, str]] = Counter()
    for r in paths:
        assert r["path"].startswith("$") and r["sample"] and r["payloads"] >= 1, r
        summed[(r["property"], r["code"])] += r["payloads"]
    want = {(r["property"], r["code"]): r["payloads"] for r in codes}
    assert set(summed) == set(want)
    assert all(summed[k] >= n for k, n in want.items()), (summed, want)


@pytest.mark.parametrize("by", [None, "day"])
@pytest.mark.parametrize("name", reports.NAMES)
def test_every_row_has_its_declared_columns_in_order(small: Loaded, name: str, by: str | None) -> None:
    """What render shows for an empty section (reports.COLUMNS) is what the rows have."""
    got = reports.run(small.store, name, ReportParams(by=by, now=END))
    assert list(got) == list(reports.COLUMNS[name])
    for section, rows in got.items():
        assert rows, f"{name}/{section}: the forced scenarios give no row to compare"
        assert {tuple(r) for r in rows} == {reports.COLUMNS[name][section]}, f"{name}/{section}"


@pytest.mark.parametrize("name", reports.NAMES)
def test_the_forced_scenarios_alone_equal_the_reference(small: Loaded, name: str) -> None:
    """The generator's edge-case visits (refund after days, cancel after purchase, every
    abandoned step...) without the crowd around them, so a mismatch is easy to read."""
    kw: dict[str, Any] = {"by": "day", "now": END}
    got = reports.run(small.store, name, ReportParams(**kw))
    want = small.reference.report(name, Params(**kw))
    for section, rows in want.items():
        if name == "quality" and section == "paths":
            _covers(got[section], rows)
            continue
        columns = list(rows[0]) if rows else list(got[section][0]) if got[section] else []
        g, w = _project(got[section], columns), _project(rows, columns)
        assert g == w, f"{name}/{section}:\n{_diff(g, w)}"
