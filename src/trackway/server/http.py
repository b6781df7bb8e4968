"""A thin layer over raw ASGI: read a request within limits, answer it.

No framework: on this machine a do-nothing raw ASGI endpoint under uvicorn served
more requests per second than the same endpoint in any framework, and the
collector's throughput target is half of that (docs/performance.md). What a
framework would give, kept small: query and form parsing, body limits (413),
``Content-Encoding: gzip`` with a limit on the inflated size, JSON answers, and
one exception (:class:`trackway.errors.HttpError`) that becomes a response.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import msgspec

from trackway.errors import ClientGone, HttpError

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_json = msgspec.json.Encoder(decimal_format="number")

JSON = b"application/json"
TEXT = b"text/plain; charset=utf-8"


class Request:
    __slots__ = ("_headers", "_query", "body", "path", "receive", "scope")

    def __init__(self, scope: Scope, receive: Receive) -> None:
        self.scope = scope
        self.receive = receive
        self.path: str = scope["path"]
        self.body = b""
        self._headers: dict[bytes, bytes] | None = None
        self._query: dict[str, str] | None = None

    @property
    def method(self) -> str:
        return str(self.scope["method"])

    @property
    def headers(self) -> dict[bytes, bytes]:
        if self._headers is None:  # ASGI servers give header names in lower case
            self._headers = dict(self.scope["headers"])
        return self._headers

    def header(self, name: bytes) -> str | None:
        v = self.headers.get(name)
        return v.decode("latin-1") if v is not None else None

    @property
    def query(self) -> dict[str, str]:
        if self._query is None:
            self._query = parse_query(self.scope.get("query_string", b""))
        return self._query

    def cookie(self, name: str) -> str | None:
        """The value of the cookie ``name`` (the first one sent), or None."""
        header = self.header(b"cookie")
        if not header:
            return None
        for part in header.split(";"):
            key, _, value = part.strip().partition("=")
            if key == name:
                return value
        return None

    @property
    def tls(self) -> bool:
        """Whether the browser reached us over TLS (directly, or through a proxy saying so):
        cookies set then are ``Secure``."""
        return self.scope.get("scheme") == "https" or self.header(b"x-forwarded-proto") == "https"

    def set_cookie(self, name: str, value: str, max_age: int, same_site: str) -> tuple[bytes, bytes]:
        """The ``Set-Cookie`` header of an HttpOnly cookie for the whole site, ``Secure``
        when this request came over TLS (``max_age`` 0: the cookie is expired)."""
        attrs = f"Path=/; Max-Age={max_age}; HttpOnly; SameSite={same_site}{'; Secure' if self.tls else ''}"
        return b"set-cookie", f"{name}={value}; {attrs}".encode()

    @property
    def client_ip(self) -> str | None:
        client = self.scope.get("client")
        return str(client[0]) if client else None

    def media_type(self) -> str:
        """The Content-Type without parameters, lower case ('' when absent)."""
        raw = self.headers.get(b"content-type", b"")
        kind = _media_types.get(raw)
        if kind is None:
            kind = raw.split(b";", 1)[0].strip().lower().decode("latin-1")
            remember(_media_types, raw, kind)
        return kind

    async def read(self, limit: int, *, over: int = 413, what: str = "body") -> bytes:
        """The whole body, inflated if gzip, at most ``limit`` bytes (else HttpError(over))."""
        message = await self.receive()
        if message["type"] == "http.request" and not message.get("more_body", False):
            body = message.get("body", b"")  # the usual case: the whole body in one message
        else:
            body = await self._rest(message, limit, over, what)
        if len(body) > limit:
            raise HttpError(
                over, f"expected a {what} of at most {limit} bytes, got {len(body)}; send less per request"
            )
        encoding = self.headers.get(b"content-encoding")
        if encoding is not None:
            encoding = encoding.strip().lower()
            if encoding == b"gzip":
                body = inflate(body, limit, over, what)
            elif encoding not in (b"identity", b""):
                raise HttpError(
                    415,
                    f"expected Content-Encoding gzip or none, got {encoding.decode('latin-1')!r}; "
                    "send gzip or plain",
                )
        self.body = body
        return body

    async def _rest(self, message: dict[str, Any], limit: int, over: int, what: str) -> bytes:
        """The body from ``message`` on, when it comes in several messages: refused as
        soon as the declared or the received size is over ``limit``."""
        declared = self.headers.get(b"content-length")
        if declared is not None and declared.isdigit() and (len(declared) > 18 or int(declared) > limit):
            raise HttpError(
                over,
                f"expected a {what} of at most {limit} bytes, got {declared[:40].decode()}; "
                "send less per request",
            )
        chunks = []
        size = 0
        while True:
            if message["type"] == "http.disconnect":
                raise ClientGone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise HttpError(
                    over, f"expected a {what} of at most {limit} bytes, got more; send less per request"
                )
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)
            message = await self.receive()


# Clients send the same few query strings and content types over and over (a site's
# keys, application/json): what they parse to is remembered, up to MEMO entries each.
MEMO = 512
_queries: dict[bytes, tuple[tuple[str, str], ...]] = {}
_media_types: dict[bytes, str] = {}


def remember(memo: dict[bytes, Any], key: bytes, value: Any) -> None:
    """``memo[key] = value`` for keys of at most 1 kB, in at most MEMO entries (all
    forgotten when full: the few keys clients repeat come back at once)."""
    if len(key) <= 1024:
        if len(memo) >= MEMO:
            memo.clear()
        memo[key] = value


def parse_query(qs: bytes) -> dict[str, str]:
    """A query string as a new dict (the last value of a repeated name wins)."""
    if not qs:
        return {}
    pairs = _queries.get(qs)
    if pairs is None:
        pairs = tuple(_parse_query(qs).items())
        remember(_queries, qs, pairs)
    return dict(pairs)


def _parse_query(qs: bytes) -> dict[str, str]:
    """Plain ``name=value`` pairs, the usual case, skip ``parse_qsl`` (measured 24 us)."""
    text = qs.decode("latin-1")
    if "%" in text or "+" in text:
        return dict(parse_qsl(text, keep_blank_values=True))
    out = {}
    for pair in text.split("&"):
        if pair:
            name, _, value = pair.partition("=")
            out[name] = value
    return out


def inflate(data: bytes, limit: int, over: int, what: str) -> bytes:
    """gzip -> bytes, refusing to inflate past ``limit`` (a zip bomb costs nothing). A
    stream of several members (RFC 1952, as ``cat a.gz b.gz`` makes) is inflated whole: its
    first member alone was taken, and the body's JSON then read as cut short. Bytes after
    the stream that are no member are refused (they were ignored), zeros excepted."""
    out = bytearray()
    rest = data
    while True:
        z = zlib.decompressobj(wbits=31)
        try:
            out += z.decompress(rest, limit + 1 - len(out))
        except zlib.error as exc:
            raise HttpError(
                400, f"expected a gzip body (Content-Encoding: gzip), got data zlib cannot read: {exc}"
            ) from None
        if len(out) > limit or z.unconsumed_tail:
            raise HttpError(
                over, f"expected a {what} of at most {limit} bytes once inflated, got more; send less"
            )
        if not z.eof:
            raise HttpError(400, "expected a complete gzip body, got a truncated one; send the whole stream")
        rest = z.unused_data
        if not rest.strip(b"\0"):
            return bytes(out)
        if not rest.startswith(b"\x1f\x8b"):
            raise HttpError(
                400,
                f"expected the gzip stream to end the body, got {len(rest)} more bytes after it; "
                "send the gzip stream alone",
            )


def form(body: bytes, into: dict[str, str]) -> dict[str, str]:
    """``application/x-www-form-urlencoded`` fields over ``into`` (the query string)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HttpError(
            400, f"expected a UTF-8 form body, got an invalid byte at offset {exc.start}"
        ) from None
    # A byte order mark stuck to the first name (app_key was then "not sent"); empty pairs
    # (a trailing &&) are ignored, as browsers' form parsing does
    text = "&".join(pair for pair in text.removeprefix("\ufeff").split("&") if pair)
    try:
        fields = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text), errors="strict")
    except UnicodeDecodeError as exc:  # %ff: was stored as U+FFFD, where the raw byte was a 400
        raise HttpError(
            400, f"expected UTF-8 in the form's %-escapes, got an invalid byte ({exc.reason}); send UTF-8"
        ) from None
    except ValueError as exc:
        raise HttpError(
            400, f"expected a form body such as a=1&b=2, got text that does not parse: {exc}"
        ) from None
    return {**into, **dict(fields)}


# A \uD800-\uDBFF escape with no \uDC00-\uDFFF after it: msgspec says "truncated" of it.
_LONE_HIGH = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})")


def json_error(exc: msgspec.DecodeError, body: bytes) -> HttpError:
    """400 with the parser's message, which names the position (``at byte 17``); for what it
    calls "truncated" when it is not (an empty body, a lone surrogate escape), what it is."""
    said = f"one the parser rejects: {exc}"
    if str(exc) == "Input data was truncated":
        lone = _LONE_HIGH.search(body)
        if not body.strip():
            said = "an empty one; send the JSON the endpoint documents"
        elif lone is not None:
            said = (
                f"a lone surrogate escape, {lone.group().decode()} at byte {lone.start()} (a \\uD800-\\uDBFF "
                "escape must be followed by a \\uDC00-\\uDFFF one): JSON text must be valid Unicode"
            )
    return HttpError(400, f"expected a JSON body, got {said}", bytes=len(body))


# What a JSON body read at the request may hold, so that reading it, and what the loader
# does with it later, costs a bounded time. The decoders nest tracking payloads at most
# 64 levels (trackway.decode); a body may add its envelope around them.
MAX_JSON_DEPTH = 100
MAX_NUMBER_CHARS = 100  # characters of a number with a fraction or exponent (msgspec refuses
#                         integers past 64 bits itself)
MAX_EXPONENT = 1000  # a number's power of ten either way: 1e1000000 is cheap to read, not to use


def decimal(text: str) -> Decimal:
    """A msgspec ``float_hook``: the literal as a Decimal, refused (msgspec answers a
    ValidationError naming where) when it is too long or its exponent too large."""
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError(f"expected a number of at most {MAX_NUMBER_CHARS} characters, got {len(text)}")
    value = Decimal(text)
    if not -MAX_EXPONENT <= value.adjusted() <= MAX_EXPONENT:
        raise ValueError(f"expected a number between 1e-{MAX_EXPONENT} and 1e{MAX_EXPONENT}, got {text}")
    return value


def parse_json(decode: Callable[[bytes], Any], body: bytes) -> Any:
    """``decode(body)``, a msgspec decoder's, with 400 for what it rejects and for JSON
    nested deeper than MAX_JSON_DEPTH (checked only when the body has that many brackets)."""
    try:
        value = decode(body)
    except msgspec.DecodeError as exc:
        raise json_error(exc, body) from None
    except RecursionError:  # msgspec stops at the interpreter's recursion limit, cheaply
        value = None
        depth = MAX_JSON_DEPTH + 1
    else:
        depth = 0
        if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH:
            depth = json_depth(value, MAX_JSON_DEPTH + 1)
    if depth > MAX_JSON_DEPTH:
        raise HttpError(
            400,
            f"expected JSON nested at most {MAX_JSON_DEPTH} levels deep, got more; "
            "no tracking payload nests that deep",
            bytes=len(body),
        )
    return value


def json_depth(value: Any, stop: int) -> int:
    """How deep arrays and objects nest in ``value`` (a scalar: 0), counting up to ``stop``."""
    deepest = 0
    todo: list[tuple[Any, int]] = [(value, 1)]
    while todo:
        item, depth = todo.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > deepest:
            deepest = depth
            if deepest >= stop:
                return deepest
        todo.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


async def respond(
    send: Send,
    status: int,
    body: bytes = b"",
    content_type: bytes | None = JSON,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    h = list(headers) if headers else []
    if content_type is not None and body:
        h.append((b"content-type", content_type))
    if status != 204:  # a 204 has no body and no Content-Length
        h.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": h})
    await send({"type": "http.response.body", "body": body})


async def respond_json(
    send: Send, status: int, value: Any, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await respond(send, status, _json.encode(value), JSON, headers)


def encode_json(value: Any) -> bytes:
    return _json.encode(value)
