"""The dialect registry: every adapter, by name."""

from __future__ import annotations

from trackway.dialects.base import Adapter, DecodeContext, EncodeOptions, EventDoc
from trackway.errors import UnknownDialectError

_REGISTRY: dict[str, Adapter] = {}


def register(adapter: Adapter) -> Adapter:
    _REGISTRY[adapter.name] = adapter
    return adapter


_loaded = False


def _load() -> None:
    """Import every adapter module once. A flag, not the registry's size: importing one
    adapter module directly (``from trackway.dialects.ga4_mp import ...``) registers
    that adapter alone, and must not stop the others from loading."""
    global _loaded
    if _loaded:
        return
    import importlib

    for module in _MODULES:
        importlib.import_module(f"trackway.dialects.{module}")
    _loaded = True


def get(name: str) -> Adapter:
    _load()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownDialectError(name, names()) from None


def registered(name: str) -> Adapter:
    """:func:`get` without the load check once the registry is loaded (the decode hot path)."""
    adapter = _REGISTRY.get(name) if _loaded else None
    return adapter if adapter is not None else get(name)


def names() -> list[str]:
    _load()
    return [n for n in ORDER_HINT if n in _REGISTRY] + sorted(set(_REGISTRY) - set(ORDER_HINT))


def adapters() -> list[Adapter]:
    return [get(n) for n in names()]


# Modules that register adapters when imported.
_MODULES = (
    "gtag_ga4",
    "gtag_ua",
    "gtm_ga4",
    "gtm_ua",
    "adobe_dtm",
    "koalect",
    "commanders_act",
    "convead",
    "ga4_mp",
)

# The order dialects are listed in (and tried in by auto-detection on ties).
ORDER_HINT = (
    "gtag-ga4",
    "gtag-ua",
    "gtm-ga4",
    "gtm-ua",
    "adobe-dtm",
    "koalect",
    "commanders-act",
    "convead",
    "insend",
    "ga4-mp",
)

__all__ = ["Adapter", "DecodeContext", "EncodeOptions", "EventDoc", "adapters", "get", "names", "register"]
