"""What the dashboard and ``trackway validate`` show of a payload or an event. Pure: no I/O.

- :func:`split_payloads` reads the payloads of a text: one JSON value, JSON Lines,
  JavaScript object literals and calls, or (:func:`script_calls`) a whole pasted page
  script, from which the tracking calls (``dataLayer.push(...)``, ``gtag(...)``,
  ``cact(...)``, any dialect's :attr:`~trackway.dialects.base.Adapter.callees`) are read
  and the rest skipped with a note.
- :func:`validate_payloads` checks payloads against their dialect's rules (the CLI's
  ``trackway validate``), :func:`validate_text` does it for a pasted text (``POST
  /api/validate``), nothing stored.
- :func:`renders` renders an event in every other dialect with each conversion's
  warnings; :func:`event_view` and :func:`failed_view` are the event detail page's
  answer for a stored event and a failed payload (without the person: a store look-up).
"""

from __future__ import annotations

import contextlib
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

import msgspec

import trackway
from trackway import dialects
from trackway.errors import ParseError, TrackwayError, UsageError
from trackway.literal import LiteralReader, read_literals
from trackway.model import Event, encode_json, to_builtins

if TYPE_CHECKING:  # `trackway validate` starts without the store and the pipeline (its start is measured)
    from trackway.store.base import FailedRow

SCRIPT_NOTE = "read as a page script"  # the first note of a text read for its tracking calls
MARKDOWN_NOTE = "read as Markdown"  # the first note of a text read for its code blocks
MAX_TEXT = 256 * 1024  # bytes of a pasted text the validator reads
MAX_CALLS = 200  # payloads of one text checked (each renders in every dialect)
_json = msgspec.json.Decoder(float_hook=Decimal)


class Payload(NamedTuple):
    source: str  # file name or "<stdin>"
    value: Any
    notes: tuple[str, ...]  # what the JavaScript reader assumed
    call: str | None = None  # the call it was read from, in a pasted script
    # The JavaScript function it was called with (``insend`` for ``insend('event', ...)``):
    # the array such a call reads as does not say whose it is (trackway.api.detect).
    callee: str | None = None


def plain(value: Any) -> Any:
    """``value`` as JSON values (Decimals kept): what no JSON can hold (a NaN, a lone
    surrogate) written as :func:`trackway.model.encode_json` writes it."""
    data = encode_json(value)
    try:
        return _json.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError):  # an integer of thousands of digits
        return data.decode()


# -- reading a text ---------------------------------------------------------------


def _is_call_array(value: Any) -> bool:
    """A gtag / cact / convead call array is one payload; other arrays hold payloads."""
    return isinstance(value, list) and bool(value) and isinstance(value[0], str)


def _spread(values: list[Any], callees: list[str | None] | None = None) -> list[tuple[Any, str | None]]:
    """Each payload of ``values`` with the function it was called with (``callees``, one
    per value; an array of payloads is spread, and its elements were called with none)."""
    out: list[tuple[Any, str | None]] = []
    for n, value in enumerate(values):
        if isinstance(value, list) and not _is_call_array(value):
            out.extend((v, None) for v in value)
        else:
            out.append((value, callees[n] if callees is not None and n < len(callees) else None))
    return out


def split_payloads(text: str, source: str = "<input>") -> list[Payload]:
    """The payloads of one text, in order.

    One JSON value (an array of payloads is spread, a call array such as
    ``["event", "purchase", {...}]`` is one payload), JSON Lines, or JavaScript
    object literals and calls as pasted from docs or a console.
    """
    stripped = text.strip()
    if not stripped:
        return []
    # JSON nested past msgspec's limit (about 1,000 levels) raises RecursionError: such a
    # text goes on to the literal reader, which measures the depth and says it is too deep
    try:
        return [Payload(source, v, ()) for v, _ in _spread([_json.decode(stripped)])]
    except (msgspec.DecodeError, RecursionError):
        pass
    lines = [line for line in stripped.splitlines() if line.strip()]
    if len(lines) > 1:
        try:
            values = [_json.decode(line) for line in lines]
        except (msgspec.DecodeError, RecursionError):
            pass
        else:
            return [Payload(source, v, ()) for v in values]
    reader = LiteralReader(text, source)
    values = reader.read_all()
    notes = tuple(reader.notes)
    return [Payload(source, v, notes, callee=c) for v, c in _spread(values, reader.callees)]


# A string not closed is skipped to the end of its line (a template string to the end of
# the text), as a block comment is: a pattern that failed there was tried again from every
# later quote, each time to the end (20 kB of '\\`' cost 3.6 s of CPU, 40 kB 13.7 s).
_SKIP_TEXT = (
    r"""//[^\n]*|/\*.*?(?:\*/|\Z)|"(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?"""
    r"""|`(?:[^`\\]|\\.)*(?P<tick>`)?"""  # tick: the template string is closed
)
_SKIP = re.compile(_SKIP_TEXT, re.S)  # a comment or a string: the brackets and calls in it do not count


def _callee_pattern() -> re.Pattern[str]:
    """A comment or a string (``skip``), or the start of a call of a dialect's function."""
    names = sorted({c for a in dialects.adapters() for c in a.callees}, key=len, reverse=True)
    alternatives = "|".join(re.escape(n).replace(r"\.", r"\s*\.\s*") for n in names)
    call = rf"(?<![\w$.])(?:window\s*\.\s*)?(?:{alternatives})\s*\("
    return re.compile(rf"(?P<skip>{_SKIP_TEXT})|(?P<call>{call})", re.S)


def _close(text: str, start: int) -> int:
    """The index of the ``)`` that closes the ``(`` at ``start``, or -1."""
    depth, i = 0, start
    while i < len(text):
        ch = text[i]
        if ch in "/\"'`":
            m = _SKIP.match(text, i)
            if m is not None:
                i = m.end()
                continue
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth == 0:
                return i if ch == ")" else -1
        i += 1
    return -1


def script_calls(text: str, source: str = "<input>") -> tuple[list[Payload], list[str]]:
    """The tracking calls of a pasted page script, and notes on what was skipped (calls
    that cannot be read as literals, such as ``gtag('js', new Date())``)."""
    found: list[Payload] = []
    notes: list[str] = []
    pattern = _callee_pattern()
    pos = 0
    while (m := pattern.search(text, pos)) is not None:
        if m.group("skip") is not None:
            if m.group("skip")[0] == "`" and m.group("tick") is None:
                line = text.count("\n", 0, m.start()) + 1
                notes.append(
                    f"line {line}: a ` template string is never closed; the rest of the text is not read"
                )
            pos = max(m.end(), pos + 1)
            continue
        line = text.count("\n", 0, m.start()) + 1
        name = re.sub(r"\s+", "", m.group()).rstrip("(")
        if re.search(r"function\s+$", text[max(0, m.start() - 40) : m.start()]):
            pos = m.end()  # the definition `function gtag(){...}`, not a call
            continue
        end = _close(text, m.end() - 1)
        if end < 0:
            notes.append(f"line {line}: {name}( is not closed; skipped the rest of the text")
            break
        snippet = text[m.start() : end + 1]
        pos = end + 1
        try:
            values, read = read_literals(snippet, source)
        except ParseError as exc:
            notes.append(f"line {line}: skipped {name}(...), which is not a literal call ({exc.reason})")
            continue
        short = snippet if len(snippet) <= 200 else snippet[:197] + "..."
        spread = _spread(values, [name] * len(values))
        if all(isinstance(v, str) for v, _ in spread):  # push(arguments): an expression, read as its text
            notes.append(f"line {line}: skipped {short}, whose argument is an expression, not a payload")
            continue
        extra = tuple(f"line {line}: {n}" for n in read)
        notes.extend(extra)
        found.extend(Payload(source, v, extra, short, c) for v, c in spread)
    return found, notes


# A fence opening a Markdown code block: at the end of a line, alone or after a table
# cell's text ("| ```json"); one closing it: at the start of a line ("``` |").
_FENCE_OPEN = re.compile(r"(?:^|[ \t|])(`{3,}|~{3,})[\w+-]*[ \t]*$")
_FENCE_CLOSE = re.compile(r"[ \t]*(`{3,}|~{3,})")


def markdown_blocks(text: str) -> list[tuple[int, str]] | None:
    """The fenced code blocks of a Markdown text (a vendor document's page), each with
    the number of its first line, blank lines before it so that lines keep their numbers;
    None when no line opens one. The prose around them is not read: its backticks
    (`` `revenue` ``, or a stray one) are not JavaScript's template strings."""
    blocks: list[tuple[int, str]] = []
    fence, start = "", 0
    code: list[str] = []
    for number, line in enumerate(text.split("\n"), 1):
        if fence:
            closing = _FENCE_CLOSE.match(line)
            if closing is not None and closing.group(1).startswith(fence):
                blocks.append((start, "\n" * (start - 1) + "\n".join(code)))
                fence, code = "", []
            else:
                code.append(line)
        elif (opening := _FENCE_OPEN.search(line)) is not None:
            fence, start = opening.group(1), number + 1
    if fence:  # not closed: the rest of the text is its code
        blocks.append((start, "\n" * (start - 1) + "\n".join(code)))
    return blocks or None


def _read_markdown(blocks: list[tuple[int, str]], source: str) -> tuple[list[Payload], list[str]]:
    """The tracking calls of the code blocks, when one holds a call (Commanders Act's
    ``cact(...)`` examples: a block without one shows a part of an event, such as a user
    object, and is skipped with a note); else each block's payloads (JSON or object
    literals: the 2Checkout document's dataLayer entries)."""
    calls = [(start, *script_calls(code, source)) for start, code in blocks]
    found: list[Payload] = []
    if any(payloads for _, payloads, _ in calls):
        notes = [f"{MARKDOWN_NOTE}: only the tracking calls in its code blocks are checked"]
        for start, payloads, skipped in calls:
            notes.extend(skipped)
            if not payloads:
                notes.append(f"line {start}: skipped a code block with no tracking call in it")
            found.extend(payloads)
    else:
        notes = [f"{MARKDOWN_NOTE}: only the payloads in its code blocks are checked"]
        for start, code in blocks:
            try:
                payloads = split_payloads(code, source)
            except ParseError as exc:
                notes.append(f"line {start}: skipped a code block with no payload in it ({exc.reason})")
                continue
            if all(isinstance(p.value, str) for p in payloads):  # words, read as expressions
                notes.append(f"line {start}: skipped a code block with no payload in it (text, not JSON)")
                continue
            found.extend(payloads)
        if not found:
            raise ParseError(
                f"expected a payload or a tracking call in a code block of this Markdown text, got none "
                f"in its {len(blocks)} block(s) ({'; '.join(notes[1:4])}): put the payloads or calls to "
                "check in the text's code blocks, or give them alone",
                source=source,
            )
    notes.extend(n for p in found for n in p.notes)
    return found, list(dict.fromkeys(notes))


def read_text(text: str, source: str = "<input>") -> tuple[list[Payload], list[str]]:
    """The payloads of a pasted text and the notes on what was assumed or skipped. A
    Markdown text (one with a fenced code block) is read for its code blocks only.

    Raises :class:`~trackway.errors.ParseError` when the text is neither payloads nor a
    script with a tracking call in it."""
    blocks = markdown_blocks(text)
    if blocks is not None:
        return _read_markdown(blocks, source)
    try:
        payloads = split_payloads(text, source)
    except ParseError as exc:
        payloads, notes = script_calls(text, source)
        if not payloads:
            raise ParseError(
                f"{exc.reason}. Expected JSON, JavaScript object literals, or a page script with "
                "dataLayer.push(...), gtag(...) or cact(...) calls; the text is none of them: fix it there",
                source=exc.source,
                line=exc.line,
                column=exc.column,
            ) from None
        return payloads, [f"{SCRIPT_NOTE}: only its tracking calls are checked", *notes]
    notes = list(dict.fromkeys(n for p in payloads for n in p.notes))
    return payloads, notes


# -- validating -------------------------------------------------------------------


def validate_payloads(
    payloads: list[Payload], dialect: str, default_currency: str | None
) -> list[dict[str, Any]]:
    """One result per payload: ``{index, dialect, valid, events, issues}``, and what the
    text output needs under keys starting with ``_`` (the source, the detection, the
    reader's notes, the events as :class:`Event`)."""
    results = []
    for index, payload in enumerate(payloads):
        try:
            decoded = trackway.decode(
                dialect, payload.value, default_currency=default_currency, callee=payload.callee
            )
        except ParseError as exc:  # a string payload that is itself unreadable text
            results.append(
                {
                    "index": index,
                    "dialect": dialect,
                    "valid": False,
                    "events": [],
                    "issues": [
                        {"path": "$", "code": "PAYLOAD_INVALID", "severity": "error", "message": str(exc)}
                    ],
                    "_source": payload.source,
                    "_detection": None,
                    "_notes": payload.notes,
                    "_events": [],
                }
            )
            continue
        results.append(
            {
                "index": index,
                "dialect": decoded.dialect,
                "valid": decoded.valid,
                "events": [to_builtins(e) for e in decoded.events],
                "issues": [i.to_json() for i in decoded.issues],
                "_source": payload.source,
                "_detection": decoded.detection,
                "_notes": payload.notes,
                "_events": decoded.events,
            }
        )
    return results


def validate_text(text: str, dialect: str = "auto", default_currency: str | None = None) -> dict[str, Any]:
    """The validator's answer for a pasted text: ``{"calls": [...], "notes": [...]}``.

    Raises :class:`~trackway.errors.UsageError` for a text over :data:`MAX_TEXT` or an
    unknown dialect, :class:`~trackway.errors.ParseError` for a text with no payload."""
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > MAX_TEXT:
        raise UsageError(
            f"expected a text of at most {MAX_TEXT // 1024} KiB ({MAX_TEXT} bytes), got {size} bytes; "
            "paste one page's calls at a time"
        )
    if dialect != "auto" and dialect not in dialects.names():
        raise UsageError(
            f"expected dialect auto or one of {', '.join(dialects.names())}, got {dialect!r:.60}; "
            "leave it out to detect each call's"
        )
    payloads, notes = read_text(text)
    if len(payloads) > MAX_CALLS:
        notes.append(
            f"{len(payloads)} payloads: only the first {MAX_CALLS} are checked; paste the rest apart"
        )
        payloads = payloads[:MAX_CALLS]
    calls = []
    for r, payload in zip(validate_payloads(payloads, dialect, default_currency), payloads, strict=True):
        events: list[Event] = r["_events"]
        calls.append(
            {
                "index": r["index"],
                "source": payload.call or _describe(payload.value),
                "dialect": r["dialect"],
                "detection": r["_detection"],
                "valid": r["valid"],
                "issues": r["issues"],
                "events": plain(r["events"]),
                "renders": renders(events[0], events[0].dialect) if events else {},
            }
        )
    return {"calls": calls, "notes": notes}


def _describe(value: Any) -> str:
    """A short description of a payload: its JSON, cut at 200 characters."""
    text = encode_json(value).decode()
    return text if len(text) <= 200 else text[:197] + "..."


# -- rendering --------------------------------------------------------------------


def renders(event: Event, source: str | None) -> dict[str, dict[str, Any]]:
    """``event`` in every dialect but ``source``: ``{"payload", "issues"}`` (the
    conversion's warnings: what the dialect cannot carry), or ``{"error"}`` saying why not."""
    out: dict[str, dict[str, Any]] = {}
    for name in dialects.names():
        if name == source:
            continue
        try:
            payload, issues = trackway.encode_with_issues(name, event)
        except (TrackwayError, ValueError, TypeError, KeyError, ArithmeticError) as exc:
            out[name] = {"error": f"{name} cannot render this {event.name!r} event: {exc}"}
            continue
        out[name] = {"payload": plain(payload), "issues": [i.to_json() for i in issues]}
    return out


def _common(kind: str, id: str, prop: str, dialect: str, endpoint: str, received_at: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "id": id,
        "property": prop,
        "dialect": dialect,
        "endpoint": endpoint,
        "received_at": received_at.isoformat() if received_at is not None else None,
    }


def event_view(event: Event, endpoint: str) -> dict[str, Any]:
    """The detail page of a stored event: its payload rendered back into its own
    dialect (the event keeps its wire metadata for that), what decoding that payload
    again reports, the canonical event and its renders in every other dialect."""
    view = _common("event", event.id, event.property, event.dialect, endpoint, event.received_at)
    issues: list[dict[str, Any]]
    try:
        payload, encoded = trackway.encode_with_issues(event.dialect, event)
    except (TrackwayError, ValueError, TypeError, KeyError, ArithmeticError) as exc:
        payload = None
        issues = [
            {
                "path": "$",
                "code": "PAYLOAD_INVALID",
                "severity": "error",
                "message": f"expected to render the event back into {event.dialect}, got: {exc}",
            }
        ]
    else:
        try:
            again = trackway.decode(event.dialect, payload, property=event.property)
            issues = [i.to_json() for i in again.issues]
        except (TrackwayError, ValueError) as exc:
            issues = [{"path": "$", "code": "PAYLOAD_INVALID", "severity": "error", "message": str(exc)}]
        issues = [i.to_json() for i in encoded] + issues
    view |= {
        "payload": plain(payload),
        "payload_source": "rendered",
        "issues": issues,
        "event": plain(to_builtins(event)),
        "renders": renders(event, event.dialect),
    }
    return view


def received_payload(row: FailedRow) -> Any:
    """A failed payload as received: its bytes as JSON, else as text."""
    try:
        return plain(_json.decode(row.payload))
    except (msgspec.DecodeError, RecursionError):
        return row.payload.decode("utf-8", errors="replace")


def failed_events(row: FailedRow) -> list[Event]:
    """The events a failed payload decodes to, errors and all, with its request's
    envelope (/collect's ids) applied as replay applies it; [] when it does not decode."""
    from trackway.ingest import pipeline

    dialect = row.dialect if row.dialect and row.dialect in dialects.names() else "auto"
    try:
        decoded = trackway.decode(dialect, row.payload, received_at=row.received_at, property=row.property)
    except (TrackwayError, ValueError):
        return []
    # an envelope that does not read: the events as the payload gives them
    with contextlib.suppress(msgspec.DecodeError, TypeError, ValueError):
        pipeline.apply_envelope(decoded.events, pipeline.envelope_of(row.meta))
    return decoded.events


def failed_view(row: FailedRow) -> dict[str, Any]:
    """The detail page of a failed payload: as received, its stored issues, the event
    of it that failed (``indices``: which of the payload's events; -1 the payload) as
    decoding gives it even with errors (null when nothing decodes), and its renders."""
    view = _common("failed", row.id, row.property, row.dialect, row.endpoint, row.received_at)
    events = failed_events(row)
    wanted = [n for n in row.indices if 0 <= n < len(events)]
    event = events[wanted[0]] if wanted else events[0] if events else None
    view |= {
        "payload": received_payload(row),
        "payload_source": "received",
        "issues": plain(row.issues),
        "event": plain(to_builtins(event)) if event is not None else None,
        "events": [plain(to_builtins(e)) for e in events],
        "indices": row.indices,
        "names": row.names,  # the names of the events that failed, as stored
        "renders": renders(event, event.dialect) if event is not None else {},
    }
    return view


def person_ids(view: dict[str, Any]) -> tuple[str | None, str | None]:
    """The anonymous and user id of a view's event (None, None without one)."""
    event = view.get("event") or {}
    anonymous, user = event.get("anonymous_id"), event.get("user_id")
    return (anonymous if isinstance(anonymous, str) else None, user if isinstance(user, str) else None)
