"""What every dialect adapter provides, and the context a decode runs in."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

import msgspec

from trackway.dialects.fields import Table
from trackway.issues import Issues, describe, settle
from trackway.model import Event
from trackway.rules.screen import screen


class DecodeContext(msgspec.Struct, kw_only=True):
    """Settings a decode needs from outside the payload.

    ``default_currency`` fills the currency of dialects that carry none (Convead,
    some Koalect events); there is no built-in default. ``received_at`` lets
    time-based rules (GA4's 72 hours) run; None skips them.
    """

    default_currency: str | None = None
    received_at: datetime | None = None
    property: str = ""


class EncodeOptions(msgspec.Struct, kw_only=True):
    """Options of encoders. The 2Checkout rules are opt-in:

    ``hash_transaction_id``: write the transaction id as the SHA-256 hex of the order
    reference (2Checkout's ``transaction_id``/``actionField.id``).
    ``checkout_step``: the UA ``actionField.step`` for checkout (2Checkout: always 1).
    ``order_discount_coupon``: the default of ``orderDiscountCoupon`` when an order
    coupon is applied and the event says no other (2Checkout: ``auto-apply``).
    ``form``: the payload form where a dialect has two (``call`` or ``server`` for
    Commanders Act, ``call`` or ``post`` for Convead/InSend); None keeps the source's.
    """

    hash_transaction_id: bool = False
    checkout_step: int | None = None
    order_discount_coupon: str | None = None
    form: str | None = None


class EventDoc(msgspec.Struct, frozen=True):
    """A documented event of a dialect, for ``trackway dialects`` and the docs."""

    wire: str
    canonical: str
    summary: str = ""


class Adapter:
    """One dialect: pure ``decode`` and ``encode`` over Python values.

    ``decode`` appends one :class:`Event` per event in the payload and records
    every issue in ``issues``; before working on event *n* it sets
    ``issues.event = n`` so each issue names its event (-1 for the payload; the base
    sets -1 again when ``decode`` returns). It never raises on input. A dialect of one
    event per payload derives from :class:`SingleEventAdapter` instead. ``encode``
    renders one event, recording what the dialect cannot carry as NOT_CARRIED warnings.
    """

    name: ClassVar[str]
    title: ClassVar[str]
    events: ClassVar[tuple[EventDoc, ...]] = ()
    # Another dialect whose wire format this one shares exactly (InSend is Convead's):
    # auto-detection names it in its note but does not call the payload ambiguous.
    alias_of: ClassVar[str | None] = None
    # The JavaScript functions whose calls this dialect reads (``gtag``, ``cact``): a
    # text payload that calls one is detected among the dialects claiming it.
    callees: ClassVar[frozenset[str]] = frozenset()
    # Where the dialect stands in listings and in auto-detection's ties: lower first,
    # then by name. Trackway's own dialects are 10-100 apart; a new one picks its place.
    detect_order: ClassVar[int] = 1000

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Every adapter's ``decode`` runs behind the screen (:mod:`trackway.rules.screen`):
        what no dialect could read (too deep, numbers too large, lone surrogates) is
        reported once, here, and never reaches the dialect's code. Both ``decode`` and
        ``decode_plain`` end with :func:`~trackway.issues.settle` (a path with an error
        carries no warning beside it) and with ``issues.event = -1``, so the dialect's
        code need not reset it. One wrapper, no extra call per decode."""
        super().__init_subclass__(**kwargs)
        decode = cls.__dict__.get("decode")
        if decode is not None and not getattr(decode, "screened", False):
            cls.decode = _screened(decode)  # type: ignore[method-assign]
        plain = cls.__dict__.get("decode_plain")
        if plain is not None and not getattr(plain, "screened", False):
            cls.decode_plain = _settled(plain)  # type: ignore[method-assign]

    def sniff(self, payload: Any) -> int:
        """How sure this dialect is that it reads ``payload``: 0 (no) to 100."""
        raise NotImplementedError

    def decode(self, payload: Any, ctx: DecodeContext, issues: Issues) -> list[Event]:
        raise NotImplementedError

    def decode_plain(self, data: bytes | str, ctx: DecodeContext, issues: Issues) -> list[Event] | None:
        """Optional typed fast path from JSON text: the events, or None to use ``decode``.

        It must give exactly what ``decode`` gives, and give up (None) on anything
        that is not plain; see ``fastpath.py``.
        """
        return None

    def encode(self, event: Event, options: EncodeOptions, issues: Issues) -> Any:
        raise NotImplementedError

    def encode_many(self, events: list[Event], options: EncodeOptions, issues: Issues) -> list[Any]:
        """Render several events; dialects that batch (GA4 MP) group them into requests."""
        out = []
        for n, event in enumerate(events):
            issues.event = n
            out.append(self.encode(event, options, issues))
        issues.event = -1
        return out

    def tables(self) -> list[Table]:
        """The field tables this adapter reads and writes, for the generated docs."""
        return []


class SingleEventAdapter(Adapter):
    """A dialect whose payload carries at most one event (a gtag command, a dataLayer
    object, a call): it writes ``decode_event`` (and, for a typed fast path,
    ``decode_plain_event``), and the base makes them ``decode`` and ``decode_plain``:
    behind the screen, with ``issues.event = 0`` while the event is read and -1 after,
    an event list of one (none for None), and :func:`~trackway.issues.settle`.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        one = cls.__dict__.get("decode_event")
        if one is not None and "decode" not in cls.__dict__:
            cls.decode = _screened_one(one)  # type: ignore[method-assign]
        plain = cls.__dict__.get("decode_plain_event")
        if plain is not None and "decode_plain" not in cls.__dict__:
            cls.decode_plain = _settled_one(plain)  # type: ignore[method-assign]
        super().__init_subclass__(**kwargs)

    def decode_event(self, payload: Any, ctx: DecodeContext, issues: Issues) -> Event | None:
        """The payload's event, or None when it carries none (a command, a clear, an error)."""
        raise NotImplementedError

    def decode_plain_event(self, data: bytes | str, ctx: DecodeContext, issues: Issues) -> Event | None:
        """The typed fast path's event, or None to use ``decode`` (not plain): every payload
        without an event goes to the general path."""
        return None


_Decode = Callable[[Any, Any, DecodeContext, Issues], Any]


def _screened(decode: _Decode) -> Any:
    @functools.wraps(decode)
    def screened_decode(self: Adapter, payload: Any, ctx: DecodeContext, issues: Issues) -> list[Event]:
        payload, readable = screen(payload, issues)
        if not readable:
            return []
        events = decode(self, payload, ctx, issues)
        issues.event = -1
        if issues.items:
            issues.items = settle(issues.items)
        return events

    screened_decode.screened = True  # type: ignore[attr-defined]
    return screened_decode


def _screened_one(decode_event: _Decode) -> Any:
    """``decode`` of a :class:`SingleEventAdapter`, written out (not over ``_screened``):
    one call fewer per payload."""

    @functools.wraps(decode_event)
    def screened_decode(self: Adapter, payload: Any, ctx: DecodeContext, issues: Issues) -> list[Event]:
        payload, readable = screen(payload, issues)
        if not readable:
            return []
        issues.event = 0
        event = decode_event(self, payload, ctx, issues)
        issues.event = -1
        if issues.items:
            issues.items = settle(issues.items)
        return [] if event is None else [event]

    screened_decode.screened = True  # type: ignore[attr-defined]
    return screened_decode


def _settled(decode_plain: _Decode) -> Any:
    @functools.wraps(decode_plain)
    def settled_decode_plain(
        self: Adapter, data: Any, ctx: DecodeContext, issues: Issues
    ) -> list[Event] | None:
        events = decode_plain(self, data, ctx, issues)
        issues.event = -1
        if issues.items:
            issues.items = settle(issues.items)
        return events

    settled_decode_plain.screened = True  # type: ignore[attr-defined]
    return settled_decode_plain


def _settled_one(decode_plain_event: _Decode) -> Any:
    @functools.wraps(decode_plain_event)
    def settled_decode_plain(
        self: Adapter, data: Any, ctx: DecodeContext, issues: Issues
    ) -> list[Event] | None:
        issues.event = 0
        event = decode_plain_event(self, data, ctx, issues)
        issues.event = -1
        if issues.items:
            issues.items = settle(issues.items)
        return None if event is None else [event]

    settled_decode_plain.screened = True  # type: ignore[attr-defined]
    return settled_decode_plain


# Envelope fields every dialect may lack without it being news.
_SILENT = frozenset(
    {"name", "dialect", "id", "property", "timestamp", "received_at", "commerce", "properties", "extras"}
)


def report_uncarried(event: Event, carried: frozenset[str], target: str, issues: Issues) -> None:
    """NOT_CARRIED warnings for the event's identity, user, consent and context fields
    that the ``target`` dialect has no place for."""
    for key in ("anonymous_id", "user_id", "user", "consent", "context"):
        if key in carried or key in _SILENT:
            continue
        v = getattr(event, key)
        if v:
            issues.warning(
                key,
                "NOT_CARRIED",
                f"{target} has no place for the event's {key}; it is left out of the rendered payload",
            )


def report_foreign_extras(extras: dict[str, Any], own: frozenset[str], target: str, issues: Issues) -> None:
    """NOT_CARRIED warnings for source containers in ``extras`` the target does not render."""
    for key, value in extras.items():
        if key.startswith("$") or key in own:
            continue
        issues.warning(
            f"extras.{key}",
            "NOT_CARRIED",
            f"{target} has no place for the source field {key!r} = {describe(value)}; it is left out",
        )
