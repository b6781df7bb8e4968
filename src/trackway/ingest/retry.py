"""``trackway quarantine retry``: quarantined log records through decoding and storing again.

After an upgrade that fixes what made the loader quarantine them (ingest/quarantine.py),
each record is decoded with the property's settings as they are now and stored; the
store removes its quarantine row in the transaction that stores it. A record that
fails again keeps its row, with the new error. The loader's ``retry`` runs it under the
loader's lock; the CLI runs it on a stopped server's store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from trackway.config import Property
from trackway.ingest import pipeline, records
from trackway.ingest.sink import LoadResult, Sink


@dataclass
class RetryReport:
    """What ``trackway quarantine retry`` did."""

    examined: int = 0
    loaded: int = 0  # records loaded and removed from the quarantine
    events: int = 0  # events they stored
    failed_payloads: int = 0  # payloads they stored as failed
    still_failing: list[dict[str, Any]] = field(default_factory=list)  # id, error
    not_found: list[int] = field(default_factory=list)  # asked for, not in the quarantine (or scope)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)  # the fields, in their order


def retry_quarantined(
    store: Sink,
    properties: dict[str, Property],
    ids: Sequence[int] | None = None,
    prop: str | None = None,
    stats: LoadResult | None = None,
) -> RetryReport:
    """Run quarantined records (``ids``, or all; of ``prop`` only when given) through
    decoding and storing again. A record that loads leaves the quarantine in the
    transaction that stores it; one that fails again keeps its row, with the new error."""
    rows = store.quarantined(prop, ids)
    report = RetryReport(examined=len(rows))
    if ids is not None:
        found = {r.id for r in rows}
        report.not_found = [i for i in ids if i not in found]
    for row in rows:
        try:
            record = records.loads(row.record)
            owner = properties.get(record.property)
            out = pipeline.outcome(record, owner)
            result = store.load([(pipeline.stored_record(record, out, owner), out)], {}, resolved=[row.id])
        except Exception as exc:
            if store.fault(exc):
                raise
            again = row.failed_again(exc)
            store.update_quarantined(again)
            report.still_failing.append({"id": row.id, "error": f"{again.error_type}: {again.error_message}"})
            continue
        report.loaded += 1
        report.events += result.stored
        report.failed_payloads += result.failed
        if stats is not None:
            stats.merge(result)
    return report
