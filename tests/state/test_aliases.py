"""The browser tracker's vendor ids (``context["ids"]``) as other anonymous ids of the
event's person: the rules of trackway.state.identity._alias, case by case."""

from __future__ import annotations

import pytest

from tests.state.test_engine import ev, person_of, run
from trackway.state.identity import aliases


def tracked(anon, user=None, **ids):
    """An event from the browser tracker, carrying the device's vendor ids."""
    e = ev("page_view", anon, user)
    e.context = {"ids": ids}
    return e


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({"ids": {"b": "y", "a": "x"}}, ["x", "y"]),  # by name
        ({"ids": {"a": "undefined", "b": "", "c": "0"}}, []),  # placeholders are never ids
        ({"ids": {"a": "own"}}, []),  # the event's own anonymous id
        ({"ids": {"a": 5, "b": ["x"], "c": "z" * 201}}, []),
        ({"ids": ["x"]}, []),
        ({"ids": {"a": "x", "b": "x"}}, ["x"]),
        (None, []),
    ],
)
def test_aliases_read_only_usable_string_ids(context, expected):
    e = ev("page_view", "own")
    e.context = context
    assert aliases(e) == expected


def test_a_vendor_id_seen_first_joins_the_trackers_guest():
    state, people = run(tracked("tw1", convead_guest_uid="cv1"), ev("view_item", "cv1"))
    assert people[0] == people[1] == person_of(state, "anonymous", "cv1")


def test_a_vendor_channels_guest_seen_before_is_merged_into_the_trackers():
    state, people = run(ev("view_item", "cv1"), tracked("tw1", convead_guest_uid="cv1"))
    assert people[0] != people[1]  # two guests until the tracker saw both ids
    assert person_of(state, "anonymous", "cv1") == person_of(state, "anonymous", "tw1") == people[1]
    assert state.merges == [("shop", people[0], people[1])]


def test_a_guest_whose_vendor_id_belongs_to_a_user_joins_the_user():
    state, people = run(ev("login", "cv1", "alice"), tracked("tw1", convead_guest_uid="cv1"))
    assert people[1] == people[0] == person_of(state, "user", "alice") == person_of(state, "anonymous", "tw1")


def test_two_users_devices_are_never_merged_through_a_vendor_id():
    state, people = run(ev("login", "cv1", "alice"), tracked("tw1", "bob", convead_guest_uid="cv1"))
    assert people[0] != people[1]
    assert person_of(state, "anonymous", "cv1") == person_of(state, "user", "alice")
    assert person_of(state, "anonymous", "tw1") == person_of(state, "user", "bob")
