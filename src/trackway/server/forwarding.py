"""The forwarding process, seen from the store process: started while any destination is
declared, started again when it exits (after a pause that doubles while it keeps exiting
soon after its start: server/restarts.py), stopped with the server. What it does:
:mod:`trackway.destinations.runner`."""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.process
import os
import signal
from pathlib import Path

from trackway.config import Config
from trackway.destinations.runner import forward_main
from trackway.server.restarts import Restarts

STOP_S = 10.0


class ForwardingProcess:
    def __init__(self, data: Path) -> None:
        self.data = data
        self.proc: multiprocessing.process.BaseProcess | None = None
        self.restarts = Restarts()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.is_alive() else None

    def ensure(self, cfg: Config) -> None:
        """Start, restart or stop it to match ``cfg`` (called about twice a second)."""
        if not cfg.destinations():
            self.stop()
            return
        if self.proc is not None and self.proc.is_alive():
            return
        exited = self.proc
        if exited is not None and not self.restarts.due("forward", "the forwarding process", exited.exitcode):
            return
        ctx = multiprocessing.get_context("spawn")
        self.proc = ctx.Process(
            target=forward_main, args=(str(cfg.path), str(self.data), os.getpid()), name="trackway-forward"
        )
        self.proc.start()
        self.restarts.started("forward")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.is_alive() and proc.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGTERM)
        proc.join(timeout=STOP_S)
        if proc.is_alive():
            proc.kill()
            proc.join()
