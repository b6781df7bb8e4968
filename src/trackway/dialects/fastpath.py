"""A typed fast path for plain payloads, generated from the same field tables.

Most traffic is plain: known keys only, each of its documented JSON type. For
such payloads msgspec decodes straight into generated wire Structs (in C), which
measured 2x faster than decoding to dicts and converting field by field in
Python. Anything else (an unknown key, a null, a number sent as a string, a value
a rule would flag) makes the fast path give up with :class:`Fallback`, and the
general path, the reference, decodes the payload and reports every issue.
``tests/dialects/test_fastpath.py`` checks on generated payloads that both paths
give the same events and issues.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from trackway.dialects.fields import _ACCEPT, _FAST, Table
from trackway.issues import Issues
from trackway.rules import values as v


class Fallback(Exception):  # noqa: N818  (a signal, not an error)
    """The payload is not plain: decode it on the general path."""


_FALLBACK = Fallback()


def _wire_type(rule: Any) -> Any:
    if rule is v.ident:
        return str | int | UnsetType
    fast = _FAST.get(rule, ())
    if rule in _ACCEPT:
        return str | UnsetType
    if len(fast) == 1 and fast[0] in (str, int, bool):
        return fast[0] | UnsetType
    return Any


def _raise(*_: Any) -> Any:
    raise _FALLBACK


def compile_table(table: Table, name: str, nested: dict[str, Any] | None = None) -> tuple[type, Any]:
    """A wire Struct for ``table`` and ``convert(wire) -> values`` matching ``table.read``.

    ``nested`` gives wire types for fields holding nested Structs (``items``); their
    values are passed through for the caller to convert.
    """
    nested = nested or {}
    fields: list[tuple[str, Any, Any]] = []
    rename: dict[str, str] = {}
    env: dict[str, Any] = {"UNSET": UNSET, "FALLBACK": _FALLBACK, "Decimal": Decimal, "int": int, "str": str}
    src = ["def convert(w):", "    values = {}"]
    cats: list[str] = []
    for n, f in enumerate(table.fields):
        attr = f"f{n}"
        rename[attr] = f.wire
        wire_type = nested.get(f.wire, _wire_type(f.rule))
        fields.append((attr, wire_type, UNSET))
        target = f.target
        if target.startswith("categories."):
            slot = f"cat{int(target.split('.')[1])}"
            cats.append(slot)
            store = f"{slot} = x"
            src.append(f"    {slot} = None")
        else:
            store = f"values[{target!r}] = x"
        src += [f"    x = w.{attr}", "    if x is not UNSET:"]
        if f.wire in nested:
            pass
        elif f.rule is v.ident:
            src += ["        if type(x) is int:", "            x = str(x)"]
        elif f.rule is v.amount:
            src += [
                "        if type(x) is int:",
                "            x = Decimal(x)",
                "        elif type(x) is not Decimal:",
                "            raise FALLBACK",
            ]
        elif f.rule in _ACCEPT:
            env[f"accept{n}"] = _ACCEPT[f.rule]
            src += [f"        if x not in accept{n}:", "            raise FALLBACK"]
        elif wire_type is Any:
            env[f"rule{n}"] = f.rule
            env["Issues"] = Issues
            src += [
                "        issues = Issues()",
                f"        x = rule{n}(x, '$', issues)",
                "        if issues.items:",
                "            raise FALLBACK",
            ]
        src.append(f"        {store}")
    if cats:
        src += [
            f"    cats = [{', '.join(cats)}]",
            "    while cats and cats[-1] is None:",
            "        cats.pop()",
            "    if cats:",
            "        if None in cats:",
            "            raise FALLBACK",
            "        values['categories'] = cats",
        ]
    src.append("    return values")
    exec("\n".join(src), env)  # noqa: S102  (generated from the field table)
    struct = msgspec.defstruct(
        name, fields, kw_only=True, forbid_unknown_fields=True, rename=rename, omit_defaults=True, gc=False
    )
    return struct, env["convert"]
