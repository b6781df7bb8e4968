"""The identifiers policy beyond the traits (trackway.privacy.elsewhere), as the collector
applies it (prepare): every place an email or phone sits, under keep, hash and drop."""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import quote, quote_plus

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import trackway
from tests.privacy.examples import MISSING, NOT_IDENTIFIERS, PLACES, SENT_EMAIL, SENT_PHONE
from trackway.model import Event, to_builtins
from trackway.privacy import elsewhere
from trackway.privacy.pii import sha256_hex
from trackway.privacy.prepare import PrivacySettings, prepare

POLICIES = ("keep", "hash", "drop")


def decoded(dialect: str, payload: Any) -> Event:
    result = trackway.decode(dialect, payload, default_currency="EUR")
    assert result.valid, [i for i in result.issues if i.is_error]
    [event] = result.events
    return event


def at(event: Event, path: tuple[str, ...]) -> Any:
    value: Any = to_builtins(event)
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return MISSING
        value = value[key]
    return value


def plain_forms() -> list[str]:
    """The plain identifiers of the examples, in every form they may be stored in."""
    out = []
    for plain in (SENT_EMAIL, "mary@example.com", SENT_PHONE, "+33612345678"):
        out += [plain.lower(), quote(plain.lower(), safe=""), quote_plus(plain.lower())]
    return out


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize(("case", "dialect", "payload", "path", "stored"), PLACES, ids=[p[0] for p in PLACES])
def test_each_place_an_identifier_sits_is_stored_as_the_policy_says(
    case, dialect, payload, path, stored, policy
):
    event = decoded(dialect, payload)
    assert at(event, path) == stored["keep"]  # decoded where the case says
    prepare(event, PrivacySettings(identifiers=policy))
    assert at(event, path) == stored[policy]
    if policy != "keep":  # nothing plain is left anywhere in the event
        text = json.dumps(to_builtins(event), default=str).lower()
        assert not [f for f in plain_forms() if f in text]


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize(("case", "payload"), NOT_IDENTIFIERS, ids=[n[0] for n in NOT_IDENTIFIERS])
def test_values_that_name_no_one_are_stored_as_sent(case, payload, policy):
    event = decoded("gtm-ga4", payload)
    before = to_builtins(event)
    prepare(event, PrivacySettings(identifiers=policy))
    assert to_builtins(event)["properties"] == before["properties"]


@pytest.mark.parametrize(("case", "dialect", "payload", "path", "stored"), PLACES, ids=[p[0] for p in PLACES])
def test_a_cookieless_event_keeps_no_identifier_anywhere(case, dialect, payload, path, stored):
    event = decoded(dialect, payload)
    prepare(event, PrivacySettings(consent_required=("analytics",), consent_default="denied"))
    assert event.consent is not None and event.consent["cookieless"] is True
    assert at(event, path) == (MISSING if path == ("user_id",) else stored["drop"])


@pytest.mark.parametrize("policy", ["hash", "drop"])
def test_preparing_again_changes_nothing(policy):
    for _, dialect, payload, _, _ in PLACES:
        event = decoded(dialect, payload)
        prepare(event, PrivacySettings(identifiers=policy))
        once = copy.deepcopy(event)
        prepare(event, PrivacySettings(identifiers=policy))
        assert event == once


@pytest.mark.parametrize(
    "spelling", [SENT_EMAIL, "jane.doe@example.com", "  JANE.DOE@EXAMPLE.COM ", "Jane.Doe@example.COM"]
)
def test_an_email_user_id_hashes_the_same_however_it_is_written(spelling):
    """One person's events still join: the hashed user id is that of the normalised address."""
    event = decoded("ga4-mp", {"client_id": "c.1", "user_id": spelling, "events": [{"name": "login"}]})
    prepare(event, PrivacySettings(identifiers="hash"))
    assert event.user_id == sha256_hex("jane.doe@example.com")


def test_an_event_without_identifiers_is_the_same_object():
    event = decoded("gtm-ga4", {"event": "page_view", "page_location": "https://shop.example/?q=shoes"})
    assert elsewhere.changes(event, "hash") == {} and elsewhere.changes(event, "drop") == {}


def test_the_event_given_is_never_changed():
    for _, dialect, payload, _, _ in PLACES:
        event = decoded(dialect, payload)
        before = copy.deepcopy(event)
        for policy in POLICIES:
            elsewhere.changes(event, policy)
        assert event == before


def test_an_item_parameter_naming_an_email_is_hashed():
    event = decoded(
        "gtm-ga4",
        {
            "event": "purchase",
            "ecommerce": {
                "transaction_id": "T1",
                "currency": "EUR",
                "value": 10,
                "items": [{"item_id": "A", "price": 10, "gift_to_email": SENT_EMAIL}],
            },
        },
    )
    prepare(event, PrivacySettings(identifiers="hash"))
    assert event.commerce is not None and event.commerce.items
    assert event.commerce.items[0].extras["gift_to_email"] == sha256_hex("jane.doe@example.com")


@pytest.mark.parametrize(
    ("field", "value", "normal"),
    [
        ("email", " John.Doe@GMail.com ", "johndoe@gmail.com"),  # Google drops a gmail local part's dots
        ("email", "john.doe@googlemail.com", "johndoe@googlemail.com"),
        ("email", "John.Doe@Example.com", "john.doe@example.com"),  # elsewhere the dots stay
        ("phone_number", "+33 6 12 34 56 78", "+33612345678"),
        ("first_name", " Jean-Pierre3 ", "jeanpierre"),  # digits and symbols removed
        ("last_name", "O'Neil", "oneil"),
        ("street", "1600 Amphitheatre Pkwy.", "1600 amphitheatre pkwy"),  # symbols removed, digits kept
    ],
)
def test_user_data_is_normalised_as_google_documents_it(field, value, normal):
    assert elsewhere.google_hash(field, value) == sha256_hex(normal)
    assert elsewhere.google_hash(field, sha256_hex(normal).upper()) == sha256_hex(normal)  # hashed already


@pytest.mark.parametrize(
    ("field", "value"), [("email", "not an email"), ("phone_number", "06 12"), ("first_name", "42")]
)
def test_a_user_data_value_that_gives_no_hash_is_removed(field, value):
    event = decoded("gtm-ga4", {"event": "login", "user_data": {field: value, "city": "Paris"}})
    prepare(event, PrivacySettings(identifiers="hash"))
    assert event.properties["user_data"] == {"city": "Paris"}


_TEXT = st.sampled_from(
    [
        SENT_EMAIL,
        "+33 6 12 34 56 78",
        "mailto:jane@example.org",
        "https://x.example/?e=jane%40example.org",
        "not@an",
        "@",
        "+",
        "a" * 300,
        "\u00a0jane@example.org\u200b",
        "\ud800@example.org",
        "",
    ]
) | st.text(max_size=12)
_NAMES = ["email", "phone", "user_data", "em", "sha256_email_address", "q", "items", "$x"]
_KEYS = st.sampled_from(_NAMES) | st.text(max_size=6)
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None)
@given(
    properties=st.dictionaries(_KEYS, _VALUES, max_size=5),
    context=st.dictionaries(_KEYS, _VALUES, max_size=3),
    extras=st.dictionaries(_KEYS, _VALUES, max_size=3),
    user_id=st.none() | _TEXT,
    policy=st.sampled_from(POLICIES),
)
def test_any_event_is_prepared_without_error_once_for_all_and_the_event_given_is_kept(
    properties, context, extras, user_id, policy
):
    """Fuzz: whatever the properties, context and extras hold (nested, odd keys and
    strings, lone surrogates), the changes never raise, leave the event given as it was,
    and applying them leaves nothing more to change."""
    event = Event(
        name="x", dialect="gtm-ga4", user_id=user_id, properties=properties, context=context, extras=extras
    )
    before = copy.deepcopy(event)
    found = elsewhere.changes(event, policy)
    assert event == before
    assert elsewhere.changes(msgspec.structs.replace(event, **found), policy) == {}
