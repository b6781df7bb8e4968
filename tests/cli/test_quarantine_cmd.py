"""`trackway quarantine`: what its commands say of their arguments."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from trackway.cli.main import cli


@pytest.mark.parametrize(("args", "got"), [([], "got neither"), (["1", "--all"], "got both")])
def test_quarantine_retry_says_what_it_got(tmp_path: Path, args: list[str], got: str) -> None:
    # it said "not both" when neither was given
    result = CliRunner().invoke(cli, ["quarantine", "retry", *args, "--data", str(tmp_path)])
    assert result.exit_code == 2 and f"expected record IDs or --all, {got}" in result.output, result.output
