"""trackway.cli.output: ``-o FILE`` for personal data."""

from __future__ import annotations

import stat
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from trackway.cli.main import cli
from trackway.cli.output import open_output
from trackway.store.duck import DuckStore


def test_an_output_file_is_private(tmp_path: Path) -> None:
    with open_output(tmp_path / "x.jsonl") as f:
        f.write("{}\n")
    assert stat.S_IMODE((tmp_path / "x.jsonl").stat().st_mode) == 0o600


@pytest.mark.parametrize("where", ["missing/dir/x.jsonl", "."])
def test_an_output_that_cannot_be_written_is_a_usage_error(tmp_path: Path, where: str) -> None:
    with pytest.raises(click.BadParameter, match="expected a file that can be written"):
        open_output(tmp_path / where)


@pytest.mark.parametrize(
    "args",
    [["export", "-o", "{missing}"], ["subject-export", "--user", "u1", "-o", "{missing}"]],
)
def test_export_to_a_missing_directory_says_so(tmp_path: Path, args: list[str]) -> None:
    # a FileNotFoundError traceback, exit 1
    DuckStore(tmp_path / "trackway.duckdb").close()
    missing = str(tmp_path / "missing" / "x.json")
    result = CliRunner().invoke(cli, [*(a.format(missing=missing) for a in args), "--data", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert "expected a file that can be written" in result.output and "Traceback" not in result.output
