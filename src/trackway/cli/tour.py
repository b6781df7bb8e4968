"""``trackway tour``: validate and convert the bundled examples (``make run``).

Each step runs the command line it shows, in this process: the group's own parsing
and the command's own code (:func:`run`), with what the command writes to stdout
and stderr captured and then shown under the step's title.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import click

from trackway.cli.main import cli
from trackway.cli.output import stdout

STEPS = [
    ("Validate payloads of four vendors, dialect detected per payload", ["validate"], ["shop.js"]),
    ("The same as JSON, for programs", ["validate", "--format", "json"], ["mp-purchase.json"]),
    ("Bad input: every issue, with its path, code and fix", ["validate"], ["broken.json"]),
    (
        "Convert a GTM GA4 purchase to a Commanders Act server-side body",
        ["convert", "--from", "auto", "--to", "commanders-act"],
        ["gtm-ga4-purchase.json"],
    ),
    (
        "Convert it to GTM Universal Analytics with 2Checkout's rules",
        ["convert", "--to", "gtm-ua", "--preset", "2checkout"],
        ["gtm-ga4-purchase.json"],
    ),
]


def examples_dir() -> Path:
    return Path(str(resources.files("trackway") / "examples"))


@dataclass(frozen=True)
class Ran:
    """What one command line wrote and its exit status, as a shell would see them."""

    stdout: str
    stderr: str
    status: int


def _status(code: object) -> tuple[int, str]:
    """``SystemExit.code`` as an exit status, and the message a string code prints."""
    if code is None:
        return 0, ""
    if isinstance(code, int):
        return code, ""
    return 1, f"{code}\n"


def run(args: list[str]) -> Ran:
    """``trackway ARGS`` in this process, its output captured (not a terminal: no colour
    unless FORCE_COLOR).

    Click's own handling of usage errors is kept (message on stderr, status 2); an
    interrupt or an unexpected exception stops the tour, as it would stop the command.
    """
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            returned = cli.main(args, prog_name="trackway", standalone_mode=False)
            status = returned if isinstance(returned, int) else 0  # an int: click's Exit (--help)
        except SystemExit as exc:  # the commands end with sys.exit(status)
            status, message = _status(exc.code)
            err.write(message)
        except click.ClickException as exc:
            exc.show()
            status = exc.exit_code
    return Ran(out.getvalue(), err.getvalue(), status)


def shown_path(path: str) -> str:
    """``path`` as the step shows it, so that the line runs as printed from where the tour
    was started: relative to the working directory when it is under it, else absolute."""
    full = Path(path).resolve()
    try:
        return str(full.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(full)


@click.command()
def tour() -> None:
    """Show validate and convert on the bundled examples."""
    folder = examples_dir()
    for title, args, files in STEPS:
        paths = [str(folder / f) for f in files]
        shown = " ".join(args + [shown_path(p) for p in paths])
        stdout.rule(f"[bold]{title}")
        stdout.print(f"[cyan]$ trackway {shown}[/cyan]")
        ran = run([*args, *paths])
        stdout.out(ran.stdout, end="", highlight=False)
        if ran.stderr:
            stdout.out(ran.stderr, end="", highlight=False)
        stdout.print(f"[dim](exit status {ran.status})[/dim]")
    stdout.rule()
    stdout.print(f"The examples are in {folder}. Try: trackway validate --help, trackway dialects")
