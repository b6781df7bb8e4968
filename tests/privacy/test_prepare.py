"""prepare(): consent purposes, cookieless events, identifier policies, IP truncation, idempotency."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.privacy.examples import EMAIL, EMAIL_MD5, EMAIL_SHA256, HASHES, PHONE
from trackway.errors import ConfigError
from trackway.model import Event
from trackway.privacy.consent import PURPOSES
from trackway.privacy.prepare import LastSignals, PrivacySettings, prepare
from trackway.vendors.ga4.consent import GOOGLE_TYPES

CA_MAP = {"1": "functional", "2": "analytics", "3": "marketing", "4": "personalization"}
ALL = dict.fromkeys(PURPOSES, True)
NONE = dict.fromkeys(PURPOSES, False)


def event(**kw):
    base = {
        "name": "purchase",
        "dialect": "commanders-act",
        "anonymous_id": "anon-1",
        "user_id": "u-42",
        "user": {"email": EMAIL, "phone": PHONE, "firstname": "John", "city": "Boston"},
        "context": {
            "ip": "203.0.113.7",
            "user_agent": "Mozilla/5.0",
            "page": {"url": "https://shop.example/"},
        },
    }
    base.update(kw)
    return Event(**base)


def need(*required, **kw):
    return PrivacySettings(consent_required=required, category_map=CA_MAP, **kw)


KEPT = {"anonymous_id": "anon-1", "user_id": "u-42"}
COOKIELESS = {"anonymous_id": None, "user_id": None, "user": None}
USER = {"email": EMAIL, "phone": PHONE, "firstname": "John", "city": "Boston"}

CASES = [
    # no signal, the default grants: everything kept, hashes added, purposes all assumed
    (
        "no signal, default granted",
        PrivacySettings(),
        {},
        {**KEPT, "user": {**USER, **HASHES}, "consent": {"purposes": ALL, "assumed": list(PURPOSES)}},
        "203.0.113.7",
    ),
    (
        "no signal, analytics required, default denied",
        need("analytics", consent_default="denied"),
        {},
        {**COOKIELESS, "consent": {"purposes": NONE, "assumed": list(PURPOSES), "cookieless": True}},
        "203.0.113.0",
    ),
    (
        "CA categories grant the required purpose",
        need("analytics"),
        {"consent": {"categories": ["1", "2"]}},
        {
            **KEPT,
            "user": {**USER, **HASHES},
            "consent": {
                "categories": ["1", "2"],
                "purposes": {
                    "functional": True,
                    "analytics": True,
                    "marketing": False,
                    "personalization": False,
                },
            },
        },
        "203.0.113.7",
    ),
    (
        "CA categories without the required purpose",
        need("analytics"),
        {"consent": {"categories": ["1", "3"]}},
        {
            **COOKIELESS,
            "consent": {
                "categories": ["1", "3"],
                "purposes": {
                    "functional": True,
                    "analytics": False,
                    "marketing": True,
                    "personalization": False,
                },
                "cookieless": True,
            },
        },
        "203.0.113.0",
    ),
    (
        "gtag analytics denied",
        need("analytics"),
        {"consent": {"analytics_storage": "denied", "ad_storage": "granted"}},
        {
            **COOKIELESS,
            "consent": {
                "analytics_storage": "denied",
                "ad_storage": "granted",
                "purposes": {**ALL, "analytics": False},
                "assumed": ["personalization", "functional"],
                "cookieless": True,
            },
        },
        "203.0.113.0",
    ),
    (
        "the required purpose not stated, default denied",
        need("analytics", consent_default="denied"),
        {"consent": {"ad_user_data": "GRANTED", "ad_personalization": "GRANTED"}},
        {
            **COOKIELESS,
            "consent": {
                "ad_user_data": "GRANTED",
                "ad_personalization": "GRANTED",
                "purposes": {**NONE, "marketing": True, "personalization": True},
                "assumed": ["analytics", "functional"],
                "cookieless": True,
            },
        },
        "203.0.113.0",
    ),
    (
        "the required purpose not stated, default granted",
        need("analytics"),
        {"consent": {"ad_user_data": "DENIED"}},
        {
            **KEPT,
            "user": {**USER, **HASHES},
            "consent": {
                "ad_user_data": "DENIED",
                "purposes": {**ALL, "marketing": False},
                "assumed": ["analytics", "personalization", "functional"],
            },
        },
        "203.0.113.7",
    ),
    (
        "Koalect cookie, two purposes required, one missing",
        need("analytics", "marketing"),
        {"consent": {"koalect_consent": "functional analytics"}},
        {
            **COOKIELESS,
            "consent": {
                "koalect_consent": "functional analytics",
                "purposes": {
                    "functional": True,
                    "analytics": True,
                    "marketing": False,
                    "personalization": True,
                },
                "assumed": ["personalization"],
                "cookieless": True,
            },
        },
        "203.0.113.0",
    ),
    (
        "policy hash",
        need("analytics", identifiers="hash"),
        {"consent": {"analytics_storage": "granted"}},
        {
            **KEPT,
            "user": {"firstname": "John", "city": "Boston", **HASHES},
            "consent": {
                "analytics_storage": "granted",
                "purposes": ALL,
                "assumed": ["marketing", "personalization", "functional"],
            },
        },
        "203.0.113.7",
    ),
    (
        "policy hash computes hashes even when hash_identifiers is off",
        PrivacySettings(identifiers="hash", hash_identifiers=False),
        {},
        {**KEPT, "user": {"firstname": "John", "city": "Boston", **HASHES}},
        "203.0.113.7",
    ),
    (
        "policy drop, IP truncated",
        PrivacySettings(identifiers="drop", truncate_ip=True),
        {},
        {**KEPT, "user": {"firstname": "John", "city": "Boston"}},
        "203.0.113.0",
    ),
    (
        "keep without server-side hashes",
        PrivacySettings(hash_identifiers=False),
        {},
        {**KEPT, "user": USER},
        "203.0.113.7",
    ),
    (
        "keep, a client hash kept as sent",
        PrivacySettings(),
        {"user": {"email": EMAIL, "email_md5": "c" * 32}},
        {**KEPT, "user": {"email": EMAIL, "email_md5": "c" * 32, "email_sha256": EMAIL_SHA256}},
        "203.0.113.7",
    ),
    (
        "IPv6 truncated",
        PrivacySettings(truncate_ip=True),
        {"context": {"ip": "2001:db8:85a3::8a2e:370:7334"}},
        {**KEPT},
        "2001:db8:85a3::",
    ),
    (
        "a garbage IP becomes empty",
        PrivacySettings(truncate_ip=True),
        {"context": {"ip": "unknown"}},
        {**KEPT},
        "",
    ),
    (
        "client-sent derived keys are recomputed",
        need("analytics"),
        {"consent": {"analytics_storage": "granted", "cookieless": True, "purposes": NONE, "assumed": "x"}},
        {
            **KEPT,
            "consent": {
                "analytics_storage": "granted",
                "purposes": ALL,
                "assumed": ["marketing", "personalization", "functional"],
            },
        },
        "203.0.113.7",
    ),
]


@pytest.mark.parametrize(("label", "settings_", "fields", "expected", "ip"), CASES, ids=[c[0] for c in CASES])
def test_prepare(label, settings_, fields, expected, ip):
    e = event(**fields)
    prepare(e, settings_)
    for name, value in expected.items():
        assert getattr(e, name) == value, name
    assert e.context is not None
    assert e.context["ip"] == ip
    if "context" not in fields:
        assert e.context["user_agent"] == "Mozilla/5.0"
    once = copy.deepcopy(e)
    prepare(e, settings_)
    assert e == once


def test_a_cookieless_event_is_still_an_event():
    e = event(
        consent={"categories": []},
        context={"ip": "203.0.113.7", "user_data": {"sha256_email_address": [EMAIL_SHA256]}},
        properties={"search_term": "shoes", "user_id": "lee", "client_id": "1.2"},  # gtag's ids as params
    )
    prepare(e, need("analytics"))
    assert e.consent is not None
    assert e.consent["cookieless"] is True
    assert (e.name, e.dialect, e.properties) == ("purchase", "commanders-act", {"search_term": "shoes"})
    assert e.anonymous_id is None
    assert e.user_id is None
    assert e.user is None
    assert e.context == {"ip": "203.0.113.0"}


@pytest.mark.parametrize(
    ("settings_", "kept"),
    [
        (need("analytics"), False),  # cookieless: the device's vendor ids go with its other ids
        (PrivacySettings(identifiers="drop", truncate_ip=True), True),  # not cookieless: they stay
        (PrivacySettings(), True),
    ],
)
def test_the_devices_vendor_ids_go_only_with_a_cookieless_event(settings_, kept):
    e = event(consent={"categories": []}, context={"ip": "203.0.113.7", "ids": {"ga_client_id": "1.2"}})
    prepare(e, settings_)
    assert ("ids" in (e.context or {})) is kept


def test_drop_removes_mp_user_data():
    e = event(context={"ip": "1.2.3.4", "user_data": {"sha256_email_address": [EMAIL_SHA256]}})
    prepare(e, PrivacySettings(identifiers="drop"))
    assert e.context == {"ip": "1.2.3.4"}
    e = event(context={"ip": "1.2.3.4", "user_data": {"sha256_email_address": [EMAIL_SHA256]}})
    prepare(e, PrivacySettings(identifiers="hash"))
    assert e.context == {"ip": "1.2.3.4", "user_data": {"sha256_email_address": [EMAIL_SHA256]}}


def test_dicts_shared_between_events_are_not_changed():
    consent = {"ad_user_data": "DENIED"}
    user = {"email": EMAIL, "phone": PHONE}
    context = {"ip": "203.0.113.7", "user_data": {"x": 1}}
    snapshot = copy.deepcopy((consent, user, context))
    events = [
        Event(name="a", dialect="ga4-mp", consent=consent, user=user, context=context) for _ in range(2)
    ]
    prepare(events[0], need("marketing", truncate_ip=True))
    prepare(events[1], PrivacySettings(identifiers="drop", truncate_ip=True))
    assert (consent, user, context) == snapshot
    assert events[0].user is None
    assert events[1].user == {}


def test_no_user_no_consent():
    e = Event(name="page_view", dialect="gtm-ga4")
    prepare(e, PrivacySettings(identifiers="hash", truncate_ip=True))
    assert e.user is None
    assert e.context is None
    assert e.consent == {"purposes": ALL, "assumed": list(PURPOSES)}


def test_other_settings_recompute_the_flags_but_removed_ids_stay_removed():
    e = event(consent={"categories": ["1"]})
    prepare(e, need("analytics"))
    assert e.consent is not None
    assert e.consent["cookieless"] is True
    prepare(e, need())
    assert e.consent is not None
    assert "cookieless" not in e.consent
    assert (e.anonymous_id, e.user_id, e.user) == (None, None, None)


BAD_SETTINGS = [
    {"consent_required": ("analytic",)},
    {"consent_required": "analytics"},
    {"consent_default": "GRANTED"},
    {"identifiers": "hashed"},
    {"category_map": {"1": "ads"}},
    {"category_map": {1: "analytics"}},
    {"category_map": ["1"]},
]


@pytest.mark.parametrize("kw", BAD_SETTINGS)
def test_bad_settings_are_config_errors(kw):
    with pytest.raises(ConfigError, match="expected"):
        PrivacySettings(**kw)


def test_settings_are_normalised_and_frozen():
    s = PrivacySettings(consent_required=["analytics", "analytics"], category_map={"1": "analytics"})  # type: ignore[arg-type]
    assert s.consent_required == ("analytics",)
    source = {"1": "analytics"}
    s = PrivacySettings(category_map=source)
    source["2"] = "marketing"
    assert dict(s.category_map) == {"1": "analytics"}
    with pytest.raises(AttributeError):
        s.identifiers = "drop"  # type: ignore[misc]


# property: never raises, idempotent, never changes the dicts it was given

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
STATES = st.sampled_from(["granted", "denied", "GRANTED", "DENIED", "maybe", ""])
CONSENT_VALUES = st.one_of(
    STATES,
    st.lists(st.sampled_from(["1", "2", "3", "4", "9", 1, 2, None, True]), max_size=4),
    st.sampled_from(["functional analytics marketing", "analytics", "", "marketing,functional"]),
    JSON,
)
CONSENT = st.one_of(
    st.none(),
    st.dictionaries(
        st.one_of(
            st.sampled_from(
                [
                    *GOOGLE_TYPES,
                    "categories",
                    "koalect_consent",
                    "non_personalized_ads",
                    "purposes",
                    "assumed",
                    "cookieless",
                ]
            ),
            st.text(max_size=6),
        ),
        CONSENT_VALUES,
        max_size=6,
    ),
)
USER_VALUES = st.one_of(
    st.sampled_from(
        [EMAIL, " John.Doe@Example.com", "bad@", PHONE, "+33 6 12 34 56 78", "06 12 34 56 78", EMAIL_MD5]
    ),
    JSON,
)
USERS = st.one_of(
    st.none(),
    st.dictionaries(
        st.one_of(
            st.sampled_from(
                ["email", "phone", "email_md5", "email_sha256", "phone_md5", "phone_sha256", "firstname"]
            ),
            st.text(max_size=6),
        ),
        USER_VALUES,
        max_size=6,
    ),
)
CONTEXTS = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {},
        optional={
            "ip": st.one_of(st.ip_addresses().map(str), st.text(max_size=10), JSON),
            "user_data": JSON,
            "locale": st.text(max_size=5),
        },
    ),
)
SETTINGS = st.builds(
    PrivacySettings,
    consent_required=st.lists(st.sampled_from(PURPOSES), max_size=2).map(tuple),
    consent_default=st.sampled_from(["granted", "denied"]),
    category_map=st.dictionaries(st.sampled_from(["1", "2", "3", "4"]), st.sampled_from(PURPOSES)),
    identifiers=st.sampled_from(["keep", "hash", "drop"]),
    truncate_ip=st.booleans(),
    hash_identifiers=st.booleans(),
)


@settings(max_examples=500, deadline=None)
@given(
    consent=CONSENT,
    user=USERS,
    context=CONTEXTS,
    ids=st.tuples(st.none() | st.text(max_size=5), st.none() | st.text(max_size=5)),
    settings_=SETTINGS,
)
def test_prepare_never_raises_and_is_idempotent(consent, user, context, ids, settings_):
    inputs = copy.deepcopy((consent, user, context))
    e = Event(
        name="x",
        dialect="d",
        anonymous_id=ids[0],
        user_id=ids[1],
        user=user,
        consent=consent,
        context=context,
    )
    prepare(e, settings_)
    assert (consent, user, context) == inputs
    once = copy.deepcopy(e)
    prepare(e, settings_)
    assert e == once
    assert e.consent is not None
    assert set(e.consent["purposes"]) == set(PURPOSES)
    if e.consent.get("cookieless"):
        assert (e.anonymous_id, e.user_id, e.user) == (None, None, None)
        assert any(not e.consent["purposes"][p] for p in settings_.consent_required)
    else:
        assert all(e.consent["purposes"][p] for p in settings_.consent_required)
        if settings_.identifiers != "keep" and isinstance(e.user, dict):
            assert "email" not in e.user
            assert "phone" not in e.user


SIGNALS = [  # consent objects as events of one request carry them: each shared, or not
    {"ad_user_data": "DENIED", "analytics_storage": "GRANTED"},
    {"non_personalized_ads": True},
    {"non_personalized_ads": 1},  # equal to the one before as a key; readers tell them apart
    {"purposes": {"analytics": False}, "assumed": [], "ad_storage": "DENIED"},  # prepared before
    {},
    {"ad_user_data": "DENIED", "analytics_storage": "GRANTED"},  # equal to the first, another object
    {"a": {"b": True}},
    {"a": {"b": 1}},  # equal to the one before
    None,  # no signal at all
]


@pytest.mark.parametrize("settings_", [PrivacySettings(), need("marketing"), need("analytics")])
def test_the_events_of_a_request_are_prepared_as_each_alone(settings_, monkeypatch):
    """prepare with LastSignals reads a shared consent object once, and gives each event
    what preparing it alone gives (the same object in a row, equal ones, different ones)."""
    from trackway.privacy import prepare as module

    order = [0, 0, 1, 2, 2, 1, 3, 3, 4, 0, 5, 0, 6, 7, 8, 8, 0]
    alone, together = [], []
    for n in order:
        e = event(consent=SIGNALS[n])
        prepare(e, settings_)
        alone.append(e)
    reads = []
    real = module.purposes
    monkeypatch.setattr(module, "purposes", lambda *a: reads.append(a) or real(*a))
    last = LastSignals()
    for n in order:
        e = event(consent=SIGNALS[n])
        prepare(e, settings_, last)
        together.append(e)
    assert together == alone
    # a run of the same object, or of equal strings-only objects (0, 5), is read once; a
    # prepared event's signals are a new dict each time; 1 and 2, 6 and 7 are equal, not the
    # same; no signal (8) twice in a row is one read, and 0 after it is read again
    assert len(reads) == 11
    # under other settings (another property's category map) the same signals are read again
    other = PrivacySettings(consent_default="denied")
    again = event(consent=SIGNALS[7])
    prepare(again, other, last)
    assert len(reads) == 12
    alone_other = event(consent=SIGNALS[7])
    prepare(alone_other, other)
    assert again == alone_other
