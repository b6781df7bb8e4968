"""The one error hierarchy of Trackway.

Validation problems are *not* exceptions: they are :class:`trackway.issues.Issue`
values returned next to the events. Exceptions are for input that cannot be
read at all, for unknown names and for misuse of the API.
"""

from __future__ import annotations


class TrackwayError(Exception):
    """Base class of every error Trackway raises on purpose."""


class ParseError(TrackwayError, ValueError):
    """Input text is neither JSON nor a JavaScript literal Trackway can read.

    This is the one documented error ``trackway.decode`` raises for unparsable
    input; anything that parses comes back as events and issues instead.
    """

    def __init__(self, message: str, *, source: str = "<input>", line: int = 0, column: int = 0) -> None:
        self.reason = message
        self.source = source
        self.line = line
        self.column = column
        where = f"{source}:{line}:{column}" if line else source
        super().__init__(f"{where}: {message}")


class UnknownDialectError(TrackwayError, LookupError):
    """A dialect name that is not in the registry."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = known
        super().__init__(
            f"unknown dialect {name!r}: expected one of {', '.join(known)} or 'auto'; "
            "run `trackway dialects` to see them"
        )


class EncodeError(TrackwayError):
    """An event cannot be rendered in the target dialect at all."""


class UsageError(TrackwayError):
    """The library or the command line was called the wrong way."""


class ConfigError(TrackwayError):
    """The configuration file or a setting is wrong; the message says where and how to fix it."""


class StoreError(TrackwayError):
    """The store cannot do what was asked (a locked database, SQL that writes, ...)."""
