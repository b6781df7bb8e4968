"""Reading a GA4 Measurement Protocol body: one canonical event per element of ``events``.

Request-level fields are copied onto every event of the body (identity, user
properties, consent, context); what only serves the round trip rides in ``extras``
(see the module ``ga4_mp`` for the list).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from trackway.dialects.base import DecodeContext
from trackway.dialects.fields import Field, Table
from trackway.issues import MISSING, Issues, Path, Severity, describe
from trackway.model import Event
from trackway.rules.values import INVALID, anything, array, boolean, enum, obj, string
from trackway.vendors.ga4 import common as ga4
from trackway.vendors.ga4 import mp_rules as r

BEHAVIOURS = ("RELAXED", "ENFORCE_RECOMMENDATIONS")
_STATES = enum(("GRANTED", "DENIED"), "consent state")


def micros_time(value: Any, path: Path, issues: Issues) -> Any:
    """microseconds since 1970-01-01 UTC (an integer)"""
    ts = r.read_micros(value, path, issues)
    return INVALID if ts is None else ts


REQUEST = Table(
    "Measurement Protocol request body",
    [
        Field("client_id", "anonymous_id", string, "web streams; one of client_id or app_instance_id"),
        Field("app_instance_id", "anonymous_id", string, 'app streams; `extras["$id"]` records it'),
        Field("user_id", "user_id", string),
        Field("timestamp_micros", "timestamp", micros_time, "for the events that carry none"),
        Field("user_properties", "user", obj, "name -> value (see the user property table); at most 25"),
        Field("user_data", "context.user_data", obj, "user-provided data, kept as sent"),
        Field("consent", "consent", obj, "as sent (see the consent table)"),
        Field("non_personalized_ads", "consent.non_personalized_ads", boolean, "deprecated by GA4"),
        Field("user_location", "context.location", obj, "{city, region_id, country_id, ...}, as sent"),
        Field("ip_override", "context.ip", string),
        Field("device", "context.device", obj, "{category, language, ...}, as sent"),
        Field("user_agent", "context.user_agent", string, "GA4 ignores it when device is sent"),
        Field("validation_behavior", "extras.$validation_behavior", enum(BEHAVIOURS, "validation behavior")),
        Field("events", "events", array, "1 to 25; one canonical event each"),
    ],
)
EVENT = Table(
    "Measurement Protocol event (`events[]`)",
    [
        Field("name", "name", string, "letters, digits, underscores; starts with a letter; at most 40"),
        Field(
            "params", "commerce, properties", obj, "GA4 commerce parameters to commerce, others to properties"
        ),
        Field("timestamp_micros", "timestamp", micros_time, "overrides the request's"),
    ],
)
USER_PROPERTY = Table(
    "Measurement Protocol user property (`user_properties.NAME`)",
    [
        Field("value", "user.NAME", anything, "at most 36 characters; name at most 24"),
        Field("timestamp_micros", "extras.user_properties.NAME", anything, "kept as sent"),
    ],
)
CONSENT = Table(
    "Measurement Protocol consent",
    [
        Field("ad_user_data", "consent.ad_user_data", _STATES),
        Field("ad_personalization", "consent.ad_personalization", _STATES),
    ],
)
_CONTEXT = (
    ("ip_override", "ip"),
    ("user_agent", "user_agent"),
    ("device", "device"),
    ("user_location", "location"),
    ("user_data", "user_data"),
)


def read_fields(
    table: Table, raw: dict[str, Any], base: Path, issues: Issues
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Known keys by wire name, checked by their rule; the rest (unknown keys, nulls) as sent."""
    values: dict[str, Any] = {}
    rest: dict[str, Any] = {}
    for key, v in raw.items():
        field = table.by_wire.get(key) if type(key) is str else None
        if field is None or v is None:
            rest[key] = v
            continue
        v = field.rule(v, (base, key), issues)
        if v is not INVALID:
            values[key] = v
    return values, rest


def decode_body(payload: Any, dialect: str, ctx: DecodeContext, issues: Issues) -> list[Event]:
    issues.event = -1
    if type(payload) is not dict:
        issues.error(
            "$",
            "PAYLOAD_INVALID",
            f"expected a Measurement Protocol body {{client_id, events: [...]}}, got {describe(payload)}",
        )
        return []
    values, rest = read_fields(REQUEST, payload, "$", issues)
    enforce = values.get("validation_behavior") == "ENFORCE_RECOMMENDATIONS"
    shared: dict[str, Any] = {"extras": {"request": rest} if rest else {}}
    stream = _identity(values, payload, shared, issues)
    _request(values, shared, ctx, enforce, issues)
    raw_events = values.get("events")
    if raw_events is None or not raw_events:
        if raw_events is not None or payload.get("events") is None:
            issues.error(
                "$.events",
                "VALUE_REQUIRED",
                f"expected 1 to {r.MAX_EVENTS} events [{{name, params}}], got "
                f"{describe(payload.get('events', MISSING))}; add the events",
            )
        return []
    if len(raw_events) > r.MAX_EVENTS:
        issues.error(
            "$.events",
            "EXCEEDED_MAX_ENTITIES",
            f"expected at most {r.MAX_EVENTS} events in a request, got {len(raw_events)}; GA4 drops the "
            "whole request. Split it into requests of 25 events",
        )
    request_ts = values.get("timestamp_micros")
    events = []
    for n, raw in enumerate(raw_events):
        issues.event = n
        # Each event owns its request-level objects. Decoding an event changes them, so the
        # copies are made before the last event, which takes the originals.
        own = shared if n == len(raw_events) - 1 else copy_json(shared)
        event = Event(name="", dialect=dialect, **own)
        _event(raw, f"$.events[{n}]", event, request_ts, stream, ctx, enforce, issues)
        events.append(event)
    return events  # the adapter's decode sets issues.event back to -1


def copy_json(value: Any) -> Any:
    """A deep copy of JSON-like values (dicts, lists; the rest is immutable), much
    cheaper than ``copy.deepcopy``."""
    if type(value) is dict:
        return {k: copy_json(v) for k, v in value.items()}
    if type(value) is list:
        return [copy_json(v) for v in value]
    return value


def _identity(
    values: dict[str, Any], payload: dict[str, Any], shared: dict[str, Any], issues: Issues
) -> str | None:
    """client_id (web stream) or app_instance_id (app stream): the stream, or None if neither."""
    cid, aid = values.get("client_id") or None, values.get("app_instance_id") or None
    if cid is not None and aid is not None:
        issues.error(
            "$.app_instance_id",
            "VALUE_INVALID",
            "expected one of client_id (web stream) or app_instance_id (app stream), got both; send only "
            "the id of the stream the query names (measurement_id or firebase_app_id)",
        )
    if cid is not None:
        shared["anonymous_id"] = cid
        return "web"
    if aid is not None:
        shared["anonymous_id"] = aid
        shared["extras"]["$id"] = "app_instance_id"
        return "app"
    sent = [payload.get(k, MISSING) for k in ("client_id", "app_instance_id")]
    if not any(v not in (None, "", MISSING) for v in sent):  # a value of the wrong type is already reported
        issues.error(
            "$.client_id",
            "VALUE_REQUIRED",
            f"expected client_id (web stream) or app_instance_id (app stream), got {describe(sent[0])}; "
            "GA4 drops a request without one. Send the gtag client id, such as '123456.7654321'",
        )
    return None


def _request(
    values: dict[str, Any],
    shared: dict[str, Any],
    ctx: DecodeContext,
    enforce: bool,
    issues: Issues,
) -> None:
    extras = shared["extras"]
    if "user_id" in values:
        shared["user_id"] = values["user_id"]
    if "validation_behavior" in values:
        extras["$validation_behavior"] = values["validation_behavior"]
    if "timestamp_micros" in values:
        extras["$request_timestamp_micros"] = r.micros(values["timestamp_micros"])
    props = values.get("user_properties")
    if props is not None:
        user, meta = _user_properties(props, ctx, enforce, issues)
        shared["user"] = user
        if meta:
            extras["user_properties"] = meta
    consent = values.get("consent")
    if consent is not None:
        read_fields(CONSENT, consent, "$.consent", issues)
        shared["consent"] = dict(consent)
    if "non_personalized_ads" in values:
        shared["consent"] = {**(consent or {}), "non_personalized_ads": values["non_personalized_ads"]}
        if consent == {}:
            extras["$empty_consent"] = True
    context = {key: values[wire] for wire, key in _CONTEXT if wire in values}
    if context:
        shared["context"] = context
    if "user_location" in values:
        r.check_location(values["user_location"], issues)


def _user_properties(
    props: dict[str, Any], ctx: DecodeContext, enforce: bool, issues: Issues
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Traits (name -> value) and what else each property carries (its timestamp_micros)."""
    if len(props) > r.MAX_USER_PROPERTIES:
        issues.error(
            "$.user_properties",
            "EXCEEDED_MAX_ENTITIES",
            f"expected at most {r.MAX_USER_PROPERTIES} user properties, got {len(props)}; remove some",
        )
    user: dict[str, Any] = {}
    meta: dict[str, Any] = {}
    for name, prop in props.items():
        if type(name) is not str:
            issues.error("$.user_properties", "TYPE_INVALID", f"expected string names, got {describe(name)}")
            continue
        path = ("$.user_properties", name)
        if type(prop) is not dict:
            issues.error(path, "TYPE_INVALID", f"expected {{value, timestamp_micros?}}, got {describe(prop)}")
            continue
        if "value" not in prop:
            issues.error(
                (path, "value"), "VALUE_REQUIRED", "expected the property's value, got none; add value"
            )
        else:
            user[name] = prop["value"]
        r.check_user_property(name, prop.get("value"), path, issues)
        if prop.get("timestamp_micros") is not None:
            tpath = (path, "timestamp_micros")
            ts = r.read_micros(prop["timestamp_micros"], tpath, issues)
            if ts is not None:
                r.check_time(ts, tpath, ctx.received_at, enforce, issues)
        rest = {k: v for k, v in prop.items() if k != "value"}
        if rest:
            meta[name] = rest
    return user, meta


def _event(
    raw: Any,
    base: str,
    event: Event,
    request_ts: datetime | None,
    stream: str | None,
    ctx: DecodeContext,
    enforce: bool,
    issues: Issues,
) -> None:
    if type(raw) is not dict:
        issues.error(base, "TYPE_INVALID", f"expected an event object {{name, params}}, got {describe(raw)}")
        return
    values, rest = read_fields(EVENT, raw, base, issues)
    if rest:
        event.extras["event"] = rest
    name = values.get("name", "")
    if name:
        event.name = name
        r.check_event_name(name, (base, "name"), stream, issues)
    elif raw.get("name") in (None, ""):
        issues.error(
            (base, "name"),
            "VALUE_REQUIRED",
            f"expected the event's name, got {describe(raw.get('name', MISSING))}",
        )
    params = values.get("params")
    ppath = base + ".params"
    if params is None:
        event.extras["$no_params"] = True
    else:
        start = len(issues.items)
        r.check_params(params, ppath, issues)
        event.commerce, event.properties = ga4.read_commerce(params, ppath, issues)
        if enforce:
            _enforce_types(issues, start)
    if name:
        ga4.check_event(name, event.commerce, [(ppath, params or {})], issues)
    where: Path = "$.timestamp_micros"
    if "timestamp_micros" in values:
        event.timestamp, where = values["timestamp_micros"], (base, "timestamp_micros")
        event.extras["$timestamp"] = "event"
    elif params is not None and params.get("timestamp_micros") is not None:
        where = (ppath, "timestamp_micros")
        event.timestamp = r.read_micros(params["timestamp_micros"], where, issues)
        event.extras["$timestamp"] = "params"
    elif request_ts is not None:
        event.timestamp = request_ts
        event.extras["$timestamp"] = "request"
    if event.timestamp is not None:
        r.check_time(event.timestamp, where, ctx.received_at, enforce, issues)


def _enforce_types(issues: Issues, start: int) -> None:
    """ENFORCE_RECOMMENDATIONS rejects parameters of the wrong type: NUMBER_AS_STRING becomes an error."""
    for n in range(start, len(issues.items)):
        issue = issues.items[n]
        if issue.code == "NUMBER_AS_STRING" and not issue.is_error:
            issues.items[n] = msgspec.structs.replace(
                issue,
                severity=Severity.ERROR,
                message=issue.message + "; GA4 rejects it under ENFORCE_RECOMMENDATIONS",
            )
