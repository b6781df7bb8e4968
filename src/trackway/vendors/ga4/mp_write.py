"""Rendering canonical events as Measurement Protocol bodies, grouped into requests.

An event renders as request-level fields (identity, user properties, consent,
context) plus one element of ``events``. Consecutive events whose request-level
fields are equal share a body, 25 events at most.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from trackway.dialects.base import report_foreign_extras
from trackway.dialects.fields import merge_extras
from trackway.issues import Issues, show
from trackway.model import CONSENT_DERIVED, Event
from trackway.vendors.ga4 import common as ga4
from trackway.vendors.ga4 import mp_rules as r

DIALECT = "ga4-mp"
CONSENT_KEYS = ("ad_user_data", "ad_personalization")
# Traits that identify a person: GA4 forbids them in user properties (user_data takes hashed ones).
PERSONAL = frozenset(
    {"email", "phone", "first_name", "last_name", "birthdate", "street", "address", "zipcode", "postal_code"}
)


def personal(trait: str) -> bool:
    """Whether a user trait identifies a person (plain or hashed): never a GA4 user property."""
    return trait in PERSONAL or trait.endswith(("_md5", "_sha256"))


PAGE = (("url", "page_location"), ("title", "page_title"), ("referrer", "page_referrer"))
_CONTEXT = {"ip": "ip_override", "user_agent": "user_agent", "device": "device"}
_CONTEXT |= {"location": "user_location", "user_data": "user_data"}


def render_request(event: Event, issues: Issues) -> dict[str, Any]:
    """The request-level fields of ``event``'s body (no ``events``)."""
    out: dict[str, Any] = {}
    x = event.extras
    if event.anonymous_id:
        out["app_instance_id" if x.get("$id") == "app_instance_id" else "client_id"] = event.anonymous_id
    else:
        issues.warning(
            "anonymous_id",
            "VALUE_REQUIRED",
            "the event has no anonymous_id, so the body has no client_id (or app_instance_id) and GA4 "
            "would drop it; none is invented. Set the event's anonymous_id to the gtag client id",
        )
    if event.user_id is not None:
        out["user_id"] = event.user_id
    if x.get("$timestamp") == "request" and event.timestamp is not None:
        out["timestamp_micros"] = r.micros(event.timestamp)
    elif "$request_timestamp_micros" in x:
        out["timestamp_micros"] = x["$request_timestamp_micros"]
    own = event.dialect == DIALECT
    if event.user is not None:
        props = _user_properties(event, own, issues)
        if props or own:
            out["user_properties"] = props
    if event.consent is not None:
        consent = {k: v for k, v in event.consent.items() if k not in CONSENT_DERIVED}
        if "non_personalized_ads" in consent:
            out["non_personalized_ads"] = consent.pop("non_personalized_ads")
        if not own:
            for key in [k for k in consent if k not in CONSENT_KEYS]:
                issues.warning(
                    f"consent.{key}",
                    "NOT_CARRIED",
                    f"GA4 consent has ad_user_data and ad_personalization only; {key} = "
                    f"{show(consent.pop(key))} is left out",
                )
        # an MP body's own empty consent is rendered back; not the empty rest of derived
        # purposes alone (a stored event with no signal): GA4 then applies its own default
        sent_empty = own and not any(k in CONSENT_DERIVED for k in event.consent)
        if consent or (sent_empty and ("non_personalized_ads" not in out or x.get("$empty_consent"))):
            out["consent"] = consent
    for key, value in (event.context or {}).items():
        if key in _CONTEXT:
            out[_CONTEXT[key]] = value
        elif key != "page":
            issues.warning(
                f"context.{key}",
                "NOT_CARRIED",
                f"a Measurement Protocol body has no place for context.{key} ({show(value)}); it is left out",
            )
    if "$validation_behavior" in x:
        out["validation_behavior"] = x["$validation_behavior"]
    request = x.get("request")
    if type(request) is dict:
        merge_extras(out, request, "$", issues)
    return out


def _user_properties(event: Event, own: bool, issues: Issues) -> dict[str, Any]:
    meta = event.extras.get("user_properties")
    meta = meta if type(meta) is dict else {}
    out: dict[str, Any] = {}
    for name, value in (event.user or {}).items():
        if not own and personal(name):
            issues.warning(
                f"user.{name}",
                "NOT_CARRIED",
                f"GA4 forbids personal data in user properties; the trait {name} is left out "
                "(hashed email, phone and address go in user_data)",
            )
            continue
        if not own:  # a trait GA4 would refuse is optional data: left out, not the event refused
            refused = _refused_user_property(name, value)
            if refused is not None:
                issues.warning(f"user.{name}", "NOT_CARRIED", f"{refused}; the trait is left out")
                continue
        prop = {"value": value}
        extra = meta.get(name)
        if type(extra) is dict:
            merge_extras(prop, extra, f"$.user_properties.{name}", issues)
        out[name] = prop
    return out


def _refused_user_property(name: str, value: Any) -> str | None:
    """Why GA4's rules refuse ``name`` as a user property with ``value`` (a name over 24
    characters, a reserved one, a value over 36 or not a string or a number), or None."""
    found = Issues()
    r.check_user_property(name, value, (("$", "user_properties"), name), found)
    errors = [i.message for i in found.items if i.is_error]
    return errors[0] if errors else None


def render_event(event: Event, base: str, issues: Issues) -> dict[str, Any]:
    """One element of ``events``; ``base`` is its path in the body."""
    out: dict[str, Any] = {"name": event.name}
    x = event.extras
    params: dict[str, Any] = {}
    if event.commerce is not None:
        params = ga4.write_event_commerce(event, DIALECT, issues, f"{base}.params") or {}
    for key, value in event.properties.items():
        if key in params and params[key] != value:
            issues.warning(
                f"properties.{key}",
                "NOT_CARRIED",
                f"the property {key} = {show(value)} clashes with the commerce parameter {key} = "
                f"{show(params[key])}; the commerce one is kept",
            )
            continue
        params[key] = value
    page = (event.context or {}).get("page")
    if type(page) is dict:
        _page(page, params, issues)
    if params or not x.get("$no_params"):
        out["params"] = params
    if event.timestamp is not None and x.get("$timestamp") in (None, "event"):
        out["timestamp_micros"] = r.micros(event.timestamp)
    if event.id and issues.keeps_warnings:  # every stored event has one: no text for an encoder's check
        issues.warning(
            "id",
            "NOT_CARRIED",
            f"a Measurement Protocol event has no id; {event.id!r} is left out",
        )
    kept = x.get("event")
    if type(kept) is dict:
        merge_extras(out, kept, base, issues)
    report_foreign_extras(x, frozenset({"request", "event", "user_properties"}), DIALECT, issues)
    return out


def _page(page: dict[str, Any], params: dict[str, Any], issues: Issues) -> None:
    """context.page as GA4's page_location, page_title and page_referrer parameters."""
    wire = dict(PAGE)
    for key, value in page.items():
        name = wire.get(key)
        if name is None:
            issues.warning(
                f"context.page.{key}",
                "NOT_CARRIED",
                f"GA4 has no page parameter for {key} ({show(value)}); it is left out",
            )
        elif name not in params:
            params[name] = value


def group(events: list[Event], issues: Issues) -> Iterator[tuple[dict[str, Any], list[int]]]:
    """Bodies of consecutive events with equal request-level fields (at most 25 events),
    each with the indices of its events in ``events``."""
    body: dict[str, Any] | None = None
    request: dict[str, Any] = {}
    members: list[int] = []
    for n, event in enumerate(events):
        issues.event = n
        req = render_request(event, issues)
        if body is None or req != request or len(members) == r.MAX_EVENTS:
            if body is not None:
                yield body, members
            request, members = req, []
            body = {**req, "events": []}
        body["events"].append(render_event(event, f"$.events[{len(members)}]", issues))
        members.append(n)
    if body is not None:
        yield body, members
