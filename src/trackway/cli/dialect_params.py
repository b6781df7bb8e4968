"""Checks for the options that name a dialect: ``validate --dialect``, ``convert --from``
and ``convert --to``. Light on purpose: both commands start fast (bench/cli.py)."""

from __future__ import annotations

import click

import trackway


def check_dialect(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """A dialect's name, or ``auto`` to detect the dialect per payload."""
    if value != "auto" and value not in trackway.dialect_names():
        raise click.BadParameter(
            f"expected one of {', '.join(trackway.dialect_names())} or auto, got {value!r}", ctx, param
        )
    return value


def check_target(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """A dialect's name (a rendering needs one: ``auto`` is not a target)."""
    if value not in trackway.dialect_names():
        raise click.BadParameter(
            f"expected one of {', '.join(trackway.dialect_names())}, got {value!r}", ctx, param
        )
    return value
