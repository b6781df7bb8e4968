"""What the collector applies to every event before storing it.

:func:`prepare` mutates the event (it assigns new dicts: the dicts it finds may be
shared with other events of the same request and are never changed in place; the
consent it assigns is shared by the events of a run whose signals match, see
:class:`LastSignals`, so nothing may change it in place either):

1. ``event.consent`` becomes the raw signals plus the derived keys
   ``"purposes"`` (all four :data:`~trackway.privacy.consent.PURPOSES`, True or
   False), ``"assumed"`` (the purposes no signal spoke of, filled from
   ``consent_default``, in PURPOSES order; absent when every purpose was stated;
   all four when there was no signal at all) and ``"cookieless": True`` when the
   event was stored without identifiers. A client cannot set these three keys:
   they are always recomputed.
2. If a purpose of ``consent_required`` is not granted, the event is *cookieless*:
   ``anonymous_id``, ``user_id`` and ``user`` become None, every ``user_data`` object
   (Google's user-provided data, in the context or the properties) and ``context["ids"]``
   (the browser tracker's vendor ids) are removed, every other email or phone is removed
   as ``"drop"`` removes it (:mod:`trackway.privacy.elsewhere`), and ``context["ip"]`` is
   truncated. The event itself is kept and counted.
3. Otherwise: server-side hashes are added (``hash_identifiers``), the identifiers
   policy is applied to ``event.user`` and, for ``"hash"`` and ``"drop"``, to every other
   place an email or phone sits (:mod:`trackway.privacy.elsewhere`: an id that is one,
   Google's ``user_data``, keys naming one, addresses in texts and URLs), and the IP is
   truncated if ``truncate_ip``.

Idempotent: replays run it again and an event it already prepared does not change.
Re-running with other settings recomputes the purposes and the cookieless flag,
but identifiers already removed do not come back. Never raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from trackway.errors import ConfigError
from trackway.model import CONSENT_DERIVED, Event
from trackway.privacy import elsewhere
from trackway.privacy.consent import PURPOSES, purposes
from trackway.privacy.pii import POLICIES, _policy, _with_hashes, truncate_ip

DERIVED_KEYS = CONSENT_DERIVED
# The ids a page may send as an event's parameters (gtag's user_id, a GA client_id): a
# cookieless event keeps none of them either.
_ID_PARAMS = frozenset({"user_id", "userId", "client_id", "clientId", "anonymous_id", "anonymousId"})
CONSENT_DEFAULTS = ("granted", "denied")


@dataclass(frozen=True)
class PrivacySettings:
    """A property's privacy policy. Invalid values raise :class:`ConfigError` here,
    once, so that :func:`prepare` can trust them.

    ``consent_required``: the purposes an event needs to be stored with identifiers
    (empty: every event keeps them). ``consent_default``: what a purpose no signal
    speaks of means, ``"granted"`` or ``"denied"``. ``category_map``: Commanders Act
    category id (a string) -> purpose. ``identifiers``: ``"keep"``, ``"hash"`` or
    ``"drop"`` for the plain email and phone. ``truncate_ip``: truncate every
    event's IP (cookieless events always are). ``hash_identifiers``: compute the
    md5/sha256 of plain email and phone server-side.
    """

    consent_required: tuple[str, ...] = ()
    consent_default: str = "granted"
    category_map: Mapping[str, str] = field(default_factory=dict)
    identifiers: str = "keep"
    truncate_ip: bool = False
    hash_identifiers: bool = True

    def __post_init__(self) -> None:
        required = self.consent_required
        if isinstance(required, str) or not all(p in PURPOSES for p in required):
            raise ConfigError(_expected("consent_required", f"a list of purposes of {PURPOSES}", required))
        object.__setattr__(self, "consent_required", tuple(dict.fromkeys(required)))
        if self.consent_default not in CONSENT_DEFAULTS:
            raise ConfigError(_expected("consent_default", "'granted' or 'denied'", self.consent_default))
        if self.identifiers not in POLICIES:
            raise ConfigError(_expected("identifiers", "'keep', 'hash' or 'drop'", self.identifiers))
        cmap = self.category_map
        if not isinstance(cmap, Mapping) or not all(
            type(k) is str and v in PURPOSES for k, v in cmap.items()
        ):
            raise ConfigError(
                _expected(
                    "category_map",
                    f"category ids (strings) -> one of {PURPOSES}, e.g. {{'1': 'analytics'}}",
                    cmap,
                )
            )
        object.__setattr__(self, "category_map", MappingProxyType(dict(cmap)))


def _expected(name: str, what: str, got: Any) -> str:
    return f"privacy setting {name}: expected {what}, got {got!r}; fix it in the property's privacy settings"


class LastSignals:
    """The signals :func:`prepare` read last, under which settings, and the consent it
    derived from them (with whether it made the event cookieless), for the next event:
    the events of a Measurement Protocol body carry equal ``consent`` objects (one copy
    each), and most clients send the same consent-mode states. With matching signals,
    prepare took 2.2 us an event deriving the consent again; reusing it, 0.7. Signals
    match the last ones under the same settings object when they are the same object
    (held here, so its id is not reused; None, no signal, is one), or equal with every
    value a plain string (consent mode's ``GRANTED``/``DENIED``); never by equality
    alone: ``{"x": True}`` and ``{"x": 1}`` are equal, and readers tell them apart.
    Signals are not changed once decoded, and the derived consent is shared by the
    events that match, as nothing changes an event's consent in place (see the module
    docstring)."""

    __slots__ = ("consent", "dropped", "settings", "signals")

    def __init__(self) -> None:
        self.settings: object = None
        self.signals: object = None
        self.consent: dict[str, Any] = {}
        self.dropped = False

    def matches(self, signals: Mapping[str, Any] | None, settings: PrivacySettings) -> bool:
        if settings is not self.settings:
            return False
        last = self.signals
        if signals is last:
            return True
        if type(signals) is not dict or signals != last:
            return False
        return all(type(v) is str for v in signals.values())


def prepare(event: Event, settings: PrivacySettings, last: LastSignals | None = None) -> None:
    """Apply consent, the identifiers policy and IP truncation to ``event`` in place
    (see the module docstring). Idempotent; never raises. ``last``: the same object for
    a run of events, such as a loader's batch (see :class:`LastSignals`)."""
    raw = event.consent
    if type(raw) is dict:
        derived = "purposes" in raw or "assumed" in raw or "cookieless" in raw
        signals = _signals(raw) if derived else raw
    elif isinstance(raw, Mapping):
        signals = _signals(raw)
    else:
        signals = None
    if last is not None and last.matches(signals, settings):
        consent, dropped = last.consent, last.dropped
    else:
        consent, dropped = _consent(signals, settings)
        if last is not None:
            last.settings, last.signals, last.consent, last.dropped = settings, signals, consent, dropped
    event.consent = consent
    context = event.context
    if dropped:
        event.anonymous_id = None
        event.user_id = None
        event.user = None
        props = event.properties
        if type(props) is dict and any(k in _ID_PARAMS for k in props):  # gtag's user_id in an event's params
            event.properties = {k: v for k, v in props.items() if k not in _ID_PARAMS}
        _elsewhere(event, "drop")
        context = event.context
        if type(context) is dict:
            _context(event, context, truncate=True, user_data=True, device_ids=True)
        return
    user = event.user
    if user is not None:
        if type(user) is dict:
            if settings.hash_identifiers:
                user = _with_hashes(user)
            event.user = _policy(user, settings.identifiers)
        elif settings.identifiers != "keep":
            event.user = None
    if settings.identifiers != "keep":
        _elsewhere(event, settings.identifiers)
        context = event.context
    if type(context) is dict and settings.truncate_ip:
        _context(event, context, truncate=True, user_data=False)


def _consent(signals: Mapping[str, Any] | None, settings: PrivacySettings) -> tuple[dict[str, Any], bool]:
    """The consent an event with ``signals`` is stored with (the signals and the derived
    keys), and whether it is cookieless."""
    stated = purposes(signals, settings.category_map)
    full = dict.fromkeys(PURPOSES, settings.consent_default == "granted")
    consent: dict[str, Any] = dict(signals) if signals else {}
    consent["purposes"] = full
    if stated:
        full.update(stated)
        if len(stated) < len(PURPOSES):
            consent["assumed"] = [p for p in PURPOSES if p not in stated]
    else:
        consent["assumed"] = list(PURPOSES)
    dropped = cookieless(stated, settings)
    if dropped:
        consent["cookieless"] = True
    return consent, dropped


def _elsewhere(event: Event, policy: str) -> None:
    """The identifiers policy on the ids and every object beyond the traits
    (:mod:`trackway.privacy.elsewhere`)."""
    for name, value in elsewhere.changes(event, policy).items():
        setattr(event, name, value)


def cookieless(stated: Mapping[str, bool] | None, settings: PrivacySettings) -> bool:
    """Whether an event whose signals state the purposes ``stated`` (None: no signal) is
    kept without identifiers: a purpose the property requires is not granted
    (``consent_default`` for a purpose no signal speaks of)."""
    default = settings.consent_default == "granted"
    said = stated or {}
    return any(not said.get(p, default) for p in settings.consent_required)


def _signals(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in raw.items() if k not in DERIVED_KEYS}


def _context(
    event: Event, context: dict[str, Any], *, truncate: bool, user_data: bool, device_ids: bool = False
) -> None:
    """Truncate ``context["ip"]`` and/or remove ``context["user_data"]`` and/or the vendors'
    ids of the device (``context["ids"]``, a cookieless event's), on a copy."""
    out = context
    if truncate:
        ip = context.get("ip")
        if ip is not None:
            short = truncate_ip(ip)
            if short != ip:
                out = dict(context)
                out["ip"] = short
    if user_data and "user_data" in out:
        if out is context:
            out = dict(context)
        del out["user_data"]
    if device_ids and "ids" in out:
        if out is context:
            out = dict(context)
        del out["ids"]
    if out is not context:
        event.context = out
