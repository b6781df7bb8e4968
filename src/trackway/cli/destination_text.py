"""What `trackway destination` checks of a selection and how it writes counts: a dialect
that does not exist is refused, an event name no dialect documents gets a warning with the
closest documented one (a typo selected nothing, silently)."""

from __future__ import annotations

import difflib

import click

import trackway
from trackway.cli.output import stderr


def check_selection(events: list[str], dialects: list[str]) -> None:
    """A dialect that does not exist is refused; an event name no dialect documents is
    taken (custom events are forwarded by their names) with a warning naming the closest
    documented one: a typo selected nothing, silently."""
    known = sorted(trackway.dialect_names())
    unknown = [d for d in dialects if d not in known]
    if unknown:
        raise click.BadParameter(
            f"expected dialect names ({', '.join(known)}), got {', '.join(map(repr, unknown))}"
            + closest(unknown[0], known),
            param_hint="--dialects",
        )
    names = sorted({e.canonical for a in trackway.dialects.adapters() for e in a.events})
    for name in events:
        if name not in names:
            stderr.print(
                f"note: no dialect documents an event named {name!r}; only events of exactly that "
                f"canonical name are forwarded{closest(name, names)}",
                markup=False,
            )


def closest(name: str, known: list[str]) -> str:
    found = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {found[0]!r}?)" if found else ""


def counted(counts: dict[str, int]) -> str:
    """``{"name": 1, "consent": 2}`` as ``consent: 2, name: 1`` ("none" when empty)."""
    return ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "none"
