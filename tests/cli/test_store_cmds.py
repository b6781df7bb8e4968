"""`trackway sql` and `identity show` (store_cmds, state_cmds): empty arguments, and a query
nested too deeply."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from trackway.cli.main import cli
from trackway.store.duck import DuckStore


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


@pytest.mark.parametrize("terms", [450, 20_000])
def test_sql_nested_too_deeply_says_the_limit_and_how_to_flatten_it(tmp_path: Path, terms: int) -> None:
    # DuckDB's advice was to SET max_expression_depth, which `trackway sql` refuses; 450
    # terms were a RecursionError's traceback
    DuckStore(tmp_path / "trackway.duckdb").close()
    query = "SELECT " + " + ".join(["1"] * terms)
    result = CliRunner().invoke(cli, ["sql", query, "--data", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: expected a query nested fewer than 200 expressions deep")
    assert "flatten it" in result.output and "SET max_expression_depth" not in result.output


@pytest.mark.parametrize(("since", "until"), [("7d", "7d"), ("1d", "2d"), ("2026-11-02", "2026-11-02")])
def test_export_refuses_a_range_that_selects_nothing(tmp_path: Path, since: str, until: str) -> None:
    # --since 7d --until 7d read the clock twice (a range of microseconds) and an equal
    # --since and --until passed: an empty export, silently
    DuckStore(tmp_path / "trackway.duckdb").close()
    args = ["export", "--since", since, "--until", until, "--data", str(tmp_path)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert "expected a time after --since" in result.output, result.output
