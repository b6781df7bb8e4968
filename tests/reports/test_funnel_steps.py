"""Funnels defined per property: the ``funnel_steps`` setting, and the funnel report that
uses each property's steps unless ``--steps`` names others (issue 13, section 6)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.reports.conftest import END, Loaded
from tests.reports.reference import Params, sort_rows
from trackway import config as configuration
from trackway import reports
from trackway.demo.catalog import KOALECT_FUNNEL_STEPS
from trackway.errors import ConfigError
from trackway.reports import ReportParams
from trackway.reports.params import DEFAULT_STEPS
from trackway.settings import MAX_FUNNEL_STEPS

SHORT = ("view_item_list", "purchase")  # both sites send both


def _rows(sections: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return sort_rows(sections["steps"])


@pytest.mark.parametrize(
    ("kw", "want"),
    [
        ({}, {"shop": DEFAULT_STEPS, "donations": KOALECT_FUNNEL_STEPS}),
        ({"property": "donations"}, {"donations": KOALECT_FUNNEL_STEPS}),
        ({"property": "shop"}, {"shop": DEFAULT_STEPS}),
        ({"steps": SHORT}, {"shop": SHORT, "donations": SHORT}),  # --steps: every property
        ({"by": "day"}, {"shop": DEFAULT_STEPS, "donations": KOALECT_FUNNEL_STEPS}),
    ],
    ids=["each-its-own", "donations-only", "shop-only", "steps-given", "by-day"],
)
def test_each_property_has_its_funnel_as_the_reference_computes_it(
    small: Loaded, kw: dict[str, Any], want: dict[str, tuple[str, ...]]
) -> None:
    got = reports.run(
        small.store, "funnel", ReportParams(now=END, property_steps={"donations": KOALECT_FUNNEL_STEPS}, **kw)
    )
    expected = []
    for prop, steps in want.items():
        rows = small.reference.report(
            "funnel", Params(**{**kw, "property": prop, "steps": steps, "now": END})
        )
        assert rows["steps"], f"the reference has no {prop} funnel: the case tests nothing"
        expected += rows["steps"]
    assert _rows(got) == sort_rows(expected)
    for prop, steps in want.items():  # the rows name each property's steps, in order
        first = next(r["period"] for r in got["steps"] if r["property"] == prop)
        mine = [r for r in got["steps"] if (r["property"], r["period"]) == (prop, first)]
        assert tuple(r["name"] for r in mine) == steps, prop


def test_rows_come_by_period_then_property_each_in_step_order(small: Loaded) -> None:
    got = reports.run(
        small.store,
        "funnel",
        ReportParams(by="day", now=END, property_steps={"donations": KOALECT_FUNNEL_STEPS}),
    )["steps"]
    keys = [(r["period"], r["property"]) for r in got]
    assert keys == sorted(keys)
    for key in set(keys):
        steps = [r["step"] for r in got if (r["period"], r["property"]) == key]
        assert steps == list(range(1, len(steps) + 1))


def test_the_koalect_funnel_of_the_donations_site_goes_past_its_first_step(small: Loaded) -> None:
    """The shop's steps given to a donations site as --steps stop at step 1 (it sends no
    view_item); its own do not."""
    shop_steps = reports.run(
        small.store, "funnel", ReportParams(property="donations", now=END, steps=DEFAULT_STEPS)
    )
    assert [r["people"] for r in shop_steps["steps"]][1:] == [0] * (len(DEFAULT_STEPS) - 1)
    own = reports.run(
        small.store,
        "funnel",
        ReportParams(property="donations", now=END, property_steps={"donations": KOALECT_FUNNEL_STEPS}),
    )["steps"]
    assert [r["name"] for r in own] == list(KOALECT_FUNNEL_STEPS)
    assert all(r["people"] > 0 for r in own)


def _sent(small: Loaded, prop: str) -> set[str]:
    rows = (
        small.store.cursor().execute("SELECT DISTINCT name FROM events WHERE property = ?", [prop]).fetchall()
    )
    return {name for (name,) in rows}


@pytest.mark.parametrize("prop", ["shop", "donations"])
def test_the_default_steps_are_the_shops_less_those_the_property_never_sends(
    small: Loaded, prop: str
) -> None:
    """A property left with the shop's steps gets those it sends (a Universal Analytics
    shop sends no add_payment_info; a donations site no view_item), so that its funnel does
    not stop at a step it never reaches. Steps given (--steps) are kept as they are."""
    sent = _sent(small, prop)
    steps = tuple(s for s in DEFAULT_STEPS if s in sent)
    assert steps != DEFAULT_STEPS or prop == "shop", "the case tests nothing"
    got = reports.run(small.store, "funnel", ReportParams(property=prop, now=END))["steps"]
    want = small.reference.report("funnel", Params(property=prop, steps=steps, now=END))["steps"]
    assert _rows({"steps": got}) == sort_rows(want)
    assert [r["name"] for r in got][: len(steps)] == list(steps)
    assert got[-1]["people"] > 0  # past the steps it never sends
    given = reports.run(small.store, "funnel", ReportParams(property=prop, now=END, steps=DEFAULT_STEPS))[
        "steps"
    ]
    assert [r["name"] for r in given][: len(DEFAULT_STEPS)] == list(DEFAULT_STEPS)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('["view_step", "purchase"]', ("view_step", "purchase")),
        ('[" view_step ", "purchase"]', ("view_step", "purchase")),
        ('"view_step, purchase"', ("view_step", "purchase")),  # text: comma-separated, as from env:
        (None, DEFAULT_STEPS),  # not written: a shop's
    ],
)
def test_the_setting_is_read(tmp_path: Path, value: str | None, expected: tuple[str, ...]) -> None:
    path = tmp_path / "trackway.toml"
    configuration.add_property(path, "gifts")
    if value is not None:
        path.write_text(path.read_text() + f"funnel_steps = {value}\n")
    cfg = configuration.load(path)
    assert cfg.properties["gifts"].funnel_steps == expected
    assert cfg.funnel_steps() == {"gifts": expected}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[]", "expected at least one funnel step"),
        ('["view_step", 3]', "expected funnel steps as event names (non-empty strings), got 3"),
        ('["view_step", " "]', "expected funnel steps as event names (non-empty strings), got ' '"),
        ("{ step = 1 }", "expected list, got {'step': 1}"),
        (repr([f"s{n}" for n in range(MAX_FUNNEL_STEPS + 1)]), f"expected at most {MAX_FUNNEL_STEPS} funnel"),
        (f'["{"x" * 101}"]', "expected funnel steps of at most 100 characters"),
    ],
    ids=["empty", "a-number", "blank", "a-table", "too-many", "too-long"],
)
def test_a_bad_setting_says_where_and_how_to_fix_it(tmp_path: Path, value: str, message: str) -> None:
    path = tmp_path / "trackway.toml"
    configuration.add_property(path, "gifts")
    path.write_text(path.read_text() + f"funnel_steps = {value}\n")
    with pytest.raises(ConfigError) as caught:
        configuration.load(path)
    assert "properties.gifts.funnel_steps" in str(caught.value)
    assert message in str(caught.value)


def test_a_property_added_with_its_steps_keeps_them(tmp_path: Path) -> None:
    path = tmp_path / "trackway.toml"
    prop = configuration.add_property(
        path, "gifts", "EUR", settings={"funnel_steps": list(KOALECT_FUNNEL_STEPS)}
    )
    assert prop.funnel_steps == KOALECT_FUNNEL_STEPS
    assert configuration.add_property(path, "shop").funnel_steps == DEFAULT_STEPS
    assert "funnel_steps" not in path.read_text().split("[properties.shop]")[1]  # defaults are not written


def test_the_environment_form_is_a_comma_separated_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "trackway.toml"
    configuration.add_property(path, "gifts")
    path.write_text(path.read_text() + 'funnel_steps = "env:GIFT_STEPS"\n')
    monkeypatch.setenv("GIFT_STEPS", "view_step, purchase")
    assert configuration.load(path).properties["gifts"].funnel_steps == ("view_step", "purchase")
