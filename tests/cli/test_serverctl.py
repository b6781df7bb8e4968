"""Starting, waiting for and stopping a ``trackway serve`` process (``demo`` and ``stop``)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from trackway.cli import serverctl
from trackway.server.supervisor import ServerState, running


@pytest.mark.parametrize("held", [True, False], ids=["bound", "released"])
def test_port_free_says_whether_the_port_can_be_bound(held: bool) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        if held:
            s.listen()
            assert serverctl.port_free(port) is False
            return
    assert serverctl.port_free(port) is True


# A stand-in server: prints "ready" once its SIGTERM handling is set, then sleeps.
STAND_IN = """
import signal, sys, time
if sys.argv[1] == "ignore":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ready", flush=True)
time.sleep(120)
"""


@contextlib.contextmanager
def stand_in(on_sigterm: str) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen([sys.executable, "-c", STAND_IN, on_sigterm], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()


def state_of(pid: int) -> ServerState:
    return ServerState(pid=pid, url="http://127.0.0.1:1", socket="/nonexistent")


@pytest.mark.parametrize(
    ("on_sigterm", "stops"), [("exit", True), ("ignore", False)], ids=["exits", "ignores-sigterm"]
)
def test_stop_server_waits_for_the_process_or_says_it_did_not_stop(on_sigterm: str, stops: bool) -> None:
    with stand_in(on_sigterm) as proc:
        if stops:
            serverctl.stop_server(state_of(proc.pid), timeout=30)
            with pytest.raises(ChildProcessError):  # stop_server reaped its child: it is gone
                os.waitpid(proc.pid, os.WNOHANG)
        else:
            with pytest.raises(click.ClickException) as caught:
                serverctl.stop_server(state_of(proc.pid), timeout=1.0)
            assert caught.value.message == f"the server (pid {proc.pid}) did not stop within 1 s"
            assert proc.poll() is None


def test_start_server_reports_a_server_that_stops_at_start(tmp_path: Path) -> None:
    (tmp_path / "trackway.toml").write_text("[server\n")  # not TOML: serve exits 1
    with pytest.raises(click.ClickException) as caught:
        serverctl.start_server(tmp_path, 0, timeout=60)
    message = caught.value.message
    assert message.startswith("the server stopped at start (exit 1):\n")
    assert "trackway.toml" in message  # the tail of DIR/server.log says why
    assert running(tmp_path) is None


def test_start_server_returns_once_it_runs_and_stop_server_stops_it(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        # The server is started to outlive the command: its Popen is let go while it runs.
        warnings.filterwarnings("ignore", "subprocess [0-9]+ is still running", ResourceWarning)
        state = serverctl.start_server(tmp_path, 0, timeout=60)
    try:
        assert running(tmp_path) == state
        assert state.url.startswith("http://127.0.0.1:") and not state.url.endswith(":0")
        serverctl.stop_server(state, timeout=60)
        assert running(tmp_path) is None
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(state.pid, signal.SIGKILL)  # its own session: the server and its workers


def test_a_state_file_naming_a_live_process_started_at_another_time_is_no_server(tmp_path: Path) -> None:
    """A server killed with -9 leaves run/server.json; its pid given to another process (a
    container's next PID 1) was taken for the server: `serve` refused to start for good and
    `stop` sent that process SIGTERM."""
    import msgspec

    from trackway.server import supervisor

    run = tmp_path / "run"
    run.mkdir()
    (run / "admin.sock").touch()
    started = supervisor._start_time(os.getpid())
    assert started is not None

    def state(**changes: object) -> ServerState:
        fields = {"pid": os.getpid(), "url": "http://127.0.0.1:1", "socket": str(run / "admin.sock")}
        found = ServerState(**(fields | changes))  # type: ignore[arg-type]
        (run / "server.json").write_bytes(msgspec.json.encode(found))
        return found

    alive = state(started=started[0])  # this process, started then: running
    assert running(tmp_path) == alive
    state(started=started[0] + 1)  # this pid, another process
    assert running(tmp_path) is None
    older = state()  # a file written before the start time was kept: as before
    assert running(tmp_path) == older
