"""`trackway sql` and `identity show` (store_cmds, state_cmds): empty arguments, and a query
nested too deeply."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from trackway.cli.main import cli
from trackway.store.duck import DuckStore


def _one_record_log(data: Path, body: bytes, *, finished: bool = True) -> Path:
    """A log of one raw MP record (``body``) in w1's first segment, and with ``finished`` an
    empty second segment after it (the first one done with); the slot's folder."""
    from trackway.ingest import log, records

    slot = data / "log" / "w1"
    slot.mkdir(parents=True)
    record = records.Record(
        records.RAW, records.uuid7(), "/mp/collect", "default", records.now_micros(), "ga4-mp", {}, body
    )
    (slot / "000000000001.log").write_bytes(log.frame(records.dumps(record)))
    if finished:
        (slot / "000000000002.log").write_bytes(b"")
    return slot


def _server_settings(data: Path, server: str) -> None:
    """A configuration with the property `default` and ``server`` as its [server] table."""
    from trackway import config as configuration

    path = configuration.config_path(data, None)
    configuration.add_property(path, "default")
    path.write_text(path.read_text() + f"\n[server]\n{server}")


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


def test_a_command_with_the_server_stopped_keeps_the_log_a_destination_has_not_read(tmp_path: Path) -> None:
    # The command's loader (store_access) had no retention: it deleted every segment it loaded,
    # and a destination behind it lost the events in them (the server's loader keeps them).
    from trackway import config as configuration
    from trackway.destinations import runner
    from trackway.destinations.position import PositionStore
    from trackway.ingest import log

    path = configuration.config_path(tmp_path, None)
    configuration.add_property(path, "default")
    configuration.add_destination(
        path, "default", "hook", {"type": "webhook", "url": "http://127.0.0.1:9/in", "secret": "s" * 16}
    )
    slot = _one_record_log(tmp_path, b'{"client_id":"1.2","events":[{"name":"page_view"}]}')
    PositionStore(runner.Files(tmp_path, "default.hook").position, "default.hook").save(
        {"w1": log.Position(1, 0)}
    )
    done = CliRunner().invoke(cli, ["sql", "SELECT count(*) AS n FROM events", "--data", str(tmp_path)])
    assert done.exit_code == 0, done.output
    assert (slot / "000000000001.log").exists(), "the destination's unread segment was deleted"


def test_a_command_with_the_server_stopped_opens_the_store_with_the_configured_settings(
    tmp_path: Path,
) -> None:
    # it opened the store with DuckStore's defaults, whatever the server's settings said
    from trackway.cli.common import store_access

    _server_settings(tmp_path, "store_checkpoint_threshold = '40MiB'\n")
    DuckStore(tmp_path / "trackway.duckdb").close()
    with store_access(tmp_path, None) as (client, store, _):
        assert client is None and store is not None
        [(shown,)] = store.cursor().execute("SELECT current_setting('checkpoint_threshold')").fetchall()
    assert shown == "40.0 MiB"


def test_a_command_with_the_server_stopped_loads_as_the_server_would_keep_log_and_derive_state(
    tmp_path: Path,
) -> None:
    # The command's catch-up (store_access) ignored keep_log and derive_state: `trackway sql`
    # deleted the log files kept as an audit trail, and derived the state the server leaves.
    _server_settings(tmp_path, "keep_log = true\nderive_state = false\n")
    slot = _one_record_log(tmp_path, b'{"client_id":"1.2","user_id":"u-1","events":[{"name":"page_view"}]}')
    query = "SELECT (SELECT count(*) FROM events) AS e, (SELECT count(*) FROM identities) AS i"
    done = CliRunner().invoke(cli, ["sql", query, "--format", "csv", "--data", str(tmp_path)])
    assert done.exit_code == 0, done.output
    assert done.output.split() == ["e,i", "1,0"]  # loaded, nothing derived
    assert (slot / "000000000001.log").exists(), "keep_log's file was deleted"


def test_what_a_command_with_the_server_stopped_writes_in_the_data_dir_is_the_owners(tmp_path: Path) -> None:
    # serve sets umask 077; a command catching up on the log did not: the store it made (and a
    # .damaged note) was readable by all, while the server writes them for the owner alone
    import os
    import stat

    _one_record_log(tmp_path, b'{"client_id":"1.2","events":[{"name":"page_view"}]}', finished=False)
    before = os.umask(0o022)
    try:
        out = tmp_path / "out.jsonl"
        done = CliRunner().invoke(cli, ["export", "-o", str(out), "--data", str(tmp_path)])
        assert done.exit_code == 0, done.output
        assert stat.S_IMODE((tmp_path / "trackway.duckdb").stat().st_mode) == 0o600
        assert os.umask(0o022) == 0o022  # given back
    finally:
        os.umask(before)


def test_stored_text_is_printed_as_it_is_not_read_as_markup(tmp_path: Path) -> None:
    # "[forgotten]" (an erased id), or any text in brackets a client sent, printed as an empty cell
    body = b'{"client_id": "[forgotten]", "user_id": "[bold]eve[/bold]", "events": [{"name": "login"}]}'
    _one_record_log(tmp_path, body)
    runner = CliRunner()
    shown = runner.invoke(cli, ["sql", "SELECT anonymous_id, user_id FROM events", "--data", str(tmp_path)])
    assert shown.exit_code == 0, shown.output
    assert "[forgotten]" in shown.output and "[bold]eve[/bold]" in shown.output, shown.output
    person = runner.invoke(cli, ["identity", "show", "[forgotten]", "--data", str(tmp_path)])
    assert person.exit_code == 0, person.output
    assert "[forgotten]" in person.output and "[bold]eve[/bold]" in person.output, person.output
