"""trackway.destinations.form.body is urllib's urlencode, faster."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trackway.destinations.form import body

CASES = {
    "empty": {},
    "plain": {"app_key": "abc123", "visitor_uid": ""},
    "json": {"data": '{"type":"purchase","properties":{"revenue":16.0,"items":[{"id":"a b"}]}}'},
    "every ASCII character": {"x": "".join(map(chr, range(128)))},
    "space and plus": {"q": "a b+c"},
    "unicode": {"név": "Ünnepi ajánlat – 20 % 🎁"},
    "lone surrogate escaped by JSON": {"data": '"\\ud800"'},
}


@pytest.mark.parametrize("fields", CASES.values(), ids=CASES.keys())
def test_the_body_is_urlencode_s(fields: dict[str, str]) -> None:
    assert body(fields) == urlencode(fields).encode()
    assert dict(parse_qsl(body(fields).decode(), keep_blank_values=True)) == fields


@given(st.dictionaries(st.text(max_size=8), st.text(max_size=60), max_size=5))
def test_any_fields_give_urlencode_s_body(fields: dict[str, str]) -> None:
    assert body(fields) == urlencode(fields).encode()
