"""Log records for store tests: what an endpoint that decodes in the worker writes."""

from __future__ import annotations

from datetime import datetime

from trackway.ingest import records


def decoded_record(at: datetime, prop: str = "p", endpoint: str = "/collect") -> records.Record:
    """A decoded record of ``prop`` received at ``at`` on ``endpoint``, its request id new."""
    return records.Record(
        kind=records.DECODED,
        request_id=str(records.uuid7()),
        endpoint=endpoint,
        property=prop,
        received_at=records.micros(at),
    )
