"""The thin HTTP layer: query strings and content types, remembered or not, parse the same."""

from __future__ import annotations

import asyncio

import pytest

from trackway.errors import ClientGone, HttpError
from trackway.server import http
from trackway.server.http import Request, parse_query

QUERIES = [
    (b"", {}),
    (b"measurement_id=G-1&api_secret=s3", {"measurement_id": "G-1", "api_secret": "s3"}),
    (b"a=1&a=2", {"a": "2"}),
    (b"a=x%20y&b=1+2", {"a": "x y", "b": "1 2"}),
    (b"flag&b=", {"flag": "", "b": ""}),
]


@pytest.mark.parametrize(("qs", "expected"), QUERIES)
def test_a_query_string_parses_the_same_every_time_into_a_new_dict(qs, expected):
    first = parse_query(qs)
    assert first == expected
    first["injected"] = "x"  # a caller changing its dict changes nobody else's
    assert parse_query(qs) == expected


def test_the_memory_of_query_strings_is_bounded():
    for n in range(http.MEMO * 2 + 5):
        assert parse_query(f"k={n}".encode()) == {"k": str(n)}
    assert len(http._queries) <= http.MEMO
    long = b"k=" + b"v" * 2000
    assert parse_query(long) == {"k": "v" * 2000}
    assert long not in http._queries


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, ""),
        (b"application/json", "application/json"),
        (b"Application/JSON; charset=UTF-8", "application/json"),
        (b"text/plain;charset=UTF-8", "text/plain"),
        (b" application/x-www-form-urlencoded ", "application/x-www-form-urlencoded"),
    ],
)
def test_media_type_drops_parameters_and_case(header, expected):
    headers = [(b"content-type", header)] if header is not None else []
    for _ in range(2):  # computed, then remembered
        assert Request({"path": "/", "headers": headers}, None).media_type() == expected  # type: ignore[arg-type]


def _messages(*chunks: bytes) -> list[dict[str, object]]:
    return [
        {"type": "http.request", "body": c, "more_body": n < len(chunks) - 1} for n, c in enumerate(chunks)
    ]


@pytest.mark.parametrize(
    ("messages", "headers", "limit", "expected"),
    [
        (_messages(b"abc"), [], 10, b"abc"),
        (_messages(b"ab", b"c", b"de"), [], 10, b"abcde"),
        (_messages(b""), [], 10, b""),
        (_messages(b"abcdefghijk"), [], 10, 413),  # one message over the limit
        (_messages(b"abcdef", b"ghijk"), [], 10, 413),  # the chunks add up to more
        (_messages(b"ab", b"cd"), [(b"content-length", b"99")], 10, 413),  # declared more: refused early
        ([*_messages(b"ab", b"c")[:1], {"type": "http.disconnect"}], [], 10, ClientGone),
    ],
)
def test_read_joins_the_messages_within_the_limit(messages, headers, limit, expected):
    given = list(messages)

    async def receive():
        return given.pop(0)

    request = Request({"path": "/", "headers": headers}, receive)
    if isinstance(expected, bytes):
        assert asyncio.run(request.read(limit)) == expected
        assert request.body == expected
    elif expected is ClientGone:
        with pytest.raises(ClientGone):
            asyncio.run(request.read(limit))
    else:
        with pytest.raises(HttpError) as caught:
            asyncio.run(request.read(limit))
        assert caught.value.status == expected
        assert f"at most {limit} bytes" in caught.value.message
    if headers:
        assert len(given) == 1  # the declared size was refused before the rest was read


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ("\ufeffapp_key=a&data=b".encode(), {"app_key": "a", "data": "b"}),  # a BOM hid app_key (401)
        (b"app_key=a&data=b&&", {"app_key": "a", "data": "b"}),  # empty pairs: a 400 "bad query field"
        (b"&app_key=a", {"app_key": "a"}),
    ],
)
def test_a_form_body_is_read_as_browsers_read_one(body: bytes, fields: dict[str, str]) -> None:
    assert http.form(body, {}) == fields


def test_a_form_with_a_percent_escape_that_is_no_utf8_is_refused_as_the_raw_byte_is() -> None:
    # "g%ff1" was stored as "g\ufffd1" with no issue, where a raw 0xff byte was a 400
    for body in (b"guest_uid=g%ff1", b"guest_uid=g\xff1"):
        with pytest.raises(HttpError) as caught:
            http.form(body, {})
        assert caught.value.status == 400 and "UTF-8" in str(caught.value)
