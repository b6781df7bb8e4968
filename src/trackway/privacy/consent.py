"""Consent signals -> purposes.

Every signal Trackway receives lands in ``Event.consent`` (a dict of signals as
sent, key by key). :func:`purposes` reads them into four purposes (:data:`PURPOSES`)
with the readers the vendors declare (``Vendor.consent`` in :mod:`trackway.vendors`):
each key of a vendor's own signal has one reader, which turns its value into the
purposes it grants or denies, or says it says nothing. The vendors' pages in
docs/vendors/ list their signals: Google consent mode (the GA4 package: gtag commands
and the Measurement Protocol ``consent`` object), Commanders Act's consent categories
(mapped to purposes by the property's ``consent_categories``), Koalect's cookie.

**A denial wins**: when several signals speak of one purpose, it is granted only
if every one of them grants it. A stale or partial signal must not override a
refusal given elsewhere, and storing less than allowed is the recoverable mistake.
Unknown keys are ignored; a vendor's key is found in any case (``Analytics_Storage``).
**A signal that cannot be read denies**: a vendor's key whose value its reader cannot
read (``analytics_storage: "no"`` or ``false``, categories as a string, a Koalect cookie
as a list), or consent that is not an object at all (``"denied"``), denies every
purpose: such a signal may well be a refusal, and reading it as no signal at all
granted what the property's ``consent_default`` grants. A null value says nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from trackway import vendors

PURPOSES = ("analytics", "marketing", "personalization", "functional")


@functools.cache
def _readers() -> dict[str, vendors.ConsentReader]:
    """The vendors' own consent signals, by key."""
    return vendors.consent_readers()


vendors.on_reset(_readers.cache_clear)


def purposes(consent: Mapping[str, Any] | None, category_map: Mapping[str, str]) -> dict[str, bool] | None:
    """The purposes the signals in ``consent`` grant (True) or deny (False).

    None when ``consent`` holds no signal at all (no known key with a usable
    value); a dict, possibly empty, otherwise (a signal that names no purpose, such as
    categories none of which ``category_map`` maps, still counts as one). Never raises.
    """
    if not consent:
        return None
    if type(consent) is not dict and not isinstance(consent, Mapping):
        return dict.fromkeys(PURPOSES, False)  # not signals at all: unreadable, so a denial
    out: dict[str, bool] = {}
    seen = False
    readers = _readers()
    for key, value in consent.items():
        if type(key) is not str:
            continue
        reader = readers.get(key) or readers.get(key.lower())
        if reader is None or value is None:
            continue
        said = reader(value, category_map)
        if said is None:
            said = _denial(reader, category_map)  # a vendor's signal it cannot read
        seen = True
        for purpose, state in said.items():
            if purpose in PURPOSES:
                out[purpose] = out.get(purpose, True) and state
    return out if seen else None


# Values one of the readers reads as a denial of everything it speaks of: Google's
# "denied", no Commanders Act category, an empty Koalect cookie, non_personalized_ads.
_DENIALS: tuple[Any, ...] = ("denied", [], "", True)


def _denial(reader: vendors.ConsentReader, category_map: Mapping[str, str]) -> dict[str, bool]:
    """What an unreadable value of ``reader``'s key denies: the purposes its key speaks of
    (every purpose, when none of the readers' denials is one of its values)."""
    for value in _DENIALS:
        said = reader(value, category_map)
        if said is not None and not any(said.values()):
            return said
    return dict.fromkeys(PURPOSES, False)


def merge_signals(
    own: Mapping[str, Any] | None, batch: Mapping[str, str] | None, envelope: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """An event's consent signals after a /collect batch: key by key, the event's own
    signals win over the batch's consent-mode state (from the commands before the
    event), which wins over the envelope's ``consent`` object. A new dict, or None
    when none of the three holds anything (non-dict arguments count as nothing)."""
    out: dict[str, Any] = {}
    for layer in (envelope, batch, own):
        if isinstance(layer, Mapping):
            out.update(layer)
    return out or None
