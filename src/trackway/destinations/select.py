"""Which events go to a destination, and which identifiers leave with them. Pure: no I/O.

A destination receives the events of its property that pass its :class:`Selection`:

- ``names``: the canonical event names it wants (empty: every name);
- ``dialects``: the dialects they arrived in (empty: every dialect);
- ``consent``: a purpose of :data:`~trackway.privacy.consent.PURPOSES` the event must
  have granted. It is read from the purposes :func:`trackway.privacy.prepare.prepare`
  derived when the event was accepted (``event.consent["purposes"]``: the signals, a
  denial winning, and the property's ``consent_default`` for what no signal spoke of).
  An event without derived purposes (never prepared) is skipped: nothing proves consent.

Failed payloads are not :class:`~trackway.model.Event` objects (the store keeps them as
failed payloads with their issues): with ``failed`` set, the forwarder sends them too,
as :class:`~trackway.destinations.base.Failed` items, to a type that carries them (the
webhook), filtered by :func:`select_failed` (names and dialects as events are; a
destination that needs consent gets none: a failed payload has no derived consent).

``identifiers`` is what may leave with a chosen event (:func:`strip_identifiers`):
``keep`` the plain email and phone; ``hash`` them (the sha256, and md5, of the normalised
value as :mod:`trackway.privacy.pii` computes them, the plain values removed); ``drop``
them and their hashes. Both apply wherever an email or phone sits, not only the traits: an
id that is one, Google's ``user_data`` objects (``drop`` removes them), keys naming one,
addresses in texts and URLs (:mod:`trackway.privacy.elsewhere`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

import msgspec

from trackway.errors import ConfigError
from trackway.model import Event
from trackway.privacy import elsewhere
from trackway.privacy.consent import PURPOSES
from trackway.privacy.pii import POLICIES, apply_policy

# Why an event was skipped (what counters count by).
NAME = "name"
DIALECT = "dialect"
CONSENT = "consent"


@dataclass(frozen=True)
class Selection:
    """A destination's choice of events (see the module docstring). Invalid values raise
    :class:`ConfigError` when the selection is made, once."""

    names: frozenset[str] = frozenset()
    dialects: frozenset[str] = frozenset()
    consent: str | None = None
    identifiers: str = "keep"
    failed: bool = False  # also failed payloads (the webhook only: see trackway.destinations.base.Failed)

    def __post_init__(self) -> None:
        for field in ("names", "dialects"):
            value = getattr(self, field)
            if isinstance(value, str) or not all(type(v) is str and v for v in value):
                raise ConfigError(_expected(field, "a list of non-empty strings", value))
            object.__setattr__(self, field, frozenset(value))
        if self.consent is not None and self.consent not in PURPOSES:
            raise ConfigError(_expected("consent", f"one of {', '.join(PURPOSES)} (or none)", self.consent))
        if self.identifiers not in POLICIES:
            raise ConfigError(_expected("identifiers", "'keep', 'hash' or 'drop'", self.identifiers))
        if type(self.failed) is not bool:
            raise ConfigError(_expected("failed", "true or false", self.failed))


def _expected(field: str, what: str, got: Any) -> str:
    return (
        f"destination selection {field}: expected {what}, got {got!r}; fix it in the destination's settings"
    )


class Skipped(NamedTuple):
    """An event not sent: ``reason`` is :data:`NAME`, :data:`DIALECT` or :data:`CONSENT`
    (for counting), ``message`` says what was expected and what the event had."""

    event: Event
    reason: str
    message: str


def select(events: Iterable[Event], selection: Selection) -> tuple[list[Event], list[Skipped]]:
    """The events ``selection`` chooses, in order, and the others with why."""
    chosen: list[Event] = []
    skipped: list[Skipped] = []
    for event in events:
        why = _why_not(event, selection)
        if why is None:
            chosen.append(event)
        else:
            skipped.append(Skipped(event, *why))
    return chosen, skipped


def _why_not(event: Event, selection: Selection) -> tuple[str, str] | None:
    if selection.names and event.name not in selection.names:
        return NAME, (
            f"event name {event.name!r} is not among the destination's names {sorted(selection.names)}"
        )
    if selection.dialects and event.dialect not in selection.dialects:
        return (
            DIALECT,
            f"dialect {event.dialect!r} is not among the destination's dialects {sorted(selection.dialects)}",
        )
    purpose = selection.consent
    if purpose is not None:
        consent = event.consent
        purposes = consent.get("purposes") if type(consent) is dict else None
        if type(purposes) is not dict:
            return (
                CONSENT,
                f"the destination needs consent for {purpose!r}, and the event has no derived purposes at "
                "consent.purposes (it was not prepared by the privacy step): nothing proves consent",
            )
        if purposes.get(purpose) is not True:
            return CONSENT, (
                f"the destination needs consent for {purpose!r}; consent.purposes.{purpose} is not granted"
            )
    return None


def select_failed(names: list[str], dialect: str, selection: Selection) -> str | None:
    """Why a failed payload (of ``dialect``, naming events ``names``) is not sent, or None."""
    if not selection.failed:
        return "failed"
    if selection.names and not selection.names.intersection(names):
        return NAME
    if selection.dialects and dialect not in selection.dialects:
        return DIALECT
    if selection.consent is not None:
        return CONSENT
    return None


def strip_identifiers(event: Event, policy: str) -> Event:
    """``event`` with its plain identifiers under ``policy`` (keep, hash, drop): a copy
    when that changes anything, else ``event`` itself (a copy cost 0.85 us an event);
    ``event`` is never changed. Beyond the traits, ``hash`` and ``drop`` apply to every
    other place an email or phone sits (:mod:`trackway.privacy.elsewhere`): an id that is
    one, Google's ``user_data`` (hashed as Google documents it; ``drop`` removes it), keys
    naming one, addresses in texts and URLs."""
    if policy not in POLICIES:
        raise ConfigError(_expected("identifiers", "'keep', 'hash' or 'drop'", policy))
    if policy == "keep":
        return event
    changes = elsewhere.changes(event, policy)
    if event.user is not None:
        changes["user"] = apply_policy(event.user, policy)
    return msgspec.structs.replace(event, **changes) if changes else event
