"""Trackway: a self-hosted collector for e-commerce tracking events.

The core is pure (no I/O): ``decode`` turns a payload of any supported dialect
into canonical events plus validation issues, ``encode`` renders a canonical
event in any dialect, ``convert`` does both.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trackway.api import Converted, Decoded, convert, decode, detect, encode, encode_with_issues, parse
    from trackway.dialects import names as dialect_names
    from trackway.dialects.base import EncodeOptions
    from trackway.errors import EncodeError, ParseError, TrackwayError, UnknownDialectError, UsageError
    from trackway.issues import CODES, Issue, Severity
    from trackway.model import Commerce, Event, Item, from_json, to_json

# name -> (module, attribute): imported on first use, so that `trackway --help` or a
# subcommand that needs none of them does not import every dialect (docs/performance.md).
_LAZY = {
    **dict.fromkeys(
        ("Converted", "Decoded", "convert", "decode", "detect", "encode", "encode_with_issues", "parse"),
        "trackway.api",
    ),
    "dialect_names": "trackway.dialects:names",
    "EncodeOptions": "trackway.dialects.base",
    **dict.fromkeys(
        ("EncodeError", "ParseError", "TrackwayError", "UnknownDialectError", "UsageError"), "trackway.errors"
    ),
    **dict.fromkeys(("CODES", "Issue", "Severity"), "trackway.issues"),
    **dict.fromkeys(("Commerce", "Event", "Item", "from_json", "to_json"), "trackway.model"),
}


def __getattr__(name: str) -> Any:
    where = _LAZY.get(name)
    if where is None:  # a submodule, as `import trackway` once made `trackway.model` usable
        try:
            module = importlib.import_module(f"trackway.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"trackway.{name}":
                raise
            raise AttributeError(f"module 'trackway' has no attribute {name!r}") from None
        globals()[name] = module
        return module
    path, _, attribute = where.partition(":")
    value = getattr(importlib.import_module(path), attribute or name)
    globals()[name] = value
    return value


__version__ = "0.1.0"

__all__ = [
    "CODES",
    "Commerce",
    "Converted",
    "Decoded",
    "EncodeError",
    "EncodeOptions",
    "Event",
    "Issue",
    "Item",
    "ParseError",
    "Severity",
    "TrackwayError",
    "UnknownDialectError",
    "UsageError",
    "__version__",
    "convert",
    "decode",
    "detect",
    "dialect_names",
    "encode",
    "encode_with_issues",
    "from_json",
    "parse",
    "to_json",
]
