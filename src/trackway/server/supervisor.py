"""``trackway serve``: the store process and its HTTP workers.

The process that runs ``serve`` owns the DuckDB file. It binds the listening socket,
starts ``workers`` worker processes that share it (each runs uvicorn with httptools
and uvloop, and writes its own log), loads their logs into the store in a thread,
and serves the admin API on ``run/admin.sock``. A worker that dies is started again
on the same log slot. SIGINT or SIGTERM: the workers finish the requests they hold
and stop, the loader finishes its batch, the store closes; what the log still holds is
loaded at the next start (it is durable: nothing waits for a backlog).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import shlex
import signal
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import uvicorn

from trackway import config as configuration
from trackway.config import Config
from trackway.ingest.loader import Loader
from trackway.ingest.pacing import Pacer
from trackway.server import metrics
from trackway.server.admin import Admin, make_admin_app
from trackway.store.duck import FILE_NAME, DuckStore

logger = logging.getLogger("trackway.serve")


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


class ServerState(msgspec.Struct):
    pid: int
    url: str
    socket: str


def running(data: Path) -> ServerState | None:
    """The server running on ``data``, if any (its state file names a live process)."""
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


def worker_main(sock: socket.socket, slot: int, config_path: str, data: str) -> None:
    """One HTTP worker (runs in its own process)."""
    from trackway.ingest.log import LogWriter
    from trackway.server.app import Collector
    from trackway.server.ops import uds_forward
    from trackway.server.routes import build_app

    logging.basicConfig(level=logging.WARNING, format=f"%(asctime)s w{slot} %(levelname)s %(message)s")
    paths = Paths(Path(data))
    cfg = configuration.load(Path(config_path))
    writer = LogWriter(
        paths.log / f"w{slot}",
        segment_bytes=cfg.server["log_segment_bytes"],
        max_pending=cfg.server["max_pending"],
    )
    collector = Collector(
        cfg, writer, forward=uds_forward(str(paths.socket)), name=f"w{slot}", run_dir=paths.run
    )
    server = uvicorn.Server(
        uvicorn.Config(
            build_app(collector),
            http="httptools",
            loop="uvloop",
            lifespan="on",
            access_log=False,
            log_level="warning",
            server_header=False,
            date_header=False,
            timeout_graceful_shutdown=10,
        )
    )
    _quiet_signals()
    try:
        server.run(sockets=[sock])
    finally:
        writer.close()


class Supervisor:
    def __init__(self, cfg: Config, data: Path, *, host: str, port: int, workers: int) -> None:
        self.cfg = cfg
        self.paths = Paths(data)
        self.host = host
        self.port = port
        self.workers = workers
        self.store = DuckStore(
            self.paths.database,
            memory_limit=cfg.server["store_memory_limit"],
            derive_state=cfg.server["derive_state"],
        )
        self.loader = Loader(
            self.paths.log,
            self.store,
            self.config,
            batch=cfg.server["loader_batch"],
            keep_log=cfg.server["keep_log"],
            pacer=Pacer(cfg.server["loader_defer_seconds"]),
        )
        self.stop = threading.Event()
        self.procs: dict[int, multiprocessing.process.BaseProcess] = {}
        self.admin: uvicorn.Server | None = None
        self.sock: socket.socket | None = None

    def config(self) -> Config:
        if self.cfg.changed():
            try:
                self.cfg = configuration.load(self.cfg.path)
            except configuration.ConfigError as exc:
                logger.error("not reloading the configuration: %s", exc)
        return self.cfg

    def bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(2048)
        sock.set_inheritable(True)
        self.port = sock.getsockname()[1]
        return sock

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def spawn(self, slot: int) -> None:
        assert self.sock is not None
        ctx = multiprocessing.get_context("spawn")
        proc = ctx.Process(
            target=worker_main,
            args=(self.sock, slot, str(self.cfg.path), str(self.paths.data)),
            name=f"trackway-w{slot}",
            daemon=False,
        )
        proc.start()
        self.procs[slot] = proc

    async def supervise(self) -> None:
        while not self.stop.is_set():
            for slot, proc in list(self.procs.items()):
                stopping = self.stop.is_set() or (self.admin is not None and self.admin.should_exit)
                if not proc.is_alive() and not stopping:  # a worker stopping with us is not restarted
                    logger.error("worker w%d exited with %s; starting it again", slot, proc.exitcode)
                    self.spawn(slot)
            with contextlib.suppress(OSError):
                s = self.loader.stats
                metrics.write(
                    self.paths.run / "metrics",
                    "store",
                    metrics.loader_snapshot(
                        s.by_key,
                        s.duplicates,
                        self.loader.lag_bytes(),
                        quarantined=max(self.loader.quarantined, 0),
                        record_errors=s.quarantined,
                        batch_errors=s.errors,
                        alarms=len(self.loader.alarms.active()),
                    ),
                )
            await asyncio.sleep(0.5)

    def run(self, announce: Any = print) -> None:
        self.paths.run.mkdir(parents=True, exist_ok=True)
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
                make_admin_app(Admin(self.store, self.config, self.loader.lag_bytes)),
                uds=str(self.paths.socket),
                lifespan="on",
                access_log=False,
                log_level="warning",
            )
        )
        self.admin = admin
        for slot in range(1, self.workers + 1):
            self.spawn(slot)
        state = ServerState(pid=os.getpid(), url=self.url, socket=str(self.paths.socket))

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
