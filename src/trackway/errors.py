"""The one error hierarchy of Trackway.

Validation problems are *not* exceptions: they are :class:`trackway.issues.Issue`
values returned next to the events. Exceptions are for input that cannot be
read at all, for unknown names and for misuse of the API, and, in the server, for
answers (:class:`HttpError`) and for a log that cannot take a record. Every exception
a caller of Trackway can meet derives from :class:`TrackwayError` (tests/test_errors.py).
"""

from __future__ import annotations

from typing import Any


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


class UnknownPropertyError(UsageError):
    """A property that is neither in trackway.toml nor in the store's data (a misspelt
    ``--property``, ``?property=``): answered 404 by the API, an error by the CLI."""

    def __init__(self, name: str, configured: list[str]) -> None:
        self.name = name
        self.configured = configured
        super().__init__(
            f"unknown property {name!r}: expected one of {', '.join(configured) or '(none configured)'} "
            "(trackway.toml), or one whose events the store still holds; no event or failed payload "
            "is stored under that name: check its spelling (`trackway property list`)"
        )


class ConfigError(TrackwayError):
    """The configuration file or a setting is wrong; the message says where and how to fix it."""


class StoreError(TrackwayError):
    """The store cannot do what was asked (a locked database, SQL that writes, ...)."""


class HttpError(TrackwayError):
    """Answer with ``status`` and a JSON body ``{"error": message, ...extra}``
    (src/trackway/server/http.py turns it into the response)."""

    def __init__(
        self, status: int, message: str, *, headers: list[tuple[bytes, bytes]] | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or []
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": self.message, **self.extra}


class ClientGone(TrackwayError):
    """The client disconnected before its request was complete: nothing to do."""


class LogError(TrackwayError):
    """The write-ahead log cannot take a record now (src/trackway/ingest/writer.py)."""


class Overloaded(LogError):
    """More records are waiting for the disk than the writer may hold."""


class LogClosed(LogError):
    """The writer is shut down."""


class LogLocked(LogError):
    """Another process is writing the log directory (it holds the directory's lock)."""


class CommitFailed(LogError, OSError):
    """The write or the ``fdatasync`` of a commit failed: its records are not durable.
    An OSError too, as the disk error it reports."""


class HelperGone(LogError, OSError):
    """The log's sync helper process exited or its socket broke (an OSError, as the
    writer treats every failed sync; it answers the commit's requests CommitFailed)."""


class DeadlineExceeded(TrackwayError, TimeoutError):
    """A request to a destination took longer than its whole-exchange timeout
    (src/trackway/destinations/http.py)."""
