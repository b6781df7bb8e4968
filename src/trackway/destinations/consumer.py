"""Delivering the log to one destination: a consumer with its own committed position.

:class:`Forwarder` reads the records after its committed positions with
:func:`trackway.ingest.log.read` (every slot, as the loader does), turns each into the
events it stores with :func:`trackway.ingest.pipeline.outcome` (the loader's pure
function: the same ids, the same privacy), selects them, encodes them, and calls the
injected ``send`` for each request, in order. The forwarding process runs one for each
destination (:mod:`trackway.destinations.runner`).

- At least once: a position moves only past records whose every event is delivered,
  dead-lettered, refused by the encoder or skipped, and is committed once a batch is
  done (or stops at a retry). A crash between a send and the commit re-sends that batch
  only; the vendor's idempotency key (in the request) lets the receiver deduplicate it.
- Order: at a request to retry, the forwarder stops there (nothing after it is sent) and
  says when to try again (:attr:`Counts.retry_at`); the next :meth:`Forwarder.run_once`
  at or after that time sends that request again, then the rest of the batch. With
  ``in_flight`` above 1, up to that many requests are outstanding and order is kept per
  request's ordering key (:mod:`trackway.destinations.inflight`); a request answered
  before an earlier one's retry is not sent again by that retry.
- Dead letters (:class:`DeadLetter`): event ids, reason, the response kept, with the
  request's URL and headers redacted and every known secret scrubbed from the text.
"""

from __future__ import annotations

import random as _random
import time
from collections.abc import Callable, Mapping, MutableSequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trackway.destinations import inflight, retry
from trackway.destinations.base import Encoder, Failed, Outgoing
from trackway.destinations.merge import Place, merged
from trackway.destinations.position import PositionStore
from trackway.destinations.retry import Answer, Policy, Scrubber
from trackway.destinations.select import Selection, select, select_failed, strip_identifiers
from trackway.destinations.shared import Outcomes
from trackway.gcpause import paused_gc
from trackway.ingest import log, pipeline, records
from trackway.ingest.log import Position
from trackway.model import Event, to_json
from trackway.privacy import elsewhere
from trackway.privacy.prepare import LastSignals
from trackway.store.base import failed_id

if TYPE_CHECKING:
    from trackway.config import Config

Send = Callable[[Outgoing], Answer]

# Skipped reasons beyond the selection's (name, dialect, consent).
PROPERTY = "property"  # another property's event
UNREADABLE = "unreadable"  # a record that cannot be read or decoded (the loader quarantines it)
FAILED = "failed"  # a failed payload, to a destination without failed = true
# A batch's records' payloads, bytes at most (besides its 1,000 records): 1,000 records of
# 25 events are 25,000 events, whose objects no longer fit the CPU's caches.
BATCH_BYTES = 1 << 20


@dataclass(frozen=True)
class DeadLetter:
    """Events that will not be delivered: ``reason`` says why; ``status`` and
    ``response`` (an excerpt) are the destination's answer, if any; ``url`` and
    ``headers`` the request's, redacted."""

    destination: str
    events: tuple[str, ...]
    reason: str
    at: datetime
    status: int | None = None
    response: str = ""
    url: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    payloads: tuple[bytes, ...] = ()  # the events' canonical JSON, as selected (for a retry)


@dataclass
class Counts:
    """What one :meth:`Forwarder.run_once` did. Events, except ``retried`` (requests
    answered with a retryable error) and ``records`` (log records passed)."""

    delivered: int = 0
    retried: int = 0
    dead_lettered: int = 0
    refused: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    records: int = 0
    retry_at: datetime | None = None  # when to call again: a request waits for a retry
    last_error: str = ""
    requests: int = 0  # requests answered (or failed), any outcome
    request_seconds: float = 0.0  # their round trips added up (wall time from send to answer)


@dataclass
class _Batch:
    """Records read, and the requests of their events (in order). A record is done once
    ``next``, the first request not finished, is past its ``last``; with requests in
    flight together, ``done`` holds those finished after ``next``."""

    records: list[Place]
    requests: list[Outgoing]
    received: dict[str, datetime]  # event id -> when Trackway received it
    items: dict[str, Event | Failed] = field(default_factory=dict)  # id -> as selected (for dead letters)
    last: dict[str, int] = field(default_factory=dict)  # event id -> the last request carrying it
    next: int = 0  # the first request not finished
    done: set[int] = field(default_factory=set)  # finished requests after next
    attempts: dict[int, int] = field(default_factory=dict)  # request -> its failed tries
    retry_at: datetime | None = None
    last_error: str = ""


class Forwarder:
    """Delivers the log under ``root`` to destination ``name`` (see the module docstring).

    ``selection``, ``encoder`` and ``options``: which events go and how they are sent;
    ``send``: one HTTP request, returning an :class:`~trackway.destinations.retry.Answer`
    (it must not raise: an exception is returned as ``Answer(error=...)``);
    ``position_store``: the committed positions; ``config``: the configuration as it is
    now (for each property's decoding and privacy settings, as the loader);
    ``property``: forward only that property's events (None: every property);
    ``dead_letters``: where dead letters go; ``policy`` and ``random``: retries;
    ``in_flight``: requests outstanding at once (1: strictly in order; more: ``send`` is
    called from that many threads, see :mod:`trackway.destinations.inflight`);
    ``outcomes``: records' outcomes shared with the process's other forwarders, which the
    owner counts in and out (None: each record worked out here, see
    :mod:`trackway.destinations.shared`)."""

    def __init__(
        self,
        root: Path,
        name: str,
        selection: Selection,
        encoder: Encoder,
        options: Mapping[str, Any],
        send: Send,
        position_store: PositionStore,
        config: Callable[[], Config | None],
        *,
        property: str | None = None,
        dead_letters: MutableSequence[DeadLetter] | None = None,
        policy: Policy | None = None,
        random: Callable[[], float] = _random.random,
        batch: int = 1000,
        batch_bytes: int = BATCH_BYTES,
        commit_every_s: float = 0.0,
        on_commit: Callable[[], None] | None = None,
        in_flight: int = 1,
        outcomes: Outcomes | None = None,
    ) -> None:
        self.root = root
        self.outcomes = outcomes
        self.name = name
        self.selection = selection
        self.encoder = encoder
        self.options = options
        self.send = send
        self.store = position_store
        self.config = config
        self.property = property
        self.dead_letters: MutableSequence[DeadLetter] = dead_letters if dead_letters is not None else []
        self.policy = policy or Policy()
        self.random = random
        self.batch = batch  # records in a batch at most...
        self.batch_bytes = batch_bytes  # ...and their payloads' bytes
        # Positions are saved (an fsync'd file) after a batch at most this often, and when it
        # is more than 0, within a batch too; a crash sends again what was delivered since
        # (deduplicated by the idempotency keys). 0: after each batch, not within it.
        self.commit_every_s = commit_every_s
        self.on_commit = on_commit  # called after each save of the positions
        self._dirty = False
        self._saved = 0.0
        self.scrub = Scrubber(str(options[k]) for k in encoder.secrets if options.get(k) is not None)
        self._positions: dict[str, Position] | None = None  # as committed
        self._inflight: _Batch | None = None
        if not inflight.allowed(in_flight):
            raise ValueError(f"in_flight: expected 1 to {inflight.MAX_IN_FLIGHT}, got {in_flight!r}")
        self.in_flight = in_flight
        self._pool: ThreadPoolExecutor | None = None  # in_flight > 1: the threads that send
        # The last run read every worker's log to its end (nothing more was there to take):
        # the courier then gathers before the next (destinations/runner.py, GATHER_S).
        self.drained = False

    def close(self) -> None:
        """Stop the sending threads (in_flight > 1) once their requests are answered."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def committed(self) -> dict[str, Position]:
        """Each slot's committed position (read from the store once)."""
        if self._positions is None:
            self._positions = self.store.load()
        return dict(self._positions)

    def run_once(self, now: datetime) -> Counts:
        """Send what is due at ``now`` (UTC): a batch waiting for a retry once its time
        has come, else the next batch of records. Returns what was done."""
        with paused_gc():  # freed by reference counting as the batch ends (trackway.gcpause)
            return self._once(now)

    def _once(self, now: datetime) -> Counts:
        counts = Counts()
        self.drained = False
        batch = self._inflight
        if batch is None:
            batch = self._read(now, counts)
            if batch is None:
                return counts
        elif batch.retry_at is not None and now < batch.retry_at:
            counts.retry_at, counts.last_error = batch.retry_at, batch.last_error
            return counts
        self._inflight = batch
        self._send(batch, now, counts)
        self._commit(batch)
        if batch.next >= len(batch.requests):
            self._inflight = None
        return counts

    def _read(self, now: datetime, counts: Counts) -> _Batch | None:
        positions = self.committed()
        cfg = self.config()
        properties = cfg.properties if cfg is not None else {}
        batch = _Batch([], [], {})
        slots = log.slots(self.root)
        share = max(1, -(-self.batch // max(1, len(slots))))  # every worker's log moves on
        share_bytes = max(1, -(-self.batch_bytes // max(1, len(slots))))
        read: list[tuple[int, Place, list[Event | Failed]]] = []  # (received, record, its items)
        last = LastSignals()  # consent signals equal to the last ones are read once a batch
        logs, drained = merged(self.root, slots, positions, share, share_bytes)
        for rows in logs:
            for record, rec, payload in rows:
                batch.records.append(record)
                if payload:
                    counts.records += 1
                    found = self._items(rec, counts, properties, last, record, len(payload))
                    if found:
                        read.append((rec.received_at if rec is not None else 0, record, found))
        read.sort(key=lambda r: r[0])  # the workers' logs merged in the order they were received (stable)
        events: list[Event] = []
        failed: list[Failed] = []
        carried: list[tuple[Place, str]] = []  # each event read, with its record
        for received, record, found in read:
            for item in found:
                if isinstance(item, Failed):
                    failed.append(item)
                    carried.append((record, item.id))
                    batch.received[item.id] = item.received_at
                    batch.items[item.id] = item
                    continue
                events.append(item)
                carried.append((record, item.id or ""))
                at = item.received_at or item.timestamp
                if at is None and received:  # else its requests' age never grew: retried forever
                    at = records.from_micros(received)
                if at is not None:
                    batch.received[item.id or ""] = at
        if not batch.records:
            return None
        self.drained = drained
        chosen, skipped = select(events, self.selection)
        for s in skipped:
            _count(counts.skipped, s.reason)
        chosen = [strip_identifiers(e, self.selection.identifiers) for e in chosen]
        batch.items.update((e.id or "", e) for e in chosen)
        if failed:  # only a type that carries them is configured with failed = true
            encoded = self.encoder.encode(chosen, self.options, now, failed=failed)  # type: ignore[call-arg]
        else:
            encoded = self.encoder.encode(chosen, self.options, now)
        for refusal in encoded.refused:
            counts.refused += 1
            counts.last_error = self.scrub(f"refused: {refusal.reason}")  # status showed "-" beside them
            self.dead_letters.append(
                DeadLetter(
                    self.name,
                    (refusal.event,),
                    counts.last_error,
                    now,
                    payloads=_payloads(batch, (refusal.event,)),
                )
            )
        batch.requests = list(encoded.requests)
        for index, request in enumerate(batch.requests):
            for eid in request.events:
                batch.last[eid] = index
        sent = batch.last.keys()
        for record, eid in carried:  # a record is done once its events' last request is
            index = batch.last.get(eid, -1)
            if index > record.last:
                record.last = index
        unsent = {e.id or "" for e in chosen} | {f.id for f in failed}
        unsent = unsent - sent - {r.event for r in encoded.refused}
        for eid in sorted(unsent):  # an encoder must send or refuse: never lose one
            counts.dead_lettered += 1
            self.dead_letters.append(
                DeadLetter(
                    self.name,
                    (eid,),
                    "the encoder neither sent nor refused the event (a bug)",
                    now,
                    payloads=_payloads(batch, (eid,)),
                )
            )
        return batch

    def _items(
        self,
        rec: records.Record | None,
        counts: Counts,
        properties: Mapping[str, Any],
        last: LastSignals | None = None,
        place: Place | None = None,
        size: int = 0,
    ) -> list[Event | Failed]:
        """What a record stores (the loader's outcome): its events, and its failed payloads
        where the selection wants them (``rec`` None: a record that cannot be read; ``place``
        and ``size``: where it ends in the log and its bytes, for the shared outcomes)."""
        if rec is None:  # the loader quarantines such a record: it is not stored, so not sent
            _count(counts.skipped, UNREADABLE)
            return []
        if self.property is not None and rec.property != self.property:
            _count(counts.skipped, PROPERTY)
            return []
        prop = properties.get(rec.property)
        try:
            if self.outcomes is not None and place is not None:
                out = self.outcomes.get(
                    place.slot, place.end, rec, size, prop, lambda: pipeline.outcome(rec, prop, last)
                )
            else:
                out = pipeline.outcome(rec, prop, last)
        except Exception:
            _count(counts.skipped, UNREADABLE)
            return []
        items: list[Event | Failed] = list(out.events)
        for n, f in enumerate(out.failed):
            why = select_failed(f.names, f.dialect, self.selection)
            if why is not None:
                _count(counts.skipped, why)
                continue
            at = datetime.fromtimestamp(rec.received_at / 1e6, UTC)
            # as received, but for its emails and phones under the destination's policy
            policy = self.selection.identifiers
            text = elsewhere.scrub_text(f.payload.decode("utf-8", "replace"), policy)
            issues = elsewhere.scrub_text(f.issues.decode("utf-8", "replace"), policy).encode()
            fid = failed_id(rec.request_id, n, rec.property, f.call)
            items.append(Failed(fid, rec.property, rec.endpoint, f.dialect, at, text, issues))
        return items

    def _send(self, batch: _Batch, now: datetime, counts: Counts) -> None:
        batch.retry_at, batch.last_error = None, ""  # its time has come
        if self.in_flight > 1:
            self._send_window(batch, now, counts)
            return
        while batch.next < len(batch.requests):
            index = batch.next
            request = self._prepared(batch, index, now)
            answer, seconds = self._clocked(request)
            verdict = self._judge(batch, index, request, answer, seconds, now, counts)
            if verdict.kind == retry.RETRY:
                self._wait(batch, now, counts, [verdict])
                return
            _advance(batch)
            self._commit_due(batch)

    def _send_window(self, batch: _Batch, now: datetime, counts: Counts) -> None:
        """Up to ``in_flight`` requests outstanding, as :mod:`~trackway.destinations.inflight`
        allows; after a request to retry, none is started, those in flight are answered."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.in_flight, thread_name_prefix=f"send-{self.name}")
        pending: dict[int, tuple[Outgoing, Future[tuple[Answer, float]]]] = {}
        retrying: list[retry.Verdict] = []
        while True:
            if not retrying:
                for index in inflight.dispatchable(
                    batch.requests, batch.next, batch.done, pending, self.in_flight
                ):
                    request = self._prepared(batch, index, now)
                    pending[index] = (request, self._pool.submit(self._clocked, request))
            if not pending:
                break
            finished, _ = wait([f for _, f in pending.values()], return_when=FIRST_COMPLETED)
            for index in sorted(i for i, (_, f) in pending.items() if f in finished):
                request, future = pending.pop(index)
                answer, seconds = future.result()
                verdict = self._judge(batch, index, request, answer, seconds, now, counts)
                if verdict.kind == retry.RETRY:
                    retrying.append(verdict)
            _advance(batch)
            self._commit_due(batch)
        if retrying:
            self._wait(batch, now, counts, retrying)

    def _call(self, request: Outgoing) -> Answer:
        """``send``, which must not raise; if it does, that is an error to retry."""
        try:
            return self.send(request)
        except Exception as exc:
            return Answer(error=exc)

    def _clocked(self, request: Outgoing) -> tuple[Answer, float]:
        """:meth:`_call` and its round trip in seconds."""
        start = time.monotonic()
        answer = self._call(request)
        return answer, time.monotonic() - start

    def _prepared(self, batch: _Batch, index: int, now: datetime) -> Outgoing:
        """Request ``index`` as it is sent now (signed at this try, see Encoder); its
        secrets are scrubbed from what is said of it."""
        request = batch.requests[index]
        refresh = getattr(self.encoder, "refresh", None)
        if refresh is not None:
            request = batch.requests[index] = refresh(request, self.options, now)
        self.scrub.add(retry.secrets_of(request.url, request.headers))
        return request

    def _judge(
        self,
        batch: _Batch,
        index: int,
        request: Outgoing,
        answer: Answer,
        seconds: float,
        now: datetime,
        counts: Counts,
    ) -> retry.Verdict:
        """Count request ``index``'s answer, which took ``seconds``: delivered,
        dead-lettered or to retry."""
        counts.requests += 1
        counts.request_seconds += seconds
        oldest = min((batch.received.get(e, now) for e in request.events), default=now)
        attempt = batch.attempts.get(index, 0) + 1
        verdict = retry.decide(
            answer, attempt=attempt, oldest=oldest, now=now, policy=self.policy, random=self.random
        )
        if verdict.kind == retry.RETRY:
            counts.retried += 1
            batch.attempts[index] = attempt
            return verdict
        if verdict.kind == retry.DELIVERED:
            # An event in several requests (identify, then track) counts at its last.
            counts.delivered += sum(1 for e in set(request.events) if batch.last.get(e) == index)
        else:
            counts.dead_lettered += len(set(request.events))
            counts.last_error = self.scrub(verdict.reason)  # a 400 left the status's last error empty
            self.dead_letters.append(
                DeadLetter(
                    self.name,
                    request.events,
                    self.scrub(verdict.reason),
                    now,
                    answer.status,
                    self.scrub(answer.body[: retry.EXCERPT]),
                    retry.redact_url(request.url),
                    retry.redact_headers(request.headers),
                    _payloads(batch, request.events),
                )
            )
        batch.attempts.pop(index, None)
        batch.done.add(index)
        return verdict

    def _wait(self, batch: _Batch, now: datetime, counts: Counts, retrying: list[retry.Verdict]) -> None:
        """The batch waits for its requests to retry: as long as the longest delay asks
        (every Retry-After honoured), saying the first one's error."""
        batch.retry_at = now + timedelta(seconds=max(v.delay_s for v in retrying))
        batch.last_error = self.scrub(retrying[0].reason)
        counts.retry_at, counts.last_error = batch.retry_at, batch.last_error

    def _commit_due(self, batch: _Batch) -> None:
        """Within a batch, commit what is done when a save is due: a batch of 1,000
        one-event requests (Convead, GA4 a client at a time) took minutes to a slow vendor,
        and a crash sent all of it again, with no idempotency key there."""
        if self.commit_every_s > 0 and time.monotonic() - self._saved >= self.commit_every_s:
            self._commit(batch)

    def _commit(self, batch: _Batch) -> None:
        """Commit each slot's position past its records that are done (in log order)."""
        positions = self.committed()
        moved = False
        blocked: set[str] = set()
        for record in batch.records:
            if record.slot in blocked:
                continue
            if record.last >= batch.next:
                blocked.add(record.slot)
                continue
            if positions.get(record.slot) != record.end:
                positions[record.slot] = record.end
                moved = True
        batch.records = [r for r in batch.records if r.last >= batch.next or r.slot in blocked]
        if moved:
            self._positions = positions
            self._dirty = True
        now = time.monotonic()
        if self._dirty and (now - self._saved >= self.commit_every_s or batch.retry_at is not None):
            self.flush()

    def flush(self) -> None:
        """Make the positions passed so far durable (the next start goes on from there)."""
        if self._dirty and self._positions is not None:
            self.store.save(self._positions)
            self._dirty = False
            self._saved = time.monotonic()
            if self.on_commit is not None:
                self.on_commit()


def _advance(batch: _Batch) -> None:
    """Move ``next`` past the finished requests."""
    while batch.next in batch.done:
        batch.done.discard(batch.next)
        batch.next += 1


def _payloads(batch: _Batch, ids: tuple[str, ...]) -> tuple[bytes, ...]:
    """The JSON of a dead letter's items (made only for dead letters)."""
    found = [batch.items[i] for i in dict.fromkeys(ids) if i in batch.items]
    return tuple(i.to_json() if isinstance(i, Failed) else to_json(i) for i in found)


def _count(into: dict[str, int], key: str, n: int = 1) -> None:
    into[key] = into.get(key, 0) + n
