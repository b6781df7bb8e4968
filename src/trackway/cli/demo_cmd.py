"""``trackway demo``: a server, realistic traffic in every dialect, and the reports.

The demo owns its data directory: ``DIR/demo.json`` marks it (written before the first
request, ``finished`` once every event is loaded). A finished demo is shown again
without new traffic; an unfinished one (interrupted) is wiped and started over; a
directory without the mark is never touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import click
import msgspec
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from trackway import config as configuration
from trackway.cli import demo_forward
from trackway.cli.common import AdminClient
from trackway.cli.dashboard_cmd import signin_link
from trackway.cli.drive import Sent, drive
from trackway.cli.output import stderr, stdout
from trackway.cli.report_data import fetch_report
from trackway.cli.serverctl import port_free, start_server, stop_server
from trackway.demo import generate
from trackway.demo.catalog import PROPERTY_SETTINGS
from trackway.reports import NAMES, render
from trackway.server.supervisor import ServerState, running
from trackway.settings import int_range

MARK = "demo.json"
PROPERTIES = {"shop": "shop", "donations": "donations"}  # name -> kind
SHOWN_ROWS = 8


class Mark(msgspec.Struct):
    seed: int
    sessions: int
    events: int = 0
    requests: int = 0
    finished: bool = False


def _read_mark(data: Path) -> Mark | None:
    try:
        return msgspec.json.decode((data / MARK).read_bytes(), type=Mark)
    except (FileNotFoundError, msgspec.DecodeError):
        return None


def _write_mark(data: Path, mark: Mark) -> None:
    configuration.write_atomic(data / MARK, msgspec.json.encode(mark).decode())


def _wait_loaded(state: ServerState, progress: Progress) -> None:
    task = progress.add_task("loading into the store", total=None)
    client = AdminClient(state.socket)
    first = None
    while True:
        lag = int(client.call("GET", "/health").get("log_lag_bytes", 0))
        first = first or lag or 1
        progress.update(task, total=first, completed=first - lag)
        if lag == 0:
            return
        time.sleep(0.2)


def _traffic(data: Path, state: ServerState, mark: Mark) -> Sent:
    cfg = configuration.load(configuration.config_path(data, None))
    keys = {name: cfg.properties[name].keys() for name in PROPERTIES}
    dataset = generate(mark.seed, mark.sessions, end=datetime.now(UTC), properties=PROPERTIES)
    requests = dataset.requests(keys, client_time=True)
    mark.events, mark.requests = dataset.events, len(requests)
    _write_mark(data, mark)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=stderr.console) as progress:
        task = progress.add_task(f"sending {dataset.events:,} events", total=len(requests))
        sent = asyncio.run(drive(state.url, requests, progress=lambda n: progress.update(task, completed=n)))
        _wait_loaded(state, progress)
    return sent


def _command() -> str:
    """How to call this program again: ``trackway`` when that is on PATH, else its path
    (``make run`` starts ``.venv/bin/trackway``, which a newcomer's shell does not find)."""
    me = Path(sys.argv[0])
    found = shutil.which("trackway")
    if me.name != "trackway" or (found is not None and Path(found).resolve() == me.resolve()):
        return "trackway"
    with contextlib.suppress(ValueError):
        return str(me.resolve().relative_to(Path.cwd().resolve()))
    return str(me)


def _show_reports(data: Path) -> None:
    for name in NAMES:
        sections = fetch_report(name, {}, data, None)
        for table in render.tables(name, sections, limit=SHOWN_ROWS):
            stdout.print(table)
    stdout.print(
        f"Whole reports: [bold]{_command()} report NAME --data {data}[/] (NAME: {', '.join(NAMES)}; "
        "--by day|week|month, --format json|csv; definitions in docs/reports.md)."
    )


def _summary(sent: Sent, mark: Mark) -> str:
    codes = ", ".join(f"{n:,} x {code}" for code, n in sorted(sent.statuses.items()))
    lost = f"; {len(sent.failures)} not delivered: {sent.failures[0]}" if sent.failures else ""
    return (
        f"Sent {mark.events:,} events in {mark.requests:,} requests ({codes}; {sent.retries} retried){lost}."
    )


@click.command()
@click.option(
    "--sessions", type=click.IntRange(1, 2_000_000), default=1500, show_default=True, help="Visits."
)
@click.option("--seed", type=int, default=1, show_default=True, help="The same seed gives the same traffic.")
@click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-data"),
    show_default=True,
    help="The demo's data directory (its own: not your real data).",
)
@click.option(
    "--port",
    type=click.IntRange(*int_range("port")),
    default=8080,
    show_default=True,
    help="Port (a free one if it is taken).",
)
@click.option("--no-serve", is_flag=True, help="Stop the server after the reports (for scripts).")
def demo(sessions: int, seed: int, data: Path, port: int, no_serve: bool) -> None:
    """Start a server, send it a month of shop and donation traffic in every dialect
    through the real HTTP endpoints (a share of it invalid), then print the reports.

    The server keeps running afterwards (stop it with `trackway stop --data DIR`)
    unless --no-serve.
    """
    mark = _read_mark(data)
    state = running(data)
    if state is not None and (mark is None or not mark.finished):
        raise click.ClickException(
            f"a server runs on {data} with data that is not a finished demo; use another --data"
        )
    if state is None and mark is not None and not mark.finished:
        stderr.print(f"{data} holds an interrupted demo: starting it over.")
        shutil.rmtree(data)
        mark = None
    if mark is None and data.exists() and any(data.iterdir()):
        raise click.ClickException(f"{data} is not empty and is not a demo; choose another --data")
    started = state is None
    if mark is None:
        data.mkdir(parents=True, exist_ok=True)
        path = configuration.config_path(data, None)
        for name, kind in PROPERTIES.items():  # the donations site's funnel is its procedure's
            configuration.add_property(path, name, "EUR", settings=PROPERTY_SETTINGS[kind])
        mark = Mark(seed=seed, sessions=sessions)
        _write_mark(data, mark)
    elif started:
        stderr.print(f"Showing the demo already in {data} (seed {mark.seed}); remove {data} for a new one.")
    _demo_page(configuration.config_path(data, None))
    ours = running(data / demo_forward.FOLDER) is None  # the receiver is ours to stop
    receiver = demo_forward.receiver(data, port + 1 if port else 0)
    demo_forward.declare(data, receiver.url)
    if state is None:
        state = start_server(data, port if port_free(port) else 0)
    try:
        if not mark.finished:
            sent = _traffic(data, state, mark)
            mark.finished = True
            _write_mark(data, mark)
            stdout.print(_summary(sent, mark))
        _show_reports(data)
        demo_forward.show(data, receiver)
    except BaseException:
        if started:
            stop_server(state)
        if ours:
            stop_server(receiver)
        raise
    if no_serve:
        if ours:
            stop_server(receiver)
        if started:
            stop_server(state)
            stdout.print(f"Stopped the server; the data stays in {data}.")
            return
    _where(data, state)


def _demo_page(path: Path) -> None:
    """Serve /demo/shop from this demo's server: a demo made before the page existed gets
    the setting too (a running server reads the changed file within a second)."""
    cfg = configuration.load(path)
    if not cfg.server["demo_shop"] and "shop" in cfg.properties:
        configuration.set_server(path, "demo_shop", "shop")


def _where(data: Path, state: ServerState) -> None:
    cfg = configuration.load(configuration.config_path(data, None))
    token = cfg.properties["shop"]["admin_token"]
    stdout.print(
        f"[bold green]Trackway is running[/] at {state.url} (pid {state.pid}), data in {data}, "
        f"log in {data}/server.log."
    )
    link, note = signin_link(data, None, state.url)
    if note:
        stdout.print(f"  {escape(note)}")
    stdout.print(
        f"  [bold]The dashboard[/]: open {link} (a one-time sign-in link; "
        f"`{_command()} dashboard --data {data}` prints a new one)"
    )
    if cfg.server["demo_shop"]:
        stdout.print(f"  The browser tracker at work: open {state.url}/demo/shop")
    stdout.print(f"  curl -sS {state.url}/api/reports/revenue -H 'Authorization: Bearer {token}'")
    second = data / demo_forward.FOLDER
    stdout.print(f"  Stop it with: {_command()} stop --data {data} && {_command()} stop --data {second}")
