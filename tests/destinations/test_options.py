"""One wording for every destination type's option errors."""

from __future__ import annotations

import pytest

from trackway.destinations import options
from trackway.errors import ConfigError

CASES = [
    # (call, options, the message it must give; None: accepted)
    (lambda o: options.known("t", o, ["a", "b"]), {"a": 1}, None),
    (lambda o: options.known("t", o, ["a", "b"]), {"c": 1, "a": 1}, "expected options among a, b, got c"),
    (lambda o: options.text("t", o, "a", "the key"), {"a": "k"}, None),
    (lambda o: options.text("t", o, "a", "the key"), {}, "a: expected a non-empty string, got nothing"),
    (lambda o: options.text("t", o, "a", "the key"), {"a": 3}, "got int; set it to the key"),
    (lambda o: options.url("t", o, "u", None), {"u": "https://x/h/"}, None),
    (lambda o: options.url("t", o, "u", None), {}, "an http:// or https:// URL, got None; set it"),
    (
        lambda o: options.url("t", o, "u", "https://d"),
        {"u": "ftp://x"},
        "got 'ftp://x'; the default is https://d",
    ),
]


@pytest.mark.parametrize(("call", "given", "message"), CASES)
def test_options(call, given, message):
    if message is None:
        call(given)
    else:
        with pytest.raises(ConfigError, match=message):
            call(given)


def test_a_secret_value_is_never_quoted():
    with pytest.raises(ConfigError) as caught:
        options.text("t", {"a": ["s3cr3t-value"]}, "a", "the key")
    assert "s3cr3t" not in str(caught.value)


def test_a_url_is_kept_as_written():
    assert options.url("t", {"u": "https://x/hook/"}, "u", None) == "https://x/hook/"
