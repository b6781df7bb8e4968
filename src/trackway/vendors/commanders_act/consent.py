"""Commanders Act's consent categories: ``{"categories": ["1", "3"]}``.

Each listed category id maps through the property's ``consent_categories`` (id ->
purpose). A mapped purpose is granted if any listed category maps to it and denied if
none does; categories absent from the map, and map entries naming no known purpose, are
ignored. Integer ids are read as their strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from trackway.privacy.consent import PURPOSES

_MAPPINGS = (dict, MappingProxyType)


def read_categories(value: Any, category_map: Mapping[str, str]) -> dict[str, bool] | None:
    """The listed category ids, mapped to purposes by the property's consent_categories."""
    if type(value) is not list:
        return None
    out: dict[str, bool] = {}
    _categories(value, category_map, out)
    return out


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
