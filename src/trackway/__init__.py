"""Trackway: a self-hosted collector for e-commerce tracking events.

The core is pure (no I/O): ``decode`` turns a payload of any supported dialect
into canonical events plus validation issues, ``encode`` renders a canonical
event in any dialect, ``convert`` does both.
"""

from trackway.api import Converted, Decoded, convert, decode, detect, encode, encode_with_issues, parse
from trackway.dialects import names as dialect_names
from trackway.dialects.base import EncodeOptions
from trackway.errors import EncodeError, ParseError, TrackwayError, UnknownDialectError, UsageError
from trackway.issues import CODES, Issue, Severity
from trackway.model import Commerce, Event, Item, from_json, to_json

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
