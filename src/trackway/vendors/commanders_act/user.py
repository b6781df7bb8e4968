"""Commanders Act ``user`` and server ``context``: decoding, rules and rendering.

``user.id`` is ``Event.user_id``, ``consistent_anonymous_id`` ``Event.anonymous_id``,
``consent_categories`` ``Event.consent["categories"]`` (as strings); every other
field is a trait under its canonical name (``firstname`` is ``first_name``, and
``firstname_sha256`` is ``first_name_sha256``). The server ``context`` gives
``Event.id``, ``Event.timestamp`` and ``Event.context``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from trackway.dialects.fields import merge_extras
from trackway.issues import Issues, Path, describe, show
from trackway.model import CONSENT_DERIVED, Event
from trackway.rules.identity import hash_rule_for
from trackway.rules.values import INVALID, ident
from trackway.vendors.commanders_act import schema as s

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_SUFFIXES = ("_md5", "_sha256")
ABSENT: Any = INVALID  # write_user's "no user key at all"


def canonical_trait(key: str) -> str:
    for suffix in _SUFFIXES:
        if key.endswith(suffix):
            base = key[: -len(suffix)]
            return s.TRAIT_NAMES.get(base, base) + suffix
    return s.TRAIT_NAMES.get(key, key)


def wire_trait(key: str) -> str:
    for suffix in _SUFFIXES:
        if key.endswith(suffix):
            base = key[: -len(suffix)]
            return s.WIRE_TRAIT_NAMES.get(base, base) + suffix
    return s.WIRE_TRAIT_NAMES.get(key, key)


def read_user(raw: Any, path: Path, event: Event, issues: Issues) -> None:
    """Fill the event's identity, traits and consent from a ``user`` object."""
    if raw is None:
        event.extras["user"] = None
        return
    if type(raw) is not dict:
        issues.error(path, "TYPE_INVALID", f"expected a user object {{id, email, ...}}, got {describe(raw)}")
        return
    values, rest = s.USER.read(raw, path, issues)
    kept: dict[str, Any] = {}  # keys a canonical name cannot give back: Event.extras["user"]
    traits: dict[str, Any] = {}
    for key, v in rest.items():
        if v is None or key in s.USER.by_wire:
            kept[key] = v
            continue
        rule = hash_rule_for(key)
        if rule is not None:
            v = rule(v, (path, key), issues)  # upper-case hex is read lower-cased
            if v is INVALID:
                continue
        name = canonical_trait(key)
        if wire_trait(name) == key:
            traits[name] = v
        else:
            kept[key] = v
    event.user_id = values.pop("user_id", None)
    event.anonymous_id = values.pop("anonymous_id", None)
    categories = values.pop("consent.categories", None)
    if categories is not None:
        cats = []
        for n, c in enumerate(categories):
            v = ident(c, ((path, "consent_categories"), n), issues)
            if v is not INVALID:
                cats.append(v)
        event.consent = {"categories": cats}
        if any(type(c) is not str for c in categories):
            event.extras["$consent_categories"] = categories
    traits.update(values)
    if traits:
        event.user = traits
    if kept or not raw:
        event.extras["user"] = kept
    check_user(raw, path, issues)


def check_user(raw: dict[str, Any], path: Path, issues: Issues) -> None:
    """The User table's starred fields: warnings when none of their forms is sent."""
    wanted = (
        ("id", ("id",), "the user's main identifier (CRM id); many destinations need it"),
        ("email", ("email", "email_sha256"), "the email, or email_sha256; many destinations need it"),
        (
            "phone",
            ("phone", "phone_md5", "phone_sha256"),
            "the phone (E.164) or its hashes; some destinations need it",
        ),
    )
    for key, forms, what in wanted:
        if not any(raw.get(f) not in (None, "") for f in forms):
            issues.warning((path, key), "RECOMMENDED_MISSING", f"expected {what}, got none")


def check_server_user(name: str, raw: Any, base: Path, issues: Issues) -> None:
    """Server form only: the cact SDK does not complete the user there."""
    rule = s.EVENTS.get(name)
    if raw is None:
        if rule is not None and rule.user:
            issues.error(
                (base, "user"),
                "VALUE_REQUIRED",
                f"expected a user object on a server-side {name} event, got none; "
                "add user {id, email, consent_categories, ...}",
            )
        else:
            issues.warning(
                (base, "user"),
                "RECOMMENDED_MISSING",
                "expected a user object {consistent_anonymous_id, id, consent_categories, ...}, got none",
            )
        return
    if type(raw) is not dict:
        return
    if raw.get("consent_categories") is None:
        issues.warning(
            ((base, "user"), "consent_categories"),
            "RECOMMENDED_MISSING",
            "expected the user's consent_categories, got none; without them Commanders Act shares "
            "the event with no destination. Send the categories the user consented to, such as [1, 3]",
        )
    if raw.get("consistent_anonymous_id") in (None, ""):
        issues.warning(
            ((base, "user"), "consistent_anonymous_id"),
            "RECOMMENDED_MISSING",
            "expected the user's consistent_anonymous_id (the HTTP API requires it), got none; add it",
        )


def read_context(raw: Any, path: Path, event: Event, issues: Issues) -> None:
    """``context``: event_id and event_timestamp (required), page and device."""
    if raw is not None and type(raw) is not dict:
        issues.error(
            path, "TYPE_INVALID", f"expected a context object {{event_id, ...}}, got {describe(raw)}"
        )
        return
    obj = raw or {}
    values, rest = s.CONTEXT.read(obj, path, issues)
    for key, what in (("event_id", "the event's unique id"), ("event_timestamp", "the time in ms")):
        if obj.get(key) is None or obj.get(key) == "":
            issues.error(
                (path, key),
                "VALUE_REQUIRED",
                f"expected context.{key} ({what}), got "
                f"{'none' if key not in obj else describe(obj[key])}; add it",
            )
    if values.get("id"):
        event.id = values["id"]
    if "timestamp" in values:
        event.timestamp = read_timestamp(values["timestamp"], (path, "event_timestamp"), issues)
    context: dict[str, Any] = {}
    extras: dict[str, Any] = dict(rest)
    for key, table in (("page", s.PAGE), ("device", s.DEVICE)):
        sub = values.get(key)
        if sub is None:
            continue
        known, unknown = table.read(sub, (path, key), issues)
        for target, v in known.items():
            if target.startswith("page."):
                context.setdefault("page", {})[target[5:]] = v
            else:
                context[target] = v
        if unknown or not known:
            extras[key] = unknown
    if context:
        event.context = context
    if extras:
        event.extras["context"] = extras


def read_timestamp(ms: int, path: Path, issues: Issues) -> datetime | None:
    try:
        ts = EPOCH + timedelta(milliseconds=ms)
    except OverflowError:
        issues.error(
            path, "VALUE_OUT_OF_BOUNDS", f"expected a time in ms since 1970-01-01 UTC, got {ms}; out of range"
        )
        return None
    if 0 <= ms < 10**11:
        issues.warning(
            path,
            "VALUE_OUT_OF_BOUNDS",
            f"expected milliseconds since 1970-01-01 UTC, got {ms} ({ts:%Y-%m-%d}); "
            "it looks like seconds: multiply by 1000",
        )
    return ts


def write_user(event: Event, issues: Issues, path: str) -> Any:
    """The ``user`` object, None for a ``user: null`` sent as such, or ABSENT for no user."""
    user: dict[str, Any] = {}
    if event.user_id is not None:
        user["id"] = event.user_id
    if event.anonymous_id is not None:
        user["consistent_anonymous_id"] = event.anonymous_id
    for key, v in (event.user or {}).items():
        wire = wire_trait(key)
        if wire in user or (wire in s.USER.by_wire and s.USER.by_wire[wire].target != key):
            issues.warning(
                f"user.{key}",
                "NOT_CARRIED",
                f"the trait {key!r} = {show(v)} would overwrite user.{wire}; it is left out",
            )
            continue
        user[wire] = v
    consent = {k: v for k, v in (event.consent or {}).items() if k not in CONSENT_DERIVED}
    for key, v in consent.items() if issues.keeps_warnings else ():
        if key != "categories":
            issues.warning(
                f"consent.{key}",
                "NOT_CARRIED",
                f"Commanders Act carries consent as user.consent_categories only; "
                f"{key} = {show(v)} is left out",
            )
    if "categories" in consent:
        cats = consent["categories"]
        raw = event.extras.get("$consent_categories")
        if type(raw) is list and type(cats) is list and [str(c) for c in raw] == cats:
            cats = raw
        user["consent_categories"] = cats
    kept = event.extras.get("user", ABSENT)
    if type(kept) is dict:
        merge_extras(user, kept, path, issues)
        return user
    if kept is None and not user:
        return None  # the source sent user: null
    return user if user else ABSENT


def write_context(event: Event, issues: Issues) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if event.id:
        out["event_id"] = event.id
    ts = event.timestamp
    if ts is None and event.received_at is not None:
        ts = event.received_at
        issues.warning(
            "timestamp",
            "VALUE_FILLED",
            "the event has no timestamp; context.event_timestamp is filled from received_at",
        )
    if ts is not None:
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=UTC)
        ms, rest = divmod(ts - EPOCH, _MS)
        out["event_timestamp"] = ms
        if rest and issues.keeps_warnings:
            issues.warning(
                "timestamp",
                "NOT_CARRIED",
                f"context.event_timestamp is in milliseconds; the timestamp's {rest.microseconds % 1000} µs "
                "beyond them are left out",
            )
    page: dict[str, Any] = {}
    device: dict[str, Any] = {}
    for key, v in (event.context or {}).items():
        if key == "page" and type(v) is dict:
            for pk, pv in v.items():
                field = s.PAGE.by_target.get(f"page.{pk}")
                if field is not None:
                    page[field.wire] = pv
                else:
                    issues.warning(
                        f"context.page.{pk}",
                        "NOT_CARRIED",
                        f"Commanders Act's context.page has no {pk} ({show(pv)}); it is left out",
                    )
        elif key in s.DEVICE.by_target:
            device[s.DEVICE.by_target[key].wire] = v
        else:
            issues.warning(
                f"context.{key}",
                "NOT_CARRIED",
                f"Commanders Act's context has no {key} ({show(v)}); it is left out",
            )
    extras = event.extras.get("context")
    extras = extras if type(extras) is dict else {}
    for key, sub in (("page", page), ("device", device)):
        kept = extras.get(key)
        if type(kept) is dict:
            merge_extras(sub, kept, f"$.context.{key}", issues)
        if sub or type(kept) is dict:
            out[key] = sub
    merge_extras(out, {k: v for k, v in extras.items() if k not in out}, "$.context", issues)
    return out
