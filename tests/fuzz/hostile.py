"""Hostile-but-plausible JSON: valid bodies with values replaced, keys removed, added
or repeated, written as TEXT so that literals Python's json cannot emit (NaN, 1e999,
5,000-digit integers, lone surrogate escapes, 1,000-level nesting) can be sent.

Every choice goes through a :class:`Chooser`, so the same mutations serve hypothesis
(``data.draw``) and atheris (a ``FuzzedDataProvider``).
"""

from __future__ import annotations

import copy
import json
from typing import Any, Protocol


class Chooser(Protocol):
    def index(self, n: int) -> int:
        """A number in ``range(n)``."""

    def text(self) -> str:
        """Any short text."""


class Raw(str):
    """JSON text written as is in place of a value."""


class Pairs(list):  # type: ignore[type-arg]
    """An object written from (name, value) pairs: names may repeat."""


DEEP = 1_200
DIGITS = 5_000
LITERALS = (  # the attacks of issue 12 first: small draws (hypothesis's favourites) pick them
    '"\\udc00"',
    "[" * DEEP + "]" * DEEP,
    '"1e9999"',
    "1" * DIGITS,
    "1e1000000",
    "NaN",
    "Infinity",
    "-Infinity",
    "1e999",
    "-1e999",
    "1e-1000000",
    "-" + "9" * DIGITS,
    "1." + "0" * DIGITS + "1",
    "1e40",
    "-0",
    "1E+308",
    "4.9e-324",
    "0.0000000001",
    str(2**70),
    "18446744073709551616",
    "-9223372036854775809",
    "true",
    "null",
    "[]",
    "{}",
    '"\\ud800"',
    '"a\\udfffb"',
    '"\\u0000"',
    '"-1e9999"',
    '"NaN"',
    '"Infinity"',
    '"' + "9" * DIGITS + '"',
    '"9999-12-31T23:59:59Z"',
    '"0000-00-00"',
    '"1e-9999"',
    '"12,50"',
    '""',
    '" "',
    '"\\u202e\\ud83d\\ude00"',
    '"' + "x" * 40_000 + '"',
    '{"a":' * DEEP + "1" + "}" * DEEP,
    "[" * DEEP + '"\\udc00"' + "]" * DEEP,
    "[" + ",".join(["{}"] * 3_000) + "]",
)
BYTE_NOISE = (b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x00", b"\xf4\x90\x80\x80", b"\xe2\x82")


def leaf(c: Chooser) -> Any:
    """A hostile value: a raw literal (mostly) or a generated text."""
    if c.index(5) == 0:
        return c.text()
    return Raw(LITERALS[c.index(len(LITERALS))])


def paths(
    value: Any, prefix: tuple[Any, ...] = (), out: list[tuple[Any, ...]] | None = None
) -> list[tuple[Any, ...]]:
    """Where values are, in order (the root first), at most 400."""
    out = [] if out is None else out
    if len(out) >= 400:
        return out
    out.append(prefix)
    if isinstance(value, dict):
        for k, v in value.items():
            paths(v, (*prefix, k), out)
    elif isinstance(value, list) and not isinstance(value, Pairs):
        for n, v in enumerate(value):
            paths(v, (*prefix, n), out)
    return out


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


def mutate(c: Chooser, value: Any, rounds: int) -> Any:
    """``value`` with ``rounds`` of: replace a value, remove a key or item, add an unknown
    key, repeat a key, wrap a value in a list, change a value's type."""
    value = copy.deepcopy(value)
    for _ in range(rounds):
        found = paths(value)
        path = found[c.index(len(found))]
        op = c.index(7)
        if not path:
            value = leaf(c) if op < 3 else [value] if op == 3 else value
            continue
        parent, last = _get(value, path[:-1]), path[-1]
        if isinstance(parent, Pairs):
            continue
        old = parent[last]
        if op <= 2:
            parent[last] = leaf(c)
        elif op == 3:
            del parent[last]
        elif op == 4 and isinstance(old, dict):
            old[c.text() or "unknown"] = leaf(c)
        elif op == 4:
            parent[last] = [old]
        elif op == 5 and isinstance(old, dict) and old:
            parent[last] = Pairs([*old.items(), (next(iter(old)), leaf(c))])
        else:
            parent[last] = _retype(old, c)
    return value


def _retype(old: Any, c: Chooser) -> Any:
    """The same value as another JSON type (a number as text, text as a number...)."""
    if isinstance(old, str):
        return [old] if c.index(2) else {"value": old}
    if isinstance(old, bool) or old is None:
        return str(old).lower()
    if isinstance(old, (int, float)):
        return str(old) if c.index(2) else Raw(f"{old}e{c.index(4000)}")
    if isinstance(old, list):
        return {str(n): v for n, v in enumerate(old)}
    if isinstance(old, dict):
        return list(old.values())
    return None


def dumps(value: Any) -> str:
    """JSON text of ``value``, :class:`Raw` and :class:`Pairs` included."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, Pairs):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dumps(v)}" for k, v in value) + "}"
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    return json.dumps(value)


def encode(c: Chooser, value: Any) -> bytes:
    """The body: JSON text as UTF-8 (lone surrogates from generated text kept as the bytes
    a careless client would send), sometimes with invalid UTF-8 spliced in or cut short."""
    body = dumps(value).encode("utf-8", "surrogatepass")
    damage = c.index(10)
    if damage == 8 and body:
        at = c.index(len(body))
        body = body[:at] + BYTE_NOISE[c.index(len(BYTE_NOISE))] + body[at:]
    elif damage == 9 and body:
        body = body[: c.index(len(body))]
    return body
