"""`trackway serve` on a data dir it cannot write: an error saying so, not a traceback."""

from __future__ import annotations

import errno
import socket
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from trackway import config as configuration
from trackway.cli.main import cli
from trackway.errors import StoreError
from trackway.store.duck import DuckStore


@pytest.mark.parametrize("error", [errno.EROFS, errno.EACCES])
def test_serve_on_a_data_dir_it_cannot_write_says_so(tmp_path: Path, monkeypatch, error: int) -> None:
    # a read-only mount or another user's directory ended in a traceback
    def refuse(path: Path) -> None:
        raise OSError(error, "refused", str(path))

    monkeypatch.setattr(configuration, "ensure", refuse)
    result = CliRunner().invoke(cli, ["serve", "--data", str(tmp_path), "--port", "0"])
    assert result.exit_code == 1
    assert "expected a data dir this user may write" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("failure", "said"),
    [
        (
            "IO Error: Could not set lock on file: Conflicting lock is held",
            "stop the process that holds the file",
        ),
        ("IO Error: Cannot open file: Read-only file system", "expected a data dir this user may write"),
    ],
)
def test_a_store_that_cannot_be_opened_says_why(tmp_path: Path, monkeypatch, failure: str, said: str) -> None:
    # "stop the process that holds the file" was said of a read-only file system too
    def refuse(*_args: object, **_kw: object) -> None:
        raise duckdb.IOException(failure)

    monkeypatch.setattr(duckdb, "connect", refuse)
    with pytest.raises(StoreError, match=said):
        DuckStore(tmp_path / "trackway.duckdb")


def test_serve_with_a_store_it_cannot_open_says_so(tmp_path: Path, monkeypatch) -> None:
    def refuse(*_args: object, **_kw: object) -> None:
        raise duckdb.IOException("IO Error: Cannot open file: Read-only file system")

    monkeypatch.setattr(duckdb, "connect", refuse)
    result = CliRunner().invoke(cli, ["serve", "--data", str(tmp_path), "--port", "0"])
    assert result.exit_code == 1, result.output
    assert "cannot open the store" in result.output and "Traceback" not in result.output


def test_a_first_start_that_cannot_listen_says_where_its_fresh_keys_are(tmp_path: Path) -> None:
    # the file with fresh keys was written, and the next start never printed them
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        result = CliRunner().invoke(cli, ["serve", "--data", str(tmp_path / "d"), "--port", str(port)])
    assert result.exit_code == 1, result.output
    said = " ".join(result.output.split())
    assert "cannot listen" in said and "fresh keys" in said and "property list --show-keys" in said, said
