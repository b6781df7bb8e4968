"""``trackway serve``: the store process and its HTTP workers.

The process that runs ``serve`` owns the DuckDB file. It binds the listening socket,
starts ``workers`` worker processes that share it (each runs uvicorn with httptools
and uvloop, and writes its own log), loads their logs into the store in a thread,
and serves the admin API on ``run/admin.sock``. A worker that dies is started again
on the same log slot. SIGINT or SIGTERM: the workers finish the requests they hold
and stop, the loader finishes its batch, the store closes; what the log still holds is
loaded at the next start (it is durable: nothing waits for a backlog).

A worker dies with the store process, even when that one is SIGKILLed: it asks Linux
for SIGTERM when its parent dies (``PR_SET_PDEATHSIG``) and checks once a second that
its parent is the one that started it (the signal races with a worker's start). Each
worker leaves ``run/w<slot>.pid`` (its pid and start time), so ``trackway stop`` and
the next ``serve`` find and stop a worker left running all the same.

A worker that exits is started again, after a pause that doubles while it keeps
exiting soon after its start (server/restarts.py). A
worker starts with ``trackway.toml`` if it is valid, and otherwise with the
configuration the store process last validated (passed to it, never written out): a
bad file is reported once, by the store process, and is an alarm on ``/health``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import multiprocessing
import os
import shlex
import signal
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import uvicorn

from trackway import config as configuration
from trackway.config import Config
from trackway.destinations.runner import retained_bytes, retention
from trackway.ingest.loader import Loader, loader_options
from trackway.ingest.pacing import Pacer, cpu_of
from trackway.osname import WORKER, name_thread
from trackway.server import metrics
from trackway.server.admin import Admin, make_admin_app
from trackway.server.forwarding import ForwardingProcess
from trackway.server.restarts import Restarts
from trackway.settings import READ_AT_START, memory_bytes
from trackway.store.duck import FILE_NAME, DuckStore, configured

logger = logging.getLogger("trackway.serve")

PR_SET_PDEATHSIG = 1
LEFTOVER_STOP_SECONDS = 15.0


@dataclass
class Paths:
    data: Path

    @property
    def log(self) -> Path:
        return self.data / "log"

    @property
    def run(self) -> Path:
        return self.data / "run"

    @property
    def socket(self) -> Path:
        return self.run / "admin.sock"

    @property
    def state(self) -> Path:
        return self.run / "server.json"

    @property
    def database(self) -> Path:
        return self.data / FILE_NAME

    def pid_file(self, slot: int) -> Path:
        return self.run / f"w{slot}.pid"


def _meant(value: Any) -> Any:
    """A setting's value as it acts: a size in bytes ("1gb" and "1GB", "128 MB" and "128MB"
    are one; a spelling of the value it started with raised restart_needed)."""
    if isinstance(value, str):
        size = memory_bytes(value)
        if size is not None:
            return size
    return value


class ServerState(msgspec.Struct):
    pid: int
    url: str
    socket: str
    started: int = 0  # the process's start time (clock ticks since boot); 0 in older files


def running(data: Path) -> ServerState | None:
    """The server running on ``data``, if any: its state file names a live process that
    started when the file says. A server killed with -9 leaves the file: its pid given to
    another process (a container's next PID 1) was taken for the server, so ``serve``
    refused to start and ``stop`` sent that process SIGTERM."""
    paths = Paths(data)
    try:
        state = msgspec.json.decode(paths.state.read_bytes(), type=ServerState)
    except (FileNotFoundError, msgspec.DecodeError):
        return None
    try:
        os.kill(state.pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    if state.started:
        now = _start_time(state.pid)
        if now is None or now[0] != state.started or now[1] == "Z":
            return None
    return state if Path(state.socket).exists() else None


def first_event_command(url: str, prop: configuration.Property) -> str:
    event = {
        "event": "add_to_cart",
        "ecommerce": {
            "currency": "EUR",
            "value": 9.99,
            "items": [{"item_id": "SKU_1", "item_name": "Trex tshirt", "price": 9.99, "quantity": 1}],
        },
    }
    body = msgspec.json.encode({"key": prop["collect_key"], "events": [event]}).decode()
    return f"curl -sS {url}/collect -H 'Content-Type: application/json' -d {shlex.quote(body)}"


def _quiet_signals() -> None:
    """uvicorn stops gracefully on SIGINT/SIGTERM, then re-raises the signal to the
    handler that was there before it; a no-op handler there lets the code after
    ``serve`` (closing the log, stopping the loader) run."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)


def _start_time(pid: int) -> tuple[int, str] | None:
    """A process's start time (clock ticks since boot) and state letter; None if there is none."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[19]), fields[0]


def _worker_files(data: Path) -> list[tuple[Path, int | None]]:
    """Each worker pid file of ``data`` with the live process it names (None: gone; a
    live process started when the file says, so a reused pid is never taken for one)."""
    found: list[tuple[Path, int | None]] = []
    for path in sorted(Paths(data).run.glob("w*.pid")):
        try:
            pid, started = (int(x) for x in path.read_text().split())
        except (OSError, ValueError):
            continue
        now = _start_time(pid)
        found.append((path, pid if now is not None and now[0] == started and now[1] != "Z" else None))
    return found


def live_workers(data: Path) -> list[int]:
    """The pids of ``data``'s running workers (read only: the forwarding process's pacer)."""
    return [pid for _, pid in _worker_files(data) if pid is not None]


def leftover_workers(data: Path) -> list[int]:
    """Workers of ``data`` still running; the pid files of those gone are removed."""
    found = []
    for path, pid in _worker_files(data):
        if pid is not None:
            found.append(pid)
        else:
            with contextlib.suppress(OSError):
                path.unlink()
    return found


def stop_leftovers(data: Path, timeout: float = LEFTOVER_STOP_SECONDS) -> list[int]:
    """Stop the workers a dead store process left running on ``data`` (SIGTERM: they
    finish their requests and close their logs; SIGKILL after ``timeout``). Returns them."""
    pids = leftover_workers(data)
    for pid in pids:
        for sig in (signal.SIGTERM, signal.SIGCONT):  # SIGCONT: a stopped worker too
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while leftover_workers(data):
        if time.monotonic() > deadline:
            for pid in leftover_workers(data):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + timeout
        time.sleep(0.05)
    return pids


def _die_with(parent: int) -> None:
    """Make this worker stop when the store process ``parent`` dies, however it dies."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    if not parent:
        return
    if os.getppid() != parent:  # it died before the death signal was asked for
        os._exit(1)

    def watch() -> None:  # the death signal can be lost while uvicorn's handler is not set
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def worker_main(
    sock: socket.socket, slot: int, config_path: str, data: str, last_good: str = "", parent: int = 0
) -> None:
    """One HTTP worker (runs in its own process). ``last_good``: the text of the
    configuration the store process last validated, used if the file is bad now;
    ``parent``: the store process's pid (the worker stops when it dies)."""
    name_thread(WORKER)
    _die_with(parent)
    from trackway.ingest.writer import LogWriter
    from trackway.server.app import Collector
    from trackway.server.gate import client_stream
    from trackway.server.ops import client_forward, uds_client
    from trackway.server.protocol import worker_config
    from trackway.server.routes import build_app

    logging.basicConfig(level=logging.WARNING, format=f"%(asctime)s w{slot} %(levelname)s %(message)s")
    paths = Paths(Path(data))
    pid_file = paths.pid_file(slot)
    started = _start_time(os.getpid())
    configuration.write_atomic(pid_file, f"{os.getpid()} {started[0] if started else 0}\n")
    bad = ""
    try:
        cfg = configuration.load(Path(config_path))
    except configuration.ConfigError as exc:
        if not last_good:
            raise
        bad = str(exc)  # the store process has reported it
        cfg = configuration.loads(last_good, Path(config_path))
    writer = LogWriter(
        paths.log / f"w{slot}",
        segment_bytes=cfg.server["log_segment_bytes"],
        max_pending=cfg.server["max_pending"],
    )
    store = uds_client(str(paths.socket))
    collector = Collector(
        cfg,
        writer,
        forward=client_forward(store),
        stream=client_stream(store),
        name=f"w{slot}",
        run_dir=paths.run,
    )
    if bad:
        with contextlib.suppress(OSError):
            collector.config_failed(bad, Path(config_path).stat().st_mtime_ns)
    config = worker_config(build_app(collector), cfg.server)
    protocol = config.http  # the worker's own protocol class, holding its sweeper

    def closed() -> dict[str, int]:
        sweeper = getattr(protocol, "sweeper", None)
        return dict(sweeper.closed) if sweeper is not None else {}

    collector.connections_closed = closed
    server = uvicorn.Server(config)
    collector.stopping = lambda: bool(server.should_exit)  # live streams end when the worker stops
    _quiet_signals()
    try:
        server.run(sockets=[sock])
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            pid_file.unlink()


class Supervisor:
    def __init__(self, cfg: Config, data: Path, *, host: str, port: int, workers: int) -> None:
        self.cfg = cfg
        self._started = dict(cfg.server)  # what the settings read at start only were
        # Absolute: the state file names the socket, which commands run from any directory read
        # (a relative one made the server look dead there, and `stop` kill its workers).
        self.paths = Paths(data.absolute())
        self.host = host
        self.port = port
        self.workers = workers
        self.store = DuckStore(self.paths.database, **configured(cfg.server))
        self.loader = Loader(
            self.paths.log,
            self.store,
            self.config,
            **loader_options(cfg.server),
            pacer=Pacer(cfg.server["loader_defer_seconds"], usage=cpu_of(self.worker_pids)),
            retain=retention(data, self.config),
        )
        self.forwarding = ForwardingProcess(data)
        self.stop = threading.Event()
        self.procs: dict[int, multiprocessing.process.BaseProcess] = {}
        self.admin: uvicorn.Server | None = None
        self.sock: socket.socket | None = None
        self._failed_mtime: int | None = None  # the version of the file found bad (tried once)
        self.restarts = Restarts()  # when to start an exited worker again

    def worker_pids(self) -> list[int]:
        """The live workers' pids (what the loader's pacer measures)."""
        return [p.pid for p in list(self.procs.values()) if p.pid is not None and p.is_alive()]

    def config(self) -> Config:
        """The configuration: the file when it changed and is valid, else the last good
        one (a bad file is reported once per version, and is the alarm config_invalid)."""
        if self.cfg.changed():
            try:
                mtime = self.cfg.path.stat().st_mtime_ns
            except OSError:
                return self.cfg
            if mtime == self._failed_mtime:
                return self.cfg
            try:
                self.cfg = configuration.load(self.cfg.path)
            except configuration.ConfigError as exc:
                self._failed_mtime = mtime
                message = f"{exc}; serving with the last good configuration until the file is fixed"
                known = any(a.key == "config_invalid" for a in self.loader.alarms.active())
                self.loader.alarms.raise_("config_invalid", message)  # logs it the first time
                if known:
                    logger.error("%s", message)
            else:
                self._failed_mtime = None
                self.loader.alarms.clear("config_invalid")
                self._restart_needed()
        return self.cfg

    def _restart_needed(self) -> None:
        """The alarm restart_needed while the file changes a setting read at start only
        (settings.READ_AT_START): such a change was taken and ignored without a word."""
        changed = sorted(
            k for k in READ_AT_START if _meant(self.cfg.server.get(k)) != _meant(self._started.get(k))
        )
        if not changed:
            self.loader.alarms.clear("restart_needed")
            return
        self.loader.alarms.raise_(
            "restart_needed",
            f"trackway.toml changed {', '.join(changed)}, which the server reads when it starts: it runs "
            "with the values it started with until it is restarted (trackway stop, then trackway serve)",
        )

    def bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(2048)
            sock.set_inheritable(True)
        except OSError:
            sock.close()  # a port in use left the socket open
            raise
        self.port = sock.getsockname()[1]
        return sock

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def spawn(self, slot: int) -> None:
        assert self.sock is not None
        ctx = multiprocessing.get_context("spawn")
        cfg = self.config()
        proc = ctx.Process(
            target=worker_main,
            args=(self.sock, slot, str(cfg.path), str(self.paths.data), cfg.text, os.getpid()),
            name=f"trackway-w{slot}",
            daemon=False,
        )
        proc.start()
        self.procs[slot] = proc
        self.restarts.started(slot)

    def restart_exited(self) -> None:
        """Start again the workers that exited, with a doubling pause while they keep
        exiting soon after their start (never a restart loop)."""
        for slot, proc in list(self.procs.items()):
            if not proc.is_alive() and self.restarts.due(slot, f"worker w{slot}", proc.exitcode):
                self.spawn(slot)

    async def supervise(self) -> None:
        while not self.stop.is_set():
            stopping = self.stop.is_set() or (self.admin is not None and self.admin.should_exit)
            if stopping:  # a query running would hold the admin server's stop
                self.store.interrupt_queries()
            if not stopping:  # a worker stopping with us is not restarted
                self.restart_exited()
                self.forwarding.ensure(self.config())
            with contextlib.suppress(OSError):
                s, behind = self.loader.stats, self.loader.unloaded()
                metrics.write(
                    self.paths.run / "metrics",
                    "store",
                    metrics.loader_snapshot(
                        s.by_key,
                        s.duplicates,
                        behind.bytes,
                        oldest_unloaded=behind.oldest,
                        quarantined=max(self.loader.quarantined, 0),
                        record_errors=s.quarantined,
                        batch_errors=s.errors,
                        reruns=s.reruns,
                        alarms=len(self.loader.alarms.active()),
                        retained=retained_bytes(self.paths.log, self.loader.committed(), self.cfg),
                        memory=self.store.memory(),
                    ),
                )
            await asyncio.sleep(0.5)

    def run(self, announce: Any = print) -> None:
        self.paths.run.mkdir(parents=True, exist_ok=True)
        left = stop_leftovers(self.paths.data)  # a store process killed before left them running
        if left:
            logger.warning("stopped %d worker(s) a previous server left running (pids %s)", len(left), left)
        for stale in (self.paths.socket, self.paths.state):
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()
        with contextlib.suppress(FileNotFoundError):
            for f in (self.paths.run / "metrics").iterdir():
                f.unlink()
        self.sock = self.bind()
        loader_thread = threading.Thread(
            target=self.loader.run,
            args=(self.stop,),
            kwargs={"nice": self.cfg.server["loader_nice"]},
            name="loader",
            daemon=True,
        )
        loader_thread.start()
        admin = uvicorn.Server(
            uvicorn.Config(
                make_admin_app(Admin(self.store, self.config, self.loader.lag_bytes, loader=self.loader)),
                uds=str(self.paths.socket),
                lifespan="on",
                access_log=False,
                log_level="warning",
            )
        )
        self.admin = admin
        for slot in range(1, self.workers + 1):
            self.spawn(slot)
        started = _start_time(os.getpid())
        state = ServerState(
            pid=os.getpid(), url=self.url, socket=str(self.paths.socket), started=started[0] if started else 0
        )

        async def main() -> None:
            task = asyncio.create_task(self.supervise())
            serve = asyncio.create_task(admin.serve())
            while not admin.started and not serve.done():
                await asyncio.sleep(0.01)
            os.chmod(self.paths.socket, 0o600)
            configuration.write_atomic(self.paths.state, msgspec.json.encode(state).decode())
            announce(self.url)
            await serve
            self.stop.set()
            await task

        _quiet_signals()
        try:
            asyncio.run(main())
        finally:
            self.shutdown(loader_thread)

    def shutdown(self, loader_thread: threading.Thread) -> None:
        self.stop.set()
        self.loader.hurry()  # out of a pause between batches now
        self.forwarding.stop()
        for proc in self.procs.values():
            if proc.is_alive() and proc.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            proc.join(timeout=15)
            if proc.is_alive():
                proc.kill()
                proc.join()
        if self.sock is not None:
            self.sock.close()
        loader_thread.join()  # the batch under way; the rest of the log waits for the next start
        self.store.close()
        with contextlib.suppress(FileNotFoundError):
            self.paths.state.unlink()
