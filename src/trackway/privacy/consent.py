"""Consent signals -> purposes.

Every signal Trackway receives lands in ``Event.consent`` (a dict of signals as
sent). :func:`purposes` reads them into four purposes (:data:`PURPOSES`):

- **Commanders Act** ``{"categories": ["1", "3"]}``: each listed category id maps
  through the configured ``category_map`` (id -> purpose). A mapped purpose is
  granted if any listed category maps to it and denied if none does; categories
  absent from the map, and map entries naming no known purpose, are ignored.
  Integer ids are read as their strings.
- **Google consent mode v2** (gtag commands, the Measurement Protocol ``consent``
  object): ``"granted"``/``"denied"`` in any case. ``analytics_storage`` ->
  analytics; ``ad_storage`` and ``ad_user_data`` -> marketing;
  ``ad_personalization`` and ``personalization_storage`` -> personalization;
  ``functionality_storage`` and ``security_storage`` -> functional. The deprecated
  MP ``non_personalized_ads: true`` denies personalization (``false`` says nothing).
- **A vendor's own signal**: a vendor package may declare readers for keys of its
  own (``Vendor.consent`` in :mod:`trackway.vendors`), each turning the key's value
  into purposes granted or denied (Koalect's consent cookie is one).

**A denial wins**: when several signals speak of one purpose, it is granted only
if every one of them grants it. A stale or partial signal must not override a
refusal given elsewhere, and storing less than allowed is the recoverable mistake.
Unknown keys are ignored; a signal of the wrong type is ignored as a whole.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from trackway import vendors
from trackway.issues import Issue, Severity, describe, render_path

PURPOSES = ("analytics", "marketing", "personalization", "functional")

# Google consent types (consent mode v2) and the purpose each speaks of.
GOOGLE_TYPES: dict[str, str] = {
    "analytics_storage": "analytics",
    "ad_storage": "marketing",
    "ad_user_data": "marketing",
    "ad_personalization": "personalization",
    "personalization_storage": "personalization",
    "functionality_storage": "functional",
    "security_storage": "functional",
}
COMMAND_ACTIONS = ("default", "update")
# gtag consent parameters that are not consent types; valid, but no state.
_COMMAND_OPTIONS = ("wait_for_update", "region")
_STATES = {"granted": True, "denied": False}
_MAPPINGS = (dict, MappingProxyType)


@functools.cache
def _readers() -> dict[str, vendors.ConsentReader]:
    """The vendors' own consent signals, by key."""
    return vendors.consent_readers()


vendors.on_reset(_readers.cache_clear)


def _state(value: Any) -> bool | None:
    """True for granted, False for denied (any case, spaces around), None otherwise."""
    if type(value) is not str:
        return None
    return _STATES.get(value.strip().lower())


def purposes(consent: Mapping[str, Any] | None, category_map: Mapping[str, str]) -> dict[str, bool] | None:
    """The purposes the signals in ``consent`` grant (True) or deny (False).

    None when ``consent`` holds no signal at all (no known key with a usable
    value); a dict, possibly empty, otherwise (a Commanders Act signal whose
    categories are all unmapped still counts as a signal). Never raises.
    """
    if not consent or (type(consent) is not dict and not isinstance(consent, Mapping)):
        return None
    out: dict[str, bool] = {}
    seen = False
    for key, value in consent.items():
        purpose = GOOGLE_TYPES.get(key) if type(key) is str else None
        if purpose is not None:
            state = _state(value)
            if state is not None:
                seen = True
                out[purpose] = out.get(purpose, True) and state
        elif key == "categories":
            if type(value) is list:
                seen = True
                _categories(value, category_map, out)
        elif key in _readers():
            said = _readers()[key](value)
            if said is not None:
                seen = True
                for purpose, state in said.items():
                    if purpose in PURPOSES:
                        out[purpose] = out.get(purpose, True) and state
        elif key == "non_personalized_ads":
            if value is True:
                seen = True
                out["personalization"] = False
            elif value is False:
                seen = True
    return out if seen else None


def _categories(value: list[Any], category_map: Mapping[str, str], out: dict[str, bool]) -> None:
    if type(category_map) not in _MAPPINGS and not isinstance(category_map, Mapping):
        return
    listed = {c if type(c) is str else str(c) for c in value if type(c) is str or type(c) is int}
    granted: dict[str, bool] = {}
    for category, purpose in category_map.items():
        if purpose in PURPOSES and not granted.get(purpose):
            granted[purpose] = (category if type(category) is str else str(category)) in listed
    for purpose, state in granted.items():
        out[purpose] = out.get(purpose, True) and state


# gtag ["consent", "default" | "update", {...}] commands in a /collect batch.


def is_command(payload: Any) -> bool:
    """Whether ``payload`` is a gtag consent command: a list whose first element is
    ``"consent"``, well-formed or not (:func:`issues_of_command` says which), so a
    malformed command is reported as one instead of being read as an event."""
    return type(payload) is list and len(payload) > 0 and payload[0] == "consent"


def _valid(payload: Any) -> bool:
    return (
        is_command(payload)
        and len(payload) == 3
        and payload[1] in COMMAND_ACTIONS
        and type(payload[2]) is dict
    )


def apply_command(state: Mapping[str, str] | None, payload: Any) -> dict[str, str]:
    """The Google consent-mode state after ``payload``: a new dict, type -> "granted"|"denied".

    Both actions touch only the consent types they name; entries with an unknown
    type or a value other than granted/denied (any case) are ignored, as is a
    malformed command (the state comes back unchanged).

    - ``update`` sets each named type: it is the visitor's choice.
    - ``default`` sets a type that has no value yet, and may always *deny*, but
      never turns a ``denied`` into ``granted``. gtag scopes defaults by ``region``
      and lets a region's default beat the global one; the collector cannot tell
      the visitor's region, so it takes the strictest of the defaults it sees, in
      any order. A region-scoped default is therefore applied like any other.
    """
    out = {k: v for k, v in state.items() if type(k) is str} if isinstance(state, Mapping) else {}
    if not _valid(payload):
        return out
    update = payload[1] == "update"
    for key, value in payload[2].items():
        if key not in GOOGLE_TYPES:
            continue
        granted = _state(value)
        if granted is None:
            continue
        new = "granted" if granted else "denied"
        if update or new == "denied" or key not in out:
            out[key] = new
    return out


def issues_of_command(payload: Any, base: str = "$") -> list[Issue]:
    """What is wrong with a consent command, as issues with paths under ``base``
    (the command's path in the batch, such as ``$[3]``).

    A command that cannot be applied at all is an error: PAYLOAD_INVALID for the
    shape, ENUM_INVALID or TYPE_INVALID for the action, TYPE_INVALID for the
    parameters. An entry that is ignored while the rest applies is a warning
    (ENUM_INVALID for an unknown consent type or state, TYPE_INVALID for a wrong
    type). Upper-case states (``"GRANTED"``) are accepted without an issue. A
    well-formed command gives [].
    """
    if not is_command(payload) or len(payload) != 3:
        size = f" with {len(payload)} elements" if type(payload) is list else ""
        msg = f"expected a gtag consent command {_SHAPE}, got {describe(payload)}{size}"
        return [_issue(base, "PAYLOAD_INVALID", Severity.ERROR, msg)]
    action, params = payload[1], payload[2]
    if action not in COMMAND_ACTIONS:
        msg = f"expected 'default' or 'update', got {describe(action)}"
        if type(action) is not str:
            return [
                _issue(f"{base}[1]", "TYPE_INVALID", Severity.ERROR, f"{msg}; the command is not applied")
            ]
        if action.strip().lower() in COMMAND_ACTIONS:
            msg += f" (did you mean {action.strip().lower()!r}?)"
        return [_issue(f"{base}[1]", "ENUM_INVALID", Severity.ERROR, f"{msg}; the command is not applied")]
    if type(params) is not dict:
        msg = (
            f"expected the consent types as an object {{ad_storage: 'granted', ...}}, got {describe(params)}"
        )
        return [_issue(f"{base}[2]", "TYPE_INVALID", Severity.ERROR, msg)]
    out: list[Issue] = []
    for key, value in params.items():
        path = render_path((f"{base}[2]", key)) if type(key) is str else f"{base}[2][{key!r}]"
        code, msg, fix = _entry_problem(key, value)
        if code:
            out.append(_issue(path, code, Severity.WARNING, f"{msg}; the entry is ignored, {fix}"))
    return out


_SHAPE = "['consent', 'default'|'update', {ad_storage: 'granted', ...}]"
_KNOWN = ", ".join((*GOOGLE_TYPES, *_COMMAND_OPTIONS))


def _entry_problem(key: Any, value: Any) -> tuple[str, str, str]:
    """(code, message, fix) for a bad entry of a command's parameters, ("", "", "") for a good one."""
    state = "write 'granted' or 'denied'"
    if key in GOOGLE_TYPES:
        if type(value) is not str:
            return "TYPE_INVALID", f"expected 'granted' or 'denied' (a string), got {describe(value)}", state
        if _state(value) is None:
            return "ENUM_INVALID", f"expected 'granted' or 'denied', got {describe(value)}", state
    elif key == "wait_for_update":
        if type(value) is bool or not isinstance(value, int | float | Decimal):
            msg = f"expected wait_for_update in milliseconds (a number), got {describe(value)}"
            return "TYPE_INVALID", msg, "write a number such as 500"
    elif key == "region":
        if type(value) is not list or any(type(r) is not str for r in value):
            msg = f"expected region as an array of ISO 3166 codes, got {describe(value)}"
            return "TYPE_INVALID", msg, "write it as ['ES', 'US-AK']"
    else:
        return "ENUM_INVALID", f"expected a consent type ({_KNOWN}), got {describe(key)}", "fix the name"
    return "", "", ""


def _issue(path: str, code: str, severity: Severity, message: str) -> Issue:
    return Issue(path, code, severity, message)


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
