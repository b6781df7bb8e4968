"""The types every destination encoder shares. No I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import msgspec

from trackway.issues import Issue, Issues, Path
from trackway.model import Event


@dataclass(frozen=True)
class Outgoing:
    """One HTTP request to a destination: what to send, and which events it carries.

    ``events``: the ids of the events in it, in order (for counting, dead letters and
    replay); ``idempotency_key``: the key the receiver deduplicates a retried request by,
    where the vendor has one (also placed in the body or headers by the encoder);
    ``order_key``: whose events the request carries (one visitor, one client), where they
    are one's: with several requests in flight, requests of one key still go in order,
    and a request without a key goes alone (:mod:`trackway.destinations.inflight`)."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes
    events: tuple[str, ...]
    idempotency_key: str | None = None
    order_key: str | None = None


@dataclass(frozen=True)
class Failed:
    """A payload that failed validation, as a destination with ``failed = true`` receives
    it: the id the store gives it (``<request id>/<n>``), where and when it came, the
    payload as received (text) and its issues (JSON)."""

    id: str
    property: str
    endpoint: str
    dialect: str
    received_at: datetime
    payload: str
    issues: bytes

    def to_json(self) -> bytes:
        return (
            b'{"failed":true,"id":' + _json(self.id) + b',"property":' + _json(self.property)
            + b',"endpoint":' + _json(self.endpoint) + b',"dialect":' + _json(self.dialect)
            + b',"received_at":' + _json(self.received_at.isoformat().replace("+00:00", "Z"))
            + b',"payload":' + _json(self.payload) + b',"issues":' + (self.issues or b"[]") + b"}"
        )  # fmt: skip

    @classmethod
    def from_json(cls, data: bytes) -> Failed:
        raw = msgspec.json.decode(data)
        received = datetime.fromisoformat(raw["received_at"].replace("Z", "+00:00"))
        issues = msgspec.json.encode(raw.get("issues", []))
        return cls(
            str(raw["id"]),
            str(raw["property"]),
            str(raw["endpoint"]),
            str(raw["dialect"]),
            received,
            str(raw["payload"]),
            issues,
        )


def _json(value: str) -> bytes:
    return msgspec.json.encode(value)


@dataclass(frozen=True)
class Refusal:
    """An event the encoder will not send, and why (dead-lettered at once: retrying cannot help)."""

    event: str
    reason: str


@dataclass
class Encoded:
    """What a batch of events becomes: requests to send, and events refused."""

    requests: list[Outgoing] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


class Encoder(Protocol):
    """A destination type's encoder.

    ``type``: the name users write (``--type ga4``); ``options``: the names of the
    options it takes (``measurement_id``, ``api_secret``, ``base_url``, ...), with
    ``secrets`` the ones never shown; ``encode`` renders ``events`` (already selected for
    the destination, in log order) as requests honouring the vendor's limits, at ``now``
    (UTC; for rules such as GA4's 72 hours).

    An encoder whose requests carry the time they are sent (the webhook's signature) also
    has ``refresh(request, options, now) -> Outgoing``, which the forwarder calls before
    each send, so a request retried after an outage carries the time of that try."""

    type: str
    options: Sequence[str]
    secrets: frozenset[str]

    def encode(self, events: Sequence[Event], options: Mapping[str, Any], now: datetime) -> Encoded: ...


class ErrorsOnly(Issues):
    """Issues that keep errors only: for an encoder rendering an event and checking the
    rendering, where only an error matters (it refuses the event) and a warning would be
    made and thrown away for every event sent."""

    __slots__ = ()
    keeps_warnings = False

    def warning(self, path: Path, code: str, message: str) -> None:
        return None

    def add(self, issue: Issue) -> None:
        if issue.is_error:
            super().add(issue)
