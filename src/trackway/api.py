"""The Python API: ``decode``, ``encode``, ``convert``.

Pure functions over Python values (and JSON or JavaScript text, which they parse).
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec

from trackway import dialects
from trackway.dialects.base import DecodeContext, EncodeOptions
from trackway.errors import ParseError
from trackway.issues import Issue, Issues, Severity, settle
from trackway.literal import LiteralReader
from trackway.model import Event
from trackway.rules.screen import screen
from trackway.rules.values import MAX_DEPTH

_json = msgspec.json.Decoder(float_hook=Decimal)
_HEX64 = re.compile(r"[0-9a-f]{64}")


class Decoded(msgspec.Struct, kw_only=True):
    """What a payload decodes to: its events, every issue, and the dialect read.

    ``detection`` says how ``auto`` chose; ``alternatives`` lists other dialects
    that read the payload as well.
    """

    dialect: str
    events: list[Event]
    issues: list[Issue]
    detection: str | None = None
    alternatives: list[str] = []
    # Events made invalid by errors past the issues listed (trackway.issues.MAX_LISTED; -1:
    # the payload): ``issues`` then ends with one ISSUES_UNLISTED warning counting them.
    unlisted_errors: list[int] = []

    @property
    def valid(self) -> bool:
        return not self.unlisted_errors and not any(i.severity is Severity.ERROR for i in self.issues)

    def event_issues(self, n: int) -> list[Issue]:
        """Issues of event ``n`` (with the payload-wide ones)."""
        return [i for i in self.issues if i.event in (n, -1)]

    def failed(self) -> set[int]:
        """The indices of the events with an error of their own or of the payload, in one pass
        over the issues (asking :meth:`event_issues` of each event was events x issues: a
        body of 32,000 empty MP events cost the loader 105 s)."""
        errors = {i.event for i in self.issues if i.is_error}
        errors.update(self.unlisted_errors)
        if -1 in errors:
            return set(range(len(self.events)))
        return {n for n in errors if 0 <= n < len(self.events)}

    def accepted(self) -> list[Event]:
        """Events with no error of their own or of the payload."""
        failed = self.failed()
        return [e for n, e in enumerate(self.events) if n not in failed]


class Converted(msgspec.Struct, kw_only=True):
    source: str
    target: str
    payloads: list[Any]
    issues: list[Issue]

    @property
    def valid(self) -> bool:
        return not any(i.severity is Severity.ERROR for i in self.issues)


class _TooDeep:
    """What :func:`_parse` gives for text nested deeper than MAX_DEPTH (not parsed)."""

    __slots__ = ("depth",)

    def __init__(self, depth: int) -> None:
        self.depth = depth


def parse(payload: Any) -> Any:
    """A payload from JSON or JavaScript text (bytes or str); other values pass through.

    Raises ParseError for text it cannot read, and for text nested deeper than
    :data:`~trackway.rules.values.MAX_DEPTH` levels."""
    value = _parse(payload)
    if type(value) is _TooDeep:
        raise ParseError(
            f"expected arrays, objects and calls nested at most {MAX_DEPTH} levels deep, got more"
        )
    return value


def _parse(payload: Any, callees: list[str | None] | None = None) -> Any:
    """:func:`parse` without the depth error; the JavaScript function a text payload
    calls (``insend`` for ``insend('event', ...)``) is appended to ``callees``."""
    t = type(payload)
    if t is dict or t is list:
        return payload
    if t is bytes or t is str or isinstance(payload, bytes | bytearray | memoryview | str):
        try:  # msgspec stops at its own depth limit (about 1,000 levels) with a RecursionError
            return _json.decode(payload)
        except (msgspec.DecodeError, UnicodeEncodeError, RecursionError):  # lone surrogate in a str; depth
            pass
        if not isinstance(payload, str):
            try:
                payload = bytes(payload).decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ParseError(f"expected UTF-8 text, got an invalid byte at offset {exc.start}") from None
        reader = LiteralReader(payload)  # tokenizes (iteratively) and measures the nesting
        if reader.depth > MAX_DEPTH:
            return _TooDeep(reader.depth)
        value = reader.one()
        if callees is not None:
            callees.append(reader.callee)
        return value
    return payload


def detect(payload: Any, callee: str | None = None) -> tuple[str | None, list[str], str]:
    """The dialect that reads ``payload`` best, the others that read it too, and why.

    ``callee`` is the JavaScript function a text payload called (``insend``): the array
    ``insend('event', ...)`` reads as is Convead's too, so the call's name decides among
    the dialects that claim it (:attr:`~trackway.dialects.base.Adapter.callees`)."""
    scores = []
    for adapter in dialects.adapters():
        try:
            score = adapter.sniff(payload)
        except Exception:  # a sniffer must never break detection
            score = 0
        if score > 0:
            scores.append((score, adapter.name))
    if callee is not None:
        called = callee.removeprefix("window.")
        claimed = [s for s in scores if called in dialects.get(s[1]).callees]
        if claimed:
            scores = claimed
    if not scores:
        return None, [], "no dialect reads this shape"
    scores.sort(key=lambda s: -s[0])  # stable: registry order breaks ties
    best_score, best = scores[0]
    close = [name for score, name in scores[1:] if score >= best_score - 10]
    aliases = [n for n in close if dialects.get(n).alias_of == best or dialects.get(best).alias_of == n]
    close = [n for n in close if n not in aliases]
    why = f"auto: read as {best} (score {best_score})"
    if aliases:
        why += f"; {', '.join(aliases)} shares this wire format"
    if close:
        why += f"; also readable as {', '.join(close)}"
    return best, close, why


def decode(
    dialect: str,
    payload: Any,
    *,
    default_currency: str | None = None,
    received_at: datetime | None = None,
    property: str = "",
    callee: str | None = None,
) -> Decoded:
    """Decode one payload of ``dialect`` (or ``"auto"``) into canonical events and issues.

    ``payload`` is a Python value, or JSON / JavaScript text. ``callee``: the JavaScript
    function a value was read from a call of (``insend``), for ``auto`` (text says it
    itself). Raises :class:`~trackway.errors.ParseError` only when text cannot be read;
    every other problem is an issue.
    """
    ctx = DecodeContext(default_currency=default_currency, received_at=received_at, property=property)
    if dialect != "auto" and (type(payload) is bytes or type(payload) is str):
        adapter = dialects.registered(dialect)
        issues = Issues()
        events = adapter.decode_plain(payload, ctx, issues)
        if events is not None:
            if property:
                for event in events:
                    event.property = property
            return _decoded(dialect, events, issues)
    callees: list[str | None] | None = [] if dialect == "auto" else None
    value = _parse(payload, callees)
    if type(value) is _TooDeep:
        issue = Issue(
            "$",
            "PAYLOAD_TOO_DEEP",
            Severity.ERROR,
            f"expected arrays, objects and calls nested at most {MAX_DEPTH} levels deep, got more; "
            "no tracking payload nests this deep: send the payload flat",
        )
        if dialect != "auto":
            dialects.get(dialect)  # an unknown name is still UnknownDialectError
        return Decoded(dialect=dialect if dialect != "auto" else "unknown", events=[], issues=[issue])
    detection = None
    alternatives: list[str] = []
    screened = Issues()
    if dialect == "auto":
        value, readable = screen(value, screened)  # before the sniffers, which walk the payload
        if not readable:
            return _decoded("unknown", [], screened)
        chosen, alternatives, detection = detect(value, callees[0] if callees else callee)
        if chosen is None:
            issue = Issue(
                "$",
                "DIALECT_UNKNOWN",
                Severity.ERROR,
                f"expected the shape of a known dialect (one of {', '.join(dialects.names())}); got none of "
                "them. Name the dialect with --dialect",
            )
            settled = settle([*screened.items, issue])  # the error at $ says it all
            return Decoded(dialect="unknown", events=[], issues=settled, detection=detection)
        dialect = chosen
    adapter = dialects.get(dialect)
    issues = screened  # the screen's warnings (repaired text) first; the adapter's screen finds none
    events = adapter.decode(value, ctx, issues)
    if property:
        for event in events:
            event.property = property
    if alternatives and detection:
        issues.event = -1
        issues.warning("$", "DIALECT_AMBIGUOUS", f"{detection}; name the dialect to be sure")
        issues.items = settle(issues.items)  # not beside an error at $
    return _decoded(dialect, events, issues, detection=detection, alternatives=alternatives)


def _decoded(dialect: str, events: list[Event], issues: Issues, **kw: Any) -> Decoded:
    """The Decoded of ``issues``: those listed, then the one that counts the others (if any)."""
    summary = issues.summary()
    if summary is None:
        return Decoded(dialect=dialect, events=events, issues=issues.items, **kw)
    listed = [*issues.items, summary]
    return Decoded(
        dialect=dialect, events=events, issues=listed, unlisted_errors=sorted(issues.unlisted_errors), **kw
    )


def _options(options: EncodeOptions | None, kw: dict[str, Any]) -> EncodeOptions:
    if options is None:
        return EncodeOptions(**kw)
    return msgspec.structs.replace(options, **kw) if kw else options


def _prepare(event: Event, options: EncodeOptions) -> Event:
    """Apply the dialect-independent encoder options (hashing the transaction id)."""
    c = event.commerce
    if (
        options.hash_transaction_id
        and c is not None
        and c.transaction_id
        and not _HEX64.fullmatch(c.transaction_id)
    ):
        digest = hashlib.sha256(c.transaction_id.encode()).hexdigest()
        event = msgspec.structs.replace(event, commerce=msgspec.structs.replace(c, transaction_id=digest))
    return event


def encode_with_issues(
    dialect: str, event: Event, options: EncodeOptions | None = None, **kw: Any
) -> tuple[Any, list[Issue]]:
    """Render ``event`` in ``dialect``; the issues say what the dialect could not carry."""
    opts = _options(options, kw)
    issues = Issues()
    payload = dialects.get(dialect).encode(_prepare(event, opts), opts, issues)
    return payload, issues.items


def encode(dialect: str, event: Event, options: EncodeOptions | None = None, **kw: Any) -> Any:
    """Render one canonical event as a payload of ``dialect``."""
    return encode_with_issues(dialect, event, options, **kw)[0]


def convert(
    payload: Any,
    source: str,
    target: str,
    options: EncodeOptions | None = None,
    *,
    default_currency: str | None = None,
    callee: str | None = None,
    **kw: Any,
) -> Converted:
    """Decode ``payload`` from ``source`` (or ``"auto"``) and render its events in ``target``.

    Events with errors are not rendered; all issues (decode and encode) are returned.
    ``callee``: as :func:`decode` takes it.
    """
    decoded = decode(source, payload, default_currency=default_currency, callee=callee)
    opts = _options(options, kw)
    adapter = dialects.get(target)
    issues = Issues()
    events = [_prepare(e, opts) for e in decoded.accepted()]
    payloads = adapter.encode_many(events, opts, issues) if events else []
    return Converted(
        source=decoded.dialect, target=target, payloads=payloads, issues=decoded.issues + issues.items
    )
