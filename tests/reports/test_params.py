"""Report parameters from text (CLI options, a query string): good and bad inputs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from trackway.errors import UsageError
from trackway.reports.params import (
    DEFAULT_STEPS,
    MAX_DURATION,
    MAX_STEP_NAME,
    MAX_STEPS,
    ReportParams,
    parse,
    period,
    ratio,
    tidy,
    where,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

GOOD: list[tuple[dict[str, str | None], dict[str, Any]]] = [
    ({}, {"property": None, "since": None, "until": None, "by": None, "steps": None}),
    ({"property": " shop "}, {"property": "shop"}),
    ({"property": "", "by": None}, {"property": None, "by": None}),
    ({"since": "7d"}, {"since": NOW - timedelta(days=7)}),
    ({"since": "2026-11-01", "until": "2026-11-02T00:00:00Z"}, {"until": datetime(2026, 11, 2, tzinfo=UTC)}),
    ({"since": "2026-11-01T01:00:00+01:00"}, {"since": datetime(2026, 11, 1, tzinfo=UTC)}),
    ({"by": "week"}, {"by": "week"}),
    ({"steps": "view_item, add_to_cart,,purchase"}, {"steps": ("view_item", "add_to_cart", "purchase")}),
    ({"window": "2h"}, {"window": timedelta(hours=2)}),
    ({"abandon_after": "90m"}, {"abandon_after": timedelta(minutes=90)}),
    ({"include": "canceled,pending"}, {"include": ("canceled", "pending")}),
    ({"include": "pending"}, {"include": ("pending",)}),
    ({"include": "pending,pending,pending"}, {"include": ("pending",)}),
    (
        {"steps": ",".join(f"s{n}" for n in range(MAX_STEPS))},
        {"steps": tuple(f"s{n}" for n in range(MAX_STEPS))},
    ),
    ({"steps": "x" * MAX_STEP_NAME}, {"steps": ("x" * MAX_STEP_NAME,)}),
    ({"window": f"{MAX_DURATION.days}d"}, {"window": MAX_DURATION}),
    ({"since": "2016-11-23", "until": "2026-11-23", "by": "day"}, {"by": "day"}),
    ({"since": "2000-01-01", "until": "2200-01-01", "by": "month"}, {"by": "month"}),
]


@pytest.mark.parametrize(("values", "expected"), GOOD)
def test_parse_reads(values: dict[str, str | None], expected: dict[str, Any]) -> None:
    p = parse(values, now=NOW)
    assert {k: getattr(p, k) for k in expected} == expected
    assert p.now == NOW


BAD: list[tuple[dict[str, str | None], str]] = [
    ({"propery": "shop"}, "unknown report parameter 'propery': expected one of property"),
    ({"sinec": "24h"}, "abandon_after; did you mean 'since'?"),  # the nearest name, when one is close
    ({"xyz": "1"}, "leave it out or check its spelling"),
    ({"by": "year"}, "expected --by day, week or month, got 'year'"),
    ({"since": "yesterday"}, "expected a time such as 2026-11-23"),
    ({"since": "2026-11-02", "until": "2026-11-01"}, "expected --since before --until"),
    ({"since": "2026-11-01", "until": "2026-11-01"}, "expected --since before --until"),
    ({"window": "0h"}, "expected a positive --window"),
    ({"window": "soon"}, "expected a duration such as 30m, 24h or 7d, got 'soon'"),
    ({"abandon_after": "1y"}, "expected a duration such as 30m"),
    ({"include": "paid"}, "expected --include to name pending or canceled, got 'paid'"),
    ({"steps": " , "}, "expected at least one funnel step"),
    ({"steps": ""}, "expected at least one funnel step"),  # it fell back to the default steps, silently
    ({"steps": "  "}, "expected at least one funnel step"),
    # bounds: what one request may cost the shared store (600 steps took 8.4 s)
    ({"steps": ",".join(f"s{n}" for n in range(600))}, f"expected at most {MAX_STEPS} funnel steps, got 600"),
    ({"steps": ",".join(f"s{n}" for n in range(MAX_STEPS + 1))}, f"got {MAX_STEPS + 1}"),
    ({"steps": "x" * (MAX_STEP_NAME + 1)}, f"expected funnel steps of at most {MAX_STEP_NAME} characters"),
    ({"window": "999999999d"}, f"expected --window of at most {MAX_DURATION.days}d, got 999999999d"),
    ({"window": f"{MAX_DURATION.days + 1}d"}, "expected --window of at most"),
    ({"abandon_after": "99999999d"}, f"expected --abandon-after of at most {MAX_DURATION.days}d"),
    ({"until": "0001-01-01"}, "expected --until later than --abandon-after after the year 1"),
    (
        {"since": "0001-01-01", "until": "9999-01-01", "by": "day"},
        "expected at most 3660 periods of --by day",
    ),
    ({"since": "1900-01-01", "until": "2026-01-01", "by": "week"}, "use a longer period or a shorter range"),
]


@pytest.mark.parametrize(("values", "message"), BAD)
def test_parse_refuses(values: dict[str, str | None], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(values, now=NOW)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("since", "until"), [("7d", "7d"), ("1d", "2d"), ("24h", "1d"), ("2026-11-02", "2026-11-02T00:00:00Z")]
)
def test_ages_count_back_from_one_now_so_an_empty_range_is_refused(since: str, until: str) -> None:
    # without a fixed now, --since 7d --until 7d read the clock twice: a range of a few
    # microseconds, answered with nothing
    with pytest.raises(UsageError) as caught:
        parse({"since": since, "until": until})
    message = str(caught.value)
    assert message.startswith("expected --since before --until, got "), message
    assert "(--since 7d --until 1d)" in message


def test_one_now_is_kept_for_the_carts_end() -> None:
    before = datetime.now(UTC)
    p = parse({"since": "7d"})
    assert p.now is not None and before <= p.now <= datetime.now(UTC)
    assert p.since == p.now - timedelta(days=7)


@pytest.mark.parametrize(
    ("values", "own", "expected"),
    [
        (
            {},
            {"gifts": ("view_step", "purchase")},
            {"gifts": ("view_step", "purchase"), "shop": DEFAULT_STEPS},
        ),
        ({}, None, {"gifts": DEFAULT_STEPS, "shop": DEFAULT_STEPS}),
        ({"steps": "a,b"}, {"gifts": ("view_step", "purchase")}, {"gifts": ("a", "b"), "shop": ("a", "b")}),
    ],
    ids=["each-its-own", "none-configured", "steps-win"],
)
def test_each_property_has_its_steps_unless_steps_are_given(
    values: dict[str, str | None],
    own: dict[str, tuple[str, ...]] | None,
    expected: dict[str, tuple[str, ...]],
) -> None:
    p = parse(values, now=NOW, property_steps=own)
    assert {prop: p.steps_for(prop) for prop in expected} == expected


@pytest.mark.parametrize(
    ("own", "message"),
    [
        ({"gifts": ()}, "expected at least one funnel step"),
        (
            {"gifts": tuple(f"s{n}" for n in range(MAX_STEPS + 1))},
            f"expected at most {MAX_STEPS} funnel steps",
        ),
        ({"gifts": ("x" * (MAX_STEP_NAME + 1),)}, f"of at most {MAX_STEP_NAME} characters"),
    ],
    ids=["none", "too-many", "too-long"],
)
def test_property_steps_are_bounded_as_steps_are(own: dict[str, tuple[str, ...]], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse({}, now=NOW, property_steps=own)
    assert message in str(caught.value)


def test_defaults_and_excluded_statuses() -> None:
    p = ReportParams()
    assert (p.window, p.abandon_after) == (timedelta(days=30), timedelta(hours=24))
    assert p.excluded == ["pending", "canceled"]
    assert ReportParams(include=("canceled",)).excluded == ["pending"]
    assert DEFAULT_STEPS[0] == "view_item_list" and DEFAULT_STEPS[-1] == "purchase"


@pytest.mark.parametrize(
    ("by", "sql"),
    [
        (None, "CAST(NULL AS DATE)"),
        ("day", "CAST(make_timestamp(epoch_us(ts)) AS DATE)"),
        ("month", "CAST(date_trunc('month', make_timestamp(epoch_us(ts))) AS DATE)"),
    ],
)
def test_period_sql(by: str | None, sql: str) -> None:
    assert period(ReportParams(by=by), "ts") == sql


def test_where_binds_every_value() -> None:
    since, until = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 8, tzinfo=UTC)
    cond, values = where(ReportParams(property="shop", since=since, until=until), "ts")
    assert cond == " AND property = ? AND ts >= ? AND ts < ?"
    assert values == ["shop", since, until]
    assert where(ReportParams(property="shop", since=since), None, prop="o.property") == (
        " AND o.property = ?",
        ["shop"],
    )


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (1, 3, Decimal("0.3333")),
        (2, 3, Decimal("0.6667")),
        (Decimal("0.00005"), 1, Decimal("0.0000")),  # half-even: down to the even digit
        (Decimal("0.00015"), 1, Decimal("0.0002")),
        (5, 0, None),
        (None, 2, None),
        (0, 4, Decimal("0.0000")),
    ],
)
def test_ratio_rounds_half_even(
    a: Decimal | int | None, b: Decimal | int | None, expected: Decimal | None
) -> None:
    assert ratio(a, b) == expected
    if expected is not None:
        assert str(ratio(a, b)) == str(expected)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("16.000000000"), "16"),
        (Decimal("16.500000000"), "16.5"),
        (Decimal("0E-9"), "0"),
        (None, "None"),
    ],
)
def test_tidy(value: Decimal | None, text: str) -> None:
    assert str(tidy(value)) == text
