"""The quarantine's rows: a log record the loader could not load, kept raw and whole.

A record whose decoding or storing raised (a bug, or input no rule foresaw) must
neither stop the loader nor be lost. The loader makes it a :class:`QuarantineRow`: its
msgpack bytes exactly as read from the log, where it was (slot, file, offset), and the
exception; the store keeps the row (the ``quarantine`` table, store/quarantine.py) in
the same transaction that moves the log position past the record. ``trackway
quarantine retry`` runs the record through decoding and storing again (after an
upgrade): on success the events are stored and the row removed in one transaction,
otherwise the row keeps the new error.

Also here: making text safe to store. A lone surrogate (``"\\udc00"`` in JSON) is a
Python ``str`` that cannot be encoded as UTF-8, so neither DuckDB nor Arrow nor a
JSON encoder takes it; :func:`clean_text` replaces each with U+FFFD.
"""

from __future__ import annotations

import re
import traceback
from datetime import UTC, datetime
from typing import Any

import msgspec

import trackway

MAX_TRACEBACK = 64 * 1024  # characters kept of a traceback (a RecursionError's repeats itself)
MAX_MESSAGE = 4 * 1024

_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD (text that is valid stays as is)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


class QuarantineRow(msgspec.Struct, kw_only=True):
    """One quarantined record. ``seq``/``offset``: where its frame starts in the slot's log."""

    property: str
    slot: str
    seq: int
    offset: int
    record: bytes  # the msgpack payload as read from the log
    error_type: str
    error_message: str
    traceback: str
    loader_version: str
    quarantined_at: datetime
    last_attempt_at: datetime
    received_at: datetime | None = None
    request_id: str | None = None
    endpoint: str | None = None
    attempts: int = 1
    id: int = 0  # given by the store

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = msgspec.to_builtins(msgspec.structs.replace(self, record=b""))
        del out["record"]
        out["record_bytes"] = len(self.record)
        return out

    def failed_again(self, exc: BaseException) -> QuarantineRow:
        """This row after another attempt that raised ``exc``."""
        kind, message, tb = describe(exc)
        return msgspec.structs.replace(
            self,
            error_type=kind,
            error_message=message,
            traceback=tb,
            loader_version=trackway.__version__,
            attempts=self.attempts + 1,
            last_attempt_at=datetime.now(UTC),
        )


def _kind(exc: BaseException) -> str:
    return f"{type(exc).__module__}.{type(exc).__qualname__}".removeprefix("builtins.")


def summary(exc: BaseException) -> str:
    """``type: message`` of an exception (as :func:`describe` gives them), for an alarm or a
    log line."""
    return f"{clean_text(_kind(exc))}: {clean_text(str(exc))[:MAX_MESSAGE]}"


def describe(exc: BaseException) -> tuple[str, str, str]:
    """(type, message, traceback) of an exception, as text that can always be stored."""
    kind = _kind(exc)
    message = clean_text(str(exc))[:MAX_MESSAGE]
    lines = traceback.format_exception(exc)
    tb = "".join(lines)
    if len(tb) > MAX_TRACEBACK:  # keep the start (where it was called) and the end (where it broke)
        half = MAX_TRACEBACK // 2
        tb = tb[:half] + "\n... (traceback cut) ...\n" + tb[-half:]
    return clean_text(kind), message, clean_text(tb)


def new_row(
    exc: BaseException,
    raw: bytes,
    slot: str,
    seq: int,
    offset: int,
    *,
    prop: str = "",
    received_at: int | None = None,
    request_id: str | None = None,
    endpoint: str | None = None,
) -> QuarantineRow:
    """A record that raised ``exc``, as a quarantine row (``received_at`` in microseconds)."""
    kind, message, tb = describe(exc)
    now = datetime.now(UTC)
    when = None
    if received_at is not None:
        try:
            when = datetime.fromtimestamp(received_at / 1e6, UTC)
        except (OverflowError, ValueError, OSError):
            when = None
    return QuarantineRow(
        property=clean_text(prop),
        slot=slot,
        seq=seq,
        offset=offset,
        record=bytes(raw),
        error_type=kind,
        error_message=message,
        traceback=tb,
        loader_version=trackway.__version__,
        quarantined_at=now,
        last_attempt_at=now,
        received_at=when,
        request_id=clean_text(request_id) if request_id is not None else None,
        endpoint=clean_text(endpoint) if endpoint is not None else None,
    )
