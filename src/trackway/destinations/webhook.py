"""The ``webhook`` destination type: Trackway's own, the canonical JSON of events, signed.

Each request is ``POST <url>`` with the body ``{"events": [<event>, ...]}``, every event
in its canonical JSON form (docs/canonical-event.md), in log order (then, for a
destination with ``failed = true``, the failed payloads, each ``{"failed": true, "id",
"property", "endpoint", "dialect", "received_at", "payload", "issues"}``), and three headers:

- ``Content-Type: application/json``;
- ``Idempotency-Key``: the sha256 (hex) of the batch's event ids, one per line. The same
  events give the same key, so a retried batch carries the key of its first attempt and
  the receiver can deduplicate it;
- ``Trackway-Signature: t=<unix seconds>,v1=<hex>``: ``<hex>`` is the HMAC-SHA256, keyed
  with the destination's ``secret`` (UTF-8), of ``<t>.<body>`` (the decimal ``t``, a dot,
  the raw body bytes). The scheme Stripe-style webhooks use: the receiver recomputes it
  over the bytes it received, compares in constant time and refuses a ``t`` too far from
  its clock (a replayed request). :func:`verify` does exactly that.

Options: ``url`` (http or https), ``secret`` (never shown), ``max_events`` (default
500) and ``max_bytes`` (default 512 kB, 524,288) a request. An event longer than
``max_bytes`` on its own is refused. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from trackway.destinations import options as options_
from trackway.destinations.base import Encoded, Failed, Outgoing, Refusal
from trackway.destinations.batching import body, pack
from trackway.errors import ConfigError, TrackwayError
from trackway.model import Event, to_json

TYPE = "webhook"
SIGNATURE_HEADER = "Trackway-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_EVENTS = 500
MAX_BYTES = 512 * 1024
DEFAULT_TOLERANCE_S = 300
_PREFIX = b'{"events":['
_SUFFIX = b"]}"


class SignatureError(TrackwayError):
    """A webhook request whose ``Trackway-Signature`` does not verify (the message says why)."""


def sign(body: bytes, secret: str, t: int) -> str:
    """The ``Trackway-Signature`` value of ``body`` sent at unix second ``t``."""
    return f"t={t},v1={_digest(body, secret, t)}"


def _digest(body: bytes, secret: str, t: int) -> str:
    return hmac.new(secret.encode("utf-8"), str(t).encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def verify(
    body: bytes, header: str | None, secret: str, tolerance_s: float = DEFAULT_TOLERANCE_S, now: Any = None
) -> int:
    """Check a received webhook request; return its signed unix time ``t``.

    ``body``: the raw bytes received (not re-serialised JSON); ``header``: the
    ``Trackway-Signature`` value; ``secret``: the destination's secret; ``tolerance_s``:
    how far ``t`` may be from ``now`` (a datetime or unix seconds; the current time when
    None) either way. Several ``v1=`` values are accepted (one per secret while a secret
    is rotated): one must match. Raises :class:`SignatureError` saying what was wrong."""
    if now is None:
        now = datetime.now().timestamp()
    elif isinstance(now, datetime):
        now = now.timestamp()
    if not header:
        raise SignatureError(
            f"expected a {SIGNATURE_HEADER} header, got none; is the sender a Trackway webhook?"
        )
    t_text = None
    signatures = []
    for element in header.split(","):
        key, eq, value = element.strip().partition("=")
        if not eq:
            continue
        if key == "t":
            t_text = value
        elif key == "v1":
            signatures.append(value)
    if t_text is None or not t_text.isascii() or not t_text.isdigit():
        raise SignatureError(
            f"expected {SIGNATURE_HEADER} to hold t=<unix seconds>, got {header[:100]!r}; "
            "the header is damaged or from another scheme"
        )
    if not signatures:
        raise SignatureError(
            f"expected {SIGNATURE_HEADER} to hold v1=<hex HMAC-SHA256>, got {header[:100]!r}"
        )
    t = int(t_text)
    if abs(now - t) > tolerance_s:
        age = f"{now - t:.0f} s old" if now > t else f"dated {t - now:.0f} s ahead"
        raise SignatureError(
            f"expected a signature made within {tolerance_s:g} s of now, got one {age} (t={t}): "
            "a replayed request, or a clock to set right"
        )
    expected = _digest(body, secret, t)
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        raise SignatureError(
            "the signature does not match the body: it was changed on the way, or the secret differs from "
            "the destination's; compute it over the raw bytes received"
        )
    return t


def idempotency_key(events: Sequence[str]) -> str:
    """The key of a batch: sha256 (hex) of its event ids, one per line, in order."""
    return hashlib.sha256("\n".join(events).encode("utf-8", "surrogatepass")).hexdigest()


def _options(options: Mapping[str, Any]) -> tuple[str, str, int, int]:
    options_.known("webhook", options, WebhookEncoder.options)
    url = options_.url("webhook", options, "url", None)
    secret = options_.text("webhook", options, "secret", "the key receivers verify signatures with")
    max_events = options.get("max_events", MAX_EVENTS)
    if type(max_events) is not int or max_events < 1:
        raise ConfigError(
            f"webhook destination option max_events: expected an integer >= 1, got {max_events!r}"
        )
    max_bytes = options.get("max_bytes", MAX_BYTES)
    floor = len(_PREFIX) + len(_SUFFIX) + 2
    if type(max_bytes) is not int or max_bytes < floor:
        raise ConfigError(
            f"webhook destination option max_bytes: expected an integer >= {floor}, got {max_bytes!r}"
        )
    return url, secret, max_events, max_bytes


class WebhookEncoder:
    """The ``webhook`` type's encoder (see the module docstring)."""

    type = TYPE
    options: Sequence[str] = ("url", "secret", "max_events", "max_bytes")
    secrets = frozenset({"secret"})

    def encode(
        self,
        events: Sequence[Event],
        options: Mapping[str, Any],
        now: datetime,
        *,
        failed: Sequence[Failed] = (),
    ) -> Encoded:
        """``events`` (then ``failed`` payloads, for a destination with ``failed = true``:
        each an object with ``"failed": true``, see :class:`~trackway.destinations.base.Failed`)
        in signed batches."""
        url, secret, max_events, max_bytes = _options(options)
        out = Encoded()
        parts = []
        for event in events:
            if not event.id:
                out.refused.append(
                    Refusal(
                        "",
                        f"event {event.name!r} has no id: a batch's Idempotency-Key is made of its "
                        "events' ids; only events the store assigned an id to can be forwarded",
                    )
                )
                continue
            parts.append((event.id, to_json(event)))
        parts += [(f.id, f.to_json()) for f in failed]
        batches, refused = pack(
            parts,
            max_events=max_events,
            max_bytes=max_bytes,
            overhead=len(_PREFIX) + len(_SUFFIX),
            what="the webhook's max_bytes",
        )
        out.refused.extend(refused)
        t = int(now.timestamp())
        for batch in batches:
            data = body(_PREFIX, batch, _SUFFIX)
            ids = tuple(event for event, _ in batch)
            key = idempotency_key(ids)
            headers = {
                "Content-Type": "application/json",
                IDEMPOTENCY_HEADER: key,
                SIGNATURE_HEADER: sign(data, secret, t),
            }
            out.requests.append(Outgoing("POST", url, headers, data, ids, key))
        return out

    def refresh(self, request: Outgoing, options: Mapping[str, Any], now: datetime) -> Outgoing:
        """``request`` signed at ``now`` (a retry after a long outage would otherwise carry
        a ``t`` older than the receiver's tolerance). The Idempotency-Key is kept."""
        _url, secret, _max_events, _max_bytes = _options(options)
        headers = {**request.headers, SIGNATURE_HEADER: sign(request.body, secret, int(now.timestamp()))}
        return replace(request, headers=headers)


ENCODER = WebhookEncoder()
