"""Entry point of the ``trackway`` command.

Subcommands are loaded on first use: :data:`COMMANDS` names each one's module and
its one-line help, so ``trackway validate`` imports the validator and not the server,
the store or the demo (validate of one payload: 422 -> 84 ms, docs/performance.md), and
``trackway --help`` lists every command without importing any. tests/cli checks that each line of help is the
command's own.
"""

from __future__ import annotations

import importlib
import textwrap

import click

import trackway

# name -> ("module:attribute", its short help: the first sentence of its docstring)
COMMANDS: dict[str, tuple[str, str]] = {
    "convert": (
        "trackway.cli.convert_cmd:convert",
        "Render the payloads of FILES (or stdin) in another dialect.",
    ),
    "dashboard": (
        "trackway.cli.dashboard_cmd:dashboard",
        "Print the dashboard's address and a one-time sign-in link (it works once, within 15 minutes).",
    ),
    "demo": (
        "trackway.cli.demo_cmd:demo",
        "Start a server, send it a month of shop and donation traffic in every dialect through the real "
        "HTTP endpoints (a share of it invalid), then print the reports.",
    ),
    "destination": (
        "trackway.cli.destination_cmds:destination",
        "Where each property's events are forwarded: add, list, status, test, replay, dead letters.",
    ),
    "dialects": (
        "trackway.cli.dialects_cmd:dialects",
        "List each dialect with its events and the canonical names they map to.",
    ),
    "export": (
        "trackway.cli.store_cmds:export",
        "Write a table in the canonical JSON form (jsonl), or flattened (csv, parquet: objects as JSON "
        "text), oldest first.",
    ),
    "forget": (
        "trackway.cli.state_cmds:forget",
        "Erase a person's identifiers and traits, and their hashes, from every table.",
    ),
    "identity": (
        "trackway.cli.state_cmds:identity",
        "People: the ids stitched together, links and conflicts.",
    ),
    "property": ("trackway.cli.server_cmds:property", "Properties (tenants) and their keys."),
    "quarantine": (
        "trackway.cli.quarantine_cmd:quarantine",
        "Log records the loader could not load (decoding or storing raised).",
    ),
    "rebuild": (
        "trackway.cli.state_cmds:rebuild",
        "Recompute identities, carts, orders and procedures from the stored events.",
    ),
    "replay": (
        "trackway.cli.store_cmds:replay",
        "Re-validate failed payloads after a configuration or rules fix.",
    ),
    "report": (
        "trackway.cli.report_cmd:report",
        "Print report NAME: funnel, revenue, orders, products, carts, procedures or quality.",
    ),
    "serve": (
        "trackway.cli.server_cmds:serve",
        "Run the collector: wire-compatible endpoints for every dialect, durable storage.",
    ),
    "sql": (
        "trackway.cli.store_cmds:sql",
        "Run read-only SQL (SELECT, EXPLAIN) on the store: tables events, failed_events.",
    ),
    "stop": (
        "trackway.cli.server_cmds:stop",
        "Stop the server running on DIR (it finishes the batch it is loading; the rest of the log is "
        "loaded at the next start), and any worker a server that died left running.",
    ),
    "subject-export": (
        "trackway.cli.state_cmds:subject_export",
        "Write everything stored about one person as JSON (ids, events, carts, orders, ...).",
    ),
    "tour": ("trackway.cli.tour:tour", "Show validate and convert on the bundled examples."),
    "validate": (
        "trackway.cli.validate:validate",
        "Check payloads in FILES (or stdin) against their vendor's rules.",
    ),
}


class LazyGroup(click.Group):
    """A group whose commands are imported when they are run (or asked for their own help)."""

    def __init__(self, *args: object, lazy: dict[str, tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in self.lazy:
            return super().get_command(ctx, cmd_name)
        module, _, attribute = self.lazy[cmd_name][0].partition(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"expected a click command at {self.lazy[cmd_name][0]}, got {command!r}")
        self.commands[cmd_name] = command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Each command with its short help from the table: nothing is imported."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = []
        for name in names:
            if name in self.lazy:
                text = self.lazy[name][1]
                if len(text) > limit:
                    text = textwrap.shorten(text, max(limit, 3), placeholder="...", break_on_hyphens=False)
            else:
                command = self.get_command(ctx, name)
                if command is None or command.hidden:
                    continue
                text = command.get_short_help_str(limit)
            rows.append((name, text))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(trackway.__version__, prog_name="trackway")
def cli() -> None:
    """Trackway: every vendor's tracking events in, one canonical event out."""


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
