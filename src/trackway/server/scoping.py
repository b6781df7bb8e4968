"""What an admin token may see: the property a request names, checked against the
token's scope (a property's name, or ``*`` for the server's token). One rule for every
``/api`` handler of the store process (admin.py, admin_views.py, live.py)."""

from __future__ import annotations

from typing import Any

import msgspec

from trackway.errors import HttpError


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
