"""trackway.store.files: a rewrite's new file holds all of its bytes, or the rewrite fails."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from trackway.store import files

DATA = bytes(range(256)) * 40  # 10,240 bytes


def _short_writes(most: int, space: int | None):
    """os.write that writes at most ``most`` bytes a call, and raises ENOSPC once ``space``
    bytes are written (a nearly full disk: short writes, then no space)."""
    real = os.write
    written = [0]

    def write(fd: int, data: bytes | memoryview) -> int:
        if space is not None and written[0] >= space:
            raise OSError(errno.ENOSPC, "No space left on device")
        n = min(len(data), most, (space - written[0]) if space is not None else len(data))
        done = real(fd, bytes(data[:n]))
        written[0] += done
        return done

    return write


@pytest.mark.parametrize(("most", "space"), [(10_240, None), (1_000, None), (7, None)])
def test_short_writes_are_continued_until_every_byte_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, most: int, space: int | None
) -> None:
    # os.write's short count was ignored: a segment rewritten on a nearly full disk lost its tail
    monkeypatch.setattr(os, "write", _short_writes(most, space))
    files.write_synced(tmp_path / "f", DATA)
    assert (tmp_path / "f").read_bytes() == DATA


@pytest.mark.parametrize("space", [0, 4_000, 10_000])
def test_a_disk_that_fills_fails_the_write_instead_of_keeping_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, space: int
) -> None:
    monkeypatch.setattr(os, "write", _short_writes(4_096, space))
    with pytest.raises(OSError, match="No space left") as info:
        files.write_synced(tmp_path / "f", DATA)
    assert info.value.errno == errno.ENOSPC
