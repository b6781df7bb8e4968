"""trackway.destinations.select: which events go to a destination, what identifiers leave."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import pytest

import trackway
from tests.privacy.examples import MISSING, PLACES
from trackway.destinations.select import CONSENT, DIALECT, NAME, Selection, select, strip_identifiers
from trackway.errors import ConfigError
from trackway.model import Event, to_builtins
from trackway.privacy.prepare import PrivacySettings, prepare


def _event(name: str = "purchase", dialect: str = "ga4-mp", **kw: object) -> Event:
    return Event(name=name, dialect=dialect, id=f"{name}-{dialect}", anonymous_id="a1", **kw)  # type: ignore[arg-type]


def _prepared(consent: dict[str, object] | None, default: str = "granted") -> Event:
    event = _event(consent=consent)
    prepare(event, PrivacySettings(consent_default=default))
    return event


GRANTED = {"ad_storage": "granted", "analytics_storage": "granted"}
DENIED = {"ad_storage": "denied", "analytics_storage": "denied"}

# (selection, event, expected reason or None when chosen)
CASES = [
    (Selection(), _event(), None),
    (Selection(names=frozenset({"purchase"})), _event(), None),
    (Selection(names=frozenset({"purchase", "refund"})), _event("page_view"), NAME),
    (Selection(dialects=frozenset({"ga4-mp"})), _event(), None),
    (Selection(dialects=frozenset({"gtag-ga4"})), _event(), DIALECT),
    (Selection(names=frozenset({"refund"}), dialects=frozenset({"gtag-ga4"})), _event(), NAME),
    (Selection(consent="marketing"), _prepared(GRANTED), None),
    (Selection(consent="marketing"), _prepared(DENIED), CONSENT),
    (Selection(consent="analytics"), _prepared(None, default="granted"), None),
    (Selection(consent="analytics"), _prepared(None, default="denied"), CONSENT),
    (Selection(consent="analytics"), _event(consent={"ad_storage": "granted"}), CONSENT),  # never prepared
    (Selection(consent="analytics"), _event(), CONSENT),
    (Selection(consent="analytics"), _event(consent={"purposes": {"analytics": "yes"}}), CONSENT),
]


@pytest.mark.parametrize(("selection", "event", "reason"), CASES)
def test_select_one(selection: Selection, event: Event, reason: str | None) -> None:
    chosen, skipped = select([event], selection)
    if reason is None:
        assert chosen == [event]
        assert skipped == []
    else:
        assert chosen == []
        assert [(s.event, s.reason) for s in skipped] == [(event, reason)]
        assert skipped[0].message  # says what was expected


def test_select_keeps_order_and_splits_every_event_once() -> None:
    events = [_event(n, d) for n in ("purchase", "page_view", "refund") for d in ("ga4-mp", "gtag-ga4")]
    chosen, skipped = select(
        events, Selection(names=frozenset({"purchase", "refund"}), dialects=frozenset({"ga4-mp"}))
    )
    assert [e.id for e in chosen] == ["purchase-ga4-mp", "refund-ga4-mp"]
    assert sorted([*(e.id for e in chosen), *(s.event.id for s in skipped)]) == sorted(e.id for e in events)


def test_consent_message_names_the_purpose_and_path() -> None:
    _, skipped = select([_prepared(DENIED)], Selection(consent="marketing"))
    assert "'marketing'" in skipped[0].message
    assert "consent.purposes.marketing" in skipped[0].message


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"consent": "ads"}, "consent"),
        ({"identifiers": "encrypt"}, "identifiers"),
        ({"names": "purchase"}, "names"),
        ({"dialects": frozenset({""})}, "dialects"),
        ({"names": [1]}, "names"),
    ],
)
def test_bad_selection(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError, match=f"selection {field}: expected .*, got .*fix it"):
        Selection(**kwargs)  # type: ignore[arg-type]


def test_selection_takes_lists() -> None:
    selection = Selection(names=["purchase"], dialects=("ga4-mp",))  # type: ignore[arg-type]
    assert selection.names == frozenset({"purchase"})
    assert selection.dialects == frozenset({"ga4-mp"})


EMAIL, PHONE = " Ann@Example.COM ", "+33 6 12 34 56 78"
USER = {"email": EMAIL, "phone": PHONE, "first_name": "Ann"}
USER_DATA = {"sha256_email_address": ["ab" * 32]}


@pytest.mark.parametrize(
    ("policy", "user", "has_user_data"),
    [
        ("keep", USER, True),
        (
            "hash",
            {
                "first_name": "Ann",
                "email_md5": hashlib.md5(b"ann@example.com").hexdigest(),
                "email_sha256": hashlib.sha256(b"ann@example.com").hexdigest(),
                "phone_md5": hashlib.md5(b"+33612345678").hexdigest(),
                "phone_sha256": hashlib.sha256(b"+33612345678").hexdigest(),
            },
            True,
        ),
        ("drop", {"first_name": "Ann"}, False),
    ],
)
def test_strip_identifiers(policy: str, user: dict[str, object], has_user_data: bool) -> None:
    event = _event(user=dict(USER), context={"ip": "203.0.113.0", "user_data": USER_DATA})
    before = copy.deepcopy(event)
    out = strip_identifiers(event, policy)
    assert event == before  # the original is untouched
    assert out.user == user
    assert ("user_data" in (out.context or {})) is has_user_data
    assert out.context is not None and out.context["ip"] == "203.0.113.0"
    assert (out.name, out.id, out.anonymous_id) == (event.name, event.id, event.anonymous_id)


def test_strip_identifiers_without_user() -> None:
    event = _event()
    assert strip_identifiers(event, "drop") == event


@pytest.mark.parametrize(
    ("policy", "kw", "copied"),
    [
        ("keep", {"user": dict(USER), "context": {"user_data": USER_DATA}}, False),
        ("hash", {}, False),
        ("drop", {"context": {"ip": "203.0.113.0"}}, False),
        ("hash", {"user": dict(USER)}, True),
        ("drop", {"context": {"user_data": USER_DATA}}, True),
    ],
)
def test_strip_identifiers_copies_only_what_it_changes(policy: str, kw: dict[str, Any], copied: bool) -> None:
    event = _event(**kw)
    assert (strip_identifiers(event, policy) is not event) is copied


def test_strip_identifiers_bad_policy() -> None:
    with pytest.raises(ConfigError, match="identifiers: expected 'keep', 'hash' or 'drop', got 'clear'"):
        strip_identifiers(_event(), "clear")


@pytest.mark.parametrize("policy", ["keep", "hash", "drop"])
@pytest.mark.parametrize(("case", "dialect", "payload", "path", "stored"), PLACES, ids=[p[0] for p in PLACES])
def test_a_destination_gets_each_place_as_its_identifiers_policy_says(
    case: str, dialect: str, payload: Any, path: tuple[str, ...], stored: dict[str, Any], policy: str
) -> None:
    """A property that keeps identifiers; a destination that hashes or drops them gets no
    plain email or phone from any place (the same rules as the collector's)."""
    event = trackway.decode(dialect, payload).events[0]
    prepare(event, PrivacySettings(identifiers="keep"))
    before = copy.deepcopy(event)
    out = strip_identifiers(event, policy)
    assert event == before
    value: Any = to_builtins(out)
    for key in path:
        value = value.get(key, MISSING) if isinstance(value, dict) else MISSING
    assert value == stored[policy]
