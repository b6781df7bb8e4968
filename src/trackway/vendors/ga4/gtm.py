"""``gtm-ga4``: Google Tag Manager dataLayer objects with GA4 ecommerce.

``{"event": name, "ecommerce": {currency, value, items, ...}, ...}``. Parameters
GTM keeps inside ``ecommerce`` (item_list_*, promotion fields, customer_type) go
back there; other root keys are GTM variables and become ``properties``. Unknown
keys inside ``ecommerce`` (2Checkout's ``actionField``) ride in ``extras["ecommerce"]``.
A root ``event_id`` is the client's id for the event. ``{ecommerce: null}``, the clear
Google's guide pushes before each ecommerce event, is no event: it decodes to no event
and no issue (see ``commands``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from trackway.dialects.base import (
    DecodeContext,
    EncodeOptions,
    EventDoc,
    SingleEventAdapter,
    report_foreign_extras,
    report_uncarried,
)
from trackway.dialects.fastpath import Fallback, wire_attrs
from trackway.dialects.fields import Table, merge_extras
from trackway.issues import MISSING, Issues, describe
from trackway.model import Commerce, Event
from trackway.rules.values import sent
from trackway.vendors.ga4 import commands
from trackway.vendors.ga4 import common as ga4

_ROOT_RESERVED = ("event", "ecommerce", "event_id")


def decode_gtm_ga4(payload: Any, dialect: str, issues: Issues) -> Event | None:
    """Shared by gtm-ga4 and Koalect (which adds its own rules on top)."""
    if commands.is_clear(payload):  # {ecommerce: null}: GTM's clear, no event
        return None
    if type(payload) is not dict:
        issues.error(
            "$",
            "PAYLOAD_INVALID",
            f"expected a dataLayer object {{event, ecommerce}}, got {describe(payload)}",
        )
        return None
    name = payload.get("event", MISSING)
    if type(name) is not str or not name:
        issues.error(
            ("$", "event"), "VALUE_REQUIRED", f"expected the event name as a string, got {describe(name)}"
        )
        return None
    properties = {k: v for k, v in payload.items() if k not in _ROOT_RESERVED}
    extras: dict[str, Any] = {}
    commerce = None
    ecom = payload.get("ecommerce")
    containers = [("$.ecommerce", ecom if type(ecom) is dict else {}), ("$", payload)]
    if type(ecom) is dict:
        commerce, rest = ga4.read_commerce(ecom, "$.ecommerce", issues)
        if commerce is None:  # an ecommerce object, even empty, is kept
            commerce = Commerce()
        ecom_extras = {}
        for key, v in rest.items():
            if key in ga4.ECOMMERCE_PARAMS:
                properties[key] = v
            else:
                ecom_extras[key] = v
        if ecom_extras:
            extras["ecommerce"] = ecom_extras
    elif ecom is not None:
        issues.error(
            ("$", "ecommerce"), "TYPE_INVALID", f"expected an ecommerce object, got {describe(ecom)}"
        )
    event = Event(name=name, dialect=dialect, commerce=commerce, properties=properties, extras=extras)
    event_id = payload.get("event_id")
    if event_id is not None:
        if type(event_id) is str and event_id:
            event.id = event_id
        else:
            issues.error(
                ("$", "event_id"), "TYPE_INVALID", f"expected event_id as a string, got {describe(event_id)}"
            )
    ga4.check_event(name, commerce, containers, issues)
    return event


def encode_gtm_ga4(event: Event, target: str, issues: Issues) -> dict[str, Any]:
    out: dict[str, Any] = {"event": event.name}
    ecom: dict[str, Any] = {}
    if event.commerce is not None:
        ecom = ga4.write_event_commerce(event, target, issues, "$.ecommerce") or {}
        ga4.check_currency(ecom, "$.ecommerce", issues)
    for key, v in event.properties.items():
        if key in ga4.ECOMMERCE_PARAMS:
            ecom[key] = v
        else:
            out[key] = v
    merge_extras(ecom, event.extras.get("ecommerce", {}), "$.ecommerce", issues)
    if ecom or event.commerce is not None:
        out["ecommerce"] = ecom
    if event.id:
        out["event_id"] = event.id
    report_uncarried(event, frozenset(), target, issues)
    report_foreign_extras(event.extras, frozenset({"ecommerce"}), target, issues)
    return out


class _PlainRoot(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    event: str
    ecommerce: ga4.FastCommerce | UnsetType = UNSET  # type: ignore[valid-type]
    event_id: str | UnsetType = UNSET


_plain = msgspec.json.Decoder(_PlainRoot, float_hook=Decimal)
_ATTR = wire_attrs(ga4.COMMERCE)  # wire key -> wire struct attribute


def decode_plain_gtm_ga4(data: bytes | str, dialect: str, issues: Issues) -> Event | None:
    """The typed fast path of :func:`decode_gtm_ga4` (None: not plain)."""
    try:
        w = _plain.decode(data)
        if not w.event:
            return None
        ecom = w.ecommerce
        commerce = None if ecom is UNSET else ga4.fast_commerce(ecom)
    except (msgspec.DecodeError, Fallback, UnicodeEncodeError, RecursionError):  # surrogates, depth
        return None
    event = Event(name=w.event, dialect=dialect, commerce=commerce)
    if w.event_id is not UNSET:
        if not w.event_id:
            return None
        event.id = w.event_id

    needs = _NEEDS.get(w.event, _UNKNOWN)
    if needs is _UNKNOWN:
        fields = ga4.fast_rule_fields(w.event)
        needs = None if fields is None else tuple(_ATTR[k] for k in fields)
        if len(_NEEDS) < 1000:
            _NEEDS[w.event] = needs
    if needs is not None and commerce is not None and commerce.currency is not None:
        for attr in needs:
            v = getattr(ecom, attr)
            if v is UNSET or v is None or ((v.__class__ is str or v.__class__ is list) and not v):  # sent()
                break
        else:  # every rule holds: only the amounts' precision is left to check
            ga4.check_amounts(commerce, "$.ecommerce", issues)
            return event

    def present(key: str) -> bool:
        attr = _ATTR.get(key)
        if attr is None or ecom is UNSET:
            return False
        return _given(getattr(ecom, attr))

    ga4.check_event_with(w.event, commerce, present, "$.ecommerce", "$", issues)
    return event


def _given(v: Any) -> bool:
    return v is not UNSET and sent(v)


_UNKNOWN: Any = object()
_NEEDS: dict[str, tuple[str, ...] | None] = {}  # event name -> wire attributes its rules need (bounded)


class GtmGa4(SingleEventAdapter):
    name = "gtm-ga4"
    title = "Google Tag Manager dataLayer, GA4 ecommerce"
    detect_order = 30
    callees = frozenset({"dataLayer.push"})
    events = tuple(EventDoc(n, n) for n in ga4.EVENTS)
    amounts = ga4.AMOUNTS

    def sniff(self, payload: Any) -> int:
        if commands.is_clear(payload):
            return 50
        if type(payload) is not dict or type(payload.get("event")) is not str:
            return 0
        ecom = payload.get("ecommerce")
        if type(ecom) is dict and ("items" in ecom or "currency" in ecom or "value" in ecom):
            return 80
        return 50

    def decode_event(self, payload: Any, ctx: DecodeContext, issues: Issues) -> Event | None:
        return decode_gtm_ga4(payload, self.name, issues)

    def decode_plain_event(self, data: bytes | str, ctx: DecodeContext, issues: Issues) -> Event | None:
        return decode_plain_gtm_ga4(data, self.name, issues)

    def encode(self, event: Event, options: EncodeOptions, issues: Issues) -> Any:
        return encode_gtm_ga4(event, self.name, issues)

    def tables(self) -> list[Table]:
        return [ga4.COMMERCE, ga4.ITEM]
