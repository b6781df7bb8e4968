"""The forwarding process, seen from the store process: started while any destination is
declared, started again when it exits (after a pause that doubles while it keeps exiting
soon after its start), stopped with the server. What it does:
:mod:`trackway.destinations.runner`."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.process
import os
import signal
import time
from pathlib import Path

from trackway.config import Config
from trackway.destinations.runner import forward_main

logger = logging.getLogger("trackway.serve")

QUICK_S = 10.0  # an exit sooner than this after the start is a quick exit
MAX_PAUSE_S = 30.0
STOP_S = 10.0


class ForwardingProcess:
    def __init__(self, data: Path) -> None:
        self.data = data
        self.proc: multiprocessing.process.BaseProcess | None = None
        self._started = 0.0
        self._quick = 0
        self._restart_at: float | None = None

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
        now = time.monotonic()
        if self.proc is not None and self._restart_at is None:
            quick = now - self._started < QUICK_S
            self._quick = self._quick + 1 if quick else 0
            delay = min(MAX_PAUSE_S, 0.5 * 2**self._quick) if quick else 0.0
            logger.error(
                "the forwarding process exited with %s; starting it again in %.1f s",
                self.proc.exitcode,
                delay,
            )
            self._restart_at = now + delay
        if self._restart_at is not None and now < self._restart_at:
            return
        self._restart_at = None
        ctx = multiprocessing.get_context("spawn")
        self.proc = ctx.Process(
            target=forward_main, args=(str(cfg.path), str(self.data), os.getpid()), name="trackway-forward"
        )
        self.proc.start()
        self._started = now

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
