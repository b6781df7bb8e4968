"""The wire Structs of ``ga4-mp``'s typed fast path (:mod:`trackway.vendors.ga4.mp_fast`).

A plain Measurement Protocol body decodes into :class:`MpBody` in C: the body's fields,
its events, their commerce parameters (gtm-ga4's wire Structs with MP's 100-character
limit, ``_derive``) and the plain parameters of :data:`PLAIN_PARAMS`. A body with
custom parameters decodes into :data:`MpBodyLoose` (params as dicts) and
:func:`with_custom` makes the same ``MpBody`` of it and hands back the custom
parameters, or raises Fallback when one is not plain. No I/O.
"""

from __future__ import annotations

import functools
from decimal import Decimal
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import msgspec
from msgspec import UNSET, Meta, UnsetType

from trackway.dialects.fastpath import Fallback, wire_attrs
from trackway.issues import Issues
from trackway.rules.values import INTEGER_MAX, INTEGER_MIN
from trackway.vendors.ga4 import common as ga4
from trackway.vendors.ga4 import mp_read as rd
from trackway.vendors.ga4 import mp_rules as r

Text = Annotated[str, Meta(max_length=r.MAX_PARAM_VALUE)]  # longer: VALUE_OUT_OF_BOUNDS
BigInt = Annotated[int, Meta(ge=INTEGER_MIN, le=INTEGER_MAX)]
Scalar = Union[Text, BigInt, bool]  # noqa: UP007 (a runtime type for msgspec)

# Event parameters other than the commerce ones that the fast path takes: the common
# parameters of the MP reference and the non-commerce parameters of GA4's recommended
# events. Each goes to ``properties`` as sent, as on the general path: a string (at most
# 100 characters), a whole number or a boolean (not a decimal, an array, an object, null).
PLAIN_PARAMS = (
    "session_id",
    "session_number",
    "engagement_time_msec",
    "debug_mode",
    "timestamp_micros",
    "page_location",
    "page_referrer",
    "page_title",
    "language",
    "screen_resolution",
    *sorted(ga4.ECOMMERCE_PARAMS),  # item_list_id, promotion_name, customer_type, ...
    "lead_source",
    "method",
    "search_term",
    "content_type",
    "content_id",
    "item_id",
)
_PLAIN_TYPES: dict[str, Any] = {
    "session_id": str | BigInt | bool,  # GTM's built-ins, exempt from the 100 characters
    "session_number": str | BigInt | bool,
    "timestamp_micros": BigInt,  # read as the event's time when the event has none of its own
}
CONSENT_STATES = ("GRANTED", "DENIED")


def _bounded(tp: Any) -> Any:
    """``tp`` with every ``str`` limited to MP's 100 characters of a parameter value."""
    if tp is str:
        return Text
    if get_origin(tp) in (Union, UnionType):  # an identifier: str | int
        return Union[tuple(_bounded(a) for a in get_args(tp))]  # noqa: UP007
    return tp


def _derive(base: type, name: str, extra: tuple[str, ...], nested: dict[str, Any]) -> type:
    """``base``'s fields (same attributes, so gtm-ga4's converters read it) with MP's
    length limit, ``nested`` wire types replaced, and ``extra`` fields (``q0``, ...)."""
    fields: list[tuple[str, Any, Any]] = []
    rename = {}
    for f in msgspec.structs.fields(base):
        fields.append((f.name, nested.get(f.encode_name, _bounded(f.type)), f.default))
        rename[f.name] = f.encode_name
    for n, wire in enumerate(extra):
        fields.append((f"q{n}", _PLAIN_TYPES.get(wire, Scalar) | UnsetType, UNSET))
        rename[f"q{n}"] = wire
    return msgspec.defstruct(
        name, fields, kw_only=True, forbid_unknown_fields=True, rename=rename, omit_defaults=True, gc=False
    )


MpItem = _derive(ga4.FastItem, "Ga4MpItemWire", (), {})
MpParams = _derive(
    ga4.FastCommerce,
    "Ga4MpParamsWire",
    PLAIN_PARAMS,
    {"items": list[MpItem] | UnsetType},  # type: ignore[valid-type]
)
COMMERCE_ATTRS = tuple(wire_attrs(ga4.COMMERCE).values())
FREE_ATTRS = tuple(f"q{n}" for n in range(len(PLAIN_PARAMS)))
ATTR = wire_attrs(ga4.COMMERCE) | dict(zip(PLAIN_PARAMS, FREE_ATTRS, strict=True))
TS_ATTR = ATTR["timestamp_micros"]


class MpEvent(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    name: str
    params: MpParams | UnsetType = UNSET  # type: ignore[valid-type]
    timestamp_micros: BigInt | UnsetType = UNSET


class MpUserProperty(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    value: Annotated[str, Meta(max_length=r.MAX_USER_PROPERTY_VALUE)] | BigInt | bool
    timestamp_micros: BigInt | UnsetType = UNSET


State = Literal[CONSENT_STATES]  # type: ignore[valid-type]
ConsentKey = Literal[tuple(rd.CONSENT.by_wire)]  # type: ignore[misc,valid-type]
Behaviour = Literal[rd.BEHAVIOURS]  # type: ignore[valid-type]


class MpBody(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    events: Annotated[list[MpEvent], Meta(min_length=1, max_length=r.MAX_EVENTS)]
    client_id: str | UnsetType = UNSET
    app_instance_id: str | UnsetType = UNSET
    user_id: str | UnsetType = UNSET
    timestamp_micros: BigInt | UnsetType = UNSET
    user_properties: (
        Annotated[dict[str, MpUserProperty], Meta(max_length=r.MAX_USER_PROPERTIES)] | UnsetType
    ) = UNSET
    consent: dict[ConsentKey, State] | UnsetType = UNSET  # type: ignore[valid-type]  # a dict: kept in the order sent
    non_personalized_ads: bool | UnsetType = UNSET
    ip_override: str | UnsetType = UNSET
    user_agent: str | UnsetType = UNSET
    validation_behavior: Behaviour | UnsetType = UNSET


decoder = msgspec.json.Decoder(MpBody, float_hook=Decimal)


# Custom parameters (any name GA4 allows, a string, whole number or boolean value) are the
# rest of real traffic: a body with one failed MpBody, and the general path took 37 us a
# body where this one takes 27. Such a body is decoded again with its events' params as
# dicts (the loose Structs below), the known parameters converted to MpParams as the
# JSON decode would, and the others checked by MP's own name and value rules.
class MpEventLoose(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    name: str
    params: dict[str, Any] | UnsetType = UNSET
    timestamp_micros: BigInt | UnsetType = UNSET


MpBodyLoose = msgspec.defstruct(
    "Ga4MpBodyLooseWire",
    [
        (f.name, Annotated[list[MpEventLoose], Meta(min_length=1, max_length=r.MAX_EVENTS)])
        if f.name == "events"
        else (f.name, f.type, f.default)
        for f in msgspec.structs.fields(MpBody)
    ],
    forbid_unknown_fields=True,
    gc=False,
)
loose_decoder = msgspec.json.Decoder(MpBodyLoose, float_hook=Decimal)
KNOWN_PARAMS = frozenset(ATTR)  # the wire names MpParams has a field for


def with_custom(loose: Any) -> tuple[Any, list[dict[str, Any]]]:
    """An MpBody of a loose body, and each event's custom parameters; raises Fallback
    unless every custom parameter is plain (a name GA4 allows, a value the general path
    keeps without an issue) and the known ones are as MpParams reads them."""
    events, custom = [], []
    for e in loose.events:
        params, extra = e.params, {}
        if params is not UNSET:
            if len(params) > r.MAX_PARAMS:  # EXCEEDED_MAX_ENTITIES; and no more than 25 keys checked here
                raise Fallback
            known = {}
            for key, value in params.items():
                if key in KNOWN_PARAMS:
                    known[key] = value
                elif _custom_ok(key, value):
                    extra[key] = value
                else:
                    raise Fallback
            params = msgspec.convert(known, MpParams)
        events.append(MpEvent(name=e.name, params=params, timestamp_micros=e.timestamp_micros))
        custom.append(extra)
    if loose.validation_behavior == "ENFORCE_RECOMMENDATIONS" and any(custom):
        raise Fallback  # the general path's enforcement reads the issues of every parameter
    fields = {f: getattr(loose, f) for f in MpBody.__struct_fields__ if f != "events"}
    return MpBody(events=events, **fields), custom


def _custom_ok(key: str, value: Any) -> bool:
    """A custom parameter the general path keeps as it is, with no issue."""
    t = type(value)
    if t is str:
        if len(value) > r.MAX_PARAM_VALUE:
            return False
    elif t is int:
        if not INTEGER_MIN <= value <= INTEGER_MAX:
            return False
    elif t is not bool:
        return False  # null, a decimal, an array, an object
    # (the names exempt from 100 characters are PLAIN_PARAMS, not custom)
    return len(key) <= r.MAX_NAME and _custom_name_ok(key)


@functools.lru_cache(maxsize=4096)  # a site sends the same few names; at most 4,096 of 40 characters kept
def _custom_name_ok(key: str) -> bool:
    """A custom parameter name GA4 allows: GA4's naming rule finds no error in it. Asked
    once a name: the rule's Issues and its regular expression cost 2.6 us a parameter,
    about a sixth of an MP event's decode when it has custom parameters."""
    scratch = Issues()
    r.check_name(key, "$", "parameter", r.MAX_NAME, scratch, r.RESERVED_PARAMS, r.RESERVED_PARAM_PREFIXES)
    return not scratch.items


def _check_static_names() -> None:
    """The parameter names this path takes are names GA4 allows (else it would hide issues)."""
    scratch = Issues()
    for wire in ATTR:
        r.check_name(
            wire, "$", "parameter", r.MAX_NAME, scratch, r.RESERVED_PARAMS, r.RESERVED_PARAM_PREFIXES
        )
    for f in ga4.ITEM.fields:
        if f.wire not in r.ITEM_PARAMS:
            raise ValueError(f"item field {f.wire!r} would be a custom item parameter")
    if scratch.items:
        raise ValueError(f"the fast path takes parameter names GA4 does not allow: {scratch.items}")


_check_static_names()
