"""``trackway serve`` and ``trackway property add|list``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click
from rich.table import Table

from trackway import config as configuration
from trackway.cli.common import data_options, load_config
from trackway.cli.output import stdout
from trackway.cli.serverctl import stop_server
from trackway.errors import ConfigError, StoreError
from trackway.server.supervisor import (
    Supervisor,
    first_event_command,
    leftover_workers,
    running,
    stop_leftovers,
)
from trackway.settings import int_range
from trackway.store import files


@click.command()
@click.option("--host", default=None, help="Address to listen on [default: server.host, 127.0.0.1].")
@click.option(
    "--port",
    type=click.IntRange(*int_range("port")),
    default=None,
    help="Port [default: server.port, 8080; 0 picks a free one].",
)
@click.option(
    "--workers",
    type=click.IntRange(*int_range("workers")),
    default=None,
    help="HTTP worker processes [default: server.workers].",
)
@data_options
def serve(
    host: str | None, port: int | None, workers: int | None, data: Path, config_file: Path | None
) -> None:
    """Run the collector: wire-compatible endpoints for every dialect, durable storage.

    On first start it writes DIR/trackway.toml with a property named `default` and
    fresh keys for every wire API, and prints a curl command that sends a first event.
    Keys are printed then only: `trackway property list --show-keys` shows them later.
    """
    # The data dir holds personal data and keys: everything created in it (the store,
    # log segments, run/, exports) is the user's own, 0600 files in 0700 directories.
    os.umask(0o077)
    files.private_tree(data)
    path = configuration.config_path(data, config_file)
    try:
        cfg, created = configuration.ensure(path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:  # a read-only or another user's data dir: it was a traceback
        raise click.ClickException(
            f"cannot write {exc.filename or path}: {exc.strerror}; expected a data dir this user may "
            "write (it holds trackway.toml, the store and the log): fix its mount or permissions, or "
            "use another --data"
        ) from None
    if running(data) is not None:
        raise click.ClickException(f"a server already runs on {data}; stop it first or use another --data")
    server = cfg.server
    try:  # it opens the store
        supervisor = Supervisor(
            cfg,
            data,
            host=host or server["host"],
            port=server["port"] if port is None else port,
            workers=workers or server["workers"],
        )
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None

    def announce(url: str) -> None:
        stdout.print(
            f"[bold green]Trackway[/] listening on {url} ({supervisor.workers} workers), data in {data}"
        )
        # Secrets are printed once, when they are made; output of later starts often ends
        # up in logs (journald, CI), so they only say where the keys are.
        if created is not None:
            stdout.print(f"Wrote {path} with the property [bold]{created.name}[/] and fresh keys.")
            stdout.print("Send a first event:")
            stdout.out(first_event_command(url, created), highlight=False)
            stdout.print("See it (it is loaded into the store within a second):")
            stdout.out(
                f"curl -sS {url}/api/events -H 'Authorization: Bearer {created['admin_token']}'",
                highlight=False,
            )
            stdout.print("These keys are not printed again: `trackway property list --show-keys` shows them.")
        else:
            stdout.print(f"Keys: `trackway property list --show-keys --data {data}`.")
        # No link here: this output ends up in logs, and a link signs in (docs/dashboard.md).
        stdout.print(f"Dashboard: {url}/ (a one-time sign-in link: `trackway dashboard --data {data}`).")
        stdout.print("Stop with Ctrl-C.", style="dim")

    try:
        supervisor.run(announce)
    except OSError as exc:
        # on a first start the file was written already: its keys are never printed again
        written = (
            f"; {path} was written with the property {created.name} and fresh keys, which "
            f"`trackway property list --show-keys --data {data}` shows"
            if created is not None
            else ""
        )
        raise click.ClickException(
            f"cannot listen on {supervisor.host}:{supervisor.port}: {exc.strerror}{written}"
        ) from None


@click.command()
@data_options
def stop(data: Path, config_file: Path | None) -> None:
    """Stop the server running on DIR (it finishes the batch it is loading; the rest of
    the log is loaded at the next start), and any worker a server that died left running."""
    state = running(data)
    if state is None and not leftover_workers(data):
        raise click.ClickException(f"no server runs on {data}")
    if state is not None:
        stop_server(state)
        stdout.print(f"stopped the server (pid {state.pid}) on {data}")
    left = stop_leftovers(data)
    if left:
        pids = ", ".join(map(str, left))
        stdout.print(
            f"stopped {len(left)} worker(s) left running by a server that died (pids {pids}) on {data}"
        )


@click.group()
def property() -> None:
    """Properties (tenants) and their keys."""


@property.command("add")
@click.argument("name")
@click.option("--default-currency", default="", help="ISO 4217 code filled in for events without a currency.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@data_options
def property_add(name: str, default_currency: str, fmt: str, data: Path, config_file: Path | None) -> None:
    """Create property NAME with fresh keys for every wire API and print them.

    A running server picks it up at its next request with one of the new keys.
    """
    path = configuration.config_path(data, config_file)
    try:
        prop = configuration.add_property(path, name, default_currency)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if fmt == "json":
        click.echo(json.dumps(prop.keys()))
        return
    _show([prop.keys()], f"Added to {path}")


@property.command("list")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json is for scripts: it always holds the keys.",
)
@click.option("--show-keys", is_flag=True, help="Show the keys and tokens (hidden in text by default).")
@data_options
def property_list(fmt: str, show_keys: bool, data: Path, config_file: Path | None) -> None:
    """Show every property and its keys (hidden unless --show-keys)."""
    cfg = load_config(data, config_file)
    assert cfg is not None
    keys = [p.keys() for p in cfg.properties.values()]
    if fmt == "json":
        click.echo(json.dumps(keys))
        return
    if not show_keys:
        keys = [{n: (v if n == "property" else hidden(v)) for n, v in k.items()} for k in keys]
    _show(keys, str(cfg.path) + ("" if show_keys else " (keys hidden: --show-keys shows them)"))


def hidden(secret: str) -> str:
    """A key as `property list` shows it without --show-keys: enough to tell keys apart."""
    return f"{secret[:4]}…({len(secret)} characters)" if len(secret) > 8 else "…"


def _show(keys: list[dict[str, str]], title: str) -> None:
    table = Table(title=title, show_lines=True)
    table.add_column("property", style="bold")
    table.add_column("key")
    table.add_column("value")
    for k in keys:
        rows = [(n, v) for n, v in k.items() if n != "property"]
        for i, (n, v) in enumerate(rows):
            table.add_row(k["property"] if i == 0 else "", n, v)
    stdout.print(table)
