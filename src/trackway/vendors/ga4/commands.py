"""Entries of a dataLayer that are no event: gtag.js commands, and GTM's ecommerce clear.

**gtag.js commands** other than ``event``: ``config``, ``set``, ``consent``, ``js``, ``get``.

gtag.js pushes every call onto the dataLayer, not only ``event``: Google's gtag.js
reference documents ``gtag('config', TARGET_ID, {params})`` (a tag's settings),
``gtag('set', {params})`` and ``gtag('set', NAME, value)`` (values for the events
after it), ``gtag('consent', 'default'|'update', {types})`` (consent mode),
``gtag('js', new Date())`` (the load time; serialised as a string) and
``gtag('get', TARGET_ID, FIELD, callback)``. 2Checkout's document says the first
element "can either be event or config".

They are legitimate entries, not events: ``gtag-ga4`` and ``gtag-ua`` decode one to
**no event and no error** (a non-event, valid: it is neither stored nor counted as
rejected). Only their shape is checked, with PAYLOAD_INVALID, TYPE_INVALID or
VALUE_REQUIRED errors for a command no gtag.js would accept; a ``consent`` command is
checked as the collector applies it (:func:`trackway.vendors.ga4.consent.issues_of_command`).
Their settings are not applied to other payloads here: the collector's batch endpoint
applies ``consent`` commands to the events after them.

**The ecommerce clear** ``dataLayer.push({ecommerce: null})``, which Google's GA4 and
Universal Analytics ecommerce guides push before each ecommerce event (so GTM's merged
``ecommerce`` does not carry the previous event's items). ``gtm-ga4``, ``gtm-ua``,
``adobe-dtm`` and ``koalect`` decode an object with no ``event`` whose every key is null
to no event and no issue, as a non-event. An object without ``event`` that sets a value
is still an error: it names no event.

The two gtag dialects' sniffs share :func:`sniff` (commands) and :func:`lean` (events).
"""

from __future__ import annotations

from typing import Any

from trackway.issues import MISSING, Issues, describe
from trackway.model import Event
from trackway.vendors.ga4.consent import issues_of_command

COMMANDS = ("config", "set", "consent", "js", "get")
_SHAPES = {
    "config": "gtag('config', 'G-XXXXXXX', {params})",
    "set": "gtag('set', {params}) or gtag('set', 'name', value)",
    "consent": "gtag('consent', 'default' or 'update', {ad_storage: 'granted', ...})",
    "js": "gtag('js', new Date())",
    "get": "gtag('get', 'G-XXXXXXX', 'field_name', callback)",
}
_SIZES = {"config": (2, 3), "set": (2, 3), "consent": (3, 3), "js": (2, 2), "get": (3, 4)}


def is_command(payload: Any) -> bool:
    """Whether ``payload`` is a gtag.js command other than ``event``."""
    return type(payload) is list and len(payload) > 0 and type(payload[0]) is str and payload[0] in COMMANDS


def target(payload: Any) -> str | None:
    """The tag a ``config`` or ``get`` command names (``G-XXXXXXX``, ``UA-1234-1``), or None."""
    if is_command(payload) and payload[0] in ("config", "get") and len(payload) > 1:
        tag = payload[1]
        return tag if type(tag) is str else None
    return None


def command_error(payload: Any, issues: Issues) -> None:
    """The error for what is no gtag.js command at all."""
    issues.error(
        "$",
        "PAYLOAD_INVALID",
        f"expected a gtag.js command ['event', name, {{params}}] (or config, set, consent, js, get), "
        f"got {describe(payload)}",
    )


def check_command(payload: list[Any], issues: Issues) -> None:
    """Errors for a command gtag.js would not accept; nothing for a well-formed one."""
    event, issues.event = issues.event, -1
    try:
        _check(payload, issues)
    finally:
        issues.event = event


def _check(payload: list[Any], issues: Issues) -> None:
    name = payload[0]
    low, high = _SIZES[name]
    shape = _SHAPES[name]
    if name == "consent":
        for issue in issues_of_command(payload):
            issues.add(issue)
        return
    if not low <= len(payload) <= high:
        issues.error(
            "$",
            "PAYLOAD_INVALID",
            f"expected {shape} ({low if low == high else f'{low} to {high}'} arguments), got "
            f"{len(payload)}: {describe(payload)}",
        )
        return
    if name in ("config", "get"):
        tag = payload[1]
        if type(tag) is not str or not tag:
            code = "VALUE_REQUIRED" if tag is None or tag == "" else "TYPE_INVALID"
            issues.error(
                "$[1]", code, f"expected the tag id as a string such as 'G-XXXXXXX', got {describe(tag)}"
            )
        if name == "config" and len(payload) == 3 and type(payload[2]) is not dict:
            issues.error(
                "$[2]", "TYPE_INVALID", f"expected the config parameters {{...}}, got {describe(payload[2])}"
            )
        if name == "get" and type(payload[2]) is not str:
            issues.error(
                "$[2]", "TYPE_INVALID", f"expected the field name as a string, got {describe(payload[2])}"
            )
    elif name == "set":
        if len(payload) == 2 and type(payload[1]) is not dict:
            issues.error(
                "$[1]", "TYPE_INVALID", f"expected the parameters {{...}} to set, got {describe(payload[1])}"
            )
        if len(payload) == 3 and (type(payload[1]) is not str or not payload[1]):
            issues.error(
                "$[1]", "TYPE_INVALID", f"expected the name of the value to set, got {describe(payload[1])}"
            )


def sniff(payload: Any, own_prefix: str, other_prefix: str, default: int) -> int:
    """How sure a gtag dialect is that ``payload`` is one of its commands: a ``config``
    naming one of its tags (``G-`` for GA4, ``UA-`` for Universal Analytics) most, the
    other's tags least, any other command ``default``."""
    if not is_command(payload):
        return 0
    tag = target(payload)
    if tag is not None:
        if tag.startswith(own_prefix):
            return 90
        if tag.startswith(other_prefix):
            return 20
    if payload[0] in ("config", "get") and tag is None:
        return 0  # cact('config', {...}) is Commanders Act's
    return default


def lean(payload: Any) -> str | None:
    """Which gtag.js property an ``["event", name, params]`` array looks sent to, for the
    sniffs of gtag-ga4 and gtag-ua: None (no such array), ``"bare"`` (no parameters),
    ``"ga4"`` (GA4 items), ``"ua"`` (UA items, ``promotions`` or ``checkout_step``) or
    ``""`` (either)."""
    if type(payload) is not list or len(payload) not in (2, 3) or payload[0] != "event":
        return None
    if type(payload[1]) is not str:
        return None
    if len(payload) == 2:
        return "bare"
    params = payload[2]
    if type(params) is not dict:
        return None
    items = params.get("items")
    if type(items) is list:
        if any(type(i) is dict and ("item_id" in i or "item_name" in i) for i in items):
            return "ga4"
        if any(type(i) is dict and ("id" in i or "name" in i) for i in items):
            return "ua"
    if "promotions" in params or "checkout_step" in params:
        return "ua"
    return ""


def is_clear(payload: Any) -> bool:
    """``{ecommerce: null}`` (or any object of nulls without ``event``): GTM's clear."""
    return (
        type(payload) is dict
        and len(payload) > 0
        and "event" not in payload
        and all(v is None for v in payload.values())
    )


def open_event(payload: Any, dialect: str, issues: Issues) -> tuple[Event, Any] | None:
    """The event a gtag ``["event", name, params]`` array opens, and its parameters: a
    dict, MISSING when the array has none (``["event", name]``), or None when they are
    no object (reported). None instead of a pair for a command (checked as one) or a
    payload that is neither (reported); the gtag-ga4 and gtag-ua decoders share it."""
    if is_command(payload):
        check_command(payload, issues)
        return None
    if type(payload) is not list or len(payload) not in (2, 3) or payload[0] != "event":
        command_error(payload, issues)
        return None
    name = payload[1]
    if type(name) is not str or not name:
        issues.error("$[1]", "VALUE_REQUIRED", f"expected the event name as a string, got {describe(name)}")
        return None
    event = Event(name=name, dialect=dialect)
    if len(payload) == 2:
        return event, MISSING
    params = payload[2]
    if type(params) is not dict:
        issues.error(
            "$[2]", "TYPE_INVALID", f"expected the parameters object {{...}}, got {describe(params)}"
        )
        return event, None
    return event, params
