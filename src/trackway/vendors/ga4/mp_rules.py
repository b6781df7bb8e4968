"""GA4 Measurement Protocol limits and reserved names, as rule functions.

The numbers and lists are the MP reference's ("Limitations" of *Send events* and
*Reserved names* of the reference): 25 events per request, 25 parameters per event,
25 user properties, names of letters, digits and underscores starting with a letter
(40 characters for events and parameters, 24 for user properties), parameter values
of 100 characters (user property values 36), 10 custom item parameters, timestamps
within the last 72 hours.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from trackway.issues import Issues, Path, article, describe
from trackway.rules.codes import country
from trackway.rules.values import INVALID, integer
from trackway.vendors.ga4 import common as ga4

MAX_EVENTS = 25
MAX_PARAMS = 25
MAX_USER_PROPERTIES = 25
MAX_NAME = 40
MAX_USER_PROPERTY_NAME = 24
MAX_USER_PROPERTY_VALUE = 36
MAX_PARAM_VALUE = 100
MAX_CUSTOM_ITEM_PARAMS = 10
MAX_AGE = timedelta(hours=72)
FUTURE_SKEW = timedelta(minutes=15)  # clocks disagree; beyond this a future time is news

RESERVED_EVENTS = frozenset(
    {
        "ad_activeview",
        "ad_click",
        "ad_exposure",
        "ad_query",
        "ad_reward",
        "adunit_exposure",
        "app_clear_data",
        "app_exception",
        "app_install",
        "app_remove",
        "app_store_refund",
        "app_update",
        "app_upgrade",
        "dynamic_link_app_open",
        "dynamic_link_app_update",
        "dynamic_link_first_open",
        "error",
        "firebase_campaign",
        "firebase_in_app_message_action",
        "firebase_in_app_message_dismiss",
        "firebase_in_app_message_impression",
        "first_open",
        "first_visit",
        "notification_dismiss",
        "notification_foreground",
        "notification_open",
        "notification_receive",
        "notification_send",
        "os_update",
        "session_start",
        "user_engagement",
    }
)
APP_ONLY_EVENTS = frozenset({"ad_impression", "in_app_purchase", "screen_view"})
RESERVED_PARAMS = frozenset({"firebase_conversion"})
RESERVED_PARAM_PREFIXES = ("_", "firebase_", "ga_", "google_", "gtag.")
RESERVED_USER_PROPERTIES = frozenset(
    {"first_open_time", "first_visit_time", "last_deep_link_referrer", "user_id", "first_open_after_install"}
)
RESERVED_USER_PROPERTY_PREFIXES = ("_", "firebase_", "ga_", "google_")
LONG_VALUES_ALLOWED = frozenset({"session_id", "session_number"})  # GTM built-ins, exempt from 100
# Item parameters GA4 documents; any other item key is a custom item parameter.
ITEM_PARAMS = frozenset(ga4.ITEM.by_wire) | {
    "location_id",
    "creative_name",
    "creative_slot",
    "promotion_id",
    "promotion_name",
}

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_BAD_CHARS = re.compile(r"[^A-Za-z0-9_]")


def check_name(
    name: str,
    path: Path,
    what: str,
    limit: int,
    issues: Issues,
    reserved: frozenset[str] = frozenset(),
    prefixes: tuple[str, ...] = (),
) -> None:
    """GA4's naming rule for ``what`` (an event, parameter, item parameter or user property name)."""
    if name in reserved or name.startswith(prefixes):
        why = "a reserved name" if name in reserved else "a reserved prefix (" + ", ".join(prefixes) + ")"
        issues.error(
            path,
            "NAME_RESERVED",
            f"expected {article(what)} name GA4 does not reserve, got {name!r}, {why}; "
            "GA4 drops it. Rename it",
        )
    elif not _NAME.fullmatch(name):
        fix = _BAD_CHARS.sub("_", name)
        hint = f" such as {fix!r}" if _NAME.fullmatch(fix) and len(fix) <= limit else ""
        issues.error(
            path,
            "NAME_INVALID",
            f"expected {article(what)} name of letters, digits and underscores that starts with a letter, "
            f"got {name!r}; rename it{hint}",
        )
    if len(name) > limit:
        issues.error(
            path,
            "NAME_INVALID",
            f"expected {article(what)} name of at most {limit} characters, "
            f"got {len(name)} ({name[:limit]!r}…); shorten it",
        )


def check_event_name(name: str, path: Path, stream: str | None, issues: Issues) -> None:
    """Event names: the naming rule, the reserved list, and app-only names on web streams."""
    check_name(name, path, "event", MAX_NAME, issues, RESERVED_EVENTS)
    if name in APP_ONLY_EVENTS and stream == "web":
        issues.error(
            path,
            "NAME_RESERVED",
            f"expected an event name a web stream may send, got {name!r}, which GA4 allows only for "
            "app streams (a body with app_instance_id); rename it or send it to the app stream",
        )


def check_value(value: Any, path: Path, limit: int, what: str, issues: Issues) -> None:
    if type(value) is str and len(value) > limit:
        issues.error(
            path,
            "VALUE_OUT_OF_BOUNDS",
            f"expected {article(what + ' value')} of at most {limit} characters, got {len(value)} "
            f"({value[:30]!r}…); GA4 drops it. Shorten it",
        )


def _key_ok(key: Any, base: Path, issues: Issues) -> bool:
    if type(key) is str:
        return True
    issues.error(base, "TYPE_INVALID", f"expected string names, got the name {describe(key)}")
    return False


def check_params(params: dict[str, Any], base: str, issues: Issues) -> None:
    """Count, names and value lengths of an event's parameters and of its items."""
    if len(params) > MAX_PARAMS:
        issues.error(
            base,
            "EXCEEDED_MAX_ENTITIES",
            f"expected at most {MAX_PARAMS} parameters on an event, got {len(params)}; "
            "GA4 drops the extra ones. Remove some or send them on another event",
        )
    for key, value in params.items():
        if not _key_ok(key, base, issues):
            continue
        path = (base, key)
        check_name(key, path, "parameter", MAX_NAME, issues, RESERVED_PARAMS, RESERVED_PARAM_PREFIXES)
        if key not in LONG_VALUES_ALLOWED:
            check_value(value, path, MAX_PARAM_VALUE, "parameter", issues)
    items = params.get("items")
    if type(items) is list:
        for n, item in enumerate(items):
            if type(item) is dict:
                check_item(item, ((base, "items"), n), issues)


def check_item(item: dict[str, Any], path: Path, issues: Issues) -> None:
    custom = 0
    for key, value in item.items():
        if not _key_ok(key, path, issues):
            continue
        if key not in ITEM_PARAMS:
            custom += 1
            check_name(key, (path, key), "item parameter", MAX_NAME, issues)
        check_value(value, (path, key), MAX_PARAM_VALUE, "item parameter", issues)
    if custom > MAX_CUSTOM_ITEM_PARAMS:
        issues.error(
            path,
            "EXCEEDED_MAX_ENTITIES",
            f"expected at most {MAX_CUSTOM_ITEM_PARAMS} custom parameters on an item, got {custom}; "
            "GA4 drops the extra ones. Remove some",
        )


def check_user_property(name: str, value: Any, path: Path, issues: Issues) -> None:
    check_name(
        name,
        path,
        "user property",
        MAX_USER_PROPERTY_NAME,
        issues,
        RESERVED_USER_PROPERTIES,
        RESERVED_USER_PROPERTY_PREFIXES,
    )
    vpath = (path, "value")
    if type(value) is dict or type(value) is list:
        issues.error(
            vpath, "TYPE_INVALID", f"expected a string or a number as the value, got {describe(value)}"
        )
    check_value(value, vpath, MAX_USER_PROPERTY_VALUE, "user property", issues)


def check_location(location: dict[str, Any], issues: Issues) -> None:
    """``user_location.country_id`` is ISO 3166-1 alpha-2 (the other fields are kept unchecked)."""
    code, path = location.get("country_id"), "$.user_location.country_id"
    if code is None:
        return
    if type(code) is not str or len(code) != 2:
        issues.error(
            path, "FORMAT_INVALID", f"expected an ISO 3166-1 alpha-2 code such as 'US', got {describe(code)}"
        )
    else:
        country(code, path, issues)


# -- time ---------------------------------------------------------------------------------


def read_micros(value: Any, path: Path, issues: Issues) -> datetime | None:
    """A ``timestamp_micros`` (microseconds since 1970-01-01 UTC) as an aware datetime."""
    n = integer(value, path, issues)
    if n is INVALID:
        return None
    try:
        ts = EPOCH + n * _MICRO
    except OverflowError:
        issues.error(
            path,
            "VALUE_OUT_OF_BOUNDS",
            f"expected a time in microseconds since 1970-01-01 UTC, got {n}; it is out of range",
        )
        return None
    if 0 <= n < 10**14:
        unit = "milliseconds: multiply by 1000" if n >= 10**11 else "seconds: multiply by 1000000"
        issues.warning(
            path,
            "VALUE_OUT_OF_BOUNDS",
            f"expected microseconds since 1970-01-01 UTC, got {n} ({ts:%Y-%m-%d}); it looks like {unit}",
        )
    return ts


def micros(ts: datetime) -> int:
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return (ts - EPOCH) // _MICRO


def check_time(ts: datetime, path: Path, received_at: datetime | None, enforce: bool, issues: Issues) -> None:
    """GA4's 72 hours: older is clamped (RELAXED) or rejected (ENFORCE_RECOMMENDATIONS)."""
    if received_at is None:
        return
    if received_at.tzinfo is None:
        received_at = received_at.replace(tzinfo=UTC)
    age = received_at - ts
    if age > MAX_AGE:
        fix = (
            "GA4 rejects it under ENFORCE_RECOMMENDATIONS"
            if enforce
            else "GA4 records it as 72 hours ago (RELAXED)"
        )
        report = issues.error if enforce else issues.warning
        report(
            path,
            "VALUE_OUT_OF_BOUNDS",
            f"expected a time within the 72 hours before {received_at:%Y-%m-%d %H:%M:%S} UTC, got "
            f"{ts:%Y-%m-%d %H:%M:%S} UTC ({_hours(age)} earlier); {fix}. Send events sooner",
        )
    elif -age > FUTURE_SKEW:
        issues.warning(
            path,
            "VALUE_OUT_OF_BOUNDS",
            f"expected a time no later than {received_at:%Y-%m-%d %H:%M:%S} UTC (when it was received), "
            f"got {ts:%Y-%m-%d %H:%M:%S} UTC, {_hours(-age)} in the future; check the sender's clock",
        )


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.1f} h"
