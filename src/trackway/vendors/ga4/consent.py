"""Google consent mode v2: its consent types, the purpose each speaks of, and the gtag
``['consent', 'default'|'update', {...}]`` commands.

``"granted"``/``"denied"`` in any case. ``analytics_storage`` -> analytics;
``ad_storage`` and ``ad_user_data`` -> marketing; ``ad_personalization`` and
``personalization_storage`` -> personalization; ``functionality_storage`` and
``security_storage`` -> functional. The deprecated Measurement Protocol
``non_personalized_ads: true`` denies personalization (``false`` says nothing). The same
keys come from gtag commands (applied to the events after them in a /collect batch)
and from the Measurement Protocol's ``consent`` object.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from trackway.issues import Issue, Severity, describe, render_path

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


def _state(value: Any) -> bool | None:
    """True for granted, False for denied (any case, spaces around), None otherwise."""
    if type(value) is not str:
        return None
    return _STATES.get(value.strip().lower())


def _reader(purpose: str) -> Callable[[Any, Mapping[str, str]], dict[str, bool] | None]:
    def read(value: Any, category_map: Mapping[str, str]) -> dict[str, bool] | None:
        state = _state(value)
        return None if state is None else {purpose: state}

    read.__doc__ = f"'granted' or 'denied' (any case): {purpose}."
    return read


def read_non_personalized_ads(value: Any, category_map: Mapping[str, str]) -> dict[str, bool] | None:
    """The deprecated Measurement Protocol flag: true denies personalization, false says nothing."""
    if value is True:
        return {"personalization": False}
    return {} if value is False else None


READERS = {key: _reader(purpose) for key, purpose in GOOGLE_TYPES.items()} | {
    "non_personalized_ads": read_non_personalized_ads
}


# What a Measurement Protocol body says of consent: its two fields and the purpose each follows.
MP_FIELDS = (("ad_user_data", "marketing"), ("ad_personalization", "personalization"))


def for_measurement_protocol(consent: dict[str, Any] | None) -> dict[str, Any] | None:
    """``consent`` (an event's: signals as sent, and the purposes the privacy step derived)
    with the Measurement Protocol's ``ad_user_data`` and ``ad_personalization`` as they may
    leave Trackway; ``consent`` itself when nothing changes. Each field is:

    - ``DENIED`` when anything denies it: the event's own field, its purpose (marketing,
      personalization) stated denied, or, for ``ad_personalization``, marketing stated
      denied (``ad_storage`` denied: no advertising, so no personalised advertising); a
      purpose the property's ``consent_default = "denied"`` fills counts as a denial too;
    - ``GRANTED`` when the event's own field or its purpose *as stated* grants it and
      nothing denies it;
    - absent otherwise: a purpose no signal spoke of (``consent.assumed``) never becomes
      ``GRANTED``, and an event without any signal sends no consent, so GA4 applies its own
      default. An own field whose value is neither granted nor denied stays as sent (GA4's
      rules then refuse the event, saying why).
    """
    if not consent:
        return consent
    purposes = consent.get("purposes")
    purposes = purposes if type(purposes) is dict else {}
    assumed = consent.get("assumed")
    assumed = assumed if type(assumed) is list else ()

    def said(purpose: str) -> bool | None:
        state = purposes.get(purpose)
        if type(state) is not bool or (purpose in assumed and state):
            return None  # unknown, or granted only by the property's default
        return state

    out = consent
    for field, purpose in MP_FIELDS:
        votes = [_state(consent.get(field)), said(purpose)]
        if field == "ad_personalization":
            votes.append(False if said("marketing") is False else None)
        if False in votes:
            wire = "DENIED"
        elif True in votes:
            wire = "GRANTED"
        else:
            continue  # nothing said (or a value that is neither, kept for GA4's rules to report)
        if consent.get(field) != wire:
            if out is consent:
                out = dict(consent)
            out[field] = wire
    return out


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
