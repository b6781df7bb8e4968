"""Vendors: one package each, and the one declaration that says what it provides.

A vendor package (``trackway/vendors/<name>/``) holds everything Trackway knows about
one vendor: its dialects (adapters, rules, schemas), its wire endpoints and their keys,
the consent signals its events carry, its demo rendering and the text of its
documentation page. Its ``vendor.py`` (whose docstring is the page) ends with one
:class:`Vendor` named ``VENDOR``; everything that lists vendors is built from those
declarations:

- the dialect registry and auto-detection's order (``trackway.dialects``), from
  :attr:`Vendor.dialects` and each adapter's ``detect_order``;
- the workers' routes and ``/openapi.json`` (``trackway.server``), from
  :attr:`Vendor.endpoints`;
- the property settings that hold the keys, and the keyring that finds a property by
  its key (``trackway.settings``, ``trackway.config``), from :attr:`Vendor.keys`;
- consent (``trackway.privacy.consent``), from :attr:`Vendor.consent`;
- the events a destination's lag counts in a raw body (``trackway.destinations.position``),
  from :attr:`Vendor.raw_event_lists`;
- the generated documentation (``trackway.docs_gen``).

Packages under ``trackway/vendors/`` are found by listing the folder. A vendor that
lives elsewhere (a plug-in, a test's throw-away vendor) calls :func:`register` before
the registry is first used, or :func:`reset` after. The core (model, issues, values)
imports nothing from here, and nothing here names a vendor.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trackway.dialects.base import Adapter
    from trackway.settings import Setting

# A consent signal's reader: (the value an event's ``consent`` holds under the signal's
# key, the property's consent_categories map) -> purpose -> granted; None when the value
# is not a signal Trackway understands ({} when it is one that names no purpose).
ConsentReader = Callable[[Any, Mapping[str, str]], "dict[str, bool] | None"]


@dataclass(frozen=True)
class Key:
    """A wire credential: the property settings that together make one key.

    ``kind`` names the keyring the endpoint looks in (``cfg.keyring.find(kind, key)``);
    the key is the one setting's value, or the tuple of them when there are several.
    """

    kind: str
    settings: tuple[Setting, ...]


@dataclass(frozen=True)
class Endpoint:
    """A wire endpoint a worker serves.

    ``handlers``: HTTP method -> ``"module:function"``, imported when the router is built
    (so that reading a declaration never imports the server).
    """

    path: str
    handlers: Mapping[str, str]

    def handler(self, method: str) -> Callable[..., Any]:
        found: Callable[..., Any] = resolve(self.handlers[method])
        return found


def resolve(ref: str) -> Any:
    """``"package.module:name"`` -> that object (imported now)."""
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class ConsentCommand:
    """A payload of a /collect batch that sets consent for the payloads after it instead of
    being an event (gtag's ``['consent', 'default'|'update', {...}]``).

    ``name``: the dialect a batch result names for it; ``matches(payload)``: whether a
    payload is one (well formed or not); ``issues(payload)``: what is wrong with it ([]:
    nothing); ``apply(state, payload)``: the batch's consent signals after it (a new dict,
    which becomes the following events' signals)."""

    name: str
    matches: Callable[[Any], bool]
    issues: Callable[[Any], list[Any]]
    apply: Callable[[Mapping[str, str] | None, Any], dict[str, str]]


@dataclass(frozen=True)
class Vendor:
    """What one vendor package provides. ``name``: the package's name, lower case."""

    name: str
    title: str
    doc: str  # the vendor's documentation page, in Markdown (its vendor.py's docstring)
    dialects: tuple[Adapter, ...] = ()
    endpoints: tuple[Endpoint, ...] = ()
    # ``"module:function"``: the function returns the OpenAPI path items of the endpoints.
    openapi: str = ""
    keys: tuple[Key, ...] = ()
    # Server-wide settings the vendor's endpoints read (such as a body limit).
    server_settings: tuple[Setting, ...] = ()
    # Property settings beside the keys' (none so far).
    property_settings: tuple[Setting, ...] = ()
    # Key in an event's ``consent`` -> the reader of its value.
    consent: Mapping[str, ConsentReader] = field(default_factory=dict)
    # Destination types this vendor receives (trackway.destinations): type name ->
    # ``"module:name"`` of its encoder (a trackway.destinations.base.Encoder).
    destinations: Mapping[str, str] = field(default_factory=dict)
    # Named sets of encoder options (``trackway convert --preset NAME``): a platform's
    # documented rules for rendering this vendor's dialects (2Checkout's for UA).
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # Consent commands a /collect batch may hold (gtag's consent calls).
    consent_commands: tuple[ConsentCommand, ...] = ()
    # Dialect -> the key of the list a raw body (logged as received, decoded by the loader)
    # holds its events in, when it holds several: a destination's lag counts their number.
    raw_event_lists: Mapping[str, str] = field(default_factory=dict)
    # ``"module:function"``: how ``trackway demo`` renders a session in this vendor's
    # wire forms (trackway.demo.render); "" for a vendor the demo does not send.
    demo: str = ""


_extra: dict[str, Vendor] = {}
_found: list[Vendor] | None = None


def _discover() -> list[Vendor]:
    """The vendor packages in this folder, their declarations imported, in name order.

    The declaration is a module of its own, not the package's ``__init__``: importing one
    module of a package (another vendor's shared vocabulary, ``trackway.vendors.ga4.common``)
    then never imports the package's adapters, so vendors may build on each other's
    modules without import cycles."""
    out = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.ispkg:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}.vendor")
        vendor = getattr(module, "VENDOR", None)
        if not isinstance(vendor, Vendor):
            raise TypeError(
                f"expected {module.__name__} to declare VENDOR = Vendor(...), got {type(vendor).__name__}; "
                "a vendor package's vendor.py ends with its declaration (docs/adding-a-vendor.md)"
            )
        out.append(vendor)
    return out


def vendors() -> list[Vendor]:
    """Every vendor: the packages here, then those registered, each once."""
    global _found
    if _found is None:
        _found = _discover()
    return _found + [v for v in _extra.values() if v.name not in {f.name for f in _found}]


def get(name: str) -> Vendor:
    for vendor in vendors():
        if vendor.name == name:
            return vendor
    raise KeyError(name)


def register(vendor: Vendor) -> Vendor:
    """Add a vendor from outside this folder (a plug-in, a test). Takes effect for
    registries built after it; call :func:`reset` if one was built already."""
    _extra[vendor.name] = vendor
    return vendor


def unregister(name: str) -> None:
    _extra.pop(name, None)


_listeners: list[Callable[[], None]] = []


def on_reset(listener: Callable[[], None]) -> None:
    """Call ``listener`` when the set of vendors changes (registries built from it)."""
    _listeners.append(listener)


def reset() -> None:
    """Forget every registry built from the declarations (after :func:`register`)."""
    consent_commands.cache_clear()
    for listener in _listeners:
        listener()


def endpoints() -> list[tuple[Vendor, Endpoint]]:
    return [(v, e) for v in vendors() for e in v.endpoints]


def openapi_paths() -> dict[str, Any]:
    """The OpenAPI path items of every vendor's endpoints."""
    out: dict[str, Any] = {}
    for vendor in vendors():
        if vendor.openapi:
            out.update(resolve(vendor.openapi)())
    return out


def key_specs() -> list[Key]:
    return [k for v in vendors() for k in v.keys]


def destination_types() -> dict[str, str]:
    """Every vendor's destination types: type name -> ``"module:name"`` of its encoder."""
    return {name: ref for v in vendors() for name, ref in v.destinations.items()}


def presets() -> dict[str, Mapping[str, Any]]:
    """Every vendor's encoder presets, by name."""
    return {name: options for v in vendors() for name, options in v.presets.items()}


def raw_event_lists() -> dict[str, str]:
    """Every vendor's :attr:`Vendor.raw_event_lists`: dialect -> key of a raw body's event list."""
    return {dialect: key for v in vendors() for dialect, key in v.raw_event_lists.items()}


@functools.cache
def consent_commands() -> tuple[ConsentCommand, ...]:
    """Every vendor's consent commands (asked for each /collect payload: kept until a reset)."""
    return tuple(c for v in vendors() for c in v.consent_commands)


def consent_readers() -> dict[str, ConsentReader]:
    return {key: reader for v in vendors() for key, reader in v.consent.items()}
