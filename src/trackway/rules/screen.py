"""The screen every payload passes before a dialect reads it.

One iterative walk (no recursion, so any depth is safe) over the payload as parsed:

- arrays and objects nested deeper than :data:`~trackway.rules.values.MAX_DEPTH`
  levels: one ``PAYLOAD_TOO_DEEP`` error at the first container too deep, and the
  payload is not decoded (no events);
- a number beyond what Trackway reads: not finite, an integer of more than
  :data:`~trackway.rules.values.NUMBER_MAX_DIGITS` digits (``int`` to text is quadratic
  and raises beyond 4,300 digits), a magnitude beyond 10^±\\
  :data:`~trackway.rules.values.NUMBER_MAX_EXPONENT` (``int()``, ``quantize`` or
  formatting ``1e1000000`` costs seconds): an error at its path each, and the payload is
  not decoded. No browser can send one (``JSON.stringify`` writes doubles), and no field
  could store one. A long Decimal at a sane magnitude costs linear time only: the value
  rules report it where a field reads it;
- a lone UTF-16 surrogate in a string or a key (``"\\udc00"``, half an emoji, as a
  string cut with ``substring`` gives): a ``TEXT_REPLACED`` warning each, and the
  payload is decoded with U+FFFD in its place, as browsers' ``TextEncoder`` does.

Numbers within those limits may still be out of a field's range (an amount of 1e40, a
quantity of 2^70): the value rules (:mod:`trackway.rules.values`) report those where
the field is read, with the event they belong to.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from trackway.issues import _SURROGATE, Issues, Path, article, has_surrogate, printable, render_path
from trackway.rules.values import (
    MAX_DEPTH,
    NOT_FINITE,
    NUMBER_MAX_DIGITS,
    NUMBER_MAX_EXPONENT,
    number_problem,
    unreadable_number,
)


def screen(payload: Any, issues: Issues) -> tuple[Any, bool]:
    """``(payload to decode, whether to decode it)``; the problems go to ``issues``
    (attached to the whole payload). The payload is returned as given unless a string
    or key had to be repaired: then a repaired copy (the caller's value is never changed).

    This runs on every general-path decode, so the checks are inlined: type tests, one
    ``isascii()`` per string, a comparison per int, ``adjusted()`` per Decimal."""
    t = type(payload)
    if t is not dict and t is not list:
        return _scalar(payload, "$", issues)
    repair = False
    rejected = False
    search = _SURROGATE.search
    stack: list[tuple[Any, Path, int]] = [(payload, "$", 1)]
    pop, push = stack.pop, stack.append
    while stack:
        value, path, depth = pop()
        if depth > MAX_DEPTH:
            issues.error(
                path,
                "PAYLOAD_TOO_DEEP",
                f"expected arrays and objects nested at most {MAX_DEPTH} levels deep, got one more level "
                f"at {_render(path)}; no tracking payload nests this deep: send the payload flat",
            )
            return payload, False
        keyed = type(value) is dict
        for key, x in value.items() if keyed else enumerate(value):
            tx = type(x)
            if tx is str:
                if not x.isascii() and search(x):
                    _replaced((path, key), "string", issues)
                    repair = True
            elif tx is dict or tx is list:
                push((x, (path, key), depth + 1))
            elif (tx is int and not _INT_LOW < x < _INT_HIGH) or (
                (tx is Decimal or tx is float) and _unreadable(x)
            ):
                issues.error((path, key), *unreadable_number(x, number_problem(x) or NOT_FINITE))
                rejected = True
            if keyed and type(key) is str and not key.isascii() and search(key):
                _replaced((path, printable(key)), "key", issues)
                repair = True
    if rejected:
        return payload, False
    return (_repaired(payload) if repair else payload), True


_INT_LOW = -(10**NUMBER_MAX_DIGITS)
_INT_HIGH = 10**NUMBER_MAX_DIGITS


def _unreadable(x: Decimal | float) -> bool:
    """A float or Decimal that is not finite, or a Decimal of magnitude beyond
    10^±NUMBER_MAX_EXPONENT: O(1). Long Decimals (more than NUMBER_MAX_DIGITS digits at a
    sane magnitude) pass: they cost linear time at most, and the value rules report them
    where a field reads them (``values.read_number``)."""
    if isinstance(x, float):
        return x - x != 0  # NaN and infinities
    return not x.is_finite() or not -NUMBER_MAX_EXPONENT <= x.adjusted() <= NUMBER_MAX_EXPONENT


def _scalar(value: Any, path: str, issues: Issues) -> tuple[Any, bool]:
    t = type(value)
    if t is str and has_surrogate(value):
        _replaced(path, "string", issues)
        return printable(value), True
    if t is Decimal or t is int or t is float:
        why = number_problem(value)
        if why is not None:
            issues.error(path, *unreadable_number(value, why))
            return value, False
    return value, True


def _replaced(path: Path, what: str, issues: Issues) -> None:
    issues.warning(
        path,
        "TEXT_REPLACED",
        f"expected {article(what)} of whole Unicode characters, got a lone UTF-16 surrogate (half an emoji, "
        "as cutting a string with substring gives); it is replaced by U+FFFD. Cut strings at whole "
        "characters (Array.from(text).slice(...))",
    )


def _repaired(value: Any) -> Any:
    """A copy of ``value`` with lone surrogates replaced (nesting is within MAX_DEPTH here)."""
    t = type(value)
    if t is str:
        return printable(value)
    if t is dict:
        return {(printable(k) if type(k) is str else k): _repaired(v) for k, v in value.items()}
    if t is list:
        return [_repaired(v) for v in value]
    return value


def _render(path: Path) -> str:
    text = render_path(path)
    return text if len(text) <= 80 else text[:79] + "…"
