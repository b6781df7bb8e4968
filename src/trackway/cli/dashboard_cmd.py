"""``trackway dashboard``: the dashboard's address with a one-time sign-in link.

The link signs the browser in with the server's admin token (every property), or with
``--property``'s (that property only). A server without an admin token of its own gets
one: the dashboard needs an instance token to show every property."""

from __future__ import annotations

import secrets
from pathlib import Path

import click
from rich.markup import escape

from trackway import config as configuration
from trackway.cli.common import data_options, property_name
from trackway.cli.output import stdout
from trackway.errors import ConfigError
from trackway.server.sessions import LINK_SECONDS, Sessions
from trackway.server.supervisor import running


def signin_link(data: Path, config_file: Path | None, url: str, prop: str | None = None) -> tuple[str, str]:
    """A one-time sign-in link to the server at ``url``, and a note of what was changed
    to make it ('' when nothing was)."""
    path = configuration.config_path(data, config_file)
    cfg = configuration.load(path, sending=False)
    note = ""
    if prop is not None:
        if prop not in cfg.properties:
            raise click.ClickException(
                f"expected a property of {path} ({', '.join(sorted(cfg.properties)) or 'none yet'}), "
                f"got {prop!r}"
            )
    elif not cfg.server["admin_token"]:
        configuration.set_server(path, "admin_token", secrets.token_urlsafe(24))
        note = (
            f"Added the server's admin token (admin_token in [server] of {path}): it signs in to every "
            "property."
        )
    code = Sessions(data).new_link(prop or "*")
    return f"{url}/signin?code={code}", note


@click.command()
@click.option(
    "--property",
    "prop",
    default=None,
    callback=property_name,
    help="Sign in with this property's admin token: its pages only [default: the server's, every property].",
)
@data_options
def dashboard(prop: str | None, data: Path, config_file: Path | None) -> None:
    """Print the dashboard's address and a one-time sign-in link (it works once, within 15 minutes)."""
    state = running(data)
    if state is None:
        raise click.ClickException(f"no server runs on {data}; start one with `trackway serve --data {data}`")
    try:
        link, note = signin_link(data, config_file, state.url, prop)
    except ConfigError as exc:  # a bad trackway.toml: said as every command says it, not a traceback
        raise click.ClickException(str(exc)) from None
    if note:
        stdout.print(escape(note))
    stdout.print(f"Dashboard: {state.url}/")
    stdout.print(f"Sign in (once, within {LINK_SECONDS // 60} minutes): {link}")
