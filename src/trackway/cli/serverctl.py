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
