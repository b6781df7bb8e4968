"""Private files: the data dir holds personal data (the store, raw requests in the log,
exports) and keys (trackway.toml), so its files are 0600 and its directories 0700.

Nothing here raises: a file another user owns (a data dir on a shared mount) is left
as it is, the same as before these permissions were set.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import IO, Any

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path) -> None:
    """Create ``path`` (and parents) if needed, and make it 0700."""
    with contextlib.suppress(OSError):
        path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        os.chmod(path, DIR_MODE)


def private_files(*paths: Path) -> None:
    """Make each existing file 0600."""
    for path in paths:
        with contextlib.suppress(OSError):
            os.chmod(path, FILE_MODE)


def private_tree(root: Path) -> None:
    """Every directory under ``root`` 0700, every file 0600 (``root`` included)."""
    if not root.exists():
        return
    private_dir(root)
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            private_dir(Path(dirpath) / d)
        private_files(*(Path(dirpath) / f for f in filenames if not (Path(dirpath) / f).is_socket()))


def open_private(path: Path, mode: str = "w", newline: str | None = None) -> IO[Any]:
    """``open(path, mode)`` (a text mode) creating the file 0600; an existing file is
    truncated and made 0600 too."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    os.chmod(path, FILE_MODE)
    return os.fdopen(fd, mode, newline=newline)


def write_synced(path: Path, data: bytes) -> None:
    """``data`` into a new private file at ``path`` (0600, replacing one there), fsynced:
    what a rewrite renames over the file it replaces."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        view = memoryview(data)
        while view:  # a write may be short (a nearly full disk): the rest, or ENOSPC raised
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
