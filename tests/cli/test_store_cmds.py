"""`trackway sql` and `identity show` (store_cmds, state_cmds): empty arguments."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from trackway.cli.main import cli


@pytest.mark.parametrize(
    ("args", "said"),
    [(["sql", " "], "expected a SELECT, got an empty query"), (["identity", "show", ""], "got an empty one")],
)
def test_an_empty_argument_is_a_usage_error_in_the_commands_words(
    tmp_path: Path, args: list[str], said: str
) -> None:
    # they answered with the API's words: 'expected {"query": ...}', "expected ?id= ..."
    result = CliRunner().invoke(cli, [*args, "--data", str(tmp_path)])
    assert result.exit_code == 2 and said in result.output, result.output
