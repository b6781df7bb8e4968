"""Turning a log record into what it stores: decoding, then the property's privacy.

:func:`outcome` gives the same result for both kinds of record
(:mod:`trackway.ingest.records`): the events to store (ids, property, times and request
context filled in by :func:`finalize`) and the payloads that failed, each with its
issues. It is pure: no I/O, deterministic for a record, so a replayed log gives the
same ids. The workers use :func:`split` to answer the requests they decode, the loader
:func:`outcome`, ``trackway replay`` :func:`finalize`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import msgspec

import trackway
from trackway.api import Decoded
from trackway.errors import ParseError
from trackway.ingest.records import (
    CREDENTIALS,
    DECODED,
    ENVELOPE,
    FailedPayload,
    Outcome,
    Record,
    event_id,
    from_micros,
)
from trackway.issues import Issue, Severity
from trackway.model import DEVICE_ID_MAX, Event, from_json
from trackway.privacy.consent import merge_signals
from trackway.privacy.pii import truncate_ip
from trackway.privacy.prepare import LastSignals, PrivacySettings, prepare

if TYPE_CHECKING:
    from trackway.config import Property

DEFAULT_PRIVACY = PrivacySettings()  # events of a property the configuration no longer has

# Client timestamps outside this window around received_at are not believed.
FUTURE_SKEW = timedelta(minutes=10)
PAST_LIMIT = timedelta(days=366)

_json = msgspec.json.Encoder()


def issues_json(issues: list[Issue]) -> bytes:
    return _json.encode([{**i.to_json(), "event": i.event} for i in issues])


def envelope_of(meta: dict[str, Any]) -> dict[str, Any]:
    """The /collect envelope a record's (or a failed row's) meta holds, or {}."""
    text = meta.get(ENVELOPE)
    if not isinstance(text, str):
        return {}
    value = msgspec.json.Decoder(float_hook=Decimal).decode(text)
    return value if isinstance(value, dict) else {}


def apply_envelope(events: list[Event], envelope: dict[str, Any]) -> None:
    """A /collect envelope's ids and context fill what the events do not carry."""
    context = envelope.get("context")
    anonymous_id, user_id = envelope.get("anonymous_id"), envelope.get("user_id")
    signals = envelope.get("consent") if isinstance(envelope.get("consent"), dict) else None
    ids = _vendor_ids(envelope.get("ids"))
    for event in events:
        if signals:
            event.consent = merge_signals(event.consent, None, signals)
        if ids:
            event.context = {**(event.context or {}), "ids": ids}
        if event.anonymous_id is None and isinstance(anonymous_id, str) and anonymous_id:
            event.anonymous_id = anonymous_id
        if event.user_id is None and isinstance(user_id, str) and user_id:
            event.user_id = user_id
        if isinstance(context, dict) and context:
            event.context = {**context, **(event.context or {})}


MAX_VENDOR_IDS = 8


def _vendor_ids(value: Any) -> dict[str, str] | None:
    """A /collect envelope's ``ids`` (the vendors' ids of the device, by name: the
    browser tracker's ``ga_client_id``, ``convead_guest_uid``, ``consistent_anonymous_id``):
    string names of at most 64 characters and values of at most ``DEVICE_ID_MAX``, at most
    8; anything else is ignored."""
    if not isinstance(value, dict):
        return None
    kept = {
        k: v
        for k, v in value.items()
        if isinstance(k, str) and isinstance(v, str) and 0 < len(k) <= 64 and 0 < len(v) <= DEVICE_ID_MAX
    }
    return dict(list(kept.items())[:MAX_VENDOR_IDS]) or None


def finalize(
    events: list[Event],
    record: Record,
    ordinal: int,
    meta: dict[str, Any] | None = None,
    prop: Property | None = None,
    last: LastSignals | None = None,
    received: datetime | None = None,
) -> list[bool]:
    """Fill in what the collector knows about events: property, received_at, ids,
    a believable timestamp, the request's IP and user agent; then apply the property's
    privacy policy (consent purposes, cookieless, hashing, IP truncation). Returns which
    ids the client supplied. ``last``: consent signals read before (for a run of records;
    see trackway.privacy.prepare.LastSignals); ``received``: the record's time, when the
    caller has it already."""
    if received is None:
        received = from_micros(record.received_at)
    meta = record.meta if meta is None else meta
    privacy = prop.privacy if prop is not None else DEFAULT_PRIVACY
    if last is None:
        last = LastSignals()
    client = []
    ip, agent = meta.get("ip"), meta.get("user_agent")
    # the events of a request often share one context object (or have none): it is
    # completed once for them, and the result shared, as contexts are never changed in place
    found: object = _NOTHING
    made: dict[str, Any] | None = None
    earliest, latest = received - PAST_LIMIT, received + FUTURE_SKEW
    for n, event in enumerate(events):
        event.property = record.property
        event.received_at = received
        extras = event.extras
        if extras:
            for key in CREDENTIALS:
                extras.pop(key, None)
        client.append(bool(event.id))
        if not event.id:
            event.id = event_id(record.request_id, ordinal + n)
        ts = event.timestamp
        if ts is None:
            event.timestamp = received
        elif ts > latest or ts < earliest:
            event.context = {**(event.context or {}), "client_timestamp": ts.isoformat()}
            event.timestamp = received
        if ip or agent:
            context = event.context
            if context is not found:
                found = context
                made = dict(context or {})
                if ip and "ip" not in made:
                    made["ip"] = ip
                if agent and "user_agent" not in made:
                    made["user_agent"] = agent
            event.context = made
        prepare(event, privacy, last)
    return client


_NOTHING = object()


def split(
    decoded: Decoded,
    payload: bytes,
    outcome: Outcome,
    record: Record,
    ordinal: int,
    prop: Property | None = None,
    call: str | None = None,
    last: LastSignals | None = None,
    received: datetime | None = None,
) -> int:
    """Add a decoded unit's accepted events and its failure (if any) to ``outcome``.
    ``call``: the client's id of the unit (its failure is stored once by it); ``last``
    and ``received``: as :func:`finalize` takes them. Returns the next ordinal."""
    failed = decoded.failed()
    failed_idx = sorted(failed)
    accepted = [e for n, e in enumerate(decoded.events) if n not in failed] if failed else decoded.events
    if not decoded.events and not decoded.valid:  # valid with no event: a non-event, nothing to keep
        failed_idx = [-1]
    client = finalize(accepted, record, ordinal, prop=prop, last=last, received=received)
    outcome.events.extend(accepted)
    outcome.client_ids.extend(client)
    if failed_idx:
        outcome.failed.append(
            FailedPayload(
                payload,
                decoded.dialect,
                failed_idx,
                issues_json(decoded.issues),
                ordinal,
                [decoded.events[n].name for n in failed_idx if n >= 0 and decoded.events[n].name],
                call or "",
            )
        )
    return ordinal + max(len(decoded.events), 1)


def outcome(record: Record, prop: Property | None, last: LastSignals | None = None) -> Outcome:
    """What a record stores: accepted events and failed payloads. ``last``: the same
    object for a run of records (a batch), so that equal consent signals are read once
    (trackway.privacy.prepare.LastSignals)."""
    out = Outcome()
    if record.kind == DECODED:
        for data, client in zip(record.events, record.client_ids, strict=True):
            out.events.append(from_json(data))
            out.client_ids.append(client)
        out.failed = list(record.failed)
        return out
    received = from_micros(record.received_at)
    try:
        decoded = trackway.decode(
            record.dialect,
            record.body,
            default_currency=prop.default_currency if prop is not None else None,
            received_at=received,
            property=record.property,
        )
    except ParseError as exc:
        issue = Issue(
            "$", "PAYLOAD_INVALID", Severity.ERROR, f"expected a JSON body, got unreadable text: {exc}"
        )
        out.failed.append(FailedPayload(record.body, record.dialect, [-1], issues_json([issue])))
        return out
    split(decoded, record.body, out, record, 0, prop, last=last, received=received)
    return out


def stored_record(record: Record, out: Outcome, prop: Property | None) -> Record:
    """``record`` as its failed payloads' rows keep its metadata: with ``truncate_ip``, the
    request's IP truncated as its events' are (a failed payload kept the whole address)."""
    meta = record.meta
    if not out.failed or prop is None or not prop.privacy.truncate_ip or not meta:
        return record
    ip = meta.get("ip")
    if type(ip) is not str or not ip:
        return record
    short = truncate_ip(ip)
    return record if short == ip else msgspec.structs.replace(record, meta={**meta, "ip": short})
