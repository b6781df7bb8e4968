"""What an admin token may see: the property a request names, checked against the
token's scope (a property's name, or ``*`` for the server's token). One rule for every
``/api`` handler of the store process (admin.py, admin_views.py, live.py); and whether
that property exists at all (:func:`existing`, for the server's token and the CLI)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import msgspec

from trackway.errors import HttpError, UnknownPropertyError
from trackway.store.base import Store


def short(value: Any) -> str:
    text = msgspec.json.encode(value).decode()
    return text if len(text) <= 200 else text[:200] + "..."


def scoped(value: Any, scope: str, verb: str = "reads") -> str | None:
    """The property a request may see: ``value`` (None: every one) for the server's
    token; a property's token its own, and a 403 when ``value`` names another."""
    if value is not None and not isinstance(value, str):
        raise HttpError(400, f"expected property as a name, got {short(value)}")
    if scope == "*":
        return value or None
    if value not in (None, "", scope):
        raise HttpError(403, f"this admin token {verb} the property {scope!r} only, not {value!r}")
    return scope


def existing(store: Store, prop: str | None, configured: Collection[str]) -> None:
    """Refuse (:class:`UnknownPropertyError`) a property neither ``configured`` nor in
    the store's data: a misspelt one was answered with nothing, as if it had no events.
    A property removed from trackway.toml keeps its data, and is answered. A configured
    one costs nothing; another, the store's counts per endpoint (``Store.received``:
    DuckStore keeps them, and a look counts only the events stored since the last)."""
    if prop is None or prop in configured or store.received(prop):
        return
    raise UnknownPropertyError(prop, sorted(configured))
