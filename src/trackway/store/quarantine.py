"""The ``quarantine`` table: the rows of log records the loader could not load.

What a row holds and how the loader makes one is :mod:`trackway.ingest.quarantine`;
this is where the store keeps them, and :func:`sanitize`, which makes an event's text
storable (a lone surrogate, which UTF-8 cannot encode, becomes U+FFFD).
"""

from __future__ import annotations

from typing import Any

import msgspec

from trackway.ingest.quarantine import QuarantineRow, clean_text

DDL = """
CREATE SEQUENCE IF NOT EXISTS quarantine_ids START 1;
CREATE TABLE IF NOT EXISTS quarantine (
    id BIGINT NOT NULL DEFAULT nextval('quarantine_ids'),
    property VARCHAR NOT NULL,
    slot VARCHAR NOT NULL,
    seq BIGINT NOT NULL,
    "offset" BIGINT NOT NULL,
    received_at TIMESTAMPTZ,
    request_id VARCHAR,
    endpoint VARCHAR,
    record BLOB NOT NULL,
    error_type VARCHAR NOT NULL,
    error_message VARCHAR NOT NULL,
    traceback VARCHAR NOT NULL,
    loader_version VARCHAR NOT NULL,
    quarantined_at TIMESTAMPTZ NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 1,
    last_attempt_at TIMESTAMPTZ NOT NULL
);
"""

COLUMNS = (
    "property",
    "slot",
    "seq",
    "offset",
    "received_at",
    "request_id",
    "endpoint",
    "record",
    "error_type",
    "error_message",
    "traceback",
    "loader_version",
    "quarantined_at",
    "attempts",
    "last_attempt_at",
)


def as_insert_row(row: QuarantineRow) -> dict[str, Any]:
    return {c: getattr(row, c) for c in COLUMNS}


def sanitize(value: Any) -> tuple[Any, int]:
    """``value`` (an event, or any of its parts) with every lone surrogate in its strings,
    keys included, replaced by U+FFFD; in place for structs. Returns it and how many
    strings changed."""
    if isinstance(value, str):
        clean = clean_text(value)
        return clean, int(clean is not value)
    if isinstance(value, msgspec.Struct):
        changed = 0
        for name in value.__struct_fields__:
            new, n = sanitize(getattr(value, name))
            if n:
                setattr(value, name, new)
                changed += n
        return value, changed
    if isinstance(value, dict):
        changed = 0
        out = {}
        for k, v in value.items():
            nk, a = sanitize(k)
            nv, b = sanitize(v)
            out[nk] = nv
            changed += a + b
        return (out, changed) if changed else (value, 0)
    if isinstance(value, list | tuple):
        items = [sanitize(v) for v in value]
        changed = sum(n for _, n in items)
        if not changed:
            return value, 0
        return type(value)(v for v, _ in items), changed
    return value, 0  # numbers, bytes, times: nothing to encode
