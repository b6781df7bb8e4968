"""trackway.destinations.configured and the destination edits of trackway.config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from trackway import config as configuration
from trackway.destinations import configured
from trackway.errors import ConfigError

SECRET = "whsec_Very-Secret-42"
HOOK = {"type": "webhook", "url": "https://hook.example/in", "secret": SECRET}


@pytest.fixture
def path(tmp_path: Path) -> Path:
    p = tmp_path / "trackway.toml"
    configuration.add_property(p, "shop")
    return p


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (
            HOOK,
            {
                "type": "webhook",
                "names": frozenset(),
                "consent": None,
                "identifiers": "hash",
                "paused": False,
            },
        ),
        (
            {**HOOK, "events": ["purchase"], "consent": "marketing", "identifiers": "drop", "paused": True},
            {"names": frozenset({"purchase"}), "consent": "marketing", "identifiers": "drop", "paused": True},
        ),
        ({**HOOK, "events": "purchase, refund"}, {"names": frozenset({"purchase", "refund"})}),
        ({**HOOK, "max_age_s": 60}, {"max_age_s": 60.0}),
        (HOOK, {"in_flight": 1}),
        ({**HOOK, "in_flight": 8}, {"in_flight": 8}),
        ({**HOOK, "in_flight": 64}, {"in_flight": 64}),
        (
            {"type": "ga4", "measurement_id": "G-1", "api_secret": "s3cr3t-value"},
            {"type": "ga4", "options": {"measurement_id": "G-1", "api_secret": "s3cr3t-value"}},
        ),
    ],
)
def test_good_tables(table: dict[str, Any], expected: dict[str, Any]) -> None:
    d = configured.one("shop", "out", table)
    got = {
        "type": d.type,
        "names": d.selection.names,
        "consent": d.selection.consent,
        "identifiers": d.selection.identifiers,
        "paused": d.paused,
        "max_age_s": d.policy.max_age_s,
        "in_flight": d.in_flight,
        "options": dict(d.options),
    }
    assert {k: got[k] for k in expected} == expected
    assert d.id == "shop.out"


@pytest.mark.parametrize(
    ("table", "says"),
    [
        ({}, "type: expected one of"),
        ({"type": "carrier-pigeon"}, "unknown destination type 'carrier-pigeon'"),
        ({"type": "webhook", "secret": SECRET}, "option url"),
        ({**HOOK, "colour": "blue"}, "got colour"),
        ({**HOOK, "events": [1]}, "events: expected a list of names"),
        ({**HOOK, "consent": "astrology"}, "consent"),
        ({**HOOK, "identifiers": "shout"}, "identifiers"),
        ({**HOOK, "paused": "yes"}, "paused: expected true or false"),
        ({**HOOK, "max_age_s": "1d"}, "max_age_s: expected a number"),
        ({**HOOK, "max_age_s": 0}, "max_age_s"),
        ({**HOOK, "in_flight": 0}, "in_flight: expected a whole number of requests from 1 to 64, got 0"),
        ({**HOOK, "in_flight": 65}, "got 65; 1 keeps the destination's order exactly"),
        ({**HOOK, "in_flight": "8"}, "in_flight: expected a whole number"),
        ({**HOOK, "in_flight": 2.5}, "in_flight: expected a whole number"),
        ({**HOOK, "in_flight": True}, "in_flight: expected a whole number"),
        ("webhook", "expected a table"),
        (
            {"type": "ga4", "measurement_id": "G-1", "api_secret": SECRET, "failed": True},
            "only webhook carries",
        ),
        ({**HOOK, "failed": "yes"}, "failed: expected true or false"),
        # GA4's policy forbids personal data: "keep" sent a plain email as the user id and in user_data
        (
            {"type": "ga4", "measurement_id": "G-1", "api_secret": SECRET, "identifiers": "keep"},
            "GA4's policy forbids personal data",
        ),
    ],
)
def test_bad_tables_say_what_and_quote_no_secret(table: Any, says: str) -> None:
    with pytest.raises(ConfigError, match=None) as info:
        configured.one("shop", "out", table)
    assert says in str(info.value)
    assert SECRET not in str(info.value)


def test_env_values_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    d = configured.one("shop", "out", {**HOOK, "secret": "env:HOOK_SECRET"})
    assert d.options["secret"] == SECRET
    assert d.shown_options()["secret"] == "<secret>"
    assert d.secrets() == [SECRET]


# (sending, the variable set) -> the secret read, the variables left unset, or the error
UNSET_ENV = [
    (True, True, SECRET, ()),
    (False, True, SECRET, ()),
    (False, False, "env:HOOK_SECRET", ("HOOK_SECRET",)),
    (True, False, None, None),
]


@pytest.mark.parametrize(("sending", "is_set", "secret", "unset"), UNSET_ENV)
def test_an_unset_env_option_fails_only_where_the_destination_sends(
    monkeypatch: pytest.MonkeyPatch,
    sending: bool,
    is_set: bool,
    secret: str | None,
    unset: tuple[str, ...] | None,
) -> None:
    # a command that only reads the file (property list, report...) failed in any shell without
    # the server's variable: "expected the environment variable HOOK_SECRET to be set"
    if is_set:
        monkeypatch.setenv("HOOK_SECRET", SECRET)
    else:
        monkeypatch.delenv("HOOK_SECRET", raising=False)
    table = {**HOOK, "secret": "env:HOOK_SECRET"}
    if unset is None:
        with pytest.raises(ConfigError, match="HOOK_SECRET to be set"):
            configured.one("shop", "out", table, sending=sending)
        return
    d = configured.one("shop", "out", table, sending=sending)
    assert d.options["secret"] == secret and d.unset == unset
    assert d.shown_options()["secret"] == "<secret>"
    if unset:
        with pytest.raises(
            ConfigError, match=r"destination shop\.out: expected the environment variable HOOK_SECRET"
        ):
            d.require()
    else:
        d.require()


def test_a_file_error_never_quotes_a_destination_secret(path: Path) -> None:
    text = path.read_text() + f'\n[properties.shop.destinations.out]\ntype = "webhook"\nsecret = "{SECRET}"\n'
    with pytest.raises(ConfigError) as info:
        configuration.loads(text + f'url = "{SECRET}"\n', path)
    assert SECRET not in str(info.value)
    assert "[properties.shop.destinations.out]" in str(info.value)


def test_add_pause_resume_remove_keep_the_rest_of_the_file(path: Path) -> None:
    path.write_text(path.read_text() + "\n# kept: a comment written by hand\n")
    d = configuration.add_destination(path, "shop", "hook", HOOK)
    assert d.id == "shop.hook" and not d.paused
    configuration.add_destination(path, "shop", "other", {**HOOK, "url": "https://other.example/"})
    assert configuration.pause_destination(path, "shop", "hook", True).paused
    assert configuration.load(path).destinations()["shop.hook"].paused
    assert not configuration.load(path).destinations()["shop.other"].paused
    assert not configuration.pause_destination(path, "shop", "hook", False).paused
    configuration.remove_destination(path, "shop", "hook")
    cfg = configuration.load(path)
    assert sorted(cfg.destinations()) == ["shop.other"]
    assert "# kept: a comment written by hand" in cfg.text
    assert cfg.properties["shop"]["collect_key"]  # the property's keys are untouched


@pytest.mark.parametrize(
    ("call", "says"),
    [
        (lambda p: configuration.add_destination(p, "nope", "hook", HOOK), "property 'nope'"),
        (lambda p: configuration.add_destination(p, "shop", "Bad Name", HOOK), "destination name"),
        (lambda p: configuration.add_destination(p, "shop", "hook", {"type": "webhook"}), "option url"),
        (lambda p: configuration.remove_destination(p, "shop", "ghost"), "shop.ghost"),
        (lambda p: configuration.pause_destination(p, "shop", "ghost", True), "shop.ghost"),
    ],
)
def test_bad_edits_write_nothing(path: Path, call: Any, says: str) -> None:
    before = path.read_text()
    with pytest.raises(ConfigError) as info:
        call(path)
    assert says in str(info.value)
    assert path.read_text() == before


def test_adding_the_same_name_twice_is_refused(path: Path) -> None:
    configuration.add_destination(path, "shop", "hook", HOOK)
    with pytest.raises(ConfigError, match="already exists"):
        configuration.add_destination(path, "shop", "hook", HOOK)
