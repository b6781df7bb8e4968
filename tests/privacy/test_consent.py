"""Consent signals -> purposes, gtag consent commands and their issues, signal merging."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trackway.issues import Issue, Severity
from trackway.privacy.consent import PURPOSES, merge_signals, purposes
from trackway.vendors.ga4.consent import GOOGLE_TYPES, apply_command, is_command, issues_of_command

CATEGORY_MAP = {
    "1": "analytics",
    "2": "marketing",
    "3": "personalization",
    "4": "functional",
    "5": "marketing",
}

T, F = True, False

SIGNALS = [
    # Commanders Act categories, through the map
    ({"categories": ["1", "3"]}, {"analytics": T, "marketing": F, "personalization": T, "functional": F}),
    ({"categories": [1, 3]}, {"analytics": T, "marketing": F, "personalization": T, "functional": F}),
    ({"categories": ["5"]}, {"analytics": F, "marketing": T, "personalization": F, "functional": F}),
    ({"categories": ["2", "5"]}, {"analytics": F, "marketing": T, "personalization": F, "functional": F}),
    ({"categories": []}, {"analytics": F, "marketing": F, "personalization": F, "functional": F}),
    ({"categories": ["9", "10"]}, {"analytics": F, "marketing": F, "personalization": F, "functional": F}),
    (
        {"categories": ["1", None, {"x": 1}, 2.5, True, "4"]},
        {"analytics": T, "marketing": F, "personalization": F, "functional": T},
    ),
    # Measurement Protocol consent (upper case)
    ({"ad_user_data": "GRANTED", "ad_personalization": "DENIED"}, {"marketing": T, "personalization": F}),
    ({"ad_user_data": "DENIED", "ad_personalization": "GRANTED"}, {"marketing": F, "personalization": T}),
    ({"ad_personalization": "GRANTED", "non_personalized_ads": True}, {"personalization": F}),
    ({"ad_personalization": "GRANTED", "non_personalized_ads": False}, {"personalization": T}),
    ({"non_personalized_ads": False}, {}),
    # Google consent mode v2 from gtag (lower case), every type
    ({"analytics_storage": "granted"}, {"analytics": T}),
    ({"analytics_storage": "denied"}, {"analytics": F}),
    ({"ad_storage": "granted"}, {"marketing": T}),
    ({"ad_storage": "granted", "ad_user_data": "denied"}, {"marketing": F}),
    ({"ad_storage": "denied", "ad_user_data": "granted"}, {"marketing": F}),
    ({"ad_personalization": "granted", "personalization_storage": "granted"}, {"personalization": T}),
    ({"ad_personalization": "granted", "personalization_storage": "denied"}, {"personalization": F}),
    ({"functionality_storage": "granted", "security_storage": "granted"}, {"functional": T}),
    ({"functionality_storage": "granted", "security_storage": "denied"}, {"functional": F}),
    ({"analytics_storage": " Granted "}, {"analytics": T}),
    # Koalect's cookie: listed purposes granted, Koalect's others denied
    (
        {"koalect_consent": "functional analytics marketing"},
        {"functional": T, "analytics": T, "marketing": T},
    ),
    ({"koalect_consent": "functional analytics"}, {"functional": T, "analytics": T, "marketing": F}),
    ({"koalect_consent": "functional%20marketing"}, {"functional": T, "analytics": F, "marketing": T}),
    ({"koalect_consent": "Analytics,statistics"}, {"functional": F, "analytics": T, "marketing": F}),
    ({"koalect_consent": ""}, {"functional": F, "analytics": F, "marketing": F}),
    ({"koalect_consent": '"functional analytics"'}, {"functional": T, "analytics": T, "marketing": F}),
    # a denial wins across signals
    (
        {"categories": ["1"], "analytics_storage": "denied"},
        {"analytics": F, "marketing": F, "personalization": F, "functional": F},
    ),
    (
        {"categories": ["2"], "ad_user_data": "DENIED"},
        {"analytics": F, "marketing": F, "personalization": F, "functional": F},
    ),
    (
        {"koalect_consent": "marketing", "ad_storage": "granted"},
        {"functional": F, "analytics": F, "marketing": T},
    ),
    (
        {"koalect_consent": "analytics", "analytics_storage": "denied"},
        {"functional": F, "analytics": F, "marketing": F},
    ),
    # unknown keys beside a good signal are ignored; a vendor's key that cannot be read
    # denies what it speaks of (it was ignored, and the purpose assumed granted)
    (
        {"analytics_storage": "granted", "ad_storage": "yes", "foo": 1, "purposes": {"marketing": T}},
        {"analytics": T, "marketing": F},
    ),
    ({"analytics_storage": "no"}, {"analytics": F}),
    ({"analytics_storage": False}, {"analytics": F}),
    ({"analytics_storage": None, "ad_storage": "granted"}, {"marketing": T}),  # null: says nothing
    ({"Analytics_Storage": "denied"}, {"analytics": F}),  # a vendor's key in any case
    ({"AD_STORAGE": "GRANTED"}, {"marketing": T}),
    ({"koalect_consent": ["functional"]}, {"functional": F, "analytics": F, "marketing": F}),
    ({"categories": "3"}, {"analytics": F, "marketing": F, "personalization": F, "functional": F}),
    ({"non_personalized_ads": "yes"}, {"personalization": F}),
    ("denied", {"analytics": F, "marketing": F, "personalization": F, "functional": F}),  # not an object
    (["denied"], {"analytics": F, "marketing": F, "personalization": F, "functional": F}),
]


@pytest.mark.parametrize(("consent", "expected"), SIGNALS)
def test_signals_map_to_purposes(consent, expected):
    before = copy.deepcopy(consent)
    assert purposes(consent, CATEGORY_MAP) == expected
    assert consent == before


NO_SIGNAL = [
    None,
    {},
    {"foo": "granted"},
    {"purposes": {"analytics": True}, "assumed": ["marketing"], "cookieless": True},
    {"analytics_storage": None},
]


@pytest.mark.parametrize("consent", NO_SIGNAL)
def test_no_signal_gives_none(consent):
    assert purposes(consent, CATEGORY_MAP) is None


ALL_DENIED = dict.fromkeys(("analytics", "marketing", "personalization", "functional"), False)

# A vendor's signal that cannot be read denies what its key speaks of; consent that is not
# an object denies everything. Each was taken for no signal: the purposes assumed granted.
UNREADABLE = [
    ({"categories": "1"}, ALL_DENIED),
    ({"categories": {"1": True}}, ALL_DENIED),
    ({"ad_storage": "yes"}, {"marketing": False}),
    ({"ad_storage": True}, {"marketing": False}),
    ({"ad_user_data": 1}, {"marketing": False}),
    ({"koalect_consent": ["functional"]}, {"functional": False, "analytics": False, "marketing": False}),
    ({"non_personalized_ads": "true"}, {"personalization": False}),
    ("analytics_storage=granted", ALL_DENIED),
    (["categories", "1"], ALL_DENIED),
    (42, ALL_DENIED),
]


@pytest.mark.parametrize(("consent", "expected"), UNREADABLE)
def test_an_unreadable_signal_denies(consent, expected):
    assert purposes(consent, CATEGORY_MAP) == expected


def test_category_map_edge_cases():
    assert purposes({"categories": ["1"]}, {}) == {}
    assert purposes({"categories": ["1"]}, {"1": "analytics", "2": "not-a-purpose"}) == {"analytics": True}
    assert purposes({"categories": ["7"]}, {7: "analytics"}) == {"analytics": True}  # type: ignore[dict-item]
    assert purposes({"categories": ["1"]}, "garbage") == {}  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(
    consent=st.dictionaries(
        st.sampled_from([*GOOGLE_TYPES, "categories", "koalect_consent", "non_personalized_ads", "x"]),
        st.one_of(
            st.sampled_from(["granted", "denied", "GRANTED", "DENIED", "maybe", "", "functional analytics"]),
            st.lists(st.sampled_from(["1", "2", "3", 4, 5, None, True]), max_size=4),
            st.none(),
            st.booleans(),
            st.integers(),
            st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
        ),
        max_size=6,
    )
)
def test_purposes_never_raise_and_only_name_known_purposes(consent):
    out = purposes(consent, CATEGORY_MAP)
    if out is not None:
        assert set(out) <= set(PURPOSES)
        assert all(type(v) is bool for v in out.values())
        # a denial wins: removing any signal never turns a granted purpose into a denied one
        for key in consent:
            rest = purposes({k: v for k, v in consent.items() if k != key}, CATEGORY_MAP) or {}
            assert all(rest.get(p, True) or not out.get(p, False) for p in PURPOSES)


# gtag consent commands

COMMANDS = [
    (["consent", "default", {"ad_storage": "denied"}], True),
    (["consent", "update", {}], True),
    (["consent", "reset", {}], True),  # a malformed command is still a command
    (["consent"], True),
    (["consent", "default"], True),
    (["event", "purchase", {}], False),
    (["config", "G-1", {}], False),
    ("consent", False),
    ({"0": "consent", "1": "default"}, False),
    ([], False),
    (None, False),
]


@pytest.mark.parametrize(("payload", "expected"), COMMANDS)
def test_is_command(payload, expected):
    assert is_command(payload) is expected


def default(**kw):
    return ["consent", "default", kw]


def update(**kw):
    return ["consent", "update", kw]


SEQUENCES = [
    (
        [default(ad_storage="denied", analytics_storage="denied")],
        {"ad_storage": "denied", "analytics_storage": "denied"},
    ),
    (
        [default(ad_storage="denied", analytics_storage="denied"), update(analytics_storage="granted")],
        {"ad_storage": "denied", "analytics_storage": "granted"},
    ),
    (
        [update(ad_user_data="GRANTED", ad_personalization="Denied")],
        {"ad_user_data": "granted", "ad_personalization": "denied"},
    ),
    # only the named types are touched
    (
        [default(ad_storage="denied"), update(analytics_storage="granted")],
        {"ad_storage": "denied", "analytics_storage": "granted"},
    ),
    # a default never grants over a denial (the collector cannot tell the visitor's region)...
    ([default(ad_storage="denied"), default(ad_storage="granted")], {"ad_storage": "denied"}),
    ([default(ad_storage="granted"), default(ad_storage="denied")], {"ad_storage": "denied"}),
    ([default(ad_storage="denied", region=["ES"]), default(ad_storage="granted")], {"ad_storage": "denied"}),
    # ... but an update (the visitor's choice) does, and later updates change it again
    ([default(ad_storage="denied"), update(ad_storage="granted")], {"ad_storage": "granted"}),
    ([update(ad_storage="granted"), update(ad_storage="denied")], {"ad_storage": "denied"}),
    ([update(ad_storage="denied"), default(ad_storage="granted")], {"ad_storage": "denied"}),
    # invalid entries and commands are ignored
    (
        [default(ad_storage="yes", foo="granted", analytics_storage="granted", wait_for_update=500)],
        {"analytics_storage": "granted"},
    ),
    ([["consent", "reset", {"ad_storage": "denied"}], ["consent", "update"], ["consent", "update", "x"]], {}),
    ([default(ad_storage=True), update(analytics_storage=None)], {}),
]


@pytest.mark.parametrize(("commands", "expected"), SEQUENCES)
def test_command_sequences(commands, expected):
    state: dict[str, str] = {}
    for command in commands:
        before = dict(state)
        new = apply_command(state, command)
        assert new is not state
        assert state == before
        state = new
    assert state == expected


def test_apply_command_on_garbage_state():
    assert apply_command(None, update(ad_storage="granted")) == {"ad_storage": "granted"}
    assert apply_command("x", None) == {}  # type: ignore[arg-type]
    assert apply_command({1: "granted", "ad_storage": "denied"}, "x") == {"ad_storage": "denied"}  # type: ignore[dict-item]


E, W = Severity.ERROR, Severity.WARNING

BAD_COMMANDS = [
    (["consent"], [("$", "PAYLOAD_INVALID", E)]),
    (["consent", "default"], [("$", "PAYLOAD_INVALID", E)]),
    (["consent", "default", {}, {}], [("$", "PAYLOAD_INVALID", E)]),
    ("consent", [("$", "PAYLOAD_INVALID", E)]),
    (["consent", "reset", {}], [("$[1]", "ENUM_INVALID", E)]),
    (["consent", "Update", {}], [("$[1]", "ENUM_INVALID", E)]),
    (["consent", 1, {}], [("$[1]", "TYPE_INVALID", E)]),
    (["consent", "default", "granted"], [("$[2]", "TYPE_INVALID", E)]),
    (["consent", "default", ["ad_storage", "granted"]], [("$[2]", "TYPE_INVALID", E)]),
    (["consent", "update", {"ad_storage": "yes"}], [("$[2].ad_storage", "ENUM_INVALID", W)]),
    (["consent", "update", {"ad_storage": True}], [("$[2].ad_storage", "TYPE_INVALID", W)]),
    (
        ["consent", "update", {"analytics storage": "granted"}],
        [("$[2]['analytics storage']", "ENUM_INVALID", W)],
    ),
    (["consent", "update", {"adStorage": "granted"}], [("$[2].adStorage", "ENUM_INVALID", W)]),
    (["consent", "default", {"region": "ES"}], [("$[2].region", "TYPE_INVALID", W)]),
    (["consent", "default", {"wait_for_update": "500"}], [("$[2].wait_for_update", "TYPE_INVALID", W)]),
    (
        ["consent", "default", {"ad_storage": "nope", "analytics_storage": "granted", "x": 1}],
        [("$[2].ad_storage", "ENUM_INVALID", W), ("$[2].x", "ENUM_INVALID", W)],
    ),
]


@pytest.mark.parametrize(("payload", "expected"), BAD_COMMANDS)
def test_bad_commands_give_clear_issues(payload, expected):
    issues = issues_of_command(payload)
    assert [(i.path, i.code, i.severity) for i in issues] == expected
    for issue in issues:
        assert isinstance(issue, Issue)
        assert "expected" in issue.message
        assert "got" in issue.message


GOOD_COMMANDS = [
    ["consent", "default", {"ad_storage": "denied", "analytics_storage": "denied", "wait_for_update": 500}],
    ["consent", "default", {"ad_storage": "denied", "region": ["ES", "US-AK"]}],
    ["consent", "update", {"ad_user_data": "GRANTED", "ad_personalization": "DENIED"}],
    ["consent", "update", dict.fromkeys(GOOGLE_TYPES, "granted")],
    ["consent", "update", {}],
]


@pytest.mark.parametrize("payload", GOOD_COMMANDS)
def test_good_commands_give_no_issue(payload):
    assert issues_of_command(payload) == []


def test_issue_messages_say_how_to_fix():
    [issue] = issues_of_command(["consent", "Update", {}], base="$[3]")
    assert issue.path == "$[3][1]"
    assert "did you mean 'update'?" in issue.message
    [issue] = issues_of_command(["consent", "update", {"ad_storage": "yes"}], base="$[0]")
    assert issue.path == "$[0][2].ad_storage"
    assert "write 'granted' or 'denied'" in issue.message
    [issue] = issues_of_command(["consent", "update", {"adStorage": "granted"}])
    assert "ad_storage" in issue.message
    assert "fix the name" in issue.message


# merging a batch's state and the envelope's consent into the event's own signals

MERGES = [
    (None, None, None, None),
    ({}, {}, {}, None),
    ({"categories": ["1"]}, None, None, {"categories": ["1"]}),
    (None, {"ad_storage": "denied"}, None, {"ad_storage": "denied"}),
    (None, None, {"ad_user_data": "GRANTED"}, {"ad_user_data": "GRANTED"}),
    # own > batch > envelope, key by key
    (
        {"ad_storage": "granted"},
        {"ad_storage": "denied"},
        {"ad_storage": "DENIED"},
        {"ad_storage": "granted"},
    ),
    (None, {"ad_user_data": "denied"}, {"ad_user_data": "GRANTED"}, {"ad_user_data": "denied"}),
    (
        {"categories": ["1"]},
        {"analytics_storage": "granted"},
        {"ad_user_data": "GRANTED"},
        {"categories": ["1"], "analytics_storage": "granted", "ad_user_data": "GRANTED"},
    ),
    ("garbage", ["x"], 3, None),
    ({"koalect_consent": "analytics"}, "garbage", None, {"koalect_consent": "analytics"}),
]


@pytest.mark.parametrize(("own", "batch", "envelope", "expected"), MERGES)
def test_merge_signals(own, batch, envelope, expected):
    out = merge_signals(own, batch, envelope)
    assert out == expected
    for layer in (own, batch, envelope):
        assert out is not layer or out is None


def test_a_batch_applies_commands_to_the_events_after_them():
    """What the /collect loop does: commands update the state, events merge it."""
    batch = [
        ["consent", "default", {"ad_storage": "denied", "analytics_storage": "denied"}],
        {"name": "page_view"},
        ["consent", "update", {"analytics_storage": "granted"}],
        {"name": "view_item", "consent": {"ad_storage": "granted"}},
    ]
    envelope = {"ad_user_data": "GRANTED"}
    state: dict[str, str] = {}
    seen = []
    for payload in batch:
        if is_command(payload):
            assert issues_of_command(payload) == []
            state = apply_command(state, payload)
            continue
        signals = merge_signals(payload.get("consent"), state, envelope)
        seen.append(purposes(signals, CATEGORY_MAP))
    assert seen == [{"marketing": False, "analytics": False}, {"marketing": True, "analytics": True}]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
COMMANDISH = st.one_of(
    JSON,
    st.tuples(st.just("consent"), JSON, JSON).map(list),
    st.tuples(
        st.just("consent"),
        st.sampled_from(["default", "update", "Default"]),
        st.dictionaries(st.sampled_from([*GOOGLE_TYPES, "region", "wait_for_update", "x"]), JSON, max_size=4),
    ).map(list),
)


@settings(max_examples=300, deadline=None)
@given(state=st.one_of(JSON, st.dictionaries(st.sampled_from(list(GOOGLE_TYPES)), JSON)), payload=COMMANDISH)
def test_commands_never_raise(state, payload):
    before = copy.deepcopy((state, payload))
    new = apply_command(state, payload)
    previous = state if isinstance(state, dict) else {}
    changed = [k for k in new if new[k] != previous.get(k)]
    assert all(k in GOOGLE_TYPES and new[k] in ("granted", "denied") for k in changed)
    issues = issues_of_command(payload)
    if changed:
        assert is_command(payload)
        assert not any(i.is_error for i in issues)
    merge_signals(payload, state, payload)
    assert (state, payload) == before
