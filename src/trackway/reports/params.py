"""What a report is asked for, and the SQL pieces every report shares."""

from __future__ import annotations

import builtins
import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any

from trackway.errors import UsageError
from trackway.settings import MAX_FUNNEL_STEPS, SHOP_FUNNEL_STEPS, funnel_steps_problem
from trackway.settings import MAX_STEP_NAME as MAX_STEP_NAME  # re-exported: the bound on --steps
from trackway.timeparse import parse_duration, parse_time

if TYPE_CHECKING:
    import duckdb

PERIODS = ("day", "week", "month")
DEFAULT_STEPS = SHOP_FUNNEL_STEPS  # a property's funnel_steps unless its configuration says otherwise
EXCLUDED_STATUSES = ("pending", "canceled")
# Bounds on what a report may ask (any admin token can ask, and the store is shared):
# funnel steps are bounded where the setting is declared (trackway.settings); a window or
# age past datetime's range overflowed into a 500.
MAX_STEPS = MAX_FUNNEL_STEPS
MAX_DURATION = timedelta(days=3660)  # --window, --abandon-after: ten years
MAX_PERIODS = 3660  # --by periods between --since and --until (ten years of days)
_PERIOD_DAYS = {"day": 1, "week": 7, "month": 28}
_PLACES = Decimal("0.0001")
Sections = dict[str, list[dict[str, Any]]]  # a report: section name -> rows


@dataclass(frozen=True)
class ReportParams:
    property: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    by: str | None = None  # day, week, month
    steps: tuple[str, ...] | None = None  # funnel steps for every property (--steps)
    # funnel steps of each property without --steps (its funnel_steps setting); others: DEFAULT_STEPS
    property_steps: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    window: timedelta = timedelta(days=30)  # funnel: step 1 to the last step
    include: tuple[str, ...] = ()  # statuses of EXCLUDED_STATUSES to count anyway
    abandon_after: timedelta = timedelta(hours=24)  # carts
    now: datetime | None = None  # the end of the range when there is no until (tests fix it)

    def __post_init__(self) -> None:
        if self.by is not None and self.by not in PERIODS:
            raise UsageError(f"expected --by day, week or month, got {self.by!r}")
        if self.steps is not None:
            _check_steps(self.steps)
        for steps in self.property_steps.values():
            _check_steps(steps)
        if self.since is not None and self.until is not None:
            if self.since >= self.until:
                raise UsageError(
                    f"expected --since before --until, got {self.since:%Y-%m-%d %H:%M:%S} UTC and "
                    f"{self.until:%Y-%m-%d %H:%M:%S} UTC; an age such as 7d counts back from now, so "
                    "the start is the larger age (--since 7d --until 1d)"
                )
            if self.by is not None:
                periods = (self.until - self.since) // timedelta(days=_PERIOD_DAYS[self.by])
                if periods > MAX_PERIODS:
                    raise UsageError(
                        f"expected at most {MAX_PERIODS} periods of --by {self.by} between --since and "
                        f"--until, got about {periods}; use a longer period or a shorter range"
                    )
        if self.window <= timedelta(0):
            raise UsageError(f"expected a positive --window, got {self.window}")
        for name, value in (("--window", self.window), ("--abandon-after", self.abandon_after)):
            if value > MAX_DURATION:
                raise UsageError(f"expected {name} of at most {MAX_DURATION.days}d, got {value.days}d")
        if self.abandon_after < timedelta(0):
            raise UsageError(f"expected a --abandon-after of 0 or more, got {self.abandon_after}")
        end = self.until or self.now
        if end is not None and end - datetime.min.replace(tzinfo=end.tzinfo) <= self.abandon_after:
            raise UsageError(
                f"expected --until later than --abandon-after after the year 1, got {end} and "
                f"{self.abandon_after.days}d"
            )

    @builtins.property  # the field `property` hides the builtin here
    def excluded(self) -> list[str]:
        return [s for s in EXCLUDED_STATUSES if s not in self.include]

    def steps_for(self, prop: str) -> tuple[str, ...]:
        """The funnel steps of ``prop``: --steps, else the property's own, else DEFAULT_STEPS."""
        return self.steps or self.property_steps.get(prop) or DEFAULT_STEPS


def _check_steps(steps: tuple[str, ...]) -> None:
    problem = funnel_steps_problem(steps)
    if problem is not None:
        raise UsageError(problem)


FIELDS = ("property", "since", "until", "by", "steps", "window", "include", "abandon_after")


def refuse_unknown(given: Iterable[str], known: Sequence[str], what: str = "report parameter") -> None:
    """A :class:`UsageError` naming the first of ``given`` that is not in ``known``, with
    the known names (and the nearest, when one is close): a misspelt parameter was
    ignored where nothing checked, and the answer covered what was not asked for.
    Shared by the reports (CLI and API) and ``/api/export``."""
    unknown = sorted(set(given) - set(known))
    if not unknown:
        return
    near = difflib.get_close_matches(unknown[0], known, n=1)
    fix = f"did you mean {near[0]!r}?" if near else "leave it out or check its spelling"
    raise UsageError(f"unknown {what} {unknown[0]!r}: expected one of {', '.join(known)}; {fix}")


def parse(
    values: Mapping[str, str | None],
    *,
    now: datetime | None = None,
    property_steps: Mapping[str, tuple[str, ...]] | None = None,
) -> ReportParams:
    """Report parameters from text (CLI options, a query string); unknown names are refused.
    ``property_steps``: each property's funnel steps from its configuration
    (:meth:`trackway.config.Config.funnel_steps`), used where ``steps`` is not given.
    Ages (``7d``) count back from one ``now`` (default: the clock, read once: ``--since 7d
    --until 7d`` read it twice, a range of a few microseconds, and answered nothing)."""
    refuse_unknown(values, FIELDS)
    now = now if now is not None else datetime.now(UTC)
    v = {k: x.strip() for k, x in values.items() if x is not None and x.strip()}
    include = tuple(dict.fromkeys(x.strip() for x in v.get("include", "").split(",") if x.strip()))
    for status in include:
        if status not in EXCLUDED_STATUSES:
            raise UsageError(
                f"expected --include to name {' or '.join(EXCLUDED_STATUSES)}, got {status!r}; "
                "other statuses are always counted"
            )
    given = values.get("steps")
    if given is not None and not given.strip():  # it fell back to the default steps, silently
        _check_steps(())
    steps = tuple(x.strip() for x in v["steps"].split(",") if x.strip()) if "steps" in v else None
    kw: dict[str, Any] = {
        "property": v.get("property"),
        "since": parse_time(v["since"], now=now) if "since" in v else None,
        "until": parse_time(v["until"], now=now) if "until" in v else None,
        "by": v.get("by"),
        "steps": steps,
        "property_steps": dict(property_steps or {}),
        "include": include,
        "now": now,
    }
    for name in ("window", "abandon_after"):
        if name in v:
            kw[name] = parse_duration(v[name])
    return ReportParams(**kw)


def period(params: ReportParams, column: str) -> str:
    """SQL for the period a time falls in (the DATE it starts, UTC), or NULL without --by.
    A date groups far faster than text; :func:`fetch` writes it as ``YYYY-MM-DD``."""
    if params.by is None:
        return "CAST(NULL AS DATE)"
    # date_trunc on a TIMESTAMPTZ goes through the time zone machinery (5x slower on
    # 10M rows); from the epoch, the same UTC instant as a plain TIMESTAMP is cheap.
    utc = f"make_timestamp(epoch_us({column}))"
    if params.by == "day":
        return f"CAST({utc} AS DATE)"
    return f"CAST(date_trunc('{params.by}', {utc}) AS DATE)"


def where(params: ReportParams, time: str | None, *, prop: str = "property") -> tuple[str, list[Any]]:
    """SQL conditions (joined by AND, with a leading AND) for the property and the range on ``time``."""
    clauses: list[str] = []
    values: list[Any] = []
    if params.property is not None:
        clauses.append(f"{prop} = ?")
        values.append(params.property)
    if time is not None and params.since is not None:
        clauses.append(f"{time} >= ?")
        values.append(params.since)
    if time is not None and params.until is not None:
        clauses.append(f"{time} < ?")
        values.append(params.until)
    return "".join(f" AND {c}" for c in clauses), values


def fetch(cur: duckdb.DuckDBPyConnection, query: str, values: list[Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = cur.sql(query, params=values).to_arrow_table().to_pylist()
    for row in rows:
        if isinstance(when := row.get("period"), date):
            row["period"] = when.isoformat()
    return rows


def ratio(a: Decimal | int | None, b: Decimal | int | None) -> Decimal | None:
    """a / b rounded half-even to 4 places; None when b is 0 or missing."""
    if a is None or not b:
        return None
    return (Decimal(a) / Decimal(b)).quantize(_PLACES, rounding=ROUND_HALF_EVEN)


def tidy(value: Decimal | None) -> Decimal | None:
    """DECIMAL(38, 9) values without their trailing zeros (16.000000000 -> 16)."""
    if value is None:
        return None
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()
