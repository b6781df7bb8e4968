"""The dialect registry: every vendor's adapters (trackway.vendors), by name.

Built once, when first asked, from the vendors' declarations; listed (and tried by
auto-detection on ties) in the adapters' ``detect_order``, then by name.
"""

from __future__ import annotations

from trackway import vendors
from trackway.dialects.base import Adapter, DecodeContext, EncodeOptions, EventDoc
from trackway.errors import UnknownDialectError

_REGISTRY: dict[str, Adapter] = {}
_loaded = False


def _load() -> None:
    """Build the registry from the vendors' declarations, once."""
    global _loaded
    if _loaded:
        return
    found: dict[str, Adapter] = {}
    for vendor in vendors.vendors():
        for adapter in vendor.dialects:
            if adapter.name in found:
                raise ValueError(
                    f"expected one adapter per dialect name, got two named {adapter.name!r} "
                    f"(the second in vendor {vendor.name!r}); rename one"
                )
            found[adapter.name] = adapter
    _REGISTRY.clear()
    _REGISTRY.update(sorted(found.items(), key=lambda kv: (kv[1].detect_order, kv[0])))
    _loaded = True


def _forget() -> None:
    global _loaded
    _loaded = False


vendors.on_reset(_forget)


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
    return list(_REGISTRY)


def adapters() -> list[Adapter]:
    _load()
    return list(_REGISTRY.values())


__all__ = ["Adapter", "DecodeContext", "EncodeOptions", "EventDoc", "adapters", "get", "names"]
