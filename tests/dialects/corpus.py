"""Payloads for tests that look at every message a decode can give.

Three families, all deterministic (no randomness, so a failure replays):

- the vendor documents' examples (:mod:`tests.support.specs`), as values and as text;
- every example rendered in every dialect, and every documented event of every dialect
  rendered bare and with a one-item cart (names such as ``add_shipping_info`` that no
  example uses);
- mutations of those: each key removed or renamed to a name no vendor allows, each value
  replaced by a hostile one (null, ``''``, a wrong type, a number too large to read);
- the fuzzers' hostile text (:mod:`tests.fuzz.hostile`: NaN, 1e999, 5,000-digit numbers,
  lone surrogates, repeated keys, cut or damaged bytes) over each base payload, drawn by a
  seeded generator.
"""

from __future__ import annotations

import copy
import random
import re
from collections.abc import Iterator
from decimal import Decimal
from functools import cache
from typing import Any

import msgspec

import trackway
from tests.support.specs import all_examples
from trackway import dialects
from trackway.issues import MISSING
from trackway.model import Commerce, Event, Item

#: What a value is replaced by: null, nothing, the wrong type, what no field reads.
HOSTILE = (None, "", [], {"x": 1}, "x", -1, Decimal("1e999"), "1e999")
#: What a key is renamed to: a name no vendor allows (GA4's name rules, reserved prefixes).
BAD_KEYS = ("_bad key",)
MAX_PATHS = 40  # places mutated per payload (the first in document order)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if type(value) is dict:
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif type(value) is list:
        for n, v in enumerate(value):
            yield from _paths(v, (*prefix, n))


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    out = copy.deepcopy(value)
    parent = out
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = new
    return out


def _drop(value: Any, path: tuple[Any, ...]) -> Any:
    out = copy.deepcopy(value)
    parent = out
    for step in path[:-1]:
        parent = parent[step]
    del parent[path[-1]]
    return out


def _rename(value: Any, path: tuple[Any, ...], key: str) -> Any:
    out = copy.deepcopy(value)
    parent = out
    for step in path[:-1]:
        parent = parent[step]
    parent[key] = parent.pop(path[-1])
    return out


def mutations(payload: Any) -> Iterator[Any]:
    """``payload`` and its mutations, one change each."""
    yield payload
    for n, path in enumerate(_paths(payload)):
        if n >= MAX_PATHS:
            break
        for new in HOSTILE:
            yield _replace(payload, path, new)
        if path:
            yield _drop(payload, path)
            if type(path[-1]) is str:
                for key in BAD_KEYS:
                    yield _rename(payload, path, key)


def _documented_events() -> Iterator[tuple[str, Any]]:
    """Every documented event of every dialect, bare and with a one-item cart, in every dialect."""
    names = {e.canonical for a in dialects.adapters() for e in a.events if e.canonical.isidentifier()}
    item = Item(item_id="SKU_1", item_name="Tee", price=Decimal("9.99"), quantity=1)
    for name in sorted(names):
        for commerce in (None, Commerce(currency="EUR", value=Decimal("9.99"), items=[item])):
            event = Event(name=name, dialect="gtm-ga4", commerce=commerce)
            for target in dialects.names():
                payload, _ = trackway.encode_with_issues(target, event)
                yield target, payload


def example_dialect(dialect: str) -> str:
    """The dialect an example of a document section is read in (cartUpdated: gtm-ua)."""
    return "gtm-ua" if dialect == "custom" else dialect


@cache
def bases() -> tuple[tuple[str, Any], ...]:
    """The unmutated payloads with the dialect each is written in: examples, examples
    rendered in every dialect, documented events."""
    out: list[tuple[str, Any]] = []
    seen: set[tuple[str, bytes]] = set()

    def add(dialect: str, payload: Any) -> None:
        key = (dialect, msgspec.json.encode(payload))
        if key not in seen:
            seen.add(key)
            out.append((dialect, payload))

    for example in all_examples():
        add(example_dialect(example.dialect), example.value)
    for example in all_examples():
        decoded = trackway.decode(example_dialect(example.dialect), example.value)
        for event in decoded.accepted():
            for target in dialects.names():
                add(target, trackway.encode_with_issues(target, event)[0])
    for target, payload in _documented_events():
        add(target, payload)
    return tuple(out)


def payloads() -> Iterator[tuple[str, Any]]:
    """Every base payload and its mutations (duplicates skipped), with the dialect each
    was written in."""
    seen: set[tuple[str, bytes]] = set()
    for dialect, base in bases():
        for payload in mutations(base):
            key = (dialect, msgspec.json.encode(payload))
            if key not in seen:
                seen.add(key)
                yield dialect, payload


_STEP = re.compile(r"\.([A-Za-z_$][\w$]*)|\[(\d+)\]|\[('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")\]")


def at_path(payload: Any, path: str) -> Any:
    """The value at a JSON path as issues write it (``$.a.b[0]['odd key']``), MISSING when
    the payload has nothing there, or None... as sent. Strings holding JSON (Convead's
    ``data``) are entered. A path this reader does not follow gives the payload itself."""
    if not path.startswith("$"):
        return payload
    value, pos = payload, 1
    while pos < len(path):
        m = _STEP.match(path, pos)
        if m is None:
            return payload
        pos = m.end()
        if type(value) is str:
            try:
                value = msgspec.json.decode(value)
            except msgspec.DecodeError:
                return MISSING
        if m.group(2) is not None:
            n = int(m.group(2))
            if type(value) is not list or n >= len(value):
                return MISSING
            value = value[n]
        else:
            key = m.group(1) if m.group(1) is not None else _unquote(m.group(3))
            if type(value) is not dict or key not in value:
                return MISSING
            value = value[key]
    return value


def _unquote(text: str) -> str:
    from ast import literal_eval

    out: str = literal_eval(text)
    return out


class Seeded:
    """hostile.Chooser drawing from a seeded generator: the same texts on every run."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)

    def index(self, n: int) -> int:
        return self.random.randrange(n) if n > 1 else 0

    def text(self) -> str:
        return "".join(chr(self.random.choice((0x61, 0x5F, 0x20, 0xE9, 0xD800, 0x1F600))) for _ in range(3))


def hostile_texts(per_base: int = 3) -> Iterator[tuple[str, bytes]]:
    """Each base payload mutated by the fuzzers' hostile mutations, as the bytes sent."""
    from tests.fuzz import hostile

    chooser = Seeded(13)
    for dialect, base in bases():
        raw = _raw_numbers(base)
        for _ in range(per_base):
            value = hostile.mutate(chooser, raw, 1 + chooser.index(3))
            yield dialect, hostile.encode(chooser, value)


def _raw_numbers(value: Any) -> Any:
    """Decimals as raw JSON numbers, which hostile.dumps writes as they are."""
    from tests.fuzz import hostile

    if type(value) is dict:
        return {k: _raw_numbers(v) for k, v in value.items()}
    if type(value) is list:
        return [_raw_numbers(v) for v in value]
    if type(value) is Decimal:
        return hostile.Raw(str(value))
    return value
