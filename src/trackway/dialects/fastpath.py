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

import inspect
from decimal import Decimal
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, UnsetType

from trackway.dialects.fields import _ACCEPT, _FAST, Table
from trackway.issues import Issues
from trackway.rules import values as v


class Fallback(Exception):
    """The payload is not plain: decode it on the general path.

    Internal control flow, deliberately not a :class:`~trackway.errors.TrackwayError`:
    it never leaves the fast path that catches it (``decode_plain`` answers None), so
    no caller meets it. Were one to escape, that is a bug, and it must surface as one
    (the admin API logs it with an error id, the CLI shows the traceback) rather than be
    answered as the user's mistake by an ``except TrackwayError``. Deriving from
    TrackwayError would cost nothing measurable (a raise and catch, 200 ns either way).

    Raised as the class, a fresh instance each time: re-raising one shared instance
    chains every raise's traceback onto it, keeping the frames (and the payloads in
    them) alive for good.
    """


def _wire_type(rule: Any) -> Any:
    """The wire type of a field: a concrete type (absent -> None, null -> a decode
    error, so the general path decides), or Any (absent -> UNSET) for rules that take
    several shapes (amounts also come as numeric strings, which warn)."""
    if rule is v.ident:  # an integer id beyond 64 bits goes to the general path (and its screen)
        return str | _BIGINT
    fast = _FAST.get(rule, ())
    if rule in _ACCEPT:
        return str
    if rule is v.integer:  # BIGINT: msgspec's int takes up to 2^64 - 1
        return _BIGINT
    if rule is v.quantity:  # 0 or less: the general path warns (QUANTITY_NOT_POSITIVE)
        return _QUANTITY
    if len(fast) == 1 and fast[0] in (str, int, bool):
        return fast[0]
    return Any


_BIGINT = Annotated[int, msgspec.Meta(ge=v.INTEGER_MIN, le=v.INTEGER_MAX)]
_QUANTITY = Annotated[int, msgspec.Meta(ge=1, le=v.INTEGER_MAX)]


def _convert_lines(n: int, f: Any, wire_type: Any, env: dict[str, Any], nested: bool) -> list[str]:
    """Lines turning ``x`` (a wire value, not UNSET) into its canonical value, or giving up."""
    if nested:
        return []
    if f.rule is v.ident:
        return ["    if type(x) is int:", "        x = str(x)"]
    if f.rule is v.amount:  # within DECIMAL(38, 9), as v.amount's own inline check
        env["AMOUNT_INT"] = 10**v.AMOUNT_INTEGER_DIGITS
        env["NANO"] = Decimal(1).scaleb(-v.AMOUNT_SCALE)  # under 10^19, quantize fits 28 digits
        return [
            "        if type(x) is int:",
            "            if not -AMOUNT_INT < x < AMOUNT_INT:",
            "                raise FALLBACK",
            "            x = Decimal(x)",
            "        elif type(x) is not Decimal or not (",
            "            x.is_finite()",
            # the screen's floor too: 0E-500 equals 0 and fits 9 decimals, but the screen rejects it
            f"            and {-v.NUMBER_MAX_EXPONENT} <= x.adjusted() < {v.AMOUNT_INTEGER_DIGITS}",
            "            and x.quantize(NANO) == x",  # at most AMOUNT_SCALE decimals (as_tuple: 3x slower)
            "        ):",
            "            raise FALLBACK",
        ]
    if f.rule in _ACCEPT:
        env[f"accept{n}"] = _ACCEPT[f.rule]
        return [f"    if x is not None and x not in accept{n}:", "        raise FALLBACK"]
    if wire_type is Any:
        env[f"rule{n}"] = f.rule
        env["Issues"] = Issues
        return [
            "        issues = Issues()",
            f"        x = rule{n}(x, '$', issues)",
            "        if issues.items:",
            "            raise FALLBACK",
        ]
    return []


def _arguments(build: type, targets: list[str]) -> str:
    """Arguments for ``build``: positional in field order when the Struct allows it
    (measured twice as fast as 18 keywords), else keywords. Fields the table does not
    fill get a fresh default (``[]`` and ``{}`` literals, never a shared object)."""
    fields = getattr(build, "__struct_fields__", None)
    params = inspect.signature(build).parameters.values()
    if fields is None or any(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params):
        return ", ".join(targets)
    given = dict(t.split("=", 1) for t in targets)
    args = []
    struct: Any = build  # a msgspec Struct class (it has __struct_fields__)
    for name, default in zip(fields, struct.__struct_defaults__, strict=True):
        if name in given:
            args.append(given.pop(name))
        elif callable(getattr(default, "factory", None)):  # msgspec keeps [] and {} defaults as factories
            made = default.factory()
            if made not in ([], {}):
                raise ValueError(f"{build.__name__}.{name}: no literal for the default {made!r}")
            args.append(repr(made))
        else:
            args.append(repr(default))
    if given:
        raise ValueError(f"{build.__name__} has no fields {sorted(given)}")
    return ", ".join(args)


def wire_attrs(table: Table) -> dict[str, str]:
    """Each wire key of ``table`` -> its attribute in the Struct :func:`compile_table` makes
    (``f0``, ``f1``, ... in the table's order; the wire key is the field's encoded name)."""
    return {f.wire: f"f{n}" for n, f in enumerate(table.fields)}


def compile_table(
    table: Table,
    name: str,
    nested: dict[str, Any] | None = None,
    *,
    build: type | None = None,
    one_of: tuple[str, ...] = (),
    forbid_unknown: bool = True,
) -> tuple[type, Any]:
    """A wire Struct for ``table`` and ``convert(wire)`` matching ``table.read``.

    ``convert`` returns the canonical values as a dict, or with ``build`` the object
    ``build(**values)`` made directly from locals (measured 30% faster per item);
    it gives up unless one of the wire keys in ``one_of`` is present. ``nested``
    gives wire types for fields holding nested Structs (``items``); their values are
    passed through for the caller to convert. ``forbid_unknown``: a key the table does not
    know makes the decode fail (the general path decides); False: it is dropped, for
    objects whose other keys no rule checks.
    """
    nested = nested or {}
    fields: list[tuple[str, Any, Any]] = []
    rename: dict[str, str] = {}
    env: dict[str, Any] = {"UNSET": UNSET, "FALLBACK": Fallback, "Decimal": Decimal, "int": int, "str": str}
    src = ["def convert(w):"]
    cats: list[str] = []
    targets: list[str] = []
    for n, (f, attr) in enumerate(zip(table.fields, wire_attrs(table).values(), strict=True)):
        rename[attr] = f.wire
        wire_type = nested.get(f.wire, _wire_type(f.rule))
        concrete = f.wire not in nested and wire_type is not Any
        local = f"t{n}"
        if f.target.startswith("categories."):
            cats.append(local)
        else:
            targets.append(f"{f.target}={local}")
        if concrete:  # msgspec did the type check; absent is None, null failed the decode
            fields.append((attr, wire_type, None))  # typed `str`, not `str | None`: null must not decode
            src += [f"    x = w.{attr}", *_convert_lines(n, f, wire_type, env, False), f"    {local} = x"]
            continue
        fields.append((attr, wire_type if wire_type is Any else wire_type | UnsetType, UNSET))
        src += [f"    x = w.{attr}", "    if x is UNSET:", f"        {local} = None", "    else:"]
        src += _convert_lines(n, f, wire_type, env, f.wire in nested)
        src.append(f"        {local} = x")
    if one_of:
        present = [f"t{n} is None" for n, f in enumerate(table.fields) if f.wire in one_of]
        src += [f"    if {' and '.join(present)}:", "        raise FALLBACK"]
    if cats:
        src += [
            # the categories up to the last one given, unrolled (no list pops per item)
            *(
                f"    {'if' if k == len(cats) else 'elif'} {cats[k - 1]} is not None:\n"
                f"        cats = [{', '.join(cats[:k])}]"
                for k in range(len(cats), 0, -1)
            ),
            "    else:",
            "        cats = []",
            "    if None in cats:",
            "        raise FALLBACK",
        ]
        targets.append("categories=cats")
    if build is not None:
        env["build"] = build
        src.append(f"    return build({_arguments(build, targets)})")
    else:
        src.append("    values = {}")
        for t in targets:
            key, local = t.split("=")
            if key == "categories":
                src += ["    if cats:", "        values['categories'] = cats"]
            else:
                src += [f"    if {local} is not None:", f"        values[{key!r}] = {local}"]
        src.append("    return values")
    exec("\n".join(src), env)
    struct = msgspec.defstruct(
        name,
        fields,
        kw_only=True,
        forbid_unknown_fields=forbid_unknown,
        rename=rename,
        omit_defaults=True,
        gc=False,
    )
    return struct, env["convert"]
