"""trackway.store.duck: what opening a store says when the file cannot be used."""

from __future__ import annotations

from pathlib import Path

import pytest

from trackway.errors import StoreError
from trackway.store.duck import DuckStore

# (what the file holds) -> the advice; a damaged file was told to fix its permissions
DAMAGED = [b"garbage" * 1000, b"\0" * 8192, b"DUCK" + b"\xff" * 4096]


@pytest.mark.parametrize("content", DAMAGED, ids=["text", "zeros", "bad header"])
def test_a_damaged_store_file_is_said_to_be_damaged_with_what_to_do(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "trackway.duckdb"
    path.write_bytes(content)
    with pytest.raises(StoreError, match="cannot open the store") as info:
        DuckStore(path)
    said = str(info.value)
    assert "The file is damaged" in said and "restore it from a backup" in said, said
    assert "permissions" not in said, said
