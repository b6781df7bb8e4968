"""Checking a destination's options: one wording for every type. No I/O.

Each function raises a :class:`~trackway.errors.ConfigError` naming the type and the
option, what was expected, what came and how to fix it; a secret's value is never
quoted (only its type)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from trackway.errors import ConfigError


def known(kind: str, options: Mapping[str, Any], names: Iterable[str]) -> None:
    """Every option is one the type takes."""
    names = list(names)
    unknown = sorted(set(options) - set(names))
    if unknown:
        raise ConfigError(
            f"{kind} destination: expected options among {', '.join(names)}, got {', '.join(unknown)}; "
            "remove or rename them"
        )


def text(kind: str, options: Mapping[str, Any], name: str, hint: str) -> str:
    """A required non-empty string option; ``hint`` says where its value is found."""
    value = options.get(name)
    if type(value) is not str or not value:
        got = "nothing" if value is None or value == "" else type(value).__name__
        raise ConfigError(
            f"{kind} destination option {name}: expected a non-empty string, got {got}; set it to {hint}"
        )
    return value


def url(kind: str, options: Mapping[str, Any], name: str, default: str | None) -> str:
    """An http(s) URL option, as written; ``default`` None: required."""
    value = options.get(name, default)
    if type(value) is not str or not value.startswith(("http://", "https://")):
        fix = f"the default is {default}" if default else "set it to the receiver's URL"
        raise ConfigError(
            f"{kind} destination option {name}: expected an http:// or https:// URL, got {value!r}; {fix}"
        )
    return value
