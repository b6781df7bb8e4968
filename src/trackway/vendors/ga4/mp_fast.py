"""The typed fast path of ``ga4-mp``: plain Measurement Protocol bodies straight from JSON bytes.

The general path (:func:`trackway.vendors.ga4.mp_read.decode_body` with the rules of
``ga4_mp_rules``) is the reference. This path decodes a body with msgspec into wire
Structs derived from gtm-ga4's (:data:`ga4.FastItem`, :data:`ga4.FastCommerce`, see
``fastpath.py``), so most checks happen in C, and gives exactly the events and issues
the general path gives, or None (the general path decodes the body) for anything it
cannot prove plain. ``tests/vendors/ga4/test_ga4_mp_fast.py`` checks both on generated bodies.

Plain is:

- the body: ``client_id`` or ``app_instance_id`` (one, not empty), ``user_id``,
  ``timestamp_micros``, ``user_properties`` (at most 25, ``{value, timestamp_micros?}``
  with a string of at most 36 characters, an integer or a boolean as the value, names
  GA4 allows), ``consent`` (``ad_user_data`` and ``ad_personalization``, GRANTED or
  DENIED), ``non_personalized_ads``, ``ip_override``, ``user_agent``,
  ``validation_behavior``, and 1 to 25 ``events``. ``user_data``, ``user_location``
  and ``device`` (objects kept as sent) are not plain;
- an event: ``{name, params?, timestamp_micros?}`` with a name GA4 allows;
- its params: GA4's commerce parameters (``ga4.COMMERCE``, items as ``ga4.ITEM``) as
  gtm-ga4's fast path reads them, and the plain parameters of :data:`PLAIN_PARAMS`
  (strings, whole numbers, booleans), and custom parameters: a name GA4 allows (not a
  reserved one or prefix), a string of at most 100 characters, a whole number within 64
  bits or a boolean, at most 25 parameters in all, not under ``ENFORCE_RECOMMENDATIONS``
  (such a body is decoded a second time with its params as dicts: ``mp_wire.with_custom``);
- every string of params and items at most 100 characters (``session_id`` and
  ``session_number`` exempt), every timestamp a whole number within 64 bits.

Issues the path still reports itself, with the general path's own functions in its
order: timestamps that look like seconds or milliseconds and the 72 hours
(``read_micros``, ``check_time``), GA4's rules for the event name (``check_event_with``)
and the amounts' precision (``check_amounts``).
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET

from trackway.dialects.base import DecodeContext
from trackway.dialects.fastpath import Fallback
from trackway.issues import Issues, Path
from trackway.model import Commerce, Event
from trackway.rules.values import sent
from trackway.vendors.ga4 import common as ga4
from trackway.vendors.ga4 import mp_rules as r
from trackway.vendors.ga4.mp_wire import (
    ATTR,
    COMMERCE_ATTRS,
    FREE_ATTRS,
    PLAIN_PARAMS,
    TS_ATTR,
    decoder,
    loose_decoder,
    with_custom,
)

_EMPTY = Commerce()
_BASES = tuple(f"$.events[{n}]" for n in range(r.MAX_EVENTS))
_PARAMS = tuple(f"{b}.params" for b in _BASES)
_NOT_PLAIN = (msgspec.DecodeError, Fallback, UnicodeEncodeError, RecursionError)  # surrogates, depth


def decode_plain_mp(
    data: bytes | str, dialect: str, ctx: DecodeContext, issues: Issues
) -> list[Event] | None:
    """The events of a plain body, as ``decode_body`` gives them; None: not plain."""
    start = len(issues.items)
    try:
        try:
            w, custom = decoder.decode(data), None
        except msgspec.ValidationError:  # custom parameters, or not plain at all
            w, custom = with_custom(loose_decoder.decode(data))
        events: list[Event] | None = _decode(w, dialect, ctx, issues, custom)
    except _NOT_PLAIN:
        del issues.items[start:]  # what this path reported is the general path's to report
        events = None
    return events  # the adapter's decode_plain sets issues.event back to -1


def _decode(
    w: Any, dialect: str, ctx: DecodeContext, issues: Issues, custom: list[dict[str, Any]] | None = None
) -> list[Event]:
    issues.event = -1
    cid, aid = w.client_id or None, w.app_instance_id or None  # UNSET is false, as "" is
    if (cid is None) == (aid is None):  # neither (VALUE_REQUIRED) or both (VALUE_INVALID)
        raise Fallback
    stream = "web" if cid is not None else "app"
    enforce = w.validation_behavior == "ENFORCE_RECOMMENDATIONS"
    request_ts = None
    if w.timestamp_micros is not UNSET:
        request_ts = r.read_micros(w.timestamp_micros, "$.timestamp_micros", issues)
        if request_ts is None:
            raise Fallback
    extras: dict[str, Any] = {}  # in the general path's order (_identity, then _request)
    if aid is not None:
        extras["$id"] = "app_instance_id"
    if w.validation_behavior is not UNSET:
        extras["$validation_behavior"] = w.validation_behavior
    if request_ts is not None:
        extras["$request_timestamp_micros"] = r.micros(request_ts)
    user = meta = None
    if w.user_properties is not UNSET:
        user, meta = _user_properties(w.user_properties, ctx, enforce, issues)
        if meta:
            extras["user_properties"] = meta
    consent = None if w.consent is UNSET else w.consent
    if w.non_personalized_ads is not UNSET:
        consent = {**(consent or {}), "non_personalized_ads": w.non_personalized_ads}
        if w.consent == {}:
            extras["$empty_consent"] = True
    context = {}
    if w.ip_override is not UNSET:
        context["ip"] = w.ip_override
    if w.user_agent is not UNSET:
        context["user_agent"] = w.user_agent
    request = (
        cid or aid,
        None if w.user_id is UNSET else w.user_id,
        user,
        consent,
        context or None,
        extras,
        meta,
        request_ts,
    )
    out = []
    for n, e in enumerate(w.events):
        issues.event = n
        out.append(
            _event(e, n, request, stream, dialect, ctx, enforce, issues, custom[n] if custom else None)
        )
    return out


def _user_properties(
    props: dict[str, Any], ctx: DecodeContext, enforce: bool, issues: Issues
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``rd._user_properties`` for plain properties: traits, and each one's timestamp."""
    user: dict[str, Any] = {}
    meta: dict[str, Any] = {}
    for name, prop in props.items():
        if not _user_property_name_ok(name):
            raise Fallback
        user[name] = prop.value
        if prop.timestamp_micros is not UNSET:
            path = (("$.user_properties", name), "timestamp_micros")
            ts = r.read_micros(prop.timestamp_micros, path, issues)
            if ts is None:
                raise Fallback
            r.check_time(ts, path, ctx.received_at, enforce, issues)
            meta[name] = {"timestamp_micros": prop.timestamp_micros}
    return user, meta


def _event(
    e: Any,
    n: int,
    request: tuple[Any, ...],
    stream: str,
    dialect: str,
    ctx: DecodeContext,
    enforce: bool,
    issues: Issues,
    custom: dict[str, Any] | None = None,
) -> Event:
    anonymous_id, user_id, user, consent, context, shared, meta, request_ts = request
    base = _BASES[n]
    ts = None
    if e.timestamp_micros is not UNSET:
        ts = r.read_micros(e.timestamp_micros, (base, "timestamp_micros"), issues)
        if ts is None:
            raise Fallback
    name = e.name
    if not _event_name_ok(name, stream):
        raise Fallback
    extras = dict(shared)
    if meta:  # each event owns its request-level objects, as on the general path
        extras["user_properties"] = {k: dict(v) for k, v in meta.items()}
    p = e.params
    ppath = _PARAMS[n]
    if p is UNSET:
        extras["$no_params"] = True
        commerce = None
        properties: dict[str, Any] = {}
        ga4.check_event(name, None, [(ppath, {})], issues)
    else:
        commerce = ga4.fast_commerce(p)
        if commerce == _EMPTY:  # no commerce parameter: read_commerce gives None
            commerce = None
        properties = _free_params(p, custom)
        _check_rules(name, p, commerce, ppath, issues)
    where: Path = "$.timestamp_micros"
    if ts is not None:
        where = (base, "timestamp_micros")
        extras["$timestamp"] = "event"
    elif p is not UNSET and getattr(p, TS_ATTR) is not UNSET:
        where = (ppath, "timestamp_micros")
        ts = r.read_micros(getattr(p, TS_ATTR), where, issues)
        if ts is None:
            raise Fallback
        extras["$timestamp"] = "params"
    elif request_ts is not None:
        ts = request_ts
        extras["$timestamp"] = "request"
    if ts is not None:
        r.check_time(ts, where, ctx.received_at, enforce, issues)
    return Event(
        name=name,
        dialect=dialect,
        timestamp=ts,
        anonymous_id=anonymous_id,
        user_id=user_id,
        user=None if user is None else dict(user),
        consent=None if consent is None else dict(consent),
        context=None if context is None else dict(context),
        commerce=commerce,
        properties=properties,
        extras=extras,
    )


def _free_params(p: Any, custom: dict[str, Any] | None = None) -> dict[str, Any]:
    """The plain and custom parameters sent, as ``properties``; more than 25 parameters
    are not plain."""
    properties: dict[str, Any] = _sent_plain(p)
    if custom:
        properties.update(custom)
    if len(properties) + len(COMMERCE_ATTRS) > r.MAX_PARAMS:  # may be over: count (EXCEEDED_MAX_ENTITIES)
        sent_commerce = [a for a in COMMERCE_ATTRS if (v := getattr(p, a)) is not None and v is not UNSET]
        if len(properties) + len(sent_commerce) > r.MAX_PARAMS:
            raise Fallback
    return properties


def _compile_sent_plain() -> Any:
    """``sent_plain(p)``: the PLAIN_PARAMS sent, by wire name. Unrolled (one attribute test
    each) measured 0.25 us an event against 0.4 for attrgetter and a tuple compare."""
    src = ["def sent_plain(p):", "    out = {}"]
    for attr, wire in zip(FREE_ATTRS, PLAIN_PARAMS, strict=True):
        src += [f"    x = p.{attr}", "    if x is not UNSET:", f"        out[{wire!r}] = x"]
    src.append("    return out")
    env: dict[str, Any] = {"UNSET": UNSET}
    exec("\n".join(src), env)
    return env["sent_plain"]


_sent_plain = _compile_sent_plain()


def _check_rules(name: str, p: Any, commerce: Commerce | None, ppath: str, issues: Issues) -> None:
    """``ga4.check_event`` for the params struct (as gtm-ga4's fast path does)."""
    needs = _NEEDS.get(name, _UNKNOWN)
    if needs is _UNKNOWN:
        fields = ga4.fast_rule_fields(name)
        needs = None if fields is None else tuple(ATTR[k] for k in fields)
        if len(_NEEDS) < 1000:
            _NEEDS[name] = needs
    if needs is not None and commerce is not None and commerce.currency is not None:
        for attr in needs:
            v = getattr(p, attr)
            if v is UNSET or v is None or ((v.__class__ is str or v.__class__ is list) and not v):
                break
        else:  # every rule holds: only the amounts' precision is left to check
            ga4.check_amounts(commerce, ppath, issues)
            return

    def present(key: str) -> bool:
        attr = ATTR.get(key)
        if attr is None:
            return False
        v = getattr(p, attr)
        return v is not UNSET and sent(v)

    ga4.check_event_with(name, commerce, present, ppath, ppath, issues)


_UNKNOWN: Any = object()
_NEEDS: dict[str, tuple[str, ...] | None] = {}  # event name -> attributes its rules need (bounded)
_EVENT_NAMES: dict[tuple[str, str], bool] = {}  # (name, stream) -> GA4 allows it (bounded)
_USER_PROPERTY_NAMES: dict[str, bool] = {}


def _event_name_ok(name: str, stream: str) -> bool:
    ok = _EVENT_NAMES.get((name, stream))
    if ok is None:
        scratch = Issues()
        r.check_event_name(name, "$", stream, scratch)
        ok = bool(name) and not scratch.items
        if len(_EVENT_NAMES) < 1000:
            _EVENT_NAMES[(name, stream)] = ok
    return ok


def _user_property_name_ok(name: str) -> bool:
    ok = _USER_PROPERTY_NAMES.get(name)
    if ok is None:
        scratch = Issues()
        r.check_user_property(name, None, "$", scratch)
        ok = not scratch.items
        if len(_USER_PROPERTY_NAMES) < 1000:
            _USER_PROPERTY_NAMES[name] = ok
    return ok
