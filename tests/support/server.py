"""A real ``trackway serve`` in a subprocess, for end-to-end tests.

:class:`Server` prepares a data dir (``trackway property add default`` plus a
server-wide admin token), starts ``trackway serve --port 0`` in its own session so
the whole process group (the supervisor and its workers) can be SIGKILLed, reads
the URL it prints, and waits for ``GET /health``. :func:`serving` is the context
manager the test modules wrap in a module-scoped fixture.

``python -m trackway.cli.main`` does nothing (the module has no ``__main__`` block),
so the harness runs the venv's ``trackway`` entry point, or ``main()`` through
``-c`` when there is none.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

ENTRY = Path(sys.executable).with_name("trackway")
URL = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")
ADMIN_TOKEN = "twa_server_e2e_token"


def command(*args: str) -> list[str]:
    if ENTRY.exists():
        return [str(ENTRY), *args]
    return [sys.executable, "-c", "from trackway.cli.main import main; main()", *args]


def environment() -> dict[str, str]:
    """The tests' environment less TRACKWAY_* (which would override the server settings)
    and FORCE_COLOR (the tests read the commands' plain text)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKWAY_") and k != "FORCE_COLOR"}
    env["COLUMNS"] = "200"  # rich wraps at the terminal width
    return env


def cli(*args: str, data: Path, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``trackway ARGS --data DATA``; with ``check``, fail with its output unless it exits 0."""
    done = subprocess.run(
        command(*args, "--data", str(data)),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=environment(),
    )
    if check and done.returncode != 0:
        raise AssertionError(
            f"trackway {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        )
    return done


def loads(text: str | bytes) -> Any:
    """JSON with exact decimals (no float ever)."""
    return json.loads(text, parse_float=Decimal)


def wait_for(condition: Callable[[], Any], timeout: float = 30, what: str = "the condition") -> Any:
    """Poll ``condition`` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.25)


class Server:
    """``trackway serve`` on a data dir; start, stop (SIGTERM), kill (SIGKILL the group)."""

    def __init__(self, data: Path, *, workers: int = 2, default_currency: str = "") -> None:
        self.data = data
        self.workers = workers
        self.proc: subprocess.Popen[str] | None = None
        self.reader: threading.Thread | None = None
        self.url = ""
        self.starts = 0
        self.http = httpx.Client(timeout=60)
        if not (data / "trackway.toml").exists():
            data.mkdir(parents=True, exist_ok=True)
            config = data / "trackway.toml"
            # The defaults, loader pacing included: tests read back what they just sent
            # through the admin API, which waits for the loader (read-your-writes).
            config.write_text(f'[server]\nadmin_token = "{ADMIN_TOKEN}"\n')
            args = ["property", "add", "default", "--format", "json"]
            if default_currency:
                args += ["--default-currency", default_currency]
            cli(*args, data=data)

    # -- keys -----------------------------------------------------------------------------

    def properties(self) -> dict[str, dict[str, str]]:
        out = loads(cli("property", "list", "--format", "json", data=self.data).stdout)
        return {p["property"]: p for p in out}

    def keys(self, prop: str = "default") -> dict[str, str]:
        return self.properties()[prop]

    def add_property(self, name: str, default_currency: str = "") -> dict[str, str]:
        args = ["property", "add", name, "--format", "json"]
        if default_currency:
            args += ["--default-currency", default_currency]
        keys: dict[str, str] = loads(cli(*args, data=self.data).stdout)
        return keys

    # -- process --------------------------------------------------------------------------

    @property
    def log_file(self) -> Path:
        return self.data.parent / f"{self.data.name}-serve.log"

    def start(self, timeout: float = 120) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.starts += 1
        stderr = open(self.log_file, "a")  # noqa: SIM115 (the child keeps it)
        stderr.write(f"--- start {self.starts}\n")
        stderr.flush()
        self.proc = subprocess.Popen(
            command("serve", "--data", str(self.data), "--port", "0", "--workers", str(self.workers)),
            stdout=subprocess.PIPE,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
            env=environment(),
        )
        stderr.close()
        found: list[str] = []
        proc = self.proc

        def drain() -> None:  # read stdout to its end, so the server never blocks on a full pipe
            assert proc.stdout is not None
            for line in proc.stdout:
                m = URL.search(line)
                if m and not found:
                    found.append(m.group(1))

        self.reader = threading.Thread(target=drain, daemon=True)
        self.reader.start()

        def up() -> str | None:
            if proc.poll() is not None:
                raise AssertionError(f"trackway serve exited {proc.returncode}:\n{self.log_file.read_text()}")
            return found[0] if found else None

        self.url = wait_for(up, timeout, "trackway serve to print its URL")
        wait_for(self.healthy, timeout, f"{self.url}/health to answer 200")

    def healthy(self) -> bool:
        try:
            return self.http.get(f"{self.url}/health", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM to the supervisor (it stops its workers and drains the log); wait."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError(f"trackway serve did not stop within {timeout} s") from None
        self._reap_group()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL the supervisor and every worker at once, as a power cut would."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
        self._reap_group()

    def _reap_group(self) -> None:
        """Wait until no process of the group is left (workers SIGKILLed with the supervisor),
        then close the stdout pipe."""
        assert self.proc is not None
        pgid = self.proc.pid
        try:
            self._wait_group(pgid)
        finally:
            if self.reader is not None:
                self.reader.join(30)
            if self.proc.stdout is not None:
                self.proc.stdout.close()

    def _wait_group(self, pgid: int) -> None:

        def gone() -> bool:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return True
            except PermissionError:
                return False
            return _only_zombies(pgid)

        try:
            wait_for(gone, 30, "the server's processes to exit")
        except AssertionError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            wait_for(gone, 30, "the server's processes to exit after SIGKILL")

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(AssertionError):  # stop() killed it
                self.stop()
        self.http.close()

    # -- HTTP -----------------------------------------------------------------------------

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.post(self.url + path, **kw)

    def api(self, path: str, token: str = ADMIN_TOKEN, **params: Any) -> httpx.Response:
        return self.http.get(self.url + path, params=params, headers={"Authorization": f"Bearer {token}"})

    def events(self, token: str = ADMIN_TOKEN, **params: Any) -> list[dict[str, Any]]:
        response = self.api("/api/events", token, **{"limit": 10_000, **params})
        assert response.status_code == 200, response.text
        events: list[dict[str, Any]] = loads(response.content)["events"]
        return events

    def failed(self, token: str = ADMIN_TOKEN, **params: Any) -> list[dict[str, Any]]:
        response = self.api("/api/failed_events", token, **{"limit": 10_000, **params})
        assert response.status_code == 200, response.text
        failed: list[dict[str, Any]] = loads(response.content)["failed_events"]
        return failed

    def wait_events(self, n: int, timeout: float = 30, **params: Any) -> list[dict[str, Any]]:
        """Poll /api/events until it shows at least ``n`` events; return them (newest first)."""
        seen: list[list[dict[str, Any]]] = [[]]

        def enough() -> bool:
            seen[0] = self.events(**params)
            return len(seen[0]) >= n

        try:
            wait_for(enough, timeout, f"{n} events")
        except AssertionError:
            raise AssertionError(f"expected {n} events, /api/events shows {len(seen[0])}") from None
        return seen[0]

    def wait_failed(self, n: int, timeout: float = 30, **params: Any) -> list[dict[str, Any]]:
        seen: list[list[dict[str, Any]]] = [[]]

        def enough() -> bool:
            seen[0] = self.failed(**params)
            return len(seen[0]) >= n

        try:
            wait_for(enough, timeout, f"{n} failed payloads")
        except AssertionError:
            raise AssertionError(f"expected {n} failed payloads, the API shows {len(seen[0])}") from None
        return seen[0]

    # -- wire URLs ------------------------------------------------------------------------

    @staticmethod
    def mp_params(keys: dict[str, str]) -> dict[str, str]:
        return {"measurement_id": keys["ga4_measurement_id"], "api_secret": keys["ga4_api_secret"]}

    @staticmethod
    def ca_params(keys: dict[str, str]) -> dict[str, str]:
        return {"tc_s": keys["commanders_act_site"], "token": keys["commanders_act_token"]}


def process_state(pid: int | str) -> tuple[str, int] | None:
    """A process's state letter ("Z": exited, not yet reaped) and process group, from
    /proc; None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # the name before ")" may hold spaces
    return fields[0], int(fields[2])


def _only_zombies(pgid: int) -> bool:
    """True when every process left in group ``pgid`` is a zombie (exited, not yet reaped)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        state = process_state(entry)
        if state is not None and state[1] == pgid and state[0] != "Z":
            return False
    return True


def log_record(prop: str, marker: str) -> bytes:
    """A framed log record as a worker writes it for a /collect request of one event
    whose ``properties.marker`` is ``marker``."""
    from trackway.ingest import log, pipeline, records
    from trackway.model import Event, to_json

    event = Event(name="log_test", dialect="gtag-ga4", properties={"marker": marker})
    record = records.Record(
        kind=records.DECODED,
        request_id=str(records.uuid7()),
        endpoint="/collect",
        property=prop,
        received_at=records.micros(datetime.now(UTC)),
    )
    record.client_ids = pipeline.finalize([event], record, 0)
    record.events = [to_json(event)]
    return log.frame(records.dumps(record))


@contextlib.contextmanager
def serving(data: Path, **kw: Any) -> Iterator[Server]:
    """A started server on ``data``, stopped (or killed) at the end."""
    server = Server(data, **kw)
    try:
        server.start()
        yield server
    finally:
        server.close()
