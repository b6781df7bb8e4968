"""Destinations as ``trackway.toml`` declares them, and the edits ``trackway destination`` makes.

A property's destinations are tables under it::

    [properties.shop.destinations.analytics]
    type = "ga4"                     # trackway destination types: webhook, ga4, segment, ...
    measurement_id = "G-ABC123"
    api_secret = "env:GA4_API_SECRET"  # any value can come from the environment
    events = ["purchase", "refund"]  # canonical names sent (default: all)
    dialects = []                    # dialects they arrived in (default: all)
    consent = "analytics"            # purpose the event must have granted (default: none needed)
    identifiers = "hash"             # keep, hash or drop email and phone (default: hash)
    failed = false                   # also failed payloads, with their issues (webhook only)
    paused = false
    max_age_s = 86400                # retried this long after the oldest event's arrival
    in_flight = 1                    # requests outstanding at once (more: order kept per visitor)

:data:`SELECTION` keys choose events and say how failures are handled; every other key is
an option of the type's encoder, checked when the file is read (an unknown or wrong
option is a :class:`~trackway.errors.ConfigError` naming it; a secret is never quoted).
A destination's id is ``<property>.<name>``: it names its position, status and dead
letters under ``run/destinations/``.

Edits keep the file as written: :func:`add` appends a table; :func:`remove` and
:func:`set_paused` change only the destination's own table, and every edit is checked by
reading the result back before it replaces the file.
"""

from __future__ import annotations

import builtins
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tomli_w

from trackway.destinations import inflight, types
from trackway.destinations.retry import Policy, redact_url
from trackway.destinations.select import Selection
from trackway.errors import ConfigError
from trackway.settings import resolve

SELECTION = (
    "type",
    "events",
    "dialects",
    "consent",
    "identifiers",
    "failed",
    "paused",
    "max_age_s",
    "in_flight",
)
CARRIES_FAILED = frozenset({"webhook"})  # types whose requests can hold failed payloads
DEFAULT_IDENTIFIERS = "hash"
DEFAULT_MAX_AGE_S = 24 * 3600
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


@dataclass(frozen=True)
class Destination:
    """One destination of one property, checked."""

    property: str
    name: str
    type: str
    options: Mapping[str, Any] = field(repr=False)  # resolved: secrets in clear, never printed
    selection: Selection
    paused: bool = False
    policy: Policy = field(default_factory=Policy)
    in_flight: int = 1
    unset: tuple[str, ...] = ()  # env:VAR of its options not set where the file was read

    @builtins.property  # the class has a field named property
    def id(self) -> str:
        return f"{self.property}.{self.name}"

    def require(self) -> None:
        """Raise a ConfigError unless its options could all be read (see :func:`one`)."""
        if self.unset:
            names = ", ".join(self.unset)
            raise ConfigError(
                f"destination {self.id}: expected the environment variable {names} to be set here, to send "
                f"from this command (the file reads it with env:); set it in this shell, as the server has it"
            )

    def secrets(self) -> list[str]:
        """The values of its secret options (for scrubbing text)."""
        names = types.encoder(self.type).secrets
        return [str(v) for k, v in self.options.items() if k in names and v]

    def shown_options(self) -> dict[str, Any]:
        """Its options as they may be shown: secrets hidden, and in a URL its user info and
        query values (``https://user:pass@host/hook?token=...``: as dead letters show it)."""
        names = types.encoder(self.type).secrets
        return {k: ("<secret>" if k in names else _shown(v)) for k, v in sorted(self.options.items())}


def _shown(value: Any) -> Any:
    """An option's value as shown: a URL with credentials in it redacted."""
    if isinstance(value, str) and "://" in value and ("@" in value or "?" in value):
        return redact_url(value)
    return value


def check_name(name: str, what: str = "destination name") -> None:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(
            f"{what} {name!r}: expected lower-case letters, digits, '-' and '_' (at most 63), "
            "starting with a letter or digit"
        )


def parse(
    prop: str, tables: Any, where: str, now: datetime | None = None, *, sending: bool = True
) -> dict[str, Destination]:
    """The destinations of property ``prop`` from its ``destinations`` table (``sending``:
    see :func:`one`)."""
    if not isinstance(tables, dict):
        raise ConfigError(
            f"{where} properties.{prop}.destinations: expected tables [properties.{prop}.destinations.NAME], "
            f"got {type(tables).__name__}"
        )
    out = {}
    for name, table in tables.items():
        at = f"{where} [properties.{prop}.destinations.{name}]"
        try:
            check_name(name)
            out[name] = one(prop, name, table, now, sending=sending)
        except ConfigError as exc:
            raise ConfigError(f"{at}: {exc}") from None
    return out


def one(
    prop: str, name: str, table: Any, now: datetime | None = None, *, sending: bool = True
) -> Destination:
    """One destination's table, checked (its encoder checks the options). ``sending``: an
    option's ``env:VAR`` must be set in this process; without it an unset one is kept as
    written, in ``unset``, and the options are checked when the variables are there."""
    if not isinstance(table, dict):
        raise ConfigError(f"expected a table, got {type(table).__name__}")
    kind = table.get("type")
    if not isinstance(kind, str):
        raise ConfigError(f"type: expected one of {', '.join(sorted(types.types()))}, got {kind!r}")
    encoder = types.encoder(kind)
    options: dict[str, Any] = {}
    unset: list[str] = []
    for k, v in table.items():
        if k in SELECTION:
            continue
        var = v[4:] if isinstance(v, str) and v.startswith("env:") else None
        if not sending and var is not None and var not in os.environ:
            unset.append(var)
            options[k] = v
        else:
            options[k] = resolve(v, f"option {k}")
    selection = Selection(
        names=frozenset(_strings(table, "events")),
        dialects=frozenset(_strings(table, "dialects")),
        consent=_optional_text(table, "consent"),
        identifiers=table.get("identifiers", DEFAULT_IDENTIFIERS),
        failed=table.get("failed", False),
    )
    if kind == "ga4" and selection.identifiers == "keep":
        raise ConfigError(
            'identifiers: expected "hash" (the default) or "drop" for a ga4 destination, got "keep"; '
            "GA4's policy forbids personal data: a plain email or phone (a user id, in user_data, a "
            "parameter, a page's address) must not reach it, hashed in user_data as Google documents it"
        )
    if selection.failed and kind not in CARRIES_FAILED:
        raise ConfigError(
            f"failed: expected false for a {kind} destination, got true; only "
            f"{', '.join(sorted(CARRIES_FAILED))} carries failed payloads (a {kind} receiver rejects them)"
        )
    paused = table.get("paused", False)
    if type(paused) is not bool:
        raise ConfigError(f"paused: expected true or false, got {paused!r}")
    max_age = table.get("max_age_s", DEFAULT_MAX_AGE_S)
    if type(max_age) not in (int, float):
        raise ConfigError(f"max_age_s: expected a number of seconds, got {max_age!r}")
    policy = Policy(max_age_s=float(max_age))
    in_flight = table.get("in_flight", 1)
    if not inflight.allowed(in_flight):
        raise ConfigError(
            f"in_flight: expected a whole number of requests from 1 to {inflight.MAX_IN_FLIGHT}, got "
            f"{in_flight!r}; 1 keeps the destination's order exactly, more keep it per visitor "
            "(see docs/forwarding.md)"
        )
    if not unset:
        encoder.encode([], options, now or datetime.now(UTC))  # an encoder checks its options on every call
    return Destination(prop, name, kind, options, selection, paused, policy, in_flight, tuple(unset))


def _strings(table: Mapping[str, Any], key: str) -> list[str]:
    value = table.get(key, [])
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f'{key}: expected a list of names such as ["purchase", "refund"], got {value!r}')
    return value


def _optional_text(table: Mapping[str, Any], key: str) -> str | None:
    value = table.get(key)
    if value in (None, "", "none"):
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{key}: expected a string, got {value!r}")
    return value


def secret_values(data: Mapping[str, Any]) -> set[str]:
    """Every secret option's value in a file's parsed ``properties`` (for redaction),
    whether the table is valid or not; ``env:`` values are looked up."""
    values: set[str] = set()
    properties = data.get("properties")
    if not isinstance(properties, dict):
        return values
    for prop in properties.values():
        tables = prop.get("destinations") if isinstance(prop, dict) else None
        if not isinstance(tables, dict):
            continue
        for table in tables.values():
            if not isinstance(table, dict):
                continue
            try:
                names = types.encoder(str(table.get("type"))).secrets
            except ConfigError:
                names = frozenset(k for k in table if k not in SELECTION)  # unknown type: hide all
            for k, v in table.items():
                if k in names and isinstance(v, str):
                    values.add(os.environ.get(v[4:], "") if v.startswith("env:") else v)
    return values


# --- edits of trackway.toml ---------------------------------------------------------


def table_text(prop: str, name: str, values: Mapping[str, Any]) -> str:
    return tomli_w.dumps({"properties": {prop: {"destinations": {name: dict(values)}}}})


def _header(prop: str, name: str) -> re.Pattern[str]:
    part = r'\s*\.\s*(?:{0}|"{0}")'
    return re.compile(
        r"^\s*\[\s*(?:properties|\"properties\")"
        + part.format(re.escape(prop))
        + part.format("destinations")
        + part.format(re.escape(name))
        + r"\s*\]\s*(?:#.*)?$"
    )


def _block(lines: list[str], prop: str, name: str, path: Path) -> tuple[int, int]:
    """The lines [start, end) of the destination's table in the file."""
    pattern = _header(prop, name)
    start = next((i for i, line in enumerate(lines) if pattern.match(line)), None)
    if start is None:
        raise ConfigError(
            f"{path}: expected a table [properties.{prop}.destinations.{name}], found none "
            "(written another way, e.g. as an inline table); edit the file by hand"
        )
    end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))
    return start, end


def remove(path: Path, text: str, prop: str, name: str) -> str:
    """The file's text without the destination's table."""
    lines = text.splitlines(keepends=True)
    start, end = _block(lines, prop, name, path)
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1  # keep the blank lines that separate the next table
    return "".join(lines[:start] + lines[end:])


def set_paused(path: Path, text: str, prop: str, name: str, paused: bool) -> str:
    """The file's text with the destination's ``paused`` set."""
    lines = text.splitlines(keepends=True)
    start, end = _block(lines, prop, name, path)
    value = f"paused = {'true' if paused else 'false'}\n"
    for i in range(start + 1, end):
        if re.match(r"^\s*paused\s*=", lines[i]):
            lines[i] = value
            break
    else:
        lines.insert(start + 1, value)
    return "".join(lines)
