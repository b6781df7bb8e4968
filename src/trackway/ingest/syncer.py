"""``fdatasync`` in a helper process, so the event loop never shares its GIL with it.

The log writer writes each group commit with ``pwrite`` on the event loop (into the page
cache: microseconds) and asks a small helper process, over a Unix socket, to make the
file's data durable; the helper answers once ``fdatasync`` returned, and the loop
completes the requests of that commit. Any ``fdatasync`` flushes the file's data,
whichever process wrote it.

Why a process and not a thread: a Python thread needs the GIL to come back from
``fdatasync`` and to hand the result to the loop, and under load the event loop holds
it. With the writer thread, ``futex`` calls (the GIL and the executor's queue) took 4%
of all the machine's CPU time under load, against 0.05% for a do-nothing endpoint
(docs/performance.md). The helper shares no GIL: the loop pays one ``send`` and one
``recv`` a commit.

The helper has its own copy of the file descriptor, passed over the socket
(``SCM_RIGHTS``) whenever the writer starts a new file. It ignores SIGINT and SIGTERM
(the worker decides when to stop, and may still be draining) and exits when its
socket closes, which includes the worker dying. If it dies first, the commit it was
syncing fails (the requests get 503) and the next commit starts a new helper.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Callable

from trackway.errors import HelperGone
from trackway.osname import FSYNC, PR_SET_NAME

# The helper's whole program (the standard library only: it runs with -I -S).
# Each message is one sync request; a file descriptor attached to it replaces the one
# it syncs. It answers "0", or the errno of the failure.
# Its first lines name it as top and ps show it (trackway/osname.py), from the same names.
HELPER = (
    f"""
import ctypes, os, signal, socket, sys
try:
    ctypes.CDLL(None).prctl({PR_SET_NAME}, {FSYNC.encode()!r}, 0, 0, 0)
except Exception:
    pass
"""
    + r"""signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
sock = socket.socket(fileno=int(sys.argv[1]))
fd = -1
while True:
    try:
        msg, fds, _, _ = socket.recv_fds(sock, 16, 1)
    except OSError:
        break
    if not msg:
        break
    if fds:
        if fd >= 0:
            os.close(fd)
        fd = fds[0]
    try:
        os.fdatasync(fd)
        answer = b"0"
    except OSError as exc:
        answer = str(exc.errno or 5).encode()
    try:
        sock.send(answer)
    except OSError:
        break
"""
)

STOP_SECONDS = 5.0  # how long close() waits for the helper to finish its last sync


class Syncer:
    """One helper process; :meth:`sync` asks it to make a file's data durable and
    ``done(error)`` is called on the event loop when it answered (``error`` None on
    success). One request at a time: the caller waits for ``done`` before the next."""

    def __init__(self, done: Callable[[OSError | None], None]) -> None:
        self._done = done
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._file: object = None  # the token of the file the helper holds

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def _spawn(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with theirs:
            try:
                self._proc = subprocess.Popen(
                    [sys.executable, "-I", "-S", "-c", HELPER, str(theirs.fileno())],
                    pass_fds=(theirs.fileno(),),
                    stdin=subprocess.DEVNULL,
                )
            except BaseException:
                ours.close()
                raise
        ours.setblocking(False)
        self._sock = ours
        self._file = None

    def sync(self, fd: int, file: object) -> None:
        """Ask for ``fd``'s data to be made durable. ``file`` names the open file (a
        new token for each file, since a descriptor's number is reused). Raises OSError
        when the helper cannot be started or asked."""
        if self._sock is None:
            self._spawn()
        assert self._sock is not None
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # the first request, or a writer used from a new loop
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(self._sock.fileno())
            loop.add_reader(self._sock.fileno(), self._answer)
            self._loop = loop
        try:
            if file is self._file:
                self._sock.send(b"s")
            else:
                socket.send_fds(self._sock, [b"s"], [fd])
                self._file = file
        except OSError as exc:
            self.close()
            raise HelperGone(f"the log's sync helper cannot be reached: {exc}") from None

    def _answer(self) -> None:
        assert self._sock is not None
        try:
            message = self._sock.recv(16)
        except BlockingIOError:
            return
        except OSError:
            message = b""
        if not message:
            code = self._proc.poll() if self._proc is not None else None
            self.close()
            self._done(HelperGone(f"the log's sync helper exited (status {code})"))
            return
        errno = int(message)
        self._done(None if errno == 0 else OSError(errno, os.strerror(errno)))

    def close(self) -> None:
        """Stop the helper: it finishes the sync it is in, sees its socket close, and exits."""
        sock, proc, loop = self._sock, self._proc, self._loop
        self._sock = self._proc = self._loop = None
        if sock is not None:
            if loop is not None and not loop.is_closed():
                loop.remove_reader(sock.fileno())
            sock.close()
        if proc is not None:
            try:
                proc.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
