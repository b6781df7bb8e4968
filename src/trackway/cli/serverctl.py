"""A ``trackway serve`` process seen from another command: start it, wait until it
answers, stop it.

``trackway demo`` starts a server for its traffic and may stop it again;
``trackway stop`` stops the one running on a data directory. Both use these
functions, so a server is started and stopped one way.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import click

from trackway.server.supervisor import ServerState, running

START_TIMEOUT = 60.0  # seconds for a started server to write its state file
STOP_TIMEOUT = 60.0  # seconds for a stopped server to finish its batch and exit
POLL = 0.1


def port_free(port: int) -> bool:
    """Whether ``port`` can be bound on 127.0.0.1 now."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def start_server(data: Path, port: int, *, timeout: float = START_TIMEOUT) -> ServerState:
    """`trackway serve` in its own session (it outlives this command), logging to DIR/server.log;
    returns once its state file names it."""
    with (data / "server.log").open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "trackway", "serve", "--data", str(data), "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = running(data)
        if state is not None and state.pid == proc.pid:
            return state
        if proc.poll() is not None:
            tail = (data / "server.log").read_text(errors="replace")[-2000:]
            raise click.ClickException(f"the server stopped at start (exit {proc.returncode}):\n{tail}")
        time.sleep(POLL)
    proc.terminate()
    raise click.ClickException(f"the server did not start within {timeout:.0f} s; see {data}/server.log")


def stop_server(state: ServerState, timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM, then wait for the process to finish its batch and exit."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(state.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(state.pid, 0)
        except ProcessLookupError:
            return
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(state.pid, os.WNOHANG)[0] == state.pid:
                return
        time.sleep(POLL)
    raise click.ClickException(f"the server (pid {state.pid}) did not stop within {timeout:.0f} s")


def missing_from_server(data: Path, values: dict[str, object]) -> tuple[int, list[str]] | None:
    """The server running on ``data`` and the variables that ``values``' ``env:VAR`` options
    name and its environment lacks; None when no server runs, or its environment cannot be
    read (not Linux, another user's process). A process's environment is fixed when it
    starts, so such a server cannot read a configuration that names them."""
    wanted = [v[4:] for v in values.values() if isinstance(v, str) and v.startswith("env:")]
    state = running(data)
    if not wanted or state is None:
        return None
    try:
        environ = Path(f"/proc/{state.pid}/environ").read_bytes()
    except OSError:
        return None
    names = {entry.partition(b"=")[0].decode("utf-8", "replace") for entry in environ.split(b"\0") if entry}
    return state.pid, [var for var in wanted if var not in names]


def config_problem(state: ServerState | None, timeout: float = 2.0) -> str | None:
    """What the server ``state`` (the one :func:`running` found; None: none runs) says of
    its configuration file when it cannot use it (its ``config_invalid`` alarm, from
    ``/health``), or None."""
    if state is None:
        return None
    import httpx  # imported when a server runs: the command starts faster without it

    try:
        health = httpx.get(f"{state.url}/health", timeout=timeout).json()
    except (httpx.HTTPError, ValueError):
        return None
    for alarm in health.get("alarms", []) if isinstance(health, dict) else []:
        if isinstance(alarm, dict) and alarm.get("key") == "config_invalid":
            return str(alarm.get("message", ""))
    return None
