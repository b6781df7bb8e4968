"""Untidy but meaningful input (issue 13, section 4): where one reading is clearly meant,
the value is normalised, the event kept, and a VALUE_NORMALISED warning says so; the
rest of the pipeline (identity stitching) gets the normalised value."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

import trackway
from trackway.state.engine import apply
from trackway.state.memory import MemoryState

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def post(data: dict, visitor_uid: str = "", guest_uid: str = "g-7f3a") -> dict:
    """A Convead POST /watch/event body (form fields: every value a string)."""
    return {"app_key": "k-1", "visitor_uid": visitor_uid, "guest_uid": guest_uid, "data": json.dumps(data)}


def stored(decoded: trackway.Decoded, n: int) -> list[trackway.Event]:
    """The accepted events as the collector stores them: an id, a property, a time."""
    out = []
    for k, event in enumerate(decoded.accepted()):
        event.id, event.property, event.received_at = f"e{n}-{k}", "shop", AT.replace(minute=n)
        out.append(event)
    return out


@pytest.mark.parametrize("dialect", ["convead", "insend"])
def test_an_update_info_with_a_spaced_email_links_the_guest_to_the_registered_visitor(dialect):
    guest_view = post({"type": "view_product", "properties": {"product_id": "42"}})
    update = post(
        {"type": "update_info", "properties": {}, "visitor_info": {"email": " Jane.Doe@Example.org "}},
        visitor_uid="jane-doe-17",
    )
    first, second = trackway.decode(dialect, guest_view), trackway.decode(dialect, update)
    assert first.valid and second.valid, second.issues
    assert [(i.path, i.code) for i in second.issues] == [("$.data.visitor_info.email", "VALUE_NORMALISED")]
    [event] = second.events
    assert event.user == {"email": "Jane.Doe@example.org"}
    assert (event.anonymous_id, event.user_id) == ("g-7f3a", "jane-doe-17")

    state = MemoryState()
    guest = apply(state, stored(first, 0)[0], 0)
    person = apply(state, stored(second, 1)[0], 1)
    assert person == guest  # the guest's earlier view belongs to the registered visitor
    assert state.identities[("shop", "user", "jane-doe-17")].person_id == guest
    assert [(link.anonymous_id, link.user_id) for link in state.links] == [("g-7f3a", "jane-doe-17")]


def test_before_the_normalisation_the_same_update_was_rejected_and_linked_no_one():
    """The reason for section 4: with an error the event is not stored, so no link is made."""
    update = post(
        {"type": "update_info", "visitor_info": {"email": "Jane.Doe at Example.org"}}, "jane-doe-17"
    )
    decoded = trackway.decode("convead", update)
    assert not decoded.valid and decoded.accepted() == []


def test_commanders_act_user_identifiers_are_read_normalised():
    body = {
        "event_name": "login",
        "method": "email",
        "user": {
            "id": "845454",
            "consistent_anonymous_id": "a-1",
            "email": "John.Doe@EXAMPLE.com ",
            "phone": "+33 6 12 34 56 78",
            "email_sha256": "836F82DB99121B3481011F16B49DFA5FBC714A0D1B1B9F784A1EBBBF5B39577F",
            "gender": "M",
            "consent_categories": [1, 3],
        },
        "context": {"event_id": "e-1", "event_timestamp": 1_700_000_000_000},
    }
    decoded = trackway.decode("commanders-act", body)
    assert decoded.valid
    assert sorted((i.path, i.code) for i in decoded.issues) == [
        ("$.user.email", "VALUE_NORMALISED"),
        ("$.user.email_sha256", "VALUE_NORMALISED"),
        ("$.user.gender", "VALUE_NORMALISED"),
        ("$.user.phone", "VALUE_NORMALISED"),
    ]
    [event] = decoded.events
    assert event.user == {
        "email": "John.Doe@example.com",
        "phone": "+33612345678",
        "email_sha256": "836f82db99121b3481011f16b49dfa5fbc714a0d1b1b9f784a1ebbbf5b39577f",
        "gender": "m",
    }
    out, _ = trackway.encode_with_issues("commanders-act", event)
    assert out["user"]["email"] == "John.Doe@example.com"  # rendered as read (documented normalisation)


def test_a_convead_phone_written_with_separators_is_read_in_e164():
    call = ["event", "update_info", {}, {"phone": "+7 (912) 345-67-89", "email": "ivan@example.ru"}]
    decoded = trackway.decode("convead", call)
    assert [(i.path, i.code) for i in decoded.issues] == [("$[3].phone", "VALUE_NORMALISED")]
    assert decoded.events[0].user == {"phone": "+79123456789", "email": "ivan@example.ru"}
